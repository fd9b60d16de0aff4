"""The record every reference solver returns (macro, multiscale; micro may reuse it).

A result is immutable: arrays plus a status in the style of SciPy's
``OdeResult`` (``status >= 0`` means success).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["STATUS_DIVERGED", "STATUS_OK", "SimulationResult", "SwitchEvent"]

#: The run reached T.
STATUS_OK = 0
#: The run stopped early because the firing rate diverged (a mean-field blow-up).
STATUS_DIVERGED = -1

#: Mode codes of :attr:`SimulationResult.mode`.
MODE_MACRO = 0
MODE_MICRO = 1


@dataclass(frozen=True, slots=True)
class SwitchEvent:
    """One switch of the multi-scale solver.

    Parameters
    ----------
    time : float
        Time of the switch (start of the first step in the new mode), time constants.
    step : int
        Index of that step.
    direction : {"macro->micro", "micro->macro"}
    rate_before : float
        The rate that triggered the switch (macro N of the rejected step, or the
        windowed particle rate), spikes per neuron per time constant.
    rate_after : float
        The rate of the first step in the new mode (particle rate of the redone
        step, or the flux rate of the deposited density).
    reason : str
        What triggered it (``"threshold"``, ``"growth"``, ``"not finite"``, ``"quiet"``).
    """

    time: float
    step: int
    direction: str
    rate_before: float
    rate_after: float
    reason: str

    def as_dict(self) -> dict:
        """Return the event as a JSON-ready dict."""
        return {"time": self.time, "step": self.step, "direction": self.direction,
                "rate_before": self.rate_before, "rate_after": self.rate_after,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What a reference solver returns.

    Parameters
    ----------
    solver : str
        ``"macro"``, ``"micro"`` or ``"multiscale"``.
    t : float64 ndarray, shape (n + 1,)
        Step boundaries t_0 = 0 .. t_n, time constants.
    N : float64 ndarray, shape (n,)
        Firing rate of step k (over [t_k, t_k+1]), spikes per neuron per time constant.
    status : int
        ``STATUS_OK`` or ``STATUS_DIVERGED`` (then ``n`` < the requested steps).
    message : str
        Why the run stopped.
    n_steps : int
        Steps taken, ``n``.
    mass_error : float
        Largest ``|integral p + R - 1|`` over the run (0 for particle runs).
    v : float64 ndarray, shape (J + 1,)
        Grid nodes of the snapshots (empty when there is no grid).
    snapshot_t : float64 ndarray, shape (m,)
        Times of the density snapshots.
    snapshot_p : float64 ndarray, shape (m, J + 1)
        Densities at those times, 1/model volt.
    mode : int8 ndarray, shape (n,)
        ``MODE_MACRO`` or ``MODE_MICRO`` per step.
    switches : tuple of SwitchEvent
        Every mode switch, in time order.
    wall_time : float
        Seconds spent in the solver.
    extra : dict
        Solver-specific numbers (options, counts).
    """

    solver: str
    t: np.ndarray
    N: np.ndarray
    status: int = STATUS_OK
    message: str = ""
    n_steps: int = 0
    mass_error: float = 0.0
    v: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshot_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshot_p: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    mode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    switches: tuple = ()
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when the run reached its end time."""
        return self.status >= 0

    def rate_mean(self, fraction: float = 0.5) -> float:
        """Time average of N over the last ``fraction`` of the steps taken (NaN if none)."""
        n = self.N.size
        if n == 0:
            return float("nan")
        start = min(n - 1, int(np.floor(n * (1.0 - fraction))))
        dt = np.diff(self.t)[start:n]
        return float(np.sum(self.N[start:] * dt) / np.sum(dt))

    def summary(self) -> dict:
        """Return a JSON-ready summary (rates, switches, mass error, status)."""
        return {
            "solver": self.solver,
            "status": self.status,
            "message": self.message,
            "n_steps": self.n_steps,
            "t_end": float(self.t[-1]) if self.t.size else 0.0,
            "rate_mean": self.rate_mean(),
            "rate_final": float(self.N[-1]) if self.N.size else float("nan"),
            "switches": [s.as_dict() for s in self.switches],
            "micro_fraction": float(np.mean(self.mode == MODE_MICRO)) if self.mode.size else 0.0,
            "mass_error": self.mass_error,
            "wall_time": self.wall_time,
        }
