"""numba kernels of the NLIF particle step (private; the contract is in :mod:`reference.micro`).

The kernels take plain float64/int64 arrays and scalars and write into
preallocated outputs.  Their only randomness is a counter-based generator
(below): the normal of particle i and its bridge uniform are pure functions
of a 64-bit step key and i, so :func:`reference.micro.particle_step_numpy`
replays them with the NumPy twins :func:`normals_numpy` and
:func:`bridge_uniforms_numpy` and the two paths can be compared bit for bit.

Counter-based normals
---------------------
Each step's ``key`` (a uint64 drawn from the caller's numpy Generator) is
split into three sub-keys ``k = mix64(key ^ C)``, one per stream, with
``mix64`` the SplitMix64 finaliser (Steele, Lea, Flood, OOPSLA 2014) and
``C`` fixed odd constants.  Particle i reads ``mix64(k + i G)``, G the
golden-ratio increment 0x9E3779B97F4A7C15, i.e. the i-th output of a
SplitMix64 stream started at ``k``:

* stream N: the first 64 bits of the normal of particle i;
* stream R: ``s = mix64(k_R + i G)`` seeds a per-particle SplitMix64
  sequence (``s += G; out = mix64(s)``) for the rare extra bits a normal
  needs (wedge test, tail, rejected draws);
* stream U: the Brownian-bridge uniform of particle i.

The normal is drawn by a 256-layer ziggurat (Marsaglia, Tsang, J. Stat.
Softw. 5(8), 2000), exact up to the float64 rounding of its tables: from one
64-bit word h, bits 0-7 choose the layer j, bit 8 the sign and bits 11-63
the 53-bit abscissa uniform u in [0, 1); the layer index and the abscissa
use disjoint bits, which avoids the correlation flaw of the original
(Doornik, "An improved ziggurat method to generate normal random samples",
2005).  ``x = u X[j]`` is accepted at once if ``x < X[j+1]`` (probability
0.9933); otherwise layer 0 goes to the tail beyond ``r = X[1] = 3.6541528...``
(Marsaglia's exponential rejection) and the other layers to the wedge test
``F[j] + u' (F[j+1] - F[j]) < exp(-x^2/2)``; a rejected point restarts with a
new word.  Uniforms are ``(w >> 11) 2^-53`` (53 bits, in [0, 1)); the tail
uses ``((w >> 11) + 1) 2^-53`` (in (0, 1], so the log is finite).

Shared conventions (all voltages in model units, times in membrane time
constants):

``levels`` : float64 ndarray, shape (L,)
    Firing levels ``V_F + m * (V_F - V_R)``, m = 0..L-1.  A neuron whose
    value x reaches ``levels[m-1]`` has fired m times (:func:`n_fires`);
    L = 1 under the CCP reset, L = ``DIRT_MAX_FIRES`` under DIRT.
``ref`` / ``ref_new`` : refractory time left before / after the step; a
    neuron with ``ref > 0`` is *held* (clamped at V_R, no noise, no kicks).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "ZIG_R",
    "ZIG_TABLES",
    "ZIG_V",
    "apply_pass",
    "bridge_fixup",
    "bridge_uniforms_numpy",
    "cascade_size",
    "collect",
    "em_pass",
    "gather",
    "mix64",
    "n_fires",
    "normals",
    "normals_numpy",
    "stream_keys",
]


def _njit(func):
    """Compile ``func`` with the project's numba options.

    ``cache=True`` keeps the compiled code between sessions;
    ``error_model="numpy"`` makes float division by zero give inf/nan instead
    of raising (and lets numba vectorise the loops).
    """
    return numba.njit(cache=True, error_model="numpy")(func)


def _njit_inline(func):
    """As :func:`_njit`, inlined into its callers by numba (``inline="always"``).

    Separately compiled (cached) functions are called, not inlined, by LLVM;
    the per-particle helpers of the hot loop must be inlined to be cheap.
    """
    return numba.njit(cache=True, error_model="numpy", inline="always")(func)


# --------------------------------------------------------------------------- #
# Counter-based standard normals (SplitMix64 hash + ziggurat).                 #
# The generator lives in this file on purpose: numba's on-disk cache does not  #
# see edits to functions imported from other modules.                          #
# --------------------------------------------------------------------------- #

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
# Stream constants (hex digits of pi): normals, their extra bits, bridge uniforms.
_C_N = 0x243F6A8885A308D3
_C_R = 0x13198A2E03707344
_C_U = 0xA4093822299F31D0

_CN = np.uint64(_C_N)
_CR = np.uint64(_C_R)
_CU = np.uint64(_C_U)
_G = np.uint64(_GOLDEN)
_M1 = np.uint64(_MUL1)
_M2 = np.uint64(_MUL2)
_S11 = np.uint64(11)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_LAYER = np.uint64(255)
_SIGN = np.uint64(256)
_TWO_M53 = 2.0 ** -53

# 256-layer ziggurat of f(x) = exp(-x^2/2): r = X[1] (start of the tail) and v
# (area of every layer, r f(r) + int_r^inf f) solved with mpmath at 40 digits
# (the top layer x_255 (1 - f(x_255)) = v closes the ziggurat).
ZIG_LAYERS = 256
ZIG_R = 3.6541528853610088
ZIG_V = 0.004928673233974655


def _zig_tables() -> tuple[np.ndarray, np.ndarray]:
    """Ziggurat abscissae X (257,) and heights F = exp(-X^2/2), float64.

    Layer 0 is the base strip plus the tail, drawn as a rectangle of width
    ``X[0] = v / f(r)``; layer j >= 1 spans heights [F[j], F[j+1]] and has
    width X[j] (``X[j] (F[j+1] - F[j]) = v``); ``X[256] = 0``, ``F[256] = 1``.
    """
    X = np.empty(ZIG_LAYERS + 1)
    X[0] = ZIG_V / math.exp(-0.5 * ZIG_R * ZIG_R)
    X[1] = ZIG_R
    for j in range(1, ZIG_LAYERS - 1):
        X[j + 1] = math.sqrt(-2.0 * math.log(ZIG_V / X[j] + math.exp(-0.5 * X[j] * X[j])))
    X[ZIG_LAYERS] = 0.0
    F = np.array([math.exp(-0.5 * x * x) for x in X])
    F[ZIG_LAYERS] = 1.0
    X.setflags(write=False)
    F.setflags(write=False)
    return X, F


ZIG_TABLES = _zig_tables()


def _mix64_py(z: int) -> int:
    """SplitMix64 finaliser on a Python int (mod 2^64)."""
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


def stream_keys(key) -> tuple[np.uint64, np.uint64, np.uint64]:
    """Sub-keys ``(k_N, k_R, k_U) = mix64(key ^ C)`` of a step key (taken mod 2^64).

    Returned as numpy uint64 scalars, the types the kernels are compiled for.
    """
    key = int(key) & _MASK64
    return tuple(np.uint64(_mix64_py(key ^ c)) for c in (_C_N, _C_R, _C_U))


@_njit_inline
def mix64(z):
    """SplitMix64 finaliser of a uint64 (a bijection of 64-bit words)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@_njit_inline
