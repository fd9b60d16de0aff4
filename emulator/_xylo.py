"""The ``xylo`` tick template (SynSense Xylo hidden layer, xylosim v2 semantics).

One tick, in chip order, for neuron i and synapse k (all registers int16 and
every add saturating, ``sat16``):

1. deliver input spikes of this tick, channel by channel, then recurrent
   spikes of the previous tick, neuron by neuron: one add per spike,
   ``isyn[k] = sat16(isyn[k] + w)`` with ``w = int16(w8 << weight_shift)``;
   counts are capped at ``max_input_count`` (15) and ``max_spikes`` (31);
2. decay the currents: ``isyn[k] -= decay(isyn[k], dash_syn[k])``;
3. ``dv = sat16(int16(-decay(v, dash_mem)) + sum_k isyn[k])``, then
   ``dv = sat16(dv + bias)`` and ``v = sat16(v + dv)``;
4. while ``v >= threshold`` and fewer than ``max_spikes`` spikes: spike,
   ``v -= threshold``.

``decay(x, dash) = x >> dash`` (floor), at least ``sign(x)`` in magnitude.
"""

from __future__ import annotations

import time

import numpy as np

from emulator import _kernels as K
from emulator.engine import OverflowTrap, RunResult, param_array
from emulator.network import Network, NetworkError
from emulator.profile import Profile

__all__ = ["simulate_xylo", "xylo_weights"]


def xylo_weights(profile: Profile, network: Network, source: str, n_src: int) -> np.ndarray:
    """Effective int16 weights (n, n_src, n_syn): ``int16(w << weight_shift)`` summed over projections."""
    n_syn = profile.state["isyn"].synapses
    out = np.zeros((network.n, n_src, n_syn), dtype=np.int64)
    want = profile.input["delay"] if source == "input" else profile.input["recurrent_delay"]
    for k, p in enumerate(network.projections):
        if p.source != source:
            continue
        if p.delay is not None and p.delay != want:
            raise NetworkError(f"the xylo template has a fixed {source} delay", file=network.file,
                               key=f"projections[{k}].delay", value=p.delay, allowed=str(want))
        w = p.dense() << p.exponent
        w = ((w + (1 << 15)) & 0xFFFF) - (1 << 15)      # C int -> int16_t conversion wraps
        out[p.post[0]:p.post[1], p.pre[0]:p.pre[1], p.synapse] += w
    return out


def kernel_config(profile: Profile, strict: bool) -> tuple:
    """Compile-time modes of the xylo kernel."""
    dm, ds = profile.decay["v"], profile.decay["isyn"]
    return (int(ds.rounding), ds.min_step, int(dm.rounding), dm.min_step, dm.negate_wraps,
            int(profile.state["isyn"].overflow), int(profile.state["v"].overflow),
            profile.threshold["max_spikes"], profile.input["max_input_count"], bool(strict))


_CACHE: dict = {}


@K._inline
def add_spikes(x, w, count, bits, lo, hi, mode):
    """``count`` saturating adds of weight ``w`` to ``x`` (one per spike, as the chip does).

    Returns the new value and the number of adds that saturated.
    """
    n_sat = 0
    for _ in range(count):
        y = K.bring_into(x + w, bits, lo, hi, mode)
        n_sat += y != x + w
        x = y
    return x, n_sat


