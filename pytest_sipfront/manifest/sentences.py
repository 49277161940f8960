"""The manifest's sentences for people: how paths and values are shown, and what is said about
a value, a key or a mark that cannot be used. The schema stage (:mod:`.structure`) and the
loader's own checks (:mod:`.checks`) both speak through these, so each sentence is written once.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pytest_sipfront.durations import parse_bounded
from pytest_sipfront.integers import whole_number
from pytest_sipfront.manifest.model import ManifestError
from pytest_sipfront.manifest.safety import looks_like_credential
from pytest_sipfront.manifest.schema import (
    DEFAULTS_KEYS,
    ENTRY_KEYS,
    KIND_KEYS,
    MAX_ID,
    STEP_KEY_PATTERN,
    TOP_KEYS,
)
from pytest_sipfront.manifest.yamlnodes import Path, Positions
from pytest_sipfront.settings import not_a_report_mode

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
"""pytest's own marks, which a manifest mark must not shadow."""

STEP_KEY = re.compile(STEP_KEY_PATTERN.strip("^$"))
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_RESERVED_OVERRIDE_KEYS = {
    "test.name": "test",
    "test.id": "test_id",
    "project.name": "project",
    "id": "project_id",
    "test_ids": "test_ids",
}
CREDENTIAL_SENTENCE = (
    "this key looks like a credential, and a manifest must never hold credentials; remove it "
    "(Sipfront API keys come from SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY in the "
    "environment, SIP users from a credential pool)"
)
STEP_KEY_HINT = "write step.<step>.<action>.<attribute>, e.g. step.1.0.dial_destination"


def problem_at(
    display_path: str, positions: Positions, path: Path, sentence: str, *, at_key: bool = False
) -> ManifestError:
    """The error for ``sentence`` about ``path``: at the key itself, or at its value."""
    line, column = positions.key(path) if at_key else positions.value(path)
    where = format_path(path)
    message = f"{where}: {sentence}" if where else sentence
    return ManifestError(display_path, line, column, message)


def format_path(path: Iterable[str | int]) -> str:
    """``("tests", 0, "overrides", "x y")`` -> ``tests[0].overrides['x y']``."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        elif _SIMPLE_KEY.fullmatch(item):
            out += f".{item}" if out else item
        else:
            out += f"[{show(item)}]"
    return out


def show(value: Any) -> str:
    """A value as the manifest wrote it, shortened to 60 characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:59] + "…"
        return repr(shown)
    return repr(value)


