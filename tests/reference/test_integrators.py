"""Tests of reference.integrators: exact references and measured convergence orders."""

import math

import numpy as np
import pytest

from reference.errors import InputError
from reference.integrators import (
    METHODS,
    convergence_order,
    error_vs_cost,
    euler,
    exact_spike_times,
    rk4,
    vs2,
)
from reference.lif import InputCurrent

PERIODIC = InputCurrent("periodic", I0=2.5, I1=0.6, period=2.3)
CONSTANT = InputCurrent("constant", I0=2.5)
T_END, V0 = 8.0, 1.2

# step ranges chosen so that every error stays well above the ~1e-14 reference error
STEPS = {
    "euler": np.geomspace(1e-2, 1e-4, 5),
    "rk2": np.geomspace(5e-2, 2e-3, 5),
    "rk4": np.geomspace(0.2, 0.0125, 5),
    "vs2": np.geomspace(0.1, 0.004, 5),
}
NOMINAL = {"euler": 1.0, "rk2": 2.0, "rk4": 4.0, "vs2": 2.0}


def test_exact_periodic_matches_solve_ivp():
    closed = exact_spike_times(PERIODIC, T_END, V0=V0)
    generic = exact_spike_times(lambda t: PERIODIC(t), T_END, V0=V0)  # DOP853 + events
    assert len(closed) == len(generic) >= 5
    np.testing.assert_allclose(closed, generic, rtol=0, atol=1e-9)


def test_exact_constant_is_the_closed_form():
    t = exact_spike_times(CONSTANT, 10.0, V0=1.5)
    np.testing.assert_allclose(t, math.log(2.0) + math.log(3.0) * np.arange(len(t)), atol=1e-14)
    assert len(t) == 9


@pytest.mark.parametrize("method", sorted(NOMINAL))
def test_convergence_order(method):
    pts = error_vs_cost(method, PERIODIC, STEPS[method], T_END, V0=V0)
    assert all(p.n_missing == 0 for p in pts)
    order = convergence_order(pts)
    assert abs(order - NOMINAL[method]) < 0.3, (method, order)


def test_vs4_is_at_least_fourth_order():
    pts = error_vs_cost("vs4", PERIODIC, [0.2, 0.1, 0.05], T_END, V0=V0)
    assert convergence_order(pts) > 3.7
    assert pts[-1].max_error < 1e-10


def test_vs2_is_exact_for_constant_input():
    # the LIF right-hand side is linear in V: voltage stepping has no error for constant I
    t = vs2(CONSTANT, 10.0, 0.05, V0=1.5).times
    np.testing.assert_allclose(t, exact_spike_times(CONSTANT, 10.0, V0=1.5), rtol=0, atol=1e-12)


def test_evaluation_counts():
    assert euler(CONSTANT, 1.0, 0.01).n_evals == 100
    res = rk4(PERIODIC, 1.0, 0.01, V0=V0)
    # 1 initial slope + 4 per step (first stage reused) + 5 per restart (new first stage,
    # 3 stages, new end slope)
    assert res.n_evals == 1 + 4 * 100 + 5 * len(res.times)


def test_bad_arguments():
    with pytest.raises(InputError):
        error_vs_cost("rk7", PERIODIC, [0.1], 1.0)
    with pytest.raises(InputError):
        euler(PERIODIC, 1.0, -0.1)
    with pytest.raises(InputError):
        METHODS["rk2"](PERIODIC, 1.0, 0.1, V0=2.5)
