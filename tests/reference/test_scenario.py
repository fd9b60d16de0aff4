"""Scenario TOML loading and validation (reference/scenario.py)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from reference.errors import InputError
from reference.scenario import GridSpec, InitSpec, load_scenario, scenario_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOOD = {
    "model": {"V_F": 2.0, "V_R": 1.0, "a": 1.0, "b": 0.5},
    "network": {"P": 1000},
    "input": {"kind": "constant", "I0": 0.0},
    "init": {"kind": "gaussian", "v0": 0.0, "sigma0": 0.5},
    "run": {"T": 1.0, "dt": 1e-3, "seed": 3},
    "grid": {"V_min": -4.0, "h": 0.01},
}


def with_(path: str, value):
    d = copy.deepcopy(GOOD)
    sec, key = path.split(".")
    if value is _DELETE:
        del d[sec][key]
    else:
        d.setdefault(sec, {})[key] = value
    return d


_DELETE = object()


@pytest.mark.parametrize("name", ["steady_state", "blowup", "instantaneous", "periodic"])
def test_examples_load(name):
    s = load_scenario(EXAMPLES / f"{name}.toml")
    assert s.P >= 1000 and s.T > 0 and s.dt > 0
    assert s.file.endswith(f"{name}.toml")


def test_good_dict():
    s = scenario_from_dict(GOOD, file="x.toml")
    assert s.model.b == 0.5 and s.model.a0 == 1.0 and s.model.a1 == 0.0
    assert s.P == 1000 and s.seed == 3 and s.n_steps == 1000
    assert s.grid == GridSpec(-4.0, 0.01)
    assert s.init == InitSpec("gaussian", v0=0.0, sigma0=0.5)


def test_a0_a1_and_refractory_alias():
    d = copy.deepcopy(GOOD)
    del d["model"]["a"]
    d["model"].update(a0=0.5, a1=0.2, refractory=0.1)
    s = scenario_from_dict(d)
    assert (s.model.a0, s.model.a1, s.model.tau_ref) == (0.5, 0.2, 0.1)


def test_foreign_sections_kept():
    d = copy.deepcopy(GOOD)
    d["chip"] = {"profile": "loihi1", "anything": [1, 2]}
    d["sweep"] = {"bits": [8, 12]}
    s = scenario_from_dict(d)
    assert s.raw["chip"]["profile"] == "loihi1" and s.raw["sweep"] == {"bits": [8, 12]}


def test_defaults():
    d = copy.deepcopy(GOOD)
    del d["grid"], d["input"], d["run"]["seed"]
    s = scenario_from_dict(d)
    assert s.grid == GridSpec(-4.0, 0.01) and s.seed == 0 and s.model.input.I0 == 0.0


BAD = [
    ("model.V_R", 2.0, "model.V_R"),             # V_R >= V_F
    ("model.V_R", 3.0, "model.V_R"),
    ("model.a", 0.0, "model.a"),                 # a <= 0
    ("model.a", -1.0, "model.a"),
    ("run.dt", 0.0, "run.dt"),                   # dt <= 0
    ("run.dt", -1e-3, "run.dt"),
    ("model.b", math.nan, "model.b"),            # NaN anywhere
    ("run.T", math.nan, "run.T"),
    ("init.v0", math.nan, "init.v0"),
    ("input.I0", math.inf, "input.I0"),
    ("grid.h", math.nan, "grid.h"),
    ("grid.V_min", 1.0, "grid.V_min"),           # grid without V_R (V_min = V_R)
    ("grid.V_min", 1.5, "grid.V_min"),
    ("grid.h", 0.03, "grid.h"),                  # V_R not on a node: 5/0.03 not integral
    ("grid.V_min", -4.005, "grid.h"),
    ("input.kind", "sawtooth", "input.kind"),    # unknown input kind
    ("network.P", 0, "network.P"),               # negative / zero P
    ("network.P", -10, "network.P"),
    ("network.P", 12.5, "network.P"),
    ("run.T", 0.0, "run.T"),                     # T <= 0
    ("run.T", -2.0, "run.T"),
    ("model.c", 1.0, "model.c"),                 # unknown key
    ("model.b", "big", "model.b"),               # wrong type
    ("model.b", True, "model.b"),
    ("init.kind", "cauchy", "init.kind"),
    ("init.sigma0", 0.0, "init.sigma0"),
    ("input.period", 1.0, "input.period"),       # key not used by "constant"
    ("model.V_F", _DELETE, "model.V_F"),         # missing key
]


@pytest.mark.parametrize("path,value,key", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_values(path, value, key):
    with pytest.raises(InputError) as info:
        scenario_from_dict(with_(path, value), file="bad.toml")
    err = info.value
    assert err.key == key
    line = err.one_line()
    assert "\n" not in line and line.startswith("bad.toml: ")


def test_unknown_section_and_missing_section():
    d = copy.deepcopy(GOOD)
    d["solver"] = {"x": 1}
    with pytest.raises(InputError, match="unknown section"):
        scenario_from_dict(d)
    d = copy.deepcopy(GOOD)
    del d["init"]
    with pytest.raises(InputError, match="missing section"):
        scenario_from_dict(d)


def test_bad_input_kind_params():
    d = with_("input.kind", "periodic")
    d["input"]["period"] = -1.0
    with pytest.raises(InputError) as info:
        scenario_from_dict(d)
    assert info.value.key == "input.period"


def test_nan_in_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text((EXAMPLES / "steady_state.toml").read_text().replace("b = 0.5", "b = nan"))
    with pytest.raises(InputError) as info:
        load_scenario(f)
    assert info.value.key == "model.b" and str(f) in info.value.one_line()


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    f = tmp_path / "broken.toml"
    f.write_text("[model\nV_F = 2")
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(f)


def test_init_density_and_sample():
    v = -4.0 + 0.01 * np.arange(601)
    for spec in (InitSpec("gaussian", 1.5, 0.1), InitSpec("uniform", low=0.0, high=1.0),
                 InitSpec("point", v0=1.0)):
        p = spec.density(v, 2.0)
        assert p[-1] == 0 and np.all(p >= 0)
        assert 0.01 * p.sum() == pytest.approx(1.0, abs=1e-12)
        V = spec.sample(1000, np.random.default_rng(0), -4.0, 2.0)
        assert V.shape == (1000,) and np.all(V < 2.0)
    V = InitSpec("gaussian", 1.9, 0.5).sample(100_000, np.random.default_rng(1), -4.0, 2.0)
    assert V.max() < 2.0 and V.min() >= -4.0
