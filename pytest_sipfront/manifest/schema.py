"""The manifest's structure as a JSON Schema (draft-07, which editors support best).

``sipfront schema`` prints it; editors use it through
``# yaml-language-server: $schema=<path or URL>``; the loader checks every manifest against it
before its own checks (unique names, variables, safety rules). Strings that hold a variable
(``${VAR}``) are accepted wherever a value is constrained, because the constraint can only be
checked once the variable is replaced: the loader does that.
"""

from __future__ import annotations

import copy
from typing import Any

from pytest_sipfront.settings import PROJECT_REPORT_MODES, REPORT_MODES

SCHEMA_ID = "urn:pytest-sipfront:manifest:1"

# Patterns shared with the loader, which re-checks them after variables are replaced.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
STEP_KEY_PATTERN = r"^step\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.[A-Za-z_][A-Za-z0-9_]*$"
DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]+)?|([0-9]+(\.[0-9]+)?[hmsHMS])+)\s*$"
DIGITS_PATTERN = r"^[0-9]+$"
VARIABLE_PATTERN = r"\$\{"
IDENTIFIER_PATTERN = r"^[^\W\d]\w*$"

MAX_ID = 2**63 - 1
"""The largest test or project id sent (a signed 64-bit integer, as Sipfront's ids are)."""

TOP_KEYS = ("version", "defaults", "tests")
DEFAULTS_KEYS = (
    "timeout",
    "poll_interval",
    "retries",
    "report_mode",
    "marks",
    "overrides",
    "thresholds",
)
KIND_KEYS = ("test", "test_id", "project", "project_id")
ENTRY_KEYS = (
    "name",
    "test",
    "test_id",
    "project",
    "project_id",
    "test_ids",
    "overrides",
    "matrix",
    "timeout",
    "poll_interval",
    "retries",
    "report_mode",
    "marks",
    "skip",
    "xfail",
    "allow_emergency_destination",
    "thresholds",
)

_WITH_VARIABLE = {"type": "string", "pattern": VARIABLE_PATTERN}

_DEFINITIONS: dict[str, Any] = {
    "duration": {
        "description": "A number of seconds, or a string like 90s, 15m, 1h, 1h30m. Must be > 0.",
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "string", "pattern": DURATION_PATTERN},
            _WITH_VARIABLE,
        ],
        "examples": ["30m", "90s", "1h30m"],
    },
    "retries": {
        "description": "Re-trigger a run that finished failed, up to N more times (0 = never).",
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": DIGITS_PATTERN},
            _WITH_VARIABLE,
        ],
    },
    "positive_id": {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "pattern": DIGITS_PATTERN},
            _WITH_VARIABLE,
        ],
    },
    "report_mode": {
        "description": "Sent as report.mode. kiosk gives a public report link; print is for "
        "tests only.",
        "anyOf": [{"type": "string", "enum": list(REPORT_MODES)}, _WITH_VARIABLE],
    },
    "marks": {
        "description": "pytest marks for -m (Python identifiers; not pytest's own names such as "
        "skip or xfail).",
        "type": "array",
        "items": {
            "anyOf": [{"type": "string", "pattern": IDENTIFIER_PATTERN}, _WITH_VARIABLE],
        },
        "examples": [["smoke"], ["voip", "nightly"]],
    },
    "scalar": {
        "description": "A string, integer, float or boolean.",
        "type": ["string", "integer", "number", "boolean"],
    },
    "overrides": {
        "description": "Flat Sipfront keys sent with the run, step.<step>.<action>.<attribute>, "
        "e.g. step.1.0.dial_destination.",
        "type": "object",
        "propertyNames": {"pattern": STEP_KEY_PATTERN},
        "additionalProperties": {"$ref": "#/definitions/scalar"},
        "examples": [{"step.1.0.dial_destination": "431231234", "step.0.1.target_pool": 1234}],
    },
    "reason": {"type": "string", "minLength": 1, "pattern": r"\S"},
    "thresholds": {
        "description": "Media thresholds the run's metrics must hold (a breach fails the item "
        "even when Sipfront passed the run). Key: a measure, optionally {role=...,dir=...} and "
        "@baseline; value: an aggregate (min, max, mean, median, pN), a comparator (<, <=, >, "
        ">=) and a number (a change in percent, e.g. +50%, for @baseline).",
        "type": "object",
        "additionalProperties": {"type": "string"},
        "examples": [
            {
                "rtp_jitter": "p95 < 30",
                "rtp_jitter{role=callee,dir=in}": "max <= 50",
                "rtp_byte_per_sec": "min > 0",
                "rtp_jitter@baseline": "p95 < +50%",
            }
        ],
    },
}

