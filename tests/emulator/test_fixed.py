"""Integer primitives: the numba kernels equal the Python-int definitions, which equal
an independent fixed-point library (apytypes) and modular arithmetic."""

import apytypes as apy
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import _kernels as K
from emulator.fixed import Overflow, Rounding, overflow, register_range, shift_round, wrap

APY = {
    Rounding.FLOOR: apy.QuantizationMode.TO_NEG,
    Rounding.TOWARD_ZERO: apy.QuantizationMode.TO_ZERO,
    Rounding.HALF_UP: apy.QuantizationMode.TIES_POS,
    Rounding.HALF_AWAY: apy.QuantizationMode.TIES_AWAY,
    Rounding.HALF_EVEN: apy.QuantizationMode.TIES_EVEN,
}
words = st.integers(-(1 << 40), 1 << 40)


@settings(max_examples=300, deadline=None)
@given(x=words, n=st.integers(1, 20), mode=st.sampled_from(sorted(APY)))
def test_shift_round_equals_apytypes(x, n, mode):
    """x / 2**n rounded by each mode equals apytypes' quantisation of the same word."""
    a = apy.APyFixed(x, int_bits=64 - n, frac_bits=n)
    expected = int(float(a.cast(int_bits=64 - n + 1, frac_bits=0, quantization=APY[mode])))
    assert shift_round(x, n, mode) == expected


@settings(max_examples=200, deadline=None)
@given(xs=st.lists(words, min_size=1, max_size=20), n=st.integers(0, 20),
       mode=st.sampled_from(list(Rounding)), seed=st.integers(0, 2**32))
def test_rshift_kernel_equals_twin(xs, n, mode, seed):
    x = np.array(xs, dtype=np.int64)
    r = np.random.default_rng(seed).integers(0, 1 << n, x.size, dtype=np.int64)
    out = np.empty_like(x)
    K.rshift_array(int(mode))(x, np.full_like(x, n), r, out)
    assert out.tolist() == [shift_round(a, n, mode, b) for a, b in zip(xs, r, strict=False)]


def test_stochastic_rounding_is_unbiased():
    """(x + r) >> n with r uniform rounds up with probability frac(x / 2**n)."""
    rng = np.random.default_rng(1)
    x = np.full(200_000, 5, dtype=np.int64)          # 5 / 8 = 0.625
    r = rng.integers(0, 8, x.size, dtype=np.int64)
    out = np.empty_like(x)
    K.rshift_array(int(Rounding.STOCHASTIC))(x, np.full_like(x, 3), r, out)
    assert abs(out.mean() - 0.625) < 4 * np.sqrt(0.625 * 0.375 / x.size)


@settings(max_examples=300, deadline=None)
@given(x=st.integers(-(1 << 50), 1 << 50), bits=st.integers(2, 48), signed=st.booleans())
def test_wrap_is_modular_arithmetic(x, bits, signed):
    w = wrap(x, bits, signed)
    assert (w - x) % (1 << bits) == 0
    lo, hi = register_range(bits, signed)
    assert lo <= w <= hi


@settings(max_examples=300, deadline=None)
@given(xs=st.lists(st.integers(-(1 << 50), 1 << 50), min_size=1, max_size=10),
       bits=st.integers(2, 48), mode=st.sampled_from(list(Overflow)))
def test_overflow_kernel_equals_twin(xs, bits, mode):
    lo, hi = register_range(bits, True, mode)
    if mode == Overflow.WRAP_LAVA:       # one period correction: defined for |x| < 3 * 2**(bits-1)
        xs = [x % (3 << (bits - 1)) - (1 << bits) for x in xs]
    x = np.array(xs, dtype=np.int64)
    out = np.empty_like(x)
    K.overflow_array(int(mode))(x, bits, lo, hi, out)
    assert out.tolist() == [overflow(a, bits, True, mode) for a in xs]
    assert all(lo <= v <= hi for v in out.tolist())


def test_lava_wrap_edges():
    """notes/chips.md 1.3: +2**23 is kept, -2**23 maps to +2**23, 2**23 + k to k - 2**23."""
    assert overflow(1 << 23, 24, True, Overflow.WRAP_LAVA) == 1 << 23
    assert overflow(-(1 << 23), 24, True, Overflow.WRAP_LAVA) == 1 << 23
    assert overflow((1 << 23) + 5, 24, True, Overflow.WRAP_LAVA) == 5 - (1 << 23)
    assert overflow(-(1 << 23) - 1, 24, True, Overflow.WRAP_LAVA) == (1 << 23) - 1


def test_twin_prng_equals_kernel_prng():
    from emulator import _twins as T

    neurons = np.arange(50, dtype=np.int64)
    ticks = np.arange(50, dtype=np.int64) * 7 + 1
    for kind, bits, terms in [(K.NOISE_UNIFORM, 8, 1), (K.NOISE_SUM_UNIFORM, 5, 4),
                              (K.NOISE_BINOMIAL, 1, 16)]:
        out = np.empty(50, dtype=np.int64)
        K.noise_array(np.uint64(12345), neurons, ticks, kind, bits, terms, out)
        twin = [T.noise_sample(T.neuron_key(12345, i), t, kind, bits, terms)
                for i, t in zip(neurons, ticks, strict=False)]
        assert out.tolist() == twin


def test_noise_moments():
    """Uniform mantissas on [-2**(m-1), 2**(m-1)) have variance (4**m - 1) / 12; binomial: terms."""
    n = 200_000
    out = np.empty(n, dtype=np.int64)
    idx = np.arange(n, dtype=np.int64)
    K.noise_array(np.uint64(7), idx, np.ones(n, dtype=np.int64), K.NOISE_UNIFORM, 8, 1, out)
    var = (4**8 - 1) / 12
    assert abs(out.var() - var) < 5 * var * np.sqrt(2 / n) * 1.2
    assert abs(out.mean() + 0.5) < 5 * np.sqrt(var / n)
    K.noise_array(np.uint64(7), idx, np.ones(n, dtype=np.int64), K.NOISE_BINOMIAL, 1, 16, out)
    assert abs(out.var() - 16) < 5 * 16 * np.sqrt(2 / n)
    assert abs(out.mean()) < 5 * np.sqrt(16 / n)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), words_n=st.integers(1, 5), bit=st.integers(0, 7))
def test_byte_bits64_equals_packbits(seed, words_n, bit):
    """The 64-byte vector mask equals numpy's packbits of the chosen bit (little bit order)."""
    import numba as nb

    @nb.njit
    def run(a, out, bit):
        for q in range(out.size):
            out[q] = K.byte_bits64(a, q * 64, bit)

    a = np.random.default_rng(seed).integers(0, 256, 64 * words_n).astype(np.uint8)
    out = np.zeros(words_n, dtype=np.uint64)
    run(a, out, bit)
    expected = np.packbits((a >> bit) & 1, bitorder="little").view(np.uint64)
    assert np.array_equal(out, expected)
