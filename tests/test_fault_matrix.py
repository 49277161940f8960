"""Every kind of API trouble, injected by the sandbox, run as a real pytest session: the item's
outcome, the first line of its message (the outcome table of docs/outcomes.md), how often the
server saw the trigger, and that nothing is lost on the way to the four reports (terminal
summary, pytest's ``--junitxml`` user properties, ``--sipfront-junit``, GitHub annotations and
job summary).

Every case has two items: ``probe`` (its test ``probe-test`` is the one the fault is aimed at,
with the fault's ``test:`` filter) and ``bystander`` (another test that must pass untouched).

Timing: runs last 0.4 s and are polled every 0.2 s. The client's read timeout (30 s) has no
pytest option; the "slow" cases lower the client's default to 1 s for the session (a test seam,
the package is not changed). The cases that exhaust the trigger's 5 attempts wait for the real
backoff (full jitter, at most 0.5 + 1 + 2 + 4 = 7.5 s): they are the slow ones.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped
from processes import wait_until

from pytest_sipfront.api.client import SipfrontClient
from pytest_sipfront.reports.github import SANDBOX_TAG
from pytest_sipfront.sandbox import RequestRecord, SandboxServer

SCHEMA = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"
PROBE = "probe-test"

AUTH_401 = (
    "Sipfront rejected the API credentials (HTTP 401): "
    "check SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
)
UNKNOWN = (
    "The trigger request failed after it was sent; a run may have started: "
    "check Sipfront before re-running"
)
VANISHED = "Sipfront no longer knows this run (HTTP 404 on its status)"

MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: {timeout}
tests:
  - name: probe
    test: probe-test
  - name: bystander
    test: bystander-test
"""


@pytest.fixture(scope="module")
def profile() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


@dataclass(frozen=True)
class Case:
    """One row of the fault matrix."""

    id: str
    faults: tuple[dict[str, Any], ...]
    outcome: str  # passed | failed | error
    first_line: str  # exact, or a regular expression when ``pattern``
    triggers: int  # POSTs for probe-test that reached the server
    junit_type: str | None = None  # sipfront.<verdict> for failures and errors
    pattern: bool = False
    timeout: str = "10s"
    probe: dict[str, Any] = field(default_factory=dict)  # catalog fields for probe-test
    slow_client: bool = False  # read timeout 1 s instead of 30 s
    retry_after_gap: tuple[str, float] | None = None  # (endpoint, seconds) to measure
    warning: str | None = None  # text that must be in the output


def status(code: int, **extra: Any) -> dict[str, Any]:
    return {"endpoint": "runs.status", "status": code, **extra}


def trigger(code: int, **extra: Any) -> dict[str, Any]:
    return {"endpoint": "tests.run", "status": code, **extra}


