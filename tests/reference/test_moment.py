"""Tests of reference.moment against independent quadrature, closed forms and simulation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erfcx

from reference.errors import InputError
from reference.moment import (
    dawson_g,
    dawson_h,
    integral_g,
    integral_h,
    moment_activation,
    simulate_isi,
)

L, VTH, VRES, TREF = 0.05, 20.0, 0.0, 5.0


# ---------------------------------------------------------------- independent twins
def g_ref(x):
    """g(x) = e^{x^2} int_{-inf}^x e^{-u^2} du, the inner integral in closed form."""
    return 0.5 * math.sqrt(math.pi) * erfcx(-x)


def h_ref(x):
    """h(x) = int_{-inf}^x e^{x^2 - u^2} g(u)^2 du by adaptive quadrature."""
    f = lambda u: math.exp((x - u) * (x + u)) * g_ref(u) ** 2  # noqa: E731
    w = 1.0 / (1.0 + 2.0 * abs(x))
    near = quad(f, x - 40 * w, x, epsabs=0, epsrel=1e-12, limit=200)[0]
    tail = quad(f, -np.inf, x - 40 * w, epsabs=0, epsrel=1e-12, limit=200)[0]
    return near + tail


def moments_ref(mean, std):
    """phi_mu, phi_sigma from the defining integrals (scipy quad)."""
    ub = (VTH * L - mean) / (math.sqrt(L) * std)
    lb = (VRES * L - mean) / (math.sqrt(L) * std)
    Ig = quad(g_ref, lb, ub, epsabs=0, epsrel=1e-12, limit=200)[0]
    Ih = quad(h_ref, lb, ub, epsabs=0, epsrel=1e-11, limit=200)[0]
    rate = 1.0 / (TREF + 2.0 / L * Ig)
    return rate, math.sqrt(8.0 / L ** 2 * rate ** 3 * Ih)


# ---------------------------------------------------------------- g and h
@pytest.mark.parametrize("x", [-40.0, -12.0, -7.3, -7.0, -6.5, -3.0, -1.0, -0.2, 0.0, 0.3, 1.0,
                               2.5, 5.0, 6.9, 7.4, 11.0, 16.0])
def test_h_matches_quadrature(x):
    assert dawson_h(x) == pytest.approx(h_ref(x), rel=2e-12)


def test_g_h_match_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30

    def g_mp(u):
        return mp.sqrt(mp.pi) / 2 * mp.erfc(-u) * mp.exp(u * u)

    for x in [-25.0, -7.01, -2.0, 0.7, 4.0, 9.0]:
        xm = mp.mpf(x)
        h = mp.quad(lambda u: mp.exp(xm * xm - u * u) * g_mp(u) ** 2,  # noqa: B023
                    [-mp.inf, xm - 6, xm - 1, xm - 0.1, xm])
        assert dawson_h(x) == pytest.approx(float(h), rel=1e-12)
        assert dawson_g(x) == pytest.approx(float(g_mp(xm)), rel=1e-14)


def test_g_is_the_defining_integral():
    for x in [-30.0, -3.0, 0.0, 2.0]:
        inner = quad(lambda u: math.exp(x * x - u * u), -np.inf, x, epsabs=0, epsrel=1e-13)[0]  # noqa: B023
        assert dawson_g(x) == pytest.approx(inner, rel=1e-12)


def test_h_ode_and_asymptotics():
    # h' = 2 x h + g^2 (central differences) and h ~ -1/(8 x^3) for x -> -inf
    for x in [-9.0, -3.0, 0.5, 3.0]:
        d = 1e-5 / (1 + abs(x))
        hp = (dawson_h(x + d) - dawson_h(x - d)) / (2 * d)
        assert hp == pytest.approx(2 * x * dawson_h(x) + dawson_g(x) ** 2, rel=1e-7)
    assert dawson_h(-1e5) == pytest.approx(1.0 / 8e15, rel=1e-9)
    assert np.isinf(dawson_h(30.0)) and np.isfinite(dawson_h(18.5))


@pytest.mark.parametrize("a,b", [(-60.0, -50.0), (-9.0, -7.5), (-10.0, -3.0), (-3.0, 1.0),
                                 (-1.0, 3.0), (2.0, 5.0), (6.0, 8.0), (-4.0, -3.6), (15.0, 16.0)])
def test_interval_integrals(a, b):
    assert integral_g(a, b) == pytest.approx(
        quad(g_ref, a, b, epsabs=0, epsrel=1e-13)[0], rel=1e-12)
    assert integral_g(b, a) == pytest.approx(-integral_g(a, b), rel=1e-15)
    if b <= 9:
        assert integral_h(a, b) == pytest.approx(
            quad(h_ref, a, b, epsabs=0, epsrel=1e-12)[0], rel=1e-11)


def test_integral_g_constant_of_the_asymptotic_series():
    # G(x) = int_0^x g = -gamma/4 - ln(2)/2 - ln(-x)/2 - 1/(8 x^2) + ...  (x -> -inf)
    x = -1e4
    expected = np.euler_gamma / 4 + 0.5 * math.log(2) + 0.5 * math.log(-x) + 1 / (8 * x * x)
    assert integral_g(x, 0.0) == pytest.approx(expected, rel=1e-14)


# ---------------------------------------------------------------- moment activation
def _upper_bound(mean, std):
    return (VTH * L - mean) / (math.sqrt(L) * std)


# points where rate**3 underflows in the unscaled quadrature reference (upper bound > 12)
# are left out here; the scaled tests and the Poisson-limit test below cover them
GRID = [(m, s) for m in (-5.0, -2.0, 0.0, 1.0, 2.5, 5.0) for s in (0.2, 1.0, 3.0, 10.0)
        if _upper_bound(m, s) <= 12]


@pytest.mark.parametrize("mean,std", GRID)
def test_moment_activation_matches_quadrature(mean, std):
    rate, sig = moments_ref(mean, std)
    out = moment_activation(mean, std)
    assert out.mean == pytest.approx(rate, rel=1e-9)
    assert out.std == pytest.approx(sig, rel=1e-9)
    assert out.fano == pytest.approx(sig ** 2 / rate, rel=1e-8)


@pytest.mark.parametrize("mean,std", [(-5.0, 0.2), (-2.0, 0.1), (0.0, 0.2), (0.5, 0.3)])
def test_fano_factor_of_rare_escapes_is_poisson(mean, std):
    """Far below threshold the ISIs are exponential: the Fano factor tends to 1 (CV = 1),
    even where the rate itself underflows to 0."""
    out = moment_activation(mean, std)
    assert out.fano == pytest.approx(1.0, abs=2e-3)
    assert np.isfinite(out.std) and out.mean >= 0


@pytest.mark.parametrize("mean,std", [(0.5, 1.0), (1.5, 0.5), (3.0, 4.0)])
def test_chi_is_the_scaled_derivative(mean, std):
    # chi = (d phi_mu / d mean) * std / phi_sigma, derivative by Richardson differences
    def rate(m):
        ub = (VTH * L - m) / (math.sqrt(L) * std)
        lb = (VRES * L - m) / (math.sqrt(L) * std)
        return 1.0 / (TREF + 2.0 / L * quad(g_ref, lb, ub, epsabs=0, epsrel=1e-13)[0])

    d = 1e-3
    d1 = (rate(mean + d) - rate(mean - d)) / (2 * d)
    d2 = (rate(mean + 2 * d) - rate(mean - 2 * d)) / (4 * d)
    deriv = (4 * d1 - d2) / 3
    _, sig = moments_ref(mean, std)
    assert moment_activation(mean, std).chi == pytest.approx(deriv * std / sig, rel=1e-7)


def test_deterministic_limit():
    means = np.array([1.0001, 1.1, 1.5, 3.0, 100.0])
    closed = 1.0 / (TREF + np.log((means - VRES * L) / (means - VTH * L)) / L)
    for std in (0.0, 1e-9, 1e-200):
        out = moment_activation(means, std)
        np.testing.assert_allclose(out.mean, closed, rtol=1e-12)
        assert np.all(out.std <= 1e-6) and np.all(np.isfinite(out.chi))
    # chi is continuous at std = 0
    np.testing.assert_allclose(moment_activation(means, 1e-7).chi, moment_activation(means, 0).chi,
                               rtol=1e-6)
    below = moment_activation(np.array([-3.0, 0.0, 1.0]), 0.0)
    assert np.all(below.mean == 0) and np.all(below.std == 0) and np.all(below.chi == 0)


def test_extremes_are_finite():
    m, s = np.meshgrid([-1e4, -100.0, -5.0, 0.0, 1.0, 5.0, 100.0, 1e4],
                       [0.0, 1e-12, 1e-3, 0.3, 1.0, 10.0, 100.0, 1e6])
    out = moment_activation(m, s)
    for arr in out:
        assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
    assert np.all(out.mean <= 1 / TREF)
    low = moment_activation(-100.0, np.array([1e-3, 1.0, 10.0]))
    assert np.all(low.mean < 1e-300)
    high = moment_activation(100.0, 1.0)
    assert high.mean == pytest.approx(1.0 / (TREF + math.log(100 / 99) / L), rel=1e-3)


def test_scaled_regime_matches_log_quadrature():
    # very low rates (ub up to 40): compare log(rate) with a quadrature of e^{x^2 - ub^2} g
    for mean, std in [(-5.0, 0.8), (-2.0, 0.4), (0.0, 0.25)]:
        ub = (VTH * L - mean) / (math.sqrt(L) * std)
        lb = (VRES * L - mean) / (math.sqrt(L) * std)
        def f(x, ub=ub):
            return 0.5 * math.sqrt(math.pi) * math.exp((x - ub) * (x + ub)) * math.erfc(-x)

        integral = quad(f, max(lb, 0.0), ub, epsabs=0, epsrel=1e-13, points=[ub - 0.1])[0]
        log_rate = -ub ** 2 - math.log(2 / L * integral)
        if log_rate > -700:
            assert math.log(moment_activation(mean, std).mean) == pytest.approx(log_rate,
                                                                               rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(m1=st.floats(-30, 30), dm=st.floats(1e-6, 10), std=st.floats(0.01, 20))
def test_rate_is_monotone_in_the_mean(m1, dm, std):
    r1 = float(moment_activation(m1, std).mean)
    r2 = float(moment_activation(m1 + dm, std).mean)
    assert r2 >= r1 * (1 - 1e-13)


def test_bad_arguments():
    with pytest.raises(InputError):
        moment_activation(1.0, -1.0)
    with pytest.raises(InputError):
        moment_activation(np.nan, 1.0)
    with pytest.raises(InputError):
        moment_activation(1.0, 1.0, L=0.0)
    with pytest.raises(InputError):
        moment_activation(1.0, 1.0, V_res=30.0)


# ---------------------------------------------------------------- simulation twin
def _check_against_simulation(mean, std, n, dt, seed):
    isi = simulate_isi(mean, std, n, dt=dt, seed=seed)
    assert np.all(np.isfinite(isi))
    m, v = isi.mean(), isi.var()
    m4 = np.mean((isi - m) ** 4)
    rate_sim, fano_sim = 1 / m, v / m ** 2
    se_rate = rate_sim * math.sqrt(v / n) / m
    se_fano = math.sqrt((m4 - v ** 2) / n) / m ** 2 + 2 * fano_sim * math.sqrt(v / n) / m
    out = moment_activation(mean, std)
    bias = 0.004  # O(dt) discretisation bias allowance (relative)
    assert abs(out.mean - rate_sim) < 4.5 * se_rate + bias * rate_sim
    assert abs(out.fano - fano_sim) < 4.5 * se_fano + bias * fano_sim


@pytest.mark.parametrize("mean,std", [(1.5, 1.0), (0.8, 2.0), (2.5, 3.0)])
def test_agrees_with_sde_simulation(mean, std):
    _check_against_simulation(mean, std, n=12000, dt=0.05, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("mean,std", [(1.5, 1.0), (0.8, 2.0), (2.5, 3.0), (0.3, 4.0), (4.0, 0.5)])
def test_agrees_with_sde_simulation_slow(mean, std):
    _check_against_simulation(mean, std, n=60000, dt=0.02, seed=5)
