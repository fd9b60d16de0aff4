r"""The mean-field path: predict a chip's quantised dynamics without running the chip.

A chip network that stands for an NLIF model (``v = (V - V_R) * v_scale``, one
tick = ``dt`` membrane time constants) is described here by one homogeneous
neuron, :class:`ChipNeuron`, read from the registers, and three predictions of
its stationary firing rate are made from it:

1. **The exact Markov chain** (:func:`markov_rate`).  For an uncoupled neuron of
   the ``current`` template (Loihi 1, generic) the voltage register is a Markov
   chain on the integers: with white integer noise ``n_t`` (on ``v``, or on
   ``u`` when ``u`` decays fully in one tick) one tick is

   .. math::

       v' = \mathrm{reset}\bigl(\mathrm{OVF}_v(D(v) + u_0 + \mathrm{bias} + n_t)\bigr),

   ``D(v) = v - decay\_step(v)`` the exact integer decay with its rounding (two
   outcomes with their probabilities for stochastic rounding), ``OVF_v`` the
   register's overflow and the threshold test and reset of the profile.  The
   transition matrix is built exactly (noise distribution of the hardware PRNG,
   rounding, dead zone, saturation, the threshold crossing at the tick's end)
   and its stationary distribution solved by a sparse linear solve; the rate
   is the expected number of spikes per tick over ``dt``.  With mean-field
   coupling (an all-to-all recurrent projection) the input of a tick is
   ``floor_shift(w K)`` with ``K ~ Binomial(P, r)`` spikes of the previous tick,
   and the rate solves ``r = chain_rate(r)`` (scan plus ``brentq``; every root
   is returned).  Without noise the chain is deterministic: its periodic orbit
   is followed exactly (also for the ``xylo`` template).
2. **Diffusion with the quantised drift** (:func:`diffusion_rate`): the
   Fokker-Planck steady state for the general drift ``f_q(V) = Delta(v) /
   (v_scale dt)`` (:func:`quantised_drift`), the diffusion the PRNG achieves,
   threshold and reset as represented, the quantised coupling, evaluated by
   :func:`stationary_rates_general`.  The chip monitors the threshold only at
   tick ends; the Broadie-Glasserman shift ``0.5826 sqrt(2 a dt)`` of the
   threshold (notes/multiscale.md 1) corrects the continuous prediction for it.
   Used where the lattice is too large for the chain.
3. **Moment activation** (:func:`moment_prediction`) with the effective linear
   model (registers back to floats).  Units: ``dV' = (-L V' + mean) dt + std
   dW`` with ``V' = V - V_R``, ``L = (1 - lambda)/dt`` (lambda the represented
   decay factor), ``mean = (bias + E[n]) / (v_scale dt)``, ``std = sqrt(var[n]
   / dt) / v_scale``, ``V_th = th / v_scale``, ``V_res = 0``, ``T_ref = R dt``;
   the rate is per membrane time constant.

Dead zone and minimum step.  Where the decay's rounding leaves ``v`` unchanged
(``D(v) = v``, ``v != 0``) the membrane does not relax: a dead zone.  It depends
on the rounding of the *product* ``v (2**k - d) / 2**k``: ``floor`` has one for
``-2**k/d < v < 0``, the round-to-nearest modes for ``|v| d < 2**(k-1)``; Loihi's
truncation toward zero has none -- it removes ``ceil(|v| d / 2**k) >= 1`` LSB,
an over-decay of up to 1 LSB per tick (like Xylo's minimum step), which shows in
the drift bias instead.  :func:`quantised_drift` computes both from the exact map.

All rates are in spikes per neuron per membrane time constant unless named
``*_per_tick``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import brentq, minimize_scalar
from scipy.sparse.linalg import spsolve
from scipy.stats import binom

from emulator.engine import _bias
from emulator.fixed import Overflow, Rounding, register_range
from emulator.network import Network, quantize_weights
from emulator.profile import Profile
from reference.errors import InputError

__all__ = [
    "ChainResult", "ChipNeuron", "DiffusionResult", "DriftTable", "MeanFieldPrediction",
    "chip_neuron", "decay_map", "diffusion_rate", "markov_rate", "moment_prediction",
    "noise_pmf", "predict", "quantised_drift", "stationary_rate_general",
    "stationary_rates_general",
]

#: Broadie-Glasserman constant: discrete monitoring of a Brownian path at steps of
#: variance s^2 acts like a continuous barrier shifted outward by beta * s.
BG_BETA = 0.5826
#: Largest number of lattice states the exact chain is built for.
CHAIN_MAX_STATES = 400_000
#: Largest number of nonzero transition probabilities of the exact chain (memory).
CHAIN_MAX_NNZ = 30_000_000
#: Largest (states x noise span in LSB), a bound on the sparse LU's fill-in.
CHAIN_MAX_FILL = 20_000_000
#: The same bound for the coupled chain, which is solved once per scanned rate.
CHAIN_MAX_FILL_COUPLED = 2_000_000
#: Largest noise support (distinct integer values) the chain accepts.
CHAIN_MAX_SUPPORT = 1 << 16
#: Standard deviations of the stationary spread kept below the lowest relevant
#: voltage when choosing the chain's lower cut (the mass beyond is ~e^{-72}).
CHAIN_TAIL_SD = 12.0
#: Probabilities below this are dropped from the coupling input distribution.
PMF_CUTOFF = 1e-16
#: Grid points per decade of the rate when scanning for self-consistent rates.
SCAN_PER_DECADE = 25
#: Quadrature points of :func:`stationary_rate_general` (trapezoid in log space,
#: Richardson-extrapolated: error ~ h^4 for a smooth drift).
QUAD_POINTS = 20_001
#: Cap on the quadrature points when the drift is strong (boundary layers a/|f|).
QUAD_POINTS_MAX = 100_001
#: Ticks the deterministic orbit is followed at most before giving up.
ORBIT_MAX_TICKS = 10_000_000


# ---------------------------------------------------------------------------------
# the neuron, read from the registers

@dataclass(frozen=True)
class ChipNeuron:
    """One homogeneous chip population in integer terms (chip voltage LSB units).

    Attributes
    ----------
    profile : Profile
    template : str
        ``current`` or ``xylo``.
    d_v : int
        Voltage decay register (``dv``, ``dash_mem``).
    bias : int
        Bias added each tick (after mantissa/exponent expansion).
    th : int
        Effective threshold (``vth << shift``).
    v_reset : int
        Reset value (``to_value``) or 0.
    refractory : int
        Refractory ticks R after a spike.
    noise_values, noise_probs : ndarray
        The exact integer noise distribution added each tick (``[0], [1]`` when off).
    noise_target : str
        ``v`` or ``u``.
    u_factor : float
        Represented decay factor of the current ``u`` per tick; 0 when the exact
        decay sends every value ``u`` can take after one tick's input to 0 (full decay).
    u_exact : bool
        Whether noise and coupling through ``u`` are white (full u decay or none).
    coupling : int
        Recurrent all-to-all weight after the toolchain's quantisation (0: none).
    coupling_exp : int
        Its exponent (``<<``, ``>>`` floors for negative), before ``act_shift``.
    act_shift : int
        Left shift of the synaptic input into ``u``.
    P : int
        Population size.
    v_scale, dt : float
        Chip voltage units per model volt; model time per tick.
    V_R : float
        Model reset (``v = 0`` is ``V_R``).
    """

    profile: Profile
    template: str
    d_v: int
    bias: int
    th: int
    v_reset: int
    refractory: int
    noise_values: np.ndarray
    noise_probs: np.ndarray
    noise_target: str
    u_factor: float
    u_exact: bool
    coupling: int
    coupling_exp: int
    act_shift: int
    P: int
    v_scale: float
    dt: float
    V_R: float = 1.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def v_range(self) -> tuple[int, int]:
        """``(lo, hi)`` of the voltage register."""
        s = self.profile.state["v"]
        return s.range

    @property
    def noise_mean(self) -> float:
        """Mean of the integer noise (chip units per tick)."""
        return float(np.dot(self.noise_values, self.noise_probs))

    @property
    def noise_var(self) -> float:
        """Exact variance of the integer noise (chip units squared per tick)."""
        m = self.noise_mean
        return float(np.dot((self.noise_values - m) ** 2, self.noise_probs))

    @property
    def has_noise(self) -> bool:
        """True when the noise source is on and not constant."""
        return self.noise_values.size > 1

    @property
    def charge(self) -> float:
        """Mean change of ``v`` per presynaptic spike (chip units), through the current u."""
        if self.coupling == 0:
            return 0.0
        per = self.coupling * 2.0 ** (self.coupling_exp + self.act_shift)
        if self.u_factor >= 1:
            return math.inf
        if self.template == "xylo":   # the current decays before it is read: w f + w f^2 + ...
            return per * self.u_factor / (1.0 - self.u_factor)
        return per / (1.0 - self.u_factor)

    @property
    def lam(self) -> float:
        """Represented (unrounded) voltage decay factor per tick."""
        d = self.profile.decay["v"]
        if d.kind == "multiply":
            return ((1 << d.shift) - (self.d_v + d.offset)) / (1 << d.shift)
        if d.kind == "shift":
            return 1.0 - 2.0 ** (-self.d_v)
        return 1.0


def _uniform_param(network: Network, profile: Profile, name: str) -> int:
    spec = profile.params[name]
    arr = np.asarray(network.params.get(name, spec.default), dtype=np.int64)
    if arr.size == 0:
        return int(spec.default)
    flat = arr.ravel()
    if not (flat == flat[0]).all():
        raise InputError("the mean-field path needs a homogeneous population",
                         key=f"params.{name}", value=f"values {int(flat.min())}..{int(flat.max())}",
                         allowed="one value for every neuron")
    return int(flat[0])


def noise_pmf(kind: str, mant_bits: int, terms: int, exp: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact distribution of the emulator's integer noise ``sample << exp``.

    ``uniform``: ``m - 2**(mant_bits-1)``, m uniform on ``[0, 2**mant_bits)`` (mean
    ``-1/2`` LSB of the mantissa, variance ``(4**mant_bits - 1)/12``);
    ``sum_uniform``: the sum of ``terms`` such draws; ``binomial``:
    ``2 * popcount - terms`` of ``terms`` fair bits (variance ``terms``).
    See :func:`emulator._kernels.noise_sample`.

    Returns
    -------
    values : int64 ndarray
    probs : float64 ndarray
        Probabilities summing to 1.
    """
    if kind == "none":
        return np.zeros(1, dtype=np.int64), np.ones(1)
    if kind in ("uniform", "sum_uniform"):
        k = 1 if kind == "uniform" else terms
        if k * ((1 << mant_bits) - 1) + 1 > CHAIN_MAX_SUPPORT * 64:
            raise InputError("noise distribution too wide to tabulate", key="noise.mant_bits",
                             value=mant_bits)
        base = np.full(1 << mant_bits, 1.0 / (1 << mant_bits))
        p = base
        for _ in range(k - 1):
            p = np.convolve(p, base)
        vals = np.arange(p.size, dtype=np.int64) - k * (1 << (mant_bits - 1))
    elif kind == "binomial":
        j = np.arange(terms + 1)
        p = binom.pmf(j, terms, 0.5)
        vals = (2 * j - terms).astype(np.int64)
    else:
        raise InputError("noise kind not modelled by the mean-field path", key="noise.kind",
                         value=kind, allowed="none, uniform, sum_uniform, binomial")
    keep = p > 0
    return vals[keep] << exp, p[keep] / p[keep].sum()


