"""Microscopic NLIF solver: P particles, Euler-Maruyama, resolved spikes.

Model (notes/multiscale.md 1; :mod:`reference.lif`), time in membrane time
constants, voltage in model units::

    dV_i = (-V_i + I_ext(t)) dt + (b/P) sum_j dM_j(t) + sqrt(2 a(N)) dW_i,   V_i < V_F,

reset at V_F, optional refractory period ``tau_ref``.

One step from t_n to t_{n+1} = t_n + dt (:func:`particle_step`)
----------------------------------------------------------------
1. **Refractory.**  A neuron with ``ref_left > 0`` is *held*: it stays at
   V_R, gets no noise and no kick, and ``ref_left -= dt`` (values below
   ``REF_FLOOR * dt`` become 0).  A neuron that fires at step n is therefore
   held during the next ``ceil(tau_ref / dt)`` steps and integrates again
   from V_R in the step after.
2. **Euler-Maruyama.**  ``V* = V + dt (-V + I_ext(t_n) + d) + sqrt(2 a dt) xi``
   with ``a = a(N_prev)`` (the previous step's rate), ``xi ~ N(0, 1)``, and
   ``d = b N_prev`` under delayed kicks, ``d = 0`` under cascades.
3. **Threshold and Brownian bridge.**  ``V* >= V_F`` fires.  With
   ``bridge=True`` a neuron ending below V_F also fires with probability
   ``exp(-(V_F - V)(V_F - V*) / (a dt))``, the chance that a Brownian bridge
   with the drift frozen over the step crossed V_F in between (this removes
   the O(sqrt(dt)) low bias of end-of-step detection).  Probabilities below
   ``exp(-BRIDGE_EXP_MAX)`` are treated as 0.
4. **Spike resolution** (``MicroOptions.spikes``):

   ``"delayed"``: the K spikes of this step kick the others at the next step,
   through ``d = b N_prev = b K / (P dt)``; no cascade inside a step.

   ``"cascade"``: with kick ``c(k) = b k / P``, K is the smallest fixed point
   ``K = F(K)`` where F(K) counts the spikes of all free neurons kicked by
   ``c(K)``.  Under CCP this is the rule of notes/multiscale.md 1(B): sort
   the non-fired ``V*`` descending, start at ``k = #fired``, and while
   ``k < P`` and ``U_(next) + b k / P >= V_F`` add the next neuron.  Non-fired
   neurons get ``+ b K / P``.  For ``b <= 0`` nobody is pushed over, so K is
   the number of initial spikes and the (inhibitory) kick follows.
5. **Reset** (``MicroOptions.reset``):

   ``"ccp"`` (Caceres-Carrillo-Perthame): a fired neuron is set to V_R,
   receives no kick and fires at most once per step.

   ``"dirt"`` (Delarue-Inglis-Rubenthaler-Tanre): a fired neuron loses
   ``V_F - V_R`` per spike and also receives the kick, so it may fire again
   in the same cascade: it fires ``m`` times, the largest m with
   ``V* + c >= V_F + (m - 1)(V_F - V_R)``, and ends at
   ``V* + c - m (V_F - V_R)``.  With ``b > V_F - V_R`` a cascade can feed
   itself forever ("eternal blow-up"); the loop is bounded by
   ``DIRT_MAX_FIRES`` spikes per neuron per step, and a neuron still at or
   above V_F after that bound is left there (it fires at the next step).
   Such neurons are counted (:attr:`MicroResult.n_capped`).  DIRT with a
   refractory period is rejected.
6. **Output.**  K (spikes, with multiplicity under DIRT) and
   ``N = K / (P dt)``, stored as the new ``N_prev``.

Random numbers: each step draws exactly one value from the caller's
``rng``, a 64-bit key (``rng.integers(0, 2**64, dtype=np.uint64)``); the step
is therefore a pure function of the ``rng`` state.  Everything else comes
from a counter-based generator keyed by it (:mod:`reference._micro_kernels`):
the normal ``xi`` of particle i is a 256-layer ziggurat (Marsaglia & Tsang
2000, exact wedge and tail, layer and abscissa from disjoint bits as advised
by Doornik 2005) fed by SplitMix64 hashes of (key, i, attempt), and its
bridge uniform (53 bits, in [0, 1)) is a hash of (key, i) on another stream.
Both depend only on (key, i), not on how or in which order the particles are
processed; held neurons draw nothing.  :func:`particle_step_numpy` (a slow,
obvious NumPy twin) computes the same numbers with the NumPy twins of the
generator and gives bit-identical results.

References
----------
.. [1] Caceres, Carrillo, Perthame, J. Math. Neurosci. 1:7 (2011).
.. [2] Delarue, Inglis, Rubenthaler, Tanre, Stoch. Proc. Appl. 125:2451 (2015).
.. [3] Du, Xie, Zhou, arXiv:2305.05915 (2023).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from reference import _micro_kernels as _k
from reference.errors import InputError
from reference.lif import NLIFModel

__all__ = [
    "MicroOptions",
    "MicroResult",
    "ParticleState",
    "particle_step",
    "particle_step_numpy",
    "simulate_micro",
]

SPIKE_MODES = ("cascade", "delayed")
RESETS = ("ccp", "dirt")

# exp(-40) = 4e-18: at P = 1e6 and 1e6 steps the expected number of crossings
# ignored is below 1e-5, and skipping them saves a uniform per particle.
BRIDGE_EXP_MAX = 40.0

# Refractory time left below this fraction of dt is round-off (tau_ref = 0.05,
# dt = 0.01 leaves 1e-18 after five steps), not a sixth held step.
REF_FLOOR = 1e-9

# Bound on the spikes of one neuron in one DIRT cascade; only reached in the
# self-sustaining regime b > V_F - V_R, where the exact cascade is infinite.
DIRT_MAX_FIRES = 64

# First cascade window, in units of the kick b/P: V* >= V_F - b W / P with
# W = CASCADE_WINDOW_MIN + CASCADE_WINDOW_FACTOR * (spikes of the previous
# step).  Cascades are usually shorter than this, so the candidates are
# collected in the Euler-Maruyama pass; longer ones widen the window (x4).
CASCADE_WINDOW_MIN = 32
CASCADE_WINDOW_FACTOR = 2.0
CASCADE_WIDEN = 4.0

# Smallest window width relative to |V_F|: a kick below the float resolution of
# V_F must still widen the window, or the widening loop would not progress.
WINDOW_FLOOR = 1e-12

# Capacity of the candidate buffer filled by the Euler-Maruyama pass; past it,
# one extra pass over all particles collects the candidates.
CASCADE_BUFFER_MIN = 4096


@dataclass(frozen=True, slots=True)
class MicroOptions:
    """Numerical options of the particle solver.

    Parameters
    ----------
    spikes : {"cascade", "delayed"}
        Resolve cascades inside a step (smallest fixed point) or apply the
        kicks of step n at step n+1.
    reset : {"ccp", "dirt"}
        Reset to V_R (fire once) or subtract ``V_F - V_R`` (fired neurons are
        kicked too and may fire again).
    bridge : bool
        Brownian-bridge crossing correction.
    """

    spikes: str = "cascade"
    reset: str = "ccp"
    bridge: bool = True

    def __post_init__(self) -> None:
        if self.spikes not in SPIKE_MODES:
            raise InputError("unknown spike resolution", key="options.spikes",
                             value=self.spikes, allowed=", ".join(SPIKE_MODES))
        if self.reset not in RESETS:
            raise InputError("unknown reset convention", key="options.reset",
                             value=self.reset, allowed=", ".join(RESETS))
        if not isinstance(self.bridge, (bool, np.bool_)):
            raise InputError("must be a bool", key="options.bridge", value=self.bridge,
                             allowed="True, False")


class ParticleState(NamedTuple):
    """State of the P particles at one time.

    Treat it as immutable: :func:`particle_step` returns a new state and may
    share an unchanged array (``ref_left`` without refractoriness).

    Attributes
    ----------
    V : float64 ndarray, shape (P,)
        Membrane potentials, model units.
    ref_left : float64 ndarray, shape (P,)
        Refractory time left, time constants (0 = free).
    N_prev : float
        Firing rate of the previous step, spikes per neuron per time constant.
    """

    V: np.ndarray
    ref_left: np.ndarray
    N_prev: float


@dataclass(frozen=True, slots=True)
class MicroResult:
    """Output of :func:`simulate_micro`.

    Attributes
    ----------
    t : float64 ndarray, shape (n_steps + 1,)
        Times ``k dt``, time constants.
    N : float64 ndarray, shape (n_steps,)
        Rate of step k, ``K[k] / (P dt)``, spikes per neuron per time constant.
    K : int64 ndarray, shape (n_steps,)
        Spikes in ``[t_k, t_{k+1})``.
    V : float64 ndarray, shape (P,)
        Final potentials.
    ref_left : float64 ndarray, shape (P,)
        Final refractory time left.
    n_steps : int
        Number of steps.
    dt : float
        Step, time constants.
    options : MicroOptions
        Options used.
    n_capped : int
        Neuron-steps left at or above V_F by ``DIRT_MAX_FIRES`` (0 under CCP).
    """

    t: np.ndarray
    N: np.ndarray
    K: np.ndarray
    V: np.ndarray
    ref_left: np.ndarray
    n_steps: int
    dt: float
    options: MicroOptions
    n_capped: int = 0

    @property
    def state(self) -> ParticleState:
        """Final state, ready for :func:`particle_step`."""
        N_prev = float(self.N[-1]) if self.n_steps else 0.0
        return ParticleState(self.V, self.ref_left, N_prev)


# --------------------------------------------------------------------------- #
# Validation and per-step constants (shared by the kernel path and the twin).  #
# --------------------------------------------------------------------------- #


def _check_positive(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError("must be a real number", key=name, value=value) from None
    if not (math.isfinite(value) and value > 0):
        raise InputError("must be finite and > 0", key=name, value=value)
    return value


def _check_call(state, t, dt, model, rng, options) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate the arguments of one step; return (V, ref_left, N_prev) coerced."""
    if not isinstance(model, NLIFModel):
        raise InputError("must be an NLIFModel", key="model", value=type(model).__name__)
    if not isinstance(options, MicroOptions):
        raise InputError("must be a MicroOptions", key="options", value=type(options).__name__)
    if not isinstance(rng, np.random.Generator):
        raise InputError("must be a numpy Generator", key="rng", value=type(rng).__name__)
    if options.reset == "dirt" and model.tau_ref > 0:
        raise InputError("the DIRT reset has no refractory period", key="options.reset",
                         value=options.reset, allowed="ccp when tau_ref > 0")
    _check_positive("dt", dt)
    try:
        t_ok = math.isfinite(float(t))
    except (TypeError, ValueError):
        t_ok = False
    if not t_ok:
        raise InputError("must be a finite real number", key="t", value=t)
    V = np.ascontiguousarray(state.V, dtype=np.float64)
    ref = np.ascontiguousarray(state.ref_left, dtype=np.float64)
    if V.ndim != 1 or V.size == 0 or ref.shape != V.shape:
        raise InputError("V and ref_left must be 1-D of the same length P >= 1",
                         key="state", value=(V.shape, ref.shape))
    N_prev = float(state.N_prev)
    if not (math.isfinite(N_prev) and N_prev >= 0):
        raise InputError("must be finite and >= 0", key="state.N_prev", value=N_prev)
    return V, ref, N_prev


