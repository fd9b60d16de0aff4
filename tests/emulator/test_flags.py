"""Flags (emulator/flags.py) and ``fxlif flags``: a case built to raise each flag, a benign one.

Expected values come from closed forms (register steps, dead-zone widths) computed
here, not from the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.flags import FLAG_NAMES, SEVERITIES, FlagReport, evaluate_flags
from emulator.mapping import map_model
from emulator.profile import load_profile
from reference.analytic import stationary_rates
from reference.lif import InputCurrent
from reference.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
STEADY = ROOT / "examples" / "steady_state.toml"
BLOWUP = ROOT / "examples" / "blowup.toml"


@pytest.fixture(scope="module")
def steady():
    return load_scenario(STEADY)


@pytest.fixture(scope="module")
def uncoupled(steady):
    return dataclasses.replace(steady.model, b=0.0)


def _flag(report: FlagReport, name: str):
    hits = [f for f in report.flags if f.name == name]
    assert hits, f"{name} not raised: {report.names()}"
    f = hits[0]
    assert f.severity in SEVERITIES and f.reason
    return f


def _check_shape(report: FlagReport):
    for f in report.flags:
        assert f.name in FLAG_NAMES and f.severity in SEVERITIES
    assert len(set(report.names())) == len(report.flags)


# ---------------------------------------------------------------------------------

def test_benign_loihi1(uncoupled):
    """Loihi 1 with the automatic (generous) voltage scale, dt = 2**-10 (the leak register is
    exact), no coupling: at most info flags; the prediction is near the float rate."""
    rep = evaluate_flags(map_model(uncoupled, load_profile("loihi1"), P=1000, dt=2 ** -10))
    _check_shape(rep)
    assert all(f.severity == "info" for f in rep.flags), [(f.name, f.severity) for f in rep.flags]
    assert rep.reference_rate == pytest.approx(0.1199759652, rel=1e-8)   # notes 5, b = 0
    # discrete monitoring at dt ~ 1e-3 lowers the rate by ~4 % (notes 1), quantisation adds little
    assert 0.85 * rep.reference_rate < rep.predicted_rate < rep.reference_rate


def test_leak_deadzone_floor(uncoupled):
    """Floor rounding of v (4096 - dv) / 4096: no decay for -4096/dv < v < 0."""
    prof = load_profile("generic", state_bits=12, rounding="floor")
    mp = map_model(uncoupled, prof, P=1000, dt=0.02)
    rep = evaluate_flags(mp)
    _check_shape(rep)
    f = _flag(rep, "leak_deadzone")
    dv = mp.network.params["dv"]
    th = mp.network.params["vth"]
    width = math.ceil(4096 / dv) - 1          # v = -1 .. -(width): |v| dv < 4096
    assert f.value == pytest.approx(width / th)
    assert f.severity == "error"               # a third of the threshold range
    assert _flag(rep, "rate_divergence").value > 0.1


def test_drift_bias_noise_silent_xylo(steady):
    """Xylo: a shift decay 2**-dash cannot represent dt = 0.01 (dash = 7 gives 1/128), no
    noise source, coupling below one LSB: drift bias, noise, weight, silence."""
    rep = evaluate_flags(scenario=steady, profile="xylo", dt=0.01)
    _check_shape(rep)
    assert _flag(rep, "drift_bias").severity in ("warning", "error")
    nq = _flag(rep, "noise_quantisation")
    assert nq.severity == "error" and "no noise" in nq.reason
    assert _flag(rep, "weight_underflow").severity == "error"
    s = _flag(rep, "silent")
    assert s.severity == "error" and rep.predicted_rate == 0.0
    assert rep.reference_rate == pytest.approx(stationary_rates(0.5)[0], rel=1e-12)


def test_input_underflow(uncoupled):
    """I0 - V_R = 0.01 at v_scale ~ 100 and dt = 0.01 is ~0.01 LSB per tick: rounds to zero."""
    model = dataclasses.replace(uncoupled, input=InputCurrent("constant", I0=1.01))
    mp = map_model(model, load_profile("generic", state_bits=12), P=100, dt=0.01, noise=False)
    assert abs(0.01 * mp.v_scale * 0.01) < 0.5
    rep = evaluate_flags(mp)
    f = _flag(rep, "input_underflow")
    assert f.severity == "error" and "rounds to zero" in f.reason


def test_weight_underflow_loihi1(steady):
    """b/P = 5e-5 V per spike is ~10 LSB on Loihi 1, whose smallest weight step is 2**6 LSB."""
    rep = evaluate_flags(scenario=steady, profile="loihi1")
    f = _flag(rep, "weight_underflow")
    assert rep.details["kick_lsb"]["real"] < 64
    assert f.severity == "error" and f.value == 1.0


def test_saturation(uncoupled):
    """v_scale = 1000 on 12 bits: the register ends at V = V_R - 2.048, inside the density."""
    mp = map_model(uncoupled, load_profile("generic", state_bits=12), P=100, dt=0.01,
                   v_scale=1000)
    rep = evaluate_flags(mp)
    f = _flag(rep, "saturation")
    assert f.severity == "warning"
    # independent scale: stationary mass of the float density below V = -1.048 is ~ 5 %; the
    # chain's mass at the limit per tick is of that order
    assert 1e-3 < f.value < 0.2


def test_synchrony_beyond_fold():
    """b = 3 > b* = 2.10097 (notes 5): no stationary state, the network blows up."""
    rep = evaluate_flags(scenario=load_scenario(BLOWUP), profile="loihi1", P=100, dt=1e-3)
    f = _flag(rep, "synchrony")
    assert f.severity == "error" and math.isnan(rep.reference_rate)


def test_synchrony_cascade_parameter(uncoupled):
    """P = 2, b = 2: R = N b^2 / (2 a P) ~ 0.29 is not << 1."""
    model = dataclasses.replace(uncoupled, b=2.0)
    rep = evaluate_flags(map_model(model, load_profile("loihi1"), P=2, dt=2 ** -10))
    f = _flag(rep, "synchrony")
    b, a, P = 2.0, 1.0, 2
    # R from the model's b and a at the predicted rate; the registers represent them
    # within a few percent
    assert f.value == pytest.approx(rep.predicted_rate * b ** 2 / (2 * a * P), rel=0.05)
    assert f.value > 0.1
    assert stationary_rates(b)[0] * b ** 2 / (2 * a * P) > 0.1    # the float model agrees


def test_rate_divergence_generic_10_bits(steady):
    """10-bit generic chip: the chain predicts a rate far from the float model."""
    rep = evaluate_flags(scenario=steady, profile="generic", overrides={"state_bits": 10},
                         dt=0.01)
    f = _flag(rep, "rate_divergence")
    assert f.value == pytest.approx(abs(rep.predicted_rate - rep.reference_rate)
                                    / rep.reference_rate)
    assert rep.details["method"] == "chain"


def test_tuple_form_equals_mapping_form(steady):
    """evaluate_flags((scenario, profile, overrides)) maps the scenario itself."""
    a = evaluate_flags((steady, "generic", {"state_bits": 12}), dt=0.02)
    mp = map_model(steady, load_profile("generic", state_bits=12), dt=0.02)
    b = evaluate_flags(mp)
    assert a.names() == b.names()
    assert a.predicted_rate == b.predicted_rate and a.reference_rate == b.reference_rate


def test_every_flag_has_a_case():
    """The cases above cover every flag name."""
    covered = {"leak_deadzone", "drift_bias", "input_underflow", "noise_quantisation",
               "weight_underflow", "saturation", "silent", "synchrony", "rate_divergence"}
    assert covered == set(FLAG_NAMES)


# ---------------------------------------------------------------------------------
# command line

def test_cli_json_shape(capsys):
    code = main(["flags", str(STEADY), "--profile", "generic", "--set", "state_bits=10",
                 "--dt", "0.01", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"flags", "predicted_rate", "reference_rate"} <= set(out)
    assert out["flags"]
    for f in out["flags"]:
        assert {"name", "severity", "value", "threshold", "reason"} <= set(f)
        assert f["name"] in FLAG_NAMES and f["severity"] in SEVERITIES
    assert isinstance(out["predicted_rate"], float) and isinstance(out["reference_rate"], float)


def test_cli_text_and_bad_input(capsys):
    assert main(["flags", str(STEADY), "--profile", "xylo", "--dt", "0.01"]) == 0
    assert "silent" in capsys.readouterr().out
    assert main(["flags", str(STEADY), "--profile", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown profile" in err
    assert main(["flags", str(STEADY), "--profile", "generic", "--set", "bogus=1"]) == 2
    assert main(["flags", str(STEADY), "--profile", "generic", "--dt", "-1"]) == 2
