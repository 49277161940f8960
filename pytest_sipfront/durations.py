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


DURATION_BOUNDS: dict[str, tuple[float, float]] = {
    # setting: (shortest, longest) in seconds
    "timeout": (0.1, 24 * 3600.0),
    "poll_interval": (0.1, 3600.0),
    "heartbeat": (0.1, 24 * 3600.0),
    "shutdown_grace": (0.1, 60.0),
    "reuse_max_age": (1.0, 366 * 24 * 3600.0),
    "delay": (0.0, 24 * 3600.0),
    "duration": (0.0, 24 * 3600.0),
}
"""Sane bounds for every duration setting: a longer wait cannot be meant (and overflows
Python's timed waits), a shorter one would flood the API or the terminal."""


def check_bounds(seconds: float, value: object, setting: str) -> float:
    """``seconds`` when within :data:`DURATION_BOUNDS` for ``setting``; else ``ValueError``
    with a sentence naming the bound."""
    shortest, longest = DURATION_BOUNDS[setting]
    label = setting.replace("_", " ")
    if seconds < shortest:
        raise ValueError(
            f"{value!r} is shorter than the shortest allowed {label}, {format_duration(shortest)}"
        )
    if seconds > longest:
        raise ValueError(
            f"{value!r} is longer than the longest allowed {label}, {format_duration(longest)}"
        )
    return seconds


def parse_bounded(value: object, setting: str) -> float:
    """:func:`parse_duration`, then :func:`check_bounds` for ``setting``."""
    return check_bounds(parse_duration(value), value, setting)
