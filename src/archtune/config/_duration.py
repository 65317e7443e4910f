"""Parse durations such as ``90s``, ``10m``, ``1h30m`` or a number of seconds."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: str | float | int) -> float:
    """Return a duration in seconds.

    Example:
        >>> parse_duration("1h30m")
        5400.0

    Raises:
        ValueError: the text is not a positive duration.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be a duration such as 90s, 10m or 1h30m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"must be a duration such as 90s, 10m or 1h30m, got {value!r}")
        seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if not seconds > 0:
        raise ValueError(f"must be a duration > 0, got {value!r}")
    return seconds
