"""The session's records: one :class:`ItemRecord` per Sipfront item, taken from its pytest
report, and the reports that are views of them (the terminal summary, JUnit, GitHub)."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.runs.history import history_properties
from pytest_sipfront.runs.messages import report_not_written
from pytest_sipfront.runs.outcome import (
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
    run_from_dict,
    run_to_dict,
)
from pytest_sipfront.session.expected import remember_duration
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
    if outcome.wait_s is not None:
        # How long pytest waited on the item: not the run's duration (it began ahead of pytest).
        properties.append(("sipfront_wait_s", round(outcome.wait_s, 3)))
    properties.extend(history_properties(outcome))
    remember_duration(item.config, item.nodeid, outcome)
    names = {name for name, _ in properties}
    item.user_properties[:] = [p for p in item.user_properties if p[0] not in names]
    item.user_properties.extend(properties)


def attach(item: SipfrontItem, report: pytest.TestReport, *, sandbox: bool) -> None:
    """Put the verdict on the report, so it reaches the controller under pytest-xdist."""
    attach_run(
        report,
        name=item.spec.name,
        source=item.manifest,
        line=item.spec.line,
        run=item.run_outcome,
        sandbox=sandbox,
    )


def attach_run(
    report: pytest.TestReport,
    *,
    name: str,
    source: str,
    line: int,
    run: RunOutcome | None,
    sandbox: bool,
) -> None:
    """Put a record's data on the report: a manifest item's (``source`` is its manifest), or a
    test that started runs from Python (``source:line`` is the test function)."""
    setattr(
        report,
        REPORT_ATTRIBUTE,
        {
            "name": name,
            "manifest": source,
            "line": line,
            "run": run_to_dict(run) if run else None,
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
        self.stop_requested = False
        """True once Ctrl-C, SIGTERM or SIGHUP came while the reports were being written: a
        report file still waiting for a reader is then skipped at once."""
        self.sandbox = settings.sandbox
        """Whether the session talked to a sandbox; the gate sets it from what it learnt."""
        self.finished = False
        """True once the session's end began: the reports are being (or were) written."""
        self.started_at = time.time()
        self.finished_at: float | None = None
        if settings.junit and writes:  # (an xdist worker writes none: the controller does)
            # Imported now, not while an interrupted session hurries to write its reports.
            from pytest_sipfront.reports import junit  # noqa: F401
        if settings.json and writes:
            from pytest_sipfront.reports import results  # noqa: F401

    def logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if not isinstance(data, dict):
            return
        pytest_outcome = _pytest_outcome(report)
        if pytest_outcome is None:
            return
        run = run_from_dict(data["run"]) if data.get("run") else None
        text = _failure_text(report)
        message = _first_line(report, text)
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
        )

    def write(self) -> None:
        """Write the JUnit file (--sipfront-junit) and, on GitHub Actions, the annotations and
        the job summary. A file that cannot be written is one line in the terminal summary."""
        self.finished_at = time.time()
        info = self.info()
        records = list(self.by_nodeid.values())
        if self.settings.json:
            from pytest_sipfront.reports.results import write_results

            try:
                write_results(
                    self.settings.json, records, info, environ=os.environ, stop=self._stopping
                )
            except OSError as error:
                self.report_errors.append(
                    report_not_written("--sipfront-json", self.settings.json, error)
                )
        if self.settings.junit:
            from pytest_sipfront.reports.junit import write_junit

            try:
                write_junit(self.settings.junit, records, info, stop=self._stopping)
            except OSError as error:
                # One clear line; the terminal summary and the GitHub reports still follow.
                self.report_errors.append(
                    report_not_written("--sipfront-junit", self.settings.junit, error)
                )
        if os.environ.get("GITHUB_ACTIONS") == "true":  # write_github writes nothing elsewhere
            self._end_terminal_line()  # a workflow command must start its own line
            from pytest_sipfront.reports.github import write_github

            write_github(records, info, environ=os.environ, stream=sys.stdout, stop=self._stopping)

    def _stopping(self) -> bool:
        return self.stop_requested

    def _end_terminal_line(self) -> None:
        """End pytest's progress line (``-q`` and pytest-xdist leave ``[100%]`` open) before
        anything else writes to the terminal's stream."""
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            return
        writer = self.config.get_terminal_writer()
        if writer.width_of_current_line:
            writer.line()
        writer.flush()

    def info(self) -> SessionInfo:
        return SessionInfo(
            api_url=self.api_url,
            sandbox=self.sandbox,
            rootdir=str(self.config.rootpath),
            interrupted=self.interrupted,
            still_running=self.still_running,
            not_reached=self.not_reached,
            manifest_errors=self.manifest_errors,
            started_at=self.started_at,
            finished_at=self.finished_at if self.finished_at is not None else time.time(),
        )

    def summary_lines(self) -> tuple[str, list[str]]:
        """The terminal summary's title and lines (drawn by :mod:`.reports.terminal`)."""
        from pytest_sipfront.reports.terminal import summary

        return summary(list(self.by_nodeid.values()), self.info(), self.report_errors)


def _failure_text(report: pytest.TestReport) -> str:
    """What pytest shows for a failed report, without the ``[gw0] linux -- Python ...`` line
    pytest-xdist puts before it (``longreprtext`` has it)."""
    if not report.failed or report.longrepr is None:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2])
    return str(longrepr)


def _first_line(report: pytest.TestReport, text: str) -> str:
    """The failure's first line: the exception's own line when pytest has it (a test that
    failed with its own exception starts its text with its arguments, e.g. the fixture's
    repr), else the first line of the text (the gate's failures carry no traceback)."""
    first = text.splitlines()[0] if text else ""
    crash = getattr(report.longrepr, "reprcrash", None)
    crash_message = getattr(crash, "message", None)
    if isinstance(crash_message, str) and crash_message.strip() and first not in crash_message:
        return crash_message.splitlines()[0]
    return first


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
