"""Sipfront runs from Python, without pytest: :class:`Sipfront`.

It is the gate's run service with another front: the same checks before the first trigger
(run budget, credentials or sandbox), the same scheduler (concurrency, one shared rate limit,
retry rules; a trigger is never sent twice) and the same verdicts and messages as a manifest
item. The ``sipfront`` pytest fixture is a :class:`Sipfront` backed by the session's service.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_sipfront.library.requests import (
    Duration,
    RequestProblem,
    RunRequest,
    request_for_project,
    request_for_test,
)
from pytest_sipfront.library.results import (
    Raiser,
    RunHandle,
    RunResult,
    SipfrontRunError,
    SipfrontRunFailed,
)
from pytest_sipfront.runs.messages import DETACHED, INTERRUPTED_QUEUED, detached, heartbeat
from pytest_sipfront.runs.outcome import RunOutcome, Verdict
from pytest_sipfront.settings import (
    LEDGER_VAR,
    REUSE_VAR,
    Settings,
    SettingsError,
    option_name,
    resolve,
)

if TYPE_CHECKING:
    from pytest_sipfront.ledger.book import LedgerBook
    from pytest_sipfront.runs.job import RunJob, Service
    from pytest_sipfront.runs.service import RunService

_OWN_MODULES = ("pytest_sipfront.",)
_counter = itertools.count(1)
CLOSED = "This Sipfront client is closed: it triggers nothing more"


def caller_location(root: Path) -> tuple[str, int]:
    """``path:line`` of the code that called into this package (the test or script line)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(
        _OWN_MODULES
    ):
        frame = frame.f_back
    path = Path(frame.f_code.co_filename)
    try:
        shown = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return shown, frame.f_lineno


def _located(where: tuple[str, int], text: str) -> str:
    return f"{where[0]}:{where[1]}: {text}" if where[0] else text


def _book(settings: Settings, environ: Mapping[str, str]) -> LedgerBook | None:
    """The run ledger of a client made with ``ledger=``; its revision from the environment or
    ``git rev-parse HEAD`` in the working directory."""
    if not settings.ledger:
        return None
    from pytest_sipfront.ledger.book import LedgerBook
    from pytest_sipfront.ledger.key import find_revision

    return LedgerBook(
        settings.ledger,
        find_revision(environ, Path.cwd()),
        environ,
        reuse=settings.reuse,
        max_age=settings.reuse_max_age,
    )


