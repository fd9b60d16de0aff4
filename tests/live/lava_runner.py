"""Run Loihi 1 cases through Lava's bit-accurate models; write fxlif-vectors/1.

This script is run by the Python 3.10 interpreter of the Lava venv (see
``.ci/live_setup.sh``), not by the project's Python. It needs only numpy and lava-nc:

    lava-venv/bin/python tests/live/lava_runner.py CASES.npz OUT.npz

``CASES.npz`` is an fxlif-vectors/1 file (``expect/`` keys, if any, are ignored): for
every case, ``input`` (T, n_in) binary spikes, ``w_in`` (n, n_in), ``param/du``,
``param/dv``, ``param/vth``, ``param/weight_exp`` (scalars), ``param/bias_mant``,
``param/bias_exp`` (n,) and optional ``init/u``, ``init/v`` (n,).

Each case is one Lava network run with ``Loihi1SimCfg(select_tag="fixed_pt")``::

    RingBuffer(input.T) -> Dense(w_in, weight_exp)  -> LIF(du, dv, vth, bias, u0, v0)
    (PySendModelFixed)     (PyDenseModelBitAcc)        (PyLifModelBitAcc)

with one ``Monitor`` each on ``LIF.u``, ``LIF.v``, ``LIF.s_out`` and ``Dense.a_out``
(Lava's Monitor records one target). Step t of Lava is tick t of the vectors: the
RingBuffer sends ``input[t-1]``; Dense sends what it computed from the spikes of step
t-1 (0 at t=1), which is what the LIF consumes as ``a_in`` in step t; the Var monitors
read u, v after the spiking phase (after reset). So ``expect/a_in[t-1]`` is the Dense
output the LIF received in tick t (notes/chips.md 1.5-1.6).

``OUT.npz`` holds the input file's keys plus ``<case>/expect/{u,v,spikes,a_in}``
(T, n) int64. A JSON line with the Lava version and per-case wall times goes to stdout.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

FORMAT = "fxlif-vectors/1"


def _scalar(x) -> int:
    a = np.asarray(x)
    if a.size != 1:
        raise ValueError(f"expected one value per population, got shape {a.shape}")
    return int(a.reshape(()))


def run_case(case: dict) -> dict:
    """Run one case (keys without the case prefix); return the ``expect/`` arrays."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi1SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    inp = np.asarray(case["input"], dtype=np.int64)
    w = np.asarray(case["w_in"], dtype=np.int64)
    steps = int(np.asarray(case.get("steps", inp.shape[0])))
    n, n_in = w.shape
    if inp.shape != (steps, n_in):
        raise ValueError(f"input shape {inp.shape}, expected ({steps}, {n_in})")
    if inp.size and (inp.min() < 0 or inp.max() > 1):
        raise ValueError("Lava's Dense (num_message_bits=0) takes binary spikes: input must be 0/1")
    bias_mant = np.broadcast_to(np.asarray(case["param/bias_mant"], np.int64), (n,))
    bias_exp = np.broadcast_to(np.asarray(case["param/bias_exp"], np.int64), (n,))
    u0 = np.asarray(case.get("init/u", np.zeros(n)), np.int64).reshape(n)
    v0 = np.asarray(case.get("init/v", np.zeros(n)), np.int64).reshape(n)

    src = RingBuffer(data=inp.T.astype(np.int32).copy())
    dense = Dense(weights=w.astype(np.int32).copy(),
                  weight_exp=_scalar(case["param/weight_exp"]))
    lif = LIF(shape=(n,),
              u=u0.astype(np.int32).copy(), v=v0.astype(np.int32).copy(),
              du=_scalar(case["param/du"]), dv=_scalar(case["param/dv"]),
              vth=_scalar(case["param/vth"]),
              bias_mant=bias_mant.astype(np.int32).copy(),
              bias_exp=bias_exp.astype(np.int32).copy())
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)

    monitors = {}
    for key, target in (("u", lif.u), ("v", lif.v), ("spikes", lif.s_out),
                        ("a_in", dense.a_out)):
        mon = Monitor()
        mon.probe(target, steps)
        monitors[key] = (mon, target)

    cfg = Loihi1SimCfg(select_tag="fixed_pt")
    lif.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
    try:
        out = {}
        for key, (mon, target) in monitors.items():
            data = mon.get_data()[target.process.name][target.name]
            out[f"expect/{key}"] = np.asarray(data).astype(np.int64).reshape(steps, n)
    finally:
        lif.stop()
    return out


def read_cases(path: str) -> tuple[list[str], dict[str, dict]]:
    """Read a vectors file into (names, {name: {key-without-prefix: array}})."""
    with np.load(path, allow_pickle=False) as f:
        names = [str(c) for c in np.atleast_1d(f["cases"])]
        cases = {c: {} for c in names}
        for key in f.files:
            case, _, rest = key.partition("/")
            if case in cases and rest:
                cases[case][rest] = f[key]
    return names, cases


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: lava_runner.py CASES.npz OUT.npz", file=sys.stderr)
        return 2
    import lava

    names, cases = read_cases(argv[1])
    out = {"format": np.array(FORMAT), "cases": np.array(names)}
    times = {}
    for name in names:
        case = cases[name]
        t0 = time.perf_counter()
        expect = run_case(case)
        times[name] = round(time.perf_counter() - t0, 3)
        for key, val in case.items():
            if not key.startswith("expect/"):
                out[f"{name}/{key}"] = val
        for key, val in expect.items():
            out[f"{name}/{key}"] = val
    np.savez(argv[2], **out)
    version = getattr(lava, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as _v

            version = _v("lava-nc")
        except Exception:
            version = "unknown"
    print(json.dumps({"lava": version, "cases": len(names), "seconds": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
