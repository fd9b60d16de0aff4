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
from llvmlite import ir
from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

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


@_njit
def _fill_neuron_keys(seeds, out):
    for b in range(out.shape[0]):
        for i in range(out.shape[1]):
            out[b, i] = neuron_key(seeds[b], i)


def neuron_keys(seeds: np.ndarray, n: int) -> np.ndarray:
    """Keys (B, n) uint64 of the PRNG streams of n neurons in each of B runs (:func:`neuron_key`)."""
    out = np.empty((np.size(seeds), n), dtype=np.uint64)
    _fill_neuron_keys(np.asarray(seeds).astype(np.uint64), out)
    return out


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


@intrinsic
def byte_bits64(typingctx, arr, start, bit):
    """uint64 whose bit i is bit ``bit`` of ``arr[start + i]``, i = 0..63.

    ``arr``: 1-D contiguous uint8 array with at least ``start + 64`` entries.
    One 64-byte vector load and compare: ``vptestmb`` + ``kmovq`` on AVX-512BW,
    a ``pmovmskb`` sequence elsewhere (LLVM legalises the <64 x i1> bitcast).
    Twin: ``np.packbits((arr >> bit) & 1, bitorder="little")`` viewed as uint64.
    """
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint8 and arr.ndim == 1
            and arr.layout == "C"):
        return None
    sig = types.uint64(arr, start, bit)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        first = context.cast(builder, args[1], signature.args[1], types.intp)
        b = context.cast(builder, args[2], signature.args[2], types.uint8)
        vec = ir.VectorType(ir.IntType(8), 64)
        data = builder.load(builder.bitcast(builder.gep(ary.data, [first]), vec.as_pointer()),
                            align=1)
        mask = builder.insert_element(ir.Constant(vec, ir.Undefined),
                                      builder.shl(ir.Constant(ir.IntType(8), 1), b),
                                      ir.Constant(ir.IntType(32), 0))
        mask = builder.shuffle_vector(mask, ir.Constant(vec, ir.Undefined),
                                      ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64))
        hit = builder.icmp_unsigned("!=", builder.and_(data, mask), ir.Constant(vec, [0] * 64))
        return builder.bitcast(hit, ir.IntType(64))

    return sig, codegen


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
def decay_step(x, d, kind, shift, offset, rounding, min_step, r, narrow):
    """The amount a decay removes from ``x`` in one tick (``x_new = x - step``).

    ``narrow`` (a compile-time constant): the caller guarantees that ``x`` and the
    multiply factor ``2**shift - (d + offset)`` fit in int32, so the product is
    formed from 32-bit operands (``vpmuldq``, one micro-op, where a general int64
    product is three); the result is the same.
    """
    if kind == DECAY_MULTIPLY:
        f = (np.int64(1) << shift) - (d + offset)
        p = np.int64(np.int32(x)) * np.int64(np.int32(f)) if narrow else x * f
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
DONE, STRICT_OVERFLOW = 0, 2


