"""Precision trade-off sweeps: profiles x overrides x scenarios x seeds from a TOML file.

  fxlif sweep SWEEP.toml --out DIR [--workers N] [--scheduler ADDRESS] [--resume]

Each point (one profile with one set of overrides, one scenario, one seed) is
written to ``DIR/points/<hash>.json`` as soon as it is done, atomically, so an
interrupted sweep continues with ``--resume`` and computes only what is
missing.  All points are gathered into ``DIR/results.csv`` (one row per
point, sorted by configuration: identical whatever the number of workers)
and ``DIR/timings.csv``.  Points run on a local process pool (default: one
worker per CPU), inline (``--workers 1``) or on a dask.distributed cluster
(``--scheduler tcp://host:8786``).  The file format is documented in
``emulator/sweep.py``; ``fxlif report DIR`` turns the folder into HTML.
Exit 0 when every point is done, 1 when some failed (they are retried by
``--resume``), 2 on a bad sweep file, profile, scenario or output folder.
"""

from __future__ import annotations

import argparse
import sys

from emulator.sweep import SweepError, load_sweep, run_sweep

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif sweep``."""
    parser.add_argument("sweep", help="sweep TOML file")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local worker processes (default: one per CPU; 1 = inline)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on a dask.distributed cluster, e.g. tcp://host:8786")
    parser.add_argument("--resume", action="store_true",
                        help="keep the points already in --out and compute the rest")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the sweep; return the exit code."""
    if args.workers is not None and args.workers < 1:
        raise SweepError("must be at least 1", key="--workers", value=args.workers)
    if args.scheduler and args.workers is not None:
        raise SweepError("--workers applies to local runs; a dask cluster has its own workers",
                         key="--workers", value=args.workers)
    spec = load_sweep(args.sweep)
    executor, close = None, None
    if args.scheduler:
        from emulator.sweep import make_executor

        executor, close = make_executor(scheduler=args.scheduler)
    try:
        outcome = run_sweep(spec, args.out, executor=executor, workers=args.workers,
                            resume=args.resume, progress=not args.no_progress)
    finally:
        if close is not None:
            close()
    print(f"fxlif sweep: {outcome.total} points: {outcome.computed} computed, "
          f"{outcome.skipped} kept, {len(outcome.failed)} failed", file=sys.stderr)
    for f in outcome.files:
        print(f)
    return 1 if outcome.failed else 0
