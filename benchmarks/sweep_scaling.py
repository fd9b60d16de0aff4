"""Sweep throughput: points per minute with 1 and 2 workers, and the scaling, in one run.

Two workloads, generic profile, ``state_bits`` x seeds (state widths are
run-time scalars of one compiled kernel, so no point waits for a compile):

* ``light``: examples/chip/feedforward.toml and recurrent.toml (32 and 64
  neurons) run for ``--ticks`` ticks; a point costs a few ms of kernel time,
  so the figures measure the sweep machinery (profile load, task shipping,
  JSON point files written with fsync);
* ``heavy``: examples/steady_state.toml mapped onto the chip (10^4 neurons,
  hardware noise, all-to-all coupling, ``--heavy-ticks`` ticks, metric
  ``mapping``): a realistic design-space point of a few tenths of a second.

Executors, each into a fresh folder: ``inline`` (``--workers 1``),
``pool-2`` (a spawn ProcessPoolExecutor with 2 workers) and, with ``--dask``,
``dask-2`` (a LocalCluster of 2 worker processes, 1 thread each; its start-up
is printed apart).  Each pool runs the sweep twice: ``cold`` (fresh workers:
process start, imports, numba cache loads) and ``warm`` (the same workers
again).  Speed-up and efficiency (speed-up / workers) compare warm with
inline.  A warm-up inline pass first fills numba's on-disk cache (printed
apart).  The tables of all executors are checked to be byte-identical.

Usage: ``python benchmarks/sweep_scaling.py [--dask] [--ticks 20000] [--heavy-ticks 2000]``.
On a shared 2-core machine the 2-worker figures depend on the load: run twice.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from emulator.sweep import load_sweep, make_executor, run_sweep

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def light_sweep(folder: Path, ticks: int, bits: list[int], seeds: list[int]) -> Path:
    for name in ("feedforward", "recurrent"):      # the example networks, run longer
        text = (EXAMPLES / "chip" / f"{name}.toml").read_text()
        assert "\nticks = 400\n" in text
        (folder / f"{name}.toml").write_text(text.replace("\nticks = 400\n",
                                                          f"\nticks = {ticks}\n"))
    path = folder / "light.toml"
    path.write_text(f'profiles = ["generic"]\nscenarios = ["feedforward.toml", '
                    f'"recurrent.toml"]\nseeds = {seeds}\nmetrics = ["emulator"]\n'
                    f"[overrides]\nstate_bits = {bits}\n")
    return path


def heavy_sweep(folder: Path, ticks: int, bits: list[int], seeds: list[int]) -> Path:
    path = folder / "heavy.toml"
    path.write_text(f'profiles = ["generic"]\nscenarios = ["{EXAMPLES / "steady_state.toml"}"]'
                    f'\nseeds = {seeds}\nmetrics = ["mapping"]\n'
                    f"[overrides]\nstate_bits = {bits}\n[settings]\nticks = {ticks}\n")
    return path


def timed(spec, out: Path, **kw) -> float:
    t = time.perf_counter()
    outcome = run_sweep(spec, out, progress=False, **kw)
    wall = time.perf_counter() - t
    assert not outcome.failed, outcome.failed
    return wall


def point_seconds(out: Path) -> list[float]:
    """Compute seconds of each point (timings.csv), sorted."""
    with open(out / "timings.csv") as fh:
        return sorted(float(r["point_s"]) for r in csv.DictReader(fh))


def measure(label: str, spec, tmp: Path, use_dask: bool) -> None:
    n = len(spec.points)
    warm_up = timed(spec, tmp / f"{label}-warmup", workers=1)
    print(f"\n[{label}] {n} points; warm-up inline pass (numba cache, then the points): "
          f"{warm_up:.2f} s")
    rows = []
    wall1 = timed(spec, tmp / f"{label}-inline", workers=1)
    rows.append(("inline", 1, wall1, wall1, tmp / f"{label}-inline"))
    ex, close = make_executor(2)
    try:
        cold = timed(spec, tmp / f"{label}-pool-cold", executor=ex)
        warm = timed(spec, tmp / f"{label}-pool", executor=ex)
    finally:
        close()
    rows.append(("pool-2", 2, cold, warm, tmp / f"{label}-pool"))
    if use_dask:
        import distributed

        t = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cl, \
                distributed.Client(cl) as client:
            start = time.perf_counter() - t
            ex = client.get_executor(pure=False)
            cold = timed(spec, tmp / f"{label}-dask-cold", executor=ex)
            warm = timed(spec, tmp / f"{label}-dask", executor=ex)
        print(f"[{label}] dask LocalCluster start-up: {start:.2f} s (not in the table)")
        rows.append(("dask-2", 2, cold, warm, tmp / f"{label}-dask"))
    ref = (rows[0][4] / "results.csv").read_bytes()
    for name, *_, out in rows[1:]:
        assert (out / "results.csv").read_bytes() == ref, f"{name}: table differs from inline"
    print(f"{'executor':<8} {'workers':>7} {'cold s':>7} {'cold pts/min':>12} {'warm s':>7} "
          f"{'warm pts/min':>12} {'speed-up':>9} {'efficiency':>10} {'median s/point':>15}")
    for name, w, cold, warm, out in rows:
        sp = wall1 / warm
        ps = point_seconds(out)
        print(f"{name:<8} {w:>7} {cold:>7.2f} {60 * n / cold:>12.0f} {warm:>7.2f} "
              f"{60 * n / warm:>12.0f} {sp:>9.2f} {sp / w:>10.2f} {ps[len(ps) // 2]:>15.4f}")
    print(f"[{label}] tables identical across executors: yes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=20000, help="ticks of a light point")
    ap.add_argument("--heavy-ticks", type=int, default=2000, help="ticks of a heavy point")
    ap.add_argument("--dask", action="store_true", help="also a 2-worker dask LocalCluster")
    ap.add_argument("--only", choices=("light", "heavy"), default=None)
    args = ap.parse_args()
    print("cold: fresh workers (process start, imports, numba cache loads included); warm: "
          "the same workers again.\nspeed-up = inline s / warm s; efficiency = speed-up / "
          "workers.")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only in (None, "light"):
            spec = load_sweep(light_sweep(tmp, args.ticks, [24, 22, 20, 18, 16, 14], [1, 2, 3]))
            measure("light", spec, tmp, args.dask)
        if args.only in (None, "heavy"):
            spec = load_sweep(heavy_sweep(tmp, args.heavy_ticks, [24, 22, 20, 18, 16, 14],
                                          [1, 2]))
            measure("heavy", spec, tmp, args.dask)


if __name__ == "__main__":
    main()
