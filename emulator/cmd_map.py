"""Map a scenario's float NLIF model onto a hardware profile's registers and report the losses.

  fxlif map SCENARIO.toml --profile NAME [--set key=value ...] [--json] [--strict]

Prints one row per parameter (threshold, reset, decay, leak rate, bias, noise
std, coupling, delay, refractory, dt, ...): the real value, the register
value(s), the value the registers represent, the relative error and a warning
where a value rounds to zero, saturates or loses more than the tolerance (the
scenario's ``[mapping] tolerance``, default 1%).  ``--json`` prints
``{"profile", "v_scale", "dt", "ticks", "parameters": [...]}``.  ``--strict``
turns the first warning into an error (exit 2).  See :mod:`emulator.mapping`.
"""

from __future__ import annotations

import argparse
import json

from emulator.mapping import map_model
from emulator.overrides import parse_overrides
from emulator.profile import load_profile
from reference.scenario import load_scenario

__all__ = ["add_arguments", "format_table", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif map``."""
    parser.add_argument("scenario", help="scenario TOML file with [model], [network], [run]")
    parser.add_argument("--profile", required=True, help="profile name or TOML file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile field (e.g. state_bits=12), repeatable")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 2) on the first parameter with a warning")


def format_table(mapping) -> str:
    """Return the report as a plain-text table."""
    head = ("parameter", "real", "register", "represented", "rel. error", "warning")
    body = [(r.name, f"{r.real:.6g}", r.register, f"{r.represented:.6g}",
             f"{r.rel_error:.3g}", r.warning) for r in mapping.report]
    widths = [max(len(row[k]) for row in [head] + body) for k in range(5)]
    lines = [f"# profile {mapping.profile.name}, v_scale {mapping.v_scale:.6g} LSB per "
             f"model volt, dt {mapping.dt:g}, {mapping.ticks} ticks, {mapping.network.n} neurons"]
    for row in [head] + body:
        cells = (c.ljust(w) for c, w in zip(row[:5], widths, strict=True))
        lines.append("  ".join(cells) + "  " + row[5])
    return "\n".join(line.rstrip() for line in lines)


def run(args: argparse.Namespace) -> int:
    """Map the scenario and print the report; return the exit code."""
    profile = load_profile(args.profile, **parse_overrides(args.set))
    scenario = load_scenario(args.scenario)
    mapping = map_model(scenario, profile, strict=True if args.strict else None)
    if args.json:
        print(json.dumps(mapping.to_dict(), indent=2))
    else:
        print(format_table(mapping))
    return 0
