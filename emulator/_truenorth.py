"""The ``truenorth`` tick template (IBM TrueNorth neuron, Cassidy et al. 2013).

Each projection contributes one axon per source (input channel or neuron); its axons
have the axon type ``G = projection.synapse`` (0..3) and its weights are the binary
crossbar ``w_ij`` (0/1).  A spike reaches its axons ``delay`` ticks later (1..15).
One tick t, for neuron j, in chip order:

1. synaptic integration, one event per active axon i, in axon order:
   ``V += w_ij * ((1 - b) * s + b * F(s, rho) * sgn(s))`` with ``s = syn_weight[j, G_i]``
   and ``b = syn_stochastic[j, G_i]``;
2. leak: ``Omega = 1 - eps + eps * sgn(V)``,
   ``V += Omega * ((1 - c) * lambda + c * F(lambda, rho) * sgn(lambda))``;
3. threshold: ``eta = rho & M``; if ``V >= alpha + eta``: spike and
   ``V = R | V - (alpha + eta) | V`` for ``gamma = 0 | 1 | 2``; else if
   ``V < -(beta * kappa + (beta + eta) * (1 - kappa))``:
   ``V = -beta`` (``kappa = 1``) or ``V = -R | V + (beta + eta) | V`` (``kappa = 0``).

``F(s, rho) = 1 if |s| >= rho``, with ``rho`` uniform on ``1..2**mant_bits``
(``noise.mant_bits``, 8: probability ``|s| / 256``).  Every add and every reset is
brought into V's register (``state.v``); the overflow count is per neuron and tick.

PRNG: the chip's LFSR (polynomial, seeding, sharing of draws) is not public.  fxlif
uses its counter-based PRNG :func:`emulator._kernels.draw` keyed by (seed, neuron,
tick) with dedicated streams: :data:`STREAM_LEAK` for the leak, :data:`STREAM_THRESHOLD`
for eta (the top 32 bits, masked by M) and ``STREAM_SYNAPSE + axon`` for a stochastic
synapse event.  The stochastic modes therefore match the chip in distribution only.
"""

from __future__ import annotations

import time

import numpy as np

from emulator import _kernels as K
from emulator._spinnaker import (
    P_AXON0,
    P_DELAY,
    P_KIND,
    P_POST0,
    P_POST1,
    P_PRE0,
    P_PRE1,
    P_PTR0,
    P_SRC,
    P_SYN,
    P_WA,
    initial_state,
    neuron_param,
    owned,
    projection_table,
    spike_result,
    synapse_param,
)
from emulator.engine import OverflowTrap, RunResult
from emulator.fixed import Overflow
from emulator.network import Network, NetworkError
from emulator.profile import Profile

__all__ = ["STREAM_LEAK", "STREAM_SYNAPSE", "STREAM_THRESHOLD",
           "simulate_truenorth", "truenorth_kernel"]

# PRNG streams of the truenorth template (distinct from the current template's 0..2).
STREAM_LEAK, STREAM_THRESHOLD, STREAM_SYNAPSE = 16, 17, 32
MAX_DELAY = 15
NEURON_REGS = ("leak", "leak_stochastic", "leak_reversal", "alpha", "beta", "kappa", "gamma",
               "v_reset", "threshold_mask")




# Integer scalars: V register, rho width, comparison (``>=``: 0, ``>``: 1, added to the
# threshold) and strict mode; the last two are runtime scalars (free per neuron).
SC_V_BITS, SC_V_LO, SC_V_HI, SC_RHO_BITS, SC_GT, SC_STRICT = range(6)


def kernel_config(profile: Profile, stochastic: bool) -> tuple:
    """Compile-time modes: (any stochastic register set, v overflow).

    A deterministic network (b = c = M = 0) compiles without any PRNG code; which of
    the stochastic modes a neuron uses is read from its registers.
    """
    return (bool(stochastic), int(profile.state["v"].overflow))


_CACHE: dict = {}


