r"""Macroscopic solver: the nonlinear Fokker-Planck equation of the NLIF network.

The density p(v, t) of membrane voltages (1/model volt) obeys, on (V_min, V_F),

.. math::

    \partial_t p + \partial_v[(-v + bN + I_{ext}(t))\,p] - a(N)\,\partial_v^2 p
        = S(t)\,\delta(v - V_R),

with zero flux at V_min, p(V_F) = 0 and the firing rate N(t) = -a(N) p_v(V_F)
(spikes per neuron per time constant).  Without refractoriness the source is
S = N (the outflux is reinjected at V_R).  With a refractory period tau the
fired mass waits in a refractory compartment R: S = R/tau, dR/dt = N - R/tau,
and the invariant is integral p + R = 1.

Scheme (notes/multiscale.md section 2, "Reference macro scheme")
----------------------------------------------------------------
1. Nodes v_j = V_min + j h, j = 0..J, v_J = V_F (p_J = 0), v_{j_R} = V_R; each
   node owns a control volume of width h.
2. Scharfetter-Gummel (exponential fitting) flux with the Bernoulli function
   B(z) = z / (e^z - 1):
   F_{j+1/2} = (a/h) [B(-z) p_j - B(z) p_{j+1}],  z = h (-v_{j+1/2} + bN + I)/a;
   F_{-1/2} = 0; the discrete rate is N_h = F_{J-1/2} = (a/h) B(-z_{J-1/2}) p_{J-1}.
3. Linearly implicit Euler step: the coefficients bN and a(N) are frozen at
   N^n, I_ext is taken at t_{n+1}; p^{n+1} solves
   (p^{n+1} - p^n)/dt = -(F_{j+1/2} - F_{j-1/2})/h + S^{n+1}/h delta_{j, j_R}.
   The reinjection S^{n+1} (= N_h^{n+1}, or R^{n+1}/tau with R updated by
   implicit Euler) is linear in p^{n+1}_{J-1}: one extra matrix entry in row
   j_R, column J-1.  The matrix is tridiagonal plus that entry; it is solved
   by the Thomas algorithm and the Sherman-Morrison formula.
4. N^{n+1} = N_h(p^{n+1}) with the same frozen coefficients, so the outflux
   equals the reinjected flux exactly.

Properties: I - dt A is a Z-matrix with unit column sums (an M-matrix), so the
mass is conserved to round-off and p >= 0 for every dt; in floating point the
Thomas + Sherman-Morrison solve only adds non-negative terms, so positivity
holds exactly.  The scheme is second order in h and first order in dt.

The numba kernel :func:`_step_kernel` has a slow, obvious twin
:func:`macro_step_dense` (dense matrix, ``numpy.linalg.solve``) used by the tests.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from reference.errors import InputError
from reference.lif import INPUT_KINDS, NLIFModel
from reference.result import STATUS_DIVERGED, STATUS_OK, SimulationResult

__all__ = ["Grid", "MacroState", "MacroStepper", "initial_rate", "macro_step", "macro_step_dense",
           "simulate_macro"]

#: Below this |z| the Bernoulli function uses its Taylor series 1 - z/2 + z^2/12:
#: z/expm1(z) is 0/0 at z = 0, and the series error (z^4/720) is < 1e-27 here.
BERNOULLI_SERIES = 1e-6
#: A run stops as diverged when N dt exceeds this: the whole population would
#: fire this many times in one step, so the density picture has broken down
#: (finite-time blow-up).  Far above any legitimate rate, far below overflow.
MAX_SPIKES_PER_STEP = 1e6
#: Rescale p^{n+1} so that integral p + R equals its value before the step.  The
#: scheme conserves mass exactly in exact arithmetic, but in float64 the solve
#: drifts by a biased ~5e-15 per step at J = 1200 (1e-11 after 2000 steps,
#: twin and kernel alike); the rescaling is a relative change of that size,
#: keeps p >= 0, and leaves the mass at summation round-off (~1e-15).
RENORMALISE = True
#: Steps per kernel call in :func:`simulate_macro`: long enough to hide the
#: call overhead (~us), short enough for a smooth progress bar.
CHUNK_STEPS = 2000
#: Density snapshots kept by default (evenly spaced in time, both ends included).
DEFAULT_SNAPSHOTS = 11
#: Tolerance on "(V - V_min)/h is an integer" for V_R and V_F, in cells.
NODE_TOL = 1e-9
#: Rows of the kernel workspace: lower, diag, upper, modified upper, x, y.
_WORK_ROWS = 6
#: Codes of the input kinds inside the kernels (index in INPUT_KINDS).
_KIND_CODE = {k: i for i, k in enumerate(INPUT_KINDS)}

_njit = numba.njit(cache=True, error_model="numpy")


@dataclass(frozen=True, slots=True)
class Grid:
    """Uniform grid ``v_j = V_min + j h``, j = 0..J, with ``v_J = V_F`` and ``v_{j_R} = V_R``.

    Parameters
    ----------
    V_min : float
        Left end (zero-flux boundary), model volts.
    h : float
        Spacing, model volts.
    V_F, V_R : float
        Threshold and reset; both must be nodes, and V_min < V_R < V_F.
    """

    V_min: float
    h: float
    V_F: float
    V_R: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.h) and self.h > 0):
            raise InputError("must be > 0", key="grid.h", value=self.h)
        if not (math.isfinite(self.V_min) and self.V_min < self.V_R < self.V_F):
            raise InputError("the grid must contain V_R", key="grid.V_min", value=self.V_min,
                             allowed=f"V_min < V_R = {self.V_R} < V_F = {self.V_F}")
        for name, v in (("V_R", self.V_R), ("V_F", self.V_F)):
            x = (v - self.V_min) / self.h
            if abs(x - round(x)) > NODE_TOL:
                raise InputError(f"{name} = {v} is not a grid node", key="grid.h",
                                 value=self.h, allowed=f"({name} - V_min)/h an integer")

    @classmethod
    def for_model(cls, model: NLIFModel, V_min: float, h: float) -> Grid:
        """Return the grid on ``[V_min, model.V_F]`` with spacing ``h``."""
        return cls(V_min=float(V_min), h=float(h), V_F=model.V_F, V_R=model.V_R)

    @property
    def J(self) -> int:
        """Index of the threshold node (there are J unknowns p_0..p_{J-1})."""
        return int(round((self.V_F - self.V_min) / self.h))

    @property
    def jR(self) -> int:
        """Index of the reset node."""
        return int(round((self.V_R - self.V_min) / self.h))

    @property
    def v(self) -> np.ndarray:
        """Nodes, float64 ndarray, shape (J + 1,), model volts."""
        return self.V_min + self.h * np.arange(self.J + 1, dtype=np.float64)

    @property
    def v_half(self) -> np.ndarray:
        """Interfaces v_{j+1/2}, j = 0..J-1, float64 ndarray, shape (J,)."""
        return self.V_min + self.h * (np.arange(self.J, dtype=np.float64) + 0.5)

    def mass(self, p: np.ndarray) -> float:
        """Return ``sum(h p)`` (control-volume rule), dimensionless."""
        return float(self.h * np.sum(p))


class MacroState(NamedTuple):
    """State of the Fokker-Planck solver at one time.

    Parameters
    ----------
    p : float64 ndarray, shape (J + 1,)
        Density on the nodes, 1/model volt, ``p[J] = 0``.
    R : float
        Refractory mass (0 without refractoriness).
    N : float
        Firing rate at this time, spikes per neuron per time constant.
    """

    p: np.ndarray
    R: float
    N: float


# ------------------------------------------------------------------ kernels


@_njit
def _bernoulli(z):
    """B(z) = z / (e^z - 1), B(0) = 1; B(z) -> 0 for z -> +inf, -z for z -> -inf."""
    if abs(z) < BERNOULLI_SERIES:
        return 1.0 - 0.5 * z + z * z / 12.0
    return z / math.expm1(z)


@_njit
def _current(inp, t):
    """I_ext(t) from the packed input ``inp = (code, I0, I1, t0, duration, period, phase)``."""
    code = int(inp[0])
    if code == 0:
        return inp[1]
    if code == 1:
        if inp[3] <= t < inp[3] + inp[4]:
            return inp[1] + inp[2]
        return inp[1]
    return inp[1] + inp[2] * math.sin(2.0 * math.pi * t / inp[5] + inp[6])


@_njit
def _step_kernel(p, R, v_half, h, a, mu, dt, jR, tau, renorm, out, work):
    """One linearly implicit step; writes p^{n+1} (length J + 1) to ``out``.

    ``p`` has length J + 1 (p[J] = 0); ``a`` and ``mu = bN + I`` are frozen;
    ``work`` is a (_WORK_ROWS, J) scratch array; ``renorm`` rescales p^{n+1}
    to the mass of p^n (round-off drift only).  Returns ``(N^{n+1}, R^{n+1})``.
    """
    J = v_half.size
    lower = work[0]
    diag = work[1]
    upper = work[2]
    cp = work[3]
    x = work[4]
    y = work[5]
    r = dt / h
    alpha_last = 0.0
    beta_prev = 0.0
    # assemble M = I - dt A: row j couples p_{j-1}, p_j, p_{j+1}
    h_a = h / a
    a_h = a / h
    for j in range(J):
        z = h_a * (mu - v_half[j])
        # B(-z) = B(z) + z: one expm1 per interface, written without cancellation
        if z >= 0.0:
            bz = _bernoulli(z)
            bmz = bz + z
        else:
            bmz = _bernoulli(-z)
            bz = bmz - z
        alpha = a_h * bmz                  # outflow of p_j across j+1/2
        beta = a_h * bz                    # inflow of p_{j+1} across j+1/2
        diag[j] = 1.0 + r * (alpha + beta_prev)
        upper[j] = -r * beta
        if j + 1 < J:
            lower[j + 1] = -r * alpha
        beta_prev = beta
        alpha_last = alpha
    lower[0] = 0.0
    upper[J - 1] = 0.0
    # reinjection: S^{n+1} = frac * N_h^{n+1} + (source of the old refractory mass)
    frac = 1.0
    src = 0.0
    if tau > 0.0:
        frac = dt / (tau + dt)
        src = dt * R / ((tau + dt) * h)
    extra = -r * alpha_last * frac          # entry (jR, J-1) of M
    for j in range(J):
        x[j] = p[j]
        y[j] = 0.0
    x[jR] += src
    if jR == J - 1:
        diag[jR] += extra
    else:
        y[jR] = extra
    # Thomas algorithm on the tridiagonal part, two right-hand sides (x, y)
    inv = 1.0 / diag[0]
    cp[0] = upper[0] * inv
    x[0] = x[0] * inv
    y[0] = y[0] * inv
    for j in range(1, J):
        inv = 1.0 / (diag[j] - lower[j] * cp[j - 1])
        cp[j] = upper[j] * inv
        x[j] = (x[j] - lower[j] * x[j - 1]) * inv
        y[j] = (y[j] - lower[j] * y[j - 1]) * inv
    for j in range(J - 2, -1, -1):
        x[j] -= cp[j] * x[j + 1]
        y[j] -= cp[j] * y[j + 1]
    # Sherman-Morrison for the extra entry u e_{J-1}^T (u = extra e_jR):
    # every term below is >= 0 because y <= 0 and 1 + y_{J-1} > 0.
    if jR == J - 1:
        gamma = 0.0
    else:
        gamma = x[J - 1] / (1.0 + y[J - 1])
    for j in range(J):
        out[j] = x[j] - y[j] * gamma
    out[J] = 0.0
    N_new = alpha_last * out[J - 1]
    R_new = 0.0
    if tau > 0.0:
        R_new = (R + dt * N_new) * tau / (tau + dt)
    if renorm:
        # remove the round-off drift of the mass (see RENORMALISE)
        s_old = 0.0
        s_new = 0.0
        for j in range(J):
            s_old += p[j]
            s_new += out[j]
        if s_new > 0.0:
            scale = (h * s_old + R - R_new) / (h * s_new)
            for j in range(J):
                out[j] *= scale
            N_new = alpha_last * out[J - 1]
    return N_new, R_new


@_njit
def _rate_kernel(p, v_half, h, a, mu):
    """N_h = (a/h) B(-z_{J-1/2}) p_{J-1} for frozen a and mu."""
    J = v_half.size
    z = h * (mu - v_half[J - 1]) / a
    return (a / h) * _bernoulli(-z) * p[J - 1]


@_njit
def _run_kernel(p, R, N, t_start, dt, n, v_half, h, a0, a1, b, inp, jR, tau, renorm, N_out,
                work, n_max):
    """Run up to ``n`` steps from time ``t_start`` in place on ``p``.

    Writes N of each step to ``N_out[:k]``; stops after the first step whose
    rate is not finite or exceeds ``n_max``.  Returns
    ``(k, R, N, max |mass - 1|)``.
    """
    J = v_half.size
    buf = np.empty(J + 1)
    mass_err = 0.0
    for k in range(n):
        a = a0 + a1 * N
        mu = b * N + _current(inp, t_start + (k + 1) * dt)
        N, R = _step_kernel(p, R, v_half, h, a, mu, dt, jR, tau, renorm, buf, work)
        for j in range(J + 1):
            p[j] = buf[j]
        N_out[k] = N
        s = 0.0
        for j in range(J):
            s += p[j]
        err = abs(h * s + R - 1.0)
        if not err <= mass_err:
            mass_err = err
        if not (N <= n_max):
            return k + 1, R, N, mass_err
    return n, R, N, mass_err


# ------------------------------------------------------------------ public API


def _pack_input(model: NLIFModel) -> np.ndarray:
    c = model.input
    return np.array([_KIND_CODE[c.kind], c.I0, c.I1, c.t0, c.duration, c.period, c.phase],
                    dtype=np.float64)


def initial_rate(p: np.ndarray, model: NLIFModel, grid: Grid, t: float = 0.0,
                 N_guess: float = 0.0) -> float:
    """Flux rate N_h of density ``p`` with the coefficients frozen at ``N_guess``.

    Parameters
    ----------
    p : float64 ndarray, shape (J + 1,)
        Density, 1/model volt.
    model, grid
        Model and grid.
    t : float
        Time of I_ext, time constants.
    N_guess : float
        Rate used for bN and a(N) (the solver starts from N^0 = N_h(p0; 0)).

    Returns
    -------
    float
        Spikes per neuron per time constant.
    """
    a = model.a(N_guess)
    mu = model.b * N_guess + model.input(t)
    return float(_rate_kernel(np.ascontiguousarray(p, dtype=np.float64), grid.v_half,
                              grid.h, a, mu))


class MacroStepper:
    """Repeated :func:`macro_step` calls on one model and grid, without set-up costs.

    Holds the interfaces, the packed input and a workspace, so that a step
    costs the kernel only (the multi-scale driver calls it once per step).

    Parameters
    ----------
    model : NLIFModel
    grid : Grid
    renormalise : bool
        Remove the round-off drift of the mass (see ``RENORMALISE``).
    """

    def __init__(self, model: NLIFModel, grid: Grid, renormalise: bool = RENORMALISE) -> None:
        self.model, self.grid, self.renormalise = model, grid, renormalise
        self._v_half = grid.v_half
        self._inp = _pack_input(model)
        self._work = np.empty((_WORK_ROWS, grid.J))

    def step(self, state: MacroState, t: float, dt: float) -> MacroState:
        """Return the state at ``t + dt`` (see :func:`macro_step`)."""
        m = self.model
        out = np.empty(self.grid.J + 1)
        a = m.a0 + m.a1 * state.N
        mu = m.b * state.N + _current(self._inp, t + dt)
        N, R = _step_kernel(state.p, float(state.R), self._v_half, self.grid.h, a, mu, dt,
                            self.grid.jR, m.tau_ref, self.renormalise, out, self._work)
        return MacroState(out, float(R), float(N))


def macro_step(state: MacroState, t: float, dt: float, model: NLIFModel, grid: Grid, *,
               renormalise: bool = RENORMALISE) -> MacroState:
    """Advance the density one step from ``t`` to ``t + dt`` (numba kernel).

    Parameters
    ----------
    state : MacroState
        State at ``t`` (its N freezes the coefficients).
    t, dt : float
        Time and step, time constants.
    model : NLIFModel
    grid : Grid
    renormalise : bool
        Remove the round-off drift of the mass (see ``RENORMALISE``).

    Returns
    -------
    MacroState
        State at ``t + dt``; its N is not finite when the step broke down.
    """
    J = grid.J
    p = np.ascontiguousarray(state.p, dtype=np.float64)
    out = np.empty(J + 1)
    work = np.empty((_WORK_ROWS, J))
    a = model.a(state.N)
    mu = model.b * state.N + model.input(t + dt)
    N, R = _step_kernel(p, float(state.R), grid.v_half, grid.h, a, mu, dt, grid.jR,
                        model.tau_ref, renormalise, out, work)
    return MacroState(out, float(R), float(N))


def macro_step_dense(state: MacroState, t: float, dt: float, model: NLIFModel, grid: Grid, *,
                     renormalise: bool = RENORMALISE) -> MacroState:
    """Slow, obvious twin of :func:`macro_step`: dense matrix and ``numpy.linalg.solve``."""
    J, h, jR, tau = grid.J, grid.h, grid.jR, model.tau_ref
    a = model.a(state.N)
    mu = model.b * state.N + model.input(t + dt)
    z = h * (mu - grid.v_half) / a
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        B = np.where(np.abs(z) < BERNOULLI_SERIES, 1.0, z / np.expm1(z))
        Bm = np.where(np.abs(z) < BERNOULLI_SERIES, 1.0, -z / np.expm1(-z))
    alpha, beta = a / h * Bm, a / h * B          # F_{j+1/2} = alpha_j p_j - beta_j p_{j+1}
    A = np.zeros((J, J))                          # dp/dt = A p (+ source)
    for j in range(J):
        A[j, j] -= alpha[j] / h                   # outflux through j+1/2
        if j + 1 < J:
            A[j, j + 1] += beta[j] / h
            A[j + 1, j + 1] -= beta[j] / h        # p_{j+1} loses beta_j p_{j+1} to the left
            A[j + 1, j] += alpha[j] / h           # p_{j+1} gains alpha_j p_j
    frac = dt / (tau + dt) if tau > 0 else 1.0
    A[jR, J - 1] += frac * alpha[J - 1] / h       # reinjection of the outflux at V_R
    rhs = np.array(state.p[:J], dtype=np.float64)
    if tau > 0:
        rhs[jR] += dt * state.R / ((tau + dt) * h)
    p_new = np.linalg.solve(np.eye(J) - dt * A, rhs)
    N = alpha[J - 1] * p_new[J - 1]
    R = (state.R + dt * N) * tau / (tau + dt) if tau > 0 else 0.0
    if renormalise:
        p_new *= (h * np.sum(state.p[:J]) + state.R - R) / (h * np.sum(p_new))
        N = alpha[J - 1] * p_new[J - 1]
    return MacroState(np.append(p_new, 0.0), float(R), float(N))


def _check_density(p0, grid: Grid, R0: float) -> np.ndarray:
    p = np.array(p0, dtype=np.float64)
    if p.shape != (grid.J + 1,):
        raise InputError("density has the wrong shape", key="p0", value=p.shape,
                         allowed=f"({grid.J + 1},), one value per grid node")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InputError("density must be finite and >= 0", key="p0",
                         value=float(np.min(p)))
    if not (math.isfinite(R0) and 0 <= R0 < 1):
        raise InputError("refractory mass must lie in [0, 1)", key="R0", value=R0)
    p[-1] = 0.0
    mass = grid.mass(p)
    if not mass > 0:
        raise InputError("density has no mass below V_F", key="p0", value=mass)
    return p * ((1.0 - R0) / mass)


def simulate_macro(model: NLIFModel, p0: np.ndarray, grid: Grid, T: float, dt: float,
                   progress: bool = False, *, n_snapshots: int = DEFAULT_SNAPSHOTS,
                   R0: float = 0.0, renormalise: bool = RENORMALISE) -> SimulationResult:
    """Solve the Fokker-Planck equation from ``p0`` over ``[0, T]``.

    Parameters
    ----------
    model : NLIFModel
    p0 : float64 ndarray, shape (J + 1,)
        Initial density on ``grid.v``; rescaled to mass ``1 - R0``, ``p0[J]`` set to 0.
    grid : Grid
    T, dt : float
        Run length and step, time constants (``round(T/dt)`` steps).
    progress : bool
        Show a tqdm bar on stderr.
    n_snapshots : int
        Density snapshots, evenly spaced in steps (first and last included).
    R0 : float
        Initial refractory mass (only with ``model.tau_ref > 0``).
    renormalise : bool
        Remove the round-off drift of the mass (see ``RENORMALISE``).

    Returns
    -------
    SimulationResult
        ``N[k]`` is N^{k+1} (the flux rate at the end of step k).  If the rate
        diverges (N dt > MAX_SPIKES_PER_STEP or not finite) the run stops with
        ``status = STATUS_DIVERGED``; the diverging step is the last one kept.
    """
    if not (math.isfinite(T) and T > 0):
        raise InputError("must be > 0", key="T", value=T)
    if not (math.isfinite(dt) and 0 < dt <= T):
        raise InputError("must be > 0 and <= T", key="dt", value=dt)
    p = _check_density(p0, grid, R0 if model.tau_ref > 0 else 0.0)
    R = R0 if model.tau_ref > 0 else 0.0
    n = max(1, int(round(T / dt)))
    N = initial_rate(p, model, grid)
    N_out = np.empty(n)
    work = np.empty((_WORK_ROWS, grid.J))
    snap_steps = np.unique(np.linspace(0, n, max(2, n_snapshots)).round().astype(np.int64))
    bounds = np.unique(np.concatenate([snap_steps, np.arange(0, n, CHUNK_STEPS), [n]]))
    snap_t, snap_p = [0.0], [p.copy()]
    inp, v_half = _pack_input(model), grid.v_half
    n_max = MAX_SPIKES_PER_STEP / dt
    mass_err = abs(grid.mass(p) + R - 1.0)
    status, message, done = STATUS_OK, "reached T", 0
    bar = _progress_bar(n, progress)
    t0 = time.perf_counter()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        k, R, N, err = _run_kernel(p, R, N, lo * dt, dt, int(hi - lo), v_half, grid.h,
                                   model.a0, model.a1, model.b, inp, grid.jR,
                                   model.tau_ref, renormalise, N_out[lo:hi], work, n_max)
        done = int(lo + k)
        mass_err = max(mass_err, err)
        if bar is not None:
            bar.update(k)
        if not N <= n_max:
            status = STATUS_DIVERGED
            message = f"firing rate diverged at t = {done * dt:.6g} (N = {N:.3g})"
            break
        if hi in snap_steps and hi > 0:
            snap_t.append(hi * dt)
            snap_p.append(p.copy())
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    return SimulationResult(
        solver="macro", t=dt * np.arange(done + 1), N=N_out[:done].copy(), status=status,
        message=message, n_steps=done, mass_error=float(mass_err), v=grid.v,
        snapshot_t=np.array(snap_t), snapshot_p=np.array(snap_p),
        mode=np.zeros(done, dtype=np.int8), wall_time=wall,
        extra={"h": grid.h, "V_min": grid.V_min, "J": grid.J, "dt": dt})


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="step", leave=False, mininterval=0.5)
