r"""Moment activation: the moment neural network's mean-field map for one LIF neuron.

A leaky integrate-and-fire neuron driven by Gaussian white noise,

.. math::

    dV = (-L V + \bar\mu)\,dt + \bar\sigma\, dW(t), \qquad
    V \ge V_{th} \Rightarrow \text{spike},\ V \leftarrow V_{res}
    \text{ for } T_{ref},

(time in ms, voltage in mV, ``L`` in 1/ms, input mean ``mean`` in mV/ms, input
std ``std`` in mV/sqrt(ms)), has a renewal spike train whose inter-spike
interval has mean and variance given by the Siegert formulas [1]_ [2]_.  With

.. math::

    I_{ub} = \frac{V_{th} L - \bar\mu}{\sqrt{L}\,\bar\sigma}, \qquad
    I_{lb} = \frac{V_{res} L - \bar\mu}{\sqrt{L}\,\bar\sigma},

    g(x) = e^{x^2}\int_{-\infty}^{x} e^{-u^2}du
         = \tfrac{\sqrt\pi}{2}\,\mathrm{erfcx}(-x), \qquad
    h(x) = e^{x^2}\int_{-\infty}^{x} e^{-u^2} g(u)^2 du,

the moment activation is

.. math::

    \phi_\mu = \frac{1}{T_{ref} + \frac{2}{L}\int_{I_{lb}}^{I_{ub}} g},\qquad
    \phi_\sigma^2 = \frac{8}{L^2}\,\phi_\mu^3 \int_{I_{lb}}^{I_{ub}} h,\qquad
    \chi = \frac{\partial\phi_\mu}{\partial\bar\mu}\,
            \frac{\bar\sigma}{\phi_\sigma}
          = \frac{(g(I_{ub}) - g(I_{lb}))\sqrt{\phi_\mu}}
                  {\sqrt{2L\int_{I_{lb}}^{I_{ub}} h}}.

``phi_mu`` is the mean firing rate (spikes/ms), ``phi_sigma**2`` the growth rate
of the spike-count variance (spikes**2/ms), so ``phi_sigma**2 / phi_mu`` is the
Fano factor (= CV**2 of the ISI) and ``chi`` the linear-response coefficient of
[3]_ [4]_.  These are the formulas of Feng, Deng & Rossoni [1]_ and of the
moment neural network code of Qi et al. (``BrainsoupFactory/moment-neural-network``,
``mnn/mnn_core/mnn_utils.py``: ``forward_fast_mean``, ``forward_fast_std`` and
``forward_fast_chi`` use the same bounds, the same factors ``2/L`` and
``8/L**2`` and ``chi = phi_mu**2 / phi_sigma * (g(ub) - g(lb)) * 2 / L**1.5``,
which equals the expression above).

Numerics
--------
``g`` is ``erfcx`` (accurate for every real x, ``inf`` only where g itself
exceeds the float range).  ``h``, ``H(x) = int_{-inf}^x h`` and
``G(x) = int_0^x g`` are evaluated from

* asymptotic series for x <= -7 (coefficients from the ODEs ``g' = 2xg + 1`` and
  ``h' = 2xh + g**2``; 30 terms, truncation error below 1e-17 relative);
* piecewise Chebyshev interpolants (panels of 0.25, degree 24) on [-7, 7],
  built once, on first use, from node values obtained by cumulative
  Gauss-Legendre quadrature of positive integrands (no cancellation);
* for x > 7 the closed forms ``h ~ pi e^{2x^2} dawsn(x)``,
  ``H ~ (pi/2) e^{2x^2} dawsn(x)**2`` (relative error ~ x e^{-x^2} < 1e-19),
  and ``G(x) = sqrt(pi) e^{x^2} dawsn(x) + G(-x)`` (exact).

Everything for positive arguments is carried with the factor ``e^{-x^2}``
(``g``, ``G``) or ``e^{-2x^2}`` (``h``, ``H``) taken out, so that the rate
underflows gracefully to 0 for very negative means instead of giving
``inf/inf``.  Differences of antiderivatives whose arguments both lie in an
asymptotic region are formed term by term without cancellation.

References
----------
.. [1] J. Feng, Y. Deng, E. Rossoni, "Dynamics of moment neuronal networks",
   Phys. Rev. E 73, 041906 (2006).
.. [2] N. Brunel, V. Hakim, "Fast global oscillations in networks of
   integrate-and-fire neurons with low firing rates", Neural Comput. 11 (1999).
.. [3] Y. Qi, Z. Zhu, Y. Wei, L. Cao, Z. Wang, J. Zhang, W. Lu, J. Feng,
   "Toward stochastic neural computing" / "Moment neural network"
   (Fudan ISTBI; code: github.com/BrainsoupFactory/moment-neural-network).
.. [4] W. Lu, Z. Zhu, Y. Qi, J. Feng et al., moment neural network papers
   (2020-2024), same code base.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.special import dawsn, erfc, erfcx

from reference.errors import InputError

__all__ = [
    "MomentOutput",
    "dawson_g",
    "dawson_h",
    "integral_g",
    "integral_h",
    "moment_activation",
    "simulate_isi",
]

SQRT_PI = math.sqrt(math.pi)
#: Below this argument the asymptotic series are used (error ~ e^{-x^2} < 1e-21).
X_ASYM = 7.0
#: Above this argument the closed forms for h and H are used (error ~ x e^{-x^2}).
X_POS = 7.0
#: Width of a Chebyshev panel; with degree 24 the interpolants are exact to round-off.
PANEL_WIDTH = 0.25
CHEB_DEGREE = 24
#: Terms kept in the asymptotic series; the terms still decrease for |x| >= 7.
N_ASYM = 30
#: Gauss-Legendre nodes per sub-interval when the tables are built.
GL_NODES = 16
#: |bound| above which the input is treated as noise-free (corrections ~ 1/bound^2).
DETERMINISTIC_BOUND = 1e150


# --------------------------------------------------------------------------
# asymptotic series for x -> -inf
# --------------------------------------------------------------------------
def _asymptotic_coefficients(n: int):
    """Return the coefficients (a, A, c, B) of the x -> -inf series.

    g ~ sum a_k x^{-2k-1}, G ~ C - ln(-x)/2 + sum A_k x^{-2k},
    h ~ sum c_k x^{-2k-3}, H ~ sum B_k x^{-2k-2}.
    """
    a = np.zeros(n + 2)
    a[0] = -0.5
    for m in range(1, n + 2):  # g' = 2 x g + 1
        a[m] = -(2 * m - 1) * a[m - 1] / 2.0
    s = np.array([np.dot(a[: m + 1], a[m::-1]) for m in range(n + 1)])  # g^2
    c = np.zeros(n + 1)
    c[0] = -s[0] / 2.0
    for m in range(1, n + 1):  # h' = 2 x h + g^2
        c[m] = (-(2 * m + 1) * c[m - 1] - s[m]) / 2.0
    A = np.zeros(n + 1)
    A[1:] = -a[1: n + 1] / (2.0 * np.arange(1, n + 1))
    B = -c / (2.0 * np.arange(n + 1) + 2.0)
    return a[: n + 1], A, c, B


_A_G, _A_GINT, _C_H, _B_HINT = _asymptotic_coefficients(N_ASYM)


def _poly_inv(x, coef, first_power, step=2):
    """sum_k coef[k] x^{-(first_power + step k)} by Horner in 1/x^step."""
    u = 1.0 / x
    u2 = u ** step
    acc = np.zeros_like(u)
    for ck in coef[::-1]:
        acc = acc * u2 + ck
    return acc * u ** first_power


def _g_asym(x):
    return _poly_inv(x, _A_G, 1)


def _h_asym(x):
    return _poly_inv(x, _C_H, 3)


def _H_asym(x):
    return _poly_inv(x, _B_HINT, 2)


def _G_asym(x, const):
    return const - 0.5 * np.log(-x) + _poly_inv(x, _A_GINT[1:], 2)


def _power_differences(a, b, n_max, odd):
    """Return the power differences u^p - v^p without cancellation.

    u = 1/b, v = 1/a with a < b < 0; p = 2n for n = 1..n_max, or p = 2n + 1 for
    n = 0..n_max when ``odd``.
    """
    u = 1.0 / b
    v = 1.0 / a
    d1 = (a - b) * u * v  # u - v, exact up to rounding
    d2 = d1 * (u + v)  # u^2 - v^2
    u2 = u * u
    v2 = v * v
    out = []
    if odd:
        cur = d1  # u - v
        vp = v  # v^{2n-1} for the next term
        out.append(cur)
        for _ in range(n_max):
            cur = u2 * cur + vp * d2
            vp = vp * v2
            out.append(cur)
    else:
        cur = d2  # u^2 - v^2
        vp = v2
        out.append(cur)
        for _ in range(n_max - 1):
            cur = u2 * cur + vp * d2
            vp = vp * v2
            out.append(cur)
    return out


# --------------------------------------------------------------------------
# Chebyshev tables on [-X_ASYM, X_POS]
# --------------------------------------------------------------------------
class _ChebTable(NamedTuple):
    x0: float
    width: float
    n_panels: int
    coef: np.ndarray  # (n_panels, degree + 1)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        p = np.clip(np.floor((x - self.x0) / self.width).astype(np.intp), 0, self.n_panels - 1)
        t = (x - (self.x0 + (p + 0.5) * self.width)) / (0.5 * self.width)
        c = self.coef[p]
        b1 = np.zeros_like(x)
        b2 = np.zeros_like(x)
        for k in range(c.shape[-1] - 1, 0, -1):  # Clenshaw
            b1, b2 = 2.0 * t * b1 - b2 + c[..., k], b1
        return t * b1 - b2 + c[..., 0]


def _cheb_nodes(n):
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def _cheb_coefficients(values):
    """values: (..., n) at _cheb_nodes(n) -> Chebyshev coefficients (..., n)."""
    n = values.shape[-1]
    k = np.arange(n)
    T = np.cos(np.outer(k, np.pi * (k + 0.5) / n))  # T_j(x_k)
    c = values @ T.T * (2.0 / n)
    c[..., 0] *= 0.5
    return c


def _gl(n=GL_NODES):
    return np.polynomial.legendre.leggauss(n)


def _k_integrand(u):
    """e^{-u^2} g(u)^2 = (pi/4) e^{-u^2} erfcx(-u)^2 (finite for |u| <= 26)."""
    return 0.25 * np.pi * np.exp(-u * u) * erfcx(-u) ** 2


@functools.lru_cache(maxsize=1)
def _tables():
    """Build the interpolation tables (about 0.1 s, once per process)."""
    n_neg = int(round(X_ASYM / PANEL_WIDTH))
    n_pos = int(round(X_POS / PANEL_WIDTH))
    nodes = _cheb_nodes(CHEB_DEGREE + 1)
    edges_neg = -X_ASYM + PANEL_WIDTH * np.arange(n_neg + 1)
    edges_pos = PANEL_WIDTH * np.arange(n_pos + 1)
    mids_neg = edges_neg[:-1] + 0.5 * PANEL_WIDTH
    mids_pos = edges_pos[:-1] + 0.5 * PANEL_WIDTH
    xn_neg = mids_neg[:, None] + 0.5 * PANEL_WIDTH * nodes[None, :]
    xn_pos = mids_pos[:, None] + 0.5 * PANEL_WIDTH * nodes[None, :]
    xs = np.unique(np.concatenate([edges_neg, edges_pos, xn_neg.ravel(), xn_pos.ravel()]))
    lo, hi = xs[:-1], xs[1:]
    t, w = _gl()
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    um = mid[:, None] + half[:, None] * t[None, :]  # GL points of each sub-interval
    # K(x) = int_{-inf}^x e^{-u^2} g^2 ; h = e^{x^2} K
    K0 = math.exp(-X_ASYM ** 2) * float(_h_asym(np.array(-X_ASYM)))
    dK = (_k_integrand(um) * w).sum(axis=1) * half
    K = K0 + np.concatenate([[0.0], np.cumsum(dK)])
    # H increments: int h over each sub-interval, with K at the GL points by a nested rule
    h_lo = half[:, None] * (t[None, :] + 1.0) * 0.5  # half-length of [lo, um]
    inner_mid = lo[:, None] + h_lo
    inner_pts = inner_mid[..., None] + h_lo[..., None] * t[None, None, :]
    K_um = K[:-1, None] + (_k_integrand(inner_pts) * w).sum(axis=-1) * h_lo
    dH = (np.exp(um * um) * K_um * w).sum(axis=1) * half
    H = float(_H_asym(np.array(-X_ASYM))) + np.concatenate([[0.0], np.cumsum(dH)])
    h = np.exp(xs * xs) * K
    # G(x) = int_0^x g for x <= 0 (cumulated from 0 downwards)
    dG = (0.5 * SQRT_PI * erfcx(-um) * w).sum(axis=1) * half
    i0 = int(np.searchsorted(xs, 0.0))
    Gcum = np.concatenate([[0.0], np.cumsum(dG)])
    G = Gcum - Gcum[i0]

    def lookup(arr, pts):
        return arr[np.searchsorted(xs, pts)]

    def table(x0, n, values):
        return _ChebTable(x0, PANEL_WIDTH, n, _cheb_coefficients(values))

    scale_pos = np.exp(-2.0 * xn_pos ** 2)
    tabs = {
        "h_neg": table(-X_ASYM, n_neg, lookup(h, xn_neg)),
        "H_neg": table(-X_ASYM, n_neg, lookup(H, xn_neg)),
        "G_neg": table(-X_ASYM, n_neg, lookup(G, xn_neg)),
        "h_pos": table(0.0, n_pos, lookup(h, xn_pos) * scale_pos),
        "H_pos": table(0.0, n_pos, lookup(H, xn_pos) * scale_pos),
    }
    # constant of the G asymptotic series, matched at x = -X_ASYM
    g_at = float(G[0])
    tabs["G_const"] = g_at + 0.5 * math.log(X_ASYM) - float(
        _poly_inv(np.array(-X_ASYM), _A_GINT[1:], 2))
    return tabs


# --------------------------------------------------------------------------
# pointwise functions
# --------------------------------------------------------------------------
def _G_nonpos(x):
    """G(x) = int_0^x g for x <= 0."""
    tabs = _tables()
    out = np.empty_like(x)
    m = x <= -X_ASYM
    out[m] = _G_asym(x[m], tabs["G_const"])
    out[~m] = tabs["G_neg"](x[~m])
    return out


def _H_nonpos(x):
    tabs = _tables()
    out = np.empty_like(x)
    m = x <= -X_ASYM
    out[m] = _H_asym(x[m])
    out[~m] = tabs["H_neg"](x[~m])
    return out


def _h_nonpos(x):
    tabs = _tables()
    out = np.empty_like(x)
    m = x <= -X_ASYM
    out[m] = _h_asym(x[m])
    out[~m] = tabs["h_neg"](x[~m])
    return out


def _h_pos_scaled(x):
    """e^{-2x^2} h(x) for x > 0."""
    tabs = _tables()
    out = np.empty_like(x)
    m = x > X_POS
    out[m] = np.pi * dawsn(x[m])
    out[~m] = tabs["h_pos"](x[~m])
    return out


def _H_pos_scaled(x):
    """e^{-2x^2} H(x) for x > 0."""
    tabs = _tables()
    out = np.empty_like(x)
    m = x > X_POS
    out[m] = 0.5 * np.pi * dawsn(x[m]) ** 2
    out[~m] = tabs["H_pos"](x[~m])
    return out


def _G_pos_scaled(x):
    """e^{-x^2} G(x) for x > 0 (exact: G(x) = (pi/2) erfi(x) + G(-x))."""
    return SQRT_PI * dawsn(x) + np.exp(-x * x) * _G_nonpos(-x)


def _as_float_array(name, x):
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("must be real numbers", key=name, value=x) from None
    if np.isnan(arr).any():
        raise InputError("must not contain NaN", key=name, value=x)
    return arr


def dawson_g(x):
    """Return g(x) = e^{x^2} int_{-inf}^x e^{-u^2} du = (sqrt(pi)/2) erfcx(-x).

    Parameters
    ----------
    x : float or array_like
        Argument (dimensionless).

    Returns
    -------
    ndarray or float
        g(x) > 0; ``inf`` for x > 26.6 where g exceeds the float64 range.
    """
    x = _as_float_array("x", x)
    with np.errstate(over="ignore"):
        out = 0.5 * SQRT_PI * erfcx(-x)
    return out if out.ndim else float(out)


def dawson_h(x):
    """Return h(x) = e^{x^2} int_{-inf}^x e^{-u^2} g(u)^2 du.

    Relative accuracy about 1e-14 for every real x (``inf`` for x > 18.8 where
    h ~ pi e^{2x^2} dawsn(x) exceeds the float64 range).

    Parameters
    ----------
    x : float or array_like
        Argument (dimensionless).

    Returns
    -------
    ndarray or float
        h(x) > 0; h(x) ~ -1/(8x^3) for x -> -inf.
    """
    x = _as_float_array("x", x)
    xa = np.atleast_1d(x)
    out = np.empty_like(xa)
    neg = xa <= 0
    out[neg] = _h_nonpos(xa[neg])
    with np.errstate(over="ignore"):
        out[~neg] = _h_pos_scaled(xa[~neg]) * np.exp(2.0 * xa[~neg] ** 2)
    return out.reshape(x.shape) if x.ndim else float(out[0])


# --------------------------------------------------------------------------
# scaled interval integrals
# --------------------------------------------------------------------------
def _int_g_scaled(a, b):
    """e^{-max(b,0)^2} int_a^b g, for 1-d arrays a < b."""
    out = np.empty_like(b)
    tabs = _tables()
    both_asym = b <= -X_ASYM
    if both_asym.any():
        aa, bb = a[both_asym], b[both_asym]
        diffs = _power_differences(aa, bb, N_ASYM, odd=False)
        acc = 0.5 * np.log1p((aa - bb) / bb)
        for n in range(1, N_ASYM + 1):
            acc = acc + _A_GINT[n] * diffs[n - 1]
        out[both_asym] = acc
    neg = (b <= 0) & ~both_asym
    if neg.any():
        out[neg] = _G_nonpos(b[neg]) - _G_nonpos(a[neg])
    pos = b > 0
    if pos.any():
        aa, bb = a[pos], b[pos]
        val = _G_pos_scaled(bb)
        apos = aa > 0
        sub = np.empty_like(bb)
        sub[apos] = np.exp((aa[apos] - bb[apos]) * (aa[apos] + bb[apos])) * _G_pos_scaled(aa[apos])
        sub[~apos] = np.exp(-bb[~apos] ** 2) * _G_nonpos(aa[~apos])
        out[pos] = val - sub
    del tabs
    return out


def _int_h_scaled(a, b):
    """e^{-2 max(b,0)^2} int_a^b h, for 1-d arrays a < b."""
    out = np.empty_like(b)
    both_asym = b <= -X_ASYM
    if both_asym.any():
        aa, bb = a[both_asym], b[both_asym]
        diffs = _power_differences(aa, bb, N_ASYM + 1, odd=False)
        acc = np.zeros_like(bb)
        for n in range(N_ASYM + 1):
            acc = acc + _B_HINT[n] * diffs[n]
        out[both_asym] = acc
    neg = (b <= 0) & ~both_asym
    if neg.any():
        out[neg] = _H_nonpos(b[neg]) - _H_nonpos(a[neg])
    pos = b > 0
    if pos.any():
        aa, bb = a[pos], b[pos]
        val = _H_pos_scaled(bb)
        apos = aa > 0
        sub = np.empty_like(bb)
        sub[apos] = np.exp(2.0 * (aa[apos] - bb[apos]) * (aa[apos] + bb[apos])) \
            * _H_pos_scaled(aa[apos])
        sub[~apos] = np.exp(-2.0 * bb[~apos] ** 2) * _H_nonpos(aa[~apos])
        out[pos] = val - sub
    return out


def _diff_g_scaled(a, b):
    """e^{-max(b,0)^2} (g(b) - g(a)), for 1-d arrays a < b."""
    out = np.empty_like(b)
    both_asym = b <= -X_ASYM
    if both_asym.any():
        aa, bb = a[both_asym], b[both_asym]
        diffs = _power_differences(aa, bb, N_ASYM, odd=True)
        acc = np.zeros_like(bb)
        for n in range(N_ASYM + 1):
            acc = acc + _A_G[n] * diffs[n]
        out[both_asym] = acc
    neg = (b <= 0) & ~both_asym
    if neg.any():
        out[neg] = 0.5 * SQRT_PI * (erfcx(-b[neg]) - erfcx(-a[neg]))
    pos = b > 0
    if pos.any():
        aa, bb = a[pos], b[pos]
        val = 0.5 * SQRT_PI * erfc(-bb)
        apos = aa > 0
        sub = np.empty_like(bb)
        sub[apos] = np.exp((aa[apos] - bb[apos]) * (aa[apos] + bb[apos])) * 0.5 * SQRT_PI \
            * erfc(-aa[apos])
        sub[~apos] = np.exp(-bb[~apos] ** 2) * 0.5 * SQRT_PI * erfcx(-aa[~apos])
        out[pos] = val - sub
    return out


def _check_bounds(a, b):
    a = _as_float_array("a", a)
    b = _as_float_array("b", b)
    a, b = np.broadcast_arrays(a, b)
    if np.any(~np.isfinite(a)) or np.any(~np.isfinite(b)):
        raise InputError("bounds must be finite", key="a, b", value=(a, b))
    return a, b


def _signed_interval(fun, a, b, power):
    """Evaluate fun on ordered bounds and restore sign and scale."""
    shape = a.shape
    a1, b1 = a.ravel(), b.ravel()
    lo, hi = np.minimum(a1, b1), np.maximum(a1, b1)
    out = np.zeros_like(lo)
    ne = lo < hi
    with np.errstate(over="ignore"):
        out[ne] = fun(lo[ne], hi[ne]) * np.exp(power * np.maximum(hi[ne], 0.0) ** 2)
    out = np.where(a1 <= b1, out, -out).reshape(shape)
    return out if out.ndim else float(out)


def integral_g(a, b):
    """Return int_a^b g(x) dx, accurate to ~1e-14 relative for any finite bounds.

    Parameters
    ----------
    a, b : float or array_like
        Integration bounds (dimensionless), broadcast together.

    Returns
    -------
    ndarray or float
        The integral (``inf`` when it exceeds the float64 range).
    """
    a, b = _check_bounds(a, b)
    return _signed_interval(_int_g_scaled, a, b, 1.0)


def integral_h(a, b):
    """Return int_a^b h(x) dx, accurate to ~1e-13 relative for any finite bounds.

    Parameters
    ----------
    a, b : float or array_like
        Integration bounds (dimensionless), broadcast together.

    Returns
    -------
    ndarray or float
        The integral (``inf`` when it exceeds the float64 range).
    """
    a, b = _check_bounds(a, b)
    return _signed_interval(_int_h_scaled, a, b, 2.0)


# --------------------------------------------------------------------------
# moment activation
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MomentOutput:
    """Output moments of one LIF neuron (arrays broadcast from the inputs).

    Unpacks and indexes like the tuple ``(mean, std, chi)``.

    Attributes
    ----------
    mean : ndarray
        Mean firing rate phi_mu, spikes/ms.
    std : ndarray
        phi_sigma, spikes/sqrt(ms): ``std**2 * T`` is the spike-count variance
        in a long window of T ms.
    chi : ndarray
        Linear-response coefficient ``(d phi_mu / d mean) * input_std / phi_sigma``
        (dimensionless).
    """

    mean: np.ndarray
    std: np.ndarray
    chi: np.ndarray
    fano_scaled: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __iter__(self):
        return iter((self.mean, self.std, self.chi))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i):
        return (self.mean, self.std, self.chi)[i]

    @property
    def fano(self):
        """Fano factor phi_sigma**2 / phi_mu.

        Computed from the scaled integrals, ``(8 / L**2) r_hat**2 H``, so it stays
        exact where the rate itself underflows (it tends to 1, the Poisson limit of
        rare escapes); 0 for the deterministic, noise-free neuron.
        """
        if self.fano_scaled is not None:
            return self.fano_scaled
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mean > 0,
                            self.std ** 2 / np.where(self.mean > 0, self.mean, 1.0), 0.0)


def _check_params(L, V_th, V_res, T_ref):
    for name, val in (("L", L), ("V_th", V_th), ("V_res", V_res), ("T_ref", T_ref)):
        if not (isinstance(val, (int, float, np.floating, np.integer)) and math.isfinite(val)):
            raise InputError("must be a finite real number", key=name, value=val)
    if L <= 0:
        raise InputError("leak conductance must be positive", key="L", value=L, allowed="> 0")
    if not V_res < V_th:
        raise InputError("reset must lie below the threshold", key="V_res", value=V_res,
                         allowed=f"< V_th = {V_th}")
    if T_ref < 0:
        raise InputError("must be >= 0", key="T_ref", value=T_ref)


def moment_activation(mean, std, L=0.05, V_th=20.0, V_res=0.0, T_ref=5.0) -> MomentOutput:
    """Moment activation (phi_mu, phi_sigma, chi) of an LIF neuron under white noise.

    The neuron obeys ``dV = (-L V + mean) dt + std dW`` below ``V_th``, is reset
    to ``V_res`` and held there for ``T_ref`` (see the module docstring).

    Parameters
    ----------
    mean : float or array_like
        Input current mean, mV/ms (any finite value).
    std : float or array_like
        Input current std, mV/sqrt(ms), >= 0; broadcast with ``mean``.
        ``std = 0`` gives the deterministic LIF: rate
        ``1/(T_ref + ln((mean - V_res L)/(mean - V_th L))/L)`` for
        ``mean > V_th L``, else 0.
    L : float
        Leak conductance, 1/ms (membrane time constant 1/L).
    V_th, V_res : float
        Threshold and reset potentials, mV (``V_res < V_th``).
    T_ref : float
        Refractory period, ms (>= 0).

    Returns
    -------
    MomentOutput
        ``(mean, std, chi)`` arrays: rate phi_mu (spikes/ms), phi_sigma
        (spikes/sqrt(ms)) and chi; ``.fano`` gives phi_sigma**2/phi_mu.
        All finite; the rate underflows to 0 for very negative means.

    Examples
    --------
    >>> out = moment_activation(1.5, 0.0)        # deterministic LIF, period 5 + 20 ln 3
    >>> round(float(out.mean), 10), float(out.std)
    (0.0370751479, 0.0)
    """
    _check_params(L, V_th, V_res, T_ref)
    mean = _as_float_array("mean", mean)
    std = _as_float_array("std", std)
    if not np.all(np.isfinite(mean)):
        raise InputError("must be finite", key="mean", value=mean)
    if not np.all(np.isfinite(std)) or np.any(std < 0):
        raise InputError("must be finite and >= 0", key="std", value=std)
    mean, std = np.broadcast_arrays(mean, std)
    shape = mean.shape
    mu, sd = mean.ravel().astype(np.float64), std.ravel().astype(np.float64)
    n = mu.size
    rate = np.zeros(n)
    sig = np.zeros(n)
    chi = np.zeros(n)
    fano = np.zeros(n)
    sL = math.sqrt(L)
    A = mu - V_th * L  # distance above threshold drive
    with np.errstate(all="ignore"):
        ub = np.where(sd > 0, -A / (sL * sd), 0.0)
        lb = np.where(sd > 0, (V_res * L - mu) / (sL * sd), 0.0)
    det = (sd == 0) | (np.abs(ub) > DETERMINISTIC_BOUND) | (np.abs(lb) > DETERMINISTIC_BOUND)

    # deterministic LIF (and the sigma -> 0 limit)
    fire = det & (A > 0)
    if fire.any():
        Af = A[fire]
        period = T_ref + np.log1p((V_th - V_res) * L / Af) / L
        rate[fire] = 1.0 / period
        ratio = (V_th - V_res) * L / (2.0 * mu[fire] - (V_th + V_res) * L)
        chi[fire] = np.sqrt(2.0 * rate[fire] / L * ratio)

    st = ~det
    if st.any():
        a, b = lb[st], ub[st]
        E = np.maximum(b, 0.0) ** 2
        with np.errstate(under="ignore", over="ignore"):
            eE = np.exp(-E)
            Gs = _int_g_scaled(a, b)
            Hs = _int_h_scaled(a, b)
            dg = _diff_g_scaled(a, b)
            r_hat = 1.0 / (T_ref * eE + (2.0 / L) * Gs)  # rate * e^{E}
            rate[st] = r_hat * eE
            sig[st] = np.sqrt(8.0 / L ** 2 * r_hat ** 3 * Hs * eE)
            chi[st] = dg * np.sqrt(r_hat) / np.sqrt(2.0 * L * Hs) * np.exp(-0.5 * E)
            fano[st] = 8.0 / L ** 2 * r_hat ** 2 * Hs     # sig**2 / rate, free of e^{-E}
    return MomentOutput(rate.reshape(shape), sig.reshape(shape), chi.reshape(shape),
                        fano.reshape(shape))


# --------------------------------------------------------------------------
# Monte Carlo twin
# --------------------------------------------------------------------------
def simulate_isi(mean, std, n_isi, dt=0.01, L=0.05, V_th=20.0, V_res=0.0, T_ref=5.0,
                 seed=0, t_max=None):
    """Simulate independent inter-spike intervals of the white-noise-driven LIF.

    Each interval starts at ``V_res`` after ``T_ref`` ms of refractoriness; the
    OU process ``dV = (-L V + mean) dt + std dW`` is advanced with its exact
    Gaussian transition over ``dt`` and a crossing inside a step is detected
    with the Brownian-bridge probability
    ``exp(-2 (V_th - V_n)(V_th - V_{n+1}) / (std^2 dt))``; the crossing time is
    then put at the middle of the step (the rest of the bias is O(dt)).

    Parameters
    ----------
    mean : float
        Input mean, mV/ms.
    std : float
        Input std, mV/sqrt(ms), > 0.
    n_isi : int
        Number of intervals (trials run in parallel).
    dt : float
        Time step, ms.
    L, V_th, V_res, T_ref : float
        As in :func:`moment_activation`.
    seed : int
        Seed of ``numpy.random.default_rng``.
    t_max : float, optional
        Give up after this time (ms); unfinished intervals are returned as NaN.

    Returns
    -------
    ndarray, shape (n_isi,)
        Inter-spike intervals in ms (including ``T_ref``).
    """
    _check_params(L, V_th, V_res, T_ref)
    if not (std > 0 and dt > 0 and int(n_isi) > 0):
        raise InputError("need std > 0, dt > 0 and n_isi > 0", key="std, dt, n_isi",
                         value=(std, dt, n_isi))
    rng = np.random.default_rng(seed)
    n_isi = int(n_isi)
    decay = math.exp(-L * dt)
    sd_step = std * math.sqrt(-math.expm1(-2.0 * L * dt) / (2.0 * L))
    target = mean / L
    v = np.full(n_isi, float(V_res))
    alive = np.arange(n_isi)
    out = np.full(n_isi, np.nan)
    t = 0.0
    t_max = np.inf if t_max is None else float(t_max)
    two_over = 2.0 / (std * std * dt)
    while alive.size and t < t_max:
        v_new = target + (v - target) * decay + sd_step * rng.standard_normal(v.size)
        crossed = v_new >= V_th
        below = ~crossed
        p = np.exp(-two_over * (V_th - v[below]) * (V_th - v_new[below]))
        bridge = np.zeros_like(crossed)
        bridge[below] = rng.random(p.size) < p
        hit = crossed | bridge
        if hit.any():
            out[alive[hit]] = t + 0.5 * dt + T_ref
        keep = ~hit
        alive = alive[keep]
        v = v_new[keep]
        t += dt
    return out
