"""The gate with other pytest plugins and options: xdist, rerunfailures, timeout, split, -x,
--lf, the cache provider and pytest's own JUnit report."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable

import pytest
from terminal_sections import runs_section

from pytest_sipfront.sandbox import SandboxServer

CATALOG = {
    "default_duration": 0.3,
    "tests": [
        {"name": "t-fails", "duration": 0.3, "outcome": "failed", "result_description": "busy"},
        {"name": "t-fails-2", "duration": 0.3, "outcome": "failed", "result_description": "busy"},
        {"name": "t-long", "duration": 30, "outcome": "passed"},
        {"name": "t-hangs", "outcome": "running"},
    ],
}


def triggers_by_name(server: SandboxServer) -> Counter[str]:
    return Counter(str(b.get("test.name")) for b in server.triggers())


def entries(*pairs: tuple[str, str]) -> str:
    return "tests:\n" + "".join(f"  - {{name: {n}, test: {t}}}\n" for n, t in pairs)


SIX = entries(*((f"e{n}", f"t-{n}") for n in range(1, 7)))


# ---- pytest-xdist -------------------------------------------------------------------------------


def test_under_xdist_every_run_is_triggered_exactly_once_and_reported_on_the_controller(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    manifest = SIX + "  - {name: bad, test: t-fails}\n"
    result = run_gate(manifest, "-n", "2", "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(passed=6, failed=1)
    expected = Counter({f"t-{n}": 1 for n in range(1, 7)})
    expected["t-fails"] = 1
    assert triggers_by_name(server) == expected
    result.stdout.fnmatch_lines(["Sipfront run failed: busy [status: failed]"])
    summary = [line for line in result.outlines if re.match(r"(PASSED|FAILED) +(e\d|bad) ", line)]
    assert len(summary) == 7
    cases = {str(c.get("name")): c for c in ET.parse(pytester.path / "sf.xml").iter("testcase")}
    assert sorted(cases) == ["bad"] + [f"e{n}" for n in range(1, 7)]
    assert cases["bad"].find("failure") is not None


def test_under_xdist_loaded_by_module_name_every_run_is_still_triggered_once(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    # With plugin autoload off, xdist registers as "xdist.plugin", not "xdist": the controller
    # must still be found, or every worker would trigger every run.
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        SIX,
        "-p",
        "xdist.plugin",
        "-p",
        "pytest_sipfront.plugin",
        "-n",
        "2",
        server=server,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        subprocess=True,
    )
    result.assert_outcomes(passed=6)
    assert triggers_by_name(server) == Counter({f"t-{n}": 1 for n in range(1, 7)})


# ---- pytest-rerunfailures -----------------------------------------------------------------------


def test_reruns_trigger_a_fresh_run_each_time_and_only_for_the_failing_item(
    sipfront_sandbox, run_gate
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("good", "t-good")), "--reruns", "2", server=server
    )
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("rerun")) == (1, 1, 2)
    assert triggers_by_name(server) == Counter({"t-fails": 3, "t-good": 1})
    # Every rerun is a run of its own at Sipfront.
    sessions = {r.path.split("/")[-2] for r in server.requests if r.endpoint == "runs.status"}
    assert len(sessions) == 4


# ---- pytest-timeout -----------------------------------------------------------------------------


def test_an_item_stopped_by_pytest_timeout_is_reported_and_later_items_still_run(
    sipfront_sandbox, run_gate
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("stuck", "t-hangs"), ("after", "t-after")),
        "--timeout",
        "1",
        server=server,
        # A process of its own: pytest-timeout's alarm in-process would replace this test's.
        subprocess=True,
        timeout=60,
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1
    result.stdout.fnmatch_lines(["*Timeout*"])
    assert triggers_by_name(server) == Counter({"t-hangs": 1, "t-after": 1})


def test_an_item_stopped_by_pytest_timeout_says_so_plainly_with_its_report_link(
    sipfront_sandbox, run_gate, pytester
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("stuck", "t-hangs"), ("after", "t-after")),
        "--timeout",
        "1",
        "--sipfront-junit",
        "sf.xml",
        server=server,
        subprocess=True,
        timeout=60,
    )
    first = "Timeout (>1.0s) from pytest-timeout; the run is still going at Sipfront"
    result.stdout.fnmatch_lines([first, "  report    http://*/run/details/*"])
    assert "_pytest/runner.py" not in result.stdout.str()  # no traceback of pytest's own code
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "sf.xml").iter("testcase")}
    error = cases["stuck"].find("error")
    assert error is not None
    assert (error.get("type"), error.get("message")) == ("sipfront.interrupted", first)
    assert "/run/details/" in (cases["stuck"].findtext("system-out") or "")


def test_exitfirst_with_reruns_still_reruns_the_failing_item_and_ends(sipfront_sandbox, run_gate):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("good", "t-good")),
        "-x",
        "--reruns",
        "1",
        "--sipfront-concurrency",
        "1",
        server=server,
        subprocess=True,  # a hang here must not hang this suite
        timeout=60,
    )
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("rerun")) == (1, 1)
    assert triggers_by_name(server)["t-fails"] == 2


# ---- -x and --maxfail ---------------------------------------------------------------------------


def test_exitfirst_stops_new_triggers_behind_the_failing_run(sipfront_sandbox, run_gate):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("long", "t-long"), ("c", "t-c"), ("d", "t-d"), ("e", "t-e")),
        "-x",
        "--sipfront-concurrency",
        "1",
        server=server,
    )
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    seen = triggers_by_name(server)
    # The queued runs behind the one that took the free slot are never triggered.
    assert seen["t-c"] == seen["t-d"] == seen["t-e"] == 0
    assert seen["t-fails"] == 1
    assert seen["t-long"] <= 1
    # The session does not wait for the 30 s run.
    assert result.duration < 10


SLOW_REPORTER = """
import time

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    if report.failed:
        time.sleep(0.5)  # a reporter that takes its time (JUnit, a chat notification)
