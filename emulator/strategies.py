"""Hypothesis strategies for fxlif profiles, registers, networks and spike inputs.

Use them to property-test your own chip model (RTL, firmware, simulator)
against the emulator, or to test the emulator itself::

    from hypothesis import given
    from emulator import strategies as fst

    @given(fst.cases(fst.profiles(shipped=False)))
    def test_my_model(case):
        profile, network, inputs, ticks = case
        ...

Every strategy validates its arguments eagerly (an impossible request raises
:class:`hypothesis.errors.InvalidArgument` at once) and shrinks towards small
networks, few ticks, zero registers and the default modes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from emulator.fixed import Overflow, Rounding
from emulator.network import Network, Projection
from emulator.profile import Profile, list_profiles, load_profile

__all__ = ["cases", "networks", "profiles", "registers", "spike_inputs"]

ROUNDINGS = [m.name.lower() for m in Rounding]
OVERFLOWS = ["wrap", "saturate", "saturate_symmetric"]


def _check_bits(name: str, lo: int, hi: int) -> None:
    if not 2 <= lo <= hi <= 48:
        raise InvalidArgument(f"{name} must satisfy 2 <= min <= max <= 48, got {lo}..{hi}")


@st.composite
def _generic(draw, min_bits: int, max_bits: int, stochastic: bool, noise: bool):
    bits = draw(st.integers(min_bits, max_bits))
    dshift = draw(st.integers(1, min(16, 62 - bits)))
    ov = {v: draw(st.sampled_from(OVERFLOWS)) for v in ("u", "v")}
    rounds = ROUNDINGS if stochastic else [r for r in ROUNDINGS if r != "stochastic"]
    kinds = {v: draw(st.sampled_from(["multiply", "shift", "none"])) for v in ("u", "v")}
    reset = draw(st.sampled_from(["zero", "to_value", "subtract", "none"]))
    over = {
        "state.u.bits": bits, "state.v.bits": bits,
        "params.vth.bits": bits - 1, "params.v_reset.bits": bits,
        "state.u.overflow": ov["u"], "state.v.overflow": ov["v"],
        "decay.u.kind": kinds["u"], "decay.v.kind": kinds["v"],
        "decay.u.rounding": draw(st.sampled_from(rounds)),
        "decay.v.rounding": draw(st.sampled_from(rounds)),
        "decay.u.shift": dshift, "decay.v.shift": dshift,
        "decay.u.offset": draw(st.integers(0, 1)),
        "decay.u.min_step": draw(st.booleans()), "decay.v.min_step": draw(st.booleans()),
        "params.du.bits": min(dshift, 12), "params.dv.bits": min(dshift, 12),
        "threshold.compare": draw(st.sampled_from([">", ">="])),
        "threshold.reset": reset,
        "threshold.max_spikes": draw(st.integers(1, 4)) if reset == "subtract" else 1,
        "threshold.shift": draw(st.integers(0, 2)),
        "input.act_shift": draw(st.integers(0, 3)),
        "input.delay": draw(st.integers(0, 2)),
        "params.vth.default": 0,
    }
    if kinds["u"] == "shift" or kinds["v"] == "shift":
        over["params.du.bits"] = over["params.dv.bits"] = min(over["params.du.bits"], 5)
    if noise:
        over["noise.kind"] = draw(st.sampled_from(["none", "uniform", "sum_uniform", "binomial"]))
        over["noise.mant_bits"] = draw(st.integers(1, 8))
        over["noise.terms"] = draw(st.integers(1, 6))
    return load_profile("generic", **over)


def profiles(*, shipped: bool = True, generic: bool = True, min_bits: int = 4,
             max_bits: int = 32, stochastic: bool = True, noise: bool = True):
    """Profiles: shipped ones by name, and ``generic`` ones with random widths and modes.

    Parameters
    ----------
    shipped : bool
        Include the shipped profiles (``loihi1``, ``xylo``, ...).
    generic : bool
        Include random ``generic`` profiles: state width in
        ``min_bits..max_bits``, every rounding mode (``stochastic`` optional),
        overflow mode, decay kind, reset mode, comparison and noise kind.
    min_bits, max_bits : int
        Bounds of the generic state width, within 2..48.

    Shrinks towards the first shipped profile, then narrow generic ones.
    """
    _check_bits("bits", min_bits, max_bits)
    if not (shipped or generic):
        raise InvalidArgument("profiles() needs shipped=True or generic=True")
    options = []
    if shipped:
        options.append(st.sampled_from(list_profiles()).map(load_profile))
    if generic:
        options.append(_generic(min_bits, max_bits, stochastic, noise))
    return st.one_of(*options)


def _reg_values(spec, shape, draw, limit=None):
    lo, hi = spec.range
    if limit is not None:
        lo, hi = max(lo, -limit), min(hi, limit)
    return np.array(draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)


@st.composite
def registers(draw, profile: Profile, n: int):
    """Parameter registers of ``n`` neurons for ``profile``, each within its width and scope.

    Returns a dict name -> int or int64 array.  Thresholds are kept inside the
    voltage register (``vth << shift <= v max``) so every draw is a valid network.
    """
    if n < 1:
        raise InvalidArgument(f"registers() needs n >= 1, got {n}")
    out = {}
    n_syn = max(s.synapses for s in profile.state.values())
    v_hi = profile.state["v"].range[1]
    for name, spec in profile.params.items():
        if spec.scope == "projection":
            continue
        if name == profile.threshold["register"]:
            top = min(spec.range[1], v_hi >> profile.threshold["shift"])
            lo = 1 if profile.template == "xylo" else 0
            shape = () if spec.scope == "population" else (n,)
            out[name] = np.array(draw(st.lists(st.integers(lo, top), min_size=max(1, int(np.prod(shape))),
                                               max_size=max(1, int(np.prod(shape))))),
                                 dtype=np.int64).reshape(shape)
            continue
        shape = {"population": (), "neuron": (n,), "synapse": (n, n_syn)}[spec.scope]
        out[name] = _reg_values(spec, shape, draw)
    return out


@st.composite
def spike_inputs(draw, ticks: int, n_in: int, *, max_count: int = 1, density: float = 0.3):
    """Spike counts (ticks, n_in) int64 in ``0..max_count``; shrinks towards no spikes."""
    if ticks < 1 or n_in < 0 or max_count < 0 or not 0 <= density <= 1:
        raise InvalidArgument(f"bad spike_inputs({ticks=}, {n_in=}, {max_count=}, {density=})")
    cells = ticks * n_in
    on = draw(st.lists(st.floats(0, 1), min_size=cells, max_size=cells))
    cnt = draw(st.lists(st.integers(1, max(1, max_count)), min_size=cells, max_size=cells))
    arr = np.array([c if x < density else 0 for x, c in zip(on, cnt)], dtype=np.int64)
    return arr.reshape(ticks, n_in) if max_count else arr.reshape(ticks, n_in) * 0


@st.composite
def networks(draw, profile: Profile, *, max_neurons: int = 6, max_inputs: int = 3,
             recurrent: bool = True, kinds=("dense", "sparse", "all_to_all")):
    """Networks that fit ``profile``: registers, input and recurrent projections of every kind."""
    import scipy.sparse as sp

    if max_neurons < 1 or max_inputs < 0:
        raise InvalidArgument(f"bad networks({max_neurons=}, {max_inputs=})")
    n = draw(st.integers(1, max_neurons))
    n_in = draw(st.integers(0, max_inputs))
    params = draw(registers(profile, n))
    wb = profile.weights["bits"]
    wlo, whi = (-(1 << wb), (1 << wb) - 1) if profile.weights["format"] == "loihi" else \
        (-(1 << (wb - 1)), (1 << (wb - 1)) - 1)
    exp_spec = profile.params[profile.weights["exponent"]]
    e_lo, e_hi = max(exp_spec.range[0], -4), min(exp_spec.range[1], 3)
    n_syn = max(s.synapses for s in profile.state.values())
    projections = []
    sources = [("input", n_in)] + ([("neurons", n)] if recurrent else [])
    for source, n_src in sources:
        if n_src == 0 or not draw(st.booleans()):
            continue
        kind = draw(st.sampled_from(kinds)) if profile.template != "xylo" else "dense"
        pre0 = draw(st.integers(0, n_src - 1))
        pre1 = draw(st.integers(pre0 + 1, n_src))
        post0 = draw(st.integers(0, n - 1))
        post1 = draw(st.integers(post0 + 1, n))
        shape = (post1 - post0, pre1 - pre0)
        if kind == "all_to_all":
            w = draw(st.integers(wlo, whi))
        else:
            w = np.array(draw(st.lists(st.integers(wlo, whi), min_size=shape[0] * shape[1],
                                       max_size=shape[0] * shape[1])), dtype=np.int64).reshape(shape)
            if kind == "sparse":
                w = sp.csr_matrix(w)
        delay = None
        if source == "neurons" and profile.template != "xylo":
            delay = draw(st.integers(1, 3))
        projections.append(Projection(source, kind, w, (pre0, pre1), (post0, post1),
                                      synapse=draw(st.integers(0, n_syn - 1)),
                                      exponent=draw(st.integers(e_lo, e_hi)), delay=delay))
    init = {}
    for name, spec in profile.state.items():
        if draw(st.booleans()):
            lo, hi = spec.range
            shape = (n,) if spec.synapses == 1 else (n, spec.synapses)
            init[name] = _reg_values(spec, shape, draw)
    noise = profile.template == "current" and draw(st.booleans())
    return Network(n=n, n_in=n_in, params=params, projections=tuple(projections), init=init,
                   noise=noise)


@st.composite
def cases(draw, profile_strategy=None, *, max_ticks: int = 12, **network_kwargs):
    """``(profile, network, inputs, ticks)`` tuples: a complete run to check."""
    profile = draw(profile_strategy if profile_strategy is not None else profiles())
    net = draw(networks(profile, **network_kwargs))
    ticks = draw(st.integers(1, max_ticks))
    max_count = 20 if profile.template == "xylo" else 1
    inputs = draw(spike_inputs(ticks, net.n_in, max_count=max_count))
    return profile, net, inputs, ticks
