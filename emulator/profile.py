"""Hardware profiles: one TOML file per chip in ``hw_configs/``, loaded into frozen dataclasses.

A profile states everything the arithmetic depends on; the code holds no chip
constants.  It is validated on load: an unknown key, a missing key, a value out
of range or an inconsistent combination raises :class:`ProfileError` naming
the file, the key, the value and what is allowed.

Layout of a profile file (see ``hw_configs/loihi1.toml`` for a commented one):

``[profile]``  name, template (the tick: ``current``, ``xylo``, ``spinnaker`` or
``truenorth``), summary,
sources, verified, unverified.
``[state.<var>]``  a state register: bits, signed, overflow, (synapses).
``[decay.<var>]``  kind (multiply, shift, none), register, shift, offset,
rounding, min_step, negate_wraps.
``[input]``, ``[weights]``, ``[bias]``, ``[threshold]``, ``[refractory]``,
``[noise]``  the phases of a tick.
``[params.<name>]``  every register a network sets: bits, signed, scope
(population, neuron, synapse, projection), default, doc.
``[overrides]``  shorthands that set several dotted keys at once.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from emulator.fixed import Overflow, Rounding, register_range
from reference.errors import InputError
from reference.toml_io import read_toml

__all__ = ["DecaySpec", "ParamSpec", "Profile", "ProfileError", "RegisterSpec",
           "list_profiles", "load_profile", "profile_dir"]


class ProfileError(InputError):
    """A hardware profile file or override is invalid."""


def profile_dir() -> Path:
    """Return the folder of the shipped profiles (``hw_configs/`` at the project root)."""
    return Path(__file__).resolve().parent.parent / "hw_configs"


def list_profiles() -> list[str]:
    """Return the names of the shipped profiles, sorted."""
    return sorted(p.stem for p in profile_dir().glob("*.toml"))


TEMPLATES = ("current", "xylo", "spinnaker", "truenorth")
TEMPLATE_STATE = {"current": ("u", "v"), "xylo": ("isyn", "v"), "spinnaker": ("isyn", "v"),
                  "truenorth": ("v",)}
DECAY_KINDS = ("multiply", "shift", "none", "fixed_factor", "linear")
RESETS = ("zero", "to_value", "subtract", "none", "per_neuron")
COMPARES = (">", ">=")
ACCUMULATE = ("sum", "saturating_per_spike")
WEIGHT_FORMATS = ("loihi", "int_shift", "uint_receptor", "crossbar")
BIAS_FORMATS = ("mant_exp", "int", "offset", "leak")
BIAS_REGISTERS = {"mant_exp": ("bias_mant", "bias_exp"), "int": ("bias",), "offset": ("i_offset",),
                  "leak": ("leak",)}
NOISE_KINDS = ("none", "uniform", "sum_uniform", "binomial", "bernoulli")
SCOPES = ("population", "neuron", "synapse", "projection")
MAX_STATE_BITS = 48      # int64 kernels need headroom for products and sums


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """A state register: ``bits`` wide, two's complement if ``signed``, ``overflow`` mode."""

    name: str
    bits: int
    signed: bool
    overflow: Overflow
    synapses: int = 1
    doc: str = ""

    @property
    def range(self) -> tuple[int, int]:
        """``(lo, hi)``: the values the register holds."""
        return register_range(self.bits, self.signed, self.overflow)


