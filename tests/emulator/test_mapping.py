"""emulator.mapping: every report number against an independent computation, and runs."""

import math

import numpy as np
import pytest

from emulator import _kernels as K
from emulator.engine import simulate
from emulator.mapping import map_model
from emulator.profile import load_profile
from reference.analytic import stationary_rates
from reference.errors import InputError
from reference.lif import InputCurrent, NLIFModel
from reference.scenario import load_scenario

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _model(I0=0.0, b=0.0, a=1.0, kind="constant", I1=0.0):
    return NLIFModel(V_F=2.0, V_R=1.0, a0=a, b=b,
                     input=InputCurrent(kind, I0=I0, I1=I1) if kind != "constant"
                     else InputCurrent("constant", I0=I0))


def _uniform_var(m):                  # the exact discrete distribution, summed
    k = np.arange(-(1 << (m - 1)), 1 << (m - 1), dtype=np.float64)
    return float(np.mean(k ** 2) - np.mean(k) ** 2), float(np.mean(k))


def test_loihi1_report_against_hand_computation():
    sc = load_scenario(ROOT / "examples" / "steady_state.toml")
    m = map_model(sc, load_profile("loihi1"), P=1000)
    s, dt = m.v_scale, sc.dt
    reg = m.network.params
    # decay: dv = round(dt 4096), factor 1 - dv/4096 (dm_offset 0)
    assert reg["dv"] == round(dt * 4096)
    assert m.param("decay").represented == pytest.approx(1 - reg["dv"] / 4096, abs=0)
    assert m.param("leak rate").represented == pytest.approx(reg["dv"] / 4096 / dt)
    assert m.param("leak rate").rel_error == pytest.approx(abs(reg["dv"] / 4096 / dt - 1))
    assert "loses" in m.param("leak rate").warning          # 4/4096 vs 1e-3: 2.3 %
    # current: du = 4095 with ds_offset 1 -> factor (4096 - 4096)/4096 = 0
    assert reg["du"] == 4095 and m.param("current decay").represented == 0
    # threshold compared as vth << 6
    assert reg["vth"] == round(1.0 * s / 64)
    assert m.param("threshold").represented == 1.0 + reg["vth"] * 64 / s
    # noise: variance of the uniform 8-bit mantissa by summation, times 4**exp
    var8, mean8 = _uniform_var(8)
    e = reg["noise_exp"]
    assert m.param("noise std").represented == pytest.approx(math.sqrt(var8 * 4 ** e) / s,
                                                             rel=1e-12)
    assert m.param("noise std").real == math.sqrt(2 * 1.0 * dt)
    # bias: mant << exp, plus the noise mantissa's mean (-1/2) << exp
    b_lsb = reg["bias_mant"] << reg["bias_exp"]
    assert m.param("bias").represented == pytest.approx((b_lsb + mean8 * 2 ** e) / s, rel=1e-12)
    assert abs(b_lsb + mean8 * 2 ** e - (0.0 - 1.0) * dt * s) <= 0.5 * 2 ** reg["bias_exp"]
    # coupling b/P = 5e-4: w << (weight_exp + 6)
    p = m.network.projections[0]
    assert p.kind == "all_to_all" and p.pre == (0, 1000) and p.post == (0, 1000)
    assert m.param("coupling b/P").represented == p.weights * 2 ** (p.exponent + 6) / s
    assert m.param("recurrent delay").represented == 1.0
    assert m.ticks == round(sc.T / dt) and m.network.n == 1000
    # init: the scenario's distribution, seed, quantised
    V0 = sc.init.sample(1000, np.random.default_rng(sc.seed), sc.grid.V_min, sc.model.V_F)
    assert np.array_equal(m.network.init["v"], np.rint((V0 - 1.0) * s).astype(np.int64))
    assert {r.name for r in m.report} >= {"threshold", "reset", "decay", "bias", "noise std",
                                          "coupling b/P", "dt", "refractory"}


@pytest.mark.parametrize("kind", ["uniform", "sum_uniform", "binomial"])
def test_noise_variance_by_sampling_the_emulator(kind):
    prof = load_profile("generic", noise_bits=6)
    m = map_model(_model(), prof, P=4, dt=2 ** -10, noise_kind=kind)
    e, terms = m.network.params["noise_exp"], prof.noise["terms"]
    n = 200_000
    out = np.zeros(n, dtype=np.int64)
    K.noise_array(np.uint64(3), np.arange(n) % 7, np.arange(n) // 7 + 1,
                  {"uniform": K.NOISE_UNIFORM, "sum_uniform": K.NOISE_SUM_UNIFORM,
                   "binomial": K.NOISE_BINOMIAL}[kind], 6, terms, out)
    x = (out << e).astype(np.float64)
    var = (m.param("noise std").represented * m.v_scale) ** 2
    # sample variance: relative std ~ sqrt(2/n) (kurtosis <= 3): 6 sigma bound
    assert abs(x.var() / var - 1) < 6 * math.sqrt(2 / n)
    exact = {"uniform": _uniform_var(6)[0], "sum_uniform": terms * _uniform_var(6)[0],
             "binomial": float(terms)}[kind] * 4 ** e
    assert var == pytest.approx(exact, rel=1e-12)


