"""Fokker-Planck solver (reference/macro.py).

Expected values come from the analytic stationary rates of
notes/multiscale.md section 5 (truncated domain V_min = -4), from a quadrature
computed here, and from the dense-matrix twin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special

from reference.errors import InputError
from reference.lif import InputCurrent, NLIFModel
from reference.macro import (
    Grid,
    MacroState,
    _bernoulli,
    _current,
    _pack_input,
    initial_rate,
    macro_step,
    macro_step_dense,
    simulate_macro,
)
from reference.result import STATUS_DIVERGED, STATUS_OK
from reference.scenario import InitSpec

#: notes/multiscale.md section 5, truncated domain [-4, 2], a = 1, V_F = 2, V_R = 1.
N_TRUNC = {0.0: 0.1199800037, 0.5: 0.1347789608}


def stationary_rate_quad(b, a=1.0, V_F=2.0, V_R=1.0, V_min=-4.0, tau=0.0):
    """Stationary rate on [V_min, V_F] by quadrature: N (I(bN) + tau) = 1.

    I = (1/a) int_{V_R}^{V_F} e^{(w-V0)^2/(2a)} int_{V_min}^{w} e^{-(v-V0)^2/(2a)} dv dw,
    V0 = bN; the inner integral is a difference of normal CDFs.
    """
    def integral(N):
        V0, s = b * N, math.sqrt(a)

        def f(w):
            inner = math.sqrt(2 * math.pi * a) * (special.ndtr((w - V0) / s)
                                                  - special.ndtr((V_min - V0) / s))
            return math.exp((w - V0) ** 2 / (2 * a)) * inner / a
        return integrate.quad(f, V_R, V_F, epsabs=0, epsrel=1e-13)[0]

    return optimize.brentq(lambda N: N * (integral(N) + tau) - 1.0, 1e-3, 0.3, xtol=1e-15)


def stationary(model, h, T=20.0, dt=0.01, V_min=-4.0):
    grid = Grid.for_model(model, V_min, h)
    p0 = InitSpec("gaussian", 0.0, 0.5).density(grid.v, model.V_F)
    return simulate_macro(model, p0, grid, T, dt)


def test_quadrature_matches_notes():
    for b, N in N_TRUNC.items():
        assert stationary_rate_quad(b) == pytest.approx(N, rel=1e-9)


@pytest.mark.parametrize("b", [0.0, 0.5])
def test_stationary_rate(b):
    res = stationary(NLIFModel(b=b), h=0.01)
    assert res.status == STATUS_OK
    assert res.N[-1] == pytest.approx(N_TRUNC[b], rel=1e-4)
    assert res.N[-1] == pytest.approx(stationary_rate_quad(b), rel=1e-4)
    # and the untruncated value of the notes is within the domain-truncation error
    assert res.N[-1] == pytest.approx({0.0: 0.1199759652, 0.5: 0.1347750799}[b], rel=1e-4)


def test_stationary_rate_refractory():
    tau = 0.5   # dR/dt = N - R/tau: stationary R = N tau, so N (I + tau) = 1
    res = stationary(NLIFModel(b=0.0, tau_ref=tau), h=0.01)
    assert res.N[-1] == pytest.approx(stationary_rate_quad(0.0, tau=tau), rel=1e-4)
    assert res.mass_error < 1e-12


def test_second_order_in_h():
    b = 0.5
    hs = (0.04, 0.02, 0.01)
    N = [stationary(NLIFModel(b=b), h=h, T=15.0, dt=0.02).N[-1] for h in hs]
    order = math.log2((N[0] - N[1]) / (N[1] - N[2]))     # observed order from 3 grids
    assert 1.85 < order < 2.15
    exact = stationary_rate_quad(b)
    errs = [abs(n - exact) for n in N]
    assert all(1.85 < math.log2(e0 / e1) < 2.15 for e0, e1 in zip(errs, errs[1:], strict=False))


def test_mass_and_positivity_long_run():
    model = NLIFModel(b=1.0, a1=0.3, input=InputCurrent("periodic", I0=0.5, I1=1.0, period=0.5))
    grid = Grid.for_model(model, -4.0, 0.005)
    p0 = InitSpec("gaussian", 1.0, 0.2).density(grid.v, model.V_F)
    res = simulate_macro(model, p0, grid, 5.0, 1e-3)
    assert res.status == STATUS_OK and res.n_steps == 5000
    assert res.mass_error < 1e-12
    assert np.all(res.snapshot_p >= 0) and np.all(res.N >= 0)


def test_raw_scheme_is_conservative_per_step():
    # without the round-off projection one step changes the mass by round-off only
    model = NLIFModel(b=0.5)
    grid = Grid.for_model(model, -4.0, 0.01)
    s = MacroState(InitSpec("gaussian", 0.5, 0.4).density(grid.v, 2.0), 0.0, 0.2)
    for k in range(50):
        new = macro_step(s, k * 0.01, 0.01, model, grid, renormalise=False)
        assert abs(grid.mass(new.p) - grid.mass(s.p)) < 1e-13
        assert np.all(new.p >= 0)
        s = new


def test_blowup_diverges_and_stays_positive():
    model = NLIFModel(b=3.0)
    grid = Grid.for_model(model, -4.0, 0.01)
    p0 = InitSpec("gaussian", 1.5, math.sqrt(0.005)).density(grid.v, 2.0)
    res = simulate_macro(model, p0, grid, 0.2, 1e-4, n_snapshots=400)
    assert res.status == STATUS_DIVERGED and "diverged" in res.message
    assert 0.015 < res.t[-1] < 0.05          # notes: N > 100 at t ~ 0.023, then overflow
    assert np.all(res.snapshot_p >= 0) and res.mass_error < 1e-12


def _random_state(rng, grid, tau):
    p = rng.random(grid.J + 1) * np.exp(-rng.random() * (grid.v - 1.0) ** 2)
    p[-1] = 0.0
    R = 0.2 * rng.random() if tau > 0 else 0.0
    return MacroState(p * (1 - R) / grid.mass(p), R, 2.0 * rng.random())


@pytest.mark.parametrize("seed", range(6))
def test_kernel_equals_dense_twin(seed):
    rng = np.random.default_rng(seed)
    tau = [0.0, 0.3][seed % 2]
    kind = ["constant", "step", "periodic"][seed % 3]
    model = NLIFModel(a0=0.3 + 2 * rng.random(), a1=0.5 * rng.random(),
                      b=4 * rng.random() - 2, tau_ref=tau,
                      input=InputCurrent(kind, I0=rng.normal(), I1=2.0, t0=0.0, duration=1.0,
                                         period=0.7))
    grid = Grid.for_model(model, -3.0, [0.1, 0.05, 0.02][seed % 3])
    s = _random_state(rng, grid, tau)
    for renorm in (True, False):
        a = macro_step(s, 0.3, 0.01, model, grid, renormalise=renorm)
        d = macro_step_dense(s, 0.3, 0.01, model, grid, renormalise=renorm)
        np.testing.assert_allclose(a.p, d.p, rtol=1e-11, atol=1e-13 * d.p.max())
        assert a.N == pytest.approx(d.N, rel=1e-11)
        assert a.R == pytest.approx(d.R, rel=1e-11, abs=1e-15)


def test_reset_at_last_interior_node():
    # V_R one cell below V_F: the reinjection entry lands on the diagonal
    model = NLIFModel(V_F=2.0, V_R=1.9, b=0.3)
    grid = Grid.for_model(model, -2.0, 0.1)
    s = _random_state(np.random.default_rng(1), grid, 0.0)
    a = macro_step(s, 0.0, 0.05, model, grid)
    d = macro_step_dense(s, 0.0, 0.05, model, grid)
    np.testing.assert_allclose(a.p, d.p, rtol=1e-11)


def test_bernoulli():
    for z in (-800.0, -30.0, -1.0, -1e-7, 0.0, 1e-9, 1e-6, 2e-6, 0.5, 30.0, 800.0):
        b = _bernoulli(z)
        with np.errstate(over="ignore"):   # expm1(800) = inf, so B = 0
            exact = 1.0 if z == 0 else float(np.float64(z) / np.expm1(np.float64(z)))
        assert b == pytest.approx(exact, rel=1e-12, abs=1e-300)
        y = abs(z)   # B(-y) = B(y) + y, checked where the sum has no cancellation
        assert _bernoulli(-y) == pytest.approx(_bernoulli(y) + y, rel=1e-12, abs=1e-300)


def test_packed_current_equals_input_current():
    for c in (InputCurrent("constant", I0=0.7), InputCurrent("step", I0=0.1, I1=2, t0=0.5,
                                                              duration=0.25),
              InputCurrent("periodic", I0=0.5, I1=1.5, period=0.8, phase=0.3)):
        inp = _pack_input(NLIFModel(input=c))
        for t in np.linspace(0, 2, 41):
            assert _current(inp, t) == pytest.approx(c(t), rel=1e-14, abs=1e-14)


def test_bad_arguments():
    model = NLIFModel()
    with pytest.raises(InputError):
        Grid.for_model(model, -4.0, 0.03)           # V_R not a node
    with pytest.raises(InputError):
        Grid.for_model(model, 1.0, 0.01)            # V_min = V_R
    grid = Grid.for_model(model, -4.0, 0.01)
    p0 = InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0)
    with pytest.raises(InputError):
        simulate_macro(model, p0[:-1], grid, 1.0, 0.01)
    with pytest.raises(InputError):
        simulate_macro(model, -p0, grid, 1.0, 0.01)
    with pytest.raises(InputError):
        simulate_macro(model, p0, grid, 1.0, 0.0)
    with pytest.raises(InputError):
        simulate_macro(model, p0, grid, 0.0, 0.01)


def test_initial_rate_matches_first_flux():
    model = NLIFModel(b=0.0)
    grid = Grid.for_model(model, -4.0, 0.01)
    p = InitSpec("gaussian", 1.5, 0.3).density(grid.v, 2.0)
    # for b = 0, a = 1: N_h = (a/h) B(-z) p_{J-1} with z = h (I - v_{J-1/2}) / a
    z = 0.01 * (0.0 - (2.0 - 0.005))
    assert initial_rate(p, model, grid) == pytest.approx(100 * (-z) / math.expm1(-z) * p[-2],
                                                         rel=1e-13)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a0=st.floats(0.2, 3.0), a1=st.floats(0.0, 0.5), b=st.floats(-2.0, 2.0),
       I0=st.floats(-1.0, 3.0), tau=st.sampled_from([0.0, 0.1, 0.5]),
       h=st.sampled_from([0.02, 0.05, 0.1]), V_min=st.sampled_from([-2.0, -4.0]),
       dt=st.floats(1e-4, 0.05), v0=st.floats(-1.0, 1.9), sigma=st.floats(0.05, 1.0))
def test_mass_and_positivity_random(a0, a1, b, I0, tau, h, V_min, dt, v0, sigma):
    model = NLIFModel(a0=a0, a1=a1, b=b, tau_ref=tau, input=InputCurrent("constant", I0=I0))
    grid = Grid.for_model(model, V_min, h)
    p0 = InitSpec("gaussian", v0, sigma).density(grid.v, model.V_F)
    res = simulate_macro(model, p0, grid, 40 * dt, dt, n_snapshots=41)
    assert res.mass_error < 1e-12
    assert np.all(res.snapshot_p >= 0)
    assert np.all(res.N[np.isfinite(res.N)] >= 0)