def chip_neuron(profile: Profile, network: Network, *, v_scale: float = 1.0, dt: float = 1.0,
                V_R: float = 1.0) -> ChipNeuron:
    """Read one homogeneous population of ``network`` on ``profile`` as a :class:`ChipNeuron`.

    Parameters
    ----------
    profile : Profile
        ``current`` or ``xylo`` template.
    network : Network
        Registers; every neuron must share its registers (the mean-field path
        describes one population).  A recurrent projection onto every neuron
        with one weight is the mean-field coupling.
    v_scale, dt, V_R : float
        Chip units per model volt, model time per tick, model reset.
    """
    if profile.template not in ("current", "xylo"):
        raise InputError("the mean-field path models the current and xylo templates",
                         key="profile.template", value=profile.template,
                         allowed="current, xylo")
    warnings = []
    th_reg = profile.threshold["register"]
    th = _uniform_param(network, profile, th_reg) << profile.threshold["shift"]
    bias_arr = _bias(profile, network, 1).ravel()
    if not (bias_arr == bias_arr[0]).all():
        raise InputError("the mean-field path needs a homogeneous population", key="bias",
                         value="per-neuron values", allowed="one value for every neuron")
    bias = int(bias_arr[0])
    d_v = _uniform_param(network, profile, profile.decay["v"].register) \
        if profile.decay["v"].kind != "none" else 0
    v_reset = _uniform_param(network, profile, "v_reset") \
        if profile.threshold["reset"] == "to_value" else 0
    ref_name = profile.refractory["register"]
    R = _uniform_param(network, profile, ref_name) if ref_name else 0
    # noise
    kind = "none"
    if network.noise:
        kind = network.noise_kind or profile.noise["kind"]
        if kind == "none":
            kind = "uniform"
    exp = 0
    if kind != "none":
        exp = _uniform_param(network, profile, profile.noise["exponent"])
        vals, probs = noise_pmf(kind, profile.noise["mant_bits"], profile.noise.get("terms", 1),
                                exp)
    else:
        vals, probs = noise_pmf("none", 1, 1, 0)
    target = profile.noise.get("target", "v") if kind != "none" else "v"
    # the current u
    cur = "u" if profile.template == "current" else "isyn"
    du = profile.decay[cur]
    if du.kind == "multiply":
        d_u = _uniform_param(network, profile, du.register)
        u_factor = ((1 << du.shift) - (d_u + du.offset)) / (1 << du.shift)
    elif du.kind == "shift":
        d_u = _uniform_param(network, profile, du.register)
        u_factor = 1.0 - 2.0 ** (-d_u)
    else:
        u_factor = 1.0
    # coupling: recurrent projections onto the whole population
    w_q, w_exp, n_rec = 0, 0, 0
    for p in network.projections:
        if p.source != "neurons":
            continue
        n_rec += 1
        if p.kind == "all_to_all":
            w = int(quantize_weights(profile, np.array([p.weights]))[0])
        else:
            dense = quantize_weights(profile, p.dense())
            w = int(round(float(dense.mean())))
            if not (dense == dense.flat[0]).all():
                warnings.append("recurrent weights are not uniform: their mean is used")
        if p.pre != (0, network.n) or p.post != (0, network.n):
            warnings.append("a recurrent projection does not cover the whole population")
        w_q, w_exp = w, p.exponent
    if n_rec > 1:
        warnings.append("several recurrent projections: only the last one is used")
    if profile.template == "current" and 0.0 < u_factor < 1.0 and du.kind != "none":
        # the current is "fully decayed" when the exact decay sends every value it can
        # hold after one tick's input (all spikes, largest noise) to 0
        e_sh = w_exp + profile.input.get("act_shift", 0)
        umax = abs(w_q) * network.n * (1 << max(e_sh, 0)) >> max(-e_sh, 0)
        if target == "u" and kind != "none":
            umax += int(np.abs(vals).max())
        xs = (np.arange(-umax, umax + 1) if umax <= 1 << 20
              else np.array([-umax, -1, 1, umax]))
        lo_u, hi_u, _ = decay_map(profile, cur, d_u, xs)
        if not lo_u.any() and not hi_u.any():
            u_factor = 0.0
    u_exact = u_factor == 0.0 or (kind == "none" or target == "v") and w_q == 0
    if profile.template == "xylo" and w_q != 0:
        u_exact = False
    return ChipNeuron(profile=profile, template=profile.template, d_v=d_v, bias=bias, th=th,
                      v_reset=v_reset, refractory=R, noise_values=vals, noise_probs=probs,
                      noise_target=target, u_factor=u_factor, u_exact=u_exact, coupling=w_q,
                      coupling_exp=w_exp, act_shift=profile.input.get("act_shift", 0),
                      P=int(network.n), v_scale=float(v_scale), dt=float(dt), V_R=float(V_R),
                      warnings=tuple(warnings))