def _u53(w):
    """Uniform in [0, 1) from the top 53 bits of w."""
    return np.float64(w >> _S11) * _TWO_M53


@_njit
def _zig_slow(h, s, X, F):
    """Finish a normal whose first word ``h`` missed the ziggurat's fast path.

    ``s`` is the particle's stream-R seed; each further word is ``mix64(s)``
    after ``s += G``.  Returns the signed normal.
    """
    r = X[1]
    while True:
        j = np.int64(h & _LAYER)
        x = _u53(h) * X[j]
        if x < X[j + 1]:
            break
        if j == 0:  # tail beyond r: x = r + e / r, e ~ Exp(1), accept w.p. exp(-(e/r)^2/2)
            while True:
                s += _G
                a = mix64(s)
                s += _G
                b = mix64(s)
                t = -math.log((np.float64(a >> _S11) + 1.0) * _TWO_M53) / r
                y = -math.log((np.float64(b >> _S11) + 1.0) * _TWO_M53)
                if y + y > t * t:
                    break
            x = r + t
            break
        s += _G
        y = F[j] + _u53(mix64(s)) * (F[j + 1] - F[j])
        if y < math.exp(-0.5 * x * x):
            break
        s += _G
        h = mix64(s)
    return -x if h & _SIGN else x


@_njit
def normals(kn, kr, start, out, X, F):
    """Fill ``out[m]`` with the standard normal of particle ``start + m``.

    Parameters
    ----------
    kn, kr : uint64
        Sub-keys of streams N and R (:func:`stream_keys`).
    start : int
        Particle index of ``out[0]`` (>= 0).
    out : float64 ndarray, shape (n,)
        Output.
    X, F : float64 ndarray, shape (257,)
        Ziggurat tables (:data:`ZIG_TABLES`).
    """
    for m in range(out.shape[0]):
        # the fast path is written out here and in em_pass: an inlined function
        # taking X and F would touch their reference counts at every call
        ui = np.uint64(start + m)
        h = mix64(kn + ui * _G)
        j = np.int64(h & _LAYER)
        x = _u53(h) * X[j]
        if x < X[j + 1]:
            out[m] = -x if h & _SIGN else x
        else:
            out[m] = _zig_slow(h, mix64(kr + ui * _G), X, F)


