"""fxlif map: the table, --json, --strict, and bad input (exit 2, one line)."""

import json
import math

import pytest

from emulator.cli import main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
SCEN = """
[model]
V_F = 2.0
V_R = 1.0
a = 1.0
b = {b}
[network]
P = {P}
[init]
kind = "point"
v0 = 1.0
[run]
T = {T}
dt = {dt}
"""


def _scenario(tmp_path, b=0.0, P=100, T=10.0, dt=2 ** -10, extra=""):
    path = tmp_path / "s.toml"
    path.write_text(SCEN.format(b=b, P=P, T=T, dt=dt) + extra)
    return str(path)


def test_table_and_json(tmp_path, capsys):
    f = str(ROOT / "examples" / "mapping_loihi1.toml")
    assert main(["map", f, "--profile", "loihi1"]) == 0
    out = capsys.readouterr().out
    for word in ("threshold", "noise std", "coupling b/P", "rel. error", "dv=16"):
        assert word in out
    assert main(["map", f, "--profile", "loihi1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["profile"] == "loihi1" and d["dt"] == 2 ** -8 and d["ticks"] == round(150 * 2 ** 8)
    rows = {r["name"]: r for r in d["parameters"]}
    assert rows["decay"]["represented"] == 1 - 16 / 4096 and rows["leak rate"]["rel_error"] == 0
    # noise: uniform 8-bit mantissa << noise_exp, variance (4**8 - 1)/12 * 4**exp
    e = int(rows["noise std"]["register"].split("noise_exp=")[1])
    assert rows["noise std"]["represented"] == pytest.approx(
        math.sqrt((4 ** 8 - 1) / 12 * 4 ** e) / d["v_scale"], rel=1e-12)


def test_set_overrides_generic(tmp_path, capsys):
    f = _scenario(tmp_path)
    assert main(["map", f, "--profile", "generic", "--set", "state_bits=16", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    vth = int(d["parameters"][3]["register"].split("=")[1].split()[0])
    assert vth < 2 ** 15 and d["parameters"][3]["name"] == "threshold"


@pytest.mark.parametrize("case, args, words", [
    ("threshold", dict(extra="[mapping]\nv_scale = 1e9\n"), "threshold beyond the register"),
    ("dt", dict(dt=1.5, T=15.0), "time step too large"),
    ("coupling", dict(b=0.01, P=1000, extra="[mapping]\ntolerance = 0.5\n"), "coupling b/P"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, case, args, words):
    f = _scenario(tmp_path, **args)
    argv = ["map", f, "--profile", "loihi1"] + (["--strict"] if case == "coupling" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    if case == "coupling":      # without --strict: a warning, exit 0
        assert main(argv[:-1]) == 0
        assert "rounds to zero" in capsys.readouterr().out


def test_not_implemented_profile(tmp_path, capsys):
    assert main(["map", _scenario(tmp_path), "--profile", "truenorth"]) == 2
    assert "mapping onto truenorth is not implemented yet" in capsys.readouterr().err
