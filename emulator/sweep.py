"""Precision trade-off sweeps: profiles x overrides x scenarios x seeds, resumable.

A sweep file (TOML) lists the axes; every combination is a *point*::

    description = "which state bits and rounding keep the rate within 1 %?"
    profiles = ["generic"]
    scenarios = ["chip/feedforward.toml"]   # relative to the sweep file
    seeds = [1, 2]            # optional: default, each scenario's [chip].seeds
    metrics = ["emulator"]    # names in METRICS (default ["emulator"])

    [overrides]               # key -> list of values: the product is swept
    state_bits = [14, 16, 24]
    rounding = ["floor", "toward_zero"]
    # or: overrides = [{state_bits = 14}, {state_bits = 16, rounding = "floor"}]

    [settings]
    transient = 0.25          # fraction of the ticks left out of steady-state statistics
    window = 20               # ticks per counting window of the Fano factor
    ticks = 400               # optional: at most this many ticks per run (caps the scenarios')
    tolerance = 0.01          # error the report calls acceptable

    [baseline]                # optional: rate_err_baseline is measured against it
    profile = "generic"
    overrides = {state_bits = 24, rounding = "toward_zero"}

    # or, instead of the product, an explicit list of points:
    [[points]]
    profile = "generic"
    overrides = {state_bits = 16}
    scenario = "chip/recurrent.toml"
    seed = 1

Each point is computed by a pure function (:func:`compute_point`) of its
configuration: the profile (loaded with the overrides), the scenario, the
seed (the chip's noise and stochastic-rounding stream; the input spikes are
the scenario's own, identical for every point) and the settings.  No global
random state is used, so results do not depend on the number of workers or
on the order in which points finish.

**Point files.**  ``DIR/points/<id>.json`` with ``<id>`` the first 16 hex
digits of the SHA-256 of the canonical JSON (sorted keys) of the
configuration: profile name and a digest of its parsed TOML, overrides,
scenario path and a digest of its parsed TOML, seed, metrics, settings and
:data:`POINT_SCHEMA`.  The fxlif version is recorded in each file but is
**not** part of the hash, so ``--resume`` keeps the points of an older version
(the emulator is bit-exact: a release that changes results is a bug fix, and
the metric definitions are versioned by :data:`POINT_SCHEMA` instead, which
invalidates old points when bumped).  Editing a scenario or profile changes
its digest and so the points that use it.  Files are written by the driver
(workers need no shared file system), atomically: a temporary file beside the
target, then ``os.replace``.  A crash leaves at most a ``.<name>.*.tmp`` file,
which is ignored and removed by the next run.

**Executors.**  :func:`run_sweep` takes any :class:`concurrent.futures.Executor`;
``None`` with ``workers=1`` runs inline, otherwise a spawn-context
:class:`~concurrent.futures.ProcessPoolExecutor`.  ``fxlif sweep --scheduler
tcp://host:8786`` uses ``dask.distributed``'s ``Client.get_executor()``.

**Table.**  ``results.csv`` and ``results.parquet`` (pyarrow, in the sweep and test extras;
skipped when it is not installed): one row per point sorted by configuration (profile, scenario,
override columns by name, seed; numbers numerically), one column per
configuration key, then cost and metric columns; byte-identical for any
number of workers.  Volatile figures (kernel and point seconds, worker, run
id) go to ``timings.csv``.

**Bit cost.**  ``bits_state`` is the sum of the state register widths of one
neuron (times its synaptic compartments); ``bit_cost`` adds the widths of the
per-neuron parameter registers (scope ``neuron``): the bits of storage a
neuron costs.  The report plots errors against ``bit_cost``.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import hashlib
import importlib.util
import io
import itertools
import json
import math
import os
import socket
import sys
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from emulator.io import atomic_write, jsonable, output_dir, write_json
from reference.errors import InputError
from reference.toml_io import read_toml

__all__ = ["METRICS", "POINT_SCHEMA", "Metric", "PointConfig", "PointContext", "SweepError",
           "SweepOutcome", "SweepSpec", "compute_point", "gather_table", "load_sweep",
           "make_executor", "point_id", "register_metric", "run_sweep", "write_table"]

POINT_SCHEMA = 1          # bump when a metric's definition changes: old point files are redone
ID_HEX = 16               # hex digits of the configuration hash in a point file's name
DEFAULT_SETTINGS = {"transient": 0.25, "window": 20, "ticks": None, "tolerance": 0.01}
_TOP_KEYS = {"description", "profiles", "scenarios", "seeds", "metrics", "overrides",
             "settings", "baseline", "points"}
_POINT_KEYS = {"profile", "overrides", "scenario", "seed"}


class SweepError(InputError):
    """A sweep file, its profiles, scenarios or output folder are unusable."""


# ---------------------------------------------------------------------------------
# metrics registry

@dataclass(frozen=True)
class PointContext:
    """What a metric function sees for one point (built in the worker).

    Attributes
    ----------
    config : dict
        The point's canonical configuration (see :func:`point_id`).
    profile : Profile
        The profile loaded with the point's overrides.
    chip : ChipScenario or None
        The scenario's ``[chip]`` network, ``None`` if it has none.
    model : reference.scenario.Scenario or None
        The scenario's float model, ``None`` if it has none.
    seed : int
        The point's seed.
    settings : dict
        ``transient``, ``window``, ``ticks``, ``tolerance``.
    details : dict
        Metric functions put extra JSON-ready records here (registers, flags):
        they go to the point file, not to the table.
    timing : dict
        Metric functions add seconds here (``kernel_s``): timings.csv, not the table.
    cache : dict
        Work shared by metrics of the same point (the mapped run).
    """

    config: dict
    profile: Any
    chip: Any
    model: Any
    seed: int
    settings: dict
    details: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(ctx) -> {column: number or str}``; ``needs`` lists modules."""

    name: str
    fn: Callable[[PointContext], dict]
    needs: tuple[str, ...] = ()
    doc: str = ""

    def missing(self) -> list[str]:
        """Return the modules in ``needs`` that cannot be imported here."""
        out = []
        for mod in self.needs:
            try:
                if importlib.util.find_spec(mod) is None:
                    out.append(mod)
            except ModuleNotFoundError:
                out.append(mod)
        return out


