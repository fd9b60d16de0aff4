"""Multi-scale solver: Fokker-Planck while the rate is low, particles when it blows up.

The algorithm of Du, Xie & Zhou (arXiv:2305.05915) is only known from its
abstract: the macroscopic solver runs "when the firing rate of the simulated
network is low" and the solver "switches to the microscopic solver when the
firing rate tends to blow up", deciding "for each temporal step".  What follows
is the reconstruction of notes/multiscale.md section 3; every threshold is an
option of :class:`MultiscaleOptions`.

One step, in order
------------------
1. MACRO mode: keep p^n, take a Fokker-Planck step (:func:`reference.macro.macro_step`).
   If the new rate N^{n+1} >= ``N_up``, or it grew by more than a factor
   ``1 + growth`` in one step while above ``growth_floor``, or it is not
   finite, the step is rejected: p^n is turned into P particles
   (:func:`sample_particles`) and the same step is redone in MICRO mode.
2. MICRO mode: one particle step (``reference.micro.particle_step``: Euler-
   Maruyama, spike cascades resolved inside the step, Brownian-bridge
   correction); N = K / (P dt).  The particle rate averaged over the last
   ``window`` is compared with ``N_down`` (< ``N_up``: hysteresis).  When it
   has stayed <= ``N_down`` for ``hold_time``, the particles are deposited on
   the grid (:func:`deposit_particles`) and the next step is a MACRO step.
   (A synchronous event inside the window lifts the average far above
   ``N_down``: a cascade firing a fraction f of the network in one step adds
   f / window to it, so the quiet test also excludes recent cascades bigger
   than ``N_down * window`` of the network.)
3. Every switch is logged (:class:`reference.result.SwitchEvent`): time,
   direction, the rate that triggered it and the rate of the first step in the
   new mode.

Defaults and why
----------------
* ``N_up = 5``: 25-50 times the stationary rates of the test cases (0.12-0.29
  for a = 1, b <= 2), so steady and slowly driven states stay in MACRO; and on
  the blow-up case (b = 3, v0 = 1.5) the macro rate passes 5 at t = 0.020,
  ~50 steps of dt = 1e-4 before it overflows (t = 0.025): the handover comes
  while the density is still a good description.
* ``N_down = 1``: a factor 5 below ``N_up`` (no chattering), and still several
  times the stationary rates, so the solver returns to MACRO in the quiet
  phase after a synchronous event.
* ``growth = 1`` above ``growth_floor = 1``: the rate doubling in one step is
  a blow-up with any step size (it catches blow-ups that jump over ``N_up``
  between two coarse steps) and never happens in smooth dynamics at dt << 1.
* ``window = 0.01``, ``hold_time = 0.02`` (time constants): the window
  averages the particle noise (P N window = 100 spikes at P = 1e4, N = 1) and
  clears a synchronous event 0.01 after it; the hold time is short against
  the 0.2-1 time constants between synchronous events, so MICRO covers only
  the events (~19 % of the steps on the blow-up case, 3-8 % on the periodic
  one).  Longer values (0.02 / 0.05) moved the event times on the blow-up
  case by < 0.003 (P = 2e4) at twice the MICRO share.
* ``sampling = "quantile"``: deterministic quantiles V_i = F^{-1}((i - 1/2)/P)
  of the piecewise-linear density, then shuffled: W1 error O(1/P) instead of
  O(P^-1/2) for i.i.d. sampling ("iid").
* ``deposit = "cic"``: linear (cloud-in-cell) deposition, bias O(h^2) instead
  of O(h) for the nearest-node histogram ("histogram").

Refractory mass (tau_ref > 0) is converted approximately: R P particles sit at
V_R with remaining refractory times at the quantiles of U(0, tau) (the macro
model's compartment has no memory of the firing times); back, R is the
fraction of particles still refractory.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reference.errors import InputError
from reference.lif import NLIFModel
from reference.macro import MAX_SPIKES_PER_STEP, Grid, MacroState, MacroStepper, initial_rate
from reference.result import (
    MODE_MACRO,
    MODE_MICRO,
    STATUS_DIVERGED,
    STATUS_OK,
    SimulationResult,
    SwitchEvent,
)

__all__ = ["MultiscaleOptions", "deposit_particles", "multiscale_from_scenario",
           "sample_particles", "simulate_multiscale"]

SAMPLINGS = ("quantile", "iid")
DEPOSITS = ("cic", "histogram")
FORCED_MODES = (None, "macro", "micro")
#: Density snapshots kept by default (evenly spaced in steps, both ends included).
DEFAULT_SNAPSHOTS = 11
#: Default switching thresholds (spikes per neuron per time constant) and times
#: (time constants); the reasons are in the module docstring.
DEFAULT_N_UP = 5.0
DEFAULT_N_DOWN = 1.0
DEFAULT_GROWTH = 1.0
DEFAULT_GROWTH_FLOOR = 1.0
DEFAULT_WINDOW = 0.01
DEFAULT_HOLD_TIME = 0.02

#: The micro step: (state, t, dt, model, rng, options) -> (new_state, K).
ParticleStep = Callable


def _default_micro_options():
    from reference.micro import MicroOptions

    return MicroOptions(spikes="cascade", reset="ccp", bridge=True)


@dataclass(frozen=True, slots=True)
class MultiscaleOptions:
    """Switching rule of :func:`simulate_multiscale` (see the module docstring).

    Parameters
    ----------
    N_up : float
        Macro rate at or above which the step is redone in MICRO, 1/time constant.
    N_down : float
        Windowed particle rate at or below which MICRO may return to MACRO, < N_up.
    growth : float
        Also switch up when N^{n+1} > (1 + growth) N^n and N^{n+1} >= growth_floor.
    growth_floor : float
        See ``growth``.
    window : float
        Averaging window of the particle rate, time constants.
    hold_time : float
        How long the windowed rate must stay <= N_down, time constants.
    sampling : {"quantile", "iid"}
        Density -> particles.
    deposit : {"cic", "histogram"}
        Particles -> density.
    force : {None, "macro", "micro"}
        Run one solver only through the same loop (for cost comparisons):
        ``"macro"`` never switches up, ``"micro"`` starts in MICRO and never
        switches down.
    micro : MicroOptions or None
        Options of the particle step (None: cascade spikes, CCP reset, bridge).
    """

    N_up: float = DEFAULT_N_UP
    N_down: float = DEFAULT_N_DOWN
    growth: float = DEFAULT_GROWTH
    growth_floor: float = DEFAULT_GROWTH_FLOOR
    window: float = DEFAULT_WINDOW
    hold_time: float = DEFAULT_HOLD_TIME
    sampling: str = "quantile"
    deposit: str = "cic"
    force: str | None = None
    micro: object = field(default=None)

    def __post_init__(self) -> None:
        for name in ("N_up", "N_down", "growth", "growth_floor", "window", "hold_time"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError("must be a finite number >= 0", key=f"multiscale.{name}",
                                 value=v)
        if not self.N_down < self.N_up:
            raise InputError("hysteresis needs N_down < N_up", key="multiscale.N_down",
                             value=self.N_down, allowed=f"< N_up = {self.N_up}")
        if self.sampling not in SAMPLINGS:
            raise InputError("unknown sampling", key="multiscale.sampling",
                             value=self.sampling, allowed=", ".join(SAMPLINGS))
        if self.deposit not in DEPOSITS:
            raise InputError("unknown deposit", key="multiscale.deposit", value=self.deposit,
                             allowed=", ".join(DEPOSITS))
        if self.force not in FORCED_MODES:
            raise InputError("unknown forced mode", key="multiscale.force", value=self.force,
                             allowed="none, macro, micro")

    def as_dict(self) -> dict:
        """Return the options as a JSON-ready dict."""
        d = {k: getattr(self, k) for k in ("N_up", "N_down", "growth", "growth_floor",
                                            "window", "hold_time", "sampling", "deposit",
                                            "force")}
        d["micro"] = repr(self.micro)
        return d


# --------------------------------------------------------------- conversions


def sample_particles(p: np.ndarray, grid: Grid, P: int, rng: np.random.Generator,
                     method: str = "quantile", R: float = 0.0,
                     tau_ref: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Turn a density into P particles.

    The CDF is that of the piecewise-linear interpolant of ``p`` on the nodes
    (a piecewise quadratic), inverted exactly in each cell.

    Parameters
    ----------
    p : float64 ndarray, shape (J + 1,)
        Density on ``grid.v``, 1/model volt.
    grid : Grid
    P : int
        Number of particles.
    rng : numpy.random.Generator
        Shuffles the quantiles (``"quantile"``) or draws them (``"iid"``).
    method : {"quantile", "iid"}
    R : float
        Refractory mass: ``round(R P)`` particles are refractory at V_R.
    tau_ref : float
        Refractory period; their remaining times are the quantiles of U(0, tau_ref).

    Returns
    -------
    V : float64 ndarray, shape (P,)
        Voltages, model volts, all in [V_min, V_F).
    ref_left : float64 ndarray, shape (P,)
        Remaining refractory time (0 if none), time constants.
    """
    n_ref = int(round(R * P)) if tau_ref > 0 else 0
    n = P - n_ref
    cell = 0.5 * grid.h * (p[:-1] + p[1:])                     # trapezoid mass per cell
    F = np.concatenate([[0.0], np.cumsum(cell)])
    if not F[-1] > 0:
        raise InputError("density has no mass", key="p", value=float(F[-1]))
    F /= F[-1]
    u = (np.arange(n) + 0.5) / n if method == "quantile" else rng.random(n)
    j = np.clip(np.searchsorted(F, u, side="right") - 1, 0, grid.J - 1)
    pn = p / np.sum(cell)                                      # same scale as F
    pj, dp = pn[j], pn[j + 1] - pn[j]
    c = (u - F[j]) / grid.h
    # solve (dp/2) s^2 + pj s - c = 0 for s in [0, 1], in the cancellation-free form
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 2.0 * c / (pj + np.sqrt(np.maximum(pj * pj + 2.0 * dp * c, 0.0)))
    s = np.clip(np.nan_to_num(s, nan=0.5), 0.0, 1.0)
    V = np.minimum(grid.V_min + grid.h * (j + s), np.nextafter(grid.V_F, -np.inf))
    ref = np.zeros(P)
    if n_ref:
        V = np.concatenate([V, np.full(n_ref, grid.V_R)])
        ref[n:] = tau_ref * (np.arange(n_ref) + 0.5) / n_ref
    order = rng.permutation(P)
    return V[order], ref[order]


