"""Sweeps: same table for any executor, crash + resume, bad input (emulator/sweep.py).

The sweeps here are tiny (8 neurons, 120 ticks) and use one kernel variant (the
generic profile's default modes; state widths are run-time scalars), so worker
processes only load the numba kernel from the disk cache.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.sweep import (
    METRICS,
    POINT_SCHEMA,
    SweepError,
    load_sweep,
    point_id,
    points_dir,
    read_table,
    register_metric,
    run_sweep,
)

SCENARIO = """
[chip]
neurons = 8
inputs = 4
ticks = 120
seeds = [1]

[chip.input]
kind = "poisson"
rate = 0.2
seed = 3

[[chip.projections]]
source = "input"
kind = "dense"
weights = "random"
weight_range = [-20, 60]
seed = 4

[chip.params.generic]
du = 409
dv = 205
vth = 200
bias_mant = [0, 2, 4, 6, 8, 10, 12, 14]
bias_exp = 0
"""

SWEEP = """
description = "tiny"
profiles = ["generic"]
scenarios = ["tiny.toml"]
seeds = [{seeds}]
metrics = [{metrics}]

[overrides]
state_bits = [{bits}]

[baseline]
profile = "generic"
overrides = {{state_bits = 16}}
"""


def make_sweep(folder: Path, bits="8, 10, 12, 16", seeds="1, 2", metrics='"emulator"',
               name="sweep.toml") -> Path:
    (folder / "tiny.toml").write_text(SCENARIO)
    path = folder / name
    path.write_text(SWEEP.format(bits=bits, seeds=seeds, metrics=metrics))
    return path


def no_temporaries(out: Path) -> bool:
    return not list(out.glob(".*.tmp")) and not list(points_dir(out).glob(".*.tmp"))


@pytest.fixture(scope="module")
def inline(tmp_path_factory):
    """The reference: the tiny sweep computed inline."""
    folder = tmp_path_factory.mktemp("inline")
    spec = load_sweep(make_sweep(folder))
    outcome = run_sweep(spec, folder / "out", workers=1, progress=False)
    assert outcome.computed == len(spec.points) and not outcome.failed
    return folder / "out"


def test_inline_table_has_config_and_metric_columns(inline):
    columns, rows = read_table(inline / "results.csv")
    assert columns[:6] == ["point_id", "profile", "scenario", "set.state_bits", "seed",
                           "status"]
    for c in ("bit_cost", "bits_state", "rate_mean", "rate_std", "fano", "silent_fraction",
              "overflow_u", "overflow_v", "rate_err_baseline"):
        assert c in columns
    assert "kernel_s" not in columns           # volatile figures live in timings.csv
    assert [(r["set.state_bits"], r["seed"]) for r in rows] == \
        [(b, s) for b in (8, 10, 12, 16) for s in (1, 2)]
    by_bits = {r["set.state_bits"]: r for r in rows}
    assert by_bits[8]["status"] == "infeasible" and "8-bit" in by_bits[8]["message"]
    assert by_bits[16]["rate_err_baseline"] == 0.0 and by_bits[16]["rate_mean"] > 0
    assert by_bits[10]["bit_cost"] < by_bits[16]["bit_cost"]
    assert no_temporaries(inline)
    rec = json.loads(next(points_dir(inline).glob("*.json")).read_text())
    assert rec["config"]["schema"] == POINT_SCHEMA and "fxlif_version" not in rec["config"]
    assert rec["id"] == point_id(rec["config"])[:16]


def test_point_id_is_canonical():
    a = {"profile": "generic", "overrides": {"a": 1, "b": "x"}, "seed": 1}
    b = {"seed": 1, "overrides": {"b": "x", "a": 1}, "profile": "generic"}
    assert point_id(a) == point_id(b) != point_id({**a, "seed": 2})


@pytest.mark.filterwarnings(
    # an unclosed socket can be garbage-collected while the cluster's processes shut down
    # (after the table is written); no other warning is filtered (none seen in 5 runs)
    "ignore::ResourceWarning")
def test_dask_local_cluster_gives_the_inline_table(inline, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    sweep = make_sweep(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        code = main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--no-progress",
                     "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (tmp_path / "out" / "results.csv").read_bytes() == \
        (inline / "results.csv").read_bytes()
    workers = {json.loads(p.read_text())["timing"]["worker"]
               for p in points_dir(tmp_path / "out").glob("*.json")}
    assert all(int(w.split(":")[1]) != os.getpid() for w in workers)   # ran on the cluster


def test_sigkill_then_resume_gives_the_same_table_and_computes_nothing_twice(inline, tmp_path,
                                                                             capsys):
    # sitecustomize (imported at start-up by the CLI process and its pool workers)
    # registers a metric that sleeps, so the sweep is still running when it is killed.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import time\nfrom emulator.sweep import register_metric\n"
        "register_metric('slow')(lambda ctx: time.sleep(0.1) or {})\n")
    # the same points as the reference, plus the 'slow' metric (adds no column)
    sweep = make_sweep(tmp_path, bits="8, 9, 10, 11, 12, 14, 16", seeds="1, 2",
                       metrics='"emulator", "slow"')
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(hooks), str(Path(__file__).resolve().parents[2])])}
    cmd = [sys.executable, "-m", "emulator.cli", "sweep", str(sweep), "--out", str(out),
           "--no-progress"]
    proc = subprocess.Popen(cmd + ["--workers", "2"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(points_dir(out).glob("*.json"))) < 4:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no point file after 60 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)          # the sweep and its pool workers, mid-way
    proc.wait()
    proc.stderr.close()
    first = {p.name: p.read_bytes() for p in points_dir(out).glob("*.json")}
    n_points = 7 * 2
    assert 4 <= len(first) < n_points, "the sweep finished before it was killed"
    assert not (out / "results.csv").exists()
    for data in first.values():                  # every point file is complete JSON
        json.loads(data)

    # resume in this process, inline (a pool start costs seconds; the killed run used one),
    # then an uninterrupted run of the same sweep: same table
    metrics_before = dict(METRICS)
    register_metric("slow")(lambda ctx: {})
    try:
        code = main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--resume",
                     "--no-progress"])
        err = capsys.readouterr().err
        run_sweep(load_sweep(sweep), tmp_path / "clean", workers=1, progress=False)
    finally:
        METRICS.clear()
        METRICS.update(metrics_before)
    assert code == 0, err
    assert f"{n_points - len(first)} computed, {len(first)} kept" in err
    after = {p.name: p.read_bytes() for p in points_dir(out).glob("*.json")}
    assert len(after) == n_points and no_temporaries(out)
    assert all(after[name] == data for name, data in first.items())   # kept, not redone
    run_ids = [json.loads(d)["run_id"] for d in after.values()]
    assert len(set(run_ids)) == 2
    resumed = json.loads(next(after[n] for n in after if n not in first))["run_id"]
    assert run_ids.count(resumed) == n_points - len(first)
    assert (out / "results.csv").read_bytes() == (tmp_path / "clean" / "results.csv").read_bytes()
    # and its rows for the reference's configurations equal the reference's rows
    _, ref_rows = read_table(inline / "results.csv")
    _, rows = read_table(out / "results.csv")
    ids = {r["point_id"] for r in rows}
    assert not ids & {r["point_id"] for r in ref_rows}      # the metric list is hashed
    common = [(r["set.state_bits"], r["seed"], r["rate_mean"]) for r in ref_rows]
    assert set(common) <= {(r["set.state_bits"], r["seed"], r["rate_mean"]) for r in rows}


def test_resume_skips_everything_when_done(inline, tmp_path):
    spec = load_sweep(inline.parent / "sweep.toml")
    again = run_sweep(spec, inline, workers=1, resume=True, progress=False)
    assert again.computed == 0 and again.skipped == len(spec.points)


def _cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("fxlif sweep: error: ")
    return lines[0]


def test_malformed_sweep_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("profiles = [generic\n")
    code, err = _cli(capsys, "sweep", str(bad), "--out", str(tmp_path / "out"))
    assert code == 2 and "not valid TOML" in one_error_line(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edit, words", [
    (("profiles = [\"generic\"]", "profiles = [\"nochip\"]"), "unknown profile"),
    (("profiles = [\"generic\"]", "profiles = [\"loihi1\"]"), "unknown override"),
    (("state_bits = [8, 10, 12, 16]", "state_bitz = [8]"), "unknown override"),
    (("state_bits = [8, 10, 12, 16]", "state_bits = [99]"), "state"),
    (("metrics = [\"emulator\"]", "metrics = [\"nope\"]"), "unknown metric"),
    (("scenarios = [\"tiny.toml\"]", "scenarios = [\"missing.toml\"]"), "cannot read"),
    (("seeds = [1, 2]", "seeds = [1, 2]\nbogus = 1"), "unknown key"),
])
def test_bad_sweep_inputs_exit_2_with_one_line(tmp_path, capsys, edit, words):
    path = make_sweep(tmp_path)
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1]))
    code, err = _cli(capsys, "sweep", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and words in one_error_line(err)
    assert not (tmp_path / "out").exists()


def test_metric_with_a_missing_module_is_refused(tmp_path):
    register_metric("needs_missing", needs=("emulator._no_such_module",))(lambda ctx: {})
    try:
        with pytest.raises(SweepError, match="needs emulator._no_such_module"):
            load_sweep(make_sweep(tmp_path, metrics='"emulator", "needs_missing"'))
    finally:
        del METRICS["needs_missing"]


def test_unwritable_output_folder_exits_2(tmp_path, capsys):
    path = make_sweep(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, err = _cli(capsys, "sweep", str(path), "--out", str(blocker / "out"),
                     "--workers", "1")
    assert code == 2 and "output folder" in one_error_line(err)


def test_existing_points_without_resume_exit_2(inline, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in points_dir(inline).glob("*.json")}
    code, err = _cli(capsys, "sweep", str(inline.parent / "sweep.toml"), "--out", str(inline),
                     "--workers", "1")
    assert code == 2 and "--resume" in one_error_line(err)
    assert before == {p.name: p.stat().st_mtime_ns for p in points_dir(inline).glob("*.json")}


def test_explicit_points_and_override_lists(tmp_path):
    (tmp_path / "tiny.toml").write_text(SCENARIO)
    (tmp_path / "pts.toml").write_text(
        '[[points]]\nprofile = "generic"\noverrides = {state_bits = 12}\n'
        'scenario = "tiny.toml"\nseed = 5\n'
        '[[points]]\nprofile = "generic"\nscenario = "tiny.toml"\n')
    spec = load_sweep(tmp_path / "pts.toml")
    assert [(dict(p.overrides), p.seed) for p in spec.points] == [({"state_bits": 12}, 5),
                                                                  ({}, 1)]
    (tmp_path / "ovl.toml").write_text(
        'profiles = ["generic"]\nscenarios = ["tiny.toml"]\nseeds = [1]\n'
        'overrides = [{state_bits = 12}, {state_bits = 16, rounding = "floor"}]\n')
    spec = load_sweep(tmp_path / "ovl.toml")
    assert [dict(p.overrides) for p in spec.points] == [{"state_bits": 12},
                                                        {"rounding": "floor",
                                                         "state_bits": 16}]


FLOAT_SCENARIO = """
[model]
V_F = 2.0
V_R = 1.0
a = 1.0
b = 0.5