@dataclass(frozen=True, slots=True)
class DecaySpec:
    """Decay of one state variable, once per tick.

    ``multiply``: ``x * (2**shift - (d + offset)) / 2**shift`` rounded by ``rounding``.
    ``shift``: ``x - s`` with ``s = x / 2**d`` rounded by ``rounding``, and
    ``|s| >= 1`` when ``min_step`` and ``x != 0``.  ``none``: ``x``.
    ``d`` is the value of the parameter register named ``register``.
    """

    kind: str
    register: str
    rounding: Rounding
    shift: int = 0
    offset: int = 0
    min_step: bool = False
    negate_wraps: bool = False


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A register set by the network: ``bits`` wide, ``signed``, one value per ``scope``."""

    name: str
    bits: int
    signed: bool
    scope: str
    default: int
    doc: str = ""

    @property
    def range(self) -> tuple[int, int]:
        """``(lo, hi)``: the values the register holds."""
        return register_range(self.bits, self.signed)


@dataclass(frozen=True)
class Profile:
    """A validated hardware profile (immutable).  Build it with :func:`load_profile`."""

    name: str
    template: str
    summary: str
    sources: tuple[str, ...]
    verified: str
    unverified: str
    state: Mapping[str, RegisterSpec]
    decay: Mapping[str, DecaySpec]
    input: Mapping[str, Any]
    weights: Mapping[str, Any]
    bias: Mapping[str, Any]
    threshold: Mapping[str, Any]
    refractory: Mapping[str, Any]
    noise: Mapping[str, Any]
    params: Mapping[str, ParamSpec]
    overrides: Mapping[str, tuple[str, ...]]
    file: str
    applied: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> list[tuple[str, str, str]]:
        """Return ``(key, value, meaning)`` rows for every field, for ``fxlif profiles show``."""
        rows = [("profile.name", self.name, "profile name"),
                ("profile.template", self.template, "tick template (order of phases)"),
                ("profile.summary", self.summary, ""),
                ("profile.verified", self.verified, "checked against a vendor model"),
                ("profile.unverified", self.unverified, "from documentation only")]
        rows += [("profile.source", s, "") for s in self.sources]
        for sect in ("state", "decay", "input", "weights", "bias", "threshold",
                     "refractory", "noise", "params"):
            for key, value in _flatten(self.raw.get(sect, {}), sect):
                rows.append((key, str(value), _MEANING.get(key.split(".")[-1], "")))
        for k, v in self.applied.items():
            rows.append((f"override.{k}", str(v), "set by the user"))
        return rows


_MEANING = {
    "bits": "register width in bits", "signed": "two's complement if true",
    "overflow": "wrap | saturate | saturate_symmetric | wrap_lava",
    "kind": "mechanism", "register": "parameter register holding the value",
    "shift": "right shift (bits) / left alignment", "offset": "constant added to the decay register",
    "rounding": "floor | toward_zero | half_up | half_away | half_even | stochastic",
    "min_step": "a decay step is at least 1 LSB in magnitude",
    "negate_wraps": "the negation of the decay wraps in the register width",
    "act_shift": "synaptic input left shift into the current", "accumulate": "how inputs add",
    "delay": "ticks from a spike to its effect", "recurrent_delay": "ticks for recurrent spikes",
    "max_input_count": "cap on input spikes per channel and tick", "format": "encoding",
    "exponent": "parameter register of the exponent", "compare": "spike if v <compare> threshold",
    "reset": "zero | to_value | subtract | none", "max_spikes": "spikes per neuron and tick",
    "scope": "one value per population, neuron, synapse or projection",
    "default": "value when the network does not set it", "doc": "meaning",
    "mant_bits": "noise mantissa width", "target": "register the noise is added to",
    "terms": "uniforms summed (sum_uniform) or bits counted (binomial)",
    "synapses": "synaptic compartments per neuron",
}


def _flatten(d: Mapping[str, Any], prefix: str):
    for k, v in d.items():
        if isinstance(v, Mapping):
            yield from _flatten(v, f"{prefix}.{k}")
        else:
            yield f"{prefix}.{k}", v


# ---------------------------------------------------------------------------------
# validation

class _Checker:
    """Reads values from the TOML dict, raising ProfileError with the file and dotted key."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, value: Any, message: str, allowed: str | None = None):
        raise ProfileError(message, file=self.file, key=key, value=value, allowed=allowed)

    def table(self, d: Mapping, key: str, allowed_keys: set[str], required: set[str]) -> dict:
        t = d.get(key.split(".")[-1]) if "." not in key else d
        if not isinstance(t, Mapping):
            self.fail(key, t, "missing table" if t is None else "must be a table")
        for k in t:
            if k not in allowed_keys:
                self.fail(f"{key}.{k}", t[k], "unknown key", ", ".join(sorted(allowed_keys)))
        for k in sorted(required):
            if k not in t:
                self.fail(f"{key}.{k}", None, "missing key")
        return dict(t)

    def int_(self, t, key, name, lo, hi, default=None):
        v = t.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            self.fail(f"{key}.{name}", v, "out of range" if isinstance(v, int) else
                      "must be an integer", f"an integer in {lo}..{hi}")
        return v

    def bool_(self, t, key, name, default=None):
        v = t.get(name, default)
        if not isinstance(v, bool):
            self.fail(f"{key}.{name}", v, "must be true or false", "true, false")
        return v

    def str_(self, t, key, name, choices=None, default=None):
        v = t.get(name, default)
        if not isinstance(v, str) or (choices is not None and v not in choices):
            self.fail(f"{key}.{name}", v, "not allowed",
                      ", ".join(choices) if choices else "a string")
        return v

    def enum_(self, t, key, name, enum):
        names = [m.name.lower() for m in enum]
        return enum[self.str_(t, key, name, names).upper()]


