"""Error types shared by every part of fxlif.

They live in :mod:`reference` because dependencies point one way
(``emulator`` may import ``reference``, never the reverse), so both packages
can raise and catch the same classes.

Every error about user input names where the bad value came from (file, key),
the value itself and what is allowed, so the command line can print it as one
line and exit with code 2.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FxlifError", "InputError"]


class FxlifError(Exception):
    """Base class of every error fxlif raises on purpose."""


class InputError(FxlifError, ValueError):
    """A bad value in a file or an argument.

    Parameters
    ----------
    message : str
        What is wrong, in a few words.
    file : str or path-like, optional
        The file the value came from (``None`` for a Python argument).
    key : str, optional
        The dotted key (``"registers.v.bits"``) or argument name.
    value : Any, optional
        The offending value, shown with ``repr``.
    allowed : str, optional
        What would have been accepted (``"1..64"``, ``"one of floor, ..."``).
    """

    _MISSING = object()

    def __init__(self, message: str, *, file: Any = None, key: str | None = None,
                 value: Any = _MISSING, allowed: str | None = None) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return the error as one line: ``file: key = value: message (allowed: ...)``."""
        where = []
        if self.file:
            where.append(self.file)
        if self.key:
            if self.value is not InputError._MISSING:
                where.append(f"{self.key} = {self.value!r}")
            else:
                where.append(self.key)
        elif self.value is not InputError._MISSING:
            where.append(f"value {self.value!r}")
        text = ": ".join(where + [self.message]) if where else self.message
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return " ".join(text.split("\n"))