class _Consts(NamedTuple):
    """Scalars of one step, computed once so that kernel and twin agree bit for bit."""

    inp: float          # I_ext(t_n) (+ b N_prev with delayed kicks)
    sig: float          # sqrt(2 a dt)
    inv_adt: float      # 1 / (a dt), bridge exponent scale
    levels: np.ndarray  # firing levels V_F + m (V_F - V_R)
    ccp: bool
    cascade: bool       # cascade mode with b != 0 (kick inside the step)
    ref_floor: float    # REF_FLOOR * dt


def _consts(t: float, dt: float, N_prev: float, model: NLIFModel,
            options: MicroOptions) -> _Consts:
    a = model.a(N_prev)
    inp = float(model.input(float(t)))
    if options.spikes == "delayed":
        inp = inp + model.b * N_prev
    ccp = options.reset == "ccp"
    L = 1 if ccp else DIRT_MAX_FIRES
    levels = model.V_F + np.arange(L, dtype=np.float64) * (model.V_F - model.V_R)
    return _Consts(inp=inp, sig=math.sqrt(2.0 * a * dt), inv_adt=1.0 / (a * dt),
                   levels=levels, ccp=ccp,
                   cascade=options.spikes == "cascade" and model.b != 0.0,
                   ref_floor=REF_FLOOR * dt)


