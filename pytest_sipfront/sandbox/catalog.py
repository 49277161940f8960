"""The sandbox's catalog: what it knows (tests, projects, faults, how bodies look), and
the reader that checks a catalog file and names the place of every mistake.

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
        media: steady             # media metrics profile: steady | jitter_spike
                                  # | one_way_audio | mos_drop | none (sandbox/media.py)
        previous:                 # optional (tests, projects): the run GET
                                  # /api/v2/tests/:id/status/last (/projects/:id/...) answers
                                  # until this sandbox ran it (then: its latest run's body)
          outcome: failed         # passed | failed | stopped | errored | running (still
                                  # going) | none (404: no earlier run) | empty (200 {})
                                  # | malformed (200, not JSON); default: none
          result_description: "carrier outage (SIP 503)"
          duration: 1m55s         # stopped_at - started_at (default 2s)
          stopped_at: "2026-11-30 08:12:00"  # UTC (default: an hour before the request)
          media: steady           # its media profile (the baseline of @baseline thresholds)
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
                                  # | runs.status | report | tests.last | projects.last
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
                                  # (name or id; the trigger's, the run's for runs.status,
                                  # the path's id for tests.last and projects.last)
    behaviour:                    # how finished bodies look, for tolerance tests
      status_fields: both         # both | status | session_status: which field(s) carry the
                                  # test run's state (project runs always use run_status)
      omit: []                    # fields left out of every status body,
                                  # e.g. [is_finished, has_passed, is_failed]
      tags: string                # string (JSON-encoded, as on the API page) | array
      media_shape: stats          # the shape of media series bodies (sandbox/media.py)
      running_status: running     # the word a run reports while going (queued, or an
                                  # unknown word)
      vanish_after: null          # after this many status requests the run's status is a 404
                                  # (0: at once); null: never
      status_url_origin: null     # status_url on another origin, e.g. "http://127.0.0.2:9";
                                  # {host} and {port} are the sandbox's own, so
                                  # "https://{host}:{port}" changes only the scheme
      trigger_status_url: true    # false: the trigger answer has no data.status_url

"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

from pytest_sipfront.durations import DURATION_BOUNDS, check_bounds, parse_duration
from pytest_sipfront.integers import whole_number
from pytest_sipfront.manifest.yamlnodes import (
    Path,
    Positions,
    YamlProblem,
    load_document,
    read_text,
)
from pytest_sipfront.sandbox import media
from pytest_sipfront.sandbox.catalogschema import TOP_KEYS, first_problem, kind
from pytest_sipfront.sandbox.endpoints import ENDPOINT_NAMES as ENDPOINTS

MAX_CATALOG_BYTES = 5 * 1024 * 1024
"""A catalog file larger than this (5 MB) is refused before it is parsed."""

_STATUS_FIELDS = {
    "both": ("status", "session_status"),
    "status": ("status",),
    "session_status": ("session_status",),
}


class CatalogError(Exception):
    """A catalog that cannot be used; the message is a plain sentence naming the file."""


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
    media_shape: str = "stats"


@dataclass(frozen=True)
class WhenRule:
    """An outcome that applies when every override listed was sent with these values."""

    overrides: Mapping[str, str]
    outcome: str | None = None
    result_description: str | None = None
    duration: float | None = None

    def matches(self, sent: Mapping[str, Any]) -> bool:
        return all(k in sent and scalar_text(sent[k]) == v for k, v in self.overrides.items())


@dataclass(frozen=True)
class Previous:
    """The earlier run ``status/last`` answers; see the module docstring (``previous:``)."""

    outcome: str = "none"
    result_description: str = ""
    media: str = "steady"
    """The media metrics profile its stats endpoints serve (the baseline of ``@baseline``)."""
    duration: float = 2.0
    stopped_at: str | None = None


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
    previous: Previous = Previous()
    media: str = "steady"
    """The media metrics profile (:mod:`.media`)."""


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
    previous: Previous = Previous()


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
        """Read a catalog file; every problem is a :class:`CatalogError` naming the file and,
        where it can, the line and column (``cat.yml:3:7: tests[0].id: ...``).

        Read like a manifest (:mod:`pytest_sipfront.manifest.yamlnodes`): at most
        :data:`MAX_CATALOG_BYTES` of a regular file, duplicate keys refused, then checked
        against the catalog's JSON Schema. No part of a file that is not a catalog is shown.
        """
        source = os.fspath(path)
        try:
            text = read_text(
                path,
                limit=MAX_CATALOG_BYTES,
                what="catalog",
                split_hint="list only the tests, projects and faults the sandbox needs",
            )
            document = load_document(text)
        except YamlProblem as problem:
            raise CatalogError(
                f"{source}:{problem.line}:{problem.column}: {_yaml_sentence(problem)}"
            ) from None
        data = {} if document.data is None else document.data
        if not isinstance(data, Mapping):
            raise CatalogError(
                f"{source}:1:1: the catalog must be a mapping ({', '.join(TOP_KEYS)}), "
                f"not {kind(data)}; see the catalog format in the sandbox documentation"
            )
        return _CatalogReader(source, document.positions).catalog(data)

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


def scalar_text(value: Any) -> str:
    """Overrides compare as text: form fields are strings, JSON may send numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_of(where: str) -> Path:
    """``tests[0].when[1].outcome`` as a path from the root: ('tests', 0, 'when', 1, ...)."""
    return tuple(int(index) if index else name for name, index in _STEP.findall(where))


