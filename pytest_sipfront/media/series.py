"""Reading what ``GET /runs/:sid/stats`` and ``GET /runs/:sid/stats/:measure`` answer.

The series body is documented nowhere, so it is read tolerantly and never guessed at: a list
of points at the top level, or under ``stats``, ``data``, ``series``, ``values`` or ``points``
(also one level deeper, e.g. ``data.stats``); each point an object with a time (``timestamp``,
``ts``, ``time``, ``t``) and a value (``value``, ``val``, ``v``, ``y``), or a ``[time, value]``
pair; numbers as numbers or numeric strings. Points that carry ``role``/``dir`` are filtered by
the dimension asked for. A ``null``, NaN, infinite or non-numeric value is counted and
skipped, never read as zero. Anything else is :class:`Unreadable`, with the sanitised start of
the body so that people can see what came.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pytest_sipfront.sanitize import clean_line

MAX_POINTS = 100_000
"""At most this many points of one series are read; the rest are left (and said so)."""
EXCERPT_CHARS = 120
"""How much of an unreadable body a message shows (sanitised)."""

LIST_KEYS = ("stats", "data", "series", "values", "points")
TIME_KEYS = ("timestamp", "ts", "time", "t")
VALUE_KEYS = ("value", "val", "v", "y")
DIMENSION_LIST_KEYS = ("stats_dimensions", "dimensions", "stats", "data")
MEASURE_KEYS = ("stats_measure", "measure", "name")


@dataclass(frozen=True)
class Dimension:
    """One measure of a run in one role and direction, as ``/runs/:sid/stats`` lists it."""

    measure: str
    role: str = ""
    dir: str = ""

    @property
    def label(self) -> str:
        """``callee, in`` (what a sentence puts in brackets); empty when neither is known."""
        return ", ".join(part for part in (self.role, self.dir) if part)


@dataclass
class Series:
    """The readable points of one dimension, in the order Sipfront gave them."""

    dimension: Dimension
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    skipped: int = 0
    """Points without a usable number (``null``, NaN, text): counted, never zeroed."""
    cut: bool = False
    """More than :data:`MAX_POINTS` points came; only the first were read."""


@dataclass(frozen=True)
class Unreadable:
    """A body that is none of the accepted shapes; ``excerpt`` is its sanitised, cut start."""

    excerpt: str


def excerpt(body: bytes | str) -> str:
    """The sanitised, cut start of a body, for "metrics unreadable" (the one sanitiser)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return clean_line(text[: EXCERPT_CHARS * 4], EXCERPT_CHARS) or "(empty body)"


def decode(body: bytes) -> Any | Unreadable:
    """The JSON value of ``body``, or :class:`Unreadable`."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return Unreadable(excerpt(body))


def number(value: object) -> float | None:
    """A finite number given as a number or a numeric string; ``None`` for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, (int, float)):
            result = float(value)
        elif isinstance(value, str):
            result = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):  # text, or an integer too large for a float
        return None
    return result if math.isfinite(result) else None


def _time(value: object) -> float | None:
    """Seconds (or whatever unit Sipfront counts in) as a number, or a timestamp string."""
    found = number(value)
    if found is not None or not isinstance(value, str):
        return found
    text = value.strip().replace(" ", "T", 1).rstrip("Z")
    try:
        moment = datetime.fromisoformat(text[:32])
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _find_list(body: Any, keys: Sequence[str], depth: int = 0) -> list[Any] | None:
    if isinstance(body, list):
        return body
    if not isinstance(body, Mapping) or depth > 1:
        return None
    for key in keys:
        if key in body:
            found = _find_list(body[key], keys, depth + 1)
            if found is not None:
                return found
    return None


def _pick(point: Mapping[str, Any], keys: Sequence[str]) -> tuple[bool, object]:
    for key in keys:
        if key in point:
            return True, point[key]
    return False, None


def _matches(point: Mapping[str, Any], dimension: Dimension) -> bool:
    for key, wanted in (("role", dimension.role), ("dir", dimension.dir)):
        given = point.get(key)
        if wanted and isinstance(given, str) and given.strip().lower() != wanted.lower():
            return False
    return True


def read_series(body: bytes | Any, dimension: Dimension) -> Series | Unreadable:
    """The points of ``dimension`` in a series body (raw bytes or decoded JSON)."""
    data = decode(body) if isinstance(body, bytes) else body
    if isinstance(data, Unreadable):
        return data
    points = _find_list(data, LIST_KEYS)
    if points is None:
        return Unreadable(excerpt(body if isinstance(body, bytes) else json.dumps(body)[:600]))
    series = Series(dimension)
    shaped = 0
    for point in points:
        if len(series.values) + series.skipped >= MAX_POINTS:
            series.cut = True
            break
        if isinstance(point, Mapping):
            has_time, raw_time = _pick(point, TIME_KEYS)
            has_value, raw_value = _pick(point, VALUE_KEYS)
            if not (has_time and has_value):
                series.skipped += 1
                continue
            shaped += 1
            if not _matches(point, dimension):
                continue
        elif isinstance(point, list) and len(point) >= 2:
            shaped += 1
            raw_time, raw_value = point[0], point[1]
        else:
            series.skipped += 1
            continue
        moment, value = _time(raw_time), number(raw_value)
        if moment is None or value is None:
            series.skipped += 1
            continue
        series.times.append(moment)
        series.values.append(value)
    if points and not shaped:
        text = body if isinstance(body, bytes) else json.dumps(body, default=str)[:600]
        return Unreadable(excerpt(text))
    return series


def read_dimensions(body: bytes | Any) -> list[Dimension] | Unreadable:
    """The dimensions ``/runs/:sid/stats`` lists: ``{"stats_dimensions": [{"stats_measure":
    ..., "role": ..., "dir": ...}]}`` (also a bare list, or under ``data``), in order, once."""
    data = decode(body) if isinstance(body, bytes) else body
    if isinstance(data, Unreadable):
        return data
    items = _find_list(data, DIMENSION_LIST_KEYS)
    if items is None:
        return Unreadable(excerpt(body if isinstance(body, bytes) else json.dumps(body)[:600]))
    found: dict[Dimension, None] = {}
    for item in items[:MAX_POINTS]:
        if not isinstance(item, Mapping):
            continue
        _, measure = _pick(item, MEASURE_KEYS)
        if not isinstance(measure, str) or not clean_line(measure, 80):
            continue
        role, direction = item.get("role"), item.get("dir", item.get("direction"))
        dimension = Dimension(
            clean_line(measure, 80),
            clean_line(role, 40) if isinstance(role, str) else "",
            clean_line(direction, 40) if isinstance(direction, str) else "",
        )
        found[dimension] = None
    if items and not found:
        return Unreadable(excerpt(body if isinstance(body, bytes) else json.dumps(body)[:600]))
    return list(found)
