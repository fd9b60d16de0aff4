"""The tick engine: projections, delays, batching, strict mode, determinism, twins."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import Network, OverflowTrap, Projection, load_profile, simulate
from emulator import strategies as fst

from .modes import pooled_generic

LOIHI = load_profile("loihi1")


def _rec_net(kind, w, n=12, **params):
    mat = np.full((n, n), w) if kind != "all_to_all" else w
    if kind == "sparse":
        mat = sp.csr_matrix(mat)
    p = dict(du=1000, dv=300, vth=60, bias_mant=np.arange(n) * 7 + 40, bias_exp=3)
    p.update(params)
    return Network(n=n, params=p, projections=(Projection("neurons", kind, mat, (0, n), (0, n),
                                                          exponent=-1, delay=2),))


def test_all_to_all_counts_equal_a_dense_matrix_of_equal_weights():
    """SPEC 3: counting the spikes gives the same integers as a dense matrix of equal weights."""
    runs = {k: simulate(LOIHI, _rec_net(k, -9), ticks=300, trace="all")
            for k in ("dense", "sparse", "all_to_all")}
    ref = runs["dense"]
    assert ref.spike_count.sum() > 50
    for k, r in runs.items():
        for var in ("u", "v", "a_in"):
            assert np.array_equal(r.traces[var], ref.traces[var]), (k, var)


def test_recurrent_delay_in_ticks():
    """A spike at tick t reaches its target's a_in at tick t + delay (hand-built 2-neuron chain)."""
    w = np.array([[0, 0], [50, 0]])          # neuron 0 -> neuron 1
    net = Network(n=2, params=dict(du=4095, dv=0, vth=10, bias_mant=[700, 0], bias_exp=0),
                  projections=(Projection("neurons", "dense", w, (0, 2), (0, 2), delay=3),))
    r = simulate(LOIHI, net, ticks=20, trace="all")
    t0 = int(r.spike_tick[r.spike_neuron == 0][0])
    a1 = r.traces["a_in"][:, 0, 1]
    assert a1[t0 - 1 + 3] == 50 and not a1[: t0 - 1 + 3].any()   # weight 50 << exponent 0


def test_first_spike_time_by_hand():
    """du = 4095 (u = input), dv = 0 (no leak), bias 700: v = 700 k; vth 10 << 6 = 640 -> spike at tick 1."""
    net = Network(n=1, params=dict(du=4095, dv=0, vth=10, bias_mant=700, bias_exp=0))
    r = simulate(LOIHI, net, ticks=3, trace="all")
    assert r.spike_tick.tolist() == [1, 2, 3] and r.traces["v"][:, 0, 0].tolist() == [0, 0, 0]
    net = Network(n=1, params=dict(du=4095, dv=0, vth=10, bias_mant=100, bias_exp=0))
    r = simulate(LOIHI, net, ticks=8, trace="all")
    assert r.spike_tick.tolist() == [7]       # 100 * 7 = 700 > 640, 600 is not
    assert r.traces["v"][:, 0, 0].tolist() == [100, 200, 300, 400, 500, 600, 0, 100]


def test_strict_mode_names_tick_neuron_and_variable():
    """u wraps (24-bit) when a large bias-free input accumulates; strict stops at that tick."""
    n = 3
    w = np.array([[0], [255], [0]])
    net = Network(n=n, n_in=1, params=dict(du=0, dv=4095, vth=131071, bias_mant=0),
                  projections=(Projection("input", "dense", w, (0, 1), (0, n), exponent=7),))
    inputs = np.ones((400, 1), dtype=np.int64)
    lenient = simulate(LOIHI, net, inputs, ticks=400, trace="all")
    u = lenient.traces["u"][:, 0, 1]
    first = int(np.argmax(np.diff(u) < 0)) + 2     # first tick where u decreased: the wrap
    assert lenient.overflow["u"][0] > 0
    with pytest.raises(OverflowTrap) as exc:
        simulate(LOIHI, net, inputs, ticks=400, strict=True)
    assert (exc.value.tick, exc.value.neuron, exc.value.variable) == (first, 1, "u")
    assert f"tick {first}" in str(exc.value) and "neuron 1" in str(exc.value)


@settings(max_examples=40, deadline=None)
@given(case=fst.cases(st.one_of(fst.profiles(names=["loihi1", "xylo"]), pooled_generic()),
                      max_ticks=10),
       seeds=st.lists(st.integers(0, 2**31), min_size=1, max_size=3, unique=True))
def test_kernel_equals_twin_and_batches_are_independent(case, seeds):
    """The numba kernel equals the Python-int twin; a batch of seeds equals single runs."""
    profile, net, inputs, ticks = case
    fast = simulate(profile, net, inputs, ticks=ticks, seeds=seeds, trace="all")
    slow = simulate(profile, net, inputs, ticks=ticks, seeds=seeds, trace="all", backend="twin")
    for k in fast.traces:
        assert np.array_equal(fast.traces[k], slow.traces[k]), k
    for k in fast.overflow:
        assert np.array_equal(fast.overflow[k], slow.overflow[k]), k
    assert np.array_equal(fast.spike_tick, slow.spike_tick)
    assert np.array_equal(fast.spike_neuron, slow.spike_neuron)
    for b, s in enumerate(seeds):
        one = simulate(profile, net, inputs, ticks=ticks, seeds=[s], trace="all")
        for k in one.traces:
            assert np.array_equal(one.traces[k][:, 0], fast.traces[k][:, b]), k


def test_runs_are_deterministic_and_seeds_matter():
    net = Network(n=200, params=dict(du=409, dv=205, vth=100, bias_mant=60, bias_exp=3,
                                     noise_exp=4), noise=True, noise_kind="uniform")
    a = simulate(LOIHI, net, ticks=200, seeds=[5])
    b = simulate(LOIHI, net, ticks=200, seeds=[5])
    c = simulate(LOIHI, net, ticks=200, seeds=[6])
    assert np.array_equal(a.spike_neuron, b.spike_neuron) and np.array_equal(a.rate, b.rate)
    assert not np.array_equal(a.rate, c.rate)


def test_event_buffer_growth_keeps_every_spike(monkeypatch):
    """More spikes than the initial event buffer: the run resumes and loses none."""
    import emulator.engine as E

    monkeypatch.setattr(E, "EVENT_CAPACITY_MIN", 64)
    net = Network(n=50, params=dict(du=4095, dv=0, vth=1, bias_mant=4095, bias_exp=0))
    r = simulate(LOIHI, net, ticks=40)
    assert r.spike_count.sum() == 50 * 40          # v > 64 every tick: every neuron, every tick
    assert r.rate.tolist() == [[50] * 40]
