"""History: real pytest sessions against the sandbox, whose catalog gives each test an earlier
run. Lookups, triggers and polls are counted and timed from the sandbox's request log."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_sipfront.sandbox import SandboxServer
from pytest_sipfront.sandbox.behaviour import RequestRecord

StartSandbox = Callable[..., SandboxServer]
RunGate = Callable[..., pytest.RunResult]

# Short earlier runs: these tests' runs end at once, and polling plans on the earlier duration.
PASSED_BEFORE = {"outcome": "passed", "duration": "2s", "stopped_at": "2026-11-30 08:12:00"}
FAILED_BEFORE = {
    "outcome": "failed",
    "result_description": "carrier outage (SIP 503)",
    "duration": "1s",
    "stopped_at": "2026-11-30 07:00:00",
}


def catalog(**previous: Any) -> dict[str, Any]:
    """Tests that fail at once, each with the earlier run given (``None``: none)."""
    tests = []
    for number, (name, before) in enumerate(previous.items()):
        entry: dict[str, Any] = {
            "name": name.replace("_", "-"),
            "id": 700 + number,
            "duration": "0.3s",
            "outcome": "failed",
            "result_description": "one-way audio",
        }
        if before is not None:
            entry["previous"] = before
        tests.append(entry)
    return {"tests": tests}


def manifest(*tests: str) -> str:
    lines = ["version: 1", "tests:"]
    for number, test in enumerate(tests):
        lines += [f"  - name: entry-{number}", f"    test: {test}"]
    return "\n".join(lines) + "\n"


def verdict_line(result: pytest.RunResult, entry: str) -> str:
    for index, line in enumerate(result.outlines):
        if line.startswith("_") and f"sipfront: {entry} " in line:
            return result.outlines[index + 1]
    raise AssertionError(f"no failure block for {entry}")


def before_row(result: pytest.RunResult, entry: str) -> str:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if line.startswith("_") and entry in line)
    for line in lines[start + 1 :]:
        if line.startswith(("_", "=")):
            break
        if line.startswith("  before"):
            return line.split(None, 1)[1]
    raise AssertionError(f"no before row for {entry}")


def of(server: SandboxServer, endpoint: str) -> list[RequestRecord]:
    return [r for r in server.requests if r.endpoint == endpoint]


def test_a_run_failing_after_a_passing_one_is_a_new_failure(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, tmp_path: Path
) -> None:
    server = sipfront_sandbox(catalog(was_passing=PASSED_BEFORE))
    junit = tmp_path / "sipfront.xml"
    result = run_gate(manifest("was-passing"), f"--sipfront-junit={junit}", server=server)
    result.assert_outcomes(failed=1)
    assert verdict_line(result, "entry-0") == (
        "Sipfront run failed: one-way audio [status: failed] "
        "(NEW failure: the run before this session passed)"
    )
    assert re.fullmatch(
        rf"passed 2026-11-30 08:12 UTC \(2s\) {re.escape(server.origin)}/run/details/\S+",
        before_row(result, "entry-0"),
    )
    assert any(
        line.startswith("FAILED")
        and line.endswith("(NEW failure: the run before this session passed)")
        for line in result.outlines
    )
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None
    assert case.find("properties") is None  # the JUnit profile has no testcase properties
    failure = case.find("failure")
    assert failure is not None
    assert str(failure.get("message")).endswith("(NEW failure: the run before this session passed)")
    out = case.findtext("system-out") or ""
    assert "before    passed 2026-11-30 08:12 UTC (2s)" in out
    # One listing (the manifest names the test), one lookup, one trigger, in that order
    # (then, the run having failed, its media metrics: --sipfront-media failed by default).
    polls_and_metrics = ("runs.status", "runs.stats")
    assert [
        r.endpoint for r in server.requests if not r.endpoint.startswith(polls_and_metrics)
    ] == [
        "tests",
        "tests.last",
        "tests.run",
    ]
    assert of(server, "tests.last")[0].path == "/api/v2/tests/700/status/last"


def test_a_run_failing_after_a_failing_one_is_already_failing_and_still_red(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, tmp_path: Path
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    summary = tmp_path / "summary.md"
    result = run_gate(
        manifest("was-failing"),
        "-p",
        "no:randomly",
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_line(result, "entry-0").endswith("(ALREADY FAILING before this session)")
    assert before_row(result, "entry-0").startswith(
        "failed: carrier outage (SIP 503) | 2026-11-30 07:00 UTC (1s) "
    )
    assert any(
        line.startswith("::error ") and "title=Sipfront%3A entry-0 (ALREADY FAILING)" in line
        for line in result.outlines
    )
    text = summary.read_text(encoding="utf-8")
    assert "| result | name | reason | report | manifest | before |" in text
    assert "failed: ALREADY FAILING before this session" in text


def test_with_fail_on_new_an_already_failing_run_is_not_red_and_the_summary_says_so(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, tmp_path: Path
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE, was_passing=PASSED_BEFORE))
    summary = tmp_path / "summary.md"
    result = run_gate(
        manifest("was-failing", "was-passing"),
        "--sipfront-fail-on=new",
        "-rx",
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(failed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the NEW failure stays red
    assert any(
        "XFAIL" in line and "not red: --sipfront-fail-on new counts only NEW failures" in line
        for line in result.outlines
    )
    assert "not red: --sipfront-fail-on new counts only NEW failures" in summary.read_text(
        encoding="utf-8"
    )
    assert server.count("tests.run") == 2


def test_fail_on_new_with_only_already_failing_runs_ends_green(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    result = run_gate(manifest("was-failing"), "--sipfront-fail-on=new", server=server)
    result.assert_outcomes(xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_with_fail_on_new_and_x_an_already_failing_run_does_not_stop_the_next_trigger(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE, was_passing=PASSED_BEFORE))
    result = run_gate(
        manifest("was-failing", "was-passing"),
        "-x",
        "--sipfront-fail-on=new",
        "--sipfront-concurrency=1",
        server=server,
    )
    # pytest files the first xfailed, so -x stops only at the second (a NEW failure): the gate
    # must have triggered it all the same.
    result.assert_outcomes(xfailed=1, failed=1)
    assert server.count("tests.run") == 2


@pytest.mark.parametrize("previous", [None, "malformed", "empty"])
def test_no_or_an_unusable_history_is_no_earlier_run_and_changes_no_verdict(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, previous: str | None
) -> None:
    server = sipfront_sandbox(catalog(lonely=previous))
    result = run_gate(manifest("lonely"), "--sipfront-fail-on=new", server=server)
    result.assert_outcomes(failed=1)
    assert verdict_line(result, "entry-0") == "Sipfront run failed: one-way audio [status: failed]"
    assert before_row(result, "entry-0") == "no earlier run"
    assert (server.count("tests.last"), server.count("tests.run")) == (1, 1)


def test_a_failing_lookup_is_no_history_and_the_run_goes_on(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    data = catalog(was_failing=FAILED_BEFORE)
    data["faults"] = [
        {"endpoint": "tests.last", "status": 500},
        {"endpoint": "tests", "drop": True},
    ]
    server = sipfront_sandbox(data)
    result = run_gate(manifest("was-failing"), server=server)
    result.assert_outcomes(failed=1)
    assert before_row(result, "entry-0") == "no earlier run"
    assert (server.count("tests"), server.count("tests.last"), server.count("tests.run")) == (
        1,
        0,
        1,
    )


def test_history_off_sends_no_lookup_and_shows_no_before_line(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    result = run_gate(manifest("was-failing"), "--sipfront-history=off", server=server)
    result.assert_outcomes(failed=1)
    assert "ALREADY FAILING" not in result.stdout.str()
    assert not any(line.startswith("  before") for line in result.outlines)
    assert (server.count("tests"), server.count("tests.last"), server.count("tests.run")) == (
        0,
        0,
        1,
    )


def test_history_off_from_the_ini_file(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_history = off\n")
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    run_gate(manifest("was-failing"), server=server).assert_outcomes(failed=1)
    assert server.count("tests.last") == 0


def test_a_bad_history_setting_is_a_usage_error(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    result = run_gate(manifest("was-failing"), "--sipfront-history=maybe", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sipfront-history: 'maybe' is not on or off" in result.stderr.str()
    assert server.count("tests.run") == 0


def test_one_lookup_per_distinct_test_each_before_its_first_trigger(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE, was_passing=PASSED_BEFORE))
    tests = ("was-failing", "was-passing", "was-failing", "was-failing", "was-passing")
    result = run_gate(manifest(*tests), "--sipfront-concurrency=5", server=server)
    result.assert_outcomes(failed=5)
    assert server.count("tests") == 1
    lookups = of(server, "tests.last")
    assert sorted(r.path for r in lookups) == [
        "/api/v2/tests/700/status/last",
        "/api/v2/tests/701/status/last",
    ]
    triggers = of(server, "tests.run")
    assert len(triggers) == len(tests)  # exactly one trigger per run
    for lookup in lookups:
        test_id = int(lookup.path.split("/")[4])
        name = "was-failing" if test_id == 700 else "was-passing"
        first = min(t.time for t in triggers if t.body and t.body.get("test.name") == name)
        assert lookup.time < first
    # Every run of a test carries the one answer.
    assert sum("(ALREADY FAILING before this session)" in line for line in result.outlines) >= 3


def test_a_test_given_by_id_needs_no_listing(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    result = run_gate("version: 1\ntests:\n  - name: by-id\n    test_id: 700\n", server=server)
    result.assert_outcomes(failed=1)
    assert (server.count("tests"), server.count("tests.last")) == (0, 1)


def test_a_dry_run_shows_the_lookup_as_a_planned_request_and_sends_nothing(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    result = run_gate(manifest("was-failing"), "--sipfront-dry-run", "-rs", server=server)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*dry run: would GET /tests/<id of was-failing>/status/last (its id from GET /tests)"
            " for its history, then POST /tests/run *"
        ]
    )
    assert server.requests == []


def test_user_properties_carry_the_previous_run(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, tmp_path: Path
) -> None:
    server = sipfront_sandbox(catalog(was_failing=FAILED_BEFORE))
    xml = tmp_path / "pytest.xml"
    run_gate(manifest("was-failing"), f"--junitxml={xml}", server=server)
    properties = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    assert properties["sipfront_previous_status"] == "failed"
    assert str(properties["sipfront_previous_report_url"]).startswith(server.origin)


# --- polling that expects the end ----------------------------------------------------------


def status_times(server: SandboxServer) -> list[float]:
    """When each status request of the session's one run arrived, from its trigger."""
    trigger = of(server, "tests.run")[0].time
    return [r.time - trigger for r in of(server, "runs.status")]


