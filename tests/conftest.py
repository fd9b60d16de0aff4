"""Shared fixtures: where the golden vectors live."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def oracle_dir() -> Path:
    """The shipped golden vectors: ``$FXLIF_ORACLES`` or ``../shared/oracles`` beside the checkout."""
    env = os.environ.get("FXLIF_ORACLES")
    return Path(env) if env else ROOT.parent / "shared" / "oracles"


@pytest.fixture(scope="session")
def oracles() -> Path:
    path = oracle_dir()
    if not path.is_dir():
        pytest.fail(f"golden vectors not found at {path} (set FXLIF_ORACLES)")
    return path


# Hypothesis: no deadlines (numba compiles on first call; the machines are shared), and in
# CI a derandomised search, so a run is reproducible and a red build is never a coin toss.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")
