"""Whole pytest sessions against the sandbox: what gets triggered, when, and what the user sees.

Every count and every timing is taken on the server side (the sandbox's request log).
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from terminal_sections import runs_section

from pytest_sipfront.sandbox import SandboxServer

NO_CREDENTIALS = "No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# ---- server-side evidence -------------------------------------------------------------------


def triggered_names(server: SandboxServer) -> list[str]:
    """The Sipfront test (or project) named by every trigger, in arrival order."""
    names = []
    for body in server.triggers():
        for key in ("test.name", "test.id", "project.name", "id"):
            if key in body:
                names.append(str(body[key]))
                break
    return names


def trigger_times(server: SandboxServer) -> list[float]:
    return sorted(
        r.time for r in server.requests if r.method == "POST" and r.endpoint == "tests.run"
    )


def last_status_times(server: SandboxServer) -> dict[str, float]:
    """Per session: when its last status request arrived (the one that saw it finished)."""
    last: dict[str, float] = {}
    for record in server.requests:
        if record.endpoint == "runs.status":
            session = record.path.rstrip("/").split("/")[-2]
            last[session] = max(last.get(session, 0.0), record.time)
    return last


def peak_in_flight(server: SandboxServer) -> int:
    """The most runs the plugin had going at once, as the server saw it: at every trigger,
    the runs triggered so far minus those whose final status had already been fetched."""
    triggers = trigger_times(server)
    finishes = sorted(last_status_times(server).values())
    peak = 0
    for index, moment in enumerate(triggers):
        done = sum(1 for t in finishes if t < moment)
        peak = max(peak, index + 1 - done)
    return peak


def assert_no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text
    assert "site-packages" not in text
    assert "pytest_sipfront" not in text
    assert not re.search(r"\.py:\d+", text), text


def section_after(lines: list[str], header_word: str) -> list[str]:
    """The lines of a failure/error block whose ``____ header ____`` line contains the word."""
    for index, line in enumerate(lines):
        if line.startswith("_") and header_word in line:
            block = []
            for following in lines[index + 1 :]:
                if following.startswith(("_", "=")):
                    break
                block.append(following)
            return block
    raise AssertionError(f"no block for {header_word!r} in the output")


def junit_properties(path: Any) -> dict[str, dict[str, str]]:
    """``{testcase name: {property: value}}`` from pytest's own ``--junitxml`` file."""
    tree = ET.parse(path)
    found: dict[str, dict[str, str]] = {}
    for case in tree.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        found[case.get("name", "")] = props
    return found


# ---- what gets triggered -------------------------------------------------------------------


def test_every_selected_run_is_triggered_exactly_once_in_item_order(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        """
        tests:
          - name: zeta
            test: t-zeta
          - name: alpha
            test: t-alpha
          - name: mid
            test: t-mid
        """,
        "--sipfront-concurrency",
        "1",
        server=server,
    )
    result.assert_outcomes(passed=3)
    assert triggered_names(server) == ["t-zeta", "t-alpha", "t-mid"]


def test_skip_entries_and_deselected_entries_are_never_triggered(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        """
        tests:
          - name: kept
            test: t-kept
          - name: skipped
            test: t-skipped
            skip: "lab is down, TICKET-9"
          - name: dropped-by-k
            test: t-dropped
          - name: dropped-by-m
            test: t-other
            marks: [nightly]
        """,
        "-k",
        "not dropped-by-k",
        "-m",
        "not nightly",
        "-rs",
        server=server,
    )
    result.assert_outcomes(passed=1, skipped=1, deselected=2)
    result.stdout.fnmatch_lines(["*lab is down, TICKET-9*"])
    assert triggered_names(server) == ["t-kept"]


