"""Tests of emulator.divergence and ``fxlif divergence``."""

import numpy as np
import pytest

from emulator.cli import main
from emulator.divergence import apply_point, divergence_map, parse_axis, spot_check
from emulator.flags import FLAG_NAMES, evaluate_flags
from reference.errors import InputError
from reference.scenario import scenario_from_dict

SMALL = {"model": {"V_F": 2.0, "V_R": 1.0, "a": 1.0, "b": 0.0},
         "network": {"P": 300}, "input": {"kind": "constant", "I0": 0.0},
         "init": {"kind": "point", "v0": 1.0},
         "run": {"T": 20.0, "dt": 0.00390625, "seed": 1}}


@pytest.fixture(scope="module")
def dmap():
    sc = scenario_from_dict(SMALL, file="small")
    # state bits 10..12 (x, a profile override) by input mean I0 (y, a scenario key)
    return divergence_map(sc, "generic", ("state_bits", [10, 11, 12]),
                          ("input.I0", [0.0, 0.5, 1.0]))


def test_parse_axis():
    key, vals = parse_axis("--x", "input.I0=0:2:5")
    assert key == "input.I0" and np.allclose(vals, [0, 0.5, 1, 1.5, 2])
    for bad in ("input.I0", "input.I0=0:1", "input.I0=a:1:3", "input.I0=0:1:0", "=0:1:3"):
        with pytest.raises(InputError):
            parse_axis("--x", bad)


def test_apply_point():
    sc = scenario_from_dict(SMALL)
    s, ov = apply_point(sc, {}, {"model.a": 0.5, "state_bits": 14.0})
    assert s.model.a0 == 0.5 and ov == {"state_bits": 14}


def test_grid_runs(dmap):
    assert dmap.error.shape == (3, 3) and dmap.flags.shape == (len(FLAG_NAMES), 3, 3)
    assert not dmap.failed and np.isfinite(dmap.error).all()


@pytest.mark.parametrize("iy, ix", [(0, 0), (2, 1), (1, 2)])
def test_flag_regions_match_individual_flags(dmap, iy, ix):
    sc = scenario_from_dict(SMALL, file="small")
    s = scenario_from_dict({**SMALL, "input": {"kind": "constant", "I0": float(dmap.y[iy])}})
    rep = evaluate_flags(scenario=s, profile="generic",
                         overrides={"state_bits": int(dmap.x[ix])})
    assert {n for k, n in enumerate(FLAG_NAMES) if dmap.flags[k, iy, ix]} == set(rep.names())
    assert dmap.predicted[iy, ix] == pytest.approx(rep.predicted_rate, rel=1e-12)
    assert sc.model.input.I0 == 0.0


def test_spot_check_agrees_with_prediction(dmap):
    spots = spot_check(dmap, 2, seed=3)
    assert len(spots) == 2 and spots[0]["why"] == "worst"
    for s in spots:
        # the stationary mean field vs a 300-neuron, 10-time-constant average (thousands of
        # spikes): 10 % covers the sampling noise and the chain's mean-field approximation
        assert s["spikes"] > 1000
        assert s["rel_diff"] < 0.10, s


def test_cli_divergence(tmp_path, capsys):
    out = tmp_path / "d"
    rc = main(["divergence", "examples/mapping_loihi1.toml", "--profile", "generic",
               "--set", "state_bits=11", "--x", "input.I0=0:1:2", "--y", "model.a=0.5:1:2",
               "--P", "50", "--out", str(out)])
    assert rc == 0
    for f in ("divergence.npz", "divergence.csv", "divergence.json", "divergence.png"):
        assert (out / f).is_file()
    assert len((out / "divergence.csv").read_text().splitlines()) == 1 + 4


@pytest.mark.parametrize("x", ["input.bogus=0:1:3", "nope=0:1:3", "input.I0=0:1", "input.I0=0:1:x"])
def test_cli_divergence_bad_input(tmp_path, capsys, x):
    rc = main(["divergence", "examples/mapping_loihi1.toml", "--profile", "generic",
               "--x", x, "--y", "model.a=0.5:1:2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--x" in err
