"""Moment activation on a chip: rate, Fano factor and chi of hardware-noise-driven neurons.

The moment neural network's activation maps one LIF neuron's Gaussian white-noise input
(mean ``mu`` in mV/ms, std ``sigma`` in mV/sqrt(ms)) to its output moments
(:func:`reference.moment.moment_activation`).  Here the same neuron runs on a profile:
``dV = (-L V + mu) dt + sigma dW`` is written as the NLIF model of fxlif (time in units
of ``tau = 1/L``: ``I_ext = mu / L``, ``a = sigma**2 / (2 L)``, ``V_F = V_th``,
``V_R = V_res``, no coupling), mapped onto the registers by
:func:`emulator.mapping.map_model` (the bias carries the mean, the noise exponent the
std), and a population of independent neurons is simulated.  From the spike counts of
each neuron in the stationary window:

* rate (spikes/ms): mean count / window length;
* Fano factor: variance / mean of the counts (long-window estimate of the asymptotic
  Fano factor ``phi_sigma**2 / phi_mu``);
* chi: ``(d rate / d mu) * sigma / phi_sigma`` with a central difference in ``mu``
  (common random numbers: the same seed on both sides) and ``phi_sigma = sqrt(F rate)``.

Refractoriness is 0 on both sides (``T_ref = 0``), since not every chip has a counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.engine import simulate
from emulator.mapping import map_model
from emulator.profile import Profile
from reference.errors import InputError
from reference.lif import InputCurrent, NLIFModel
from reference.moment import moment_activation

__all__ = ["MomentMap", "compare_moment_activation", "measure_moments", "plot_moment_map"]

TRANSIENT_TAU = 2.0      # time constants left out: every neuron starts at V_res
CHI_STEP = 0.05          # relative step of mu for the chi difference (of max(|mu|, V_th L))


def _model(mu: float, sigma: float, L: float, V_th: float, V_res: float) -> NLIFModel:
    if sigma <= 0:
        raise InputError("the chip needs noise: std must be > 0", key="std", value=sigma)
    return NLIFModel(V_F=V_th, V_R=V_res, a0=sigma ** 2 / (2 * L), b=0.0,
                     input=InputCurrent("constant", I0=mu / L))


def _counts(profile, mu, sigma, L, V_th, V_res, P, dt, T, seed):
    mp = map_model(_model(mu, sigma, L, V_th, V_res), profile, P=P, dt=dt, T=T)
    res = simulate(profile, mp.network, ticks=mp.ticks, seeds=[seed])
    first = int(round(TRANSIENT_TAU / mp.dt))
    if first >= mp.ticks:
        raise InputError("run too short for the transient", key="T", value=T,
                         allowed=f"> {TRANSIENT_TAU} time constants")
    keep = res.spike_tick > first
    counts = np.bincount(res.spike_neuron[keep], weights=res.spike_count[keep],
                         minlength=P).astype(np.float64)
    window_ms = (mp.ticks - first) * mp.dt / L
    return counts, window_ms


def measure_moments(profile: Profile, mu: float, sigma: float, *, L: float = 0.05,
                    V_th: float = 20.0, V_res: float = 0.0, P: int = 1000,
                    dt: float = 2 ** -8, T: float = 12.0, seed: int = 1) -> dict:
    """Rate (spikes/ms), Fano factor and chi of ``P`` chip neurons at input (``mu``, ``sigma``).

    ``dt`` is the tick in time constants, ``T`` the run length in time constants.
    Returns a dict with ``rate``, ``rate_se`` (standard error over neurons), ``fano``
    and ``chi``.
    """
    counts, w = _counts(profile, mu, sigma, L, V_th, V_res, P, dt, T, seed)
    rate = counts.mean() / w
    rate_se = counts.std(ddof=1) / np.sqrt(P) / w
    fano = counts.var(ddof=1) / counts.mean() if counts.mean() > 0 else np.nan
    h = CHI_STEP * max(abs(mu), V_th * L)
    up, _ = _counts(profile, mu + h, sigma, L, V_th, V_res, P, dt, T, seed)
    dn, _ = _counts(profile, mu - h, sigma, L, V_th, V_res, P, dt, T, seed)
    slope = (up.mean() - dn.mean()) / w / (2 * h)
    phi_sigma = np.sqrt(fano * rate) if rate > 0 else np.nan
    chi = slope * sigma / phi_sigma if rate > 0 else np.nan
    return {"rate": float(rate), "rate_se": float(rate_se), "fano": float(fano),
            "chi": float(chi)}


@dataclass(frozen=True)
class MomentMap:
    """Chip and float moment-activation maps over (mean, std); arrays (n_std, n_mean)."""

    profile: str
    means: np.ndarray
    stds: np.ndarray
    chip: dict
    float: dict

    def difference(self, name: str) -> np.ndarray:
        """Chip minus float for ``name`` in {"rate", "fano", "chi"}."""
        return self.chip[name] - self.float[name]


def compare_moment_activation(profile: Profile, means, stds, *, L: float = 0.05,
                              V_th: float = 20.0, V_res: float = 0.0, P: int = 1000,
                              dt: float = 2 ** -8, T: float = 12.0, seed: int = 1) -> MomentMap:
    """Measure rate, Fano factor and chi on ``profile`` over the (mean, std) grid.

    Next to them: :func:`reference.moment.moment_activation` on the same inputs
    (``T_ref = 0``).  Every std must be > 0 (the chip's noise source drives it).
    """
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    chip = {k: np.full((stds.size, means.size), np.nan) for k in ("rate", "rate_se", "fano",
                                                                   "chi")}
    for j, s in enumerate(stds):
        for i, m in enumerate(means):
            got = measure_moments(profile, float(m), float(s), L=L, V_th=V_th, V_res=V_res,
                                  P=P, dt=dt, T=T, seed=seed)
            for k, v in got.items():
                chip[k][j, i] = v
    M, S = np.meshgrid(means, stds)
    out = moment_activation(M, S, L=L, V_th=V_th, V_res=V_res, T_ref=0.0)
    flt = {"rate": np.asarray(out.mean), "fano": np.asarray(out.fano), "chi": np.asarray(out.chi)}
    return MomentMap(profile.name, means, stds, chip, flt)


def plot_moment_map(mm: MomentMap, path: str | Path) -> Path:
    """Rate, Fano factor and chi: chip, float and chip - float, as 3 x 3 heatmaps (PNG)."""
    from emulator.plots import plt, save

    fig, axes = plt.subplots(3, 3, figsize=(12, 10), squeeze=False)
    ext = [mm.means[0], mm.means[-1], mm.stds[0], mm.stds[-1]]
    for r, name in enumerate(("rate", "fano", "chi")):
        panels = ((f"{mm.profile}: {name}", mm.chip[name], "viridis"),
                  (f"float moment activation: {name}", mm.float[name], "viridis"),
                  (f"chip - float: {name}", mm.difference(name), "coolwarm"))
        for c, (title, data, cmap) in enumerate(panels):
            ax = axes[r, c]
            kw = {}
            if cmap == "coolwarm":
                lim = np.nanmax(np.abs(data)) or 1.0
                kw = {"vmin": -lim, "vmax": lim}
            im = ax.imshow(data, origin="lower", aspect="auto", extent=ext, cmap=cmap, **kw)
            fig.colorbar(im, ax=ax)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("input mean (mV/ms)")
            ax.set_ylabel("input std (mV/sqrt(ms))")
    fig.tight_layout()
    return save(fig, path)
