"""Scenario files: one NLIF network run, read from TOML and validated.

A scenario states the model, the network size, the input, the initial
voltage distribution, the run length and the Fokker-Planck grid.  Units are
the model's (time in membrane time constants, voltage in model volts).

Schema (every key not marked optional is required)::

    [model]
    V_F = 2.0            # firing threshold
    V_R = 1.0            # reset potential, V_R < V_F
    a = 1.0              # noise strength; or a0 = ..., a1 = ... (a(N) = a0 + a1 N)
    b = 0.5              # connectivity
    tau_ref = 0.0        # optional refractory period ("refractory" is an alias)

    [network]
    P = 10000            # number of neurons (particles), > 0

    [input]              # optional section, default: constant, I0 = 0
    kind = "constant"    # constant | step | periodic (see reference.lif.InputCurrent)
    I0 = 0.0             # and, by kind: I1, t0, duration, period, phase

    [init]
    kind = "gaussian"    # gaussian (v0, sigma0) | uniform (low, high) | point (v0)
    v0 = 1.5
    sigma0 = 0.0707      # standard deviation (not the variance)

    [run]
    T = 1.0              # run length, > 0
    dt = 1e-4            # time step, > 0
    seed = 0             # optional, default 0

    [grid]               # optional section, defaults V_min = -4, h = 0.01
    V_min = -4.0         # left end of the Fokker-Planck domain
    h = 0.01             # spacing; V_R and V_F must be grid nodes

Sections ``[chip]``, ``[mapping]``, ``[emulator]``, ``[params]`` and
``[sweep]`` belong to other parts of fxlif: they are kept, unread, in
``Scenario.raw``.  Any other unknown section or key is an error.  NaN and
infinities are rejected in every section read here.

Every bad value raises :class:`reference.errors.InputError` naming the file,
the dotted key, the value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from reference.errors import InputError
from reference.lif import INPUT_KINDS, InputCurrent, NLIFModel
from reference.toml_io import read_toml

__all__ = ["GridSpec", "InitSpec", "Scenario", "load_scenario", "scenario_from_dict"]

#: Sections owned by other parts of fxlif; kept in ``raw``, never validated here.
FOREIGN_SECTIONS = ("chip", "mapping", "emulator", "params", "sweep")
#: Keys allowed in each section read here.
SECTION_KEYS = {
    "model": ("V_F", "V_R", "a", "a0", "a1", "b", "tau_ref", "refractory"),
    "network": ("P",),
    "input": ("kind", "I0", "I1", "t0", "duration", "period", "phase"),
    "init": ("kind", "v0", "sigma0", "low", "high"),
    "run": ("T", "dt", "seed"),
    "grid": ("V_min", "h"),
}
REQUIRED_SECTIONS = ("model", "network", "init", "run")
INIT_KINDS = ("gaussian", "uniform", "point")
#: Keys each init kind needs (others of the section are rejected for that kind).
INIT_KEYS = {"gaussian": ("v0", "sigma0"), "uniform": ("low", "high"), "point": ("v0",)}
#: Input keys each kind accepts besides ``kind`` and ``I0``.
INPUT_KEYS = {"constant": (), "step": ("I1", "t0", "duration"),
              "periodic": ("I1", "period", "phase")}
#: Default grid: V_min = -4 is the truncated domain of the reference values in
#: notes/multiscale.md 5; h = 0.01 gives rates to ~1e-5 relative there.
DEFAULT_V_MIN = -4.0
DEFAULT_H = 0.01
#: Tolerance on "(V - V_min)/h is an integer" for V_R and V_F, in cells: loose
#: enough for the rounding of decimal inputs (~1e-13), tight enough to catch any
#: real misalignment.
NODE_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class GridSpec:
    """A uniform voltage grid ``v_j = V_min + j h`` whose last node is V_F.

    Parameters
    ----------
    V_min : float
        Left end of the domain (zero-flux boundary), model volts.
    h : float
        Grid spacing, model volts, > 0.
    """

    V_min: float = DEFAULT_V_MIN
    h: float = DEFAULT_H

    def n_cells(self, V_F: float) -> int:
        """Return J, the index of the node at ``V_F`` (``v_J = V_F``)."""
        return int(round((V_F - self.V_min) / self.h))

    def index(self, v: float) -> int:
        """Return the index of the node at ``v`` (which must be a node)."""
        return int(round((v - self.V_min) / self.h))


@dataclass(frozen=True, slots=True)
class InitSpec:
    """The initial voltage distribution.

    Parameters
    ----------
    kind : {"gaussian", "uniform", "point"}
        ``gaussian``: normal(v0, sigma0) truncated to ``[V_min, V_F)``;
        ``uniform``: uniform on ``[low, high]``; ``point``: every neuron at v0.
    v0, sigma0 : float
        Mean and standard deviation (model volts) of ``gaussian``; v0 of ``point``.
    low, high : float
        Bounds of ``uniform`` (model volts).
    """

    kind: str = "gaussian"
    v0: float = 0.0
    sigma0: float = 1.0
    low: float = 0.0
    high: float = 1.0

    def density(self, v: np.ndarray, V_F: float) -> np.ndarray:
        """Return the initial density on the nodes ``v`` (last node = V_F), unit mass.

        The density is zero at V_F and normalised with the control-volume rule
        ``sum(h p) = 1`` (h = ``v[1] - v[0]``).  ``point`` puts all the mass in
        the control volume of the nearest node below V_F.
        """
        v = np.asarray(v, dtype=np.float64)
        h = v[1] - v[0]
        if self.kind == "gaussian":
            p = np.exp(-0.5 * ((v - self.v0) / self.sigma0) ** 2)
        elif self.kind == "uniform":
            p = ((v >= self.low - 0.5 * h) & (v <= self.high + 0.5 * h)).astype(np.float64)
        else:
            p = np.zeros_like(v)
            p[min(max(int(round((self.v0 - v[0]) / h)), 0), v.size - 2)] = 1.0
        p[-1] = 0.0
        total = h * p.sum()
        if not total > 0:
            raise InputError("initial density has no mass on the grid", key="init.kind",
                             value=self.kind, allowed="a distribution inside [V_min, V_F)")
        return p / total

    def sample(self, P: int, rng: np.random.Generator, V_min: float, V_F: float) -> np.ndarray:
        """Return ``P`` i.i.d. initial voltages (float64, model volts), all below V_F."""
        if self.kind == "gaussian":
            # inverse-CDF sampling of the normal truncated to [V_min, V_F)
            lo = special.ndtr((V_min - self.v0) / self.sigma0)
            hi = special.ndtr((V_F - self.v0) / self.sigma0)
            u = lo + (hi - lo) * rng.random(P)
            V = self.v0 + self.sigma0 * special.ndtri(u)
        elif self.kind == "uniform":
            V = rng.uniform(self.low, self.high, P)
        else:
            V = np.full(P, self.v0)
        return np.minimum(V, np.nextafter(V_F, -np.inf))


@dataclass(frozen=True, slots=True)
class Scenario:
    """One validated scenario (see the module docstring for the schema).

    Parameters
    ----------
    model : NLIFModel
        Model parameters and input current.
    P : int
        Number of neurons.
    init : InitSpec
        Initial voltage distribution.
    T, dt : float
        Run length and time step, membrane time constants.
    grid : GridSpec
        Fokker-Planck grid.
    seed : int
        Seed of the particle solvers' random generator.
    file : str or None
        The file it came from.
    raw : dict
        The parsed TOML, including the sections other parts of fxlif own.
    """

    model: NLIFModel
    P: int
    init: InitSpec
    T: float
    dt: float
    grid: GridSpec
    seed: int = 0
    file: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_steps(self) -> int:
        """Number of time steps, ``round(T / dt)``."""
        return max(1, int(round(self.T / self.dt)))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario TOML file ``path``.

    Raises
    ------
    InputError
        The file is missing or not TOML, or any value is bad.
    """
    path = Path(path)
    return scenario_from_dict(read_toml(path), file=str(path))


