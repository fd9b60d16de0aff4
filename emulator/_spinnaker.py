"""The ``spinnaker`` tick template (sPyNNaker LIF with exponential current synapses).

State per neuron: ``v`` (s16.15 in int32), ``isyn[k]`` for k = 0 (excitatory) and
1 (inhibitory) (s16.15 in int32), the refractory counter, and a ring buffer of
uint16 slots per synapse type and delay.  One tick t, in chip order
(shared/notes/chips.md 2.3-2.6):

1. ring-buffer slot t -> synapses: ``in = int32(rb[k] << ring_buffer_shift[k])``
   (wraps), ``isyn[k] += (in * syn_init[k]) >> 32``; the slot is cleared;
2. if ``refractory <= 0``: ``I = isyn[0] - isyn[1] + i_offset``,
   ``alpha = I * r_membrane + v_rest``, ``v = alpha - exp_tc * (alpha - v)``;
   else ``refractory -= 1`` and ``v`` is frozen;
3. spike if ``v >= v_thresh`` (tested every tick, refractory or not, as sPyNNaker
   tests the returned V); on a spike ``v = v_reset``, ``refractory = refract_ticks``;
4. shape: ``isyn[k] = (isyn[k] * syn_decay[k]) >> 32``;
5. the spikes of tick t (input channels, then neurons; projections in network
   order, sources in index order) add their unsigned weight to slot
   ``t + delay`` of the target's synapse type: ``acc = rb + w``, and
   ``acc = 0xFFFF`` (counted) when it exceeds 16 bits.

``a * b`` of two s16.15 values is GCC ARM ``mulsa3``: ``floor(a*b / 2**15)`` wrapped
to 32 bits (``decay.v.rounding`` and ``state.v.overflow`` of the profile); u0.32
products are ``(x * d) >> 32`` (``decay.isyn.rounding``).  Every add is brought into
its register by the register's overflow mode.  Overflow counts: ``v`` and ``isyn``
per neuron and tick in which any of their operations overflowed, ``ring_buffer`` per
saturating add.
"""

from __future__ import annotations

import time

import numpy as np

from emulator import _kernels as K
from emulator.engine import OverflowTrap, RunResult, param_array
from emulator.network import Network, NetworkError
from emulator.profile import Profile

__all__ = ["owned", "projection_table", "simulate_spinnaker", "spinnaker_kernel"]

# Layout of the integer scalars (one int64 array).  The comparison (``>=``: 0, ``>``: 1,
# added to the threshold) and strict mode are runtime scalars, not compile-time modes:
# they cost nothing per neuron, and every compiled variant costs seconds.
SC_V_BITS, SC_V_LO, SC_V_HI, SC_S_BITS, SC_S_LO, SC_S_HI, SC_RB_MAX, SC_GT, SC_STRICT = range(9)
# Columns of a projection row.
P_SRC, P_PRE0, P_PRE1, P_POST0, P_POST1, P_PTR0, P_SYN, P_DELAY, P_KIND, P_WA, P_AXON0 = range(11)
VARIABLES = ("v", "isyn", "ring_buffer")


# ---------------------------------------------------------------------------------
# network -> tables (shared with the truenorth template)

