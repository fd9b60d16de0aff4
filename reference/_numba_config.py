"""Process-wide numba setting of fxlif: 512-bit vectors on AVX-512 machines.

LLVM's tuning for recent Intel cores (Skylake-SP, Ice Lake, Rocket Lake, ...)
carries the ``prefer-256-bit`` preference: its loop vectoriser keeps to ymm
registers even where the CPU has AVX-512, because wide instructions lowered
the clock of the first AVX-512 parts.  fxlif's kernels are long integer loops
over neurons and particles; with 512-bit vectors the loihi1 tick runs about
1.4 times faster on the machine the benchmarks were measured on
(``benchmarks/core_throughput.py``).  Results are bit-identical either way:
only the instruction selection changes.

On import of :mod:`reference` (and so of :mod:`emulator`) this module adds
``-prefer-256-bit`` to the CPU features numba compiles for, when

- the host CPU has AVX-512F (numba's own host-feature query),
- the user has not chosen features or a CPU model (``NUMBA_CPU_FEATURES``,
  ``NUMBA_CPU_NAME``), and
- ``FXLIF_VECTOR_WIDTH`` is not ``256`` (set it to keep LLVM's default).

It sets ``numba.config.CPU_FEATURES`` (not the environment, so child
processes are unaffected), which numba reads when it creates its code
generator, at the first compilation of the process: if numba code was
compiled before fxlif was imported, the setting has no effect.  numba keys
its on-disk cache by CPU features, so the two settings never share entries.
The setting applies to every numba function of the process, not only fxlif's.
"""

from __future__ import annotations

import os

ENV_VAR = "FXLIF_VECTOR_WIDTH"
WIDE_TUNING = "-prefer-256-bit"


def wide_vector_features() -> str | None:
    """The feature string with 512-bit vectors allowed, or None where it does not apply."""
    if os.environ.get(ENV_VAR, "").strip() == "256":
        return None
    if os.environ.get("NUMBA_CPU_FEATURES") or os.environ.get("NUMBA_CPU_NAME"):
        return None
    from numba.core.codegen import get_host_cpu_features

    features = get_host_cpu_features()
    if "+avx512f" not in features.split(","):
        return None
    return f"{features},{WIDE_TUNING}"


def configure() -> bool:
    """Apply the setting if it applies; return whether numba's features now allow 512-bit vectors."""
    from numba.core import config

    features = wide_vector_features()
    if features is not None and config.CPU_FEATURES is None:
        config.CPU_FEATURES = features
    return WIDE_TUNING in (config.CPU_FEATURES or "")


WIDE_VECTORS = configure()
