r"""Analytic oracles for the NLIF network (notes/multiscale.md sections 5 and 6).

Units are the paper's: time in membrane time constants, voltage in model units
(typically ``V_F = 2``, ``V_R = 1``), noise ``a`` = diffusion coefficient (the
noise term is ``sqrt(2a) dW``), firing rate ``N`` in spikes per neuron per time
constant.

Contents
--------
* :func:`stationary_rates` -- every root of ``1/N = I(N)`` (all steady states of
  the nonlinear Fokker-Planck equation), :func:`firing_integral` the map
  ``I(N)``, :func:`fold_point` the saddle-node of the two upper branches.
* :func:`stationary_density` -- the steady density ``p_inf(v)``.
* :func:`blowup_b_min`, :func:`blowup_guaranteed` -- the moment criterion of
  notes 5 for a truncated Gaussian initial density.
* :func:`lif_spike_time`, :func:`lif_period`, :func:`lif_spike_train` -- the
  noise-free LIF with constant input.
* :func:`event_driven_network` -- exact spike times of the noise-free
  all-to-all network with delta kicks ``b/P`` and cascades.

The steady-state map.  With ``V0 = b N``, ``a = a(N) = a0 + a1 N`` and
``x = (V - b N) / sqrt(2 a)``,

.. math::

    I(N) = \sqrt{\pi/2} \int_{w_R}^{w_F} \mathrm{erfcx}(-u/\sqrt2)\,du
         = 2 \int_{x_R}^{x_F} g(x)\,dx, \qquad g(x) = \tfrac{\sqrt\pi}{2}
         \mathrm{erfcx}(-x),

(``w = sqrt(2) x``), evaluated with :func:`reference.moment.integral_g`.  On a
truncated domain ``[V_min, V_F]`` with zero flux at ``V_min < V_R`` the
steady state is the same density restricted to ``v >= V_min``, and

.. math::

    I_{V_{min}}(N) = I(N) - \tfrac{\pi}{2}\,\mathrm{erfc}(-x_{min})
                     \left(\mathrm{erfi}(x_F) - \mathrm{erfi}(x_R)\right).

References
----------
.. [1] M. J. Caceres, J. A. Carrillo, B. Perthame, "Analysis of nonlinear noisy
   integrate & fire neuron models: blow-up and steady states",
   J. Math. Neurosci. 1:7 (2011).
.. [2] R. Brette, "Exact simulation of integrate-and-fire models with
   synaptic conductances", Neural Comput. 18(8) (2006).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import dawsn, log_ndtr

from reference.errors import InputError
from reference.moment import integral_g

__all__ = [
    "EventDrivenResult",
    "FoldPoint",
    "blowup_b_min",
    "blowup_guaranteed",
    "event_driven_network",
    "firing_integral",
    "fold_point",
    "lif_period",
    "lif_spike_time",
    "lif_spike_train",
    "stationary_density",
    "stationary_rates",
]

#: Grid points per decade of N when scanning F(N) = N I(N) - 1 for sign changes.
SCAN_PER_DECADE = 60
#: Largest N ever scanned (beyond it F(N) is within 1e-9 of its limit).
N_SCAN_MAX = 1e13
#: Relative tolerance for "at threshold" when grouping simultaneous spikes.
THRESHOLD_RTOL = 1e-12
#: Rebase W_i = (V_i - mu) e^{(t - t_e)/tau} when (t - t_e)/tau exceeds this.
REBASE_AFTER = 30.0


def _real(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError("must be a real number", key=name, value=value) from None
    if math.isnan(value):
        raise InputError("must not be NaN", key=name, value=value)
    return value


def _check_model(a0, a1, V_F, V_R, V_min=-math.inf):
    a0, a1, V_F, V_R, V_min = (_real(k, v) for k, v in
                               (("a", a0), ("a1", a1), ("V_F", V_F), ("V_R", V_R),
                                ("V_min", V_min)))
    if not (math.isfinite(a0) and a0 > 0):
        raise InputError("noise strength must be positive and finite", key="a", value=a0,
                         allowed="> 0")
    if not (math.isfinite(a1) and a1 >= 0):
        raise InputError("must be finite and >= 0", key="a1", value=a1)
    if not (math.isfinite(V_F) and math.isfinite(V_R) and V_R < V_F):
        raise InputError("reset must lie below the threshold", key="V_R", value=V_R,
                         allowed=f"V_R < V_F = {V_F}")
    if not V_min < V_R or V_min == math.inf:
        raise InputError("domain must extend below the reset", key="V_min", value=V_min,
                         allowed=f"V_min < V_R = {V_R}")
    return a0, a1, V_F, V_R, V_min


# --------------------------------------------------------------------------
# steady states
# --------------------------------------------------------------------------
def firing_integral(N, b, a=1.0, V_F=2.0, V_R=1.0, V_min=-np.inf, a1=0.0):
    """Return I(N) with 1/N = I(N) at a steady state (time constants per spike).

    Parameters
    ----------
    N : float or array_like
        Firing rate, >= 0 (spikes per time constant).
    b : float
        Connectivity (mean drift ``b N``).
    a : float
        Noise ``a0`` in ``a(N) = a0 + a1 N`` (> 0).
    V_F, V_R : float
        Threshold and reset.
    V_min : float
        Left end of the domain (``-inf``: whole line; finite: zero flux there).
    a1 : float
        Rate dependence of the noise (>= 0).

    Returns
    -------
    ndarray or float
        I(N) (``inf`` when it exceeds the float range).
    """
    b = _real("b", b)
    a0, a1, V_F, V_R, V_min = _check_model(a, a1, V_F, V_R, V_min)
    N = np.asarray(N, dtype=np.float64)
    aN = a0 + a1 * N
    s = np.sqrt(2.0 * aN)
    xF = (V_F - b * N) / s
    xR = (V_R - b * N) / s
    out = 2.0 * np.asarray(integral_g(xR, xF), dtype=np.float64)
    if math.isfinite(V_min):
        xm = (V_min - b * N) / s
        # erfi(x_F) - erfi(x_R) = (2/sqrt(pi)) (e^{xF^2} D(xF) - e^{xR^2} D(xR)); the
        # factor e^{m}, m = max(xF^2, xR^2), and erfc(-x_min) = 2 Phi(sqrt(2) x_min) are
        # combined in logs so that neither overflows nor underflows on its own.
        m = np.maximum(xF * xF, xR * xR)
        diff = np.exp(xF * xF - m) * dawsn(xF) - np.exp(xR * xR - m) * dawsn(xR)
        with np.errstate(over="ignore", under="ignore"):
            corr = math.sqrt(math.pi) * np.exp(math.log(2.0) + log_ndtr(math.sqrt(2.0) * xm)
                                               + m) * diff
        out = np.where(np.isfinite(out), out - corr, out)
    return out if out.ndim else float(out)


def _F(N, b, a0, a1, V_F, V_R, V_min):
    with np.errstate(over="ignore", invalid="ignore"):
        val = np.asarray(N) * np.asarray(firing_integral(N, b, a0, V_F, V_R, V_min, a1)) - 1.0
    return np.where(np.isnan(val), np.inf, val)


def _scan_bounds(b, a0, a1, V_F, V_R, V_min):
    I0 = float(firing_integral(0.0, b, a0, V_F, V_R, V_min, a1))
    n_lo = 1e-2 / I0 if (math.isfinite(I0) and I0 > 0) else 1e-300
    n_lo = max(n_lo, 1e-300)
    while float(_F(n_lo, b, a0, a1, V_F, V_R, V_min)) >= 0 and n_lo > 1e-300:
        n_lo = max(n_lo * 1e-3, 1e-300)
    if b > 0:
        lim = (V_F - V_R) / b - 1.0
        n_hi = 1e6 if lim == 0 else min(N_SCAN_MAX, max(1e6, 1e4 / abs(lim)))
    else:
        n_hi = max(1e3, 10.0 / I0 if math.isfinite(I0) and I0 > 0 else 1e3)
        while float(_F(n_hi, b, a0, a1, V_F, V_R, V_min)) <= 0 and n_hi < N_SCAN_MAX:
            n_hi *= 10.0
    return n_lo, n_hi


def _brackets(b, a0, a1, V_F, V_R, V_min):
    """Sign-change brackets of F on a log grid, with local extrema refined."""
    n_lo, n_hi = _scan_bounds(b, a0, a1, V_F, V_R, V_min)
    n_pts = max(50, int(SCAN_PER_DECADE * math.log10(n_hi / n_lo)) + 1)
    grid = np.geomspace(n_lo, n_hi, n_pts)
    F = _F(grid, b, a0, a1, V_F, V_R, V_min)
    pts = list(zip(grid.tolist(), F.tolist(), strict=False))
    extra = []
    for i in range(1, len(pts) - 1):
        f0, f1, f2 = F[i - 1], F[i], F[i + 1]
        if not (math.isfinite(f0) and math.isfinite(f1) and math.isfinite(f2)):
            continue
        is_max = f1 >= f0 and f1 >= f2 and (f1 > f0 or f1 > f2) and f1 < 0
        is_min = f1 <= f0 and f1 <= f2 and (f1 < f0 or f1 < f2) and f1 > 0
        if not (is_max or is_min):
            continue
        sgn = -1.0 if is_max else 1.0
        res = minimize_scalar(
            lambda y: sgn * float(_F(math.exp(y), b, a0, a1, V_F, V_R, V_min)),  # noqa: B023
            bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])), method="bounded",
            options={"xatol": 1e-12})
        n_ext = math.exp(res.x)
        f_ext = float(_F(n_ext, b, a0, a1, V_F, V_R, V_min))
        if f_ext * f1 < 0:
            extra.append((n_ext, f_ext))
    pts = sorted(pts + extra)
    out = []
    for (n0, f0), (n1, f1) in zip(pts[:-1], pts[1:], strict=False):
        if f0 == 0.0:
            out.append((n0, n0))
        elif f0 * f1 < 0:
            out.append((n0, n1))
    return out


def stationary_rates(b, a=1.0, V_F=2.0, V_R=1.0, V_min=-np.inf, a1=0.0):
    """Return every steady firing rate N (roots of 1/N = I(N)), increasing.

    ``F(N) = N I(N) - 1`` is scanned on a logarithmic grid of N (from well
    below ``1/I(0)`` to far beyond the point where ``N I(N)`` has reached its
    large-N limit ``(V_F - V_R)/b``), local extrema of F that do not change
    sign on the grid are refined (so two roots closer than the grid spacing,
    near the fold, are not missed) and each sign change is solved with
    ``brentq`` to machine precision.

    Parameters
    ----------
    b : float
        Connectivity (excitatory ``b > 0``).
    a : float
        Noise ``a0`` (> 0); with ``a1`` the noise is ``a0 + a1 N``.
    V_F, V_R : float
        Threshold and reset (``V_R < V_F``).
    V_min : float
        ``-inf`` for the whole line, or the left end of a truncated domain
        with zero flux (``V_min < V_R``).
    a1 : float
        Rate dependence of the noise (>= 0).

    Returns
    -------
    ndarray
        The steady rates (spikes per time constant), possibly empty.

    Examples
    --------
    >>> [round(float(n), 10) for n in stationary_rates(1.5)]
    [0.1923640126, 2.2891257077]
    """
    b = _real("b", b)
    if not math.isfinite(b):
        raise InputError("must be finite", key="b", value=b)
    a0, a1, V_F, V_R, V_min = _check_model(a, a1, V_F, V_R, V_min)
    roots = []
    for lo, hi in _brackets(b, a0, a1, V_F, V_R, V_min):
        if lo == hi:
            roots.append(lo)
            continue
        roots.append(brentq(lambda n: float(_F(n, b, a0, a1, V_F, V_R, V_min)), lo, hi,
                            xtol=1e-15 * lo + 1e-300, rtol=4 * np.finfo(float).eps,
                            maxiter=500))
    return np.array(sorted(roots), dtype=np.float64)


class FoldPoint(NamedTuple):
    """Saddle-node point of the steady-state curve N(b).

    Attributes
    ----------
    b : float
        Connectivity at the fold; no steady state exists for larger b.
    N : float
        Firing rate where the two upper branches meet.
    """

    b: float
    N: float


def _hump(b, a0, a1, V_F, V_R, V_min):
    """(max_N F(N; b), argmax) over the hump between the two upper roots."""
    n_lo, _ = _scan_bounds(b, a0, a1, V_F, V_R, V_min)
    grid = np.geomspace(max(n_lo, 1e-12), 1e8, 1200)
    F = _F(grid, b, a0, a1, V_F, V_R, V_min)
    i = int(np.clip(np.argmax(F), 1, len(grid) - 2))
    res = minimize_scalar(lambda y: -float(_F(math.exp(y), b, a0, a1, V_F, V_R, V_min)),
                          bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])),
                          method="bounded", options={"xatol": 1e-12})
    return -float(res.fun), math.exp(res.x)


def fold_point(a=1.0, V_F=2.0, V_R=1.0, V_min=-np.inf, a1=0.0) -> FoldPoint:
    """Return the fold (saddle-node) of the steady states: the largest b with a root.

    For ``b > V_F - V_R``, ``F(N) = N I(N) - 1`` rises from -1, has one hump
    and tends to ``(V_F - V_R)/b - 1 < 0``; the fold is where the hump's
    maximum is 0.  Solved by ``brentq`` in b on the maximum found with a
    bounded scalar optimisation in ``log N``.

    Parameters
    ----------
    a, V_F, V_R, V_min, a1 : float
        As in :func:`stationary_rates`.

    Returns
    -------
    FoldPoint
        ``(b, N)`` at the fold.

    Examples
    --------
    >>> fp = fold_point()
    >>> round(fp.b, 5), round(fp.N, 4)
    (2.10097, 0.4242)
    """
    a0, a1, V_F, V_R, V_min = _check_model(a, a1, V_F, V_R, V_min)
    lo = (V_F - V_R) * (1.0 + 1e-6)
    if _hump(lo, a0, a1, V_F, V_R, V_min)[0] <= 0:
        raise InputError("no fold: no steady state just above b = V_F - V_R",
                         key="a", value=a0)
    hi = 2.0 * (V_F - V_R)
    while _hump(hi, a0, a1, V_F, V_R, V_min)[0] > 0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise InputError("fold not found below b = 1e6", key="a", value=a0)
    b_star = brentq(lambda bb: _hump(bb, a0, a1, V_F, V_R, V_min)[0], lo, hi, xtol=1e-13,
                    rtol=1e-14)
    return FoldPoint(float(b_star), _hump(b_star, a0, a1, V_F, V_R, V_min)[1])


def stationary_density(v, N, b, a=1.0, V_F=2.0, V_R=1.0, V_min=-np.inf, a1=0.0):
    r"""Return the steady density p_inf(v) for the rate N.

    .. math::

        p_\infty(v) = \frac{N}{a} e^{-(v - V_0)^2/(2a)}
        \int_{\max(v, V_R)}^{V_F} e^{(w - V_0)^2/(2a)}\,dw, \qquad V_0 = b N,

    evaluated as ``N sqrt(2/a) [e^{x_F^2 - x^2} D(x_F) - e^{x_l^2 - x^2} D(x_l)]``
    with ``x = (v - V0)/sqrt(2a)``, ``x_l = max(x, x_R)`` and D Dawson's
    integral.  It integrates to 1 over ``[V_min, V_F]`` when N is a steady rate
    for that domain, vanishes at V_F and has flux ``-a p'(V_F) = N``.

    Parameters
    ----------
    v : float or array_like
        Voltages; the density is 0 above ``V_F`` and below ``V_min``.
    N : float
        Firing rate (> 0), normally from :func:`stationary_rates`.
    b, a, V_F, V_R, V_min, a1 : float
        As in :func:`stationary_rates` (``a`` is evaluated at ``a0 + a1 N``).

    Returns
    -------
    ndarray or float
        p_inf(v), per unit voltage.
    """
    b = _real("b", b)
    N = _real("N", N)
    if not N > 0:
        raise InputError("must be > 0", key="N", value=N)
    a0, a1, V_F, V_R, V_min = _check_model(a, a1, V_F, V_R, V_min)
    aN = a0 + a1 * N
    s = math.sqrt(2.0 * aN)
    v = np.asarray(v, dtype=np.float64)
    x = (v - b * N) / s
    xF = (V_F - b * N) / s
    xR = (V_R - b * N) / s
    xl = np.maximum(x, xR)
    logN = math.log(N)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        t1 = np.exp(logN + (xF - x) * (xF + x)) * dawsn(xF)
        t2 = np.exp(logN + (xl - x) * (xl + x)) * dawsn(xl)
        p = math.sqrt(2.0 / aN) * (t1 - t2)
    p = np.where((v <= V_F) & (v >= V_min), np.maximum(p, 0.0), 0.0)
    return p if p.ndim else float(p)


# --------------------------------------------------------------------------
# blow-up criterion
# --------------------------------------------------------------------------
def _log_ratio(mu, v0, s2, V_F):
    """log(e^{mu V_F} / (mu M_mu)) for the Gaussian N(v0, s2) truncated to v <= V_F."""
    s = math.sqrt(s2)
    z0 = (V_F - v0) / s
    return (mu * (V_F - v0) - np.log(mu) - 0.5 * mu * mu * s2
            - log_ndtr(z0 - mu * s) + log_ndtr(z0))


def blowup_b_min(v0, sigma0_sq, a_min=1.0, V_F=2.0, return_mu=False):
    """Smallest b for which blow-up is guaranteed by the moment criterion.

    With ``M_mu(t) = int e^{mu v} p dv``, notes 5 derives
    ``dM/dt >= mu (a_m mu - V_F) M + N (mu b M - e^{mu V_F})``, so no global
    classical solution exists if some ``mu > V_F / a_m`` has
    ``mu b M_mu(0) >= e^{mu V_F}``.  For the initial Gaussian ``N(v0, s0^2)``
    truncated to ``v <= V_F``,
    ``M_mu = e^{mu v0 + mu^2 s0^2/2} Phi((V_F - v0 - mu s0^2)/s0) / Phi((V_F - v0)/s0)``,
    and the bound is ``b_min = inf_{mu > V_F/a_m} e^{mu V_F} / (mu M_mu)``
    (computed in logs: a log-grid scan of ``mu - V_F/a_m`` and a bounded
    refinement).

    Parameters
    ----------
    v0 : float
        Mean of the initial Gaussian (< V_F not required).
    sigma0_sq : float
        Its variance (> 0).
    a_min : float
        ``inf a(N)`` (``a0`` for ``a = a0 + a1 N``), > 0.
    V_F : float
        Threshold.
    return_mu : bool
        Also return the minimising mu.

    Returns
    -------
    float or (float, float)
        ``b_min`` (and ``mu``).

    Examples
    --------
    >>> round(blowup_b_min(1.5, 0.005), 4)
    1.3453
    """
    v0, s2, a_min, V_F = (_real(k, x) for k, x in (("v0", v0), ("sigma0_sq", sigma0_sq),
                                                     ("a_min", a_min), ("V_F", V_F)))
    if not (s2 > 0 and math.isfinite(s2)):
        raise InputError("must be > 0", key="sigma0_sq", value=s2)
    if not (a_min > 0 and math.isfinite(a_min)):
        raise InputError("must be > 0", key="a_min", value=a_min)
    mu0 = V_F / a_min
    dt = np.geomspace(1e-10, 1e7, 3000) * max(1.0, abs(mu0))
    mus = mu0 + dt
    vals = _log_ratio(mus, v0, s2, V_F)
    i = int(np.argmin(vals))
    lo = mus[max(i - 1, 0)]
    hi = mus[min(i + 1, len(mus) - 1)]
    res = minimize_scalar(lambda m: float(_log_ratio(m, v0, s2, V_F)), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-12 * max(1.0, hi)})
    mu_best, val = (res.x, res.fun) if res.fun <= vals[i] else (mus[i], vals[i])
    b_min = math.exp(float(val))
    return (b_min, float(mu_best)) if return_mu else b_min


def blowup_guaranteed(b, v0, sigma0_sq, a_min=1.0, V_F=2.0):
    """Return True if the moment criterion guarantees blow-up (``b >= b_min``).

    Parameters
    ----------
    b : float
        Connectivity.
    v0, sigma0_sq, a_min, V_F : float
        As in :func:`blowup_b_min`.

    Returns
    -------
    bool
        True when no global classical solution exists by the criterion; False
        means "not decided by this criterion", not "no blow-up".
    """
    return bool(_real("b", b) >= blowup_b_min(v0, sigma0_sq, a_min, V_F))


# --------------------------------------------------------------------------
# deterministic LIF
# --------------------------------------------------------------------------
def lif_spike_time(V0, mu, tau=1.0, V_F=2.0):
    """Time for ``tau dV/dt = -V + mu`` to go from V0 to V_F.

    ``t* = tau ln((mu - V0)/(mu - V_F))`` (computed with ``log1p``); ``inf`` if
    ``mu <= V_F`` (never reached) and 0 if ``V0 >= V_F``.

    Parameters
    ----------
    V0 : float or array_like
        Initial voltage.
    mu : float
        Constant input.
    tau : float
        Membrane time constant (> 0).
    V_F : float
        Threshold.

    Returns
    -------
    ndarray or float
        Time to threshold, in the units of ``tau``.
    """
    V0 = np.asarray(V0, dtype=np.float64)
    mu, tau, V_F = _real("mu", mu), _real("tau", tau), _real("V_F", V_F)
    if not tau > 0:
        raise InputError("must be > 0", key="tau", value=tau)
    if mu <= V_F:
        out = np.where(V0 >= V_F, 0.0, np.inf)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(V0 >= V_F, 0.0, tau * np.log1p((V_F - V0) / (mu - V_F)))
    return out if out.ndim else float(out)


def lif_period(mu, tau=1.0, V_F=2.0, V_R=1.0):
    """Period ``T = tau ln((mu - V_R)/(mu - V_F))`` of the noise-free LIF (inf if mu <= V_F).

    Parameters
    ----------
    mu : float
        Constant input.
    tau : float
        Membrane time constant.
    V_F, V_R : float
        Threshold and reset.

    Returns
    -------
    float
        The inter-spike interval.

    Examples
    --------
    >>> round(lif_period(2.5), 10)
    1.0986122887
    """
    return float(lif_spike_time(V_R, mu, tau, V_F))


def lif_spike_train(mu, T_end, V0=None, tau=1.0, V_F=2.0, V_R=1.0):
    """Spike times in ``(0, T_end]`` of the noise-free LIF with constant input.

    ``t_k = t* + k T`` with ``t* = lif_spike_time(V0)`` and ``T = lif_period``.

    Parameters
    ----------
    mu : float
        Constant input.
    T_end : float
        End of the interval.
    V0 : float, optional
        Initial voltage (default ``V_R``), must be below V_F.
    tau, V_F, V_R : float
        As in :func:`lif_period`.

    Returns
    -------
    ndarray
        Spike times.
    """
    V0 = V_R if V0 is None else _real("V0", V0)
    if V0 >= V_F:
        raise InputError("initial voltage must be below the threshold", key="V0", value=V0,
                         allowed=f"< V_F = {V_F}")
    t0 = lif_spike_time(V0, mu, tau, V_F)
    if not math.isfinite(t0) or t0 > T_end:
        return np.zeros(0)
    T = lif_period(mu, tau, V_F, V_R)
    k = np.arange(int(math.floor((T_end - t0) / T)) + 2)
    t = t0 + k * T
    return t[t <= T_end]


# --------------------------------------------------------------------------
# exact event-driven network
# --------------------------------------------------------------------------
class EventDrivenResult(NamedTuple):
    """Spikes of :func:`event_driven_network`, in time order.

    Attributes
    ----------
    times : ndarray of float64
        Spike times (time constants); a cascade gives equal times.
    ids : ndarray of int64
        Neuron index of each spike.
    V : ndarray of float64
        Voltages at ``T_end``.
    """

    times: np.ndarray
    ids: np.ndarray
    V: np.ndarray


def event_driven_network(V0, mu, b, T_end, tau=1.0, V_F=2.0, V_R=1.0, max_spikes=10_000_000):
    """Exact spike times of the noise-free (a = 0) all-to-all LIF network.

    ``tau dV_i/dt = -V_i + mu`` below ``V_F``; a neuron reaching ``V_F`` is
    reset to ``V_R`` and every other neuron jumps by ``b/P``.  Within a
    cascade the smallest fixed point is taken (notes 1(B)): with the
    non-fired voltages sorted descending, ``k`` starts at the number of
    neurons at threshold and grows while ``U_(k+1) + b k / P >= V_F``; the k
    fired neurons are set to ``V_R`` and the others get ``+ b k / P``.

    Because all neurons share one flow, free evolution keeps their order, so
    the next spike is the neuron with the largest V and happens at
    ``lif_spike_time``.  Voltages are stored as ``S_i`` with
    ``V_i(t) = mu + (S_i + Omega) e^{-(t - t_e)/tau}``: free evolution costs
    nothing, a uniform kick only changes ``Omega``, and the neurons are kept
    sorted so each event costs one insertion of the reset neurons
    (``t_e`` is rebased every ``REBASE_AFTER`` time constants).

    Parameters
    ----------
    V0 : array_like, shape (P,)
        Initial voltages, all below ``V_F``.
    mu : float
        Constant input (spikes occur only if ``mu > V_F``).
    b : float
        Connectivity; each spike kicks the others by ``b / P``.
    T_end : float
        End time.
    tau, V_F, V_R : float
        Time constant, threshold, reset.
    max_spikes : int
        Stop after this many spikes (guards against runaway cascades).

    Returns
    -------
    EventDrivenResult
        Spike times, neuron ids and the final voltages.
    """
    V0 = np.asarray(V0, dtype=np.float64).ravel()
    P = V0.size
    mu, b, T_end = _real("mu", mu), _real("b", b), _real("T_end", T_end)
    tau, V_F, V_R = _real("tau", tau), _real("V_F", V_F), _real("V_R", V_R)
    if P == 0:
        raise InputError("need at least one neuron", key="V0", value=V0)
    if not np.all(np.isfinite(V0)) or np.any(V0 >= V_F):
        raise InputError("initial voltages must be finite and below the threshold",
                         key="V0", value=V0, allowed=f"< V_F = {V_F}")
    if not (tau > 0 and V_R < V_F):
        raise InputError("need tau > 0 and V_R < V_F", key="tau, V_R", value=(tau, V_R))
    kick = b / P
    order = np.argsort(-V0, kind="stable")
    ids = order.astype(np.int64)  # neuron ids sorted by decreasing V
    S = V0[order] - mu  # S_i + Omega = (V_i - mu) e^{(t - t_e)/tau}
    omega = 0.0
    t_e = 0.0
    times_out: list[float] = []
    ids_out: list[np.ndarray] = []
    n_spikes = 0
    tol = THRESHOLD_RTOL * max(1.0, abs(V_F))

    def voltages(t):
        return mu + (S + omega) * math.exp(-(t - t_e) / tau)

    t = 0.0
    while n_spikes < max_spikes:
        if mu <= V_F:
            break  # no spontaneous spike can ever happen again
        W_top = S[0] + omega
        if W_top >= 0:  # cannot happen below threshold with mu > V_F
            break
        t_next = t_e + tau * math.log(-W_top / (mu - V_F))
        t_next = max(t_next, t)
        if t_next > T_end:
            break
        t = t_next
        if (t - t_e) / tau > REBASE_AFTER:  # rebase to keep the numbers O(1)
            S = (S + omega) * math.exp(-(t - t_e) / tau)
            omega = 0.0
            t_e = t
        V = voltages(t)
        V[0] = V_F
        # cascade: smallest fixed point
        k = int(np.count_nonzero(V >= V_F - tol))
        while k < P and V[k] + b * k / P >= V_F - tol:
            k += 1
        fired = ids[:k].copy()
        times_out.append(t)
        ids_out.append(np.sort(fired))
        n_spikes += k
        # kick the others, reset the fired and reinsert them in order
        omega += kick * k * math.exp((t - t_e) / tau)
        S_rest, ids_rest = S[k:], ids[k:]
        s_reset = (V_R - mu) * math.exp((t - t_e) / tau) - omega
        pos = int(np.searchsorted(-S_rest, -s_reset, side="right"))
        S = np.concatenate([S_rest[:pos], np.full(k, s_reset), S_rest[pos:]])
        ids = np.concatenate([ids_rest[:pos], fired, ids_rest[pos:]])
    V_end = np.empty(P)
    V_end[ids] = voltages(T_end) if P else V_end
    if times_out:
        times = np.concatenate([np.full(len(f), tt)
                                for tt, f in zip(times_out, ids_out, strict=True)])
        sid = np.concatenate(ids_out)
    else:
        times, sid = np.zeros(0), np.zeros(0, dtype=np.int64)
    return EventDrivenResult(times, sid.astype(np.int64), V_end)
