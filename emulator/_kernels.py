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
        for _ in range(terms):
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
    if mode == TOWARD_ZERO:   # branch-free: add 2**n - 1 to negatives, then floor
        return (x + ((x >> 63) & ((np.int64(1) << n) - 1))) >> n
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
    if mode == WRAP_LAVA:        # hi = 2**(bits-1); one period removed, as Lava does
        period = np.int64(1) << bits
        return x - (x > hi) * period + (x <= -hi) * period
    return min(max(x, lo), hi)


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
def current_kernel(cfg: tuple):
    """Return the compiled tick kernel of the ``current`` template for the modes ``cfg``.

    ``cfg`` is the mode tuple built by :func:`emulator.engine.current_config`:
    (u decay kind, u rounding, u offset, u shift, u min_step, v decay kind,
    v rounding, v offset, v shift, v min_step, u overflow, v overflow,
    compare >=, reset, max spikes, noise kind, noise on v, has refractory,
    threshold shift, strict, input shift, has input).  The kernel captures only these integers (no
    other dispatcher), so numba folds every mode branch and caches it on disk.
    """
    (DK_U, RND_U, OFF_U, SH_U, MIN_U, DK_V, RND_V, OFF_V, SH_V, MIN_V, OVF_U, OVF_V,
     CMP_GE, RESET, MAX_SPK, NOISE, NOISE_ON_V, HAS_REF, TH_SHIFT, STRICT, ACT, HAS_IN) = cfg

    @_njit
    def run_block(t0, t1, b, j0, j1, u, v, ref, du, dv, vth, bias, refr, vreset, nexp, keys,
                  sc, ext, ring, proj, pre_idx, post_idx, w, a2a, ev_tick, ev_batch,
                  ev_neuron, ev_count, n_ev, rate, ovf, first, traced, tr_u, tr_v, tr_a):
        """Advance ticks t0..t1-1 (1-based chip ticks) of neurons j0..j1-1 of run ``b``.

        A block without recurrent input (``proj`` empty) runs all its ticks while
        its state stays in cache, and the neuron loop is vectorisable; with
        recurrent projections the caller passes the whole population (j0 = 0,
        j1 = n) and this tick's spikes are delivered into the delay ring
        ``ring`` (D, B, n) for tick t + delay.  Population registers (du, dv,
        vth, refr, vreset, nexp) are (B,), ``bias`` and ``keys`` (B, n).  ``ext``
        (t1 - t0, B, n) or (0, B, n) is the input from input channels per tick.
        Returns ``(status, ticks_done)``: EVENTS_FULL when the event buffer has
        no room for another tick (grow it and call again from t0 + ticks_done),
        STRICT_OVERFLOW at the first overflow in strict mode (then ``first`` =
        tick, run, neuron, variable 0 = u / 1 = v).
        """
        m = j1 - j0
        n_proj = proj.shape[0]
        D = ring.shape[0]
        has_ext = ext.shape[0] > 0
        has_a = has_ext or n_proj > 0
        spk = np.zeros(m, dtype=np.int64)
        a_tick = np.zeros(m, dtype=np.int64)
        oflag = np.zeros(m, dtype=np.int64)
        # rows by integer index keep numba's C layout (a slice would not: no vectorising)
        u_b, v_b, ref_b, bias_b, keys_b = u[b], v[b], ref[b], bias[b], keys[b]
        c_du, c_dv, c_th = du[b], dv[b], vth[b] << TH_SHIFT
        c_refr, c_vreset, c_nexp = refr[b], vreset[b], nexp[b]
        u_bits, u_lo, u_hi = sc[SC_U_BITS], sc[SC_U_LO], sc[SC_U_HI]
        v_bits, v_lo, v_hi = sc[SC_V_BITS], sc[SC_V_LO], sc[SC_V_HI]
        n_bits, n_terms = sc[SC_N_BITS], sc[SC_N_TERMS]
        cap = ev_tick.size
        for t in range(t0, t1):
            if n_ev[0] + m + 1 > cap:      # the compaction writes one slot past the last event
                return EVENTS_FULL, t - t0
            # 0. deliver: input of this tick from the delay ring and the input channels
            if n_proj > 0:
                slot = t % D
                for i in range(m):
                    g = np.uint64(j0 + i)
                    a_tick[i] = ring[slot, b, g]
                    ring[slot, b, g] = 0
            if has_ext:
                for i in range(m):
                    a_tick[i] = (a_tick[i] if n_proj > 0 else 0) + ext[t - t0, b, np.uint64(j0 + i)]
            # the neuron loop: branch-free where it can be, flags stored (a second
            # reduction would stop the vectoriser)
            any_flag = np.int64(0)
            n_s = np.int64(0)
            for i in range(m):
                g = np.uint64(j0 + i)    # unsigned: numba then drops the negative-index check
                uu = u_b[g]
                vv = v_b[g]
                a = a_tick[i] if HAS_IN else np.int64(0)   # (a bias-driven core reads none)
                # 1. current: u = decay(u) + (a_in << act_shift) [+ noise]
                r = np.int64(0)
                if RND_U == STOCHASTIC and DK_U != DECAY_NONE:
                    r = uniform_bits(draw(keys_b[g], t, STREAM_ROUND_U),
                                     SH_U if DK_U == DECAY_MULTIPLY else c_du)
                x = uu - decay_step(uu, c_du, DK_U, SH_U, OFF_U, RND_U, MIN_U, r) + (a << ACT)
                noise = np.int64(0)
                if NOISE != NOISE_NONE:
                    noise = noise_sample(keys_b[g], t, NOISE, n_bits, n_terms) << c_nexp
                    if not NOISE_ON_V:
                        x += noise
                uu = bring_into(x, u_bits, u_lo, u_hi, OVF_U)
                o_u = uu != x
                # 2. voltage: v = decay(v) + u + bias [+ noise]
                r = np.int64(0)
                if RND_V == STOCHASTIC and DK_V != DECAY_NONE:
                    r = uniform_bits(draw(keys_b[g], t, STREAM_ROUND_V),
                                     SH_V if DK_V == DECAY_MULTIPLY else c_dv)
                y = vv - decay_step(vv, c_dv, DK_V, SH_V, OFF_V, RND_V, MIN_V, r) + uu + bias_b[g]
                if NOISE_ON_V:
                    y += noise
                wv = bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                o_v = wv != y
                # 3. threshold and reset (a refractory neuron holds v and cannot spike)
                rr = ref_b[g] if HAS_REF else np.int64(0)
                active = rr <= 0
                if HAS_REF:
                    o_v = o_v & active
                    wv = wv if active else vv
                k = np.int64(0)
                if MAX_SPK == 1:
                    fire = active & ((wv >= c_th) if CMP_GE else (wv > c_th))
                    k = np.int64(fire)
                    if RESET == RESET_ZERO:
                        wv = np.int64(0) if fire else wv
                    elif RESET == RESET_TO_VALUE:
                        wv = c_vreset if fire else wv
                    elif RESET == RESET_SUBTRACT:
                        wv = wv - c_th if fire else wv
                else:
                    while active and k < MAX_SPK and ((wv >= c_th) if CMP_GE else (wv > c_th)):
                        k += 1
                        wv = wv - c_th
                # 4. refractory counter: loaded by a spike, counted down while positive
                if HAS_REF:
                    rr = rr - (rr > 0)
                    ref_b[g] = c_refr if k > 0 else rr
                u_b[g] = uu
                v_b[g] = wv
                spk[i] = k
                f = np.int64(o_u) | (np.int64(o_v) << 1)
                oflag[i] = f
                any_flag |= f
                n_s += k
            # 5. records: spike events, population rate, overflow counts, traces
            if n_s > 0:
                e0 = np.uint64(n_ev[0])
                e = e0
                for i in range(m):     # branch-free compaction: write always, advance on a spike
                    ev_neuron[e] = j0 + i
                    ev_count[e] = spk[i]
                    e += np.uint64(spk[i] > 0)
                for q in range(e0, e):
                    ev_tick[q] = t
                    ev_batch[q] = b
                n_ev[0] = np.int64(e)
                rate[b, t - 1] += n_s
            if any_flag:
                for i in range(m):
                    f = oflag[i]
                    if f:
                        ovf[b, 0] += f & 1
                        ovf[b, 1] += f >> 1
                        if STRICT and first[0] < 0:
                            first[0], first[1], first[2] = t, b, j0 + i
                            first[3] = 0 if f & 1 else 1
            for j in range(traced.size):
                i = traced[j] - j0
                if 0 <= i < m:
                    tr_u[t - 1, b, j] = u_b[j0 + i]
                    tr_v[t - 1, b, j] = v_b[j0 + i]
                    tr_a[t - 1, b, j] = a_tick[i] if has_a else 0
            if STRICT and first[0] >= 0:
                return STRICT_OVERFLOW, t - t0 + 1
            # 6. recurrent delivery of this tick's spikes, per projection: sum, then shift
            if n_s > 0:
                for p in range(n_proj):
                    kind, pre0, pre1, post0, post1 = proj[p, 0], proj[p, 1], proj[p, 2], proj[p, 3], proj[p, 4]
                    ptr0, exp_, delay = proj[p, 5], proj[p, 6], proj[p, 7]
                    ds = (t + delay) % D
                    if kind == 1:
                        cnt = np.int64(0)
                        for j in range(pre0, pre1):
                            cnt += spk[j]
                        if cnt > 0:
                            tot = a2a[p] * cnt
                            tot = (tot << exp_) if exp_ >= 0 else (tot >> -exp_)
                            for i in range(post0, post1):
                                ring[ds, b, i] += tot
                    else:
                        acc = np.zeros(post1 - post0, dtype=np.int64)
                        hit = False
                        for j in range(pre0, pre1):
                            sj = spk[j]
                            if sj == 0:
                                continue
                            hit = True
                            jj = j - pre0
                            for q in range(pre_idx[ptr0 + jj], pre_idx[ptr0 + jj + 1]):
                                acc[post_idx[q]] += w[q] * sj
                        if hit:
                            for i in range(post1 - post0):
                                x = acc[i]
                                ring[ds, b, post0 + i] += (x << exp_) if exp_ >= 0 else (x >> -exp_)
        return DONE, t1 - t0

    return run_block
