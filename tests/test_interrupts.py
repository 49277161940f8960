"""Ctrl-C, SIGTERM and ``-x`` stop a gate at once: a real pytest process against a sandbox in this
process, with long runs (120 s) and a concurrency lower than the number of runs, so that some
runs are going at Sipfront and others are still queued when the session is stopped.

What a user relies on (docs/design.md): the process ends at once (about 2 s on an idle
machine; the tests allow 30 s against 120 s runs) with pytest's exit code,
nothing new is triggered after the signal, every run still going is listed with its report
link, and the JUnit file and the GitHub summary are written anyway.
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
from terminal_sections import runs_section

from pytest_sipfront.sandbox import Catalog, SandboxServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCHEMA = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"
PUBLIC_KEY = "pk-interrupt-8d41"
SECRET_KEY = "sk-interrupt-77ae"
INTERRUPTED = "Interrupted; the run is still going at Sipfront"
EXIT_INTERRUPTED = 2
# The runs take 120 s; a session that stops on a signal ends within about 2 s on an idle
# machine. The bound is far from both, so a busy CI machine cannot fail it by noise.
LONG_BEFORE_THE_RUNS_END = 30.0

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

    process: subprocess.Popen[str]
    server: SandboxServer
    path: Path

    @property
    def junit(self) -> Path:
        return self.path / "sipfront-junit.xml"

    @property
    def summary(self) -> Path:
        return self.path / "step_summary.md"


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` every 20 ms; fail the test naming ``what`` after ``seconds``."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {seconds}s waiting for {what}")
        time.sleep(0.02)


def polled_sessions(server: SandboxServer) -> set[str]:
    """Session ids whose status the gate has asked for."""
    return {r.path.split("/")[-2] for r in server.requests if r.endpoint == "runs.status"}


@pytest.fixture
def start_gate(tmp_path: Path) -> Iterator[Callable[..., Gate]]:
    servers: list[SandboxServer] = []
    processes: list[subprocess.Popen[str]] = []

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
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "GITHUB_", "SIPFRONT_"))
        }
        env.update(
            SIPFRONT_PUBLIC_KEY=PUBLIC_KEY,
            SIPFRONT_SECRET_KEY=SECRET_KEY,
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(tmp_path),
            GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary.md"),
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable,
            "-m",
            "pytest",
            "sipfront.yml",
            "-p",
            "no:cacheprovider",
            "--sipfront-url",
            server.base_url,
            "--sipfront-max-rps",
            "100",
            "--sipfront-junit",
            "sipfront-junit.xml",
            # Hypothesis's pytest plugin (installed here, unrelated to the gate) imports all of
            # hypothesis in its terminal summary: over a second without a bytecode cache.
            "-p",
            "no:hypothesispytest",
            *args,
        ]
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return Gate(process, server, tmp_path)

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()
    for server in servers:
        server.stop()


def stop_with(gate: Gate, signum: int) -> tuple[float, float, str, str]:
    """Send ``signum``; return when it was sent (monotonic), how long the process took to end,
    and its output."""
    sent = time.monotonic()
    gate.process.send_signal(signum)
    try:
        out, err = gate.process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        gate.process.kill()
        out, err = gate.process.communicate()
        raise AssertionError(f"still running 15 s after the signal:\n{out}\n{err}") from None
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
    wait_until(lambda: len(polled_sessions(server)) == 2, 20, "both runs to be polled")
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


def test_a_second_signal_while_stopping_still_ends_within_two_seconds(
    start_gate: Callable[..., Gate],
) -> None:
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2")
    wait_until(lambda: len(polled_sessions(gate.server)) == 2, 20, "both runs to be polled")
    gate.process.send_signal(signal.SIGINT)
    time.sleep(0.1)  # while pytest is stopping on the first signal
    _, took, out, err = stop_with(gate, signal.SIGTERM)
    assert took < LONG_BEFORE_THE_RUNS_END
    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    assert gate.server.count("tests.run") == 2


MAXFAIL_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5m
tests:
  - name: fails-fast
    test: broken-call
  - name: long-1
    test: long-call
  - name: long-2
    test: long-call
  - name: long-3
    test: long-call
"""


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
    out, err = gate.process.communicate(timeout=20)
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


