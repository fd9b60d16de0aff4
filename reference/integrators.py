r"""Spike-time-accurate integrators for one noise-free LIF neuron.

The neuron obeys

.. math::

    \tau \frac{dV}{dt} = -V + I(t) \quad (V < V_F), \qquad
    V(t^-) = V_F \Rightarrow \text{spike at } t,\ V(t^+) = V_R,

with a constant, step or periodic input (:class:`reference.lif.InputCurrent`)
or any callable ``I(t)``.  Every method returns the spike times and the number
of right-hand-side evaluations (evaluations of ``I(t)``; one per evaluation
of ``f(t, V) = (-V + I(t))/tau``), so accuracy can be plotted against cost.

Methods (``METHODS``)
---------------------
``euler``
    Forward Euler; a spike is detected at the end of the step where
    ``V >= V_F`` and recorded at that grid time (first order).
``rk2``
    Heun's RK2; the spike time is the linear interpolant's crossing; the
    neuron restarts from ``V_R`` at that time and a partial RK2 step brings it
    back onto the grid (Shelley & Tao 2001 [1]_: second order).
``rk4``
    Classical RK4 (first stage reused from the previous step's end slope); the
    spike time is the crossing of the cubic Hermite interpolant built from
    the two end values and slopes, followed by the same restart (fourth
    order, the "modified RK4" of [1]_).
``vs2``, ``vs4``
    Voltage stepping after Zheng, Tonnelier & Martinez 2009 [2]_: the
    voltage axis is cut into slices of height ``dV`` with ``V_R`` and ``V_F``
    on the grid; inside a slice the right-hand side is replaced by a local
    model whose exit time (arrival at the next level in the direction of
    motion) is found in closed form, so the step length in time follows the
    activity and the spike time is the exit time of the top slice -- no
    interpolation.  For the LIF, f is exactly linear in V, so the local model
    only has to approximate the input in time: ``vs2`` freezes I at the
    midpoint of a predicted step (predictor ``I(t)``, corrector
    ``I(t + s1/2)``: 2 evaluations, second order); ``vs4`` then replaces I by
    its quadratic interpolant at the three Gauss-Legendre points of the step
    (exact exponential-polynomial solution, Newton for the exit time) and
    iterates the step twice (8 evaluations per step; at least fourth order,
    about sixth for the LIF since only the Gauss treatment of I(t) is inexact).  A step
    never exceeds ``dt_max`` (default ``tau * dV``), which bounds the step
    where the voltage stalls below a level.  This reconstruction follows the
    method's description (discretise voltage, local linear model, analytic
    exit time); ZTM's exact formulas were not available.

References
----------
.. [1] M. J. Shelley, L. Tao, "Efficient and accurate time-stepping schemes for
   integrate-and-fire neuronal networks", J. Comput. Neurosci. 11:111-119 (2001).
.. [2] G. Zheng, A. Tonnelier, D. Martinez, "Voltage-stepping schemes for the
   simulation of spiking neural networks", J. Comput. Neurosci. 26(3):409-423
   (2009).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from reference.errors import InputError
from reference.lif import InputCurrent

__all__ = [
    "METHODS",
    "ORDERS",
    "ErrorCost",
    "convergence_order",
    "SpikeTrain",
    "error_vs_cost",
    "euler",
    "exact_spike_times",
    "rk2",
    "rk4",
    "vs2",
    "vs4",
]

#: Voltage slack (in units of dV) used to decide that V sits on a level.
LEVEL_SLACK = 1e-9
#: Newton iterations for the exit time of the VS4 local model.
VS4_NEWTON = 30
#: Step of the root scan of the exact periodic solution, as a fraction of
#: min(period, tau); 1/64 resolves every transversal crossing of the tests.
SCAN_FRACTION = 1.0 / 64.0


class SpikeTrain(NamedTuple):
    """Result of one integrator run.

    Attributes
    ----------
    times : ndarray
        Spike times, in the units of ``tau``.
    n_evals : int
        Evaluations of the right-hand side (of ``I(t)``).
    """

    times: np.ndarray
    n_evals: int


class _Counted:
    """Wrap I(t) as a fast scalar function and count its evaluations."""

    def __init__(self, current):
        self.n = 0
        if isinstance(current, InputCurrent):
            c = current
            if c.kind == "constant":
                self._f = lambda t: c.I0
            elif c.kind == "step":
                lo, hi = c.t0, c.t0 + c.duration
                self._f = lambda t: c.I0 + (c.I1 if lo <= t < hi else 0.0)
            else:
                w = 2.0 * math.pi / c.period
                self._f = lambda t: c.I0 + c.I1 * math.sin(w * t + c.phase)
        elif callable(current):
            self._f = lambda t: float(current(t))
        else:
            raise InputError("must be an InputCurrent or a callable I(t)", key="current",
                             value=current)

    def __call__(self, t):
        self.n += 1
        return self._f(t)


def _check(T_end, step, V0, tau, V_F, V_R, name="dt"):
    for key, val in ((name, step), ("T_end", T_end), ("tau", tau), ("V_F", V_F), ("V_R", V_R)):
        if not (isinstance(val, (int, float, np.floating, np.integer)) and math.isfinite(val)):
            raise InputError("must be a finite real number", key=key, value=val)
    if step <= 0 or tau <= 0 or T_end < 0:
        raise InputError("need step > 0, tau > 0, T_end >= 0", key=f"{name}, tau, T_end",
                         value=(step, tau, T_end))
    if not V_R < V_F:
        raise InputError("reset must lie below the threshold", key="V_R", value=V_R)
    V0 = V_R if V0 is None else float(V0)
    if not V0 < V_F:
        raise InputError("initial voltage must be below the threshold", key="V0", value=V0,
                         allowed=f"< V_F = {V_F}")
    return V0


# --------------------------------------------------------------------------
# time stepping
# --------------------------------------------------------------------------
def euler(current, T_end, dt, V0=None, tau=1.0, V_F=2.0, V_R=1.0) -> SpikeTrain:
    """Forward Euler with spike detection at the step end (first order).

    Parameters
    ----------
    current : InputCurrent or callable
        Input I(t), voltage units.
    T_end : float
        End time (units of ``tau``).
    dt : float
        Time step.
    V0 : float, optional
        Initial voltage (default ``V_R``), below ``V_F``.
    tau, V_F, V_R : float
        Time constant, threshold, reset.

    Returns
    -------
    SpikeTrain
        Spike times and number of I(t) evaluations.
    """
    V = _check(T_end, dt, V0, tau, V_F, V_R)
    I = _Counted(current)  # noqa: E741
    n = int(round(T_end / dt))
    spikes = []
    for i in range(n):
        t = i * dt
        V = V + dt * (-V + I(t)) / tau
        if V >= V_F:
            spikes.append((i + 1) * dt)
            V = V_R
    return SpikeTrain(np.array(spikes), I.n)


def _heun(I, t, V, h, tau):  # noqa: E741
    k1 = (-V + I(t)) / tau
    k2 = (-(V + h * k1) + I(t + h)) / tau
    return V + 0.5 * h * (k1 + k2)


def rk2(current, T_end, dt, V0=None, tau=1.0, V_F=2.0, V_R=1.0) -> SpikeTrain:
    """Heun RK2 with linear spike-time interpolation and restart (second order).

    Parameters and returns as in :func:`euler`.
    """
    V = _check(T_end, dt, V0, tau, V_F, V_R)
    I = _Counted(current)  # noqa: E741
    n = int(round(T_end / dt))
    spikes = []
    for i in range(n):
        t0, t1 = i * dt, (i + 1) * dt
        ts, Vs = t0, V
        V1 = _heun(I, ts, Vs, t1 - ts, tau)
        while V1 >= V_F:  # possibly several spikes in one step
            t_sp = ts + (t1 - ts) * (V_F - Vs) / (V1 - Vs)
            spikes.append(t_sp)
            ts, Vs = t_sp, V_R
            V1 = _heun(I, ts, Vs, t1 - ts, tau) if t1 > ts else V_R
        V = V1
    return SpikeTrain(np.array(spikes), I.n)


def _rk4_step(I, t, V, h, tau, k1):  # noqa: E741
    k2 = (-(V + 0.5 * h * k1) + I(t + 0.5 * h)) / tau
    k3 = (-(V + 0.5 * h * k2) + I(t + 0.5 * h)) / tau
    k4 = (-(V + h * k3) + I(t + h)) / tau
    return V + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0


def _hermite_crossing(V0, V1, d0, d1, h, level):
    """Theta in (0, 1] with Hermite p(theta) = level, p(0) = V0 < level <= V1 = p(1)."""
    def p(th):
        th2 = th * th
        th3 = th2 * th
        return ((2 * th3 - 3 * th2 + 1) * V0 + (th3 - 2 * th2 + th) * h * d0
                + (-2 * th3 + 3 * th2) * V1 + (th3 - th2) * h * d1) - level
    if p(1.0) == 0.0:
        return 1.0
    return brentq(p, 0.0, 1.0, xtol=1e-16, rtol=4 * np.finfo(float).eps)


def rk4(current, T_end, dt, V0=None, tau=1.0, V_F=2.0, V_R=1.0) -> SpikeTrain:
    """Classical RK4, cubic Hermite spike-time interpolation and restart (fourth order).

    Parameters and returns as in :func:`euler`.
    """
    V = _check(T_end, dt, V0, tau, V_F, V_R)
    I = _Counted(current)  # noqa: E741
    n = int(round(T_end / dt))
    spikes = []
    k1 = (-V + I(0.0)) / tau
    for i in range(n):
        t0, t1 = i * dt, (i + 1) * dt
        ts, Vs, ks = t0, V, k1
        V1 = _rk4_step(I, ts, Vs, t1 - ts, tau, ks)
        k_end = (-V1 + I(t1)) / tau
        while V1 >= V_F:
            th = _hermite_crossing(Vs, V1, ks, k_end, t1 - ts, V_F)
            t_sp = ts + th * (t1 - ts)
            spikes.append(t_sp)
            ts, Vs = t_sp, V_R
            if t1 > ts:
                ks = (-Vs + I(ts)) / tau
                V1 = _rk4_step(I, ts, Vs, t1 - ts, tau, ks)
                k_end = (-V1 + I(t1)) / tau
            else:
                V1 = V_R
                k_end = (-V1 + I(t1)) / tau
        V, k1 = V1, k_end
    return SpikeTrain(np.array(spikes), I.n)


# --------------------------------------------------------------------------
# voltage stepping
# --------------------------------------------------------------------------
def _exit_const(V, target, Ibar, tau):
    """Time for tau V' = -V + Ibar to go from V to target (inf if never)."""
    num = Ibar - V
    den = Ibar - target
    if num == 0 or num * den <= 0 or abs(den) >= abs(num):
        return math.inf
    return tau * math.log(num / den)


