"""emulator.strategies: eager validation, valid draws for every profile, doctests."""

import doctest

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument

from emulator import strategies as fst
from emulator.profile import load_profile

FAST = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kwargs, words", [
    (dict(min_bits=0), "min_bits=0"),
    (dict(min_bits=12, max_bits=8), "min_bits=12, max_bits=8"),
    (dict(max_bits=64), "max_bits=64"),
    (dict(names=["loihi9"]), "'loihi9'"),
    (dict(shipped=False, generic=False), "nothing to draw"),
    (dict(overrides={"state.v.bits": 0}), "state.v.bits"),
])
def test_impossible_profiles_fail_at_once(kwargs, words):
    with pytest.raises(InvalidArgument, match=words.replace("(", r"\(").replace("[", r"\[")):
        fst.profiles(**kwargs)        # raised when the strategy is built, before any draw


def test_other_impossible_requests_fail_at_once():
    p = load_profile("loihi1")
    with pytest.raises(InvalidArgument, match="n=0"):
        fst.registers(p, 0)
    with pytest.raises(InvalidArgument, match="'vth'"):
        fst.registers(p, 2, fixed={"vth": -1})
    with pytest.raises(InvalidArgument, match="ticks=0"):
        fst.spike_inputs(0, 2)
    with pytest.raises(InvalidArgument, match="density"):
        fst.spike_inputs(3, 2, density=1.5)
    with pytest.raises(InvalidArgument, match="kinds"):
        fst.networks(p, kinds=("ring",))
    with pytest.raises(InvalidArgument, match="unknown profile"):
        fst.scenarios("loihi9")


@FAST
@given(fst.scenarios(fst.profiles(), seeds=True, noise=None))
def test_every_drawn_scenario_is_a_valid_run(s):
    # any profile, shipped or generic: the twin runs it without a NetworkError, and the
    # registers lie within their bounds
    for name, value in s.network.params.items():
        lo, hi = fst.register_bounds(s.profile, name)
        assert lo <= np.min(value) and np.max(value) <= hi
    res = s.run(backend="twin")
    assert res.ticks == s.ticks and res.n == s.network.n


@FAST
@given(fst.scenarios(fst.profiles(names=["xylo", "spinnaker1", "truenorth", "loihi1"]),
                     vectors=True))
def test_vectors_scenarios_fit_the_vectors_layout(s):
    by_source = {}
    for p in s.network.projections:
        assert p.kind == "dense" and p.delay is None
        assert p.pre[0] == 0 and p.post == (0, s.network.n)
        by_source.setdefault(p.source, set()).add(p.exponent)
    assert all(len(e) == 1 for e in by_source.values())


def test_doctests():
    result = doctest.testmod(fst, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
