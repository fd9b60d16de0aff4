"""Slow, obvious twins of the numba kernels: Python ints, one neuron and one tick at a time.

They take the same arguments as the kernels (plus ``cfg``, the mode tuple the
kernel factories capture) and write the same outputs, but every operation is
spelled out with the exact definitions of :mod:`emulator.fixed` on unbounded
Python integers.  The tests run both on hypothesis-generated profiles and
inputs and require bit equality.  They are not used for real runs.
"""

from __future__ import annotations

import numpy as np

from emulator import _kernels as K
from emulator.fixed import Overflow, Rounding, overflow, shift_round

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------
# PRNG, written again on Python ints

def mix64(z: int) -> int:
    """SplitMix64 finaliser on Python ints (mod 2**64)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def neuron_key(seed: int, neuron: int) -> int:
    """Key of a neuron's streams."""
    return mix64(int(seed) + (int(neuron) + 1) * 0x9E3779B97F4A7C15)


def draw(key: int, tick: int, stream: int) -> int:
    """64 random bits for (key, tick, stream)."""
    return mix64(int(key) ^ mix64(int(tick) * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03))


def top_bits(r: int, n: int) -> int:
    """The top ``n`` bits of a 64-bit word."""
    return 0 if n <= 0 else r >> (64 - n)


def noise_sample(key: int, tick: int, kind: int, mant_bits: int, terms: int) -> int:
    """Zero-mean noise mantissa (see :func:`emulator._kernels.noise_sample`)."""
    r = draw(key, tick, K.STREAM_NOISE)
    half = 1 << (mant_bits - 1)
    if kind == K.NOISE_UNIFORM:
        return top_bits(r, mant_bits) - half
    if kind == K.NOISE_SUM_UNIFORM:
        total = 0
        for _ in range(terms):
            total += top_bits(r, mant_bits) - half
            r = mix64(r + 0x9E3779B97F4A7C15)
        return total
    if kind == K.NOISE_BINOMIAL:
        bits = r & ((1 << min(terms, 64)) - 1)
        return 2 * bin(bits).count("1") - terms
    return 0


# ---------------------------------------------------------------------------------
# decay, written from its definition

def decay_step(x: int, d: int, kind: int, shift: int, offset: int, rounding: int,
               min_step: bool, r: int) -> int:
    """Amount removed by one decay: ``x - round(x * factor)`` or the rounded shift."""
    if kind == K.DECAY_MULTIPLY:
        return x - shift_round(x * ((1 << shift) - (d + offset)), shift, Rounding(rounding), r)
    if kind == K.DECAY_SHIFT:
        s = shift_round(x, d, Rounding(rounding), r)
        if min_step and s == 0 and x != 0:
            s = 1 if x > 0 else -1
        return s
    return 0


def _reg(x, sc_bits, lo, mode):
    return overflow(x, int(sc_bits), lo < 0, Overflow(mode))


def _p(arr, b, i):
    return int(arr[b, i if arr.shape[1] > 1 else 0])


