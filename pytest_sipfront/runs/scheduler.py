"""Runs many Sipfront runs at once: triggers in order, at most ``concurrency`` in flight, polls
each on its own interval, and hands every verdict to whoever waits for it.

Threads: one dispatcher that keeps a heap of due actions, and a small fixed pool of HTTP workers
(``workers``, at most 32), whatever the number of runs. All threads are daemons, so an interrupted
session never waits for a request in flight.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pytest_sipfront.api.client import ApiError, RunNotFound, SipfrontClient
from pytest_sipfront.ledger.model import LedgerKey
from pytest_sipfront.runs.history import HistoryBook
from pytest_sipfront.runs.job import Progress, RunJob, item_of
from pytest_sipfront.runs.ledgered import REATTACH_LEAST, RunLedger
from pytest_sipfront.runs.media import MediaChecker
from pytest_sipfront.runs.messages import (
    NOT_TRIGGERED,
    run_contradictory,
    run_failed,
    run_timed_out,
    with_history,
)
from pytest_sipfront.runs.outcome import Attempt, RunOutcome, Verdict
from pytest_sipfront.runs.polling import PollPlan

MAX_WORKERS = 32

JobState = Literal["queued", "running", "measuring", "done"]
"""``measuring``: the run has finished at Sipfront and its media metrics are being read; it
has handed its concurrency slot on (see ``Scheduler._conclude_locked``)."""


@dataclass(eq=False)
class _Run:
    """The scheduler's progress on one job (the job itself is the fixed request)."""

    job: RunJob
    state: JobState = "queued"
    started: float = 0.0
    deadline: float = 0.0
    retries_left: int = 0
    not_found: int = 0
    seen_words: set[str] = field(default_factory=set)
    contradiction: str | None = None
    """The last status body's contradiction, if any."""
    expected: float | None = None
    """Seconds the run is expected to take: the job's figure, or history's."""
    ledger_key: LedgerKey | None = None
    """The run ledger's key (where there is a ledger)."""
    reattach_elapsed: float | None = None
    """Re-attach: seconds since the ledger's recorded trigger (``None``: trigger)."""

    @property
    def key(self) -> str:
        return self.job.key

    @property
    def outcome(self) -> RunOutcome:
        return self.job.outcome


