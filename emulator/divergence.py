"""Divergence maps: the flags and the predicted-rate error over a plane of two parameters (SPEC 7).

:func:`divergence_map` evaluates :func:`emulator.flags.evaluate_flags` (the
mean-field path only: no emulator run) at every point of an ``nx x ny`` grid
of two parameters.  A parameter is either a scenario key ``section.key`` of
:mod:`reference.scenario` (``input.I0``, ``model.a``, ``model.b``,
``run.dt``, ``network.P``, ...) or a profile override (``state_bits``,
``state.v.bits``, ...).  At every point it records the predicted-rate error
``|predicted - float| / float`` (quantised mean field vs the float model's
stationary rate) and which flags are raised.  :func:`spot_check` then runs
the emulator at chosen points (the worst, and random ones) and compares the
measured rate (last half of the run) with the prediction.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from emulator.flags import FLAG_NAMES, evaluate_flags
from emulator.io import atomic_write, write_json, write_npz
from emulator.profile import load_profile
from reference.errors import InputError
from reference.scenario import SECTION_KEYS, Scenario, load_scenario, scenario_from_dict

__all__ = ["DivergenceMap", "apply_point", "divergence_map", "parse_axis", "parse_range",
           "spot_check", "write_divergence"]

#: Largest number of points on one axis (the map is meant to be cheap).
MAX_AXIS_POINTS = 200
#: Integer-valued keys (rounded at each grid point).
INTEGER_KEYS = ("network.P", "run.seed")


def parse_range(key: str, text: str) -> np.ndarray:
    """Parse ``start:stop:n`` into ``n`` evenly spaced values; raise InputError if malformed."""
    parts = str(text).split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError("a range is start:stop:n", key=key, value=text,
                         allowed="e.g. 0:1:5") from None
    if not (math.isfinite(start) and math.isfinite(stop)) or not 1 <= n <= MAX_AXIS_POINTS:
        raise InputError("a range is start:stop:n with finite ends and 1 <= n <= "
                         f"{MAX_AXIS_POINTS}", key=key, value=text)
    return np.linspace(start, stop, n)


def parse_axis(flag: str, text: str) -> tuple[str, np.ndarray]:
    """Parse ``KEY=start:stop:n`` (the ``--x``/``--y`` argument) into (key, values)."""
    key, sep, rng = str(text).partition("=")
    if not sep or not key.strip():
        raise InputError("an axis is KEY=start:stop:n", key=flag, value=text,
                         allowed="e.g. input.I0=0:2:5")
    return key.strip(), parse_range(flag, rng.strip())


def _is_scenario_key(key: str) -> bool:
    return key.partition(".")[0] in SECTION_KEYS


def apply_point(scenario: Scenario, overrides: Mapping[str, Any],
                values: Mapping[str, float]) -> tuple[Scenario, dict[str, Any]]:
    """Return the scenario and profile overrides with ``values`` set (keys as in the module doc)."""
    raw = copy.deepcopy(scenario.raw)
    ov = dict(overrides)
    for key, val in values.items():
        if key in INTEGER_KEYS:
            val = int(round(val))
        if _is_scenario_key(key):
            sec, _, name = key.partition(".")
            if name == "a":   # a is an alias of a0 (drop the other spelling)
                raw.get(sec, {}).pop("a0", None)
            raw.setdefault(sec, {})[name] = float(val) if not isinstance(val, int) else val
        else:
            ov[key] = int(round(val)) if float(val).is_integer() else float(val)
    return scenario_from_dict(raw, file=scenario.file), ov


def _check_key(key: str, scenario: Scenario, profile: str, overrides, flag: str) -> None:
    if _is_scenario_key(key):
        sec, _, name = key.partition(".")
        if name not in SECTION_KEYS[sec]:
            raise InputError("unknown scenario key", key=flag, value=key,
                             allowed=", ".join(f"{sec}.{k}" for k in SECTION_KEYS[sec]))
        return
    try:
        load_profile(profile, **{**dict(overrides), key: 1})
    except InputError as exc:
        if "unknown override" in str(exc.message):
            raise InputError("neither a scenario key (section.key) nor a profile override",
                             key=flag, value=key,
                             allowed="e.g. input.I0, model.a, model.b, run.dt, state_bits")\
                from None
        # any other complaint is about the probe value 1, not the key


@dataclass
class DivergenceMap:
    """The grid of :func:`divergence_map`.

    Attributes
    ----------
    x_key, y_key : str
    x, y : float ndarray, shapes (nx,), (ny,)
    predicted, reference : float ndarray, shape (ny, nx)
        Quantised mean-field and float stationary rates (model units; NaN where none).
    error : float ndarray, shape (ny, nx)
        ``|predicted - reference| / reference``.
    flags : bool ndarray, shape (len(FLAG_NAMES), ny, nx)
        Whether each flag of :data:`emulator.flags.FLAG_NAMES` is raised.
    severity : int ndarray, shape (len(FLAG_NAMES), ny, nx)
        0 none, 1 info, 2 warning, 3 error.
    failed : list of str
        ``"x, y: reason"`` where the point could not be evaluated (NaN there).
    spots : list of dict
        Spot checks (:func:`spot_check`).
    """

    scenario: Scenario
    profile: str
    overrides: dict
    x_key: str
    x: np.ndarray
    y_key: str
    y: np.ndarray
    predicted: np.ndarray
    reference: np.ndarray
    error: np.ndarray
    flags: np.ndarray
    severity: np.ndarray
    failed: list = field(default_factory=list)
    spots: list = field(default_factory=list)

    def flag_grid(self, name: str) -> np.ndarray:
        """Bool (ny, nx): where flag ``name`` is raised."""
        return self.flags[FLAG_NAMES.index(name)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: axes, the grids as nested lists, spot checks."""
        from emulator import __version__
        return {"scenario": self.scenario.file, "profile": self.profile,
                "overrides": self.overrides, "fxlif_version": __version__,
                "x": {"key": self.x_key, "values": self.x}, "y": {"key": self.y_key,
                                                                  "values": self.y},
                "predicted_rate": self.predicted, "reference_rate": self.reference,
                "rate_error": self.error,
                "flags": {n: self.flags[i] for i, n in enumerate(FLAG_NAMES)
                          if self.flags[i].any()},
                "failed": self.failed, "spot_checks": self.spots}