[network]
P = 200

[init]
kind = "gaussian"
v0 = 0.0
sigma0 = 0.5

[run]
T = 0.3
dt = 1e-3
seed = 1

[grid]
V_min = -4.0
h = 0.01
"""


def test_mapping_metric_compares_the_mapped_chip_with_the_float_rate(tmp_path):
    pytest.importorskip("emulator.mapping")
    (tmp_path / "float.toml").write_text(FLOAT_SCENARIO)
    (tmp_path / "sw.toml").write_text(
        'profiles = ["generic"]\nscenarios = ["float.toml"]\nmetrics = ["mapping"]\n'
        "[overrides]\nstate_bits = [10, 24]\n"
        '[baseline]\nprofile = "generic"\noverrides = {state_bits = 24}\n')
    spec = load_sweep(tmp_path / "sw.toml")
    assert [p.seed for p in spec.points] == [1, 1]            # the scenario's own seed
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    columns, rows = read_table(tmp_path / "out" / "results.csv")
    assert {"chip_rate", "reference_rate", "rate_err_float", "v_scale"} <= set(columns)
    assert any(c.startswith("warn_") for c in columns)
    by_bits = {r["set.state_bits"]: r for r in rows}
    assert by_bits[24]["status"] == "ok"
    assert by_bits[24]["reference_rate"] == pytest.approx(0.1347789608, rel=1e-6)
    assert by_bits[24]["rate_err_baseline"] == 0.0
    assert by_bits[10]["v_scale"] < by_bits[24]["v_scale"]    # the scale follows the width


def test_flags_metric_records_the_flags_that_fire(tmp_path):
    pytest.importorskip("emulator.flags")
    (tmp_path / "float.toml").write_text(FLOAT_SCENARIO)
    (tmp_path / "sw.toml").write_text(
        'profiles = ["generic"]\nscenarios = ["float.toml"]\nmetrics = ["mapping", "flags"]\n'
        "[overrides]\nstate_bits = [10, 24]\n")
    run_sweep(load_sweep(tmp_path / "sw.toml"), tmp_path / "out", workers=1, progress=False)
    columns, rows = read_table(tmp_path / "out" / "results.csv")
    assert {"flags", "flags_worst", "predicted_rate", "rate_err_predicted",
            "flag_saturation", "flag_leak_deadzone"} <= set(columns)
    narrow, wide = rows                       # sorted by state_bits
    assert narrow["set.state_bits"] == 10 and narrow["flags"]
    for name in narrow["flags"].split(";"):
        assert narrow[f"flag_{name}"] == 1
    assert len(wide["flags"] or "") < len(narrow["flags"])   # fewer flags with 24 bits
    rec = json.loads((points_dir(tmp_path / "out") / f"{narrow['point_id']}.json").read_text())
    assert {f["name"] for f in rec["details"]["flags"]} == set(narrow["flags"].split(";"))
    assert all(f["reason"] for f in rec["details"]["flags"])


def test_parquet_table_equals_the_csv(inline):
    """The Parquet copy of the table holds the same columns and values as results.csv."""
    import pyarrow.parquet as pq

    columns, rows = read_table(inline / "results.csv")
    tbl = pq.read_table(inline / "results.parquet")
    assert tbl.column_names == columns
    got = tbl.to_pylist()
    assert len(got) == len(rows)
    for a, b in zip(got, rows, strict=True):
        for c in columns:
            if isinstance(b[c], float) or isinstance(a[c], float):
                assert a[c] == pytest.approx(b[c], rel=1e-12, nan_ok=True), c
            else:
                assert (a[c] if a[c] != "" else None) == b[c], c