# ---------------------------------------------------------------------------------
# the exact integer decay, vectorised

def _rshift(x: np.ndarray, n: int, mode: Rounding) -> tuple[np.ndarray, np.ndarray]:
    """``x / 2**n`` rounded by ``mode``: ``(q, p_up)``, the result is ``q + 1`` with prob ``p_up``.

    Deterministic modes return ``p_up = 0``; STOCHASTIC rounds up with
    probability ``rem / 2**n`` (exactly what ``(x + r) >> n`` does for r uniform).
    """
    x = np.asarray(x, dtype=np.int64)
    zero = np.zeros(x.shape)
    if n <= 0:
        return x << -n, zero
    q = x >> n
    rem = x - (q << n)
    half = 1 << (n - 1)
    if mode == Rounding.FLOOR:
        return q, zero
    if mode == Rounding.TOWARD_ZERO:
        return q + ((x < 0) & (rem != 0)), zero
    if mode == Rounding.HALF_UP:
        return q + (rem >= half), zero
    if mode == Rounding.HALF_AWAY:
        return q + ((rem > half) | ((rem == half) & (x > 0))), zero
    if mode == Rounding.HALF_EVEN:
        return q + ((rem > half) | ((rem == half) & (q % 2 == 1))), zero
    return q, rem / float(1 << n)


