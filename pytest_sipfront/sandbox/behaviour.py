"""The sandbox's API behaviour: which endpoint a path is, what each request is answered,
the runs it started and how their status bodies look, and which fault a request meets.

Decisions where Sipfront's record is silent: ``test.id`` wins over ``test.name`` when both are
sent (as ``id`` does for projects); an unknown ``test.id`` or project ``id`` is answered 422
``Test not found`` / ``Project not found``; a run that ends ``stopped`` has ``is_failed`` 0
(only ``has_passed`` says it did not pass), ``failed`` and ``errored`` have ``is_failed`` 1;
a project run's ``status_url`` is ``/api/v2/runs/<project_run_uuid>/status``. Report pages
(``/run/details/<session>``, ``/kiosk/<token>/<session>``) need no credentials. Faults apply
before the credentials are checked, as a proxy in front of Sipfront would fail; every request
counts towards a fault's ``after`` and ``times``, authorised or not.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import html
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs

from pytest_sipfront.integers import whole_number
from pytest_sipfront.sandbox import media
from pytest_sipfront.sandbox.catalog import (
    Behaviour,
    Catalog,
    CatalogProject,
    CatalogTest,
    Fault,
    Previous,
    scalar_text,
)
from pytest_sipfront.sandbox.endpoints import API_PREFIX, Call, Endpoint, is_api_path
from pytest_sipfront.settings import PROJECT_REPORT_MODES, REPORT_MODES

METHOD_NOT_ALLOWED = "Method not allowed"
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the sandbox received, recorded just before it was answered."""

    time: float
    method: str
    path: str
    endpoint: str
    status: int
    body: dict[str, Any] | None
    authorized: bool


@dataclass
class _Run:
    """A test or project run the sandbox started."""

    kind: str  # "test" | "project"
    key: str  # session id (tests) or project_run_uuid (projects)
    run_id: int
    name: str
    entity_id: int
    started: float
    started_at: datetime
    duration: float
    outcome: str
    result_description: str
    report_url: str
    kiosk_token: str
    behaviour: Behaviour
    test: CatalogTest | None = None
    total_tests: int = 1
    polls: int = 0
    finished_body: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _FaultState:
    fault: Fault
    seen: int = 0
    fired: int = 0

    def concerns(self, endpoint: str, names: frozenset[str]) -> bool:
        return self.fault.endpoint == endpoint and (
            self.fault.test is None or self.fault.test in names
        )


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps(payload).encode("utf-8")
    return Answer(status, body, "application/json", dict(headers or {}))


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return json_answer({"error": message, "status": status}, status, headers)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Sandbox fault"


