"""Stage 2 of loading: the manifest's structure, checked with the published JSON Schema.

Every schema error is turned into a plain sentence (:mod:`.sentences`), and the first one in
the file is raised. A mapping's own problems (wrong type, unknown keys, missing keys) come
before problems inside its values, so the rank of each kind of error orders those at one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from pytest_sipfront.manifest.schema import DEFAULTS_KEYS, ENTRY_KEYS, TOP_KEYS, manifest_schema
from pytest_sipfront.manifest.sentences import (
    STEP_KEY_HINT,
    kind_sentence,
    problem_at,
    project_mode_sentence,
    show,
    step_key_problem,
    unknown_key_sentence,
    value_sentence,
)
from pytest_sipfront.manifest.yamlnodes import Path, Positions

_ANNOTATIONS = frozenset({"definitions", "description", "examples", "title", "$id", "$schema"})
_CONTAINERS = ("root", "defaults", "tests", "entry", "overrides", "matrix", "thresholds")
_VALIDATOR: jsonschema.Draft7Validator | None = None


def check_structure(data: Any, display_path: str, positions: Positions) -> None:
    """Raise :class:`.ManifestError` for the first schema error in the file, if any."""
    found = [_translate(error, data, positions) for error in validator().iter_errors(data)]
    if found:
        first = min(found, key=lambda item: item.order)
        raise problem_at(display_path, positions, first.path, first.sentence, at_key=first.at_key)


def validator() -> jsonschema.Draft7Validator:
    """The validator of the inlined schema, made once."""
    global _VALIDATOR
    if _VALIDATOR is None:
        schema = manifest_schema()
        _VALIDATOR = jsonschema.Draft7Validator(_inlined(schema, schema.get("definitions", {})))
    return _VALIDATOR


def _inlined(node: Any, definitions: Mapping[str, Any]) -> Any:
    """The schema with every ``$ref`` replaced by its definition and annotations dropped: the
    same rules, checked about a third faster (a 5,000-entry manifest is checked in one go)."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _ANNOTATIONS:
                continue
            if key == "$ref":
                out.update(_inlined(definitions[value.rsplit("/", 1)[-1]], definitions))
            else:
                out[key] = _inlined(value, definitions)
        return out
    if isinstance(node, list):
        return [_inlined(value, definitions) for value in node]
    return node


def field_of(path: Path) -> str:
    """Which manifest field a schema path points at (the keys of :func:`.value_sentence`)."""
    if not path:
        return "root"
    if path[0] == "version":
        return "version"
    if path[0] == "defaults":
        rest = path[1:]
        if not rest:
            return "defaults"
    elif path[0] == "tests":
        if len(path) == 1:
            return "tests"
        if len(path) == 2:
            return "entry"
        rest = path[2:]
    else:  # pragma: no cover - the schema allows no other top-level key
        return "root"
    head = str(rest[0])
    if len(rest) == 1:
        return head
    return {
        "overrides": "override_value",
        "matrix": "matrix_list" if len(rest) == 2 else "matrix_value",
        "marks": "mark",
        "test_ids": "test_ids_item",
        "thresholds": "threshold_value",
    }.get(head, head)


def first_repeat(values: list[Any]) -> int | None:
    """The index of the first value equal to an earlier one (``1`` and ``true`` differ)."""
    for later, value in enumerate(values):
        if any(_same(value, earlier) for earlier in values[:later]):
            return later
    return None


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and type(a) is not dict and a == b


# --------------------------------------------------------------------------------------------
# One schema error -> one sentence. Each translator takes the error it knows, or returns None.


@dataclass(frozen=True)
class _Found:
    """A translated schema error: where to sort it, where to show it, and the sentence."""

    order: tuple[int, int, int]
    path: Path
    at_key: bool
    sentence: str