CASES = [
    # -- baselines ---------------------------------------------------------------------------
    Case("no-fault", (), "passed", "", 1),
    Case(
        "run-failed",
        (),
        "failed",
        "Sipfront run failed: callee did not answer (SIP 480) [status: failed]",
        1,
        "sipfront.failed",
        probe={"outcome": "failed", "result_description": "callee did not answer (SIP 480)"},
    ),
    # -- status requests ---------------------------------------------------------------------
    Case("status-500-burst", (status(500, times=3),), "passed", "", 1),
    Case("status-502-burst", (status(502, times=3),), "passed", "", 1),
    Case("status-503-burst", (status(503, times=3),), "passed", "", 1),
    Case("status-504-burst", (status(504, times=3),), "passed", "", 1),
    Case(
        "status-429-retry-after",
        (status(429, retry_after=1),),
        "passed",
        "",
        1,
        retry_after_gap=("runs.status", 1.0),
    ),
    Case(
        "status-503-retry-after",
        (status(503, retry_after=1),),
        "passed",
        "",
        1,
        retry_after_gap=("runs.status", 1.0),
    ),
    Case(
        "status-connection-reset",
        ({"endpoint": "runs.status", "drop": True, "times": 2},),
        "passed",
        "",
        1,
    ),
    Case(
        "status-slower-than-read-timeout",
        ({"endpoint": "runs.status", "delay": 5},),  # the read timeout is 1 s
        "passed",
        "",
        1,
        slow_client=True,
    ),
    Case(
        "status-not-json",
        ({"endpoint": "runs.status", "body": "<html>Bad gateway</html>", "times": 2},),
        "passed",
        "",
        1,
    ),
    Case(
        "status-json-without-run",
        (
            {
                "endpoint": "runs.status",
                "body": '{"status": 200, "data": {}}',
                "content_type": "application/json",
                "times": 2,
            },
        ),
        "passed",
        "",
        1,
    ),
    Case("status-404-once", (status(404),), "passed", "", 1),
    Case(
        "status-404-twice",
        (status(404, times=2),),
        "error",
        VANISHED,
        1,
        "sipfront.vanished",
    ),
    Case(
        "status-410-twice-is-reported-as-410",
        (status(410, times=2),),
        "error",
        VANISHED.replace("404", "410"),
        1,
        "sipfront.vanished",
    ),
    Case(
        "status-503-until-the-deadline",
        (status(503, times=0),),
        "error",
        r"Sipfront API unreachable after \d+ attempts over \d+(\.\d)?s: HTTP 503",
        1,
        "sipfront.unreachable",
        pattern=True,
        timeout="1.5s",
    ),
    Case(
        "status-unknown-word-then-finished",
        (),
        "passed",
        "",
        1,
        probe={
            "duration": "0.8s",
            "behaviour": {"running_status": "warming-up", "omit": ["is_finished"]},
        },
        warning="unknown status 'warming-up'",
    ),
    Case(
        "status-unknown-word-until-the-deadline",
        (),
        "failed",
        "Sipfront run did not finish within 1.5s (last status: warming-up)",
        1,
        "sipfront.timeout",
        timeout="1.5s",
        probe={
            "outcome": "running",
            "behaviour": {"running_status": "warming-up", "omit": ["is_finished"]},
        },
        warning="unknown status 'warming-up'",
    ),
    Case(
        "status-stuck-in-running",
        (),
        "failed",
        "Sipfront run did not finish within 1.5s (last status: running)",
        1,
        "sipfront.timeout",
        timeout="1.5s",
        probe={"outcome": "running"},
    ),
    # -- contradictory verdicts: never a pass -------------------------------------------------
    *(
        Case(
            f"has-passed-{label}-with-status-failed",
            (),
            "failed",
            f"Sipfront run failed: contradictory result: has_passed={shown} is neither 0 nor 1 "
            "[status: failed]",
            1,
            "sipfront.failed",
            probe={"finished_body": {"has_passed": value, "status": "failed"}},
        )
        for label, value, shown in (
            ("2", 2, "2"),
            ("yes", "yes", "'yes'"),
            ("true", "true", "'true'"),
        )
    ),
    Case(
        "has-passed-1-with-status-failed",
        (),
        "failed",
        "Sipfront run failed: contradictory result: has_passed=1 with status failed "
        "[status: failed]",
        1,
        "sipfront.failed",
        probe={"finished_body": {"has_passed": 1, "status": "failed", "session_status": "failed"}},
    ),
    Case(
        "is-finished-1-with-status-running",
        (),
        "failed",
        "Sipfront run did not finish within 1.5s (last status: running); "
        "contradictory result: is_finished=1 with status running",
        1,
        "sipfront.timeout",
        timeout="1.5s",
        probe={
            "finished_body": {
                "is_finished": 1,
                "has_passed": 1,
                "status": "running",
                "session_status": "running",
            }
        },
    ),
    # -- the trigger -------------------------------------------------------------------------
    Case("trigger-500", (trigger(500),), "error", UNKNOWN, 1, "sipfront.unknown"),
    Case("trigger-502", (trigger(502),), "error", UNKNOWN, 1, "sipfront.unknown"),
    Case("trigger-504", (trigger(504),), "error", UNKNOWN, 1, "sipfront.unknown"),
    Case(
        "trigger-connection-reset",
        ({"endpoint": "tests.run", "drop": True},),
        "error",
        UNKNOWN,
        1,
        "sipfront.unknown",
    ),
    Case(
        "trigger-slower-than-read-timeout",
        ({"endpoint": "tests.run", "delay": 5},),  # the read timeout is 1 s
        "error",
        UNKNOWN,
        1,
        "sipfront.unknown",
        slow_client=True,
    ),
    Case(
        "trigger-answer-not-json",
        ({"endpoint": "tests.run", "body": "<html>Welcome to nginx</html>"},),
        "error",
        UNKNOWN,
        1,
        "sipfront.unknown",
    ),
    Case(
        "trigger-answer-without-status-url",
        (),
        "error",
        UNKNOWN,
        1,
        "sipfront.unknown",
        probe={"behaviour": {"trigger_status_url": False}},
    ),
    Case(
        "trigger-503-five-times",
        (trigger(503, times=0),),
        "error",
        r"Sipfront API unreachable after 5 attempts over \d+(\.\d)?s: HTTP 503",
        5,
        "sipfront.unreachable",
        pattern=True,
        timeout="30s",
    ),
    Case(
        "trigger-429-five-times",
        (trigger(429, times=0),),
        "error",
        r"Sipfront API unreachable after 5 attempts over \d+(\.\d)?s: HTTP 429",
        5,
        "sipfront.unreachable",
        pattern=True,
        timeout="30s",
    ),
    Case("trigger-503-recovers-after-2", (trigger(503, times=2),), "passed", "", 3),
    Case(
        "trigger-429-retry-after-recovers-after-2",
        (trigger(429, times=2, retry_after=1),),
        "passed",
        "",
        3,
        retry_after_gap=("tests.run", 1.0),
    ),
    Case(
        "trigger-429-retry-after-past-the-runs-timeout",
        (trigger(429, times=0, retry_after=999999),),
        "error",
        r"Sipfront asked to retry after 999999s, longer than the \d+(\.\d)?s left of "
        r"this run's timeout for its trigger",
        1,
        "sipfront.unreachable",
        pattern=True,
    ),
    Case(
        "status-429-retry-after-past-the-runs-timeout",
        (status(429, times=0, retry_after=999999),),
        "error",
        r"Sipfront asked to retry after 999999s, longer than the \d+(\.\d)?s left of "
        r"this run's timeout",
        1,
        "sipfront.unreachable",
        pattern=True,
    ),
    Case(
        "trigger-422",
        (trigger(422, error="Test not found"),),
        "error",
        "Sipfront refused to start the run: Test not found (HTTP 422)",
        1,
        "sipfront.refused",
    ),
]