def xylo_kernel(cfg: tuple):
    """Return the compiled xylo tick-range kernel for modes ``cfg``."""
    if cfg in _CACHE:
        return _CACHE[cfg]
    (RND_S, MIN_S, RND_V, MIN_V, NEG_WRAP, OVF_S, OVF_V, MAX_SPK, MAX_IN, STRICT) = cfg

    @K._njit
    def run(t0, t1, isyn, v, spk_prev, dash_syn, dash_mem, th, bias, sc, spikes_in,
            w_in, w_rec, counts, ovf, first, tr_idx, tr_i, tr_v):
        """Advance ticks t0..t1-1; ``counts`` (T, B, n) receives the spikes per tick."""
        B, n, S = isyn.shape
        n_in = w_in.shape[1]
        s_bits, s_lo, s_hi, v_bits, v_lo, v_hi = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
        spk = np.zeros(n, dtype=np.int64)
        fired = np.zeros(n, dtype=np.int64)      # neurons that spiked last tick, in index order
        tr_slot = np.full(n, -1, dtype=np.int64)
        for j in range(tr_idx.size):
            tr_slot[tr_idx[j]] = j
        for t in range(t0, t1):
            for b in range(B):
                n_fired = 0
                for j in range(n):
                    if spk_prev[b, j] > 0:
                        fired[n_fired] = j
                        n_fired += 1
                for i in range(n):
                    dsi = i if dash_syn.shape[1] > 1 else 0
                    # 1. deliver: one saturating add per spike, inputs then recurrent
                    for k in range(S):
                        x = isyn[b, i, k]
                        n_sat = 0
                        for j in range(n_in):
                            x, m = add_spikes(x, w_in[i, j, k], min(spikes_in[b, t - 1, j], MAX_IN),
                                              s_bits, s_lo, s_hi, OVF_S)
                            n_sat += m
                        for jj in range(n_fired):   # only sources that spiked: same order
                            j = fired[jj]
                            x, m = add_spikes(x, w_rec[i, j, k], min(spk_prev[b, j], MAX_SPK),
                                              s_bits, s_lo, s_hi, OVF_S)
                            n_sat += m
                        if n_sat:
                            ovf[b, 0] += n_sat
                            if STRICT and first[0] < 0:
                                first[0], first[1], first[2], first[3] = t, b, i, 0
                        # 2. decay the current
                        x = x - K.decay_step(x, dash_syn[b, dsi, k if dash_syn.shape[2] > 1 else 0],
                                             K.DECAY_SHIFT, 0, 0, RND_S, MIN_S, 0, False)
                        isyn[b, i, k] = x
                    # 3. membrane: dv = sat(-decay(v) + sum isyn); dv = sat(dv + bias); v = sat(v + dv)
                    vv = v[b, i]
                    d = K.decay_step(vv, dash_mem[b, i if dash_mem.shape[1] > 1 else 0],
                                     K.DECAY_SHIFT, 0, 0, RND_V, MIN_V, 0, False)
                    neg = -d
                    if NEG_WRAP:
                        neg = K.bring_into(neg, v_bits, v_lo, v_hi, K.WRAP)
                    tot = neg
                    for k in range(S):
                        tot += isyn[b, i, k]
                    o = False
                    dv = K.bring_into(tot, v_bits, v_lo, v_hi, OVF_V)
                    o |= dv != tot
                    tot = dv + bias[b, i if bias.shape[1] > 1 else 0]
                    dv = K.bring_into(tot, v_bits, v_lo, v_hi, OVF_V)
                    o |= dv != tot
                    tot = vv + dv
                    vv = K.bring_into(tot, v_bits, v_lo, v_hi, OVF_V)
                    o |= vv != tot
                    if o:
                        ovf[b, 1] += 1
                        if STRICT and first[0] < 0:
                            first[0], first[1], first[2], first[3] = t, b, i, 1
                    # 4. multi-spike threshold with subtractive reset
                    thr = th[b, i if th.shape[1] > 1 else 0]
                    c = 0
                    while c < MAX_SPK and vv >= thr:
                        c += 1
                        vv = K.bring_into(vv - thr, v_bits, v_lo, v_hi, K.WRAP)
                    v[b, i] = vv
                    spk[i] = c
                    counts[t - 1, b, i] = c
                    j = tr_slot[i]
                    if j >= 0:
                        tr_v[t - 1, b, j] = vv
                        for k in range(S):
                            tr_i[t - 1, b, j, k] = isyn[b, i, k]
                for i in range(n):
                    spk_prev[b, i] = spk[i]
                if STRICT and first[0] >= 0:
                    return K.STRICT_OVERFLOW, t - t0 + 1
        return K.DONE, t1 - t0

    _CACHE[cfg] = run
    return run


