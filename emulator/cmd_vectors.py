"""Make golden vectors (format fxlif-vectors/1) from the emulator.

``fxlif vectors make --profile NAME --out FILE.npz`` writes ``--cases`` random
cases (seeded: the same ``--seed`` gives a byte-identical file), or the chip
networks of the given scenario files, each run on the emulator with every
state variable recorded after every tick.  ``fxlif verify FILE.npz`` reads
them back; an RTL or firmware team replays them on its own model (see
``docs/property_testing.md``).  A JSON sidecar ``FILE.json`` records how the
file was made.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from emulator.engine import simulate
from emulator.network import Network
from emulator.profile import Profile, list_profiles, load_profile
from emulator.strategies import exponent_bounds, register_bounds, weight_bounds
from emulator.vectors import FORMAT, Case, case_network
from emulator.verify import result_arrays
from reference.errors import InputError

__all__ = ["add_arguments", "make_vectors", "network_case", "random_case", "run",
           "write_npz"]

EDGE_PROBABILITY = 0.2     # share of random register values taken at an edge of the range
INPUT_DENSITY = 0.3        # probability that an input channel spikes in a tick


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``vectors`` subcommands (``make``)."""
    sub = parser.add_subparsers(dest="vectors_command", metavar="ACTION")
    sub.required = True
    p = sub.add_parser("make", help="write golden vectors made by the emulator",
                       description=__doc__)
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="scenario TOML files with a [chip] section (default: random cases)")
    p.add_argument("--profile", required=True, help="shipped profile name (fxlif profiles)")
    p.add_argument("--cases", type=int, default=4, help="random cases (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random cases (default 0)")
    p.add_argument("--ticks", type=int, default=50, help="ticks per random case (default 50)")
    p.add_argument("--neurons", type=int, default=8, help="neurons per random case (default 8)")
    p.add_argument("--inputs", type=int, default=4, help="input channels per random case "
                   "(default 4)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--backend", choices=("numba", "twin"), default="numba",
                   help=argparse.SUPPRESS)


# ---------------------------------------------------------------------------------
# cases

def _rand_int(rng: np.random.Generator, lo: int, hi: int, shape=()) -> np.ndarray:
    """Uniform in lo..hi, with EDGE_PROBABILITY of an edge value (lo, hi, 0, +-1)."""
    vals = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    edges = np.array(sorted({x for x in (lo, hi, 0, 1, -1) if lo <= x <= hi}), dtype=np.int64)
    pick = rng.random(size=shape) < EDGE_PROBABILITY
    return np.where(pick, edges[rng.integers(0, edges.size, size=shape)], vals)


