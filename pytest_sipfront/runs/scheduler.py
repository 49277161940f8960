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

from pytest_sipfront.api.client import ApiError, RunNotFound, SipfrontClient
from pytest_sipfront.runs.history import HistoryBook
from pytest_sipfront.runs.job import FailureLimit, Progress, RunJob
from pytest_sipfront.runs.messages import (
    run_contradictory,
    run_failed,
    run_timed_out,
    with_history,
)
from pytest_sipfront.runs.outcome import Attempt, RunOutcome, Verdict
from pytest_sipfront.runs.polling import PollPlan

MAX_WORKERS = 32


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
    ) -> None:
        self._client = client
        self._history = history
        self._concurrency = max(1, concurrency)
        self._workers = workers or min(MAX_WORKERS, max(2, self._concurrency))
        self._clock = clock
        self.cancel = cancel or threading.Event()
        self._cond = threading.Condition()
        self._queue: deque[RunJob] = deque()
        self._jobs: dict[str, RunJob] = {}
        self._results: dict[str, RunOutcome] = {}
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._work: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._inflight = 0
        self._done = 0
        self._triggering = True
        self._closed = False
        self._auth_error: str | None = None
        self._threads: list[threading.Thread] = []
        self._failure_limit = FailureLimit(max_failures)
        self._sending: set[RunJob] = set()

    # -- main-thread API -------------------------------------------------------------------

    def add(self, job: RunJob, *, front: bool = False) -> None:
        """Queue a run. ``front`` puts it before every queued run (an item waiting right now)."""
        with self._cond:
            job.state = "queued"
            job.retries_left = job.retries
            self._jobs[job.key] = job
            self._results.pop(job.key, None)
            if self._auth_error is not None:
                self._finish_locked(job, Verdict.AUTH, self._auth_error)
                return
            if front:
                self._queue.appendleft(job)
            else:
                self._queue.append(job)
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
        """The verdict for ``key``, or ``None`` if it is not there within ``timeout`` seconds."""
        end = None if timeout is None else self._clock() + timeout
        with self._cond:
            while key not in self._results:
                remaining = None if end is None else end - self._clock()
                if self._closed or (remaining is not None and remaining <= 0):
                    return None
                self._cond.wait(remaining)
            return self._results.pop(key)

    def outcome_of(self, key: str) -> RunOutcome | None:
        """The outcome so far of a run that has no verdict yet (or ``None``)."""
        with self._cond:
            job = self._jobs.get(key)
            return job.outcome if job is not None and job.state != "done" else None

    def sending(self, key: str) -> bool:
        """True while the run's trigger is on the wire without an answer."""
        with self._cond:
            return any(job.key == key for job in self._sending)

    @property
    def closed(self) -> bool:
        return self._closed

    def name_of(self, key: str) -> str:
        with self._cond:
            job = self._jobs.get(key)
            return job.outcome.name if job else key

    def running_for(self, key: str) -> float:
        with self._cond:
            job = self._jobs.get(key)
            if job is None or job.state != "running":
                return 0.0
            return self._clock() - job.started

    def progress(self) -> Progress:
        with self._cond:
            return Progress(running=self._inflight, done=self._done, queued=len(self._queue))

    def stop_triggering(self) -> None:
        """Nothing new is triggered from now on; runs in flight go on being polled."""
        with self._cond:
            self._triggering = False
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
                job.outcome
                for job in self._jobs.values()
                if job.state == "running" and (job.outcome.attempts or job in self._sending)
            ]
            self._cond.notify_all()
        for _ in range(self._workers):
            self._work.put(None)
        return still

    def unclaimed(self) -> list[RunOutcome]:
        """Runs that were triggered and got their verdict, but nobody took it: the session
        stopped (-x, --maxfail, an interrupt) before pytest reached their items."""
        with self._cond:
            return [
                outcome
                for key, outcome in self._results.items()
                if outcome.attempts and self._jobs.get(key) is not None
            ]

    # -- background threads ----------------------------------------------------------------

    def _dispatch(self) -> None:
        with self._cond:
            while not self._closed:
                now = self._clock()
                while self._triggering and self._queue and self._inflight < self._concurrency:
                    job = self._queue.popleft()
                    job.state = "running"
                    job.started = now
                    self._inflight += 1
                    self._schedule_locked(now, _bound(self._trigger, job))
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
        if isinstance(job, RunJob):
            with self._cond:
                self._finish_locked(
                    job, Verdict.UNKNOWN, f"pytest-sipfront internal error: {error!r}"
                )

    def _schedule_locked(self, due: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), action))
        self._cond.notify_all()

    def _finish_locked(self, job: RunJob, verdict: Verdict, message: str = "") -> None:
        if job.state == "done":
            return
        if job.state == "running":
            self._inflight -= 1
            job.outcome.local_duration_s = self._clock() - job.started
        elif job in self._queue:
            self._queue.remove(job)
        job.state = "done"
        previous = job.outcome.previous
        not_red = job.fail_on_new_only and previous is not None and previous.failing
        if self._failure_limit.reached_by(verdict, expect_failure=job.expect_failure or not_red):
            # -x / --maxfail: pytest will stop on this one; its free slot must not start a run.
            self._triggering = False
        job.outcome.verdict = verdict
        job.outcome.message = with_history(job.outcome, message)
        self._done += 1
        self._results[job.key] = job.outcome
        self._cond.notify_all()

    def _auth_failed_locked(self, message: str) -> None:
        """401/403: this and every later item errors at once; nothing more is sent."""
        self._auth_error = message
        for job in list(self._jobs.values()):
            if job.state != "done":
                self._finish_locked(job, Verdict.AUTH, message)

    def _api_error(self, job: RunJob, error: ApiError) -> None:
        with self._cond:
            if error.verdict is Verdict.AUTH:
                self._auth_failed_locked(error.message)
            else:
                self._finish_locked(job, error.verdict, error.message)

    def _trigger(self, job: RunJob) -> None:
        with self._cond:
            if self._closed or job.state != "running":
                return
        if self._history is not None and job.outcome.previous is None:
            self._look_back(job)
        with self._cond:
            if self._closed or job.state != "running":
                return
            self._sending.add(job)
        try:
            # The trigger's budget: its retries and Retry-After waits fit in the run's timeout.
            response = self._client.trigger(job.kind, job.body, deadline=job.started + job.timeout)
        except BaseException as error:
            with self._cond:
                self._sending.discard(job)
                self._cond.notify_all()
            if isinstance(error, ApiError):
                self._api_error(job, error)
                return
            raise
        with self._cond:
            self._sending.discard(job)
            now = self._clock()
            job.outcome.attempts.append(
                Attempt(
                    session_id=response.session_id,
                    report_url=response.report_url,
                    status_url=response.status_url,
                    trigger=dict(response.data),
                )
            )
            job.deadline = now + job.timeout
            job.not_found = 0
            first = PollPlan(job.poll_interval, job.expected).first_delay()
            self._schedule_locked(now + first, _bound(self._poll, job))

    def _look_back(self, job: RunJob) -> None:
        """History, once per test or project per session, just before its first trigger."""
        assert self._history is not None
        previous = self._history.previous(job.kind, job.body)
        with self._cond:
            job.outcome.previous = previous
            if previous.duration_s is not None:
                job.expected = previous.duration_s

    def _poll(self, job: RunJob) -> None:
        if self._closed or job.state != "running":
            return
        attempt = job.outcome.attempts[-1]
        assert attempt.status_url is not None
        try:
            reading = self._client.status(attempt.status_url, deadline=job.deadline, kind=job.kind)
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
                self._finish_locked(job, Verdict.PASSED)
            elif job.retries_left > 0 and not self._closed and self._triggering:
                job.retries_left -= 1
                self._schedule_locked(self._clock(), _bound(self._trigger, job))
            elif state.contradiction:
                self._finish_locked(
                    job, Verdict.FAILED, run_contradictory(attempt, state.contradiction)
                )
            else:
                self._finish_locked(job, Verdict.FAILED, run_failed(attempt))

    def _next_poll_locked(self, job: RunJob) -> None:
        now = self._clock()
        if now >= job.deadline:
            last = job.outcome.attempts[-1].status
            message = run_timed_out(job.timeout, last, job.contradiction)
            self._finish_locked(job, Verdict.TIMEOUT, message)
            return
        # The trigger's answer came at deadline - timeout; the plan counts from there.
        plan = PollPlan(job.poll_interval, job.expected)
        delay = plan.next_delay(now - (job.deadline - job.timeout))
        self._schedule_locked(min(now + delay, job.deadline), _bound(self._poll, job))


class _BoundAction:
    """A zero-argument action that remembers its job, so a crash can be pinned on the right run."""

    def __init__(self, method: Callable[[RunJob], None], job: RunJob) -> None:
        self.method = method
        self.job = job

    def __call__(self) -> None:
        self.method(self.job)


def _bound(method: Callable[[RunJob], None], job: RunJob) -> _BoundAction:
    return _BoundAction(method, job)
