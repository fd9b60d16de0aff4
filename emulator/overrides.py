"""Parse ``--set key=value`` command-line overrides."""

from __future__ import annotations

from reference.errors import InputError

__all__ = ["parse_overrides"]


def parse_overrides(items: list[str]) -> dict[str, str]:
    """Turn ``["state_bits=12", "rounding=floor"]`` into a dict; raise InputError on a bad item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError("an override is KEY=VALUE", key="--set", value=item,
                             allowed="e.g. state_bits=12 or state.v.overflow=wrap")
        out[key.strip()] = value.strip()
    return out
