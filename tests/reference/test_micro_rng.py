"""Tests of the counter-based normal generator of the particle solver.

reference/_micro_kernels.py draws the normal of particle i as a 256-layer
ziggurat fed by SplitMix64 hashes of (step key, i).  Checked here:

* the numba kernels and their NumPy twins agree bit for bit (hypothesis
  keys and indices, and the wedge/tail code on inputs built to reach it);
* the tables: every layer has the area v = r f(r) + sqrt(pi/2) erfc(r/sqrt 2)
  (closed form evaluated with scipy), f(x) = exp(-x^2/2);
* the distribution, against scipy.stats.norm: a KS test, a chi-square test
  on bins whose edges are the ziggurat's layer edges (a wrong layer, wedge or
  tail shows up as a bin off its exact mass), moments, and the tail
  frequencies P(|x| > 3), P(|x| > 4), P(|x| > r) against 2 norm.sf;
* no correlation between neighbouring particle indices, neighbouring keys,
  or the normal and bridge-uniform streams.

All statistical checks use one fixed key each (chosen once, not tuned) and
bounds of 5 standard errors, so they are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from reference import _micro_kernels as _k
from reference.lif import NLIFModel
from reference.micro import MicroOptions, ParticleState, particle_step

X, F = _k.ZIG_TABLES
R = _k.ZIG_R
N_DRAWS = 2_000_000
Z_BOUND = 5.0          # bounds below are 5 standard errors
U64 = st.integers(0, 2**64 - 1)


def kernel_normals(key, start, n):
    kn, kr, _ = _k.stream_keys(key)
    out = np.empty(n)
    _k.normals(kn, kr, start, out, X, F)
    return out


@pytest.fixture(scope="module")
def draws():
    return kernel_normals(1, 0, N_DRAWS)


# --------------------------------------------------------------------------- #
# numba == numpy                                                              #
# --------------------------------------------------------------------------- #

@settings(max_examples=60, deadline=None)
@given(key=U64, start=st.integers(0, 2**62), n=st.integers(1, 300))
def test_kernel_normals_equal_numpy_twin(key, start, n):
    z = kernel_normals(key, start, n)
    np.testing.assert_array_equal(z, _k.normals_numpy(key, start + np.arange(n)))


def test_kernel_normals_equal_numpy_twin_many():
    # 2e5 draws reach the slow path ~1300 times, the tail ~50 times.
    z = kernel_normals(123, 0, 200_000)
    np.testing.assert_array_equal(z, _k.normals_numpy(123, np.arange(200_000)))
    assert np.sum(np.abs(z) > R) > 20


@st.composite
def slow_words(draw):
    """A first word h that misses the fast path: x = u X[j] >= X[j+1]."""
    j = draw(st.integers(0, 255))
    lo = math.ceil(X[j + 1] / X[j] * 2.0**53)
    u = draw(st.integers(min(lo, 2**53 - 1), 2**53 - 1))
    low = draw(st.integers(0, 7))           # bits 8-10: sign and two unused bits
    return (u << 11) | (low << 8) | j


@settings(max_examples=200, deadline=None)
@given(h=slow_words(), s=U64)
def test_slow_path_equals_python_twin(h, s):
    got = _k._zig_slow(np.uint64(h), np.uint64(s), X, F)
    assert got == _k._zig_slow_py(h, s, X, F)
    if h & 255 == 0:  # layer 0 past r: a tail draw, with the sign of h
        assert abs(got) >= R
        assert math.copysign(1.0, got) == (-1.0 if h & 256 else 1.0)


def test_chunks_and_order_do_not_matter():
    z = kernel_normals(99, 0, 1000)
    parts = [kernel_normals(99, a, b - a) for a, b in [(0, 1), (1, 400), (400, 1000)]]
    np.testing.assert_array_equal(z, np.concatenate(parts))
    perm = np.random.default_rng(0).permutation(1000)
    np.testing.assert_array_equal(_k.normals_numpy(99, perm), z[perm])


def test_bridge_decision_uses_the_twins_uniform():
    # One free particle at V = 1.95 (V_F = 2, I = 0): with noise a it ends at
    # vs = V - dt V + sqrt(2 a dt) xi and, below V_F, fires iff its stream-U
    # uniform u < exp(-(V_F - V)(V_F - vs) / (a dt)).  Sweeping a moves exp(-e)
    # across u; the kernel's spike must follow the rule with the twins' xi and u.
    dt, V = 1e-3, 1.95
    key = np.random.default_rng(5).integers(0, 2**64, dtype=np.uint64)
    xi = _k.normals_numpy(key, [0])[0]
    u = _k.bridge_uniforms_numpy(key, [0])[0]
    state = ParticleState(np.array([V]), np.zeros(1), 0.0)
    fired = []
    for a in np.geomspace(1e-3, 1e4, 36):
        model = NLIFModel(V_F=2.0, V_R=1.0, a0=a, b=0.0)
        vs = V + dt * (0.0 - V) + math.sqrt(2.0 * a * dt) * xi
        e = (2.0 - V) * (2.0 - vs) * (1.0 / (a * dt))
        expected = int(vs >= 2.0 or (e < 40.0 and u < math.exp(-e)))
        _, K = particle_step(state, 0.0, dt, model, np.random.default_rng(5), MicroOptions())
        assert K == expected, (a, vs, e, u)
        fired.append(K)
    assert 0 in fired and 1 in fired


def test_step_draws_one_key_from_rng():
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    state = ParticleState(np.linspace(0, 1.9, 50), np.zeros(50), 0.0)
    particle_step(state, 0.0, 1e-2, NLIFModel(b=0.5), rng1, MicroOptions())
    rng2.integers(0, 2**64, dtype=np.uint64)
    assert rng1.bit_generator.state == rng2.bit_generator.state


# --------------------------------------------------------------------------- #
# tables                                                                      #
# --------------------------------------------------------------------------- #

def test_ziggurat_tables_have_equal_layer_areas():
    v = R * math.exp(-R * R / 2) + math.sqrt(math.pi / 2) * special.erfc(R / math.sqrt(2))
    assert _k.ZIG_V == pytest.approx(v, rel=1e-14)
    assert X.shape == F.shape == (257,) and X[1] == R and X[256] == 0.0 and F[256] == 1.0
    assert np.all(np.diff(X) < 0)
    np.testing.assert_allclose(F, np.exp(-X**2 / 2), rtol=1e-15)
    assert X[0] * F[1] == pytest.approx(v, rel=1e-14)          # base strip + tail
    areas = X[1:256] * (F[2:] - F[1:256])                        # layers 1..255
    np.testing.assert_allclose(areas, v, rtol=1e-11)


# --------------------------------------------------------------------------- #
# distribution (scipy.stats.norm is the reference)                            #
# --------------------------------------------------------------------------- #

def test_ks_against_scipy_norm(draws):
    assert stats.kstest(draws, stats.norm.cdf).pvalue > 1e-3


def test_chi_square_on_ziggurat_layer_bins(draws):
    # Edges at +-X[j]: each bin is one layer's rectangle part or wedge part,
    # plus the tails |x| > r; 512 bins, each with >= 250 expected draws.
    pos = np.concatenate([[0.0], X[255:0:-1]])
    edges = np.concatenate([-np.inf, -pos[::-1][:-1], pos, [np.inf]], axis=None)
    counts = np.histogram(draws, edges)[0]
    expected = N_DRAWS * np.diff(stats.norm.cdf(edges))
    assert expected.min() > 250
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, counts.size - 1) > 1e-3, chi2


def test_moments(draws):
    n = draws.size
    assert abs(draws.mean()) < Z_BOUND / math.sqrt(n)
    assert abs(draws.var() - 1) < Z_BOUND * math.sqrt(2 / n)
    assert abs(stats.skew(draws)) < Z_BOUND * math.sqrt(6 / n)
    assert abs(stats.kurtosis(draws)) < Z_BOUND * math.sqrt(24 / n)


@pytest.mark.parametrize("c", [3.0, 4.0, R, 4.5])
def test_tail_frequencies(draws, c):
    p = 2 * stats.norm.sf(c)
    count = np.sum(np.abs(draws) > c)
    assert abs(count - N_DRAWS * p) < Z_BOUND * math.sqrt(N_DRAWS * p * (1 - p)) + 1, count


def test_tail_shape_beyond_r():
    # 10^4 tail draws straight from the tail code (layer 0, x >= r): |x| must
    # follow the normal conditioned on |x| > r, cdf 1 - sf(x) / sf(r).
    n = 10_000
    h = np.uint64(((2**53 - 1) << 11))  # layer 0, u ~ 1 -> x > r
    seeds = _k._mix64_np(np.arange(1, n + 1, dtype=np.uint64))
    z = np.array([_k._zig_slow(h, s, X, F) for s in seeds])
    assert np.all(z >= R)
    sf_r = stats.norm.sf(R)
    assert stats.kstest(z, lambda x: 1 - stats.norm.sf(x) / sf_r).pvalue > 1e-3


# --------------------------------------------------------------------------- #
# independence                                                                #
# --------------------------------------------------------------------------- #

def _corr_bound(n):
    return Z_BOUND / math.sqrt(n)


def test_no_lag1_correlation_between_particles(draws):
    z = draws[:1_000_000]
    bound = _corr_bound(z.size)
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < bound
    assert abs(np.corrcoef(z[:-1] ** 2, z[1:] ** 2)[0, 1]) < bound  # |x| (layer) dependence


def test_no_correlation_between_neighbouring_keys():
    n = 500_000
    bound = _corr_bound(n)
    z0, z1 = kernel_normals(1000, 0, n), kernel_normals(1001, 0, n)
    assert abs(np.corrcoef(z0, z1)[0, 1]) < bound
    assert abs(np.corrcoef(z0 ** 2, z1 ** 2)[0, 1]) < bound


def test_bridge_uniforms_uniform_and_independent_of_normals():
    n = 500_000
    u = _k.bridge_uniforms_numpy(7, np.arange(n))
    z = kernel_normals(7, 0, n)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u, z)[0, 1]) < _corr_bound(n)
    assert abs(np.corrcoef(u, np.abs(z))[0, 1]) < _corr_bound(n)


@pytest.mark.slow
def test_large_sample_layer_bins_and_tails():
    """10^8 draws (10 keys x 10^7): layer-bin chi-square and tail counts, 5 s.e."""
    pos = np.concatenate([[0.0], X[255:0:-1]])
    edges = np.concatenate([-np.inf, -pos[::-1][:-1], pos, [np.inf]], axis=None)
    cuts = np.array([3.0, 4.0, R, 4.5, 5.0])
    counts = np.zeros(edges.size - 1, dtype=np.int64)
    tails = np.zeros(cuts.size, dtype=np.int64)
    n_total = 0
    for key in range(10):
        z = kernel_normals(10_000 + key, 0, 10_000_000)
        counts += np.bincount(np.searchsorted(edges, z, side="right") - 1,
                              minlength=counts.size)
        tails += (np.abs(z)[:, None] > cuts).sum(axis=0)
        n_total += z.size
    expected = n_total * np.diff(stats.norm.cdf(edges))
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, counts.size - 1) > 1e-3, chi2
    p = 2 * stats.norm.sf(cuts)
    np.testing.assert_array_less(np.abs(tails - n_total * p),
                                 Z_BOUND * np.sqrt(n_total * p * (1 - p)))
