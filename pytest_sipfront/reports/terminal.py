"""The terminal's "sipfront runs" section: one line per item, a view of the records filed as
:func:`pytest_sipfront.reports.classify.classify` decides (the same words as every other report)."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_sipfront.durations import format_duration
from pytest_sipfront.reports.classify import (
    ReportLabel,
    Result,
    classify,
    classify_still_running,
    unreported,
)
from pytest_sipfront.reports.counts import Counts, session_counts
from pytest_sipfront.runs.messages import (
    NOT_REACHED,
    NOTHING_TESTED,
    history_case,
    ledger_case,
    not_waited_for,
)
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo

TITLE = "sipfront runs"

_WORDS: dict[ReportLabel, str] = {
    "passed": "PASSED",
    "flaky": "PASSED (flaky)",
    "failed": "FAILED",
    "timeout": "FAILED",
    "error": "ERROR",
    "skipped": "SKIPPED",
    "xfailed": "XFAILED",
    "xpassed": "XPASSED",
}


def word(result: Result) -> str:
    """pytest's word for how the item was filed: ``PASSED``, ``FAILED``, ``ERROR``, ..."""
    return _WORDS[result.label]


def _links(run: RunOutcome | None) -> str:
    """Every attempt's link (retries, reruns): each is a run paid at Sipfront."""
    attempts = run.attempts if run is not None else []
    return " ".join(attempt.report_url for attempt in attempts if attempt.report_url)


def _record_line(record: ItemRecord) -> str:
    ran = record.run is not None and bool(record.run.attempts)
    duration = format_duration(record.duration_s) if ran else "-"
    line = f"{word(classify(record)):<10} {record.name} {duration} {_links(record.run)}".rstrip()
    notes = [history_case(record.run), ledger_case(record.run)] if record.run is not None else []
    if record.run is not None and record.run.not_waited_for:
        notes.append(not_waited_for(record.run.not_waited_for))
    shown = "; ".join(note for note in notes if note)
    return f"{line} ({shown})" if shown else line


def _still_running_line(run: RunOutcome) -> str:
    if run.attempts:
        where = f"still going at Sipfront {run.report_url or ''}".rstrip()
    else:
        where = "trigger sent, no answer yet: a run may have started, check Sipfront"
    return f"{'RUNNING':<10} {run.name} {where}"


def summary(
    records: Sequence[ItemRecord], info: SessionInfo, report_errors: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The section's title and lines: every record, the runs that finished at Sipfront before
    pytest reached their items (with Sipfront's verdict), the runs still going there, and the
    reports that could not be written."""
    title = TITLE + (f" ({NOTHING_TESTED})" if info.sandbox else "")
    lines = [_record_line(record) for record in records]
    still = [id(run) for run in info.still_running]
    for run in unreported(records, info):
        if id(run) in still:
            continue  # listed below, every one: a run still going at Sipfront
        duration = format_duration(run.duration_s)
        text = (
            f"{word(classify_still_running(run)):<10} {run.name} {duration} {run.report_url or ''}"
        )
        lines.append(f"{text} ({NOT_REACHED})")
    lines.extend(_still_running_line(run) for run in info.still_running)
    if lines:
        lines.append(counts_line(session_counts(records, info)))
    lines.extend(report_errors)
    return title, lines


def counts_line(counts: Counts) -> str:
    """The section's last line: the session's one count (the job summary, JUnit, the results
    JSON and the action's outputs say the same)."""
    items = "item" if counts.total == 1 else "items"
    return f"{counts.total} Sipfront {items}: {counts.phrase()}"