# -- reading a session back ------------------------------------------------------------------


def item_outcomes(result: pytest.RunResult) -> dict[str, tuple[str, str]]:
    """``name -> (outcome, first line)`` from pytest's own reports (setup error, call)."""
    found: dict[str, tuple[str, str]] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        name = report.nodeid.rpartition("::")[2]
        text = report.longreprtext.splitlines()[0] if report.failed else ""
        if report.when == "setup" and report.failed:
            found[name] = ("error", text)
        elif report.when == "call":
            found[name] = ("failed" if report.failed else "passed", text)
    return found


def summary_section(result: pytest.RunResult) -> list[str]:
    """The lines of the terminal's "sipfront runs" section."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.match(r"=+ sipfront runs", line))
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("="):
            break
        section.append(line)
    return section


def sipfront_junit(path: Path, profile: xmlschema.XMLSchema) -> dict[str, list[Any]]:
    """``name -> [result elements]`` from the ``--sipfront-junit`` file, after validating it."""
    profile.validate(str(path))
    cases: dict[str, list[Any]] = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            assert case.name not in cases, f"{case.name} written twice"
            cases[case.name] = list(case.result)
    return cases


def junitxml_properties(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``name -> [(property, value)]`` from pytest's own ``--junitxml``."""
    found: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        assert name not in found, f"{name} written twice by --junitxml"
        found[name] = [(p.get("name", ""), p.get("value", "")) for p in case.iter("property")]
    return found