def random_case(profile: Profile, rng: np.random.Generator, *, neurons: int, inputs: int,
                ticks: int) -> dict[str, Any]:
    """Draw a random case of the vectors format (without ``expect/``) for ``profile``.

    Registers are drawn within :func:`emulator.strategies.register_bounds`,
    weights within :func:`~emulator.strategies.weight_bounds`, one exponent
    per source; input spikes with probability ``INPUT_DENSITY`` per channel
    and tick (TrueNorth: 0/1, others: counts up to 2, Xylo up to 3).
    """
    n, n_in = neurons, inputs
    n_syn = profile.weights["types"] if profile.template == "truenorth" else \
        max(s.synapses for s in profile.state.values())
    case: dict[str, Any] = {"profile": profile.name, "steps": ticks}
    top = 1 if profile.template == "truenorth" else (3 if profile.template == "xylo" else 2)
    on = rng.random((ticks, n_in)) < INPUT_DENSITY
    case["input"] = np.where(on, rng.integers(1, top, size=(ticks, n_in), endpoint=True), 0)
    wlo, whi = weight_bounds(profile)
    shape_in = (n, n_in) if n_syn == 1 else (n, n_in, n_syn)
    shape_rec = (n, n) if n_syn == 1 else (n, n, n_syn)
    case["w_in"] = rng.integers(wlo, whi, size=shape_in, endpoint=True)
    sparse = rng.random(shape_rec) < 0.3
    case["w_rec"] = np.where(sparse, rng.integers(wlo, whi, size=shape_rec, endpoint=True), 0)
    e_lo, e_hi = exponent_bounds(profile)
    exp_name = profile.weights["exponent"]
    case[f"param/{exp_name}_in"] = int(rng.integers(e_lo, e_hi, endpoint=True))
    case[f"param/{exp_name}_rec"] = int(rng.integers(e_lo, e_hi, endpoint=True))
    for name, spec in profile.params.items():
        if spec.scope == "projection":
            continue
        lo, hi = register_bounds(profile, name)
        if name == "refractory":
            hi = min(hi, 3)          # a few ticks: longer counters mostly silence the case
        shape = {"population": (), "neuron": (n,), "synapse": (n, n_syn)}[spec.scope]
        case[f"param/{name}"] = _rand_int(rng, lo, hi, shape)
    for name, spec in profile.state.items():
        shape = (n,) if spec.synapses == 1 else (n, spec.synapses)
        lo, hi = spec.range
        case[f"init/{name}"] = _rand_int(rng, lo // 4, hi // 4, shape)
    return case


def _as_case(name: str, case: Mapping[str, Any], file: str) -> Case:
    params = {k[len("param/"):]: np.asarray(v, dtype=np.int64)
              for k, v in case.items() if k.startswith("param/")}
    init = {k[len("init/"):]: np.asarray(v, dtype=np.int64)
            for k, v in case.items() if k.startswith("init/")}
    w_rec = case.get("w_rec")
    return Case(name, case["profile"], int(case["steps"]),
                np.asarray(case["input"], dtype=np.int64),
                np.asarray(case["w_in"], dtype=np.int64),
                None if w_rec is None else np.asarray(w_rec, dtype=np.int64),
                params, init, {}, file)


def network_case(profile: Profile, network: Network, inputs: np.ndarray,
                 ticks: int) -> dict[str, Any]:
    """Write ``network`` in the vectors layout (without ``expect/``).

    Projections are summed per (source, synapse) into ``w_in`` / ``w_rec``;
    every projection of a source must share one exponent and use the
    profile's delay, and the network must be noise-free.  The caller checks
    that the summed network computes the same run (see :func:`make_vectors`).

    Raises
    ------
    InputError
        The network does not fit the format.
    """
    n, n_in = network.n, network.n_in
    if network.noise:
        raise InputError("noise cannot be recorded in fxlif-vectors/1 (no seed field)",
                         file=network.file, key="noise", value=True, allowed="false")
    n_syn = profile.weights["types"] if profile.template == "truenorth" else \
        max(s.synapses for s in profile.state.values())
    exp_name = profile.weights["exponent"]
    mats = {"input": np.zeros((n, n_in, n_syn), np.int64),
            "neurons": np.zeros((n, n, n_syn), np.int64)}
    exps: dict[str, int] = {}
    for k, p in enumerate(network.projections):
        default = profile.input["delay"] if p.source == "input" else \
            profile.input["recurrent_delay"]
        if p.delay is not None and p.delay != default:
            raise InputError("fxlif-vectors/1 holds the profile's delays only", file=network.file,
                             key=f"projections[{k}].delay", value=p.delay, allowed=str(default))
        if exps.setdefault(p.source, p.exponent) != p.exponent:
            raise InputError("fxlif-vectors/1 holds one weight exponent per source",
                             file=network.file, key=f"projections[{k}].exponent",
                             value=p.exponent, allowed=str(exps[p.source]))
        mats[p.source][p.post[0]:p.post[1], p.pre[0]:p.pre[1], p.synapse] += p.dense()
    squeeze = (lambda m: m[:, :, 0]) if n_syn == 1 else (lambda m: m)  # noqa: E731
    case: dict[str, Any] = {"profile": profile.name, "steps": int(ticks),
                            "input": np.asarray(inputs, dtype=np.int64).reshape(ticks, n_in),
                            "w_in": squeeze(mats["input"])}
    if mats["neurons"].any():
        case["w_rec"] = squeeze(mats["neurons"])
    for source, suffix in (("input", "_in"), ("neurons", "_rec")):
        if source in exps:
            case[f"param/{exp_name}{suffix}"] = exps[source]
    for name, spec in profile.params.items():
        if spec.scope != "projection":
            case[f"param/{name}"] = np.asarray(network.params.get(name, spec.default),
                                               dtype=np.int64)
    for name, value in network.init.items():
        case[f"init/{name}"] = np.asarray(value, dtype=np.int64)
    return case


def _expect(profile: Profile, network: Network, inputs, ticks: int, backend: str) -> dict:
    res = simulate(profile, network, inputs, ticks=ticks, trace="all", backend=backend)
    return result_arrays(res, tuple(profile.state))


def make_vectors(profile_name: str, *, cases: int = 4, seed: int = 0, ticks: int = 50,
                 neurons: int = 8, inputs: int = 4, scenarios=(), backend: str = "numba",
                 file: str = "<vectors>") -> dict[str, dict[str, Any]]:
    """Golden-vector cases ``{name: {key: array}}`` made by the emulator.

    Random cases (``random_000``, ...) from ``np.random.default_rng(seed)``,
    or, when ``scenarios`` (paths of scenario files with a ``[chip]`` section)
    are given, one case per file (named by the file's stem).  Expected values
    are the emulator's run of the case *as the vectors file states it*
    (seed 0, as ``fxlif verify`` replays it); for a scenario, the run of its
    original network must agree, or the scenario is rejected.
    """
    if profile_name not in list_profiles():
        raise InputError("vectors name a shipped profile", key="--profile", value=profile_name,
                         allowed=", ".join(list_profiles()))
    for key, value, lo in (("--cases", cases, 1), ("--ticks", ticks, 1),
                           ("--neurons", neurons, 1), ("--inputs", inputs, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise InputError("out of range", key=key, value=value, allowed=f">= {lo}")
    profile = load_profile(profile_name)
    out: dict[str, dict[str, Any]] = {}
    if scenarios:
        from emulator.scenario import load_chip_scenario

        for path in scenarios:
            sc = load_chip_scenario(path)
            net = sc.network(profile)
            inp = sc.inputs()
            case = network_case(profile, net, inp, sc.ticks)
            name = sc.name
            while name in out:
                name += "_"
            stated = case_network(profile, _as_case(name, case, str(path)))
            expect = _expect(profile, stated, inp, sc.ticks, backend)
            original = _expect(profile, net, inp, sc.ticks, backend)
            for var, arr in expect.items():
                if not np.array_equal(arr, original[var]):
                    raise InputError("the scenario's projections do not sum into one weight "
                                     "matrix per source and synapse without changing the run",
                                     file=path, key="chip.projections",
                                     allowed="non-overlapping projections (one per source and "
                                     "synapse)")
            out[name] = {**case, **{f"expect/{k}": v for k, v in expect.items()}}
        return out
    rng = np.random.default_rng(seed)
    for k in range(cases):
        name = f"random_{k:03d}"
        case = random_case(profile, rng, neurons=neurons, inputs=inputs, ticks=ticks)
        net = case_network(profile, _as_case(name, case, file))
        expect = _expect(profile, net, case["input"], ticks, backend)
        out[name] = {**case, **{f"expect/{k2}": v for k2, v in expect.items()}}
    return out


# ---------------------------------------------------------------------------------
# output

def write_npz(path: str | Path, cases: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write cases in ``fxlif-vectors/1`` atomically and reproducibly.

    The same cases give the same bytes: members are written in a fixed order
    with a fixed timestamp (``numpy.savez`` stamps the current time).
    """
    path = Path(path)
    flat = {"format": np.array(FORMAT), "cases": np.array(list(cases))}
    for name, case in cases.items():
        for key, value in case.items():
            arr = np.asarray(value)
            flat[f"{name}/{key}"] = arr.astype(np.int64) if arr.dtype.kind in "iub" else arr
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for key, arr in flat.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array(arr, order="C"), allow_pickle=False)
                info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def run(args: argparse.Namespace) -> int:
    """``fxlif vectors make``: write the file and its JSON sidecar; return 0."""
    from emulator import __version__

    out = Path(args.out)
    if out.suffix != ".npz":
        raise InputError("the output must be a .npz file", key="--out", value=str(out))
    cases = make_vectors(args.profile, cases=args.cases, seed=args.seed, ticks=args.ticks,
                         neurons=args.neurons, inputs=args.inputs, scenarios=args.scenarios,
                         backend=args.backend, file=str(out))
    write_npz(out, cases)
    side = {"format": FORMAT, "made_by": f"fxlif {__version__} vectors make",
            "profile": args.profile, "cases": list(cases),
            "source": ({"scenarios": [str(s) for s in args.scenarios]} if args.scenarios else
                       {"random": {"seed": args.seed, "cases": args.cases, "ticks": args.ticks,
                                   "neurons": args.neurons, "inputs": args.inputs}})}
    sidecar = out.with_suffix(".json")
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(json.dumps(side, indent=2) + "\n")
    os.replace(tmp, sidecar)
    n_values = sum(int(np.asarray(v).size) for c in cases.values() for k, v in c.items()
                   if k.startswith("expect/"))
    print(f"fxlif vectors make: wrote {out}: {len(cases)} case(s), {n_values} expected values "
          f"(profile {args.profile})", file=sys.stderr)
    return 0
