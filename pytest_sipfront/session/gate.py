"""The session's gate: plans the selected Sipfront items as runs ahead of pytest and waits for
their verdicts on the main thread. What the reports show is kept in
:mod:`pytest_sipfront.session.records`."""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.skipping import evaluate_skip_marks

from pytest_sipfront.api.urls import TRIGGER_PATHS, check_base_url
from pytest_sipfront.reports.classify import run_marks
from pytest_sipfront.runs.job import RunJob, item_of
from pytest_sipfront.runs.media import media_off_problem
from pytest_sipfront.runs.messages import (
    DETACHED,
    INTERRUPTED,
    bad_api_url,
    detached,
    dry_run_request,
    full_text,
    heartbeat,
    stopped_by_plugin,
)
from pytest_sipfront.runs.outcome import Attempt, RunOutcome, Verdict
from pytest_sipfront.session.expected import cached_duration
from pytest_sipfront.session.items import SipfrontItem
from pytest_sipfront.session.keys import BROKER_INPUT
from pytest_sipfront.session.records import Records, record_properties
from pytest_sipfront.settings import Settings

if TYPE_CHECKING:
    # The run service, its HTTP client and the report writers are imported when they are
    # first needed: a session without Sipfront items never loads requests, yaml or junit_xml.
    from pytest_sipfront.runs.broker import Broker
    from pytest_sipfront.runs.job import Service
    from pytest_sipfront.runs.service import RunService


class SipfrontWarning(UserWarning):
    """Something about a Sipfront run worth knowing that did not decide its verdict."""


