"""What happened to a run: the one record every report (terminal, JUnit, GitHub) is a view of."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from pytest_sipfront.media.report import MediaReport, media_from_dict

RunKind = Literal["test", "project"]
"""What a run starts at Sipfront: one test, or a project (several tests)."""
RUN_KINDS: tuple[RunKind, ...] = get_args(RunKind)


class Verdict(str, enum.Enum):
    """The gate's verdict on one item; ``junit_type`` and the pytest outcome derive from it."""

    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    VANISHED = "vanished"
    AUTH = "auth"
    INTERRUPTED = "interrupted"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"
    MAX_RUNS = "max_runs"
    SKIPPED = "skipped"

    @property
    def is_error(self) -> bool:
        """A gate problem: shown as a pytest error, ``<error>`` in JUnit."""
        return self in _ERRORS

    @property
    def is_failure(self) -> bool:
        """The run itself failed or did not finish: a pytest failure, ``<failure>`` in JUnit."""
        return self in (Verdict.FAILED, Verdict.TIMEOUT)

    @property
    def junit_type(self) -> str:
        return f"sipfront.{self.value}"


_ERRORS = frozenset(
    {
        Verdict.VANISHED,
        Verdict.AUTH,
        Verdict.INTERRUPTED,
        Verdict.REFUSED,
        Verdict.UNREACHABLE,
        Verdict.UNKNOWN,
        Verdict.MAX_RUNS,
    }
)


def parse_timestamp(value: object) -> datetime | None:
    """Sipfront's ``2024-02-09 08:20:18`` (UTC); ``None`` when absent or unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("T", " ").rstrip("Z")[:19]
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


@dataclass
class Attempt:
    """One triggered run at Sipfront, and what its last status said."""

    session_id: str | None = None
    report_url: str | None = None
    status_url: str | None = None
    status: str | None = None
    passed: bool | None = None
    finished: bool = False
    run: dict[str, Any] = field(default_factory=dict)
    """The sanitised ``run`` object of the last status body (strings cut, control chars gone)."""
    trigger: dict[str, Any] = field(default_factory=dict)
    """The sanitised ``data`` object of the trigger response."""

    @property
    def result_description(self) -> str:
        value = self.run.get("result_description")
        return value if isinstance(value, str) else ""

    @property
    def duration_s(self) -> float | None:
        """Remote duration from ``started_at`` to ``stopped_at``, when both are known."""
        start = parse_timestamp(self.run.get("started_at"))
        stop = parse_timestamp(self.run.get("stopped_at"))
        if start is None or stop is None:
            return None
        return max(0.0, (stop - start).total_seconds())


@dataclass
class PreviousRun:
    """The latest run of the same test or project at Sipfront before this session's first
    trigger (``status/last``); ``state`` ``none`` when there was none or the answer was unusable."""

    state: str = "none"
    """``passed`` | ``failed`` | ``running`` | ``none`` | ``unknown`` (the lookup could not be
    trusted: no verdict, a contradiction, an ambiguous name, too slow; never failing)."""
    reason: str = ""
    """Its ``result_description`` (sanitised) when it failed; why, when ``unknown``."""
    started_at: str | None = None
    stopped_at: str | None = None
    report_url: str | None = None
    session_id: str | None = None
    """Its session id, when given: a passing one is the baseline of ``@baseline`` thresholds."""

    @property
    def duration_s(self) -> float | None:
        """``stopped_at - started_at`` of a finished run, when both are known."""
        start = parse_timestamp(self.started_at)
        stop = parse_timestamp(self.stopped_at)
        if self.state not in ("passed", "failed") or start is None or stop is None:
            return None
        seconds = (stop - start).total_seconds()
        return seconds if seconds > 0 else None

    @property
    def failing(self) -> bool:
        return self.state == "failed"


@dataclass
class RunOutcome:
    """The verdict on one pytest item that stands for a Sipfront run, with every attempt."""

    name: str
    """Item name as pytest shows it: ``basic-call`` or ``dtmf-matrix[431231234-4567]``."""
    verdict: Verdict
    message: str = ""
    """First line of the failure or error message (empty for a pass)."""
    attempts: list[Attempt] = field(default_factory=list)
    target: str = ""
    """What was asked of Sipfront: ``basic-call-a-b`` or ``id 123``, for the detail block."""
    kind: RunKind = "test"
    manifest: str = ""
    """Manifest path relative to the rootdir."""
    line: int = 0
    sandbox: bool = False
    local_duration_s: float = 0.0
    """Wall time from first trigger to verdict, measured here."""
    warnings: list[str] = field(default_factory=list)
    """Things worth telling the user that did not decide the verdict (an unknown status word)."""
    runs: int = 1
    """How many runs this record stands for: a test that started several from Python lists
    them all in ``attempts``; only attempts beyond these are retries (flaky)."""
    previous: PreviousRun | None = None
    """The run before this session (``None``: history was not looked up)."""
    not_red: bool = False
    """An ALREADY FAILING failure that ``--sipfront-fail-on new`` did not count red (xfailed)."""
    media: MediaReport | None = None
    """The run's media metrics (``None``: none were fetched)."""
    not_waited_for: int = 0
    """Runs a test started and never waited for: listed with it, never deciding it."""
    wait_s: float | None = None
    """How long pytest waited on its item for this verdict (the run mostly went on before
    pytest reached the item, so this is not the run's duration); ``None``: never waited."""
    ledger: str = ""
    """How the run ledger had this run: ``re-attached``, ``reused``, ``detached``; else ``""``."""
    ledger_note: str = ""
    """When the run was triggered and in which attempt (``2026-12-07 11:02:03 UTC in GitHub
    attempt 1``), for a run the ledger re-attached to or reused."""
    earlier: str = ""
    """The ledger's earlier run of this item, which this session triggered anew."""

    @property
    def already_failing(self) -> bool:
        """A failure whose previous run at Sipfront failed too (not caused by this change)."""
        return self.verdict.is_failure and self.previous is not None and self.previous.failing

    @property
    def new_failure(self) -> bool:
        """A failure after a passing previous run."""
        return (
            self.verdict.is_failure
            and self.previous is not None
            and self.previous.state == "passed"
        )

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def duration_s(self) -> float:
        """The remote run's duration (last attempt), else the local wall time."""
        last = self.last
        remote = last.duration_s if last is not None else None
        return remote if remote is not None else self.local_duration_s

    @property
    def flaky(self) -> bool:
        return self.verdict is Verdict.PASSED and len(self.attempts) > max(1, self.runs)

    @property
    def report_url(self) -> str | None:
        return self.last.report_url if self.last else None

    @property
    def session_id(self) -> str | None:
        return self.last.session_id if self.last else None

    @property
    def status(self) -> str | None:
        return self.last.status if self.last else None


