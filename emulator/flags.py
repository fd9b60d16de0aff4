"""Flags: where the quantised dynamics diverge from the ideal model, and why (SPEC 7).

:func:`evaluate_flags` maps a scenario onto a profile (or takes a
:class:`emulator.mapping.ChipMapping`), makes the quantised mean-field
prediction (:func:`emulator.meanfield.predict`: the exact integer Markov chain
where the lattice is small enough, else the diffusion with the quantised
drift) next to the float one (:mod:`reference.analytic` on the model), and
raises a :class:`Flag` for every check that fails:

=====================  ==============================================================
``leak_deadzone``      the decay step rounds to zero near the reset: width / threshold
``drift_bias``         mean (over the stationary density) of quantised minus model drift,
                       in threshold ranges per membrane time constant
``input_underflow``    the bias (constant input) rounds to zero or loses > tolerance
``noise_quantisation`` achieved vs requested noise variance; no noise source
``weight_underflow``   the coupling per spike rounds to zero or loses > tolerance
``saturation``         stationary mass at the register limits, or overflow per tick
``silent``             the quantised rate is ~0 while the float rate is not
``synchrony``          no stationary mean-field state (beyond the fold, blow-up), or
                       the cascade parameter ``N b^2 / (2 a P)`` is not << 1
``rate_divergence``    ``|predicted - float| / float`` above 10 %
=====================  ==============================================================

Flags are findings, not failures.  Every threshold is a module constant below,
with its reason.  Rates are spikes per neuron per membrane time constant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from emulator import meanfield as mf
from emulator.io import jsonable
from reference.analytic import blowup_guaranteed, stationary_density, stationary_rates
from reference.errors import InputError
from reference.lif import NLIFModel

__all__ = ["Flag", "FlagReport", "FLAG_NAMES", "evaluate_flags", "reference_rates"]

FLAG_NAMES = ("leak_deadzone", "drift_bias", "input_underflow", "noise_quantisation",
              "weight_underflow", "saturation", "silent", "synchrony", "rate_divergence")
SEVERITIES = ("info", "warning", "error")

#: Dead zone / threshold range above which the missing leak changes the dynamics
#: visibly (a 5 % band around the reset without relaxation shifts the rate by ~%).
DEADZONE_WARN = 0.05
#: ... and above which a quarter of the subthreshold range has no leak at all.
DEADZONE_ERROR = 0.25
#: Mean drift error (threshold ranges per time constant) worth a warning: 5 % of the
#: threshold range per time constant moves the stationary rate by several percent.
DRIFT_BIAS_WARN = 0.05
#: ... and an info note (1 %: visible in long runs, below statistical noise in short ones).
DRIFT_BIAS_INFO = 0.01
#: Relative loss of a mapped value (bias, noise variance, weight) above which it warns,
#: unless the mapping's own tolerance is given.
TOLERANCE = 0.01
#: Relative loss above which a value is as good as not mapped.
LOSS_ERROR = 0.5
#: Stationary probability at a register limit (or of an overflow per tick) worth a
#: warning: one neuron in 10^4 saturating per tick is already a visible distortion.
SATURATION_WARN = 1e-4
#: ... and an info note (the tail touches the register: one event per 10^9 neuron-ticks).
SATURATION_INFO = 1e-9
#: The quantised rate is "silent" below this fraction of the float rate ...
SILENT_FRACTION = 0.01
#: ... when the float rate exceeds this (spikes per time constant): below it both are ~0.
SILENT_MIN_RATE = 1e-4
#: Cascade parameter R = N b^2 / (2 a P) (notes/multiscale.md 1): the mean field needs R << 1.
SYNC_R_WARN = 0.1
#: ... and R >= 1 means a spike triggers on average one more: cascades, synchrony.
SYNC_R_ERROR = 1.0
#: Relative rate divergence worth a warning (the brief's 10 %) ...
RATE_DIVERGENCE_WARN = 0.10
#: ... and an error (a factor of ~2).
RATE_DIVERGENCE_ERROR = 0.5


@dataclass(frozen=True)
class Flag:
    """One finding.

    Attributes
    ----------
    name : str
        One of :data:`FLAG_NAMES`.
    severity : {"info", "warning", "error"}
    value : float
        The number behind it.
    threshold : float
        The documented constant it was compared with.
    reason : str
        One line: what happens and why.
    """

    name: str
    severity: str
    value: float
    threshold: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers as None, as everywhere in fxlif's JSON)."""
        return jsonable(asdict(self))


