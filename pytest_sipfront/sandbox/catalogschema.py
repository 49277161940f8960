"""The sandbox catalog's structure as a JSON Schema, and its first error as a sentence.

The schema says which keys each part of a catalog may hold, which it needs and what kind of
value (mapping, list, text, number) each takes; the values themselves (durations, outcome
words, status codes, unique names) are checked by the catalog's reader. Errors are ordered by
their place in the file, a mapping's own problems (wrong kind, unknown or missing keys)
before those inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from pytest_sipfront.manifest.yamlnodes import Path, Positions
from pytest_sipfront.sandbox.endpoints import ENDPOINT_NAMES

_TEXT = {"type": "string"}
_NUMBER = {"type": ["integer", "number"]}
_WHOLE = {"type": ["integer", "number", "string", "null"]}
_DURATION = {"type": ["string", "integer", "number"]}
_NULL_OR_TEXT = {"type": ["string", "null"]}
_SCALARS = {
    "type": ["object", "null"],
    "additionalProperties": {"type": ["string", "integer", "number", "boolean", "null"]},
}

_BEHAVIOUR = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "status_fields": {"type": ["string", "array"]},
        "omit": {"type": ["array", "null"]},
        "tags": _TEXT,
        "running_status": _TEXT,
        "vanish_after": _WHOLE,
        "status_url_origin": _NULL_OR_TEXT,
        "trigger_status_url": {"type": "boolean"},
        "media_shape": _TEXT,
    },
}
_PREVIOUS = {
    "type": ["string", "object", "null"],
    "additionalProperties": False,
    "properties": {
        "outcome": _TEXT,
        "result_description": _TEXT,
        "duration": _DURATION,
        "stopped_at": _NULL_OR_TEXT,
        "media": _TEXT,
    },
}
_WHEN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["overrides"],
    "properties": {
        "overrides": {"type": "object"},
        "outcome": _TEXT,
        "result_description": _TEXT,
        "duration": _DURATION,
    },
}
_COMMON = {
    "name": {"type": ["string", "integer", "number"]},
    "id": _WHOLE,
    "duration": _DURATION,
    "outcome": _TEXT,
    "result_description": _TEXT,
    "description": _TEXT,
    "behaviour": _BEHAVIOUR,
    "finished_body": _SCALARS,
    "previous": _PREVIOUS,
}
_TEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        **_COMMON,
        "testcase_name": _TEXT,
        "agentpool_name": _TEXT,
        "tags": {"type": ["array", "null"], "items": {"type": ["string", "integer", "number"]}},
        "project_id": _WHOLE,
        "project_name": _NULL_OR_TEXT,
        "when": {"type": ["array", "null"], "items": _WHEN},
        "media": _TEXT,
    },
}
_PROJECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {**_COMMON, "total_tests": _WHOLE},
}
_FAULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["endpoint"],
    "properties": {
        "endpoint": _TEXT,
        "status": _WHOLE,
        "times": _WHOLE,
        "after": _WHOLE,
        "retry_after": {"type": ["string", "integer", "number", "null"]},
        "delay": _DURATION,
        "drop": {"type": "boolean"},
        "trickle": {"type": ["integer", "number", "null"]},
        "body": _NULL_OR_TEXT,
        "content_type": _NULL_OR_TEXT,
        "error": _NULL_OR_TEXT,
        "test": {"type": ["string", "integer", "null"]},
    },
}
TOP_KEYS = ("default_duration", "unknown_tests", "tests", "projects", "faults", "behaviour")
CATALOG_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "pytest-sipfront sandbox catalog",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "default_duration": _DURATION,
        "unknown_tests": _TEXT,
        "tests": {"type": ["array", "null"], "items": _TEST},
        "projects": {"type": ["array", "null"], "items": _PROJECT},
        "faults": {"type": ["array", "null"], "items": _FAULT},
        "behaviour": _BEHAVIOUR,
    },
}
"""The catalog's structure (draft 7); ``sipfront schema`` users may validate against it."""

_NEEDS = {
    "tests": "a test needs a name",
    "projects": "a project needs a name",
    "when": "a when rule needs overrides (the values that select it)",
    "faults": f"a fault needs an endpoint ({', '.join(ENDPOINT_NAMES)})",
}
_KINDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}
_VALIDATOR = jsonschema.Draft7Validator(CATALOG_SCHEMA)


@dataclass(frozen=True)
class StructureProblem:
    """The first structural problem: where (a path from the root) and what."""

    path: Path
    message: str
    at: Path | None = None
    """Where in the file it is, when not at ``path`` (an unknown key: the key itself)."""


def kind(value: Any) -> str:
    """What a value is, without showing it: a catalog may be any file, and no line of it may
    reach the terminal (``sim --catalog /etc/shadow``)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def first_problem(data: Any, positions: Positions | None) -> StructureProblem | None:
    """The catalog's first structural problem in file order, or ``None``."""
    found: list[tuple[tuple[int, int], int, StructureProblem]] = []
    for error in _VALIDATOR.iter_errors(data):
        path: Path = tuple(error.absolute_path)
        problem = _sentence(error, path)
        if problem is None:
            continue
        place = positions.key(problem.at or problem.path) if positions is not None else (0, 0)
        rank = {"type": 0, "additionalProperties": 1, "required": 2}.get(str(error.validator), 3)
        found.append((place, rank, problem))
    if not found:
        return None
    return min(found, key=lambda item: (item[0], item[1]))[2]


def _sentence(error: jsonschema.ValidationError, path: Path) -> StructureProblem | None:
    value = error.instance
    if error.validator == "type":
        wanted: Any = error.validator_value
        kinds = [wanted] if isinstance(wanted, str) else list(wanted)
        shown = " or ".join(dict.fromkeys(_KINDS[k] for k in kinds if k != "null"))
        return StructureProblem(path, f"expected {shown}, got {kind(value)}")
    if error.validator == "additionalProperties" and isinstance(value, Mapping):
        schema: Any = error.schema
        known = tuple(schema.get("properties", {}))
        for key in value:
            if key not in known:
                key_text = key if isinstance(key, str) else repr(key)
                if not path and not any(k in TOP_KEYS for k in value):
                    return StructureProblem(
                        (),
                        "this does not look like a sandbox catalog: none of its top-level "
                        f"keys is one of {', '.join(TOP_KEYS)}",
                    )
                return StructureProblem(
                    path,
                    f"unknown key {key_text!r} (known keys: {', '.join(known)})",
                    (*path, key_text),
                )
    if error.validator == "required":
        container = next((p for p in reversed(path) if isinstance(p, str)), "")
        return StructureProblem(path, _NEEDS.get(container, f"missing key: {error.message}"))
    return None