class PytestOutcome(str, enum.Enum):
    """What pytest made of an item; counts in every report derive from it."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


@dataclass
class ItemRecord:
    """One Sipfront item of the session, as the reports see it."""

    nodeid: str
    name: str
    manifest: str
    """Manifest path relative to the rootdir, ``/``-separated."""
    line: int
    outcome: PytestOutcome
    run: RunOutcome | None = None
    """``None`` when nothing was asked of Sipfront (skipped, dry run, not reached)."""
    message: str = ""
    """First line of the failure/error message, or the skip reason."""
    longrepr: str = ""
    """The whole text pytest shows (first line plus detail block), no traceback."""
    flaky: bool = False
    verdict: Verdict | None = None
    """The gate's verdict on the item, the one fact every report files it by (never its
    message). Taken from ``run`` when not given; ``None`` when pytest (or another plugin)
    reported the item without the gate deciding anything."""

    def __post_init__(self) -> None:
        if self.verdict is None and self.run is not None:
            self.verdict = self.run.verdict

    @property
    def report_url(self) -> str | None:
        return self.run.report_url if self.run else None

    @property
    def duration_s(self) -> float:
        return self.run.duration_s if self.run else 0.0


@dataclass
class SessionInfo:
    """Facts about the session that reports print beside the items."""

    api_url: str
    sandbox: bool
    rootdir: str
    interrupted: bool = False
    still_running: list[RunOutcome] = field(default_factory=list)
    not_reached: list[RunOutcome] = field(default_factory=list)
    """Runs triggered and finished at Sipfront whose items pytest never reached (-x, --maxfail,
    an interrupt): listed with Sipfront's verdict."""
    manifest_errors: list[tuple[str, int, int, str]] = field(default_factory=list)
    """Broken manifests: (path relative to the rootdir, line, column, message)."""
    started_at: float | None = None
    """When the session began (seconds since the epoch); ``None`` when not known."""
    finished_at: float | None = None
    """When its reports were written (seconds since the epoch)."""

    @property
    def wall_s(self) -> float | None:
        """The session's wall time, when both ends are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)


def run_to_dict(outcome: RunOutcome) -> dict[str, Any]:
    """A JSON-able copy, so a verdict can travel inside a pytest report (pytest-xdist)."""
    data = asdict(outcome)
    data["verdict"] = outcome.verdict.value
    return data


def run_from_dict(data: dict[str, Any]) -> RunOutcome:
    fields = dict(data)
    fields["verdict"] = Verdict(fields["verdict"])
    fields["attempts"] = [Attempt(**attempt) for attempt in fields.get("attempts", [])]
    if isinstance(fields.get("previous"), dict):
        fields["previous"] = PreviousRun(**fields["previous"])
    if isinstance(fields.get("media"), dict):
        fields["media"] = media_from_dict(fields["media"])
    return RunOutcome(**fields)
