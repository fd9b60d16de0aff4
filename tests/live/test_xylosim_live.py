"""Live differential tests: the emulator's `xylo` profile against SynSense xylosim v2.

Run with ``pytest -m live tests/live/test_xylosim_live.py`` (needs ``pip install
xylosim``, the ``fxlif[live]`` extra; skipped with the reason when it is missing).
``FXLIF_LIVE_XYLO_EXAMPLES`` sets the number of random networks (default 50).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings

from .vendor_cases import (
    assert_emulator_conforms,
    inputs_only,
    read_vectors,
    write_vectors,
    xylo_cases,
)
from .xylosim_runner import run_xylosim_case

pytestmark = pytest.mark.live

SHIPPED = "xylo_xylosim.npz"
EXPECT = ("expect/isyn", "expect/v", "expect/spikes")
N_EXAMPLES = int(os.environ.get("FXLIF_LIVE_XYLO_EXAMPLES", "50"))


@pytest.fixture(scope="module")
def shipped(oracles, xylosim_version):
    path = oracles / SHIPPED
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path, read_vectors(path)


def test_runner_reproduces_shipped_vectors(shipped):
    """xylosim_runner on the shipped cases' inputs gives the shipped expect arrays."""
    _, cases = shipped
    assert cases, "no cases in the shipped file"
    for name, case in cases.items():
        got = run_xylosim_case(inputs_only(case))
        assert set(got) == set(EXPECT)
        for key in EXPECT:
            exp = case[key]
            assert got[key].dtype == np.int64 and got[key].shape == exp.shape, (name, key)
            bad = np.argwhere(got[key] != exp)
            assert bad.size == 0, (
                f"{name}/{key}: {len(bad)} mismatches, first at tick {bad[0][0] + 1}, "
                f"neuron(, synapse) {tuple(bad[0][1:])}: "
                f"shipped {exp[tuple(bad[0])]}, xylosim {got[key][tuple(bad[0])]}"
            )


def test_written_vectors_match_shipped_file(shipped, tmp_path):
    """write_vectors on xylosim's output rebuilds the shipped file key for key."""
    path, cases = shipped
    rebuilt = {}
    for name, case in cases.items():
        rebuilt[name] = {**inputs_only(case), **run_xylosim_case(inputs_only(case))}
    out = write_vectors(tmp_path / "rebuilt.npz", "xylo", rebuilt)
    with np.load(path) as a, np.load(out) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype.kind == b[key].dtype.kind, key
            assert a[key].shape == b[key].shape, key
            assert np.array_equal(a[key], b[key]), key


def _events(case, expect):
    spikes, v, isyn = expect["expect/spikes"], expect["expect/v"], expect["expect/isyn"]
    if spikes.any():
        event("spikes")
    if (spikes == 31).any():
        event("31 spikes in a tick")
    if (case["input"] > 15).any():
        event("input count clamped")
    if (np.abs(isyn) >= 32767).any():
        event("isyn at int16 bound")
    if (v == -32768).any() or (v == 32767).any():
        event("v at int16 bound")
    if ((v == -32768) & (case["param/dash_mem"] == 0)).any():
        event("v at -32768 with dash_mem 0 (int16 negation wraps)")
    if case["w_rec"].any():
        event("recurrent")


@settings(max_examples=N_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=xylo_cases())
def test_emulator_matches_xylosim_on_random_cases(tmp_path_factory, xylosim_version, case):
    """Random Xylo networks: vectors from xylosim, then emulator.verify must be ok."""
    expect = run_xylosim_case(case)
    _events(case, expect)
    path = write_vectors(tmp_path_factory.mktemp("xylo") / "random.npz", "xylo",
                         {"random": {**case, **expect}})
    assert_emulator_conforms(path, context=f"xylosim {xylosim_version}")