@dataclass(frozen=True)
class FlagReport:
    """The flags of one mapping, with the two mean-field rates.

    Attributes
    ----------
    flags : list of Flag
        The checks that fired (info, warning or error).
    predicted_rate : float
        Quantised mean-field rate (lowest stationary root; NaN if none).
    reference_rate : float
        Float mean-field rate of the model (lowest root; NaN if none).
    details : dict
        Method, all roots, every check's value, the drift statistics.
    """

    flags: list[Flag]
    predicted_rate: float
    reference_rate: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Names of the flags raised."""
        return [f.name for f in self.flags]

    def worst(self) -> str | None:
        """Highest severity raised, or None."""
        if not self.flags:
            return None
        return max((f.severity for f in self.flags), key=SEVERITIES.index)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``flags``, ``predicted_rate``, ``reference_rate``, ``details``.

        Non-finite numbers (no stationary rate: NaN; an infinite cascade parameter)
        become ``null``.
        """
        return jsonable({"flags": [f.to_dict() for f in self.flags],
                         "predicted_rate": float(self.predicted_rate),
                         "reference_rate": float(self.reference_rate),
                         "details": dict(self.details)})


# ---------------------------------------------------------------------------------

def reference_rates(model: NLIFModel) -> np.ndarray:
    """Every stationary rate of the float model (constant input ``I0``), increasing.

    ``dV = (-V + I0 + b N) dt + ...`` is the linear case of
    :func:`reference.analytic.stationary_rates` with ``V_F - I0``, ``V_R - I0``;
    a refractory period goes through :func:`emulator.meanfield.stationary_rates_general`.
    """
    I0 = model.input.I0
    if model.tau_ref > 0:
        return mf.stationary_rates_general(lambda V: -V + I0, model.a0, model.V_F, model.V_R,
                                           model.b, a1=model.a1, tau_ref=model.tau_ref)
    return stationary_rates(model.b, a=model.a0, V_F=model.V_F - I0, V_R=model.V_R - I0,
                            a1=model.a1)


def _first(x) -> float:
    return float(x[0]) if len(x) else math.nan


def _mapping_from(scenario, profile, overrides, map_kwargs):
    from emulator.mapping import map_model
    from emulator.profile import Profile, load_profile
    from reference.scenario import Scenario, load_scenario
    if not isinstance(scenario, (Scenario, NLIFModel)):
        scenario = load_scenario(scenario)
    if not isinstance(profile, Profile):
        profile = load_profile(profile, **dict(overrides or {}))
    elif overrides:
        raise InputError("overrides need a profile name, not a loaded profile",
                         key="overrides", value=dict(overrides))
    return map_model(scenario, profile, **map_kwargs), scenario


