"""Ctrl-C, SIGTERM and ``-x`` stop a gate at once: a real pytest process against a sandbox in this
process, with long runs (120 s) and a concurrency lower than the number of runs, so that some
runs are going at Sipfront and others are still queued when the session is stopped.

What a user relies on: the process ends at once (about 2 s on an idle machine; the tests
allow a minute, long before the 120 s runs would end, so that a busy machine cannot fail them)
with pytest's exit code, nothing new is triggered after the signal, every run still going is
listed with its report link, and the JUnit file and the GitHub summary are written anyway.
The tests wait on events (a request in the sandbox's log, a line on stderr), never on sleeps.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, JUnitXml
from plugins_for_tests import SLOW_REPORTER
from processes import ChildProcess, clean_environ, polled_sessions, pytest_command, wait_until
from terminal_sections import runs_section

from pytest_sipfront.runs.messages import REPORT_FILE_STOPPED
from pytest_sipfront.sandbox import Catalog, SandboxServer

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    # Start-up, the wait for the runs and the stop each have generous limits of their own.
    pytest.mark.timeout(300),
]

SCHEMA = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"
PUBLIC_KEY = "pk-interrupt-8d41"
SECRET_KEY = "sk-interrupt-77ae"
INTERRUPTED = "Interrupted; the run is still going at Sipfront"
EXIT_INTERRUPTED = 2
# The runs take 120 s; a session that stops on a signal ends within about 2 s on an idle
# machine. The bound is far from both, so a busy CI machine cannot fail it by noise.
LONG_BEFORE_THE_RUNS_END = 60.0
# A worker's long poll on the controller lasts 30 s unless answered: a session still going
# after 20 s was held by one (idle: 3 s).
LONG_POLL_HELD = 20.0
# How long a session may take to start and reach a point the test waits for (idle: ~1 s).
STARTED = 60.0
# How long a session that ends by itself (-x) may take; idle: a few seconds.
ENDS_BY_ITSELF = 90.0

LONG_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: long-1
    test: long-call
  - name: long-2
    test: long-call
  - name: long-3
    test: long-call
  - name: long-4
    test: long-call
  - name: long-5
    test: long-call
"""


@dataclass
class Gate:
    """A pytest process running a manifest against ``server``."""

    child: ChildProcess
    server: SandboxServer
    path: Path

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.child.process

    @property
    def junit(self) -> Path:
        return self.path / "sipfront-junit.xml"

    @property
    def summary(self) -> Path:
        return self.path / "step_summary.md"


@pytest.fixture
def start_gate(tmp_path: Path) -> Iterator[Callable[..., Gate]]:
    servers: list[SandboxServer] = []
    children: list[ChildProcess] = []

    def start(
        catalog: dict[str, object], manifest: str, *args: str, conftest: str | None = None
    ) -> Gate:
        server = SandboxServer(
            Catalog.from_dict(catalog), public_key=PUBLIC_KEY, secret_key=SECRET_KEY
        )
        server.start()
        servers.append(server)
        (tmp_path / "sipfront.yml").write_text(manifest, encoding="utf-8")
        if conftest is not None:
            (tmp_path / "conftest.py").write_text(conftest, encoding="utf-8")
        env = clean_environ(
            SIPFRONT_PUBLIC_KEY=PUBLIC_KEY,
            SIPFRONT_SECRET_KEY=SECRET_KEY,
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(tmp_path),
            GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary.md"),
        )
        command = pytest_command(server, "--sipfront-junit", "sipfront-junit.xml", *args)
        child = ChildProcess.start(command, cwd=tmp_path, env=env)
        children.append(child)
        return Gate(child, server, tmp_path)

    yield start
    for child in children:
        child.kill()
    for server in servers:
        server.stop()


def stop_with(gate: Gate, signum: int) -> tuple[float, float, str, str]:
    """Send ``signum``; return when it was sent (monotonic), how long the process took to end,
    and its output. Fails the test when the process outlives the runs' bound."""
    sent = time.monotonic()
    gate.process.send_signal(signum)
    out, err = gate.child.finish(LONG_BEFORE_THE_RUNS_END)
    return sent, time.monotonic() - sent, out, err


def report_link(server: SandboxServer, session_id: str) -> str:
    return f"{server.origin}/run/details/{session_id}"