# --------------------------------------------------------------------------- #
# Kernel path.                                                                 #
# --------------------------------------------------------------------------- #


class _Workspace:
    """Scratch buffers for P particles (reused across steps; not thread-safe)."""

    def __init__(self, P: int) -> None:
        self.P = P
        self.br_idx = np.empty(P, dtype=np.int64)    # bridge-fired neurons
        self.s_b = np.empty(P)                       # V* of bridge-fired neurons
        self.cc_idx = np.empty(CASCADE_BUFFER_MIN, dtype=np.int64)
        self.s_nb = np.empty(P)                      # V* of cascade candidates
        self.empty_idx = np.empty(0, dtype=np.int64)


_TLS = threading.local()


def _workspace(P: int) -> _Workspace:
    """Return this thread's workspace for P particles (one cached per thread)."""
    ws = getattr(_TLS, "ws", None)
    if ws is None or ws.P != P:
        ws = _Workspace(P)
        _TLS.ws = ws
    return ws


def _cascade_count(ws, V_new, ref, has_ref, nc, lo, b, P, levels, nf, V_F):
    """Cascade size K (b > 0), widening the candidate window until it holds."""
    s_b = np.sort(ws.s_b[:nf])
    if nc <= ws.cc_idx.shape[0]:
        n = _k.gather(V_new, ws.cc_idx, nc, ws.s_nb)
    else:
        n = _k.collect(V_new, ref, has_ref, lo, ws.s_nb)
    while True:
        s_nb = np.sort(ws.s_nb[:n])
        K, ok = _k.cascade_size(s_nb, s_b, b, P, levels, lo)
        if ok:
            return K
        w = max(V_F - lo, b * K / P, WINDOW_FLOOR * max(1.0, abs(V_F)))
        lo = V_F - CASCADE_WIDEN * w
        n = _k.collect(V_new, ref, has_ref, lo, ws.s_nb)


