"""Fixtures for the live cross-checks against vendor models (run with ``pytest -m live``).

* ``oracles`` -- the directory of shipped golden vectors (``/work/shared/oracles`` or
  ``$FXLIF_ORACLES``); skips when absent.
* ``xylosim_version`` -- skips when ``xylosim`` (extra ``fxlif[live]``) does not import.
* ``lava_python`` -- the Python 3.10 interpreter of the Lava venv. If the venv
  (``$FXLIF_LAVA_VENV``, default ``~/.cache/fxlif/lava-venv``) does not import Lava it
  is built with ``.ci/live_setup.sh`` (about a minute with a warm pip cache), unless
  ``FXLIF_LAVA_NO_BUILD=1``; skips, with the reason, when that fails.
* ``run_lava`` -- runs ``lava_runner.py`` (cases file -> vectors file) in that venv.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest

# When a hypothesis test fails, hypothesis' pytest plugin imports
# hypothesis.extra._patching -> libcst -> mypy_extensions.TypedDict, which warns
# DeprecationWarning; with the project's filterwarnings = error that turns the failure
# report into a pytest INTERNALERROR. Import it once here with that warning silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except Exception:  # libcst missing: the plugin then skips patch output itself
        pass

from .vendor_cases import oracles_dir
from .xylosim_runner import xylosim_available

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / ".ci" / "live_setup.sh"
LAVA_RUNNER = Path(__file__).resolve().parent / "lava_runner.py"
LAVA_CHECK = (
    "import lava.magma.core.run_configs, lava.proc.lif.models, "
    "lava.proc.dense.models, lava.proc.io.source, lava.proc.monitor.process"
)
SETUP_TIMEOUT_S = 1200


@pytest.fixture(scope="session")
def oracles() -> Path:
    path = oracles_dir()
    if path is None:
        pytest.skip("shipped golden vectors not found (/work/shared/oracles; set FXLIF_ORACLES)")
    return path


@pytest.fixture(scope="session")
def xylosim_version() -> str:
    ok, info = xylosim_available()
    if not ok:
        pytest.skip(info)
    return info


def _lava_venv() -> Path:
    return Path(os.environ.get("FXLIF_LAVA_VENV", Path.home() / ".cache" / "fxlif" / "lava-venv"))


def _imports_lava(python: Path) -> bool:
    if not python.exists():
        return False
    try:
        res = subprocess.run([str(python), "-c", LAVA_CHECK], capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


_LAVA_SKIP: list[str] = []  # a failed build is tried once per session, not per test


@pytest.fixture(scope="session")
def lava_python() -> Path:
    if _LAVA_SKIP:
        pytest.skip(_LAVA_SKIP[0])
    try:
        return _find_or_build_lava()
    except pytest.skip.Exception as exc:
        _LAVA_SKIP.append(str(exc.msg))
        raise


def _find_or_build_lava() -> Path:
    python = _lava_venv() / "bin" / "python"
    if _imports_lava(python):
        return python
    if os.environ.get("FXLIF_LAVA_NO_BUILD") == "1":
        pytest.skip(f"no Lava venv at {python.parent.parent} and FXLIF_LAVA_NO_BUILD=1 "
                    "(build it with .ci/live_setup.sh)")
    if not SETUP.exists():
        pytest.skip(f"no Lava venv at {python.parent.parent} and no {SETUP} to build one")
    try:
        res = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True,
                             timeout=SETUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.skip(f"building the Lava venv with {SETUP} took over {SETUP_TIMEOUT_S} s")
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-15:])
        pytest.skip(f"could not build the Lava venv (lava-nc needs Python 3.10 and PyPI "
                    f"access): {SETUP} exited {res.returncode}:\n{tail}")
    built = Path(res.stdout.strip().splitlines()[-1]) if res.stdout.strip() else python
    if not _imports_lava(built):
        pytest.skip(f"{SETUP} finished but {built} does not import Lava")
    return built


@pytest.fixture(scope="session")
def run_lava(lava_python):
    """``run_lava(cases_path, out_path)``: run ``lava_runner.py`` in the Lava venv.

    Returns the runner's stdout (a JSON line); fails the test with the runner's stderr.
    """

    def run(cases_path: Path, out_path: Path, timeout: float = 600) -> str:
        try:
            res = subprocess.run(
                [str(lava_python), str(LAVA_RUNNER), str(cases_path), str(out_path)],
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"lava_runner.py on {cases_path} ran over {timeout} s")
        if res.returncode != 0:
            pytest.fail(f"lava_runner.py failed (exit {res.returncode}):\n{res.stderr[-4000:]}")
        return res.stdout

    return run
