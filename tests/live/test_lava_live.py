"""Live differential tests: the emulator's `loihi1` profile against Lava's bit-accurate
Loihi 1 models (PyLifModelBitAcc, PyDenseModelBitAcc).

Run with ``pytest -m live tests/live/test_lava_live.py``. Lava needs Python 3.10: the
``lava_python`` fixture builds a venv with ``.ci/live_setup.sh`` when there is none, and
the tests are skipped, with the reason, when that fails.

Random cases are drawn by hypothesis (``FXLIF_LIVE_SEED`` fixes the draw, the seed is
printed on failure) and run through Lava in one subprocess: a Lava run costs about half
a second of process start-up, so a batch is far cheaper than one run per example.
Hypothesis does not shrink them; the failure names the case and the vectors file.
"""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from .vendor_cases import (
    assert_emulator_conforms,
    inputs_only,
    loihi1_cases,
    read_vectors,
    write_vectors,
)

pytestmark = pytest.mark.live

SHIPPED = "loihi1_lava.npz"
EXPECT = ("expect/u", "expect/v", "expect/spikes", "expect/a_in")
N_RANDOM = int(os.environ.get("FXLIF_LIVE_LAVA_CASES", "30"))


def test_runner_reproduces_shipped_vectors(oracles, run_lava, tmp_path):
    """lava_runner on the shipped cases' inputs gives the shipped file bit for bit."""
    path = oracles / SHIPPED
    if not path.exists():
        pytest.skip(f"{path} not found")
    shipped = read_vectors(path)
    cases_in = write_vectors(tmp_path / "inputs.npz", "loihi1",
                             {name: inputs_only(c) for name, c in shipped.items()})
    out = tmp_path / "lava.npz"
    run_lava(cases_in, out)
    with np.load(path) as a, np.load(out) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype.kind == b[key].dtype.kind and a[key].shape == b[key].shape, key
            if a[key].ndim >= 2 and "/expect/" in key:
                bad = np.argwhere(a[key] != b[key])
                assert bad.size == 0, (
                    f"{key}: {len(bad)} mismatches, first at tick {bad[0][0] + 1}, neuron "
                    f"{bad[0][1]}: shipped {a[key][tuple(bad[0])]}, Lava {b[key][tuple(bad[0])]}"
                )
            assert np.array_equal(a[key], b[key]), key


def _draw_cases(n_cases: int, draw_seed: int) -> list[dict]:
    """Collect ``n_cases`` examples of ``loihi1_cases()`` from one hypothesis run."""
    drawn: list[dict] = []

    @seed(draw_seed)
    @settings(max_examples=n_cases, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(loihi1_cases())
    def collect(case):
        drawn.append(case)

    collect()
    return drawn[:n_cases]


def test_emulator_matches_lava_on_random_cases(run_lava, tmp_path):
    """A batch of random Loihi 1 cases: vectors from Lava, emulator.verify must be ok."""
    draw_seed = int(os.environ.get("FXLIF_LIVE_SEED", random.randrange(2**32)))
    cases = _draw_cases(N_RANDOM, draw_seed)
    assert len(cases) >= min(N_RANDOM, 10), f"hypothesis drew only {len(cases)} cases"
    named = {f"random{i:03d}": c for i, c in enumerate(cases)}
    cases_in = write_vectors(tmp_path / "inputs.npz", "loihi1", named)
    out = tmp_path / "lava_random.npz"
    info = json.loads(run_lava(cases_in, out).strip().splitlines()[-1])
    assert info["cases"] == len(named)

    produced = read_vectors(out)
    assert sorted(produced) == sorted(named)
    spiking = 0
    for name, case in produced.items():
        for key in EXPECT:
            assert case[key].shape == case["input"].shape[:1] + case["w_in"].shape[:1], (name, key)
        spiking += bool(case["expect/spikes"].any())
    # a generator that never makes a neuron fire would test little
    assert spiking > 0, f"none of {len(produced)} drawn cases spiked (seed {draw_seed})"

    assert_emulator_conforms(
        out, context=f"Lava {info['lava']}, FXLIF_LIVE_SEED={draw_seed}, inputs {cases_in}"
    )
