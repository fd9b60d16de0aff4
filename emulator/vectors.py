"""Golden vectors in the ``fxlif-vectors/1`` format (``shared/oracles/FORMAT.md``).

A file is a flat ``.npz``: ``format``, ``cases`` and, per case, ``<case>/profile``,
``/steps``, ``/input`` (T, n_in), ``/w_in`` (n, n_in[, n_syn]), optional
``/w_rec`` (n, n[, n_syn]), ``/param/<name>``, optional ``/init/<var>`` and
``/expect/<var>`` (T, n[, n_syn]) of the state after each tick.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from emulator.network import Network, Projection
from emulator.profile import Profile
from reference.errors import InputError

__all__ = ["FORMAT", "Case", "VectorsError", "case_network", "read_vectors", "write_vectors"]

FORMAT = "fxlif-vectors/1"


class VectorsError(InputError):
    """A golden-vector file is malformed."""


@dataclass(frozen=True)
class Case:
    """One test case of a golden-vector file (arrays as stored, int64)."""

    name: str
    profile: str
    steps: int
    input: np.ndarray
    w_in: np.ndarray
    w_rec: np.ndarray | None
    params: Mapping[str, np.ndarray]
    init: Mapping[str, np.ndarray]
    expect: Mapping[str, np.ndarray]
    file: str


def read_vectors(path: str | Path) -> list[Case]:
    """Read and check the structure of a golden-vector file; raise :class:`VectorsError`."""
    path = str(path)
    try:
        data = np.load(path, allow_pickle=False)
        keys = set(data.files)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise VectorsError(f"cannot read as .npz: {exc}", file=path) from None

    def get(key, ndim=None):
        if key not in keys:
            raise VectorsError("missing key", file=path, key=key)
        try:
            arr = data[key]
        except ValueError as exc:
            raise VectorsError(f"unreadable array: {exc}", file=path, key=key) from None
        if ndim is not None and arr.ndim not in ndim:
            raise VectorsError("wrong number of dimensions", file=path, key=key,
                               value=f"shape {arr.shape}",
                               allowed=" or ".join(f"{d}-d" for d in ndim))
        return arr

    fmt = str(get("format", (0,)))
    if fmt != FORMAT:
        raise VectorsError("unknown format", file=path, key="format", value=fmt, allowed=FORMAT)
    cases = []
    for name in [str(c) for c in get("cases", (1,))]:
        pre = f"{name}/"
        steps = int(get(pre + "steps", (0,)))
        inp = get(pre + "input", (2,)).astype(np.int64)
        w_in = get(pre + "w_in", (2, 3)).astype(np.int64)
        if inp.shape[0] != steps:
            raise VectorsError("rows must equal steps", file=path, key=pre + "input",
                               value=f"shape {inp.shape}", allowed=f"({steps}, n_in)")
        n = w_in.shape[0]
        if w_in.shape[1] != inp.shape[1]:
            raise VectorsError("columns must equal the input channels", file=path,
                               key=pre + "w_in", value=f"shape {w_in.shape}",
                               allowed=f"(n, {inp.shape[1]}[, n_syn])")
        w_rec = get(pre + "w_rec", (2, 3)).astype(np.int64) if pre + "w_rec" in keys else None
        params = {k[len(pre + "param/"):]: get(k).astype(np.int64)
                  for k in sorted(keys) if k.startswith(pre + "param/")}
        init = {k[len(pre + "init/"):]: get(k).astype(np.int64)
                for k in sorted(keys) if k.startswith(pre + "init/")}
        expect = {}
        for k in sorted(keys):
            if k.startswith(pre + "expect/"):
                arr = get(k, (2, 3)).astype(np.int64)
                if arr.shape[:2] != (steps, n):
                    raise VectorsError("expected values have the wrong shape", file=path,
                                       key=k, value=f"shape {arr.shape}",
                                       allowed=f"({steps}, {n}[, n_syn])")
                expect[k[len(pre + "expect/"):]] = arr
        if not expect:
            raise VectorsError("missing key", file=path, key=pre + "expect/<var>")
        cases.append(Case(name, str(get(pre + "profile", (0,))), steps, inp, w_in, w_rec,
                          params, init, expect, path))
    return cases


def _projection_param(params, name, source):
    suffix = "_in" if source == "input" else "_rec"
    for key in (name + suffix, name):
        if key in params:
            return int(params[key]), key
    return None, None


def case_network(profile: Profile, case: Case) -> Network:
    """Build the :class:`Network` of a case for ``profile`` (weights, registers, initial state)."""
    exp_name = profile.weights["exponent"]
    params, used = {}, set()
    projections = []
    for source, w in (("input", case.w_in), ("neurons", case.w_rec)):
        if w is None:
            continue
        exp, key = _projection_param(case.params, exp_name, source)
        if key:
            used.add(key)
        exp = profile.params[exp_name].default if exp is None else exp
        mats = [w] if w.ndim == 2 else [w[:, :, s] for s in range(w.shape[2])]
        for s, m in enumerate(mats):
            if m.size == 0 or (source == "neurons" and not m.any()):
                continue            # no input channels, or no recurrent synapses
            projections.append(Projection(source, "dense", m, (0, m.shape[1]), (0, m.shape[0]),
                                          synapse=s, exponent=exp))
    for key, value in case.params.items():
        if key in used:
            continue
        if key not in profile.params:
            raise VectorsError(f"not a register of profile {profile.name!r}", file=case.file,
                               key=f"{case.name}/param/{key}", value="...",
                               allowed=", ".join(profile.params))
        params[key] = value
    return Network(n=case.w_in.shape[0], n_in=case.w_in.shape[1], params=params,
                   projections=tuple(projections), init=dict(case.init), file=case.file)


def write_vectors(path: str | Path, cases: Mapping[str, Mapping[str, np.ndarray]]) -> Path:
    """Write cases (``{name: {"profile": ..., "steps": ..., "input": ..., ...}}``) atomically.

    Each case maps the per-case keys of the format (``profile``, ``steps``,
    ``input``, ``w_in``, optional ``w_rec``, ``param/<name>``, ``init/<var>``,
    ``expect/<var>``) to values.
    """
    path = Path(path)
    flat = {"format": np.array(FORMAT), "cases": np.array(list(cases))}
    for name, case in cases.items():
        for key, value in case.items():
            flat[f"{name}/{key}"] = np.asarray(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **flat)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