def _zig_slow_py(h: int, s: int, X: np.ndarray, F: np.ndarray) -> float:
    """Python twin of :func:`_zig_slow` (same float operations, Python ints)."""
    r = float(X[1])
    while True:
        j = h & 255
        x = ((h >> 11) * _TWO_M53) * float(X[j])
        if x < X[j + 1]:
            break
        if j == 0:
            while True:
                s = (s + _GOLDEN) & _MASK64
                a = _mix64_py(s)
                s = (s + _GOLDEN) & _MASK64
                b = _mix64_py(s)
                t = -math.log(((a >> 11) + 1.0) * _TWO_M53) / r
                y = -math.log(((b >> 11) + 1.0) * _TWO_M53)
                if y + y > t * t:
                    break
            x = r + t
            break
        s = (s + _GOLDEN) & _MASK64
        y = float(F[j]) + (_mix64_py(s) >> 11) * _TWO_M53 * float(F[j + 1] - F[j])
        if y < math.exp(-0.5 * x * x):
            break
        s = (s + _GOLDEN) & _MASK64
        h = _mix64_py(s)
    return -x if h & 256 else x


def _mix64_np(z: np.ndarray) -> np.ndarray:
    """Vectorised SplitMix64 finaliser on a uint64 array (wraps mod 2^64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _words_np(k: np.uint64, idx: np.ndarray) -> np.ndarray:
    """``mix64(k + i G)`` for each index i of ``idx``."""
    return _mix64_np(np.uint64(k) + np.asarray(idx, dtype=np.int64).astype(np.uint64) * _G)


def normals_numpy(key, idx) -> np.ndarray:
    """NumPy twin of the kernels' normals, equal to them bit for bit.

    Parameters
    ----------
    key : int
        Step key (taken mod 2^64).
    idx : int array_like
        Particle indices (>= 0).

    Returns
    -------
    float64 ndarray, shape (idx.size,)
        The standard normal of each particle: the ``xi`` that
        :func:`em_pass` (and :func:`normals`) use for that index.
    """
    X, F = ZIG_TABLES
    kn, kr, _ = stream_keys(key)
    idx = np.asarray(idx, dtype=np.int64).ravel()
    h = _words_np(kn, idx)
    j = (h & _LAYER).astype(np.intp)
    x = (h >> _S11).astype(np.float64) * _TWO_M53 * X[j]
    z = np.where(h & _SIGN, -x, x)
    for m in np.flatnonzero(~(x < X[j + 1])):  # ~0.7 %: wedge, tail, rejection
        z[m] = _zig_slow_py(int(h[m]), _mix64_py((int(kr) + int(idx[m]) * _GOLDEN) & _MASK64),
                            X, F)
    return z


def bridge_uniforms_numpy(key, idx) -> np.ndarray:
    """NumPy twin of the bridge uniforms of :func:`em_pass` (stream U).

    Returns the 53-bit uniform in [0, 1) of each particle index in ``idx``
    for step key ``key``.
    """
    _, _, ku = stream_keys(key)
    return (_words_np(ku, idx) >> _S11).astype(np.float64) * _TWO_M53


@_njit
def n_fires(x, levels):
    """Return how many firing levels ``x`` reaches (0 = no spike)."""
    m = 0
    L = levels.shape[0]
    while m < L and x >= levels[m]:
        m += 1
    return m


@_njit
def em_pass(V, ref, V_new, ref_new, inp, dt, sig, V_R, levels, ccp, has_ref, ref_floor,
            tau_ref, bridge, inv_adt, e_max, reset_now, lo, key, X, F, br_idx, s_b, cc_idx):
    """One Euler-Maruyama pass over all particles, with the bridge decided in it.

    For a free neuron ``V* = V + dt (inp - V) + sig xi_i``, ``xi_i`` the
    counter-based normal of particle i for the step key ``key`` (uint64;
    ziggurat tables ``X``, ``F``; see the module docstring).  A neuron with
    ``V* >= V_F`` has fired; if ``reset_now`` it is reset here (CCP: V_R,
    DIRT: ``V* - m (V_F - V_R)``), otherwise ``V*`` is stored and the reset is
    left to :func:`apply_pass`.  With ``bridge``, a neuron ending below V_F
    with exponent ``e = (V_F - V)(V_F - V*) / (a dt) < e_max`` fires iff its
    stream-U uniform is below ``exp(-e)``: its index goes to
    the front of ``br_idx``, its ``V*`` to ``s_b`` and its ``V_new`` is set to
    ``-inf`` so that no later pass mistakes it for a free neuron
    (:func:`bridge_fixup` resets it).  With ``reset_now`` False, every other
    free neuron with ``V* >= lo`` is a cascade candidate (indices in
    ``cc_idx``, counted past its capacity so that the caller sees an
    overflow).  Held neurons draw nothing.

    Returns
    -------
    k : int
        Spikes of neurons with ``V* >= V_F`` (multiplicity under DIRT).
    nf : int
        Bridge-fired neurons stored in ``br_idx``/``s_b``.
    nc : int
        Cascade candidates found (may exceed ``cc_idx.shape[0]``).
    n_capped : int
        Neurons left at or above V_F by the DIRT firing cap (reset_now only).
    """
    V_F = levels[0]
    D = V_F - V_R
    P = V.shape[0]
    cap = cc_idx.shape[0]
    kn = mix64(key ^ _CN)  # = stream_keys(key)
    kr = mix64(key ^ _CR)
    ku = mix64(key ^ _CU)
    k = 0
    nf = 0
    nc = 0
    n_capped = 0
    for i in range(P):
        if has_ref:
            r = ref[i]
            if r > 0.0:
                V_new[i] = V_R
                r -= dt
                ref_new[i] = r if r > ref_floor else 0.0
                continue
            ref_new[i] = 0.0
        v = V[i]
        ui = np.uint64(i)
        h = mix64(kn + ui * _G)  # ziggurat fast path, as in normals()
        j = np.int64(h & _LAYER)
        x = _u53(h) * X[j]
        if x < X[j + 1]:
            xi = -x if h & _SIGN else x
        else:
            xi = _zig_slow(h, mix64(kr + ui * _G), X, F)
        vs = v + dt * (inp - v) + sig * xi
        if vs >= V_F:
            m = n_fires(vs, levels)
            k += m
            if reset_now:
                if ccp:
                    V_new[i] = V_R
                else:
                    w = vs - m * D
                    V_new[i] = w
                    if w >= V_F:
                        n_capped += 1
                if has_ref:
                    ref_new[i] = tau_ref
                continue
        elif bridge:
            e = (V_F - v) * (V_F - vs) * inv_adt
            if e < e_max and _u53(mix64(ku + ui * _G)) < math.exp(-e):
                br_idx[nf] = i
                s_b[nf] = vs
                V_new[i] = -np.inf
                nf += 1
                continue
        V_new[i] = vs
        if not reset_now and vs >= lo:
            if nc < cap:
                cc_idx[nc] = i
            nc += 1
    return k, nf, nc, n_capped


@_njit
def gather(V_new, cc_idx, nc, out):
    """Copy ``V_new`` of the stored cascade candidates, skipping bridge-fired ones.

    Returns
    -------
    int
        Number of values written to ``out``.
    """
    n = 0
    for j in range(nc):
        v = V_new[cc_idx[j]]
        if v != -np.inf:
            out[n] = v
            n += 1
    return n


@_njit
def collect(V_new, ref, has_ref, lo, out):
    """Copy ``V_new`` of every free neuron with ``V_new >= lo`` (full pass).

    Returns
    -------
    int
        Number of values written to ``out`` (``out`` must hold P values).
    """
    n = 0
    for i in range(V_new.shape[0]):
        if has_ref and ref[i] > 0.0:
            continue
        v = V_new[i]
        if v >= lo:
            out[n] = v
            n += 1
    return n


@_njit
def _count_reaching(s, c, level):
    """Return #{j : s[j] + c >= level} for ``s`` sorted ascending (bisection)."""
    lo = 0
    hi = s.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if s[mid] + c >= level:
            hi = mid
        else:
            lo = mid + 1
    return s.shape[0] - lo