def projection_table(profile: Profile, network: Network, *, w_lo: int, w_hi: int,
                     max_delay: int, template: str):
    """Pack every projection (inputs and recurrent) into kernel tables.

    Returns ``proj`` (P, 11) int64 rows ``[source (0 input, 1 neurons), pre0, pre1,
    post0, post1, ptr0, synapse, delay, kind (0 CSR by pre, 1 all-to-all),
    all-to-all weight, first axon]``, the CSR arrays ``pre_ptr`` (absolute offsets
    into ``post_idx``/``w``; a projection's rows start at ``ptr0``), ``post_idx``
    (target offset in the projection), ``w``, and the ring size (max delay + 1).
    Weights must lie in ``w_lo..w_hi``, delays in ``1..max_delay``, exponents be 0.
    """
    rows, ptrs, posts, ws = [], [], [], []
    n_ptr = n_nz = axon = 0
    d_max = 1
    for k, p in enumerate(network.projections):
        key = f"projections[{k}]"
        if p.exponent != 0:
            raise NetworkError(f"the {template} template has no per-projection weight exponent",
                               file=network.file, key=f"{key}.exponent", value=p.exponent,
                               allowed="0")
        default = profile.input["delay" if p.source == "input" else "recurrent_delay"]
        delay = default if p.delay is None else p.delay
        if not 1 <= delay <= max_delay:
            raise NetworkError(f"delay out of range of the {template} template", file=network.file,
                               key=f"{key}.delay", value=delay, allowed=f"1..{max_delay}")
        d_max = max(d_max, delay)
        if p.kind == "all_to_all":
            data = np.array([int(p.weights)], dtype=np.int64)
        elif p.kind == "sparse":
            data = np.asarray(p.weights.data, dtype=np.int64)
        else:
            data = np.asarray(p.weights, dtype=np.int64)
        if data.size and (data.min() < w_lo or data.max() > w_hi):
            bad = int(data.min()) if data.min() < w_lo else int(data.max())
            raise NetworkError(f"weight does not fit the {template} weight register",
                               file=network.file, key=f"{key}.weights", value=bad,
                               allowed=f"{w_lo}..{w_hi}")
        src = 0 if p.source == "input" else 1
        n_pre = p.pre[1] - p.pre[0]
        if p.kind == "all_to_all":
            rows.append([src, p.pre[0], p.pre[1], p.post[0], p.post[1], 0, p.synapse, delay, 1,
                         int(p.weights), axon])
        else:
            if p.kind == "sparse":                             # by pre = compressed columns
                m = p.weights.tocsc(copy=True)
                m.eliminate_zeros()
                m.sort_indices()
                ptr, post, wq = m.indptr, m.indices, m.data
            else:
                wt = np.asarray(p.weights, dtype=np.int64).T   # (n_pre, n_post), by pre
                nz = wt != 0
                ptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
                post, wq = np.nonzero(nz)[1], wt[nz]
            rows.append([src, p.pre[0], p.pre[1], p.post[0], p.post[1], n_ptr, p.synapse, delay,
                         0, 0, axon])
            ptrs.append(n_nz + np.asarray(ptr, dtype=np.int64))
            posts.append(np.asarray(post, dtype=np.int64))
            ws.append(np.asarray(wq, dtype=np.int64))
            n_ptr += n_pre + 1
            n_nz += int(ptr[-1])
        axon += n_pre
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)  # noqa: E731
    return (np.array(rows, dtype=np.int64).reshape(-1, 11), cat(ptrs), cat(posts), cat(ws),
            d_max + 1)


def owned(arr) -> np.ndarray:
    """Return a writable C-contiguous int64 copy: one numba type per kernel argument.

    (``np.ascontiguousarray`` of a broadcast view can return the read-only view
    itself, which numba types differently and compiles again.)
    """
    return np.array(arr, dtype=np.int64, order="C")


def neuron_param(profile: Profile, network: Network, name: str, B: int) -> np.ndarray:
    """Register ``name`` as a contiguous int64 (B, n) array."""
    arr = param_array(profile, network, name, B)
    return owned(np.broadcast_to(arr, (B, network.n)))


def synapse_param(profile: Profile, network: Network, name: str, B: int, S: int) -> np.ndarray:
    """Per-synapse register ``name`` as a contiguous int64 (B, n, S) array.

    A scalar applies to every neuron and synapse, an (n,) array to both synapses of
    a neuron, an (n, S) array is used as it is.
    """
    arr = param_array(profile, network, name, B)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return owned(np.broadcast_to(arr, (B, network.n, S)))


def initial_state(network: Network, name: str, shape: tuple) -> np.ndarray:
    """Return an initial state register (absent = 0) as a writable int64 ``shape`` array."""
    x0 = np.asarray(network.init.get(name, 0), dtype=np.int64)
    return owned(np.broadcast_to(x0, shape))


# ---------------------------------------------------------------------------------
# the kernel

def kernel_config(profile: Profile) -> tuple:
    """Compile-time modes: (v rounding, isyn rounding, v overflow, isyn overflow)."""
    return (int(profile.decay["v"].rounding), int(profile.decay["isyn"].rounding),
            int(profile.state["v"].overflow), int(profile.state["isyn"].overflow))


_CACHE: dict = {}


