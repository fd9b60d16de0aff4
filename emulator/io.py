"""Result files: written atomically (temporary file + rename), so nothing half-written is left."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from reference.errors import InputError

__all__ = ["atomic_write", "jsonable", "output_dir", "write_json", "write_npz"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def output_dir(path: str | Path, key: str = "--out") -> Path:
    """Create ``path`` if needed and check it is a writable folder; raise InputError if not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", key=key,
                         value=str(path)) from None
    if not os.access(path, os.W_OK):
        raise InputError("output folder is not writable", key=key, value=str(path))
    return path


def atomic_write(path: str | Path, write: Callable[[Any], None]) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)      # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(x: Any) -> Any:
    """Return ``x`` with numpy values as Python ones and non-finite floats as None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(jsonable(data), indent=2) + "\n"
    return atomic_write(path, lambda fh: fh.write(text.encode()))


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write arrays to a compressed ``.npz``, atomically."""
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
