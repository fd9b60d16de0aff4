"""Bad input gives one line naming file, key, value and what is allowed; exit code 2; no traceback."""

import subprocess
import sys

import numpy as np
import pytest

from emulator.cli import main
from emulator.profile import profile_dir

LOIHI = (profile_dir() / "loihi1.toml").read_text()


def _profile(tmp_path, text):
    p = tmp_path / "chip.toml"
    p.write_text(text)
    return str(p)


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("edit, key, words", [
    (lambda s: s.replace("[state.u]\n", "[state.u]\ncolour = 3\n"), "state.u.colour", "unknown key"),
    (lambda s: s.replace('overflow = "wrap_lava"\n', ""), "state.u.overflow", "missing key"),
    (lambda s: s.replace("bits = 24\nsigned = true\noverflow = \"wrap_lava\"",
                         "bits = 0\nsigned = true\noverflow = \"wrap_lava\""), "state.u.bits", "2..48"),
    (lambda s: s.replace("bits = 24\nsigned = true\noverflow = \"wrap_lava\"",
                         "bits = 65\nsigned = true\noverflow = \"wrap_lava\""), "state.u.bits", "2..48"),
    (lambda s: s.replace('rounding = "toward_zero"', 'rounding = "nearest"', 1),
     "decay.u.rounding", "toward_zero"),
    (lambda s: s.replace("scope = \"population\"\ndefault = 100", "scope = \"population\"\ndefault = 131071")
     .replace("shift = 6           # spike if", "shift = 7           # spike if"),
     "params.vth.default", "threshold does not fit"),
])
def test_bad_profile(tmp_path, capsys, edit, key, words):
    path = _profile(tmp_path, edit(LOIHI))
    err = _one_line_error(capsys, ["profiles", "show", path])
    assert path in err and key in err and words in err


def test_unknown_profile_and_override(capsys):
    err = _one_line_error(capsys, ["profiles", "show", "loihi7"])
    assert "loihi7" in err and "loihi1" in err
    err = _one_line_error(capsys, ["profiles", "show", "generic", "--set", "state_bits=x"])
    assert "state.u.bits" in err


def _scenario(tmp_path, neurons=4, weights="[[1, 2], [3, 4], [5, 6], [7, 8]]"):
    p = tmp_path / "sc.toml"
    p.write_text(f"""
[chip]
neurons = {neurons}
inputs = 2
ticks = 5
[[chip.projections]]
source = "input"
kind = "dense"
weights = {weights}
""")
    return str(p)


def test_negative_neuron_count(tmp_path, capsys):
    path = _scenario(tmp_path, neurons=-3)
    err = _one_line_error(capsys, ["run", path, "--profile", "loihi1", "--out", str(tmp_path)])
    assert path in err and "chip.neurons" in err and "-3" in err and ">= 1" in err


def test_weight_matrix_of_the_wrong_shape(tmp_path, capsys):
    path = _scenario(tmp_path, weights="[[1, 2, 3], [3, 4, 5]]")
    err = _one_line_error(capsys, ["run", path, "--profile", "loihi1", "--out", str(tmp_path)])
    assert path in err and "projections[0].weights" in err and "(4, 2)" in err


def test_vectors_file_with_a_missing_key(tmp_path, capsys, oracles):
    data = dict(np.load(oracles / "loihi1_lava.npz"))
    del data["typical/w_in"]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **data)
    err = _one_line_error(capsys, ["verify", str(bad)])
    assert str(bad) in err and "typical/w_in" in err and "missing key" in err


def test_not_an_npz(tmp_path, capsys):
    bad = tmp_path / "x.npz"
    bad.write_text("hello")
    err = _one_line_error(capsys, ["verify", str(bad)])
    assert str(bad) in err


def test_real_process_prints_no_traceback(tmp_path):
    path = _scenario(tmp_path, neurons=0)
    proc = subprocess.run([sys.executable, "-m", "emulator.cli", "run", path, "--profile",
                           "loihi1", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "chip.neurons" in proc.stderr


def test_verify_exit_codes(tmp_path, capsys, oracles):
    assert main(["verify", str(oracles / "xylo_xylosim.npz")]) == 0
    data = dict(np.load(oracles / "xylo_xylosim.npz"))
    v = data["recurrent/expect/v"].copy()
    v[9, 2] += 7
    data["recurrent/expect/v"] = v
    bad = tmp_path / "changed.npz"
    np.savez(bad, **data)
    capsys.readouterr()
    assert main(["verify", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "case recurrent: v at tick 10, neuron 2" in out