def evaluate_flags(mapping=None, *, scenario=None, profile=None, overrides=None,
                   tolerance: float | None = None, method: str = "auto",
                   **map_kwargs) -> FlagReport:
    """Predict where the quantised dynamics diverge from the float model, and why.

    Parameters
    ----------
    mapping : ChipMapping or tuple (scenario, profile, overrides), optional
        A mapping from :func:`emulator.mapping.map_model`; or give ``scenario``
        (a Scenario, an NLIFModel or a TOML path), ``profile`` (a name or a
        Profile) and ``overrides`` (profile overrides) and it is mapped here
        (``map_kwargs`` go to ``map_model``).
    tolerance : float, optional
        Relative loss that warns (default: :data:`TOLERANCE`).
    method : {"auto", "chain", "diffusion"}
        Quantised prediction method (see :func:`emulator.meanfield.predict`).

    Returns
    -------
    FlagReport
    """
    scn = scenario
    if isinstance(mapping, tuple):
        scn, profile, overrides = (tuple(mapping) + (None,) * 3)[:3]
        mapping = None
    if mapping is None:
        if scn is None or profile is None:
            raise InputError("give a mapping, or a scenario and a profile", key="mapping",
                             value=None)
        mapping, scn = _mapping_from(scn, profile, overrides, map_kwargs)
    tol = TOLERANCE if tolerance is None else float(tolerance)
    model: NLIFModel = mapping.model
    neuron = mf.chip_neuron(mapping.profile, mapping.network, v_scale=mapping.v_scale,
                            dt=mapping.dt, V_R=model.V_R)
    pred = mf.predict(neuron, method=method)
    ref = reference_rates(model)
    r_pred, r_ref = pred.rate, _first(ref)
    # the float model at the chip's time step (Broadie-Glasserman threshold shift):
    # separates the time-discretisation part of a divergence from the quantisation
    V_F_dt = model.V_F + mf.BG_BETA * math.sqrt(2.0 * model.a0 * mapping.dt)
    ref_dt = reference_rates(NLIFModel(V_F=V_F_dt, V_R=model.V_R, a0=model.a0, a1=model.a1,
                                       b=model.b, tau_ref=model.tau_ref, input=model.input))
    details: dict[str, Any] = {
        "profile": mapping.profile.name, "overrides": dict(mapping.profile.applied),
        "v_scale": mapping.v_scale, "dt": mapping.dt, "P": neuron.P,
        "method": pred.method, "exact": pred.exact, "note": pred.note,
        "predicted_rates": list(pred.rates), "reference_rates": list(ref),
        "reference_rate_at_dt": _first(ref_dt),
        "warnings": list(neuron.warnings) + list(mapping.warnings),
    }
    try:   # moment activation of the registers' linear model (uncoupled input)
        mo = mf.moment_prediction(neuron)
        details["moment_rate"] = float(mo.mean)
        details["moment_fano"] = float(mo.fano)
    except InputError as exc:
        details["moment_rate"] = f"not available: {exc.message}"
    ctx = _Context(mapping, model, neuron, pred, ref, tol, details, scn)
    flags = []
    for check in (_leak_deadzone, _drift_bias, _input_underflow, _noise_quantisation,
                  _weight_underflow, _saturation, _silent, _synchrony, _rate_divergence):
        f = check(ctx)
        if f is not None:
            flags.append(f)
    return FlagReport(flags, r_pred, r_ref, details)


@dataclass
class _Context:
    mapping: Any
    model: NLIFModel
    neuron: mf.ChipNeuron
    pred: mf.MeanFieldPrediction
    ref: np.ndarray
    tol: float
    details: dict
    scenario: Any

    def density_weights(self, tab: mf.DriftTable) -> np.ndarray:
        """Stationary weights on the drift table's voltages: the chain's, else the float model's."""
        ch = self.pred.chain
        if ch is not None and ch.method == "chain":
            w = np.interp(tab.v, ch.v, ch.p, left=0.0, right=0.0)
        else:
            m = self.model
            N, b = _first(self.ref), m.b
            I0 = m.input.I0
            if not (N > 0):    # no stationary state: the uncoupled one
                b = 0.0
                N = _first(stationary_rates(0.0, a=m.a0, V_F=m.V_F - I0, V_R=m.V_R - I0))
            w = (stationary_density(tab.V - I0, N, b, m.a0, m.V_F - I0, m.V_R - I0, a1=m.a1)
                 if N > 0 else np.ones(tab.v.size))
        s = float(np.sum(w))
        return w / s if s > 0 else np.full(tab.v.size, 1.0 / tab.v.size)


def _sev(value, warn, error=None, info=None):
    if error is not None and value >= error:
        return "error"
    if value >= warn:
        return "warning"
    if info is not None and value > info:
        return "info"
    return None


def _leak_deadzone(c: _Context):
    tab = mf.quantised_drift(c.neuron)
    th = max(c.neuron.th, 1)
    # lattice steps of the table (all integers, or a subsample of them)
    dv = np.diff(tab.v, prepend=tab.v[0] - 1)
    width = float(np.sum(dv[tab.dead]))
    value = width / th
    c.details["deadzone_lsb"] = width
    sev = _sev(value, DEADZONE_WARN, DEADZONE_ERROR, info=0.0)
    if sev is None:
        return None
    half = width / 2.0 / c.neuron.v_scale
    return Flag("leak_deadzone", sev, value, DEADZONE_WARN,
                f"the leak step rounds to zero on {width:.0f} LSB around the reset "
                f"(|V - V_R| < ~{half:.3g}): no relaxation there ({value:.1%} of the "
                "threshold range)")


