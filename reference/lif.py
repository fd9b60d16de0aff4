r"""The noisy leaky integrate-and-fire (NLIF) network model, in the paper's units.

Time is measured in membrane time constants and voltage in the model's own
units (typically V_F = 2, V_R = 1).  Each of the P neurons obeys, below the
firing threshold V_F,

.. math::

    dV_i = (-V_i + I_{ext}(t))\\,dt + \\frac{b}{P} \\sum_j dM_j(t) + \\sqrt{2 a(N)}\\, dW_i,

is reset to V_R when it reaches V_F, and may stay refractory for ``tau_ref``.
``a(N) = a0 + a1 N`` where N(t) is the population firing rate (spikes per
neuron per unit time).  The mean-field limit is the nonlinear Fokker-Planck
equation solved by :mod:`reference.macro`.

References
----------
.. [1] Caceres, Carrillo, Perthame, J. Math. Neurosci. 1:7 (2011).
.. [2] Du, Xie, Zhou, arXiv:2305.05915 (2023).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from reference.errors import InputError

__all__ = ["InputCurrent", "NLIFModel"]

INPUT_KINDS = ("constant", "step", "periodic")


def _finite(name: str, value: float, file=None) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError("must be a real number", file=file, key=name, value=value) from None
    if not math.isfinite(value):
        raise InputError("must be finite", file=file, key=name, value=value,
                         allowed="a finite real number")
    return value


@dataclass(frozen=True, slots=True)
class InputCurrent:
    """External input current I_ext(t), in voltage units per time constant.

    Kinds
    -----
    ``constant``
        I_ext(t) = I0.
    ``step`` (an "instantaneous" input)
        I_ext(t) = I0 + I1 for t0 <= t < t0 + duration, I0 otherwise.
    ``periodic``
        I_ext(t) = I0 + I1 * sin(2 pi t / period + phase).

    Parameters
    ----------
    kind : {"constant", "step", "periodic"}
    I0 : float
        Baseline current.
    I1 : float
        Pulse height (``step``) or amplitude (``periodic``).
    t0, duration : float
        Start and length of the pulse (``step``), in time constants.
    period, phase : float
        Period (time constants) and phase (radians) of ``periodic``.
    """

    kind: str = "constant"
    I0: float = 0.0
    I1: float = 0.0
    t0: float = 0.0
    duration: float = 0.0
    period: float = 1.0
    phase: float = 0.0
    file: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise InputError("unknown input kind", file=self.file, key="input.kind",
                             value=self.kind, allowed=", ".join(INPUT_KINDS))
        for name in ("I0", "I1", "t0", "duration", "period", "phase"):
            _finite(f"input.{name}", getattr(self, name), self.file)
        if self.kind == "step" and self.duration < 0:
            raise InputError("must be >= 0", file=self.file, key="input.duration",
                             value=self.duration)
        if self.kind == "periodic" and self.period <= 0:
            raise InputError("must be > 0", file=self.file, key="input.period",
                             value=self.period)

    def __call__(self, t):
        """Return I_ext at time ``t`` (float or ndarray, time constants)."""
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "constant":
            out = np.full_like(t, self.I0)
        elif self.kind == "step":
            on = (t >= self.t0) & (t < self.t0 + self.duration)
            out = self.I0 + self.I1 * on
        else:
            out = self.I0 + self.I1 * np.sin(2.0 * np.pi * t / self.period + self.phase)
        return float(out) if out.ndim == 0 else out


@dataclass(frozen=True, slots=True)
class NLIFModel:
    """Parameters of the NLIF network (units: membrane time constants, model volts).

    Parameters
    ----------
    V_F : float
        Firing threshold.
    V_R : float
        Reset potential, ``V_R < V_F``.
    a0, a1 : float
        Noise strength ``a(N) = a0 + a1 * N`` (diffusion coefficient; the
        noise term is ``sqrt(2 a) dW``).  ``a0 > 0``, ``a1 >= 0``.
    b : float
        Connectivity: each spike kicks every other neuron by ``b / P``
        (excitatory for ``b > 0``).
    tau_ref : float
        Refractory period after a spike (0 = none), time constants.
    input : InputCurrent
        External current.
    """

    V_F: float = 2.0
    V_R: float = 1.0
    a0: float = 1.0
    a1: float = 0.0
    b: float = 0.5
    tau_ref: float = 0.0
    input: InputCurrent = field(default_factory=InputCurrent)
    file: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("V_F", "V_R", "a0", "a1", "b", "tau_ref"):
            _finite(f"model.{name}", getattr(self, name), self.file)
        if not self.V_R < self.V_F:
            raise InputError("reset must lie below the threshold", file=self.file,
                             key="model.V_R", value=self.V_R, allowed=f"V_R < V_F = {self.V_F}")
        if self.a0 <= 0:
            raise InputError("noise strength must be positive", file=self.file,
                             key="model.a" if self.a1 == 0 else "model.a0", value=self.a0,
                             allowed="> 0")
        if self.a1 < 0:
            raise InputError("must be >= 0", file=self.file, key="model.a1", value=self.a1)
        if self.tau_ref < 0:
            raise InputError("must be >= 0", file=self.file, key="model.refractory",
                             value=self.tau_ref)

    def a(self, N: float) -> float:
        """Return the noise strength a(N) = a0 + a1 N for firing rate ``N``."""
        return self.a0 + self.a1 * N
