"""The emulator's own property suite (SPEC section 9), on hypothesis-generated cases.

Each test states its property in its docstring.  The numba kernels are specialised
(compiled) per combination of modes, so the random-profile properties draw shipped
profiles and generic ones whose widths and registers vary with their modes pinned;
every other mode combination is covered by the ``slow`` variant.
(Rounding against apytypes and the wrap laws are in test_fixed.py.)
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import strategies as fst
from emulator.engine import OverflowTrap, simulate
from emulator.profile import load_profile

SETTINGS = settings(max_examples=12, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHIPPED = fst.profiles(names=["loihi1", "xylo", "spinnaker1", "truenorth"])
GENERIC_PINNED = fst.profiles(shipped=False, min_bits=4, max_bits=32, overrides={
    "decay.u.kind": "multiply", "decay.v.kind": "shift", "decay.u.rounding": "half_even",
    "decay.v.rounding": "stochastic", "state.u.overflow": "wrap",
    "state.v.overflow": "saturate", "threshold.reset": "subtract",
    "threshold.max_spikes": 3, "threshold.compare": ">=", "threshold.shift": 1,
    "noise.kind": "none", "input.delay": 1, "decay.u.offset": 1,
    "decay.u.min_step": False, "decay.v.min_step": True, "decay.v.shift": 8,
    "state.u.bits": 16, "input.act_shift": 2})
CASES = fst.scenarios(st.one_of(SHIPPED, GENERIC_PINNED), fixed={"refractory": 0},
                      noise=False, seeds=True, max_neurons=5, max_ticks=10)


def _same(a, b):
    assert np.array_equal(a.spike_counts(), b.spike_counts())
    for k in a.traces:
        assert np.array_equal(a.traces[k], b.traces[k]), k
    for k in a.state:
        assert np.array_equal(a.state[k], b.state[k]), k
    for k in a.overflow:
        assert np.array_equal(a.overflow[k], b.overflow[k]), k


def _run(s, seeds, backend="numba", strict=False):
    return simulate(s.profile, s.network, s.inputs, ticks=s.ticks, seeds=seeds, trace="all",
                    backend=backend, strict=strict)


@SETTINGS
@given(CASES)
def test_kernels_equal_the_golden_twins(s):
    """For every profile, network, input and seed, the numba kernel and the slow twin give
    the same spikes, traces, final state and overflow counts, bit for bit, and so does a
    batch of several seeds (each run of the batch)."""
    seeds = (s.seed, s.seed + 1, 12345)
    _same(_run(s, seeds), _run(s, seeds, backend="twin"))


@SETTINGS
@given(CASES)
def test_batch_size_does_not_change_a_run(s):
    """A batch of B seeds gives, for each seed, the same result as a run of that seed
    alone (spike events, traces, final state, overflow counts)."""
    seeds = [s.seed, s.seed + 1, s.seed + 7]
    batch = _run(s, seeds)
    for b, seed in enumerate(seeds):
        one = _run(s, [seed])
        assert np.array_equal(batch.spike_counts(b), one.spike_counts(0))
        for k in one.traces:
            assert np.array_equal(batch.traces[k][:, b], one.traces[k][:, 0]), k
        for k in one.state:
            assert np.array_equal(batch.state[k][b], one.state[k][0]), k
        for k in one.overflow:
            assert batch.overflow[k][b] == one.overflow[k][0]


STRICT_CASES = fst.scenarios(fst.profiles(names=["xylo", "spinnaker1", "truenorth"]),
                             noise=False, max_neurons=4, max_ticks=8)


@SETTINGS
@given(STRICT_CASES)
def test_strict_mode_traps_at_the_same_place_in_kernel_and_twin(s):
    """In strict mode the kernel and the twin both raise at the same first overflow (tick,
    run, neuron, variable), or both finish with identical results."""
    outcome = []
    for backend in ("numba", "twin"):
        try:
            outcome.append(_run(s, [0, 1], backend, strict=True))
        except OverflowTrap as exc:
            outcome.append((exc.tick, exc.batch, exc.neuron, exc.variable))
    a, b = outcome
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
    else:
        _same(a, b)


@SETTINGS
@given(CASES)
def test_registers_stay_in_range_and_runs_are_deterministic(s):
    """Every state register holds a value of its width and mode after every tick, and a
    run is a pure function of (profile, registers, inputs, seed): running it again gives
    the same result."""
    a = _run(s, [s.seed])
    for name, spec in s.profile.state.items():
        lo, hi = spec.range
        for arr in (a.traces[name], a.state[name]):
            assert arr.min() >= lo and arr.max() <= hi, name
    _same(a, _run(s, [s.seed]))


# ---------------------------------------------------------------------------------
# convergence to the float reference

def _decay_error(frac: int, ticks: int = 40, dt_over_tau: float = 0.05) -> float:
    """|v_fixed(T) - v_float(T)| for a noise-free, input-free LIF decaying from v = 1.

    Mapping by hand: v_float = v_int * 2**-frac, so v(0) = 1 is v_int = 2**frac; the
    decay register dv = round(2**frac * (1 - exp(-dt/tau))) makes the factor
    (2**frac - dv) / 2**frac ~ exp(-dt/tau).  The closed form is exp(-T dt/tau).
    """
    p = load_profile("generic", state_bits=frac + 8, decay_bits=frac,
                     rounding="half_even", **{"params.vth.default": 0})
    from emulator.network import Network

    dv = round(2**frac * (1 - math.exp(-dt_over_tau)))
    vth = p.state["v"].range[1]            # never reached: no spike, no reset
    net = Network(n=1, params={"dv": dv, "vth": vth}, init={"v": np.array([2**frac])})
    r = simulate(p, net, ticks=ticks, trace="all", backend="twin")
    v = r.traces["v"][-1, 0, 0] * 2.0**-frac
    return abs(v - math.exp(-ticks * dt_over_tau))


def test_the_emulator_converges_to_the_float_reference_as_fractional_bits_grow():
    """As the fractional bits grow, a decaying LIF voltage converges to the closed form
    exp(-t/tau): the error falls like 2**-frac.  Measured: a least-squares slope of
    log2(error) against frac of about -1 (between -1.4 and -0.6 asserted) over
    frac = 6..22, and an error below 1e-5 at frac = 22."""
    fracs = np.arange(6, 23, 2)
    err = np.array([_decay_error(int(f)) for f in fracs])
    slope = np.polyfit(fracs, np.log2(np.maximum(err, 1e-300)), 1)[0]
    assert -1.4 < slope < -0.6, (slope, err)
    assert err[-1] < 1e-5


@pytest.mark.slow
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fst.scenarios(fst.profiles(), noise=None, seeds=True, max_neurons=5, max_ticks=10))
def test_kernels_equal_twins_on_every_mode_combination(s):
    """As test_kernels_equal_the_golden_twins, on generic profiles with every mode drawn
    (each new combination compiles a kernel: slow)."""
    seeds = (s.seed, s.seed + 1)
    _same(_run(s, seeds), _run(s, seeds, backend="twin"))