def deposit_particles(V: np.ndarray, grid: Grid, method: str = "cic",
                      ref_left: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Turn particles into a density on the grid.

    Parameters
    ----------
    V : float64 ndarray, shape (P,)
        Voltages, model volts (values below V_min count at V_min).
    grid : Grid
    method : {"cic", "histogram"}
        Linear (cloud-in-cell) weights on the two nearest nodes, or all the
        weight on the nearest node.
    ref_left : float64 ndarray, shape (P,), optional
        Remaining refractory times; particles with ``ref_left > 0`` form R.

    Returns
    -------
    p : float64 ndarray, shape (J + 1,)
        Density, ``p[J] = 0``, ``sum(h p) = 1 - R``.
    R : float
        Refractory fraction.
    """
    V = np.asarray(V, dtype=np.float64)
    P = V.size
    if ref_left is not None and np.any(ref_left > 0):
        active = ref_left <= 0
        V = V[active]
    R = 1.0 - V.size / P
    x = np.clip((V - grid.V_min) / grid.h, 0.0, grid.J)
    if method == "cic":
        j = np.minimum(np.floor(x).astype(np.int64), grid.J - 1)
        w = x - j
        p = (np.bincount(j, weights=1.0 - w, minlength=grid.J + 1)
             + np.bincount(j + 1, weights=w, minlength=grid.J + 1))
    else:
        p = np.bincount(np.rint(x).astype(np.int64), minlength=grid.J + 1).astype(np.float64)
    p[grid.J] = 0.0
    total = grid.h * p.sum()
    if not total > 0:      # every particle at V_F or refractory: nothing to deposit
        p[grid.J - 1] = 1.0
        total = grid.h
    return p * ((1.0 - R) / total), R


# --------------------------------------------------------------- the driver


def simulate_multiscale(model: NLIFModel, p0: np.ndarray, grid: Grid, T: float, dt: float,
                        *, P: int, seed: int = 0, options: MultiscaleOptions | None = None,
                        progress: bool = False, n_snapshots: int = DEFAULT_SNAPSHOTS,
                        particle_step: ParticleStep | None = None) -> SimulationResult:
    """Run the switching solver from the density ``p0`` over ``[0, T]``.

    Parameters
    ----------
    model : NLIFModel
    p0 : float64 ndarray, shape (J + 1,)
        Initial density on ``grid.v`` (rescaled to unit mass).
    grid : Grid
    T, dt : float
        Run length and step, time constants (``round(T/dt)`` steps).
    P : int
        Number of particles in MICRO mode.
    seed : int
        Seed of the generator shared by sampling and particle steps.
    options : MultiscaleOptions, optional
    progress : bool
        tqdm bar on stderr.
    n_snapshots : int
        Density snapshots (deposited from the particles in MICRO mode).
    particle_step : callable, optional
        ``(state, t, dt, model, rng, options) -> (new_state, K)``; default
        ``reference.micro.particle_step``.

    Returns
    -------
    SimulationResult
        ``mode`` per step, ``switches`` the switch log; ``extra`` holds the
        options, the fraction of steps in MICRO and the time spent in each mode.
    """
    opts = options or MultiscaleOptions()
    if isinstance(P, bool) or not isinstance(P, (int, np.integer)) or P <= 0:
        raise InputError("must be a positive integer", key="P", value=P)
    if not (math.isfinite(T) and T > 0):
        raise InputError("must be > 0", key="T", value=T)
    if not (math.isfinite(dt) and 0 < dt <= T):
        raise InputError("must be > 0 and <= T", key="dt", value=dt)
    if particle_step is None:
        from reference.micro import particle_step
    from reference.micro import ParticleState

    micro_opts = opts.micro if opts.micro is not None else _default_micro_options()
    rng = np.random.default_rng(seed)
    n = max(1, int(round(T / dt)))
    w_steps = max(1, int(round(opts.window / dt)))
    p = np.array(p0, dtype=np.float64)
    p[-1] = 0.0
    p /= grid.mass(p)
    macro = MacroState(p, 0.0, initial_rate(p, model, grid))
    micro = None
    N_out = np.empty(n)
    mode = np.empty(n, dtype=np.int8)
    switches: list[SwitchEvent] = []
    snap_steps = set(np.linspace(0, n, max(2, n_snapshots)).round().astype(int).tolist())
    snap_t, snap_p = [], []
    spent = {MODE_MACRO: 0.0, MODE_MICRO: 0.0}
    recent: deque[int] = deque(maxlen=w_steps)
    quiet_since = None
    mass_err = 0.0
    status, message = STATUS_OK, "reached T"

    def to_micro(state: MacroState, N_prev: float):
        V, ref = sample_particles(state.p, grid, P, rng, opts.sampling, state.R, model.tau_ref)
        return ParticleState(V, ref, float(N_prev))

    stepper = MacroStepper(model, grid)
    current = MODE_MICRO if opts.force == "micro" else MODE_MACRO
    if current == MODE_MICRO:
        micro = to_micro(macro, macro.N)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="step", leave=False, mininterval=0.5)
    t_wall = time.perf_counter()
    for k in range(n):
        t = k * dt
        if k in snap_steps:
            snap_t.append(t)
            snap_p.append(macro.p.copy() if current == MODE_MACRO
                          else deposit_particles(micro.V, grid, opts.deposit, micro.ref_left)[0])
        tic = time.perf_counter()
        if current == MODE_MACRO:
            new = stepper.step(macro, t, dt)
            if opts.force == "macro" and not new.N * dt <= MAX_SPIKES_PER_STEP:
                status = STATUS_DIVERGED
                message = f"firing rate diverged at t = {t + dt:.6g} (N = {new.N:.3g})"
                N_out[k], mode[k], n = new.N, MODE_MACRO, k + 1
                break
            reason = _up_reason(macro.N, new.N, opts)
            if reason is None:
                macro = new
                N_out[k], mode[k] = new.N, MODE_MACRO
                mass_err = max(mass_err, abs(grid.h * new.p.sum() + new.R - 1.0))
                spent[MODE_MACRO] += time.perf_counter() - tic
                if bar is not None:
                    bar.update(1)
                continue
            # reject: roll back to p^n, sample particles, redo the step in MICRO
            spent[MODE_MACRO] += time.perf_counter() - tic
            tic = time.perf_counter()
            micro = to_micro(macro, macro.N)
            current = MODE_MICRO
            recent.clear()
            quiet_since = None
            rate_before = float(new.N)
        else:
            rate_before = None
        micro, K = particle_step(micro, t, dt, model, rng, micro_opts)
        N_k = K / (P * dt)
        N_out[k], mode[k] = N_k, MODE_MICRO
        recent.append(int(K))
        if rate_before is not None:
            switches.append(SwitchEvent(time=t, step=k, direction="macro->micro",
                                        rate_before=rate_before, rate_after=float(N_k),
                                        reason=reason))
        N_win = sum(recent) / (P * dt * len(recent))
        if N_win <= opts.N_down and opts.force != "micro":
            quiet_since = t + dt if quiet_since is None else quiet_since
            if t + dt - quiet_since >= opts.hold_time - 0.5 * dt:
                p_dep, R = deposit_particles(micro.V, grid, opts.deposit, micro.ref_left)
                N_flux = initial_rate(p_dep, model, grid, t + dt, N_win)
                macro = MacroState(p_dep, R, float(N_win))
                current = MODE_MACRO
                switches.append(SwitchEvent(time=t + dt, step=k + 1, direction="micro->macro",
                                            rate_before=float(N_win), rate_after=N_flux,
                                            reason="quiet"))
        else:
            quiet_since = None
        spent[MODE_MICRO] += time.perf_counter() - tic
        if bar is not None:
            bar.update(1)
    wall = time.perf_counter() - t_wall
    if bar is not None:
        bar.close()
    snap_t.append(n * dt)
    snap_p.append(macro.p.copy() if current == MODE_MACRO
                  else deposit_particles(micro.V, grid, opts.deposit, micro.ref_left)[0])
    extra = {"options": opts.as_dict(), "P": int(P), "seed": int(seed),
             "micro_fraction": float(np.mean(mode[:n] == MODE_MICRO)),
             "time_macro": spent[MODE_MACRO], "time_micro": spent[MODE_MICRO],
             "h": grid.h, "V_min": grid.V_min, "J": grid.J, "dt": dt}
    solver = "multiscale" if opts.force is None else opts.force
    return SimulationResult(
        solver=solver, t=dt * np.arange(n + 1), N=N_out[:n].copy(), status=status,
        message=message, n_steps=n, mass_error=float(mass_err), v=grid.v,
        snapshot_t=np.array(snap_t), snapshot_p=np.array(snap_p), mode=mode[:n].copy(),
        switches=tuple(switches), wall_time=wall, extra=extra)


def _up_reason(N_old: float, N_new: float, opts: MultiscaleOptions) -> str | None:
    """Why a macro step must be redone in MICRO (None: accept it)."""
    if opts.force == "macro":
        return None
    if not math.isfinite(N_new):
        return "not finite"
    if N_new >= opts.N_up:
        return "threshold"
    if N_new >= opts.growth_floor and N_new > (1.0 + opts.growth) * N_old:
        return "growth"
    return None


def multiscale_from_scenario(scenario, options: MultiscaleOptions | None = None,
                             progress: bool = False, **kwargs) -> SimulationResult:
    """Run :func:`simulate_multiscale` on a :class:`reference.scenario.Scenario`."""
    grid = Grid.for_model(scenario.model, scenario.grid.V_min, scenario.grid.h)
    p0 = scenario.init.density(grid.v, scenario.model.V_F)
    return simulate_multiscale(scenario.model, p0, grid, scenario.T, scenario.dt,
                               P=scenario.P, seed=scenario.seed, options=options,
                               progress=progress, **kwargs)
