"""How every report files an item: by the record's verdict and pytest's outcome, never by the
words of its message, and the same way in the terminal's reports, JUnit, GitHub and the
action's outputs."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_records import REPORT
from report_records import record as record_of

from pytest_sipfront.ci.action import Collector, Tally
from pytest_sipfront.reports import github, terminal
from pytest_sipfront.reports.classify import Result, classify
from pytest_sipfront.reports.junit import junit_xml
from pytest_sipfront.runs.outcome import (
    Attempt,
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
)

# Each message reads like a different gate problem than the verdict it is paired with: a
# classification that looked at the words would file these items wrongly.
MISLEADING = (
    "No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY",
    "Sipfront run failed: one-way audio [status: failed]",
    "Interrupted; the run is still going at Sipfront",
    "This session would start 140 Sipfront runs; --sipfront-max-runs allows 100",
    "Sipfront run did not finish within 10m (last status: running)",
    "A reworded sentence no report has ever seen",
)


def pytest_outcome(verdict: Verdict) -> PytestOutcome:
    """What pytest makes of an item with this verdict (the item raises accordingly)."""
    if verdict is Verdict.PASSED:
        return PytestOutcome.PASSED
    if verdict is Verdict.SKIPPED:
        return PytestOutcome.SKIPPED
    return PytestOutcome.FAILED if verdict.is_failure else PytestOutcome.ERROR


def record(verdict: Verdict, message: str, *, with_run: bool = True) -> ItemRecord:
    """Item ``call`` at sipfront.yml:3 with this verdict and message, as pytest files it."""
    return record_of(
        "call",
        pytest_outcome(verdict),
        line=3,
        verdict=verdict,
        attempts=[Attempt(session_id="s1", report_url=REPORT + "s1", status="failed")],
        message=message,
        with_run=with_run,
    )


def filed(result: Result) -> tuple[str, str, str]:
    return result.kind, result.label, result.junit_type


def junit_child(records: list[ItemRecord]) -> tuple[str, str]:
    """The JUnit testcase's child element and its type (``passed`` when it has none)."""
    info = SessionInfo(api_url="https://app.sipfront.com/api/v2", sandbox=False, rootdir="/r")
    case = ET.fromstring(junit_xml(records, info)).find("testsuite/testcase")
    assert case is not None
    for tag in ("failure", "error", "skipped"):
        child = case.find(tag)
        if child is not None:
            return tag, child.get("type", "")
    return "passed", ""


def action_counts(records: list[ItemRecord]) -> tuple[str, str, str, str]:
    collector = Collector()
    collector.records = records
    outputs = Tally(collector, None, "/nonexistent/junit.xml").outputs
    return outputs["total"], outputs["passed"], outputs["failed"], outputs["errors"]


@pytest.mark.parametrize("verdict", list(Verdict), ids=lambda verdict: verdict.value)
@pytest.mark.parametrize("with_run", [True, False], ids=["with-run", "decided-before-any-run"])
def test_rewording_a_message_never_changes_how_any_report_files_the_item(
    verdict: Verdict, with_run: bool
) -> None:
    baseline = record(verdict, "", with_run=with_run)
    expected = filed(classify(baseline))
    info = SessionInfo(api_url="https://app.sipfront.com/api/v2", sandbox=False, rootdir="/r")
    for message in MISLEADING:
        reworded = record(verdict, message, with_run=with_run)
        assert filed(classify(reworded)) == expected, message
        assert junit_child([reworded]) == junit_child([baseline]), message
        assert action_counts([reworded]) == action_counts([baseline]), message
        flagged = expected[0] in ("failure", "error")
        assert len(github.annotations([reworded], info, workspace=None)) == int(flagged), message
    if verdict.is_error:
        assert expected == ("error", "error", verdict.junit_type)
    elif verdict.is_failure:
        assert expected[0] == "failure" and expected[2] == verdict.junit_type


def test_a_message_alone_never_types_an_error_when_no_verdict_was_decided() -> None:
    # pytest (or another plugin) reported the item; the gate decided nothing. The contract's
    # credentials sentence does not make it a credentials error.
    orphan = ItemRecord(
        nodeid="sipfront.yml::call",
        name="call",
        manifest="sipfront.yml",
        line=3,
        outcome=PytestOutcome.ERROR,
        message="No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY",
    )
    result = classify(orphan)
    assert filed(result) == ("error", "error", "sipfront.error")
    assert result.message == orphan.message  # still shown as it was written
    assert junit_child([orphan]) == ("error", "sipfront.error")