"""


def test_exitfirst_triggers_no_run_after_the_run_that_failed(sipfront_sandbox, run_gate, pytester):
    pytester.makeconftest(SLOW_REPORTER)
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("long", "t-long"), ("c", "t-c")),
        "-x",
        "--sipfront-concurrency",
        "1",
        server=server,
    )
    result.assert_outcomes(failed=1)
    assert triggers_by_name(server) == Counter({"t-fails": 1})


def wait_for_requests(server: SandboxServer, endpoint: str, count: int) -> None:
    """Wait (up to 5 s) until the sandbox has answered ``count`` requests to ``endpoint``."""
    deadline = time.monotonic() + 5
    while server.count(endpoint) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_run_whose_trigger_is_in_flight_when_the_session_stops_is_still_listed(
    sipfront_sandbox, run_gate
):
    catalog = dict(CATALOG, faults=[{"endpoint": "tests.run", "test": "t-long", "delay": 1.5}])
    server = sipfront_sandbox(catalog)
    result = run_gate(
        entries(("bad", "t-fails"), ("long", "t-long")),
        "-x",
        "--sipfront-concurrency",
        "2",
        server=server,
    )
    result.assert_outcomes(failed=1)
    wait_for_requests(server, "tests.run", 2)
    assert triggers_by_name(server)["t-long"] == 1  # it reached Sipfront: a run started
    assert any(re.match(r"RUNNING +long\b", line) for line in result.outlines), result.stdout.str()


def test_exitfirst_with_concurrency_lists_every_run_still_going(sipfront_sandbox, run_gate):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("long1", "t-long"), ("long2", "t-long")),
        "-x",
        "--sipfront-concurrency",
        "3",
        server=server,
    )
    result.assert_outcomes(failed=1)
    assert triggers_by_name(server)["t-long"] == 2
    result.stdout.re_match_lines(
        [
            r"RUNNING +long1 still going at Sipfront http://\S+/run/details/\S+",
            r"RUNNING +long2 still going at Sipfront http://\S+/run/details/\S+",
        ]
    )
    assert result.duration < 15


# ---- the cache: --lf and -p no:cacheprovider ----------------------------------------------------


def test_last_failed_re_triggers_only_the_entries_that_failed(sipfront_sandbox, run_gate):
    server = sipfront_sandbox(CATALOG)
    manifest = entries(("good", "t-good"), ("bad", "t-fails"), ("fine", "t-fine"))
    first = run_gate(manifest, server=server, cache=True)
    first.assert_outcomes(passed=2, failed=1)
    assert sum(triggers_by_name(server).values()) == 3
    second = run_gate(manifest, "--lf", server=server, cache=True)
    second.assert_outcomes(failed=1)
    assert triggers_by_name(server) == Counter({"t-good": 1, "t-fails": 2, "t-fine": 1})


def test_without_the_cache_provider_the_gate_runs_and_writes_no_cache(
    sipfront_sandbox, run_gate, pytester
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(entries(("good", "t-good")), server=server)
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".pytest_cache").exists()


# ---- JUnit: pytest's own and the gate's ---------------------------------------------------------


def test_junitxml_and_sipfront_junit_are_both_written_for_the_same_runs(
    sipfront_sandbox, run_gate, pytester
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("good", "t-good"), ("bad", "t-fails")),
        "--junitxml",
        "pytest.xml",
        "--sipfront-junit",
        "sipfront.xml",
        server=server,
    )
    result.assert_outcomes(passed=1, failed=1)
    ours = {c.get("name"): c for c in ET.parse(pytester.path / "pytest.xml").iter("testcase")}
    gate = {c.get("name"): c for c in ET.parse(pytester.path / "sipfront.xml").iter("testcase")}
    assert set(ours) == set(gate) == {"good", "bad"}
    assert gate["bad"].find("failure").get("type") == "sipfront.failed"  # type: ignore[union-attr]
    assert ours["bad"].find("failure") is not None
    assert gate["good"].find("failure") is None
    url = {p.get("name"): p.get("value") for p in ours["bad"].iter("property")}
    assert url["sipfront_report_url"] in ET.tostring(gate["bad"], encoding="unicode")


# ---- pytest-split -------------------------------------------------------------------------------


def test_pytest_split_groups_trigger_only_their_own_entries_and_together_all_once(
    sipfront_sandbox, run_gate
):
    server = sipfront_sandbox({"default_duration": 0.2})
    names = [f"t-{n}" for n in range(1, 7)]
    per_group = []
    for group in (1, 2, 3):
        before = triggers_by_name(server)
        result = run_gate(SIX, "--splits", "3", "--group", str(group), server=server)
        result.assert_outcomes(passed=2)
        per_group.append(triggers_by_name(server) - before)
    for triggered in per_group:
        assert sum(triggered.values()) == 2
    total = sum(per_group, Counter())
    assert total == Counter(dict.fromkeys(names, 1))


def test_reruns_count_against_max_runs_and_the_rerun_that_would_pass_it_is_refused(
    sipfront_sandbox, run_gate, pytester
):
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        entries(("bad", "t-fails"), ("good", "t-good")),
        "--reruns",
        "3",
        "--sipfront-max-runs",
        "4",
        "--sipfront-junit",
        "sf.xml",
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(pytester.path / "summary.md")},
    )
    # 2 planned + 2 reruns reach the limit of 4; the third rerun is refused, not sent.
    assert triggers_by_name(server) == Counter({"t-fails": 3, "t-good": 1})
    result.stdout.fnmatch_lines(
        ["*This session would start 5 Sipfront runs; --sipfront-max-runs allows 4*"]
    )
    sessions = {r.path.split("/")[-2] for r in server.requests if r.endpoint == "runs.status"}
    assert len(sessions) == 4
    summary = runs_section(result.stdout.str())
    bad_line = next(line for line in summary.splitlines() if " bad " in line)
    junit = (pytester.path / "sf.xml").read_text(encoding="utf-8")
    links = [f"{server.origin}/run/details/{s}" for s in sessions]
    # The three runs of "bad" (first run, two reruns) are all listed, in the terminal and JUnit.
    shown = [link for link in links if link in bad_line]
    assert len(shown) == 3, bad_line
    step = (pytester.path / "summary.md").read_text(encoding="utf-8")
    for link in shown:
        assert link in junit
        assert link in step
