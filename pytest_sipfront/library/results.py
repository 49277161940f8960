"""What a Python caller gets back: :class:`RunResult` (one finished run, Sipfront's fields and
the gate's verdict) and :class:`RunHandle` (a run started, to wait for)."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pytest_sipfront.runs.messages import full_text
from pytest_sipfront.runs.outcome import RunOutcome, Verdict, parse_timestamp

if TYPE_CHECKING:
    from pytest_sipfront.runs.outcome import Attempt


class SipfrontRunFailed(AssertionError):
    """The run finished failed, or did not finish in time. The text is the gate's: first line
    and detail block."""


class SipfrontRunError(RuntimeError):
    """Sipfront gave no verdict: API error, credentials, refused, interrupted, max runs."""


Raiser = Callable[[str], BaseException]


class RunResult:
    """One run's verdict. ``passed`` is the gate's rule (doubt is red); ``check()`` raises the
    failure or error a manifest item would show."""

    def __init__(
        self,
        outcome: RunOutcome,
        *,
        failure: Raiser = SipfrontRunFailed,
        error: Raiser = SipfrontRunError,
    ) -> None:
        self.outcome = outcome
        self._failure = failure
        self._error = error

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.outcome.name} {self.verdict} "
            f"status={self.status!r} report_url={self.report_url!r}>"
        )

    @property
    def _last(self) -> Attempt | None:
        return self.outcome.last

    def _field(self, key: str) -> Any:
        last = self._last
        if last is None:
            return None
        value = last.run.get(key)
        if value is None:
            value = last.trigger.get(key)
        return value

    @property
    def name(self) -> str:
        return self.outcome.name

    @property
    def passed(self) -> bool:
        return self.outcome.verdict is Verdict.PASSED

    @property
    def verdict(self) -> str:
        """``passed``, ``failed``, ``timeout``, or an error kind (``auth``, ``refused``,
        ``unreachable``, ``unknown``, ``vanished``, ``interrupted``, ``max_runs``)."""
        return self.outcome.verdict.value

    @property
    def message(self) -> str:
        """The first line a failure or error shows (empty for a pass)."""
        return self.outcome.message

    @property
    def text(self) -> str:
        """First line and detail block, as pytest shows them."""
        return full_text(self.outcome)

    @property
    def status(self) -> str | None:
        return self.outcome.status

    @property
    def result_description(self) -> str:
        last = self._last
        return last.result_description if last is not None else ""

    @property
    def report_url(self) -> str | None:
        return self.outcome.report_url

    @property
    def session_id(self) -> str | None:
        return self.outcome.session_id

    @property
    def test_id(self) -> int | None:
        value = self._field("test_id")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    @property
    def test_name(self) -> str | None:
        value = self._field("test_name")
        return str(value) if value not in (None, "") else None

    @property
    def testcase_name(self) -> str | None:
        value = self._field("testcase_name")
        return str(value) if value not in (None, "") else None

    @property
    def agentpool_name(self) -> str | None:
        value = self._field("agentpool_name")
        return str(value) if value not in (None, "") else None

    def _time(self, key: str) -> datetime | None:
        moment = parse_timestamp(self._field(key))
        return moment.replace(tzinfo=timezone.utc) if moment is not None else None

    @property
    def started_at(self) -> datetime | None:
        """Sipfront's ``started_at``, in UTC."""
        return self._time("started_at")

    @property
    def stopped_at(self) -> datetime | None:
        return self._time("stopped_at")

    @property
    def duration_s(self) -> float | None:
        """The remote run's duration, else the time waited here; None before a trigger."""
        return self.outcome.duration_s if self.outcome.attempts else None

    @property
    def attempts(self) -> int:
        return len(self.outcome.attempts)

    @property
    def raw(self) -> dict[str, Any]:
        """Sipfront's last ``run`` object (strings cleaned), a copy."""
        last = self._last
        return copy.deepcopy(last.run) if last is not None else {}

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able data (``sipfront run --json``)."""
        return {
            "name": self.name,
            "passed": self.passed,
            "verdict": self.verdict,
            "message": self.message,
            "status": self.status,
            "result_description": self.result_description,
            "report_url": self.report_url,
            "session_id": self.session_id,
            "test_id": self.test_id,
            "test_name": self.test_name,
            "testcase_name": self.testcase_name,
            "agentpool_name": self.agentpool_name,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "sandbox": self.outcome.sandbox,
            "ledger": self.outcome.ledger or None,
            "ledger_note": self.outcome.ledger_note or None,
            "media": self.media,
            "media_breaches": self.media_breaches,
        }

    @property
    def media(self) -> list[dict[str, Any]]:
        """The media summaries (count, min, median, p95, max, mean, unit per measure, role and
        direction); empty when no metrics were fetched."""
        media = self.outcome.media
        return [dataclasses.asdict(summary) for summary in media.summaries] if media else []

    @property
    def media_breaches(self) -> list[str]:
        """One sentence per media threshold breached (``check()`` raises with them)."""
        media = self.outcome.media
        return list(media.breach_lines) if media else []

    def check(self) -> RunResult:
        """Raise the run's failure or error, with the gate's text; return self when it passed."""
        verdict = self.outcome.verdict
        if verdict is Verdict.PASSED:
            return self
        if verdict.is_failure:
            raise self._failure(self.text)
        raise self._error(self.text)


class RunHandle:
    """A run that was started. ``wait()`` blocks until its verdict (at most its timeout, as the
    gate counts it) and returns the same :class:`RunResult` every time."""

    def __init__(self, key: str, name: str, waiter: Callable[[str], RunResult]) -> None:
        self.key = key
        self.name = name
        self._waiter = waiter
        self._lock = threading.Lock()
        self._result: RunResult | None = None

    def __repr__(self) -> str:
        state = self._result.verdict if self._result is not None else "waiting"
        return f"<RunHandle {self.name} {state}>"

    @property
    def result(self) -> RunResult | None:
        """The verdict once ``wait()`` returned it, else None."""
        return self._result

    def wait(self) -> RunResult:
        with self._lock:
            if self._result is None:
                self._result = self._waiter(self.key)
            return self._result
