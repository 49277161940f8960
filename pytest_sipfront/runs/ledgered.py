"""The run ledger as the run service and its scheduler use it: a decision per job before its
trigger, and the three writes (sending, answered, finished) on the one trigger path.

Only the process that triggers (the run service; the xdist controller) has one.
"""

from __future__ import annotations

from datetime import datetime

from pytest_sipfront.ledger.book import LedgerBook, utc_now
from pytest_sipfront.ledger.decide import Action, parse_time
from pytest_sipfront.ledger.model import LedgerKey, LedgerRecord
from pytest_sipfront.runs.job import RunJob
from pytest_sipfront.runs.messages import (
    REATTACHED,
    REUSED,
    earlier_run,
    ledger_when,
    uncertain_trigger,
)
from pytest_sipfront.runs.outcome import Attempt, RunOutcome, Verdict

REATTACH_LEAST = 30.0
"""A re-attached run whose deadline (its timeout from the original trigger) has passed is
still given this long: one status request tells whether it finished."""


def attempt_of(record: LedgerRecord) -> Attempt:
    """The recorded run as an attempt: its links, and its finished run object if known."""
    return Attempt(
        session_id=record.session_id,
        report_url=record.report_url,
        status_url=record.status_url,
        status=record.verdict,
        passed=record.passed,
        finished=record.passed is not None,
        run=dict(record.run),
    )


class RunLedger:
    def __init__(self, book: LedgerBook) -> None:
        self.book = book
        self._plans: dict[str, tuple[LedgerKey, float | None]] = {}
        """Per job key: its ledger key and, for a re-attach, the seconds since its trigger."""

    def key_of(self, job: RunJob) -> LedgerKey:
        return self.book.key(job.outcome.manifest, job.ledger_item or job.key, job.kind, job.body)

    def keep(self, job: RunJob) -> None:
        """Record ``job``'s trigger without looking it up (a rerun in the same session)."""
        self._plans[job.key] = (self.key_of(job), None)

    def plan_of(self, job: RunJob) -> tuple[LedgerKey | None, float | None]:
        """The scheduler's question when it queues ``job``: its ledger key, and the seconds
        since its recorded trigger when it is to be re-attached (``None``: trigger it)."""
        return self._plans.get(job.key, (None, None))

    def consult(self, job: RunJob, now: datetime | None = None) -> bool:
        """Decide ``job`` before it is queued. True: it needs nothing from Sipfront (reused,
        its outcome is final); False: queue it (to trigger, or to re-attach)."""
        key = self.key_of(job)
        self._plans[job.key] = (key, None)
        decision = self.book.decide(key)
        record = decision.record
        if record is None:
            return False
        outcome = job.outcome
        when = ledger_when(record.sent_at, record.attempt)
        if decision.action is Action.REUSE:
            outcome.attempts = [attempt_of(record)]
            outcome.verdict = Verdict.PASSED
            outcome.ledger, outcome.ledger_note = REUSED, when
            return True
        if decision.action is Action.REATTACH:
            outcome.attempts = [attempt_of(record)]
            outcome.ledger, outcome.ledger_note = REATTACHED, when
            sent = parse_time(record.sent_at)
            moment = now or utc_now()
            elapsed = max(0.0, (moment - sent).total_seconds()) if sent else 0.0
            self._plans[job.key] = (key, elapsed)
            return False
        if decision.uncertain:
            outcome.warnings.append(uncertain_trigger(outcome.name, when))
            outcome.earlier = earlier_run(None, when, None)
        else:
            outcome.earlier = earlier_run(record.verdict, when, record.report_url)
        return False

    def sending(self, key: LedgerKey | None, job: RunJob) -> None:
        if key is not None:
            self.book.sending(key, job.kind, job.timeout)

    def answered(self, key: LedgerKey | None, attempt: Attempt) -> None:
        if key is not None:
            self.book.answered(
                key,
                session_id=attempt.session_id,
                report_url=attempt.report_url,
                status_url=attempt.status_url,
            )

    def not_started(self, key: LedgerKey | None) -> None:
        """The trigger provably started nothing (refused, unreachable before sending)."""
        if key is not None:
            self.book.forget(key)

    def flush(self) -> None:
        """Write the verdicts noted since the last write (outside the scheduler's lock)."""
        self.book.flush()

    def finished(self, key: LedgerKey | None, outcome: RunOutcome, verdict: Verdict) -> None:
        """A verdict on a run Sipfront answered for (not an interrupt: that run is going),
        noted; :meth:`flush` writes it."""
        if key is None or verdict is Verdict.INTERRUPTED or not outcome.attempts:
            return
        self.book.finished(
            key,
            verdict=verdict.value,
            passed=verdict is Verdict.PASSED,
            run=outcome.attempts[-1].run,
        )
