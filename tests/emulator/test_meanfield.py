"""The mean-field path (emulator/meanfield.py) against independent oracles.

* the general-drift stationary rate against reference.analytic (linear drift), 1e-6;
* the exact integer decay against the slow twin (emulator._twins.decay_step);
* the noise distribution against the emulator's PRNG samples and closed-form variances;
* the Markov-chain prediction against the emulator's MEASURED rate (many independent
  neurons, uncoupled), on loihi1 and generic variants, including cases where the float
  prediction is off by more than 10 %;
* the deterministic orbit against a noise-free Xylo neuron;
* the moment activation's unit mapping against quadrature.

The comparison table is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from emulator import _kernels as K
from emulator import _twins
from emulator.engine import simulate
from emulator.fixed import Rounding
from emulator.meanfield import (
    chip_neuron,
    decay_map,
    diffusion_rate,
    markov_rate,
    moment_prediction,
    noise_pmf,
    predict,
    quantised_drift,
    stationary_rate_general,
    stationary_rates_general,
)
from emulator.network import Network, Projection
from emulator.profile import load_profile
from reference.analytic import lif_period, stationary_rates

# ---------------------------------------------------------------------------------
# general drift vs the analytic linear case

@pytest.mark.parametrize("b, I0, a", [(0.0, 0.0, 1.0), (0.5, 0.0, 1.0), (-1.0, 0.0, 1.0),
                                      (1.5, 0.0, 1.0), (0.0, 1.5, 0.3), (0.0, 0.0, 0.05),
                                      (2.0, 0.0, 1.0)])
def test_general_drift_matches_analytic(b, I0, a):
    """Every root of N = rate(-V + I0 + bN) equals reference.analytic's to 1e-6."""
    expected = stationary_rates(b, a=a, V_F=2.0 - I0, V_R=1.0 - I0)
    got = stationary_rates_general(lambda V: -V + I0, a, 2.0, 1.0, b)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_general_drift_truncated_domain_and_refractory():
    """A wall at V_lo = -4 gives the truncated-domain value of notes 5; tau_ref adds to 1/N."""
    r = stationary_rate_general(lambda V: -V, 1.0, 2.0, 1.0, V_lo=-4.0)
    assert r == pytest.approx(0.1199800037, rel=1e-8)
    r0 = stationary_rate_general(lambda V: -V, 1.0, 2.0, 1.0)
    r1 = stationary_rate_general(lambda V: -V, 1.0, 2.0, 1.0, tau_ref=0.5)
    assert 1.0 / r1 == pytest.approx(1.0 / r0 + 0.5, rel=1e-10)
    # the same against an independent source: reference.analytic's rate without refractory
    free = stationary_rates(0.0, a=1.0, V_F=2.0, V_R=1.0)[0]
    assert r1 == pytest.approx(1.0 / (1.0 / free + 0.5), rel=1e-6)


def test_general_drift_no_overflow_for_small_noise():
    """Strongly subthreshold, tiny noise: log-space quadrature, a tiny rate or 0, never NaN."""
    r = stationary_rate_general(lambda V: -V, 0.02, 2.0, 1.0)
    expected = stationary_rates(0.0, a=0.02)[0]
    assert r == pytest.approx(expected, rel=1e-5)
    assert stationary_rate_general(lambda V: -V, 1e-4, 2.0, 1.0) == 0.0


# ---------------------------------------------------------------------------------
# the integer building blocks

MODES = ["floor", "toward_zero", "half_up", "half_away", "half_even"]