class Sipfront:
    """Trigger Sipfront runs and wait for their verdicts.

    Credentials come from ``SIPFRONT_PUBLIC_KEY`` and ``SIPFRONT_SECRET_KEY`` in the
    environment only (``sandbox=True`` needs none). Settings take the values the command line
    options take (``timeout="15m"``, ``max_rps=5``). Use it as a context manager: leaving it
    stops triggering; :meth:`close` returns the runs still going at Sipfront.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        concurrency: int | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        max_rps: float | None = None,
        report_mode: str | None = None,
        max_runs: int | None = None,
        heartbeat: Duration | None = None,
        sandbox: bool = False,
        sandbox_catalog: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        ledger: str | os.PathLike[str] | None = None,
        reuse: str | None = None,
        reuse_max_age: Duration | None = None,
        detach: bool = False,
        media: str | None = None,
    ) -> None:
        """Raises ``ValueError`` (``SettingsError``) naming a setting that cannot be used, or a
        ``ledger`` that cannot be read or is held by another session. With a ``ledger`` the
        client holds it (a lock) until :meth:`close`. ``media``: ``off``, ``failed`` (default)
        or ``all``, as ``--sipfront-media``."""
        from pytest_sipfront.runs.service import RunService

        environment = os.environ if environ is None else environ
        given = {
            "api_url": api_url,
            "concurrency": concurrency,
            "timeout": timeout,
            "poll_interval": poll_interval,
            "max_rps": max_rps,
            "report_mode": report_mode,
            "max_runs": max_runs,
            "heartbeat": heartbeat,
            "ledger": None if ledger is None else os.fspath(ledger),
            "reuse": reuse,
            "reuse_max_age": reuse_max_age,
            "media": media,
        }
        try:
            settings = resolve(
                {key: value for key, value in given.items() if value is not None},
                {},
                # A ledger only when asked for here: a script run inside a pytest session
                # with SIPFRONT_LEDGER set must not wait for the session's lock on it.
                {k: v for k, v in environment.items() if k not in (LEDGER_VAR, REUSE_VAR)},
                sandbox=sandbox,
                sandbox_catalog=None if sandbox_catalog is None else os.fspath(sandbox_catalog),
                detach=detach,
            )
        except SettingsError as error:
            # Name the keyword argument, not the pytest option the shared check names.
            text = str(error)
            for setting in given:
                text = text.replace(f"{option_name(setting)}: ", f"{setting}=", 1)
            raise SettingsError(text) from None
        service = RunService(
            settings, settings.api_url, environ=environment, ledger=_book(settings, environment)
        )
        problem = service.open_ledger()
        if problem:
            raise SettingsError(problem)
        self._setup(
            settings,
            service,
            root=Path.cwd(),
            heartbeat_every=settings.heartbeat if heartbeat is not None else None,
        )
        self._owned: RunService | None = service

    @classmethod
    def from_env(
        cls,
        *,
        concurrency: int | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        max_rps: float | None = None,
        report_mode: str | None = None,
        max_runs: int | None = None,
        heartbeat: Duration | None = None,
        ledger: str | os.PathLike[str] | None = None,
        reuse: str | None = None,
    ) -> Sipfront:
        """``SIPFRONT_API_URL`` (or the default URL) and the key pair from the environment."""
        return cls(
            ledger=ledger,
            reuse=reuse,
            concurrency=concurrency,
            timeout=timeout,
            poll_interval=poll_interval,
            max_rps=max_rps,
            report_mode=report_mode,
            max_runs=max_runs,
            heartbeat=heartbeat,
        )

    def _setup(
        self,
        settings: Settings,
        service: Service,
        *,
        root: Path,
        heartbeat_every: float | None,
    ) -> None:
        self.settings = settings
        self._service = service
        self._root = root
        self._heartbeat_every = heartbeat_every
        self._owned = None
        self._closed = False
        self._lock = threading.Lock()
        self.handles: list[RunHandle] = []
        """Every run started here, in order."""
        self._jobs: dict[str, RunJob] = {}
        self._calls: dict[str, int] = {}
        """How many runs of each name were asked for here: the ledger's item id."""

    # -- what a subclass (the pytest fixture) changes -------------------------------------------

    _failure: Raiser = SipfrontRunFailed
    _error: Raiser = SipfrontRunError

    def _key(self, number: int) -> str:
        return f"python-{id(self):x}-{number}"

    def _ledger_item(self, request: RunRequest) -> str:
        """The run ledger's item id: the run's name and how many runs of that name this
        client asked for so far (the same script asks in the same order)."""
        with self._lock:
            number = self._calls[request.name] = self._calls.get(request.name, 0) + 1
        return f"{request.name}#{number}"

    def _location(self) -> tuple[str, int]:
        """Where the run was asked for (the detail block's ``source`` line)."""
        return caller_location(self._root)

    def _refuse(self, text: str) -> BaseException:
        """A request that cannot be sent (bad override, emergency number): nothing was sent."""
        return RequestProblem(text)

    def _before_trigger(self, job: RunJob, request: RunRequest) -> None:
        """Called before a job goes to the service (the fixture skips it in a dry run)."""

    def _write_heartbeat(self, line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _done(self, result: RunResult) -> None:
        """Called once per run when its verdict arrives."""

    # -- the API ---------------------------------------------------------------------------------

    def run(
        self,
        test: str | None = None,
        *,
        test_id: int | str | None = None,
        overrides: Mapping[str, Any] | None = None,
        report_mode: str | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        retries: int = 0,
        name: str | None = None,
        allow_emergency_destination: bool = False,
        thresholds: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Trigger one test run and wait for its verdict."""
        return self.start(
            test,
            test_id=test_id,
            overrides=overrides,
            report_mode=report_mode,
            timeout=timeout,
            poll_interval=poll_interval,
            retries=retries,
            name=name,
            allow_emergency_destination=allow_emergency_destination,
            thresholds=thresholds,
        ).wait()

    def start(
        self,
        test: str | None = None,
        *,
        test_id: int | str | None = None,
        overrides: Mapping[str, Any] | None = None,
        report_mode: str | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        retries: int = 0,
        name: str | None = None,
        allow_emergency_destination: bool = False,
        thresholds: Mapping[str, str] | None = None,
    ) -> RunHandle:
        """Trigger one test run and return at once; ``handle.wait()`` gives its verdict.
        ``thresholds``: media thresholds in the manifest's syntax, e.g.
        ``{"rtp_jitter": "p95 < 30"}``."""
        where = self._location()
        try:
            request = request_for_test(
                test,
                test_id=test_id,
                overrides=overrides,
                report_mode=report_mode,
                timeout=timeout,
                poll_interval=poll_interval,
                retries=retries,
                name=name,
                allow_emergency_destination=allow_emergency_destination,
                session_report_mode=self.settings.report_mode,
                thresholds=thresholds,
            )
        except RequestProblem as problem:
            raise self._refuse(_located(where, str(problem))) from None
        return self._submit(request, where)

    def run_project(
        self,
        project: str | None = None,
        *,
        project_id: int | str | None = None,
        test_ids: Iterable[int | str] | None = None,
        report_mode: str | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        retries: int = 0,
        name: str | None = None,
    ) -> RunResult:
        """Trigger one project run and wait for its verdict."""
        return self.start_project(
            project,
            project_id=project_id,
            test_ids=test_ids,
            report_mode=report_mode,
            timeout=timeout,
            poll_interval=poll_interval,
            retries=retries,
            name=name,
        ).wait()

    def start_project(
        self,
        project: str | None = None,
        *,
        project_id: int | str | None = None,
        test_ids: Iterable[int | str] | None = None,
        report_mode: str | None = None,
        timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        retries: int = 0,
        name: str | None = None,
    ) -> RunHandle:
        """Trigger one project run and return at once."""
        where = self._location()
        try:
            request = request_for_project(
                project,
                project_id=project_id,
                test_ids=test_ids,
                report_mode=report_mode,
                timeout=timeout,
                poll_interval=poll_interval,
                retries=retries,
                name=name,
                session_report_mode=self.settings.report_mode,
            )
        except RequestProblem as problem:
            raise self._refuse(_located(where, str(problem))) from None
        return self._submit(request, where)

    def close(self) -> list[RunResult]:
        """Trigger nothing more and stop polling; the runs still going at Sipfront (it has no
        cancel endpoint), each with verdict ``interrupted`` and its report link."""
        with self._lock:
            if self._closed:
                return []
            self._closed = True
        if self._owned is None:
            return []
        return [self._result(outcome) for outcome in self._owned.shutdown()]

    def __enter__(self) -> Sipfront:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- inside ------------------------------------------------------------------------------

    def _result(self, outcome: RunOutcome) -> RunResult:
        return RunResult(outcome, failure=type(self)._failure, error=type(self)._error)

    def _submit(self, request: RunRequest, where: tuple[str, int]) -> RunHandle:
        from pytest_sipfront.runs.job import RunJob

        with self._lock:
            if self._closed:
                raise self._error(CLOSED)
            key = self._key(next(_counter))
        job = RunJob(
            key=key,
            kind=request.kind,
            body=request.body,
            timeout=request.timeout or self.settings.timeout,
            poll_interval=request.poll_interval or self.settings.poll_interval,
            retries=request.retries,
            thresholds=request.thresholds,
            outcome=RunOutcome(
                name=request.name,
                verdict=Verdict.UNKNOWN,
                target=request.target,
                kind=request.kind,
                manifest=where[0],
                line=where[1],
                sandbox=self.settings.sandbox,
            ),
            ledger_item=self._ledger_item(request),
        )
        self._before_trigger(job, request)
        self._service.plan([job])
        handle = RunHandle(key, request.name, self._wait)
        with self._lock:
            self._jobs[key] = job
            self.handles.append(handle)
        return handle

    def _wait(self, key: str) -> RunResult:
        if self.settings.detach and self._owned is not None:
            return self._detached(key, self._owned)
        while True:
            outcome = self._service.wait(key, self._heartbeat_every)
            if outcome is not None:
                break
            scheduler = getattr(self._service, "scheduler", None)
            if self._closed or getattr(scheduler, "closed", False):
                outcome = self._service.interrupted(key) or self._never_triggered(key)
                break
            self._heartbeat(key)
        result = self._result(outcome)
        self._done(result)
        return result

    def _detached(self, key: str, service: RunService) -> RunResult:
        """``detach=True``: the run's result once its trigger is answered and recorded in the
        ledger (verdict ``skipped``, ``outcome.ledger`` ``detached``), or its verdict when it
        already has one; a later client on the same ledger collects it."""
        while True:
            found = service.wait_answered(key, self._heartbeat_every)
            if found is not None:
                break
            self._heartbeat(key)
        outcome, final = found
        if final:
            outcome = service.wait(key, 0) or outcome
        else:
            outcome.verdict = Verdict.SKIPPED
            outcome.message = detached(str(self.settings.ledger))
            outcome.ledger = outcome.ledger or DETACHED
        result = self._result(outcome)
        self._done(result)
        return result

    def _never_triggered(self, key: str) -> RunOutcome:
        outcome = self._jobs[key].outcome
        outcome.verdict = Verdict.INTERRUPTED
        outcome.message = INTERRUPTED_QUEUED
        return outcome

    def _heartbeat(self, key: str) -> None:
        progress = self._service.progress()
        job = self._jobs.get(key)
        name = job.outcome.name if job is not None else key
        line = heartbeat(
            name,
            self._service.running_for(key),
            progress.running,
            progress.done,
            progress.queued,
        )
        self._write_heartbeat(line)

    def outcomes(self) -> list[RunOutcome]:
        """Every run started here, as far as it got: the verdict once waited for."""
        found: list[RunOutcome] = []
        for handle in list(self.handles):
            result = handle.result
            found.append(result.outcome if result is not None else self._jobs[handle.key].outcome)
        return found
