"""Cycle-accurate fixed-point LIF core emulator.

Public entry points: :func:`load_profile` (hardware profiles from
``hw_configs/``), :class:`Network` and :class:`Projection` (a core's network
in register units), :func:`simulate` (bit-exact runs, batched over seeds) and
:func:`verify` (conformance with golden vectors).
"""

__version__ = "0.1.0"

import reference._numba_config  # noqa: E402,F401  (numba settings, before any kernel is built)
from emulator.engine import OverflowTrap, RunResult, simulate  # noqa: E402
from emulator.network import Network, NetworkError, Projection  # noqa: E402
from emulator.profile import Profile, ProfileError, list_profiles, load_profile  # noqa: E402
from emulator.vectors import VectorsError, read_vectors, write_vectors  # noqa: E402
from emulator.verify import VerifyReport, verify  # noqa: E402

__all__ = ["Network", "NetworkError", "OverflowTrap", "Profile", "ProfileError", "Projection",
           "RunResult", "VectorsError", "VerifyReport", "list_profiles", "load_profile",
           "read_vectors", "simulate", "verify", "write_vectors", "__version__"]