_GL3 = np.array([-math.sqrt(0.6), 0.0, math.sqrt(0.6)])


def _vs4_model(I, t, V, s, tau):  # noqa: E741
    """Return the local VS4 model (d0, d1, c2).

    V(sig) = c2 sig^2 + d1 sig + d0 + (V - d0) e^{-sig/tau} solves the LIF with I
    replaced by its quadratic interpolant at the Gauss points of [t, t + s].
    """
    sig = 0.5 * s * (1.0 + _GL3)
    vals = np.array([I(t + x) for x in sig])
    c2, c1, c0 = np.polyfit(sig, vals, 2)
    d1 = c1 - 2.0 * tau * c2
    d0 = c0 - tau * d1
    return d0, d1, c2


def _vs4_exit(V, target, model, tau, s_guess, s_max):
    d0, d1, c2 = model

    def val(x):
        return c2 * x * x + d1 * x + d0 + (V - d0) * math.exp(-x / tau) - target

    def der(x):
        return 2.0 * c2 * x + d1 - (V - d0) / tau * math.exp(-x / tau)

    up = target > V
    x = min(s_guess, s_max)
    for _ in range(VS4_NEWTON):
        dx = val(x) / der(x)
        x_new = x - dx
        if not (0.0 < x_new <= s_max):
            break
        if abs(dx) <= 1e-15 * x_new:
            return x_new
        x = x_new
    # fallback: bracket on [0, s_max]
    f_hi = val(s_max)
    if (f_hi < 0) if up else (f_hi > 0):
        return math.inf
    return brentq(val, 0.0, s_max, xtol=1e-16, rtol=4 * np.finfo(float).eps)