def truenorth_kernel(cfg: tuple):
    """Return the compiled truenorth tick-range kernel for modes ``cfg``."""
    if cfg in _CACHE:
        return _CACHE[cfg]
    STOCH, OVF_V = cfg

    @K._njit
    def run(t0, t1, v, ring, sw, sb, leak, lc, eps, alpha, beta, kappa, gamma, vr, mask, keys,
            sc, spikes_in, proj, pre_ptr, post_idx, axon_proj, counts, ovf, first, traced,
            tr_v):
        """Advance ticks t0..t1-1 (1-based) of B runs; v (B, n) and ring (D, B, A) in place."""
        B, n = v.shape
        D = ring.shape[0]
        A = axon_proj.size
        v_bits, v_lo, v_hi, rho_bits = sc[SC_V_BITS], sc[SC_V_LO], sc[SC_V_HI], sc[SC_RHO_BITS]
        gt, strict = sc[SC_GT], sc[SC_STRICT] != 0
        oflag = np.zeros(n, dtype=np.bool_)
        for t in range(t0, t1):
            slot = t % D
            for b in range(B):
                # input spikes of tick t enter their axons' delay slots
                for p in range(proj.shape[0]):
                    if proj[p, P_SRC] != 0:
                        continue
                    ds = (t + proj[p, P_DELAY]) % D
                    for j in range(proj[p, P_PRE0], proj[p, P_PRE1]):
                        if spikes_in[b, t - 1, j] != 0:
                            ring[ds, b, proj[p, P_AXON0] + j - proj[p, P_PRE0]] = 1
                for i in range(n):
                    oflag[i] = False
                # 1. synaptic integration, one event per active axon, in axon order
                for a in range(A):
                    if ring[slot, b, a] == 0:
                        continue
                    ring[slot, b, a] = 0
                    p = axon_proj[a]
                    g = proj[p, P_SYN]
                    post0 = proj[p, P_POST0]
                    jj = a - proj[p, P_AXON0]
                    if proj[p, P_KIND] == 1:        # all-to-all crossbar of 1s (or of 0s)
                        q0 = np.int64(0)
                        q1 = proj[p, P_POST1] - post0 if proj[p, P_WA] != 0 else np.int64(0)
                    else:
                        q0, q1 = pre_ptr[proj[p, P_PTR0] + jj], pre_ptr[proj[p, P_PTR0] + jj + 1]
                    for q in range(q0, q1):
                        i = post0 + q if proj[p, P_KIND] == 1 else post0 + post_idx[q]
                        s = sw[b, i, g]
                        x = s
                        if STOCH and sb[b, i, g] != 0:
                            rho = K.uniform_bits(K.draw(keys[b, i], t, STREAM_SYNAPSE + a),
                                                 rho_bits) + 1
                            x = (np.int64(1) if s > 0 else np.int64(-1)) if abs(s) >= rho \
                                else np.int64(0)
                        y = v[b, i] + x
                        z = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                        oflag[i] |= z != y
                        v[b, i] = z
                for i in range(n):
                    vv = v[b, i]
                    # 2. leak, with reversal and stochastic leak
                    lam = leak[b, i]
                    if STOCH and lc[b, i] != 0:
                        rho = K.uniform_bits(K.draw(keys[b, i], t, STREAM_LEAK), rho_bits) + 1
                        lam = (np.int64(1) if lam > 0 else np.int64(-1)) if abs(lam) >= rho \
                            else np.int64(0)
                    if eps[b, i] != 0:
                        lam = lam if vv > 0 else (-lam if vv < 0 else np.int64(0))
                    y = vv + lam
                    vv = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                    o = vv != y
                    # 3. threshold, fire, reset (positive) or negative threshold
                    eta = np.int64(0)
                    if STOCH and mask[b, i] != 0:
                        eta = np.int64(K.draw(keys[b, i], t, STREAM_THRESHOLD)
                                       >> np.uint64(32)) & mask[b, i]
                    pos = alpha[b, i] + eta
                    fire = vv >= pos + gt
                    gm = gamma[b, i]
                    if fire:
                        y = vr[b, i] if gm == 0 else (vv - pos if gm == 1 else vv)
                    elif kappa[b, i] != 0 and vv < -beta[b, i]:
                        y = -beta[b, i]
                    elif kappa[b, i] == 0 and vv < -(beta[b, i] + eta):
                        y = -vr[b, i] if gm == 0 else (vv + beta[b, i] + eta if gm == 1 else vv)
                    else:
                        y = vv
                    vv = K.bring_into(y, v_bits, v_lo, v_hi, OVF_V)
                    o |= vv != y
                    v[b, i] = vv
                    counts[t - 1, b, i] = fire
                    if o or oflag[i]:
                        ovf[b, 0] += 1
                        if strict and first[0] < 0:
                            first[0], first[1], first[2], first[3] = t, b, i, 0
                # spikes of tick t enter the delay slots of their recurrent axons
                for p in range(proj.shape[0]):
                    if proj[p, P_SRC] != 1:
                        continue
                    ds = (t + proj[p, P_DELAY]) % D
                    for j in range(proj[p, P_PRE0], proj[p, P_PRE1]):
                        if counts[t - 1, b, j] != 0:
                            ring[ds, b, proj[p, P_AXON0] + j - proj[p, P_PRE0]] = 1
                for jj in range(traced.size):
                    tr_v[t - 1, b, jj] = v[b, traced[jj]]
                if strict and first[0] >= 0:
                    return K.STRICT_OVERFLOW, t - t0 + 1
        return K.DONE, t1 - t0

    _CACHE[cfg] = run
    return run


