"""JSON as the server sent it: every key kept, and a key sent twice remembered.

``json.loads`` keeps the last of two equal keys silently (``{"has_passed": 0, "has_passed": 1}``
reads as passed). Here each object remembers the keys it had more than once, so that the
verdict (:mod:`pytest_sipfront.api.runstatus`) can call such a body what it is: doubt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class JsonObject(dict[str, Any]):
    """A parsed JSON object; :attr:`duplicates` names each key it had more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> JsonObject:
    found = JsonObject(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in twice:
                twice.append(key)
            seen.add(key)
        found.duplicates = tuple(twice)
    return found


def load_json(data: bytes | str) -> Any:
    """The decoded body; raises ``ValueError`` when it is not JSON."""
    try:
        return json.loads(data, object_pairs_hook=_object)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise ValueError("not JSON") from exc


def duplicate_keys(value: Any) -> Iterator[str]:
    """Every key sent twice in one object, anywhere inside ``value`` (no depth or size cap)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            yield from getattr(item, "duplicates", ())
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