#: metric name -> Metric; add one with :func:`register_metric`
METRICS: dict[str, Metric] = {}


def register_metric(name: str, needs: Iterable[str] = (), doc: str = ""):
    """Register ``fn(ctx: PointContext) -> dict`` as metric ``name`` (a decorator).

    The function returns flat columns (numbers, strings, ``None``); column
    names must be unique across metrics.  ``needs`` names modules the metric
    imports, checked when a sweep file is loaded (a clear error, exit 2).
    Workers import the module that defines ``fn`` (and those listed in
    :data:`METRIC_MODULES`) before computing a point, so it must be importable
    there (not ``__main__``).
    """
    def deco(fn):
        METRICS[name] = Metric(name, fn, tuple(needs), doc or (fn.__doc__ or "").split("\n")[0])
        return fn
    return deco


#: modules imported by workers before computing a point, so metrics they register exist
METRIC_MODULES: list[str] = []


def _steady_stats(counts: np.ndarray, transient: float, window: int) -> dict:
    """Steady-state statistics of spike counts (ticks, n) after the transient."""
    ticks, n = counts.shape
    c = counts[int(transient * ticks):]
    pop = c.sum(axis=1) / n                       # spikes per neuron in each tick
    k = c.shape[0] // window
    fano = None
    if k >= 2:
        wc = c[:k * window].reshape(k, window, n).sum(axis=1).astype(np.float64)
        m, v = wc.mean(axis=0), wc.var(axis=0, ddof=1)
        active = m > 0
        if active.any():
            fano = float(np.mean(v[active] / m[active]))
    return {"rate_mean": float(pop.mean()) if pop.size else None,
            "rate_std": float(pop.std()) if pop.size else None,
            "fano": fano,
            "silent_fraction": float(np.mean(c.sum(axis=0) == 0)) if c.size else None}


def _profile_registers(profile) -> dict:
    """Return the profile's register layout: widths, signedness, overflow, decay, rounding."""
    return {
        "state": {k: {"bits": s.bits, "signed": s.signed, "overflow": s.overflow.name.lower(),
                      "synapses": s.synapses} for k, s in profile.state.items()},
        "decay": {k: {"kind": d.kind, "register": d.register, "shift": d.shift,
                      "offset": d.offset, "rounding": d.rounding.name.lower(),
                      "min_step": d.min_step} for k, d in profile.decay.items()},
        "params": {k: {"bits": p.bits, "signed": p.signed, "scope": p.scope}
                   for k, p in profile.params.items()},
        "threshold": dict(profile.threshold), "noise": dict(profile.noise),
        "weights": dict(profile.weights), "input": dict(profile.input),
    }


INIT_INLINE_MAX = 256      # initial states longer than this are summarised (n, min, max, digest)


def _registers(profile, network) -> dict:
    """Every register value of a run (:func:`emulator.cmd_run.register_values`).

    Long initial states (the mapped model's 10^4 initial voltages) are kept as
    a summary with a SHA-256 digest: they are a state, not a register.
    """
    from emulator.cmd_run import register_values

    regs = register_values(profile, network)
    for k, v in list(regs.get("init", {}).items()):
        arr = np.asarray(v)
        if arr.size > INIT_INLINE_MAX:
            regs["init"][k] = {"n": int(arr.size), "min": int(arr.min()), "max": int(arr.max()),
                               "sha256": hashlib.sha256(arr.astype("<i8").tobytes()).hexdigest()}
    return regs


def bit_cost(profile) -> dict:
    """``bits_state`` (state registers of one neuron) and ``bit_cost`` (+ per-neuron params)."""
    state = sum(s.bits * s.synapses for s in profile.state.values())
    per_neuron = sum(p.bits for p in profile.params.values() if p.scope == "neuron")
    return {"bits_state": state, "bit_cost": state + per_neuron}


@register_metric("emulator", doc="the scenario's [chip] network on the point's profile")
def emulator_metric(ctx: PointContext) -> dict:
    """Run the ``[chip]`` network: steady-state rate, Fano factor, silence, overflows."""
    from emulator.engine import simulate

    if ctx.chip is None:
        return {}
    sc, profile = ctx.chip, ctx.profile
    net = sc.network(profile)
    res = simulate(profile, net, sc.inputs(), ticks=sc.ticks, seeds=(ctx.seed,))
    ctx.timing["kernel_s"] = ctx.timing.get("kernel_s", 0.0) + float(res.wall_s)
    ctx.details["registers"] = _registers(profile, net)
    out = _steady_stats(res.spike_counts(0), ctx.settings["transient"], ctx.settings["window"])
    out["spikes"] = int(res.spike_count.sum())
    for var in sorted(res.overflow):
        out[f"overflow_{var}"] = int(np.asarray(res.overflow[var]).sum())
    return out