def _voltage_stepping(current, T_end, dV, V0, tau, V_F, V_R, dt_max, order):
    V = _check(T_end, dV, V0, tau, V_F, V_R, name="dV")
    if dt_max is None:
        dt_max = tau * dV
    if not (math.isfinite(dt_max) and dt_max > 0):
        raise InputError("must be > 0", key="dt_max", value=dt_max)
    I = _Counted(current)  # noqa: E741
    n_lev = max(1, math.ceil((V_F - V_R) / dV - 1e-12))
    h = (V_F - V_R) / n_lev  # levels V_R + k h, with V_F = level n_lev
    spikes = []
    t = 0.0
    while t < T_end:
        I0 = I(t)
        kf = (V - V_R) / h
        if I0 > V:
            k = math.floor(kf + LEVEL_SLACK) + 1
        else:
            k = math.ceil(kf - LEVEL_SLACK) - 1
        target = V_R + k * h if k != n_lev else V_F
        s_cap = min(dt_max, T_end - t)
        # predictor / midpoint corrector (VS2)
        s1 = min(_exit_const(V, target, I0, tau), s_cap)
        Im = I(t + 0.5 * s1)
        s_ex = _exit_const(V, target, Im, tau)
        if order == 4:
            s_guess = min(s_ex, s_cap)
            for _ in range(2):
                model = _vs4_model(I, t, V, s_guess, tau)
                s_ex = _vs4_exit(V, target, model, tau, s_guess, s_cap)
                s_guess = min(s_ex, s_cap)
        if s_ex <= s_cap:
            t += s_ex
            V = target
            if k == n_lev:
                spikes.append(t)
                V = V_R
        else:
            s = s_cap
            if order == 4:
                d0, d1, c2 = model
                V = c2 * s * s + d1 * s + d0 + (V - d0) * math.exp(-s / tau)
            else:
                V = Im + (V - Im) * math.exp(-s / tau)
            t += s
    return SpikeTrain(np.array([x for x in spikes if x <= T_end]), I.n)


