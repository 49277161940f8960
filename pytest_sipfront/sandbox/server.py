"""The Sipfront sandbox: a real HTTP server on loopback that speaks the Sipfront v2 API.

It answers like Sipfront does (see ``docs/sipfront-api.md``): Basic auth, JSON and form bodies
(``multipart/form-data`` too, as ``curl -F`` sends), test runs and project runs that report
``running`` first and then a finished body, kiosk and full report links, and error bodies
``{"error": "...", "status": <code>}``. Nothing leaves the machine, and no run is real:
every report link opens a page that says SANDBOX.

It accepts the credentials ``sandbox-public`` / ``sandbox-secret`` unless told otherwise.

Catalog
-------

A YAML file says what the sandbox knows. Every key is optional; an empty catalog makes every
test pass after 2 s::

    default_duration: 2s          # tests not listed pass after this long (default 2s)
    unknown_tests: pass           # pass: a test or project name not listed runs and passes
                                  # refuse: it is answered 422 "Test not found"
    tests:
      - name: basic-call-a-b      # matched by test.name or test.id
        id: 123                   # optional; one is chosen when missing
        duration: 3s              # seconds or a duration string (90s, 15m, 1h30m)
        outcome: passed           # passed | failed | stopped | errored
                                  # | running (never finishes)
                                  # | any other word (sent as-is, has_passed 0)
        result_description: ""
        testcase_name: "Basic call A to B"
        description: "Calls B from A"   # shown by GET /api/v2/tests
        agentpool_name: eu-central-1
        tags: [media, prod]
        project_id: 7             # optional, shown in the finished body
        project_name: nightly-project
        when:                     # optional; the first rule whose overrides all match wins
          - overrides: {step.1.0.dial_destination: "439990000"}
            outcome: failed
            result_description: "callee did not answer (SIP 480)"
            duration: 1s
        behaviour: {...}          # optional; overrides the catalog's behaviour for this test
        finished_body:            # optional; fields set in the finished status body as given,
          has_passed: 2           # any JSON scalars: contradictions such as has_passed 2,
          status: failed          # "yes", is_finished 1 beside status running (tests, projects)
    projects:
      - name: nightly-project     # matched by project.name or id
        id: 7
        duration: 3s
        outcome: passed
        result_description: ""
        description: ""
        total_tests: 2            # default: the number of test_ids sent, else 1
        behaviour: {...}
    faults:                       # fault injection, per endpoint
      - endpoint: runs.status     # index | tests | projects | tests.run | projects.run
                                  # | runs.status | report
        status: 503               # answer with this status and {"error": "...", "status": 503}
        error: "Service unavailable"  # the error text in that body (default: the HTTP phrase)
        times: 2                  # how many times (default 1); null or 0: always
        after: 0                  # let this many matching requests through first (default 0)
        retry_after: 1            # send Retry-After: 1 (any value, sent as written: 999999,
                                  # 1.5, an HTTP-date, or garbage)
        delay: 0.5                # seconds to wait before answering (may exceed a read timeout);
                                  # a fault with only a delay then answers normally
        drop: true                # close the connection without any answer (connection reset)
        trickle: 1                # send the answer's body chunked at this many bytes per
                                  # second (0.01..1e6); alone, the normal answer trickles
        body: "<html>oops</html>" # send this raw body instead (status 200 unless given)
        content_type: text/html   # of that raw body (default text/html)
        test: basic-call-a-b      # optional: only requests concerning this test or project
                                  # (name or id; the trigger's, or the run's for runs.status)
    behaviour:                    # how finished bodies look, for tolerance tests
      status_fields: both         # both | status | session_status: which field(s) carry the
                                  # test run's state (project runs always use run_status)
      omit: []                    # fields left out of every status body,
                                  # e.g. [is_finished, has_passed, is_failed]
      tags: string                # string (JSON-encoded, as on the API page) | array
      running_status: running     # the word a run reports while going (queued, or an
                                  # unknown word)
      vanish_after: null          # after this many status requests the run's status is a 404
                                  # (0: at once); null: never
      status_url_origin: null     # status_url on another origin, e.g. "http://127.0.0.2:9";
                                  # {host} and {port} are the sandbox's own, so
                                  # "https://{host}:{port}" changes only the scheme
      trigger_status_url: true    # false: the trigger answer has no data.status_url

Decisions where Sipfront's record is silent: ``test.id`` wins over ``test.name`` when both are
sent (as ``id`` does for projects); an unknown ``test.id`` or project ``id`` is answered 422
``Test not found`` / ``Project not found``; a run that ends ``stopped`` has ``is_failed`` 0
(only ``has_passed`` says it did not pass), ``failed`` and ``errored`` have ``is_failed`` 1;
a project run's ``status_url`` is ``/api/v2/runs/<project_run_uuid>/status``. Report pages
(``/run/details/<session>``, ``/kiosk/<token>/<session>``) need no credentials. Faults apply
before the credentials are checked, as a proxy in front of Sipfront would fail; every request
counts towards a fault's ``after`` and ``times``, authorised or not.

In Python::

    with SandboxServer(Catalog.load("sandbox-catalog.yml")) as sandbox:
        sandbox.base_url            # http://127.0.0.1:<port>/api/v2
        ...                         # drive it with SandboxServer.PUBLIC_KEY / SECRET_KEY
        sandbox.count("tests.run")  # what it saw; sandbox.requests, sandbox.triggers()
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hmac
import html
import itertools
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import Message
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NoReturn, cast
from urllib.parse import parse_qsl

import yaml

from pytest_sipfront.durations import DURATION_BOUNDS, check_bounds, parse_duration

API_PREFIX = "/api/v2"
ENDPOINTS = ("index", "tests", "projects", "tests.run", "projects.run", "runs.status", "report")
"""Endpoint names of :class:`RequestRecord` (plus ``"other"``) and of faults."""

TEST_REPORT_MODES = ("full", "kiosk", "print")
PROJECT_REPORT_MODES = ("full", "kiosk")
_STATUS_FIELDS = {
    "both": ("status", "session_status"),
    "status": ("status",),
    "session_status": ("session_status",),
}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_MAX_BODY = 1 << 20


class CatalogError(Exception):
    """A catalog that cannot be used; the message is a plain sentence naming the file."""


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class Behaviour:
    """How status bodies look; see the module docstring (``behaviour:``)."""

    status_fields: tuple[str, ...] = ("status", "session_status")
    omit: frozenset[str] = frozenset()
    tags: str = "string"
    running_status: str = "running"
    vanish_after: int | None = None
    status_url_origin: str | None = None
    trigger_status_url: bool = True


@dataclass(frozen=True)
class WhenRule:
    """An outcome that applies when every override listed was sent with these values."""

    overrides: Mapping[str, str]
    outcome: str | None = None
    result_description: str | None = None
    duration: float | None = None

    def matches(self, sent: Mapping[str, Any]) -> bool:
        return all(k in sent and _scalar_text(sent[k]) == v for k, v in self.overrides.items())


@dataclass(frozen=True)
class CatalogTest:
    """One Sipfront test the sandbox knows."""

    name: str
    id: int
    duration: float
    outcome: str = "passed"
    result_description: str = ""
    testcase_name: str = ""
    description: str = ""
    agentpool_name: str = "sandbox"
    tags: tuple[str, ...] = ()
    project_id: int | None = None
    project_name: str | None = None
    when: tuple[WhenRule, ...] = ()
    behaviour: Mapping[str, Any] = field(default_factory=dict)
    finished_body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogProject:
    """One Sipfront project the sandbox knows."""

    name: str
    id: int
    duration: float
    outcome: str = "passed"
    result_description: str = ""
    description: str = ""
    total_tests: int | None = None
    behaviour: Mapping[str, Any] = field(default_factory=dict)
    finished_body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """A fault injected on one endpoint; see the module docstring (``faults:``).

    ``times`` ``None`` or 0 means always. Raises ``ValueError`` with a plain sentence when
    the fault cannot work.
    """

    endpoint: str
    status: int | None = None
    times: int | None = 1
    after: int = 0
    retry_after: int | str | None = None
    delay: float = 0.0
    drop: bool = False
    body: str | None = None
    content_type: str = "text/html"
    error: str | None = None
    test: str | None = None
    trickle: float | None = None

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(
                f"endpoint: {self.endpoint!r} is not one of {', '.join(ENDPOINTS)}",
            )
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status: {self.status!r} is not an HTTP status code (100-599)")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times: {self.times!r} must be 0 or more (0 or null: always)")
        if self.after < 0:
            raise ValueError(f"after: {self.after!r} must be 0 or more")
        if not 0 <= self.delay <= DURATION_BOUNDS["delay"][1]:
            raise ValueError(f"delay: {self.delay!r} must be 0 to 86400 seconds")
        if self.trickle is not None and not 0.01 <= self.trickle <= 1e6:
            raise ValueError(f"trickle: {self.trickle!r} must be 0.01 to 1000000 bytes per second")
        if (
            self.status is None
            and self.body is None
            and not self.drop
            and not self.delay
            and self.trickle is None
        ):
            raise ValueError(
                "does nothing: give it a status, a body, a delay, a trickle or drop: true"
            )


@dataclass(frozen=True)
class Catalog:
    """What the sandbox knows: tests, projects, faults and how bodies look."""

    tests: tuple[CatalogTest, ...] = ()
    projects: tuple[CatalogProject, ...] = ()
    faults: tuple[Fault, ...] = ()
    behaviour: Behaviour = Behaviour()
    default_duration: float = 2.0
    unknown_tests: str = "pass"
    source: str = "<catalog>"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Catalog:
        """Read a catalog file; every problem is a :class:`CatalogError` naming the file."""
        source = os.fspath(path)
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise CatalogError(f"{source}: no such catalog file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CatalogError(f"{source}: cannot read the catalog: {reason}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
            problem = getattr(exc, "problem", None) or "it cannot be parsed"
            raise CatalogError(f"{where}: not valid YAML: {problem}") from None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise CatalogError(f"{source}: the catalog must be a mapping (tests:, projects:, ...)")
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<catalog>") -> Catalog:
        """Build a catalog from parsed YAML; raise :class:`CatalogError` naming ``source``."""
        return _CatalogReader(source).catalog(data)

    @classmethod
    def default(cls) -> Catalog:
        """The built-in catalog: empty, so every test passes after 2 s."""
        return cls(source="<built-in catalog>")

    def find_test(self, name: str | None = None, test_id: int | None = None) -> CatalogTest | None:
        for test in self.tests:
            if (test_id is not None and test.id == test_id) or (
                test_id is None and name is not None and test.name == name
            ):
                return test
        return None

    def find_project(
        self, name: str | None = None, project_id: int | None = None
    ) -> CatalogProject | None:
        for project in self.projects:
            if (project_id is not None and project.id == project_id) or (
                project_id is None and name is not None and project.name == name
            ):
                return project
        return None


def _scalar_text(value: Any) -> str:
    """Overrides compare as text: form fields are strings, JSON may send numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _CatalogReader:
    """Checks a parsed catalog and turns it into dataclasses, with errors naming the file."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> NoReturn:
        prefix = f"{self.source}: {where}: " if where else f"{self.source}: "
        raise CatalogError(prefix + message)

    def mapping(self, value: Any, where: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if key not in known:
                self.fail(where, f"unknown key {key!r} (known keys: {', '.join(known)})")
        return cast(Mapping[str, Any], value)

    def listing(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {_kind(value)}")
        return value

    def text(self, value: Any, where: str, *, allow_numbers: bool = False) -> str:
        if isinstance(value, str):
            return value
        if allow_numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _scalar_text(value)
        self.fail(where, f"expected a string, got {_kind(value)}")

    def word(self, value: Any, where: str) -> str:
        text = self.text(value, where).strip()
        if not text or any(c.isspace() for c in text):
            self.fail(where, f"{value!r} is not a single word")
        return text

    def integer(self, value: Any, where: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            else:
                self.fail(where, f"{value!r} is not a whole number")
        if value < minimum:
            self.fail(where, f"{value!r} must be {minimum} or more")
        return int(value)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"{value!r} is not true or false")
        return value

    def duration(self, value: Any, where: str, setting: str = "duration") -> float:
        try:
            return check_bounds(parse_duration(value), value, setting)
        except ValueError as exc:
            self.fail(where, str(exc))

    def seconds(self, value: Any, where: str) -> float:
        """A delay: like a duration, but 0 is allowed."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            return 0.0
        return self.duration(value, where, "delay")

    def catalog(self, data: Mapping[str, Any]) -> Catalog:
        top = self.mapping(
            data,
            "",
            ("default_duration", "unknown_tests", "tests", "projects", "faults", "behaviour"),
        )
        default_duration = 2.0
        if "default_duration" in top:
            default_duration = self.duration(top["default_duration"], "default_duration")
        unknown = top.get("unknown_tests", "pass")
        if unknown not in ("pass", "refuse"):
            self.fail("unknown_tests", f"{unknown!r} is not pass or refuse")
        behaviour = Behaviour()
        if top.get("behaviour") is not None:
            behaviour = dataclasses.replace(behaviour, **self.behaviour(top["behaviour"]))
        tests = tuple(
            self.test(entry, f"tests[{i}]", default_duration)
            for i, entry in enumerate(self.listing(top.get("tests"), "tests"))
        )
        tests = self.with_ids(tests, "tests", start=1001)
        projects = tuple(
            self.project(entry, f"projects[{i}]", default_duration)
            for i, entry in enumerate(self.listing(top.get("projects"), "projects"))
        )
        projects = self.with_ids(projects, "projects", start=1)
        faults = tuple(
            self.fault(entry, f"faults[{i}]")
            for i, entry in enumerate(self.listing(top.get("faults"), "faults"))
        )
        return Catalog(
            tests=tests,
            projects=projects,
            faults=faults,
            behaviour=behaviour,
            default_duration=default_duration,
            unknown_tests=unknown,
            source=self.source,
        )

    def with_ids(self, entries: tuple[Any, ...], where: str, start: int) -> tuple[Any, ...]:
        """Check names and ids are unique; give entries without an id a free one."""
        names: dict[str, int] = {}
        used: dict[int, int] = {}
        for i, entry in enumerate(entries):
            if entry.name in names:
                self.fail(
                    f"{where}[{i}].name",
                    f"{entry.name!r} is already used by {where}[{names[entry.name]}]",
                )
            names[entry.name] = i
            if entry.id >= 0:
                if entry.id in used:
                    self.fail(
                        f"{where}[{i}].id",
                        f"{entry.id} is already used by {where}[{used[entry.id]}]",
                    )
                used[entry.id] = i
        free = (n for n in itertools.count(start) if n not in used)
        return tuple(
            entry if entry.id >= 0 else dataclasses.replace(entry, id=next(free))
            for entry in entries
        )

    def test(self, value: Any, where: str, default_duration: float) -> CatalogTest:
        known = (
            "name",
            "id",
            "duration",
            "outcome",
            "result_description",
            "testcase_name",
            "description",
            "agentpool_name",
            "tags",
            "project_id",
            "project_name",
            "when",
            "behaviour",
            "finished_body",
        )
        entry = self.mapping(value, where, known)
        if "name" not in entry:
            self.fail(where, "a test needs a name")
        name = self.text(entry["name"], f"{where}.name").strip()
        if not name:
            self.fail(f"{where}.name", "must not be empty")
        tags = [
            self.text(t, f"{where}.tags[{i}]", allow_numbers=True)
            for i, t in enumerate(self.listing(entry.get("tags"), f"{where}.tags"))
        ]
        when = tuple(
            self.when(rule, f"{where}.when[{i}]")
            for i, rule in enumerate(self.listing(entry.get("when"), f"{where}.when"))
        )
        project_id = entry.get("project_id")
        project_name = entry.get("project_name")
        return CatalogTest(
            name=name,
            id=self.integer(entry["id"], f"{where}.id") if entry.get("id") is not None else -1,
            duration=self.duration(entry["duration"], f"{where}.duration")
            if "duration" in entry
            else default_duration,
            outcome=self.word(entry.get("outcome", "passed"), f"{where}.outcome"),
            result_description=self.text(
                entry.get("result_description", ""), f"{where}.result_description"
            ),
            testcase_name=self.text(entry.get("testcase_name", name), f"{where}.testcase_name"),
            description=self.text(entry.get("description", ""), f"{where}.description"),
            agentpool_name=self.text(
                entry.get("agentpool_name", "sandbox"), f"{where}.agentpool_name"
            ),
            tags=tuple(tags),
            project_id=None
            if project_id is None
            else self.integer(project_id, f"{where}.project_id"),
            project_name=None
            if project_name is None
            else self.text(project_name, f"{where}.project_name"),
            when=when,
            behaviour=self.behaviour(entry["behaviour"], f"{where}.behaviour")
            if entry.get("behaviour") is not None
            else {},
            finished_body=self.scalars(entry.get("finished_body"), f"{where}.finished_body"),
        )

    def when(self, value: Any, where: str) -> WhenRule:
        rule = self.mapping(
            value, where, ("overrides", "outcome", "result_description", "duration")
        )
        if "overrides" not in rule:
            self.fail(where, "a when rule needs overrides (the values that select it)")
        raw = rule["overrides"]
        if not isinstance(raw, Mapping):
            self.fail(f"{where}.overrides", f"expected a mapping, got {_kind(raw)}")
        if not raw:
            self.fail(f"{where}.overrides", "must name at least one override")
        overrides: dict[str, str] = {}
        for key, val in raw.items():
            if not isinstance(key, str):
                self.fail(f"{where}.overrides", f"{key!r} is not an override key")
            if not isinstance(val, (str, int, float, bool)):
                self.fail(f"{where}.overrides.{key}", f"expected a scalar, got {_kind(val)}")
            overrides[key] = _scalar_text(val)
        return WhenRule(
            overrides=overrides,
            outcome=self.word(rule["outcome"], f"{where}.outcome") if "outcome" in rule else None,
            result_description=self.text(rule["result_description"], f"{where}.result_description")
            if "result_description" in rule
            else None,
            duration=self.duration(rule["duration"], f"{where}.duration")
            if "duration" in rule
            else None,
        )

    def project(self, value: Any, where: str, default_duration: float) -> CatalogProject:
        known = (
            "name",
            "id",
            "duration",
            "outcome",
            "result_description",
            "description",
            "total_tests",
            "behaviour",
            "finished_body",
        )
        entry = self.mapping(value, where, known)
        if "name" not in entry:
            self.fail(where, "a project needs a name")
        name = self.text(entry["name"], f"{where}.name").strip()
        if not name:
            self.fail(f"{where}.name", "must not be empty")
        total = entry.get("total_tests")
        return CatalogProject(
            name=name,
            id=self.integer(entry["id"], f"{where}.id") if entry.get("id") is not None else -1,
            duration=self.duration(entry["duration"], f"{where}.duration")
            if "duration" in entry
            else default_duration,
            outcome=self.word(entry.get("outcome", "passed"), f"{where}.outcome"),
            result_description=self.text(
                entry.get("result_description", ""), f"{where}.result_description"
            ),
            description=self.text(entry.get("description", ""), f"{where}.description"),
            total_tests=None if total is None else self.integer(total, f"{where}.total_tests"),
            behaviour=self.behaviour(entry["behaviour"], f"{where}.behaviour")
            if entry.get("behaviour") is not None
            else {},
            finished_body=self.scalars(entry.get("finished_body"), f"{where}.finished_body"),
        )

    def scalars(self, value: Any, where: str) -> dict[str, Any]:
        """A mapping of field names to JSON scalars (``None`` allowed), as given."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(where, f"expected a mapping, got {_kind(value)}")
        out: dict[str, Any] = {}
        for key, val in value.items():
            if not isinstance(key, str):
                self.fail(where, f"{key!r} is not a field name")
            if val is not None and not isinstance(val, (str, int, float, bool)):
                self.fail(f"{where}.{key}", f"expected a scalar, got {_kind(val)}")
            out[key] = val
        return out

    def behaviour(self, value: Any, where: str = "behaviour") -> dict[str, Any]:
        """The keys given, checked; merged over the defaults by the caller."""
        entry = self.mapping(value, where, tuple(f.name for f in dataclasses.fields(Behaviour)))
        out: dict[str, Any] = {}
        if "status_fields" in entry:
            raw = entry["status_fields"]
            if isinstance(raw, str) and raw in _STATUS_FIELDS:
                out["status_fields"] = _STATUS_FIELDS[raw]
            elif (
                isinstance(raw, list)
                and raw
                and all(isinstance(f, str) and f in ("status", "session_status") for f in raw)
            ):
                out["status_fields"] = tuple(dict.fromkeys(raw))
            else:
                self.fail(
                    f"{where}.status_fields", f"{raw!r} is not both, status or session_status"
                )
        if "omit" in entry:
            out["omit"] = frozenset(
                self.text(f, f"{where}.omit[{i}]")
                for i, f in enumerate(self.listing(entry["omit"], f"{where}.omit"))
            )
        if "tags" in entry:
            if entry["tags"] not in ("string", "array"):
                self.fail(f"{where}.tags", f"{entry['tags']!r} is not string or array")
            out["tags"] = entry["tags"]
        if "running_status" in entry:
            out["running_status"] = self.word(entry["running_status"], f"{where}.running_status")
        if "vanish_after" in entry:
            raw = entry["vanish_after"]
            out["vanish_after"] = (
                None if raw is None else self.integer(raw, f"{where}.vanish_after")
            )
        if "status_url_origin" in entry:
            raw = entry["status_url_origin"]
            if raw is not None:
                raw = self.text(raw, f"{where}.status_url_origin").rstrip("/")
                if not raw.startswith(("http://", "https://")):
                    self.fail(f"{where}.status_url_origin", f"{raw!r} is not an http(s) origin")
            out["status_url_origin"] = raw
        if "trigger_status_url" in entry:
            out["trigger_status_url"] = self.boolean(
                entry["trigger_status_url"], f"{where}.trigger_status_url"
            )
        return out

    def fault(self, value: Any, where: str) -> Fault:
        known = tuple(f.name for f in dataclasses.fields(Fault))
        entry = self.mapping(value, where, known)
        if "endpoint" not in entry:
            self.fail(where, f"a fault needs an endpoint ({', '.join(ENDPOINTS)})")
        kwargs: dict[str, Any] = {"endpoint": self.text(entry["endpoint"], f"{where}.endpoint")}
        if entry.get("status") is not None:
            kwargs["status"] = self.integer(entry["status"], f"{where}.status")
        if "times" in entry:
            raw = entry["times"]
            kwargs["times"] = None if raw is None else self.integer(raw, f"{where}.times")
        if "after" in entry:
            kwargs["after"] = self.integer(entry["after"], f"{where}.after")
        if entry.get("retry_after") is not None:
            raw = entry["retry_after"]
            kwargs["retry_after"] = (
                raw
                if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0
                else self.text(raw, f"{where}.retry_after", allow_numbers=True)
            )
        if "delay" in entry:
            kwargs["delay"] = self.seconds(entry["delay"], f"{where}.delay")
        if "drop" in entry:
            kwargs["drop"] = self.boolean(entry["drop"], f"{where}.drop")
        if entry.get("trickle") is not None:
            raw = entry["trickle"]
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.fail(f"{where}.trickle", f"{raw!r} is not a number of bytes per second")
            kwargs["trickle"] = float(raw)
        for key in ("body", "content_type", "error"):
            if entry.get(key) is not None:
                kwargs[key] = self.text(entry[key], f"{where}.{key}")
        if entry.get("test") is not None:
            kwargs["test"] = self.text(entry["test"], f"{where}.test", allow_numbers=True)
        try:
            return Fault(**kwargs)
        except ValueError as exc:
            message = str(exc)
            key, sep, rest = message.partition(": ")
            if sep and key in known:
                self.fail(f"{where}.{key}", rest)
            self.fail(where, message)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return type(value).__name__


# --------------------------------------------------------------------------- server state


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
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json_answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    body = json.dumps(payload).encode("utf-8")
    return _Answer(status, body, "application/json", dict(headers or {}))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Answer:
    return _json_answer({"error": message, "status": status}, status, headers)


def _phrase(status: int) -> str:
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


class _State:
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

    def names_for_trigger(self, endpoint: str, body: Mapping[str, Any]) -> frozenset[str]:
        names: set[str] = set()
        if endpoint == "tests.run":
            raw_name, raw_id = body.get("test.name"), body.get("test.id")
            test = self.catalog.find_test(test_id=_as_int(raw_id)) if raw_id is not None else None
            if test is not None:
                names.update((test.name, str(test.id)))
        else:
            raw_name, raw_id = body.get("project.name"), body.get("id")
            project = (
                self.catalog.find_project(project_id=_as_int(raw_id))
                if raw_id is not None
                else None
            )
            if project is not None:
                names.update((project.name, str(project.id)))
        for raw in (raw_name, raw_id):
            if isinstance(raw, (str, int)) and not isinstance(raw, bool):
                names.add(str(raw).strip())
        return frozenset(names)

    def names_for_run(self, key: str) -> frozenset[str]:
        run = self.runs.get(key)
        return frozenset() if run is None else frozenset((run.name, str(run.entity_id)))

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

    def trigger_test(self, body: Mapping[str, Any]) -> _Answer:
        mode = _report_mode(body, TEST_REPORT_MODES)
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
        return _json_answer({"data": data, "status": 200})

    def trigger_project(self, body: Mapping[str, Any]) -> _Answer:
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
        return _json_answer({"data": data, "status": 200})

    # ---- status

    def run_status(self, key: str) -> _Answer:
        with self.lock:
            run = self.runs.get(key)
            if run is None:
                return _error(404, "Run not found")
            run.polls += 1
            vanished = (
                run.behaviour.vanish_after is not None and run.polls > run.behaviour.vanish_after
            )
        if vanished:
            return _error(404, "Run not found")
        elapsed = time.monotonic() - run.started
        finished = run.outcome != "running" and elapsed >= run.duration
        body = _project_body(run, finished) if run.kind == "project" else _test_body(run, finished)
        if finished:
            body.update(run.finished_body)
        for name in run.behaviour.omit:
            body.pop(name, None)
        return _json_answer({"run": body, "status": 200})

    def report_page(self, key: str, token: str | None) -> _Answer:
        run = self.runs.get(key)
        if run is None or (token is not None and token != run.kiosk_token):
            body = "<!doctype html><title>SANDBOX report</title><p>SANDBOX report: no such run</p>"
            return _Answer(404, body.encode(), "text/html; charset=utf-8")
        finished = run.outcome != "running" and time.monotonic() - run.started >= run.duration
        state = run.outcome if finished else run.behaviour.running_status
        text = (
            "<!doctype html><title>SANDBOX report</title>"
            f"<h1>SANDBOX report</h1><p>This run is simulated by the Sipfront sandbox; "
            f"nothing was tested.</p><p>{html.escape(run.name)} | {html.escape(key)} | "
            f"{html.escape(state)}</p>"
        )
        return _Answer(200, text.encode(), "text/html; charset=utf-8")

    def index(self) -> _Answer:
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
        return _json_answer({"endpoints": endpoints, "status": 200})

    def test_listing(self) -> _Answer:
        data = [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "testcase_name": t.testcase_name,
            }
            for t in self.catalog.tests
        ]
        return _json_answer({"data": data, "status": 200})

    def project_listing(self) -> _Answer:
        data = [
            {"id": p.id, "name": p.name, "description": p.description}
            for p in self.catalog.projects
        ]
        return _json_answer({"data": data, "status": 200})


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_name(value: Any) -> str:
    """A test or project name as sent; numbers count as names, anything else as missing."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _scalar_text(value)
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


