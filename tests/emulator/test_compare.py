"""Tests of emulator.compare and ``fxlif compare`` (expected values are independent)."""

import json
import math

import numpy as np
import pytest

from emulator.cli import main
from emulator.compare import compare, fano_factor, population_synchrony, w1_distance
from reference.analytic import stationary_rates
from reference.scenario import scenario_from_dict

KEYS = {"rate", "rate_rel_error", "rate_l2", "rate_l1", "w1", "fano", "synchrony",
        "spike_time_error", "spike_time_note", "overflow", "saturated_params", "wall_s"}

# an uncoupled population (b = 0) at dt = 2**-8, the step Loihi 1's decay holds exactly
SMALL = {"model": {"V_F": 2.0, "V_R": 1.0, "a": 1.0, "b": 0.0},
         "network": {"P": 300}, "input": {"kind": "constant", "I0": 0.0},
         "init": {"kind": "point", "v0": 1.0},
         "run": {"T": 12.0, "dt": 0.00390625, "seed": 1}}


@pytest.fixture(scope="module")
def small():
    return scenario_from_dict(SMALL, file="small")


@pytest.fixture(scope="module")
def cmp_loihi(small):
    return compare(small, ["loihi1"], bins=24)


def test_w1_identical_and_hand_values():
    x = np.array([0.3, -1.0, 2.5, 0.0])
    assert w1_distance(x, x) == 0.0
    assert w1_distance([0.0], [1.0]) == pytest.approx(1.0)         # shift by 1
    assert w1_distance([0.0, 0.0], [0.0, 2.0]) == pytest.approx(1.0)  # half the mass moves 2


def test_fano_and_synchrony_hand_values():
    assert fano_factor([1, 1, 1, 1]) == 0.0
    assert fano_factor([0, 2]) == pytest.approx(1.0)               # var 1, mean 1
    assert population_synchrony([2, 4, 6]) == pytest.approx((8 / 3) / 4)
    assert math.isnan(fano_factor([0, 0]))


def test_metrics_finite_with_keys(cmp_loihi):
    for name in ("reference", "loihi1"):
        row = cmp_loihi.table[name]
        assert KEYS <= set(row)
        for k in ("rate", "rate_rel_error", "rate_l2", "rate_l1", "w1", "fano", "synchrony",
                  "wall_s"):
            assert math.isfinite(row[k]), (name, k)
        assert row["spike_time_error"] is None and "noise" in row["spike_time_note"]
    assert cmp_loihi.arrays["rate_loihi1"].shape == (24,)


def test_uncoupled_rates_near_analytic(cmp_loihi):
    # notes/multiscale.md 5: b = 0 rate 0.1199759652 (stationary_rates computes it)
    r = float(stationary_rates(0.0, a=1.0, V_F=2.0, V_R=1.0)[0])
    assert r == pytest.approx(0.1199759652, rel=1e-8)
    # the reference starts at V_R: relaxes within ~2 time constants, so the last half is stationary
    assert cmp_loihi.table["reference"]["rate"] == pytest.approx(r, rel=0.03)
    # the chip's Euler step at dt = 2**-8 fires ~0.5826 sqrt(2 a dt) later (a few %), and
    # 300 neurons over 6 time constants (~220 spikes) fluctuate by ~7 %: 20 % is generous
    assert cmp_loihi.table["loihi1"]["rate"] == pytest.approx(r, rel=0.2)


def test_steady_state_reference_rate():
    # independent value: the analytic stationary rate of b = 0.5, a = 1, V_F = 2, V_R = 1
    r = float(stationary_rates(0.5, a=1.0, V_F=2.0, V_R=1.0)[0])
    c = compare("examples/steady_state.toml", ["loihi1"], bins=10)
    assert c.table["reference"]["rate"] == pytest.approx(r, rel=0.03)


def test_bad_profile_has_larger_rate_error(small, cmp_loihi):
    bad = compare(small, ["generic"], overrides={"state_bits": 12}, bins=24)
    assert bad.table["generic"]["rate_rel_error"] > 3 * cmp_loihi.table["loihi1"]["rate_rel_error"]
    assert bad.table["generic"]["rate_rel_error"] > 0.5


def test_cli_compare(tmp_path, capsys):
    out = tmp_path / "c"
    rc = main(["compare", "examples/mapping_loihi1.toml", "--profile", "loihi1", "--T", "4",
               "--P", "100", "--out", str(out), "--json"])
    assert rc == 0
    table = json.loads(capsys.readouterr().out)["table"]
    assert set(table) == {"reference", "loihi1"}
    for f in ("compare.npz", "compare.json", "compare_rate.png", "compare_density.png",
              "compare_divergence.png"):
        assert (out / f).is_file()


def test_cli_compare_bad_input(tmp_path, capsys):
    rc = main(["compare", "examples/mapping_loihi1.toml", "--profile", "loihi1",
               "--solver", "nope", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "solver" in err