def _period_ticks(res, neuron=0):
    t = res.spike_tick[res.spike_neuron == neuron]
    return np.diff(t)


@pytest.mark.parametrize("dt", [2 ** -10, 1e-3])
def test_deterministic_period_matches_lif(dt):
    mu = 2.5
    m = map_model(_model(I0=mu), load_profile("loihi1"), P=4, dt=dt, T=4000 * dt, noise=False)
    res = simulate(m.profile, m.network, ticks=m.ticks)
    periods = _period_ticks(res)[1:]
    ideal = math.log((mu - 1.0) / (mu - 2.0)) / dt
    # the period the report predicts: effective leak, threshold and input, in ticks
    p = m.effective_params()
    pred = math.log((p["I0"] - p["V_R"]) / (p["I0"] - p["V_F"])) / p["dt"]
    assert np.all(np.abs(periods - pred) <= 2)
    lam_err = m.param("leak rate").rel_error
    assert np.all(np.abs(periods - ideal) <= abs(pred - ideal) + 2)
    assert abs(pred - ideal) / ideal <= 2 * lam_err + 1e-3
    if dt == 2 ** -10:     # the leak is exact: only the Euler step and 1 tick remain
        assert lam_err == 0 and np.all(np.abs(periods - ideal) <= 2)


def test_noisy_uncoupled_rate_matches_effective_model():
    dt, P, ticks = 2 ** -8, 500, 40_000
    m = map_model(_model(), load_profile("loihi1"), P=P, dt=dt, T=ticks * dt)
    res = simulate(m.profile, m.network, ticks=m.ticks, seeds=(1,))
    x = res.rate[0, int(5 / dt):] / P
    nb = 40
    bm = x[: len(x) // nb * nb].reshape(nb, -1).mean(axis=1)
    rate, se = bm.mean(), bm.std(ddof=1) / math.sqrt(nb)
    e = m.effective_model(discrete_threshold=True)
    N = stationary_rates(e.b, a=e.a0, V_F=e.V_F - e.input.I0, V_R=e.V_R - e.input.I0)[0]
    assert abs(rate - N * m.effective_dt) < 4 * se
    # without the once-per-tick threshold correction the prediction is far off
    e0 = m.effective_model()
    N0 = stationary_rates(e0.b, a=e0.a0, V_F=e0.V_F - e0.input.I0, V_R=e0.V_R - e0.input.I0)[0]
    assert abs(rate - N0 * m.effective_dt) > 4 * se


def test_xylo_has_no_noise():
    m = map_model(_model(I0=2.5, b=0.5), load_profile("xylo"), P=20, dt=2 ** -10, T=0.5)
    row = m.param("noise std")
    assert row.represented == 0 and "no noise source" in row.warning
    assert m.network.params["dash_mem"] == 10
    assert m.param("decay").represented == 1 - 2 ** -10
    assert m.effective_params()["a"] == 0
    with pytest.raises(InputError, match="no noise"):
        m.effective_model()
    with pytest.raises(InputError, match="noise std.*no noise source"):
        map_model(_model(), load_profile("xylo"), P=20, dt=2 ** -10, strict=True,
                  tolerance=0.9)
    # the kick: int16(w << shift) read after each decay x -= max(x >> 1, 1), summed
    p = m.network.projections[0]
    x, tot = p.weights << p.exponent, 0
    while x:
        x -= max(x >> 1, 1)
        tot += x
    assert m.param("coupling b/P").represented == tot / m.v_scale
    simulate(m.profile, m.network, ticks=m.ticks)


def test_generic_overrides_and_not_implemented():
    m = map_model(_model(), load_profile("generic", decay="shift"), P=4, dt=2 ** -6)
    assert m.network.params["dv"] == 6 and m.param("decay").rel_error == 0
    for name in ("spinnaker1", "truenorth"):
        with pytest.raises(InputError, match="not implemented yet"):
            map_model(_model(), load_profile(name), P=4, dt=1e-3)


def test_bad_input():
    with pytest.raises(InputError, match="threshold beyond the register"):
        map_model(_model(), load_profile("loihi1"), P=4, dt=1e-3, v_scale=1e9)
    with pytest.raises(InputError, match="time step too large"):
        map_model(_model(), load_profile("loihi1"), P=4, dt=1.5)
    with pytest.raises(InputError, match="coupling b/P"):
        map_model(_model(b=0.01), load_profile("loihi1"), P=1000, dt=2 ** -10, strict=True,
                  tolerance=0.5)
    m = map_model(_model(kind="periodic", I1=1.0), load_profile("loihi1"), P=4, dt=1e-3)
    assert "only I0" in m.param("input I1 (time-dependent)").warning
