"""fxlif vectors make: golden vectors from the emulator, read back by verify.

The round trip makes the vectors with the slow golden twin and verifies them with
the numba kernels, so the two implementations check each other; the hand-derived
case checks the stored values themselves.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from emulator.cmd_vectors import make_vectors, network_case, write_npz
from emulator.network import Network, Projection
from emulator.profile import list_profiles, load_profile
from emulator.vectors import read_vectors
from emulator.verify import verify
from reference.errors import InputError

FXLIF = [shutil.which("fxlif")] if shutil.which("fxlif") else [sys.executable, "-m", "emulator.cli"]


@pytest.mark.parametrize("name", list_profiles())
def test_make_then_verify_round_trips_on_every_shipped_profile(tmp_path, name):
    cases = make_vectors(name, cases=2, seed=3, ticks=12, neurons=4, inputs=2, backend="twin")
    path = write_npz(tmp_path / f"{name}.npz", cases)
    report = verify(path)
    assert report.ok, str(report)
    assert [c.name for c in report.cases] == ["random_000", "random_001"]
    profile = load_profile(name)
    for c in report.cases:
        # every state register and the spikes were recorded and compared
        assert set(profile.state) | {"spikes"} <= set(c.compared)


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    a = write_npz(tmp_path / "a.npz", make_vectors("xylo", cases=2, seed=7, ticks=5))
    b = write_npz(tmp_path / "b.npz", make_vectors("xylo", cases=2, seed=7, ticks=5))
    c = write_npz(tmp_path / "c.npz", make_vectors("xylo", cases=2, seed=8, ticks=5))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def _hand_case(tmp_path):
    # loihi1, du = dv = 0, vth = 100 (compared as 6400), bias_mant = 10, 20, 30, one
    # silent input: u = 0 and v(t) = bias * t, no spike in 8 ticks (30 * 8 = 240).
    net = Network(n=3, n_in=1, params={"bias_mant": np.array([10, 20, 30])},
                  projections=(Projection("input", "dense", np.ones((3, 1), np.int64),
                                          (0, 1), (0, 3)),))
    p = load_profile("loihi1")
    case = network_case(p, net, np.zeros((8, 1), np.int64), 8)
    from emulator.testing import emulator_trace
    emu = emulator_trace(p, net, np.zeros((8, 1), np.int64), ticks=8, backend="twin")
    case.update({f"expect/{k}": v for k, v in emu.items()})
    return case


def test_stored_values_match_the_hand_derivation(tmp_path):
    case = _hand_case(tmp_path)
    t = np.arange(1, 9)[:, None]
    assert case["expect/v"].tolist() == (np.array([10, 20, 30]) * t).tolist()
    assert not case["expect/u"].any() and not case["expect/spikes"].any()


def test_a_changed_register_fails_verify_at_the_right_tick(tmp_path):
    case = _hand_case(tmp_path)
    case["param/bias_mant"] = np.array([10, 21, 30])    # neuron 1 now gains 21 per tick
    report = verify(write_npz(tmp_path / "bad.npz", {"hand": case}))
    m = report.mismatch
    assert (m.case, m.variable, m.tick, m.neuron) == ("hand", "v", 1, 1)
    assert (m.expected, m.got) == (20, 21)


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="--profile"):
        make_vectors("loihi9")
    with pytest.raises(InputError, match="--ticks"):
        make_vectors("xylo", ticks=0)


def test_the_command_line_writes_a_file_verify_accepts(tmp_path):
    out = tmp_path / "v.npz"
    proc = subprocess.run([*FXLIF, "vectors", "make",
                           "--profile", "xylo", "--cases", "2", "--seed", "5", "--ticks", "6",
                           "--neurons", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr
    assert verify(out).ok
    assert [c.name for c in read_vectors(out)] == ["random_000", "random_001"]
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["format"] == "fxlif-vectors/1" and side["source"]["random"]["seed"] == 5
    bad = subprocess.run([*FXLIF, "vectors", "make",
                          "--profile", "nope", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
