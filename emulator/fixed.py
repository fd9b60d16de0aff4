"""Integer arithmetic of fixed-point chips: rounding and overflow modes.

These are the slow, obvious definitions on Python ints (exact, unbounded),
used as the golden model for the numba kernels in :mod:`emulator._kernels`
and for documentation.  Every chip operation in fxlif is one of:

* ``shift_round(x, n, mode)``: divide by ``2**n`` and round by ``mode``;
* ``overflow(x, bits, signed, mode)``: bring a result back into a register
  of ``bits`` bits (two's complement if ``signed``).

Modes are :class:`Rounding` and :class:`Overflow` members; profiles name them
in TOML by their lower-case value.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Overflow", "Rounding", "overflow", "register_range", "saturate",
           "shift_round", "wrap", "wrap_lava"]


class Rounding(IntEnum):
    """How a right shift by ``n`` bits (division by ``2**n``) rounds.

    ``FLOOR``: toward -inf (arithmetic ``>>``).  ``TOWARD_ZERO``: truncation of
    the magnitude, ``sign(x) * (|x| >> n)`` (Loihi).  ``HALF_UP``: nearest,
    ties toward +inf (``(x + 2**(n-1)) >> n``).  ``HALF_AWAY``: nearest, ties
    away from zero.  ``HALF_EVEN``: nearest, ties to even (convergent).
    ``STOCHASTIC``: ``(x + r) >> n`` with ``r`` uniform in ``[0, 2**n)`` from
    the profile's PRNG: rounds up with probability equal to the fraction.
    """

    FLOOR = 0
    TOWARD_ZERO = 1
    HALF_UP = 2
    HALF_AWAY = 3
    HALF_EVEN = 4
    STOCHASTIC = 5


class Overflow(IntEnum):
    """What a register does with a value outside its range.

    ``WRAP``: two's-complement (or modular, if unsigned) wrap-around.
    ``SATURATE``: clip to ``[min, max]`` of the register.
    ``SATURATE_SYMMETRIC``: clip to ``[-max, max]`` (Lava's Loihi voltage,
    ``+-(2**23 - 1)``).  ``WRAP_LAVA``: Lava's Loihi 1 current wrap, which
    keeps ``+2**(bits-1)`` and maps ``-2**(bits-1)`` to ``+2**(bits-1)``
    (notes/chips.md 1.3); the register is then one value wider than
    two's complement.
    """

    WRAP = 0
    SATURATE = 1
    SATURATE_SYMMETRIC = 2
    WRAP_LAVA = 3


def register_range(bits: int, signed: bool, mode: Overflow = Overflow.WRAP) -> tuple[int, int]:
    """Return ``(lo, hi)``, the values a register of ``bits`` bits can hold under ``mode``."""
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if mode == Overflow.SATURATE_SYMMETRIC:
            lo = -hi
        elif mode == Overflow.WRAP_LAVA:
            lo, hi = lo + 1, hi + 1
        return lo, hi
    return 0, (1 << bits) - 1


def shift_round(x: int, n: int, mode: Rounding, r: int = 0) -> int:
    """Return ``x / 2**n`` rounded by ``mode`` (Python ints, exact).

    ``r`` is the uniform random integer in ``[0, 2**n)`` used by
    ``STOCHASTIC`` rounding and ignored otherwise.  ``n == 0`` returns ``x``.
    """
    x, n = int(x), int(n)
    if n <= 0:
        return x << -n
    q, rem = divmod(x, 1 << n)          # floor quotient, 0 <= rem < 2**n
    half = 1 << (n - 1)
    if mode == Rounding.FLOOR:
        return q
    if mode == Rounding.TOWARD_ZERO:
        return q + 1 if (x < 0 and rem) else q
    if mode == Rounding.HALF_UP:
        return q + 1 if rem >= half else q
    if mode == Rounding.HALF_AWAY:
        if rem > half or (rem == half and x > 0):
            return q + 1
        return q
    if mode == Rounding.HALF_EVEN:
        if rem > half or (rem == half and q % 2 == 1):
            return q + 1
        return q
    if mode == Rounding.STOCHASTIC:
        return q + 1 if rem + int(r) >= (1 << n) else q
    raise ValueError(f"unknown rounding mode {mode!r}")


def wrap(x: int, bits: int, signed: bool = True) -> int:
    """Return ``x`` wrapped modulo ``2**bits`` into a signed or unsigned register."""
    m = int(x) % (1 << bits)
    if signed and m >= 1 << (bits - 1):
        m -= 1 << bits
    return m


def wrap_lava(x: int, bits: int) -> int:
    """Return Lava's Loihi 1 current wrap of ``x`` (a single correction, as coded in Lava).

    ``u = u - 2**bits if u > 2**(bits-1)``; ``u = u + 2**bits if u <= -2**(bits-1)``.
    Only one period is removed, exactly as Lava does; callers keep ``|x|`` below
    ``3 * 2**(bits-1)`` (true for ``decay(u) + (a_in << 6)`` with 24-bit u).
    """
    x = int(x)
    half = 1 << (bits - 1)
    if x > half:
        x -= 1 << bits
    if x <= -half:
        x += 1 << bits
    return x


def saturate(x: int, lo: int, hi: int) -> int:
    """Return ``x`` clipped to ``[lo, hi]``."""
    return lo if x < lo else hi if x > hi else int(x)


def overflow(x: int, bits: int, signed: bool, mode: Overflow) -> int:
    """Return ``x`` brought into a ``bits``-bit register by ``mode``."""
    if mode == Overflow.WRAP:
        return wrap(x, bits, signed)
    if mode == Overflow.WRAP_LAVA:
        return wrap_lava(x, bits)
    lo, hi = register_range(bits, signed, mode)
    return saturate(x, lo, hi)
