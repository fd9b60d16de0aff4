"""Plots of reference runs: firing rate of several solvers, density snapshots, switches.

matplotlib with the non-interactive Agg backend; every function draws one
figure and writes it atomically (temp file + ``os.replace``) to a PNG.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reference.result import SimulationResult  # noqa: E402

__all__ = ["binned_rate", "plot_density", "plot_rates"]

#: At most this many time bins in a rate plot: per-step particle rates are
#: Poisson noise (K/(P dt)), bins of T/400 average it while keeping synchronous
#: events (a few steps wide) visible as spikes.
RATE_BINS = 400
#: Rates below this are drawn linearly, above it logarithmically (symlog): a
#: synchronous event is ~1/dt, 4-5 decades above the stationary rates ~0.1.
SYMLOG_LINTHRESH = 1.0
SOLVER_STYLE = {"macro": dict(color="tab:blue", lw=1.6),
                "micro": dict(color="tab:gray", lw=1.0, alpha=0.8),
                "multiscale": dict(color="tab:red", lw=1.2, ls="--")}


def binned_rate(res: SimulationResult, n_bins: int = RATE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Average N over at most ``n_bins`` equal groups of steps.

    Returns
    -------
    t_mid : float64 ndarray
        Bin centres, time constants.
    N : float64 ndarray
        Mean rate in each bin (spike count conserved), 1/time constant.
    """
    n = res.N.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    per = max(1, n // n_bins)
    m = n // per
    dt = np.diff(res.t)[: m * per].reshape(m, per)
    N = (res.N[: m * per].reshape(m, per) * dt).sum(axis=1) / dt.sum(axis=1)
    t_mid = 0.5 * (res.t[: m * per: per] + res.t[per: m * per + 1: per])
    return t_mid, N


def plot_rates(results: Sequence[SimulationResult], path: str | Path, title: str = "") -> Path:
    """Draw N(t) of each result (binned), with the multiscale switches as markers."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for res in results:
        t, N = binned_rate(res)
        style = SOLVER_STYLE.get(res.solver, {})
        label = res.solver + ("" if res.success else " (diverged)")
        ax.plot(t, N, label=label, **style)
        for sw in res.switches:
            up = sw.direction == "macro->micro"
            ax.axvline(sw.time, color="tab:orange" if up else "tab:green", lw=0.6, alpha=0.7)
        if res.switches:
            ax.plot([], [], color="tab:orange", lw=0.6, label="switch to micro")
            ax.plot([], [], color="tab:green", lw=0.6, label="switch to macro")
    ax.set_yscale("symlog", linthresh=SYMLOG_LINTHRESH)
    ax.set_xlabel("t (membrane time constants)")
    ax.set_ylabel("firing rate N (binned)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def plot_density(res: SimulationResult, path: str | Path, title: str = "") -> Path:
    """Draw the density snapshots of one result, coloured by time."""
    fig, ax = plt.subplots(figsize=(8, 4))
    m = len(res.snapshot_t)
    cmap = plt.get_cmap("viridis")
    for i, (t, p) in enumerate(zip(res.snapshot_t, res.snapshot_p, strict=True)):
        ax.plot(res.v, p, color=cmap(i / max(1, m - 1)), lw=1.0, label=f"t = {t:.3g}")
    ax.set_xlabel("v (model volts)")
    ax.set_ylabel("density p(v, t)")
    ax.set_title(title or f"{res.solver}: density snapshots")
    if m <= 12:
        ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=110)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return path