@_njit
def _spike_count(s_nb, s_b, c, levels):
    """Total spikes F(c) when every free neuron is kicked by ``c``.

    ``s_nb``: sorted V* of free, not bridge-fired candidates; each fires
    ``n_fires(s + c)`` times.  ``s_b``: sorted V* of bridge-fired neurons;
    each fires ``max(1, n_fires(s + c))`` times.
    """
    total = s_b.shape[0]
    for m in range(levels.shape[0]):
        cnt = _count_reaching(s_nb, c, levels[m])
        if m >= 1:
            cnt += _count_reaching(s_b, c, levels[m])
            if cnt == 0:
                break  # the levels increase, so no higher level is reached either
        total += cnt
    return total


@_njit
def cascade_size(s_nb, s_b, b, P, levels, lo):
    """Smallest fixed point K = F(b K / P) of the spike count (b > 0).

    Iterates ``K <- F(b K / P)`` from ``K = F(0)``; F is non-decreasing, so
    the iteration climbs monotonically to the smallest fixed point.  This is
    the same K as the sequential rule of notes/multiscale.md 1(B) (add the
    next-highest neuron while ``U + b k / P >= V_F``).

    Parameters
    ----------
    s_nb, s_b : float64 ndarray, sorted ascending
        See :func:`_spike_count`; ``s_nb`` must hold every free neuron with
        ``V* >= lo``.
    b : float
        Connectivity (> 0).
    P : int
        Number of particles.
    levels : float64 ndarray
        Firing levels.
    lo : float
        Lower edge of the candidate window.

    Returns
    -------
    K : int
        Cascade size (valid only if ``ok``).
    ok : bool
        False if the kick ``b K / P`` reached below the window (``lo + c >= V_F``):
        the caller must widen the window and call again.
    """
    V_F = levels[0]
    K = _spike_count(s_nb, s_b, 0.0, levels)
    while True:
        c = b * K / P
        if not lo + c < V_F:
            return K, False
        F = _spike_count(s_nb, s_b, c, levels)
        if F == K:
            return K, True
        K = F


