"""The gate's promises on every path of a session (manifest items, the fixture, xdist): -x and
--maxfail follow pytest's count, every waiter gets its verdict, an entry is triggered once,
and every triggered run is in every report. Triggers are counted on the sandbox."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import GateRunner, SandboxFactory
from sandbox_keys import PUBLIC_KEY, SECRET_KEY

from pytest_sipfront.runs.job import RunJob
from pytest_sipfront.runs.messages import NOT_TRIGGERED
from pytest_sipfront.runs.outcome import RunOutcome, Verdict
from pytest_sipfront.runs.service import RunService
from pytest_sipfront.sandbox import SandboxServer
from pytest_sipfront.settings import resolve

CATALOG: dict[str, Any] = {
    "default_duration": "0.3s",
    "tests": [
        {"name": "t-fails", "id": 21, "outcome": "failed", "result_description": "no RTP"},
        {"name": "t-good", "id": 22},
        {"name": "t-other", "id": 23},
        {"name": "t-long", "id": 24, "duration": "120s"},
        {
            "name": "t-old-failure",
            "id": 25,
            "outcome": "failed",
            "result_description": "carrier outage",
            "previous": {"outcome": "failed", "result_description": "carrier outage"},
        },
    ],
}


def triggered(server: SandboxServer) -> Counter[Any]:
    """Triggers per Sipfront test, as the sandbox saw them."""
    return Counter(body.get("test.name", body.get("test.id")) for body in server.triggers())


def entries(*pairs: tuple[str, str]) -> str:
    return "tests:\n" + "".join(f"  - {{name: {n}, test: {t}}}\n" for n, t in pairs)


def junit_cases(path: Any) -> list[ET.Element]:
    return ET.parse(path).findall(".//testcase")


# -- Defect 1: -x and --maxfail follow pytest's count of failed items ---------------------------


def test_exitfirst_does_not_hang_after_a_fixture_test_asserted_that_its_run_failed(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_two="""
        def test_a_failure_is_what_this_test_expects(sipfront):
            assert not sipfront.run(test_id=21).passed

        def test_the_next_run(sipfront):
            sipfront.run(test_id=22).check()
        """
    )
    result = run_gate(None, "-x", server=server, subprocess=True, timeout=60)
    result.assert_outcomes(passed=2)
    assert triggered(server) == Counter({21: 1, 22: 1})


def test_exitfirst_does_not_hang_when_a_conftest_marks_the_failing_entry_xfail(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "bad":
                    item.add_marker(pytest.mark.xfail(reason="known carrier problem"))
        """
    )
    manifest = entries(("bad", "t-fails"), ("good", "t-good"))
    result = run_gate(
        manifest, "-x", "--sipfront-concurrency", "1", server=server, subprocess=True, timeout=60
    )
    result.assert_outcomes(passed=1, xfailed=1)
    assert triggered(server) == Counter({"t-fails": 1, "t-good": 1})


def test_exitfirst_does_not_hang_when_a_flaky_test_passes_on_its_rerun(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_flaky="""
        import pytest

        @pytest.mark.flaky(reruns=1)
        def test_flaky(sipfront, request):
            first = request.node.execution_count == 1
            sipfront.run(test_id=21 if first else 22).check()

        def test_after(sipfront):
            sipfront.run(test_id=23).check()
        """
    )
    result = run_gate(None, "-x", server=server, subprocess=True, timeout=60)
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun"), outcomes.get("failed")) == (2, 1, None)
    assert triggered(server) == Counter({21: 1, 22: 1, 23: 1})


