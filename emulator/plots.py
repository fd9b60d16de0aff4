"""Plots of emulator runs (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emulator.engine import RunResult  # noqa: E402
from emulator.io import atomic_write  # noqa: E402

__all__ = ["plot_raster", "plot_rate", "plot_traces", "save"]


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    path = Path(path)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def plot_raster(result: RunResult, path: str | Path, batch: int = 0, title: str = "") -> Path:
    """Spike raster (tick, neuron) of run ``batch``; dot size grows with spikes per tick."""
    m = result.spike_batch == batch
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.scatter(result.spike_tick[m], result.spike_neuron[m], s=2 + 2 * result.spike_count[m],
               marker="|", color="k", linewidths=0.8)
    ax.set_xlim(0, result.ticks + 1)
    ax.set_ylim(-0.5, result.n - 0.5)
    ax.set_xlabel("tick")
    ax.set_ylabel("neuron")
    ax.set_title(title or f"{result.profile}: spike raster (run {batch})")
    return save(fig, path)


def plot_rate(result: RunResult, path: str | Path, window: int = 10, title: str = "",
              others: dict[str, RunResult] | None = None) -> Path:
    """Population rate (spikes per neuron and tick), moving average over ``window`` ticks.

    ``others`` overlays further runs (e.g. the same scenario on other profiles).
    """
    fig, ax = plt.subplots(figsize=(8, 3.2))
    kernel = np.ones(window) / window
    for label, res in {result.profile: result, **(others or {})}.items():
        r = res.rate.mean(axis=0) / res.n
        ax.plot(np.arange(1, res.ticks + 1), np.convolve(r, kernel, mode="same"), label=label)
    ax.set_xlabel("tick")
    ax.set_ylabel("spikes / neuron / tick")
    ax.set_title(title or f"population rate ({window}-tick average, mean over runs)")
    ax.legend(loc="upper right", fontsize=8)
    return save(fig, path)


def plot_traces(result: RunResult, path: str | Path, batch: int = 0, title: str = "") -> Path:
    """State registers of the traced neurons against tick, one panel per register."""
    names = [k for k, v in result.traces.items() if v.size and k != "a_in"]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * max(1, len(names))), sharex=True,
                             squeeze=False)
    t = np.arange(1, result.ticks + 1)
    for ax, name in zip(axes[:, 0], names, strict=False):
        tr = result.traces[name][:, batch]
        tr = tr.reshape(tr.shape[0], tr.shape[1], -1)
        for j, neuron in enumerate(result.traced):
            for s in range(tr.shape[2]):
                lbl = f"n{neuron}" + (f" syn{s}" if tr.shape[2] > 1 else "")
                ax.plot(t, tr[:, j, s], lw=0.8, label=lbl)
        ax.set_ylabel(f"{name} (LSB)")
    axes[0, 0].set_title(title or f"{result.profile}: state after each tick (run {batch})")
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=4)
    axes[-1, 0].set_xlabel("tick")
    return save(fig, path)