# --------------------------------------------------------------------------- request bodies


class _BadBody(Exception):
    pass


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"test": {"name": "x"}}`` reads like ``{"test.name": "x"}``; flat keys stay as sent."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _form_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in pairs:
        key = key.removesuffix("[]")
        if key in fields:
            previous = fields[key]
            fields[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[key] = value
    return fields


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """JSON, form-urlencoded or multipart/form-data; raise ``_BadBody`` when unreadable."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return _multipart(raw, content_type)
    text = raw.decode("utf-8", errors="replace")
    if kind == "application/json" or (kind == "" and text.lstrip().startswith("{")):
        try:
            value = json.loads(text) if text.strip() else {}
        except ValueError:
            raise _BadBody("The request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise _BadBody("The request body must be a JSON object")
        return value
    return _form_fields(parse_qsl(text, keep_blank_values=True))


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode(
        "latin-1", errors="replace"
    )
    message = BytesParser(policy=policy.HTTP).parsebytes(header + raw)
    if not message.is_multipart():
        raise _BadBody("The multipart body cannot be read")
    pairs: list[tuple[str, str]] = []
    for part in cast(list[Message], message.get_payload()):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        value = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
        pairs.append((name, value))
    return _form_fields(pairs)


# --------------------------------------------------------------------------- HTTP


def _route(path: str) -> tuple[str, list[str]]:
    """The endpoint name for a path, and the parts it carries (session id, kiosk token)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v2"]:
        rest = parts[2:]
        if not rest:
            return "index", []
        if rest == ["tests"]:
            return "tests", []
        if rest == ["projects"]:
            return "projects", []
        if rest == ["tests", "run"]:
            return "tests.run", []
        if rest == ["projects", "run"]:
            return "projects.run", []
        if len(rest) == 3 and rest[0] == "runs" and rest[2] == "status":
            return "runs.status", [rest[1]]
        return "other", []
    if len(parts) == 3 and parts[:2] == ["run", "details"]:
        return "report", [parts[2]]
    if len(parts) == 3 and parts[0] == "kiosk":
        return "report", [parts[2], parts[1]]
    return "other", []


_METHODS = {
    "index": "GET",
    "tests": "GET",
    "projects": "GET",
    "tests.run": "POST",
    "projects.run": "POST",
    "runs.status": "GET",
    "report": "GET",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SipfrontSandbox/1"
    timeout = 300  # idle keep-alive connections are closed after this long

    @property
    def state(self) -> _State:
        return cast(_HTTPServer, self.server).state

    def setup(self) -> None:
        super().setup()
        cast(_HTTPServer, self.server).track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_HTTPServer, self.server).track(self.connection, add=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request on stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get a JSON error body too."""
        self.close_connection = True
        answer = _error(code, message or _phrase(code))
        with contextlib.suppress(OSError):
            self._write(answer)

    # ---- one request

    def _serve(self) -> None:
        arrived = time.monotonic()
        path = self.path.partition("?")[0].partition("#")[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        endpoint, params = _route(path)
        self._record_base = (arrived, self.command, path, endpoint)
        self._body: dict[str, Any] | None = None
        self._authorized = False
        self._trickle: float | None = None
        try:
            raw = self._read_body()
        except _BadBody as exc:
            self.close_connection = True
            self._answer(_error(400, str(exc)))
            return
        try:
            self._dispatch(endpoint, params, raw)
        except OSError:
            self.close_connection = True
        except Exception as exc:  # a sandbox bug: answer it, and say so once on stderr
            print(f"sipfront sandbox: internal error: {exc!r}", file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._answer(_error(500, "Sandbox internal error"))

    def _dispatch(self, endpoint: str, params: list[str], raw: bytes) -> None:
        state = self.state
        flat: dict[str, Any] = {}
        bad_body: str | None = None
        if self.command == "POST":
            try:
                self._body = _parse_body(raw, self.headers.get("Content-Type", ""))
                flat = _flatten(self._body)
            except _BadBody as exc:
                bad_body = str(exc)
        self._authorized = state.authorized(self.headers.get("Authorization"))

        names: frozenset[str] = frozenset()
        if endpoint in ("tests.run", "projects.run"):
            names = state.names_for_trigger(endpoint, flat)
        elif endpoint in ("runs.status", "report"):
            names = state.names_for_run(params[0])
        fault = state.pick_fault(endpoint, names) if endpoint != "other" else None
        if fault is not None:
            self._trickle = fault.trickle
            if fault.delay and state.stopping.wait(fault.delay):
                self._drop()
                return
            if fault.drop:
                self._drop()
                return
            if fault.status is not None or fault.body is not None:
                self._answer(_fault_answer(fault))
                return

        if endpoint == "report":
            if self.command not in ("GET", "HEAD"):
                self._answer(_error(405, "Method not allowed"))
                return
            token = params[1] if len(params) > 1 else None
            self._answer(state.report_page(params[0], token))
            return
        if endpoint == "other" and not _is_api_path(self._record_base[2]):
            self._answer(_error(404, "Not found"))
            return
        if not self._authorized:
            self._answer(
                _error(
                    401,
                    "Invalid API credentials",
                    {"WWW-Authenticate": 'Basic realm="Sipfront sandbox"'},
                )
            )
            return
        if endpoint == "other":
            self._answer(_error(404, "Not found"))
            return
        if self.command != _METHODS[endpoint] and not (
            self.command == "HEAD" and _METHODS[endpoint] == "GET"
        ):
            self._answer(_error(405, "Method not allowed", {"Allow": _METHODS[endpoint]}))
            return
        if bad_body is not None:
            self._answer(_error(400, bad_body))
            return
        try:
            if endpoint == "tests.run":
                answer = state.trigger_test(flat)
            elif endpoint == "projects.run":
                answer = state.trigger_project(flat)
            elif endpoint == "runs.status":
                answer = state.run_status(params[0])
            elif endpoint == "tests":
                answer = state.test_listing()
            elif endpoint == "projects":
                answer = state.project_listing()
            else:
                answer = state.index()
        except _Refused as exc:
            answer = _error(exc.status, exc.message)
        self._answer(answer)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadBody("Content-Length is not a number") from None
        if length < 0 or length > _MAX_BODY:
            raise _BadBody("The request body is too large")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadBody("The chunked request body cannot be read") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY:
                raise _BadBody("The request body is too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    # ---- answering

    def _record(self, status: int) -> None:
        arrived, method, path, endpoint = self._record_base
        self.state.record(
            RequestRecord(
                time=arrived,
                method=method,
                path=path,
                endpoint=endpoint,
                status=status,
                body=self._body,
                authorized=self._authorized,
            )
        )

    def _answer(self, answer: _Answer) -> None:
        self._record(answer.status)
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        trickle = getattr(self, "_trickle", None)
        if trickle:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("X-Sipfront-Sandbox", "1")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if not trickle:
            self.wfile.write(answer.body)
            return
        # Slowly: one chunk of a byte (or more, above 100 bytes per second) at a time.
        step = max(1, int(trickle / 100))
        for start in range(0, len(answer.body), step):
            piece = answer.body[start : start + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if self.state.stopping.wait(len(piece) / trickle):
                self.close_connection = True
                return
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        """Close the connection without an answer; the client sees a reset."""
        self._record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _fault_answer(fault: Fault) -> _Answer:
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    status = fault.status if fault.status is not None else 200
    if fault.body is not None:
        return _Answer(status, fault.body.encode("utf-8"), fault.content_type, headers)
    return _error(status, fault.error or _phrase(status), headers)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many clients connect at once

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self.connections_lock:
            if add:
                self.connections.add(connection)
            else:
                self.connections.discard(connection)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that go away (timeouts, resets) are normal here: say nothing."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """The sandbox as a server: ``start()`` in a daemon thread, or ``serve_forever()``.

    >>> with SandboxServer() as sandbox:          # doctest: +SKIP
    ...     url = sandbox.base_url                 # http://127.0.0.1:<port>/api/v2
    """

    PUBLIC_KEY = "sandbox-public"
    SECRET_KEY = "sandbox-secret"

    def __init__(
        self,
        catalog: Catalog | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        public_key: str = PUBLIC_KEY,
        secret_key: str = SECRET_KEY,
    ) -> None:
        self.catalog = catalog if catalog is not None else Catalog.default()
        self._state = _State(self.catalog, public_key, secret_key)
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving_ident: int | None = None
        self._lock = threading.Lock()

    # ---- lifecycle

    def _bind(self) -> _HTTPServer:
        with self._lock:
            if self._httpd is None:
                if self._state.stopping.is_set():
                    raise RuntimeError("this sandbox was stopped; create a new SandboxServer")
                try:
                    httpd = _HTTPServer(self._address, self._state)
                except OSError as exc:
                    host, port = self._address
                    raise OSError(
                        exc.errno, f"the sandbox cannot listen on {host}:{port}: {exc.strerror}"
                    ) from None
                bound_host, port = str(httpd.server_address[0]), int(httpd.server_address[1])
                shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
                if shown == "::":
                    shown = "::1"
                if ":" in shown:
                    shown = f"[{shown}]"
                self._state.host = shown
                self._state.port = port
                self._state.origin = f"http://{shown}:{port}"
                self._httpd = httpd
            return self._httpd

    def start(self) -> str:
        """Serve in a daemon thread; return the base URL (``http://127.0.0.1:<port>/api/v2``)."""
        httpd = self._bind()
        with self._lock:
            if self._serving_ident is None:
                thread = threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    name="sipfront-sandbox",
                    daemon=True,
                )
                thread.start()
                self._thread = thread
                self._serving_ident = thread.ident
        return self.base_url

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until :meth:`stop` is called or Ctrl-C (which stops, and returns).

        ``ready`` is called with the base URL once the sandbox listens. After :meth:`start`
        this only waits for the end.
        """
        httpd = self._bind()
        with self._lock:
            here = self._serving_ident is None
            if here:
                self._serving_ident = threading.get_ident()
        if ready is not None:
            ready(self.base_url)
        try:
            if here:
                httpd.serve_forever(poll_interval=0.1)
            else:
                while not self._state.stopping.wait(0.5):
                    pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call more than once."""
        self._state.stopping.set()
        with self._lock:
            httpd, self._httpd = self._httpd, None
            thread, self._thread = self._thread, None
            serving, self._serving_ident = self._serving_ident, None
        if httpd is None:
            return
        if serving is not None and serving != threading.get_ident():
            httpd.shutdown()  # returns once the serving loop has ended
        if thread is not None:
            thread.join(timeout=5)
        httpd.server_close()
        httpd.close_connections()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- where it is

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``; valid after :meth:`start`."""
        if not self._state.origin:
            raise RuntimeError("the sandbox has no address yet: call start() first")
        return self._state.origin

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/v2``; valid after :meth:`start`."""
        return self.origin + API_PREFIX

    @property
    def bound_address(self) -> tuple[str, int]:
        """The host and port the socket really listens on (``0.0.0.0`` stays ``0.0.0.0``)."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("the sandbox is not listening: call start() first")
        return str(httpd.server_address[0]), int(httpd.server_address[1])

    # ---- what it saw

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in the order they were answered (a copy)."""
        with self._state.lock:
            return list(self._state.records)

    def count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint`` (e.g. ``"tests.run"``), answered or not."""
        with self._state.lock:
            return sum(1 for r in self._state.records if r.endpoint == endpoint)

    def triggers(self) -> list[dict[str, Any]]:
        """The bodies of every POST to tests.run and projects.run, accepted or not, in order."""
        return [
            dict(r.body or {})
            for r in self.requests
            if r.method == "POST" and r.endpoint in ("tests.run", "projects.run")
        ]

    def add_fault(self, fault: Fault) -> None:
        """Inject a fault while the sandbox runs (takes effect with the next request)."""
        self._state.add_fault(fault)