@dataclass(frozen=True)
class _Error:
    """What the translators read of one ``jsonschema.ValidationError``."""

    path: Path
    schema_path: list[Any]
    validator: str
    instance: Any
    data: Any
    positions: Positions

    def found(self, rank: int, path: Path, sentence: str, *, at_key: bool = False) -> _Found:
        """Sorted at the place of the value the schema complained about."""
        line, column = self.positions.value(self.path)
        return _Found((line, column, rank), path, at_key, sentence)


def _translate(error: jsonschema.ValidationError, data: Any, positions: Positions) -> _Found:
    seen = _Error(
        tuple(error.absolute_path),
        list(error.schema_path),
        str(error.validator),
        error.instance,
        data,
        positions,
    )
    for translator in _TRANSLATORS:
        found = translator(seen)
        if found is not None:
            return found
    sentence = value_sentence(field_of(seen.path), seen.instance, seen.validator)
    return seen.found(4, seen.path, sentence)


def _wrong_container(error: _Error) -> _Found | None:
    name = field_of(error.path)
    if error.validator != "type" or name not in _CONTAINERS:
        return None
    return error.found(0, error.path, value_sentence(name, error.instance, error.validator))


def _unknown_key(error: _Error) -> _Found | None:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    name = field_of(error.path)
    allowed = {"root": TOP_KEYS, "defaults": DEFAULTS_KEYS}.get(name, ENTRY_KEYS)
    extra = next((key for key in error.instance if key not in allowed), "")
    scope = {"root": "root", "defaults": "defaults"}.get(name, "entry")
    return error.found(1, (*error.path, extra), unknown_key_sentence(extra, scope), at_key=True)


def _bad_step_key(error: _Error) -> _Found | None:
    if "propertyNames" not in error.schema_path:
        return None
    key = str(error.instance)
    owner = "matrix" if error.path and error.path[-1] == "matrix" else "overrides"
    sentence = step_key_problem(key, owner) or f"is not a Sipfront step key; {STEP_KEY_HINT}"
    return error.found(1, (*error.path, key), sentence, at_key=True)


def _missing_key(error: _Error) -> _Found | None:
    if error.validator != "required":
        return None
    if not error.path:
        sentence = "the manifest has no 'tests' list; add tests: with at least one entry"
    else:
        sentence = "the entry has no name; add name: with a name that is unique in this file"
    return error.found(2, error.path, sentence)


def _not_one_kind(error: _Error) -> _Found | None:
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return None
    return error.found(2, error.path, kind_sentence(error.instance))


def _wrong_kind_of_entry(error: _Error) -> _Found | None:
    """A key for the other kind of entry (``then`` of the schema's test/project rules)."""
    path = error.path
    if "then" not in error.schema_path or len(path) <= 2 or not isinstance(error.data, dict):
        return None
    key = str(path[2])
    if key == "report_mode":
        return error.found(4, path, project_mode_sentence(error.instance))
    if key == "test_ids":
        sentence = (
            "test_ids is for project entries only; a test entry runs one test "
            "(use another entry for another test)"
        )
    else:
        sentence = (
            f"{key} is for test entries only (test or test_id), and this entry runs a project"
        )
    entry_line, entry_column = error.positions.value(path[:2])
    return _Found((entry_line, entry_column, 3), path, True, sentence)


def _listed_twice(error: _Error) -> _Found | None:
    if error.validator != "uniqueItems" or not isinstance(error.instance, list):
        return None
    repeat = first_repeat(error.instance)
    if repeat is None:
        return None
    item_path = (*error.path, repeat)
    shown = show(error.instance[repeat])
    if field_of(error.path) == "test_ids":
        sentence = f"{shown} is listed twice; list each test id once"
    else:
        sentence = f"{shown} is listed twice; each value makes one item, so list it once"
    return _Found((*error.positions.value(item_path), 4), item_path, False, sentence)


_TRANSLATORS: tuple[Callable[[_Error], _Found | None], ...] = (
    _wrong_container,
    _unknown_key,
    _bad_step_key,
    _missing_key,
    _not_one_kind,
    _wrong_kind_of_entry,
    _listed_twice,
)
"""Tried in this order; the first that knows the error translates it."""