def simulate_xylo(profile: Profile, network: Network, spikes_in: np.ndarray, ticks: int,
                  seeds: np.ndarray, strict: bool, traced: np.ndarray,
                  backend: str) -> RunResult:
    """Run the xylo template (called by :func:`emulator.engine.simulate`)."""
    if network.noise:
        raise NetworkError("the xylo profile has no noise source", file=network.file,
                           key="noise", value=True, allowed="false")
    B, n = seeds.size, network.n
    S = profile.state["isyn"].synapses
    dash_syn = param_array(profile, network, "dash_syn", B)
    dash_syn = dash_syn.reshape(B, dash_syn.shape[1], -1) if dash_syn.ndim == 3 else \
        dash_syn.reshape(B, -1, 1)
    dash_mem = param_array(profile, network, "dash_mem", B)
    th = param_array(profile, network, profile.threshold["register"], B)
    bias = param_array(profile, network, "bias", B)
    s_spec, v_spec = profile.state["isyn"], profile.state["v"]
    sc = np.array([s_spec.bits, *s_spec.range, v_spec.bits, *v_spec.range], dtype=np.int64)
    isyn = np.ascontiguousarray(np.broadcast_to(
        np.asarray(network.init.get("isyn", 0), dtype=np.int64).reshape(-1, S) if
        np.ndim(network.init.get("isyn", 0)) else np.int64(0), (B, n, S))).copy()
    v = np.ascontiguousarray(np.broadcast_to(
        np.asarray(network.init.get("v", 0), dtype=np.int64), (B, n))).copy()
    spk_prev = np.zeros((B, n), dtype=np.int64)
    w_in = xylo_weights(profile, network, "input", network.n_in)
    w_rec = xylo_weights(profile, network, "neurons", n)
    counts = np.zeros((ticks, B, n), dtype=np.int64)
    ovf = np.zeros((B, 2), dtype=np.int64)
    first = np.full(4, -1, dtype=np.int64)
    tr_i = np.zeros((ticks, B, traced.size, S), dtype=np.int64)
    tr_v = np.zeros((ticks, B, traced.size), dtype=np.int64)
    cfg = kernel_config(profile, strict)
    if backend == "twin":
        from emulator._twins import xylo_run
        run = lambda *a: xylo_run(*a, cfg=cfg)  # noqa: E731
    else:
        run = xylo_kernel(cfg)
    start = time.perf_counter()
    status, _ = run(1, ticks + 1, isyn, v, spk_prev, dash_syn, dash_mem, th, bias, sc,
                    spikes_in, w_in, w_rec, counts, ovf, first, traced, tr_i, tr_v)
    wall = time.perf_counter() - start
    if status == K.STRICT_OVERFLOW:
        var = ("isyn", "v")[first[3]]
        raise OverflowTrap(int(first[0]), int(first[1]), int(first[2]), var, "saturation")
    return _result(profile, ticks, n, seeds, counts, traced, tr_i, tr_v, isyn, v, ovf, wall)


def _result(profile, ticks, n, seeds, counts, traced, tr_i, tr_v, isyn, v, ovf, wall):
    b, t, i = np.nonzero(counts.transpose(1, 0, 2))          # sorted by (run, tick, neuron)
    return RunResult(profile=profile.name, ticks=ticks, n=n, seeds=seeds,
                     spike_tick=t + 1, spike_batch=b, spike_neuron=i,
                     spike_count=counts.transpose(1, 0, 2)[b, t, i],
                     rate=counts.sum(axis=2).T.copy(), traced=traced,
                     traces={"isyn": tr_i, "v": tr_v}, state={"isyn": isyn, "v": v},
                     overflow={"isyn": ovf[:, 0], "v": ovf[:, 1]}, wall_s=wall)
