"""Durations as manifests and options write them: ``90``, ``90s``, ``15m``, ``1h30m``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?[hms])+$")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0}

HINT = "use 90s, 15m, 1h30m"


def parse_duration(value: object) -> float:
    """Return seconds for a duration; raise ``ValueError`` with a plain sentence otherwise.

    A number is seconds. A string is a number of seconds or ``<n>h``, ``<n>m``, ``<n>s`` parts
    in any combination (``1h30m``). The result must be greater than zero.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration ({HINT})")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            if not _WHOLE.match(text):
                raise ValueError(f"{value!r} is not a duration ({HINT})") from None
            seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    else:
        raise ValueError(f"{value!r} is not a duration ({HINT})")
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{value!r} is not a duration greater than zero ({HINT})")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way people read them: ``2s``, ``1m55s``, ``10m``, ``1h30m``."""
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)
