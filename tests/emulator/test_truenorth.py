"""The truenorth profile (Cassidy et al. 2013 neuron equations).

No public TrueNorth vectors exist: the expected integers below are derived by hand from
the equations in shared/notes/chips.md 3 (derivations in comments), the stochastic
modes are checked statistically, and the kernel is checked against its slow twin.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.engine import OverflowTrap, simulate
from emulator.network import Network, NetworkError, Projection
from emulator.profile import ProfileError, load_profile

P = load_profile("truenorth")
V_MAX = (1 << 19) - 1          # 20-bit signed V
A_MAX = (1 << 18) - 1          # 18-bit alpha / beta

BASE = dict(syn_weight=0, syn_stochastic=0, leak=0, leak_stochastic=0, leak_reversal=0,
            alpha=A_MAX, beta=A_MAX, kappa=1, gamma=0, v_reset=0, threshold_mask=0)


def net(n=1, n_in=0, projections=(), init=None, **params):
    return Network(n=n, n_in=n_in, params={**BASE, **params}, projections=tuple(projections),
                   init=init or {})


def run(network, inputs=None, ticks=5, profile=P, **kw):
    return simulate(profile, network, inputs, ticks=ticks, trace="all", **kw)


def test_profile_loads_and_documents_itself():
    assert P.template == "truenorth" and P.state["v"].bits == 20
    assert "UNVERIFIED" in Path(P.file).read_text() and "LFSR" in P.unverified
    assert P.weights["types"] == 4


def test_deterministic_trajectory_by_hand():
    # b = c = M = 0.  Channel 0 -> axons of type 1 (crossbar: neuron 0 only), channel 1 ->
    # axons of type 3 (crossbar: neuron 1 only); both spike every tick, delay 1, so
    # integration starts at tick 2.  s = [0, 7, 0, -4] for both neurons, leak -2,
    # alpha 20, beta 10, kappa 0, gamma 1 (linear reset), R 0.
    # neuron 0: -2, -2+7-2 = 3, 8, 13, 18, 23 >= 20 -> spike, 23-20 = 3, 8, 13, 18, 23 -> 3
    # neuron 1: -2, -2-4-2 = -8, -14 < -10 -> -14+10 = -4, -10 (not < -10), -16 -> -6,
    #           -12 -> -2, -8, -14 -> -4, -10, -16 -> -6
    projs = [Projection("input", "dense", np.array([[1], [0]]), (0, 1), (0, 2), synapse=1),
             Projection("input", "dense", np.array([[0], [1]]), (1, 2), (0, 2), synapse=3)]
    network = net(n=2, n_in=2, projections=projs, syn_weight=np.array([[0, 7, 0, -4]] * 2),
                  leak=-2, alpha=20, beta=10, kappa=0, gamma=1)
    r = run(network, np.ones((10, 2), dtype=np.int64), ticks=10)
    assert r.traces["v"][:, 0, 0].tolist() == [-2, 3, 8, 13, 18, 3, 8, 13, 18, 3]
    assert r.traces["v"][:, 0, 1].tolist() == [-2, -8, -4, -10, -6, -2, -8, -4, -10, -6]
    assert r.spike_tick.tolist() == [6, 10] and r.spike_neuron.tolist() == [0, 0]
    assert r.overflow["v"].tolist() == [0]


# (gamma, kappa) -> V after a +15 input (alpha 10) and after a -15 input (beta 10), R = 3:
#   positive: gamma 0 -> R = 3; 1 -> 15 - 10 = 5; 2 -> 15 (no reset); always a spike.
#   negative: kappa 1 -> -beta = -10 (saturate); kappa 0: gamma 0 -> -R = -3;
#             1 -> -15 + 10 = -5; 2 -> -15.
@pytest.mark.parametrize("gamma, kappa, v_pos, v_neg", [
    (0, 0, 3, -3), (1, 0, 5, -5), (2, 0, 15, -15),
    (0, 1, 3, -10), (1, 1, 5, -10), (2, 1, 15, -10),
])
def test_six_reset_behaviours(gamma, kappa, v_pos, v_neg):
    proj = Projection("input", "dense", np.array([[1], [1]]), (0, 1), (0, 2), synapse=0)
    network = net(n=2, n_in=1, projections=[proj], syn_weight=np.array([[15, 0, 0, 0],
                                                                        [-15, 0, 0, 0]]),
                  alpha=10, beta=10, gamma=gamma, kappa=kappa, v_reset=3)
    r = run(network, np.array([[1], [0], [0]]), ticks=3)
    assert r.traces["v"][1, 0].tolist() == [v_pos, v_neg]
    assert r.spike_counts()[1].tolist() == [1, 0]
    # tick 3, no input: only the un-reset positive neuron (gamma 2, V = 15) fires again
    assert r.spike_counts()[2].tolist() == [int(gamma == 2), 0]


def test_leak_reversal():
    # eps = 1, lambda = -3: V += sgn(V) * -3, a leak toward 0 that overshoots by the step:
    # 10 -> 7, 4, 1, -2, 1, -2; -10 -> -7, -4, -1, 2, -1, 2; 0 stays 0 (sgn 0 = 0).
    # eps = 0: 10 -> 7, 4, 1, -2, -5, -8.
    network = net(n=4, leak=-3, leak_reversal=np.array([1, 1, 1, 0]),
                  init={"v": np.array([10, -10, 0, 10])})
    r = run(network, ticks=6)
    v = r.traces["v"][:, 0]
    assert v[:, 0].tolist() == [7, 4, 1, -2, 1, -2]
    assert v[:, 1].tolist() == [-7, -4, -1, 2, -1, 2]
    assert v[:, 2].tolist() == [0] * 6
    assert v[:, 3].tolist() == [7, 4, 1, -2, -5, -8]


def test_negative_saturation_at_minus_beta():
    # kappa 1, beta 5, leak -3: -3, -6 < -5 -> -5, -8 -> -5, ...
    r = run(net(leak=-3, beta=5, kappa=1), ticks=4)
    assert r.traces["v"][:, 0, 0].tolist() == [-3, -5, -5, -5]
    assert r.spike_counts().sum() == 0


def test_greater_or_equal_threshold():
    # leak +4, alpha 8: 4, 8 >= 8 -> spike, reset to 0; with compare '>' 8 does not fire.
    r = run(net(leak=4, alpha=8), ticks=3)
    assert r.traces["v"][:, 0, 0].tolist() == [4, 0, 4]
    gt = load_profile("truenorth", **{"threshold.compare": ">"})
    r = run(net(leak=4, alpha=8), ticks=3, profile=gt)
    assert r.traces["v"][:, 0, 0].tolist() == [4, 8, 0]


def test_v_saturates_and_strict_mode_traps():
    # V0 = 2**19 - 11 = 524277, leak +100: 524377 -> saturates at 524287 each tick
    # (gamma 2 keeps it, and it fires every tick).
    network = net(n=2, leak=np.array([0, 100]), gamma=2, init={"v": V_MAX - 10})
    r = run(network, ticks=3)
    assert r.traces["v"][:, 0, 1].tolist() == [V_MAX] * 3
    assert r.overflow["v"].tolist() == [3]
    with pytest.raises(OverflowTrap) as exc:
        run(network, strict=True)
    assert (exc.value.tick, exc.value.neuron, exc.value.variable) == (1, 1, "v")


def test_v_wraps_when_the_profile_says_so():
    # 524277 + 100 = 524377 -> 524377 - 2**20 = -524199 (< -beta = -262143, kappa 1)
    # -> -262143; next tick -262143 + 100 = -262043.
    wrap = load_profile("truenorth", **{"state.v.overflow": "wrap"})
    r = run(net(leak=100, gamma=2, init={"v": V_MAX - 10}), ticks=2, profile=wrap)
    assert r.traces["v"][:, 0, 0].tolist() == [-A_MAX, -A_MAX + 100]
    assert r.overflow["v"].tolist() == [1]


def test_recurrent_axon_delay():
    # neuron 0 (V0 = 5 >= alpha 5) fires at tick 1 only (reset to 0, no leak); its axon
    # (type 2, s = 9 at neuron 1) has delay 3: neuron 1 integrates 9 at tick 4.
    proj = Projection("neurons", "dense", np.array([[0, 0], [1, 0]]), (0, 2), (0, 2),
                      synapse=2, delay=3)
    network = net(n=2, projections=[proj], alpha=np.array([5, A_MAX]),
                  syn_weight=np.array([[0, 0, 0, 0], [0, 0, 9, 0]]),
                  init={"v": np.array([5, 0])})
    r = run(network, ticks=5)
    assert r.traces["v"][:, 0, 1].tolist() == [0, 0, 0, 9, 9]


# ---------------------------------------------------------------------------------
# stochastic modes (the LFSR is not public: statistics only)

def within_4_sigma(successes, trials, p):
    sigma = np.sqrt(p * (1 - p) / trials)
    return abs(successes / trials - p) < 4 * sigma


def test_stochastic_synapse_probability():
    # s = +77 on half the neurons, -77 on the other half, b = 1: each event adds sgn(s)
    # with probability |s|/256.  39 events per neuron (ticks 2..40).  s = -256: always -1.
    n, ticks = 600, 40
    s = np.zeros((n, 4), dtype=np.int64)
    s[: n // 2, 0], s[n // 2:, 0] = 77, -77
    s[0, 0] = -256
    proj = Projection("input", "all_to_all", 1, (0, 1), (0, n), synapse=0)
    network = net(n=n, n_in=1, projections=[proj], syn_weight=s, syn_stochastic=1)
    r = run(network, np.ones((ticks, 1), dtype=np.int64), ticks=ticks, seeds=[3])
    v = r.state["v"][0]
    assert v[0] == -39
    trials = (n // 2 - 1) * 39
    assert within_4_sigma(v[1: n // 2].sum(), trials, 77 / 256)
    assert within_4_sigma(-v[n // 2:].sum(), (n // 2) * 39, 77 / 256)
    assert v[1: n // 2].min() >= 0 and v[n // 2:].max() <= 0
    again = run(network, np.ones((ticks, 1), dtype=np.int64), ticks=ticks, seeds=[3])
    other = run(network, np.ones((ticks, 1), dtype=np.int64), ticks=ticks, seeds=[4])
    assert np.array_equal(again.state["v"], r.state["v"])
    assert not np.array_equal(other.state["v"], r.state["v"])


def test_stochastic_leak_probability():
    # c = 1, lambda = -40: V += -1 with probability 40/256 per tick.
    n, ticks = 500, 40
    r = run(net(n=n, leak=-40, leak_stochastic=1), ticks=ticks, seeds=[5])
    assert within_4_sigma(-r.state["v"][0].sum(), n * ticks, 40 / 256)


def test_stochastic_threshold_probability():
    # V = 5 held (gamma 2, no leak), alpha 2, M = 7: eta uniform on 0..7, fire iff
    # 5 >= 2 + eta, i.e. eta <= 3: probability 1/2.
    n, ticks = 500, 40
    r = run(net(n=n, alpha=2, gamma=2, threshold_mask=7, init={"v": 5}), ticks=ticks, seeds=[6])
    assert (r.traces["v"] == 5).all()
    assert within_4_sigma(r.spike_counts().sum(), n * ticks, 0.5)


# ---------------------------------------------------------------------------------
# bad values

@pytest.mark.parametrize("kw, key", [
    (dict(projections=[Projection("input", "dense", np.array([[2]]), (0, 1), (0, 1))]),
     "projections[0].weights"),
    (dict(projections=[Projection("input", "dense", np.array([[1]]), (0, 1), (0, 1), delay=16)]),
     "projections[0].delay"),
    (dict(projections=[Projection("input", "dense", np.array([[1]]), (0, 1), (0, 1), synapse=4)]),
     "projections[0].synapse"),
    (dict(gamma=3), "params.gamma"),
    (dict(alpha=1 << 18), "params.alpha"),
    (dict(syn_weight=np.zeros((1, 3), dtype=np.int64)), "params.syn_weight"),
    (dict(init={"isyn": 0}), "init.isyn"),
])
def test_bad_network_is_rejected(kw, key):
    with pytest.raises(NetworkError) as exc:
        run(net(n_in=1, **kw), np.zeros((3, 1), dtype=np.int64), ticks=3)
    assert exc.value.key == key


def test_bad_inputs_are_rejected():
    proj = Projection("input", "dense", np.array([[1]]), (0, 1), (0, 1))
    with pytest.raises(NetworkError, match="one spike per tick"):
        run(net(n_in=1, projections=[proj]), np.full((3, 1), 2), ticks=3)
    with pytest.raises(NetworkError, match="registers"):
        simulate(P, Network(n=1, noise=True), ticks=2)


@pytest.mark.parametrize("override, key", [
    ({"params.gamma.default": 3}, "params.gamma.default"),
    ({"state.v.bits": 40}, "state.v"),
    ({"threshold.reset": "zero"}, "threshold.reset"),
    ({"noise.kind": "uniform"}, "noise.exponent"),     # the current template's noise
    ({"decay.v.kind": "shift"}, "decay.v.kind"),
    ({"refractory.register": "leak"}, "refractory.register"),
])
def test_bad_profile_is_rejected(override, key):
    with pytest.raises(ProfileError) as exc:
        load_profile("truenorth", **override)
    assert exc.value.key == key and exc.value.file.endswith("truenorth.toml")


# ---------------------------------------------------------------------------------
# kernel == twin

@st.composite
def cases(draw):
    n = draw(st.integers(1, 4))
    n_in = draw(st.integers(1, 3))
    ticks = draw(st.integers(1, 20))
    vec = lambda s: np.array(draw(st.lists(s, min_size=n, max_size=n)), dtype=np.int64)  # noqa
    mat = lambda s, m: np.array(draw(st.lists(st.lists(s, min_size=m, max_size=m),  # noqa
                                              min_size=n, max_size=n)), dtype=np.int64)
    stochastic = draw(st.booleans())
    bit = st.integers(0, 1) if stochastic else st.just(0)
    big = draw(st.booleans())
    thr = st.integers(0, A_MAX if big else 60)
    params = dict(syn_weight=mat(st.integers(-256, 255), 4), syn_stochastic=mat(bit, 4),
                  leak=vec(st.integers(-256, 255)), leak_stochastic=vec(bit),
                  leak_reversal=vec(st.integers(0, 1)), alpha=vec(thr), beta=vec(thr),
                  kappa=vec(st.integers(0, 1)), gamma=vec(st.integers(0, 2)),
                  v_reset=vec(st.integers(-(1 << 17), (1 << 17) - 1) if big else
                              st.integers(-30, 30)),
                  threshold_mask=vec(st.integers(0, A_MAX if big else 15) if stochastic
                                     else st.just(0)))
    projs = [Projection("input", "dense", mat(st.integers(0, 1), n_in), (0, n_in), (0, n),
                        synapse=draw(st.integers(0, 3)), delay=draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        projs.append(Projection("neurons", draw(st.sampled_from(["dense", "all_to_all"])),
                                1, (0, n), (0, n), synapse=draw(st.integers(0, 3)),
                                delay=draw(st.integers(1, 3))))
        if projs[-1].kind == "dense":
            projs[-1] = Projection("neurons", "dense", mat(st.integers(0, 1), n), (0, n), (0, n),
                                   synapse=projs[-1].synapse, delay=projs[-1].delay)
    inputs = np.array(draw(st.lists(st.lists(st.integers(0, 1), min_size=n_in, max_size=n_in),
                                    min_size=ticks, max_size=ticks)), dtype=np.int64)
    init = {"v": vec(st.integers(-V_MAX - 1, V_MAX) if big else st.integers(-50, 50))}
    # three compiled variants in all: deterministic/stochastic x saturate, deterministic wrap
    mode = draw(st.sampled_from([{}, {"state.v.overflow": "wrap"}])) if not stochastic else {}
    return Network(n=n, n_in=n_in, params=params, projections=tuple(projs), init=init), \
        inputs, ticks, mode


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_kernel_equals_twin(case):
    network, inputs, ticks, mode = case
    profile = load_profile("truenorth", **mode)
    a = simulate(profile, network, inputs, ticks=ticks, trace="all", seeds=[0, 9])
    b = simulate(profile, network, inputs, ticks=ticks, trace="all", seeds=[0, 9],
                 backend="twin")
    np.testing.assert_array_equal(a.traces["v"], b.traces["v"])
    np.testing.assert_array_equal(a.state["v"], b.state["v"])
    np.testing.assert_array_equal(a.overflow["v"], b.overflow["v"])
    for s in (0, 1):
        np.testing.assert_array_equal(a.spike_counts(s), b.spike_counts(s))
    assert -V_MAX - 1 <= a.traces["v"].min() and a.traces["v"].max() <= V_MAX
