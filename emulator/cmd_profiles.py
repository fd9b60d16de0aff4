"""List the hardware profiles, or show every field of one with its meaning and source.

fxlif profiles                       one line per shipped profile
fxlif profiles show NAME [--set k=v] every field, its value and meaning
"""

from __future__ import annotations

import argparse
import json

from emulator.overrides import parse_overrides
from emulator.profile import list_profiles, load_profile

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif profiles``."""
    parser.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    parser.add_argument("name", nargs="?", help="profile name or TOML file (for show)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field (shorthand or dotted key), repeatable")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """List or show profiles; return the exit code."""
    if args.action == "list":
        rows = [(n, load_profile(n)) for n in list_profiles()]
        if args.json:
            print(json.dumps([{"name": n, "template": p.template, "summary": p.summary,
                               "verified": p.verified} for n, p in rows], indent=2))
            return 0
        width = max(len(n) for n, _ in rows)
        for n, p in rows:
            print(f"{n:<{width}}  {p.summary}")
        return 0
    if not args.name:
        from reference.errors import InputError
        raise InputError("needs a profile name", key="name",
                         allowed=", ".join(list_profiles()))
    p = load_profile(args.name, **parse_overrides(args.set))
    rows = p.describe()
    if args.json:
        print(json.dumps([{"key": k, "value": v, "meaning": m} for k, v, m in rows], indent=2))
        return 0
    kw = max(len(k) for k, _, _ in rows)
    for k, v, m in rows:
        print(f"{k:<{kw}}  {v}" + (f"    # {m}" if m else ""))
    return 0
