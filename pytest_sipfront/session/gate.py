"""The session's gate: turns the selected Sipfront items into runs, waits for their verdicts on
the main thread and keeps the one record every report is a view of."""

from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.skipping import evaluate_skip_marks

from pytest_sipfront.durations import format_duration
from pytest_sipfront.runs.history import history_properties
from pytest_sipfront.runs.messages import (
    INTERRUPTED,
    NOT_REACHED,
    bad_api_url,
    dry_run_history,
    full_text,
    heartbeat,
    history_case,
    report_not_written,
)
from pytest_sipfront.runs.outcome import (
    Attempt,
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
    run_from_dict,
    run_to_dict,
)
from pytest_sipfront.session.expected import cached_duration, remember_duration
from pytest_sipfront.session.items import SipfrontItem
from pytest_sipfront.settings import DEFAULT_API_URL, Settings

if TYPE_CHECKING:
    # The run service, its HTTP client and the report writers are imported when they are
    # first needed: a session without Sipfront items never loads requests, yaml or junit_xml.
    from pytest_sipfront.runs.broker import Broker, BrokerClient
    from pytest_sipfront.runs.scheduler import RunJob
    from pytest_sipfront.runs.service import RunService

GATE_KEY = pytest.StashKey["Gate"]()
REPORT_ATTRIBUTE = "sipfront"
BROKER_INPUT = "sipfront_broker"
ENDPOINT = {"test": "/tests/run", "project": "/projects/run"}


def check_base_url(url: str) -> str:
    """The client's check of an API URL; the built-in default needs no check (nor requests)."""
    if url == DEFAULT_API_URL:
        return url
    from pytest_sipfront.api.urls import check_base_url as check

    return check(url)


class SipfrontWarning(UserWarning):
    """Something about a Sipfront run worth knowing that did not decide its verdict."""


