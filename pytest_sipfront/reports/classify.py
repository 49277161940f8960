"""How every report files an item: the one decision the terminal, JUnit, GitHub and the
action's outputs are views of.

A record is filed by its verdict (:attr:`ItemRecord.verdict`, taken from its run) and by what
pytest made of it, never by the words of its message: rewording a message changes what people
read, not how the item is counted or typed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pytest_sipfront.runs.messages import INTERRUPTED, unexplained
from pytest_sipfront.runs.outcome import ItemRecord, PytestOutcome, RunOutcome, SessionInfo, Verdict

ReportKind = Literal["passed", "failure", "error", "skipped"]
"""How a report files an item (the JUnit child element; passes have none)."""
ReportLabel = Literal[
    "passed", "flaky", "failed", "timeout", "error", "skipped", "xfailed", "xpassed"
]
"""What people read beside an item."""


@dataclass(frozen=True)
class Result:
    """How the reports file one item: the one classification they all share."""

    kind: ReportKind
    """``passed``, ``failure``, ``error`` or ``skipped`` (the JUnit child element)."""
    label: ReportLabel
    """What people read: ``passed``, ``flaky``, ``failed``, ``timeout``, ``error``, ``skipped``,
    ``xfailed``, ``xpassed``."""
    junit_type: str
    """``sipfront.failed``, ``sipfront.auth``, ...; empty for passes and skips."""
    message: str
    """First line (unsanitised), e.g. ``Sipfront run failed: ... [status: failed]``."""


def classify(record: ItemRecord) -> Result:
    """File one record: gate problems are errors, failed or timed-out runs failures, ``skip:``
    and xfailed items skipped, passed and xpassed items passes; never two at once."""
    verdict = record.verdict
    message = record.message or (record.run.message if record.run else "")
    outcome = record.outcome
    if outcome is PytestOutcome.ERROR or (verdict is not None and verdict.is_error):
        # An xfail entry's timeout is an error (never xfailed), still typed as a timeout.
        typed = verdict is not None and (verdict.is_error or verdict is Verdict.TIMEOUT)
        junit_type = verdict.junit_type if typed and verdict is not None else "sipfront.error"
        return Result("error", "error", junit_type, message or unexplained(verdict, "error"))
    # A timeout is a gate problem, never an expected failure.
    xfail_hid_a_timeout = outcome is PytestOutcome.XFAILED and verdict is Verdict.TIMEOUT
    if outcome is PytestOutcome.FAILED or xfail_hid_a_timeout:
        label: ReportLabel = "timeout" if verdict is Verdict.TIMEOUT else "failed"
        failure = verdict is not None and verdict.is_failure
        junit_type = verdict.junit_type if failure and verdict is not None else "sipfront.failed"
        return Result("failure", label, junit_type, message or unexplained(verdict, "failure"))
    if outcome is PytestOutcome.SKIPPED:
        return Result("skipped", "skipped", "", message or "skipped")
    if outcome is PytestOutcome.XFAILED:
        return Result("skipped", "xfailed", "", message)
    if outcome is PytestOutcome.XPASSED:
        return Result("passed", "xpassed", "", message)
    flaky = record.flaky or (record.run is not None and record.run.flaky)
    return Result("passed", "flaky" if flaky else "passed", "", "")


def classify_still_running(run: RunOutcome) -> Result:
    """A run the stopped session triggered but never reported: an error while it is still
    going; Sipfront's verdict when it finished before the session stopped (never reached)."""
    if run.verdict is Verdict.INTERRUPTED or not run.attempts:
        message = run.message or INTERRUPTED
        return Result("error", "error", Verdict.INTERRUPTED.junit_type, message)
    if run.verdict is Verdict.PASSED:
        outcome = PytestOutcome.PASSED
    elif run.verdict.is_failure:
        outcome = PytestOutcome.FAILED
    else:
        outcome = PytestOutcome.ERROR
    record = ItemRecord(
        nodeid=run.name,
        name=run.name,
        manifest=run.manifest,
        line=run.line,
        outcome=outcome,
        run=run,
        message=run.message,
    )
    return classify(record)


def unreported(records: Sequence[ItemRecord], info: SessionInfo) -> list[RunOutcome]:
    """The runs triggered without a record: finished but never reached, then still going at
    Sipfront. A run is known by what Sipfront started (its attempts' session ids or links),
    never by its name: two runs of one Sipfront test are two runs; a run a record already
    shows is not repeated."""
    seen = {mark for record in records if record.run for mark in run_marks(record.run)}
    listed: list[RunOutcome] = []
    for run in (*info.not_reached, *info.still_running):
        marks = run_marks(run)
        if marks and marks <= seen:
            continue
        seen |= marks
        listed.append(run)
    return listed


def run_marks(run: RunOutcome) -> set[str]:
    """What identifies a run's attempts at Sipfront: their session ids and report links."""
    return {
        mark
        for attempt in run.attempts
        for mark in (attempt.session_id, attempt.report_url)
        if mark
    }


def strip_userinfo(url: str) -> str:
    """The URL without any ``user:password@`` part (reports never show credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    except ValueError:
        return re.sub(r"//[^/?#]*@", "//", url)
