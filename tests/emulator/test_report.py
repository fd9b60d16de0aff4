"""The sweep report (emulator/report.py): sections, embedded plots, registers, errors."""

import json
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.report import pareto_front, write_report
from emulator.sweep import load_sweep, points_dir, run_sweep

from .test_sweep import make_sweep


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    run_sweep(load_sweep(make_sweep(tmp)), tmp / "out", workers=1, progress=False)
    return tmp / "out"


def test_pareto_front_keeps_only_undominated_points():
    items = [(10, 0.5, "a"), (12, 0.5, "b"), (12, 0.1, "c"), (16, 0.2, "d"), (20, 0.0, "e")]
    assert [t for _, _, t in pareto_front(items)] == ["a", "c", "e"]
    assert pareto_front([]) == []


def test_report_is_self_contained_and_complete(folder, capsys):
    assert main(["report", str(folder)]) == 0
    path = folder / "report.html"
    assert capsys.readouterr().out.strip() == str(path)
    text = path.read_text()
    for heading in ("Error against bit cost", "Flags and events per setting", "Worst points",
                    "Infeasible and missing points", "Registers of each point"):
        assert heading in text
    assert text.count("data:image/png;base64,") == 1          # one error column here
    assert "<td>front</td>" in text                             # a configuration on the front
    assert "Cheapest configuration within 0.01" in text
    assert "threshold does not fit the 8-bit voltage register" in text   # infeasible reason
    assert "overflow_v" in text                                 # an event column
    for p in points_dir(folder).glob("*.json"):                 # every point is listed
        assert f"id='p{p.stem}'" in text
    rec = json.loads(next(points_dir(folder).glob("*.json")).read_text())
    if "registers" in rec["details"]:
        assert "bias_mant = [0,2,4,6,8,10,12,14]" in text     # exact register values
    assert "src='http" not in text and "<script" not in text   # nothing fetched


def test_report_of_a_non_sweep_folder_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a sweep folder" in err[0]
    assert not (tmp_path / "report.html").exists()


def test_report_to_another_file(folder, tmp_path):
    out = write_report(folder, tmp_path / "r.html")
    assert out == tmp_path / "r.html" and out.read_text().startswith("<!DOCTYPE html>")


def test_report_of_points_whose_override_columns_differ(tmp_path):
    """A sweep mixing profiles: loihi1 has no state_bits, so that column is empty for it;
    the report must still order the settings (regression: None vs int)."""
    root = Path(__file__).resolve().parents[2] / "examples"
    sweep = tmp_path / "mixed.toml"
    sweep.write_text(f"""
metrics = ["emulator"]
[settings]
ticks = 60
[[points]]
profile = "loihi1"
overrides = {{}}
scenario = "{root / 'chip' / 'feedforward.toml'}"
seed = 1
[[points]]
profile = "generic"
overrides = {{state_bits = 20}}
scenario = "{root / 'chip' / 'feedforward.toml'}"
seed = 1
""")
    out = tmp_path / "out"
    run_sweep(load_sweep(sweep), out, workers=1, progress=False)
    html = write_report(out).read_text()
    assert "loihi1" in html and "state_bits" in html