def test_exitfirst_under_xdist_does_not_hang_on_a_failure_fail_on_new_files_as_already_failing(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    manifest = entries(("old", "t-old-failure"), ("good", "t-good"), ("other", "t-other"))
    result = run_gate(
        manifest,
        "-n",
        "2",
        "-x",
        "--sipfront-fail-on",
        "new",
        "--sipfront-concurrency",
        "1",
        server=server,
        subprocess=True,
        timeout=60,
    )
    result.assert_outcomes(passed=2, xfailed=1)
    assert triggered(server) == Counter({"t-old-failure": 1, "t-good": 1, "t-other": 1})


def test_a_run_that_will_not_be_triggered_ends_its_item_at_once_as_the_session_stops(
    tmp_path: Path,
) -> None:
    """A run queued when pytest stops (-x, --maxfail) has its verdict at once, and so has one
    asked for afterwards: nothing waits for a trigger that will never come."""
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "tests:\n  - {name: t-long, outcome: running}\n  - {name: t-good}\n", encoding="utf-8"
    )
    settings = resolve({"concurrency": 1}, {}, {}, sandbox=True, sandbox_catalog=str(catalog))
    service = RunService(settings, settings.api_url)

    def job(key: str, test: str) -> RunJob:
        outcome = RunOutcome(name=key, verdict=Verdict.UNKNOWN, target=test)
        return RunJob(key, "test", {"test.name": test}, 60.0, 0.2, 0, outcome)

    try:
        service.plan([job("long", "t-long"), job("queued", "t-good")])
        service.stop_triggering()
        queued = service.wait("queued", timeout=30)
        service.run_now(job("late", "t-good"))
        late = service.wait("late", timeout=30)
        assert service.sandbox is not None
        sent = [body["test.name"] for body in service.sandbox.triggers()]
    finally:
        service.shutdown()
    for outcome in (queued, late):
        assert outcome is not None
        assert (outcome.verdict, outcome.message) == (Verdict.INTERRUPTED, NOT_TRIGGERED)
    assert "t-good" not in sent


def test_a_failed_run_holds_only_the_runs_pytest_has_not_reached_until_pytest_counts_its_item(
    tmp_path: Path,
) -> None:
    """-x: a failed run may be the failure pytest stops on; runs behind it wait for pytest's
    word (not triggered while unjudged), except one pytest has reached (someone waits)."""
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "default_duration: 0.2s\ntests:\n  - {name: t-fails, outcome: failed}\n",
        encoding="utf-8",
    )
    settings = resolve(
        {"concurrency": 1, "poll_interval": "0.2s"},
        {},
        {},
        sandbox=True,
        sandbox_catalog=str(catalog),
    )
    service = RunService(settings, settings.api_url, max_failures=1)

    def job(key: str, test: str) -> RunJob:
        outcome = RunOutcome(name=key, verdict=Verdict.UNKNOWN, target=test)
        return RunJob(key, "test", {"test.name": test}, 60.0, 0.2, 0, outcome)

    def sent() -> list[str]:
        assert service.sandbox is not None
        return [body["test.name"] for body in service.sandbox.triggers()]

    try:
        service.plan([job("bad", "t-fails"), job("next", "t-next"), job("last", "t-last")])
        bad = service.wait("bad", timeout=30)
        assert bad is not None and bad.verdict is Verdict.FAILED
        time.sleep(1)
        assert sent() == ["t-fails"]  # held: pytest has not said what "bad" counts for
        reached = service.wait("next", timeout=30)  # pytest reached "next": it goes
        assert reached is not None and reached.verdict is Verdict.PASSED
        assert sent() == ["t-fails", "t-next"]
        service.judged("bad", 0, stopping=False)  # an xfail: not a failed item
        last = service.wait("last", timeout=30)
        assert last is not None and last.verdict is Verdict.PASSED
    finally:
        service.shutdown()


# -- Defect 2: every waiter of a run gets its verdict -------------------------------------------


def test_under_dist_each_an_entry_is_triggered_once_and_every_worker_gets_its_verdict(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_fixture="""
        def test_from_python(sipfront):
            sipfront.run(test_id=23).check()
        """
    )
    result = run_gate(
        entries(("good", "t-good")),
        "-n",
        "2",
        "--dist",
        "each",
        server=server,
        subprocess=True,
        timeout=60,
    )
    result.assert_outcomes(passed=4)
    assert triggered(server) == Counter({"t-good": 1, 23: 1})


# -- Defect 8: one entry, one trigger, however often pytest collects it ---------------------------


