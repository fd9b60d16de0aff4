"""Run the float reference solver on a scenario file.

Solvers: ``micro`` (P particles, Euler-Maruyama with spike cascades and the
Brownian-bridge correction), ``macro`` (Fokker-Planck, Scharfetter-Gummel
finite volumes) and ``multiscale`` (macro while the rate is low, particles
while it blows up).  ``--overlay`` runs all three and draws their firing rates
on one plot.

Writes to --out: ``<name>_<solver>.npz`` (t, N, mode, density snapshots,
switch log) with a JSON sidecar ``<name>_<solver>.json`` (scenario, solver
options, fxlif version, summary), ``<name>_rate.png`` (N(t), switch markers),
``<name>_<solver>_density.png`` (density snapshots).  ``--json`` prints a
summary to stdout: rate_mean (time average of N over the last half of the
run), rate_final, switches, mass_error, wall_time, files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from emulator.io import jsonable, output_dir, write_json, write_npz
from reference.errors import InputError
from reference.macro import Grid, simulate_macro
from reference.multiscale import MultiscaleOptions, deposit_particles, multiscale_from_scenario
from reference.result import MODE_MICRO, STATUS_OK, SimulationResult
from reference.scenario import Scenario, load_scenario

SOLVERS = ("micro", "macro", "multiscale")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``fxlif reference`` arguments to ``parser``."""
    parser.add_argument("scenario", help="scenario TOML file (see examples/)")
    parser.add_argument("--solver", choices=SOLVERS, default="multiscale",
                        help="solver to run (default: multiscale)")
    parser.add_argument("--overlay", action="store_true",
                        help="also run the other two solvers and overlay the rates")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary to stdout")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG files")


def run(args: argparse.Namespace) -> int:
    """Run the solver(s), write results and plots; return 0."""
    scenario = load_scenario(args.scenario)
    out = output_dir(args.out)
    name = Path(args.scenario).stem
    progress = sys.stderr.isatty()
    solvers = [args.solver] + ([s for s in SOLVERS if s != args.solver] if args.overlay else [])
    results, files = {}, []
    for solver in solvers:
        res, options = run_solver(scenario, solver, progress=progress)
        results[solver] = res
        files += write_result(res, scenario, options, out / f"{name}_{solver}")
    if not args.no_plots:
        from reference.plots_solvers import plot_density, plot_rates

        ordered = [results[s] for s in SOLVERS if s in results]
        files.append(plot_rates(ordered, out / f"{name}_rate.png", title=name))
        main = results[args.solver]
        if main.snapshot_t.size:
            files.append(plot_density(main, out / f"{name}_{args.solver}_density.png",
                                      title=f"{name}: {args.solver} density"))
    if args.json:
        summary = results[args.solver].summary()
        summary["scenario"] = scenario.file
        summary["files"] = [str(f) for f in files]
        if args.overlay:
            summary["overlay"] = {s: results[s].summary() for s in solvers[1:]}
        print(json.dumps(jsonable(summary), indent=2))
    return 0


def run_solver(scenario: Scenario, solver: str, progress: bool = False
               ) -> tuple[SimulationResult, dict]:
    """Run one solver on a scenario; return the result and its options (JSON-ready)."""
    grid = Grid.for_model(scenario.model, scenario.grid.V_min, scenario.grid.h)
    if solver == "macro":
        p0 = scenario.init.density(grid.v, scenario.model.V_F)
        res = simulate_macro(scenario.model, p0, grid, scenario.T, scenario.dt,
                             progress=progress)
        return res, {"scheme": "Scharfetter-Gummel, linearly implicit", "h": grid.h,
                     "V_min": grid.V_min}
    if solver == "multiscale":
        opts = MultiscaleOptions()
        return multiscale_from_scenario(scenario, opts, progress=progress), opts.as_dict()
    if solver == "micro":
        return _run_micro(scenario, grid, progress)
    raise InputError("unknown solver", key="--solver", value=solver,
                     allowed=", ".join(SOLVERS))


def _run_micro(scenario: Scenario, grid: Grid, progress: bool) -> tuple[SimulationResult, dict]:
    import time

    from reference.micro import MicroOptions, simulate_micro

    opts = MicroOptions()
    rng = np.random.default_rng(scenario.seed)
    V0 = scenario.init.sample(scenario.P, rng, grid.V_min, scenario.model.V_F)
    t0 = time.perf_counter()
    m = simulate_micro(scenario.model, V0, T=scenario.T, dt=scenario.dt, seed=rng,
                       options=opts, progress=progress)
    wall = time.perf_counter() - t0
    p_start = deposit_particles(V0, grid)[0]
    p_end = deposit_particles(m.V, grid, ref_left=m.ref_left)[0]
    res = SimulationResult(
        solver="micro", t=np.asarray(m.t), N=np.asarray(m.N, dtype=np.float64),
        status=STATUS_OK, message="reached T", n_steps=int(m.n_steps), v=grid.v,
        snapshot_t=np.array([0.0, float(m.t[-1])]), snapshot_p=np.array([p_start, p_end]),
        mode=np.full(int(m.n_steps), MODE_MICRO, dtype=np.int8), wall_time=wall,
        extra={"P": scenario.P, "seed": scenario.seed})
    return res, {"spikes": opts.spikes, "reset": opts.reset, "bridge": opts.bridge,
                 "P": scenario.P}


def write_result(res: SimulationResult, scenario: Scenario, options: dict,
                 stem: Path) -> list[Path]:
    """Write ``stem.npz`` and its sidecar ``stem.json`` atomically; return both paths."""
    from emulator import __version__

    sw = res.switches
    arrays = {
        "t": res.t, "N": res.N, "mode": res.mode, "v": res.v,
        "snapshot_t": res.snapshot_t, "snapshot_p": res.snapshot_p,
        "switch_time": np.array([s.time for s in sw], dtype=np.float64),
        "switch_to_micro": np.array([s.direction == "macro->micro" for s in sw], dtype=bool),
        "switch_rate_before": np.array([s.rate_before for s in sw], dtype=np.float64),
        "switch_rate_after": np.array([s.rate_after for s in sw], dtype=np.float64),
    }
    npz = stem.with_suffix(".npz")
    write_npz(npz, arrays)
    sidecar = {
        "fxlif_version": __version__,
        "solver": res.solver,
        "solver_options": options,
        "scenario_file": scenario.file,
        "scenario": scenario.raw,
        "arrays": npz.name,
        "summary": res.summary(),
    }
    js = stem.with_suffix(".json")
    write_json(js, sidecar)
    return [npz, js]