def _advance(V, ref, N_prev, t, dt, model, rng, options, V_new, ref_new, has_ref, ws):
    """One step with the kernels, writing into ``V_new``/``ref_new``.

    Returns
    -------
    K : int
        Spikes in the step.
    n_capped : int
        DIRT neurons left at or above V_F.
    """
    P = V.shape[0]
    c = _consts(t, dt, N_prev, model, options)
    V_F, V_R, b = model.V_F, model.V_R, model.b
    if ws.cc_idx.shape[0] != CASCADE_BUFFER_MIN:  # the constant was changed (tests)
        ws.cc_idx = np.empty(CASCADE_BUFFER_MIN, dtype=np.int64)
    collect_now = c.cascade and b > 0
    if collect_now:
        W = CASCADE_WINDOW_MIN + CASCADE_WINDOW_FACTOR * N_prev * P * dt
        lo = V_F - b * W / P
    else:
        lo = math.inf
    X, F = _k.ZIG_TABLES
    k, nf, nc, n_capped = _k.em_pass(
        V, ref, V_new, ref_new, c.inp, dt, c.sig, V_R, c.levels, c.ccp, has_ref, c.ref_floor,
        model.tau_ref, options.bridge, c.inv_adt, BRIDGE_EXP_MAX, not c.cascade, lo,
        _step_key(rng), X, F, ws.br_idx, ws.s_b, ws.cc_idx if collect_now else ws.empty_idx)
    if not c.cascade:
        kb, capb = _k.bridge_fixup(ws.br_idx, ws.s_b, nf, V_new, ref_new, has_ref,
                                   model.tau_ref, 0.0, 0.0, V_R, c.levels, c.ccp)
        return k + kb, n_capped + capb
    if b > 0:
        K = _cascade_count(ws, V_new, ref, has_ref, nc, lo, b, P, c.levels, nf, V_F) \
            if k + nf else 0
        kick = b * K / P
        c_count = kick
    else:
        K = k + nf  # bridge-fired neurons end below V_F: one spike each without a kick
        kick = b * K / P
        c_count = 0.0
    if K == 0:
        return 0, 0
    ka, capa = _k.apply_pass(V_new, ref, ref_new, has_ref, model.tau_ref, c_count, kick, V_R,
                             c.levels, c.ccp)
    kb, capb = _k.bridge_fixup(ws.br_idx, ws.s_b, nf, V_new, ref_new, has_ref, model.tau_ref,
                               c_count, kick, V_R, c.levels, c.ccp)
    if ka + kb != K:  # pragma: no cover - internal invariant
        raise AssertionError(f"cascade count {K} != spikes applied {ka + kb}")
    return K, capa + capb


