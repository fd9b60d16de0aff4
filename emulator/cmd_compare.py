"""Run a scenario on the float reference and on chip profiles, and compare them side by side.

  fxlif compare SCENARIO.toml --profile A [--profile B ...] [--set key=value ...]
                --out DIR [--P N] [--T T] [--dt DT] [--solver multiscale|micro|macro]
                [--bins K] [--seeds 1,2] [--no-plots] [--json]

Example: ``fxlif compare examples/steady_state.toml --profile loihi1 --profile xylo
--out out/cmp``.

The reference is the scenario's multiscale solver (or ``[emulator] reference``,
or ``--solver``); every profile runs the mapped model
(:func:`emulator.mapping.map_model`) on the emulator.  Metrics per run: the
stationary rate (last half), the binned rate's relative L2/L1 difference, the
final voltage density's Wasserstein-1 distance, the Fano factor, a synchrony
measure, the spike-time error (null: exact spike times exist only without
noise), overflow and saturation counts, the run time (see
:mod:`emulator.compare`).  The network size defaults to
``min(P, 500)`` to keep dense chips fast.  Writes ``compare.npz``,
``compare.json``, ``compare_rate.png``, ``compare_density.png``,
``compare_divergence.png`` to ``--out``; ``--json`` prints the table.

Exit 0, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from emulator.io import jsonable, output_dir
from emulator.overrides import parse_overrides
from reference.errors import InputError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif compare``."""
    parser.add_argument("scenario", help="scenario TOML file (see examples/)")
    parser.add_argument("--profile", action="append", default=[], required=True,
                        help="profile name or TOML file, repeatable")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of every profile (e.g. state_bits=12)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--P", type=int, default=None, help="network size (default min(P, 500))")
    parser.add_argument("--T", type=float, default=None, help="run length (default: the scenario's)")
    parser.add_argument("--dt", type=float, default=None, help="time step (default: the scenario's)")
    parser.add_argument("--solver", default=None, help="reference solver: multiscale, micro, macro")
    parser.add_argument("--bins", type=int, default=None, help="bins of the time-resolved rate")
    parser.add_argument("--seeds", default=None, help="emulator seeds, comma-separated")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG files")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def _seeds(text):
    if text is None:
        return None
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise InputError("must be comma-separated integers", key="--seeds", value=text) from None


def run(args: argparse.Namespace) -> int:
    """Run the comparison, write the files, print the table; return 0."""
    from emulator.compare import DEFAULT_BINS, compare, write_comparison
    overrides = parse_overrides(args.set)
    out = output_dir(args.out)
    cmp = compare(args.scenario, args.profile, overrides=overrides, P=args.P, T=args.T,
                  dt=args.dt, solver=args.solver,
                  bins=DEFAULT_BINS if args.bins is None else args.bins,
                  seeds=_seeds(args.seeds))
    files = write_comparison(cmp, out, plots=not args.no_plots)
    if args.json:
        print(json.dumps(jsonable({"table": cmp.table, "files": [str(f) for f in files]}),
                         indent=2))
        return 0
    cols = ("rate", "rate_rel_error", "rate_l2", "rate_l1", "w1", "fano", "synchrony", "wall_s")
    print(f"{cmp.scenario.file}: P {cmp.scenario.P}, T {cmp.scenario.T:g}, "
          f"dt {cmp.scenario.dt:g}, reference {cmp.solver}")
    print("run".ljust(12) + "".join(c.rjust(15) for c in cols))
    for name, row in cmp.table.items():
        cells = "".join((f"{row[c]:.5g}" if isinstance(row[c], float) else str(row[c])).rjust(15)
                        for c in cols)
        print(name.ljust(12) + cells)
    for f in files:
        print(f"wrote {f}")
    return 0

