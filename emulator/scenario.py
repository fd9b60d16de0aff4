"""Chip scenarios: the ``[chip]`` section of a scenario TOML file, in register units.

A scenario file may hold a float model (``[model]``, ``[network]``, ... read
by :mod:`reference.scenario`) and a chip network (``[chip]``, read here).
The chip section states the network in each profile's own register units::

    [chip]
    neurons = 64            # neurons of the core
    inputs = 8              # input channels
    ticks = 500
    seeds = [1]             # one batched run per seed
    trace = [0, 1, 2]       # neurons whose state is recorded every tick ("all" for all)
    noise = false           # switch on the profile's noise source (or a list of profile names)

    [chip.input]            # spikes on the input channels
    kind = "poisson"        # poisson | regular | none
    rate = 0.1              # spikes per channel and tick (poisson, regular)
    seed = 7

    [chip.params.loihi1]    # registers per profile: scalars or one value per neuron
    du = 409
    bias_mant = [0, 20, ...]

    [[chip.projections]]    # synapses; weights are in each profile's weight units
    source = "input"        # input | neurons
    kind = "dense"          # dense | sparse | all_to_all
    weights = "random"      # a matrix, "random" (uniform in weight_range), or one int (all_to_all)
    weight_range = [-60, 60]
    density = 1.0           # fraction of nonzero random weights (sparse)
    seed = 3
    pre = [0, 8]            # source index range (default: all)
    post = [0, 64]          # target index range (default: all)
    exponent = 0            # the profile's weight exponent register (or per profile:
                            # [chip.projections.exponent_by_profile] loihi1 = 0)
    delay = 1               # ticks (default: the profile's)
    synapse = 0

Profiles without a ``[chip.params.<name>]`` table run with their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from emulator.network import Network, NetworkError, Projection
from emulator.profile import Profile
from reference.toml_io import read_toml

__all__ = ["ChipScenario", "load_chip_scenario"]

INPUT_KINDS = ("poisson", "regular", "none")
_TOP = {"neurons", "inputs", "ticks", "seeds", "trace", "noise", "noise_kind", "input",
        "params", "projections", "init"}
_PROJ = {"source", "kind", "weights", "weight_range", "density", "seed", "pre", "post",
         "exponent", "exponent_by_profile", "delay", "synapse"}


@dataclass(frozen=True)
class ChipScenario:
    """A parsed ``[chip]`` section; :meth:`network` builds it for one profile."""

    file: str
    name: str
    raw: dict
    ticks: int
    seeds: tuple[int, ...]
    trace: Any

    def _fail(self, key, value, message, allowed=None):
        raise NetworkError(message, file=self.file, key=f"chip.{key}", value=value,
                           allowed=allowed)

    def _int(self, d, key, name, lo, hi=None, default=None):
        v = d.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
            self._fail(f"{key}{name}", v, "must be an integer",
                       f"{lo}..{hi}" if hi is not None else f">= {lo}")
        return v

    def inputs(self) -> np.ndarray:
        """Input spike counts (ticks, n_in) from ``[chip.input]`` (seeded, reproducible)."""
        n_in = self.raw.get("inputs", 0)
        spec = dict(self.raw.get("input", {"kind": "none"}))
        kind = spec.get("kind", "none")
        if kind not in INPUT_KINDS:
            self._fail("input.kind", kind, "unknown input kind", ", ".join(INPUT_KINDS))
        if kind == "none" or n_in == 0:
            return np.zeros((self.ticks, n_in), dtype=np.int64)
        rate = spec.get("rate", 0.1)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            self._fail("input.rate", rate, "spikes per channel and tick", "0..1")
        if kind == "poisson":
            rng = np.random.default_rng(spec.get("seed", 0))
            return (rng.random((self.ticks, n_in)) < rate).astype(np.int64)
        period = max(1, round(1 / rate)) if rate > 0 else self.ticks + 1
        t = np.arange(self.ticks)[:, None] + np.arange(n_in)[None, :]
        return (t % period == 0).astype(np.int64)

    def network(self, profile: Profile) -> Network:
        """The network of this scenario in ``profile``'s registers."""
        raw = self.raw
        n = self._int(raw, "", "neurons", 1)
        n_in = self._int(raw, "", "inputs", 0, default=0)
        params_all = raw.get("params", {})
        if not isinstance(params_all, dict):
            self._fail("params", "...", "must be a table of per-profile tables")
        params = {}
        for key, value in params_all.get(profile.name, {}).items():
            arr = np.asarray(value)
            if arr.dtype.kind not in "iu":
                self._fail(f"params.{profile.name}.{key}", value, "must be integers")
            params[key] = arr.astype(np.int64) if arr.ndim else int(arr)
        projections = []
        for k, p in enumerate(raw.get("projections", [])):
            projections.append(self._projection(k, p, profile, n, n_in))
        init = {k: np.asarray(v, dtype=np.int64) for k, v in
                raw.get("init", {}).get(profile.name, {}).items()}
        noise = raw.get("noise", False)
        if isinstance(noise, list) and all(isinstance(x, str) for x in noise):
            noise = profile.name in noise
        if not isinstance(noise, bool):
            self._fail("noise", noise, "must be true, false or a list of profile names")
        return Network(n=n, n_in=n_in, params=params, projections=tuple(projections), init=init,
                       noise=noise, noise_kind=raw.get("noise_kind"), file=self.file)

    def _projection(self, k, p, profile, n, n_in) -> Projection:
        key = f"projections[{k}]."
        for name in p:
            if name not in _PROJ:
                self._fail(key + name, p[name], "unknown key", ", ".join(sorted(_PROJ)))
        source = p.get("source", "input")
        n_src = n_in if source == "input" else n
        pre = tuple(p.get("pre", [0, n_src]))
        post = tuple(p.get("post", [0, n]))
        kind = p.get("kind", "dense")
        shape = (post[1] - post[0], pre[1] - pre[0])
        w = p.get("weights", "random")
        if kind == "all_to_all":
            if isinstance(w, bool) or not isinstance(w, int):
                self._fail(key + "weights", w, "an all_to_all projection has one integer weight")
            weights = w
        elif isinstance(w, str):
            if w != "random":
                self._fail(key + "weights", w, "unknown weights", "a matrix, 'random' or an int")
            lo, hi = p.get("weight_range", [-8, 8])
            rng = np.random.default_rng(p.get("seed", k))
            weights = rng.integers(lo, hi + 1, size=shape)
            density = p.get("density", 1.0)
            if not isinstance(density, (int, float)) or not 0 < density <= 1:
                self._fail(key + "density", density, "fraction of nonzero weights", "(0, 1]")
            if density < 1:
                weights = weights * (rng.random(shape) < density)
        else:
            weights = np.asarray(w)
            if weights.dtype.kind not in "iu":
                self._fail(key + "weights", "...", "must be integers")
        if kind == "sparse":
            weights = sp.csr_matrix(np.asarray(weights, dtype=np.int64))
        exp = p.get("exponent_by_profile", {}).get(profile.name, p.get("exponent", 0))
        return Projection(source, kind, weights, pre, post, synapse=p.get("synapse", 0),
                          exponent=exp, delay=p.get("delay"))


def load_chip_scenario(path: str | Path) -> ChipScenario:
    """Read the ``[chip]`` section of a scenario file; raise :class:`NetworkError` if bad."""
    path = Path(path)
    raw = read_toml(path, NetworkError)
    chip = raw.get("chip")
    if not isinstance(chip, dict):
        raise NetworkError("no [chip] section: this scenario has no chip network", file=path,
                           key="chip", allowed="a [chip] table (see examples/chip/)")
    for k in chip:
        if k not in _TOP:
            raise NetworkError("unknown key", file=path, key=f"chip.{k}", value=chip[k],
                               allowed=", ".join(sorted(_TOP)))
    ticks = chip.get("ticks")
    if isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 1:
        raise NetworkError("must be a positive integer", file=path, key="chip.ticks",
                           value=ticks)
    n = chip.get("neurons")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NetworkError("neuron count must be a positive integer", file=path,
                           key="chip.neurons", value=n, allowed=">= 1")
    seeds = chip.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise NetworkError("must be a non-empty list of integers", file=path, key="chip.seeds",
                           value=seeds)
    return ChipScenario(str(path), path.stem, chip, ticks, tuple(seeds), chip.get("trace"))
