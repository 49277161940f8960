"""What the session side and the run side share: one run request (:class:`RunJob`), the
progress figures and the :class:`Service` interface.

Light on purpose: the plugin and pytest-xdist workers import it without the HTTP client. Both
the local :class:`~pytest_sipfront.runs.service.RunService` and a worker's
:class:`~pytest_sipfront.runs.broker.BrokerClient` satisfy :class:`Service`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_sipfront.media.thresholds import Threshold
from pytest_sipfront.runs.outcome import (
    RUN_KINDS,
    RunKind,
    RunOutcome,
    run_from_dict,
    run_to_dict,
)

FIXTURE_KEY_MARK = "::sipfront-"
"""A run started from a test function is keyed ``<nodeid>::sipfront-<n>``."""


def fixture_key(nodeid: str, number: int, execution: int = 1) -> str:
    """The key of the ``number``-th run a test started in its ``execution``-th run (a rerun
    of pytest-rerunfailures starts fresh runs): the same on every pytest-xdist worker, so
    ``--dist each`` triggers it once."""
    run = str(number) if execution <= 1 else f"{execution}.{number}"
    return f"{nodeid}{FIXTURE_KEY_MARK}{run}"


def item_of(key: str) -> str:
    """The pytest item a run's key belongs to: a manifest item's key is its node id, a run
    started from a test function carries the test's node id before :data:`FIXTURE_KEY_MARK`."""
    return key.split(FIXTURE_KEY_MARK, 1)[0]


@dataclass(frozen=True, eq=True)
class RunJob:
    """One run request: what to send and how to wait for it, fixed once asked. It crosses to
    the pytest-xdist controller as :func:`job_to_dict` (every field, from this class).

    ``outcome`` is the record the run service fills as the run goes (its attempts, verdict and
    message); the scheduler keeps its own progress (state, deadlines, retries left) apart."""

    key: str
    kind: RunKind
    body: dict[str, Any]
    timeout: float
    poll_interval: float
    retries: int
    outcome: RunOutcome
    expect_failure: bool = False
    """An xfail entry (its failed run is what was expected)."""
    expected: float | None = None
    """Seconds the run is expected to take (the polling plan uses it; history may replace it)."""
    fail_on_new_only: bool = False
    """``--sipfront-fail-on new``: an ALREADY FAILING run is not red."""
    ledger_item: str = ""
    """The run ledger's item id when it is not ``key`` (fixture: node id and call order)."""
    thresholds: tuple[Threshold, ...] = ()
    """The media thresholds the run's metrics must hold (none: metrics only for reports)."""

    __hash__ = object.__hash__  # one job is one request, whatever its values


_ENCODE: dict[str, Any] = {
    "outcome": run_to_dict,
    "thresholds": lambda thresholds: [dataclasses.asdict(item) for item in thresholds],
}
_DECODE: dict[str, Any] = {
    "outcome": run_from_dict,
    "thresholds": lambda items: tuple(Threshold(**item) for item in items),
}


def job_to_dict(job: RunJob) -> dict[str, Any]:
    """A JSON-able copy of every field of ``job`` (for the xdist controller)."""
    return {
        item.name: _ENCODE.get(item.name, _plain)(getattr(job, item.name))
        for item in dataclasses.fields(RunJob)
    }


def job_from_dict(data: dict[str, Any]) -> RunJob:
    """The job :func:`job_to_dict` made; a field missing from ``data`` is a ``KeyError``."""
    values = {
        item.name: _DECODE.get(item.name, _plain)(data[item.name])
        for item in dataclasses.fields(RunJob)
    }
    if values["kind"] not in RUN_KINDS:
        raise ValueError(f"not a run kind: {values['kind']!r}")
    return RunJob(**values)


def _plain(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Progress:
    running: int
    done: int
    queued: int


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
        """The verdict for ``key``, or ``None`` when it is not there within ``timeout``.
        Every waiter of a run gets its verdict (pytest-xdist's ``--dist each``)."""

    def progress(self) -> Progress:
        """Runs in flight, done and queued, for the heartbeat."""

    def running_for(self, key: str) -> float:
        """Seconds the run of ``key`` has been going (0 when it is not running)."""

    def interrupted(self, key: str) -> RunOutcome | None:
        """The run of ``key`` as far as it got, marked interrupted (``None``: none known)."""