def simulate_truenorth(profile: Profile, network: Network, spikes_in: np.ndarray, ticks: int,
                       seeds: np.ndarray, strict: bool, traced: np.ndarray,
                       backend: str) -> RunResult:
    """Run the truenorth template (called by :func:`emulator.engine.simulate`)."""
    if network.noise:
        raise NetworkError("truenorth noise is set by its registers (syn_stochastic, "
                           "leak_stochastic, threshold_mask)", file=network.file, key="noise",
                           value=True, allowed="false")
    if spikes_in.size and spikes_in.max() > 1:
        raise NetworkError("a TrueNorth axon carries at most one spike per tick",
                           file=network.file, key="input", value=int(spikes_in.max()),
                           allowed="0, 1")
    B, n = seeds.size, network.n
    G = profile.weights["types"]
    proj, pre_ptr, post_idx, _, D = projection_table(profile, network, w_lo=0, w_hi=1,
                                                     max_delay=MAX_DELAY, template="truenorth")
    n_pre = proj[:, P_PRE1] - proj[:, P_PRE0]
    axon_proj = np.repeat(np.arange(proj.shape[0], dtype=np.int64), n_pre)
    regs = {name: neuron_param(profile, network, name, B) for name in NEURON_REGS}
    syn = {name: synapse_param(profile, network, name, B, G)
           for name in ("syn_weight", "syn_stochastic")}
    if regs["gamma"].max() > 2:
        raise NetworkError("not a reset mode", file=network.file, key="params.gamma",
                           value=int(regs["gamma"].max()), allowed="0, 1, 2")
    stoch = (bool(syn["syn_stochastic"].any()), bool(regs["leak_stochastic"].any()),
             bool(regs["threshold_mask"].any()))
    if profile.noise["kind"] == "none" and any(stoch):
        raise NetworkError("the profile has no noise source (noise.kind = 'none')",
                           file=network.file, key="params.syn_stochastic/leak_stochastic/"
                           "threshold_mask", value="nonzero", allowed="0")
    v_spec = profile.state["v"]
    sc = np.array([v_spec.bits, *v_spec.range, profile.noise.get("mant_bits", 8),
                   profile.threshold["compare"] == ">", strict], dtype=np.int64)
    keys = K.neuron_keys(seeds, n)
    v = initial_state(network, "v", (B, n))
    ring = np.zeros((D, B, axon_proj.size), dtype=np.uint8)
    counts = np.zeros((ticks, B, n), dtype=np.uint8)
    ovf = np.zeros((B, 1), dtype=np.int64)
    first = np.full(4, -1, dtype=np.int64)
    tr_v = np.zeros((ticks, B, traced.size), dtype=np.int64)
    spikes_in = owned(spikes_in)
    traced = owned(traced)
    cfg = kernel_config(profile, any(stoch))
    if backend == "twin":
        from emulator._twins import truenorth_run
        run = lambda *a: truenorth_run(*a, cfg=cfg)  # noqa: E731
    elif backend == "numba":
        run = truenorth_kernel(cfg)
    else:
        raise NetworkError("unknown backend", key="backend", value=backend, allowed="numba, twin")
    start = time.perf_counter()
    status, _ = run(1, ticks + 1, v, ring, syn["syn_weight"], syn["syn_stochastic"],
                    *(regs[name] for name in NEURON_REGS), keys, sc, spikes_in, proj,
                    pre_ptr, post_idx, axon_proj, counts, ovf, first, traced, tr_v)
    wall = time.perf_counter() - start
    if status == K.STRICT_OVERFLOW:
        raise OverflowTrap(int(first[0]), int(first[1]), int(first[2]), "v",
                           "wrap" if v_spec.overflow == Overflow.WRAP else "saturation")
    return spike_result(profile, ticks, n, seeds, counts, traced, {"v": tr_v}, {"v": v},
                        {"v": ovf[:, 0]}, wall, {**regs, **syn})