def test_a_hard_linked_second_path_to_a_manifest_triggers_its_entries_once(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.path.joinpath("sipfront.yml").write_text(entries(("good", "t-good")))
    pytester.path.joinpath("other.sipfront.yml").hardlink_to(pytester.path / "sipfront.yml")
    result = run_gate(None, "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(passed=1)
    assert triggered(server) == Counter({"t-good": 1})
    assert len(junit_cases(pytester.path / "sf.xml")) == 1


def test_a_manifest_named_twice_with_keep_duplicates_triggers_each_entry_once(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    manifest = entries(("good", "t-good"), ("other", "t-other"))
    result = run_gate(
        manifest,
        "sipfront.yml",
        "sipfront.yml",
        "--keep-duplicates",
        "--sipfront-junit",
        "sf.xml",
        server=server,
    )
    result.assert_outcomes(passed=2)
    assert triggered(server) == Counter({"t-good": 1, "t-other": 1})
    names = sorted(case.get("name", "") for case in junit_cases(pytester.path / "sf.xml"))
    assert names == ["good", "other"]


# -- Defect 11: annotations on their own line, the failure (not xdist's node line) as message -----


@pytest.mark.parametrize("mode", [("-q",), ("-n", "2")], ids=["quiet", "xdist"])
def test_the_first_github_annotation_starts_its_own_line(
    pytester: pytest.Pytester,
    run_gate: GateRunner,
    sipfront_sandbox: SandboxFactory,
    mode: tuple[str, ...],
) -> None:
    server = sipfront_sandbox(CATALOG)
    summary = pytester.path / "summary.md"
    result = run_gate(
        entries(("good", "t-good"), ("bad", "t-fails")),
        *mode,
        "--sipfront-junit",
        "sf.xml",
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        subprocess=True,
        timeout=60,
    )
    result.assert_outcomes(passed=1, failed=1)
    marked = [line for line in result.outlines if "::error" in line]
    assert marked, result.stdout.str()
    assert all(line.startswith("::error") for line in marked), marked
    # Under xdist too, the message is the failure, not xdist's "[gw0] linux -- Python" line.
    assert "Sipfront run failed: no RTP" in marked[0]
    failure = ET.parse(pytester.path / "sf.xml").find(".//failure")
    assert failure is not None
    assert failure.get("message", "").startswith("Sipfront run failed: no RTP")
    cell = summary.read_text(encoding="utf-8")
    assert "Sipfront run failed: no RTP" in cell and "[gw" not in cell


# -- Defect 13: a test's runs are filed as what happened to them ---------------------------------


@pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_a_fixture_run_never_waited_for_is_not_reported_failed_while_pytest_is_green(
    pytester: pytest.Pytester,
    run_gate: GateRunner,
    sipfront_sandbox: SandboxFactory,
    mode: tuple[str, ...],
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_forgot="""
        import time

        def test_starts_and_forgets(sipfront):
            sipfront.start(test_id=21)
            time.sleep(2)  # the run finishes (failed) while the test goes on
        """
    )
    result = run_gate(None, *mode, "--sipfront-junit", "sf.xml", server=server, subprocess=True)
    result.assert_outcomes(passed=1)
    assert triggered(server) == Counter({21: 1})
    # Its link is with its test (every triggered run is in every report).
    assert "/run/details/" in (pytester.path / "sf.xml").read_text(encoding="utf-8")
    suite = ET.parse(pytester.path / "sf.xml").getroot()
    counts = [
        int(s.get("failures", "0")) + int(s.get("errors", "0"))
        for s in suite.iter()
        if s.tag == "testsuite"
    ]
    assert sum(counts) == 0
    section = result.stdout.str().split("sipfront runs", 1)[1]
    assert "FAILED" not in section and "not reached" not in section
    assert "not waited for" in section


def test_a_fixture_test_failing_with_its_own_exception_is_not_filed_as_a_gate_error(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_own="""
        def test_own_failure(sipfront):
            sipfront.start(test_id=22)
            assert 1 == 2, "the test's own check"
        """
    )
    result = run_gate(None, "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(failed=1)
    case = next(
        c for c in junit_cases(pytester.path / "sf.xml") if c.get("name") == "test_own_failure"
    )
    failure = case.find("failure")
    assert failure is not None and case.find("error") is None
    assert "the test's own check" in failure.get("message", "")
    assert "SessionSipfront" not in failure.get("message", "")


def test_sipfront_run_interrupted_by_ctrl_c_prints_the_run_it_started(
    sipfront_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    server = sipfront_sandbox({"tests": [{"name": "never-ends", "outcome": "running"}]})
    env = dict(os.environ, SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY)
    command = [sys.executable, "-m", "pytest_sipfront", "run", "never-ends"]
    command += ["--api-url", server.base_url, "--poll-interval", "0.2s"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not server.triggers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.triggers(), "the run was never triggered"
        time.sleep(0.5)  # the trigger's answer reaches the command
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2
    link = re.search(r"http://\S+/run/details/[\w-]+", err)
    assert link is not None, err
    assert "still going at Sipfront" in err
    assert re.search(r"^  session +\S+", err, re.M), err


# -- Defect 12: xdist sessions report on a stop signal and after a worker crash ----------------


def start_session(path: Path, server: SandboxServer, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SIPFRONT_"))}
    env.update(SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY)
    env.pop("GITHUB_ACTIONS", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    command += ["-p", "no:hypothesispytest", "--sipfront-url", server.base_url]
    command += ["--sipfront-poll-interval", "0.2s", "--sipfront-junit", "sf.xml", *args]
    return subprocess.Popen(
        command, cwd=path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop_after_first_trigger(
    process: subprocess.Popen[str],
    server: SandboxServer,
    signum: int,
    then: Callable[[], object] = lambda: None,
) -> tuple[str, str]:
    try:
        end = time.monotonic() + 60
        while not server.triggers():
            assert time.monotonic() < end, "nothing was triggered"
            time.sleep(0.01)
        process.send_signal(signum)
        then()
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


LONG = {"tests": [{"name": "long-call", "duration": "120s"}]}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_an_xdist_session_with_only_fixture_runs_reports_on_a_stop_signal(
    tmp_path: Path, sipfront_sandbox: SandboxFactory, signum: int
) -> None:
    server = sipfront_sandbox(LONG)
    (tmp_path / "test_long.py").write_text(
        "def test_long(sipfront):\n    sipfront.run('long-call').check()\n", encoding="utf-8"
    )
    process = start_session(tmp_path, server, "-n", "2")
    out, err = stop_after_first_trigger(process, server, signum)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out + err
    assert (tmp_path / "sf.xml").exists()
    assert re.search(r"^RUNNING +long-call still going at Sipfront", out, re.M), out


def test_a_sigterm_right_after_the_first_trigger_under_xdist_still_gives_a_report(
    tmp_path: Path, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(LONG)
    (tmp_path / "sipfront.yml").write_text(entries(("long", "long-call")), encoding="utf-8")
    # A plugin that takes a moment once collection is done: the workers have planned (and
    # triggered) their runs, the controller has not heard of their collection yet when the
    # signal comes. (It goes on once the signal was sent.)
    (tmp_path / "conftest.py").write_text(
        "import os, time\n\nimport pytest\n\n\n@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_collection_finish(session):\n"
        "    end = time.monotonic() + 30\n"
        "    while not os.path.exists('release') and time.monotonic() < end:\n"
        "        time.sleep(0.05)\n",
        encoding="utf-8",
    )
    process = start_session(tmp_path, server, "-n", "2")
    out, err = stop_after_first_trigger(
        process, server, signal.SIGTERM, then=lambda: (tmp_path / "release").touch()
    )
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out + err
    assert (tmp_path / "sf.xml").exists()
    assert "long" in (tmp_path / "sf.xml").read_text(encoding="utf-8")


def test_a_crashed_xdist_worker_s_run_is_in_the_terminal_and_junit(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makeconftest(
        """
        import os, time

        def pytest_runtest_call(item):
            if item.name == "crash":  # after its verdict arrived, before pytest reports it
                os._exit(1)
        """
    )
    result = run_gate(
        entries(("crash", "t-fails"), ("good", "t-good")),
        "-n",
        "2",
        "--sipfront-junit",
        "sf.xml",
        server=server,
        subprocess=True,
        timeout=90,
    )
    assert triggered(server) == Counter({"t-fails": 1, "t-good": 1})
    section = result.stdout.str().split("sipfront runs", 1)[1]
    assert re.search(r"^FAILED +crash\b", section, re.M), section
    junit = (pytester.path / "sf.xml").read_text(encoding="utf-8")
    assert 'name="crash"' in junit and "no RTP" in junit
