"""An HTML report of a sweep folder, with its plots embedded.

  fxlif report DIR [--out FILE]

Reads the folder written by ``fxlif sweep`` and writes ``DIR/report.html``
(or FILE): error against bit cost with the Pareto front per error metric,
how often each flag fires per setting, the worst points with their flags,
infeasible points with the reason, and the exact registers of each point.
"""

from __future__ import annotations

import argparse

from emulator.report import write_report

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif report``."""
    parser.add_argument("folder", metavar="DIR", help="output folder of fxlif sweep")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="the HTML file (default DIR/report.html)")


def run(args: argparse.Namespace) -> int:
    """Write the report; return the exit code."""
    print(write_report(args.folder, args.out))
    return 0
