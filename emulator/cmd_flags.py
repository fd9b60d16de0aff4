"""Predict where a scenario's quantised dynamics diverge from the float model, and why.

  fxlif flags SCENARIO.toml --profile NAME [--set key=value ...] [--P N] [--dt DT]
              [--v-scale S] [--method auto|chain|diffusion] [--json]

Maps the scenario onto the profile (:func:`emulator.mapping.map_model`), makes
the quantised mean-field prediction (the exact integer Markov chain where the
voltage lattice is small enough, else the diffusion with the quantised drift)
and the float one, and lists the flags raised (:mod:`emulator.flags`).
``--json`` prints ``{"flags": [{name, severity, value, threshold, reason}],
"predicted_rate", "reference_rate", "details"}``.  Rates are spikes per neuron
per membrane time constant.  Exit 0 whatever the flags (they are findings),
2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from emulator.flags import evaluate_flags
from emulator.overrides import parse_overrides
from reference.errors import InputError
from reference.scenario import load_scenario

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif flags``."""
    parser.add_argument("scenario", help="scenario TOML file (see examples/)")
    parser.add_argument("--profile", required=True, help="profile name or TOML file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile field (e.g. state_bits=12), repeatable")
    parser.add_argument("--P", type=int, default=None,
                        help="network size (default: the scenario's)")
    parser.add_argument("--dt", type=float, default=None,
                        help="time step (default: the scenario's)")
    parser.add_argument("--v-scale", type=float, default=None,
                        help="chip LSB per model volt (default: the mapping's choice)")
    parser.add_argument("--method", choices=("auto", "chain", "diffusion"), default="auto",
                        help="quantised prediction: exact chain, diffusion, or auto (default)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    """Evaluate the flags and print them; return 0."""
    overrides = parse_overrides(args.set)
    scenario = load_scenario(args.scenario)
    kwargs = {k: v for k, v in (("P", args.P), ("dt", args.dt), ("v_scale", args.v_scale))
              if v is not None}
    for k, v in kwargs.items():
        if not v > 0:
            raise InputError("must be positive", key=f"--{k.replace('_', '-')}", value=v)
    report = evaluate_flags(scenario=scenario, profile=args.profile, overrides=overrides,
                            method=args.method, **kwargs)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    d = report.details
    print(f"{args.scenario} on {d['profile']} (v_scale {d['v_scale']:.6g}, dt {d['dt']:.3g}, "
          f"P {d['P']}): predicted rate {report.predicted_rate:.5g} ({d['method']}), "
          f"float rate {report.reference_rate:.5g}")
    if not report.flags:
        print("no flags")
    for f in report.flags:
        print(f"{f.severity:8s} {f.name:19s} {f.value:<10.4g} (threshold {f.threshold:.3g})  "
              f"{f.reason}")
    return 0
