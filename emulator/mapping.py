r"""Mapping a float NLIF model onto a chip's registers (SPEC section 6), and back.

The model (:mod:`reference.lif`, time in membrane time constants)

.. math::

    dV = (-V + I_{ext}(t))\,dt + \frac{b}{P}\sum_j dM_j + \sqrt{2a}\,dW,
    \qquad V \ge V_F \Rightarrow V \leftarrow V_R,

becomes one chip core of ``P`` neurons, one tick = ``dt``.  The chip voltage is
``v = (V - V_R) * scale`` (``scale`` = ``v_scale``, LSB per model volt), so the
chip's reset to zero is ``V_R`` and its leak toward 0 is the model's leak
toward ``V_R``; the constant input then enters as ``(I_ext - V_R) dt * scale``
per tick.  One tick of the ``current`` template (Loihi 1, generic) is then the
Euler-Maruyama step of the reference's particle solver, in integers:

===============  ==========================================================
register         value (``loihi1`` names)
===============  ==========================================================
threshold        ``vth = round((V_F - V_R) scale / 2**threshold.shift)``
reset            ``v = 0`` (``reset = zero``; ``v_reset = 0`` for ``to_value``)
voltage decay    ``dv = round(dt 2**k) - offset``: factor ``1 - (dv + offset)/2**k``
current decay    ``du`` = its largest value: Loihi's ``du = 4095`` (+ offset 1)
                 gives factor 0, so ``u`` is the input of the tick only
bias             ``bias_mant << bias_exp = round((I0 - V_R) dt scale)``
noise            ``noise_exp`` (and the kind) whose exact integer variance is
                 nearest ``2 a dt scale**2``
coupling         an all-to-all recurrent projection of the P neurons onto
                 themselves, ``w * 2**(weight_exp + act_shift) ~ (b/P) scale``
delay            the profile's recurrent delay (1 tick on Loihi 1): a spike of
                 tick n kicks at tick n+1, the model's "delayed kicks" scheme
refractory       ``round(tau_ref / dt)`` ticks where the chip has a counter
===============  ==========================================================

Choices, with their reasons:

* **Decay = 1 - dt, not exp(-dt).**  The chip tick then equals the reference's
  Euler-Maruyama step (same drift, same noise per step), so emulator and
  float micro solver at the same ``dt`` differ only by quantisation.  The two
  differ by ``dt**2/2``, i.e. ``2**k dt**2 / 2`` register LSB: below half an LSB
  (the same register) whenever ``dt < 2**(-k/2)`` (``1/64`` on Loihi 1).
* **Time-dependent input.**  A per-tick external current is not a register:
  the constant part ``I0`` goes to the bias, the time-dependent part
  (``I1`` of ``step``/``periodic``) is reported as not mapped (a warning, an
  error under ``strict``).  Driving it through input spikes is left to the
  caller.
* **Noise** is added once per tick to the profile's noise target.  The
  variance of the integer distributions is exact: a uniform mantissa on
  ``[-2**(m-1), 2**(m-1))`` has ``(4**m - 1)/12``, a sum of ``terms`` of them
  ``terms`` times that, ``binomial`` (``2 popcount - terms``) ``terms``; all
  times ``4**exp``.  The profile's noise kind is used (``uniform`` where the
  profile states ``none``: the source the engine switches on, Loihi's
  mantissa times ``2**exp``); ``noise_kind="auto"`` picks the best of the three.
* **Weight exponents >= 0 only.**  The chip shifts the *sum* of a tick's
  weights, flooring for a negative exponent, so a negative exponent makes the
  kick depend on the spike count; ``e >= 0`` is exact per spike.
* **Automatic scale** (``v_scale=None`` and no ``[mapping] v_scale``): the
  largest scale at which the expected excursion ``E`` fits the voltage
  register with ``HEADROOM``, ``scale_max = v_max / (HEADROOM * E)``, where
  ``E = max(V_F - V_R + max(b, 0)/P + 6 sqrt(2 a dt), V_R - V_lo)`` and
  ``V_lo = min(V_R, min I_ext, lowest initial voltage) - 6 sqrt(a)`` (6
  stationary standard deviations of the free membrane); also capped by the
  threshold register.  It is then lowered to the nearest scale at which the
  chosen noise variance is exact (consecutive noise exponents differ by a
  factor 2 in scale), or, without noise, at which the threshold is exact.
* **Xylo** (no noise source): a model with ``a > 0`` maps with noise 0 and a
  warning.  Its synaptic current decays *before* it is read, so a kick cannot
  be instantaneous: ``dash_syn = 1`` delivers the weight as ``w/2, w/4, ...``
  over the next ticks; the represented coupling is the exact integer sum of
  that sequence.  Its reset subtracts the threshold (the overshoot is kept).

The inverse, :meth:`ChipMapping.effective_model`, turns the registers back
into the float model the chip actually integrates (see its docstring): the
basis of the mean-field path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from emulator.network import Network, Projection, quantize_weights
from emulator.profile import BIAS_REGISTERS, Profile
from reference.errors import InputError
from reference.lif import InputCurrent, NLIFModel
from reference.scenario import InitSpec, Scenario

__all__ = ["ChipMapping", "ParamReport", "map_model", "noise_mean", "noise_variance"]

#: The expected excursion uses at most 1/HEADROOM of the voltage register (one spare bit).
HEADROOM = 2.0
#: Standard deviations counted as the "expected" excursion of the voltage.
EXCURSION_SIGMAS = 6.0
#: Broadie-Glasserman-Kou constant -zeta(1/2)/sqrt(2 pi): a barrier checked once per step
#: of a Gaussian walk with step std s acts as a continuous one shifted by 0.5826 s.
BGK_CONSTANT = 0.5825971579390106
#: Keys of a scenario's [mapping] section.
MAPPING_KEYS = ("v_scale", "tolerance", "strict", "noise_kind")
NOISE_CHOICES = ("uniform", "sum_uniform", "binomial")
SUPPORTED_TEMPLATES = ("current", "xylo")
#: Xylo's synaptic decay shift for recurrent kicks (0 would erase the kick before use).
XYLO_DASH_SYN = 1


@dataclass(frozen=True, slots=True)
class ParamReport:
    """One mapped parameter.

    Parameters
    ----------
    name : str
        The model parameter (``threshold``, ``reset``, ``decay``, ...).
    real : float
        Its value in the model (model units; per tick where stated).
    register : str
        The register value(s) chosen, ``name=value`` pairs.
    represented : float
        The value the register actually represents, in the same units as ``real``.
    rel_error : float
        ``|represented - real| / |real|`` (absolute error where ``real == 0``).
    warning : str
        Empty, or why the value rounds to zero, saturates or loses more than the
        tolerance.
    allowed : str
        What the register can represent (used by strict mode's error message).
    """

    name: str
    real: float
    register: str
    represented: float
    rel_error: float
    warning: str = ""
    allowed: str = ""


def _rel(real: float, rep: float) -> float:
    return abs(rep - real) / abs(real) if real != 0 else abs(rep)


def noise_mean(kind: str, terms: int, exp: int) -> float:
    """Exact mean (register LSB) of the engine's integer noise ``mantissa << exp``.

    A uniform mantissa on ``[-2**(m-1), 2**(m-1))`` has mean -1/2, so ``uniform``
    has ``-2**exp / 2`` and ``sum_uniform`` ``-terms 2**exp / 2``; ``binomial`` is
    centred.  :func:`map_model` cancels it with the bias.
    """
    if kind == "uniform":
        return -0.5 * 2 ** exp
    if kind == "sum_uniform":
        return -0.5 * terms * 2 ** exp
    return 0.0


def noise_variance(kind: str, mant_bits: int, terms: int, exp: int) -> float:
    """Exact variance (register LSB**2) of the engine's integer noise ``mantissa << exp``.

    ``uniform``: ``(4**m - 1)/12 * 4**exp``; ``sum_uniform``: ``terms`` times
    that; ``binomial`` (``2 popcount - terms``): ``terms * 4**exp``.  Returned
    as a float (the uniform variance is not an integer).
    """
    if kind == "uniform":
        return (4 ** mant_bits - 1) / 12 * 4 ** exp
    if kind == "sum_uniform":
        return terms * (4 ** mant_bits - 1) / 12 * 4 ** exp
    if kind == "binomial":
        return float(terms * 4 ** exp)
    if kind == "none":
        return 0.0
    raise InputError("unknown noise kind", key="noise_kind", value=kind,
                     allowed=", ".join(NOISE_CHOICES))


@dataclass(frozen=True)
class ChipMapping:
    """A float NLIF model mapped onto a profile's registers (build with :func:`map_model`).

    Attributes
    ----------
    profile : Profile
    network : Network
        P neurons, the registers, the recurrent all-to-all projection (absent
        when the coupling is 0), the quantised initial voltages ``init["v"]``
        and the noise switch.
    ticks : int
        ``round(T / dt)``.
    v_scale : float
        Chip voltage LSB per model volt: ``v = (V - V_R) * v_scale``.
    dt : float
        Model time per tick (membrane time constants).
    report : tuple of ParamReport
        One row per parameter.
    model : NLIFModel
        The model that was mapped.
    effective : mapping
        What the registers represent, in model units per tick: ``V_F``,
        ``V_R``, ``leak`` (fraction of ``V - V_R`` removed per tick), ``drift``
        (bias per tick), ``noise_var`` (per tick), ``kick`` (per spike),
        ``delay`` (ticks), ``refractory`` (ticks).
    """

    profile: Profile
    network: Network
    ticks: int
    v_scale: float
    dt: float
    report: tuple[ParamReport, ...]
    model: NLIFModel
    effective: Mapping[str, float] = field(default_factory=dict)

    def param(self, name: str) -> ParamReport:
        """Return the report row of parameter ``name``."""
        for row in self.report:
            if row.name == name:
                return row
        raise KeyError(name)

    @property
    def warnings(self) -> list[str]:
        """``"name: warning"`` for every row with a warning."""
        return [f"{r.name}: {r.warning}" for r in self.report if r.warning]

    @property
    def leak_rate(self) -> float:
        """lambda, the chip's leak rate per model time constant: ``leak per tick / dt``."""
        return self.effective["leak"] / self.dt

    @property
    def effective_dt(self) -> float:
        """One tick in the effective model's time unit (``1/lambda``): ``lambda dt``."""
        return self.effective["leak"]

    def effective_params(self) -> dict[str, float]:
        """Return the effective parameters, in the time unit ``1/lambda`` (no NLIFModel checks).

        ``a`` may be 0 here (Xylo, or noise switched off); see :meth:`effective_model`.
        """
        e = self.effective
        lam_dt = e["leak"]
        if lam_dt <= 0:
            raise InputError("the chip's voltage does not leak (decay factor 1): no "
                             "effective leaky model", key="decay", value=1.0 - lam_dt,
                             allowed="a decay factor < 1")
        return {"V_F": e["V_F"], "V_R": e["V_R"], "I0": e["V_R"] + e["drift"] / lam_dt,
                "a": e["noise_var"] / (2.0 * lam_dt), "b": e["kick"] * self.network.n,
                "tau_ref": e["refractory"] * lam_dt, "dt": lam_dt, "leak_rate": self.leak_rate}

    def effective_model(self, *, discrete_threshold: bool = False) -> NLIFModel:
        r"""Return the float NLIF model the registers actually encode.

        In model units ``x = v / scale`` one tick is
        ``x' = f x + beta + kappa K + eta`` (``f`` the represented decay factor,
        ``beta`` the represented bias, ``kappa`` the represented kick per spike,
        ``Var eta`` the exact noise variance).  Read as an Euler step of
        ``dV = (-lambda (V - V_R) + beta/dt) dt + kappa dM + sqrt(Var eta/dt) dW``
        with ``lambda = (1 - f)/dt``, and rescaled to the time unit ``1/lambda``
        (so the leak rate is 1, as in :class:`NLIFModel`):

        * ``I_ext = V_R + beta / (lambda dt)`` (constant),
        * ``a = Var eta / (2 lambda dt)``, ``b = kappa P``,
        * ``V_F = V_R + threshold / scale``, ``V_R`` exact,
        * ``tau_ref = ticks * lambda dt``.

        Rates of the effective model are per ``1/lambda``: multiply by
        :attr:`effective_dt` for spikes per neuron per tick.  Rounding biases of
        the decay (truncation toward zero, Xylo's minimum step) are not included.

        Parameters
        ----------
        discrete_threshold : bool
            Shift ``V_F`` up by ``0.5826 sqrt(2 a dt_eff)`` (Broadie-Glasserman-Kou):
            the chip compares once per tick, which for Gaussian steps acts as a
            continuous threshold that much higher (the O(sqrt(dt)) rate bias of
            notes/multiscale.md 1).  Exact constant for Gaussian noise only.

        Raises
        ------
        InputError
            The chip adds no noise (``a = 0``: NLIFModel needs ``a > 0``), or does
            not leak.
        """
        p = self.effective_params()
        if not p["a"] > 0:
            raise InputError("the chip adds no noise, and an NLIFModel needs a > 0; use "
                             "effective_params()", key="noise std", value=0.0, allowed="> 0")
        V_F = p["V_F"]
        if discrete_threshold:
            V_F += BGK_CONSTANT * math.sqrt(2.0 * p["a"] * p["dt"])
        return NLIFModel(V_F=V_F, V_R=p["V_R"], a0=p["a"], a1=0.0, b=p["b"],
                         tau_ref=p["tau_ref"], input=InputCurrent("constant", I0=p["I0"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"profile", "v_scale", "dt", "ticks", "parameters": [...]}``."""
        return {"profile": self.profile.name, "v_scale": self.v_scale, "dt": self.dt,
                "ticks": self.ticks, "parameters": [asdict(r) for r in self.report]}


# ---------------------------------------------------------------------------------
# the mapping

class _Rows:
    """Collects report rows, flagging warnings against the tolerance."""

    def __init__(self, tolerance: float) -> None:
        self.tol = tolerance
        self.rows: list[ParamReport] = []

    def add(self, name, real, register, rep, *, saturated=False, extra="", allowed="",
            check=True, rel=None):
        err = _rel(real, rep) if rel is None else rel
        warn = []
        if check:
            if real != 0 and rep == 0:
                warn.append("rounds to zero")
            if saturated:
                warn.append("saturates the register")
            if err > self.tol and not (real != 0 and rep == 0):
                warn.append(f"loses {100 * err:.3g}% (tolerance {100 * self.tol:.3g}%)")
        if extra:
            warn.append(extra)
        self.rows.append(ParamReport(name, float(real), register, float(rep), float(err),
                                     "; ".join(warn), allowed))


def _settings(scenario: Scenario | None, v_scale, tolerance, strict, noise_kind):
    sec = scenario.raw.get("mapping", {}) if scenario is not None else {}
    file = scenario.file if scenario is not None else None
    if not isinstance(sec, dict):
        raise InputError("must be a table", file=file, key="mapping", value=sec)
    for k in sec:
        if k not in MAPPING_KEYS:
            raise InputError("unknown key", file=file, key=f"mapping.{k}",
                             allowed=", ".join(MAPPING_KEYS))
    if v_scale is None:
        v_scale = sec.get("v_scale")
    if tolerance is None:
        tolerance = sec.get("tolerance", 0.01)
    if strict is None:
        strict = sec.get("strict", False)
    if noise_kind is None:
        noise_kind = sec.get("noise_kind")
    if v_scale is not None and (isinstance(v_scale, bool) or not isinstance(v_scale, (int, float))
                                or not math.isfinite(v_scale) or v_scale <= 0):
        raise InputError("must be a positive number", file=file, key="mapping.v_scale",
                         value=v_scale, allowed="> 0")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not 0 <= tolerance < math.inf:
        raise InputError("must be a number >= 0", file=file, key="mapping.tolerance",
                         value=tolerance, allowed=">= 0")
    if not isinstance(strict, bool):
        raise InputError("must be true or false", file=file, key="mapping.strict", value=strict)
    if noise_kind is not None and noise_kind not in NOISE_CHOICES + ("auto",):
        raise InputError("unknown noise kind", file=file, key="mapping.noise_kind",
                         value=noise_kind, allowed=", ".join(NOISE_CHOICES + ("auto",)))
    return (None if v_scale is None else float(v_scale)), float(tolerance), strict, noise_kind


def _v_decay(profile: Profile, dt: float):
    """Voltage decay register for ``dt``: (register name, value, leak per tick, saturated)."""
    spec = profile.decay["v"]
    if spec.kind == "none":
        return "", 0, 0.0, False
    reg = profile.params[spec.register]
    lo, hi = reg.range
    if spec.kind == "multiply":
        one = 1 << spec.shift
        d = round(dt * one) - spec.offset
        if d > hi:
            raise InputError("time step too large for the voltage decay register", key="dt",
                             value=dt, allowed=f"dt <= {(hi + spec.offset + 0.5) / one:.6g} "
                             f"({spec.register} <= {hi}: leak per tick "
                             f"({spec.register} + {spec.offset})/{one})")
        d = max(d, lo)
        return spec.register, d, (d + spec.offset) / one, False
    # shift: x -= x >> d, leak per tick 2**-d
    if dt > 2.0 ** -lo * 1.5:
        raise InputError("time step too large for the voltage decay register", key="dt",
                         value=dt, allowed=f"dt <= {2.0 ** -lo:g} (leak per tick 2**-"
                         f"{spec.register}, {spec.register} >= {lo})")
    cands = range(lo, min(hi, 62) + 1)
    d = min(cands, key=lambda k: abs(-k * math.log(2.0) - math.log(dt)))
    return spec.register, d, 2.0 ** -d, d == hi and 2.0 ** -d > dt * 1.5


def _scale_max(profile: Profile, model: NLIFModel, P: int, dt: float, init: InitSpec | None,
               V_min: float) -> float:
    """Return the largest scale at which the expected excursion fits (see module doc)."""
    a, V_F, V_R = model.a0, model.V_F, model.V_R
    inp = model.input
    I_min = inp.I0 - (abs(inp.I1) if inp.kind != "constant" else 0.0)
    init_lo = V_R
    if init is not None:
        init_lo = {"gaussian": max(init.v0 - EXCURSION_SIGMAS * init.sigma0, V_min),
                   "uniform": init.low, "point": init.v0}[init.kind]
    V_lo = min(V_R, I_min, init_lo) - EXCURSION_SIGMAS * math.sqrt(a)
    E = max(V_F - V_R + max(model.b, 0.0) / P + EXCURSION_SIGMAS * math.sqrt(2 * a * dt),
            V_R - V_lo)
    v_hi = profile.state["v"].range[1]
    th = profile.threshold
    th_hi = profile.params[th["register"]].range[1] << th["shift"]
    return min(v_hi / (HEADROOM * E), min(th_hi, v_hi) / (V_F - V_R))


def _noise_setup(profile: Profile, noise_kind: str | None):
    """(kind, mant_bits, terms, exponent register name, exponent range) or None (no source)."""
    if profile.template != "current":
        return None
    nz = profile.noise
    if not nz.get("exponent"):
        return None
    kind = noise_kind or (nz["kind"] if nz["kind"] != "none" else "uniform")
    return (kind, nz["mant_bits"], nz.get("terms", 4), nz["exponent"],
            profile.params[nz["exponent"]].range)


def _best_noise(setup, target_var: float):
    kinds = NOISE_CHOICES if setup[0] == "auto" else (setup[0],)
    best = None
    for kind in kinds:
        for e in range(max(setup[4][0], 0), setup[4][1] + 1):
            var = noise_variance(kind, setup[1], setup[2], e)
            err = abs(math.log(var / target_var))
            if best is None or err < best[0] - 1e-12:
                best = (err, kind, e, var)
    return best[1], best[2], best[3]


def _choose_scale(profile, model, P, dt, init, V_min, setup, noise_on):
    s_max = _scale_max(profile, model, P, dt, init, V_min)
    span = model.V_F - model.V_R
    sigma = math.sqrt(2 * model.a0 * dt)
    if noise_on and setup is not None:
        kinds = NOISE_CHOICES if setup[0] == "auto" else (setup[0],)
        fits = []
        for kind in kinds:
            for e in range(max(setup[4][0], 0), setup[4][1] + 1):
                s = math.sqrt(noise_variance(kind, setup[1], setup[2], e)) / sigma
                if s <= s_max:
                    fits.append(s)
        if fits and max(fits) >= s_max / 2:
            return max(fits)
    th = profile.threshold
    m = min(math.floor(span * s_max / 2 ** th["shift"]), profile.params[th["register"]].range[1])
    if m < 1:
        raise InputError("the voltage register cannot hold the threshold with the expected "
                         "excursion", key="v_scale", value=s_max,
                         allowed="a wider voltage register")
    return m * 2 ** th["shift"] / span


def _fit_mant_exp(target: float, m_range, e_range, extra_shift: int = 0):
    """Smallest exponent e >= 0 with round(target / 2**(e+extra)) in m_range: (m, e, saturated)."""
    lo, hi = m_range
    e_lo, e_hi = max(e_range[0], 0), e_range[1]
    for e in range(e_lo, e_hi + 1):
        m = round(target / 2 ** (e + extra_shift))
        if lo <= m <= hi:
            return m, e, False
    m = round(target / 2 ** (e_hi + extra_shift))
    return min(max(m, lo), hi), e_hi, True


def _xylo_kick(w16: int, dash: int) -> int:
    """Total charge a recurrent weight delivers to v through a Xylo current with ``dash``.

    isyn = w is decayed before each read (``x -= max(x >> dash, sign x)``); the sum of the
    values read until it reaches 0.
    """
    x, total = w16, 0
    while x != 0:
        s = x >> dash
        if s == 0:
            s = 1 if x > 0 else -1
        x -= s
        total += x
    return total


def map_model(scenario_or_model: Scenario | NLIFModel, profile: Profile, *, P: int | None = None,
              dt: float | None = None, T: float | None = None, v_scale: float | None = None,
              tolerance: float | None = None, strict: bool | None = None,
              noise: bool = True, noise_kind: str | None = None) -> ChipMapping:
    """Map a float NLIF model onto ``profile``'s registers.

    Parameters
    ----------
    scenario_or_model : Scenario or NLIFModel
        A scenario (model, P, dt, T, init, seed, and its ``[mapping]`` section:
        ``v_scale``, ``tolerance``, ``strict``, ``noise_kind``) or a bare model
        (then ``P`` and ``dt`` are required; ``T`` defaults to 1, every neuron
        starts at ``V_R``).
    profile : Profile
        ``current`` (loihi1, generic with any overrides) or ``xylo`` template.
    P, dt, T : optional
        Override the scenario's network size, time step and run length.
    v_scale : float, optional
        Chip LSB per model volt; default: the scenario's, else automatic (module doc).
    tolerance : float, optional
        Relative error above which a row warns (default 0.01, or the scenario's).
    strict : bool, optional
        Raise :class:`InputError` at the first warning (default False, or the scenario's).
    noise : bool
        Map the noise (``False``: a deterministic run; the noise row reports 0).
    noise_kind : {"uniform", "sum_uniform", "binomial", "auto"}, optional
        Noise distribution of ``current`` chips (default: the profile's).

    Returns
    -------
    ChipMapping

    Raises
    ------
    InputError
        Bad arguments; a threshold beyond its register; ``dt`` too large for the
        decay register; a profile whose mapping is not implemented; with
        ``strict``, any warning (one line naming the parameter, value, what is allowed).
    """
    scenario = scenario_or_model if isinstance(scenario_or_model, Scenario) else None
    if scenario is not None:
        model = scenario.model
        P = scenario.P if P is None else P
        dt = scenario.dt if dt is None else dt
        T = scenario.T if T is None else T
        init, seed, V_min = scenario.init, scenario.seed, scenario.grid.V_min
    elif isinstance(scenario_or_model, NLIFModel):
        model, init, seed, V_min = scenario_or_model, None, 0, -math.inf
        if P is None or dt is None:
            raise InputError("mapping a bare model needs P and dt", key="P" if P is None
                             else "dt", value=None)
        T = 1.0 if T is None else T
    else:
        raise InputError("must be a Scenario or an NLIFModel", key="scenario_or_model",
                         value=type(scenario_or_model).__name__)
    if isinstance(P, bool) or not isinstance(P, (int, np.integer)) or P < 1:
        raise InputError("must be a positive integer", key="P", value=P, allowed=">= 1")
    for name, x in (("dt", dt), ("T", T)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf:
            raise InputError("must be a positive number", key=name, value=x, allowed="> 0")
    P, dt, T = int(P), float(dt), float(T)
    if profile.template not in SUPPORTED_TEMPLATES:
        raise InputError(f"mapping onto {profile.name} is not implemented yet",
                         key="profile", value=profile.name,
                         allowed="profiles of the current (loihi1, generic) or xylo template")
    v_scale, tol, strict, noise_kind = _settings(scenario, v_scale, tolerance, strict, noise_kind)
    rows = _Rows(tol)
    V_F, V_R, span = model.V_F, model.V_R, model.V_F - model.V_R
    params: dict[str, int] = {}
    xylo = profile.template == "xylo"

    # --- time step and voltage decay ------------------------------------------------
    rows.add("dt", dt, "1 tick", dt, check=False)
    dreg, dval, leak, dsat = _v_decay(profile, dt)
    if dreg:
        params[dreg] = dval
    dspec = profile.decay["v"]
    reg_txt = f"{dreg}={dval}" if dreg else "decay.v.kind=none"
    rows.add("decay", 1.0 - dt, reg_txt, 1.0 - leak, saturated=dsat,
             allowed=f"{dspec.kind} decay of {profile.name}")
    # --- scale ----------------------------------------------------------------------
    setup = _noise_setup(profile, noise_kind) if noise else None
    scale = v_scale if v_scale is not None else _choose_scale(
        profile, model, P, dt, init, V_min, setup, noise)

    step = span * scale * leak          # LSB the decay removes per tick near threshold
    coarse = (f"the decay step near threshold is only {step:.3g} LSB: its rounding changes the "
              "leak by up to 1 LSB per tick") if 0 < step and 1 / step > tol else ""
    rows.add("leak rate", 1.0, reg_txt, leak / dt,
             extra="the voltage does not decay" if leak == 0 else coarse,
             allowed="leak per tick " + ("(dv + offset)/2**shift" if dspec.kind == "multiply"
                                         else "2**-dash"))

    # --- threshold and reset ------------------------------------------------------
    th = profile.threshold
    th_spec = profile.params[th["register"]]
    m = round(span * scale / 2 ** th["shift"])
    v_hi = profile.state["v"].range[1]
    if m > th_spec.range[1] or (m << th["shift"]) > v_hi:
        top = min(th_spec.range[1], v_hi >> th["shift"])
        raise InputError("threshold beyond the register", key="threshold",
                         value=f"{span * scale:.6g} LSB ({th['register']} = {m})",
                         allowed=f"{th['register']} <= {top}, i.e. v_scale <= "
                         f"{top * 2 ** th['shift'] / span:.6g}")
    if m < 1:
        raise InputError("threshold rounds to zero", key="threshold", value=span * scale,
                         allowed=f"v_scale >= {2 ** th['shift'] / (2 * span):.6g}")
    params[th["register"]] = m
    th_lsb = m << th["shift"]
    rows.add("threshold", V_F, f"{th['register']}={m} (v {th['compare']} {th_lsb})",
             V_R + th_lsb / scale, allowed=f"{th['register']} in {th_spec.range}")

    # --- noise ----------------------------------------------------------------------
    sigma_real = math.sqrt(2 * model.a0 * dt)
    noise_var_lsb, noise_mean_lsb, noise_on = 0.0, 0.0, False
    if not noise:
        rows.add("noise std", sigma_real, "off (noise=False)", 0.0, check=False)
    elif setup is None:
        why = ("xylo has no noise source" if xylo else f"{profile.name} states no noise source")
        rows.add("noise std", sigma_real, "none", 0.0,
                 extra=f"{why}: a = {model.a0} is not mapped, achieved noise 0",
                 allowed="a profile with a noise source")
    else:
        kind, e, noise_var_lsb = _best_noise(setup, (sigma_real * scale) ** 2)
        params[setup[3]] = e
        noise_mean_lsb = noise_mean(kind, setup[2], e)
        noise_on = True
        detail = (f"mant_bits={setup[1]}" if kind == "uniform" else
                  f"mant_bits={setup[1]}, terms={setup[2]}" if kind == "sum_uniform"
                  else f"terms={setup[2]}")
        rows.add("noise std", sigma_real, f"{kind} ({detail}), {setup[3]}={e}",
                 math.sqrt(noise_var_lsb) / scale,
                 allowed=f"{setup[3]} in {max(setup[4][0], 0)}..{setup[4][1]}")
    if model.a1 != 0:
        rows.add("noise a1 (rate-dependent)", model.a1, "not a register", 0.0,
                 extra="the chip's noise does not depend on the rate: a0 only is mapped",
                 allowed="a1 = 0")
    noise_kind_run = kind if noise_on else None

    # --- bias -------------------------------------------------------------------
    drift_real = (model.input.I0 - V_R) * dt
    target = drift_real * scale - noise_mean_lsb     # the bias also cancels the noise's mean
    if profile.bias["format"] == "mant_exp":
        mant_r, exp_r = (profile.params[n] for n in BIAS_REGISTERS["mant_exp"])
        bm, be, bsat = _fit_mant_exp(target, mant_r.range, exp_r.range)
        params[mant_r.name], params[exp_r.name] = bm, be
        bias_lsb = bm << be
        btxt = f"{mant_r.name}={bm}, {exp_r.name}={be}"
        ballowed = f"|{mant_r.name}| <= {mant_r.range[1]} << {exp_r.range[1]}"
    else:
        breg = profile.params["bias"]
        bm = round(target)
        bsat = not breg.range[0] <= bm <= breg.range[1]
        bias_lsb = min(max(bm, breg.range[0]), breg.range[1])
        params["bias"] = bias_lsb
        btxt, ballowed = f"bias={bias_lsb}", f"bias in {breg.range}"
    if noise_mean_lsb:
        btxt += f" (+ noise mean {noise_mean_lsb:g})"
    rows.add("bias", drift_real, btxt, (bias_lsb + noise_mean_lsb) / scale, saturated=bsat,
             allowed=ballowed)
    if model.input.kind != "constant":
        rows.add("input I1 (time-dependent)", model.input.I1, "not a register", 0.0,
                 rel=1.0 if model.input.I1 else 0.0,
                 extra=f"{model.input.kind} input: only I0 is mapped (bias); the time-dependent "
                       "part needs input spikes" if model.input.I1 else "",
                 allowed="a constant input")

    # --- current register (instantaneous where possible) ---------------------------
    cur = "isyn" if xylo else "u"
    cspec = profile.decay[cur]
    if xylo:
        creg = profile.params[cspec.register]
        params[cspec.register] = XYLO_DASH_SYN
        rows.add("current decay", 0.0, f"{cspec.register}={XYLO_DASH_SYN}",
                 1.0 - 2.0 ** -XYLO_DASH_SYN, check=False,
                 extra="" if model.b == 0 else "xylo decays the current before reading it: a "
                 f"kick is spread over the next ticks (w/2, w/4, ...: {cspec.register}="
                 f"{XYLO_DASH_SYN}), not delivered at once", allowed=f"{creg.name} in {creg.range}")
    elif cspec.kind == "none":
        persist = model.b != 0 or (noise_on and profile.noise.get("target") == "u")
        rows.add("current decay", 0.0, "decay.u.kind=none", 1.0, check=False,
                 extra="the current never decays: a kick would act as a lasting step"
                 if persist else "", allowed="a decaying current")
    else:
        creg = profile.params[cspec.register]
        if cspec.kind == "multiply":
            cval = creg.range[1]
            f_u = ((1 << cspec.shift) - cval - cspec.offset) / (1 << cspec.shift)
        else:
            cval, f_u = creg.range[0], (1.0 - 2.0 ** -creg.range[0]) if creg.range[0] else 0.0
        params[cspec.register] = cval
        rows.add("current decay", 0.0, f"{cspec.register}={cval}", f_u,
                 allowed=f"{cspec.register} in {creg.range}")

    # --- coupling -------------------------------------------------------------------
    kick_real = model.b / P
    target = kick_real * scale
    exp_name = profile.weights["exponent"]
    e_range = profile.params[exp_name].range
    wbits = profile.weights["bits"]
    act = profile.input["act_shift"]
    projections: tuple[Projection, ...] = ()
    if xylo:
        best = None
        for s in range(max(e_range[0], 0), e_range[1] + 1):
            for w in {max(min(round(target / (2 ** s * 1.0)) + k, 127), -128) for k in (-1, 0, 1)}:
                w16 = ((w << s) + (1 << 15)) % (1 << 16) - (1 << 15)
                tot = _xylo_kick(w16, XYLO_DASH_SYN)
                err = abs(tot - target)
                if best is None or err < best[0]:
                    best = (err, w, s, tot)
        _, wq, we, kick_lsb = best
        wsat = abs(target) > 127 * 2 ** e_range[1]
        wallowed = f"int8 weight << {exp_name} (0..{e_range[1]})"
    else:
        if profile.weights["format"] == "loihi":
            w_range = (-(1 << wbits) + 1, (1 << wbits) - 1)
        else:
            w_range = (-(1 << (wbits - 1)), (1 << (wbits - 1)) - 1)
        wq, we, wsat = _fit_mant_exp(target, w_range, e_range, act)
        wq = int(quantize_weights(profile, np.array([wq]))[0])
        kick_lsb = wq * 2 ** (we + act)
        wallowed = f"weight in {w_range} << ({exp_name} + {act}), {exp_name} <= {e_range[1]}"
    if wq != 0:
        projections = (Projection("neurons", "all_to_all", int(wq), (0, P), (0, P), 0, int(we)),)
    rows.add("coupling b/P", kick_real, f"w={wq}, {exp_name}={we}" if wq else "w=0 (no projection)",
             kick_lsb / scale, saturated=wsat, allowed=wallowed)
    delay = profile.input["recurrent_delay"]
    rows.add("recurrent delay", 1.0, f"{delay} tick(s)", float(delay),
             extra="" if delay == 1 or model.b == 0 else "the model's delayed kicks arrive "
             "in the next step", check=model.b != 0, allowed="1 tick")

    # --- reset and refractory ---------------------------------------------------------
    reset = th["reset"]
    if reset == "none":
        raise InputError(f"{profile.name} does not reset after a spike", key="threshold.reset",
                         value=reset, allowed="zero, to_value, subtract")
    if reset == "to_value":
        params["v_reset"] = 0
    over = ""
    if reset == "subtract":
        step = (abs(bias_lsb) + abs(kick_lsb) + 3 * math.sqrt(noise_var_lsb)) / (span * scale)
        if step > tol:
            over = (f"subtractive reset keeps the overshoot (up to ~{100 * step:.3g}% of "
                    "V_F - V_R per tick); the model resets to V_R exactly")
    rows.add("reset", V_R, {"zero": "v=0", "to_value": "v_reset=0",
                            "subtract": f"v -= {th_lsb}"}[reset], V_R, extra=over,
             allowed="reset to zero or to a value")
    ref_ticks, ref_reg = round(model.tau_ref / dt), profile.refractory["register"]
    if ref_reg:
        rspec = profile.params[ref_reg]
        rsat = ref_ticks > rspec.range[1]
        ref_ticks = min(ref_ticks, rspec.range[1])
        params[ref_reg] = ref_ticks
        rows.add("refractory", model.tau_ref, f"{ref_reg}={ref_ticks}", ref_ticks * dt,
                 saturated=rsat, allowed=f"{ref_reg} in {rspec.range} ticks")
    else:
        rows.add("refractory", model.tau_ref, "none", 0.0,
                 extra="no refractory counter" if model.tau_ref else "", check=False)
        ref_ticks = 0

    # --- initial state ----------------------------------------------------------------
    rng = np.random.default_rng(seed)
    V0 = (init.sample(P, rng, V_min, V_F) if init is not None else np.full(P, V_R))
    lo_v, hi_v = profile.state["v"].range
    v0 = np.rint((V0 - V_R) * scale).astype(np.int64)
    clipped = int(((v0 < lo_v) | (v0 > hi_v)).sum())
    v0 = np.clip(v0, lo_v, hi_v)
    rows.add("initial voltage (mean)", float(V0.mean()), f"v0 in [{v0.min()}, {v0.max()}]",
             float(V_R + v0.mean() / scale), saturated=clipped > 0,
             allowed=f"v in {lo_v}..{hi_v}")

    network = Network(n=P, params=params, projections=projections, init={"v": v0},
                      noise=noise_on, noise_kind=noise_kind_run)
    network.check(profile)
    report = tuple(rows.rows)
    if strict:
        for r in report:
            if r.warning:
                raise InputError(r.warning, key=r.name, value=r.real,
                                 allowed=r.allowed or "a value the registers represent")
    effective = {"V_F": V_R + th_lsb / scale, "V_R": V_R, "leak": leak,
                 "drift": (bias_lsb + noise_mean_lsb) / scale,
                 "noise_var": noise_var_lsb / scale ** 2,
                 "kick": kick_lsb / scale, "delay": delay, "refractory": ref_ticks}
    return ChipMapping(profile=profile, network=network, ticks=max(1, round(T / dt)),
                       v_scale=scale, dt=dt, report=report, model=model, effective=effective)
