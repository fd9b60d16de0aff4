r"""Maps of the flags and of the predicted rate error over a plane of two parameters.

  fxlif divergence SCENARIO.toml --profile NAME --x KEY=start:stop:n --y KEY=start:stop:n
                   [--set key=value ...] [--P N] [--spot N] [--spot-T T] [--seed S]
                   --out DIR [--no-plots] [--json]

Example::

  fxlif divergence examples/mapping_loihi1.toml --profile generic --set state_bits=12 \
      --x input.I0=0:2:5 --y model.a=0.25:1.5:4 --spot 3 --out out/div

A key is a scenario key ``section.key`` (``input.I0``, ``model.a``,
``model.b``, ``run.dt``, ``network.P``, ...) or a profile override
(``state_bits``, ``state.v.bits``, ...).  At every grid point the flags and
the quantised mean-field prediction are evaluated (cheap: no emulator run,
see ``fxlif flags``); the predicted rate error is ``|predicted - float| /
float``.  ``--spot N`` runs the emulator at N points (the worst, then random
ones) and reports measured vs predicted rate.  Writes ``divergence.npz``,
``divergence.csv`` (one row per point, flag severities 0-3),
``divergence.json`` and ``divergence.png`` (heatmap, each flag's region
hatched, spot checks marked).  Exit 0, 2 on bad input (unknown key,
malformed range).
"""

from __future__ import annotations

import argparse
import json

from emulator.io import jsonable, output_dir
from emulator.overrides import parse_overrides
from reference.errors import InputError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif divergence``."""
    parser.add_argument("scenario", help="scenario TOML file (see examples/)")
    parser.add_argument("--profile", required=True, help="profile name or TOML file")
    parser.add_argument("--x", required=True, metavar="KEY=start:stop:n", help="x axis")
    parser.add_argument("--y", required=True, metavar="KEY=start:stop:n", help="y axis")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile field at every point, repeatable")
    parser.add_argument("--P", type=int, default=None, help="network size (default: scenario's)")
    parser.add_argument("--spot", type=int, default=0, help="emulator spot checks (default 0)")
    parser.add_argument("--spot-T", type=float, default=None,
                        help="run length of the spot checks (default: the scenario's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random spot choice")
    parser.add_argument("--method", choices=("auto", "chain", "diffusion"), default="auto")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG file")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Evaluate the map, spot-check, write the files; return 0."""
    from emulator.divergence import divergence_map, parse_axis, spot_check, write_divergence
    x = parse_axis("--x", args.x)
    y = parse_axis("--y", args.y)
    overrides = parse_overrides(args.set)
    if args.P is not None and args.P < 1:
        raise InputError("must be a positive integer", key="--P", value=args.P)
    if args.spot < 0:
        raise InputError("must be >= 0", key="--spot", value=args.spot)
    out = output_dir(args.out)
    dmap = divergence_map(args.scenario, args.profile, x, y, overrides=overrides, P=args.P,
                          method=args.method)
    spot_check(dmap, args.spot, seed=args.seed, P=args.P, T=args.spot_T)
    files = write_divergence(dmap, out, plots=not args.no_plots)
    if args.json:
        d = dmap.to_dict()
        d["files"] = [str(f) for f in files]
        print(json.dumps(jsonable(d), indent=2))
        return 0
    print(f"{args.scenario} on {args.profile}: {dmap.x_key} x {dmap.y_key}, "
          f"{dmap.x.size} x {dmap.y.size} points, {len(dmap.failed)} failed")
    print(f"predicted rate error: max {float(_nanmax(dmap.error)):.3g}")
    from emulator.flags import FLAG_NAMES
    for k, name in enumerate(FLAG_NAMES):
        if dmap.flags[k].any():
            print(f"{name:19s} at {int(dmap.flags[k].sum())} points")
    for s in dmap.spots:
        print(f"spot ({s['why']}) {dmap.x_key}={s['x']:g} {dmap.y_key}={s['y']:g}: "
              f"measured {s['measured']:.4g}, predicted {s['predicted']:.4g} "
              f"({s['rel_diff']:.2%} off)")
    for f in files:
        print(f"wrote {f}")
    return 0


def _nanmax(a):
    import numpy as np
    return np.nanmax(a) if np.isfinite(a).any() else float("nan")
