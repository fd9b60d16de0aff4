"""The tick engine: projections, delays, batching, strict mode, determinism, twins."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import Network, OverflowTrap, Projection, load_profile, simulate
from emulator import engine as E
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


def test_raster_chunks_keep_every_spike_in_order(monkeypatch):
    """Many chunks of one tick, two runs: the same events, sorted by (run, tick, neuron)."""
    import emulator.engine as E

    net = Network(n=130, params=dict(du=409, dv=205, vth=40, bias_mant=np.arange(130) % 97,
                                     bias_exp=6, noise_exp=5), noise=True, noise_kind="uniform")
    whole = simulate(LOIHI, net, ticks=40, seeds=[1, 2])
    monkeypatch.setattr(E, "RASTER_CHUNK_BYTES", 1)
    parts = simulate(LOIHI, net, ticks=40, seeds=[1, 2])
    for f in ("spike_tick", "spike_batch", "spike_neuron", "spike_count"):
        assert np.array_equal(getattr(whole, f), getattr(parts, f)), f
    key = (parts.spike_batch * 41 + parts.spike_tick) * 130 + parts.spike_neuron
    assert np.all(np.diff(key) > 0) and parts.spike_count.size > 100
    assert np.array_equal(np.bincount(parts.spike_batch * 40 + parts.spike_tick - 1,
                                      minlength=80).reshape(2, 40), parts.rate)


def test_blocks_of_unequal_size_equal_the_twin(monkeypatch):
    """n = 300 in blocks of 128: the last, shorter block records no stale spikes."""
    monkeypatch.setattr(E, "CACHE_BLOCK", 128)
    net = Network(n=300, params=dict(du=409, dv=205, vth=40, bias_mant=np.arange(300) % 89,
                                     bias_exp=6, noise_exp=5), noise=True, noise_kind="uniform")
    fast = simulate(LOIHI, net, ticks=30, seeds=[3])
    slow = simulate(LOIHI, net, ticks=30, seeds=[3], backend="twin")
    assert fast.spike_neuron.max() < 300 and fast.spike_count.size > 100
    for f in ("spike_tick", "spike_neuron", "spike_count", "rate"):
        assert np.array_equal(getattr(fast, f), getattr(slow, f)), f
    assert np.array_equal(fast.state["v"], slow.state["v"])


def test_state_dtype_is_int32_only_when_everything_fits():
    """int32 storage for 24-bit registers; int64 once a range, bias or initial value does not fit."""
    assert E.state_dtype((-(1 << 23), 1 << 23), (-(1 << 23) + 1, (1 << 23) - 1)) is np.int32
    assert E.state_dtype((0, (1 << 32) - 1)) is np.int64            # unsigned 32-bit register
    assert E.state_dtype((-(1 << 23), 1 << 23), np.array([1 << 31])) is np.int64
    assert E.state_dtype((-(1 << 31), (1 << 31) - 1), np.array([-(1 << 31)])) is np.int32


def test_32_bit_decay_products_only_where_they_are_exact():
    """mul32: int32 state and every multiply-decay factor 2**shift - (d + offset) inside int32."""
    d = np.array([409])
    assert E.mul32_ok(LOIHI, np.int32, d, d)
    assert not E.mul32_ok(LOIHI, np.int64, d, d)
    wide = load_profile("generic", **{"decay.u.shift": 31, "params.du.bits": 31})
    assert not E.mul32_ok(wide, np.int32, np.array([0]), d)           # factor 2**31
    assert E.mul32_ok(wide, np.int32, np.array([1]), d)               # factor 2**31 - 1


def test_wide_registers_run_in_int64_and_equal_the_twin():
    """40-bit registers (int64 storage, values beyond int32): the kernel equals the twin."""
    prof = load_profile("generic", state_bits=40)
    net = Network(n=70, params=dict(du=3, dv=100, vth=1 << 36, bias_mant=np.arange(70), bias_exp=7),
                  init={"u": (1 << 33) + (np.arange(70) << 26), "v": np.full(70, -(1 << 35))})
    fast = simulate(prof, net, ticks=60)
    slow = simulate(prof, net, ticks=60, backend="twin")
    assert fast.spike_count.size > 70 and fast.state["v"].dtype == np.int64
    for f in ("spike_tick", "spike_neuron", "rate"):
        assert np.array_equal(getattr(fast, f), getattr(slow, f)), f
    assert np.array_equal(fast.state["v"], slow.state["v"])
    assert np.array_equal(fast.state["u"], slow.state["u"])


def test_every_neuron_every_tick_is_recorded():
    """v > vth every tick: 50 x 40 events, the raster's every bit."""
    net = Network(n=50, params=dict(du=4095, dv=0, vth=1, bias_mant=4095, bias_exp=0))
    r = simulate(LOIHI, net, ticks=40)
    assert r.spike_count.sum() == 50 * 40
    assert r.rate.tolist() == [[50] * 40]


@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 3), st.integers(1, 200))
@settings(max_examples=40, deadline=None)
def test_raster_events_equal_unpacked_bits(seed, ticks, B, n):
    """Raster -> events equals numpy's unpackbits + nonzero (independent twin)."""
    rng = np.random.default_rng(seed)
    words = (n + 63) // 64
    dense = rng.random((ticks, B, words * 64)) < rng.random()
    dense[..., n:] = False
    bits = np.packbits(dense, axis=-1, bitorder="little").view(np.uint64)
    cnt = rng.integers(1, 256, (ticks, B, n)).astype(np.uint8)
    for b in range(B):
        t_exp, j_exp = np.nonzero(dense[:, b, :])
        for c in (cnt, np.zeros((0, B, n), np.uint8)):
            tick, batch, neuron, count = E._raster_events(bits, c, b, 7)
            assert np.array_equal(tick, t_exp + 7) and np.array_equal(neuron, j_exp)
            assert np.all(batch == b)
            assert np.array_equal(count, c[t_exp, b, j_exp] if c.shape[0] else np.ones_like(j_exp))