class Gate:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        # A bad URL matters only to a session that sends Sipfront requests: checked in start().
        self.url_error: str | None = None
        api_url = settings.api_url
        if not settings.sandbox:
            try:
                api_url = check_base_url(settings.api_url)
            except ValueError as error:
                self.url_error = str(error)
        self.preset: dict[str, RunOutcome] = {}
        """Verdicts decided here without Sipfront: the dry run's skips."""
        self.records: dict[str, ItemRecord] = {}
        self.still_running: list[RunOutcome] = []
        self.not_reached: list[RunOutcome] = []
        self.report_errors: list[str] = []
        self.interrupted = False
        self.finished = False
        self.consumed: set[str] = set()
        self.attempts: dict[str, list[Attempt]] = {}
        """Every attempt of an item's runs so far, a rerun's earlier runs included."""
        self.failures = 0
        self.manifest_errors: list[tuple[str, int, int, str]] = []
        maxfail = int(config.getoption("maxfail", 0) or 0)
        if config.getoption("reruns", 0, skip=True):
            maxfail = 0  # pytest-rerunfailures: a failed run is retried, not a reason to stop
        self._api_url = api_url
        if settings.junit:
            # Imported now, not while an interrupted session hurries to write its reports.
            from pytest_sipfront.reports import junit  # noqa: F401
        self._max_failures = maxfail
        self.broker: Broker | None = None
        worker = getattr(config, "workerinput", None)
        self.is_worker = worker is not None
        self._broker_address: str | None = worker.get(BROKER_INPUT) if worker else None

    @functools.cached_property
    def local(self) -> RunService:
        """This process's run service, made on first use (it imports the HTTP client)."""
        from pytest_sipfront.runs.service import RunService

        return RunService(self.settings, self._api_url, max_failures=self._max_failures)

    @functools.cached_property
    def service(self) -> RunService | BrokerClient:
        """Under pytest-xdist the controller runs the service and workers ask it for verdicts."""
        if self._broker_address:
            from pytest_sipfront.runs.broker import BrokerClient

            return BrokerClient(self._broker_address)
        return self.local

    @property
    def api_url(self) -> str:
        return self._api_url

    def serve_workers(self) -> str:
        """On the xdist controller: serve the run service; the address goes to every worker."""
        if self.broker is None:
            from pytest_sipfront.runs.broker import Broker

            self.broker = Broker(self.local)
            self.broker.start(heartbeat=self.settings.heartbeat, stream=sys.stderr)
        return self.broker.address

    # -- run loop start ----------------------------------------------------------------------

    def start(self, session: pytest.Session) -> bool:
        """Trigger every selected, unskipped Sipfront item, in item order, ahead of pytest.
        True when Sipfront runs are planned (the session then stops on SIGTERM like Ctrl-C)."""
        items = [item for item in session.items if isinstance(item, SipfrontItem)]
        # skip and skipif marks (a manifest's skip:, or one a conftest adds) trigger nothing.
        runnable = [item for item in items if evaluate_skip_marks(item) is None]
        if not runnable:
            return False
        if self.settings.dry_run:
            for item in runnable:
                self.preset[item.nodeid] = self._dry_run(item)
            return False
        if self.settings.junit and not self.is_worker:
            from pytest_sipfront.reports.junit import junit_path_problem

            xmlpath = getattr(self.config.option, "xmlpath", None)
            others = [xmlpath] if xmlpath else []
            problem = junit_path_problem(self.settings.junit, others)
            if problem is not None:
                raise pytest.UsageError(
                    f"pytest-sipfront: --sipfront-junit {self.settings.junit}: {problem}"
                )
        if self.url_error is not None and not self.is_worker:
            # (An xdist worker plans on the controller, which errors every item instead: a
            # usage error raised there would be an INTERNALERROR.)
            raise pytest.UsageError(f"pytest-sipfront: {bad_api_url(self.url_error)}")
        if self.is_worker and not self._broker_address:
            # An xdist worker without a controller's broker (docs/design.md, first xdist form):
            # it
            # triggers only the items it is handed, when it reaches them.
            return True
        self.service.plan([self._job(item) for item in runnable])
        return not self.is_worker

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
        from pytest_sipfront.manifest.loader import request_body

        return request_body(item.spec, self.settings.report_mode)

    def _job(self, item: SipfrontItem) -> RunJob:
        from pytest_sipfront.runs.scheduler import RunJob

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
            expected=cached_duration(self.config, item.nodeid),  # history may replace it
        )

    def _dry_run(self, item: SipfrontItem) -> RunOutcome:
        body = json.dumps(self._body(item), sort_keys=True, ensure_ascii=False)
        timeout = format_duration(item.spec.timeout or self.settings.timeout)
        lookup = ""
        if self.settings.history:
            from pytest_sipfront.runs.history import planned_lookup

            lookup = dry_run_history(planned_lookup(item.spec.kind, self._body(item)))
        message = (
            f"dry run: would {lookup}POST {ENDPOINT[item.spec.kind]} {body} (timeout {timeout})"
        )
        return self._new_outcome(item, Verdict.SKIPPED, message)

    # -- waiting, on the main thread -----------------------------------------------------------

    def wait_for(self, item: SipfrontItem) -> RunOutcome:
        key = item.nodeid
        if key in self.preset:
            return self.preset[key]
        if key in self.consumed or not self.service.knows(key):
            # A rerun (pytest-rerunfailures), or an item the run loop did not plan: a fresh run.
            # A rerun keeps the earlier attempts, so every report shows every attempt's link.
            job = self._job(item)
            job.outcome.attempts = list(self.attempts.get(key, []))
            self.service.run_now(job)
        while True:
            outcome = self.service.wait(key, timeout=self.settings.heartbeat)
            if outcome is not None:
                break
            self._heartbeat(item)
        self.consumed.add(key)
        self.attempts[key] = list(outcome.attempts)
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
        if self._broker_address:
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
        properties.extend(history_properties(outcome))
        remember_duration(self.config, item.nodeid, outcome)
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

    def attach_python_runs(
        self, report: pytest.TestReport, *, name: str, path: str, line: int, run: RunOutcome
    ) -> None:
        """A test that started Sipfront runs from Python (the ``sipfront`` fixture) is recorded
        like a manifest item: ``path:line`` of the test function, every run in ``run``."""
        setattr(
            report,
            REPORT_ATTRIBUTE,
            {
                "name": name,
                "manifest": path,
                "line": line,
                "run": run_to_dict(run),
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
        if "local" in self.__dict__:  # a run service was made (cached_property)
            self.still_running.extend(self.local.shutdown())
            # Runs that finished at Sipfront before pytest reached their items: their verdict.
            self.not_reached.extend(self.local.unclaimed())
        if self.broker is not None:
            self.broker.stop()
        if self.is_worker:
            return
        info = self.info()
        records = list(self.records.values())
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
            attempts = record.run.attempts if record.run is not None else []
            # Every attempt's link (retries, reruns): each is a run paid at Sipfront.
            link = " ".join(a.report_url for a in attempts if a.report_url)
            line = f"{word:<10} {record.name} {duration} {link}".rstrip()
            case = history_case(record.run) if record.run is not None else ""
            lines.append(f"{line} ({case})" if case else line)
        reported = {(record.manifest, record.name) for record in self.records.values()}
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
