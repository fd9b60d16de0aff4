"""Tests of reference.analytic against the notes' tables, closed forms and quadrature."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from reference.analytic import (
    blowup_b_min,
    blowup_guaranteed,
    event_driven_network,
    firing_integral,
    fold_point,
    lif_period,
    lif_spike_time,
    lif_spike_train,
    stationary_density,
    stationary_rates,
)
from reference.errors import InputError

# notes/multiscale.md section 5 (a = 1, V_F = 2, V_R = 1)
TABLE = {
    -1.0: [0.1002021943],
    0.0: [0.1199759652],
    0.5: [0.1347750799],
    1.0: [0.1562070061],
    1.5: [0.1923640126, 2.2891257077],
    2.0: [0.2925828515, 0.6894338392],
    2.5: [],
    3.0: [],
}


def I_form_ii(N, b, a=1.0, V_F=2.0, V_R=1.0):
    """Form (ii) of the notes: int_0^inf e^{-s^2/2 + s w_F} (1 - e^{-s (w_F - w_R)}) / s ds."""
    wF = (V_F - b * N) / math.sqrt(a)
    wR = (V_R - b * N) / math.sqrt(a)
    f = lambda s: math.exp(-0.5 * s * s + s * wF) * -math.expm1(-s * (wF - wR)) / s  # noqa
    return quad(f, 0, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize("b", sorted(TABLE))
def test_stationary_rates_table(b):
    roots = stationary_rates(b)
    assert len(roots) == len(TABLE[b])
    np.testing.assert_allclose(roots, TABLE[b], atol=1e-8, rtol=0)
    for N in roots:  # independently: N I(N) = 1 with form (ii)
        assert N * I_form_ii(N, b) == pytest.approx(1.0, abs=1e-11)


@pytest.mark.parametrize("b,expected", [(0.0, 0.1199800037), (0.5, 0.1347789608),
                                        (1.5, 0.1923674526)])
def test_truncated_domain(b, expected):
    roots = stationary_rates(b, V_min=-4.0)
    assert roots[0] == pytest.approx(expected, abs=1e-8)
    # the truncated density integrates to 1 on [V_min, V_F]
    mass = quad(lambda v: stationary_density(v, roots[0], b, V_min=-4.0), -4.0, 2.0,
                points=[1.0], epsabs=0, epsrel=1e-12)[0]
    assert mass == pytest.approx(1.0, abs=1e-10)


def test_fold_point():
    fp = fold_point()
    assert fp.b == pytest.approx(2.10097, abs=5e-6)
    assert fp.N == pytest.approx(0.4242, abs=5e-5)
    assert len(stationary_rates(fp.b - 1e-4)) == 2
    assert len(stationary_rates(fp.b + 1e-4)) == 0


def test_large_N_limit_and_rate_dependent_noise():
    for b in (0.7, 1.5, 3.0):
        N = 1e7
        assert N * firing_integral(N, b) == pytest.approx(1.0 / b, rel=1e-5)
    # a = a0 + a1 N: check the roots with form (ii) evaluated at a(N)
    for b, a0, a1 in [(0.5, 0.5, 0.3), (1.5, 1.0, 0.2), (-1.0, 0.8, 1.0)]:
        roots = stationary_rates(b, a=a0, a1=a1)
        assert len(roots) >= 1
        for N in roots:
            assert N * I_form_ii(N, b, a=a0 + a1 * N) == pytest.approx(1.0, abs=1e-10)


def test_near_fold_roots_are_not_missed():
    roots = stationary_rates(2.1009)
    assert len(roots) == 2 and roots[1] - roots[0] < 0.05


@pytest.mark.parametrize("b,branch", [(0.5, 0), (1.5, 0), (1.5, 1), (-1.0, 0)])
def test_stationary_density(b, branch):
    N = stationary_rates(b)[branch]
    p = lambda v: stationary_density(v, N, b)  # noqa: E731
    mass = quad(p, -np.inf, 2.0, points=None, epsabs=0, epsrel=1e-12, limit=200)[0]
    assert mass == pytest.approx(1.0, abs=1e-10)
    assert p(2.0) == pytest.approx(0.0, abs=1e-14) and p(2.5) == 0.0
    d = 1e-6
    flux = -(p(2.0) - p(2.0 - d)) / d  # -a p'(V_F), a = 1
    assert flux == pytest.approx(N, rel=1e-5)
    # the defining double integral at a few points
    for v in (-1.0, 0.5, 1.0, 1.7):
        inner = quad(lambda w: math.exp((w - b * N) ** 2 / 2), max(v, 1.0), 2.0)[0]
        assert p(v) == pytest.approx(N * math.exp(-(v - b * N) ** 2 / 2) * inner, rel=1e-10)


BLOWUP = [(1.5, 0.005, 1.3453), (1.5, 0.05, 1.2369), (1.8, 0.005, 0.5084), (0.0, 0.25, 16.58)]


@pytest.mark.parametrize("v0,s2,expected", BLOWUP)
def test_blowup_table(v0, s2, expected):
    b_min = blowup_b_min(v0, s2)
    digits = len(str(expected).split(".")[1])
    assert round(b_min, digits) == expected
    # independent: scan e^{2 mu} / (mu M_mu) with M_mu by Gauss-Legendre quadrature of the
    # truncated Gaussian density (vectorised over mu)
    s = math.sqrt(s2)
    Z = norm.cdf((2.0 - v0) / s)
    x, w = np.polynomial.legendre.leggauss(600)
    lo, hi = max(v0 - 12 * s, -40.0), 2.0
    v = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    pdf = np.exp(-0.5 * ((v - v0) / s) ** 2) / (s * math.sqrt(2 * math.pi)) / Z
    mus = np.linspace(2.0 + 1e-9, 12.0, 4001)
    M = (np.exp(mus[:, None] * (v[None, :] - 2.0)) * pdf * w).sum(axis=1) * 0.5 * (hi - lo)
    brute = float(np.min(1.0 / (mus * M)))
    assert b_min <= brute * (1 + 1e-9) and b_min == pytest.approx(brute, rel=2e-4)
    assert blowup_guaranteed(expected * 1.001, v0, s2)
    assert not blowup_guaranteed(expected * 0.99, v0, s2)


def test_blowup_minimiser():
    b_min, mu = blowup_b_min(1.5, 0.005, return_mu=True)
    assert mu == pytest.approx(2.04, abs=0.01)


def test_deterministic_lif():
    assert lif_period(2.5) == pytest.approx(math.log(3.0), rel=1e-15)
    t = lif_spike_time(1.3, 2.5, tau=2.0)
    assert 2.5 + (1.3 - 2.5) * math.exp(-t / 2.0) == pytest.approx(2.0, rel=1e-15)
    assert lif_spike_time(1.0, 1.9) == math.inf
    train = lif_spike_train(2.5, 10.0, V0=1.5)
    expected = math.log(2.0) + math.log(3.0) * np.arange(9)
    np.testing.assert_allclose(train, expected, rtol=0, atol=1e-14)


def test_event_driven_b0_equals_single_neurons():
    rng = np.random.default_rng(1)
    V0 = rng.uniform(-1.0, 1.99, 50)
    res = event_driven_network(V0, 2.5, 0.0, 60.0, tau=1.3)
    for i in range(V0.size):
        expected = lif_spike_train(2.5, 60.0, V0=V0[i], tau=1.3)
        got = res.times[res.ids == i]
        assert len(got) == len(expected)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_event_driven_two_neuron_cascade_by_hand():
    # P = 2, b = 0.4 (kick 0.2), mu = 2.5, tau = 1: neuron 0 fires at ln 2; neuron 1 is then
    # at 2.5 - 1.15/2 = 1.925, kicked to 2.125 >= 2: it fires in the same cascade.
    res = event_driven_network([1.5, 1.35], 2.5, 0.4, 3.5)
    T = math.log(3.0)
    expected = np.repeat(math.log(2.0) + T * np.arange(3), 2)
    np.testing.assert_allclose(res.times, expected, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(res.ids, [0, 1] * 3)


def test_event_driven_kick_without_cascade_by_hand():
    # neuron 1 starts at 1.0: at t0 = ln 2 it is at 1.75, kicked to 1.95 (no cascade);
    # it fires at t1 = t0 + ln((2.5 - 1.95)/0.5) and kicks neuron 0 (reset at t0) to
    # V = 2.5 - 1.5 e^{-(t1 - t0)} + 0.2, which fires at t1 + ln((2.5 - V)/0.5).
    res = event_driven_network([1.5, 1.0], 2.5, 0.4, 1.7)
    t0 = math.log(2.0)
    t1 = t0 + math.log(0.55 / 0.5)
    V = 2.5 - 1.5 * math.exp(-(t1 - t0)) + 0.2
    t2 = t1 + math.log((2.5 - V) / 0.5)
    np.testing.assert_allclose(res.times[:3], [t0, t1, t2], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(res.ids[:3], [0, 1, 0])
    # at t2 neuron 1 (reset at t1) is at 2.5 - 1.5 e^{-(t2 - t1)}; the kick decides the cascade
    V1 = 2.5 - 1.5 * math.exp(-(t2 - t1)) + 0.2
    assert (res.times[3] == t2) == (V1 >= 2.0)


def test_event_driven_cascade_is_smallest_fixed_point():
    rng = np.random.default_rng(3)
    P, b = 400, 1.8
    V0 = rng.uniform(0.0, 1.99, P)
    res = event_driven_network(V0, 2.3, b, 5.0)
    t, counts = np.unique(res.times, return_counts=True)
    assert counts.max() > 1  # cascades happen
    assert len(res.times) == len(res.ids) and np.all(np.diff(res.times) >= 0)
    # every neuron fires at most once per cascade
    for tt in t[:50]:
        ids = res.ids[res.times == tt]
        assert len(ids) == len(set(ids.tolist()))


def test_bad_arguments():
    with pytest.raises(InputError):
        stationary_rates(1.0, a=0.0)
    with pytest.raises(InputError):
        stationary_rates(1.0, V_min=1.5)
    with pytest.raises(InputError):
        event_driven_network([2.5], 3.0, 0.1, 1.0)
    with pytest.raises(InputError):
        blowup_b_min(1.5, 0.0)


def test_plots_write_png(tmp_path):
    from reference.plots_analytic import (
        plot_error_vs_cost,
        plot_moment_maps,
        plot_stationary_rates,
    )

    paths = [
        plot_moment_maps(tmp_path / "moment.png", n=12),
        plot_error_vs_cost(tmp_path / "err.png", T_end=3.0,
                           steps={"euler": [1e-2, 5e-3], "rk2": [0.05, 0.025],
                                  "rk4": [0.2, 0.1], "vs2": [0.1, 0.05], "vs4": [0.2, 0.1]}),
        plot_stationary_rates(tmp_path / "rates.png", b_range=(0.0, 2.5), n=8),
    ]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