def spinnaker_kernel(cfg: tuple):
    """Return the compiled spinnaker tick-range kernel for modes ``cfg``."""
    if cfg in _CACHE:
        return _CACHE[cfg]
    RND_V, RND_S, OVF_V, OVF_S = cfg

    @K._njit
    def run(t0, t1, v, isyn, ref, ring, v_rest, v_reset, v_th, exp_tc, r_mem, i_off, refr,
            syn_decay, syn_init, rb_shift, sc, spikes_in, proj, pre_ptr, post_idx, w,
            counts, ovf, first, traced, tr_v, tr_i, tr_r):
        """Advance ticks t0..t1-1 (1-based) of B runs; state and ring (D, B, n, 2) in place."""
        B, n, S = isyn.shape
        D = ring.shape[0]
        v_bits, v_lo, v_hi = sc[SC_V_BITS], sc[SC_V_LO], sc[SC_V_HI]
        s_bits, s_lo, s_hi = sc[SC_S_BITS], sc[SC_S_LO], sc[SC_S_HI]
        rb_max, gt, strict = sc[SC_RB_MAX], sc[SC_GT], sc[SC_STRICT] != 0
        for t in range(t0, t1):
            slot = t % D
            for b in range(B):
                for i in range(n):
                    o_s = False
                    # 1. ring-buffer slot t -> isyn += (int32(rb << shift) * init) >> 32
                    for k in range(S):
                        x = isyn[b, i, k]
                        rb = ring[slot, b, i, k]
                        if rb != 0:
                            ring[slot, b, i, k] = 0
                            a = rb << rb_shift[b, i, k]
                            inp = K.bring_into(a, s_bits, s_lo, s_hi, K.WRAP)
                            o_s |= inp != a
                            y = x + K.rshift(inp * syn_init[b, i, k], 32, RND_S, 0)
                            x = K.bring_into(y, s_bits, s_lo, s_hi, OVF_S)
                            o_s |= x != y
                        isyn[b, i, k] = x
                    # 2. V update, or refractory countdown with V frozen
                    vv = v[b, i]
                    rr = ref[b, i]
                    o_v = False
                    if rr <= 0:
                        y = isyn[b, i, 0] - isyn[b, i, 1]
                        cur = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= cur != y
                        y = cur + i_off[b, i]
                        cur = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= cur != y
                        y = K.rshift(cur * r_mem[b, i], 15, RND_V, 0)
                        al = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= al != y
                        y = al + v_rest[b, i]
                        al = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= al != y
                        y = al - vv
                        d = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= d != y
                        y = K.rshift(exp_tc[b, i] * d, 15, RND_V, 0)
                        m = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= m != y
                        y = al - m
                        vv = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        o_v |= vv != y
                    else:
                        rr -= 1
                    # 3. threshold; reset and refractory load on a spike
                    fire = vv >= v_th[b, i] + gt
                    if fire:
                        vv = v_reset[b, i]
                        rr = refr[b, i]
                    v[b, i] = vv
                    ref[b, i] = rr
                    counts[t - 1, b, i] = fire
                    # 4. shape: isyn = (isyn * decay) >> 32
                    for k in range(S):
                        y = K.rshift(isyn[b, i, k] * syn_decay[b, i, k], 32, RND_S, 0)
                        x = K.bring_into(y, s_bits, s_lo, s_hi, OVF_S)
                        o_s |= x != y
                        isyn[b, i, k] = x
                    if o_v:
                        ovf[b, 0] += 1
                        if strict and first[0] < 0:
                            first[0], first[1], first[2], first[3] = t, b, i, 0
                    if o_s:
                        ovf[b, 1] += 1
                        if strict and first[0] < 0:
                            first[0], first[1], first[2], first[3] = t, b, i, 1
                # 5. spikes of tick t -> ring-buffer slot t + delay, saturating uint16 adds
                for p in range(proj.shape[0]):
                    src, pre0, pre1 = proj[p, P_SRC], proj[p, P_PRE0], proj[p, P_PRE1]
                    post0, post1, ptr0 = proj[p, P_POST0], proj[p, P_POST1], proj[p, P_PTR0]
                    syn = proj[p, P_SYN]
                    ds = (t + proj[p, P_DELAY]) % D
                    for j in range(pre0, pre1):
                        c = np.int64(spikes_in[b, t - 1, j]) if src == 0 else \
                            np.int64(counts[t - 1, b, j])
                        if c == 0:
                            continue
                        if proj[p, P_KIND] == 1:
                            q0, q1 = np.int64(0), post1 - post0
                        else:
                            q0, q1 = pre_ptr[ptr0 + j - pre0], pre_ptr[ptr0 + j - pre0 + 1]
                        for q in range(q0, q1):
                            if proj[p, P_KIND] == 1:
                                i, wq = post0 + q, proj[p, P_WA]
                            else:
                                i, wq = post0 + post_idx[q], w[q]
                            if wq == 0:
                                continue
                            acc = ring[ds, b, i, syn]
                            fit = (rb_max - acc) // wq     # adds that still fit
                            if c <= fit:
                                ring[ds, b, i, syn] = acc + c * wq
                            else:
                                ring[ds, b, i, syn] = rb_max
                                ovf[b, 2] += c - fit
                                if strict and first[0] < 0:
                                    first[0], first[1], first[2], first[3] = t, b, i, 2
                for jj in range(traced.size):
                    i = traced[jj]
                    tr_v[t - 1, b, jj] = v[b, i]
                    tr_r[t - 1, b, jj] = ref[b, i]
                    for k in range(S):
                        tr_i[t - 1, b, jj, k] = isyn[b, i, k]
                if strict and first[0] >= 0:
                    return K.STRICT_OVERFLOW, t - t0 + 1
        return K.DONE, t1 - t0

    _CACHE[cfg] = run
    return run