@lru_cache(maxsize=None)
def current_kernel(cfg: tuple):
    """Return the compiled tick kernel of the ``current`` template for the modes ``cfg``.

    ``cfg`` is the mode tuple built by :func:`emulator.engine.current_config`:
    (u decay kind, u rounding, u offset, u shift, u min_step, v decay kind,
    v rounding, v offset, v shift, v min_step, u overflow, v overflow,
    compare >=, reset, max spikes, noise kind, noise on v, has refractory,
    threshold shift, strict, input shift, has input, 32-bit decay products).  The kernel captures
    only these integers (no other dispatcher), so numba folds every mode branch and caches it
    on disk.  With ``MUL32`` the caller guarantees int32 state arrays and multiply-decay
    factors that fit in 32 bits (``decay_step(..., narrow=True)``).
    """
    (DK_U, RND_U, OFF_U, SH_U, MIN_U, DK_V, RND_V, OFF_V, SH_V, MIN_V, OVF_U, OVF_V,
     CMP_GE, RESET, MAX_SPK, NOISE, NOISE_ON_V, HAS_REF, TH_SHIFT, STRICT, ACT, HAS_IN,
     MUL32) = cfg

    @_njit
    def run_block(t0, t1, b, j0, j1, u, v, ref, du, dv, vth, bias, refr, vreset, nexp, keys,
                  sc, ext, ring, proj, pre_idx, post_idx, w, a2a, spk, bits, cnt,
                  rate, ovf, first, traced, tr_u, tr_v, tr_a):
        """Advance ticks t0..t1-1 (1-based chip ticks) of neurons j0..j1-1 of run ``b``.

        A block without recurrent input (``proj`` empty) runs all its ticks while
        its state stays in cache, and the neuron loop is vectorisable; with
        recurrent projections the caller passes the whole population (j0 = 0,
        j1 = n) and this tick's spikes are delivered into the delay ring
        ``ring`` (D, B, n) for tick t + delay.  ``j0`` is a multiple of 64.

        State ``u``, ``v`` (B, n) are int32 or int64 arrays (the engine picks
        int32 when every register fits: half the memory traffic); arithmetic is
        int64.  Population registers (du, dv, vth, refr, vreset, nexp) are (B,),
        ``bias`` and ``keys`` (B, n).  ``ext`` (t1 - t0, B, n) or (0, B, n) is
        the input from input channels per tick.

        Records: ``bits`` (t1 - t0, B, ceil(n / 64)) uint64 gets the spike raster,
        bit ``j % 64`` of word ``j // 64`` set when neuron j fired in the tick;
        ``cnt`` (t1 - t0, B, n) uint8 its spike counts when several spikes per
        tick are possible (else an empty array); ``rate`` (B, ticks) spikes per
        tick; ``ovf`` (B, 2) overflow events of u and v.  ``spk`` is scratch: uint8, at least
        ``j1 - j0`` rounded up to 64 entries, one flag byte per neuron and tick
        (bit 0 fired, bit 1 u overflowed, bit 2 v overflowed), turned into the
        raster and the overflow counts 64 neurons at a time (:func:`byte_bits64`),
        so that the neuron loop carries no reduction.

        Returns ``(status, ticks_done)``: STRICT_OVERFLOW at the first overflow
        in strict mode (then ``first`` = tick, run, neuron, variable 0 = u / 1 = v).
        """
        m = j1 - j0
        n_proj = proj.shape[0]
        D = ring.shape[0]
        has_ext = ext.shape[0] > 0
        has_a = has_ext or n_proj > 0
        a_tick = np.zeros(m, dtype=np.int64)
        # rows by integer index keep numba's C layout (a slice would not: no vectorising)
        u_b, v_b, ref_b, bias_b, keys_b = u[b], v[b], ref[b], bias[b], keys[b]
        c_du, c_dv, c_th = du[b], dv[b], vth[b] << TH_SHIFT
        c_refr, c_vreset, c_nexp = refr[b], vreset[b], nexp[b]
        u_bits, u_lo, u_hi = sc[SC_U_BITS], sc[SC_U_LO], sc[SC_U_HI]
        v_bits, v_lo, v_hi = sc[SC_V_BITS], sc[SC_V_LO], sc[SC_V_HI]
        n_bits, n_terms = sc[SC_N_BITS], sc[SC_N_TERMS]
        if MUL32 and (u.itemsize != 4 or v.itemsize != 4):
            raise ValueError("32-bit decay products need int32 state arrays")
        w0 = j0 >> 6
        n_words = (m + 63) >> 6
        for i in range(m, n_words * 64):     # a longer block may have left spikes here
            spk[i] = 0
        for t in range(t0, t1):
            row = t - t0
            # 0. deliver: input of this tick from the delay ring and the input channels
            if n_proj > 0:
                slot = t % D
                for i in range(m):
                    g = np.uint64(j0 + i)
                    a_tick[i] = ring[slot, b, g]
                    ring[slot, b, g] = 0
            if has_ext:
                for i in range(m):
                    a_tick[i] = (a_tick[i] if n_proj > 0 else 0) + ext[row, b, np.uint64(j0 + i)]
            # the neuron loop: branch-free where it can be; it stores a flag byte per
            # neuron and (with one spike per tick at most) carries no reduction
            n_s = np.int64(0)
            for i in range(np.uint64(m)):    # unsigned: numba then drops negative-index checks
                g = np.uint64(j0) + i
                uu = np.int64(u_b[g])
                vv = np.int64(v_b[g])
                a = a_tick[i] if HAS_IN else np.int64(0)   # (a bias-driven core reads none)
                # 1. current: u = decay(u) + (a_in << act_shift) [+ noise]
                r = np.int64(0)
                if RND_U == STOCHASTIC and DK_U != DECAY_NONE:
                    r = uniform_bits(draw(keys_b[g], t, STREAM_ROUND_U),
                                     SH_U if DK_U == DECAY_MULTIPLY else c_du)
                x = uu - decay_step(uu, c_du, DK_U, SH_U, OFF_U, RND_U, MIN_U, r, MUL32) + (a << ACT)
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
                y = vv - decay_step(vv, c_dv, DK_V, SH_V, OFF_V, RND_V, MIN_V, r, MUL32) + uu + bias_b[g]
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
                    cnt[row, b, g] = k
                # 4. refractory counter: loaded by a spike, counted down while positive
                if HAS_REF:
                    rr = rr - (rr > 0)
                    ref_b[g] = c_refr if k > 0 else rr
                u_b[g] = uu
                v_b[g] = wv
                spk[i] = np.uint8(k > 0) | (np.uint8(o_u) << 1) | (np.uint8(o_v) << 2)
                if MAX_SPK > 1:
                    n_s += k
            # 5. records: spike raster, population rate, overflow counts, traces
            n_ou = np.int64(0)
            n_ov = np.int64(0)
            for q in range(np.uint64(n_words)):
                at = q * np.uint64(64)
                word = byte_bits64(spk, at, 0)
                bits[row, b, np.uint64(w0) + q] = word
                if MAX_SPK == 1:
                    n_s += popcount64(word)
                n_ou += popcount64(byte_bits64(spk, at, 1))
                n_ov += popcount64(byte_bits64(spk, at, 2))
            rate[b, t - 1] += n_s
            ovf[b, 0] += n_ou
            ovf[b, 1] += n_ov
            if STRICT and n_ou + n_ov > 0 and first[0] < 0:
                for i in range(m):
                    f = spk[i] >> 1
                    if f:
                        first[0], first[1], first[2] = t, b, j0 + i
                        first[3] = 0 if f & 1 else 1
                        break
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
                        cnt_pre = np.int64(0)
                        for j in range(pre0, pre1):
                            cnt_pre += cnt[row, b, j] if MAX_SPK > 1 else spk[j] & 1
                        if cnt_pre > 0:
                            tot = a2a[p] * cnt_pre
                            tot = (tot << exp_) if exp_ >= 0 else (tot >> -exp_)
                            for i in range(post0, post1):
                                ring[ds, b, i] += tot
                    else:
                        acc = np.zeros(post1 - post0, dtype=np.int64)
                        hit = False
                        for j in range(pre0, pre1):
                            sj = np.int64(cnt[row, b, j] if MAX_SPK > 1 else spk[j] & 1)
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