_SECTIONS = {"profile", "state", "decay", "input", "weights", "bias", "threshold",
             "refractory", "noise", "params", "overrides"}


def _build(raw: Mapping[str, Any], file: str, applied: Mapping[str, Any]) -> Profile:
    c = _Checker(file)
    for k in raw:
        if k not in _SECTIONS:
            c.fail(k, "...", "unknown section", ", ".join(sorted(_SECTIONS)))
    for k in sorted(_SECTIONS - {"overrides"}):
        if k not in raw:
            c.fail(k, None, "missing table")
    meta = c.table(raw, "profile", {"name", "template", "summary", "sources", "verified",
                                    "unverified"}, {"name", "template", "summary", "sources",
                                                    "verified", "unverified"})
    template = c.str_(meta, "profile", "template", TEMPLATES)
    sources = meta["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        c.fail("profile.sources", sources, "must be a list of strings")

    state: dict[str, RegisterSpec] = {}
    need = TEMPLATE_STATE[template]
    for name, t in raw["state"].items():
        key = f"state.{name}"
        if name not in need:
            c.fail(key, "...", f"not a state register of template {template!r}", ", ".join(need))
        t = c.table(t, key, {"bits", "signed", "overflow", "synapses", "doc"},
                    {"bits", "signed", "overflow"})
        bits = c.int_(t, key, "bits", 2, MAX_STATE_BITS)
        state[name] = RegisterSpec(name, bits, c.bool_(t, key, "signed"),
                                   c.enum_(t, key, "overflow", Overflow),
                                   c.int_(t, key, "synapses", 1, 8, 1), t.get("doc", ""))
        if state[name].overflow in (Overflow.SATURATE_SYMMETRIC, Overflow.WRAP_LAVA) \
                and not state[name].signed:
            c.fail(f"{key}.overflow", state[name].overflow.name.lower(),
                   "needs a signed register", "wrap, saturate")
    for name in need:
        if name not in state:
            c.fail(f"state.{name}", None, "missing table")

    # parameter registers: the sections below refer to them
    params: dict[str, ParamSpec] = {}
    for name, t in raw["params"].items():
        key = f"params.{name}"
        t = c.table(t, key, {"bits", "signed", "scope", "default", "doc"},
                    {"bits", "signed", "scope", "default"})
        bits = c.int_(t, key, "bits", 1, MAX_STATE_BITS)
        signed = c.bool_(t, key, "signed")
        lo, hi = register_range(bits, signed)
        default = c.int_(t, key, "default", lo, hi)
        params[name] = ParamSpec(name, bits, signed, c.str_(t, key, "scope", SCOPES), default,
                                 t.get("doc", ""))

    def param_ref(key, value, allow_empty=False):
        if allow_empty and value == "":
            return value
        if value not in params:
            c.fail(key, value, "names no parameter register",
                   ", ".join(sorted(params)) + (" or ''" if allow_empty else ""))
        return value

    decay: dict[str, DecaySpec] = {}
    for name, t in raw["decay"].items():
        key = f"decay.{name}"
        if name not in state:
            c.fail(key, "...", "decays no state register", ", ".join(state))
        t = c.table(t, key, {"kind", "register", "shift", "offset", "rounding", "min_step",
                             "negate_wraps"}, {"kind", "rounding"})
        kind = c.str_(t, key, "kind", DECAY_KINDS)
        reg = "" if kind == "none" else param_ref(f"{key}.register", t.get("register"))
        shift = c.int_(t, key, "shift", 0, 32 if kind == "fixed_factor" else 31, 0)
        if kind == "multiply":
            shift = c.int_(t, key, "shift", 1, 31)
            if state[name].bits - 1 + shift > 62:
                c.fail(f"{key}.shift", shift, f"product of a {state[name].bits}-bit register "
                       "and the factor overflows int64", f"shift <= {63 - state[name].bits}")
            if params[reg].bits > shift:
                c.fail(f"params.{reg}.bits", params[reg].bits,
                       f"decay register wider than decay.{name}.shift", f"<= {shift}")
        decay[name] = DecaySpec(kind, reg, c.enum_(t, key, "rounding", Rounding), shift,
                                c.int_(t, key, "offset", 0, 1, 0),
                                c.bool_(t, key, "min_step", False),
                                c.bool_(t, key, "negate_wraps", False))
    for name in state:
        if name not in decay:
            c.fail(f"decay.{name}", None, "missing table")

    inp = c.table(raw, "input", {"act_shift", "accumulate", "delay", "recurrent_delay",
                                 "max_input_count"}, {"accumulate", "delay"})
    inp["act_shift"] = c.int_(inp, "input", "act_shift", 0, 16, 0)
    c.str_(inp, "input", "accumulate", ACCUMULATE)
    c.int_(inp, "input", "delay", 0, 64)
    inp["recurrent_delay"] = c.int_(inp, "input", "recurrent_delay", 1, 64, inp["delay"] or 1)
    inp["max_input_count"] = c.int_(inp, "input", "max_input_count", 1, 1 << 16, 1 << 16)

    w = c.table(raw, "weights", {"format", "bits", "exponent", "types"},
                {"format", "bits", "exponent"})
    c.str_(w, "weights", "format", WEIGHT_FORMATS)
    c.int_(w, "weights", "bits", 1, 16)
    w["types"] = c.int_(w, "weights", "types", 1, 8, 1)
    param_ref("weights.exponent", w["exponent"])

    bias = c.table(raw, "bias", {"format"}, {"format"})
    c.str_(bias, "bias", "format", BIAS_FORMATS)
    for p in BIAS_REGISTERS[bias["format"]]:
        param_ref("bias.format", p)

    th = c.table(raw, "threshold", {"register", "compare", "shift", "reset", "max_spikes"},
                 {"register", "compare", "shift", "reset", "max_spikes"})
    param_ref("threshold.register", th["register"])
    c.str_(th, "threshold", "compare", COMPARES)
    v_bits = state["v"].bits
    c.int_(th, "threshold", "shift", 0, v_bits - 1)
    c.str_(th, "threshold", "reset", RESETS)
    c.int_(th, "threshold", "max_spikes", 1, 255)
    if th["reset"] == "to_value":
        param_ref("threshold.reset", "v_reset")
    if th["max_spikes"] > 1 and th["reset"] != "subtract":
        c.fail("threshold.max_spikes", th["max_spikes"], "several spikes per tick need "
               "reset = 'subtract'", "1 unless reset = 'subtract'")
    vth = params[th["register"]]
    th_max = vth.range[1] << th["shift"]
    if vth.default << th["shift"] > state["v"].range[1]:
        c.fail(f"params.{vth.name}.default", vth.default, "threshold does not fit the "
               f"{v_bits}-bit voltage register", f"<= {state['v'].range[1] >> th['shift']}")
    del th_max

    ref = c.table(raw, "refractory", {"register"}, {"register"})
    param_ref("refractory.register", ref["register"], allow_empty=True)

    noise = c.table(raw, "noise", {"kind", "target", "mant_bits", "exponent", "terms"},
                    {"kind"})
    c.str_(noise, "noise", "kind", NOISE_KINDS)
    if noise["kind"] != "none" or "target" in noise:
        c.str_(noise, "noise", "target", tuple(state))
        c.int_(noise, "noise", "mant_bits", 1, 24)
        if noise["kind"] != "bernoulli":
            param_ref("noise.exponent", noise.get("exponent"))
        noise.setdefault("terms", 4)
        c.int_(noise, "noise", "terms", 1, 64)
    if template == "xylo" and noise["kind"] != "none":
        c.fail("noise.kind", noise["kind"], "the xylo template has no noise source", "none")
    if template == "xylo" and inp["accumulate"] != "saturating_per_spike":
        c.fail("input.accumulate", inp["accumulate"], "the xylo template adds per spike",
               "saturating_per_spike")

    _check_template(c, template, state, decay, inp, w, bias, th, ref, noise, params)

    overrides = {}
    for k, v in raw.get("overrides", {}).items():
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            c.fail(f"overrides.{k}", v, "must be a list of dotted keys")
        overrides[k] = tuple(v)

    ro = MappingProxyType
    return Profile(name=c.str_(meta, "profile", "name"), template=template,
                   summary=meta["summary"], sources=tuple(sources), verified=meta["verified"],
                   unverified=meta["unverified"], state=ro(state), decay=ro(decay),
                   input=ro(inp), weights=ro(w), bias=ro(bias), threshold=ro(th),
                   refractory=ro(ref), noise=ro(noise), params=ro(params),
                   overrides=ro(overrides), file=file, applied=ro(dict(applied)), raw=raw)


# The phases each template implements: (section.key, allowed values); anything else is an
# inconsistent combination.
_TEMPLATE_FIXED = {
    "current": {"decay.kind": ("multiply", "shift", "none"),
                "weights.format": ("loihi", "int_shift"), "bias.format": ("mant_exp", "int"),
                "reset": ("zero", "to_value", "subtract", "none"),
                "noise.kind": ("none", "uniform", "sum_uniform", "binomial")},
    "xylo": {"decay.kind": ("multiply", "shift", "none"), "weights.format": ("loihi", "int_shift"),
             "bias.format": ("mant_exp", "int"), "reset": ("zero", "to_value", "subtract", "none"),
             "noise.kind": ("none",)},
    "spinnaker": {"decay.kind": ("fixed_factor",), "weights.format": ("uint_receptor",),
                  "bias.format": ("offset",), "reset": ("to_value",), "noise.kind": ("none",)},
    "truenorth": {"decay.kind": ("linear",), "weights.format": ("crossbar",),
                  "bias.format": ("leak",), "reset": ("per_neuron",),
                  "noise.kind": ("bernoulli", "none")},
}
SPINNAKER_PARAMS = ("v_rest", "v_reset", "v_thresh", "exp_tc", "r_membrane", "i_offset",
                    "refract_ticks", "syn_decay", "syn_init", "ring_buffer_shift")
TRUENORTH_PARAMS = ("syn_weight", "syn_stochastic", "leak", "leak_stochastic", "leak_reversal",
                    "alpha", "beta", "kappa", "gamma", "v_reset", "threshold_mask")


def _check_template(c, template, state, decay, inp, w, bias, th, ref, noise, params) -> None:
    """Reject phase settings the template's tick does not implement."""
    fixed = _TEMPLATE_FIXED[template]
    for name, d in decay.items():
        if d.kind not in fixed["decay.kind"]:
            c.fail(f"decay.{name}.kind", d.kind, f"not a decay of template {template!r}",
                   ", ".join(fixed["decay.kind"]))
    for key, value in (("weights.format", w["format"]), ("bias.format", bias["format"]),
                       ("noise.kind", noise["kind"])):
        if value not in fixed[key]:
            c.fail(key, value, f"not supported by template {template!r}", ", ".join(fixed[key]))
    if th["reset"] not in fixed["reset"]:
        c.fail("threshold.reset", th["reset"], f"not supported by template {template!r}",
               ", ".join(fixed["reset"]))
    if template not in ("spinnaker", "truenorth"):
        return
    need = SPINNAKER_PARAMS if template == "spinnaker" else TRUENORTH_PARAMS
    for p in need:
        if p not in params:
            c.fail(f"params.{p}", None, f"missing register of template {template!r}")
    if th["max_spikes"] != 1 or th["shift"] != 0:
        c.fail("threshold.max_spikes", th["max_spikes"], f"template {template!r} fires at most "
               "once per tick, threshold.shift = 0", "max_spikes = 1, shift = 0")
    if inp["delay"] < 1:
        c.fail("input.delay", inp["delay"], "the minimum synaptic delay is one tick", "1..64")
    for name, s in state.items():
        if not s.signed or s.bits > 32 or s.overflow not in (Overflow.WRAP, Overflow.SATURATE):
            c.fail(f"state.{name}", f"bits={s.bits}, signed={s.signed}, "
                   f"overflow={s.overflow.name.lower()}", f"template {template!r} registers are "
                   "signed, at most 32 bits, wrap or saturate",
                   "signed, bits <= 32, wrap or saturate")
    if template == "spinnaker":
        if state["isyn"].synapses != 2:
            c.fail("state.isyn.synapses", state["isyn"].synapses, "SpiNNaker's LIF has one "
                   "excitatory and one inhibitory synapse", "2")
        if inp["accumulate"] != "saturating_per_spike":
            c.fail("input.accumulate", inp["accumulate"], "the ring buffer adds one weight per "
                   "spike, saturating", "saturating_per_spike")
        for name, d in decay.items():
            if d.rounding not in (Rounding.FLOOR, Rounding.TOWARD_ZERO, Rounding.HALF_UP,
                                  Rounding.HALF_EVEN):
                c.fail(f"decay.{name}.rounding", d.rounding.name.lower(), "not implemented by "
                       "the spinnaker template", "floor, toward_zero, half_up, half_even")
            if d.shift not in (15, 32) or (name == "v") != (d.shift == 15):
                c.fail(f"decay.{name}.shift", d.shift, "SpiNNaker factors are s16.15 (v) and "
                       "u0.32 (isyn)", "15 for v, 32 for isyn")
        if ref["register"] != "refract_ticks":
            c.fail("refractory.register", ref["register"], "the spinnaker template counts "
                   "refractory ticks in refract_ticks", "refract_ticks")
    else:
        if params["syn_weight"].scope != "synapse":
            c.fail("params.syn_weight.scope", params["syn_weight"].scope, "one weight per "
                   "neuron and axon type", "synapse")
        if ref["register"] != "":
            c.fail("refractory.register", ref["register"], "TrueNorth has no refractory "
                   "counter", "''")
        if params["gamma"].default > 2:
            c.fail("params.gamma.default", params["gamma"].default, "reset mode", "0, 1, 2")
        if noise["kind"] == "bernoulli" and not 1 <= noise["mant_bits"] <= 16:
            c.fail("noise.mant_bits", noise["mant_bits"], "width of the PRN compared with "
                   "|weight| and |leak|", "1..16")


def _parse_value(text: str) -> Any:
    """Parse an override value given as text (``--set key=value``) with TOML rules."""
    try:
        return tomllib.loads(f"x = {text}")["x"]
    except tomllib.TOMLDecodeError:
        return text


def _apply(raw: dict, file: str, overrides: Mapping[str, Any], shorthands) -> dict:
    raw = copy.deepcopy(raw)
    for key, value in overrides.items():
        if isinstance(value, str):
            value = _parse_value(value)
        targets = shorthands.get(key, (key,)) if "." not in key else (key,)
        if "." not in key and key not in shorthands:
            raise ProfileError("unknown override", file=file, key=key, value=value,
                               allowed=", ".join(sorted(shorthands)) +
                               (", or a dotted key such as state.v.bits" if shorthands
                                else "a dotted key such as state.v.bits"))
        for target in targets:
            *path, leaf = target.split(".")
            d = raw
            for p in path:
                if not isinstance(d.get(p), dict):
                    raise ProfileError("override names no field of the profile", file=file,
                                       key=key, value=value)
                d = d[p]
            if leaf not in d:
                raise ProfileError("override names no field of the profile", file=file,
                                   key=target, value=value)
            d[leaf] = value
    return raw


def load_profile(name_or_path: str | Path, **overrides: Any) -> Profile:
    """Load and validate a hardware profile.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped profile name (``"loihi1"``, ``"xylo"``, ``"generic"``, ...) or
        the path of a TOML file.
    **overrides
        Field overrides: a shorthand of the profile's ``[overrides]`` table
        (``state_bits=12``, ``rounding="stochastic"``) or a dotted key
        (passed as ``**{"state.v.bits": 12}``).  String values are parsed
        as TOML values (``"12"`` -> 12).

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        Unknown profile, unreadable file, unknown/missing key, value out of
        range or inconsistent combination; the message names file, key, value
        and what is allowed.

    Examples
    --------
    >>> load_profile("generic", state_bits=12).state["v"].bits
    12
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = profile_dir() / f"{name_or_path}.toml"
        if not path.exists():
            raise ProfileError("unknown profile", key="profile", value=str(name_or_path),
                               allowed=", ".join(list_profiles()) + ", or a .toml file")
    raw = read_toml(path, ProfileError)
    shorthands = {k: tuple(v) for k, v in raw.get("overrides", {}).items()
                  if isinstance(v, list)}
    if overrides:
        raw = _apply(raw, str(path), overrides, shorthands)
    return _build(raw, str(path), overrides)
