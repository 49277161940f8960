"""Load a Sipfront manifest into run specs: one :class:`RunSpec` per pytest item.

Loading goes in three stages and stops at the first problem, raised as :class:`ManifestError`
(``<path>:<line>:<column>: <where>: <what is wrong and what to do>``):

1. YAML (:mod:`.yamlnodes`): syntax, tabs, duplicate keys, YAML 1.1 surprises.
2. Structure, with the published JSON Schema (:mod:`.structure`); its errors are
   turned into plain sentences (:mod:`.sentences`). A mapping's own problems (wrong type,
   unknown keys, missing keys) are reported before problems inside its values.
3. The loader's own checks (:mod:`.checks`), entry by entry in file order: variables
   (:mod:`.variables`), durations, unique names, marks, the emergency-number guard,
   credential-looking keys, matrix ids.

This module is the manifest package's public face: what the rest of the package needs of a
manifest (:class:`RunSpec`, :func:`request_body`, :func:`manifest_schema`, ...) is imported from
here, wherever it is defined.

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
  which only take ``full`` or ``kiosk`` (:func:`report_mode_sent`); a manifest that gives a
  project ``print`` is an error.
- ``allow_emergency_destination`` is set per entry only, never in ``defaults``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pytest_sipfront.manifest.checks import Checker
from pytest_sipfront.manifest.claim import DEFAULT_PATTERNS
from pytest_sipfront.manifest.model import (
    Manifest,
    ManifestError,
    RunSpec,
    report_mode_sent,
    request_body,
)
from pytest_sipfront.manifest.schema import manifest_schema
from pytest_sipfront.manifest.sentences import format_path
from pytest_sipfront.manifest.structure import check_structure
from pytest_sipfront.manifest.yamlnodes import YamlProblem, load_document, read_text

__all__ = [
    "DEFAULT_PATTERNS",
    "Manifest",
    "ManifestError",
    "RunSpec",
    "load_manifest",
    "load_manifest_text",
    "manifest_schema",
    "report_mode_sent",
    "request_body",
]

MAX_MANIFEST_BYTES = 5 * 1024 * 1024
"""A manifest file larger than this (5 MB) is refused before it is parsed."""


def load_manifest(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    display_path: str | None = None,
) -> Manifest:
    """Read and check a manifest file; ``display_path`` is the path errors show."""
    shown = display_path if display_path is not None else os.fspath(path)
    try:
        text = read_text(
            path,
            limit=MAX_MANIFEST_BYTES,
            what="manifest",
            split_hint="split it into several manifests",
        )
    except YamlProblem as problem:
        raise ManifestError(shown, problem.line, problem.column, problem.message) from None
    return load_manifest_text(text, shown, environ=environ)


def load_manifest_text(
    text: str, display_path: str, *, environ: Mapping[str, str] | None = None
) -> Manifest:
    """Check a manifest given as text; errors name ``display_path``."""
    try:
        document = load_document(text)
    except YamlProblem as problem:
        where = format_path(problem.path) if problem.path else ""
        message = f"{where}: {problem.message}" if where else problem.message
        raise ManifestError(display_path, problem.line, problem.column, message) from None
    if document.data is None:
        raise ManifestError(
            display_path,
            1,
            1,
            "the file is empty; a manifest needs a 'tests' list with at least one entry",
        )
    check_structure(document.data, display_path, document.positions)
    checker = Checker(display_path, document.positions, os.environ if environ is None else environ)
    return checker.build(document.data)