# ---------------------------------------------------------------------------------
# spike raster -> events

@_njit
def count_raster(bits, b):
    """Number of set bits of run ``b`` in a raster ``bits`` (ticks, B, words) uint64."""
    c = np.int64(0)
    for t in range(bits.shape[0]):
        for q in range(bits.shape[2]):
            c += popcount64(bits[t, b, q])
    return c


@_njit
def raster_events(bits, b, tick0, ev_tick, ev_neuron):
    """Write the (tick, neuron) events of run ``b`` of a raster, in (tick, neuron) order.

    ``bits`` (ticks, B, words) uint64, row 0 is tick ``tick0``.  The outputs
    need :func:`count_raster` + 8 entries: each non-zero word writes 8 entries
    unconditionally (the unused ones are overwritten by the next word), so
    that the loop exit mispredicts only for words with more than 8 spikes.
    Returns the number of events.
    """
    e = np.uint64(0)
    n_words = np.uint64(bits.shape[2])
    for t in range(np.uint64(bits.shape[0])):
        tick = np.int64(tick0) + np.int64(t)
        row = bits[t, np.uint64(b)]
        for q in range(n_words):
            x = row[q]
            if x == 0:
                continue
            c = np.uint64(popcount64(x))
            base = np.int64(q) * 64
            for r in range(8):
                ev_tick[e + np.uint64(r)] = tick
                ev_neuron[e + np.uint64(r)] = base + np.int64(trailing_zeros(x))
                x &= x - np.uint64(1)
            r = np.uint64(8)
            while x:
                ev_tick[e + r] = tick
                ev_neuron[e + r] = base + np.int64(trailing_zeros(x))
                x &= x - np.uint64(1)
                r += np.uint64(1)
            e += c
    return np.int64(e)


@_njit
def gather_counts(cnt, b, tick0, ev_tick, ev_neuron, out):
    """``out[e]`` = spike count of event e, read from ``cnt`` (ticks, B, n) uint8 (row 0 = tick0)."""
    for e in range(ev_tick.size):
        out[e] = cnt[ev_tick[e] - tick0, b, ev_neuron[e]]