def _drift_bias(c: _Context):
    ch = c.pred.chain
    tab = mf.quantised_drift(c.neuron, ch.v if ch is not None and ch.method == "chain" else None)
    w = c.density_weights(tab)
    m = c.model
    f_model = -tab.V + m.input.I0
    err = tab.f_q - f_model
    span = m.V_F - m.V_R
    bias = float(np.dot(w, err))
    value = abs(bias) / span
    c.details["drift_bias"] = bias
    c.details["drift_abs_error"] = float(np.dot(w, np.abs(err)))
    c.details["rounding_bias"] = float(np.dot(w, tab.f_q - tab.f_lin))
    sev = _sev(value, DRIFT_BIAS_WARN, info=DRIFT_BIAS_INFO)
    if sev is None:
        return None
    return Flag("drift_bias", sev, value, DRIFT_BIAS_WARN,
                f"the quantised drift is {'above' if bias > 0 else 'below'} the model's by "
                f"{abs(bias):.3g} V per time constant on average over the stationary density "
                f"(rounding of the decay {c.details['rounding_bias']:+.3g}, the rest from the "
                "represented leak and bias)")


def _input_underflow(c: _Context):
    n, m = c.neuron, c.model
    real = (m.input.I0 - m.V_R) * n.v_scale * n.dt            # LSB per tick
    rep = n.bias + (n.noise_mean if n.noise_target == "v" or n.u_factor == 0 else 0.0)
    timedep = m.input.kind != "constant" and m.input.I1 != 0
    if real != 0 and rep == 0:
        return Flag("input_underflow", "error", 1.0, c.tol,
                    f"the constant input rounds to zero: {real:.3g} LSB per tick is needed, "
                    "the bias register gives 0")
    scale = abs(real) if real != 0 else max(n.th, 1) * n.dt
    value = abs(rep - real) / scale
    c.details["bias_lsb"] = {"real": real, "represented": rep}
    sev = _sev(value, c.tol, LOSS_ERROR)
    if sev is None and not timedep:
        return None
    reason = (f"the bias represents {rep:.4g} LSB per tick for {real:.4g} "
              f"({value:.1%} off)")
    if timedep:
        reason += "; the time-dependent input I1 is not mapped to a register"
        sev = sev or "warning"
    return Flag("input_underflow", sev, value, c.tol, reason)


def _noise_quantisation(c: _Context):
    n, m = c.neuron, c.model
    req = 2.0 * m.a0 * n.dt * n.v_scale ** 2
    got = n.noise_var
    if n.noise_target == "u" and 0 < n.u_factor < 1:
        got /= (1.0 - n.u_factor) ** 2
    c.details["noise_var_lsb"] = {"requested": req, "achieved": got}
    if got == 0:
        return Flag("noise_quantisation", "error", 1.0, c.tol,
                    f"no noise reaches the voltage (requested variance {req:.3g} LSB^2 per "
                    "tick): the chip runs deterministic, the diffusion a is lost")
    value = abs(got - req) / req
    sev = _sev(value, c.tol, LOSS_ERROR)
    extra = ""
    if m.a1 > 0:
        extra = "; the rate-dependent noise a1 is not mapped"
        sev = sev or "warning"
    if not n.u_exact and n.noise_target == "u":
        extra += "; the noise passes through a decaying current (coloured, not white)"
        sev = sev or "info"
    if sev is None:
        return None
    return Flag("noise_quantisation", sev, value, c.tol,
                f"the PRNG's variance is {got:.4g} LSB^2 per tick for {req:.4g} requested "
                f"({value:.1%} off){extra}")


def _weight_underflow(c: _Context):
    n, m = c.neuron, c.model
    real = m.b / n.P * n.v_scale
    rep = n.charge
    c.details["kick_lsb"] = {"real": real, "represented": rep}
    if real == 0:
        return None
    if rep == 0:
        return Flag("weight_underflow", "error", 1.0, c.tol,
                    f"the coupling rounds to zero: b/P = {m.b / n.P:.3g} V per spike is "
                    f"{real:.3g} LSB, below the smallest weight step")
    value = abs(rep - real) / abs(real)
    sev = _sev(value, c.tol, LOSS_ERROR)
    if sev is None:
        return None
    return Flag("weight_underflow", sev, value, c.tol,
                f"the coupling per spike is {rep:.4g} LSB for {real:.4g} ({value:.1%} off)")