def kind_of(value: Any) -> str:
    """What sort of value ``value`` is, in words: ``a list``, ``the number 3``."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the value {show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover


def _did_you_mean(key: str, allowed: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(key.lower(), list(allowed), n=1, cutoff=0.7)
    return matches[0] if matches else None


def step_key_problem(key: str, container: str) -> str | None:
    """Why ``key`` cannot be an override or matrix key, or None."""
    if looks_like_credential(key):
        return CREDENTIAL_SENTENCE
    if key == "report.mode":
        return f"set the report mode with report_mode: full, kiosk or print, not in {container}"
    if key in _RESERVED_OVERRIDE_KEYS:
        return (
            f"{key} is sent from the entry's {_RESERVED_OVERRIDE_KEYS[key]}; "
            f"remove it from {container}"
        )
    if not STEP_KEY.fullmatch(key):
        return f"is not a Sipfront step key; {STEP_KEY_HINT}"
    return None


def unknown_key_sentence(key: str, scope: str) -> str:
    """The sentence for a key ``scope`` (``root``, ``defaults`` or ``entry``) does not take."""
    if looks_like_credential(key):
        return CREDENTIAL_SENTENCE
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
    if scope != "root" and (STEP_KEY.fullmatch(key) or key.startswith("step.")):
        return "a Sipfront key belongs under overrides: (or matrix:), not directly here"
    guess = _did_you_mean(key, allowed)
    if guess:
        return f"unknown key; did you mean {guess}?"
    return f"unknown key; {listing}"


def mark_problem(mark: Any) -> str | None:
    """Why ``mark`` cannot be a manifest mark, or None."""
    if not isinstance(mark, str):
        return f"{show(mark)} is not a mark name; use a Python identifier such as smoke"
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
            f"{show(mark)} is not a valid mark name; use a Python identifier "
            "such as smoke or nightly_db"
        )
    return None


def scalar_problem(value: Any) -> str | None:
    """Why ``value`` cannot be one override or matrix value, or None."""
    if value is None:
        return "has no value; give a string, a number or true/false"
    if not isinstance(value, (str, int, float, bool)):
        return f"must be a single value (a string, a number or true/false), not {kind_of(value)}"
    return None


def project_mode_sentence(mode: Any) -> str:
    return f"{show(mode)} is for test runs only; a project takes full or kiosk"


def kind_sentence(entry: Mapping[str, Any]) -> str:
    """The sentence for an entry that names no Sipfront test or project, or several."""
    present = [kind for kind in KIND_KEYS if kind in entry]
    if not present:
        return (
            "the entry names no Sipfront test or project; "
            "set exactly one of test, test_id, project, project_id"
        )
    listed = " and ".join(present)
    return f"the entry sets {listed}; set exactly one of test, test_id, project, project_id"


# --------------------------------------------------------------------------------------------
# A value that cannot be used, by field: value_sentence(field, value, validator). ``validator``
# is the JSON Schema keyword that refused it ("" when the loader's own check did).


def value_sentence(name: str, value: Any, validator: str) -> str:
    """The sentence for a value of the field ``name`` that the schema or a check refused."""
    sentence = _VALUE_SENTENCES.get(name)
    if sentence is None:  # pragma: no cover - every field has its sentence
        return f"{show(value)} is not allowed here"
    return sentence(name, value, validator)


def _duration(name: str, value: Any, validator: str) -> str:
    if value is None:
        return "has no value; give a duration such as 90s, 15m or 1h30m"
    try:
        parse_bounded(value, name)
    except ValueError as error:
        return str(error)
    return f"{show(value)} is not a duration (use 90s, 15m, 1h30m)"  # pragma: no cover


def _retries(name: str, value: Any, validator: str) -> str:
    return f"{show(value)} is not a number of retries (use a whole number, 0 or more)"


def _report_mode(name: str, value: Any, validator: str) -> str:
    return not_a_report_mode(show(value))


def _version(name: str, value: Any, validator: str) -> str:
    return (
        f"{show(value)} is not a manifest version this plugin reads; "
        "write version: 1 or leave it out"
    )


def _name(name: str, value: Any, validator: str) -> str:
    if not isinstance(value, str):
        return f"must be text, not {kind_of(value)}; put the name in quotes"
    hint = "; variables are not replaced in names" if "$" in value else ""
    return (
        f"{show(value)} is not a valid name (start with a letter or digit, then use "
        f"letters, digits, '_', '.' or '-'){hint}"
    )


def _target_name(name: str, value: Any, validator: str) -> str:
    if value == "":
        return f"is empty; give the Sipfront {name} name"
    return f"must be the Sipfront {name} name as text, not {kind_of(value)}"


def _id(name: str, value: Any, validator: str) -> str:
    what = "project" if name == "project_id" else "test"
    number = None if isinstance(value, float) else whole_number(value)
    if number is not None and number > MAX_ID:
        return f"{show(value)} is not a Sipfront {what} id (ids are at most {MAX_ID})"
    return f"{show(value)} is not a Sipfront {what} id (a whole number greater than 0)"


def _test_ids(name: str, value: Any, validator: str) -> str:
    if validator == "minItems":
        return "is empty; list at least one test id, or leave test_ids out to run them all"
    return f"must be a list of Sipfront test ids such as [11, 12], not {kind_of(value)}"


def _reason(name: str, value: Any, validator: str) -> str:
    example = "waiting for TICKET-12" if name == "skip" else "known one-way audio, TICKET-12"
    if isinstance(value, str):
        return f'the reason is empty; say why, e.g. {name}: "{example}"'
    return f'must be the reason as text, e.g. {name}: "{example}", not {kind_of(value)}'


def _flag(name: str, value: Any, validator: str) -> str:
    return f"must be true or false, not {kind_of(value)}"


def _marks(name: str, value: Any, validator: str) -> str:
    return f"must be a list of mark names such as [smoke, nightly], not {kind_of(value)}"


def _mark(name: str, value: Any, validator: str) -> str:
    return mark_problem(value) or "is not a valid mark name"


def _overrides(name: str, value: Any, validator: str) -> str:
    return (
        "must be a mapping of Sipfront keys, e.g. step.1.0.dial_destination: "
        f'"431231234", not {kind_of(value)}'
    )


def _matrix(name: str, value: Any, validator: str) -> str:
    if validator == "minProperties":
        return "is empty; give at least one key with a list of values, or remove matrix"
    return (
        "must be a mapping of Sipfront keys to lists of values, e.g. "
        f'step.1.0.dial_destination: ["431231234", "439994567"], not {kind_of(value)}'
    )


def _matrix_list(name: str, value: Any, validator: str) -> str:
    if validator == "minItems":
        return "is an empty list; give at least one value"
    return f'must be a list of values, e.g. ["431231234", "439994567"], not {kind_of(value)}'


def _scalar(name: str, value: Any, validator: str) -> str:
    return scalar_problem(value) or "must be a string, a number or true/false"


def _thresholds(name: str, value: Any, validator: str) -> str:
    return (
        f'must be a mapping of media thresholds, e.g. rtp_jitter: "p95 < 30", not {kind_of(value)}'
    )


def _threshold_value(name: str, value: Any, validator: str) -> str:
    return f'must be a threshold as text, e.g. "p95 < 30", not {kind_of(value)}'


def _tests(name: str, value: Any, validator: str) -> str:
    if validator == "minItems":
        return (
            "is empty; add at least one entry with a name and one of "
            "test, test_id, project, project_id"
        )
    return f"must be a list of entries (- name: ..., test: ...), not {kind_of(value)}"


def _entry(name: str, value: Any, validator: str) -> str:
    return f"must be a mapping (name: ..., test: ...), not {kind_of(value)}"


def _defaults(name: str, value: Any, validator: str) -> str:
    return "must be a mapping of settings (" + ", ".join(DEFAULTS_KEYS) + f"), not {kind_of(value)}"


def _root(name: str, value: Any, validator: str) -> str:
    return f"the manifest must be a mapping with a 'tests' list, not {kind_of(value)}"


_VALUE_SENTENCES: dict[str, Callable[[str, Any, str], str]] = {
    "timeout": _duration,
    "poll_interval": _duration,
    "retries": _retries,
    "report_mode": _report_mode,
    "version": _version,
    "name": _name,
    "test": _target_name,
    "project": _target_name,
    "test_id": _id,
    "project_id": _id,
    "test_ids_item": _id,
    "test_ids": _test_ids,
    "skip": _reason,
    "xfail": _reason,
    "allow_emergency_destination": _flag,
    "marks": _marks,
    "mark": _mark,
    "overrides": _overrides,
    "matrix": _matrix,
    "matrix_list": _matrix_list,
    "override_value": _scalar,
    "matrix_value": _scalar,
    "thresholds": _thresholds,
    "threshold_value": _threshold_value,
    "tests": _tests,
    "entry": _entry,
    "defaults": _defaults,
    "root": _root,
}
"""Field name (:func:`.structure.field_of`) -> its sentence for a value that cannot be used."""