@_njit
def apply_pass(V_new, ref, ref_new, has_ref, tau_ref, c_count, c_kick, V_R, levels, ccp):
    """Fire and kick every free neuron once the cascade size is known.

    A free neuron with value ``V*`` fires ``m = n_fires(V* + c_count)`` times;
    fired neurons go to V_R (CCP) or ``(V* + c_kick) - m (V_F - V_R)`` (DIRT),
    the others to ``V* + c_kick``.  Bridge-fired neurons (``-inf``) are left
    for :func:`bridge_fixup`.

    Returns
    -------
    k : int
        Spikes counted here.
    n_capped : int
        DIRT neurons left at or above V_F by the firing cap.
    """
    V_F = levels[0]
    D = V_F - V_R
    k = 0
    n_capped = 0
    for i in range(V_new.shape[0]):
        if has_ref and ref[i] > 0.0:
            continue
        vs = V_new[i]
        m = n_fires(vs + c_count, levels)
        if m > 0:
            k += m
            if ccp:
                V_new[i] = V_R
            else:
                w = (vs + c_kick) - m * D
                V_new[i] = w
                if w >= V_F:
                    n_capped += 1
            if has_ref:
                ref_new[i] = tau_ref
        else:
            V_new[i] = vs + c_kick
    return k, n_capped


@_njit
def bridge_fixup(br_idx, s_b, nf, V_new, ref_new, has_ref, tau_ref, c_count, c_kick, V_R,
                 levels, ccp):
    """Reset the bridge-fired neurons; each fires ``max(1, n_fires(V* + c_count))`` times.

    Returns
    -------
    k : int
        Spikes of the bridge-fired neurons.
    n_capped : int
        DIRT neurons left at or above V_F by the firing cap.
    """
    V_F = levels[0]
    D = V_F - V_R
    k = 0
    n_capped = 0
    for j in range(nf):
        i = br_idx[j]
        vs = s_b[j]
        m = max(1, n_fires(vs + c_count, levels))
        k += m
        if ccp:
            V_new[i] = V_R
        else:
            w = (vs + c_kick) - m * D
            V_new[i] = w
            if w >= V_F:
                n_capped += 1
        if has_ref:
            ref_new[i] = tau_ref
    return k, n_capped
