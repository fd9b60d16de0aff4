"""The main job: run the example scenarios on every shipped profile and write a report.

  fxlif demo [--out DIR]

For each chip scenario in ``examples/chip/`` and each shipped profile that the
scenario gives registers for, the network runs bit-exactly; the float
reference solves the steady-state scenario of ``examples/`` and draws its
analytic maps; a small precision sweep (``examples/sweep_demo.toml``: loihi1,
xylo and generic widths) runs with its HTML report.  The folder gets per-run
results and plots, a rate overlay per scenario, ``sweep/report.html`` and
``summary.md`` / ``summary.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from emulator import __version__
from emulator.cmd_run import summary, write_run
from emulator.engine import simulate
from emulator.io import atomic_write, output_dir, write_json
from emulator.profile import list_profiles, load_profile
from emulator.scenario import load_chip_scenario

__all__ = ["add_arguments", "run"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``fxlif demo``."""
    parser.add_argument("--out", default="fxlif_demo", help="output folder (default fxlif_demo)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def _chip_runs(out: Path, plots: bool, log) -> list[dict]:
    from emulator import plots as P

    rows = []
    for path in sorted((EXAMPLES / "chip").glob("*.toml")):
        sc = load_chip_scenario(path)
        (out / sc.name).mkdir(exist_ok=True)
        results = {}
        for name in list_profiles():
            if name not in sc.raw.get("params", {}):
                continue
            profile = load_profile(name)
            net = sc.network(profile)
            start = time.perf_counter()
            res = simulate(profile, net, sc.inputs(), ticks=sc.ticks, seeds=sc.seeds,
                           trace=sc.trace)
            wall = time.perf_counter() - start
            write_run(res, profile, net, out / sc.name, f"{sc.name}_{name}", sc.file, plots)
            results[name] = res
            s = summary(res)
            rows.append({"scenario": sc.name, "profile": name, "neurons": res.n,
                         "ticks": res.ticks, "runs": len(res.seeds),
                         "rate": float(np.mean(s["rate_per_neuron_per_tick"])),
                         "overflow": s["overflow"], "seconds": wall})
            log(f"  {sc.name:<12} {name:<11} rate {rows[-1]['rate']:.4f} /neuron/tick  "
                f"overflows {s['overflow']}  {wall:.2f} s")
        if plots and results:
            first, *rest = results.values()
            P.plot_rate(first, out / sc.name / f"{sc.name}_rate_overlay.png",
                        others={r.profile: r for r in rest},
                        title=f"{sc.name}: population rate on every profile")
    return rows


def _reference_run(out: Path, plots: bool, log) -> dict:
    from emulator.cmd_reference import run_solver, write_result
    from reference.analytic import stationary_rates
    from reference.scenario import load_scenario

    sc = load_scenario(EXAMPLES / "steady_state.toml")
    res, options = run_solver(sc, "macro")
    folder = out / "reference"
    folder.mkdir(exist_ok=True)
    write_result(res, sc, options, folder / "steady_state_macro")
    if plots:
        from reference.plots_analytic import plot_error_vs_cost, plot_moment_maps, plot_stationary_rates
        from reference.plots_solvers import plot_density, plot_rates
        plot_rates([res], folder / "steady_state_rate.png",
                   title="steady state: Fokker-Planck firing rate N(t)")
        plot_density(res, folder / "steady_state_density.png")
        plot_moment_maps(folder / "moment_activation_maps.png", n=41)
        plot_stationary_rates(folder / "stationary_rates_vs_b.png")
        plot_error_vs_cost(folder / "spike_time_error_vs_cost.png")
        from emulator.moment_map import compare_moment_activation, plot_moment_map
        mm = compare_moment_activation(load_profile("loihi1"), np.linspace(0.6, 2.6, 5),
                                       np.linspace(1.0, 4.0, 4), P=400, T=10.0)
        plot_moment_map(mm, out / "moment_activation_loihi1.png")
    m = sc.model
    exact = stationary_rates(m.b, m.a0, m.V_F, m.V_R, V_min=sc.grid.V_min)
    row = {"scenario": "steady_state", "solver": "macro", "rate_mean": res.rate_mean(),
           "analytic": [float(x) for x in exact]}
    log(f"  reference steady_state (Fokker-Planck): N = {row['rate_mean']:.6f}, "
        f"analytic {row['analytic']}")
    return row


def _sweep(out: Path, log) -> Path:
    """The demo's small precision sweep (examples/sweep_demo.toml) and its HTML report."""
    from emulator.report import write_report
    from emulator.sweep import load_sweep, run_sweep

    folder = out / "sweep"
    spec = load_sweep(EXAMPLES / "sweep_demo.toml")
    run_sweep(spec, folder, workers=1, resume=True, progress=sys.stderr.isatty())
    html = write_report(folder)
    log(f"  precision sweep: {len(spec.points)} points -> {html}")
    return html


def _markdown(rows: list[dict], ref: dict, sweep_html: Path | None = None) -> str:
    lines = [f"# fxlif demo (fxlif {__version__})", "",
             "## Chip scenarios on every profile (bit-exact emulator)", "",
             "| scenario | profile | neurons x ticks x runs | rate /neuron/tick | overflows | s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['profile']} | {r['neurons']} x {r['ticks']} x "
                     f"{r['runs']} | {r['rate']:.4f} | {r['overflow']} | {r['seconds']:.2f} |")
    lines += ["", "## Float reference", "",
              "Plots in `reference/`: N(t) and density snapshots of the Fokker-Planck solver, "
              "stationary rates against coupling b (both branches and the fold), the moment "
              "activation maps (rate, output std, Fano factor, chi), and spike-time error "
              "against cost of the single-neuron integrators. `moment_activation_loihi1.png`: "
              "rate, Fano factor and chi of loihi1 neurons driven by their hardware noise, "
              "next to the float moment activation and the difference.", "",
              f"Fokker-Planck stationary rate on `examples/steady_state.toml`: "
              f"N = {ref['rate_mean']:.6f}; analytic (truncated domain): "
              f"{', '.join(f'{x:.6f}' for x in ref['analytic'])}.", ""]
    if sweep_html is not None:
        lines += ["## Precision sweep", "",
                  "A small sweep (loihi1, xylo, generic at 16/20/24 state bits; "
                  "`examples/sweep_demo.toml`): the HTML report is `sweep/report.html` (error "
                  "against bit cost with the Pareto front, flags, the registers of each point).",
                  ""]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit code."""
    out = output_dir(args.out)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    log(f"fxlif demo -> {out}")
    rows = _chip_runs(out, not args.no_plots, log)
    ref = _reference_run(out, not args.no_plots, log)
    sweep_html = _sweep(out, log)
    write_json(out / "summary.json", {"fxlif_version": __version__, "chip": rows,
                                      "reference": ref, "sweep_report": str(sweep_html)})
    text = _markdown(rows, ref, sweep_html)
    atomic_write(out / "summary.md", lambda fh: fh.write(text.encode()))
    print(out / "summary.md")
    return 0
