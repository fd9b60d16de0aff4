"""Throughput of the loihi1 core: numba kernel next to a plain vectorised numpy implementation.

Measures neuron-updates per second (neurons x ticks / seconds) of the loihi1
tick at 10^4, 10^5 and 10^6 neurons, bias-driven and with hardware noise
(uniform 8-bit mantissa << 3 added to v), single thread.  The numpy
implementation has the same semantics (same integer arithmetic, same
counter-based noise hash), and the benchmark checks that both give the same
spike count before it reports their ratio.  Compile time (first call, which
also loads the on-disk cache) is reported apart and excluded from the rates.

Figures on a shared 2-core machine are noisy (+-30 % between runs): the script
reports the best of ``REPEATS`` runs, wall-clock and CPU time.  "kernel" is
:attr:`RunResult.wall_s` (the tick kernels: state updates and the spike raster);
"end-to-end" the whole ``simulate`` call, which also builds the event arrays.
The first line says whether numba may use 512-bit vectors
(:mod:`reference._numba_config`; ``FXLIF_VECTOR_WIDTH=256`` turns it off).

Run:  python benchmarks/core_throughput.py [--quick]
The last line is ``updates_per_s=<float> ratio_vs_numpy=<float>`` for 10^6 neurons with noise.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from emulator import Network, load_profile, simulate  # noqa: E402

REPEATS = 9          # kernel runs per size (best taken); numpy runs are slower, fewer
SIZES = {10**4: 2000, 10**5: 300, 10**6: 60}     # neurons -> ticks
NOISE_EXP = 3
M1, M2, GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), \
    np.uint64(0x9E3779B97F4A7C15)
STREAM = np.uint64(0xD1B54A32D192ED03)


def mix64(z):
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


def numpy_loihi1(n, ticks, bias, du, dv, vth, noise, seed=0):
    """The loihi1 tick on int64 numpy arrays (u wraps as Lava does, v saturates)."""
    u = np.zeros(n, np.int64)
    v = np.zeros(n, np.int64)
    fu, fv, th = 4096 - du - 1, 4096 - dv, vth << 6
    with np.errstate(over="ignore"):
        keys = mix64(np.uint64(seed) + (np.arange(n, dtype=np.uint64) + np.uint64(1)) * GOLD)
    spikes = 0
    for t in range(1, ticks + 1):
        p = u * fu
        u = (p + ((p >> 63) & 4095)) >> 12                     # toward zero
        u = u - (u > 1 << 23) * (1 << 24) + (u <= -(1 << 23)) * (1 << 24)
        q = v * fv
        v = ((q + ((q >> 63) & 4095)) >> 12) + u + bias
        if noise:
            with np.errstate(over="ignore"):
                r = mix64(keys ^ mix64(np.uint64(t) * GOLD + np.uint64(0) * STREAM))
            v += (((r >> np.uint64(56)).astype(np.int64)) - 128) << NOISE_EXP
        np.clip(v, -(2**23 - 1), 2**23 - 1, out=v)
        s = v > th
        spikes += int(s.sum())
        v[s] = 0
    return spikes


def best(f, repeats=REPEATS):
    """Best wall, best CPU and best kernel time of ``repeats`` calls, and the last value."""
    walls, cpus, kernels = [], [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        val = f()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        kernels.append((val.wall_s, val.cpu_s) if hasattr(val, "wall_s") else (0.0, 0.0))
    return min(walls), min(cpus), min(kernels), val


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer ticks (smoke test)")
    args = ap.parse_args()
    profile = load_profile("loihi1")
    rng = np.random.default_rng(0)
    from reference._numba_config import WIDE_VECTORS
    print("numba vectors:", "512-bit allowed (FXLIF_VECTOR_WIDTH=256 to turn off)" if WIDE_VECTORS
          else "LLVM's default width for this CPU")
    print(f"{'neurons':>8} {'noise':>6} {'ticks':>6} {'kernel M/s':>11} {'(cpu)':>7} "
          f"{'end-to-end':>11} {'numpy M/s':>10} {'ratio':>6}  spikes equal")
    last = None
    for n, ticks in SIZES.items():
        if args.quick:
            ticks = max(5, ticks // 10)
        bias_mant = rng.integers(0, 160, n)
        for noise in (False, True):
            net = Network(n=n, params=dict(du=409, dv=205, vth=100, bias_mant=bias_mant,
                                           bias_exp=3, noise_exp=NOISE_EXP),
                          noise=noise, noise_kind="uniform" if noise else None)
            t0 = time.perf_counter()
            simulate(profile, net, ticks=2)
            first_call = time.perf_counter() - t0
            wall, _, (k_wall, k_cpu_s), res = best(
                lambda net=net, ticks=ticks: simulate(profile, net, ticks=ticks))
            nw, nc, _, np_spikes = best(
                lambda n=n, ticks=ticks, b=bias_mant << 3, noise=noise:
                numpy_loihi1(n, ticks, b, 409, 205, 100, noise), repeats=2 if n >= 10**6 else 3)
            upd = n * ticks
            k_rate, k_cpu = upd / k_wall, upd / k_cpu_s
            np_rate = upd / nw
            same = int(res.spike_count.sum()) == np_spikes
            print(f"{n:>8} {str(noise):>6} {ticks:>6} {k_rate / 1e6:>11.1f} {k_cpu / 1e6:>7.1f} "
                  f"{upd / wall / 1e6:>11.1f} {np_rate / 1e6:>10.1f} {k_rate / np_rate:>6.1f}  "
                  f"{same}   (first call incl. compile/cache load {first_call:.2f} s)")
            if not same:
                raise SystemExit("numpy and kernel disagree: the comparison is void")
            last = (k_rate, k_rate / np_rate)
    print(f"updates_per_s={last[0]:.4g} ratio_vs_numpy={last[1]:.4g}")


if __name__ == "__main__":
    main()