def _finite(x) -> float | None:
    """Return ``x`` as a float, or None if it is None or not finite."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _rel_err(x, ref):
    if x is None or ref is None or not math.isfinite(ref) or ref == 0 or not math.isfinite(x):
        return None
    return abs(x - ref) / abs(ref)


def _mapped_run(ctx: PointContext):
    """Map the float model onto the profile and run it once per point (cached in ctx).

    Returns ``(mapping, result, chip_rate, stats)``: ``chip_rate`` is the
    steady-state rate of the mapped network per unit of model time (spikes per
    neuron per tick / dt), ``stats`` the steady-state statistics it comes from.
    """
    if "mapped" not in ctx.cache:
        from emulator.engine import simulate
        from emulator.mapping import map_model

        mapping = map_model(ctx.model, ctx.profile)
        ticks = int(mapping.ticks)
        if ctx.settings.get("ticks"):
            ticks = min(ticks, int(ctx.settings["ticks"]))
        res = simulate(ctx.profile, mapping.network, None, ticks=ticks, seeds=(ctx.seed,))
        ctx.timing["kernel_s"] = ctx.timing.get("kernel_s", 0.0) + float(res.wall_s)
        stats = _steady_stats(res.spike_counts(0), ctx.settings["transient"],
                              ctx.settings["window"])
        rate = None if stats["rate_mean"] is None else stats["rate_mean"] / float(mapping.dt)
        ctx.cache["mapped"] = (mapping, res, rate, stats)
    return ctx.cache["mapped"]


def float_reference_rate(model, V_min: float) -> tuple[float | None, int]:
    """Return the analytic stationary rate of a float model and how many there are.

    Constant input ``I0`` only (the model is shifted by ``I0``: threshold
    ``V_F - I0``, reset ``V_R - I0``), no refractory period; ``None`` when the
    model has none or several stationary rates (bistable: which one the
    network reaches depends on its history).
    """
    from reference.analytic import stationary_rates

    inp = model.input
    if inp.kind != "constant" or model.tau_ref > 0:
        return None, 0
    roots = stationary_rates(model.b, model.a0, model.V_F - inp.I0, model.V_R - inp.I0,
                             V_min - inp.I0, model.a1)
    roots = [float(r) for r in np.atleast_1d(roots)]
    return (roots[0] if len(roots) == 1 else None), len(roots)


def _ident(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out


@register_metric("mapping", needs=("emulator.mapping",),
                 doc="the float model mapped onto the profile: chip rate vs float rate")
def mapping_metric(ctx: PointContext) -> dict:
    """Map the scenario's float model onto the profile, run it, compare with the float rate.

    Columns: ``chip_rate`` (steady state, per unit of model time),
    ``reference_rate`` (the analytic stationary rate of the float model, see
    :func:`float_reference_rate`), ``rate_err_float`` = |chip - reference| /
    reference, ``v_scale``, ``chip_silent_fraction``, ``chip_overflow_<var>``
    and ``warn_<parameter>`` (0/1: the mapping warns that the parameter
    rounds to zero, saturates or loses more than the tolerance).
    """
    if ctx.model is None:
        return {}
    mapping, res, chip_rate, stats = _mapped_run(ctx)
    V_min = getattr(getattr(ctx.model, "grid", None), "V_min", -math.inf)
    ref, n_roots = float_reference_rate(ctx.model.model, V_min)
    ctx.details["mapping"] = jsonable(mapping.to_dict() if hasattr(mapping, "to_dict")
                                      else str(mapping))
    if "registers" not in ctx.details:
        ctx.details["registers"] = _registers(ctx.profile, mapping.network)
    out = {"chip_rate": chip_rate, "reference_rate": ref, "reference_roots": n_roots,
           "rate_err_float": _rel_err(chip_rate, ref), "v_scale": float(mapping.v_scale),
           "chip_silent_fraction": stats["silent_fraction"], "chip_fano": stats["fano"]}
    for var in sorted(res.overflow):
        out[f"chip_overflow_{var}"] = int(np.asarray(res.overflow[var]).sum())
    for row in mapping.report:
        out[f"warn_{_ident(row.name)}"] = int(bool(row.warning))
    return out


@register_metric("flags", needs=("emulator.mapping", "emulator.flags"),
                 doc="the mean-field flags of the mapped model, with their predicted rate")
def flags_metric(ctx: PointContext) -> dict:
    """Evaluate the mean-field flags (SPEC 7) of the float model mapped onto the profile.

    Columns: ``predicted_rate`` and ``flags_reference_rate`` (from the flag
    report), ``rate_err_predicted`` = |predicted - chip| / chip (how well the
    mean-field path predicts the emulator), ``flags`` (the names that fire,
    ``;``-separated), ``flags_worst`` (the highest severity) and
    ``flag_<name>`` (0/1, any severity).
    """
    import emulator.flags as fl

    if ctx.model is None:
        return {}
    mapping, res, chip_rate, _ = _mapped_run(ctx)
    report = fl.evaluate_flags(mapping)
    names = sorted({f.name for f in report.flags})
    pred = _finite(report.predicted_rate)
    ref = _finite(report.reference_rate)
    ctx.details["flags"] = [f.to_dict() for f in report.flags]
    out = {"predicted_rate": pred, "flags_reference_rate": ref,
           "rate_err_predicted": _rel_err(pred, chip_rate), "flags": ";".join(names),
           "flags_worst": report.worst()}
    for name in sorted(set(fl.FLAG_NAMES) | set(names)):
        out[f"flag_{name}"] = int(name in names)
    return out


# ---------------------------------------------------------------------------------
# the sweep file

@dataclass(frozen=True)
class PointConfig:
    """One point: a profile, its overrides, a scenario (as written in the file), a seed."""

    profile: str
    overrides: tuple[tuple[str, Any], ...]
    scenario: str
    seed: int


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see the module docstring)."""

    file: str
    description: str
    points: tuple[PointConfig, ...]
    metrics: tuple[str, ...]
    settings: Mapping[str, Any]
    baseline: PointConfig | None
    scenario_paths: Mapping[str, str]        # as written -> absolute path
    digests: Mapping[str, str]               # "profile:<name>" / "scenario:<as written>" -> hex
    parts: Mapping[str, tuple] = field(default_factory=dict, repr=False, compare=False)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def config(self, p: PointConfig) -> dict:
        """Return the canonical configuration of point ``p`` (what its id hashes)."""
        return {"schema": POINT_SCHEMA, "profile": p.profile,
                "profile_digest": self.digests[f"profile:{p.profile}"],
                "overrides": dict(p.overrides), "scenario": p.scenario,
                "scenario_digest": self.digests[f"scenario:{p.scenario}"], "seed": p.seed,
                "metrics": sorted(self.metrics),
                "settings": {k: self.settings[k] for k in ("transient", "window", "ticks")}}

    @property
    def override_keys(self) -> list[str]:
        """Every override key used by some point, sorted."""
        return sorted({k for p in self.points for k, _ in p.overrides})


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def point_id(config: dict) -> str:
    """Full SHA-256 hex digest of a canonical configuration."""
    return hashlib.sha256(_canonical(config).encode()).hexdigest()


