"""numba kernels of the emulator (private).

Rules: kernels are free of Python objects, take preallocated int64 arrays and
write into them; integer widths are runtime arguments, while every *mode*
(rounding, overflow, decay kind, reset, noise) is a compile-time constant
captured by a kernel factory, so a profile's generality costs no branch per
neuron.  Each factory result is memoised and cached on disk (``cache=True``).
The slow, obvious twins of these kernels are in :mod:`emulator._twins`; the
tests compare the two on hypothesis-generated profiles and inputs.
"""

from __future__ import annotations

from functools import lru_cache

import numba as nb
import numpy as np

from emulator.fixed import Overflow, Rounding

# Compile-time codes (module constants, frozen into kernels by numba).
FLOOR, TOWARD_ZERO, HALF_UP, HALF_AWAY, HALF_EVEN, STOCHASTIC = (int(m) for m in Rounding)
WRAP, SATURATE, SATURATE_SYMMETRIC, WRAP_LAVA = (int(m) for m in Overflow)
DECAY_NONE, DECAY_MULTIPLY, DECAY_SHIFT = 0, 1, 2
RESET_ZERO, RESET_TO_VALUE, RESET_SUBTRACT, RESET_NONE = 0, 1, 2, 3
NOISE_NONE, NOISE_UNIFORM, NOISE_SUM_UNIFORM, NOISE_BINOMIAL = 0, 1, 2, 3
# PRNG streams: one per use, so noise and stochastic rounding never share draws.
STREAM_NOISE, STREAM_ROUND_U, STREAM_ROUND_V = 0, 1, 2


def _njit(*args, **kwargs):
    """``numba.njit`` with fxlif's options: on-disk cache, numpy error model (no zero-division checks)."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("error_model", "numpy")
    return nb.njit(*args, **kwargs)


def _inline(f):
    return nb.njit(inline="always", cache=True, error_model="numpy")(f)


# ---------------------------------------------------------------------------------
# counter-based PRNG: a stream depends only on (seed, neuron, tick, stream)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0xD1B54A32D192ED03)


@_inline
def mix64(z):
    """SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@_inline
def neuron_key(seed, neuron):
    """Key of one neuron's streams: ``mix64(seed + (neuron + 1) * golden)``."""
    return mix64(np.uint64(seed) + (np.uint64(neuron) + np.uint64(1)) * _GOLDEN)


@_inline
def draw(key, tick, stream):
    """64 random bits for (neuron key, tick, stream)."""
    return mix64(key ^ mix64(np.uint64(tick) * _GOLDEN + np.uint64(stream) * _STREAM))


@_inline
def uniform_bits(r, n):
    """The top ``n`` bits of ``r`` as an int64 in ``[0, 2**n)`` (``n`` in 0..62)."""
    if n <= 0:
        return np.int64(0)
    return np.int64(r >> np.uint64(64 - n))


