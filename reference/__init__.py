"""Floating-point reference of the multi-scale solver for noisy LIF networks.

Parts: the NLIF particle system (:mod:`reference.micro`), the Fokker-Planck
solver (:mod:`reference.macro`), the switching solver
(:mod:`reference.multiscale`), analytic mean-field results
(:mod:`reference.analytic`), the moment activation (:mod:`reference.moment`)
and spike-time-accurate single-neuron integrators
(:mod:`reference.integrators`).  Nothing here imports :mod:`emulator`.
"""

from reference import _numba_config  # noqa: F401  (before any kernel is compiled)
from reference.errors import FxlifError, InputError

__all__ = ["FxlifError", "InputError"]