def test_collect_only_triggers_nothing(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        """
        tests:
          - name: one
            test: t-one
        """,
        "--collect-only",
        server=server,
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*one*"])
    assert server.requests == []


def test_concurrency_two_keeps_at_most_two_runs_in_flight_and_runs_in_waves(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    duration = 0.8
    server = sipfront_sandbox({"default_duration": duration})
    result = run_gate(
        """
        tests:
          - {name: r1, test: t1}
          - {name: r2, test: t2}
          - {name: r3, test: t3}
          - {name: r4, test: t4}
        """,
        "--sipfront-concurrency",
        "2",
        server=server,
    )
    result.assert_outcomes(passed=4)
    assert server.count("tests.run") == 4
    assert peak_in_flight(server) == 2
    triggers = trigger_times(server)
    finishes = sorted(last_status_times(server).values())
    # The third run waits for a free slot: it cannot start before a run has finished.
    assert triggers[2] >= triggers[0] + duration
    # Two waves: about ceil(4 / 2) x the longest, well under the sum of the four runs.
    span = finishes[-1] - triggers[0]
    assert math.ceil(4 / 2) * duration <= span < 4 * duration


def test_with_enough_concurrency_every_trigger_arrives_before_the_first_run_finishes(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    duration = 1.0
    server = sipfront_sandbox({"default_duration": duration})
    result = run_gate(
        """
        tests:
          - {name: r1, test: t1}
          - {name: r2, test: t2}
          - {name: r3, test: t3}
          - {name: r4, test: t4}
        """,
        "--sipfront-concurrency",
        "4",
        server=server,
    )
    result.assert_outcomes(passed=4)
    triggers = trigger_times(server)
    finishes = last_status_times(server).values()
    assert len(triggers) == 4
    assert max(triggers) < min(triggers) + duration
    assert max(triggers) < min(finishes)
    assert peak_in_flight(server) == 4
    # One wave: the whole set takes about one run, not four.
    assert max(finishes) - min(triggers) < 2 * duration


# ---- outcomes and messages -----------------------------------------------------------------

FAILING_CATALOG: dict[str, Any] = {
    "default_duration": 0.2,
    "tests": [
        {
            "name": "call-fails",
            "id": 501,
            "duration": 0.2,
            "outcome": "failed",
            "result_description": "callee busy (SIP 486)",
            "testcase_name": "Call A to B",
            "agentpool_name": "eu-central-1",
        },
        {"name": "call-stopped", "duration": 0.2, "outcome": "stopped"},
        {"name": "call-errored", "duration": 0.2, "outcome": "errored"},
        {"name": "call-silent", "duration": 0.2, "outcome": "failed"},
        {"name": "call-hangs", "duration": 0.2, "outcome": "running"},
    ],
}


def test_a_passing_run_passes_and_the_session_exits_zero(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate("tests:\n  - {name: ok, test: t-ok}\n", server=server)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert server.count("tests.run") == 1


def test_a_failed_run_fails_with_its_description_and_the_detail_block(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        """
        version: 1
        tests:
          - name: busy
            test: call-fails
        """,
        server=server,
    )
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    block = section_after(result.outlines, "busy")
    assert block[0] == "Sipfront run failed: callee busy (SIP 486) [status: failed]"
    session = next(iter(last_status_times(server)))
    assert block[1:] == [
        "  test      call-fails (id 501) | Call A to B",
        f"  session   {session}",
        block[3],
        f"  report    {server.origin}/run/details/{session}",
        "  before    no earlier run",
        "  manifest  sipfront.yml:4",
        # --sipfront-media failed (the default): the worst dimension of each measure.
        "  media     rtp_jitter (caller, in): min 4 median 5 p95 6 max 6 mean 5 [ms] (60 points)",
        "  media     rtp_byte_per_sec (caller, in): min 8000 median 8000 p95 8000 max 8000 "
        "mean 8000 [B/s] (60 points)",
        "  media     mos (caller, in): min 4.3 median 4.3 p95 4.3 max 4.3 mean 4.3 (60 points)",
        "  sandbox   SANDBOX run: nothing was tested at Sipfront",  # the server said it is one
    ]
    assert re.fullmatch(
        r"  status    failed \| agent pool eu-central-1 \| "
        r"\d\d:\d\d:\d\d -> \d\d:\d\d:\d\d UTC \(\S+\)",
        block[3],
    )
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("test", "first_line"),
    [
        ("call-stopped", "Sipfront run failed: no reason given [status: stopped]"),
        ("call-errored", "Sipfront run failed: no reason given [status: errored]"),
        ("call-silent", "Sipfront run failed: no reason given [status: failed]"),
    ],
)
def test_stopped_errored_and_unexplained_runs_fail_naming_their_status(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    test: str,
    first_line: str,
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(f"tests:\n  - {{name: it, test: {test}}}\n", server=server)
    result.assert_outcomes(failed=1)
    assert section_after(result.outlines, "it")[0] == first_line
    assert_no_traceback(result)


def test_a_run_that_never_finishes_fails_at_its_timeout(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate("tests:\n  - {name: hangs, test: call-hangs, timeout: 0.6s}\n", server=server)
    result.assert_outcomes(failed=1)
    block = section_after(result.outlines, "hangs")
    assert block[0] == "Sipfront run did not finish within 0.6s (last status: running)"
    assert server.count("tests.run") == 1
    assert_no_traceback(result)


def test_a_refused_trigger_is_an_error_quoting_sipfront(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"unknown_tests": "refuse"})
    result = run_gate("tests:\n  - {name: typo, test: no-such-test}\n", server=server)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    block = section_after(result.outlines, "typo")
    assert block[0] == "Sipfront refused to start the run: Test not found (HTTP 422)"
    assert "  manifest  sipfront.yml:2" in block
    assert server.count("tests.run") == 1
    assert server.count("runs.status") == 0
    assert_no_traceback(result)


def test_missing_credentials_error_every_sipfront_item_and_other_tests_still_run(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.makepyfile(test_plain="def test_plain_python():\n    assert 1 + 1 == 2\n")
    result = run_gate(
        """
        tests:
          - {name: one, test: t1}
          - {name: two, test: t2}
        """,
        server=server,
        env={"SIPFRONT_PUBLIC_KEY": None, "SIPFRONT_SECRET_KEY": None},
    )
    result.assert_outcomes(errors=2, passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert section_after(result.outlines, "one")[0] == NO_CREDENTIALS
    assert section_after(result.outlines, "two")[0] == NO_CREDENTIALS
    assert server.requests == []
    assert_no_traceback(result)


def test_one_missing_key_is_as_good_as_none(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        "tests:\n  - {name: one, test: t1}\n",
        server=server,
        env={"SIPFRONT_SECRET_KEY": ""},
    )
    result.assert_outcomes(errors=1)
    assert section_after(result.outlines, "one")[0] == NO_CREDENTIALS
    assert server.requests == []


MATRIX_WITH_RETRIES = """
    defaults:
      retries: 1
    tests:
      - name: grid
        test: t-grid
        matrix:
          step.1.0.dial_destination: ["431", "432"]
          step.1.0.credential_pool: [1, 2]
"""


def test_a_session_over_max_runs_counts_matrix_and_retries_and_sends_nothing(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(MATRIX_WITH_RETRIES, "--sipfront-max-runs", "7", server=server)
    result.assert_outcomes(errors=4)
    message = "This session would start 8 Sipfront runs; --sipfront-max-runs allows 7"
    for name in ("grid[431-1]", "grid[431-2]", "grid[432-1]", "grid[432-2]"):
        assert section_after(result.outlines, name)[0] == message
    assert server.requests == []
    assert_no_traceback(result)


def test_a_session_exactly_at_max_runs_runs(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(MATRIX_WITH_RETRIES, "--sipfront-max-runs", "8", server=server)
    result.assert_outcomes(passed=4)
    assert server.count("tests.run") == 4


# ---- retries and flaky runs ------------------------------------------------------------------


def test_retries_re_trigger_an_always_failing_run_and_show_every_attempt(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        "tests:\n  - {name: busy, test: call-fails, retries: 2}\n",
        "--junitxml",
        "junit.xml",
        server=server,
    )
    result.assert_outcomes(failed=1)
    assert server.count("tests.run") == 3
    sessions = list(last_status_times(server))
    assert len(sessions) == 3
    block = "\n".join(section_after(result.outlines, "busy"))
    for session in sessions:
        assert f"{server.origin}/run/details/{session}" in block
    assert re.search(r"attempt 1 +failed \| ", block)
    assert re.search(r"attempt 3 +failed \| ", block)
    props = junit_properties(pytester.path / "junit.xml")["busy"]
    assert props["sipfront_attempts"] == "3"


def flaky_fault() -> dict[str, Any]:
    """The first status request answers with a finished, failed run; the retry then passes."""
    body = {
        "run": {
            "is_finished": 1,
            "has_passed": 0,
            "is_failed": 1,
            "status": "failed",
            "session_status": "failed",
            "result_description": "registration timed out",
        },
        "status": 200,
    }
    return {
        "endpoint": "runs.status",
        "times": 1,
        "body": json.dumps(body),
        "content_type": "application/json",
    }


def test_a_run_that_fails_then_passes_on_retry_passes_and_is_shown_flaky(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2, "faults": [flaky_fault()]})
    result = run_gate(
        "tests:\n  - {name: wobbly, test: t-wobbly, retries: 2}\n",
        "--junitxml",
        "junit.xml",
        server=server,
    )
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 2
    assert any(re.match(r"PASSED \(flaky\) +wobbly ", line) for line in result.outlines)
    props = junit_properties(pytester.path / "junit.xml")["wobbly"]
    assert props["sipfront_attempts"] == "2"
    assert props["sipfront_status"] == "passed"


def test_a_failed_run_without_retries_is_triggered_once(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate("tests:\n  - {name: busy, test: call-fails}\n", server=server)
    result.assert_outcomes(failed=1)
    assert server.count("tests.run") == 1


def test_project_entries_trigger_project_runs_and_report_their_verdict(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(
        {
            "projects": [
                {"name": "nightly", "id": 7, "duration": 0.2},
                {
                    "name": "weekly",
                    "id": 8,
                    "duration": 0.2,
                    "outcome": "failed",
                    "result_description": "2 of 3 tests failed",
                },
            ]
        }
    )
    result = run_gate(
        """
        tests:
          - {name: by-id, project_id: 7, test_ids: [11, 12]}
          - {name: by-name, project: weekly}
        """,
        server=server,
    )
    result.assert_outcomes(passed=1, failed=1)
    assert server.count("projects.run") == 2
    assert server.count("tests.run") == 0
    bodies = sorted(server.triggers(), key=lambda b: str(b))
    assert {"id": 7, "test_ids": [11, 12]} in bodies
    assert {"project.name": "weekly"} in bodies
    block = section_after(result.outlines, "by-name")
    assert block[0] == "Sipfront run failed: 2 of 3 tests failed [status: failed]"
    assert block[1].startswith("  project   weekly (id 8)")


# ---- xfail ------------------------------------------------------------------------------------


def test_an_xfail_entry_whose_run_fails_is_xfailed(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        """
        tests:
          - name: known
            test: call-fails
            xfail: "one-way audio, TICKET-12"
        """,
        "-rx",
        server=server,
    )
    result.assert_outcomes(xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL *known*one-way audio, TICKET-12*"])


def test_an_xfail_entry_whose_run_passes_is_xpassed(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate("tests:\n  - {name: fixed, test: t-ok, xfail: 'was broken'}\n", server=server)
    result.assert_outcomes(xpassed=1)


def test_a_refused_trigger_on_an_xfail_entry_is_an_error_not_an_expected_failure(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"unknown_tests": "refuse"})
    result = run_gate(
        "tests:\n  - {name: known, test: no-such-test, xfail: 'expected to fail'}\n",
        server=server,
    )
    result.assert_outcomes(errors=1)
    assert section_after(result.outlines, "known")[0].startswith(
        "Sipfront refused to start the run: "
    )


def test_a_timeout_on_an_xfail_entry_is_an_error_not_an_expected_failure(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        "tests:\n  - {name: known, test: call-hangs, timeout: 0.5s, xfail: 'flaky lab'}\n",
        server=server,
    )
    result.assert_outcomes(errors=1)
    block = section_after(result.outlines, "known")
    assert block[0] == "Sipfront run did not finish within 0.5s (last status: running)"


# ---- reports ------------------------------------------------------------------------------------


def test_junitxml_carries_the_sipfront_properties_of_every_item(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        """
        tests:
          - {name: good, test: t-good}
          - {name: busy, test: call-fails}
        """,
        "--junitxml",
        "junit.xml",
        server=server,
    )
    result.assert_outcomes(passed=1, failed=1)
    props = junit_properties(pytester.path / "junit.xml")
    sessions = set(last_status_times(server))
    for name, status in (("good", "passed"), ("busy", "failed")):
        got = props[name]
        assert got["sipfront_session_id"] in sessions
        assert got["sipfront_report_url"] == (
            f"{server.origin}/run/details/{got['sipfront_session_id']}"
        )
        assert got["sipfront_status"] == status
        assert float(got["sipfront_duration_s"]) >= 0
        assert "sipfront_attempts" not in got
    assert props["good"]["sipfront_session_id"] != props["busy"]["sipfront_session_id"]


def test_the_terminal_summary_lists_every_run_with_its_report_link(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(FAILING_CATALOG)
    result = run_gate(
        """
        tests:
          - {name: good, test: t-good}
          - {name: busy, test: call-fails}
        """,
        server=server,
    )
    result.assert_outcomes(passed=1, failed=1)
    lines = result.outlines
    # The sandbox says it is one in every answer: the section is marked SANDBOX.
    start = next(
        i for i, line in enumerate(lines) if re.match(r"=+ sipfront runs \(SANDBOX.*\) =+$", line)
    )
    summary = lines[start + 1 : start + 3]
    assert re.fullmatch(
        rf"PASSED +good \S+ {re.escape(server.origin)}/run/details/{UUID}", summary[0]
    )
    assert re.fullmatch(
        rf"FAILED +busy \S+ {re.escape(server.origin)}/run/details/{UUID}", summary[1]
    )
    assert "SANDBOX" in lines[start]  # a sandbox at a plain API URL is still one


def test_report_all_shows_the_sipfront_section_for_passed_runs(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate("tests:\n  - {name: good, test: t-good}\n", "-rA", server=server)
    result.assert_outcomes(passed=1)
    session = next(iter(last_status_times(server)))
    text = result.stdout.str()
    assert "sipfront" in text.split("PASSES", 1)[1]
    result.stdout.fnmatch_lines(
        [
            "*PASSES*",
            "*Captured sipfront call*",
            "  test      t-good*",
            f"  session   {session}",
            "  status    passed*",
            f"  report    {server.origin}/run/details/{session}",
            "  manifest  sipfront.yml:2",
        ]
    )


def test_expected_failures_and_errors_show_no_python_traceback(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    catalog = dict(FAILING_CATALOG, unknown_tests="refuse")
    server = sipfront_sandbox(catalog)
    result = run_gate(
        """
        tests:
          - {name: busy, test: call-fails}
          - {name: hangs, test: call-hangs, timeout: 0.4s}
          - {name: typo, test: nope}
        """,
        "-rA",
        "--tb=long",
        "--sipfront-concurrency",
        "2",
        server=server,
    )
    result.assert_outcomes(failed=2, errors=1)
    assert_no_traceback(result)
    by_status: dict[str, list[str]] = defaultdict(list)
    for line in result.outlines:
        if line.startswith(("FAILED sipfront.yml::", "ERROR sipfront.yml::")):
            by_status[line.split()[0]].append(line.split()[1])
    assert sorted(by_status["FAILED"]) == ["sipfront.yml::busy", "sipfront.yml::hangs"]
    assert by_status["ERROR"] == ["sipfront.yml::typo"]


def test_many_simultaneous_triggers_put_no_connection_pool_warnings_in_the_report(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    # Every trigger is answered 0.3 s late, so all six are open at the same time.
    server = sipfront_sandbox(
        {
            "tests": FAILING_CATALOG["tests"],
            "faults": [{"endpoint": "tests.run", "delay": 0.3, "times": 0}],
        }
    )
    entries = "".join(f"  - {{name: busy{n}, test: call-fails}}\n" for n in range(6))
    result = run_gate("tests:\n" + entries, "--sipfront-concurrency", "6", server=server)
    result.assert_outcomes(failed=6)
    assert "Connection pool is full" not in result.stdout.str()


def test_an_entry_a_conftest_skips_with_skipif_is_never_triggered(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.makeconftest(
        """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "lab-only":
            item.add_marker(pytest.mark.skipif(True, reason="no lab here"))
"""
    )
    result = run_gate(
        "tests:\n  - {name: lab-only, test: t-lab}\n  - {name: everywhere, test: t-all}\n",
        server=server,
    )
    result.assert_outcomes(passed=1, skipped=1)
    assert [body.get("test.name") for body in server.triggers()] == ["t-all"]


def test_a_symlink_to_a_manifest_collected_beside_it_triggers_each_entry_once(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.path.joinpath("sipfront.yml").write_text(
        "tests:\n  - {name: call, test: basic-call}\n", encoding="utf-8"
    )
    pytester.path.joinpath("other.sipfront.yml").symlink_to(pytester.path / "sipfront.yml")
    result = run_gate(None, "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1
    summary = runs_section(result.stdout.str())
    assert len([line for line in summary.splitlines() if " call " in line]) == 1
    assert (pytester.path / "sf.xml").read_text(encoding="utf-8").count("<testcase") == 1