class Scheduler:
    def __init__(
        self,
        client: SipfrontClient,
        *,
        concurrency: int,
        workers: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        cancel: threading.Event | None = None,
        max_failures: int = 0,
        history: HistoryBook | None = None,
        ledger: RunLedger | None = None,
        media: MediaChecker | None = None,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._history = history
        self._media = media
        self._concurrency = max(1, concurrency)
        self._workers = workers or min(MAX_WORKERS, max(2, self._concurrency))
        self._clock = clock
        self.cancel = cancel or threading.Event()
        self._cond = threading.Condition()
        self._queue: deque[_Run] = deque()
        self._jobs: dict[str, _Run] = {}
        self._results: dict[str, RunOutcome] = {}
        self._waiting: dict[str, int] = {}
        """Keys someone is waiting for right now: pytest has reached their items."""
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._work: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._inflight = 0
        self._done = 0
        self._triggering = True
        self._closed = False
        self._auth_error: str | None = None
        self._threads: list[threading.Thread] = []
        self._max_failures = max(0, max_failures)
        self._failed_items = 0
        """pytest's own count of failed items so far (``judged``)."""
        self._unjudged: set[str] = set()
        """Keys whose run failed or errored while pytest has not yet said what their item
        made of it (an xfail mark, a rerun or the test itself may turn it green)."""
        self._sending: set[_Run] = set()

    # -- main-thread API -------------------------------------------------------------------

    def add(self, job: RunJob, *, front: bool = False) -> None:
        """Queue a run. ``front`` puts it before every queued run (an item waiting right now).
        Once nothing more is triggered, the run ends at once, not triggered."""
        run = _Run(job, retries_left=job.retries, expected=job.expected)
        if self._ledger is not None:
            run.ledger_key, run.reattach_elapsed = self._ledger.plan_of(job)
        with self._cond:
            self._jobs[job.key] = run
            self._results.pop(job.key, None)
            self._unjudged.discard(job.key)
            if self._auth_error is not None:
                self._finish_locked(run, Verdict.AUTH, self._auth_error)
                return
            if not self._triggering:
                self._finish_locked(run, Verdict.INTERRUPTED, NOT_TRIGGERED)
                return
            if front:
                self._queue.appendleft(run)
            else:
                self._queue.append(run)
            self._cond.notify_all()

    def start(self) -> None:
        if self._threads:
            return
        dispatcher = threading.Thread(target=self._dispatch, name="sipfront-dispatch", daemon=True)
        self._threads.append(dispatcher)
        for number in range(self._workers):
            worker = threading.Thread(
                target=self._work_loop, name=f"sipfront-http-{number}", daemon=True
            )
            self._threads.append(worker)
        for thread in self._threads:
            thread.start()

    def knows(self, key: str) -> bool:
        with self._cond:
            return key in self._jobs

    def wait(self, key: str, timeout: float | None = None) -> RunOutcome | None:
        """The verdict for ``key``, or ``None`` if it is not there within ``timeout`` seconds.
        Every waiter gets the verdict (pytest-xdist's ``--dist each`` waits on every worker).
        A waiter marks its run as wanted: pytest has reached its item."""
        end = None if timeout is None else self._clock() + timeout
        with self._cond:
            self._waiting[key] = self._waiting.get(key, 0) + 1
            self._cond.notify_all()  # a held queue lets a wanted run go
            try:
                while key not in self._results:
                    remaining = None if end is None else end - self._clock()
                    if self._closed or (remaining is not None and remaining <= 0):
                        return None
                    self._cond.wait(remaining)
                return self._results[key]  # kept: every waiter gets it, not only the first
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]

    def judged(self, nodeid: str, failed_items: int) -> None:
        """pytest reported item ``nodeid`` (its last phase, or a failure) and has counted
        ``failed_items`` failed items so far: its runs' verdicts no longer hold the queue."""
        with self._cond:
            self._failed_items = max(self._failed_items, failed_items)
            self._unjudged = {key for key in self._unjudged if item_of(key) != nodeid}
            self._cond.notify_all()

    def outcome_of(self, key: str) -> RunOutcome | None:
        """The outcome so far of a run that has no verdict yet (or ``None``)."""
        with self._cond:
            run = self._jobs.get(key)
            return run.outcome if run is not None and run.state != "done" else None

    def sending(self, key: str) -> bool:
        """True while the run's trigger is on the wire without an answer."""
        with self._cond:
            return any(run.key == key for run in self._sending)

    @property
    def closed(self) -> bool:
        return self._closed

    def name_of(self, key: str) -> str:
        with self._cond:
            run = self._jobs.get(key)
            return run.outcome.name if run else key

    def running_for(self, key: str) -> float:
        with self._cond:
            run = self._jobs.get(key)
            if run is None or run.state != "running":
                return 0.0
            return self._clock() - run.started

    def progress(self) -> Progress:
        with self._cond:
            return Progress(running=self._inflight, done=self._done, queued=len(self._queue))

    def stop_triggering(self) -> None:
        """Nothing new is triggered from now on (pytest is stopping: -x, --maxfail); runs in
        flight go on being polled, and every queued run ends at once, not triggered."""
        with self._cond:
            self._triggering = False
            for run in list(self._queue):
                self._finish_locked(run, Verdict.INTERRUPTED, NOT_TRIGGERED)
            self._cond.notify_all()

    def shutdown(self, grace: float) -> list[RunOutcome]:
        """Stop everything; return the runs still going at Sipfront (no verdict yet). A trigger
        already sent is given ``grace`` seconds for its answer (and report link); one still
        unanswered then is listed too, since its run may have started."""
        with self._cond:
            self._triggering = False
            self._closed = True
            # First: nothing new is sent, and triggers waiting to retry (429/503, which started
            # nothing) give up at once; only a trigger on the wire is worth the grace.
            self.cancel.set()
            end = self._clock() + grace
            while self._sending and (left := end - self._clock()) > 0:
                self._cond.wait(left)
            still = [
                run.outcome
                for run in self._jobs.values()
                if run.state == "running" and (run.outcome.attempts or run in self._sending)
            ]
            self._cond.notify_all()
        for _ in range(self._workers):
            self._work.put(None)
        return still

    def finished(self) -> dict[str, RunOutcome]:
        """Every run triggered that has its verdict, by key (waited for or not)."""
        with self._cond:
            return {
                key: outcome
                for key, outcome in self._results.items()
                if outcome.attempts and key in self._jobs
            }

    # -- background threads ----------------------------------------------------------------

    def _held_locked(self) -> bool:
        """-x / --maxfail: runs whose verdicts would, if pytest counts their items failed,
        reach the limit hold the queue until pytest has said; only a run whose item pytest
        has reached (someone waits for it) goes meanwhile. pytest decides what stops the
        session, never a run's verdict."""
        limit = self._max_failures
        return bool(limit) and self._failed_items + len(self._unjudged) >= limit

    def _next_locked(self) -> _Run | None:
        if not self._held_locked():
            return self._queue.popleft()
        for run in self._queue:
            if run.key in self._waiting:
                self._queue.remove(run)
                return run
        return None

    # -- background threads ----------------------------------------------------------------

    def _dispatch(self) -> None:
        with self._cond:
            while not self._closed:
                now = self._clock()
                while self._triggering and self._queue and self._inflight < self._concurrency:
                    job = self._next_locked()
                    if job is None:
                        break
                    job.state = "running"
                    job.started = now
                    self._inflight += 1
                    first = self._trigger if job.reattach_elapsed is None else self._reattach
                    self._schedule_locked(now, _bound(first, job))
                while self._heap and self._heap[0][0] <= now:
                    _, _, action = heapq.heappop(self._heap)
                    self._work.put(action)
                wait = self._heap[0][0] - now if self._heap else None
                self._cond.wait(wait)

    def _work_loop(self) -> None:
        while True:
            action = self._work.get()
            if action is None or self.cancel.is_set():
                return
            try:
                action()
            except Exception as error:  # a bug must not hang the session: fail the run visibly
                self._crash(action, error)

    def _crash(self, action: Callable[[], None], error: Exception) -> None:
        job = getattr(action, "job", None)
        if isinstance(job, _Run):
            with self._cond:
                self._finish_locked(
                    job, Verdict.UNKNOWN, f"pytest-sipfront internal error: {error!r}"
                )

    def _schedule_locked(self, due: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), action))
        self._cond.notify_all()

    def _finish_locked(self, job: _Run, verdict: Verdict, message: str = "") -> None:
        if job.state == "done":
            return
        if job.state == "running":
            self._inflight -= 1
            job.outcome.local_duration_s = self._clock() - job.started
        elif job in self._queue:
            self._queue.remove(job)
        job.state = "done"
        if verdict.is_error or verdict.is_failure:
            self._unjudged.add(job.key)  # held until pytest says what its item made of it
        job.outcome.verdict = verdict
        job.outcome.message = with_history(job.outcome, message)
        if self._ledger is not None:
            self._ledger.finished(job.ledger_key, job.outcome, verdict)
        self._done += 1
        self._results[job.key] = job.outcome
        self._cond.notify_all()

    def _auth_failed_locked(self, message: str) -> None:
        """401/403: this and every later item errors at once; nothing more is sent."""
        self._auth_error = message
        for job in list(self._jobs.values()):
            if job.state != "done":
                self._finish_locked(job, Verdict.AUTH, message)

    def _api_error(self, job: _Run, error: ApiError) -> None:
        with self._cond:
            if error.verdict is Verdict.AUTH:
                self._auth_failed_locked(error.message)
            else:
                self._finish_locked(job, error.verdict, error.message)
        if self._ledger is not None:
            self._ledger.flush()

    def _trigger(self, job: _Run) -> None:
        with self._cond:
            if self._closed or job.state != "running":
                return
        if self._history is not None and job.outcome.previous is None:
            self._look_back(job)
        with self._cond:
            if self._closed or job.state != "running":
                return
            self._sending.add(job)
        if self._ledger is not None:  # before the trigger: a run may start from here on
            self._ledger.sending(job.ledger_key, job.job)
        try:
            # The trigger's budget: its retries and Retry-After waits fit in the run's timeout.
            response = self._client.trigger(
                job.job.kind, job.job.body, deadline=job.started + job.job.timeout
            )
        except BaseException as error:
            with self._cond:
                self._sending.discard(job)
                self._cond.notify_all()
            if isinstance(error, ApiError):
                if self._ledger is not None and error.verdict is not Verdict.UNKNOWN:
                    self._ledger.not_started(job.ledger_key)
                self._api_error(job, error)
                return
            raise
        attempt = Attempt(
            session_id=response.session_id,
            report_url=response.report_url,
            status_url=response.status_url,
            trigger=dict(response.data),
        )
        if self._ledger is not None:  # the answer, before anything else is done with the run
            self._ledger.answered(job.ledger_key, attempt)
        with self._cond:
            self._sending.discard(job)
            now = self._clock()
            job.outcome.attempts.append(attempt)
            job.deadline = now + job.job.timeout
            job.not_found = 0
            first = PollPlan(job.job.poll_interval, job.expected).first_delay()
            self._schedule_locked(now + first, _bound(self._poll, job))

    def _reattach(self, job: _Run) -> None:
        """A run the ledger recorded as going: poll its status URL (no trigger), with the
        deadline its timeout set from the recorded trigger (at least one status request)."""
        with self._cond:
            if self._closed or job.state != "running" or job.reattach_elapsed is None:
                return
            now = self._clock()
            elapsed, job.reattach_elapsed = job.reattach_elapsed, None
            job.started = now - elapsed
            job.deadline = now + max(job.job.timeout - elapsed, REATTACH_LEAST)
            job.not_found = 0
            self._schedule_locked(now, _bound(self._poll, job))

    def wait_answered(
        self, key: str, timeout: float | None = None
    ) -> tuple[RunOutcome, bool] | None:
        """The run of ``key`` once Sipfront answered its trigger, and whether it has its verdict
        already (not taken); ``None`` when neither happened within ``timeout`` seconds."""
        end = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                if key in self._results:
                    return self._results[key], True
                job = self._jobs.get(key)
                answered = (
                    job is not None
                    and job.state == "running"
                    and bool(job.outcome.attempts)
                    and job not in self._sending
                    and job.reattach_elapsed is None
                )
                if answered and job is not None:
                    return job.outcome, False
                remaining = None if end is None else end - self._clock()
                if self._closed or (remaining is not None and remaining <= 0):
                    return None
                self._cond.wait(remaining)

    def _look_back(self, job: _Run) -> None:
        """History, once per test or project per session, just before its first trigger."""
        assert self._history is not None
        previous = self._history.previous(job.job.kind, job.job.body)
        with self._cond:
            job.outcome.previous = previous
            if previous.duration_s is not None:
                job.expected = previous.duration_s

    def _poll(self, job: _Run) -> None:
        if self._closed or job.state != "running":
            return
        attempt = job.outcome.attempts[-1]
        assert attempt.status_url is not None
        try:
            reading = self._client.status(
                attempt.status_url, deadline=job.deadline, kind=job.job.kind
            )
        except RunNotFound as gone:
            with self._cond:
                job.not_found += 1
                if job.not_found >= 2:
                    # The message names the status Sipfront answered (404 or 410).
                    self._finish_locked(job, Verdict.VANISHED, gone.message)
                else:
                    self._next_poll_locked(job)
            return
        except ApiError as error:
            self._api_error(job, error)
            return
        # The verdict was read from the raw body (api.runstatus); ``run`` is for display only.
        state = reading.state
        with self._cond:
            job.not_found = 0
            attempt.run = reading.run
            attempt.status = state.word or attempt.status
            attempt.finished = state.finished
            attempt.passed = state.passed if state.finished else None
            job.contradiction = state.contradiction
            if state.unknown_word and state.unknown_word not in job.seen_words:
                job.seen_words.add(state.unknown_word)
                job.outcome.warnings.append(
                    f"{job.outcome.name}: Sipfront reported the unknown status "
                    f"{state.unknown_word!r}; still polling until it changes or the run times out"
                )
            if not state.finished:
                self._next_poll_locked(job)
            elif state.passed:
                self._conclude_locked(job, Verdict.PASSED)
            elif job.retries_left > 0 and not self._closed and self._triggering:
                job.retries_left -= 1
                self._schedule_locked(self._clock(), _bound(self._trigger, job))
            elif state.contradiction:
                self._conclude_locked(
                    job, Verdict.FAILED, run_contradictory(attempt, state.contradiction)
                )
            else:
                self._conclude_locked(job, Verdict.FAILED, run_failed(attempt))
        if self._ledger is not None:
            self._ledger.flush()  # a verdict, written outside the lock (nothing new: no write)

    def _conclude_locked(self, job: _Run, verdict: Verdict, message: str = "") -> None:
        """A finished run's verdict: at once, or once its media metrics are checked, on a
        thread of its own (another run's verdict never waits for this run's metrics)."""
        media = self._media
        thresholds = job.job.thresholds
        if media is None or not media.wanted(job.outcome, verdict, thresholds):
            self._finish_locked(job, verdict, message)
            return

        # The run is over at Sipfront: its slot goes to the next queued run at once, unless
        # -x / --maxfail may count it (it failed, or its thresholds may fail it): then it stays
        # "running" until its verdict, as without metrics, and its failure holds the queue
        # (``_held_locked``) before any run behind it can start.
        may_fail = verdict is not Verdict.PASSED or bool(thresholds)
        if not (self._max_failures and may_fail):
            job.state = "measuring"
            self._inflight -= 1
            job.outcome.local_duration_s = self._clock() - job.started
            self._cond.notify_all()

        def measure() -> None:
            try:
                final = media.check(
                    job.outcome, verdict, message, thresholds, budget=job.job.timeout
                )
            except Exception as error:  # a bug must not hang the item: red, visibly
                final = (Verdict.UNKNOWN, f"pytest-sipfront internal error: {error!r}")
            with self._cond:
                self._finish_locked(job, *final)
            if self._ledger is not None:
                self._ledger.flush()  # the verdict after the metrics, outside the lock

        threading.Thread(target=measure, name="sipfront-media", daemon=True).start()

    def _next_poll_locked(self, job: _Run) -> None:
        now = self._clock()
        if now >= job.deadline:
            last = job.outcome.attempts[-1].status
            message = run_timed_out(job.job.timeout, last, job.contradiction)
            self._finish_locked(job, Verdict.TIMEOUT, message)
            return
        # The trigger's answer came at deadline - timeout; the plan counts from there.
        plan = PollPlan(job.job.poll_interval, job.expected)
        delay = plan.next_delay(now - (job.deadline - job.job.timeout))
        self._schedule_locked(min(now + delay, job.deadline), _bound(self._poll, job))


class _BoundAction:
    """A zero-argument action that remembers its job, so a crash can be pinned on the right run."""

    def __init__(self, method: Callable[[_Run], None], job: _Run) -> None:
        self.method = method
        self.job = job

    def __call__(self) -> None:
        self.method(self.job)


def _bound(method: Callable[[_Run], None], job: _Run) -> _BoundAction:
    return _BoundAction(method, job)