@pytest.mark.parametrize(
    "signum",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_ends_the_session_at_once_lists_runs_still_going_and_triggers_nothing_more(
    signum: int, start_gate: Callable[..., Gate]
) -> None:
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2")
    server = gate.server
    wait_until(lambda: len(polled_sessions(server)) == 2, STARTED, "both runs to be polled")
    assert server.count("tests.run") == 2  # three more are queued behind the concurrency

    sent, took, out, err = stop_with(gate, signum)

    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    assert took < LONG_BEFORE_THE_RUNS_END, f"the session took {took:.2f}s to end after the signal"
    assert "Traceback" not in err

    # Nothing was triggered after the signal, or at all beyond the two going.
    triggers = [r for r in server.requests if r.endpoint == "tests.run"]
    assert len(triggers) == 2
    assert all(r.time < sent for r in triggers)

    # Each run still going at Sipfront is listed with its report link.
    sessions = polled_sessions(server)
    links = {report_link(server, session) for session in sessions}
    running_lines = [line for line in out.splitlines() if line.startswith("RUNNING")]
    assert len(running_lines) == 2, out
    for link in links:
        assert sum(link in line for line in running_lines) == 1, out

    # The JUnit file is written and valid; the runs going are errors that say so.
    assert gate.junit.exists(), out
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(gate.junit))
    results = {
        case.name: list(case.result)
        for suite in JUnitXml.fromfile(str(gate.junit))
        for case in suite
    }
    going = {name: result for name, result in results.items() if result}
    assert len(going) == 2, results
    for (element,) in going.values():
        assert isinstance(element, Error)
        assert element.type == "sipfront.interrupted"
        assert element.message == INTERRUPTED
    junit_text = gate.junit.read_text(encoding="utf-8")
    for link in links:
        assert link in junit_text

    # The GitHub summary says the session was interrupted and links both runs.
    summary = gate.summary.read_text(encoding="utf-8")
    assert "Interrupted" in summary
    for link in links:
        assert link in summary
    annotations = [line for line in out.splitlines() if "::error " in line]
    assert len(annotations) == 2, out
    for line in annotations:
        assert line.startswith("::error ") and INTERRUPTED in line


def test_a_second_signal_while_stopping_still_ends_the_session_long_before_the_runs_would(
    start_gate: Callable[..., Gate],
) -> None:
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2")
    wait_until(lambda: len(polled_sessions(gate.server)) == 2, STARTED, "both runs to be polled")
    gate.process.send_signal(signal.SIGINT)
    time.sleep(0.1)  # a moment to begin stopping; whenever the second comes, the session ends
    _, took, out, err = stop_with(gate, signal.SIGTERM)
    assert took < LONG_BEFORE_THE_RUNS_END
    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    assert gate.server.count("tests.run") == 2


def long_triggers(server: SandboxServer) -> list[str]:
    """The test names of the accepted triggers of long runs, in order."""
    return [
        str((r.body or {}).get("test.name"))
        for r in server.requests
        if r.endpoint == "tests.run"
        and r.status == 200
        and str((r.body or {}).get("test.name")).startswith("long")
    ]


MAXFAIL_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: fails-fast
    test: broken-call
  - name: long-1
    test: long-call-1
  - name: long-2
    test: long-call-2
  - name: long-3
    test: long-call-3
"""
MAXFAIL_CATALOG = {
    "tests": [
        {"name": "broken-call", "duration": "0.5s", "outcome": "failed"},
        *({"name": f"long-call-{n}", "duration": "120s"} for n in (1, 2, 3)),
    ]
}


def test_exitfirst_stops_the_session_and_lists_the_run_still_going(
    start_gate: Callable[..., Gate],
) -> None:
    gate = start_gate(MAXFAIL_CATALOG, MAXFAIL_MANIFEST, "--sipfront-concurrency", "2", "-x")
    out, err = gate.child.finish(ENDS_BY_ITSELF)
    assert gate.process.returncode == 1, out + err
    assert "stopping after 1 failures" in out
    # long-1 went with fails-fast; the slot fails-fast freed starts nothing.
    assert long_triggers(gate.server) == ["long-call-1"]
    running = [line for line in out.splitlines() if line.startswith("RUNNING")]
    assert len(running) == 1
    assert re.match(r"RUNNING +long-1 still going at Sipfront http://", running[0])
    (suite,) = JUnitXml.fromfile(str(gate.junit))
    types = {case.name: [r.type for r in case.result] for case in suite}
    assert types["fails-fast"] == ["sipfront.failed"]
    assert types["long-1"] == ["sipfront.interrupted"]


def test_exitfirst_triggers_nothing_after_the_failing_run_finished(
    start_gate: Callable[..., Gate],
) -> None:
    gate = start_gate(
        MAXFAIL_CATALOG,
        MAXFAIL_MANIFEST,
        "--sipfront-concurrency",
        "2",
        "-x",
        conftest=SLOW_REPORTER,
    )
    out, _ = gate.child.finish(ENDS_BY_ITSELF)
    assert gate.process.returncode == 1, out
    assert long_triggers(gate.server) == ["long-call-1"], "triggered after the failure"


IN_FLIGHT_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: long-1
    test: long-call-1
  - name: slow-trigger
    test: long-call-2
"""