def _where(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _yaml_sentence(problem: YamlProblem) -> str:
    where = _where(problem.path) if problem.path else ""
    message = problem.message.replace("a manifest", "a catalog")
    return f"{where}: {message}" if where else message


class _CatalogReader:
    """Checks a parsed catalog and turns it into dataclasses, with errors naming the file
    (and the line and column, when it was read from one)."""

    def __init__(self, source: str, positions: Positions | None = None) -> None:
        self.source = source
        self.positions = positions

    def fail(self, where: str, message: str, at: Path | None = None) -> NoReturn:
        place = self.source
        if self.positions is not None:
            line, column = self.positions.key(_path_of(where) if at is None else at)
            place = f"{place}:{line}:{column}"
        raise CatalogError(f"{place}: {where}: {message}" if where else f"{place}: {message}")

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
            return scalar_text(value)
        self.fail(where, f"expected a string, got {_kind(value)}")

    def word(self, value: Any, where: str) -> str:
        text = self.text(value, where).strip()
        if not text or any(c.isspace() for c in text):
            self.fail(where, f"{value!r} is not a single word")
        return text

    def integer(self, value: Any, where: str, minimum: int = 0) -> int:
        """A whole number by the package's one rule (:mod:`pytest_sipfront.integers`)."""
        number = whole_number(value)
        if number is None:
            self.fail(where, f"{value!r} is not a whole number (write it in the digits 0-9)")
        if number < minimum:
            self.fail(where, f"{value!r} must be {minimum} or more")
        return number

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
        if not isinstance(data, Mapping):
            self.fail(
                "", f"the catalog must be a mapping ({', '.join(TOP_KEYS)}), not {kind(data)}"
            )
        problem = first_problem(data, self.positions)
        if problem is not None:
            self.fail(_where(problem.path), problem.message, problem.at)
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
            "previous",
            "media",
        )
        entry = self.mapping(value, where, known)
        if "name" not in entry:
            self.fail(where, "a test needs a name")
        profile = self.word(entry.get("media", "steady"), f"{where}.media")
        if profile not in media.PROFILES:
            self.fail(f"{where}.media", f"{profile!r} is not one of {', '.join(media.PROFILES)}")
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
            previous=self.previous(entry.get("previous"), f"{where}.previous"),
            media=profile,
        )

    def previous(self, value: Any, where: str) -> Previous:
        """A ``previous:`` mapping; a bare word is its outcome."""
        if value is None:
            return Previous()
        if isinstance(value, str):
            value = {"outcome": value}
        entry = self.mapping(
            value, where, ("outcome", "result_description", "duration", "stopped_at", "media")
        )
        stopped = entry.get("stopped_at")
        profile = self.word(entry.get("media", "steady"), f"{where}.media")
        if profile not in media.PROFILES:
            self.fail(f"{where}.media", f"{profile!r} is not one of {', '.join(media.PROFILES)}")
        return Previous(
            media=profile,
            outcome=self.word(entry.get("outcome", "none"), f"{where}.outcome"),
            result_description=self.text(
                entry.get("result_description", ""), f"{where}.result_description"
            ),
            duration=self.duration(entry["duration"], f"{where}.duration")
            if "duration" in entry
            else 2.0,
            stopped_at=None if stopped is None else self.text(stopped, f"{where}.stopped_at"),
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
            overrides[key] = scalar_text(val)
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
            "previous",
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
            previous=self.previous(entry.get("previous"), f"{where}.previous"),
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
        if "media_shape" in entry:
            shape = self.word(entry["media_shape"], f"{where}.media_shape")
            if shape not in media.SHAPES:
                self.fail(
                    f"{where}.media_shape", f"{shape!r} is not one of {', '.join(media.SHAPES)}"
                )
            out["media_shape"] = shape
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
