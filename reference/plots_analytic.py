"""Figures for the analytic references (matplotlib, Agg backend, PNG files).

Each function draws one figure, writes it to ``path`` and returns the path.

* :func:`plot_moment_maps` -- rate, output std, Fano factor and chi of the
  moment activation over the (input mean, input std) plane.
* :func:`plot_error_vs_cost` -- spike-time error against right-hand-side
  evaluations for each single-neuron integrator (log-log, as in Zheng,
  Tonnelier & Martinez 2009).
* :func:`plot_stationary_rates` -- the steady firing rates N(b), both
  branches and the fold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reference.analytic import fold_point, stationary_rates  # noqa: E402
from reference.integrators import METHODS, error_vs_cost  # noqa: E402
from reference.lif import InputCurrent  # noqa: E402
from reference.moment import moment_activation  # noqa: E402

__all__ = ["plot_error_vs_cost", "plot_moment_maps", "plot_stationary_rates"]

#: Default step ranges (dt for time stepping, dV for voltage stepping).
DEFAULT_STEPS = {
    "euler": np.geomspace(1e-2, 1e-4, 5),
    "rk2": np.geomspace(5e-2, 2e-3, 5),
    "rk4": np.geomspace(0.2, 0.0125, 5),
    "vs2": np.geomspace(0.1, 0.004, 5),
    "vs4": np.geomspace(0.2, 0.05, 3),
}


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_moment_maps(path, mean_range=(-2.0, 4.0), std_range=(0.05, 6.0), n=81, L=0.05,
                     V_th=20.0, V_res=0.0, T_ref=5.0):
    """Draw phi_mu, phi_sigma, Fano factor and chi over the input (mean, std) plane.

    Parameters
    ----------
    path : str or Path
        Output PNG.
    mean_range : (float, float)
        Input mean range, mV/ms.
    std_range : (float, float)
        Input std range, mV/sqrt(ms).
    n : int
        Grid points per axis.
    L, V_th, V_res, T_ref : float
        Neuron parameters (see :func:`reference.moment.moment_activation`).

    Returns
    -------
    Path
        The written file.
    """
    mu = np.linspace(*mean_range, n)
    sd = np.linspace(*std_range, n)
    M, S = np.meshgrid(mu, sd)
    out = moment_activation(M, S, L, V_th, V_res, T_ref)
    panels = [("rate phi_mu (spikes/ms)", out.mean), ("phi_sigma (spikes/sqrt(ms))", out.std),
              ("Fano factor", out.fano), ("chi", out.chi)]
    fig, axes = plt.subplots(2, 2, figsize=(10, 8), constrained_layout=True)
    for ax, (title, Z) in zip(axes.ravel(), panels, strict=False):
        im = ax.pcolormesh(M, S, Z, shading="auto")
        fig.colorbar(im, ax=ax)
        ax.set_title(title)
        ax.set_xlabel("input mean (mV/ms)")
        ax.set_ylabel("input std (mV/sqrt(ms))")
    return _save(fig, path)


def plot_error_vs_cost(path, current=None, T_end=8.0, V0=1.2, steps=None, tau=1.0, V_F=2.0,
                       V_R=1.0):
    """Draw max spike-time error against RHS evaluations for every integrator.

    Parameters
    ----------
    path : str or Path
        Output PNG.
    current : InputCurrent, optional
        Input (default periodic ``2.5 + 0.6 sin(2 pi t / 2.3)``).
    T_end, V0, tau, V_F, V_R : float
        Run length and neuron parameters.
    steps : dict, optional
        Method name -> step sizes (default ``DEFAULT_STEPS``).

    Returns
    -------
    Path
        The written file.
    """
    current = current or InputCurrent("periodic", I0=2.5, I1=0.6, period=2.3)
    steps = steps or DEFAULT_STEPS
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    for name in METHODS:
        if name not in steps:
            continue
        pts = error_vs_cost(name, current, steps[name], T_end, V0=V0, tau=tau, V_F=V_F,
                            V_R=V_R)
        ax.loglog([p.n_evals for p in pts], [max(p.max_error, 1e-16) for p in pts], "o-",
                  label=name)
    ax.set_xlabel("right-hand-side evaluations")
    ax.set_ylabel("max spike-time error (time constants)")
    ax.set_title("single LIF, spike-time error vs cost")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_stationary_rates(path, b_range=(-1.0, 2.6), n=121, a=1.0, V_F=2.0, V_R=1.0):
    """Draw the steady firing rates N(b) (all branches) and mark the fold.

    Parameters
    ----------
    path : str or Path
        Output PNG.
    b_range : (float, float)
        Connectivity range.
    n : int
        Number of b values.
    a, V_F, V_R : float
        Noise, threshold, reset.

    Returns
    -------
    Path
        The written file.
    """
    bs = np.linspace(*b_range, n)
    lower, upper = [], []
    for b in bs:
        r = stationary_rates(b, a=a, V_F=V_F, V_R=V_R)
        lower.append(r[0] if r.size else np.nan)
        upper.append(r[-1] if r.size > 1 else np.nan)
    fp = fold_point(a=a, V_F=V_F, V_R=V_R)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    ax.semilogy(bs, lower, "-", label="lower branch")
    ax.semilogy(bs, upper, "--", label="upper branch")
    ax.plot([fp.b], [fp.N], "k*", ms=12, label=f"fold b*={fp.b:.5f}, N={fp.N:.4f}")
    ax.axvline(V_F - V_R, color="0.6", lw=0.8)
    ax.set_xlabel("connectivity b")
    ax.set_ylabel("steady firing rate N")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)
