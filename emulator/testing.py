"""Compare your own chip model (RTL, firmware, a simulator) with the emulator, tick by tick.

Two ways in:

(a) **a Python model** that follows the :class:`ChipModel` protocol, the way a
    testbench drives a core: load the registers, then clock one tick at a time
    and read the state back::

        class MyChip:
            def reset(self, profile, network, seed):
                ...                     # load registers, weights, initial state
            def step(self, tick, inputs):
                ...                     # inputs: (n_in,) spike counts of this tick
                return {"u": u, "v": v, "spikes": s}   # state after the tick

    :func:`compare_model` runs one case, :func:`assert_matches_emulator`
    property-tests the model on hypothesis-generated cases in one line::

        assert_matches_emulator(MyChip, profile="loihi1", max_examples=200)

(b) **a trace file** in the golden-vector format ``fxlif-vectors/1``
    (``shared/oracles/FORMAT.md``) written by an RTL simulation: the case's
    inputs, registers and the per-tick state the RTL computed.
    :func:`compare_trace` replays each case on the emulator.

Both report the **first divergence** (:class:`Divergence`): the tick, neuron,
variable, the emulator's and the model's values, and what fed that value:
the neuron's parameter registers, its state after the previous tick and the
input it received.  "First" means the earliest tick; within a tick, the
variable earliest in the chip's phase order (``a_in``, the current ``u`` or
``isyn``, ``v``, ``refractory``, ``spikes``), then the lowest neuron (and
synapse): the first wrong value is usually the cause of all later ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

import numpy as np

from emulator.engine import simulate
from emulator.network import Network, NetworkError
from emulator.profile import Profile, load_profile
from emulator.vectors import Case, VectorsError, case_network, read_vectors
from emulator.verify import result_arrays
from reference.errors import InputError

__all__ = ["ChipModel", "Divergence", "ModelDivergence", "assert_matches_emulator",
           "compare_arrays", "compare_model", "compare_scenario", "compare_trace",
           "emulator_trace"]

#: Variables in the order a tick computes them (others follow, sorted).
PHASE_ORDER = ("a_in", "isyn", "u", "v", "refractory", "spikes")


@runtime_checkable
class ChipModel(Protocol):
    """What a model under test implements: ``reset`` once, then ``step`` per tick.

    ``reset(profile, network, seed)``
        Load the case: ``profile`` (:class:`~emulator.profile.Profile`: widths,
        modes), ``network`` (:class:`~emulator.network.Network`: ``n``,
        ``n_in``, ``params`` by register name, missing ones at the profile's
        default ``profile.params[name].default``; ``projections``; ``init``
        state, absent = 0) and the ``seed`` of the noise streams.
    ``step(tick, inputs) -> dict``
        Advance one tick (``tick`` counts from 1).  ``inputs`` is an int64
        array (n_in,): the spike counts arriving on each input channel in this
        tick.  Return the state **after** the tick (after threshold and
        reset) by variable name, as in the vectors format: the profile's
        state registers (``u``, ``v``, ``isyn`` (n, n_syn), ...), ``spikes``
        (n,) spikes emitted in the tick, optionally ``a_in`` (the synaptic
        input consumed in the tick).  Variables left out are not compared.
    """

    def reset(self, profile: Profile, network: Network, seed: int) -> None:
        """Load registers, weights and initial state."""

    def step(self, tick: int, inputs: np.ndarray) -> Mapping[str, Any]:
        """Advance one tick; return the state after it."""


@dataclass(frozen=True)
class Divergence:
    """The first value where a model and the emulator disagree.

    Attributes
    ----------
    tick : int
        Tick (from 1) after which the value was read.
    neuron : int
    variable : str
        ``u``, ``v``, ``isyn``, ``spikes``, ``a_in``, ...
    expected : int
        The emulator's value.
    got : int
        The model's (or trace file's) value.
    synapse : int or None
        Synaptic compartment, for per-synapse variables (``isyn``).
    registers : dict
        The neuron's parameter registers (its own value of each).
    previous : dict
        Its state after tick ``tick - 1`` (the initial state for tick 1), from
        the emulator (identical in the model, or this would not be the first
        divergence of a variable the model reports).
    input : dict
        What reached it in the tick: ``a_in`` where the emulator records it,
        and ``events``: ``(source, index, source tick, count, weight)`` of every
        spike that arrived over a nonzero synapse.
    case : str or None
        Case name (trace files).
    profile : str
    """

    tick: int
    neuron: int
    variable: str
    expected: int
    got: int
    synapse: int | None = None
    registers: Mapping[str, Any] = field(default_factory=dict)
    previous: Mapping[str, Any] = field(default_factory=dict)
    input: Mapping[str, Any] = field(default_factory=dict)
    case: str | None = None
    profile: str = ""

    def __str__(self) -> str:
        where = f"neuron {self.neuron}" + (f", synapse {self.synapse}"
                                           if self.synapse is not None else "")
        head = (f"first divergence{f' in case {self.case}' if self.case else ''}"
                f"{f' ({self.profile})' if self.profile else ''}: tick {self.tick}, {where}, "
                f"variable {self.variable}: emulator {self.expected}, model {self.got}")
        regs = ", ".join(f"{k}={_fmt(v)}" for k, v in self.registers.items())
        prev = ", ".join(f"{k}={_fmt(v)}" for k, v in self.previous.items())
        lines = [head,
                 f"  registers of neuron {self.neuron}: {regs}",
                 f"  its state after tick {self.tick - 1}: {prev}"]
        inp = []
        if "a_in" in self.input:
            inp.append(f"a_in={self.input['a_in']}")
        events = self.input.get("events", ())
        if events:
            inp.append("spikes " + ", ".join(
                f"{src}[{j}]@{ts} x{c} (w={w})" for src, j, ts, c, w in events))
        lines.append(f"  input in tick {self.tick}: {'; '.join(inp) if inp else 'none'}")
        return "\n".join(lines)


def _fmt(value) -> str:
    arr = np.asarray(value)
    return str(arr.item()) if arr.ndim == 0 else str(arr.tolist())


class ModelDivergence(AssertionError):
    """Raised by :func:`assert_matches_emulator`: the model diverged on ``scenario``."""

    def __init__(self, divergence: Divergence, scenario) -> None:
        self.divergence = divergence
        self.scenario = scenario
        super().__init__(f"{divergence}\non the scenario:\n{scenario.describe()}")


# ---------------------------------------------------------------------------------
# the emulator's side

def emulator_trace(profile: Profile, network: Network, inputs=None, *, ticks: int,
                   seed: int = 0, backend: str = "numba") -> dict[str, np.ndarray]:
    """Per-tick arrays of one run of the emulator: every traced variable and ``spikes``.

    Returns ``{name: int64 array (ticks, n) or (ticks, n, n_syn)}``: the state
    after each tick (row ``t - 1`` is tick ``t``), ``spikes`` and, where the
    template records it, ``a_in``.  Works for every template: it reads
    ``RunResult.traces`` and ``RunResult.spike_counts()``.
    """
    res = simulate(profile, network, inputs, ticks=ticks, seeds=(seed,), trace="all",
                   backend=backend)
    return result_arrays(res, tuple(profile.state))


def _register_of(profile: Profile, network: Network, name: str, i: int):
    spec = profile.params[name]
    arr = np.asarray(network.params.get(name, spec.default), dtype=np.int64)
    if arr.ndim == 0 or arr.shape == (1,):
        return int(arr.reshape(-1)[0])
    return int(arr[i]) if arr.ndim == 1 else arr[i].tolist()


def _context(profile: Profile, network: Network, inputs: np.ndarray,
             emu: Mapping[str, np.ndarray], tick: int, i: int):
    """Collect the registers, previous state and input of neuron ``i`` in ``tick``."""
    regs = {name: _register_of(profile, network, name, i) for name, spec in
            profile.params.items() if spec.scope != "projection"}
    prev = {}
    for name, arr in emu.items():
        if name == "a_in":
            continue
        if tick > 1:
            prev[name] = np.asarray(arr[tick - 2, i]).tolist()
        elif name in network.init:
            x0 = np.broadcast_to(np.asarray(network.init[name]), arr.shape[1:])
            prev[name] = np.asarray(x0[i]).tolist()
        else:
            prev[name] = np.zeros(arr.shape[2:], dtype=np.int64).tolist() if arr.ndim > 2 else 0
    inp: dict[str, Any] = {}
    if "a_in" in emu:
        inp["a_in"] = int(emu["a_in"][tick - 1, i])
    events = []
    spikes = emu.get("spikes")
    for p in network.projections:
        if not p.post[0] <= i < p.post[1]:
            continue
        if p.delay is not None:
            delay = p.delay
        else:
            delay = profile.input["delay"] if p.source == "input" else \
                profile.input["recurrent_delay"]
        ts = tick - delay
        if ts < 1:
            continue
        w = p.dense()[i - p.post[0]]
        for jj, wj in enumerate(w):
            j = p.pre[0] + jj
            if wj == 0:
                continue
            if p.source == "input":
                c = int(inputs[ts - 1, j]) if inputs is not None and inputs.size else 0
            else:
                c = int(spikes[ts - 1, j]) if spikes is not None else 0
            if c:
                events.append((p.source, j, ts, c, int(wj)))
    inp["events"] = events
    return regs, prev, inp


def _order(name: str) -> tuple:
    return (PHASE_ORDER.index(name), name) if name in PHASE_ORDER else (len(PHASE_ORDER), name)


def compare_arrays(expected: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray],
                   tick_range: tuple[int, int] | None = None):
    """First ``(tick, index tuple, variable)`` where ``got`` differs from ``expected``, or None.

    Both map variable names to arrays (ticks, n[, n_syn]); only the variables in
    ``got`` are compared, in tick order, then phase order, then index order.
    """
    t0, t1 = tick_range or (1, next(iter(expected.values())).shape[0])
    names = sorted(got, key=_order)
    for t in range(t0, t1 + 1):
        for name in names:
            bad = np.argwhere(np.asarray(got[name][t - 1]) != np.asarray(expected[name][t - 1]))
            if len(bad):
                return t, tuple(int(x) for x in bad[0]), name
    return None


def _divergence(profile, network, inputs, emu, got_row_lookup, hit, case=None) -> Divergence:
    tick, idx, name = hit
    i = idx[0]
    syn = idx[1] if len(idx) > 1 else None
    regs, prev, inp = _context(profile, network, inputs, emu, tick, i)
    return Divergence(tick=tick, neuron=i, variable=name,
                      expected=int(emu[name][(tick - 1,) + idx]),
                      got=int(got_row_lookup(name, tick, idx)), synapse=syn, registers=regs,
                      previous=prev, input=inp, case=case, profile=profile.name)


# ---------------------------------------------------------------------------------
# (a) a Python model

def compare_model(model: ChipModel, profile: Profile, network: Network, inputs=None, *,
                  ticks: int, seed: int = 0, backend: str = "numba") -> Divergence | None:
    """Run ``model`` and the emulator on one case; return the first :class:`Divergence` or None.

    The model is reset, then stepped tick by tick; stepping stops at the first
    tick with a difference.

    Raises
    ------
    InputError
        The model returned an unknown variable, or an array of the wrong shape.
    """
    return _compare(model, profile, network, inputs, ticks=ticks, seed=seed,
                    backend=backend)[0]


def _compare(model, profile, network, inputs=None, *, ticks, seed=0, backend="numba"):
    if not isinstance(model, ChipModel):
        raise InputError("the model needs reset(profile, network, seed) and "
                         "step(tick, inputs) methods", key="model",
                         value=type(model).__name__)
    emu = emulator_trace(profile, network, inputs, ticks=ticks, seed=seed, backend=backend)
    inp = np.zeros((ticks, network.n_in), dtype=np.int64) if inputs is None else \
        np.asarray(inputs, dtype=np.int64)
    model.reset(profile, network, seed)
    for t in range(1, ticks + 1):
        out = model.step(t, inp[t - 1].copy())
        if not isinstance(out, Mapping) or not out:
            raise InputError("step() must return a dict of state arrays", key="step",
                             value=type(out).__name__, allowed=", ".join(emu))
        row = {}
        for name, value in out.items():
            if name not in emu:
                raise InputError("the emulator has no such variable", key=f"step()[{name!r}]",
                                 allowed=", ".join(emu))
            arr = np.asarray(value)
            if arr.shape != emu[name].shape[1:]:
                raise InputError("wrong shape", key=f"step()[{name!r}]",
                                 value=f"shape {arr.shape}", allowed=str(emu[name].shape[1:]))
            row[name] = arr.astype(np.int64)[None]
        hit = compare_arrays({k: emu[k][t - 1:t] for k in row}, row)
        if hit is not None:
            hit = (t, hit[1], hit[2])
            return _divergence(profile, network, inp, emu,
                               lambda name, tick, idx, row=row: row[name][(0,) + idx], hit), emu
    return None, emu


def compare_scenario(model: ChipModel, scenario, *, backend: str = "numba") -> Divergence | None:
    """:func:`compare_model` on a :class:`emulator.strategies.Scenario`."""
    return compare_model(model, scenario.profile, scenario.network, scenario.inputs,
                         ticks=scenario.ticks, seed=scenario.seed, backend=backend)


def assert_matches_emulator(model_factory: Callable[[], ChipModel], scenarios=None, *,
                            profile: str | Profile | None = None, max_examples: int = 100,
                            backend: str = "numba", settings=None) -> None:
    """Property-test a model against the emulator; raise :class:`ModelDivergence` if it differs.

    Hypothesis draws scenarios (profile, network, inputs, ticks), runs a fresh
    ``model_factory()`` and the emulator on each, and on a divergence shrinks
    the scenario to a minimal one, then raises :class:`ModelDivergence` with
    the :class:`Divergence` and the shrunk scenario (``.divergence``,
    ``.scenario``).  Hypothesis's target phase steers the search towards runs
    that fill the state registers (``hypothesis.target`` on max |x| over the
    register's range), where overflow bugs hide.

    Parameters
    ----------
    model_factory : callable returning a ChipModel
        Usually the model's class.
    scenarios : strategy of Scenario, optional
        Default: ``strategies.scenarios(profile)`` with noise off.
    profile : str or Profile, optional
        The profile the model implements (needed without ``scenarios``).
    max_examples : int
        Scenarios to try before declaring the model equal.
    backend : {"numba", "twin"}
        The emulator's compiled kernels or its slow golden twin (identical
        results; the twin needs no compilation and is quicker on tiny cases).
    settings : hypothesis.settings, optional
        Replaces the default settings (``max_examples``, no deadline, no
        explain phase, one bug reported, no example database).

    Examples
    --------
    >>> assert_matches_emulator(MyChip, profile="loihi1")   # doctest: +SKIP
    """
    from hypothesis import HealthCheck, Phase, given, target
    from hypothesis import settings as hsettings

    from emulator import strategies as fst

    if scenarios is None:
        if profile is None:
            raise InputError("pass profile= (the profile the model implements) or scenarios=",
                             key="profile", value=None)
        scenarios = fst.scenarios(profile, noise=False)
    if settings is None:
        settings = hsettings(max_examples=max_examples, deadline=None,
                             report_multiple_bugs=False, database=None,
                             phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target,
                                     Phase.shrink],
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])

    @settings
    @given(scenarios)
    def check(scenario):
        d, emu = _compare(model_factory(), scenario.profile, scenario.network,
                          scenario.inputs, ticks=scenario.ticks, seed=scenario.seed,
                          backend=backend)
        if d is not None:
            raise ModelDivergence(d, scenario)
        target(_fill(scenario.profile, emu), label="register fill")

    check()


def _fill(profile: Profile, emu: Mapping[str, np.ndarray]) -> float:
    """How close the run came to a register's edge: max |x| / max |range| over state."""
    score = 0.0
    for name, spec in profile.state.items():
        if name in emu and emu[name].size:
            lo, hi = spec.range
            score = max(score, float(np.abs(emu[name]).max()) / max(abs(lo), abs(hi)))
    return score