def scenario_from_dict(d: dict, file: str | None = None) -> Scenario:
    """Validate the parsed scenario ``d`` (a TOML-like dict) and build a :class:`Scenario`."""
    if not isinstance(d, dict):
        raise InputError("a scenario must be a table", file=file, value=type(d).__name__)
    for name, sec in d.items():
        if name in FOREIGN_SECTIONS:
            continue
        if name not in SECTION_KEYS:
            raise InputError("unknown section", file=file, key=name,
                             allowed=", ".join(list(SECTION_KEYS) + list(FOREIGN_SECTIONS)))
        if not isinstance(sec, dict):
            raise InputError("must be a table", file=file, key=name, value=sec)
        for key, value in sec.items():
            if key not in SECTION_KEYS[name]:
                raise InputError("unknown key", file=file, key=f"{name}.{key}",
                                 allowed=", ".join(SECTION_KEYS[name]))
            _check_finite(value, f"{name}.{key}", file)
    for name in REQUIRED_SECTIONS:
        if name not in d:
            raise InputError("missing section", file=file, key=name)
    model = _model(d["model"], d.get("input", {}), file)
    net = d["network"]
    P = _integer(net, "network", "P", file)
    if P <= 0:
        raise InputError("must be a positive integer", file=file, key="network.P", value=P,
                         allowed=">= 1")
    init = _init(d["init"], model, file)
    run = d["run"]
    T = _real(run, "run", "T", file)
    dt = _real(run, "run", "dt", file)
    if T <= 0:
        raise InputError("must be > 0", file=file, key="run.T", value=T)
    if dt <= 0:
        raise InputError("must be > 0", file=file, key="run.dt", value=dt)
    if dt > T:
        raise InputError("time step longer than the run", file=file, key="run.dt", value=dt,
                         allowed=f"<= run.T = {T}")
    seed = _integer(run, "run", "seed", file, default=0)
    if seed < 0:
        raise InputError("must be >= 0", file=file, key="run.seed", value=seed)
    grid = _grid(d.get("grid", {}), model, file)
    return Scenario(model=model, P=P, init=init, T=T, dt=dt, grid=grid, seed=seed,
                    file=file, raw=d)


