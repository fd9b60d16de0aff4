"""The tick engine: run a network on a profile, bit-exact, batched over independent runs.

:func:`simulate` is the public entry point.  It validates the network against
the profile, turns registers into int64 arrays once, and hands ranges of ticks
to a numba kernel specialised for the profile's modes
(:mod:`emulator._kernels`), or to the slow twin (:mod:`emulator._twins`) with
``backend="twin"``.  A run is a pure function of (profile, registers, inputs,
seed): results do not depend on the batch size or the machine.

One tick of the ``current`` template (Loihi 1, generic), in chip order:

1. deliver: ``a_in`` = sum over projections of ``(W_q . s) << exp`` for the
   spikes that reach this tick (input channels after ``input.delay``,
   neurons after their projection delay);
2. current: ``u = OVF_u(decay(u) + (a_in << act_shift))``;
3. voltage (unless refractory): ``v = OVF_v(decay(v) + u + bias)``;
4. threshold: spike while ``v > vth << shift`` (or ``>=``), up to
   ``max_spikes``, with the profile's reset;
5. refractory: a spike loads the counter; while it is positive ``v`` is held.

Noise, when on, is added to the sum of its target register's update.
The ``xylo`` template is documented in :mod:`emulator._xylo`.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from emulator import _kernels as K
from emulator.fixed import Overflow
from emulator.network import Network, NetworkError, quantize_weights
from emulator.profile import Profile
from reference.errors import FxlifError

__all__ = ["OverflowTrap", "RunResult", "simulate"]

RASTER_CHUNK_BYTES = 16 << 20  # at most this much spike raster per chunk of ticks
EXT_CHUNK_BYTES = 64 << 20     # at most this much precomputed input per kernel call
MAX_SHIFT_DECAY = 62           # x >> d on int64 registers; larger shifts are not a decay
CACHE_BLOCK = 8192             # neurons advanced together over many ticks (state in L2)


class OverflowTrap(FxlifError):
    """Strict mode: a register overflowed (wrapped or saturated)."""

    def __init__(self, tick: int, batch: int, neuron: int, variable: str, mode: str):
        self.tick, self.batch, self.neuron, self.variable = tick, batch, neuron, variable
        super().__init__(f"overflow of {variable} ({mode}) at tick {tick}, neuron {neuron}"
                         + (f", run {batch}" if batch else ""))


@dataclass(frozen=True)
class RunResult:
    """The record of a run.

    Attributes
    ----------
    ticks : int
        Ticks simulated (numbered 1..ticks).
    seeds : ndarray (B,)
        Seed of each of the B batched runs.
    spike_tick, spike_batch, spike_neuron, spike_count : ndarray (E,)
        Spike events sorted by (run, tick, neuron); ``spike_count`` > 1 for
        chips with several spikes per tick.
    rate : ndarray (B, ticks)
        Spikes of the whole population per tick.
    traces : dict of str to ndarray (ticks, B, k)
        State after each tick (after threshold and reset) of the recorded
        neurons ``traced``; ``a_in`` is the input consumed in the tick.
    state : dict of str to ndarray
        Final state registers, (B, n) or (B, n, n_syn).
    overflow : dict of str to ndarray (B,)
        Number of wrap or saturation events per state variable.
    wall_s : float
        Wall-clock time of the tick-kernel calls, seconds: state updates and
        the recording of spikes, overflows and traces (compile time excluded
        when the kernel was already compiled; the conversion of the ``current``
        template's spike raster to the event arrays afterwards not included).
    cpu_s : float
        CPU time of this process during the kernel calls, seconds: on a shared
        machine it measures the work, where ``wall_s`` also counts waiting.
    """

    profile: str
    ticks: int
    n: int
    seeds: np.ndarray
    spike_tick: np.ndarray
    spike_batch: np.ndarray
    spike_neuron: np.ndarray
    spike_count: np.ndarray
    rate: np.ndarray
    traced: np.ndarray
    traces: Mapping[str, np.ndarray]
    state: Mapping[str, np.ndarray]
    overflow: Mapping[str, np.ndarray]
    wall_s: float = 0.0
    registers: Mapping[str, np.ndarray] = field(default_factory=dict)
    cpu_s: float = 0.0

    def spike_counts(self, batch: int = 0) -> np.ndarray:
        """Return spikes per tick and neuron, (ticks, n) int64, of run ``batch``."""
        out = np.zeros((self.ticks, self.n), dtype=np.int64)
        m = self.spike_batch == batch
        np.add.at(out, (self.spike_tick[m] - 1, self.spike_neuron[m]), self.spike_count[m])
        return out


# ---------------------------------------------------------------------------------
# registers -> arrays

def param_array(profile: Profile, network: Network, name: str, batch: int) -> np.ndarray:
    """Return register ``name`` as int64 (B, 1) or (B, n) (or (B, n, n_syn) per synapse)."""
    spec = profile.params[name]
    value = network.params.get(name, spec.default)
    arr = np.asarray(value, dtype=np.int64)
    if arr.ndim == 0 or arr.shape == (1,):
        arr = arr.reshape(1)
    return np.ascontiguousarray(np.broadcast_to(arr, (batch,) + arr.shape))


def population_array(profile: Profile, arr: np.ndarray, name: str, file) -> np.ndarray:
    """A (B, 1) register array as (B,): the kernels take population registers as scalars."""
    if arr.shape[1] != 1:
        raise NetworkError("the kernels take one value per population for this register",
                           file=file, key=f"params.{name}", value=f"array of shape {arr.shape[1:]}",
                           allowed="a scalar")
    return np.ascontiguousarray(arr[:, 0])


def neuron_array(arr: np.ndarray, n: int) -> np.ndarray:
    """Broadcast a (B, 1) or (B, n) register array to a contiguous (B, n) one."""
    return np.ascontiguousarray(np.broadcast_to(arr, (arr.shape[0], n)))


def _bias(profile: Profile, network: Network, batch: int) -> np.ndarray:
    if profile.bias["format"] == "int":
        return param_array(profile, network, "bias", batch)
    mant = param_array(profile, network, "bias_mant", batch)
    exp = param_array(profile, network, "bias_exp", batch)
    mant, exp = np.broadcast_arrays(mant, exp)
    return np.where(exp >= 0, mant << np.maximum(exp, 0), mant >> np.maximum(-exp, 0))


def current_config(profile: Profile, strict: bool, noise_kind: str,
                   refractory: bool = True, has_input: bool = True, mul32: bool = False) -> tuple:
    """The compile-time mode tuple of :func:`emulator._kernels.current_kernel`.

    ``refractory=False`` compiles the counter out (all refractory registers are 0);
    ``has_input=False`` the synaptic input (a network without projections);
    ``mul32=True`` forms multiply-decay products from 32-bit operands (see
    :func:`mul32_ok`).
    """
    kinds = {"none": K.DECAY_NONE, "multiply": K.DECAY_MULTIPLY, "shift": K.DECAY_SHIFT}
    du, dv = profile.decay["u"], profile.decay["v"]
    th = profile.threshold
    resets = {"zero": K.RESET_ZERO, "to_value": K.RESET_TO_VALUE,
              "subtract": K.RESET_SUBTRACT, "none": K.RESET_NONE}
    noises = {"none": K.NOISE_NONE, "uniform": K.NOISE_UNIFORM,
              "sum_uniform": K.NOISE_SUM_UNIFORM, "binomial": K.NOISE_BINOMIAL}
    return (kinds[du.kind], int(du.rounding), du.offset, du.shift, du.min_step,
            kinds[dv.kind], int(dv.rounding), dv.offset, dv.shift, dv.min_step,
            int(profile.state["u"].overflow), int(profile.state["v"].overflow),
            th["compare"] == ">=", resets[th["reset"]], th["max_spikes"],
            noises[noise_kind], profile.noise.get("target", "v") == "v",
            bool(profile.refractory["register"]) and refractory, th["shift"], bool(strict),
            profile.input["act_shift"], bool(has_input), bool(mul32))


def mul32_ok(profile: Profile, dtype, du: np.ndarray, dv: np.ndarray) -> bool:
    """Whether the decay products may use 32-bit operands (``current_config(mul32=...)``).

    True for int32 state where every factor ``2**shift - (d + offset)`` of a
    multiply decay lies inside int32.
    """
    if dtype is not np.int32:
        return False
    lo32, hi32 = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    for var, d in (("u", du), ("v", dv)):
        spec = profile.decay[var]
        if spec.kind != "multiply":
            continue
        f = (1 << spec.shift) - (np.asarray(d, dtype=object) + spec.offset)
        if min(f.flat) < lo32 or max(f.flat) > hi32:
            return False
    return True


def state_dtype(*ranges_or_arrays) -> type:
    """int32 when every register range and array given fits in 32 bits, else int64.

    The tick arithmetic is int64 either way; int32 storage halves the memory
    traffic of the state and bias arrays.
    """
    lo32, hi32 = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    for x in ranges_or_arrays:
        x = np.asarray(x)
        if x.size and (int(x.min()) < lo32 or int(x.max()) > hi32):
            return np.int64
    return np.int32


def _raster_events(bits: np.ndarray, cnt: np.ndarray, b: int, tick0: int) -> tuple:
    """Events (tick, run, neuron, count) of run ``b`` of a chunk's spike raster, in (tick, neuron) order.

    ``cnt`` holds the spike counts (ticks, B, n) or is empty when every count is 1.
    """
    m = K.count_raster(bits, b)
    tick, neuron = (np.empty(m + 8, dtype=np.int64)[:m] for _ in range(2))
    K.raster_events(bits, b, tick0, tick.base, neuron.base)
    if cnt.shape[0]:
        count = np.empty(m, dtype=np.int64)
        K.gather_counts(cnt, b, tick0, tick, neuron, count)
    else:
        count = np.ones(m, dtype=np.int64)
    batch = np.zeros(m, dtype=np.int64) if b == 0 else np.full(m, b, dtype=np.int64)
    return tick, batch, neuron, count



def _check_inputs(network: Network, inputs, ticks: int, batch: int) -> np.ndarray:
    if inputs is None:
        return np.zeros((batch, ticks, network.n_in), dtype=np.int64)
    arr = np.asarray(inputs)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (ticks, network.n_in) or arr.shape[0] not in (1, batch):
        raise NetworkError("input spikes have the wrong shape", file=network.file, key="input",
                           value=f"shape {np.shape(inputs)}",
                           allowed=f"(ticks, n_in) = ({ticks}, {network.n_in}) or (B, ticks, n_in)")
    if not np.issubdtype(arr.dtype, np.integer) or (arr.size and arr.min() < 0):
        raise NetworkError("input spike counts must be integers >= 0", file=network.file,
                           key="input", value=f"min {arr.min() if arr.size else None}")
    return np.ascontiguousarray(np.broadcast_to(arr.astype(np.int64), (batch,) + arr.shape[1:]))


def input_projections(profile: Profile, network: Network) -> list[tuple]:
    """Input-channel projections ready for :func:`external_input`, quantised once per run.

    Returns ``(pre, post, delay, exponent, W_q)`` tuples with ``W_q`` the
    toolchain-quantised dense weights (n_post, n_pre).
    """
    return [(p.pre, p.post, profile.input["delay"] if p.delay is None else p.delay,
             p.exponent, quantize_weights(profile, p.dense()))
            for p in network.projections if p.source == "input"]


def external_input(projections: list[tuple], n: int, spikes: np.ndarray,
                   t_first: int, t_stop: int) -> np.ndarray:
    """Input delivered by input-channel projections in ticks t_first..t_stop-1 (``sum`` chips).

    ``projections`` comes from :func:`input_projections`.  Returns int64
    (t_stop - t_first, B, n): for each projection, ``(W_q @ s(t - delay))`` shifted by
    its exponent (``>>`` floors for a negative exponent), summed.
    """
    B, T, _ = spikes.shape
    out = np.zeros((t_stop - t_first, B, n), dtype=np.int64)
    for pre, post, delay, exponent, w in projections:
        t_src = np.arange(t_first, t_stop) - delay          # 1-based source ticks
        ok = (t_src >= 1) & (t_src <= T)
        if not ok.any():
            continue
        s = spikes[:, t_src[ok] - 1, pre[0]:pre[1]]          # (B, k, n_pre)
        acc = np.einsum("bkj,ij->kbi", s, w)
        acc = (acc << exponent) if exponent >= 0 else (acc >> -exponent)
        out[ok, :, post[0]:post[1]] += acc
    return out


def recurrent_tables(profile: Profile, network: Network):
    """Pack recurrent projections for the kernel.

    Returns ``proj`` (n_proj, 8) int64 rows ``[kind, pre0, pre1, post0, post1,
    ptr0, exponent, delay]`` (kind 0: CSR by pre, 1: all-to-all), the CSR
    arrays ``pre_idx``, ``post_idx`` (post offset within the projection),
    ``w`` and the all-to-all weights ``a2a`` (n_proj,), and the ring size D.
    """
    rows, indptr, post_idx, wdata, a2a = [], [], [], [], []
    max_delay = 0
    for p in network.projections:
        if p.source != "neurons":
            continue
        delay = profile.input["recurrent_delay"] if p.delay is None else p.delay
        max_delay = max(max_delay, delay)
        if p.kind == "all_to_all":
            wq = int(quantize_weights(profile, np.array([p.weights]))[0])
            rows.append([1, p.pre[0], p.pre[1], p.post[0], p.post[1], 0, p.exponent, delay])
            a2a.append(wq)
            continue
        w = quantize_weights(profile, p.dense())               # (n_post, n_pre)
        wt = w.T                                                 # by pre
        nz = wt != 0
        counts = nz.sum(axis=1)
        offset = sum(x.size for x in post_idx)
        ptr = offset + np.concatenate([[0], np.cumsum(counts)])
        pre_ptr0 = sum(x.size for x in indptr)
        rows.append([0, p.pre[0], p.pre[1], p.post[0], p.post[1], pre_ptr0, p.exponent, delay])
        a2a.append(0)
        indptr.append(ptr.astype(np.int64))
        post_idx.append(np.nonzero(nz)[1].astype(np.int64))
        wdata.append(wt[nz].astype(np.int64))
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)  # noqa: E731
    proj = np.array(rows, dtype=np.int64).reshape(-1, 8)
    return (proj, cat(indptr), cat(post_idx), cat(wdata), np.array(a2a, dtype=np.int64),
            max_delay + 1)


def _sat_name(mode: Overflow) -> str:
    return "wrap" if mode in (Overflow.WRAP, Overflow.WRAP_LAVA) else "saturation"


# ---------------------------------------------------------------------------------

def simulate(profile: Profile, network: Network, inputs=None, *, ticks: int,
             seeds=(0,), strict: bool = False, trace: str | np.ndarray | None = None,
             backend: str = "numba") -> RunResult:
    """Run ``network`` on ``profile`` for ``ticks`` ticks, for each seed in ``seeds``.

    Parameters
    ----------
    profile : Profile
    network : Network
    inputs : int array (ticks, n_in) or (B, ticks, n_in), optional
        Spike counts arriving on each input channel in each tick (row t-1 is tick t).
    ticks : int
        Number of ticks, >= 1.
    seeds : sequence of int
        One batched run per seed (noise and stochastic rounding streams).
    strict : bool
        Raise :class:`OverflowTrap` at the first overflow (tick, neuron, variable).
    trace : "all", int array of neuron indices, or None
        Neurons whose state is recorded after every tick.
    backend : {"numba", "twin"}
        The compiled kernel, or the slow pure-Python twin (tests).

    Returns
    -------
    RunResult
    """
    if not isinstance(ticks, (int, np.integer)) or ticks < 1:
        raise NetworkError("must be a positive integer", key="ticks", value=ticks)
    network.check(profile)
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    B = seeds.size
    spikes_in = _check_inputs(network, inputs, ticks, B)
    traced = (np.arange(network.n) if isinstance(trace, str) and trace == "all"
              else np.asarray([] if trace is None else trace, dtype=np.int64))
    if profile.template == "xylo":
        from emulator._xylo import simulate_xylo
        return simulate_xylo(profile, network, spikes_in, ticks, seeds, strict, traced, backend)
    if profile.template == "spinnaker":
        from emulator._spinnaker import simulate_spinnaker
        return simulate_spinnaker(profile, network, spikes_in, ticks, seeds, strict, traced,
                                  backend)
    if profile.template == "truenorth":
        from emulator._truenorth import simulate_truenorth
        return simulate_truenorth(profile, network, spikes_in, ticks, seeds, strict, traced,
                                  backend)
    return _simulate_current(profile, network, spikes_in, ticks, seeds, strict, traced, backend)


def _simulate_current(profile, network, spikes_in, ticks, seeds, strict, traced, backend):
    B, n = seeds.size, network.n
    regs = {name: param_array(profile, network, name, B)
            for name in ("du", "dv", profile.threshold["register"])}
    vth = regs[profile.threshold["register"]]
    v_lo, v_hi = profile.state["v"].range
    if (vth << profile.threshold["shift"]).max() > v_hi:
        bad = int(vth.max())
        raise NetworkError(f"threshold does not fit the {profile.state['v'].bits}-bit voltage "
                           "register", file=network.file,
                           key=f"params.{profile.threshold['register']}", value=bad,
                           allowed=f"<= {v_hi >> profile.threshold['shift']}")
    for var, reg in (("u", "du"), ("v", "dv")):
        if profile.decay[var].kind == "shift" and regs[reg].max() > MAX_SHIFT_DECAY:
            raise NetworkError(f"a shift decay (decay.{var}) shifts by at most {MAX_SHIFT_DECAY}",
                               file=network.file, key=f"params.{reg}", value=int(regs[reg].max()),
                               allowed=f"0..{MAX_SHIFT_DECAY}")
    zeros = np.zeros((B, 1), dtype=np.int64)
    ref_name = profile.refractory["register"]
    refr = param_array(profile, network, ref_name, B) if ref_name else zeros
    vreset = param_array(profile, network, "v_reset", B) if "v_reset" in profile.params else zeros
    noise_kind = (network.noise_kind or profile.noise["kind"]) if network.noise else "none"
    if noise_kind == "none" and network.noise:
        noise_kind = "uniform"
    exp_name = profile.noise.get("exponent")
    nexp = param_array(profile, network, exp_name, B) if exp_name else zeros
    bias = _bias(profile, network, B)
    u_spec, v_spec = profile.state["u"], profile.state["v"]
    sc = np.array([u_spec.bits, *u_spec.range, v_spec.bits, v_lo, v_hi,
                   profile.noise.get("mant_bits", 1), profile.noise.get("terms", 1),
                   profile.input["act_shift"]], dtype=np.int64)
    init = {name: np.asarray(network.init.get(name, 0), dtype=np.int64) for name in ("u", "v")}
    dtype = state_dtype(u_spec.range, v_spec.range, bias, *init.values())
    state = {name: np.ascontiguousarray(np.broadcast_to(x0, (B, n))).astype(dtype)
             for name, x0 in init.items()}
    ref = np.zeros((B, n), dtype=np.int64)
    keys = K.neuron_keys(seeds, n)
    proj, pre_idx, post_idx, w, a2a, D = recurrent_tables(profile, network)
    ring = np.zeros((D, B, n), dtype=np.int64)
    cfg = current_config(profile, strict, noise_kind, refractory=bool(refr.max() > 0),
                         has_input=bool(network.projections),
                         mul32=mul32_ok(profile, dtype, regs["du"], regs["dv"]))
    if backend == "twin":
        from emulator import _twins
        run_block = functools.partial(_twins.current_run, cfg=cfg)
    elif backend == "numba":
        run_block = K.current_kernel(cfg)
    else:
        raise NetworkError("unknown backend", key="backend", value=backend, allowed="numba, twin")

    rate = np.zeros((B, ticks), dtype=np.int64)
    ovf = np.zeros((B, 2), dtype=np.int64)
    first = np.full(4, -1, dtype=np.int64)
    tr = [np.zeros((ticks, B, traced.size), dtype=np.int64) for _ in range(3)]
    in_proj = input_projections(profile, network)
    has_ext = bool(in_proj)
    multi = profile.threshold["max_spikes"] > 1
    words = (n + 63) // 64
    chunk = max(1, RASTER_CHUNK_BYTES // (8 * B * words + (B * n if multi else 0)))
    if has_ext:
        chunk = min(chunk, max(1, EXT_CHUNK_BYTES // (8 * B * n)))
    pop = [population_array(profile, a, name, network.file) for a, name in
           ((regs["du"], "du"), (regs["dv"], "dv"), (vth, profile.threshold["register"]),
            (refr, ref_name), (vreset, "v_reset"), (nexp, exp_name))]
    args_p = (*pop[:3], neuron_array(bias, n).astype(dtype), *pop[3:], keys, sc)
    # without recurrent input neurons are independent: cache-sized blocks run all ticks
    # of a chunk; with it (or in strict mode, to find the earliest overflow) the whole
    # population goes tick by tick
    block = n if (proj.shape[0] or strict) else CACHE_BLOCK
    spk = np.zeros(64 * ((block + 63) // 64), dtype=np.uint8)
    events = [[] for _ in range(B)]
    wall = cpu = 0.0
    empty_ext = np.zeros((0, B, n), dtype=np.int64)
    status = K.DONE
    for t in range(1, ticks + 1, chunk):
        t_stop = min(ticks + 1, t + chunk)
        ext = external_input(in_proj, n, spikes_in, t, t_stop) if has_ext else empty_ext
        bits = np.zeros((t_stop - t, B, words), dtype=np.uint64)
        cnt = np.zeros((t_stop - t, B, n) if multi else (0, B, n), dtype=np.uint8)
        start, start_cpu = time.perf_counter(), time.process_time()
        for bb in range(B):
            for j0 in range(0, n, block):
                status, _ = run_block(t, t_stop, bb, j0, min(n, j0 + block), state["u"],
                                      state["v"], ref, *args_p, ext, ring, proj, pre_idx,
                                      post_idx, w, a2a, spk, bits, cnt, rate, ovf,
                                      first, traced, *tr)
                if status == K.STRICT_OVERFLOW:
                    break
            if status == K.STRICT_OVERFLOW:
                break
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        for bb in range(B):
            events[bb].append(_raster_events(bits, cnt, bb, t))
        if status == K.STRICT_OVERFLOW:
            var = ("u", "v")[first[3]]
            raise OverflowTrap(int(first[0]), int(first[1]), int(first[2]), var,
                               _sat_name(profile.state[var].overflow))
    # chunks and runs each give events sorted by (tick, neuron): concatenated run by run
    # they are sorted by (run, tick, neuron)
    segs = [seg for per_run in events for seg in per_run]
    ev = segs[0] if len(segs) == 1 else [np.concatenate(f) for f in zip(*segs, strict=True)]
    return RunResult(profile=profile.name, ticks=ticks, n=n, seeds=seeds,
                     spike_tick=ev[0], spike_batch=ev[1], spike_neuron=ev[2], spike_count=ev[3],
                     rate=rate, traced=traced, traces={"u": tr[0], "v": tr[1], "a_in": tr[2]},
                     state={"u": state["u"].astype(np.int64), "v": state["v"].astype(np.int64),
                            "refractory": ref},
                     overflow={"u": ovf[:, 0], "v": ovf[:, 1]}, wall_s=wall, cpu_s=cpu,
                     registers={"du": regs["du"], "dv": regs["dv"], "vth": vth, "bias": bias})