def _digest_toml(path: Path, err_key: str, file: str) -> tuple[str, dict]:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SweepError(f"cannot read {path}: {exc.strerror}", file=file, key=err_key) from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path} is not valid TOML: {exc}", file=file, key=err_key) from None
    return hashlib.sha256(_canonical(jsonable(data)).encode()).hexdigest(), data


def _fail(file, key, value, message, allowed=None):
    raise SweepError(message, file=file, key=key, value=value, allowed=allowed)


def _str_list(raw, key, file, required=True):
    v = raw.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, list) or not v or not all(isinstance(s, str) for s in v):
        _fail(file, key, v, "must be a non-empty list of strings")
    return v


def _seed(v, key, file):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        _fail(file, key, v, "a seed is a non-negative integer")
    return v


def _override_dict(v, key, file) -> tuple[tuple[str, Any], ...]:
    if not isinstance(v, dict):
        _fail(file, key, v, "must be a table of override values", "e.g. {state_bits = 12}")
    for k, x in v.items():
        if isinstance(x, (dict, list)):
            _fail(file, f"{key}.{k}", x, "an override value is a number, string or boolean")
    return tuple(sorted(v.items()))


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; raise :class:`SweepError` (exit 2) if anything is bad.

    Every profile is loaded with every override set it is swept with, every
    scenario is read, and every metric is checked to be available, so a bad
    sweep fails before any point runs or any file is written.
    """
    from emulator.profile import ProfileError, load_profile, profile_dir

    path = Path(path)
    file = str(path)
    raw = read_toml(path, SweepError)
    for k in raw:
        if k not in _TOP_KEYS:
            _fail(file, k, raw[k] if not isinstance(raw[k], dict) else "...", "unknown key",
                  ", ".join(sorted(_TOP_KEYS)))
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        _fail(file, "description", desc, "must be a string")

    metrics = raw.get("metrics", ["emulator"])
    if not isinstance(metrics, list) or not metrics or \
            not all(isinstance(m, str) for m in metrics):
        _fail(file, "metrics", metrics, "must be a non-empty list of metric names",
              ", ".join(sorted(METRICS)))
    for m in metrics:
        if m not in METRICS:
            _fail(file, "metrics", m, "unknown metric", ", ".join(sorted(METRICS)))
        missing = METRICS[m].missing()
        if missing:
            _fail(file, "metrics", m, f"needs {', '.join(missing)}, which this fxlif "
                  "installation lacks", ", ".join(k for k in sorted(METRICS)
                                                  if not METRICS[k].missing()))
    if len(set(metrics)) != len(metrics):
        _fail(file, "metrics", metrics, "lists a metric twice")

    settings = dict(DEFAULT_SETTINGS)
    s_raw = raw.get("settings", {})
    if not isinstance(s_raw, dict):
        _fail(file, "settings", s_raw, "must be a table")
    for k, v in s_raw.items():
        if k not in DEFAULT_SETTINGS:
            _fail(file, f"settings.{k}", v, "unknown key", ", ".join(DEFAULT_SETTINGS))
        settings[k] = v
    t = settings["transient"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1:
        _fail(file, "settings.transient", t, "fraction of ticks left out", "0 <= x < 1")
    w = settings["window"]
    if isinstance(w, bool) or not isinstance(w, int) or w < 1:
        _fail(file, "settings.window", w, "ticks per counting window", "an integer >= 1")
    tk = settings["ticks"]
    if tk is not None and (isinstance(tk, bool) or not isinstance(tk, int) or tk < 1):
        _fail(file, "settings.ticks", tk, "must be a positive integer")
    tol = settings["tolerance"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        _fail(file, "settings.tolerance", tol, "must be a positive number")
    settings["transient"] = float(t)
    settings["tolerance"] = float(tol)

    # the points: explicit list, or the product of the axes
    points: list[PointConfig] = []
    if "points" in raw:
        for k in ("profiles", "scenarios", "seeds", "overrides"):
            if k in raw:
                _fail(file, k, "...", "give either [[points]] or the axes, not both")
        plist = raw["points"]
        if not isinstance(plist, list) or not plist or not all(isinstance(p, dict)
                                                               for p in plist):
            _fail(file, "points", "...", "must be an array of tables ([[points]])")
        for i, p in enumerate(plist):
            key = f"points[{i}]"
            for k in p:
                if k not in _POINT_KEYS:
                    _fail(file, f"{key}.{k}", p[k], "unknown key", ", ".join(sorted(_POINT_KEYS)))
            for k in ("profile", "scenario"):
                if not isinstance(p.get(k), str):
                    _fail(file, f"{key}.{k}", p.get(k), "missing or not a string")
            seeds = [_seed(p["seed"], f"{key}.seed", file)] if "seed" in p else None
            ov = _override_dict(p.get("overrides", {}), f"{key}.overrides", file)
            points.append((p["profile"], ov, p["scenario"], seeds))
    else:
        profiles = _str_list(raw, "profiles", file)
        scenarios = _str_list(raw, "scenarios", file)
        seeds = raw.get("seeds")
        if seeds is not None:
            if not isinstance(seeds, list) or not seeds:
                _fail(file, "seeds", seeds, "must be a non-empty list of integers")
            seeds = [_seed(s, "seeds", file) for s in seeds]
        ov_raw = raw.get("overrides", {})
        if isinstance(ov_raw, dict):
            keys = sorted(ov_raw)
            for k in keys:
                v = ov_raw[k]
                if not isinstance(v, list) or not v:
                    _fail(file, f"overrides.{k}", v, "must be a non-empty list of values",
                          "e.g. state_bits = [12, 16, 24]")
                for x in v:
                    if isinstance(x, (dict, list)):
                        _fail(file, f"overrides.{k}", x, "a value is a number, string or "
                              "boolean")
            ov_sets = [tuple(zip(keys, combo, strict=True)) for combo in
                       itertools.product(*(ov_raw[k] for k in keys))]
        elif isinstance(ov_raw, list) and ov_raw:
            ov_sets = [_override_dict(o, f"overrides[{i}]", file) for i, o in enumerate(ov_raw)]
        else:
            _fail(file, "overrides", "...", "a table of lists (product) or an array of tables")
        for prof, ov, sc in itertools.product(profiles, ov_sets, scenarios):
            points.append((prof, tuple(sorted(ov)), sc, seeds))

    baseline = None
    b_raw = raw.get("baseline")
    if b_raw is not None:
        if not isinstance(b_raw, dict) or not isinstance(b_raw.get("profile"), str):
            _fail(file, "baseline", "...", "a table with profile (and overrides)")
        for k in b_raw:
            if k not in ("profile", "overrides"):
                _fail(file, f"baseline.{k}", b_raw[k], "unknown key", "profile, overrides")
        baseline = (b_raw["profile"], _override_dict(b_raw.get("overrides", {}),
                                                     "baseline.overrides", file))

    # profiles by reference (a .toml path relative to the sweep file becomes absolute)
    base = path.resolve().parent
    points = [(_profile_ref(pr, base), ov, sc, seeds) for pr, ov, sc, seeds in points]
    if baseline:
        baseline = (_profile_ref(baseline[0], base), baseline[1])

    # scenarios: read each once
    scenario_paths, digests, parts = {}, {}, {}
    for _, _, sc, _ in points:
        if sc in scenario_paths:
            continue
        sp = (base / sc).resolve()
        digests[f"scenario:{sc}"], data = _digest_toml(sp, "scenarios", file)
        scenario_paths[sc] = str(sp)
        parts[sc] = _load_parts(sp, data, file, bool({"mapping", "flags"} & set(metrics)))

    # profiles: every (profile, overrides) combination must load
    combos = {(pr, ov) for pr, ov, _, _ in points}
    if baseline:
        combos.add(baseline)
    for prof, ov in sorted(combos, key=repr):
        if f"profile:{prof}" not in digests:
            pfile = Path(prof) if prof.endswith(".toml") else profile_dir() / f"{prof}.toml"
            if not pfile.exists():
                try:
                    load_profile(prof)
                except ProfileError as exc:
                    raise SweepError(f"profile {prof!r}: {exc.message}", file=file,
                                     key="profiles", allowed=exc.allowed) from None
            digests[f"profile:{prof}"] = _digest_toml(pfile, "profiles", file)[0]
        try:
            load_profile(prof, **dict(ov))
        except ProfileError as exc:
            key = exc.key or "?"
            raise SweepError(f"profile {prof!r} with overrides {dict(ov)}: {exc.message}",
                             file=file, key=f"overrides.{key}", value=exc.value,
                             allowed=exc.allowed) from None

    # expand the seeds (default: each scenario's [chip].seeds)
    out: list[PointConfig] = []
    for prof, ov, sc, seeds in points:
        if seeds is None:
            chip, model = parts[sc]
            seeds = list(chip.seeds) if chip is not None else [int(model.seed)]
        out.extend(PointConfig(prof, ov, sc, s) for s in seeds)
    base_cfg = None
    if baseline:
        base_cfg = PointConfig(baseline[0], baseline[1], "", 0)
        have = {(p.profile, p.overrides, p.scenario, p.seed) for p in out}
        for p in list(out):
            key = (baseline[0], baseline[1], p.scenario, p.seed)
            if key not in have:
                have.add(key)
                out.append(PointConfig(baseline[0], baseline[1], p.scenario, p.seed))
    seen = set()
    unique = []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return SweepSpec(file, desc, tuple(unique), tuple(metrics), settings, base_cfg,
                     scenario_paths, digests, parts, raw)


def _profile_ref(prof: str, base: Path) -> str:
    if prof.endswith(".toml"):
        p = Path(prof)
        return str(p if p.is_absolute() else (base / p).resolve())
    return prof


def _load_parts(sp: Path, data: dict, file: str, needs_model: bool):
    """Return (ChipScenario or None, Scenario or None) of a scenario file."""
    from emulator.scenario import load_chip_scenario
    from reference.scenario import scenario_from_dict

    chip = model = None
    if "chip" in data:
        chip = load_chip_scenario(sp)
    if "model" in data:
        try:
            model = scenario_from_dict(data, file=str(sp))
        except InputError:
            if needs_model:
                raise
    if chip is None and model is None:
        raise SweepError(f"{sp} has neither a [chip] network nor a float [model]", file=file,
                         key="scenarios", value=str(sp))
    return chip, model


# ---------------------------------------------------------------------------------
# computing a point (runs in the worker)

def _task(spec: SweepSpec, p: PointConfig) -> dict:
    """Return the picklable task of point ``p``: its configuration and parsed scenario."""
    cfg = spec.config(p)
    chip, model = spec.parts[p.scenario]
    if chip is not None and spec.settings["ticks"]:
        chip = dataclasses.replace(chip, ticks=min(chip.ticks, int(spec.settings["ticks"])))
    modules = set(METRIC_MODULES) | {METRICS[m].fn.__module__ for m in spec.metrics}
    return {"config": cfg, "hash": point_id(cfg), "chip": chip, "model": model,
            "settings": dict(spec.settings),
            "metric_modules": sorted(modules - {"emulator.sweep", "__main__"})}


def compute_point(task: dict) -> dict:
    """Compute one point; return its record (the content of its point file).

    A pure function of ``task["config"]`` (plus timing figures).  An
    :class:`InputError` raised while building the network (a register the
    profile cannot hold, say) makes the point ``infeasible`` with its message;
    any other exception propagates (the point is not written and is redone by
    ``--resume``).
    """
    import importlib

    from emulator import __version__
    from emulator.profile import load_profile

    for mod in task.get("metric_modules", ()):
        importlib.import_module(mod)
    cfg = task["config"]
    start = time.perf_counter()
    profile = load_profile(cfg["profile"], **cfg["overrides"])
    ctx = PointContext(cfg, profile, task["chip"], task["model"], cfg["seed"], task["settings"])
    columns = dict(bit_cost(profile))
    status, message = "ok", ""
    try:
        for name in cfg["metrics"]:
            if name not in METRICS:
                raise RuntimeError(f"metric {name!r} is not registered in this worker "
                                   "(import the module that registers it)")
            cols = METRICS[name].fn(ctx)
            clash = set(cols) & set(columns)
            if clash:
                raise RuntimeError(f"metric {name!r} repeats columns {sorted(clash)}")
            columns.update(cols)
    except InputError as exc:
        # name the scenario as the sweep file writes it: the table must not depend on
        # where the files lie
        for part in (task["chip"], task["model"]):
            if part is not None and exc.file is not None and exc.file == str(part.file):
                exc.file = cfg["scenario"]
        status, message = "infeasible", exc.one_line()
    return {"id": task["hash"][:ID_HEX], "config_hash": task["hash"], "config": cfg,
            "status": status, "message": message, "columns": jsonable(columns),
            "profile_registers": _profile_registers(profile),
            "details": jsonable(ctx.details), "fxlif_version": __version__,
            "timing": {"point_s": time.perf_counter() - start,
                       "kernel_s": ctx.timing.get("kernel_s"),
                       "worker": f"{socket.gethostname()}:{os.getpid()}"}}


# ---------------------------------------------------------------------------------
# executors

def make_executor(workers: int | None = None, scheduler: str | None = None):
    """Return ``(executor or None, close)``: dask for ``scheduler``, inline for 1 worker.

    ``workers=None`` means ``os.cpu_count()`` local processes.  The process
    pool uses the ``spawn`` start method (safe with threads and numba).
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise SweepError("--scheduler needs dask.distributed (pip install 'fxlif[sweep]')",
                             key="--scheduler", value=scheduler) from None
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot connect to the dask scheduler: {exc}",
                             key="--scheduler", value=scheduler) from None
        return client.get_executor(pure=False), client.close
    n = workers or os.cpu_count() or 1
    if n == 1:
        return None, lambda: None
    import multiprocessing

    ex = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
    return ex, lambda: ex.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------
