"""The session's records: one :class:`ItemRecord` per Sipfront item, taken from its pytest
report, and the reports that are views of them (the terminal summary, JUnit, GitHub)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.durations import format_duration
from pytest_sipfront.runs.messages import NOT_REACHED, report_not_written
from pytest_sipfront.runs.outcome import (
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
    run_from_dict,
    run_to_dict,
)
from pytest_sipfront.settings import Settings

if TYPE_CHECKING:
    from pytest_sipfront.session.items import SipfrontItem

REPORT_ATTRIBUTE = "sipfront"
"""The attribute of a pytest report that carries the item's run (to the xdist controller)."""


def record_properties(item: SipfrontItem, outcome: RunOutcome) -> None:
    """The run's id, link, status and duration as the item's JUnit properties (pytest's own
    ``--junitxml`` shows them); replaced, not repeated, on a rerun."""
    if outcome.verdict is Verdict.SKIPPED:
        return
    properties: list[tuple[str, object]] = [
        ("sipfront_session_id", outcome.session_id or ""),
        ("sipfront_report_url", outcome.report_url or ""),
        ("sipfront_status", outcome.status or outcome.verdict.value),
        ("sipfront_duration_s", round(outcome.duration_s, 3)),
    ]
    if len(outcome.attempts) > 1:
        properties.append(("sipfront_attempts", len(outcome.attempts)))
    names = {name for name, _ in properties}
    item.user_properties[:] = [p for p in item.user_properties if p[0] not in names]
    item.user_properties.extend(properties)


def attach(item: SipfrontItem, report: pytest.TestReport, *, sandbox: bool) -> None:
    """Put the verdict on the report, so it reaches the controller under pytest-xdist."""
    outcome = item.run_outcome
    setattr(
        report,
        REPORT_ATTRIBUTE,
        {
            "name": item.spec.name,
            "manifest": item.manifest,
            "line": item.spec.line,
            "run": run_to_dict(outcome) if outcome else None,
            "sandbox": sandbox,
        },
    )


class Records:
    """What the session's reports show; on the xdist controller, the workers' items too."""

    def __init__(
        self, config: pytest.Config, settings: Settings, api_url: str, *, writes: bool = True
    ) -> None:
        self.config = config
        self.settings = settings
        self.api_url = api_url
        self.by_nodeid: dict[str, ItemRecord] = {}
        self.still_running: list[RunOutcome] = []
        self.not_reached: list[RunOutcome] = []
        self.report_errors: list[str] = []
        self.manifest_errors: list[tuple[str, int, int, str]] = []
        self.interrupted = False
        self.finished = False
        """True once the session's end began: the reports are being (or were) written."""
        if settings.junit and writes:  # (an xdist worker writes none: the controller does)
            # Imported now, not while an interrupted session hurries to write its reports.
            from pytest_sipfront.reports import junit  # noqa: F401

    def logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if not isinstance(data, dict):
            return
        pytest_outcome = _pytest_outcome(report)
        if pytest_outcome is None:
            return
        run = run_from_dict(data["run"]) if data.get("run") else None
        text = report.longreprtext if report.failed else ""
        message = text.splitlines()[0] if text else ""
        if report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.skipped and hasattr(report, "wasxfail"):
            message = f"expected failure: {report.wasxfail}"
        self.by_nodeid[report.nodeid] = ItemRecord(
            nodeid=report.nodeid,
            name=str(data["name"]),
            manifest=str(data["manifest"]),
            line=int(data["line"]),
            outcome=pytest_outcome,
            run=run,
            message=message,
            longrepr=text,
            flaky=bool(run and run.flaky),
            xfail_reason=getattr(report, "wasxfail", None),
        )

    def write(self) -> None:
        """Write the JUnit file (--sipfront-junit) and, on GitHub Actions, the annotations and
        the job summary. A file that cannot be written is one line in the terminal summary."""
        info = self.info()
        records = list(self.by_nodeid.values())
        if self.settings.junit:
            from pytest_sipfront.reports.junit import write_junit

            try:
                write_junit(self.settings.junit, records, info)
            except OSError as error:
                # One clear line; the terminal summary and the GitHub reports still follow.
                self.report_errors.append(
                    report_not_written("--sipfront-junit", self.settings.junit, error)
                )
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()  # a workflow command must start its own line
        if os.environ.get("GITHUB_ACTIONS") == "true":  # write_github writes nothing elsewhere
            from pytest_sipfront.reports.github import write_github

            write_github(records, info, environ=os.environ, stream=sys.stdout)

    def info(self) -> SessionInfo:
        return SessionInfo(
            api_url=self.api_url,
            sandbox=self.settings.sandbox,
            rootdir=str(self.config.rootpath),
            interrupted=self.interrupted,
            still_running=self.still_running,
            not_reached=self.not_reached,
            manifest_errors=self.manifest_errors,
        )

    def summary_lines(self) -> tuple[str, list[str]]:
        """The terminal summary's title and lines: one per item, then the runs pytest never
        reached, the runs still going, and the reports that could not be written."""
        title = "sipfront runs" + (
            " (SANDBOX: nothing was tested at Sipfront)" if self.settings.sandbox else ""
        )
        lines = [_item_line(record) for record in self.by_nodeid.values()]
        reported = {(record.manifest, record.name) for record in self.by_nodeid.values()}
        for outcome in self.not_reached:
            if (outcome.manifest, outcome.name) in reported:
                continue
            word = outcome.verdict.value.upper()
            duration = format_duration(outcome.duration_s)
            link = outcome.report_url or ""
            lines.append(f"{word:<10} {outcome.name} {duration} {link} ({NOT_REACHED})")
        for outcome in self.still_running:
            if outcome.attempts:
                where = f"still going at Sipfront {outcome.report_url or ''}".rstrip()
            else:
                where = "trigger sent, no answer yet: a run may have started, check Sipfront"
            lines.append(f"{'RUNNING':<10} {outcome.name} {where}")
        lines.extend(self.report_errors)
        return title, lines


def _item_line(record: ItemRecord) -> str:
    word = record.outcome.value.upper()
    if record.flaky:
        word += " (flaky)"
    ran = record.run is not None and bool(record.run.attempts)
    duration = format_duration(record.duration_s) if ran else "-"
    attempts = record.run.attempts if record.run is not None else []
    # Every attempt's link (retries, reruns): each is a run paid at Sipfront.
    link = " ".join(a.report_url for a in attempts if a.report_url)
    return f"{word:<10} {record.name} {duration} {link}".rstrip()


def _pytest_outcome(report: pytest.TestReport) -> PytestOutcome | None:
    xfail = hasattr(report, "wasxfail")
    if report.when == "setup":
        if report.failed:
            return PytestOutcome.ERROR
        if report.skipped:
            return PytestOutcome.XFAILED if xfail else PytestOutcome.SKIPPED
        return None
    if report.when == "call":
        if report.failed:
            return PytestOutcome.FAILED
        if report.skipped:
            return PytestOutcome.XFAILED if xfail else PytestOutcome.SKIPPED
        return PytestOutcome.XPASSED if xfail else PytestOutcome.PASSED
    return None
