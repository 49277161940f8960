"""A test's or project's history at Sipfront: its latest run before this session's first
trigger, read tolerantly, looked up once per distinct test or project.

``status/last`` bodies are not published; they are read like a ``runs/:id/status`` body (the
``run`` object), and anything unusable (404, empty, not JSON, no status word) is "no earlier
run". History never changes a verdict; it adds a ``before`` line, says NEW failure or ALREADY
FAILING, and gives polling an expected duration.

Test names are turned into ids with one ``GET /tests`` per session, only when some run names
its test by name; a project named by name is looked up by the id ``GET /projects`` gives it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from pytest_sipfront.api.runstatus import interpret
from pytest_sipfront.api.urls import LAST_PATHS
from pytest_sipfront.runs.outcome import PreviousRun, RunOutcome
from pytest_sipfront.sanitize import clean_line

NO_HISTORY = PreviousRun()


class HistorySource(Protocol):
    """What the lookups need of the API client."""

    def last_run(self, kind: str, entity_id: str) -> dict[str, Any] | None: ...

    def list_tests(self, *, attempts: int | None = None) -> list[dict[str, Any]]: ...

    def list_projects(self, *, attempts: int | None = None) -> list[dict[str, Any]]: ...


def previous_from_run(run: Mapping[str, Any] | None, kind: str) -> PreviousRun:
    """A ``status/last`` run object as a :class:`PreviousRun`; unusable means ``none``."""
    if not isinstance(run, Mapping) or not run:
        return NO_HISTORY
    state = interpret(run, kind)
    if not state.word and not state.finished:
        return NO_HISTORY
    if not state.finished:
        word = "running"
    elif state.passed:
        word = "passed"
    else:
        word = "failed"
    reason = run.get("result_description")
    started = run.get("started_at", run.get("created_at"))
    stopped = run.get("stopped_at")
    url = run.get("report_url")
    session_id = run.get("session_id")
    return PreviousRun(
        state=word,
        reason=clean_line(reason, 300) if isinstance(reason, str) and word == "failed" else "",
        started_at=started if isinstance(started, str) else None,
        stopped_at=stopped if isinstance(stopped, str) and state.finished else None,
        report_url=url
        if isinstance(url, str) and url.lower().startswith(("https://", "http://"))
        else None,
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

    def __init__(self) -> None:
        self.done = threading.Event()
        self.previous = NO_HISTORY


class HistoryBook:
    """One lookup per distinct test or project per session, shared by every thread.

    The first run of a test asks; runs of the same test that come meanwhile wait for that one
    answer (never a second request).
    """

    def __init__(self, source: HistorySource) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._ids: dict[str, dict[str, str]] = {}
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
            entry.done.wait()
            return entry.previous
        try:
            entity_id = target[1] if target[0] == "id" else self._id_of(kind, target[1])
            if entity_id is not None:
                entry.previous = previous_from_run(self._source.last_run(kind, entity_id), kind)
        finally:
            entry.done.set()
        return entry.previous

    def _id_of(self, kind: str, name: str) -> str | None:
        """The id ``GET /tests`` (``/projects``) gives ``name``; listed once per session."""
        listing = "tests" if kind == "test" else "projects"
        with self._id_lock:
            ids = self._ids.get(listing)
            if ids is None:
                ids = self._ids[listing] = self._list(listing)
        return ids.get(name)

    def _list(self, listing: str) -> dict[str, str]:
        from pytest_sipfront.api.client import ApiError  # (this module stays light to import)

        try:
            # One attempt: a listing in trouble must not hold the first trigger up.
            items = (
                self._source.list_tests(attempts=1)
                if listing == "tests"
                else self._source.list_projects(attempts=1)
            )
        except ApiError:
            return {}
        ids: dict[str, str] = {}
        for item in items:
            name, number = item.get("name"), item.get("id")
            if isinstance(name, str) and isinstance(number, (str, int)) and str(number).strip():
                ids.setdefault(name.strip(), str(number).strip())
        return ids
