"""Multi-scale switching solver (reference/multiscale.py).

Independent expectations: the macro-only run (its divergence time), a
micro-only run through the same loop (synchronous-event times and sizes, the
reference for N(t)), quadrature of the piecewise-linear density (sampling).

Stated tolerances (blow-up case b = 3, v0 = 1.5, sigma0^2 = 0.005, dt = 1e-4):
* light (default suite, P = 1e4, T = 0.3): the first synchronous event within
  0.003 of micro-only, the second within 0.025 (one period is ~0.23; at this P
  micro-only runs with different seeds differ by ~0.015 there); at most half
  the steps in MICRO.
* heavy (slow, P = 1e5, T = 1): every synchronous event within 0.02 of
  micro-only, the sizes within 1 %, the time-averaged rate within 5 %, and the
  CPU time below 0.6 of the micro-only run (same loop, ``force="micro"``).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import integrate

from reference.errors import InputError
from reference.lif import NLIFModel
from reference.macro import Grid, initial_rate, simulate_macro
from reference.multiscale import (
    MultiscaleOptions,
    deposit_particles,
    sample_particles,
    simulate_multiscale,
)
from reference.result import MODE_MACRO, MODE_MICRO, STATUS_DIVERGED
from reference.scenario import InitSpec

DT_BLOWUP = 1e-4
#: A step is part of a synchronous event when more than this fraction fires in it.
SYNC_FRACTION = 0.1


def blowup_setup():
    model = NLIFModel(b=3.0)
    grid = Grid.for_model(model, -4.0, 0.01)
    p0 = InitSpec("gaussian", 1.5, math.sqrt(0.005)).density(grid.v, model.V_F)
    return model, grid, p0


def events(res, dt):
    """Times and sizes (fraction of the network) of synchronous events (merged steps)."""
    frac = res.N * dt
    idx = np.nonzero(frac > SYNC_FRACTION)[0]
    times, sizes = [], []
    for i in idx:
        if times and i - last <= 2:          # noqa: F821 - a cascade may span 2 steps
            sizes[-1] += frac[i]
        else:
            times.append(res.t[i])
            sizes.append(frac[i])
        last = i                              # noqa: F841
    return np.array(times), np.array(sizes)


def test_blowup_light():
    model, grid, p0 = blowup_setup()
    T, P = 0.3, 10_000
    macro = simulate_macro(model, p0, grid, T, DT_BLOWUP)
    assert macro.status == STATUS_DIVERGED
    t_div = macro.t[-1]
    ms = simulate_multiscale(model, p0, grid, T, DT_BLOWUP, P=P, seed=1)
    micro = simulate_multiscale(model, p0, grid, T, DT_BLOWUP, P=P, seed=2,
                                options=MultiscaleOptions(force="micro"))
    sw = ms.switches
    # hands over to micro before the macro rate diverges ...
    assert sw[0].direction == "macro->micro" and sw[0].reason == "threshold"
    assert sw[0].time < t_div - 10 * DT_BLOWUP
    assert math.isfinite(sw[0].rate_before) and sw[0].rate_before < 2 * ms.extra["options"]["N_up"]
    k_sw = sw[0].step
    assert np.all(ms.mode[:k_sw] == MODE_MACRO) and ms.mode[k_sw] == MODE_MICRO
    np.testing.assert_array_equal(ms.N[:k_sw], macro.N[:k_sw])   # same macro steps before
    # ... the synchronous event happens in MICRO, then it returns to MACRO
    t_ev, size = events(ms, DT_BLOWUP)
    assert len(t_ev) >= 1 and size[0] > 0.9
    k_ev = int(round(t_ev[0] / DT_BLOWUP))
    assert ms.mode[k_ev] == MODE_MICRO and sw[0].time < t_ev[0]
    assert sw[1].direction == "micro->macro" and sw[1].time > t_ev[0]
    assert ms.mode[sw[1].step] == MODE_MACRO
    for s in sw:
        assert s.direction in ("macro->micro", "micro->macro") and 0 <= s.time <= T
    # N(t) against micro-only: event times and sizes
    t_mi, size_mi = events(micro, DT_BLOWUP)
    assert len(t_ev) == len(t_mi) == 2
    assert abs(t_ev[0] - t_mi[0]) < 0.003
    assert abs(t_ev[1] - t_mi[1]) < 0.025
    np.testing.assert_allclose(size, size_mi, atol=0.02)
    # cost: most steps are macro steps
    assert ms.extra["micro_fraction"] < 0.5


@pytest.mark.slow
def test_blowup_heavy_accuracy_and_cost():
    model, grid, p0 = blowup_setup()
    T, P = 1.0, 100_000
    # cost = CPU time of this process (the solvers are single-threaded; wall time
    # on a shared machine measures the neighbours)
    t0 = time.process_time()
    ms = simulate_multiscale(model, p0, grid, T, DT_BLOWUP, P=P, seed=1)
    t_ms = time.process_time() - t0
    t0 = time.process_time()
    micro = simulate_multiscale(model, p0, grid, T, DT_BLOWUP, P=P, seed=2,
                                options=MultiscaleOptions(force="micro"))
    t_mi = time.process_time() - t0
    t_ev, size = events(ms, DT_BLOWUP)
    t_ref, size_ref = events(micro, DT_BLOWUP)
    print(f"\nevents multiscale {t_ev}, micro {t_ref}; cpu {t_ms:.1f}s vs {t_mi:.1f}s")
    assert len(t_ev) == len(t_ref) >= 4
    assert np.max(np.abs(t_ev - t_ref)) < 0.02      # measured: 0.009 (seeds 1, 2)
    np.testing.assert_allclose(size, size_ref, atol=0.01)
    assert ms.rate_mean(1.0) == pytest.approx(micro.rate_mean(1.0), rel=0.05)
    assert t_ms < 0.6 * t_mi


def test_steady_state_stays_macro():
    model = NLIFModel(b=0.5)
    grid = Grid.for_model(model, -4.0, 0.02)
    p0 = InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0)
    ms = simulate_multiscale(model, p0, grid, 3.0, 1e-2, P=1000)
    mac = simulate_macro(model, p0, grid, 3.0, 1e-2)
    assert ms.switches == () and np.all(ms.mode == MODE_MACRO)
    np.testing.assert_array_equal(ms.N, mac.N)
    assert ms.mass_error < 1e-12


def piecewise_cdf(p, grid, x):
    """CDF of the piecewise-linear interpolant of p at x (trapezoid rule: exact here)."""
    def upto(y):
        pts = np.append(grid.v[grid.v < y], y)
        return np.trapezoid(np.interp(pts, grid.v, p), pts)
    return upto(x) / upto(grid.V_F)


def piecewise_mean(p, grid):
    """Mean of the piecewise-linear density (Simpson per cell: exact for v * linear)."""
    pts = grid.V_min + 0.5 * grid.h * np.arange(2 * grid.J + 1)
    f = np.interp(pts, grid.v, p)
    return integrate.simpson(pts * f, x=pts) / integrate.simpson(f, x=pts)


def test_quantile_sampling_is_exact():
    model = NLIFModel()
    grid = Grid.for_model(model, -4.0, 0.05)
    p = InitSpec("gaussian", 0.8, 0.4).density(grid.v, 2.0)
    P = 1000
    V, ref = sample_particles(p, grid, P, np.random.default_rng(0))
    assert np.all(ref == 0) and np.all(V < 2.0)
    Vs = np.sort(V)
    for i in (0, 10, 250, 500, 900, 999):
        assert piecewise_cdf(p, grid, Vs[i]) == pytest.approx((i + 0.5) / P, abs=1e-8)
    assert not np.all(np.diff(V) > 0)         # shuffled


def test_quantile_beats_iid():
    model = NLIFModel()
    grid = Grid.for_model(model, -4.0, 0.01)
    p = InitSpec("gaussian", 0.5, 0.5).density(grid.v, 2.0)
    mean = piecewise_mean(p, grid)
    P = 10_000
    Vq, _ = sample_particles(p, grid, P, np.random.default_rng(0), "quantile")
    assert abs(Vq.mean() - mean) < 1e-4              # O(1/P)
    errs = [abs(sample_particles(p, grid, P, np.random.default_rng(s), "iid")[0].mean() - mean)
            for s in range(5)]
    assert np.mean(errs) > 5 * abs(Vq.mean() - mean)  # iid: O(P^-1/2) ~ 4e-3


@pytest.mark.parametrize("method", ["cic", "histogram"])
def test_deposit_roundtrip(method):
    model = NLIFModel()
    grid = Grid.for_model(model, -4.0, 0.02)
    p = InitSpec("gaussian", 0.5, 0.5).density(grid.v, 2.0)
    V, _ = sample_particles(p, grid, 200_000, np.random.default_rng(0))
    q, R = deposit_particles(V, grid, method)
    assert R == 0 and q[-1] == 0 and grid.mass(q) == pytest.approx(1.0, abs=1e-12)
    l1 = grid.h * np.abs(q - p).sum()
    assert l1 < {"cic": 5e-3, "histogram": 2e-2}[method]


def test_refractory_conversion():
    model = NLIFModel(tau_ref=0.2)
    grid = Grid.for_model(model, -4.0, 0.02)
    p = InitSpec("gaussian", 0.5, 0.5).density(grid.v, 2.0) * 0.7
    V, ref = sample_particles(p, grid, 1000, np.random.default_rng(0), R=0.3, tau_ref=0.2)
    assert np.sum(ref > 0) == 300 and np.all(V[ref > 0] == 1.0) and ref.max() < 0.2
    q, R = deposit_particles(V, grid, ref_left=ref)
    assert R == pytest.approx(0.3) and grid.mass(q) == pytest.approx(0.7, abs=1e-12)


def test_deposit_rate_is_close_to_density_rate():
    # after a micro->macro switch the flux rate of the deposit should be the density's
    model = NLIFModel(b=0.5)
    grid = Grid.for_model(model, -4.0, 0.02)
    p = simulate_macro(model, InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0), grid,
                       10.0, 0.02).snapshot_p[-1]
    V, _ = sample_particles(p, grid, 1_000_000, np.random.default_rng(0))
    q, _ = deposit_particles(V, grid)
    assert initial_rate(q, model, grid, N_guess=0.13) == pytest.approx(
        initial_rate(p, model, grid, N_guess=0.13), rel=0.05)


def test_options_validation():
    with pytest.raises(InputError, match="hysteresis"):
        MultiscaleOptions(N_up=1.0, N_down=2.0)
    with pytest.raises(InputError):
        MultiscaleOptions(sampling="sobol")
    with pytest.raises(InputError):
        MultiscaleOptions(window=math.nan)
    model, grid, p0 = blowup_setup()
    with pytest.raises(InputError):
        simulate_multiscale(model, p0, grid, 0.1, 1e-3, P=0)


def test_forced_macro_reports_divergence():
    model, grid, p0 = blowup_setup()
    res = simulate_multiscale(model, p0, grid, 0.1, DT_BLOWUP, P=100,
                              options=MultiscaleOptions(force="macro"))
    assert res.status == STATUS_DIVERGED and res.switches == ()
    assert res.n_steps == simulate_macro(model, p0, grid, 0.1, DT_BLOWUP).n_steps