def summary_rows(path: Path) -> list[str]:
    """Every item's row in the job summary's tables (what needs attention, then the folded
    rest), their header lines left out; not the rows of a run's media metrics (which follow)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    media = next(
        (i for i, line in enumerate(lines) if line.startswith("<details><summary>Media metrics")),
        len(lines),
    )
    lines = lines[:media]
    return [
        line
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith("| ") and not after.startswith("|---")
    ]


def row_names(row: str) -> list[str]:
    """The cells a row's name may be in: the first (a folded table of passes has no result
    column) or the second."""
    return [cell.strip() for cell in row.strip().strip("|").split(" | ")[:2]]


def probe_triggers(server: SandboxServer) -> list[RequestRecord]:
    """The trigger requests for probe-test that reached the server, in order."""
    return [
        r
        for r in server.requests
        if r.endpoint == "tests.run" and (r.body or {}).get("test.name") == PROBE
    ]


def status_requests(server: SandboxServer, session_id: str) -> list[RequestRecord]:
    """The status requests of one run, in order of arrival."""
    records = [r for r in server.requests if r.endpoint == "runs.status" and session_id in r.path]
    return sorted(records, key=lambda r: r.time)


@dataclass
class Session:
    result: pytest.RunResult
    server: SandboxServer
    junit: Path
    junitxml: Path
    summary: Path
    elapsed: float


@pytest.fixture
def gate_session(
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Case], Session]]:
    def run(case: Case) -> Session:
        probe = {"name": PROBE, "duration": "0.4s", **case.probe}
        catalog = {
            "tests": [probe, {"name": "bystander-test", "duration": "0.4s"}],
            "faults": [{**fault, "test": PROBE} for fault in case.faults],
        }
        server = sipfront_sandbox(catalog)
        if case.slow_client:
            defaults = SipfrontClient.__init__.__kwdefaults__
            assert defaults is not None and "read_timeout" in defaults
            monkeypatch.setitem(defaults, "read_timeout", 1.0)
        summary = pytester.path / "step_summary.md"
        junit = pytester.path / "sipfront-junit.xml"
        junitxml = pytester.path / "pytest-junit.xml"
        started = time.monotonic()
        result = run_gate(
            MANIFEST.format(timeout=case.timeout),
            "--sipfront-junit",
            str(junit),
            f"--junitxml={junitxml}",
            "-W",
            "default",
            server=server,
            env={
                "GITHUB_ACTIONS": "true",
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_WORKSPACE": str(pytester.path),
            },
        )
        return Session(result, server, junit, junitxml, summary, time.monotonic() - started)

    yield run


def pytest_outcome_word(outcome: str) -> str:
    return {"passed": "PASSED", "failed": "FAILED", "error": "ERROR"}[outcome]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_fault_gives_its_outcome_and_message_and_nothing_is_lost(
    case: Case, gate_session: Callable[[Case], Session], profile: xmlschema.XMLSchema
) -> None:
    session = gate_session(case)
    result, server = session.result, session.server

    # The pytest outcome and the message's first line.
    outcomes = item_outcomes(result)
    assert set(outcomes) == {"probe", "bystander"}
    outcome, first = outcomes["probe"]
    assert outcome == case.outcome, first
    if case.pattern:
        assert re.fullmatch(case.first_line, first), first
    else:
        assert first == case.first_line
    assert outcomes["bystander"] == ("passed", "")

    # How many times the trigger reached the server. (The sandbox records a request when it
    # answers it: a delayed answer is recorded after the delay, when the session may be over.)
    if case.slow_client:
        wait_until(lambda: len(probe_triggers(server)) >= case.triggers, 30.0, "its triggers")
        # The first status request came 0.2 s after the trigger (allow 2 s on a busy machine);
        # its slow answer is recorded ``delay`` seconds after it arrived.
        delay = case.faults[0]["delay"]
        start = probe_triggers(server)[0].time
        wait_until(lambda: time.monotonic() > start + 2.0 + delay, 30.0, "the delay to pass")
    triggers = probe_triggers(server)
    assert len(triggers) == case.triggers

    properties = junitxml_properties(session.junitxml)
    if case.retry_after_gap is not None:
        endpoint, seconds = case.retry_after_gap
        if endpoint == "runs.status":
            session_id = dict(properties["probe"])["sipfront_session_id"]
            records = status_requests(server, session_id)
        else:
            records = triggers
        faulted = [i for i, r in enumerate(records) if r.status in (429, 503)]
        assert faulted, "the fault never fired"
        for index in faulted:
            assert index + 1 < len(records), "no request after the faulted answer"
            gap = records[index + 1].time - records[index].time
            assert gap >= seconds, f"asked again after {gap:.2f}s despite Retry-After"

    if case.warning is not None:
        assert case.warning in result.stdout.str()

    if case.slow_client and case.faults[0]["endpoint"] == "runs.status":
        # The client gave up on the slow answer and asked again before it would have come.
        session_id = dict(properties["probe"])["sipfront_session_id"]
        first_two = status_requests(server, session_id)[:2]
        assert len(first_two) == 2
        assert first_two[0].time - triggers[0].time < 3  # the slow one, first (idle: 0.2 s)
        # Asked again after the 1 s read timeout (idle), long before the 5 s answer.
        assert first_two[1].time - first_two[0].time < case.faults[0]["delay"]

    # Nothing is lost: each item exactly once in every report, with the same outcome.
    section = summary_section(result)
    for name, (item_outcome, _) in outcomes.items():
        lines = [line for line in section if line.split()[1:2] == [name]]
        assert len(lines) == 1, section
        assert lines[0].split()[0] == pytest_outcome_word(item_outcome)

    assert set(properties) == {"probe", "bystander"}
    for name, props in properties.items():
        names = [key for key, _ in props]
        for key in ("sipfront_session_id", "sipfront_report_url", "sipfront_status"):
            assert names.count(key) == 1, (name, props)

    cases = sipfront_junit(session.junit, profile)
    assert set(cases) == {"probe", "bystander"}
    assert cases["bystander"] == []
    if case.outcome == "passed":
        assert cases["probe"] == []
    else:
        (element,) = cases["probe"]
        expected = Failure if case.outcome == "failed" else Error
        assert isinstance(element, expected) and not isinstance(element, Skipped)
        assert element.type == case.junit_type
        assert element.message == first

    rows = summary_rows(session.summary)
    assert len(rows) == 2, rows
    for name in ("probe", "bystander"):
        assert sum(1 for row in rows if name in row_names(row)) == 1, rows
    # GitHub annotations (wherever they are on a line: see the test below for that).
    annotations = re.findall(r"::error file=[^\n]*", result.stdout.str())
    if case.outcome == "passed":
        assert annotations == []
    else:
        (annotation,) = annotations
        assert "title=Sipfront%3A probe::" in annotation
        # The sandbox says it is one in every answer: its annotations are marked SANDBOX.
        assert annotation.split("::", 2)[2].startswith(SANDBOX_TAG + first)


def test_every_annotation_starts_a_line_of_its_own(
    gate_session: Callable[[Case], Session],
) -> None:
    case = next(case for case in CASES if case.id == "run-failed")
    session = gate_session(case)
    text = session.result.stdout.str()
    assert "::error file=" in text
    for line in text.splitlines():
        if "::error " in line:
            assert line.startswith("::error "), line


AUTH_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: first
    test: t1
  - name: second
    test: t2
  - name: third
    test: t3
  - name: fourth
    test: t4
"""