def _saturation(c: _Context):
    n, m = c.neuron, c.model
    lo, hi = n.v_range
    ch = c.pred.chain
    value = 0.0
    where = ""
    if ch is not None and ch.method == "chain":
        if ch.v[0] <= lo and ch.p_floor > value:
            value, where = ch.p_floor, f"the lower register limit {lo}"
        if ch.p_top > value:
            value, where = ch.p_top, "an overflow of the voltage update"
    else:
        N = _first(c.ref)
        V_lo = m.V_R + lo / n.v_scale
        if N > 0:
            I0 = m.input.I0
            grid = np.linspace(min(V_lo, m.V_R) - 40.0 * math.sqrt(m.a0) - 10.0, V_lo, 4001)
            p = stationary_density(grid - I0, N, m.b, m.a0, m.V_F - I0, m.V_R - I0, a1=m.a1)
            value = float(np.trapezoid(p, grid))
            where = f"below the lower register limit (V < {V_lo:.3g})"
    th_frac = n.th / hi if hi > 0 else 1.0
    c.details["saturation_mass"] = value
    c.details["threshold_fraction_of_register"] = th_frac
    sev = _sev(value, SATURATION_WARN, info=SATURATION_INFO)
    if sev is None:
        return None
    return Flag("saturation", sev, value, SATURATION_WARN,
                f"stationary probability {value:.3g} per tick at {where}: "
                "the register saturates or wraps there")


def _silent(c: _Context):
    r_ref, r_pred = _first(c.ref), c.pred.rate
    if not (r_ref > SILENT_MIN_RATE) or not math.isfinite(r_pred):
        return None
    value = r_pred / r_ref
    if value >= SILENT_FRACTION:
        return None
    return Flag("silent", "error", value, SILENT_FRACTION,
                f"the quantised chip is predicted silent ({r_pred:.3g} spikes per time "
                f"constant) where the model fires at {r_ref:.3g}")


def _synchrony(c: _Context):
    n, m = c.neuron, c.model
    if not len(c.ref):
        return Flag("synchrony", "error", math.inf, SYNC_R_WARN,
                    f"the float mean field has no stationary state (b = {m.b:.3g} is beyond "
                    "the fold): the network blows up / synchronises")
    if not len(c.pred.rates):
        return Flag("synchrony", "error", math.inf, SYNC_R_WARN,
                    "the quantised mean field has no stationary state: the chip network "
                    "blows up / synchronises")
    a_q = n.noise_var / (2.0 * n.dt * n.v_scale ** 2)
    b_q = n.P * n.charge / n.v_scale if n.coupling else 0.0
    N = c.pred.rate
    R = N * b_q ** 2 / (2.0 * a_q * n.P) if a_q > 0 else (math.inf if b_q else 0.0)
    c.details["cascade_R"] = R
    blow = False
    sc = c.scenario
    init = getattr(sc, "init", None)
    if b_q > 0 and init is not None and getattr(init, "kind", "") == "gaussian" \
            and getattr(init, "sigma0", 0) > 0 and a_q > 0:
        try:
            blow = blowup_guaranteed(b_q, init.v0, init.sigma0 ** 2, a_min=a_q, V_F=m.V_F)
        except InputError:
            blow = False
    c.details["blowup_guaranteed"] = blow
    sev = _sev(R, SYNC_R_WARN, SYNC_R_ERROR)
    if blow:
        sev = "warning" if sev is None else sev
    if sev is None:
        return None
    reason = (f"one spike pushes on average R = N b^2/(2aP) = {R:.3g} others over threshold "
              "(mean field needs R << 1)")
    if blow:
        reason += "; from the initial Gaussian, blow-up is guaranteed by the moment criterion"
    return Flag("synchrony", sev, R, SYNC_R_WARN, reason)


def _rate_divergence(c: _Context):
    r_ref, r_pred = _first(c.ref), c.pred.rate
    if not (math.isfinite(r_ref) and math.isfinite(r_pred)) or r_ref <= 0:
        return None
    value = abs(r_pred - r_ref) / r_ref
    c.details["rate_divergence"] = value
    sev = _sev(value, RATE_DIVERGENCE_WARN, RATE_DIVERGENCE_ERROR)
    if sev is None:
        return None
    r_dt = c.details["reference_rate_at_dt"]
    part = abs(r_dt - r_ref) / r_ref if math.isfinite(r_dt) else math.nan
    return Flag("rate_divergence", sev, value, RATE_DIVERGENCE_WARN,
                f"predicted chip rate {r_pred:.4g} vs float {r_ref:.4g} ({value:.1%}); the "
                f"time step alone accounts for ~{part:.1%} (float model at dt = "
                f"{c.neuron.dt:.3g}: {r_dt:.4g}), the rest is quantisation")
