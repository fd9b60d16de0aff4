"""emulator.testing: the model protocol, first divergences, trace files, broken models.

Expected values are derived by hand (comments) or come from the emulator's slow
golden twin; the broken models are independent numpy re-implementations.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from emulator.cmd_vectors import network_case, write_npz
from emulator.network import Network, Projection
from emulator.profile import load_profile
from emulator.testing import (
    Divergence,
    ModelDivergence,
    assert_matches_emulator,
    compare_model,
    compare_trace,
)
from emulator.vectors import VectorsError
from reference.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("broken_models",
                                              ROOT / "examples" / "broken_models.py")
bm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bm)

LOIHI = load_profile("loihi1")
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                report_multiple_bugs=False,
                phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _shrunk(model, max_examples=150, **kw):
    with pytest.raises(ModelDivergence) as exc:
        assert_matches_emulator(model, bm.scenarios(**kw), backend="twin",
                                settings=settings(FAST, max_examples=max_examples))
    return exc.value


def test_the_correct_model_matches():
    # the control: the same numpy tick without a bug passes every scenario
    assert_matches_emulator(bm.Loihi1, bm.scenarios(), backend="twin", settings=FAST)


def test_floor_instead_of_toward_zero_is_found_and_shrunk():
    err = _shrunk(bm.FloorDecay)
    d, s = err.divergence, err.scenario
    assert s.network.n <= 3 and s.ticks <= 3
    assert d.variable in ("u", "v")
    # floor and truncation differ by exactly one LSB, on a negative value only
    assert d.got == d.expected - 1
    assert min(np.ravel(list(d.previous.values()))) < 0 or d.registers["bias_mant"] < 0


def test_greater_equal_instead_of_greater_is_found_and_shrunk():
    err = _shrunk(bm.GreaterEqual)
    d, s = err.divergence, err.scenario
    # minimal: one neuron, one tick, vth = 0, v = 0: 0 >= 0 fires, 0 > 0 does not
    assert (s.network.n, s.ticks) == (1, 1)
    assert (d.tick, d.neuron, d.variable, d.expected, d.got) == (1, 0, "spikes", 0, 1)
    assert d.registers["vth"] == 0


def test_saturating_instead_of_wrapping_current_is_found_and_shrunk():
    # searched on at most 2 neurons and 8 ticks with du = 0: overflow needs a register near
    # its rail, which a barely decaying current reaches (hypothesis also favours edge
    # values and pushes towards the rails in its target phase).  Shrinking is a local
    # search: it ends at 1-4 ticks depending on where the search started
    err = _shrunk(bm.SaturatingCurrent, max_examples=600, max_neurons=2, max_ticks=8, du=0)
    d, s = err.divergence, err.scenario
    assert s.network.n <= 2 and s.ticks <= 4
    assert d.variable == "u"
    # the model sits on a rail; the chip wrapped by 2**24 to the other sign
    assert d.got in (bm.U_MAX, bm.U_MIN)
    assert np.sign(d.got) == -np.sign(d.expected)
    assert "u" in str(err) and "registers of neuron" in str(err)


def test_divergence_names_registers_state_and_input():
    # 2 neurons, one input channel with weight 10 onto neuron 1, delay 1 (Dense).
    # Tick 1: a_in = 0; v = bias.  Tick 2: a_in(1) = 10, u = 10 << 6 = 640,
    # v = 5 + 640 + 5 = 650 < 100 << 6 = 6400: no spike.  GreaterEqual agrees here, so
    # we plant vth = 0 on neuron 1 via a population vth = 0 and check tick 1: v = 5 > 0
    # spikes in both; with bias 0 on neuron 0, v = 0: only >= fires.
    net = Network(n=2, n_in=1, params={"vth": 0, "bias_mant": np.array([0, 5])},
                  projections=(Projection("input", "dense", np.array([[0], [10]]), (0, 1),
                                          (0, 2)),))
    inputs = np.array([[1], [0]])
    d = compare_model(bm.GreaterEqual(), LOIHI, net, inputs, ticks=2, backend="twin")
    assert isinstance(d, Divergence)
    assert (d.tick, d.neuron, d.variable, d.expected, d.got) == (1, 0, "spikes", 0, 1)
    assert d.registers["bias_mant"] == 0 and d.registers["vth"] == 0
    assert d.previous == {"spikes": 0, "u": 0, "v": 0}
    assert d.input == {"a_in": 0, "events": []}
    text = str(d)
    assert "tick 1, neuron 0, variable spikes: emulator 0, model 1" in text
    assert compare_model(bm.Loihi1(), LOIHI, net, inputs, ticks=2, backend="twin") is None


def test_a_model_returning_an_unknown_variable_is_bad_input():
    class Odd(bm.Loihi1):
        def step(self, tick, inputs):
            return {"voltage": np.zeros(self.n)}

    with pytest.raises(InputError, match="voltage"):
        compare_model(Odd(), LOIHI, Network(n=1), ticks=1, backend="twin")


def _trace(tmp_path, mutate=None):
    # neuron i has bias 10 * (i + 1), dv = du = 0, vth = 100 (6400), no input:
    # v(t) = 10 (i + 1) t until it passes 6400.
    # (one silent input channel: case_network cannot build a case without inputs)
    net = Network(n=3, n_in=1, params={"bias_mant": np.array([10, 20, 30])},
                  projections=(Projection("input", "dense", np.ones((3, 1), np.int64), (0, 1),
                                          (0, 3)),))
    case = network_case(LOIHI, net, np.zeros((6, 1), np.int64), 6)
    t = np.arange(1, 7)[:, None]
    case["expect/v"] = 10 * np.array([1, 2, 3])[None, :] * t
    case["expect/u"] = np.zeros((6, 3), np.int64)
    case["expect/spikes"] = np.zeros((6, 3), np.int64)
    if mutate:
        mutate(case)
    return write_npz(tmp_path / "rtl.npz", {"rtl": case})


def test_a_trace_file_that_agrees_has_no_divergence(tmp_path):
    assert compare_trace(_trace(tmp_path), backend="twin") is None


def test_a_trace_file_reports_its_first_divergence(tmp_path):
    def mutate(case):
        case["expect/v"][3:, 2] += 1          # the RTL drifts from tick 4 on, neuron 2
        case["expect/spikes"][4, 0] = 1       # and spikes wrongly later
    d = compare_trace(_trace(tmp_path, mutate), backend="twin")
    assert (d.case, d.tick, d.neuron, d.variable) == ("rtl", 4, 2, "v")
    assert (d.expected, d.got) == (120, 121)
    assert d.previous["v"] == 90 and d.registers["bias_mant"] == 30


def test_a_trace_file_with_disagreeing_shapes_is_a_clear_error(tmp_path):
    def mutate(case):
        case["expect/v"] = case["expect/v"][:5]     # 5 rows, steps = 6
    with pytest.raises(VectorsError, match=r"rtl/expect/v.*shape \(5, 3\)"):
        compare_trace(_trace(tmp_path, mutate), backend="twin")

    def mutate2(case):
        case["param/bias_mant"] = np.array([10, 20])  # 2 values for 3 neurons
    with pytest.raises(VectorsError, match="rtl/param/bias_mant"):
        compare_trace(_trace(tmp_path, mutate2), backend="twin")
