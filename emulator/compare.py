r"""Run one scenario on the float reference and on chip profiles, side by side (SPEC 7).

:func:`compare` runs the float reference (the multiscale solver by default;
``micro``, ``macro`` or ``multiscale`` from the argument or the scenario's
``[emulator] reference = "..."``) and, for every profile, maps the model onto
the registers (:func:`emulator.mapping.map_model`) and runs the emulator
(:func:`emulator.engine.simulate`).  One chip tick is ``dt`` model time
constants (the mapping's ``dt``), so a chip rate in spikes per tick becomes
``rate / (n dt)`` spikes per neuron per membrane time constant; the chip's own
leak rate ``lambda`` (the effective time scale, ``mapping.leak_rate``) is
reported beside it.

Metrics (one dict per run, the reference included; rates in spikes per neuron
per membrane time constant):

=====================  ===========================================================
``rate``               stationary rate: time average over the last half of the run
``rate_rel_error``     ``|rate - rate_ref| / rate_ref``
``rate_l2``, ``rate_l1``  relative L2 / L1 difference of the binned rate against
                       the reference's: ``||r - r_ref|| / ||r_ref||``
``w1``                 Wasserstein-1 distance (model volts) between the end-of-run
                       voltages (chip: ``V = V_R + v / v_scale``) and the
                       reference's final density (scipy.stats.wasserstein_distance)
``fano``               Fano factor of per-neuron spike counts in windows of
                       ``fano_window`` over the last half (var/mean over neurons and
                       windows).  The reference's is the moment-activation value of
                       the mean-field neuron (input ``I0 + b N_ref``): the long-window
                       limit, as the density solvers track no single neuron
``synchrony``          variance of the population spike count per bin over its mean,
                       last half: ~1 for independent Poisson neurons, >> 1 for
                       synchronous firing; for density solvers only the
                       deterministic part (~0 in a steady state)
``spike_time_error``   None with ``spike_time_note``: an exact event-driven solution
                       exists only for a noise-free network, and an NLIFModel has
                       ``a > 0``
``overflow``           wrap/saturation events per state variable (chip)
``saturated_params``   mapping rows whose register saturates (chip)
``wall_s``             run time of the solver or of the emulator kernel
=====================  ===========================================================
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import wasserstein_distance

from emulator.io import write_json, write_npz
from reference.errors import InputError
from reference.scenario import Scenario, load_scenario

__all__ = ["Comparison", "DEFAULT_BINS", "DEFAULT_MAX_P", "compare", "fano_factor",
           "population_synchrony", "w1_distance", "write_comparison"]

#: Bins of the time-resolved rate over the run (50: bins of 0.1 time constant for T = 5).
DEFAULT_BINS = 50
#: Default cap on the network size: a dense recurrent chip (Xylo) costs P^2 per tick,
#: and 500 neurons keep compare on examples/steady_state.toml to seconds.
DEFAULT_MAX_P = 500
#: Fano windows per half run by default (each window 1/10 of the half run).
FANO_WINDOWS = 10
REFERENCE_SOLVERS = ("multiscale", "micro", "macro")
SPIKE_TIME_NOTE = ("no exact solution: the exact event-driven spike times exist only for a "
                   "noise-free network, and the scenario's model has a > 0")


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    scenario : Scenario
        The scenario as run (after the P, T, dt overrides).
    solver : str
        The reference solver.
    table : dict of str to dict
        ``"reference"`` and one entry per profile: the metrics (module docstring).
    arrays : dict of str to ndarray
        ``t_bins`` (bin centres), ``rate_reference``, ``rate_<profile>`` (binned,
        model units), ``density_v``, ``density_reference`` (final reference density),
        ``V_<profile>`` (final chip voltages, model volts).
    mappings : dict of str to dict
        ``ChipMapping.to_dict()`` per profile (registers and losses).
    """

    scenario: Scenario
    solver: str
    table: dict[str, dict[str, Any]]
    arrays: dict[str, np.ndarray]
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def profiles(self) -> list[str]:
        """Profile names, in run order."""
        return [k for k in self.table if k != "reference"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"scenario", "solver", "P", "T", "dt", "table", "mappings"}``."""
        from emulator import __version__
        sc = self.scenario
        return {"scenario": sc.file, "solver": self.solver, "P": sc.P, "T": sc.T, "dt": sc.dt,
                "fxlif_version": __version__, "table": self.table, "mappings": self.mappings}


# ---------------------------------------------------------------------------------
# metrics

def w1_distance(u, v, u_weights=None, v_weights=None) -> float:
    """Wasserstein-1 distance of two 1-d samples or weighted point sets (same units as the values)."""
    return float(wasserstein_distance(u, v, u_weights, v_weights))


def fano_factor(counts: np.ndarray) -> float:
    """Fano factor var/mean of spike counts, pooled over every entry (NaN if no spikes)."""
    c = np.asarray(counts, dtype=np.float64).ravel()
    m = c.mean() if c.size else 0.0
    return float(c.var() / m) if m > 0 else math.nan


def population_synchrony(pop_counts: np.ndarray) -> float:
    """Variance over its mean of the population spike count per bin (NaN if none)."""
    return fano_factor(pop_counts)


def _bin_average(x: np.ndarray, t_mid: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(edges, t_mid, side="right") - 1, 0, edges.size - 2)
    s = np.bincount(idx, weights=x, minlength=edges.size - 1)
    c = np.bincount(idx, minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _rel_norms(r: np.ndarray, r_ref: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(r) & np.isfinite(r_ref)
    d, ref = r[ok] - r_ref[ok], r_ref[ok]
    n2, n1 = np.linalg.norm(ref), np.abs(ref).sum()
    return (float(np.linalg.norm(d) / n2) if n2 > 0 else math.nan,
            float(np.abs(d).sum() / n1) if n1 > 0 else math.nan)


# ---------------------------------------------------------------------------------
# the runs

def _scenario(scenario, P, T, dt) -> Scenario:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    changes = {}
    P = min(scenario.P, DEFAULT_MAX_P) if P is None else P
    for key, val in (("P", P), ("T", T), ("dt", dt)):
        if val is None:
            continue
        if isinstance(val, bool) or not (isinstance(val, (int, float, np.integer, np.floating))
                                         and 0 < val < math.inf):
            raise InputError("must be a positive number", key=key, value=val)
        changes[key] = int(val) if key == "P" else float(val)
    if "P" in changes and changes["P"] != P:
        raise InputError("must be a positive integer", key="P", value=P)
    sc = dataclasses.replace(scenario, **changes) if changes else scenario
    if sc.dt > sc.T:
        raise InputError("time step longer than the run", key="dt", value=sc.dt,
                         allowed=f"<= T = {sc.T}")
    return sc


def _reference_solver(scenario: Scenario, solver: str | None) -> str:
    if solver is None:
        sec = scenario.raw.get("emulator", {})
        solver = sec.get("reference", "multiscale") if isinstance(sec, dict) else "multiscale"
    if solver not in REFERENCE_SOLVERS:
        raise InputError("unknown reference solver", key="solver", value=solver,
                         allowed=", ".join(REFERENCE_SOLVERS))
    return solver


def _reference_fano(model, rate: float) -> float:
    """Moment-activation Fano factor of the mean-field neuron of the model at rate ``rate``."""
    from reference.moment import moment_activation
    if model.input.kind != "constant" or not math.isfinite(rate):
        return math.nan
    mean = model.input.I0 + model.b * rate - model.V_R
    std = math.sqrt(2.0 * (model.a0 + model.a1 * rate))
    out = moment_activation(mean, std, L=1.0, V_th=model.V_F - model.V_R, V_res=0.0,
                            T_ref=model.tau_ref)
    return float(np.asarray(out.fano))


def compare(scenario: Scenario | str | Path, profiles: Sequence[str], *,
            overrides: Mapping[str, Any] | None = None, P: int | None = None,
            T: float | None = None, dt: float | None = None, solver: str | None = None,
            bins: int = DEFAULT_BINS, seeds: Sequence[int] | None = None,
            fano_window: float | None = None) -> Comparison:
    """Run ``scenario`` on the float reference and on every profile; return the metrics.

    Parameters
    ----------
    scenario : Scenario or path
    profiles : sequence of str
        Profile names or TOML files (the ``current`` or ``xylo`` template).
    overrides : mapping, optional
        Profile field overrides applied to every profile (``state_bits=12``, ...).
    P, T, dt : optional
        Override the network size (default ``min(P, DEFAULT_MAX_P)``), run length
        and time step of the scenario, for the reference and the chips alike.
    solver : {"multiscale", "micro", "macro"}, optional
        Reference solver (default: the scenario's ``[emulator] reference``, else
        multiscale).
    bins : int
        Bins of the time-resolved rate.
    seeds : sequence of int, optional
        Emulator seeds (batched runs, pooled); default the scenario's seed.
    fano_window : float, optional
        Window of the Fano factor, model time (default: the half run / 10).

    Returns
    -------
    Comparison
    """
    from emulator.cmd_reference import run_solver
    from emulator.engine import simulate
    from emulator.mapping import map_model
    from emulator.profile import load_profile

    sc = _scenario(scenario, P, T, dt)
    solver = _reference_solver(sc, solver)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InputError("must be a positive integer", key="bins", value=bins)
    if not profiles:
        raise InputError("give at least one profile", key="--profile", value=None)
    seeds = (sc.seed,) if seeds is None else tuple(int(s) for s in seeds)
    model = sc.model
    edges = np.linspace(0.0, sc.T, int(bins) + 1)
    t_bins = 0.5 * (edges[1:] + edges[:-1])
    w_bin = sc.T / bins
    late = t_bins >= sc.T / 2

    # --- the reference ---------------------------------------------------------------
    ref, _ = run_solver(sc, solver)
    t_mid = 0.5 * (ref.t[1:] + ref.t[:-1])[:ref.N.size]
    r_ref_bins = _bin_average(ref.N, t_mid, edges)
    rate_ref = ref.rate_mean(0.5)
    dens_v, dens_p = ref.v, ref.snapshot_p[-1] if ref.snapshot_p.size else np.zeros(0)
    sync_ref = population_synchrony(r_ref_bins[late & np.isfinite(r_ref_bins)] * sc.P * w_bin)
    table: dict[str, dict[str, Any]] = {"reference": {
        "kind": f"float {solver}", "rate": rate_ref, "rate_rel_error": 0.0,
        "rate_l2": 0.0, "rate_l1": 0.0, "w1": 0.0, "fano": _reference_fano(model, rate_ref),
        "synchrony": sync_ref, "spike_time_error": None, "spike_time_note": SPIKE_TIME_NOTE,
        "overflow": {}, "saturated_params": 0, "wall_s": float(ref.wall_time),
        "status": ref.message, "density_t": float(ref.snapshot_t[-1]) if ref.snapshot_t.size
        else math.nan}}
    arrays: dict[str, np.ndarray] = {"t_bins": t_bins, "rate_reference": r_ref_bins,
                                     "density_v": np.asarray(dens_v),
                                     "density_reference": np.asarray(dens_p)}
    mappings: dict[str, dict[str, Any]] = {}

    # --- the chips -----------------------------------------------------------------------
    win_t = (sc.T / 2) / FANO_WINDOWS if fano_window is None else float(fano_window)
    if not 0 < win_t <= sc.T / 2:
        raise InputError("must be > 0 and at most half the run", key="fano_window", value=win_t)
    for name in profiles:
        prof = load_profile(name, **dict(overrides or {}))
        mp = map_model(sc, prof)
        if prof.name in table:
            raise InputError("profile given twice", key="--profile", value=prof.name)
        res = simulate(prof, mp.network, ticks=mp.ticks, seeds=seeds)
        n, ticks, B = mp.network.n, mp.ticks, len(seeds)
        per_tick = res.rate.mean(axis=0) / (n * mp.dt)              # model units
        t_tick = (np.arange(ticks) + 0.5) * mp.dt
        r_bins = _bin_average(per_tick, t_tick, edges)
        half = ticks // 2
        rate = float(per_tick[half:].mean())
        l2, l1 = _rel_norms(r_bins, r_ref_bins)
        V_end = model.V_R + np.asarray(res.state["v"], dtype=np.float64).ravel() / mp.v_scale
        w1 = (w1_distance(V_end, dens_v, None, dens_p) if dens_p.size and dens_p.sum() > 0
              else math.nan)
        # Fano: per-neuron counts in windows of the last half, pooled over runs
        win = max(1, int(round(win_t / mp.dt)))
        n_win = (ticks - half) // win
        counts = []
        for b in range(B):
            c = res.spike_counts(b)[ticks - n_win * win:]
            counts.append(c.reshape(n_win, win, n).sum(axis=1))
        fano = fano_factor(np.concatenate(counts)) if n_win > 0 else math.nan
        tick_bin = np.clip((t_tick // w_bin).astype(np.int64), 0, bins - 1)
        pop = np.stack([np.bincount(tick_bin, weights=res.rate[b], minlength=bins)
                        for b in range(B)])
        sync = population_synchrony(pop[:, late].ravel())
        saturated = sum(1 for r in mp.report if "saturates" in r.warning)
        table[prof.name] = {
            "kind": f"chip {prof.template}", "rate": rate,
            "rate_rel_error": abs(rate - rate_ref) / rate_ref if rate_ref > 0 else math.nan,
            "rate_l2": l2, "rate_l1": l1, "w1": w1, "fano": fano, "synchrony": sync,
            "spike_time_error": None, "spike_time_note": SPIKE_TIME_NOTE,
            "overflow": {k: int(np.sum(v)) for k, v in res.overflow.items()},
            "saturated_params": saturated, "wall_s": float(res.wall_s),
            "v_scale": mp.v_scale, "leak_rate": mp.leak_rate, "warnings": mp.warnings}
        arrays[f"rate_{prof.name}"] = r_bins
        arrays[f"V_{prof.name}"] = V_end
        mappings[prof.name] = mp.to_dict()
    return Comparison(sc, solver, table, arrays, mappings)


# ---------------------------------------------------------------------------------
# output

def write_comparison(cmp: Comparison, out: str | Path, *, plots: bool = True,
                     stem: str = "compare") -> list[Path]:
    """Write ``<stem>.npz``, ``<stem>.json`` and the plots to the folder ``out``; return the paths."""
    out = Path(out)
    files = [write_npz(out / f"{stem}.npz", cmp.arrays),
             write_json(out / f"{stem}.json", cmp.to_dict())]
    if plots:
        files += plot_comparison(cmp, out, stem=stem)
    return files


def plot_comparison(cmp: Comparison, out: str | Path, *, stem: str = "compare") -> list[Path]:
    """Rate overlay, density overlay and divergence over time (PNG); return the paths."""
    import matplotlib.pyplot as plt

    from emulator.plots import save
    out, a = Path(out), cmp.arrays
    t = a["t_bins"]
    files = []
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(t, a["rate_reference"], "k-", lw=2, label=f"reference ({cmp.solver})")
    for name in cmp.profiles:
        ax.plot(t, a[f"rate_{name}"], lw=1, label=name)
    ax.set_xlabel("t (membrane time constants)")
    ax.set_ylabel("rate (spikes / neuron / time constant)")
    ax.legend(fontsize=8)
    ax.set_title("firing rate: float reference and chips")
    files.append(save(fig, out / f"{stem}_rate.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    if a["density_reference"].size:
        ax.plot(a["density_v"], a["density_reference"], "k-", lw=2, label="reference")
    lo = a["density_v"][0] if a["density_v"].size else None
    for name in cmp.profiles:
        V = a[f"V_{name}"]
        if V.size:
            rng = (lo if lo is not None else V.min(), cmp.scenario.model.V_F)
            ax.hist(V, bins=60, range=rng if rng[0] < rng[1] else None, density=True,
                    histtype="step", label=f"{name} (W1 {cmp.table[name]['w1']:.3g})")
    ax.set_xlabel("V (model volts)")
    ax.set_ylabel("density at the end")
    ax.legend(fontsize=8)
    files.append(save(fig, out / f"{stem}_density.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for name in cmp.profiles:
        ax.plot(t, np.abs(a[f"rate_{name}"] - a["rate_reference"]), label=name)
    ax.set_xlabel("t (membrane time constants)")
    ax.set_ylabel("|rate_chip - rate_ref|")
    ax.legend(fontsize=8)
    ax.set_title("divergence over time")
    files.append(save(fig, out / f"{stem}_divergence.png"))
    return files
