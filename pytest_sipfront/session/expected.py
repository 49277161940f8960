"""How long an entry's run took on this machine before, kept in the pytest cache.

When Sipfront gives no history for a test (history off, no earlier finished run), polling
plans on what this machine saw for the same entry: the median of its last
:data:`KEPT` finished runs, under the cache key :data:`CACHE_KEY`, by pytest node id. Nothing
is kept or read with ``-p no:cacheprovider``.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from pytest_sipfront.runs.outcome import RunOutcome

CACHE_KEY = "sipfront/durations"
KEPT = 5


def _cache(config: pytest.Config) -> Any:
    return getattr(config, "cache", None)


def cached_duration(config: pytest.Config, nodeid: str) -> float | None:
    """The expected duration of this entry's run from earlier sessions, or ``None``."""
    cache = _cache(config)
    if cache is None:
        return None
    seen = cache.get(CACHE_KEY, {})
    values = seen.get(nodeid) if isinstance(seen, dict) else None
    if not isinstance(values, list):
        return None
    numbers = [float(v) for v in values if _seconds(v)]
    return statistics.median(numbers) if numbers else None


def _seconds(value: object) -> bool:
    """A duration worth keeping: a positive number of seconds (``True`` is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def remember_duration(config: pytest.Config, nodeid: str, outcome: RunOutcome) -> None:
    """Keep the duration of a finished run (Sipfront's times, else this machine's wall)."""
    cache = _cache(config)
    last = outcome.last
    if cache is None or last is None or not last.finished:
        return
    seconds = outcome.duration_s
    if not seconds > 0:
        return
    seen = cache.get(CACHE_KEY, {})
    if not isinstance(seen, dict):
        seen = {}
    values = seen.get(nodeid)
    values = [v for v in values if _seconds(v)] if isinstance(values, list) else []
    seen[nodeid] = [*values, round(seconds, 3)][-KEPT:]
    cache.set(CACHE_KEY, seen)