def vs2(current, T_end, dV, V0=None, tau=1.0, V_F=2.0, V_R=1.0, dt_max=None) -> SpikeTrain:
    """Second-order voltage stepping (slices of height dV, midpoint-frozen input).

    Parameters
    ----------
    current : InputCurrent or callable
        Input I(t).
    T_end : float
        End time.
    dV : float
        Voltage slice height (rounded down so that ``V_F - V_R`` is a multiple).
    V0 : float, optional
        Initial voltage (default ``V_R``).
    tau, V_F, V_R : float
        Time constant, threshold, reset.
    dt_max : float, optional
        Largest time step (default ``tau * dV``).

    Returns
    -------
    SpikeTrain
        Spike times and number of I(t) evaluations.
    """
    return _voltage_stepping(current, T_end, dV, V0, tau, V_F, V_R, dt_max, order=2)


def vs4(current, T_end, dV, V0=None, tau=1.0, V_F=2.0, V_R=1.0, dt_max=None) -> SpikeTrain:
    """Fourth-order voltage stepping (quadratic Gauss-point input model, two iterations).

    Parameters and returns as in :func:`vs2`.
    """
    return _voltage_stepping(current, T_end, dV, V0, tau, V_F, V_R, dt_max, order=4)


METHODS: dict[str, Callable[..., SpikeTrain]] = {
    "euler": euler, "rk2": rk2, "rk4": rk4, "vs2": vs2, "vs4": vs4,
}
#: Nominal convergence order of each method (in dt, or in dV for voltage stepping).
#: ``vs4`` is at least fourth order; for the LIF, whose right-hand side is exactly
#: linear in V, only the 3-point Gauss treatment of I(t) limits it and about 6 is
#: measured before round-off.
ORDERS = {"euler": 1, "rk2": 2, "rk4": 4, "vs2": 2, "vs4": 4}


# --------------------------------------------------------------------------
# exact reference
# --------------------------------------------------------------------------
def _periodic_flow(c: InputCurrent, tau):
    w = 2.0 * math.pi / c.period
    amp = c.I1 / math.sqrt(1.0 + (w * tau) ** 2)
    lag = math.atan(w * tau)

    def particular(t):
        return c.I0 + amp * math.sin(w * t + c.phase - lag)

    def V_at(t, t0, V0):
        return particular(t) + (V0 - particular(t0)) * math.exp(-(t - t0) / tau)

    return V_at