def _step_key(rng: np.random.Generator) -> np.uint64:
    """The step's 64-bit key: the only draw from ``rng`` per step."""
    return rng.integers(0, 2**64, dtype=np.uint64)


def _has_ref(model: NLIFModel, ref: np.ndarray) -> bool:
    return model.tau_ref > 0 or bool(np.any(ref > 0))


def particle_step(state: ParticleState, t: float, dt: float, model: NLIFModel,
                  rng: np.random.Generator, options: MicroOptions = MicroOptions()
                  ) -> tuple[ParticleState, int]:
    """Advance the particles by one Euler-Maruyama step, from ``t`` to ``t + dt``.

    Parameters
    ----------
    state : ParticleState
        Potentials (model units), refractory time left and previous rate.
    t : float
        Time at the start of the step, time constants (``I_ext(t)`` is used).
    dt : float
        Step, time constants (> 0).
    model : NLIFModel
        Network parameters.
    rng : numpy.random.Generator
        Source of the step's 64-bit key, the only draw per step; the normals
        and bridge uniforms are hashed from it (module docstring).
    options : MicroOptions
        Spike resolution, reset convention, bridge correction.

    Returns
    -------
    new_state : ParticleState
        State at ``t + dt``; ``N_prev = K / (P dt)``.
    K : int
        Number of spikes in the step (with multiplicity under DIRT).

    Raises
    ------
    InputError
        On a bad argument (the potentials are not checked for finiteness).
    """
    V, ref, N_prev = _check_call(state, t, dt, model, rng, options)
    P = V.shape[0]
    has_ref = _has_ref(model, ref)
    V_new = np.empty(P)
    ref_new = np.empty(P) if has_ref else ref
    K, _ = _advance(V, ref, N_prev, float(t), float(dt), model, rng, options, V_new, ref_new,
                    has_ref, _workspace(P))
    return ParticleState(V_new, ref_new, K / (P * dt)), int(K)


def simulate_micro(model: NLIFModel, V0, *, T: float, dt: float, seed,
                   options: MicroOptions = MicroOptions(), progress: bool = False
                   ) -> MicroResult:
    """Simulate P particles from ``V0`` at t = 0 up to ``T``.

    Parameters
    ----------
    model : NLIFModel
        Network parameters.
    V0 : array_like, shape (P,)
        Initial potentials, model units (finite); all neurons start free
        and ``N_prev = 0``.
    T : float
        Final time, time constants; ``n_steps = ceil(T / dt)`` (the last time
        exceeds T by less than dt when T is not a multiple of dt).
    dt : float
        Step, time constants.
    seed : int, SeedSequence, Generator or None
        Passed to :func:`numpy.random.default_rng`.
    options : MicroOptions
        Numerical options.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    MicroResult
        Times, per-step rates and spike counts, final state.
    """
    if not isinstance(options, MicroOptions):
        raise InputError("must be a MicroOptions", key="options", value=type(options).__name__)
    T = _check_positive("T", T)
    dt = _check_positive("dt", dt)
    V = np.array(V0, dtype=np.float64).ravel()
    if V.size == 0 or not np.all(np.isfinite(V)):
        raise InputError("must be a non-empty array of finite potentials", key="V0",
                         value=f"array of shape {np.shape(V0)}")
    P = V.size
    ref = np.zeros(P)
    rng = np.random.default_rng(seed)
    _check_call(ParticleState(V, ref, 0.0), 0.0, dt, model, rng, options)
    n_steps = max(1, math.ceil(T / dt - 1e-9))
    has_ref = model.tau_ref > 0
    K = np.zeros(n_steps, dtype=np.int64)
    V_out = np.empty(P)
    ref_out = np.zeros(P) if has_ref else ref
    ws = _workspace(P)
    n_capped = 0
    N_prev = 0.0
    bar = _progress_bar(n_steps) if progress else None
    for n in range(n_steps):
        k, cap = _advance(V, ref, N_prev, n * dt, dt, model, rng, options, V_out, ref_out,
                          has_ref, ws)
        K[n] = k
        n_capped += cap
        N_prev = k / (P * dt)
        V, V_out = V_out, V
        if has_ref:
            ref, ref_out = ref_out, ref
        if bar is not None and (n + 1) % 100 == 0:
            bar.update(100)
    if bar is not None:
        bar.close()
    return MicroResult(t=np.arange(n_steps + 1) * dt, N=K / (P * dt), K=K, V=V, ref_left=ref,
                       n_steps=n_steps, dt=dt, options=options, n_capped=n_capped)


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="step")