@_inline
def popcount64(x):
    """Number of set bits of a uint64."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@_inline
def noise_sample(key, tick, kind, mant_bits, terms):
    """Zero-mean integer noise mantissa of one neuron and tick (before ``<< exp``).

    uniform: ``m - 2**(mant_bits-1)``, m uniform on ``[0, 2**mant_bits)``;
    sum_uniform: the sum of ``terms`` such draws; binomial: ``2*popcount - terms``
    over ``terms`` random bits (steps of 2, variance ``terms``).
    """
    r = draw(key, tick, STREAM_NOISE)
    if kind == NOISE_UNIFORM:
        return uniform_bits(r, mant_bits) - (np.int64(1) << (mant_bits - 1))
    if kind == NOISE_SUM_UNIFORM:
        s = np.int64(0)
        for k in range(terms):
            s += uniform_bits(r, mant_bits) - (np.int64(1) << (mant_bits - 1))
            r = mix64(r + _GOLDEN)
        return s
    if kind == NOISE_BINOMIAL:
        bits = r if terms >= 64 else r & ((np.uint64(1) << np.uint64(terms)) - np.uint64(1))
        return 2 * popcount64(bits) - terms
    return np.int64(0)


# ---------------------------------------------------------------------------------
# integer primitives

@_inline
def rshift(x, n, mode, r):
    """``x / 2**n`` rounded by ``mode`` (n >= 0); ``r`` in ``[0, 2**n)`` drives STOCHASTIC."""
    if n <= 0:
        return x
    if mode == FLOOR:
        return x >> n
    if mode == TOWARD_ZERO:
        return -((-x) >> n) if x < 0 else x >> n
    half = np.int64(1) << (n - 1)
    if mode == HALF_UP:
        return (x + half) >> n
    if mode == HALF_AWAY:
        return -((half - x) >> n) if x < 0 else (x + half) >> n
    if mode == HALF_EVEN:
        q = x >> n
        rem = x - (q << n)
        if rem > half or (rem == half and (q & 1) == 1):
            q += 1
        return q
    return (x + r) >> n  # STOCHASTIC


@_inline
def bring_into(x, bits, lo, hi, mode):
    """Return ``x`` inside a register ``[lo, hi]`` of ``bits`` bits under ``mode``.

    WRAP is two's-complement if ``lo < 0`` else modular.  WRAP_LAVA applies one
    period correction, as Lava codes it.  Saturations clip to ``[lo, hi]``.
    """
    if mode == WRAP:
        m = x & ((np.int64(1) << bits) - 1)
        if lo < 0 and m > hi:
            m -= np.int64(1) << bits
        return m
    if mode == WRAP_LAVA:
        if x > hi - 1:            # hi = 2**(bits-1): x > 2**(bits-1)
            return x - (np.int64(1) << bits) if x > hi else x
        if x <= -(hi - 1) - 1:    # x <= -2**(bits-1)
            return x + (np.int64(1) << bits)
        return x
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@_inline
def decay_step(x, d, kind, shift, offset, rounding, min_step, r):
    """The amount a decay removes from ``x`` in one tick (``x_new = x - step``)."""
    if kind == DECAY_MULTIPLY:
        p = x * ((np.int64(1) << shift) - (d + offset))
        return x - rshift(p, shift, rounding, r)
    if kind == DECAY_SHIFT:
        s = rshift(x, d, rounding, r)
        if min_step and s == 0 and x != 0:
            s = np.int64(1) if x > 0 else np.int64(-1)
        return s
    return np.int64(0)


# array kernels of the primitives, for property tests against the twins

@lru_cache(maxsize=None)
def rshift_array(mode: int):
    """Kernel ``(x, n, r, out)``: elementwise :func:`rshift` with a fixed mode."""
    @_njit
    def kernel(x, n, r, out):
        for i in range(x.size):
            out[i] = rshift(x[i], n[i], mode, r[i])
    return kernel


@lru_cache(maxsize=None)
def overflow_array(mode: int):
    """Kernel ``(x, bits, lo, hi, out)``: elementwise :func:`bring_into` with a fixed mode."""
    @_njit
    def kernel(x, bits, lo, hi, out):
        for i in range(x.size):
            out[i] = bring_into(x[i], bits, lo, hi, mode)
    return kernel


@_njit
def noise_array(seed, neurons, ticks, kind, mant_bits, terms, out):
    """Noise mantissas for each (neuron, tick) pair (tests and variance estimates)."""
    for i in range(neurons.size):
        out[i] = noise_sample(neuron_key(seed, neurons[i]), ticks[i], kind, mant_bits, terms)


# ---------------------------------------------------------------------------------
# the "current" tick (Loihi 1, generic)

# Layout of the per-run integer scalars passed to the tick kernels (one int64 array).
#   [ u_bits, u_lo, u_hi, v_bits, v_lo, v_hi, noise_mant_bits, noise_terms, act_shift ]
SC_U_BITS, SC_U_LO, SC_U_HI, SC_V_BITS, SC_V_LO, SC_V_HI, SC_N_BITS, SC_N_TERMS, SC_ACT = range(9)
N_SCALARS = 9
# Status returned by the tick kernels.
DONE, EVENTS_FULL, STRICT_OVERFLOW = 0, 1, 2


@lru_cache(maxsize=None)
def current_kernel(cfg: tuple) -> "nb.core.dispatcher.Dispatcher":
    """Return the compiled tick-range kernel of the ``current`` template for modes ``cfg``.

    ``cfg`` is the tuple built by :func:`emulator.engine.current_config`:
    (u decay kind, u rounding, u offset, u shift, u min_step, v decay kind,
    v rounding, v offset, v shift, v min_step, u overflow, v overflow,
    compare >=, reset, max spikes, noise kind, noise on v, has refractory,
    threshold shift, strict).
    """
    (DK_U, RND_U, OFF_U, SH_U, MIN_U, DK_V, RND_V, OFF_V, SH_V, MIN_V, OVF_U, OVF_V,
     CMP_GE, RESET, MAX_SPK, NOISE, NOISE_ON_V, HAS_REF, TH_SHIFT, STRICT) = cfg

    @_inline
    def tick_neuron(u, v, ref, a, du, dv, vth, bias, refr, vreset, nexp, key, tick, sc):
        """One neuron, one tick, in chip order; returns (u, v, ref, spikes, ovf_u, ovf_v)."""
        # 1. current: u = decay(u) + (a_in << act_shift) [+ noise], into the u register
        r = np.int64(0)
        if RND_U == STOCHASTIC:
            r = uniform_bits(draw(key, tick, STREAM_ROUND_U), SH_U if DK_U == DECAY_MULTIPLY else du)
        x = u - decay_step(u, du, DK_U, SH_U, OFF_U, RND_U, MIN_U, r) + (a << sc[SC_ACT])
        noise = np.int64(0)
        if NOISE != NOISE_NONE:
            noise = noise_sample(key, tick, NOISE, sc[SC_N_BITS], sc[SC_N_TERMS]) << nexp
            if not NOISE_ON_V:
                x += noise
        u = bring_into(x, sc[SC_U_BITS], sc[SC_U_LO], sc[SC_U_HI], OVF_U)
        ovf_u = u != x
        # 2. voltage: v = decay(v) + u + bias [+ noise], unless refractory (v held)
        ovf_v = False
        if HAS_REF and ref > 0:
            return u, v, ref - 1, np.int64(0), ovf_u, ovf_v
        r = np.int64(0)
        if RND_V == STOCHASTIC:
            r = uniform_bits(draw(key, tick, STREAM_ROUND_V), SH_V if DK_V == DECAY_MULTIPLY else dv)
        x = v - decay_step(v, dv, DK_V, SH_V, OFF_V, RND_V, MIN_V, r) + u + bias
        if NOISE_ON_V:
            x += noise
        v = bring_into(x, sc[SC_V_BITS], sc[SC_V_LO], sc[SC_V_HI], OVF_V)
        ovf_v = v != x
        # 3. threshold and reset
        th = vth << TH_SHIFT
        n = np.int64(0)
        while n < MAX_SPK and (v >= th if CMP_GE else v > th):
            n += 1
            if RESET == RESET_ZERO:
                v = np.int64(0)
            elif RESET == RESET_TO_VALUE:
                v = vreset
            elif RESET == RESET_SUBTRACT:
                v = v - th
            if RESET != RESET_SUBTRACT:
                break
        # 4. refractory counter
        if HAS_REF and n > 0:
            ref = refr
        return u, v, ref, n, ovf_u, ovf_v

    @_njit
    def run(t0, t1, u, v, ref, du, dv, vth, bias, refr, vreset, nexp, keys, sc,
            ext, ring, proj, pre_idx, post_idx, w, a2a,
            ev_tick, ev_batch, ev_neuron, ev_count, n_ev, rate, ovf, first,
            tr_idx, tr_u, tr_v, tr_a):
        """Advance ticks t0..t1-1 (1-based chip ticks) of B independent runs of n neurons.

        State u, v, ref (B, n) int64 and the delay ring (D, B, n) are updated in
        place.  ``ext`` (t1-t0, B, n) or (0, B, n): input delivered per tick from
        input channels.  Recurrent projections: ``proj`` rows (kind 0 = CSR by
        pre, 1 = all-to-all), see :mod:`emulator.engine`.  Returns
        ``(status, ticks_done)``.
        """
        B, n = u.shape
        D = ring.shape[0]
        n_proj = proj.shape[0]
        has_ext = ext.shape[0] > 0
        spk = np.zeros((B, n), dtype=np.int64)
        cap = ev_tick.size
        for t in range(t0, t1):
            if n_ev[0] + B * n > cap:
                return EVENTS_FULL, t - t0
            slot = t % D
            for b in range(B):
                for i in range(n):
                    a = np.int64(0)
                    if n_proj > 0:
                        a = ring[slot, b, i]
                        ring[slot, b, i] = 0
                    if has_ext:
                        a += ext[t - t0, b, i]
                    ip = i if du.shape[1] > 1 else 0
                    uu, vv, rr, k, ou, ov = tick_neuron(
                        u[b, i], v[b, i], ref[b, i], a, du[b, ip],
                        dv[b, i if dv.shape[1] > 1 else 0], vth[b, i if vth.shape[1] > 1 else 0],
                        bias[b, i if bias.shape[1] > 1 else 0],
                        refr[b, i if refr.shape[1] > 1 else 0],
                        vreset[b, i if vreset.shape[1] > 1 else 0],
                        nexp[b, i if nexp.shape[1] > 1 else 0], keys[b, i], t, sc)
                    u[b, i] = uu
                    v[b, i] = vv
                    ref[b, i] = rr
                    spk[b, i] = k
                    if ou:
                        ovf[b, 0] += 1
                        if STRICT and first[0] < 0:
                            first[0] = t
                            first[1] = b
                            first[2] = i
                            first[3] = 0
                    if ov:
                        ovf[b, 1] += 1
                        if STRICT and first[0] < 0:
                            first[0] = t
                            first[1] = b
                            first[2] = i
                            first[3] = 1
                    if k > 0:
                        e = n_ev[0]
                        ev_tick[e] = t
                        ev_batch[e] = b
                        ev_neuron[e] = i
                        ev_count[e] = k
                        n_ev[0] = e + 1
                        rate[b, t - 1] += k
                    for j in range(tr_idx.size):
                        if tr_idx[j] == i:
                            tr_u[t - 1, b, j] = uu
                            tr_v[t - 1, b, j] = vv
                            tr_a[t - 1, b, j] = a
                if STRICT and first[0] >= 0:
                    return STRICT_OVERFLOW, t - t0 + 1
            # recurrent delivery of this tick's spikes
            for p in range(n_proj):
                kind, pre0, pre1, post0, post1, ptr0, exp_, delay = (
                    proj[p, 0], proj[p, 1], proj[p, 2], proj[p, 3], proj[p, 4], proj[p, 5],
                    proj[p, 6], proj[p, 7])
                ds = (t + delay) % D
                for b in range(B):
                    if kind == 1:
                        cnt = np.int64(0)
                        for j in range(pre0, pre1):
                            cnt += spk[b, j]
                        if cnt == 0:
                            continue
                        tot = a2a[p] * cnt
                        tot = (tot << exp_) if exp_ >= 0 else (tot >> -exp_)
                        for i in range(post0, post1):
                            ring[ds, b, i] += tot
                    else:
                        acc = np.zeros(post1 - post0, dtype=np.int64)
                        anyspk = False
                        for j in range(pre0, pre1):
                            s = spk[b, j]
                            if s == 0:
                                continue
                            anyspk = True
                            jj = j - pre0
                            for q in range(pre_idx[ptr0 + jj], pre_idx[ptr0 + jj + 1]):
                                acc[post_idx[q]] += w[q] * s
                        if anyspk:
                            for i in range(post1 - post0):
                                x = acc[i]
                                ring[ds, b, post0 + i] += (x << exp_) if exp_ >= 0 else (x >> -exp_)
        return DONE, t1 - t0

    return run