class _Refused(Exception):
    """A trigger the sandbox answers with an error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ApiState:
    """Everything the handler threads share; every mutation happens under ``lock``."""

    def __init__(self, catalog: Catalog, public_key: str, secret_key: str) -> None:
        self.catalog = catalog
        self.lock = threading.Lock()
        self.records: list[RequestRecord] = []
        self.runs: dict[str, _Run] = {}
        self.faults = [_FaultState(f) for f in catalog.faults]
        self.adhoc_tests: dict[str, CatalogTest] = {}
        self.adhoc_projects: dict[str, CatalogProject] = {}
        self.run_ids = itertools.count(10001)
        self.adhoc_ids = itertools.count(900001)
        token = f"{public_key}:{secret_key}".encode()
        self.expected_auth = b"Basic " + base64.b64encode(token)
        self.origin = ""
        self.host = ""
        self.port = 0
        self.stopping = threading.Event()

    # ---- bookkeeping

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.records.append(record)

    def authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(b"Basic " + base64.b64encode(given), self.expected_auth)

    def pick_fault(self, endpoint: str, names: frozenset[str]) -> Fault | None:
        chosen: Fault | None = None
        with self.lock:
            for state in self.faults:
                if not state.concerns(endpoint, names):
                    continue
                state.seen += 1
                fault = state.fault
                if chosen is not None or state.seen <= fault.after:
                    continue
                if fault.times and state.fired >= fault.times:
                    continue
                state.fired += 1
                chosen = fault
        return chosen

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(_FaultState(fault))

    # ---- what a request concerns (for faults with ``test:``)

    def concerned(self, endpoint: Endpoint, call: Call) -> frozenset[str]:
        """The test or project names and ids a request concerns (none for most endpoints)."""
        if not endpoint.concerns:
            return frozenset()
        names = cast(Callable[[Call], frozenset[str]], getattr(self, endpoint.concerns))
        return names(call)

    def test_trigger_names(self, call: Call) -> frozenset[str]:
        raw_name, raw_id = call.fields.get("test.name"), call.fields.get("test.id")
        test = self.catalog.find_test(test_id=_as_int(raw_id)) if raw_id is not None else None
        found = {test.name, str(test.id)} if test is not None else set()
        return frozenset(found | _sent_names(raw_name, raw_id))

    def project_trigger_names(self, call: Call) -> frozenset[str]:
        raw_name, raw_id = call.fields.get("project.name"), call.fields.get("id")
        project = (
            self.catalog.find_project(project_id=_as_int(raw_id)) if raw_id is not None else None
        )
        found = {project.name, str(project.id)} if project is not None else set()
        return frozenset(found | _sent_names(raw_name, raw_id))

    def run_names(self, call: Call) -> frozenset[str]:
        run = self.runs.get(call.params["key"])
        return frozenset() if run is None else frozenset((run.name, str(run.entity_id)))

    def test_names(self, call: Call) -> frozenset[str]:
        return self._entity_names("tests", call.params["id"])

    def project_names(self, call: Call) -> frozenset[str]:
        return self._entity_names("projects", call.params["id"])

    def _entity_names(self, kind: str, raw_id: str) -> frozenset[str]:
        entity = self.entity_by_id(kind, raw_id)
        return frozenset({raw_id} | ({entity.name} if entity is not None else set()))

    # ---- answering

    def answer(
        self,
        endpoint: Endpoint | None,
        call: Call,
        *,
        authorized: bool,
        bad_body: str | None,
    ) -> Answer:
        """The answer to a request no fault took over, checked in Sipfront's order: report
        pages need no credentials; then unknown paths, credentials, method, body."""
        if endpoint is not None and endpoint.public:
            if call.method not in ("GET", "HEAD"):
                return error_answer(405, METHOD_NOT_ALLOWED)
            return self._answer_of(endpoint, call)
        if endpoint is None and not is_api_path(call.path):
            return error_answer(404, "Not found")
        if not authorized:
            return error_answer(
                401,
                "Invalid API credentials",
                {"WWW-Authenticate": 'Basic realm="Sipfront sandbox"'},
            )
        if endpoint is None:
            return error_answer(404, "Not found")
        allowed = endpoint.method
        if call.method != allowed and not (call.method == "HEAD" and allowed == "GET"):
            return error_answer(405, METHOD_NOT_ALLOWED, {"Allow": allowed})
        if bad_body is not None:
            return error_answer(400, bad_body)
        return self._answer_of(endpoint, call)

    def _answer_of(self, endpoint: Endpoint, call: Call) -> Answer:
        handler = cast(Callable[[Call], Answer], getattr(self, endpoint.answer))
        try:
            return handler(call)
        except _Refused as exc:
            return error_answer(exc.status, exc.message)

    # ---- triggers

    def resolve_test(self, body: Mapping[str, Any]) -> CatalogTest:
        raw_id, raw_name = body.get("test.id"), body.get("test.name")
        if raw_id is not None and raw_id != "":
            test_id = _as_int(raw_id)
            if test_id is None:
                raise _Refused(422, f"test.id must be a number, got {raw_id!r}")
            found = self.catalog.find_test(test_id=test_id)
            if found is None:
                with self.lock:
                    found = next(
                        (t for t in self.adhoc_tests.values() if t.id == test_id),
                        None,
                    )
            if found is None:
                raise _Refused(422, "Test not found")
            return found
        name = _as_name(raw_name)
        if not name:
            raise _Refused(422, "Missing parameter: test.name or test.id")
        found = self.catalog.find_test(name=name)
        if found is not None:
            return found
        if self.catalog.unknown_tests == "refuse":
            raise _Refused(422, "Test not found")
        with self.lock:
            if name not in self.adhoc_tests:
                self.adhoc_tests[name] = CatalogTest(
                    name=name,
                    id=next(self.adhoc_ids),
                    duration=self.catalog.default_duration,
                    testcase_name=name,
                )
            return self.adhoc_tests[name]

    def resolve_project(self, body: Mapping[str, Any]) -> CatalogProject:
        raw_id, raw_name = body.get("id"), body.get("project.name")
        if raw_id is not None and raw_id != "":
            project_id = _as_int(raw_id)
            if project_id is None:
                raise _Refused(422, f"id must be a number, got {raw_id!r}")
            found = self.catalog.find_project(project_id=project_id)
            if found is None:
                raise _Refused(422, "Project not found")
            return found
        name = _as_name(raw_name)
        if not name:
            raise _Refused(422, "Missing parameter: id or project.name")
        found = self.catalog.find_project(name=name)
        if found is not None:
            return found
        if self.catalog.unknown_tests == "refuse":
            raise _Refused(422, "Project not found")
        with self.lock:
            if name not in self.adhoc_projects:
                self.adhoc_projects[name] = CatalogProject(
                    name=name, id=next(self.adhoc_ids), duration=self.catalog.default_duration
                )
            return self.adhoc_projects[name]

    def behaviour_for(self, overrides: Mapping[str, Any]) -> Behaviour:
        base = self.catalog.behaviour
        return dataclasses.replace(base, **overrides) if overrides else base

    def status_url(self, key: str, behaviour: Behaviour) -> str:
        origin = self.origin
        if behaviour.status_url_origin:
            origin = behaviour.status_url_origin.replace("{host}", self.host).replace(
                "{port}", str(self.port)
            )
        return f"{origin}{API_PREFIX}/runs/{key}/status"

    def report_url(self, key: str, mode: str | None, token: str) -> str:
        if mode == "kiosk":
            return f"{self.origin}/kiosk/{token}/{key}"
        return f"{self.origin}/run/details/{key}"

    def trigger_test(self, call: Call) -> Answer:
        body = call.fields
        mode = _report_mode(body, REPORT_MODES)
        test = self.resolve_test(body)
        outcome, description, duration = test.outcome, test.result_description, test.duration
        for rule in test.when:
            if rule.matches(body):
                outcome = rule.outcome or outcome
                if rule.result_description is not None:
                    description = rule.result_description
                duration = rule.duration or duration
                break
        session = str(uuid.uuid4())
        token = str(uuid.uuid4())
        behaviour = self.behaviour_for(test.behaviour)
        run = _Run(
            kind="test",
            key=session,
            run_id=0,
            name=test.name,
            entity_id=test.id,
            started=time.monotonic(),
            started_at=datetime.now(timezone.utc).replace(microsecond=0),
            duration=duration,
            outcome=outcome,
            result_description=description,
            report_url=self.report_url(session, mode, token),
            kiosk_token=token,
            behaviour=behaviour,
            test=test,
            finished_body=test.finished_body,
        )
        with self.lock:
            run.run_id = next(self.run_ids)
            self.runs[session] = run
        data = {"report_url": run.report_url, "session_id": session}
        if behaviour.trigger_status_url:
            data["status_url"] = self.status_url(session, behaviour)
        return json_answer({"data": data, "status": 200})

    def trigger_project(self, call: Call) -> Answer:
        body = call.fields
        mode = _report_mode(body, PROJECT_REPORT_MODES)
        test_ids = _test_ids(body.get("test_ids"))
        project = self.resolve_project(body)
        run_uuid = str(uuid.uuid4())
        token = str(uuid.uuid4())
        behaviour = self.behaviour_for(project.behaviour)
        total = project.total_tests
        if test_ids:
            total = len(test_ids)
        run = _Run(
            kind="project",
            key=run_uuid,
            run_id=0,
            name=project.name,
            entity_id=project.id,
            started=time.monotonic(),
            started_at=datetime.now(timezone.utc).replace(microsecond=0),
            duration=project.duration,
            outcome=project.outcome,
            result_description=project.result_description,
            report_url=self.report_url(run_uuid, mode, token),
            kiosk_token=token,
            behaviour=behaviour,
            total_tests=total if total is not None else 1,
            finished_body=project.finished_body,
        )
        with self.lock:
            run.run_id = next(self.run_ids)
            self.runs[run_uuid] = run
        data: dict[str, Any] = {
            "report_url": run.report_url,
            "project_run_id": run.run_id,
            "project_run_uuid": run_uuid,
        }
        if behaviour.trigger_status_url:
            data["status_url"] = self.status_url(run_uuid, behaviour)
        return json_answer({"data": data, "status": 200})

    # ---- status

    def run_status(self, call: Call) -> Answer:
        key = call.params["key"]
        with self.lock:
            run = self.runs.get(key)
            if run is None:
                return error_answer(404, "Run not found")
            run.polls += 1
            vanished = (
                run.behaviour.vanish_after is not None and run.polls > run.behaviour.vanish_after
            )
        if vanished:
            return error_answer(404, "Run not found")
        elapsed = time.monotonic() - run.started
        finished = run.outcome != "running" and elapsed >= run.duration
        body = _project_body(run, finished) if run.kind == "project" else _test_body(run, finished)
        if finished:
            body.update(run.finished_body)
        for name in run.behaviour.omit:
            body.pop(name, None)
        return json_answer({"run": body, "status": 200})

    def run_stats(self, call: Call) -> Answer:
        """The run's media dimensions (:mod:`.media`)."""
        return self._media_answer(call.params["key"])

    def run_series(self, call: Call) -> Answer:
        """One measure's series, for the ``role`` and ``dir`` the query asks (:mod:`.media`)."""
        asked = parse_qs(call.query)
        role, direction = asked.get("role", [""])[0], asked.get("dir", [""])[0]
        return self._media_answer(call.params["key"], call.params["measure"], role, direction)

    def _media_answer(
        self, key: str, measure: str | None = None, role: str = "", direction: str = ""
    ) -> Answer:
        with self.lock:
            run = self.runs.get(key)
        earlier = self._previous_with_key(key) if run is None else None
        if run is not None:
            profile = run.test.media if run.test is not None else "steady"
            shape = run.behaviour.media_shape
        elif earlier is not None:
            profile, shape = earlier.previous.media, self.catalog.behaviour.media_shape
        else:
            return error_answer(404, "Run not found")
        if measure is None:
            return json_answer(media.dimensions_body(profile))
        if not media.has_measure(profile, measure):
            return error_answer(404, "Measure not found")
        return json_answer(media.series_body(profile, shape, measure, role, direction))

    def _previous_with_key(self, key: str) -> CatalogTest | None:
        """The catalog test whose ``previous:`` run has this session id."""
        for test in self.catalog.tests:
            if key == _previous_key("test", test.id):
                return test
        return None

    def entity_by_id(self, kind: str, raw_id: str) -> CatalogTest | CatalogProject | None:
        """The test (``tests``) or project (``projects``) with this id, ad-hoc ones included."""
        number = _as_int(raw_id)
        if number is None:
            return None
        if kind == "tests":
            found: CatalogTest | CatalogProject | None = self.catalog.find_test(test_id=number)
            pool: list[Any] = list(self.adhoc_tests.values())
        else:
            found = self.catalog.find_project(project_id=number)
            pool = list(self.adhoc_projects.values())
        if found is None:
            with self.lock:
                found = next((e for e in pool if e.id == number), None)
        return found

    def last_test_run(self, call: Call) -> Answer:
        return self.last_run("tests", call.params["id"])

    def last_project_run(self, call: Call) -> Answer:
        return self.last_run("projects", call.params["id"])

    def last_run(self, kind: str, raw_id: str) -> Answer:
        """``status/last``: the latest run this sandbox started, else the catalog's
        ``previous`` run (404 for none, ``{}`` for empty, a non-JSON body for malformed)."""
        entity = self.entity_by_id(kind, raw_id)
        if entity is None:
            return error_answer(404, "Test not found" if kind == "tests" else "Project not found")
        run_kind = "test" if kind == "tests" else "project"
        with self.lock:
            latest = [
                r for r in self.runs.values() if r.kind == run_kind and r.entity_id == entity.id
            ]
        if latest:
            run = max(latest, key=lambda r: r.run_id)
            finished = run.outcome != "running" and time.monotonic() - run.started >= run.duration
            body = (
                _project_body(run, finished) if run.kind == "project" else _test_body(run, finished)
            )
            if finished:
                body.update(run.finished_body)
            body["report_url"] = run.report_url
            return json_answer({"run": body, "status": 200})
        return self.previous_answer(run_kind, entity)

    def previous_answer(self, run_kind: str, entity: CatalogTest | CatalogProject) -> Answer:
        previous: Previous = entity.previous
        if previous.outcome == "none":
            return error_answer(404, "No run found")
        if previous.outcome == "empty":
            return json_answer({})
        if previous.outcome == "malformed":
            return Answer(200, b"<html>last run: oops", "text/html")
        stopped = _previous_stop(previous.stopped_at)
        started = stopped - timedelta(seconds=previous.duration)
        run = _Run(
            kind=run_kind,
            key=_previous_key(run_kind, entity.id),
            run_id=1,
            name=entity.name,
            entity_id=entity.id,
            started=0.0,
            started_at=started,
            duration=previous.duration,
            outcome=previous.outcome,
            result_description=previous.result_description,
            report_url="",
            kiosk_token="",
            behaviour=self.catalog.behaviour,
            test=entity if isinstance(entity, CatalogTest) else None,
        )
        finished = previous.outcome != "running"
        body = _project_body(run, finished) if run_kind == "project" else _test_body(run, finished)
        body["report_url"] = self.report_url(run.key, None, "")
        return json_answer({"run": body, "status": 200})

    def report_page(self, call: Call) -> Answer:
        key, token = call.params["key"], call.params.get("token")
        run = self.runs.get(key)
        if run is None or (token is not None and token != run.kiosk_token):
            body = "<!doctype html><title>SANDBOX report</title><p>SANDBOX report: no such run</p>"
            return Answer(404, body.encode(), "text/html; charset=utf-8")
        finished = run.outcome != "running" and time.monotonic() - run.started >= run.duration
        state = run.outcome if finished else run.behaviour.running_status
        text = (
            "<!doctype html><title>SANDBOX report</title>"
            f"<h1>SANDBOX report</h1><p>This run is simulated by the Sipfront sandbox; "
            f"nothing was tested.</p><p>{html.escape(run.name)} | {html.escape(key)} | "
            f"{html.escape(state)}</p>"
        )
        return Answer(200, text.encode(), "text/html; charset=utf-8")

    def index(self, call: Call) -> Answer:
        paths = (
            ("", ["GET"]),
            ("/appimages", ["GET"]),
            ("/projects", ["GET"]),
            ("/projects/:id/status/last", ["GET"]),
            ("/projects/run", ["POST"]),
            ("/runs", ["GET"]),
            ("/runs/:id/status", ["GET"]),
            ("/runs/:sid/stats", ["GET"]),
            ("/runs/:sid/stats/:measure", ["GET"]),
            ("/tests", ["GET"]),
            ("/tests/:id/status/last", ["GET"]),
            ("/tests/:tid/stats", ["GET"]),
            ("/tests/:tid/stats/:measure", ["GET"]),
            ("/tests/run", ["POST"]),
        )
        endpoints = [{"methods": m, "url": f"{self.origin}{API_PREFIX}{p}"} for p, m in paths]
        return json_answer({"endpoints": endpoints, "status": 200})

    def test_listing(self, call: Call) -> Answer:
        data = [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "testcase_name": t.testcase_name,
            }
            for t in self.catalog.tests
        ]
        return json_answer({"data": data, "status": 200})

    def project_listing(self, call: Call) -> Answer:
        data = [
            {"id": p.id, "name": p.name, "description": p.description}
            for p in self.catalog.projects
        ]
        return json_answer({"data": data, "status": 200})