def status_requests(server: SandboxServer) -> int:
    return server.count("runs.status")


def done_polling(server: SandboxServer, quiet: float) -> set[str]:
    """Sessions polled but not for ``quiet`` seconds before the latest status request."""
    last: dict[str, float] = {}
    for r in server.requests:
        if r.endpoint == "runs.status":
            last[r.path.split("/")[-2]] = r.time
    latest = max(last.values(), default=0.0)
    return {session for session, time in last.items() if time < latest - quiet}


@pytest.mark.parametrize(
    ("grace", "answered"),
    [("0.1s", False), ("30s", True)],
    ids=["grace-shorter-than-the-answer", "grace-longer-than-the-answer"],
)
def test_a_trigger_in_flight_when_the_session_stops_is_not_forgotten(
    grace: str, answered: bool, start_gate: Callable[..., Gate]
) -> None:
    """Sipfront answers slow-trigger's trigger 6 s after it arrives. Stopped meanwhile, the
    session waits ``--sipfront-shutdown-grace`` for that answer: a short grace lists the run as
    maybe started (no link yet), a long one waits and lists it with its report link."""
    catalog = {
        "tests": [{"name": f"long-call-{n}", "duration": "120s"} for n in (1, 2)],
        "faults": [{"endpoint": "tests.run", "delay": 6, "test": "long-call-2"}],
    }
    gate = start_gate(
        catalog,
        IN_FLIGHT_MANIFEST,
        "--sipfront-concurrency",
        "2",
        "--sipfront-shutdown-grace",
        grace,
    )
    # Both triggers leave together; by the first run's fifth status request (about 1 s later)
    # the second is surely on the wire (checked below from the sandbox's log).
    wait_until(lambda: status_requests(gate.server) >= 5, STARTED, "the first run to be polled")
    sent, took, out, _ = stop_with(gate, signal.SIGINT)
    assert took < LONG_BEFORE_THE_RUNS_END
    # The delayed trigger reaches Sipfront, which starts the run.
    wait_until(lambda: len(long_triggers(gate.server)) == 2, STARTED, "the delayed trigger")
    (slow,) = [
        r
        for r in gate.server.requests
        if r.endpoint == "tests.run" and (r.body or {}).get("test.name") == "long-call-2"
    ]
    assert slow.time < sent, "the trigger left only after the signal: nothing was in flight"
    lines = [line for line in runs_section(out).splitlines() if " slow-trigger " in line]
    assert len(lines) == 1, "a run that may have started is not mentioned"
    assert ("/run/details/" in lines[0]) is answered, lines[0]
    (suite,) = JUnitXml.fromfile(str(gate.junit))
    assert "slow-trigger" in {case.name for case in suite}


def test_no_request_is_sent_after_the_session_has_ended(
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    """In one process (as the action runs pytest, or an IDE): ``-x`` ends the session while
    another run's status request is being retried (503, Retry-After 1 s, so its next attempt
    is about 1 s later). Two seconds after pytest returned, nothing more has arrived."""
    server = sipfront_sandbox(
        {
            "tests": [
                {"name": "broken-call", "duration": "0.3s", "outcome": "failed"},
                {"name": "busy-call", "duration": "0.3s"},
            ],
            "faults": [
                {
                    "endpoint": "runs.status",
                    "status": 503,
                    "retry_after": 1,
                    "times": 0,
                    "test": "busy-call",
                }
            ],
        }
    )
    result = run_gate(
        """\
        defaults:
          poll_interval: 0.2s
          timeout: 20s
        tests:
          - name: fails-fast
            test: broken-call
          - name: busy
            test: busy-call
        """,
        "-x",
        server=server,
    )
    ended = time.monotonic()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert any(r.status == 503 for r in server.requests), "the busy run was never polled"
    time.sleep(2.0)  # watching for requests that must not come: a fixed window is the point
    late = [r for r in server.requests if r.time > ended]
    assert late == [], f"{len(late)} requests after the session ended"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_under_xdist_a_signal_to_the_controller_alone_ends_the_session_promptly(
    signum: int, start_gate: Callable[..., Gate]
) -> None:
    # `kill <pid>` and `docker stop` signal one process: the workers, waiting on the
    # controller's broker, must be answered at once instead of holding the teardown.
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2", "-n", "2")
    server = gate.server
    wait_until(lambda: len(polled_sessions(server)) == 2, STARTED, "both runs to be polled")
    # Each worker asks the controller for its item's verdict as soon as it starts the item,
    # before the runs are even triggered; five more status requests (about a second of the
    # controller's own progress, slower on a busy machine alike) leave them ample time to be
    # waiting in their long poll, which lasts 30 s unless the controller answers it.
    polled = status_requests(server)
    wait_until(lambda: status_requests(server) >= polled + 5, STARTED, "more status requests")
    sent, took, out, err = stop_with(gate, signum)

    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    # 2 s on an idle machine, plus xdist's worker teardown. A worker held in its long poll
    # would keep the session some 30 s; the runs would take 120 s.
    assert took < LONG_POLL_HELD, f"the session took {took:.2f}s to end after the signal"
    assert [r for r in server.requests if r.endpoint == "tests.run" and r.time >= sent] == []
    assert gate.junit.exists(), out
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(gate.junit))
    junit_text = gate.junit.read_text(encoding="utf-8")
    for session in polled_sessions(server):
        assert report_link(server, session) in junit_text


