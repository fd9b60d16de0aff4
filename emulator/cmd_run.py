"""Run a scenario's chip network on a hardware profile and write results and plots.

  fxlif run SCENARIO.toml --profile NAME [--set key=value ...] --out DIR [--strict] [--json]

Writes ``<scenario>_<profile>.npz`` (spike events, population rate, state
traces, final state, overflow counts), a JSON sidecar with the profile, every
register value, the seeds and the fxlif version, and PNG plots (raster,
population rate, state traces).  ``--strict`` stops at the first overflow
(exit 1, naming tick, neuron and variable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from emulator import __version__
from emulator.engine import RunResult, param_array, simulate
from emulator.io import output_dir, write_json, write_npz
from emulator.network import Network, quantize_weights
from emulator.overrides import parse_overrides
from emulator.profile import Profile, load_profile
from emulator.scenario import load_chip_scenario

__all__ = ["add_arguments", "register_values", "run", "write_run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif run``."""
    parser.add_argument("scenario", help="scenario TOML file with a [chip] section")
    parser.add_argument("--profile", required=True, help="profile name or TOML file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile field (e.g. state_bits=12), repeatable")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--strict", action="store_true", help="stop at the first overflow")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def register_values(profile: Profile, network: Network) -> dict:
    """Every register of the run: parameters (defaults filled in), projection weights and exponents."""
    regs = {}
    for name, spec in profile.params.items():
        if spec.scope == "projection":
            continue
        arr = param_array(profile, network, name, 1)[0]
        regs[name] = arr.tolist() if arr.size > 1 else int(arr.reshape(-1)[0])
    regs["projections"] = [
        {"source": p.source, "kind": p.kind, "pre": list(p.pre), "post": list(p.post),
         "synapse": p.synapse, profile.weights["exponent"]: p.exponent,
         "delay": p.delay if p.delay is not None else (
             profile.input["delay"] if p.source == "input" else profile.input["recurrent_delay"]),
         "weights_quantized": (int(quantize_weights(profile, np.array([p.weights]))[0])
                               if p.kind == "all_to_all"
                               else quantize_weights(profile, p.dense()).tolist())}
        for p in network.projections]
    regs["init"] = {k: np.asarray(v).tolist() for k, v in network.init.items()}
    return regs


def summary(result: RunResult) -> dict:
    """A small JSON-ready summary of a run."""
    return {"profile": result.profile, "ticks": result.ticks, "neurons": result.n,
            "seeds": result.seeds.tolist(),
            "spikes": int(result.spike_count.sum()),
            "rate_per_neuron_per_tick": (result.rate.sum(axis=1) / (result.n * result.ticks)).tolist(),
            "overflow": {k: v.tolist() for k, v in result.overflow.items()},
            "kernel_seconds": result.wall_s}


def write_run(result: RunResult, profile: Profile, network: Network, out: Path, stem: str,
              scenario_file: str, plots: bool = True) -> list[Path]:
    """Write the npz, its JSON sidecar and (optionally) the plots; return the paths."""
    arrays = {"spike_tick": result.spike_tick, "spike_batch": result.spike_batch,
              "spike_neuron": result.spike_neuron, "spike_count": result.spike_count,
              "rate": result.rate, "seeds": result.seeds, "traced": result.traced}
    arrays.update({f"trace/{k}": v for k, v in result.traces.items()})
    arrays.update({f"state/{k}": v for k, v in result.state.items()})
    arrays.update({f"overflow/{k}": v for k, v in result.overflow.items()})
    paths = [write_npz(out / f"{stem}.npz", arrays)]
    paths.append(write_json(out / f"{stem}.json", {
        "fxlif_version": __version__, "scenario_file": scenario_file,
        "profile": profile.name, "profile_file": profile.file,
        "overrides": dict(profile.applied), "arrays": f"{stem}.npz",
        "summary": summary(result), "registers": register_values(profile, network)}))
    if plots:
        from emulator import plots as P
        paths.append(P.plot_raster(result, out / f"{stem}_raster.png"))
        paths.append(P.plot_rate(result, out / f"{stem}_rate.png"))
        if result.traced.size:
            paths.append(P.plot_traces(result, out / f"{stem}_traces.png"))
    return paths


def run(args: argparse.Namespace) -> int:
    """Run the scenario; return the exit code."""
    profile = load_profile(args.profile, **parse_overrides(args.set))
    sc = load_chip_scenario(args.scenario)
    out = output_dir(args.out)
    network = sc.network(profile)
    result = simulate(profile, network, sc.inputs(), ticks=sc.ticks, seeds=sc.seeds,
                      strict=args.strict, trace=sc.trace)
    stem = f"{sc.name}_{profile.name}"
    paths = write_run(result, profile, network, out, stem, sc.file, plots=not args.no_plots)
    if args.json:
        print(json.dumps({**summary(result), "files": [str(p) for p in paths]}, indent=2))
    else:
        s = summary(result)
        print(f"{stem}: {s['spikes']} spikes in {result.ticks} ticks x {result.n} neurons, "
              f"rate {np.mean(s['rate_per_neuron_per_tick']):.4g} /neuron/tick, "
              f"overflows {s['overflow']}", file=sys.stderr)
        for p in paths:
            print(p)
    return 0
