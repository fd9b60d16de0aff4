"""Hypothesis strategies for fxlif profiles, registers, networks, spike inputs and scenarios.

Use them to property-test your own chip model (RTL, firmware, a simulator)
against the emulator (see :mod:`emulator.testing` and ``docs/property_testing.md``),
or to test the emulator itself::

    from hypothesis import given
    from emulator import strategies as fst

    @given(fst.scenarios(fst.profiles(names=["loihi1"])))
    def test_my_model(scenario):
        result = scenario.run()              # the emulator's answer
        ...

What each strategy generates:

* :func:`profiles`: shipped profiles by name, and ``generic`` ones with random
  widths, rounding, overflow, decay, threshold, reset and noise modes;
* :func:`registers`: the parameter registers of ``n`` neurons for one profile,
  each within its width, scope and the template's own rules;
* :func:`networks`: networks that fit a profile (every projection kind, delays,
  exponents, initial state);
* :func:`spike_inputs`: spike-count rasters ``(ticks, n_in)``;
* :func:`scenarios`: whole runnable cases (:class:`Scenario`: profile,
  network, inputs, ticks, seed).

Every strategy validates its arguments eagerly: an impossible request raises
:class:`hypothesis.errors.InvalidArgument` when the strategy is *built*, not
when it is drawn from:

>>> profiles(min_bits=0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
hypothesis.errors.InvalidArgument: profiles(min_bits=0): a register needs at least 2 bits ...

Shrinking: examples shrink towards the first shipped profile (then narrow
generic ones), one neuron, no inputs, one tick, no spikes, registers at zero
(or the smallest legal value), no projections, zero initial state and seed 0,
so a failing property is reported on a minimal case.  Register values are
drawn with extra weight on the edges of their range (minimum, maximum, 0,
+-1), where fixed-point bugs live.

Cost note: the numba kernels are specialised by the profile's *modes*
(rounding, overflow, decay kind, reset, ...), not by widths or register
values, and each new mode combination is compiled once per process.  To
keep property runs fast, pin modes with ``profiles(overrides={...})`` and
let hypothesis vary widths and registers, or run the emulator with
``backend="twin"`` (the slow golden twin: no compilation, fast on tiny
networks).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from emulator.fixed import Rounding
from emulator.network import Network, Projection
from emulator.profile import Profile, ProfileError, list_profiles, load_profile

__all__ = ["Scenario", "cases", "exponent_bounds", "minimal_example", "networks", "profiles",
           "register_bounds", "registers", "scenarios", "spike_inputs", "weight_bounds"]

ROUNDINGS = [m.name.lower() for m in Rounding]
OVERFLOWS = ["wrap", "saturate", "saturate_symmetric"]
MAX_BITS = 48          # widest state register the int64 kernels support (profile.MAX_STATE_BITS)
TRUENORTH_MAX_DELAY = 15
SCOPES_DRAWN = ("population", "neuron", "synapse")


# ---------------------------------------------------------------------------------
# argument checks (eager, one error type)

def _check_int(fn: str, name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{fn}({name}={value!r}): must be an integer")
    if value < lo or (hi is not None and value > hi):
        allowed = f"{lo} <= {name} <= {hi}" if hi is not None else f"{name} >= {lo}"
        raise InvalidArgument(f"{fn}({name}={value!r}) is out of range (allowed: {allowed})")


def _check_profile(fn: str, profile: Any) -> Profile:
    if not isinstance(profile, Profile):
        raise InvalidArgument(f"{fn}(profile={profile!r}): needs a Profile (from load_profile), "
                              f"not {type(profile).__name__}")
    return profile


@functools.lru_cache(maxsize=None)
def _shipped(name: str) -> Profile:
    return load_profile(name)


def minimal_example(strategy: st.SearchStrategy, condition=lambda x: True):
    """Return the simplest example of ``strategy`` satisfying ``condition`` (shrunk).

    For documentation and debugging (what does the minimal draw look like?);
    deterministic, no example database, no explain phase.
    """
    from hypothesis import HealthCheck, Phase, find, settings

    return find(strategy, condition,
                settings=settings(phases=[Phase.generate, Phase.shrink], database=None,
                                  derandomize=True, max_examples=200,
                                  suppress_health_check=list(HealthCheck)))


# ---------------------------------------------------------------------------------
# profiles

def _generic_ok(overrides: Mapping[str, Any]) -> None:
    try:
        load_profile("generic", **overrides)
    except ProfileError as exc:
        raise InvalidArgument(f"profiles(overrides=...): {exc.one_line()}") from None


@st.composite
def _generic(draw, min_bits: int, max_bits: int, stochastic: bool, noise: bool,
             fixed: Mapping[str, Any]):
    """Draw a random ``generic`` profile; keys in ``fixed`` are not drawn but set."""
    def pick(key, strategy):
        return fixed[key] if key in fixed else draw(strategy)

    bits = pick("state.v.bits", _ints(min_bits, max_bits))
    u_bits = pick("state.u.bits", st.just(bits))
    widest = max(bits, u_bits)
    dshift = pick("decay.v.shift", _ints(1, min(16, 62 - widest)))
    rounds = ROUNDINGS if stochastic else [r for r in ROUNDINGS if r != "stochastic"]
    kinds = {v: pick(f"decay.{v}.kind", st.sampled_from(["multiply", "shift", "none"]))
             for v in ("u", "v")}
    reset = pick("threshold.reset", st.sampled_from(["zero", "to_value", "subtract", "none"]))
    dbits = min(dshift, 12)
    if "shift" in kinds.values():
        dbits = min(dbits, 5)
    over = {
        "state.u.bits": u_bits, "state.v.bits": bits,
        "params.vth.bits": bits - 1, "params.v_reset.bits": bits,
        "state.u.overflow": pick("state.u.overflow", st.sampled_from(OVERFLOWS)),
        "state.v.overflow": pick("state.v.overflow", st.sampled_from(OVERFLOWS)),
        "decay.u.kind": kinds["u"], "decay.v.kind": kinds["v"],
        "decay.u.rounding": pick("decay.u.rounding", st.sampled_from(rounds)),
        "decay.v.rounding": pick("decay.v.rounding", st.sampled_from(rounds)),
        "decay.u.shift": dshift, "decay.v.shift": dshift,
        "decay.u.offset": pick("decay.u.offset", _ints(0, 1)),
        "decay.u.min_step": pick("decay.u.min_step", st.booleans()),
        "decay.v.min_step": pick("decay.v.min_step", st.booleans()),
        "params.du.bits": dbits, "params.dv.bits": dbits,
        "threshold.compare": pick("threshold.compare", st.sampled_from([">", ">="])),
        "threshold.reset": reset,
        "threshold.max_spikes": pick("threshold.max_spikes",
                                     _ints(1, 4) if reset == "subtract" else st.just(1)),
        "threshold.shift": pick("threshold.shift", _ints(0, min(2, bits - 2))),
        "input.act_shift": pick("input.act_shift", _ints(0, 3)),
        "input.delay": pick("input.delay", _ints(0, 2)),
        "params.vth.default": 0,
    }
    if noise:
        over["noise.kind"] = pick("noise.kind", st.sampled_from(
            ["none", "uniform", "sum_uniform", "binomial"]))
        over["noise.mant_bits"] = pick("noise.mant_bits", _ints(1, 8))
        over["noise.terms"] = pick("noise.terms", _ints(1, 6))
    over.update(fixed)
    try:
        return load_profile("generic", **over)
    except ProfileError as exc:        # a fixed override clashes with a drawn value
        raise InvalidArgument(f"profiles(overrides=...) clash with a drawn generic profile: "
                              f"{exc.one_line()}") from None


def profiles(*, names: Sequence[str] | None = None, shipped: bool = True,
             generic: bool | None = None,
             min_bits: int = 4, max_bits: int = 32, stochastic: bool = True, noise: bool = True,
             overrides: Mapping[str, Any] | None = None) -> st.SearchStrategy[Profile]:
    """Hardware profiles: shipped ones by name, and random ``generic`` ones.

    Parameters
    ----------
    names : sequence of str, optional
        Only these shipped profiles (``"loihi1"``, ``"xylo"``, ...; ``"generic"``
        is the generic profile with its file's defaults).
    shipped : bool
        Include the shipped profiles (all of them, or ``names``).
    generic : bool, optional
        Include random ``generic`` profiles (default: yes, unless ``names``
        is given): state width in
        ``min_bits..max_bits``, every rounding mode (``stochastic`` optional),
        overflow mode, decay kind and shift, comparison, reset mode, spikes
        per tick, threshold and input alignment, input delay and noise kind.
    min_bits, max_bits : int
        Bounds of the generic state width, ``2 <= min_bits <= max_bits <= 48``.
    stochastic : bool
        Allow stochastic rounding in generic profiles.
    noise : bool
        Allow a noise source in generic profiles.
    overrides : mapping of str to value, optional
        Dotted keys (``{"decay.u.rounding": "floor"}``) fixed in every generic
        profile instead of drawn: pin the modes, let the widths vary.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        At once, for an impossible request: a width below 2 or above 48,
        ``min_bits > max_bits``, an unknown profile name, nothing to draw from,
        or overrides the generic profile rejects.

    Examples
    --------
    >>> minimal_example(profiles(names=["loihi1"])).name
    'loihi1'
    >>> p = minimal_example(profiles(shipped=False, min_bits=6, max_bits=6))
    >>> (p.name, p.state["v"].bits)
    ('generic', 6)

    Shrinks towards the first shipped profile, then towards narrow generic
    profiles with the first mode of every list (floor, wrap, multiply, ...).
    """
    _check_int("profiles", "min_bits", min_bits, -10**9)
    _check_int("profiles", "max_bits", max_bits, -10**9)
    if min_bits < 2:
        raise InvalidArgument(f"profiles(min_bits={min_bits}): a register needs at least 2 bits "
                              f"(allowed: 2 <= min_bits <= max_bits <= {MAX_BITS})")
    if max_bits > MAX_BITS:
        raise InvalidArgument(f"profiles(max_bits={max_bits}): the int64 kernels hold at most "
                              f"{MAX_BITS}-bit registers (allowed: 2 <= min_bits <= max_bits "
                              f"<= {MAX_BITS})")
    if min_bits > max_bits:
        raise InvalidArgument(f"profiles(min_bits={min_bits}, max_bits={max_bits}): min_bits "
                              f"must not exceed max_bits")
    available = list_profiles()
    if names is not None:
        if isinstance(names, str):
            raise InvalidArgument(f"profiles(names={names!r}): needs a list of names, "
                                  f"e.g. names=[{names!r}]")
        bad = [n for n in names if n not in available]
        if bad:
            raise InvalidArgument(f"profiles(names=...): unknown profile {bad[0]!r} "
                                  f"(allowed: {', '.join(available)})")
        if not names:
            raise InvalidArgument("profiles(names=[]): needs at least one name")
    overrides = dict(overrides or {})
    if overrides:
        bad = [k for k in overrides if "." not in k]
        if bad:
            raise InvalidArgument(f"profiles(overrides=...): {bad[0]!r} is not a dotted key "
                                  "(e.g. 'decay.u.rounding')")
        _generic_ok(overrides)
    if generic is None:
        generic = names is None
    options = []
    if shipped:
        pool = list(names) if names is not None else available
        options.append(st.sampled_from(pool).map(_shipped))
    if generic:
        if "state.v.bits" in overrides and not min_bits <= overrides["state.v.bits"] <= max_bits:
            raise InvalidArgument(f"profiles(overrides=...): state.v.bits = "
                                  f"{overrides['state.v.bits']} outside min_bits..max_bits "
                                  f"= {min_bits}..{max_bits}")
        options.append(_generic(min_bits, max_bits, stochastic, noise, overrides))
    if not options:
        raise InvalidArgument("profiles(shipped=False, generic=False): nothing to draw from")
    return st.one_of(*options)


# ---------------------------------------------------------------------------------
# registers

@functools.lru_cache(maxsize=4096)
def _edgy(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in ``lo..hi``, with extra weight on the edges; shrinks towards 0 (or lo)."""
    edges = sorted({x for x in (lo, hi, 0, 1, -1, lo + 1, hi - 1) if lo <= x <= hi},
                   key=lambda x: (abs(x), x))
    return st.one_of(_ints(lo, hi), st.sampled_from(edges))


def register_bounds(profile: Profile, name: str) -> tuple[int, int]:
    """``(lo, hi)`` of the values a network may put in register ``name`` of ``profile``.

    The register's own range, narrowed by the template's rules: a threshold
    fits the voltage register (``vth << shift <= v max``), a Xylo threshold
    is positive, TrueNorth's reset mode ``gamma`` is 0..2, and stochastic
    registers are 0 on a profile without a noise source.
    """
    spec = profile.params[name]
    lo, hi = spec.range
    if name == profile.threshold["register"]:
        hi = min(hi, profile.state["v"].range[1] >> profile.threshold["shift"])
        if profile.template == "xylo":
            lo = max(lo, 1)
    if profile.template == "truenorth":
        if name == "gamma":
            hi = min(hi, 2)
        if name in ("syn_stochastic", "leak_stochastic", "threshold_mask") \
                and profile.noise["kind"] == "none":
            hi = 0
    return lo, hi


def _shape(profile: Profile, name: str, n: int) -> tuple[int, ...]:
    n_syn = _n_syn(profile)
    return {"population": (), "neuron": (n,), "synapse": (n, n_syn)}[profile.params[name].scope]


def _n_syn(profile: Profile) -> int:
    if profile.template == "truenorth":
        return profile.weights["types"]
    return max(s.synapses for s in profile.state.values())


@functools.lru_cache(maxsize=4096)
def _fixed_list(elements: st.SearchStrategy, size: int) -> st.SearchStrategy[list]:
    return st.lists(elements, min_size=size, max_size=size)


def _array(draw, elements, shape) -> np.ndarray:
    size = int(np.prod(shape)) if shape else 1
    values = draw(_fixed_list(elements, size))
    return np.array(values, dtype=np.int64).reshape(shape)


def _check_fixed(fn: str, profile: Profile, fixed: Mapping[str, Any] | None, n: int | None):
    fixed = dict(fixed or {})
    for name, value in fixed.items():
        if name not in profile.params or profile.params[name].scope == "projection":
            allowed = ", ".join(k for k, s in profile.params.items() if s.scope != "projection")
            raise InvalidArgument(f"{fn}(fixed={{{name!r}: ...}}): not a register of profile "
                                  f"{profile.name!r} (allowed: {allowed})")
        arr = np.asarray(value)
        lo, hi = register_bounds(profile, name)
        if arr.dtype.kind not in "iu" or (arr.size and (arr.min() < lo or arr.max() > hi)):
            raise InvalidArgument(f"{fn}(fixed={{{name!r}: {value!r}}}): must be integers in "
                                  f"{lo}..{hi}")
    return fixed


@st.composite
def _registers(draw, profile: Profile, n: int, fixed: Mapping[str, Any]):
    out: dict[str, Any] = {}
    for name, spec in profile.params.items():
        if spec.scope == "projection":
            continue
        if name in fixed:
            out[name] = fixed[name]
            continue
        out[name] = _array(draw, _edgy(*register_bounds(profile, name)),
                           _shape(profile, name, n))
    return out


def registers(profile: Profile, n: int, *,
              fixed: Mapping[str, Any] | None = None) -> st.SearchStrategy[dict]:
    """Parameter registers of ``n`` neurons for ``profile``.

    Every register a network sets (not the per-projection exponents) is drawn
    within :func:`register_bounds`: its width and signedness, narrowed by the
    template's rules, so every draw is a valid network.  Population registers
    are 0-d arrays, neuron registers ``(n,)``, synapse registers ``(n, n_syn)``.

    Parameters
    ----------
    profile : Profile
    n : int
        Number of neurons, >= 1.
    fixed : mapping of str to int or array, optional
        Registers held at the given values (``{"refractory": 0}``).

    Examples
    --------
    >>> regs = minimal_example(registers(load_profile("loihi1"), 3))
    >>> regs["bias_mant"].tolist(), int(regs["vth"])
    ([0, 0, 0], 0)

    Shrinks towards zero registers (a Xylo threshold towards 1).
    """
    _check_profile("registers", profile)
    _check_int("registers", "n", n, 1)
    return _registers(profile, int(n), _check_fixed("registers", profile, fixed, n))


# ---------------------------------------------------------------------------------
# spike inputs

_INT_0_999 = st.integers(0, 999)


@functools.lru_cache(maxsize=1024)
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@st.composite
def _spikes(draw, ticks: int, n_in: int, max_count: int, per_mille: int):
    cells = ticks * n_in
    on = draw(_fixed_list(_INT_0_999, cells))
    cnt = draw(_fixed_list(_ints(1, max(1, max_count)), cells))
    # x >= 1000 - per_mille spikes: shrinking x towards 0 switches spikes off
    arr = np.array([c if x >= 1000 - per_mille else 0 for x, c in zip(on, cnt, strict=True)],
                   dtype=np.int64)
    return arr.reshape(ticks, n_in)


def spike_inputs(ticks: int, n_in: int, *, max_count: int = 1,
                 density: float = 0.3) -> st.SearchStrategy[np.ndarray]:
    """Spike counts ``(ticks, n_in)`` int64: row ``t - 1`` is what arrives in tick ``t``.

    Each cell spikes with probability about ``density``, with a count in
    ``1..max_count`` (``max_count=0``: no spikes at all).

    Examples
    --------
    >>> minimal_example(spike_inputs(2, 3)).tolist()
    [[0, 0, 0], [0, 0, 0]]
    >>> spike_inputs(0, 3)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: spike_inputs(ticks=0) is out of range (allowed: ticks >= 1)

    Shrinks towards no spikes, then counts of 1.
    """
    _check_int("spike_inputs", "ticks", ticks, 1)
    _check_int("spike_inputs", "n_in", n_in, 0)
    _check_int("spike_inputs", "max_count", max_count, 0)
    if not isinstance(density, (int, float)) or not 0 <= density <= 1:
        raise InvalidArgument(f"spike_inputs(density={density!r}) is out of range "
                              "(allowed: 0 <= density <= 1)")
    per_mille = 0 if max_count == 0 else round(1000 * density)
    return _spikes(int(ticks), int(n_in), int(max_count), per_mille)


# ---------------------------------------------------------------------------------
# networks

def weight_bounds(profile: Profile) -> tuple[int, int]:
    """``(lo, hi)`` of the projection weights a network may give ``profile``.

    ``loihi``: -2**bits..2**bits - 1 (the toolchain clips and truncates them);
    ``int_shift``: the signed weight register; ``uint_receptor`` (SpiNNaker):
    0..2**bits - 1, the sign comes from the synapse; ``crossbar``
    (TrueNorth): 0 or 1.
    """
    wb, fmt = profile.weights["bits"], profile.weights["format"]
    if fmt == "loihi":
        return -(1 << wb), (1 << wb) - 1
    if fmt == "uint_receptor":
        return 0, (1 << wb) - 1
    if fmt == "crossbar":
        return 0, 1
    return -(1 << (wb - 1)), (1 << (wb - 1)) - 1


def exponent_bounds(profile: Profile) -> tuple[int, int]:
    """``(lo, hi)`` of a projection's weight exponent (0..0 where the chip has none)."""
    if profile.template in ("spinnaker", "truenorth"):
        return 0, 0
    lo, hi = profile.params[profile.weights["exponent"]].range
    return max(lo, -4), min(hi, 3)


def _delay_strategy(profile: Profile, source: str):
    """Delays a projection may have (``None``: the profile's)."""
    if profile.template == "xylo":
        return st.just(None)
    top = TRUENORTH_MAX_DELAY if profile.template == "truenorth" else 3
    lo = 1 if source == "neurons" or profile.template in ("spinnaker", "truenorth") else 0
    return st.one_of(st.none(), _ints(lo, top))


def _neuron_records(draw, profile, max_neurons, fixed, init_vars):
    """Draw population registers, then 1..max_neurons neuron records; return (params, n)."""
    n_syn = _n_syn(profile)
    params: dict[str, Any] = {}
    per_neuron = []                       # (key, element strategy, per-neuron shape)
    for name, spec in profile.params.items():
        if spec.scope == "projection":
            continue
        if name in fixed:
            params[name] = fixed[name]
        elif spec.scope == "population":
            params[name] = np.array(draw(_edgy(*register_bounds(profile, name))), dtype=np.int64)
        else:
            per_neuron.append((name, _edgy(*register_bounds(profile, name)),
                               () if spec.scope == "neuron" else (n_syn,)))
    for name in init_vars:
        spec = profile.state[name]
        per_neuron.append((f"init.{name}", _edgy(*spec.range),
                           () if spec.synapses == 1 else (spec.synapses,)))
    record = st.tuples(*[_fixed_list(elem, int(np.prod(shape)) if shape else 1)
                         for _, elem, shape in per_neuron])
    rows = draw(st.lists(record, min_size=1, max_size=max_neurons))
    n = len(rows)
    for k, (name, _, shape) in enumerate(per_neuron):
        params[name] = np.array([r[k] for r in rows], dtype=np.int64).reshape((n,) + shape)
    return params, n


@st.composite
def _networks(draw, profile, max_neurons, max_inputs, recurrent, kinds, noise, fixed, init,
              vectors):
    import scipy.sparse as sp

    # Neurons are drawn as a list of records (every per-neuron register and initial
    # value of one neuron), so shrinking deletes whole neurons: a bug in neuron 3 of 4
    # shrinks to a one-neuron network.
    init_vars = [name for name in profile.state if init and draw(st.booleans())]
    params, n = _neuron_records(draw, profile, max_neurons, fixed, init_vars)
    state0 = {name: params.pop(f"init.{name}") for name in init_vars}
    n_in = draw(_ints(0, max_inputs))
    wlo, whi = weight_bounds(profile)
    e_lo, e_hi = exponent_bounds(profile)
    n_syn = _n_syn(profile)
    projections = []
    sources = [("input", n_in)] + ([("neurons", n)] if recurrent else [])
    for source, n_src in sources:
        if n_src == 0:
            continue
        if vectors:
            # the fxlif-vectors/1 layout: one full dense matrix per synapse, one exponent
            # per source, the profile's delays
            exp = draw(_ints(e_lo, e_hi)) if draw(st.booleans()) else 0
            for s in range(n_syn):
                if not draw(st.booleans()):
                    continue
                w = _array(draw, _edgy(wlo, whi), (n, n_src))
                projections.append(Projection(source, "dense", w, (0, n_src), (0, n),
                                              synapse=s, exponent=exp))
            continue
        for _ in range(draw(_ints(0, 2))):
            kind = draw(st.sampled_from(kinds)) if profile.template != "xylo" else "dense"
            pre0 = draw(_ints(0, n_src - 1))
            pre1 = draw(_ints(pre0 + 1, n_src))
            post0 = draw(_ints(0, n - 1))
            post1 = draw(_ints(post0 + 1, n))
            shape = (post1 - post0, pre1 - pre0)
            if kind == "all_to_all":
                w = draw(_edgy(wlo, whi))
            else:
                w = _array(draw, _edgy(wlo, whi), shape)
                if kind == "sparse":
                    w = sp.csr_matrix(w)
            projections.append(Projection(source, kind, w, (pre0, pre1), (post0, post1),
                                          synapse=draw(_ints(0, n_syn - 1)),
                                          exponent=draw(_ints(e_lo, e_hi)),
                                          delay=draw(_delay_strategy(profile, source))))
    on = False
    if noise is not False and profile.template == "current" and not vectors:
        on = True if noise is True else draw(st.booleans())
    return Network(n=n, n_in=n_in, params=params, projections=tuple(projections), init=state0,
                   noise=on)


def networks(profile: Profile, *, max_neurons: int = 6, max_inputs: int = 3,
             recurrent: bool = True, kinds: Sequence[str] = ("dense", "sparse", "all_to_all"),
             noise: bool | None = None, fixed: Mapping[str, Any] | None = None,
             init: bool = True, vectors: bool = False) -> st.SearchStrategy[Network]:
    """Networks that fit ``profile``: registers, projections, initial state.

    Parameters
    ----------
    profile : Profile
    max_neurons, max_inputs : int
        Bounds of the neuron count (>= 1) and of the input channels (>= 0).
    recurrent : bool
        Allow projections from the network's own neurons.
    kinds : sequence of {"dense", "sparse", "all_to_all"}
        Projection kinds to draw (Xylo draws dense ones only).
    noise : bool or None
        Switch the profile's noise source on (True), off (False) or draw it
        (None); only ``current``-template profiles have one to switch.
    fixed : mapping, optional
        Registers held at given values (see :func:`registers`).
    init : bool
        Draw initial state registers (else they start at zero).
    vectors : bool
        Only networks the golden-vector format ``fxlif-vectors/1`` can hold:
        at most one full dense matrix per (source, synapse), one exponent per
        source, the profile's delays, no noise.

    Weights lie in :func:`weight_bounds`, exponents in
    :func:`exponent_bounds`, delays in the template's range.  Shrinks towards
    one neuron, no inputs, no projections, zero registers and zero state.
    """
    _check_profile("networks", profile)
    _check_int("networks", "max_neurons", max_neurons, 1)
    _check_int("networks", "max_inputs", max_inputs, 0)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in ("dense", "sparse", "all_to_all")]
    if bad or not kinds:
        raise InvalidArgument(f"networks(kinds={kinds!r}): allowed kinds are dense, sparse, "
                              "all_to_all (at least one)")
    fixed = _check_fixed("networks", profile, fixed, None)
    return _networks(profile, int(max_neurons), int(max_inputs), bool(recurrent), kinds, noise,
                     fixed, bool(init), bool(vectors))