@pytest.mark.parametrize("stop", ["-x", "--maxfail=1", "SIGTERM"])
def test_runs_that_finished_before_the_stop_are_listed_once_with_sipfront_verdict(
    stop: str, start_gate: Callable[..., Gate]
) -> None:
    # All three are triggered at once; the two short ones finish at Sipfront while pytest
    # still waits for the first item, which then fails and stops the session (-x).
    manifest = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: fails-late
    test: broken-call
  - name: quick-pass
    test: quick-call
  - name: quick-fail
    test: quick-broken
"""
    catalog = {
        "tests": [
            {
                "name": "broken-call",
                # Long enough for the quick runs' verdicts to arrive first, on a busy machine too.
                "duration": "8s" if stop != "SIGTERM" else "60s",
                "outcome": "failed",
            },
            {"name": "quick-call", "duration": "0.2s"},
            {"name": "quick-broken", "duration": "0.2s", "outcome": "failed"},
        ]
    }
    args = [] if stop == "SIGTERM" else [stop]
    gate = start_gate(catalog, manifest, "--sipfront-concurrency", "3", *args)
    server = gate.server
    if stop == "SIGTERM":
        # The gate stops polling a run once it has its verdict: wait until it has stopped
        # polling the two quick runs (for 2 s, while it went on polling the long one).
        wait_until(lambda: len(done_polling(server, 2.0)) == 2, STARTED, "the quick runs' verdicts")
        gate.process.send_signal(signal.SIGTERM)
    out, _ = gate.child.finish(ENDS_BY_ITSELF)
    assert server.count("tests.run") == 3
    sessions = polled_sessions(server)
    assert len(sessions) == 3
    summary = runs_section(out)
    for name, word in (
        ("fails-late", "RUNNING" if stop == "SIGTERM" else "FAILED"),
        ("quick-pass", "PASSED"),
        ("quick-fail", "FAILED"),
    ):
        lines = [line for line in summary.splitlines() if f" {name} " in line]
        assert len(lines) == 1, summary
        assert lines[0].startswith(word), lines[0]
    for session in sessions:
        link = report_link(server, session)
        assert summary.count(link) == 1, summary
    junit = JUnitXml.fromfile(str(gate.junit))
    names = sorted(case.name for suite in junit for case in suite)
    assert names == ["fails-late", "quick-fail", "quick-pass"]
    junit_text = gate.junit.read_text(encoding="utf-8")
    step = gate.summary.read_text(encoding="utf-8")
    for session in sessions:
        assert report_link(server, session) in junit_text
        assert report_link(server, session) in step
    assert "3 Sipfront items" in step, step


def test_a_stop_signal_while_a_report_file_waits_for_a_reader_skips_it_at_once(
    start_gate: Callable[..., Gate], tmp_path: Path
) -> None:
    # The job summary is a FIFO nobody reads: writing it waits (up to its deadline) for a
    # reader, so the signals surely arrive while the reports are being written. They neither
    # break the JUnit file off half-written nor are lost: the waiting summary is skipped.
    os.mkfifo(tmp_path / "step_summary.md")
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2")
    wait_until(lambda: len(polled_sessions(gate.server)) == 2, STARTED, "both runs to be polled")
    gate.process.send_signal(signal.SIGINT)
    wait_until(gate.junit.exists, STARTED, "the JUnit file (the reports being written)")
    for signum in (signal.SIGTERM, signal.SIGINT):
        gate.process.send_signal(signum)
    out, err = gate.child.finish(LONG_BEFORE_THE_RUNS_END)
    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    assert "Traceback" not in err + out
    skipped = [line for line in out.splitlines() if "Could not write the job summary" in line]
    assert len(skipped) == 1, out
    assert REPORT_FILE_STOPPED in skipped[0]
    names = sorted(case.name for suite in JUnitXml.fromfile(str(gate.junit)) for case in suite)
    assert names == ["long-1", "long-2"], names  # the two runs started, written whole
    assert "sipfront runs" in out
