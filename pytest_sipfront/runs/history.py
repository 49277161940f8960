"""A test's or project's history at Sipfront: its latest run before this session's first
trigger, read tolerantly, looked up once per distinct test or project.

``status/last`` bodies are not published; they are read like a ``runs/:id/status`` body (the
``run`` object), and anything unusable (404, empty, not JSON, no status word) is "no earlier
run". History never changes a verdict; it adds a ``before`` line, says NEW failure or ALREADY
FAILING, and gives polling an expected duration.

Test names are turned into ids with one ``GET /tests`` per session, only when some run names
its test by name; a project named by name is looked up by the id ``GET /projects`` gives it.
A name resolves only when exactly ONE listed test carries exactly that name, as sent: two tests
with the name, or one whose name matches only after cleaning (a trailing space, a bidi or
zero-width character, another case), make the history unknown, and the ``before`` line says so.

The verdict of the earlier run is read by the same function as a run's own
(:func:`pytest_sipfront.api.runstatus.read_run_body`, from the raw body). ALREADY FAILING needs
Sipfront to have said, consistently, that the run failed; a body with no verdict, a
contradictory one or ``has_passed: 2`` is unknown history, and a failure stays red.

The whole lookup (listing and ``status/last``) ends by :data:`HISTORY_TIMEOUT` on the client's
clock; a lookup that takes longer is unknown history, and its trigger goes ahead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from pytest_sipfront.api.runstatus import RunReading, read_run_body
from pytest_sipfront.api.urls import LAST_PATHS
from pytest_sipfront.runs.messages import (
    HISTORY_NO_VERDICT,
    HISTORY_TOO_SLOW,
    history_contradictory,
    history_name_ambiguous,
)
from pytest_sipfront.runs.outcome import PreviousRun, RunOutcome
from pytest_sipfront.sanitize import clean_http_url, clean_line, lookalike

NO_HISTORY = PreviousRun()
HISTORY_TIMEOUT = 5.0
"""Seconds a history lookup (listing and ``status/last`` together) may take."""
_WAIT_MARGIN = 5.0
"""A run waiting for another thread's lookup of the same test gives up this much after it."""


class HistorySource(Protocol):
    """What the lookups need of the API client."""

    def now(self) -> float: ...

    def last_run(self, kind: str, entity_id: str, *, deadline: float) -> RunReading | None: ...

    def listing(self, kind: str, *, deadline: float) -> list[dict[str, Any]]: ...


def unknown(reason: str) -> PreviousRun:
    """History that cannot be trusted: never ALREADY FAILING; the ``before`` line says why."""
    return PreviousRun(state="unknown", reason=clean_line(reason, 300))


def previous_from_run(body: Any, kind: str) -> PreviousRun:
    """A ``status/last`` body (``{"run": {...}}``, a bare run object, or an already read
    :class:`RunReading`) as a :class:`PreviousRun`. Unusable means ``none``; a finished run
    without consistent evidence of its verdict is ``unknown``."""
    if isinstance(body, RunReading):
        reading: RunReading | None = body
    elif isinstance(body, Mapping) and not isinstance(body.get("run"), Mapping):
        reading = read_run_body({"run": body}, kind)
    else:
        reading = read_run_body(body, kind, keys=("run", "data"))
    if reading is None:
        return NO_HISTORY
    state, run = reading.state, reading.run
    if not state.word and not state.finished and state.contradiction is None:
        return NO_HISTORY
    if state.contradiction is not None:
        return unknown(history_contradictory(state.contradiction))
    if not state.finished:
        word = "running"
    elif state.passed:
        word = "passed"
    elif state.failed:
        word = "failed"
    else:
        return unknown(HISTORY_NO_VERDICT)
    reason = run.get("result_description")
    started = run.get("started_at", run.get("created_at"))
    stopped = run.get("stopped_at")
    session_id = run.get("session_id")
    return PreviousRun(
        state=word,
        reason=clean_line(reason, 300) if isinstance(reason, str) and word == "failed" else "",
        started_at=clean_line(started, 40) if isinstance(started, str) else None,
        stopped_at=clean_line(stopped, 40) if isinstance(stopped, str) and state.finished else None,
        report_url=clean_http_url(run.get("report_url")),
        session_id=clean_line(session_id, 200) or None if isinstance(session_id, str) else None,
    )


def planned_lookup(kind: str, body: Mapping[str, Any]) -> str:
    """The history request a dry run shows before the trigger."""
    target = lookup_target(kind, body)
    if target is None:
        return ""
    path = LAST_PATHS[kind].format(id=target[1] if target[0] == "id" else f"<id of {target[1]}>")
    listing = " (its id from GET /tests)" if kind == "test" else " (its id from GET /projects)"
    return f"GET {path}{listing if target[0] == 'name' else ''}"