_ENTRY: dict[str, Any] = {
    "type": "object",
    "description": "One Sipfront test or project run (or, with matrix, one run per combination).",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "description": "Unique in the file; the pytest item name (use it with -k). "
            "Variables are not replaced here.",
            "type": "string",
            "pattern": NAME_PATTERN,
        },
        "test": {
            "description": "Sipfront test name, sent as test.name.",
            "type": "string",
            "minLength": 1,
        },
        "test_id": {
            "description": "Sipfront test id, sent as test.id.",
            "$ref": "#/definitions/positive_id",
        },
        "project": {
            "description": "Sipfront project name, sent as project.name to /projects/run.",
            "type": "string",
            "minLength": 1,
        },
        "project_id": {
            "description": "Sipfront project id, sent as id to /projects/run.",
            "$ref": "#/definitions/positive_id",
        },
        "test_ids": {
            "description": "Projects only: run just these test ids of the project.",
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"$ref": "#/definitions/positive_id"},
        },
        "overrides": {
            "$ref": "#/definitions/overrides",
        },
        "matrix": {
            "description": "Tests only: one pytest item per combination of these values "
            "(cartesian product, keys in file order).",
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": STEP_KEY_PATTERN},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"$ref": "#/definitions/scalar"},
            },
        },
        "timeout": {"$ref": "#/definitions/duration"},
        "poll_interval": {"$ref": "#/definitions/duration"},
        "retries": {"$ref": "#/definitions/retries"},
        "report_mode": {"$ref": "#/definitions/report_mode"},
        "marks": {"$ref": "#/definitions/marks"},
        "skip": {
            "description": "Do not trigger this entry; the reason is shown as the skip reason.",
            "$ref": "#/definitions/reason",
        },
        "xfail": {
            "description": "The run is expected to fail (reported xfailed/xpassed); the reason.",
            "$ref": "#/definitions/reason",
        },
        "allow_emergency_destination": {
            "description": "Allow a dial_destination that is an emergency number (lab setups).",
            "type": "boolean",
        },
        "thresholds": {"$ref": "#/definitions/thresholds"},
    },
    "oneOf": [{"required": [kind]} for kind in KIND_KEYS],
    "allOf": [
        {
            "if": {"anyOf": [{"required": ["project"]}, {"required": ["project_id"]}]},
            "then": {
                "properties": {
                    "overrides": {"not": {}},
                    "matrix": {"not": {}},
                    "thresholds": {"not": {}},
                    "report_mode": {
                        "anyOf": [
                            {"type": "string", "enum": list(PROJECT_REPORT_MODES)},
                            _WITH_VARIABLE,
                        ]
                    },
                }
            },
        },
        {
            "if": {"anyOf": [{"required": ["test"]}, {"required": ["test_id"]}]},
            "then": {"properties": {"test_ids": {"not": {}}}},
        },
    ],
}

_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": SCHEMA_ID,
    "title": "pytest-sipfront manifest",
    "description": "Sipfront test and project runs that pytest triggers, waits for and reports "
    "(sipfront.yml, *.sipfront.yml). ${VAR} and ${VAR:-default} are replaced from the "
    "environment in string values (not in name); $$ is a literal $.",
    "type": "object",
    "required": ["tests"],
    "additionalProperties": False,
    "properties": {
        "version": {
            "description": "Manifest format version; only 1 exists.",
            "const": 1,
        },
        "defaults": {
            "description": "Settings for every entry; an entry's own value wins (overrides key by "
            "key; marks are combined).",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "timeout": {
                    "description": "How long a run may take, from its trigger.",
                    "$ref": "#/definitions/duration",
                },
                "poll_interval": {
                    "description": "Interval between status requests for one run.",
                    "$ref": "#/definitions/duration",
                },
                "retries": {"$ref": "#/definitions/retries"},
                "report_mode": {"$ref": "#/definitions/report_mode"},
                "marks": {"$ref": "#/definitions/marks"},
                "overrides": {
                    "description": "Flat Sipfront keys sent with every test entry.",
                    "$ref": "#/definitions/overrides",
                },
                "thresholds": {
                    "description": "Media thresholds for every entry; an entry's own threshold "
                    "on the same key wins.",
                    "$ref": "#/definitions/thresholds",
                },
            },
        },
        "tests": {
            "description": "The runs: each entry names exactly one of test, test_id, project, "
            "project_id.",
            "type": "array",
            "minItems": 1,
            "items": _ENTRY,
        },
    },
    "definitions": _DEFINITIONS,
}


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft-07), a fresh copy the caller may change."""
    return copy.deepcopy(_SCHEMA)