@pytest.mark.parametrize(
    ("endpoint", "code"),
    [("runs.status", 401), ("tests.run", 401), ("runs.status", 403), ("tests.run", 403)],
)
def test_credentials_refused_mid_session_error_every_later_item_and_nothing_more_is_sent(
    endpoint: str,
    code: int,
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
    pytester: pytest.Pytester,
) -> None:
    catalog = {
        "tests": [{"name": f"t{n}", "duration": "0.3s"} for n in range(1, 5)],
        "faults": [{"endpoint": endpoint, "status": code, "test": "t2", "times": 0}],
    }
    server = sipfront_sandbox(catalog)
    junit = pytester.path / "sipfront-junit.xml"
    result = run_gate(
        AUTH_MANIFEST,
        "--sipfront-concurrency",
        "1",
        "--sipfront-junit",
        str(junit),
        server=server,
    )
    outcomes = item_outcomes(result)
    message = AUTH_401.replace("401", str(code))
    assert outcomes == {
        "first": ("passed", ""),
        "second": ("error", message),
        "third": ("error", message),
        "fourth": ("error", message),
    }
    records = server.requests
    refused = [r for r in records if r.status == code]
    assert len(refused) == 1, "asked again after the credentials were refused"
    assert max(records, key=lambda r: r.time) is refused[0], "a request came after the refusal"
    assert server.count("tests.run") == 2  # third and fourth were never triggered
    (suite,) = JUnitXml.fromfile(str(junit))
    types = {case.name: [r.type for r in case.result] for case in suite}
    assert types == {
        "first": [],
        "second": ["sipfront.auth"],
        "third": ["sipfront.auth"],
        "fourth": ["sipfront.auth"],
    }