def decay_map(profile: Profile, var: str, d: int, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact one-tick decay of register ``var``: ``x - decay_step(x)`` as two outcomes.

    Returns ``(lo, hi, p_hi)``: the decayed value is ``hi`` with probability
    ``p_hi`` and ``lo`` otherwise (``lo == hi`` for deterministic rounding).
    Mirrors :func:`emulator._twins.decay_step` (multiply: ``round(x (2**k - d -
    offset) / 2**k)``; shift: ``x - s``, ``s = round(x / 2**d)``, at least 1 in
    magnitude with ``min_step``).  The negation wrap of Xylo is applied by the
    caller (:func:`_xylo_delta`).
    """
    spec = profile.decay[var]
    x = np.asarray(x, dtype=np.int64)
    if spec.kind == "multiply":
        q, p = _rshift(x * ((1 << spec.shift) - (d + spec.offset)), spec.shift, spec.rounding)
        return q, q + (p > 0), p
    if spec.kind == "shift":
        q, p = _rshift(x, d, spec.rounding)
        s_lo, s_hi = q, q + (p > 0)
        if spec.min_step:
            sgn = np.sign(x)
            s_lo = np.where((s_lo == 0) & (x != 0), sgn, s_lo)
            s_hi = np.where((s_hi == 0) & (x != 0), sgn, s_hi)
        return x - s_lo, x - s_hi, p
    return x.copy(), x.copy(), np.zeros(x.shape)


def _overflow_v(neuron: ChipNeuron, x: np.ndarray) -> np.ndarray:
    spec = neuron.profile.state["v"]
    lo, hi = spec.range
    if spec.overflow in (Overflow.SATURATE, Overflow.SATURATE_SYMMETRIC):
        return np.clip(x, lo, hi)
    if spec.overflow == Overflow.WRAP_LAVA:
        x = np.where(x > hi - 1, x - (1 << spec.bits), x)
        return np.where(x <= lo - 1, x + (1 << spec.bits), x)
    base = -(1 << (spec.bits - 1)) if spec.signed else 0
    return (x - base) % (1 << spec.bits) + base


def _sat16(x, bits):
    lo, hi = register_range(bits, True)
    return np.clip(x, lo, hi)


def _xylo_delta(neuron: ChipNeuron, v: np.ndarray, isyn: int = 0):
    """Xylo: ``dv = sat(sat(int16(-decay(v)) + isyn) + bias)``; two outcomes (lo, hi, p)."""
    spec = neuron.profile.decay["v"]
    bits = neuron.profile.state["v"].bits
    lo_m, hi_m, p = decay_map(neuron.profile, "v", neuron.d_v, v)
    out = []
    for m in (lo_m, hi_m):
        neg = -(v - m)
        if spec.negate_wraps:
            base = -(1 << (bits - 1))
            neg = (neg - base) % (1 << bits) + base
        out.append(_sat16(_sat16(neg + isyn, bits) + neuron.bias, bits))
    return out[0], out[1], p


def _pre_threshold(neuron: ChipNeuron, v: np.ndarray):
    """Deterministic part of one tick before noise: ``(lo, hi, p_hi)`` of the pre-overflow sum.

    For ``current``: ``D(v) + bias`` (noise and input are added by the caller,
    then the overflow).  For ``xylo``: ``v + dv`` already saturated inside.
    """
    if neuron.template == "xylo":
        dlo, dhi, p = _xylo_delta(neuron, v)
        return v + dlo, v + dhi, p
    lo, hi, p = decay_map(neuron.profile, "v", neuron.d_v, v)
    return lo + neuron.bias, hi + neuron.bias, p


def _threshold(neuron: ChipNeuron, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spike count and post-reset voltage for post-update voltages ``x`` (vectorised)."""
    th = neuron.profile.threshold
    ge = th["compare"] == ">="
    above = (x >= neuron.th) if ge else (x > neuron.th)
    reset = th["reset"]
    if reset == "subtract":
        k_max = th["max_spikes"]
        if neuron.th <= 0:
            k = np.where(above, k_max, 0)
        else:
            # the number of subtractions until the comparison fails, capped
            k = np.where(above, (x - neuron.th) // neuron.th + (1 if ge else 0), 0)
            if not ge:
                k = np.where(above, -((neuron.th - x) // neuron.th), 0)
            k = np.clip(k, 0, k_max)
        return k, x - k * neuron.th
    k = above.astype(np.int64)
    if reset == "zero":
        return k, np.where(above, 0, x)
    if reset == "to_value":
        return k, np.where(above, neuron.v_reset, x)
    return k, x   # none: spikes every tick while above


# ---------------------------------------------------------------------------------
# drift

class DriftTable(NamedTuple):
    """The quantised drift on the chip's voltage lattice.

    Attributes
    ----------
    v : int64 ndarray
        Chip voltages (LSB units).
    V : ndarray
        The same in model volts, ``V_R + v / v_scale``.
    delta : ndarray
        Exact mean one-tick increment without noise, ``E[D(v)] + bias - v``.
    f_q : ndarray
        Quantised drift in model volts per time constant, ``(delta + E[noise]) / (v_scale dt)``.
    f_lin : ndarray
        The represented linear drift of the registers without rounding,
        ``(-(1 - lambda) v + bias + E[noise]) / (v_scale dt)``.
    dead : bool ndarray
        Where the decay step rounds to zero although ``v != 0`` and the decay register is set.
    """

    v: np.ndarray
    V: np.ndarray
    delta: np.ndarray
    f_q: np.ndarray
    f_lin: np.ndarray
    dead: np.ndarray


def quantised_drift(neuron: ChipNeuron, v=None) -> DriftTable:
    """Exact quantised drift of ``neuron`` on voltages ``v`` (default: the lattice up to threshold).

    The default range is ``[max(lo, -8 th), th]`` with ``lo`` the register's
    lower limit, every integer when that is at most 2**20 values, else an
    even subsample of 2**20 + 1 of them.
    """
    lo, _ = neuron.v_range
    if v is None:
        v_lo = max(lo, min(-8 * max(neuron.th, 1), neuron.v_reset))
        n = neuron.th - v_lo + 1
        if n <= (1 << 20):
            v = np.arange(v_lo, neuron.th + 1, dtype=np.int64)
        else:   # an even subsample (increasing, so duplicates are neighbours)
            v = np.linspace(v_lo, neuron.th, (1 << 20) + 1).astype(np.int64)
            v = v[np.concatenate([[True], np.diff(v) > 0])]
    v = np.asarray(v, dtype=np.int64)
    if neuron.template == "xylo":
        dlo, dhi, p = _xylo_delta(neuron, v)
        delta = dlo + p * (dhi - dlo)
        step = v - decay_map(neuron.profile, "v", neuron.d_v, v)[0]
    else:
        dlo, dhi, p = decay_map(neuron.profile, "v", neuron.d_v, v)
        delta = dlo + p * (dhi - dlo) + neuron.bias - v
        step = v - dlo
    decays = neuron.profile.decay["v"].kind != "none" and neuron.lam < 1.0
    dead = decays & (step == 0) & (v != 0)
    if neuron.profile.decay["v"].rounding == Rounding.STOCHASTIC:
        dead = dead & (p == 0)
    scale = neuron.v_scale * neuron.dt
    nm = neuron.noise_mean if neuron.noise_target == "v" or neuron.u_factor == 0 else 0.0
    f_q = (delta + nm) / scale
    f_lin = (-(1.0 - neuron.lam) * v + neuron.bias + nm) / scale
    return DriftTable(v=v, V=neuron.V_R + v / neuron.v_scale, delta=delta.astype(np.float64),
                      f_q=f_q, f_lin=f_lin, dead=dead)


# ---------------------------------------------------------------------------------
# stationary rate for a general drift

def _log_firing_integral(V, f, a, V_F, V_R):
    """Return log I on the grid ``V`` (I = 1/N, the double integral of the module docstring).

    Trapezoid rules carried in log space (``np.logaddexp.accumulate``), so that
    neither ``e^{Phi}`` nor ``e^{-Phi}`` overflows.  ``V`` must contain ``V_R``.
    """
    h = np.diff(V)
    # Phi' = -f / a, Phi(V_F) = 0
    seg = -0.5 * (f[1:] + f[:-1]) * h / a
    Phi = np.concatenate([[0.0], np.cumsum(seg)])
    Phi -= Phi[-1]
    # G_i = log int_{V_i}^{V_F} e^Phi (trapezoid, from the right)
    with np.errstate(divide="ignore"):
        seg_log = np.logaddexp(Phi[1:], Phi[:-1]) + np.log(0.5 * h)
    G = np.empty_like(Phi)
    G[-1] = -np.inf
    G[:-1] = np.logaddexp.accumulate(seg_log[::-1])[::-1]
    jR = int(np.argmin(np.abs(V - V_R)))
    Gin = np.where(np.arange(V.size) >= jR, G, G[jR])
    logq = Gin - Phi - math.log(a)              # log of p / N
    with np.errstate(divide="ignore"):
        seg_q = np.logaddexp(logq[1:], logq[:-1]) + np.log(0.5 * h)
    return float(np.logaddexp.reduce(seg_q)), logq


def _grid(V_lo, V_F, V_R, n):
    """Return a grid on [V_lo, V_F] with V_R a node and about n points (even spacing each side)."""
    L = V_F - V_lo
    nR = max(2, int(round((n - 1) * (V_R - V_lo) / L)))
    nF = max(2, (n - 1) - nR)
    return np.concatenate([np.linspace(V_lo, V_R, nR + 1)[:-1], np.linspace(V_R, V_F, nF + 1)])


def stationary_rate_general(f: Callable | None, a: float, V_F: float, V_R: float, *,
                            V_lo: float | None = None, tau_ref: float = 0.0, n: int = QUAD_POINTS,
                            grid: np.ndarray | None = None, f_values: np.ndarray | None = None,
                            richardson: bool = True) -> float:
    r"""Stationary firing rate of ``dV = f(V) dt + sqrt(2a) dW``, threshold V_F, reset V_R.

    .. math::

        \frac1N = \tau_{ref} + \int_{V_{lo}}^{V_F} \frac1a e^{-\Phi(v)}
        \int_{\max(v, V_R)}^{V_F} e^{\Phi(w)}\,dw\,dv, \qquad \Phi' = -f/a,

    with zero flux at ``V_lo`` (a reflecting wall; far enough below the
    density it is the whole line).  Trapezoid rules in log space on a grid with
    ``V_R`` as a node; Richardson extrapolation on halved grids (drop it with
    ``richardson=False`` for a drift that is not smooth, such as a quantised
    one given on a lattice).

    Parameters
    ----------
    f : callable or None
        Vectorised drift ``f(V)``; or give ``grid`` and ``f_values``.
    a : float
        Diffusion coefficient (> 0).
    V_F, V_R : float
        Threshold and reset, ``V_R < V_F``.
    V_lo : float, optional
        Lower wall, default ``V_R - 10 sqrt(a) - 2 (V_F - V_R)`` below the
        lowest zero of ``-f`` on ``[V_R - 50, V_R]`` (well beyond the density).
    tau_ref : float
        Refractory time (same time unit as 1/f).
    n : int
        Grid points.
    grid, f_values : ndarray, optional
        An explicit grid (increasing, ending at V_F, containing V_R) and the drift on it.

    Returns
    -------
    float
        N (spikes per time unit); 0.0 when it underflows.
    """
    if not (a > 0 and math.isfinite(a)):
        raise InputError("diffusion must be positive", key="a", value=a, allowed="> 0")
    if not V_R < V_F:
        raise InputError("reset must lie below the threshold", key="V_R", value=V_R,
                         allowed=f"< V_F = {V_F}")
    if grid is not None:
        V = np.asarray(grid, dtype=np.float64)
        fv = np.asarray(f_values, dtype=np.float64)
        logI, _ = _log_firing_integral(V, fv, a, V_F, V_R)
    else:
        if V_lo is None:
            V_lo = _default_V_lo(f, a, V_F, V_R)
        # resolve the boundary layers: spacing below a / (4 max|f|)
        probe = np.linspace(V_lo, V_F, 257)
        fmax = float(np.max(np.abs(f(probe))))
        n = int(min(QUAD_POINTS_MAX, max(n, 8.0 * (V_F - V_lo) * fmax / a)))
        n += 1 - n % 2
        V = _grid(V_lo, V_F, V_R, n)
        logI, _ = _log_firing_integral(V, f(V), a, V_F, V_R)
        if richardson:
            V2 = _grid(V_lo, V_F, V_R, (n - 1) // 2 + 1)
            logI2, _ = _log_firing_integral(V2, f(V2), a, V_F, V_R)
            # I = I_h + C h^2: I ~ (4 I_h - I_2h) / 3, formed relative to I_h
            ratio = math.exp(logI2 - logI)
            corr = (4.0 - ratio) / 3.0
            if corr > 0:
                logI += math.log(corr)
    if tau_ref > 0:
        logI = float(np.logaddexp(logI, math.log(tau_ref)))
    return math.exp(-logI) if logI < 700 else 0.0


def _default_V_lo(f, a, V_F, V_R):
    probe = np.linspace(V_R - 50.0, V_R, 2001)
    fp = f(probe)
    # the lowest point where the drift pushes down (f < 0) bounds the bulk from below
    neg = np.nonzero(fp < 0)[0]
    base = probe[neg[0]] if neg.size else V_R - 50.0
    return min(base, V_R) - 10.0 * math.sqrt(a) - 2.0 * (V_F - V_R)


def stationary_rates_general(f: Callable, a: float, V_F: float, V_R: float, b: float = 0.0, *,
                             a1: float = 0.0, V_lo: float | None = None, tau_ref: float = 0.0,
                             n: int = 4001, n_max: float = 1e3) -> np.ndarray:
    """Every self-consistent rate of ``N = rate(f(V) + b N, a + a1 N)`` (increasing).

    Scans ``F(N) = N (tau_ref + I(N)) - 1`` on a log grid of N, refines local
    extrema that do not change sign (two roots near a fold), and solves each
    sign change with ``brentq``, as :func:`reference.analytic.stationary_rates`
    does for the linear drift.

    Parameters
    ----------
    f : callable
        Vectorised drift without the coupling.
    a, a1 : float
        Noise ``a + a1 N``.
    V_F, V_R : float
        Threshold and reset.
    b : float
        Coupling: the drift is ``f(V) + b N``.
    V_lo : float, optional
        Lower wall; default from ``f`` (see :func:`stationary_rate_general`), fixed for every N.
    tau_ref : float
        Refractory time.
    n : int
        Quadrature points per evaluation.
    n_max : float
        Largest rate scanned.

    Returns
    -------
    ndarray
    """
    if V_lo is None:
        V_lo = _default_V_lo(f, a, V_F, V_R) - max(0.0, -b) * 10.0

    def F(N):
        r = stationary_rate_general(lambda V: f(V) + b * N, a + a1 * N, V_F, V_R, V_lo=V_lo,
                                    tau_ref=tau_ref, n=n)
        return N / r - 1.0 if r > 0 else math.inf

    if b == 0 and a1 == 0:
        return np.array([stationary_rate_general(f, a, V_F, V_R, V_lo=V_lo, tau_ref=tau_ref,
                                                 n=n)])
    r0 = stationary_rate_general(f, a, V_F, V_R, V_lo=V_lo, tau_ref=tau_ref, n=n)
    n_lo = max(1e-300, 1e-3 * r0) if r0 > 0 else 1e-12
    if tau_ref > 0:
        n_max = min(n_max, 1.0 / tau_ref)
    return _scan_roots(F, n_lo, n_max)


def _scan_roots(F, n_lo, n_hi, per_decade=SCAN_PER_DECADE):
    """Roots of F on (n_lo, n_hi): log-grid scan, extrema refinement, brentq."""
    k = max(20, int(per_decade * math.log10(n_hi / n_lo)) + 1)
    grid = np.geomspace(n_lo, n_hi, k)
    vals = np.array([F(x) for x in grid])
    pts = list(zip(grid.tolist(), vals.tolist(), strict=True))
    extra = []
    for i in range(1, k - 1):
        f0, f1, f2 = vals[i - 1], vals[i], vals[i + 1]
        if not (np.isfinite(f0) and np.isfinite(f1) and np.isfinite(f2)):
            continue
        is_max = f1 >= f0 and f1 >= f2 and f1 < 0
        is_min = f1 <= f0 and f1 <= f2 and f1 > 0
        if not (is_max or is_min):
            continue
        sgn = -1.0 if is_max else 1.0
        res = minimize_scalar(lambda y: sgn * F(math.exp(y)),  # noqa: B023
                              bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])),
                              method="bounded", options={"xatol": 1e-10})
        fe = F(math.exp(res.x))
        if fe * f1 < 0:
            extra.append((math.exp(res.x), fe))
    pts = sorted(pts + extra)
    roots = []
    for (x0, f0), (x1, f1) in zip(pts[:-1], pts[1:], strict=True):
        if f0 == 0:
            roots.append(x0)
        elif np.isfinite(f0) and np.isfinite(f1) and f0 * f1 < 0:
            roots.append(brentq(F, x0, x1, xtol=1e-14 * x0, rtol=1e-12, maxiter=200))
    return np.array(sorted(roots))


# ---------------------------------------------------------------------------------
# the exact Markov chain

class ChainResult(NamedTuple):
    """Stationary state of the chip's voltage Markov chain.

    Attributes
    ----------
    rate : float
        Spikes per neuron per model time unit (``rate_per_tick / dt``).
    rate_per_tick : float
    v : int64 ndarray
        Lattice states (chip voltages), increasing.
    p : ndarray
        Stationary probability of each lattice state (plus ``p_ref`` refractory mass).
    p_ref : float
        Mass in the refractory states.
    p_floor : float
        Mass at the lowest state, ``v[0]`` (a truncation check when ``v[0]`` is above
        the register's lower limit; saturation otherwise).
    p_top : float
        Probability that a tick's update overflows the voltage register.
    method : str
        ``chain`` (stochastic, sparse solve) or ``orbit`` (deterministic cycle).
    exact : bool
        False where the coupling through a slowly decaying current is approximated.
    """

    rate: float
    rate_per_tick: float
    v: np.ndarray
    p: np.ndarray
    p_ref: float
    p_floor: float
    p_top: float
    method: str
    exact: bool


def _input_pmf(neuron: ChipNeuron, r_tick: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Distribution of the per-tick integer added to v: noise plus coupling input.

    Coupling: ``K ~ Binomial(P, r_tick)`` spikes of the previous tick, a_in =
    ``w K`` shifted by the exponent (floor for negative), ``<< act_shift``.
    With a slowly decaying current the input's charge is spread over several
    ticks; it is then approximated by delivering the total charge
    ``a_in / (1 - lambda_u)`` at once (``exact = False``).
    """
    vals, probs = neuron.noise_values, neuron.noise_probs
    exact = neuron.u_exact or neuron.template == "current" and neuron.u_factor == 0.0
    if neuron.template == "current" and neuron.noise_target == "u" and neuron.u_factor != 0 \
            and neuron.has_noise:
        exact = False
        # the AR(1) current with white input: variance of the filtered sum of one
        # noise draw, delivered at once (same low-frequency power)
        vals = np.round(vals / (1.0 - neuron.u_factor)).astype(np.int64)
    if neuron.coupling == 0 or r_tick <= 0:
        return vals, probs, exact
    k = np.arange(neuron.P + 1)
    pk = binom.pmf(k, neuron.P, min(1.0, r_tick))
    keep = pk > PMF_CUTOFF
    k, pk = k[keep], pk[keep] / pk[keep].sum()
    acc = neuron.coupling * k
    e = neuron.coupling_exp
    a_in = (acc << e) if e >= 0 else (acc >> -e)
    a_in = a_in << neuron.act_shift
    if neuron.u_factor != 0.0:
        exact = False
        a_in = np.round(a_in / (1.0 - neuron.u_factor)).astype(np.int64)
    # convolve the two distributions on their integer supports
    out = {}
    for x, px in zip(a_in.tolist(), pk.tolist(), strict=True):
        for y, py in zip(vals.tolist(), probs.tolist(), strict=True):
            out[x + y] = out.get(x + y, 0.0) + px * py
    v = np.array(sorted(out), dtype=np.int64)
    return v, np.array([out[i] for i in v.tolist()]), exact


def _lattice(neuron: ChipNeuron, vals, probs) -> tuple[int, int]:
    """``(v_min, v_max)`` of the chain's lattice."""
    lo, hi = neuron.v_range
    top = min(hi, neuron.th if neuron.profile.threshold["compare"] == ">" else neuron.th - 1)
    if neuron.profile.threshold["reset"] == "none":
        top = hi
    m = float(np.dot(vals, probs))
    var = float(np.dot((vals - m) ** 2, probs))
    lam = neuron.lam
    if lam < 1:
        v_fix = (neuron.bias + m) / (1.0 - lam)
        sd = math.sqrt(var / max(1e-300, 1.0 - lam * lam))
    else:
        v_fix = -math.inf if neuron.bias + m < 0 else 0.0
        sd = math.inf
    low = min(neuron.v_reset, 0, v_fix) - CHAIN_TAIL_SD * sd - (vals.max() - vals.min())
    v_min = lo if not math.isfinite(low) else int(max(lo, math.floor(low)))
    return v_min, top


def markov_rate(neuron: ChipNeuron, r_tick_in: float | None = None, *,
                max_states: int = CHAIN_MAX_STATES, max_fill: int = CHAIN_MAX_FILL
                ) -> ChainResult:
    """Exact stationary rate of the chip neuron's integer Markov chain.

    Parameters
    ----------
    neuron : ChipNeuron
    r_tick_in : float, optional
        Rate per tick of the presynaptic population feeding the coupling
        (default 0: uncoupled).  :func:`predict` solves the self-consistency.
    max_states, max_fill : int
        Refuse (``InputError``) lattices with more states, or more (states x noise
        span), than this.

    Returns
    -------
    ChainResult
    """
    r_in = 0.0 if r_tick_in is None else float(r_tick_in)
    vals, probs, exact = _input_pmf(neuron, r_in)
    if neuron.template == "xylo" and (neuron.coupling != 0 and r_in > 0):
        raise InputError("the chain models an uncoupled xylo neuron", key="coupling",
                         value=neuron.coupling, allowed="0")
    if vals.size == 1:
        return _orbit(neuron, int(vals[0]))
    if neuron.profile.threshold["reset"] == "subtract" and neuron.refractory > 0:
        raise InputError("refractory hold with subtractive reset is not modelled",
                         key="refractory", value=neuron.refractory, allowed="0")
    v_min, v_max = _lattice(neuron, vals, probs)
    S = v_max - v_min + 1
    n_pts = S * vals.size * (2 if neuron.profile.decay["v"].rounding == Rounding.STOCHASTIC else 1)
    span = int(vals.max() - vals.min()) + 1
    if S > max_states or n_pts > CHAIN_MAX_NNZ or S * span > max_fill:
        raise InputError("lattice too large for the exact chain", key="states", value=S,
                         allowed=f"<= {max_states} states and <= {CHAIN_MAX_NNZ} transitions")
    v = np.arange(v_min, v_max + 1, dtype=np.int64)
    lo_t, hi_t, p_hi = _pre_threshold(neuron, v)
    R = neuron.refractory
    n_states = S + R
    rows, cols, data = [], [], []
    spikes = np.zeros(S)
    p_top = np.zeros(S)
    v_lo_reg, v_hi_reg = neuron.v_range
    src = np.arange(S)
    for base, w_base in ((lo_t, 1.0 - p_hi), (hi_t, p_hi)):
        if not np.any(w_base > 0):
            continue
        for y, py in zip(vals.tolist(), probs.tolist(), strict=True):
            x = base + y
            if neuron.template == "xylo":
                x = _sat16(x, neuron.profile.state["v"].bits)
            over = (x > v_hi_reg) | (x < v_lo_reg)
            x = _overflow_v(neuron, x)
            k, after = _threshold(neuron, x)
            w = w_base * py
            spikes += w * k
            p_top += w * over
            fired = k > 0
            if R > 0:
                tgt = np.where(fired, S + R - 1, np.clip(after, v_min, v_max) - v_min)
            else:
                tgt = np.clip(after, v_min, v_max) - v_min
            m = w > 0
            rows.append(tgt[m])
            cols.append(src[m])
            data.append(np.broadcast_to(w, x.shape)[m])
    if R > 0:   # refractory chain: S + R - 1 -> ... -> S -> reset lattice state
        for j in range(R):
            rows.append(np.array([S + j - 1 if j > 0 else neuron.v_reset - v_min]))
            cols.append(np.array([S + j]))
            data.append(np.array([1.0]))
    T = sparse.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_states, n_states))
    # stationary: pi = T pi.  Fix pi[j0] = 1 at the reset state (always visited) and
    # solve the other equations, (I - T)_{rest,rest} x = T_{rest,j0}; no dense row, so
    # the sparse LU keeps the band structure.
    j0 = int(np.clip(neuron.v_reset - v_min, 0, S - 1))
    keep = np.ones(n_states, dtype=bool)
    keep[j0] = False
    Tc = T.tocsc()
    A = sparse.identity(n_states - 1, format="csc") - Tc[keep][:, keep]
    rhs = np.asarray(Tc[keep][:, [j0]].todense()).ravel()
    x = spsolve(A.tocsc(), rhs)
    pi = np.empty(n_states)
    pi[keep] = x
    pi[j0] = 1.0
    pi = np.maximum(pi, 0.0)
    pi /= pi.sum()
    p_lat = pi[:S]
    r_tick = float(np.dot(spikes, p_lat))
    return ChainResult(rate=r_tick / neuron.dt, rate_per_tick=r_tick, v=v, p=p_lat,
                       p_ref=float(pi[S:].sum()), p_floor=float(p_lat[0]),
                       p_top=float(np.dot(p_top, p_lat)), method="chain", exact=exact)


def _orbit(neuron: ChipNeuron, const: int) -> ChainResult:
    """Deterministic chip (no noise): follow the orbit from the reset value to its cycle."""
    seen: dict[int, int] = {}
    v = neuron.v_reset
    spikes_at = []
    ref_left = 0
    hist = []
    state = (v, 0)
    t = 0
    while t < ORBIT_MAX_TICKS:
        key = state[0] * (neuron.refractory + 1) + state[1]
        if key in seen:
            start = seen[key]
            period = t - start
            n_spk = sum(spikes_at[start:])
            r_tick = n_spk / period
            vs = np.array(hist[start:], dtype=np.int64)
            uniq, cnt = np.unique(vs, return_counts=True)
            return ChainResult(rate=r_tick / neuron.dt, rate_per_tick=r_tick, v=uniq,
                               p=cnt / cnt.sum(), p_ref=0.0, p_floor=0.0, p_top=0.0,
                               method="orbit", exact=True)
        seen[key] = t
        v, ref_left = state
        if ref_left > 0:
            ref_left -= 1
            k = 0
        else:
            lo_t, _, _ = _pre_threshold(neuron, np.array([v]))
            x = lo_t + const
            if neuron.template == "xylo":
                x = _sat16(x, neuron.profile.state["v"].bits)
            x = _overflow_v(neuron, x)
            kk, after = _threshold(neuron, x)
            k, v = int(kk[0]), int(after[0])
            if k > 0 and neuron.refractory > 0:
                ref_left = neuron.refractory
        spikes_at.append(k)
        hist.append(v)
        state = (v, ref_left)
        t += 1
    raise InputError("no periodic orbit found", key="ticks", value=ORBIT_MAX_TICKS)


# ---------------------------------------------------------------------------------
# diffusion with the quantised drift, and moment activation

class DiffusionResult(NamedTuple):
    """Stationary rates of the diffusion with the quantised drift.

    Attributes
    ----------
    rates : ndarray
        Every self-consistent rate (model units), increasing.
    a : float
        Diffusion achieved by the PRNG, ``var / (2 dt v_scale^2)``.
    V_F : float
        Threshold as represented, with the discrete-monitoring shift.
    b : float
        Quantised coupling in model units, ``P * charge / v_scale``.
    """

    rates: np.ndarray
    a: float
    V_F: float
    b: float


def diffusion_rate(neuron: ChipNeuron, *, monitoring_shift: bool = True) -> DiffusionResult:
    """Stationary rates of the diffusion with the quantised drift :func:`quantised_drift`.

    The drift is the exact mean one-tick increment on the lattice, interpolated
    linearly between lattice values; the diffusion is the PRNG's variance; the
    threshold is ``th / v_scale`` above the reset (plus ``0.5826 sqrt(2 a dt)``
    for tick-end monitoring); the coupling adds ``b N`` with the quantised
    charge per spike.  Requires a noise source.
    """
    if not neuron.has_noise:
        raise InputError("the diffusion prediction needs a noise source", key="noise",
                         value=False, allowed="true")
    a = neuron.noise_var / (2.0 * neuron.dt * neuron.v_scale ** 2)
    if neuron.noise_target == "u" and 0 < neuron.u_factor < 1:
        a /= (1.0 - neuron.u_factor) ** 2
    tab = quantised_drift(neuron)
    V_R = neuron.V_R + neuron.v_reset / neuron.v_scale
    th = neuron.th + (1 if neuron.profile.threshold["compare"] == ">" else 0)
    V_F = neuron.V_R + th / neuron.v_scale
    if monitoring_shift:
        V_F += BG_BETA * math.sqrt(2.0 * a * neuron.dt)
    Vt, ft = tab.V, tab.f_q

    def f(V):
        return np.interp(V, Vt, ft, left=ft[0], right=ft[-1])

    b = neuron.P * neuron.charge / neuron.v_scale if neuron.coupling else 0.0
    V_lo = max(Vt[0], _default_V_lo(f, a, V_F, V_R))
    rates = stationary_rates_general(f, a, V_F, V_R, b, V_lo=V_lo,
                                     tau_ref=neuron.refractory * neuron.dt)
    return DiffusionResult(rates=rates, a=a, V_F=V_F, b=b)


def moment_prediction(neuron: ChipNeuron, extra_mean: float = 0.0):
    """Moment activation of the effective linear model (see the module docstring for the units).

    ``extra_mean`` (model volts per time constant) is added to the input mean,
    e.g. the coupling ``b N``.

    Returns
    -------
    reference.moment.MomentOutput
        Rate per membrane time constant, phi_sigma, chi (uncoupled input).
    """
    from reference.moment import moment_activation
    L = (1.0 - neuron.lam) / neuron.dt
    scale = neuron.v_scale * neuron.dt
    mean = (neuron.bias + neuron.noise_mean) / scale + extra_mean
    std = math.sqrt(neuron.noise_var / neuron.dt) / neuron.v_scale
    th = neuron.th + (1 if neuron.profile.threshold["compare"] == ">" else 0)
    if L <= 0:
        L = 1e-12
    return moment_activation(mean, std, L=L, V_th=th / neuron.v_scale, V_res=neuron.v_reset /
                             neuron.v_scale, T_ref=neuron.refractory * neuron.dt)


# ---------------------------------------------------------------------------------
# the combined prediction

class MeanFieldPrediction(NamedTuple):
    """The quantised mean-field prediction.

    Attributes
    ----------
    rates : ndarray
        Every self-consistent stationary rate (model units), increasing.
    rate : float
        The lowest one (NaN when there is none).
    method : str
        ``chain``, ``orbit`` or ``diffusion``.
    exact : bool
        True when the chain is the exact integer process of an uncoupled neuron
        or a mean-field chain with white input.
    chain : ChainResult or None
        The chain at ``rate`` (None for the diffusion method).
    note : str
        Why the diffusion method was used, if it was.
    """

    rates: np.ndarray
    rate: float
    method: str
    exact: bool
    chain: ChainResult | None
    note: str


def predict(neuron: ChipNeuron, *, method: str = "auto", r_max_tick: float = 0.5
            ) -> MeanFieldPrediction:
    """Predict the stationary rate of the quantised network.

    ``method="auto"`` uses the exact chain when the lattice is small enough,
    else the diffusion with the quantised drift.  With coupling the chain is
    iterated to self-consistency: every root of ``r = chain(r)`` on
    ``(0, r_max_tick]`` per tick.
    """
    note = ""
    if method in ("auto", "chain"):
        try:
            if neuron.coupling == 0:
                res = markov_rate(neuron)
                return MeanFieldPrediction(np.array([res.rate]), res.rate, res.method,
                                           res.exact, res, "")
            return _coupled_chain(neuron, r_max_tick)
        except InputError as exc:
            if method == "chain":
                raise
            note = exc.message
    if not neuron.has_noise:     # a coupled noise-free chip: the deterministic mean field
        b = neuron.P * neuron.charge / neuron.v_scale
        F = lambda N: float(moment_prediction(neuron, b * N).mean) / N - 1.0  # noqa: E731
        r0 = float(moment_prediction(neuron).mean)
        roots = _scan_roots(F, max(1e-9, 1e-3 * r0), r_max_tick / neuron.dt, per_decade=10)
        rate = float(roots[0]) if roots.size else math.nan
        return MeanFieldPrediction(roots, rate, "moment", False, None,
                                   note or "noise-free coupled chip: deterministic mean field")
    d = diffusion_rate(neuron)
    rate = float(d.rates[0]) if d.rates.size else math.nan
    return MeanFieldPrediction(d.rates, rate, "diffusion", False, None, note)


def _coupled_chain(neuron: ChipNeuron, r_max_tick: float) -> MeanFieldPrediction:
    cache: dict[float, ChainResult] = {}

    def g(r):
        if r not in cache:
            cache[r] = markov_rate(neuron, r, max_fill=CHAIN_MAX_FILL_COUPLED)
        return cache[r].rate_per_tick

    r0 = g(0.0)
    lo = max(1e-9, 1e-2 * r0) if r0 > 0 else 1e-9
    F = lambda r: g(r) / r - 1.0  # noqa: E731
    roots = _scan_roots(F, lo, r_max_tick, per_decade=8)
    if not roots.size:
        return MeanFieldPrediction(np.zeros(0), math.nan, "chain", False, None,
                                   "no self-consistent rate")
    res = markov_rate(neuron, float(roots[0]))
    return MeanFieldPrediction(roots / neuron.dt, float(roots[0]) / neuron.dt, "chain",
                               res.exact, res, "")
