"""fxlif demo's sweep step hands run_sweep a file-like log (regression: it passed a function)."""

from pathlib import Path

import emulator.report as report
import emulator.sweep as sweep
from emulator import cmd_demo


def test_demo_sweep_gives_run_sweep_no_function_as_log(monkeypatch, tmp_path):
    """run_sweep prints its notes with print(..., file=log): log must be None or have write()."""
    seen = {}

    def fake_run_sweep(spec, folder, **kw):
        seen.update(kw)

    monkeypatch.setattr(sweep, "run_sweep", fake_run_sweep)
    monkeypatch.setattr(report, "write_report", lambda folder: Path(folder) / "report.html")
    cmd_demo._sweep(tmp_path, log=lambda msg: None)
    log = seen.get("log")
    assert log is None or hasattr(log, "write")