def test_credentials_refused_while_runs_are_polled_in_parallel_stop_every_request(
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    """Four runs in flight; the 401 is answered 0.3 s after it arrived (so requests sent before
    it was known may still arrive meanwhile). Polled every 0.2 s, four runs would make about
    twenty requests a second: a second after the answer, none may come any more."""
    catalog = {
        "tests": [{"name": f"t{n}", "duration": "120s"} for n in range(1, 5)],
        "faults": [
            {"endpoint": "runs.status", "status": 401, "test": "t2", "delay": 0.3, "times": 0}
        ],
    }
    server = sipfront_sandbox(catalog)
    started = time.monotonic()
    result = run_gate(AUTH_MANIFEST, "--sipfront-concurrency", "4", server=server)
    # About a second when idle; the runs would take 120 s.
    assert time.monotonic() - started < 60, "the session waited for runs it cannot follow"
    outcomes = item_outcomes(result)
    assert outcomes == {
        name: ("error", AUTH_401) for name in ("first", "second", "third", "fourth")
    }
    (refused,) = [r for r in server.requests if r.status == 401]
    answered = refused.time + 0.3
    late = [r for r in server.requests if r.time > answered + 1.0]
    assert late == [], "requests kept coming after the credentials were refused"
    assert server.count("tests.run") == 4


def test_an_api_that_refuses_connections_is_unreachable_after_five_attempts(
    run_gate: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    """Nothing listens on the port: the trigger provably started nothing, so it is tried 5
    times (with the real backoff: about 4 s on average, 7.5 s at most)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    junit = pytester.path / "sipfront-junit.xml"
    result = run_gate(
        "tests:\n  - name: call\n    test: basic-call\n",
        "--sipfront-url",
        f"http://127.0.0.1:{port}/api/v2",
        "--sipfront-junit",
        str(junit),
        server=None,
    )
    outcome, first = item_outcomes(result)["call"]
    assert outcome == "error"
    assert re.fullmatch(
        r"Sipfront API unreachable after 5 attempts over \d+(\.\d)?s: connection refused", first
    ), first
    (suite,) = JUnitXml.fromfile(str(junit))
    assert [[r.type for r in case.result] for case in suite] == [["sipfront.unreachable"]]


def test_unreachable_says_how_long_the_api_was_unusable_not_0s(
    gate_session: Callable[[Case], Session],
) -> None:
    case = Case(
        "status-slow-until-the-deadline",
        ({"endpoint": "runs.status", "delay": 5.0, "times": 0},),
        "error",
        r"Sipfront API unreachable after 1 attempt over 1(\.\d)?s: read timed out",
        1,
        "sipfront.unreachable",
        pattern=True,
        timeout="1.5s",
    )
    session = gate_session(case)
    outcome, first = item_outcomes(session.result)["probe"]
    assert outcome == "error"
    assert re.fullmatch(case.first_line, first), first


@pytest.mark.parametrize("endpoint", ["runs.status", "tests.run"])
def test_an_answer_trickling_in_ends_with_the_runs_timeout_not_hours_later(
    endpoint: str, gate_session: Callable[[Case], Session]
) -> None:
    # One byte a second: the sandbox's answers are hundreds of bytes, so reading one to the end
    # would take minutes; requests' read timeout alone restarts with every byte.
    case = Case(
        f"{endpoint}-trickles",
        ({"endpoint": endpoint, "trickle": 1, "times": 0},),
        "error",
        "",
        1,
        timeout="3s",
    )
    session = gate_session(case)
    outcome, first = item_outcomes(session.result)["probe"]
    assert outcome == "error", first
    if endpoint == "runs.status":
        assert re.fullmatch(
            r"Sipfront API unreachable after \d+ attempts? over \d+(\.\d)?s: "
            r"no complete answer within \d+(\.\d)?s",
            first,
        ), first
    else:
        assert first == UNKNOWN  # the trigger was sent: a run may have started
    assert item_outcomes(session.result)["bystander"] == ("passed", "")
    assert len(probe_triggers(session.server)) <= 1
    assert session.elapsed < 60, f"the session took {session.elapsed:.0f}s"
