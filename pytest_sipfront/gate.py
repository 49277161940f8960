"""The session's gate: turns the selected Sipfront items into runs, waits for their verdicts on
the main thread and keeps the one record every report is a view of."""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any

import pytest
from _pytest.skipping import evaluate_skip_marks

from .broker import Broker, BrokerClient
from .client import check_base_url
from .durations import format_duration
from .github import write_github
from .items import SipfrontItem
from .junit import write_junit
from .manifest import request_body
from .messages import INTERRUPTED, full_text, heartbeat
from .outcome import (
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
    run_from_dict,
    run_to_dict,
)
from .runservice import RunService
from .scheduler import RunJob
from .settings import Settings

GATE_KEY = pytest.StashKey["Gate"]()
REPORT_ATTRIBUTE = "sipfront"
BROKER_INPUT = "sipfront_broker"
ENDPOINT = {"test": "/tests/run", "project": "/projects/run"}


class SipfrontWarning(UserWarning):
    """Something about a Sipfront run worth knowing that did not decide its verdict."""


class Gate:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        api_url = settings.api_url if settings.sandbox else check_base_url(settings.api_url)
        self.preset: dict[str, RunOutcome] = {}
        """Verdicts decided here without Sipfront: the dry run's skips."""
        self.records: dict[str, ItemRecord] = {}
        self.still_running: list[RunOutcome] = []
        self.interrupted = False
        self.finished = False
        self.consumed: set[str] = set()
        self.failures = 0
        self.manifest_errors: list[tuple[str, int, int, str]] = []
        maxfail = int(config.getoption("maxfail", 0) or 0)
        if config.getoption("reruns", 0, skip=True):
            maxfail = 0  # pytest-rerunfailures: a failed run is retried, not a reason to stop
        self.local = RunService(settings, api_url, max_failures=maxfail)
        self.broker: Broker | None = None
        worker = getattr(config, "workerinput", None)
        self.is_worker = worker is not None
        address = worker.get(BROKER_INPUT) if worker else None
        # Under pytest-xdist the controller runs the service and workers ask it for verdicts.
        self.service: RunService | BrokerClient = BrokerClient(address) if address else self.local

    @property
    def api_url(self) -> str:
        return self.local.api_url

    def serve_workers(self) -> str:
        """On the xdist controller: serve the run service; the address goes to every worker."""
        if self.broker is None:
            self.broker = Broker(self.local)
            self.broker.start(heartbeat=self.settings.heartbeat, stream=sys.stderr)
        return self.broker.address

    # -- run loop start ----------------------------------------------------------------------

    def start(self, session: pytest.Session) -> None:
        """Trigger every selected, unskipped Sipfront item, in item order, ahead of pytest."""
        items = [item for item in session.items if isinstance(item, SipfrontItem)]
        # skip and skipif marks (a manifest's skip:, or one a conftest adds) trigger nothing.
        runnable = [item for item in items if evaluate_skip_marks(item) is None]
        if not runnable:
            return
        if self.settings.dry_run:
            for item in runnable:
                self.preset[item.nodeid] = self._dry_run(item)
            return
        if self.is_worker and not isinstance(self.service, BrokerClient):
            # An xdist worker without a controller's broker (docs/design.md, first xdist form): it
            # triggers only the items it is handed, when it reaches them.
            return
        self.service.plan([self._job(item) for item in runnable])

    def _new_outcome(self, item: SipfrontItem, verdict: Verdict, message: str = "") -> RunOutcome:
        return RunOutcome(
            name=item.spec.name,
            verdict=verdict,
            message=message,
            target=item.spec.target,
            kind=item.spec.kind,
            manifest=item.manifest,
            line=item.spec.line,
            sandbox=self.settings.sandbox,
        )

    def _body(self, item: SipfrontItem) -> dict[str, Any]:
        return request_body(item.spec, self.settings.report_mode)

    def _job(self, item: SipfrontItem) -> RunJob:
        spec = item.spec
        return RunJob(
            key=item.nodeid,
            kind=spec.kind,
            body=self._body(item),
            timeout=spec.timeout or self.settings.timeout,
            poll_interval=spec.poll_interval or self.settings.poll_interval,
            retries=spec.retries or 0,
            outcome=self._new_outcome(item, Verdict.UNKNOWN),
            expect_failure=spec.xfail is not None,
        )

    def _dry_run(self, item: SipfrontItem) -> RunOutcome:
        body = json.dumps(self._body(item), sort_keys=True, ensure_ascii=False)
        timeout = format_duration(item.spec.timeout or self.settings.timeout)
        message = f"dry run: would POST {ENDPOINT[item.spec.kind]} {body} (timeout {timeout})"
        return self._new_outcome(item, Verdict.SKIPPED, message)

    # -- waiting, on the main thread -----------------------------------------------------------

    def wait_for(self, item: SipfrontItem) -> RunOutcome:
        key = item.nodeid
        if key in self.preset:
            return self.preset[key]
        if key in self.consumed or not self.service.knows(key):
            # A rerun (pytest-rerunfailures), or an item the run loop did not plan: a fresh run.
            self.service.run_now(self._job(item))
        while True:
            outcome = self.service.wait(key, timeout=self.settings.heartbeat)
            if outcome is not None:
                break
            self._heartbeat(item)
        self.consumed.add(key)
        for text in outcome.warnings:
            warnings.warn(SipfrontWarning(text), stacklevel=1)
        spec = item.spec
        if (
            spec.kind == "project"
            and spec.report_mode is None
            and (self.settings.report_mode == "print")
        ):
            warnings.warn(
                SipfrontWarning(
                    f"{spec.name}: report mode 'print' is for tests only; the project run was "
                    "started without report.mode (set report_mode: full or kiosk on the entry)"
                ),
                stacklevel=1,
            )
        return outcome

    def _heartbeat(self, item: SipfrontItem) -> None:
        if isinstance(self.service, BrokerClient):
            return  # xdist hides a worker's stderr: the controller writes the heartbeat
        progress = self.service.progress()
        running_s = self.service.running_for(item.nodeid)
        line = heartbeat(
            item.spec.name, running_s, progress.running, progress.done, progress.queued
        )
        line += "\n"
        capman = self.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                sys.stderr.write(line)
                sys.stderr.flush()
        else:
            sys.stderr.write(line)

    def stopped_by_another_plugin(self, item: SipfrontItem, crash: str) -> str:
        """pytest-timeout (or another plugin's ``pytest.fail``) stopped an item while it waited:
        report that without a traceback, with the run's link, and the run as still going."""
        outcome = self.service.interrupted(item.nodeid) or self._new_outcome(
            item, Verdict.INTERRUPTED, INTERRUPTED
        )
        first = crash.strip().splitlines()[0] if crash.strip() else "Stopped by another plugin"
        first = first.removeprefix("Failed: ").rstrip(".")
        rest = outcome.message.removeprefix("Interrupted; ")
        outcome.message = f"{first}; {rest[0].lower()}{rest[1:]}"
        item.run_outcome = outcome
        self.record_properties(item, outcome)
        return full_text(outcome)

    def record_properties(self, item: SipfrontItem, outcome: RunOutcome) -> None:
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

    # -- reports -------------------------------------------------------------------------------

    def attach(self, item: SipfrontItem, report: pytest.TestReport) -> None:
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
                "sandbox": self.settings.sandbox,
            },
        )

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
        self.records[report.nodeid] = ItemRecord(
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
        if report.failed:
            # -x / --maxfail: nothing new is triggered once pytest is going to stop. Counted
            # here because under xdist the controller decides to stop only after this hook.
            self.failures += 1
            maxfail = int(self.config.getoption("maxfail", 0) or 0)
            if maxfail and self.failures >= maxfail:
                self.service.stop_triggering()

    def finish(self) -> None:
        """Stop what is going, list runs still going at Sipfront, write the reports."""
        if self.finished:
            return
        self.finished = True
        # Runs triggered but without a verdict have no report: pytest never reached them, or
        # was waiting for one when it was stopped. Sipfront has no cancel endpoint.
        self.still_running.extend(self.local.shutdown())
        if self.broker is not None:
            self.broker.stop()
        if self.is_worker:
            return
        info = self.info()
        records = list(self.records.values())
        if self.settings.junit:
            write_junit(self.settings.junit, records, info)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()  # a workflow command must start its own line
        write_github(records, info, environ=os.environ, stream=sys.stdout)

    def info(self) -> SessionInfo:
        return SessionInfo(
            api_url=self.api_url,
            sandbox=self.settings.sandbox,
            rootdir=str(self.config.rootpath),
            interrupted=self.interrupted,
            still_running=self.still_running,
            manifest_errors=self.manifest_errors,
        )

    def summary_lines(self) -> tuple[str, list[str]]:
        title = "sipfront runs" + (
            " (SANDBOX: nothing was tested at Sipfront)" if self.settings.sandbox else ""
        )
        lines = []
        for record in self.records.values():
            word = record.outcome.value.upper()
            if record.flaky:
                word += " (flaky)"
            ran = record.run is not None and bool(record.run.attempts)
            duration = format_duration(record.duration_s) if ran else "-"
            link = record.report_url or ""
            lines.append(f"{word:<10} {record.name} {duration} {link}".rstrip())
        for outcome in self.still_running:
            if outcome.attempts:
                where = f"still going at Sipfront {outcome.report_url or ''}".rstrip()
            else:
                where = "trigger sent, no answer yet: a run may have started, check Sipfront"
            lines.append(f"{'RUNNING':<10} {outcome.name} {where}")
        return title, lines


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
