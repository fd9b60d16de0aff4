"""Check the emulator against golden vectors (format fxlif-vectors/1).

Exit 0 when every case is bit-exact, 1 on a mismatch (the first one is
printed: case, variable, tick, neuron, expected, got), 2 on a malformed file.
"""

from __future__ import annotations

import argparse
import json

from emulator.verify import verify

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif verify``."""
    parser.add_argument("files", nargs="+", metavar="FILE.npz", help="golden-vector files")
    parser.add_argument("--json", action="store_true", help="print a JSON report")


def run(args: argparse.Namespace) -> int:
    """Verify each file; return 0 if all are bit-exact, 1 otherwise."""
    reports = [verify(f) for f in args.files]
    if args.json:
        out = [r.to_dict() for r in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        for r in reports:
            print(f"{r.file}:")
            print("  " + str(r).replace("\n", "\n  "))
    return 0 if all(r.ok for r in reports) else 1
