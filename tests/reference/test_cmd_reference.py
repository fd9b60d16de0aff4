"""``fxlif reference`` (emulator/cmd_reference.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emulator import __version__
from emulator.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: notes/multiscale.md section 5: b = 0.5, truncated domain [-4, 2].
N_STEADY = 0.1347789608


def short_blowup(tmp_path, T=0.06, P=2000):
    text = (EXAMPLES / "blowup.toml").read_text()
    text = text.replace("T = 1.0", f"T = {T}").replace("P = 10000", f"P = {P}")
    f = tmp_path / "blowup_short.toml"
    f.write_text(text)
    return f


def test_macro_json(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["reference", str(EXAMPLES / "steady_state.toml"), "--solver", "macro",
               "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    # t in [2.5, 5]: the relaxation from the initial Gaussian is not quite over
    assert summary["rate_mean"] == pytest.approx(N_STEADY, rel=1e-2)
    assert summary["rate_final"] == pytest.approx(N_STEADY, rel=2e-3)
    assert summary["switches"] == [] and summary["mass_error"] < 1e-12
    with np.load(out / "steady_state_macro.npz") as data:
        assert data["N"].shape == (5000,) and data["t"].shape == (5001,)
    side = json.loads((out / "steady_state_macro.json").read_text())
    assert side["fxlif_version"] == __version__ and side["scenario"]["model"]["b"] == 0.5
    assert (out / "steady_state_rate.png").stat().st_size > 1000
    assert not list(out.glob(".*.tmp"))                 # atomic writes left no temp files


def test_multiscale_overlay(tmp_path, capsys):
    f = short_blowup(tmp_path)
    out = tmp_path / "out"
    rc = main(["reference", str(f), "--solver", "multiscale", "--overlay", "--out", str(out),
               "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    sw = summary["switches"]
    assert sw and sw[0]["direction"] == "macro->micro" and sw[0]["time"] < 0.025
    assert {"time", "direction", "rate_before", "rate_after"} <= set(sw[0])
    assert set(summary["overlay"]) == {"micro", "macro"}
    assert summary["overlay"]["macro"]["status"] == -1          # macro alone diverges
    for solver in ("micro", "macro", "multiscale"):
        assert (out / f"blowup_short_{solver}.npz").exists()
        assert (out / f"blowup_short_{solver}.json").exists()
    assert (out / "blowup_short_multiscale_density.png").exists()
    with np.load(out / "blowup_short_multiscale.npz") as data:
        assert data["switch_time"].size == len(sw) and data["switch_to_micro"][0]


def test_bad_scenario_exit_2(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text((EXAMPLES / "steady_state.toml").read_text().replace("V_R = 1.0", "V_R = 2.5"))
    rc = main(["reference", str(f), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "model.V_R = 2.5" in err and "Traceback" not in err


@pytest.mark.parametrize("edit", [("dt = 1e-3", "dt = -1e-3"), ("kind = \"constant\"",
                                                                  "kind = \"square\""),
                                  ("P = 10000", "P = 0"), ("h = 0.01", "h = 0.03")])
def test_bad_values_exit_2(tmp_path, capsys, edit):
    f = tmp_path / "bad.toml"
    f.write_text((EXAMPLES / "steady_state.toml").read_text().replace(*edit))
    assert main(["reference", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fxlif reference: error: ")


def test_cli_process_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "emulator.cli", "reference",
                           str(tmp_path / "missing.toml"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