SLOW_CATALOG: dict[str, Any] = {
    "tests": [
        {
            "name": "three-seconds",
            "id": 900,
            "duration": "3s",
            "previous": {"outcome": "passed", "duration": "3s"},
        }
    ]
}
SLOW = manifest("three-seconds")


def test_with_a_history_the_second_look_comes_before_the_interval_near_the_expected_end(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(SLOW_CATALOG)
    result = run_gate(SLOW, "--sipfront-poll-interval=3s", server=server)
    result.assert_outcomes(passed=1)
    looks = status_times(server)
    # Today's polling looks at 1 s and 4 s; expecting the end at 3 s, the second look comes
    # at about 2.8 s: far from the 3 s gap of fixed-interval polling.
    assert looks[1] - looks[0] < 2.6
    assert server.count("tests.run") == 1


def test_without_an_expectation_polling_keeps_the_interval(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(SLOW_CATALOG)
    run_gate(
        SLOW, "--sipfront-poll-interval=3s", "--sipfront-history=off", server=server
    ).assert_outcomes(passed=1)
    looks = status_times(server)
    assert looks[1] - looks[0] >= 2.9


@pytest.mark.slow
def test_the_pytest_cache_gives_the_expectation_when_there_is_no_history(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, pytester: pytest.Pytester
) -> None:
    args = ("--sipfront-poll-interval=3s", "--sipfront-history=off")
    first = sipfront_sandbox(SLOW_CATALOG)
    run_gate(SLOW, *args, server=first, cache=True).assert_outcomes(passed=1)
    first_looks = status_times(first)
    assert first_looks[1] - first_looks[0] >= 2.9
    cached = json.loads(
        pytester.path.joinpath(".pytest_cache/v/sipfront/durations").read_text(encoding="utf-8")
    )
    assert list(cached) == ["sipfront.yml::entry-0"]
    second = sipfront_sandbox(SLOW_CATALOG)
    run_gate(SLOW, *args, server=second, cache=True).assert_outcomes(passed=1)
    second_looks = status_times(second)
    assert second_looks[1] - second_looks[0] < 2.6
    # Without the cache provider nothing is read: fixed-interval polling again.
    third = sipfront_sandbox(SLOW_CATALOG)
    run_gate(SLOW, *args, server=third).assert_outcomes(passed=1)
    third_looks = status_times(third)
    assert third_looks[1] - third_looks[0] >= 2.9
