"""Bit-exactness against the vendors' bit-accurate models (shared/oracles)."""

import numpy as np
import pytest

from emulator.vectors import read_vectors, write_vectors
from emulator.verify import verify


@pytest.mark.parametrize("name", ["loihi1_lava.npz", "xylo_xylosim.npz"])
def test_every_shipped_case_is_bit_exact(oracles, name):
    report = verify(oracles / name)
    assert report.ok, str(report)
    assert len(report.cases) == 2
    # every recorded value was compared: 4 (loihi) or 3 (xylo) variables over 100 ticks x 8 neurons
    for case in report.cases:
        assert sum(case.compared.values()) == 3200


def _rewrite(src, dst, mutate):
    data = dict(np.load(src))
    mutate(data)
    cases = {}
    for c in data["cases"]:
        c = str(c)
        cases[c] = {k[len(c) + 1:]: v for k, v in data.items() if k.startswith(c + "/")}
    write_vectors(dst, cases)


def test_a_changed_expected_value_is_reported_at_its_tick(oracles, tmp_path):
    src = oracles / "loihi1_lava.npz"
    dst = tmp_path / "bad.npz"

    def mutate(d):
        v = d["typical/expect/v"].copy()
        v[41, 5] += 1          # tick 42, neuron 5
        d["typical/expect/v"] = v

    _rewrite(src, dst, mutate)
    report = verify(dst)
    assert not report.ok
    m = report.mismatch
    assert (m.case, m.variable, m.tick, m.neuron) == ("typical", "v", 42, 5)
    assert m.got == m.expected - 1


def test_a_changed_register_fails_at_the_first_affected_tick(oracles, tmp_path):
    src = oracles / "xylo_xylosim.npz"
    dst = tmp_path / "bad.npz"

    def mutate(d):
        b = d["feedforward/param/bias"].copy()
        b[3] += 1
        d["feedforward/param/bias"] = b

    _rewrite(src, dst, mutate)
    m = verify(dst).mismatch
    assert m.case == "feedforward" and m.tick == 1 and m.neuron == 3
    assert m.variable == "v"


def test_reading_round_trips(oracles, tmp_path):
    cases = read_vectors(oracles / "loihi1_lava.npz")
    assert [c.name for c in cases] == ["edges", "typical"]
    assert cases[1].params["du"] == 409


def test_a_file_without_input_channels(tmp_path):
    """No input channels (w_in has 0 columns): a bias-driven loihi1 neuron, by hand:
    bias 50 << 3 = 400 per tick, no leak (dv = 0), spike when v > 100 << 6 = 6400,
    i.e. at tick 17 (v = 6800), then v = 0."""
    T = 20
    v = np.array([400 * t if t < 17 else 400 * (t - 17) for t in range(1, T + 1)])
    spikes = (np.arange(1, T + 1) == 17).astype(np.int64)
    path = write_vectors(tmp_path / "noin.npz", {"c": {
        "profile": "loihi1", "steps": T, "input": np.zeros((T, 0), np.int64),
        "w_in": np.zeros((1, 0), np.int64), "param/bias_mant": np.array([50]),
        "param/bias_exp": np.array([3]), "param/dv": 0, "param/vth": 100,
        "expect/v": v[:, None], "expect/spikes": spikes[:, None]}})
    report = verify(path)
    assert report.ok, str(report)