# ---------------------------------------------------------------------------------
# scenarios

@dataclass(frozen=True)
class Scenario:
    """A whole runnable case: what :func:`emulator.engine.simulate` needs.

    Attributes
    ----------
    profile : Profile
    network : Network
    inputs : int64 ndarray (ticks, n_in)
        Spike counts arriving on each input channel, row ``t - 1`` is tick ``t``.
    ticks : int
    seed : int
        Seed of the noise and stochastic-rounding streams.
    """

    profile: Profile
    network: Network
    inputs: np.ndarray = field(repr=False)
    ticks: int
    seed: int = 0

    def run(self, *, backend: str = "numba", strict: bool = False, trace="all"):
        """Run it on the emulator; return the :class:`~emulator.engine.RunResult`."""
        from emulator.engine import simulate

        return simulate(self.profile, self.network, self.inputs, ticks=self.ticks,
                        seeds=(self.seed,), strict=strict, trace=trace, backend=backend)

    def describe(self) -> str:
        """Return a few lines a person can read: profile, sizes, registers, projections, inputs."""
        net = self.network
        lines = [f"profile {self.profile.name} ({self.profile.template}), {net.n} neuron(s), "
                 f"{net.n_in} input channel(s), {self.ticks} tick(s), seed {self.seed}"
                 + (", noise on" if net.noise else "")]
        if self.profile.name == "generic" and self.profile.applied:
            lines.append("  overrides: " + ", ".join(f"{k}={v}" for k, v in
                                                     self.profile.applied.items()))
        regs = ", ".join(f"{k}={_fmt(v)}" for k, v in net.params.items())
        lines.append(f"  registers: {regs or '(defaults)'}")
        for k, v in net.init.items():
            lines.append(f"  initial {k}: {_fmt(v)}")
        for p in net.projections:
            w = p.weights if p.kind == "all_to_all" else _fmt(p.dense())
            lines.append(f"  projection {p.source}[{p.pre[0]}:{p.pre[1]}] -> "
                         f"neurons[{p.post[0]}:{p.post[1]}] {p.kind} synapse {p.synapse} "
                         f"exponent {p.exponent} delay {p.delay}: {w}")
        if net.n_in:
            lines.append(f"  inputs: {_fmt(self.inputs)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Scenario(\n{self.describe()}\n)"


def _fmt(value) -> str:
    arr = np.asarray(value)
    return str(arr.item()) if arr.ndim == 0 else str(arr.tolist())


@st.composite
def _scenarios(draw, profile_strategy, max_ticks, network_kwargs, max_count, seeds):
    profile = draw(profile_strategy)
    net = draw(_networks(profile, **network_kwargs))
    ticks = draw(_ints(1, max_ticks))
    if max_count is None:
        max_count = {"xylo": 20, "truenorth": 1}.get(profile.template, 2)
    if profile.template == "truenorth":
        max_count = min(max_count, 1)
    inputs = draw(spike_inputs(ticks, net.n_in, max_count=max_count))
    seed = draw(_ints(0, 2**32 - 1)) if seeds else 0
    return Scenario(profile, net, inputs, ticks, seed)


def scenarios(profiles_: st.SearchStrategy[Profile] | Profile | str | None = None, *,
              max_ticks: int = 12, max_neurons: int = 4, max_inputs: int = 3,
              recurrent: bool = True, kinds: Sequence[str] = ("dense", "sparse", "all_to_all"),
              noise: bool | None = False, fixed: Mapping[str, Any] | None = None,
              init: bool = True, vectors: bool = False, max_count: int | None = None,
              seeds: bool = False) -> st.SearchStrategy[Scenario]:
    """Whole runnable cases: :class:`Scenario` (profile, network, inputs, ticks, seed).

    Parameters
    ----------
    profiles_ : strategy of Profile, Profile or str, optional
        Where the profile comes from: a strategy (default :func:`profiles`),
        one profile, or a shipped profile's name.
    max_ticks : int
        Ticks are drawn in ``1..max_ticks``.
    max_neurons, max_inputs, recurrent, kinds, noise, init, vectors
        Passed to :func:`networks` (``noise`` defaults to off here: a model
        under test rarely reproduces the emulator's PRNG).
    fixed : mapping, optional
        Registers held at given values in every drawn network; names that the
        drawn profile does not have are ignored (so one mapping can serve
        several profiles).
    max_count : int, optional
        Largest input spike count per channel and tick (default 2; Xylo 20,
        TrueNorth 1).
    seeds : bool
        Draw the seed (else 0).

    Examples
    --------
    >>> s = minimal_example(scenarios("loihi1"))
    >>> (s.profile.name, s.network.n, s.ticks)
    ('loihi1', 1, 1)
    >>> s.run(backend="twin").spike_counts().tolist()     # v = 0 is not > vth << 6 = 0
    [[0]]
    >>> s = minimal_example(scenarios("xylo", max_inputs=2), lambda s: s.network.n_in == 2)
    >>> s.inputs.shape
    (1, 2)

    Shrinks towards the smallest network (see :func:`networks`), one tick,
    no input spikes and seed 0.
    """
    if profiles_ is None:
        strategy = profiles()
    elif isinstance(profiles_, str):
        if profiles_ not in list_profiles():
            raise InvalidArgument(f"scenarios({profiles_!r}): unknown profile "
                                  f"(allowed: {', '.join(list_profiles())})")
        strategy = st.just(_shipped(profiles_))
    elif isinstance(profiles_, Profile):
        strategy = st.just(profiles_)
    elif isinstance(profiles_, st.SearchStrategy):
        strategy = profiles_
    else:
        raise InvalidArgument(f"scenarios({profiles_!r}): needs a strategy of profiles, a "
                              "Profile or a shipped profile's name")
    _check_int("scenarios", "max_ticks", max_ticks, 1)
    _check_int("scenarios", "max_neurons", max_neurons, 1)
    _check_int("scenarios", "max_inputs", max_inputs, 0)
    if max_count is not None:
        _check_int("scenarios", "max_count", max_count, 0)
    fixed = dict(fixed or {})

    @st.composite
    def with_fixed(draw):
        profile = draw(strategy)
        mine = {k: v for k, v in fixed.items() if k in profile.params}
        _check_fixed("scenarios", profile, mine, None)
        kw = dict(max_neurons=int(max_neurons), max_inputs=int(max_inputs),
                  recurrent=bool(recurrent), kinds=tuple(kinds), noise=noise, fixed=mine,
                  init=bool(init), vectors=bool(vectors))
        return draw(_scenarios(st.just(profile), int(max_ticks), kw, max_count,
                               bool(seeds) and not vectors))

    return with_fixed()


def cases(profile_strategy=None, *, max_ticks: int = 12, **network_kwargs):
    """``(profile, network, inputs, ticks)`` tuples (older form of :func:`scenarios`)."""
    return scenarios(profile_strategy, max_ticks=max_ticks, noise=network_kwargs.pop("noise", None),
                     **network_kwargs).map(lambda s: (s.profile, s.network, s.inputs, s.ticks))