def exact_spike_times(current, T_end, V0=None, tau=1.0, V_F=2.0, V_R=1.0):
    """Exact spike times of the LIF with the given input, up to ``T_end``.

    Constant and step inputs use ``t* = tau ln((I - V)/(I - V_F))`` piece by
    piece; a periodic input ``I0 + I1 sin(w t + phase)`` uses the closed-form
    solution ``V(t) = I0 + A sin(w t + phase - delta) + C e^{-t/tau}``
    (``A = I1 / sqrt(1 + (w tau)^2)``, ``tan delta = w tau``), whose first
    crossing of ``V_F`` is bracketed on a fine scan and solved with
    ``brentq`` (error ~1e-15).  Any other callable is integrated with
    ``solve_ivp`` (DOP853, rtol = atol = 1e-12) with a terminal event.

    Parameters
    ----------
    current : InputCurrent or callable
        Input I(t).
    T_end : float
        End time.
    V0 : float, optional
        Initial voltage (default ``V_R``).
    tau, V_F, V_R : float
        Time constant, threshold, reset.

    Returns
    -------
    ndarray
        Spike times.
    """
    V = _check(T_end, 1.0, V0, tau, V_F, V_R)
    spikes = []
    t = 0.0
    if isinstance(current, InputCurrent) and current.kind in ("constant", "step"):
        c = current
        edges = sorted({0.0, T_end} | ({c.t0, c.t0 + c.duration} if c.kind == "step" else set()))
        edges = [e for e in edges if 0.0 <= e <= T_end]
        for lo, hi in zip(edges[:-1], edges[1:], strict=False):
            Ic = c.I0 + (c.I1 if (c.kind == "step" and c.t0 <= lo < c.t0 + c.duration) else 0.0)
            t = lo
            while True:
                s = _exit_const(V, V_F, Ic, tau) if V < V_F else 0.0
                if t + s > hi:
                    V = Ic + (V - Ic) * math.exp(-(hi - t) / tau)
                    break
                t += s
                spikes.append(t)
                V = V_R
        return np.array(spikes)
    if isinstance(current, InputCurrent) and current.kind == "periodic":
        V_at = _periodic_flow(current, tau)
        step = SCAN_FRACTION * min(current.period, tau)
        t0, Vs = 0.0, V
        while t < T_end:
            t_next = min(t + step, T_end)
            if V_at(t_next, t0, Vs) >= V_F:
                ts = brentq(lambda x: V_at(x, t0, Vs) - V_F, t, t_next, xtol=1e-16,  # noqa: B023
                            rtol=4 * np.finfo(float).eps)
                spikes.append(ts)
                t0, Vs, t = ts, V_R, ts
            else:
                t = t_next
        return np.array(spikes)
    I = _Counted(current)  # noqa: E741

    def rhs(tt, y):
        return [(-y[0] + I(tt)) / tau]

    def hit(tt, y):
        return y[0] - V_F
    hit.terminal = True
    hit.direction = 1
    while t < T_end:
        sol = solve_ivp(rhs, (t, T_end), [V], method="DOP853", rtol=1e-12, atol=1e-12,
                        events=hit)
        if sol.status == 1:
            t = float(sol.t_events[0][0])
            spikes.append(t)
            V = V_R
        else:
            break
    return np.array(spikes)


# --------------------------------------------------------------------------
# accuracy versus cost
# --------------------------------------------------------------------------
class ErrorCost(NamedTuple):
    """One point of an accuracy/cost study.

    Attributes
    ----------
    method : str
        Integrator name.
    step : float
        dt (time stepping) or dV (voltage stepping).
    max_error : float
        max |t_k - t_k^exact| over the matched spikes (k-th with k-th).
    n_evals : int
        Right-hand-side evaluations.
    n_spikes : int
        Spikes found by the method.
    n_missing : int
        ``n_exact - n_spikes`` (non-zero means spikes were lost or added).
    """

    method: str
    step: float
    max_error: float
    n_evals: int
    n_spikes: int
    n_missing: int


def error_vs_cost(method, current, steps, T_end, V0=None, tau=1.0, V_F=2.0, V_R=1.0,
                  exact=None):
    """Spike-time error against cost over a range of step sizes.

    Parameters
    ----------
    method : str
        A key of ``METHODS``.
    current : InputCurrent or callable
        Input I(t).
    steps : sequence of float
        dt values (or dV values for ``vs2``/``vs4``).
    T_end : float
        End time.
    V0, tau, V_F, V_R : float
        As in :func:`euler`.
    exact : ndarray, optional
        Reference spike times (default :func:`exact_spike_times`).

    Returns
    -------
    list of ErrorCost
        One record per step, in the order given.
    """
    if method not in METHODS:
        raise InputError("unknown integrator", key="method", value=method,
                         allowed=", ".join(METHODS))
    ref = exact_spike_times(current, T_end, V0, tau, V_F, V_R) if exact is None \
        else np.asarray(exact, dtype=np.float64)
    out = []
    for h in steps:
        res = METHODS[method](current, T_end, h, V0=V0, tau=tau, V_F=V_F, V_R=V_R)
        m = min(len(res.times), len(ref))
        err = float(np.max(np.abs(res.times[:m] - ref[:m]))) if m else math.nan
        out.append(ErrorCost(method, float(h), err, int(res.n_evals), len(res.times),
                             len(ref) - len(res.times)))
    return out


def convergence_order(points):
    """Least-squares slope of log(max_error) against log(step).

    Parameters
    ----------
    points : sequence of ErrorCost
        Output of :func:`error_vs_cost`.

    Returns
    -------
    float
        The measured order.
    """
    h = np.log([p.step for p in points])
    e = np.log([p.max_error for p in points])
    return float(np.polyfit(h, e, 1)[0])
