"""What the session side and the run side share: one run request (:class:`RunJob`), the
progress figures, the ``--maxfail`` rule and the :class:`Service` interface.

Light on purpose: the plugin and pytest-xdist workers import it without the HTTP client. Both
the local :class:`~pytest_sipfront.runs.service.RunService` and a worker's
:class:`~pytest_sipfront.runs.broker.BrokerClient` satisfy :class:`Service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_sipfront.media.thresholds import Threshold
from pytest_sipfront.runs.outcome import RunOutcome, Verdict


@dataclass(eq=False)
class RunJob:
    """One item's run request and its progress. ``outcome`` is filled as the run goes."""

    key: str
    kind: str
    body: dict[str, Any]
    timeout: float
    poll_interval: float
    retries: int
    outcome: RunOutcome
    state: str = "queued"  # queued | running | measuring (its media metrics) | done
    started: float = 0.0
    deadline: float = 0.0
    retries_left: int = 0
    not_found: int = 0
    seen_words: set[str] = field(default_factory=set)
    expect_failure: bool = False  # an xfail entry: its failure does not count for --maxfail
    contradiction: str | None = None  # the last status body's contradiction, if any
    expected: float | None = None  # seconds the run is expected to take (polling plans on it)
    fail_on_new_only: bool = False  # --sipfront-fail-on new: an ALREADY FAILING run is not red
    thresholds: tuple[Threshold, ...] = ()  # media thresholds the run's metrics must hold


@dataclass(frozen=True)
class Progress:
    running: int
    done: int
    queued: int


class FailureLimit:
    """``-x`` / ``--maxfail``, the one rule: pytest stops after that many failed items, so
    nothing new is triggered once that many runs have a verdict that fails or errors their
    item (an xfail entry's failed run is expected and not counted). Runs finish out of order
    but are triggered in item order, so every run still queued then lies behind the item
    pytest stops at. No limit under pytest-rerunfailures, which retries a failed item."""

    def __init__(self, maxfail: int, *, reruns: int = 0) -> None:
        self.limit = 0 if reruns else max(0, maxfail)
        self.failures = 0

    def reached_by(self, verdict: Verdict, *, expect_failure: bool) -> bool:
        """Count one verdict; True once the limit is reached (never without a limit).
        ``expect_failure``: the item passes when its run fails (an xfail entry, or an ALREADY
        FAILING run under ``--sipfront-fail-on new``)."""
        if not self.limit or not (verdict.is_error or verdict.is_failure):
            return False
        if verdict is Verdict.FAILED and expect_failure:
            return False  # the xfail entry passes as xfailed; its timeout is an error all the same
        self.failures += 1
        return self.failures >= self.limit


class Service(Protocol):
    """The calls the session's gate makes of the runs: answered in this process by
    :class:`~pytest_sipfront.runs.service.RunService`, on a pytest-xdist worker by
    :class:`~pytest_sipfront.runs.broker.BrokerClient` (the controller's service)."""

    def plan(self, jobs: Sequence[RunJob]) -> None:
        """Queue these runs in order; a key already planned is not added again."""

    def run_now(self, job: RunJob) -> None:
        """A fresh run ahead of every queued one: a rerun, or an item nobody planned."""

    def knows(self, key: str) -> bool:
        """True when the run of ``key`` was planned (or decided without Sipfront)."""

    def wait(self, key: str, timeout: float | None) -> RunOutcome | None:
        """The verdict for ``key``, or ``None`` when it is not there within ``timeout``."""

    def progress(self) -> Progress:
        """Runs in flight, done and queued, for the heartbeat."""

    def running_for(self, key: str) -> float:
        """Seconds the run of ``key`` has been going (0 when it is not running)."""

    def stop_triggering(self) -> None:
        """Nothing new is triggered from now on; runs in flight go on being polled."""

    def interrupted(self, key: str) -> RunOutcome | None:
        """The run of ``key`` as far as it got, marked interrupted (``None``: none known)."""