def test_a_record_takes_its_verdict_from_its_run_when_none_is_given() -> None:
    made = record(Verdict.VANISHED, "Sipfront no longer knows this run (HTTP 404 on its status)")
    assert made.verdict is Verdict.VANISHED
    # pytest filed it as a failure, the verdict says gate problem: every report says error.
    made.outcome = PytestOutcome.FAILED
    assert filed(classify(made)) == ("error", "error", "sipfront.vanished")
    assert junit_child([made]) == ("error", "sipfront.vanished")
    assert action_counts([made]) == ("1", "0", "0", "1")
    info = SessionInfo(api_url="https://app.sipfront.com/api/v2", sandbox=False, rootdir="/r")
    assert "⛔ error (vanished)" in github.step_summary([made], info)


def test_the_terminal_section_says_what_the_other_reports_say_for_every_item() -> None:
    vanished = record(
        Verdict.VANISHED, "Sipfront no longer knows this run (HTTP 404 on its status)"
    )
    vanished.outcome = PytestOutcome.FAILED  # pytest's word; the verdict says gate problem
    hidden_timeout = record(Verdict.TIMEOUT, "Sipfront run did not finish within 10m")
    hidden_timeout.outcome = PytestOutcome.XFAILED  # a timeout is never an expected failure
    hidden_timeout.name = "slow"
    finished_unseen = RunOutcome(
        name="unseen",
        verdict=Verdict.FAILED,
        attempts=[Attempt(session_id="s2", report_url=REPORT + "s2", status="failed")],
        manifest="sipfront.yml",
    )
    going = RunOutcome(
        name="going",
        verdict=Verdict.INTERRUPTED,
        attempts=[Attempt(session_id="s3", report_url=REPORT + "s3", status="running")],
        manifest="sipfront.yml",
    )
    info = SessionInfo(
        api_url="https://app.sipfront.com/api/v2",
        sandbox=True,
        rootdir="/r",
        not_reached=[finished_unseen],
        still_running=[going],
    )
    title, lines = terminal.summary([vanished, hidden_timeout], info, ["report problem"])
    assert title == "sipfront runs (SANDBOX: nothing was tested at Sipfront)"
    assert [line.split()[:2] for line in lines[:3]] == [
        ["ERROR", "call"],
        ["FAILED", "slow"],
        ["FAILED", "unseen"],
    ]
    assert lines[0].endswith(REPORT + "s1")
    assert "not reached" in lines[2] and REPORT + "s2" in lines[2]
    assert lines[3].split()[:2] == ["RUNNING", "going"] and lines[3].endswith(REPORT + "s3")
    assert lines[4] == "4 Sipfront items: 2 failed, 2 errors, 1 still running at Sipfront"
    assert lines[5] == "report problem"
    counts = action_counts([vanished, hidden_timeout])
    assert counts == ("2", "0", "1", "1")  # the action counts them the same way


def test_two_unreported_runs_of_one_sipfront_test_are_both_in_every_report(
    tmp_path: Path,
) -> None:
    """Two runs of one Sipfront test (one test started it twice) are two runs: none vanishes
    from the terminal, JUnit or the GitHub summary because they share a name."""
    runs = [
        RunOutcome(
            name="test-21",
            verdict=Verdict.FAILED,
            message="Sipfront run failed: no RTP [status: failed]",
            attempts=[Attempt(session_id=f"s{n}", report_url=REPORT + f"s{n}", status="failed")],
            manifest="test_twice.py",
            line=3,
        )
        for n in (1, 2)
    ]
    info = SessionInfo(api_url="https://x/api/v2", sandbox=False, rootdir="/r", not_reached=runs)
    _, lines = terminal.summary([], info)
    assert [line for line in lines if REPORT in line] == [
        line for line in lines if REPORT + "s1" in line or REPORT + "s2" in line
    ]
    assert sum(REPORT + "s1" in line for line in lines) == 1
    assert sum(REPORT + "s2" in line for line in lines) == 1
    xml = junit_xml([], info)
    assert REPORT + "s1" in xml and REPORT + "s2" in xml
    summary, stream = tmp_path / "summary.md", io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    github.write_github([], info, environ=environ, stream=stream)
    annotations = [line for line in stream.getvalue().splitlines() if line.startswith("::")]
    assert len(annotations) == 2
    text = summary.read_text(encoding="utf-8")
    assert REPORT + "s1" in text and REPORT + "s2" in text