# running and gathering

@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`run_sweep` did: counts, failures (id, message) and the files written."""

    total: int
    computed: int
    skipped: int
    failed: tuple[tuple[str, str], ...]
    run_id: str
    files: tuple[Path, ...]


def points_dir(out: Path) -> Path:
    """Return the folder of the point files."""
    return Path(out) / "points"


def _read_point(path: Path) -> dict | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and "config_hash" in rec else None


def clean_temporaries(out: Path) -> int:
    """Remove the temporary files a crashed write left in ``out`` and its points folder."""
    n = 0
    for d in (Path(out), points_dir(out)):
        if d.is_dir():
            for tmp in d.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                n += 1
    return n


def run_sweep(spec: SweepSpec, out: str | Path, *, executor: cf.Executor | None = None,
              workers: int | None = None, resume: bool = False, progress: bool = True,
              log=None) -> SweepOutcome:
    """Compute every point of ``spec`` not already in ``out`` and write the table.

    Parameters
    ----------
    spec : SweepSpec
        From :func:`load_sweep`.
    out : path
        Output folder (created; must be writable).
    executor : concurrent.futures.Executor, optional
        Where points run.  ``None``: inline if ``workers == 1``, else a local
        spawn-context process pool of ``workers`` (default ``os.cpu_count()``).
    resume : bool
        Keep the point files already in ``out`` (matching configuration hash)
        and compute only the others.  Without it, a folder that already holds
        points of this sweep is refused (nothing is overwritten).
    progress : bool
        A tqdm progress bar on stderr.
    log : file, optional
        Where one-line messages go (default stderr).
    """
    from tqdm import tqdm

    log = log or sys.stderr
    out = output_dir(out)
    pdir = points_dir(out)
    configs = {p: spec.config(p) for p in spec.points}
    ids = {p: point_id(c) for p, c in configs.items()}
    existing = {}
    if pdir.is_dir():
        for p, h in ids.items():
            f = pdir / f"{h[:ID_HEX]}.json"
            if f.exists():
                rec = _read_point(f)
                if rec is not None and rec.get("config_hash") == h:
                    existing[p] = rec
                else:
                    print(f"fxlif sweep: {f} is unreadable or of another configuration: "
                          "it will be computed again", file=log)
    if existing and not resume:
        raise SweepError(f"the folder already holds {len(existing)} point files of this "
                         "sweep; pass --resume to keep them, or choose another folder",
                         key="--out", value=str(out))
    pdir.mkdir(exist_ok=True)
    clean_temporaries(out)
    from emulator import __version__

    old = {r.get("fxlif_version") for r in existing.values()} - {__version__}
    if old:
        print(f"fxlif sweep: keeping points computed by fxlif {', '.join(sorted(map(str, old)))}"
              f" (this is {__version__}); the version is not part of a point's hash", file=log)
    write_json(out / "sweep.json", {"file": spec.file, "description": spec.description,
                                    "metrics": list(spec.metrics), "settings": spec.settings,
                                    "baseline": None if spec.baseline is None else
                                    {"profile": spec.baseline.profile,
                                     "overrides": dict(spec.baseline.overrides)},
                                    "points": len(spec.points), "fxlif_version": __version__,
                                    "override_keys": spec.override_keys})
    todo = [p for p in spec.points if p not in existing]
    run_id = uuid.uuid4().hex
    failed = []
    computed = 0
    bar = tqdm(total=len(todo), file=sys.stderr, disable=not progress, desc="sweep",
               unit="point", dynamic_ncols=True)
    own_close = None
    n_workers = min(workers or os.cpu_count() or 1, len(todo))
    if executor is None and n_workers > 1:
        executor, own_close = make_executor(n_workers)

    def finish(p, rec):
        nonlocal computed
        rec["run_id"] = run_id
        write_json(pdir / f"{ids[p][:ID_HEX]}.json", rec)
        computed += 1
        bar.update(1)

    try:
        if executor is None:
            for p in todo:
                try:
                    finish(p, compute_point(_task(spec, p)))
                except Exception as exc:  # noqa: BLE001 - reported, the point is redone later
                    failed.append((ids[p][:ID_HEX], f"{type(exc).__name__}: {exc}"))
                    bar.update(1)
        else:
            futures = {executor.submit(compute_point, _task(spec, p)): p for p in todo}
            try:
                for fut in cf.as_completed(futures):
                    p = futures[fut]
                    try:
                        rec = fut.result()
                    except Exception as exc:  # noqa: BLE001
                        failed.append((ids[p][:ID_HEX], f"{type(exc).__name__}: {exc}"))
                        bar.update(1)
                        continue
                    finish(p, rec)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        bar.close()
        if own_close is not None:
            own_close()
    for pid, msg in failed:
        print(f"fxlif sweep: point {pid} failed: {msg}", file=log)
    files = write_table(gather_table(spec, out), out)
    return SweepOutcome(len(spec.points), computed, len(existing), tuple(failed), run_id,
                        tuple(files))


def _sort_value(v):
    if v is None or v == "":
        return (2, 0, "")
    if isinstance(v, bool):
        return (0, int(v), "")
    if isinstance(v, (int, float)):
        return (0, v, "")
    return (1, 0, str(v))



def gather_table(spec: SweepSpec, out: str | Path) -> tuple[list[str], list[dict], list[dict]]:
    """Read the point files of ``spec``: ``(columns, rows, timing rows)``, rows sorted.

    Rows are sorted by (profile, scenario, override values by key name, seed),
    numbers numerically, so the table does not depend on how points were run.
    A point without a file has status ``missing``.  ``rate_err_baseline`` is
    |rate - baseline rate| / baseline rate for the same scenario and seed,
    when the sweep names a baseline (``rate_mean`` of the ``[chip]`` network,
    else ``chip_rate`` of the mapped float model).
    """
    pdir = points_dir(out)
    okeys = spec.override_keys
    rows, timings = [], []
    metric_cols: list[str] = []
    for p in spec.points:
        h = point_id(spec.config(p))
        rec = _read_point(pdir / f"{h[:ID_HEX]}.json")
        if rec is not None and rec.get("config_hash") != h:
            rec = None
        row = {"point_id": h[:ID_HEX], "profile": p.profile, "scenario": p.scenario}
        ov = dict(p.overrides)
        for k in okeys:
            row[f"set.{k}"] = ov.get(k)
        row["seed"] = p.seed
        row["status"] = "missing" if rec is None else rec["status"]
        cols = {} if rec is None else rec["columns"]
        for k in cols:
            if k not in metric_cols:
                metric_cols.append(k)
        row.update(cols)
        row["message"] = "" if rec is None else rec.get("message", "")
        row["_key"] = (p, ov)
        rows.append(row)
        if rec is not None:
            t = rec.get("timing", {})
            timings.append({"point_id": h[:ID_HEX], "point_s": t.get("point_s"),
                            "kernel_s": t.get("kernel_s"), "worker": t.get("worker"),
                            "run_id": rec.get("run_id"),
                            "fxlif_version": rec.get("fxlif_version")})
    if spec.baseline is not None:
        def rate(r):       # the [chip] network's rate, else the mapped model's
            return r.get("rate_mean") if r.get("rate_mean") is not None else r.get("chip_rate")

        base = {(r["_key"][0].scenario, r["_key"][0].seed): rate(r) for r in rows
                if r["_key"][0].profile == spec.baseline.profile
                and r["_key"][0].overrides == spec.baseline.overrides}
        for r in rows:
            ref = base.get((r["_key"][0].scenario, r["_key"][0].seed))
            r["rate_err_baseline"] = _rel_err(rate(r), ref)
        if "rate_err_baseline" not in metric_cols:
            metric_cols.append("rate_err_baseline")
    cost = [c for c in ("bits_state", "bit_cost") if c in metric_cols]
    metric_cols = cost + sorted(c for c in metric_cols if c not in cost)

    def key(r):
        p = r["_key"][0]
        return ((_sort_value(p.profile), _sort_value(p.scenario))
                + tuple(_sort_value(r["_key"][1].get(k)) for k in okeys)
                + (_sort_value(p.seed), r["point_id"]))

    rows.sort(key=key)
    for r in rows:
        del r["_key"]
    order = {r["point_id"]: i for i, r in enumerate(rows)}
    timings.sort(key=lambda t: order[t["point_id"]])
    columns = (["point_id", "profile", "scenario"] + [f"set.{k}" for k in okeys]
               + ["seed", "status"] + metric_cols + ["message"])
    return columns, rows, timings


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _csv_text(columns, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def write_table(table, out: str | Path) -> list[Path]:
    """Write ``results.csv``, ``timings.csv`` and, with pyarrow, ``results.parquet``."""
    columns, rows, timings = table
    out = Path(out)
    files = [atomic_write(out / "results.csv", lambda fh: fh.write(_csv_text(columns,
                                                                            rows).encode()))]
    tcols = ["point_id", "point_s", "kernel_s", "worker", "run_id", "fxlif_version"]
    files.append(atomic_write(out / "timings.csv",
                              lambda fh: fh.write(_csv_text(tcols, timings).encode())))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return files
    data = {}
    for c in columns:
        vals = [r.get(c) for r in rows]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {int, float} and kinds:
            data[c] = [None if v is None else float(v) for v in vals] if float in kinds else vals
        else:
            data[c] = [None if v is None else _cell(v) for v in vals]
    tbl = pa.table(data)
    files.append(atomic_write(out / "results.parquet", lambda fh: pq.write_table(tbl, fh)))
    return files


def read_table(path: str | Path) -> tuple[list[str], list[dict]]:
    """Read ``results.csv``: columns and rows (numbers parsed, empty cells as None)."""
    with open(path, newline="") as fh:
        r = csv.reader(fh)
        columns = next(r)
        rows = []
        for line in r:
            row = {}
            for c, v in zip(columns, line, strict=False):
                row[c] = _parse_cell(v, c)
            rows.append(row)
    return columns, rows


def _parse_cell(v: str, column: str):
    if v == "":
        return None
    if column in ("point_id", "profile", "scenario", "status", "message", "flags"):
        return v
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v