# ---------------------------------------------------------------------------------
# (b) a trace file

def _case_check(profile: Profile, case: Case) -> Network:
    try:
        net = case_network(profile, case)
        net.check(profile)
    except NetworkError as exc:
        key = exc.key or "network"
        if key.startswith("params."):
            key = f"{case.name}/param/{key[len('params.'):]}"
        elif key.startswith("init."):
            key = f"{case.name}/init/{key[len('init.'):]}"
        raise VectorsError(exc.message, file=case.file, key=key,
                           value=exc.value, allowed=exc.allowed) from None
    return net


def compare_trace(path: str | Path, *, backend: str = "numba") -> Divergence | None:
    """Replay every case of a trace file on the emulator; return the first divergence or None.

    ``path`` is a golden-vector file (``fxlif-vectors/1``) written by an RTL
    simulation: ``expect/<var>`` hold the RTL's values ("got"), the emulator's
    are "expected".  Cases are checked in file order.

    Raises
    ------
    VectorsError
        A malformed file: a missing key, or shapes that disagree (inputs vs
        steps, weights vs inputs, an expected array vs what the emulator
        records, a register vector of the wrong length); the message names the
        key and the shape.
    """
    for case in read_vectors(path):
        profile = load_profile(case.profile)
        net = _case_check(profile, case)
        emu = emulator_trace(profile, net, case.input, ticks=case.steps, backend=backend)
        for var, arr in case.expect.items():
            if var not in emu:
                raise VectorsError("the emulator does not record this variable", file=case.file,
                                   key=f"{case.name}/expect/{var}", allowed=", ".join(emu))
            if arr.shape != emu[var].shape:
                raise VectorsError("shape disagrees with the case", file=case.file,
                                   key=f"{case.name}/expect/{var}", value=f"shape {arr.shape}",
                                   allowed=str(emu[var].shape))
        hit = compare_arrays(emu, case.expect)
        if hit is not None:
            return _divergence(profile, net, case.input, emu,
                               lambda name, tick, idx, c=case: c.expect[name][(tick - 1,) + idx],
                               hit, case=case.name)
    return None