_SEV = {"info": 1, "warning": 2, "error": 3}


def divergence_map(scenario: Scenario | str | Path, profile: str, x: tuple[str, Sequence[float]],
                   y: tuple[str, Sequence[float]], *, overrides: Mapping[str, Any] | None = None,
                   P: int | None = None, method: str = "auto") -> DivergenceMap:
    """Evaluate the flags and the predicted-rate error on the grid ``x`` by ``y``.

    Parameters
    ----------
    scenario : Scenario or path
    profile : str
        Profile name or TOML file.
    x, y : (key, values)
        The two parameters (module docstring) and their values.
    overrides : mapping, optional
        Profile overrides at every point.
    P : int, optional
        Network size (default: the scenario's).
    method : {"auto", "chain", "diffusion"}
        The quantised prediction (:func:`emulator.meanfield.predict`).

    Returns
    -------
    DivergenceMap
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    overrides = dict(overrides or {})
    (xk, xv), (yk, yv) = x, y
    if xk == yk:
        raise InputError("the two axes need different keys", key="--y", value=yk)
    _check_key(xk, sc, profile, overrides, "--x")
    _check_key(yk, sc, profile, overrides, "--y")
    xv, yv = np.asarray(xv, dtype=float), np.asarray(yv, dtype=float)
    shape = (yv.size, xv.size)
    pred, ref, err = (np.full(shape, np.nan) for _ in range(3))
    flags = np.zeros((len(FLAG_NAMES),) + shape, dtype=bool)
    sev = np.zeros((len(FLAG_NAMES),) + shape, dtype=np.int8)
    failed = []
    kw = {} if P is None else {"P": int(P)}
    profiles = {}   # loaded once per distinct set of profile overrides, not once per point
    for j, yval in enumerate(yv):
        for i, xval in enumerate(xv):
            try:
                s, ov = apply_point(sc, overrides, {xk: xval, yk: yval})
                key = tuple(sorted(ov.items()))
                if key not in profiles:
                    profiles[key] = load_profile(profile, **ov)
                rep = evaluate_flags(scenario=s, profile=profiles[key], method=method, **kw)
            except InputError as exc:
                failed.append(f"{xk}={xval:g}, {yk}={yval:g}: {exc.one_line()}")
                continue
            pred[j, i], ref[j, i] = rep.predicted_rate, rep.reference_rate
            if ref[j, i] > 0 and math.isfinite(pred[j, i]):
                err[j, i] = abs(pred[j, i] - ref[j, i]) / ref[j, i]
            for f in rep.flags:
                k = FLAG_NAMES.index(f.name)
                flags[k, j, i] = True
                sev[k, j, i] = _SEV.get(f.severity, 1)
    return DivergenceMap(sc, profile, overrides, xk, xv, yk, yv, pred, ref, err, flags, sev,
                         failed)


def spot_check(dmap: DivergenceMap, n: int, *, seed: int = 0, P: int | None = None,
               T: float | None = None, seeds: Sequence[int] = (0,)) -> list[dict]:
    """Run the emulator at ``n`` points: the worst predicted error, then random ones.

    The measured rate is the time average over the last half of the run
    (``T`` default: the scenario's), in model units; ``rel_diff`` is
    ``|measured - predicted| / predicted``.  Appends to ``dmap.spots`` and returns them.
    """
    from emulator.engine import simulate
    from emulator.mapping import map_model

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError("must be an integer >= 0", key="--spot", value=n)
    ok = np.argwhere(np.isfinite(dmap.predicted))
    if n == 0 or not ok.size:
        return dmap.spots
    errs = np.where(np.isfinite(dmap.error), dmap.error, -1.0)
    chosen = [tuple(np.unravel_index(int(np.argmax(errs)), errs.shape))]
    rng = np.random.default_rng(seed)
    rest = [tuple(p) for p in ok[rng.permutation(len(ok))] if tuple(p) != chosen[0]]
    chosen += rest[:n - 1]
    for j, i in chosen:
        s, ov = apply_point(dmap.scenario, dmap.overrides,
                            {dmap.x_key: dmap.x[i], dmap.y_key: dmap.y[j]})
        prof = load_profile(dmap.profile, **ov)
        kw = {k: v for k, v in (("P", P), ("T", T)) if v is not None}
        mp = map_model(s, prof, **kw)
        res = simulate(prof, mp.network, ticks=mp.ticks, seeds=tuple(seeds))
        half = mp.ticks // 2
        measured = float(res.rate[:, half:].mean() / (mp.network.n * mp.dt))
        p = float(dmap.predicted[j, i])
        dmap.spots.append({
            "x": float(dmap.x[i]), "y": float(dmap.y[j]), "ix": int(i), "iy": int(j),
            "why": "worst" if (j, i) == chosen[0] else "random",
            "predicted": p, "measured": measured, "reference": float(dmap.reference[j, i]),
            "rel_diff": abs(measured - p) / p if p > 0 else math.nan,
            "spikes": int(res.rate[:, half:].sum()), "wall_s": float(res.wall_s)})
    return dmap.spots


def write_divergence(dmap: DivergenceMap, out: str | Path, *, plots: bool = True,
                     stem: str = "divergence") -> list[Path]:
    """Write ``<stem>.npz``, ``<stem>.csv``, ``<stem>.json`` and ``<stem>.png``; return the paths."""
    out = Path(out)
    arrays = {"x": dmap.x, "y": dmap.y, "predicted_rate": dmap.predicted,
              "reference_rate": dmap.reference, "rate_error": dmap.error,
              "flags": dmap.flags, "severity": dmap.severity,
              "flag_names": np.array(FLAG_NAMES)}
    files = [write_npz(out / f"{stem}.npz", arrays)]
    lines = [",".join([dmap.x_key, dmap.y_key, "predicted_rate", "reference_rate",
                       "rate_error", *FLAG_NAMES])]
    for j, yv in enumerate(dmap.y):
        for i, xv in enumerate(dmap.x):
            lines.append(",".join([repr(float(xv)), repr(float(yv)),
                                   *(repr(float(a[j, i])) for a in (dmap.predicted,
                                                                   dmap.reference, dmap.error)),
                                   *(str(int(dmap.severity[k, j, i]))
                                     for k in range(len(FLAG_NAMES)))]))
    text = "\n".join(lines) + "\n"
    files.append(atomic_write(out / f"{stem}.csv", lambda fh: fh.write(text.encode())))
    files.append(write_json(out / f"{stem}.json", dmap.to_dict()))
    if plots:
        files.append(plot_divergence(dmap, out / f"{stem}.png"))
    return files


def plot_divergence(dmap: DivergenceMap, path: str | Path) -> Path:
    """Heatmap of the predicted-rate error with every raised flag's region hatched."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from emulator.plots import save
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ext = (dmap.x[0], dmap.x[-1], dmap.y[0], dmap.y[-1])
    nx, ny = dmap.x.size, dmap.y.size
    dx = (ext[1] - ext[0]) / max(nx - 1, 1) / 2 or 0.5
    dy = (ext[3] - ext[2]) / max(ny - 1, 1) / 2 or 0.5
    im = ax.imshow(np.log10(np.maximum(dmap.error, 1e-6)), origin="lower", aspect="auto",
                   extent=(ext[0] - dx, ext[1] + dx, ext[2] - dy, ext[3] + dy), cmap="magma")
    fig.colorbar(im, ax=ax, label="log10 |predicted - float| / float")
    hatches = ["//", "\\\\", "xx", "..", "oo", "++", "--", "||", "**"]
    handles = []
    X, Y = np.meshgrid(dmap.x, dmap.y)
    for k, name in enumerate(FLAG_NAMES):
        g = dmap.flags[k]
        if not g.any():
            continue
        h = hatches[k % len(hatches)]
        for (j, i) in np.argwhere(g):
            ax.add_patch(plt.Rectangle((X[j, i] - dx, Y[j, i] - dy), 2 * dx, 2 * dy,
                                       fill=False, hatch=h, edgecolor="C%d" % k, lw=0))
        handles.append(Patch(fill=False, hatch=h, edgecolor="C%d" % k, label=name))
    for s in dmap.spots:
        ax.plot(s["x"], s["y"], "c^", ms=8)
        ax.annotate(f"{s['rel_diff']:.2g}", (s["x"], s["y"]), color="c", fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.25, 1))
    ax.set_xlabel(dmap.x_key)
    ax.set_ylabel(dmap.y_key)
    ax.set_title(f"{dmap.profile}: predicted rate error and flags")
    return save(fig, path)
