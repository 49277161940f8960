"""Load a Sipfront manifest into run specs: one :class:`RunSpec` per pytest item.

Loading goes in three stages and stops at the first problem, raised as :class:`ManifestError`
(``<path>:<line>:<column>: <where>: <what is wrong and what to do>``):

1. YAML (:mod:`.yamlnodes`): syntax, tabs, duplicate keys, YAML 1.1 surprises.
2. Structure, with the published JSON Schema (:mod:`.schema`); its errors are
   turned into plain sentences. A mapping's own problems (wrong type, unknown keys, missing
   keys) are reported before problems inside its values.
3. The loader's own checks, entry by entry in file order: variables, durations, unique names,
   marks, the emergency-number guard, credential-looking keys, matrix ids.

Decisions where the design leaves room:

- ``test_id``, ``project_id``, ``test_ids`` items and ``retries`` take an integer or a string of
  digits (after variables are replaced, so ``test_id: "${TEST_ID}"`` works); ids must be > 0.
- Variables: ``${NAME}``, ``${NAME:-default}`` and ``$$`` (a literal ``$``). A default is used
  as written (no variables inside it). ``$NAME`` without braces is an error (write ``${NAME}``
  or ``$$NAME``); any other ``$`` is kept. Variables are replaced in every string value except
  entry names, never in keys; a replaced value stays a string.
- ``defaults.overrides`` apply to test entries only. A matrix key may also be in
  ``defaults.overrides`` (the matrix wins), not in the entry's own ``overrides``.
- Matrix item ids are ``str()`` of each value (booleans ``True``/``False``), with control
  characters escaped; two combinations that give the same id are an error.
- A session-wide report mode ``print`` (from the command line) is not sent for project runs,
  which only take ``full`` or ``kiosk``; a manifest that gives a project ``print`` is an error.
- ``allow_emergency_destination`` is set per entry only, never in ``defaults``.
"""

from __future__ import annotations

import difflib
import itertools
import keyword
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn

import jsonschema

from pytest_sipfront.durations import parse_bounded
from pytest_sipfront.manifest.claim import DEFAULT_PATTERNS
from pytest_sipfront.manifest.safety import is_emergency_destination, looks_like_credential
from pytest_sipfront.manifest.schema import (
    DEFAULTS_KEYS,
    ENTRY_KEYS,
    KIND_KEYS,
    NAME_PATTERN,
    PROJECT_REPORT_MODES,
    REPORT_MODES,
    STEP_KEY_PATTERN,
    TOP_KEYS,
    manifest_schema,
)
from pytest_sipfront.manifest.yamlnodes import Path, Positions, YamlProblem, load_document

__all__ = [
    "DEFAULT_PATTERNS",
    "PYTEST_MARK_NAMES",
    "Manifest",
    "ManifestError",
    "RunSpec",
    "load_manifest",
    "load_manifest_text",
    "manifest_schema",
    "request_body",
]

PYTEST_MARK_NAMES: frozenset[str] = frozenset(
    {
        "skip",
        "skipif",
        "xfail",
        "parametrize",
        "usefixtures",
        "filterwarnings",
        "timeout",
        "flaky",
    }
)
MAX_MATRIX_ITEMS = 10_000
MAX_ID = 2**63 - 1
"""The largest test or project id sent (a signed 64-bit integer, as Sipfront's ids are)."""
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
"""A manifest file larger than this (5 MB) is refused before it is parsed."""
FORBIDDEN_VARIABLES: frozenset[str] = frozenset({"SIPFRONT_PUBLIC_KEY", "SIPFRONT_SECRET_KEY"})

_NAME = re.compile(NAME_PATTERN.strip("^$"))
_STEP_KEY = re.compile(STEP_KEY_PATTERN.strip("^$"))
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_DIGITS = re.compile(r"[0-9]+")
_RESERVED_OVERRIDE_KEYS = {
    "test.name": "test",
    "test.id": "test_id",
    "project.name": "project",
    "id": "project_id",
    "test_ids": "test_ids",
}