@pytest.mark.parametrize("rounding", MODES + ["stochastic"])
@pytest.mark.parametrize("kind", ["multiply", "shift"])
def test_decay_map_matches_twin(rounding, kind):
    """decay_map equals x - decay_step(x) of the slow twin, for every rounding mode."""
    over = {"rounding": rounding, "decay": kind, "state_bits": 16}
    prof = load_profile("generic", **over)
    spec = prof.decay["v"]
    kcode = K.DECAY_MULTIPLY if kind == "multiply" else K.DECAY_SHIFT
    rng = np.random.default_rng(0)
    x = np.concatenate([np.arange(-300, 301), rng.integers(-2**15, 2**15, 400)])
    for d in ((37, 4095, 0) if kind == "multiply" else (1, 4, 11)):
        lo, hi, p = decay_map(prof, "v", d, x)
        n = spec.shift if kind == "multiply" else d
        for xi, lo_i, h, pi in zip(x.tolist(), lo.tolist(), hi.tolist(), p.tolist(), strict=True):
            if rounding != "stochastic":
                want = xi - _twins.decay_step(xi, d, kcode, spec.shift, spec.offset,
                                              int(Rounding[rounding.upper()]), spec.min_step, 0)
                assert lo_i == h == want
                continue
            # stochastic: r = 0 gives the low outcome, r = 2**n - 1 the high one; the high
            # one has probability (number of r that round up) / 2**n
            outs = [xi - _twins.decay_step(xi, d, kcode, spec.shift, spec.offset,
                                           int(Rounding.STOCHASTIC), spec.min_step, r)
                    for r in (0, (1 << n) - 1)]
            assert sorted({lo_i, h}) == sorted(set(outs))
            if lo_i != h:
                n_up = sum(xi - _twins.decay_step(xi, d, kcode, spec.shift, spec.offset,
                                                  int(Rounding.STOCHASTIC), spec.min_step, r) == h
                           for r in range(0, 1 << n, max(1, (1 << n) // 256)))
                assert pi == pytest.approx(n_up / len(range(0, 1 << n, max(1, (1 << n) // 256))),
                                           abs=1.0 / 256)


@pytest.mark.parametrize("kind, mant_bits, terms, exp, var", [
    ("uniform", 8, 4, 0, (4**8 - 1) / 12), ("uniform", 3, 4, 2, (4**3 - 1) / 12 * 16),
    ("sum_uniform", 3, 4, 1, 4 * (4**3 - 1) / 12 * 4), ("binomial", 8, 25, 1, 25 * 4)])
def test_noise_pmf_matches_prng(kind, mant_bits, terms, exp, var):
    """Closed-form variance, and the PRNG's empirical distribution, match noise_pmf."""
    vals, probs = noise_pmf(kind, mant_bits, terms, exp)
    m = float(np.dot(vals, probs))
    assert float(np.dot((vals - m) ** 2, probs)) == pytest.approx(var, rel=1e-12)
    n = 200_000
    out = np.zeros(n, dtype=np.int64)
    code = {"uniform": K.NOISE_UNIFORM, "sum_uniform": K.NOISE_SUM_UNIFORM,
            "binomial": K.NOISE_BINOMIAL}[kind]
    K.noise_array(np.uint64(5), np.arange(n, dtype=np.int64) % 1000,
                  np.arange(n, dtype=np.int64) // 1000 + 1, code, mant_bits, terms, out)
    samples = out << exp
    assert samples.mean() == pytest.approx(m, abs=5 * math.sqrt(var / n))
    assert samples.var() == pytest.approx(var, rel=0.02)
    assert set(np.unique(samples).tolist()) <= set(vals.tolist())


# ---------------------------------------------------------------------------------
# the Markov chain against the emulator's measured rate

def _case(profile, v_scale, dv, bias, kind, exp, n=2000):
    """Registers built here by hand; the float model is what the registers represent.

    dt = dv / 4096 (the leak factor is exactly 1 - dt), V_F - V_R = vth / v_scale exactly,
    I0 = V_R + (bias + E[noise]) / (v_scale dt), a = Var[noise] / (2 dt v_scale^2): the
    float model differs from the chip only by the decay's rounding and the time step.
    """
    params = {"dv": dv, "vth": v_scale >> profile.threshold["shift"], "bias_mant": bias,
              "bias_exp": 0, "noise_exp": exp}
    net = Network(n=n, params=params, noise=True, noise_kind=kind)
    dt = dv / 4096
    neuron = chip_neuron(profile, net, v_scale=v_scale, dt=dt)
    vals, probs = noise_pmf(kind, profile.noise["mant_bits"], profile.noise["terms"], exp)
    mean = float(np.dot(vals, probs))
    var = float(np.dot((vals - mean) ** 2, probs))
    a = var / (2 * dt * v_scale**2)
    I0 = 1.0 + (bias + mean) / (v_scale * dt)
    float_rate = stationary_rates(0.0, a=a, V_F=2.0 - I0, V_R=1.0 - I0)[0]
    # the same float model monitored at tick ends: threshold shifted by 0.5826 sqrt(2 a dt)
    # (Broadie-Glasserman; notes/multiscale.md 1), isolating the time step's share
    shift = 0.5826 * math.sqrt(2 * a * dt)
    float_dt = stationary_rates(0.0, a=a, V_F=2.0 + shift - I0, V_R=1.0 - I0)[0]
    return net, neuron, float_rate, float_dt


def _measure(profile, net, dt, seed, T=40.0, burn=4.0):
    """Emulator rate (per time constant) and its standard error over independent neurons."""
    ticks, b = int(T / dt), int(burn / dt)
    res = simulate(profile, net, ticks=ticks + b, seeds=(seed,))
    counts = np.zeros(net.n)
    m = res.spike_tick > b
    np.add.at(counts, res.spike_neuron[m], res.spike_count[m])
    return counts.mean() / ticks / dt, counts.std(ddof=1) / math.sqrt(net.n) / ticks / dt


G10 = ("generic", {"state_bits": 10, "noise.terms": 16})
G10F = ("generic", {"state_bits": 10, "rounding": "floor", "noise.terms": 16})
G8S = ("generic", {"state_bits": 8, "rounding": "stochastic", "noise.terms": 25})
G8 = ("generic", {"state_bits": 8, "noise.terms": 25})
L1 = ("loihi1", {})

# (label, profile, v_scale, dv, noise exp, noise kind, bias,
#  float off by > 10 %, float@dt off by > 10 % (quantisation, not the time step))
CASES = [
    ("generic 10-bit toward_zero", G10, 64, 82, 1, "binomial", 0, True, True),
    ("generic 10-bit toward_zero", G10, 64, 82, 1, "binomial", 2, True, True),
    ("generic 10-bit floor", G10F, 64, 82, 1, "binomial", 0, True, True),
    ("generic 8-bit stochastic", G8S, 32, 205, 1, "binomial", 0, True, False),
    ("loihi1 v_scale 512", L1, 512, 41, 0, "uniform", 0, True, False),
]
SLOW_CASES = [
    ("generic 10-bit toward_zero", G10, 64, 82, 1, "binomial", 5, True, False),
    ("generic 10-bit toward_zero", G10, 64, 82, 1, "binomial", -2, False, False),
    ("generic 10-bit floor", G10F, 64, 82, 1, "binomial", 5, True, False),
    ("generic 8-bit stochastic", G8S, 32, 205, 1, "binomial", -2, True, False),
    ("generic 8-bit stochastic", G8S, 32, 205, 1, "binomial", 5, True, False),
    ("generic 8-bit toward_zero", G8, 32, 205, 1, "binomial", 0, True, False),
    ("generic 8-bit toward_zero", G8, 32, 205, 1, "binomial", 2, True, False),
    ("loihi1 v_scale 512", L1, 512, 41, 0, "uniform", 2, False, False),
    ("loihi1 v_scale 512", L1, 512, 41, 0, "uniform", 5, False, False),
]


def _run_cases(cases):
    rows, failures = [], []
    for k, (label, (pname, over), v_scale, dv, exp, kind, bias, off, q_off) in \
            enumerate(cases):
        prof = load_profile(pname, **over)
        net, neuron, float_rate, float_dt = _case(prof, v_scale, dv, bias, kind, exp)
        pred = predict(neuron)
        assert pred.method == "chain" and pred.exact
        meas, se = _measure(prof, net, neuron.dt, seed=100 + k)
        rows.append((f"{label}, bias {bias}", float_rate, float_dt, pred.rate, meas, se))
        if abs(pred.rate - meas) > 4 * se + 1e-12:
            failures.append(f"{label} bias {bias}: chain {pred.rate:.5g} vs measured "
                            f"{meas:.5g} +- {se:.2g}")
        if off and not (abs(float_rate - meas) > max(0.1 * meas, 4 * se)):
            failures.append(f"{label} bias {bias}: float {float_rate:.5g} is not off "
                            f"the measured {meas:.5g}")
        if q_off and not (abs(float_dt - meas) > max(0.1 * meas, 4 * se)):
            failures.append(f"{label} bias {bias}: float@dt {float_dt:.5g} is not off "
                            f"the measured {meas:.5g}")
    print("\ncase                               float  float@dt  chain (pred)  emulator +- s.e."
          "   float err  float@dt err")
    for label, fl, fd, pr, me, se in rows:
        print(f"{label:32s} {fl:8.4f} {fd:8.4f} {pr:12.4f} {me:10.4f} +- {se:.4f} "
              f"{(fl - me) / me:+9.1%} {(fd - me) / me:+9.1%}")
    assert not failures, "\n".join(failures)


def test_chain_matches_emulator():
    """Chain prediction == emulator's measured rate (2000 neurons x 40 time constants).

    The s.e. is that of the mean over independent neurons (|chain - emulator| < 4 s.e.).
    The float rate (the registers' linear model, continuous time) is off by more than
    10 % in every case; in the 10-bit cases it stays off after the time step's share is
    removed (float@dt: threshold shifted by 0.5826 sqrt(2 a dt)), so the rounding of the
    decay, not the time step, is the cause there.
    """
    _run_cases(CASES)


@pytest.mark.slow
def test_chain_matches_emulator_more_inputs():
    """More inputs (below and above threshold) and the 8-bit toward-zero variant."""
    _run_cases(SLOW_CASES)


def test_coupled_chain_matches_emulator():
    """Mean-field coupling: all-to-all weight w on P = 64 neurons (charge w per spike, the
    current decays fully), r = chain(r) vs the emulator's population rate over 64 runs."""
    prof = load_profile("generic", state_bits=10, **{"noise.terms": 16})
    P = 64
    proj = Projection("neurons", "all_to_all", 1, (0, P), (0, P))
    params = {"dv": 82, "vth": 64, "bias_mant": 0, "noise_exp": 1, "du": 4095}
    net = Network(n=P, params=params, projections=(proj,), noise=True, noise_kind="binomial")
    dt = 82 / 4096
    neuron = chip_neuron(prof, net, v_scale=64, dt=dt)
    assert neuron.u_factor == 0.0 and neuron.charge == 1.0
    pred = predict(neuron)
    assert pred.method == "chain" and pred.exact and pred.rates.size == 1
    seeds = tuple(range(1, 65))
    ticks, burn = 2000, 200
    res = simulate(prof, net, ticks=ticks + burn, seeds=seeds)
    per_run = res.rate[:, burn:].sum(axis=1) / P / ticks / dt
    meas, se = per_run.mean(), per_run.std(ddof=1) / math.sqrt(len(seeds))
    uncoupled = predict(chip_neuron(prof, dataclasses.replace(net, projections=()),
                                    v_scale=64, dt=dt)).rate
    print(f"\ncoupled chain {pred.rate:.4f}, emulator {meas:.4f} +- {se:.4f}, "
          f"uncoupled chain {uncoupled:.4f}")
    assert abs(pred.rate - meas) < 4 * se
    assert pred.rate - uncoupled > 10 * se


def test_chain_with_refractory_and_reset_to_value():
    """Refractory hold and reset to a value: chain vs emulator."""
    prof = load_profile("generic", state_bits=10, reset="to_value", **{"noise.terms": 16})
    net = Network(n=2000, params={"dv": 82, "vth": 64, "bias_mant": 1, "noise_exp": 1,
                                  "refractory": 5, "v_reset": -10}, noise=True,
                  noise_kind="binomial")
    neuron = chip_neuron(prof, net, v_scale=64, dt=82 / 4096)
    pred = markov_rate(neuron)
    meas, se = _measure(prof, net, neuron.dt, seed=3)
    assert abs(pred.rate - meas) < 4 * se
    assert pred.p_ref == pytest.approx(5 * pred.rate_per_tick, rel=1e-9)


def test_xylo_orbit_matches_emulator():
    """A noise-free Xylo neuron: the exact orbit's rate equals the emulator's spike count."""
    prof = load_profile("xylo")
    rows = []
    for dash, th, bias in ((4, 100, 8), (3, 1000, 140), (6, 200, 5)):
        net = Network(n=1, params={"dash_mem": dash, "threshold": th, "bias": bias})
        neuron = chip_neuron(prof, net, v_scale=th, dt=2.0 ** -dash)
        pred = markov_rate(neuron)
        assert pred.method == "orbit"
        ticks = 50_000
        res = simulate(prof, net, ticks=ticks, seeds=(0,))
        count = int(res.spike_count.sum())
        # the orbit from v = 0 is periodic from its first tick: at most one cycle's
        # spikes of difference over the window
        period = 1.0 / pred.rate_per_tick if pred.rate_per_tick else math.inf
        assert abs(count - pred.rate_per_tick * ticks) <= 2 + pred.rate_per_tick * 2
        # float: the represented linear model, dv/dtick = -(v - bias 2^dash) / 2^dash
        mu = bias * 2 ** dash
        fl = 1.0 / lif_period(mu, tau=2 ** dash, V_F=th, V_R=0) if mu > th else 0.0
        rows.append((dash, th, bias, fl, pred.rate_per_tick, count / ticks, period))
    print("\nxylo dash th bias   float/tick   orbit/tick   emulator/tick")
    for dash, th, bias, fl, pr, me, _ in rows:
        print(f"     {dash:4d} {th:4d} {bias:4d} {fl:12.5f} {pr:12.5f} {me:12.5f}")


# ---------------------------------------------------------------------------------
# drift table, diffusion, moment activation

@pytest.mark.parametrize("rounding", ["toward_zero", "floor", "half_up"])
def test_quantised_drift_dead_zone(rounding):
    """Where the multiplicative decay x (4096 - dv) / 4096 leaves x unchanged, by rounding.

    Truncating the *product* toward zero (Loihi) over-decays: the step is at least
    1 LSB for every v != 0, so there is no dead zone.  Floor has one for negative v
    (|v| dv < 4096), half-up one for |v| dv < 2048 (and v = -|v| with |v| dv = 2048).
    """
    prof = load_profile("generic", state_bits=16, rounding=rounding)
    net = Network(n=1, params={"dv": 41, "vth": 1000})
    neuron = chip_neuron(prof, net, v_scale=1000, dt=0.01)
    v = np.arange(-500, 501)
    tab = quantised_drift(neuron, v)
    if rounding == "toward_zero":
        expected = np.zeros(v.size, dtype=bool)
        step = v - (np.sign(v) * (np.abs(v) * 4055 // 4096))
        assert (np.abs(step[v != 0]) >= 1).all()
    elif rounding == "floor":
        expected = (v < 0) & (-v * 41 < 4096)
    else:
        expected = (v != 0) & ((np.abs(v) * 41 < 2048) | ((v < 0) & (-v * 41 == 2048)))
    np.testing.assert_array_equal(tab.dead, expected)
    # the represented linear drift (no rounding) and the exact one differ by <= 1 LSB/tick
    assert np.max(np.abs(tab.f_q - tab.f_lin)) * neuron.v_scale * neuron.dt <= 1.0 + 1e-9


def test_diffusion_fallback_fine_lattice():
    """On a fine lattice the diffusion with the quantised drift equals the linear analytic
    rate of the represented model with the discrete-monitoring threshold shift."""
    prof = load_profile("loihi1")
    net = Network(n=100, params={"dv": 41, "vth": 4096, "bias_mant": 0, "noise_exp": 7},
                  noise=True, noise_kind="uniform")
    neuron = chip_neuron(prof, net, v_scale=4096 * 64, dt=41 / 4096)
    d = diffusion_rate(neuron)
    I0 = 1.0 + neuron.noise_mean / (neuron.v_scale * neuron.dt)
    expected = stationary_rates(0.0, a=d.a, V_F=d.V_F - I0, V_R=1.0 - I0)[0]
    assert d.rates[0] == pytest.approx(expected, rel=2e-3)


def test_moment_units_match_quadrature():
    """moment_prediction's unit mapping: equals the stationary rate of dV' = (-L V' + mean) dt
    + std dW (quadrature, a = std^2/2), with V_th = th/v_scale, V_res = 0."""
    prof = load_profile("loihi1")
    net = Network(n=10, params={"dv": 82, "vth": 64, "bias_mant": 900, "noise_exp": 4},
                  noise=True, noise_kind="uniform")
    neuron = chip_neuron(prof, net, v_scale=4096, dt=0.02)
    out = moment_prediction(neuron)
    L = 82 / 4096 / 0.02
    mean = (900 + neuron.noise_mean) / (4096 * 0.02)
    a = neuron.noise_var / 0.02 / 4096**2 / 2
    th = (64 << 6) + 1          # compare '>' on integers: v >= th + 1
    expected = stationary_rate_general(lambda V: -L * V + mean, a, th / 4096, 0.0)
    assert float(out.mean) == pytest.approx(expected, rel=1e-6)
