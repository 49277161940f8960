"""The one place that talks to Sipfront in a session: checks what must hold before the first
trigger (run budget, credentials or sandbox), then owns the client and the scheduler.

In one pytest process the gate uses it directly; under pytest-xdist it lives in the controller
and the workers reach it through :mod:`pytest_sipfront.runs.broker`, so every run of the session is
triggered once, under one concurrency limit and one rate limit.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pytest_sipfront.api.client import SipfrontClient
from pytest_sipfront.api.ratelimit import RateLimiter
from pytest_sipfront.api.urls import check_base_url
from pytest_sipfront.ledger.book import LedgerBook
from pytest_sipfront.ledger.store import LedgerBusy, LedgerUnreadable
from pytest_sipfront.manifest.safety import credential_problem
from pytest_sipfront.runs.history import HistoryBook
from pytest_sipfront.runs.job import Progress, RunJob
from pytest_sipfront.runs.ledgered import RunLedger
from pytest_sipfront.runs.media import MediaChecker, media_off_problem
from pytest_sipfront.runs.messages import (
    INTERRUPTED,
    INTERRUPTED_MEASURING,
    INTERRUPTED_QUEUED,
    INTERRUPTED_SENDING,
    NO_CREDENTIALS,
    bad_api_url,
    ledger_busy,
    ledger_unreadable,
    too_many_runs,
)
from pytest_sipfront.runs.outcome import RunOutcome, Verdict
from pytest_sipfront.runs.scheduler import Scheduler
from pytest_sipfront.settings import PUBLIC_KEY_VAR, SECRET_KEY_VAR, Settings, credentials

if TYPE_CHECKING:
    from pytest_sipfront.sandbox import Catalog, SandboxServer


class RunService:
    """The session's runs in this process (a :class:`~pytest_sipfront.runs.job.Service`)."""

    def __init__(
        self,
        settings: Settings,
        api_url: str,
        environ: Mapping[str, str] | None = None,
        max_failures: int = 0,
        ledger: LedgerBook | None = None,
    ):
        self.settings = settings
        self.ledger = RunLedger(ledger) if ledger is not None else None
        self._consulted: set[str] = set()
        self.max_failures = max_failures
        self.api_url = api_url
        self._environ = os.environ if environ is None else environ
        self._lock = threading.Lock()
        self._planned = False
        self._runs = 0
        """Runs this session may start so far (each retry counted), for --sipfront-max-runs."""
        self._preset: dict[str, RunOutcome] = {}
        self.client: SipfrontClient | None = None
        self.scheduler: Scheduler | None = None
        self.sandbox: SandboxServer | None = None
        self._catalog: Catalog | None = None

    def sandbox_catalog(self) -> Catalog:
        """The session's sandbox catalog, read once (the gate checks it before the first
        trigger); raises :class:`CatalogError` with a sentence naming the file and line."""
        if self._catalog is None:
            from pytest_sipfront.sandbox import Catalog

            path = self.settings.sandbox_catalog
            self._catalog = Catalog.load(path) if path else Catalog.default()
        return self._catalog

    @property
    def talks_to_sandbox(self) -> bool:
        """True when this session's runs go to a sandbox: its own, or a server that said it
        is one (``sipfront sim`` behind a plain API URL)."""
        return self.settings.sandbox or (self.client is not None and self.client.sandbox_seen)

    @property
    def planned(self) -> bool:
        """True once a run was planned (or run at once) in this session."""
        with self._lock:
            return self._planned

    def plan(self, jobs: Sequence[RunJob]) -> None:
        """Queue these runs in order. The first plan decides budget and credentials; a later
        plan (another xdist worker sending the same items) only adds keys not seen yet."""
        with self._lock:
            if not self._planned:
                self._planned = True
                self._first_plan(jobs)
                return
            scheduler = self.scheduler
            if scheduler is None:
                for job in jobs:
                    if job.key not in self._preset:
                        self._preset_one(job, *self._why_not())
                return
            for job in jobs:
                # (a key the ledger already decided is known: another worker sent it first)
                if not scheduler.knows(job.key) and job.key not in self._consulted:
                    if self._over_budget(job) or self._decided_by_ledger(job):
                        continue
                    scheduler.add(job)

    def _why_not(self) -> tuple[Verdict, str]:
        sample = next(iter(self._preset.values()), None)
        if sample is None:
            return Verdict.AUTH, NO_CREDENTIALS
        return sample.verdict, sample.message

    def _preset_one(self, job: RunJob, verdict: Verdict, message: str) -> None:
        job.outcome.verdict = verdict
        job.outcome.message = message
        self._preset[job.key] = job.outcome

    def _over_budget(self, job: RunJob) -> bool:
        """Count a run (and its retries) added after the first plan, a rerun of
        pytest-rerunfailures included; refuse it, triggering nothing, when it would pass
        --sipfront-max-runs."""
        wanted = self._runs + 1 + job.retries
        if wanted > self.settings.max_runs:
            self._preset_one(job, Verdict.MAX_RUNS, too_many_runs(wanted, self.settings.max_runs))
            return True
        self._preset.pop(job.key, None)
        self._runs = wanted
        return False

    def open_ledger(self) -> str | None:
        """Lock and read the session's ledger (once); the problem's sentence, or ``None``."""
        if self.ledger is None:
            return None
        path = str(self.ledger.book.path)
        try:
            self.ledger.book.open()
        except LedgerUnreadable as error:
            return ledger_unreadable(path, error.reason)
        except LedgerBusy as error:
            return ledger_busy(path, error.waited)
        return None

    def _decided_by_ledger(self, job: RunJob) -> bool:
        """Look ``job`` up in the ledger, once per key: True when it was reused (its verdict
        is final, nothing is sent); a run still going is re-attached by the scheduler."""
        if self.ledger is None:
            return False
        if job.key in self._consulted:  # a rerun (pytest-rerunfailures): recorded, triggered
            self.ledger.keep(job)
            return False
        self._consulted.add(job.key)
        if not self.ledger.consult(job):
            return False
        self._preset[job.key] = job.outcome
        return True

    def _first_plan(self, jobs: Sequence[RunJob]) -> None:
        planned = sum(1 + job.retries for job in jobs)
        if planned > self.settings.max_runs:
            message = too_many_runs(planned, self.settings.max_runs)
            for job in jobs:
                self._preset_one(job, Verdict.MAX_RUNS, message)
            return
        self._runs = planned
        for job in jobs:
            where = f"{job.outcome.manifest}:{job.outcome.line}"
            problem = media_off_problem(self.settings.media, [(where, job.thresholds)])
            if problem is not None:
                self._preset_one(job, Verdict.REFUSED, problem)
        jobs = [job for job in jobs if job.key not in self._preset]
        if not self.settings.sandbox:
            try:
                self.api_url = check_base_url(self.api_url)
            except ValueError as error:
                for job in jobs:
                    self._preset_one(job, Verdict.REFUSED, bad_api_url(str(error)))
                return
        problem = self.open_ledger()
        if problem:  # (the gate raised it as a usage error where it could, before this)
            for job in jobs:
                self._preset_one(job, Verdict.REFUSED, problem)
            return
        if self.settings.sandbox:
            from pytest_sipfront.sandbox import CatalogError  # (a sandbox session only)

            try:
                keys = self._credentials()
            except CatalogError as error:  # under xdist, where the gate could not check it first
                for job in jobs:
                    self._preset_one(job, Verdict.REFUSED, str(error))
                return
        else:
            keys = self._credentials()
        if keys is None:
            for job in jobs:
                self._preset_one(job, Verdict.AUTH, NO_CREDENTIALS)
            return
        problem = credential_problem(PUBLIC_KEY_VAR, keys[0]) or credential_problem(
            SECRET_KEY_VAR, keys[1]
        )
        if problem:  # one clear error per item; the session's other tests still run
            for job in jobs:
                self._preset_one(job, Verdict.AUTH, problem)
            return
        # One event stops everything: the scheduler's threads and the client's retry waits
        # (without it a status request being retried goes on until its run's deadline).
        cancel = threading.Event()
        self.client = SipfrontClient(
            self.api_url,
            keys[0],
            keys[1],
            limiter=RateLimiter(self.settings.max_rps),
            pool_size=min(32, max(2, self.settings.concurrency)),
            cancel=cancel,
        )
        self.scheduler = Scheduler(
            self.client,
            concurrency=self.settings.concurrency,
            max_failures=self.max_failures,
            cancel=cancel,
            history=HistoryBook(self.client) if self.settings.history else None,
            ledger=self.ledger,
            media=(
                MediaChecker(self.client, self.settings.media)
                if self.settings.media != "off"
                else None
            ),
        )
        for job in jobs:
            if not self._decided_by_ledger(job):
                self.scheduler.add(job)
        self.scheduler.start()

    def _credentials(self) -> tuple[str, str] | None:
        if self.settings.sandbox:
            # Only a sandbox session loads the sandbox (its server, catalog reader and API).
            from pytest_sipfront.sandbox import SandboxServer

            self.sandbox = SandboxServer(self.sandbox_catalog())
            self.api_url = self.sandbox.start()
            return SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY
        return credentials(self._environ)

    def run_now(self, job: RunJob) -> None:
        """A fresh run ahead of every queued one: a rerun, or an item nobody planned."""
        with self._lock:
            if not self._planned:
                self._planned = True
                self._first_plan([job])
                return
            if self.scheduler is None:
                self._preset_one(job, *self._why_not())
                return
            if self._over_budget(job) or self._decided_by_ledger(job):
                return
            self.scheduler.add(job, front=True)

    def knows(self, key: str) -> bool:
        with self._lock:
            return key in self._preset or (self.scheduler is not None and self.scheduler.knows(key))

    def wait(self, key: str, timeout: float | None) -> RunOutcome | None:
        with self._lock:
            preset = self._preset.get(key)
            scheduler = self.scheduler
        if preset is not None:
            return preset
        if scheduler is None:
            return None
        outcome = scheduler.wait(key, timeout)
        if outcome is None and scheduler.closed:
            # The session is stopping (an xdist worker may still be waiting): answer at once.
            return self.interrupted(key)
        if outcome is not None and self.talks_to_sandbox:
            outcome.sandbox = True  # a verdict from a sandbox says so wherever it goes
        return outcome

    def wait_answered(self, key: str, timeout: float | None) -> tuple[RunOutcome, bool] | None:
        """``--sipfront-detach``: the run of ``key`` once its trigger is answered (a copy, as
        it was then), and True when it has its verdict already (then :meth:`wait` takes it)."""
        with self._lock:
            preset = self._preset.get(key)
            scheduler = self.scheduler
        if preset is not None:
            return preset, True
        if scheduler is None:
            return None
        found = scheduler.wait_answered(key, timeout)
        if found is None:
            return None
        outcome, final = found
        return (outcome, True) if final else (copy.deepcopy(outcome), False)

    def current(self, key: str) -> RunOutcome | None:
        """A run still without a verdict, as far as it got (trigger answer, last status)."""
        scheduler = self.scheduler
        return scheduler.outcome_of(key) if scheduler is not None else None

    def interrupted(self, key: str) -> RunOutcome | None:
        outcome = self.current(key)
        if outcome is None:
            return None
        sending = self.scheduler is not None and self.scheduler.sending(key)
        return _stopped(copy.deepcopy(outcome), sending=sending)

    def progress(self) -> Progress:
        scheduler = self.scheduler
        return scheduler.progress() if scheduler else Progress(0, len(self._preset), 0)

    def name_of(self, key: str) -> str:
        scheduler = self.scheduler
        return scheduler.name_of(key) if scheduler else key

    def running_for(self, key: str) -> float:
        scheduler = self.scheduler
        return scheduler.running_for(key) if scheduler else 0.0

    def stop_triggering(self) -> None:
        """Nothing new is triggered from now on; runs in flight go on being polled, and every
        queued run ends at once, not triggered."""
        if self.scheduler is not None:
            self.scheduler.stop_triggering()

    def judged(self, nodeid: str, failed_items: int, *, stopping: bool) -> None:
        """pytest reported item ``nodeid`` and has counted ``failed_items`` failed items;
        ``stopping``: pytest stops after this item (-x, --maxfail), so nothing new is
        triggered. The one place -x and --maxfail reach the runs: pytest's count, never a
        run's verdict."""
        scheduler = self.scheduler
        if scheduler is None:
            return
        scheduler.judged(nodeid, failed_items)
        if stopping:
            scheduler.stop_triggering()

    def finished(self) -> dict[str, RunOutcome]:
        """Every triggered run with a verdict, by key (copies)."""
        scheduler = self.scheduler
        if scheduler is None:
            return {}
        return {key: copy.deepcopy(run) for key, run in scheduler.finished().items()}

    def shutdown(self) -> list[RunOutcome]:
        """Stop at once; the runs still going at Sipfront (they cannot be cancelled there),
        marked interrupted. The scheduler lists only runs triggered or being triggered."""
        scheduler = self.scheduler
        still = scheduler.shutdown(self.settings.shutdown_grace) if scheduler is not None else []
        for outcome in still:
            _stopped(outcome, sending=not outcome.attempts)
        if self.client is not None:
            self.client.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.ledger is not None:
            self.ledger.book.close()
        return still


def _stopped(outcome: RunOutcome, *, sending: bool) -> RunOutcome:
    """Mark a run without a verdict as interrupted, saying how far it got."""
    outcome.verdict = Verdict.INTERRUPTED
    if outcome.attempts and outcome.attempts[-1].finished:  # its media metrics were being read
        outcome.message = INTERRUPTED_MEASURING
    elif outcome.attempts:
        outcome.message = INTERRUPTED
    elif sending:  # no answer to its trigger yet: a run may have started, but there is no link
        outcome.message = INTERRUPTED_SENDING
    else:
        outcome.message = INTERRUPTED_QUEUED
    return outcome