# Another plugin that takes a moment to report a failure (a slow JUnit writer, an uploader):
# it widens the window between the run's verdict and pytest deciding to stop, which is
# otherwise a race of a few milliseconds. The scheduler itself must stop starting runs.
SLOW_REPORTER = """\
import time

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        time.sleep(0.5)
"""


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
    out, _ = gate.process.communicate(timeout=20)
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


def test_a_trigger_in_flight_when_the_session_stops_is_not_forgotten(
    start_gate: Callable[..., Gate],
) -> None:
    catalog = {
        "tests": [{"name": f"long-call-{n}", "duration": "120s"} for n in (1, 2)],
        "faults": [{"endpoint": "tests.run", "delay": 2.5, "test": "long-call-2"}],
    }
    gate = start_gate(catalog, IN_FLIGHT_MANIFEST, "--sipfront-concurrency", "2")
    wait_until(lambda: len(polled_sessions(gate.server)) == 1, 20, "the first run to be polled")
    _, took, out, _ = stop_with(gate, signal.SIGINT)
    assert took < LONG_BEFORE_THE_RUNS_END
    # The delayed trigger reaches Sipfront, which starts the run.
    wait_until(lambda: len(long_triggers(gate.server)) == 2, 8, "the delayed trigger")
    section = runs_section(out)
    assert "slow-trigger" in section, "a run that may have started is not mentioned"
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
    wait_until(lambda: len(polled_sessions(server)) == 2, 30, "both runs to be polled")
    time.sleep(0.5)  # let both workers reach their long poll on the controller

    sent, took, out, err = stop_with(gate, signum)

    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    # docs/design.md, Interrupts: 2 s on an idle machine, plus xdist's worker teardown.
    assert took < LONG_BEFORE_THE_RUNS_END, f"the session took {took:.2f}s to end after the signal"
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
                "duration": "4s" if stop != "SIGTERM" else "60s",
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
        # The quick runs take 0.2 s; by the tenth status request (0.2 s apart) they are done.
        wait_until(
            lambda: sum(r.endpoint == "runs.status" for r in server.requests) >= 10,
            30,
            "the quick runs to finish",
        )
        gate.process.send_signal(signal.SIGTERM)
    out, _ = gate.process.communicate(timeout=60)
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


def test_a_second_ctrl_c_while_the_reports_are_written_waits_until_they_are_done(
    start_gate: Callable[..., Gate], tmp_path: Path
) -> None:
    # The job summary is a FIFO: writing the reports blocks until this test reads it, so the
    # second and third signals surely arrive while the reports are being written.
    os.mkfifo(tmp_path / "step_summary.md")
    catalog = {"tests": [{"name": "long-call", "duration": "120s"}]}
    gate = start_gate(catalog, LONG_MANIFEST, "--sipfront-concurrency", "2")
    wait_until(lambda: len(polled_sessions(gate.server)) == 2, 30, "both runs to be polled")
    gate.process.send_signal(signal.SIGINT)
    wait_until(gate.junit.exists, 30, "the JUnit file (the reports being written)")
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
        gate.process.send_signal(signum)
    time.sleep(0.3)
    assert gate.process.poll() is None, "a signal broke the writing of the reports"
    summary = (tmp_path / "step_summary.md").read_text(encoding="utf-8")
    out, err = gate.process.communicate(timeout=30)
    assert gate.process.returncode == EXIT_INTERRUPTED, out + err
    assert "Traceback" not in err + out
    assert "Sipfront runs" in summary
    assert "sipfront runs" in out