def _as_int(value: Any) -> int | None:
    """A sent id as a number, by the package's one rule (ASCII digits only); spaces around
    a form field's digits are forgiven."""
    return whole_number(value.strip() if isinstance(value, str) else value)


def _sent_names(*values: Any) -> set[str]:
    """Names and ids as a request sent them (for a fault's ``test:``)."""
    return {
        str(raw).strip()
        for raw in values
        if isinstance(raw, (str, int)) and not isinstance(raw, bool)
    }


def _as_name(value: Any) -> str:
    """A test or project name as sent; numbers count as names, anything else as missing."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return scalar_text(value)
    return ""


def _report_mode(body: Mapping[str, Any], allowed: tuple[str, ...]) -> str | None:
    mode = body.get("report.mode")
    if mode is None or mode == "":
        return None
    if mode not in allowed:
        choices = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
        raise _Refused(422, f"Invalid report.mode {mode!r} (use {choices})")
    return cast(str, mode)


def _test_ids(value: Any) -> list[int]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    ids: list[int] = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            number = _as_int(part)
            if number is None:
                raise _Refused(422, "test_ids must be a list of numbers")
            ids.append(number)
    return ids


def _finished_flags(outcome: str) -> tuple[int, int]:
    """(has_passed, is_failed) for a finished outcome word."""
    if outcome == "passed":
        return 1, 0
    if outcome in ("failed", "errored", "error"):
        return 0, 1
    return 0, 0


def _previous_stop(text: str | None) -> datetime:
    """A ``previous.stopped_at`` as given (UTC), else an hour ago."""
    if text:
        try:
            return datetime.strptime(text.strip()[:19], _TIME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


def _stamp(moment: datetime) -> str:
    return moment.strftime(_TIME_FORMAT)


def _test_body(run: _Run, finished: bool) -> dict[str, Any]:
    test = run.test
    assert test is not None
    word = run.outcome if finished else run.behaviour.running_status
    body: dict[str, Any] = {
        "id": run.run_id,
        "session_id": run.key,
        "test_id": test.id,
        "test_name": test.name,
        "testcase_name": test.testcase_name,
        "started_at": _stamp(run.started_at),
        "is_finished": 1 if finished else 0,
    }
    for name in run.behaviour.status_fields:
        body[name] = word
    if finished:
        has_passed, is_failed = _finished_flags(run.outcome)
        tags: Any = list(test.tags)
        if run.behaviour.tags == "string":
            tags = json.dumps(tags)
        body.update(
            {
                "agentpool_name": test.agentpool_name,
                "has_passed": has_passed,
                "is_failed": is_failed,
                "project_id": test.project_id,
                "project_name": test.project_name,
                "result_description": run.result_description,
                "stopped_at": _stamp(run.started_at + timedelta(seconds=run.duration)),
                "tags": tags,
            }
        )
    return body


def _project_body(run: _Run, finished: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run.run_id,
        "project_run_uuid": run.key,
        "project_id": run.entity_id,
        "project_name": run.name,
        "run_status": run.outcome if finished else run.behaviour.running_status,
        "is_finished": 1 if finished else 0,
        "created_at": _stamp(run.started_at),
        "total_tests": run.total_tests,
        "tests_started": run.total_tests if finished else 0,
    }
    if finished:
        has_passed, is_failed = _finished_flags(run.outcome)
        body.update(
            {
                "has_passed": has_passed,
                "is_failed": is_failed,
                "result_description": run.result_description,
                "stopped_at": _stamp(run.started_at + timedelta(seconds=run.duration)),
            }
        )
    return body


def fault_answer(fault: Fault) -> Answer:
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    status = fault.status if fault.status is not None else 200
    if fault.body is not None:
        return Answer(status, fault.body.encode("utf-8"), fault.content_type, headers)
    return error_answer(status, fault.error or phrase(status), headers)


def _previous_key(run_kind: str, entity_id: int) -> str:
    """The session id of a catalog entry's ``previous:`` run (stable, so stats can find it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"previous/{run_kind}/{entity_id}"))
