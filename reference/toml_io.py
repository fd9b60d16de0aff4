"""Read a TOML file, turning every failure into one clear :class:`InputError` line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from reference.errors import InputError

__all__ = ["read_toml"]


def read_toml(path: str | Path, error: type[InputError] = InputError) -> dict[str, Any]:
    """Parse ``path``; raise ``error`` naming the file when it is missing, unreadable or not TOML."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error("no such file", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML: {exc}", file=path) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", file=path) from None