# ---------------------------------------------------------------- helpers


def _check_finite(value: Any, key: str, file) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError("must be finite", file=file, key=key, value=value,
                         allowed="a finite real number")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}", file)
    if isinstance(value, list):
        for v in value:
            _check_finite(v, key, file)


def _real(sec: dict, name: str, key: str, file, default: float | None = None) -> float:
    if key not in sec:
        if default is None:
            raise InputError("missing key", file=file, key=f"{name}.{key}")
        return default
    value = sec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("must be a real number", file=file, key=f"{name}.{key}", value=value)
    return float(value)


def _integer(sec: dict, name: str, key: str, file, default: int | None = None) -> int:
    if key not in sec:
        if default is None:
            raise InputError("missing key", file=file, key=f"{name}.{key}")
        return default
    value = sec[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("must be an integer", file=file, key=f"{name}.{key}", value=value)
    return value


def _model(sec: dict, inp: dict, file) -> NLIFModel:
    if not isinstance(inp, dict):
        raise InputError("must be a table", file=file, key="input", value=inp)
    kind = inp.get("kind", "constant")
    if kind not in INPUT_KINDS:
        raise InputError("unknown input kind", file=file, key="input.kind", value=kind,
                         allowed=", ".join(INPUT_KINDS))
    for key in inp:
        if key not in ("kind", "I0") + INPUT_KEYS[kind]:
            raise InputError(f"not used by input kind {kind!r}", file=file, key=f"input.{key}",
                             allowed=", ".join(("kind", "I0") + INPUT_KEYS[kind]))
    params = {k: _real(inp, "input", k, file) for k in inp if k != "kind"}
    current = InputCurrent(kind=kind, file=file, **params)
    if "a" in sec and ("a0" in sec or "a1" in sec):
        raise InputError("give either a or a0 (and a1), not both", file=file, key="model.a",
                         value=sec["a"])
    if "tau_ref" in sec and "refractory" in sec:
        raise InputError("give either tau_ref or refractory, not both", file=file,
                         key="model.refractory", value=sec["refractory"])
    a_key = "a" if "a" in sec else "a0"
    a0 = _real(sec, "model", a_key, file)
    a1 = _real(sec, "model", "a1", file, default=0.0)
    ref_key = "refractory" if "refractory" in sec else "tau_ref"
    tau_ref = _real(sec, "model", ref_key, file, default=0.0)
    V_F = _real(sec, "model", "V_F", file)
    V_R = _real(sec, "model", "V_R", file)
    b = _real(sec, "model", "b", file)
    if not V_R < V_F:
        raise InputError("reset must lie below the threshold", file=file, key="model.V_R",
                         value=V_R, allowed=f"V_R < V_F = {V_F}")
    if a0 <= 0:
        raise InputError("noise strength must be positive", file=file, key=f"model.{a_key}",
                         value=a0, allowed="> 0")
    if a1 < 0:
        raise InputError("must be >= 0", file=file, key="model.a1", value=a1)
    if tau_ref < 0:
        raise InputError("must be >= 0", file=file, key=f"model.{ref_key}", value=tau_ref)
    return NLIFModel(V_F=V_F, V_R=V_R, a0=a0, a1=a1, b=b, tau_ref=tau_ref, input=current,
                     file=file)


def _init(sec: dict, model: NLIFModel, file) -> InitSpec:
    kind = sec.get("kind")
    if kind is None:
        raise InputError("missing key", file=file, key="init.kind",
                         allowed=", ".join(INIT_KINDS))
    if kind not in INIT_KINDS:
        raise InputError("unknown init kind", file=file, key="init.kind", value=kind,
                         allowed=", ".join(INIT_KINDS))
    for key in sec:
        if key != "kind" and key not in INIT_KEYS[kind]:
            raise InputError(f"not used by init kind {kind!r}", file=file, key=f"init.{key}",
                             allowed=", ".join(INIT_KEYS[kind]))
    vals = {k: _real(sec, "init", k, file) for k in INIT_KEYS[kind]}
    if kind == "gaussian" and vals["sigma0"] <= 0:
        raise InputError("must be > 0", file=file, key="init.sigma0", value=vals["sigma0"])
    if kind == "uniform" and not vals["low"] < vals["high"]:
        raise InputError("must be below init.high", file=file, key="init.low",
                         value=vals["low"], allowed=f"< {vals['high']}")
    if kind == "uniform" and vals["high"] > model.V_F:
        raise InputError("must not exceed the threshold", file=file, key="init.high",
                         value=vals["high"], allowed=f"<= V_F = {model.V_F}")
    if kind == "point" and vals["v0"] >= model.V_F:
        raise InputError("must lie below the threshold", file=file, key="init.v0",
                         value=vals["v0"], allowed=f"< V_F = {model.V_F}")
    return InitSpec(kind=kind, **vals)


def _grid(sec: dict, model: NLIFModel, file) -> GridSpec:
    if not isinstance(sec, dict):
        raise InputError("must be a table", file=file, key="grid", value=sec)
    V_min = _real(sec, "grid", "V_min", file, default=DEFAULT_V_MIN)
    h = _real(sec, "grid", "h", file, default=DEFAULT_H)
    if h <= 0:
        raise InputError("must be > 0", file=file, key="grid.h", value=h)
    if not V_min < model.V_R:
        raise InputError("the grid must contain V_R", file=file, key="grid.V_min", value=V_min,
                         allowed=f"< V_R = {model.V_R}")
    for name, v in (("V_R", model.V_R), ("V_F", model.V_F)):
        x = (v - V_min) / h
        if abs(x - round(x)) > NODE_TOL:
            raise InputError(f"{name} = {v} is not a grid node ((V - V_min)/h = {x:.12g})",
                             file=file, key="grid.h", value=h,
                             allowed=f"a spacing with ({name} - V_min)/h an integer")
    return GridSpec(V_min=V_min, h=h)