# --------------------------------------------------------------------------- #
# NumPy twin.                                                                  #
# --------------------------------------------------------------------------- #


def _n_fires_np(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Levels reached by each x (vectorised :func:`reference._micro_kernels.n_fires`)."""
    return (x[:, None] >= levels[None, :]).sum(axis=1)


def _cascade_ccp_np(U_free: np.ndarray, k0: int, b: float, P: int, V_F: float) -> int:
    """Sequential cascade rule of notes/multiscale.md 1(B), on non-fired ``V*``."""
    U = np.sort(U_free)[::-1]
    k = k0
    j = 0
    while j < U.size and U[j] + b * k / P >= V_F:
        k += 1
        j += 1
    return k


def _cascade_dirt_np(vs: np.ndarray, bfired: np.ndarray, b: float, P: int,
                     levels: np.ndarray) -> int:
    """Smallest fixed point of K = F(b K / P) by plain iteration over all free neurons."""
    def F(c: float) -> int:
        m = _n_fires_np(vs + c, levels)
        return int(np.where(bfired, np.maximum(m, 1), m).sum())

    K = F(0.0)
    while True:
        K_next = F(b * K / P)
        if K_next == K:
            return K
        K = K_next


def particle_step_numpy(state: ParticleState, t: float, dt: float, model: NLIFModel,
                        rng: np.random.Generator, options: MicroOptions = MicroOptions()
                        ) -> tuple[ParticleState, int]:
    """Slow, obvious NumPy twin of :func:`particle_step` (same draws, same result).

    It sorts all particles for every cascade and evaluates each rule on whole
    arrays; given the same ``rng`` state it returns bit-identical arrays.
    Parameters and returns as in :func:`particle_step`.
    """
    V, ref, N_prev = _check_call(state, t, dt, model, rng, options)
    P = V.size
    c = _consts(float(t), float(dt), N_prev, model, options)
    V_F, V_R, b = model.V_F, model.V_R, model.b
    D = V_F - V_R
    key = _step_key(rng)
    xi = _k.normals_numpy(key, np.arange(P))  # a pure function of (key, i): held ones unused
    held = ref > 0
    free = ~held

    # 1-2. refractory countdown, Euler-Maruyama
    r = ref - dt
    ref_new = np.where(held, np.where(r > c.ref_floor, r, 0.0), 0.0)
    vs = V + dt * (c.inp - V) + c.sig * xi

    # 3. threshold and Brownian bridge
    above = free & (vs >= V_F)
    with np.errstate(invalid="ignore", over="ignore"):
        e = (V_F - V) * (V_F - vs) * c.inv_adt
    cand = free & ~above & (e < BRIDGE_EXP_MAX) if options.bridge else np.zeros(P, bool)
    idx = np.flatnonzero(cand)
    u = _k.bridge_uniforms_numpy(key, idx)
    bfired = np.zeros(P, dtype=bool)
    bfired[idx[u < np.exp(-e[idx])]] = True

    # 4. spike resolution: total spike count K and kick
    if c.cascade and b > 0:
        if c.ccp:
            k0 = int(above.sum() + bfired.sum())
            K = _cascade_ccp_np(vs[free & ~above & ~bfired], k0, b, P, V_F)
        else:
            K = _cascade_dirt_np(vs[free], bfired[free], b, P, c.levels)
        kick = b * K / P
        c_count = kick
    else:
        m0 = _n_fires_np(vs[free], c.levels)
        K = int(np.where(bfired[free], np.maximum(m0, 1), m0).sum())
        kick = b * K / P if c.cascade else 0.0
        c_count = 0.0

    # 5. reset
    m = _n_fires_np(vs + c_count, c.levels)
    m = np.where(bfired, np.maximum(m, 1), m)
    m[held] = 0
    fired = m > 0
    if int(m.sum()) != K:  # pragma: no cover - internal invariant
        raise AssertionError("twin: spike count mismatch")
    if c.ccp:
        V_new = np.where(fired, V_R, vs + kick)
    else:
        V_new = (vs + kick) - m * D
    V_new[held] = V_R
    if _has_ref(model, ref):
        ref_new[fired] = model.tau_ref
    else:
        ref_new = ref
    return ParticleState(V_new, ref_new, K / (P * dt)), K