def current_run(t0, t1, b, j0, j1, u, v, ref, du, dv, vth, bias, refr, vreset, nexp, keys, sc,
                ext, ring, proj, pre_idx, post_idx, w, a2a, spk, bits, cnt,
                rate, ovf, first, traced, tr_u, tr_v, tr_a, *, cfg):
    """Twin of the kernel of :func:`emulator._kernels.current_kernel` (same arguments and outputs).

    ``spk`` (the kernel's scratch) is not used.
    """
    (DK_U, RND_U, OFF_U, SH_U, MIN_U, DK_V, RND_V, OFF_V, SH_V, MIN_V, OVF_U, OVF_V,
     CMP_GE, RESET, MAX_SPK, NOISE, NOISE_ON_V, HAS_REF, TH_SHIFT, STRICT, ACT, _HAS_IN,
     _MUL32) = cfg
    D = ring.shape[0]
    u_bits, u_lo, v_bits, v_lo = int(sc[0]), int(sc[1]), int(sc[3]), int(sc[4])
    d_u, d_v = int(du[b]), int(dv[b])
    th = int(vth[b]) << TH_SHIFT
    for t in range(t0, t1):
        spikes = {}
        for i in range(j0, j1):
            key = int(keys[b, i])
            a = 0
            if len(proj):
                a = int(ring[t % D, b, i])
                ring[t % D, b, i] = 0
            if ext.shape[0]:
                a += int(ext[t - t0, b, i])
            uu, vv, rr = int(u[b, i]), int(v[b, i]), int(ref[b, i])
            # 1. current
            r = 0
            if RND_U == K.STOCHASTIC and DK_U != K.DECAY_NONE:
                r = top_bits(draw(key, t, K.STREAM_ROUND_U), SH_U if DK_U == K.DECAY_MULTIPLY else d_u)
            x = uu - decay_step(uu, d_u, DK_U, SH_U, OFF_U, RND_U, MIN_U, r) + (a << ACT)
            noise = 0
            if NOISE != K.NOISE_NONE:
                noise = noise_sample(key, t, NOISE, int(sc[6]), int(sc[7])) << int(nexp[b])
                if not NOISE_ON_V:
                    x += noise
            uu = _reg(x, u_bits, u_lo, OVF_U)
            o_u, o_v = uu != x, False
            k = 0
            if HAS_REF and rr > 0:
                rr -= 1                      # refractory: v held, no spike
            else:
                # 2. voltage
                r = 0
                if RND_V == K.STOCHASTIC and DK_V != K.DECAY_NONE:
                    r = top_bits(draw(key, t, K.STREAM_ROUND_V), SH_V if DK_V == K.DECAY_MULTIPLY else d_v)
                x = vv - decay_step(vv, d_v, DK_V, SH_V, OFF_V, RND_V, MIN_V, r) + uu + int(bias[b, i])
                if NOISE_ON_V:
                    x += noise
                vv = _reg(x, v_bits, v_lo, OVF_V)
                o_v = vv != x
                # 3. threshold and reset
                while k < MAX_SPK and (vv >= th if CMP_GE else vv > th):
                    k += 1
                    if RESET == K.RESET_ZERO:
                        vv = 0
                    elif RESET == K.RESET_TO_VALUE:
                        vv = int(vreset[b])
                    elif RESET == K.RESET_SUBTRACT:
                        vv -= th
                    if RESET != K.RESET_SUBTRACT:
                        break
                # 4. refractory
                if HAS_REF and k > 0:
                    rr = int(refr[b])
            u[b, i], v[b, i], ref[b, i] = uu, vv, rr
            spikes[i] = k
            for var, flag in ((0, o_u), (1, o_v)):
                if flag:
                    ovf[b, var] += 1
            if STRICT and (o_u or o_v) and first[0] < 0:
                first[:] = (t, b, i, 0 if o_u else 1)
            if k:
                bits[t - t0, b, i // 64] |= np.uint64(1 << (i % 64))
                if cnt.shape[0]:
                    cnt[t - t0, b, i] = k
                rate[b, t - 1] += k
            for j, idx in enumerate(traced):
                if idx == i:
                    tr_u[t - 1, b, j], tr_v[t - 1, b, j] = uu, vv
                    tr_a[t - 1, b, j] = a
        if STRICT and first[0] >= 0:
            return K.STRICT_OVERFLOW, t - t0 + 1
        # recurrent delivery: per projection, sum weights of spiking sources, then shift
        for row, wa in zip(proj, a2a, strict=False):
            kind, pre0, pre1, post0, post1, ptr0, e, delay = (int(x) for x in row)
            acc = [0] * (post1 - post0)
            for j in range(pre0, pre1):
                s = spikes.get(j, 0)
                if not s:
                    continue
                if kind == 1:
                    acc = [x + int(wa) * s for x in acc]
                else:
                    jj = j - pre0
                    for q in range(int(pre_idx[ptr0 + jj]), int(pre_idx[ptr0 + jj + 1])):
                        acc[int(post_idx[q])] += int(w[q]) * s
            for i, x in enumerate(acc):
                ring[(t + delay) % D, b, post0 + i] += (x << e) if e >= 0 else (x >> -e)
    return K.DONE, t1 - t0


def xylo_run(t0, t1, isyn, v, spk_prev, dash_syn, dash_mem, th, bias, sc, spikes_in,
             w_in, w_rec, counts, ovf, first, tr_idx, tr_i, tr_v, *, cfg):
    """Twin of :func:`emulator._xylo.xylo_kernel` (same arguments and outputs)."""
    (RND_S, MIN_S, RND_V, MIN_V, NEG_WRAP, OVF_S, OVF_V, MAX_SPK, MAX_IN, STRICT) = cfg
    B, n, S = isyn.shape
    s_bits, s_lo, v_bits, v_lo = int(sc[0]), int(sc[1]), int(sc[3]), int(sc[4])

    def sat_s(x):
        return _reg(x, s_bits, s_lo, OVF_S)

    def sat_v(x):
        return _reg(x, v_bits, v_lo, OVF_V)

    for t in range(t0, t1):
        for b in range(B):
            now = [0] * n
            for i in range(n):
                for k in range(S):
                    x = int(isyn[b, i, k])
                    arrivals = []
                    for j in range(w_in.shape[1]):
                        arrivals += [int(w_in[i, j, k])] * min(int(spikes_in[b, t - 1, j]), MAX_IN)
                    for j in range(n):
                        arrivals += [int(w_rec[i, j, k])] * min(int(spk_prev[b, j]), MAX_SPK)
                    for wj in arrivals:
                        y = sat_s(x + wj)
                        if y != x + wj:
                            ovf[b, 0] += 1
                            if STRICT and first[0] < 0:
                                first[:] = (t, b, i, 0)
                        x = y
                    d = int(dash_syn[b, i if dash_syn.shape[1] > 1 else 0,
                                     k if dash_syn.shape[2] > 1 else 0])
                    isyn[b, i, k] = x - decay_step(x, d, K.DECAY_SHIFT, 0, 0, RND_S, MIN_S, 0)
                vv = int(v[b, i])
                neg = -decay_step(vv, _p(dash_mem, b, i), K.DECAY_SHIFT, 0, 0, RND_V, MIN_V, 0)
                if NEG_WRAP:
                    neg = overflow(neg, v_bits, True, Overflow.WRAP)
                total = neg + sum(int(isyn[b, i, k]) for k in range(S))
                dv = sat_v(total)
                o = dv != total
                o |= sat_v(dv + _p(bias, b, i)) != dv + _p(bias, b, i)
                dv = sat_v(dv + _p(bias, b, i))
                o |= sat_v(vv + dv) != vv + dv
                vv = sat_v(vv + dv)
                if o:
                    ovf[b, 1] += 1
                    if STRICT and first[0] < 0:
                        first[:] = (t, b, i, 1)
                c = 0
                thr = _p(th, b, i)
                while c < MAX_SPK and vv >= thr:
                    c += 1
                    vv = overflow(vv - thr, v_bits, True, Overflow.WRAP)
                v[b, i] = vv
                now[i] = c
                counts[t - 1, b, i] = c
                for j, idx in enumerate(tr_idx):
                    if idx == i:
                        tr_v[t - 1, b, j] = vv
                        tr_i[t - 1, b, j, :] = isyn[b, i, :]
            spk_prev[b, :] = now
            if STRICT and first[0] >= 0:
                return K.STRICT_OVERFLOW, t - t0 + 1
    return K.DONE, t1 - t0


# ---------------------------------------------------------------------------------
# spinnaker template (sPyNNaker LIF, exponential current synapses)

def spinnaker_run(t0, t1, v, isyn, ref, ring, v_rest, v_reset, v_th, exp_tc, r_mem, i_off, refr,
                  syn_decay, syn_init, rb_shift, sc, spikes_in, proj, pre_ptr, post_idx, w,
                  counts, ovf, first, traced, tr_v, tr_i, tr_r, *, cfg):
    """Twin of :func:`emulator._spinnaker.spinnaker_kernel` (same arguments and outputs)."""
    RND_V, RND_S, OVF_V, OVF_S = cfg
    CMP_GE, STRICT = not sc[7], bool(sc[8])
    B, n, S = isyn.shape
    D = ring.shape[0]
    v_bits, v_lo, s_bits, s_lo, rb_max = int(sc[0]), int(sc[1]), int(sc[3]), int(sc[4]), int(sc[6])

    def reg_v(x):
        return _reg(x, v_bits, v_lo, OVF_V)

    def reg_s(x):
        return _reg(x, s_bits, s_lo, OVF_S)

    def mul1615(a, b):
        """s16.15 * s16.15: the exact product divided by 2**15, rounded."""
        return shift_round(a * b, 15, Rounding(RND_V))

    def mul032(x, d):
        """s16.15 * u0.32: the exact product divided by 2**32, rounded."""
        return shift_round(x * d, 32, Rounding(RND_S))

    def trap(t, b, i, var):
        if STRICT and first[0] < 0:
            first[:] = (t, b, i, var)

    for t in range(t0, t1):
        slot = t % D
        for b in range(B):
            for i in range(n):
                o_s = False
                for k in range(S):                          # 1. ring buffer -> isyn
                    x = int(isyn[b, i, k])
                    rb = int(ring[slot, b, i, k])
                    ring[slot, b, i, k] = 0
                    if rb:
                        a = rb << int(rb_shift[b, i, k])
                        inp = overflow(a, s_bits, True, Overflow.WRAP)   # (int32) << wraps
                        o_s |= inp != a
                        y = x + mul032(inp, int(syn_init[b, i, k]))
                        x = reg_s(y)
                        o_s |= x != y
                    isyn[b, i, k] = x
                vv, rr = int(v[b, i]), int(ref[b, i])
                o_v = False
                if rr <= 0:                                 # 2. closed-form LIF update
                    chain = []
                    cur = reg_v(int(isyn[b, i, 0]) - int(isyn[b, i, 1]))
                    chain.append((cur, int(isyn[b, i, 0]) - int(isyn[b, i, 1])))
                    y = cur + int(i_off[b, i])
                    cur = reg_v(y)
                    chain.append((cur, y))
                    y = mul1615(cur, int(r_mem[b, i]))
                    alpha = reg_v(y)
                    chain.append((alpha, y))
                    y = alpha + int(v_rest[b, i])
                    alpha = reg_v(y)
                    chain.append((alpha, y))
                    y = alpha - vv
                    diff = reg_v(y)
                    chain.append((diff, y))
                    y = mul1615(int(exp_tc[b, i]), diff)
                    m = reg_v(y)
                    chain.append((m, y))
                    y = alpha - m
                    vv = reg_v(y)
                    chain.append((vv, y))
                    o_v = any(a != b_ for a, b_ in chain)
                else:
                    rr -= 1                                 # refractory: V frozen
                th = int(v_th[b, i])
                fire = vv >= th if CMP_GE else vv > th      # 3. threshold, reset
                if fire:
                    vv, rr = int(v_reset[b, i]), int(refr[b, i])
                v[b, i], ref[b, i] = vv, rr
                counts[t - 1, b, i] = int(fire)
                for k in range(S):                          # 4. shape
                    y = mul032(int(isyn[b, i, k]), int(syn_decay[b, i, k]))
                    isyn[b, i, k] = reg_s(y)
                    o_s |= int(isyn[b, i, k]) != y
                if o_v:
                    ovf[b, 0] += 1
                    trap(t, b, i, 0)
                if o_s:
                    ovf[b, 1] += 1
                    trap(t, b, i, 1)
            # 5. spikes of tick t -> ring slot t + delay, one saturating add per spike
            for row in proj:
                src, pre0, pre1, post0, post1, ptr0, syn, delay, kind, wa, _ = (int(x) for x in row)
                ds = (t + delay) % D
                for j in range(pre0, pre1):
                    c = int(spikes_in[b, t - 1, j]) if src == 0 else int(counts[t - 1, b, j])
                    if kind == 1:
                        targets = [(post0 + q, wa) for q in range(post1 - post0)]
                    else:
                        jj = ptr0 + j - pre0
                        targets = [(post0 + int(post_idx[q]), int(w[q]))
                                   for q in range(int(pre_ptr[jj]), int(pre_ptr[jj + 1]))]
                    for i, wq in targets:
                        for _ in range(c):
                            acc = int(ring[ds, b, i, syn]) + wq
                            if acc > rb_max:                # sPyNNaker: if (acc & 0x10000)
                                acc = rb_max
                                ovf[b, 2] += 1
                                trap(t, b, i, 2)
                            ring[ds, b, i, syn] = acc
            for jj, i in enumerate(traced):
                tr_v[t - 1, b, jj], tr_r[t - 1, b, jj] = v[b, i], ref[b, i]
                tr_i[t - 1, b, jj, :] = isyn[b, i, :]
            if STRICT and first[0] >= 0:
                return K.STRICT_OVERFLOW, t - t0 + 1
    return K.DONE, t1 - t0


# ---------------------------------------------------------------------------------
# truenorth template (Cassidy et al. 2013)

def truenorth_run(t0, t1, v, ring, sw, sb, leak, lc, eps, alpha, beta, kappa, gamma, vr, mask,
                  keys, sc, spikes_in, proj, pre_ptr, post_idx, axon_proj, counts, ovf, first,
                  traced, tr_v, *, cfg):
    """Twin of :func:`emulator._truenorth.truenorth_kernel` (same arguments and outputs)."""
    from emulator._truenorth import STREAM_LEAK, STREAM_SYNAPSE, STREAM_THRESHOLD

    STOCH, OVF_V = cfg
    STOCH_SYN = STOCH_LEAK = STOCH_TH = STOCH
    CMP_GE, STRICT = not sc[4], bool(sc[5])
    B, n = v.shape
    D = ring.shape[0]
    v_bits, v_lo, rho_bits = int(sc[0]), int(sc[1]), int(sc[3])

    def sgn(x):
        return (x > 0) - (x < 0)

    def F(s, key, t, stream):
        """F(s, rho) = 1 if |s| >= rho, rho uniform on 1..2**rho_bits."""
        rho = top_bits(draw(key, t, stream), rho_bits) + 1
        return 1 if abs(s) >= rho else 0

    # the axons of each projection, in axon order: (projection row, source index)
    axons = []
    for row in proj:
        axons += [(row, j) for j in range(int(row[1]), int(row[2]))]
    for t in range(t0, t1):
        for b in range(B):
            for a, (row, j) in enumerate(axons):            # inputs of tick t -> axon delays
                if row[0] == 0 and spikes_in[b, t - 1, j]:
                    ring[(t + int(row[7])) % D, b, a] = 1
            over = [False] * n
            for a, (row, j) in enumerate(axons):            # 1. integrate, axon order
                if not ring[t % D, b, a]:
                    continue
                ring[t % D, b, a] = 0
                post0, post1, g = int(row[3]), int(row[4]), int(row[6])
                if int(row[8]) == 1:
                    targets = list(range(post0, post1)) if int(row[9]) else []
                else:
                    jj = int(row[5]) + j - int(row[1])
                    targets = [post0 + int(post_idx[q])
                               for q in range(int(pre_ptr[jj]), int(pre_ptr[jj + 1]))]
                for i in targets:
                    s = int(sw[b, i, g])
                    if STOCH_SYN and sb[b, i, g]:
                        x = F(s, int(keys[b, i]), t, STREAM_SYNAPSE + a) * sgn(s)
                    else:
                        x = s
                    y = int(v[b, i]) + x
                    v[b, i] = _reg(y, v_bits, v_lo, OVF_V)
                    over[i] |= int(v[b, i]) != y
            for i in range(n):
                key, vv = int(keys[b, i]), int(v[b, i])
                lam, c, e = int(leak[b, i]), int(lc[b, i]), int(eps[b, i])
                omega = (1 - e) + e * sgn(vv)                # 2. leak
                if STOCH_LEAK and c:
                    drive = F(lam, key, t, STREAM_LEAK) * sgn(lam)
                else:
                    drive = lam
                y = vv + omega * drive
                vv = _reg(y, v_bits, v_lo, OVF_V)
                o = vv != y
                eta = 0                                       # 3. threshold, fire, reset
                if STOCH_TH:
                    eta = (draw(key, t, STREAM_THRESHOLD) >> 32) & int(mask[b, i])
                al, be, ka, ga, R = (int(x[b, i]) for x in (alpha, beta, kappa, gamma, vr))
                fire = vv >= al + eta if CMP_GE else vv > al + eta
                if fire:
                    y = [R, vv - (al + eta), vv][ga]
                elif vv < -(be * ka + (be + eta) * (1 - ka)):
                    y = -be * ka + [-R, vv + (be + eta), vv][ga] * (1 - ka)
                else:
                    y = vv
                vv = _reg(y, v_bits, v_lo, OVF_V)
                o |= vv != y
                v[b, i] = vv
                counts[t - 1, b, i] = int(fire)
                if o or over[i]:
                    ovf[b, 0] += 1
                    if STRICT and first[0] < 0:
                        first[:] = (t, b, i, 0)
            for a, (row, j) in enumerate(axons):            # spikes of tick t -> axon delays
                if row[0] == 1 and counts[t - 1, b, j]:
                    ring[(t + int(row[7])) % D, b, a] = 1
            for jj, i in enumerate(traced):
                tr_v[t - 1, b, jj] = v[b, i]
            if STRICT and first[0] >= 0:
                return K.STRICT_OVERFLOW, t - t0 + 1
    return K.DONE, t1 - t0