class Gate:
    """Plans the session's runs and waits for their verdicts; ``records`` keeps what the
    reports show. One per pytest config, made when the session first needs it."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        # A bad URL matters only to a session that sends Sipfront requests: checked in start().
        self.url_error: str | None = None
        api_url = settings.api_url
        worker = getattr(config, "workerinput", None)
        self.is_worker = worker is not None
        self._broker_address: str | None = worker.get(BROKER_INPUT) if worker else None
        # An xdist worker with a broker plans on the controller, which checks the URL there.
        if not settings.sandbox and not self._broker_address:
            try:
                api_url = check_base_url(settings.api_url)
            except ValueError as error:
                self.url_error = str(error)
        self._api_url = api_url
        self.records = Records(config, settings, api_url, writes=not self.is_worker)
        self.preset: dict[str, RunOutcome] = {}
        """Verdicts decided here without Sipfront: the dry run's skips."""
        self.consumed: set[str] = set()
        self.attempts: dict[str, list[Attempt]] = {}
        """Every attempt of an item's runs so far, a rerun's earlier runs included."""
        self.planned = False
        self.warned: set[str] = set()
        """Items already warned that the session's report mode was not sent for them."""
        # -x / --maxfail: the runs follow pytest's own count of failed items (judged()).
        self._max_failures = max(0, int(config.getoption("maxfail", 0) or 0))
        self.broker: Broker | None = None
        self._local: RunService | None = None
        self._local_lock = threading.Lock()

    @property
    def local(self) -> RunService:
        """This process's run service, made on first use (it imports the HTTP client); on the
        xdist controller perhaps by the broker's thread, hence the lock."""
        with self._local_lock:
            if self._local is None:
                from pytest_sipfront.runs.service import RunService
                from pytest_sipfront.session.ledger import book_for

                self._local = RunService(
                    self.settings,
                    self._api_url,
                    max_failures=self._max_failures,
                    ledger=book_for(self.config, self.settings),
                )
            return self._local

    @property
    def sandbox(self) -> bool:
        """True when this session talks to a sandbox: the one place reports learn it. Its own
        (--sipfront-sandbox), or a server at the API URL whose answers said they came from a
        sandbox (``sipfront sim``); on the xdist controller the service there knows."""
        if self.settings.sandbox:
            return True
        with self._local_lock:
            local = self._local
        return local is not None and local.talks_to_sandbox

    @functools.cached_property
    def service(self) -> Service:
        """Under pytest-xdist the controller runs the service and workers ask it for verdicts."""
        if self._broker_address:
            from pytest_sipfront.runs.broker import BrokerClient

            return BrokerClient(self._broker_address)
        return self.local

    def runs_planned(self) -> bool:
        """On the xdist controller: True once a worker planned Sipfront runs here."""
        return self._local is not None and self._local.planned

    def serve_workers(self) -> str:
        """On the xdist controller: serve the run service; the address goes to every worker."""
        if self.broker is None:
            from pytest_sipfront.runs.broker import Broker

            self.broker = Broker(lambda: self.local)
            self.broker.start(heartbeat=self.settings.heartbeat, stream=sys.stderr)
        return self.broker.address

    # -- run loop start ----------------------------------------------------------------------

    def start(self, session: pytest.Session) -> bool:
        """Trigger every selected, unskipped Sipfront item, in item order, ahead of pytest.
        True when Sipfront runs are planned (the session then stops on SIGTERM like Ctrl-C).
        Called once: at the run loop start, or on an xdist worker when its collection ends."""
        if self.planned:
            return False
        self.planned = True
        items = [item for item in session.items if isinstance(item, SipfrontItem)]
        # skip and skipif marks (a manifest's skip:, or one a conftest adds) trigger nothing.
        runnable = [item for item in items if evaluate_skip_marks(item) is None]
        if not runnable:
            return False
        if self.settings.dry_run:
            for item in runnable:
                self.preset[item.nodeid] = self._dry_run(item)
            return False
        if not self.is_worker:
            self._check_before_triggering()
            self._check_media(runnable)
        if self.is_worker and not self._broker_address:
            # An xdist worker without a controller's broker (the plugin not loaded on the
            # controller): it triggers only the items it is handed, when it reaches them.
            return True
        self.service.plan([self._job(item) for item in runnable])
        return not self.is_worker

    def _check_media(self, items: list[SipfrontItem]) -> None:
        """``--sipfront-media off`` sends no stats request: thresholds are a usage error."""
        problem = media_off_problem(
            self.settings.media,
            [(f"{item.manifest}:{item.spec.line}", item.spec.thresholds) for item in items],
        )
        if problem is not None:
            raise pytest.UsageError(f"pytest-sipfront: {problem}")

    def _check_before_triggering(self) -> None:
        """Usage errors of a session that would send Sipfront requests. (An xdist worker plans
        on the controller, which errors every item instead: a usage error raised there would
        be an INTERNALERROR.)"""
        if self.settings.junit:
            from pytest_sipfront.reports.junit import junit_path_problem

            xmlpath = getattr(self.config.option, "xmlpath", None)
            others = [xmlpath] if xmlpath else []
            problem = junit_path_problem(self.settings.junit, others)
            if problem is not None:
                raise pytest.UsageError(
                    f"pytest-sipfront: --sipfront-junit {self.settings.junit}: {problem}"
                )
        if self.settings.json:
            from pytest_sipfront.reports.junit import junit_path_problem

            problem = junit_path_problem(self.settings.json)
            if problem is not None:
                raise pytest.UsageError(
                    f"pytest-sipfront: --sipfront-json {self.settings.json}: {problem}"
                )
        if self.url_error is not None:
            raise pytest.UsageError(f"pytest-sipfront: {bad_api_url(self.url_error)}")
        if self.settings.sandbox_catalog:
            from pytest_sipfront.sandbox import CatalogError

            try:
                self.local.sandbox_catalog()
            except CatalogError as error:
                raise pytest.UsageError(
                    f"pytest-sipfront: --sipfront-sandbox-catalog: {error}"
                ) from None
        if self.settings.ledger:  # locked and read before anything is triggered
            problem = self.local.open_ledger()
            if problem:
                raise pytest.UsageError(f"pytest-sipfront: {problem}")

    def _new_outcome(self, item: SipfrontItem, verdict: Verdict, message: str = "") -> RunOutcome:
        return RunOutcome(
            name=item.spec.name,
            verdict=verdict,
            message=message,
            target=item.spec.target,
            kind=item.spec.kind,
            manifest=item.manifest,
            line=item.spec.line,
            sandbox=self.sandbox,
        )

    def _body(self, item: SipfrontItem) -> dict[str, Any]:
        from pytest_sipfront.manifest.loader import request_body

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
            expected=cached_duration(self.config, item.nodeid),  # history may replace it
            fail_on_new_only=self.settings.fail_on == "new",
            thresholds=spec.thresholds,
        )

    def _dry_run(self, item: SipfrontItem) -> RunOutcome:
        body = json.dumps(self._body(item), sort_keys=True, ensure_ascii=False)
        timeout = item.spec.timeout or self.settings.timeout
        lookup = ""
        if self.settings.history:
            from pytest_sipfront.runs.history import planned_lookup

            lookup = planned_lookup(item.spec.kind, self._body(item))
        message = dry_run_request(TRIGGER_PATHS[item.spec.kind], body, timeout, lookup)
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
        if self.settings.detach and not self._broker_address:
            return self._detached(item)
        waiting = time.monotonic()
        while True:
            outcome = self.service.wait(key, timeout=self.settings.heartbeat)
            if outcome is not None:
                break
            self._heartbeat(item)
        outcome.wait_s = time.monotonic() - waiting
        self.consumed.add(key)
        self.attempts[key] = list(outcome.attempts)
        for text in outcome.warnings:
            warnings.warn(SipfrontWarning(text), stacklevel=1)
        if key not in self.warned and self._mode_not_sent(item):
            self.warned.add(key)  # once per item, not again on a rerun
            warnings.warn(
                SipfrontWarning(
                    f"{item.spec.name}: report mode '{self.settings.report_mode}' is for tests "
                    "only; the project run was started without report.mode (set report_mode: "
                    "full or kiosk on the entry)"
                ),
                stacklevel=1,
            )
        return outcome

    def _detached(self, item: SipfrontItem) -> RunOutcome:
        """``--sipfront-detach``: the item ends once its trigger is answered (and recorded in
        the ledger); its run goes on at Sipfront and a later session collects it."""
        key = item.nodeid
        while True:
            found = self.local.wait_answered(key, timeout=self.settings.heartbeat)
            if found is not None:
                break
            self._heartbeat(item)
        outcome, final = found
        if final:  # a verdict already: reused, refused, or a run quicker than its trigger
            self.consumed.add(key)
            return self.local.wait(key, 0) or outcome
        self.consumed.add(key)
        outcome.verdict = Verdict.SKIPPED
        outcome.message = detached(str(self.settings.ledger))
        outcome.ledger = outcome.ledger or DETACHED
        return outcome

    def _mode_not_sent(self, item: SipfrontItem) -> bool:
        """The session's report mode was left out of the run's request (the manifest loader
        decides which modes a run takes)."""
        return bool(self.settings.report_mode) and "report.mode" not in self._body(item)

    def _heartbeat(self, item: SipfrontItem) -> None:
        if self._broker_address:
            return  # xdist hides a worker's stderr: the controller writes the heartbeat
        progress = self.service.progress()
        running_s = self.service.running_for(item.nodeid)
        line = heartbeat(
            item.spec.name, running_s, progress.running, progress.done, progress.queued
        )
        self.write_heartbeat(line)

    def write_heartbeat(self, line: str) -> None:
        """One heartbeat line to stderr, past pytest's capture (manifest items and fixture
        runs alike). Under pytest-xdist the controller writes them (a worker's stderr is
        hidden), so a worker writes nothing."""
        if self._broker_address:
            return
        capman = self.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def stopped_by_another_plugin(self, item: SipfrontItem, crash: str) -> str:
        """pytest-timeout (or another plugin's ``pytest.fail``) stopped an item while it waited:
        report that without a traceback, with the run's link, and the run as still going."""
        outcome = self.service.interrupted(item.nodeid) or self._new_outcome(
            item, Verdict.INTERRUPTED, INTERRUPTED
        )
        outcome.message = stopped_by_plugin(crash, outcome.message)
        item.run_outcome = outcome
        record_properties(item, outcome)
        return full_text(outcome)

    def judged(self, report: pytest.TestReport, session: pytest.Session) -> None:
        """pytest reported on an item: once its last phase (or a failure) is in, its runs'
        verdicts stop holding the queue, and when pytest is stopping (-x, --maxfail, or any
        other reason) nothing new is triggered. Only where the runs are (this process, or
        the xdist controller, which sees every worker's reports)."""
        if report.when != "teardown" and not report.failed:
            return
        with self._local_lock:
            local = self._local
        if local is None or self._broker_address:
            return
        stopping = bool(session.shouldfail or session.shouldstop)
        local.judged(report.nodeid, session.testsfailed, stopping=stopping)

    # -- the session's end ---------------------------------------------------------------------

    def finish(self) -> None:
        """Stop what is going, list runs still going at Sipfront, write the reports."""
        records = self.records
        if records.finished:
            return
        records.finished = True
        # Runs triggered but without a verdict have no report: pytest never reached them, or
        # was waiting for one when it was stopped. Sipfront has no cancel endpoint.
        with self._local_lock:
            local = self._local
        if local is not None:  # a run service was made
            records.still_running.extend(local.shutdown())
            # Runs with a verdict whose items pytest never reported (the session stopped
            # before them, or a pytest-xdist worker crashed): Sipfront's verdict. A test's
            # runs, waited for or not, belong to its record.
            for key, run in local.finished().items():
                record = records.by_nodeid.get(item_of(key))
                if record is None:
                    records.not_reached.append(run)
                elif record.run is not None and not run_marks(run) <= run_marks(record.run):
                    # A run its test never waited for, on a pytest-xdist worker (whose copy
                    # never saw the trigger's answer): its link belongs to the test's record.
                    record.run.attempts.extend(run.attempts)
                    record.run.runs += 1  # another run, not a retry
        if self.broker is not None:
            self.broker.stop()
        if not self.is_worker:
            records.sandbox = self.sandbox
            from pytest_sipfront.session import extras

            # pytest-html and allure write their environment after this: SANDBOX if it was one.
            api_url = None if self.settings.sandbox else records.api_url
            extras.update_environment(self.config, api_url=api_url, sandbox=records.sandbox)
            records.write()