def history_properties(outcome: RunOutcome) -> list[tuple[str, object]]:
    """``user_properties`` of a run whose history was looked up (none when it was not)."""
    previous = outcome.previous
    if previous is None:
        return []
    return [
        ("sipfront_previous_status", previous.state),
        ("sipfront_previous_report_url", previous.report_url or ""),
    ]


def lookup_target(kind: str, body: Mapping[str, Any]) -> tuple[str, str] | None:
    """What a trigger body names: ``("id", "123")`` or ``("name", "basic-call")``."""
    id_key, name_key = ("test.id", "test.name") if kind == "test" else ("id", "project.name")
    for how, key in (("id", id_key), ("name", name_key)):
        value = body.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (str, int)) and str(value).strip():
            return how, str(value).strip()
    return None


class _Entry:
    __slots__ = ("done", "previous")
    done: threading.Event
    previous: PreviousRun

    def __init__(self) -> None:
        self.done = threading.Event()
        self.previous = NO_HISTORY


class HistoryBook:
    """One lookup per distinct test or project per session, shared by every thread.

    The first run of a test asks; runs of the same test that come meanwhile wait for that one
    answer (never a second request).
    """

    def __init__(self, source: HistorySource, timeout: float = HISTORY_TIMEOUT) -> None:
        self._source = source
        self._timeout = timeout
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._listings: dict[str, list[dict[str, Any]] | None] = {}
        self._id_lock = threading.Lock()

    def previous(self, kind: str, body: Mapping[str, Any]) -> PreviousRun:
        """The run before this session of what ``body`` triggers (``none`` when unknown)."""
        target = lookup_target(kind, body)
        if target is None:
            return NO_HISTORY
        key = (kind, *target)
        with self._lock:
            entry = self._entries.get(key)
            mine = entry is None
            if entry is None:
                entry = self._entries[key] = _Entry()
        if not mine:
            if not entry.done.wait(self._timeout + _WAIT_MARGIN):
                return unknown(HISTORY_TOO_SLOW)
            return entry.previous
        deadline = self._source.now() + self._timeout
        try:
            entry.previous = self._look_up(kind, target, deadline)
        finally:
            entry.done.set()
        return entry.previous

    def _look_up(self, kind: str, target: tuple[str, str], deadline: float) -> PreviousRun:
        if target[0] == "id":
            entity_id: str | PreviousRun | None = target[1]
        else:
            entity_id = self._id_of(kind, target[1], deadline)
        if not isinstance(entity_id, str):
            return NO_HISTORY if entity_id is None else entity_id
        if self._source.now() >= deadline:
            return unknown(HISTORY_TOO_SLOW)
        return previous_from_run(self._source.last_run(kind, entity_id, deadline=deadline), kind)

    def _id_of(self, kind: str, name: str, deadline: float) -> str | PreviousRun | None:
        """The id of the ONE listed test (project) named exactly ``name``; ``None`` when none
        is or the listing failed (or did not come by ``deadline``); unknown history when the
        name is shared or only matches after cleaning. Listed once per session."""
        if not self._id_lock.acquire(timeout=max(0.0, deadline - self._source.now())):
            return unknown(HISTORY_TOO_SLOW)
        try:
            if kind not in self._listings:
                self._listings[kind] = self._list(kind, deadline)
            items = self._listings[kind]
        finally:
            self._id_lock.release()
        if items is None:
            return None  # the listing failed or came too late: no history, as for a lookup
        exact: list[str] = []
        alike = 0
        for item in items:
            listed, number = item.get("name"), item.get("id")
            if not isinstance(listed, str) or isinstance(number, bool):
                continue
            if not isinstance(number, (str, int)) or not str(number).strip():
                continue
            if listed == name:
                exact.append(str(number).strip())
            elif lookalike(listed) == lookalike(name):
                alike += 1
        if len(exact) == 1 and alike == 0:
            return exact[0]
        if exact or alike:
            return unknown(history_name_ambiguous(name, len(exact) + alike))
        return None

    def _list(self, kind: str, deadline: float) -> list[dict[str, Any]] | None:
        """The raw listing, or ``None`` when it failed or did not come by ``deadline``."""
        from pytest_sipfront.api.client import ApiError  # (this module stays light to import)

        try:
            # One attempt that ends by the lookup's deadline: a listing in trouble or a slow
            # one must not hold the first trigger up.
            return self._source.listing(kind, deadline=deadline)
        except ApiError:
            return None