class ManifestError(Exception):
    """A manifest problem, for people: ``<path>:<line>:<column>: <message>`` (1-based)."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(path, line, column, message)
        self.path = path
        self.line = max(1, int(line))
        self.column = max(1, int(column))
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class RunSpec:
    """One pytest item: one Sipfront run request, fully resolved."""

    name: str
    entry: str
    kind: Literal["test", "project"]
    target: str
    request: Mapping[str, Any] = field(hash=False)
    report_mode: str | None
    timeout: float | None
    poll_interval: float | None
    retries: int | None
    marks: tuple[str, ...]
    skip: str | None
    xfail: str | None
    allow_emergency_destination: bool
    line: int
    column: int
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Manifest:
    path: str
    specs: tuple[RunSpec, ...]
    marks: frozenset[str]


def request_body(spec: RunSpec, report_mode: str | None) -> dict[str, Any]:
    """The JSON body to send: ``spec.request`` plus ``report.mode`` when one is set.

    The manifest's report mode wins over ``report_mode`` (the session default). A session
    default of ``print`` is not sent for project runs, which take only ``full`` or ``kiosk``.
    """
    body = {
        key: list(value) if isinstance(value, list) else value
        for key, value in spec.request.items()
    }
    mode = spec.report_mode or report_mode
    if mode and not (spec.report_mode is None and spec.kind == "project" and mode == "print"):
        body["report.mode"] = mode
    return body


def load_manifest(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    display_path: str | None = None,
) -> Manifest:
    """Read and check a manifest file; ``display_path`` is the path errors show."""
    shown = display_path if display_path is not None else os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ManifestError(shown, 1, 1, f"cannot read the manifest: {reason}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            shown,
            1,
            1,
            f"the file is larger than the {MAX_MANIFEST_BYTES // (1024 * 1024)} MB a manifest "
            "may be; split it into several manifests",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise ManifestError(
            shown,
            line,
            column,
            f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8",
        ) from None
    return load_manifest_text(text, shown, environ=environ)


def load_manifest_text(
    text: str, display_path: str, *, environ: Mapping[str, str] | None = None
) -> Manifest:
    """Check a manifest given as text; errors name ``display_path``."""
    try:
        document = load_document(text)
    except YamlProblem as problem:
        where = _format_path(problem.path) if problem.path else ""
        message = f"{where}: {problem.message}" if where else problem.message
        raise ManifestError(display_path, problem.line, problem.column, message) from None
    if document.data is None:
        raise ManifestError(
            display_path,
            1,
            1,
            "the file is empty; a manifest needs a 'tests' list with at least one entry",
        )
    checker = _Checker(display_path, document.positions, os.environ if environ is None else environ)
    checker.check_structure(document.data)
    return checker.build(document.data)


# --------------------------------------------------------------------------------------------
# Words for people


def _format_path(path: Iterable[str | int]) -> str:
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        elif _SIMPLE_KEY.fullmatch(item):
            out += f".{item}" if out else item
        else:
            out += f"[{_show(item)}]"
    return out


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:59] + "…"
        return repr(shown)
    return repr(value)


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the value {_show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover


def _did_you_mean(key: str, allowed: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(key.lower(), list(allowed), n=1, cutoff=0.7)
    return matches[0] if matches else None


_CREDENTIAL_SENTENCE = (
    "this key looks like a credential, and a manifest must never hold credentials; remove it "
    "(Sipfront API keys come from SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY in the "
    "environment, SIP users from a credential pool)"
)
_STEP_KEY_HINT = "write step.<step>.<action>.<attribute>, e.g. step.1.0.dial_destination"


def _step_key_problem(key: str, container: str) -> str | None:
    """Why ``key`` cannot be an override or matrix key, or None."""
    if looks_like_credential(key):
        return _CREDENTIAL_SENTENCE
    if key == "report.mode":
        return f"set the report mode with report_mode: full, kiosk or print, not in {container}"
    if key in _RESERVED_OVERRIDE_KEYS:
        return (
            f"{key} is sent from the entry's {_RESERVED_OVERRIDE_KEYS[key]}; "
            f"remove it from {container}"
        )
    if not _STEP_KEY.fullmatch(key):
        return f"is not a Sipfront step key; {_STEP_KEY_HINT}"
    return None


def _unknown_key_sentence(key: str, scope: str) -> str:
    if looks_like_credential(key):
        return _CREDENTIAL_SENTENCE
    if scope == "root":
        allowed: tuple[str, ...] = TOP_KEYS
        guess = _did_you_mean(key, TOP_KEYS)
        if guess:
            return f"unknown key; did you mean {guess}?"
        if key in DEFAULTS_KEYS:
            return f"unknown key here; {key} belongs under defaults: (or in an entry)"
        if key in ENTRY_KEYS:
            return f"unknown key here; {key} belongs in an entry under tests:"
        listing = "the manifest takes version, defaults and tests"
    elif scope == "defaults":
        allowed = DEFAULTS_KEYS
        if key in ENTRY_KEYS:
            return f"{key} is set per entry, not in defaults; move it to the entries under tests"
        listing = "defaults takes " + ", ".join(DEFAULTS_KEYS)
    else:
        allowed = ENTRY_KEYS
        listing = "an entry takes " + ", ".join(ENTRY_KEYS)
    if scope != "root" and (_STEP_KEY.fullmatch(key) or key.startswith("step.")):
        return "a Sipfront key belongs under overrides: (or matrix:), not directly here"
    guess = _did_you_mean(key, allowed)
    if guess:
        return f"unknown key; did you mean {guess}?"
    return f"unknown key; {listing}"


def _mark_problem(mark: Any) -> str | None:
    if not isinstance(mark, str):
        return f"{_show(mark)} is not a mark name; use a Python identifier such as smoke"
    if mark in PYTEST_MARK_NAMES:
        if mark in ("skip", "xfail", "timeout"):
            return (
                f"{mark!r} is one of pytest's own marks and cannot be a manifest mark; "
                f"use the entry's {mark}: key instead"
            )
        return (
            f"{mark!r} is one of pytest's own marks and cannot be a manifest mark; "
            "choose another name"
        )
    if keyword.iskeyword(mark):
        return f"{mark!r} is a Python keyword and cannot be a mark name; choose another name"
    if not mark.isidentifier():
        return (
            f"{_show(mark)} is not a valid mark name; use a Python identifier "
            "such as smoke or nightly_db"
        )
    return None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if not whole and not (isinstance(value, str) and _DIGITS.fullmatch(value)):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _retries(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value) if value >= 0 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _scalar_problem(value: Any) -> str | None:
    if value is None:
        return "has no value; give a string, a number or true/false"
    if not _is_scalar(value):
        return f"must be a single value (a string, a number or true/false), not {_kind(value)}"
    return None


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and type(a) is not dict and a == b


def _first_repeat(values: list[Any]) -> int | None:
    for later, value in enumerate(values):
        if any(_same(value, earlier) for earlier in values[:later]):
            return later
    return None


def _id_part(value: Any) -> str:
    text = str(value)
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _field(path: Path) -> str:
    """Which manifest field a schema path points at."""
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
    }.get(head, head)


def _value_sentence(name: str, value: Any, validator: str) -> str:
    """The sentence for a value the schema refused, by field."""
    if name in ("timeout", "poll_interval"):
        if value is None:
            return "has no value; give a duration such as 90s, 15m or 1h30m"
        try:
            parse_bounded(value, name)
        except ValueError as error:
            return str(error)
        return f"{_show(value)} is not a duration (use 90s, 15m, 1h30m)"  # pragma: no cover
    if name == "retries":
        return f"{_show(value)} is not a number of retries (use a whole number, 0 or more)"
    if name == "report_mode":
        return f"{_show(value)} is not a report mode (use full, kiosk or print)"
    if name == "version":
        return (
            f"{_show(value)} is not a manifest version this plugin reads; "
            "write version: 1 or leave it out"
        )
    if name == "name":
        if not isinstance(value, str):
            return f"must be text, not {_kind(value)}; put the name in quotes"
        hint = "; variables are not replaced in names" if "$" in value else ""
        return (
            f"{_show(value)} is not a valid name (start with a letter or digit, then use "
            f"letters, digits, '_', '.' or '-'){hint}"
        )
    if name in ("test", "project"):
        if value == "":
            return f"is empty; give the Sipfront {name} name"
        return f"must be the Sipfront {name} name as text, not {_kind(value)}"
    if name in ("test_id", "project_id", "test_ids_item"):
        what = "project" if name == "project_id" else "test"
        too_big = (isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID) or (
            isinstance(value, str) and _DIGITS.fullmatch(value) is not None and int(value) > MAX_ID
        )
        if too_big:
            return f"{_show(value)} is not a Sipfront {what} id (ids are at most {MAX_ID})"
        return f"{_show(value)} is not a Sipfront {what} id (a whole number greater than 0)"
    if name == "test_ids":
        if validator == "minItems":
            return "is empty; list at least one test id, or leave test_ids out to run them all"
        return f"must be a list of Sipfront test ids such as [11, 12], not {_kind(value)}"
    if name in ("skip", "xfail"):
        example = "waiting for TICKET-12" if name == "skip" else "known one-way audio, TICKET-12"
        if isinstance(value, str):
            return f'the reason is empty; say why, e.g. {name}: "{example}"'
        return f'must be the reason as text, e.g. {name}: "{example}", not {_kind(value)}'
    if name == "allow_emergency_destination":
        return f"must be true or false, not {_kind(value)}"
    if name == "marks":
        return f"must be a list of mark names such as [smoke, nightly], not {_kind(value)}"
    if name == "mark":
        return _mark_problem(value) or "is not a valid mark name"
    if name == "overrides":
        return (
            "must be a mapping of Sipfront keys, e.g. step.1.0.dial_destination: "
            f'"431231234", not {_kind(value)}'
        )
    if name == "matrix":
        if validator == "minProperties":
            return "is empty; give at least one key with a list of values, or remove matrix"
        return (
            "must be a mapping of Sipfront keys to lists of values, e.g. "
            f'step.1.0.dial_destination: ["431231234", "439994567"], not {_kind(value)}'
        )
    if name == "matrix_list":
        if validator == "minItems":
            return "is an empty list; give at least one value"
        return f'must be a list of values, e.g. ["431231234", "439994567"], not {_kind(value)}'
    if name in ("override_value", "matrix_value"):
        return _scalar_problem(value) or "must be a string, a number or true/false"
    if name == "tests":
        if validator == "minItems":
            return (
                "is empty; add at least one entry with a name and one of "
                "test, test_id, project, project_id"
            )
        return f"must be a list of entries (- name: ..., test: ...), not {_kind(value)}"
    if name == "entry":
        return f"must be a mapping (name: ..., test: ...), not {_kind(value)}"
    if name == "defaults":
        return (
            "must be a mapping of settings (" + ", ".join(DEFAULTS_KEYS) + f"), not {_kind(value)}"
        )
    if name == "root":
        return f"the manifest must be a mapping with a 'tests' list, not {_kind(value)}"
    return f"{_show(value)} is not allowed here"  # pragma: no cover


def _kind_sentence(entry: Mapping[str, Any]) -> str:
    present = [kind for kind in KIND_KEYS if kind in entry]
    if not present:
        return (
            "the entry names no Sipfront test or project; "
            "set exactly one of test, test_id, project, project_id"
        )
    listed = " and ".join(present)
    return f"the entry sets {listed}; set exactly one of test, test_id, project, project_id"


# --------------------------------------------------------------------------------------------
# Checking


_VALIDATOR: jsonschema.Draft7Validator | None = None


_ANNOTATIONS = frozenset({"definitions", "description", "examples", "title", "$id", "$schema"})


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


def _validator() -> jsonschema.Draft7Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        schema = manifest_schema()
        _VALIDATOR = jsonschema.Draft7Validator(_inlined(schema, schema.get("definitions", {})))
    return _VALIDATOR


@dataclass(frozen=True)
class _Found:
    """A translated schema error: where to sort it, where to show it, and the sentence."""

    order: tuple[int, int, int]
    path: Path
    at_key: bool
    sentence: str


@dataclass
class _Settings:
    timeout: float | None = None
    poll_interval: float | None = None
    retries: int | None = None
    report_mode: str | None = None
    marks: tuple[str, ...] = ()
    overrides: dict[str, tuple[Any, Path, Any]] = field(default_factory=dict)


class _VariableProblem(Exception):
    pass


class _Checker:
    def __init__(self, display_path: str, positions: Positions, environ: Mapping[str, str]):
        self.display_path = display_path
        self.positions = positions
        self.environ = environ

    # -- failing ---------------------------------------------------------------------------

    def fail(self, path: Path, sentence: str, *, at_key: bool = False) -> NoReturn:
        line, column = self.positions.key(path) if at_key else self.positions.value(path)
        where = _format_path(path)
        message = f"{where}: {sentence}" if where else sentence
        raise ManifestError(self.display_path, line, column, message)

    # -- stage 2: the JSON Schema ----------------------------------------------------------

    def check_structure(self, data: Any) -> None:
        found = [self.translate(error, data) for error in _validator().iter_errors(data)]
        if found:
            first = min(found, key=lambda item: item.order)
            self.fail(first.path, first.sentence, at_key=first.at_key)

    def translate(self, error: jsonschema.ValidationError, data: Any) -> _Found:
        path: Path = tuple(error.absolute_path)
        schema_path = list(error.schema_path)
        validator = str(error.validator)
        instance = error.instance
        line, column = self.positions.value(path)

        def container(rank: int, where: Path, sentence: str, at_key: bool) -> _Found:
            return _Found((line, column, rank), where, at_key, sentence)

        if validator == "type" and _field(path) in (
            "root",
            "defaults",
            "tests",
            "entry",
            "overrides",
            "matrix",
        ):
            return container(0, path, _value_sentence(_field(path), instance, validator), False)
        if validator == "additionalProperties" and isinstance(instance, dict):
            allowed = self.allowed_keys(path)
            extra = next((key for key in instance if key not in allowed), "")
            scope = {"root": "root", "defaults": "defaults"}.get(_field(path), "entry")
            sentence = _unknown_key_sentence(extra, scope)
            return container(1, (*path, extra), sentence, True)
        if "propertyNames" in schema_path:
            key = str(instance)
            owner = "matrix" if path and path[-1] == "matrix" else "overrides"
            sentence = (
                _step_key_problem(key, owner) or f"is not a Sipfront step key; {_STEP_KEY_HINT}"
            )
            return container(1, (*path, key), sentence, True)
        if validator == "required":
            if not path:
                sentence = "the manifest has no 'tests' list; add tests: with at least one entry"
            else:
                sentence = (
                    "the entry has no name; add name: with a name that is unique in this file"
                )
            return container(2, path, sentence, False)
        if validator == "oneOf" and isinstance(instance, dict):
            return container(2, path, _kind_sentence(instance), False)
        if "then" in schema_path and len(path) > 2 and isinstance(data, dict):
            key = str(path[2])
            if key == "report_mode":
                return _Found((line, column, 4), path, False, _project_mode_sentence(instance))
            entry_line, entry_column = self.positions.value(path[:2])
            if key == "test_ids":
                sentence = (
                    "test_ids is for project entries only; a test entry runs one test "
                    "(use another entry for another test)"
                )
            else:
                sentence = (
                    f"{key} is for test entries only (test or test_id), "
                    "and this entry runs a project"
                )
            return _Found((entry_line, entry_column, 3), path, True, sentence)
        if validator == "uniqueItems" and isinstance(instance, list):
            repeat = _first_repeat(instance)
            if repeat is not None:
                item_path = (*path, repeat)
                if _field(path) == "test_ids":
                    sentence = f"{_show(instance[repeat])} is listed twice; list each test id once"
                else:
                    sentence = (
                        f"{_show(instance[repeat])} is listed twice; each value makes one item, "
                        "so list it once"
                    )
                return _Found((*self.positions.value(item_path), 4), item_path, False, sentence)
        sentence = _value_sentence(_field(path), instance, validator)
        return _Found((line, column, 4), path, False, sentence)

    @staticmethod
    def allowed_keys(path: Path) -> tuple[str, ...]:
        name = _field(path)
        if name == "root":
            return TOP_KEYS
        if name == "defaults":
            return DEFAULTS_KEYS
        return ENTRY_KEYS

    # -- stage 3: the loader's own checks --------------------------------------------------

    def interpolate(self, path: Path, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return _interpolate(value, self.environ)
        except _VariableProblem as problem:
            self.fail(path, str(problem))

    def duration(self, path: Path, value: Any, setting: str) -> float:
        value = self.interpolate(path, value)
        try:
            return parse_bounded(value, setting)
        except ValueError as error:
            self.fail(path, str(error))

    def retries(self, path: Path, value: Any) -> int:
        value = self.interpolate(path, value)
        number = _retries(value)
        if number is None:
            self.fail(path, _value_sentence("retries", value, ""))
        return number

    def report_mode(self, path: Path, value: Any) -> str:
        value = self.interpolate(path, value)
        if value not in REPORT_MODES:
            self.fail(path, _value_sentence("report_mode", value, ""))
        return str(value)

    def marks(self, path: Path, values: list[Any]) -> tuple[str, ...]:
        marks: list[str] = []
        for index, raw in enumerate(values):
            mark = self.interpolate((*path, index), raw)
            problem = _mark_problem(mark)
            if problem:
                self.fail((*path, index), problem)
            if mark not in marks:
                marks.append(mark)
        return tuple(marks)

    def step_values(
        self, path: Path, mapping: Mapping[str, Any], container: str
    ) -> dict[str, tuple[Any, Path, Any]]:
        """Checked keys and interpolated values: key -> (value, path, value as written)."""
        result: dict[str, tuple[Any, Path, Any]] = {}
        for key, raw in mapping.items():
            key_path = (*path, key)
            problem = _step_key_problem(key, container)
            if problem:
                self.fail(key_path, problem, at_key=True)
            if container == "matrix":
                values = [
                    self.interpolate((*key_path, index), item) for index, item in enumerate(raw)
                ]
                repeat = _first_repeat(values)
                if repeat is not None:
                    self.fail(
                        (*key_path, repeat),
                        f"{_show(values[repeat])} is listed twice once variables are replaced; "
                        "each value makes one item, so list it once",
                    )
                result[key] = (values, key_path, raw)
            else:
                result[key] = (self.interpolate(key_path, raw), key_path, raw)
        return result

    def reason(self, path: Path, value: Any, name: str) -> str:
        value = self.interpolate(path, value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, _value_sentence(name, value, ""))
        return value

    def positive_id(self, path: Path, value: Any, name: str) -> int:
        value = self.interpolate(path, value)
        number = _positive_int(value)
        if number is None:
            self.fail(path, _value_sentence(name, value, ""))
        return number

    def setting(self, settings: _Settings, at: Path, key: str, value: Any) -> bool:
        """Check one setting shared by defaults and entries; False when ``key`` is not one."""
        if key in ("timeout", "poll_interval"):
            setattr(settings, key, self.duration(at, value, key))
        elif key == "retries":
            settings.retries = self.retries(at, value)
        elif key == "report_mode":
            settings.report_mode = self.report_mode(at, value)
        elif key == "marks":
            settings.marks = self.marks(at, value)
        elif key == "overrides":
            settings.overrides = self.step_values(at, value, "overrides")
        else:
            return False
        return True

    def build(self, data: Mapping[str, Any]) -> Manifest:
        defaults = _Settings()
        for key, value in (data.get("defaults") or {}).items():
            self.setting(defaults, ("defaults", key), key, value)
        seen: dict[str, int] = {}
        specs: list[RunSpec] = []
        for index, entry in enumerate(data["tests"]):
            specs.extend(self.entry(index, entry, defaults, seen))
        marks = frozenset(mark for spec in specs for mark in spec.marks)
        return Manifest(self.display_path, tuple(specs), marks)

    def entry(
        self,
        index: int,
        entry: Mapping[str, Any],
        defaults: _Settings,
        seen: dict[str, int],
    ) -> list[RunSpec]:
        path: Path = ("tests", index)
        name = str(entry["name"])
        own = _Settings()
        target = ""
        request: dict[str, Any] = {}
        skip: str | None = None
        xfail: str | None = None
        test_ids: list[int] | None = None
        matrix: dict[str, tuple[Any, Path, Any]] = {}
        for key, value in entry.items():
            at = (*path, key)
            if self.setting(own, at, key, value):
                continue
            if key == "name":
                self.check_name(at, name, index, seen)
            elif key in ("test", "project"):
                text = self.interpolate(at, value)
                if not text.strip():
                    self.fail(
                        at, f"is empty once variables are replaced; give the Sipfront {key} name"
                    )
                request[f"{key}.name"] = text
                target = text if key == "test" else f"project {text}"
            elif key in ("test_id", "project_id"):
                number = self.positive_id(at, value, key)
                request["test.id" if key == "test_id" else "id"] = number
                target = f"id {number}" if key == "test_id" else f"project id {number}"
            elif key == "test_ids":
                test_ids = []
                for item_index, item in enumerate(value):
                    number = self.positive_id((*at, item_index), item, "test_ids_item")
                    if number in test_ids:
                        self.fail(
                            (*at, item_index),
                            f"{number} is listed twice once variables are replaced; "
                            "list each test id once",
                        )
                    test_ids.append(number)
            elif key == "matrix":
                matrix = self.step_values(at, value, "matrix")
            elif key == "skip":
                skip = self.reason(at, value, key)
            elif key == "xfail":
                xfail = self.reason(at, value, key)
        is_test = "test" in entry or "test_id" in entry
        allow_emergency = entry.get("allow_emergency_destination") is True
        report_mode = own.report_mode or defaults.report_mode
        if not is_test and report_mode not in (None, *PROJECT_REPORT_MODES):
            if own.report_mode is not None:
                self.fail((*path, "report_mode"), _project_mode_sentence(report_mode))
            self.fail(
                path,
                f"report_mode {report_mode!r} from defaults is for test runs only; "
                "set report_mode: full or kiosk on this project entry",
            )
        line, column = self.positions.value(path)
        base = RunSpec(
            name=name,
            entry=name,
            kind="test" if is_test else "project",
            target=target,
            request=request,
            report_mode=report_mode,
            timeout=own.timeout if own.timeout is not None else defaults.timeout,
            poll_interval=(
                own.poll_interval if own.poll_interval is not None else defaults.poll_interval
            ),
            retries=own.retries if own.retries is not None else defaults.retries,
            marks=tuple(dict.fromkeys(defaults.marks + own.marks)),
            skip=skip,
            xfail=xfail,
            allow_emergency_destination=allow_emergency,
            line=line,
            column=column,
            params=(),
        )
        if not is_test:
            if test_ids is not None:
                request["test_ids"] = test_ids
            return [base]

        overrides = {**defaults.overrides, **own.overrides}
        for key, (value, at, raw) in overrides.items():
            if not allow_emergency:
                self.guard_emergency(key, value, at, raw, index, name)
            request[key] = value
        for key, (values, at, raws) in matrix.items():
            if key in own.overrides:
                first_line = self.positions.key(own.overrides[key][1])[0]
                self.fail(
                    at,
                    f"this key is also in the entry's overrides (line {first_line}); "
                    "set it in overrides or in matrix, not both",
                    at_key=True,
                )
            if not allow_emergency:
                for item_index, value in enumerate(values):
                    self.guard_emergency(
                        key, value, (*at, item_index), raws[item_index], index, name
                    )
        if not matrix:
            return [base]
        keys = list(matrix)
        count = math.prod(len(matrix[key][0]) for key in keys)
        if count > MAX_MATRIX_ITEMS:
            self.fail(
                (*path, "matrix"),
                f"makes {count} items, more than the {MAX_MATRIX_ITEMS} one entry may make; "
                "split it into several entries",
                at_key=True,
            )
        specs: list[RunSpec] = []
        made: dict[str, tuple[Any, ...]] = {}
        for combination in itertools.product(*(matrix[key][0] for key in keys)):
            item = f"{name}[{'-'.join(_id_part(value) for value in combination)}]"
            if item in made:
                earlier = " + ".join(_show(value) for value in made[item])
                later = " + ".join(_show(value) for value in combination)
                self.fail(
                    (*path, "matrix"),
                    f"the combinations {earlier} and {later} both make the item {item!r}; "
                    "change a value so that every item has its own name",
                    at_key=True,
                )
            made[item] = combination
            params = tuple(zip(keys, combination, strict=True))
            specs.append(
                replace(base, name=item, request={**request, **dict(params)}, params=params)
            )
        return specs

    def check_name(self, at: Path, name: str, index: int, seen: dict[str, int]) -> None:
        if not _NAME.fullmatch(name):
            self.fail(at, _value_sentence("name", name, ""))
        if name in seen:
            first = seen[name]
            first_line = self.positions.value(("tests", first, "name"))[0]
            self.fail(
                at,
                f"{name!r} is already the name of tests[{first}] (line {first_line}); "
                "names must be unique in a file",
            )
        seen[name] = index

    def guard_emergency(
        self, key: str, value: Any, at: Path, raw: Any, index: int, name: str
    ) -> None:
        if not key.lower().endswith(".dial_destination") or not is_emergency_destination(value):
            return
        shown = _show(value)
        if raw != value:
            shown += f" (from {_show(raw)})"
        if at[0] == "defaults":
            self.fail(
                at,
                f"{shown} is an emergency number, and tests[{index}] ({name}) would dial it; "
                "a test must never call emergency services (if it is a lab number, set "
                "allow_emergency_destination: true on that entry)",
            )
        self.fail(
            at,
            f"{shown} is an emergency number; a test must never call emergency services "
            "(if it is a lab number, set allow_emergency_destination: true on this entry)",
        )


def _project_mode_sentence(mode: Any) -> str:
    return f"{_show(mode)} is for test runs only; a project takes full or kiosk"


def _interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}``, ``${NAME:-default}`` and ``$$``; raise _VariableProblem."""
    out: list[str] = []
    index = 0
    while True:
        dollar = text.find("$", index)
        if dollar < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:dollar])
        after = text[dollar + 1 : dollar + 2]
        if after == "$":
            out.append("$")
            index = dollar + 2
            continue
        if after == "{":
            end = text.find("}", dollar + 2)
            if end < 0:
                raise _VariableProblem(
                    f"{_show(text[dollar:])} is not closed; write ${{NAME}} or "
                    "${NAME:-default} (and $$ for a literal $)"
                )
            body = text[dollar + 2 : end]
            name, separator, default = body.partition(":-")
            if not _VARIABLE_NAME.fullmatch(name) or (not separator and body != name):
                raise _VariableProblem(
                    f"{_show(text[dollar : end + 1])} is not a variable this manifest "
                    "understands; write ${NAME} or ${NAME:-default} (and $$ for a literal $)"
                )
            if "${" in default:
                raise _VariableProblem(
                    f"{_show(text[dollar:])} puts a variable inside a default, "
                    "which is not supported; the default is used as written"
                )
            if name.upper() in FORBIDDEN_VARIABLES:
                raise _VariableProblem(
                    f"${{{name}}} cannot be used in a manifest: the Sipfront API keys are read "
                    "by the plugin itself and never sent as test parameters"
                )
            value = environ.get(name)
            if value is None or (value == "" and separator):
                if not separator:
                    raise _VariableProblem(
                        f"the variable {name} is not set; set it in the environment, "
                        f"or give a default: ${{{name}:-value}}"
                    )
                value = default
            out.append(value)
            index = end + 1
            continue
        match = _VARIABLE_NAME.match(text, dollar + 1)
        if match:
            raise _VariableProblem(
                f"${match.group()} looks like a variable; write ${{{match.group()}}} to use it, "
                f"or $${match.group()} for the literal text"
            )
        out.append("$")
        index = dollar + 1
