"""The spinnaker1 profile (sPyNNaker LIF, exponential current synapses).

No public bit-exact vectors of sPyNNaker exist, so every expected integer below is
derived by hand from the rules in shared/notes/chips.md 2.3-2.6 (the derivation is in
the comments), never by running the emulator; plus kernel == twin on random registers.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.engine import OverflowTrap, simulate
from emulator.network import Network, NetworkError, Projection
from emulator.profile import ProfileError, load_profile

P = load_profile("spinnaker1")
ONE = 1 << 15                 # 1.0 in s16.15
U_HALF = 1 << 31              # 0.5 in u0.32
U_MAX = (1 << 32) - 1         # 1 - 2**-32 in u0.32
BIG = (1 << 31) - 1           # a threshold never reached

# A "transparent" neuron: v_rest = 0, R = 1.0, exp_tc = 0, so v = I every tick.
PLAIN = dict(v_rest=0, v_reset=0, v_thresh=BIG, exp_tc=0, r_membrane=ONE, i_offset=0,
             refract_ticks=0, syn_decay=0, syn_init=U_MAX, ring_buffer_shift=0)


def net(n=1, n_in=0, projections=(), init=None, **params):
    return Network(n=n, n_in=n_in, params={**PLAIN, **params}, projections=tuple(projections),
                   init=init or {})


def run(network, inputs=None, ticks=5, profile=P, **kw):
    return simulate(profile, network, inputs, ticks=ticks, trace="all", **kw)


def test_profile_loads_and_documents_itself():
    assert P.template == "spinnaker"
    assert P.state["v"].bits == 32 and P.state["isyn"].synapses == 2
    assert "nothing" in P.verified
    rows = dict((k, v) for k, v, _ in P.describe())
    assert rows["decay.isyn.shift"] == "32"


# ---------------------------------------------------------------------------------
# s16.15 multiply: floor(a*b / 2**15), 32-bit wrap

def test_floor_multiply_of_negative_current():
    # I = i_offset = -3 LSB, R = 0.5 (16384): I*R = -49152 / 32768 = -1.5 -> floor -2
    # (round toward zero would give -1); exp_tc = 0 so v = alpha = -2 every tick.
    r = run(net(i_offset=-3, r_membrane=ONE // 2), ticks=2)
    assert r.traces["v"][:, 0, 0].tolist() == [-2, -2]


def test_floor_multiply_in_the_decay_term():
    # alpha = 0; v0 = 5, exp_tc = 0.5: exp_tc*(alpha - v) = 16384*(-5)/32768 = -2.5 -> -3,
    # v = 0 - (-3) = 3.  Next: 16384*(-3)/32768 = -1.5 -> -2, v = 2; then -1 -> v = 1;
    # then 16384*(-1)/32768 = -0.5 -> -1, v = 1 forever (floor never reaches 0 from above).
    r = run(net(exp_tc=ONE // 2, r_membrane=0, init={"v": 5}), ticks=5)
    assert r.traces["v"][:, 0, 0].tolist() == [3, 2, 1, 1, 1]


def test_product_wraps_to_32_bits():
    # I = 2**31 - 1, R = 2.0: I*R/2**15 * 2**15 ... in raw: (2**31-1)*65536 >> 15 = 2**32 - 2,
    # which wraps to -2 in int32: v = alpha = -2, one v overflow per tick.
    r = run(net(i_offset=BIG, r_membrane=2 * ONE), ticks=3)
    assert r.traces["v"][:, 0, 0].tolist() == [-2, -2, -2]
    assert r.overflow["v"].tolist() == [3]


def test_add_wraps_to_32_bits():
    # alpha = I*R + v_rest = (2**31 - 1) + 1 = 2**31 -> -2**31 (two's complement)
    r = run(net(i_offset=BIG, v_rest=1), ticks=1)
    assert r.traces["v"][0, 0, 0] == -(1 << 31)
    assert r.overflow["v"].tolist() == [1]


def test_strict_mode_names_tick_neuron_variable():
    network = net(n=3, i_offset=np.array([0, 0, BIG]), v_rest=1)
    with pytest.raises(OverflowTrap) as exc:
        run(network, strict=True)
    assert (exc.value.tick, exc.value.neuron, exc.value.variable) == (1, 2, "v")


def test_closed_form_lif_step_by_hand():
    # The default-like neuron of the profile file, one step from v = v_rest:
    # v_rest = -65 mV = -2129920, R = 20 (655360), I = 1 nA (32768), exp_tc = 31170.
    # alpha = floor(32768*655360 / 2**15) + v_rest = 655360 - 2129920 = -1474560
    # alpha - v = -1474560 + 2129920 = 655360; exp_tc*(alpha - v) = 31170*655360/2**15
    # = 623400 exactly; v = -1474560 - 623400 = -2097960.
    network = net(v_rest=-2129920, r_membrane=655360, exp_tc=31170, i_offset=ONE,
                  init={"v": -2129920})
    r = run(network, ticks=1)
    assert r.traces["v"][0, 0, 0] == -2097960


# ---------------------------------------------------------------------------------
# threshold, reset, refractory

def test_threshold_is_greater_or_equal():
    r = run(net(n=2, i_offset=np.array([100, 99]), v_thresh=100, v_reset=-7), ticks=1)
    assert r.spike_counts()[0].tolist() == [1, 0]
    assert r.traces["v"][0, 0].tolist() == [-7, 99]
    strict_gt = load_profile("spinnaker1", **{"threshold.compare": ">"})
    r = run(net(n=2, i_offset=np.array([100, 101]), v_thresh=100), profile=strict_gt, ticks=1)
    assert r.spike_counts()[0].tolist() == [0, 1]


def test_refractory_freezes_v_while_isyn_decays():
    # v = I = 200 >= 100 at tick 1: spike, v = -7, refractory = 3.  Ticks 2, 3, 4 count
    # down 2, 1, 0 with v frozen at -7 (an update would give 200 and a spike); tick 5
    # updates and spikes again.  isyn (exc = inh = 2**20, so I = i_offset) halves every
    # tick, refractory or not: 2**(20 - t).
    x = 1 << 20
    network = net(i_offset=200, v_thresh=100, v_reset=-7, refract_ticks=3, syn_decay=U_HALF,
                  init={"isyn": np.array([[x, x]])})
    r = run(network, ticks=9)
    assert r.spike_counts()[:, 0].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert r.traces["v"][:, 0, 0].tolist() == [-7] * 9
    assert r.traces["refractory"][:, 0, 0].tolist() == [3, 2, 1, 0, 3, 2, 1, 0, 3]
    assert r.traces["isyn"][:, 0, 0, 0].tolist() == [x >> t for t in range(1, 10)]
    assert r.traces["isyn"][:, 0, 0, 1].tolist() == [x >> t for t in range(1, 10)]


# ---------------------------------------------------------------------------------
# ring buffer, weights, delivery order

def test_delivery_order_and_decay():
    # Input spike at tick 1, delay 1 -> slot 2.  Tick 2: isyn += 1000 * 0.5 = 500, v uses
    # it (v = 500), then isyn *= 0.5 -> 250.  Tick 3: v = 250, isyn 125; tick 4: v = 125,
    # isyn 62 (floor of 62.5).
    proj = Projection("input", "dense", np.array([[1000]]), (0, 1), (0, 1), synapse=0)
    network = net(n_in=1, projections=[proj], syn_init=U_HALF, syn_decay=U_HALF)
    inputs = np.array([[1], [0], [0], [0]])
    r = run(network, inputs, ticks=4)
    assert r.traces["v"][:, 0, 0].tolist() == [0, 500, 250, 125]
    assert r.traces["isyn"][:, 0, 0, 0].tolist() == [0, 250, 125, 62]


def test_delay_and_ring_buffer_shift():
    # delay 3: a spike at tick 1 acts at tick 4.  shift 4: in = 1000 << 4 = 16000,
    # isyn += 16000 * 0.5 = 8000; v = 8000 at tick 4.
    proj = Projection("input", "dense", np.array([[1000]]), (0, 1), (0, 1), delay=3)
    network = net(n_in=1, projections=[proj], syn_init=U_HALF, ring_buffer_shift=4)
    r = run(network, np.array([[1], [0], [0], [0], [0]]), ticks=5)
    assert r.traces["v"][:, 0, 0].tolist() == [0, 0, 0, 8000, 0]


def test_inhibitory_receptor_subtracts():
    # weight 100 on synapse 1 (inhibitory): isyn[1] += 100 * (2**32 - 1) >> 32 = 99
    # (floor), I = 0 - 99 = -99, v = -99 at tick 2; syn_decay 0 then clears isyn.
    proj = Projection("input", "dense", np.array([[100]]), (0, 1), (0, 1), synapse=1)
    r = run(net(n_in=1, projections=[proj]), np.array([[1], [0], [0]]), ticks=3)
    assert r.traces["v"][:, 0, 0].tolist() == [0, -99, 0]
    assert r.traces["isyn"][:, 0, 0].tolist() == [[0, 0], [0, 0], [0, 0]]


def test_ring_buffer_saturates_at_0xffff():
    # Three spikes of weight 0x8000 into one slot: 0x8000, then 0x10000 -> 0xFFFF
    # (saturation 1), then 0x17FFF -> 0xFFFF (saturation 2).  Tick 2:
    # isyn += 0xFFFF * (2**32 - 1) >> 32 = 65535 - 1 = 65534, v = 65534; then
    # isyn *= 0.5 -> 32767.
    w = np.array([[0x8000, 0x8000, 0x8000]])
    proj = Projection("input", "dense", w, (0, 3), (0, 1))
    network = net(n_in=3, projections=[proj], syn_decay=U_HALF)
    r = run(network, np.array([[1, 1, 1], [0, 0, 0]]), ticks=2)
    assert r.overflow["ring_buffer"].tolist() == [2]
    assert r.traces["v"][:, 0, 0].tolist() == [0, 65534]
    assert r.traces["isyn"][:, 0, 0, 0].tolist() == [0, 32767]
    # the same with one channel carrying 3 spikes: one add per spike
    proj = Projection("input", "dense", np.array([[0x8000]]), (0, 1), (0, 1))
    r = run(net(n_in=1, projections=[proj]), np.array([[3], [0]]), ticks=2)
    assert r.overflow["ring_buffer"].tolist() == [2]
    assert r.traces["v"][1, 0, 0] == 65534


def test_ring_buffer_saturation_is_trapped_in_strict_mode():
    proj = Projection("input", "all_to_all", 0xFFFF, (0, 2), (0, 2))
    with pytest.raises(OverflowTrap) as exc:
        run(net(n=2, n_in=2, projections=[proj]), np.ones((5, 2), dtype=np.int64), strict=True)
    assert (exc.value.tick, exc.value.neuron, exc.value.variable) == (1, 0, "ring_buffer")


def test_shift_into_int32_wraps():
    # 0xFFFF << 16 = 0xFFFF0000 = -65536 as int32 (counted as an isyn overflow);
    # isyn += -65536 * (2**32 - 1) >> 32 = floor(-65536 + 65536/2**32) = -65536.
    proj = Projection("input", "dense", np.array([[0xFFFF]]), (0, 1), (0, 1))
    network = net(n_in=1, projections=[proj], ring_buffer_shift=16)
    r = run(network, np.array([[1], [0]]), ticks=2)
    assert r.traces["v"][1, 0, 0] == -65536
    assert r.overflow["isyn"].tolist() == [1]


def test_recurrent_spike_arrives_after_delay():
    # neuron 0 spikes at tick 1 (I = 200 >= 100); all-to-all recurrent weight 10 on
    # synapse 0, delay 2 -> neuron 1 gets isyn = 10 * (2**32-1) >> 32 = 9 at tick 3.
    proj = Projection("neurons", "dense", np.array([[0, 0], [10, 0]]), (0, 2), (0, 2), delay=2)
    network = net(n=2, projections=[proj], i_offset=np.array([200, 0]), v_thresh=100,
                  refract_ticks=100)
    r = run(network, ticks=4)
    assert r.traces["v"][:, 0, 1].tolist() == [0, 0, 9, 0]


# ---------------------------------------------------------------------------------
# bad values

@pytest.mark.parametrize("proj, key", [
    (Projection("input", "dense", np.array([[1 << 16]]), (0, 1), (0, 1)), "projections[0].weights"),
    (Projection("input", "dense", np.array([[-1]]), (0, 1), (0, 1)), "projections[0].weights"),
    (Projection("input", "dense", np.array([[1]]), (0, 1), (0, 1), delay=0),
     "projections[0].delay"),
    (Projection("input", "dense", np.array([[1]]), (0, 1), (0, 1), exponent=1),
     "projections[0].exponent"),
])
def test_bad_projection_is_rejected(proj, key):
    with pytest.raises(NetworkError) as exc:
        run(net(n_in=1, projections=[proj]), np.zeros((5, 1), dtype=np.int64))
    assert exc.value.key == key and exc.value.allowed


def test_bad_registers_are_rejected():
    with pytest.raises(NetworkError) as exc:
        run(net(ring_buffer_shift=32))
    assert exc.value.key == "params.ring_buffer_shift" and exc.value.allowed == "0..31"
    with pytest.raises(NetworkError, match="noise"):
        simulate(P, Network(n=1, noise=True), ticks=2)


@pytest.mark.parametrize("override, key", [
    ({"decay.v.shift": 12}, "decay.v.shift"),
    ({"decay.isyn.rounding": "stochastic"}, "decay.isyn.rounding"),
    ({"state.isyn.synapses": 3}, "state.isyn.synapses"),
    ({"decay.v.kind": "shift"}, "decay.v.kind"),
    ({"input.delay": 0}, "input.delay"),
    ({"threshold.reset": "subtract"}, "threshold.reset"),
    ({"state.v.bits": 40}, "state.v"),
    ({"input.accumulate": "sum"}, "input.accumulate"),
])
def test_bad_profile_is_rejected(override, key):
    with pytest.raises(ProfileError) as exc:
        load_profile("spinnaker1", **override)
    assert exc.value.key == key and exc.value.file.endswith("spinnaker1.toml")


# ---------------------------------------------------------------------------------
# kernel == twin

@st.composite
def cases(draw):
    n = draw(st.integers(1, 4))
    n_in = draw(st.integers(1, 3))
    ticks = draw(st.integers(1, 25))
    i32 = st.integers(-(1 << 31), (1 << 31) - 1)
    small = st.integers(-(1 << 22), 1 << 22)
    vec = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    syn = lambda s: np.array(draw(st.lists(st.lists(s, min_size=2, max_size=2),  # noqa: E731
                                           min_size=n, max_size=n)))
    extreme = draw(st.booleans())
    val = i32 if extreme else small
    params = dict(v_rest=vec(val), v_reset=vec(val), v_thresh=vec(val),
                  exp_tc=vec(st.integers(-ONE, 2 * ONE) if not extreme else i32),
                  r_membrane=vec(st.integers(0, 40 * ONE) if not extreme else i32),
                  i_offset=vec(val), refract_ticks=vec(st.integers(0, 4)),
                  syn_decay=syn(st.integers(0, U_MAX)), syn_init=syn(st.integers(0, U_MAX)),
                  ring_buffer_shift=syn(st.integers(0, 20 if extreme else 10)))
    params = {k: np.array(v, dtype=np.int64) for k, v in params.items()}
    wmax = draw(st.sampled_from([100, 0xFFFF]))
    projs = [Projection("input", "dense",
                        np.array(draw(st.lists(st.lists(st.integers(0, wmax), min_size=n_in,
                                                        max_size=n_in), min_size=n, max_size=n))),
                        (0, n_in), (0, n), synapse=draw(st.integers(0, 1)),
                        delay=draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        projs.append(Projection("neurons", "all_to_all", draw(st.integers(0, wmax)), (0, n),
                                (0, n), synapse=draw(st.integers(0, 1)),
                                delay=draw(st.integers(1, 3))))
    inputs = np.array(draw(st.lists(st.lists(st.integers(0, 3), min_size=n_in, max_size=n_in),
                                    min_size=ticks, max_size=ticks)), dtype=np.int64)
    init = {"v": np.array(vec(val), dtype=np.int64), "isyn": syn(val)}
    # two compiled variants: the profile's modes, and rounding half_up with saturation
    # (roughly the old MULT_ROUND_NEAREST_ACCUM variant); each compile costs seconds.
    mode = draw(st.sampled_from([{}, {"decay.v.rounding": "half_up",
                                      "decay.isyn.rounding": "half_up",
                                      "state.v.overflow": "saturate",
                                      "state.isyn.overflow": "saturate"}]))
    return Network(n=n, n_in=n_in, params=params, projections=tuple(projs), init=init), \
        inputs, ticks, mode


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_kernel_equals_twin(case):
    network, inputs, ticks, mode = case
    profile = load_profile("spinnaker1", **mode)
    a = simulate(profile, network, inputs, ticks=ticks, trace="all", seeds=[0, 1])
    b = simulate(profile, network, inputs, ticks=ticks, trace="all", seeds=[0, 1],
                 backend="twin")
    for k in ("v", "isyn", "refractory"):
        np.testing.assert_array_equal(a.traces[k], b.traces[k], err_msg=k)
        np.testing.assert_array_equal(a.state[k], b.state[k], err_msg=k)
    for k in a.overflow:
        np.testing.assert_array_equal(a.overflow[k], b.overflow[k], err_msg=k)
    np.testing.assert_array_equal(a.spike_counts(1), b.spike_counts(1))
    lo, hi = -(1 << 31), (1 << 31) - 1
    assert lo <= a.traces["v"].min() and a.traces["v"].max() <= hi
    assert lo <= a.traces["isyn"].min() and a.traces["isyn"].max() <= hi