def simulate_spinnaker(profile: Profile, network: Network, spikes_in: np.ndarray, ticks: int,
                       seeds: np.ndarray, strict: bool, traced: np.ndarray,
                       backend: str) -> RunResult:
    """Run the spinnaker template (called by :func:`emulator.engine.simulate`)."""
    if network.noise:
        raise NetworkError("the spinnaker1 LIF has no noise source", file=network.file,
                           key="noise", value=True, allowed="false")
    B, n = seeds.size, network.n
    S = profile.state["isyn"].synapses
    w_bits = profile.weights["bits"]
    proj, pre_ptr, post_idx, w, D = projection_table(
        profile, network, w_lo=0, w_hi=(1 << w_bits) - 1, max_delay=64, template="spinnaker")
    regs = {name: neuron_param(profile, network, name, B) for name in
            ("v_rest", "v_reset", "v_thresh", "exp_tc", "r_membrane", "i_offset",
             "refract_ticks")}
    syn = {name: synapse_param(profile, network, name, B, S) for name in
           ("syn_decay", "syn_init", "ring_buffer_shift")}
    v_spec, s_spec = profile.state["v"], profile.state["isyn"]
    sc = np.array([v_spec.bits, *v_spec.range, s_spec.bits, *s_spec.range, (1 << w_bits) - 1,
                   profile.threshold["compare"] == ">", strict], dtype=np.int64)
    v = initial_state(network, "v", (B, n))
    isyn = initial_state(network, "isyn", (B, n, S))
    ref = np.zeros((B, n), dtype=np.int64)
    ring = np.zeros((D, B, n, S), dtype=np.int64)
    counts = np.zeros((ticks, B, n), dtype=np.uint8)
    ovf = np.zeros((B, 3), dtype=np.int64)
    first = np.full(4, -1, dtype=np.int64)
    tr_v = np.zeros((ticks, B, traced.size), dtype=np.int64)
    tr_r = np.zeros((ticks, B, traced.size), dtype=np.int64)
    tr_i = np.zeros((ticks, B, traced.size, S), dtype=np.int64)
    spikes_in = owned(spikes_in)
    traced = owned(traced)
    cfg = kernel_config(profile)
    if backend == "twin":
        from emulator._twins import spinnaker_run
        run = lambda *a: spinnaker_run(*a, cfg=cfg)  # noqa: E731
    elif backend == "numba":
        run = spinnaker_kernel(cfg)
    else:
        raise NetworkError("unknown backend", key="backend", value=backend, allowed="numba, twin")
    start = time.perf_counter()
    status, _ = run(1, ticks + 1, v, isyn, ref, ring, regs["v_rest"], regs["v_reset"],
                    regs["v_thresh"], regs["exp_tc"], regs["r_membrane"], regs["i_offset"],
                    regs["refract_ticks"], syn["syn_decay"], syn["syn_init"],
                    syn["ring_buffer_shift"], sc, spikes_in, proj, pre_ptr, post_idx, w,
                    counts, ovf, first, traced, tr_v, tr_i, tr_r)
    wall = time.perf_counter() - start
    if status == K.STRICT_OVERFLOW:
        var = VARIABLES[first[3]]
        mode = "saturation" if var == "ring_buffer" else \
            ("wrap" if profile.state[var].overflow == 0 else "saturation")
        raise OverflowTrap(int(first[0]), int(first[1]), int(first[2]), var, mode)
    return spike_result(profile, ticks, n, seeds, counts, traced,
                        {"v": tr_v, "isyn": tr_i, "refractory": tr_r},
                        {"v": v, "isyn": isyn, "refractory": ref},
                        {name: ovf[:, k] for k, name in enumerate(VARIABLES)}, wall,
                        {**regs, **syn})


def spike_result(profile, ticks, n, seeds, counts, traced, traces, state, overflow, wall,
                 registers) -> RunResult:
    """Build a :class:`RunResult` from per-tick spike flags ``counts`` (ticks, B, n)."""
    c = counts.transpose(1, 0, 2)
    b, t, i = np.nonzero(c)                                  # sorted by (run, tick, neuron)
    return RunResult(profile=profile.name, ticks=ticks, n=n, seeds=seeds,
                     spike_tick=t + 1, spike_batch=b, spike_neuron=i,
                     spike_count=c[b, t, i].astype(np.int64),
                     rate=c.sum(axis=2, dtype=np.int64), traced=traced, traces=traces,
                     state=state, overflow=overflow, wall_s=wall, registers=registers)
