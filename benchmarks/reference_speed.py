"""Speed of the float reference solvers, measured side by side in one run.

Prints:
1. numba first-call times (compile, or load from the on-disk cache), apart;
   run with ``NUMBA_CACHE_DIR=$(mktemp -d)`` to see the cold compile time;
2. micro: particle-steps/s of ``reference.micro.simulate_micro`` at P = 1e5 and
   1e6 next to a plain NumPy step (Euler-Maruyama, bridge, cascade by a full
   sort: the obvious implementation, with numpy's own generator), and their
   ratio; then the normals/s of the solver's in-kernel generator (SplitMix64
   hash + ziggurat, ``reference._micro_kernels.normals``) alone next to
   ``numpy.random.Generator.standard_normal``, which bounds the NumPy step;
3. macro: Fokker-Planck steps/s at 1000 and 4000 cells;
4. multiscale vs micro-only at P = P_LARGE on the steady-state case (started
   from the stationary density) and the periodic case (examples/periodic.toml),
   with the speed-up and the error of each.

Times are CPU times of this (single-threaded) process.

Usage: ``python benchmarks/reference_speed.py [--P-large 1000000] [--quick]``.
Short run lengths keep P = 1e6 affordable on a small machine; they are printed.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from reference._micro_kernels import ZIG_TABLES, normals, stream_keys
from reference.lif import NLIFModel
from reference.macro import Grid, simulate_macro
from reference.micro import MicroOptions, ParticleState, particle_step, simulate_micro
from reference.multiscale import sample_particles, simulate_multiscale
from reference.scenario import InitSpec, load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
N_STEADY_B05 = 0.1347789608      # notes/multiscale.md 5, b = 0.5, domain [-4, 2]
SYNC_FRACTION = 0.1              # a step is part of a synchronous event above this


def numpy_step(V, t, dt, model, rng):
    """Plain NumPy micro step (CCP reset, bridge, cascade by sorting)."""
    P = V.size
    a = model.a0
    Vs = V + dt * (-V + model.input(t)) + math.sqrt(2 * a * dt) * rng.standard_normal(P)
    fired = Vs >= model.V_F
    below = ~fired
    prob = np.exp(-(model.V_F - V[below]) * (model.V_F - Vs[below]) / (a * dt))
    fired[below] = rng.random(prob.size) < prob
    k = int(fired.sum())
    if model.b > 0:
        U = np.sort(Vs[~fired])[::-1]
        cond = U + model.b * (k + np.arange(U.size)) / P < model.V_F
        i = int(np.argmax(cond)) if cond.any() else U.size
        if i:
            fired |= (~fired) & (Vs >= U[i - 1])
            k = int(fired.sum())
    return np.where(fired, model.V_R, Vs + model.b * k / P), k


def timed(f, *a, **kw):
    """Return f's output and its CPU time in this process (s).

    The solvers are single-threaded, so CPU time is the cost on an idle core;
    wall time on a shared machine also counts the neighbours (printed apart).
    """
    w0, c0 = time.perf_counter(), time.process_time()
    out = f(*a, **kw)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    WALL.append((cpu, wall))
    return out, cpu


WALL: list[tuple[float, float]] = []


def first_calls():
    model = NLIFModel(b=0.5)
    grid = Grid.for_model(model, -4.0, 0.05)
    p0 = InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0)
    _, t_macro = timed(simulate_macro, model, p0, grid, 0.01, 1e-3)
    # potentials up to 2.5 > V_F: spikes, bridge crossings and a cascade, so that
    # every kernel of the micro step is compiled (or loaded) here, not in the rates
    V0 = np.linspace(0.0, 2.5, 100)
    st = ParticleState(V0, np.zeros(100), 0.0)
    _, t_micro = timed(particle_step, st, 0.0, 1e-3, model, np.random.default_rng(0),
                       MicroOptions())
    _, t_sim = timed(simulate_micro, model, V0, T=2e-3, dt=1e-3, seed=0)
    kn, kr, _ = stream_keys(0)
    _, t_gen = timed(normals, kn, kr, 0, np.empty(10), *ZIG_TABLES)
    print("numba first calls (compile or cache load), s:")
    print(f"  macro kernels {t_macro:.2f}   micro particle_step {t_micro:.2f}"
          f"   simulate_micro {t_sim:.2f}   normal generator {t_gen:.2f}")


def bench_micro(P_values, quick):
    model = NLIFModel(b=0.5)
    dt = 1e-3
    print("\nmicro (b = 0.5, dt = 1e-3), particle-steps/s:")
    print(f"  {'P':>9} {'steps':>6} {'numba':>12} {'numpy':>12} {'ratio':>7}")
    for P in P_values:
        n = max(3, int((2e6 if quick else 2e7) // P))
        V0 = InitSpec("gaussian", 0.0, 0.5).sample(P, np.random.default_rng(1), -4.0, 2.0)
        _, t_nb = timed(simulate_micro, model, V0, T=n * dt, dt=dt, seed=2)
        rng = np.random.default_rng(2)
        V = V0.copy()
        t0 = time.process_time()
        for k in range(n):
            V, _ = numpy_step(V, k * dt, dt, model, rng)
        t_np = time.process_time() - t0
        r_nb, r_np = P * n / t_nb, P * n / t_np
        print(f"  {P:>9.0e} {n:>6} {r_nb:>12.3e} {r_np:>12.3e} {r_nb / r_np:>7.1f}")
    bench_normals(max(P_values), quick)


def bench_normals(P, quick):
    """Normals/s of the solver's generator alone and of numpy's, P at a time."""
    X, F = ZIG_TABLES
    kn, kr, _ = stream_keys(5)
    out = np.empty(P)
    rng = np.random.default_rng(5)
    reps = 5 if quick else 20
    normals(kn, kr, 0, out, X, F)  # compiled in first_calls; this warms the caches
    t0 = time.process_time()
    for r in range(reps):
        normals(kn, kr, r * P, out, X, F)
    t_hash = time.process_time() - t0
    t0 = time.process_time()
    for _ in range(reps):
        rng.standard_normal(out=out)
    t_np = time.process_time() - t0
    print(f"  normals alone, P = {P:.0e}: hash + ziggurat {P * reps / t_hash:.3e}/s,"
          f" numpy standard_normal {P * reps / t_np:.3e}/s")


def bench_macro(quick):
    model = NLIFModel(b=0.5)
    n, dt = (500 if quick else 4000), 1e-3
    print(f"\nmacro (b = 0.5, dt = 1e-3, {n} steps), steps/s:")
    for J in (1000, 4000):
        grid = Grid.for_model(model, -3.0, 5.0 / J)
        p0 = InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0)
        res, wall = timed(simulate_macro, model, p0, grid, n * dt, dt)
        print(f"  {grid.J:>5} cells: {n / wall:>10.0f} steps/s  ({wall / n * 1e6:.0f} us/step,"
              f" {wall / n / grid.J * 1e9:.0f} ns/cell)")


def events(t, N, dt):
    idx = np.nonzero(N * dt > SYNC_FRACTION)[0]
    out = []
    for i in idx:
        if not out or t[i] - out[-1][1] > 3 * dt:
            out.append([t[i], t[i]])
        out[-1][1] = t[i]
    return np.array([e[0] for e in out])


def binned(t, N, width):
    edges = np.arange(0.0, t[-1] + 0.5 * width, width)
    k = np.minimum(np.searchsorted(edges, t[:-1], side="right") - 1, edges.size - 2)
    return np.bincount(k, weights=N * np.diff(t)) / width


def bench_multiscale(P, quick):
    print(f"\nmultiscale vs micro-only at P = {P:.0e} (micro-only = simulate_micro):")
    # steady state, started from the stationary density of the macro solver
    model = NLIFModel(b=0.5)
    grid = Grid.for_model(model, -4.0, 0.01)
    p_inf = simulate_macro(model, InitSpec("gaussian", 0.0, 0.5).density(grid.v, 2.0), grid,
                           20.0, 0.01).snapshot_p[-1]
    T, dt = (0.2 if quick else 1.0), 2e-3
    ms, t_ms = timed(simulate_multiscale, model, p_inf, grid, T, dt, P=P, seed=1)
    V0, _ = sample_particles(p_inf, grid, P, np.random.default_rng(3))
    mi, t_mi = timed(simulate_micro, model, V0, T=T, dt=dt, seed=4)
    e_ms = abs(np.mean(ms.N) / N_STEADY_B05 - 1)
    e_mi = abs(np.mean(mi.N) / N_STEADY_B05 - 1)
    print(f"  steady state (b = 0.5, T = {T}, dt = {dt}, from p_inf):")
    print(f"    cpu: multiscale {t_ms:.2f} s, micro-only {t_mi:.2f} s, speed-up "
          f"{t_mi / t_ms:.0f}x; steps in MICRO {ms.extra['micro_fraction']:.0%}")
    print(f"    mean-rate error vs analytic {N_STEADY_B05}: multiscale {e_ms:.1e},"
          f" micro-only {e_mi:.1e}")
    # periodic input: synchronous events once per period
    sc = load_scenario(EXAMPLES / "periodic.toml")
    grid = Grid.for_model(sc.model, sc.grid.V_min, sc.grid.h)
    p0 = sc.init.density(grid.v, sc.model.V_F)
    T, dt = (2.7 if quick else 3.6), 2e-3
    ms, t_ms = timed(simulate_multiscale, sc.model, p0, grid, T, dt, P=P, seed=1)
    V0, _ = sample_particles(p0, grid, P, np.random.default_rng(3))
    mi, t_mi = timed(simulate_micro, sc.model, V0, T=T, dt=dt, seed=4)
    ev_ms, ev_mi = events(ms.t, ms.N, dt), events(mi.t, mi.N, dt)
    b_ms, b_mi = binned(ms.t, ms.N, 0.05), binned(mi.t, mi.N, 0.05)
    l1 = np.sum(np.abs(b_ms - b_mi)) / np.sum(b_mi)
    print(f"  periodic (examples/periodic.toml, T = {T}, dt = {dt}):")
    print(f"    cpu: multiscale {t_ms:.2f} s, micro-only {t_mi:.2f} s, speed-up "
          f"{t_mi / t_ms:.1f}x; steps in MICRO {ms.extra['micro_fraction']:.0%},"
          f" switches {len(ms.switches)}")
    print(f"    synchronous events: multiscale {np.round(ev_ms, 3)}, micro-only"
          f" {np.round(ev_mi, 3)}")
    if ev_ms.size == ev_mi.size and ev_ms.size:
        print(f"    max event-time difference {np.max(np.abs(ev_ms - ev_mi)):.3f}")
    print(f"    relative L1 difference of the rate in bins of 0.05: {l1:.3f};"
          f" mean rate multiscale {np.mean(ms.N):.4f}, micro-only {np.mean(mi.N):.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--P-large", type=float, default=1e6)
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    args = ap.parse_args()
    P_large = int(args.P_large)
    first_calls()
    bench_micro([100_000, P_large], args.quick)
    bench_macro(args.quick)
    bench_multiscale(P_large, args.quick)
    cpu, wall = np.sum(WALL, axis=0)
    print(f"\nall rates above use CPU time; this run used {cpu:.0f} s CPU in {wall:.0f} s wall"
          f" ({cpu / wall:.0%} of one core)")


if __name__ == "__main__":
    main()
