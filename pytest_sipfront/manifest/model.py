"""What a manifest turns into: one :class:`RunSpec` per pytest item, the :class:`Manifest` that
holds them, the :class:`ManifestError` a problem raises, and the request body each run sends.

Light on purpose (no YAML, no JSON Schema): the session code may import it at any time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_sipfront.media.thresholds import Threshold
from pytest_sipfront.settings import PROJECT_REPORT_MODES


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
    thresholds: tuple[Threshold, ...] = ()
    """Media thresholds (the entry's, over the defaults' on the same key)."""


@dataclass(frozen=True)
class Manifest:
    path: str
    specs: tuple[RunSpec, ...]
    marks: frozenset[str]


def report_mode_sent(spec: RunSpec, session_mode: str | None) -> str | None:
    """The ``report.mode`` a run sends, or ``None`` to send none.

    The manifest's own mode wins over ``session_mode`` (from the command line, environment or
    ini). A project run takes only ``full`` or ``kiosk``: a session-wide ``print`` is not sent
    for it (a manifest that gives a project ``print`` is refused when it is loaded). This is the
    one place of that rule: ``session_mode and report_mode_sent(spec, session_mode) is None``
    says that the session's mode was dropped for ``spec``.
    """
    if spec.report_mode is not None:
        return spec.report_mode
    if spec.kind == "project" and session_mode not in PROJECT_REPORT_MODES:
        return None
    return session_mode or None


def request_body(spec: RunSpec, report_mode: str | None) -> dict[str, Any]:
    """The JSON body to send: ``spec.request`` plus ``report.mode`` when one is sent
    (:func:`report_mode_sent`; ``report_mode`` is the session's)."""
    body = {
        key: list(value) if isinstance(value, list) else value
        for key, value in spec.request.items()
    }
    mode = report_mode_sent(spec, report_mode)
    if mode:
        body["report.mode"] = mode
    return body
