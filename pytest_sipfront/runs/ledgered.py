"""The run ledger as the run service and its scheduler use it: a decision per job before its
trigger, and the three writes (sending, answered, finished) on the one trigger path.

Only the process that triggers (the run service; the xdist controller) has one.
"""

from __future__ import annotations

from datetime import datetime

from pytest_sipfront.ledger.book import LedgerBook, utc_now
from pytest_sipfront.ledger.decide import Action, parse_time
from pytest_sipfront.ledger.model import LedgerRecord
from pytest_sipfront.runs.job import RunJob
from pytest_sipfront.runs.messages import (
    REATTACHED,
    REUSED,
    earlier_run,
    ledger_when,
    uncertain_trigger,
)
from pytest_sipfront.runs.outcome import Attempt, Verdict

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

    def keep(self, job: RunJob) -> None:
        """Record ``job``'s trigger without looking it up (a rerun in the same session)."""
        job.ledger_key = self.book.key(
            job.outcome.manifest, job.ledger_item or job.key, job.kind, job.body
        )

    def consult(self, job: RunJob, now: datetime | None = None) -> bool:
        """Decide ``job`` before it is queued. True: it needs nothing from Sipfront (reused,
        its outcome is final); False: queue it (to trigger, or to re-attach)."""
        self.keep(job)
        key = job.ledger_key
        assert key is not None
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
            job.reattach_elapsed = max(0.0, (moment - sent).total_seconds()) if sent else 0.0
            return False
        if decision.uncertain:
            outcome.warnings.append(uncertain_trigger(outcome.name, when))
            outcome.earlier = earlier_run(None, when, None)
        else:
            outcome.earlier = earlier_run(record.verdict, when, record.report_url)
        return False

    def sending(self, job: RunJob) -> None:
        if job.ledger_key is not None:
            self.book.sending(job.ledger_key, job.kind, job.timeout)

    def answered(self, job: RunJob, attempt: Attempt) -> None:
        if job.ledger_key is not None:
            self.book.answered(
                job.ledger_key,
                session_id=attempt.session_id,
                report_url=attempt.report_url,
                status_url=attempt.status_url,
            )

    def not_started(self, job: RunJob) -> None:
        """The trigger provably started nothing (refused, unreachable before sending)."""
        if job.ledger_key is not None:
            self.book.forget(job.ledger_key)

    def flush(self) -> None:
        """Write the verdicts noted since the last write (outside the scheduler's lock)."""
        self.book.flush()

    def finished(self, job: RunJob, verdict: Verdict) -> None:
        """A verdict on a run Sipfront answered for (not an interrupt: that run is going),
        noted; :meth:`flush` writes it."""
        if job.ledger_key is None or verdict is Verdict.INTERRUPTED or not job.outcome.attempts:
            return
        last = job.outcome.attempts[-1]
        self.book.finished(
            job.ledger_key, verdict=verdict.value, passed=verdict is Verdict.PASSED, run=last.run
        )
