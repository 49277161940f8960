"""What a session does with an item whose key the ledger knows: the one rule."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone

from pytest_sipfront.ledger.model import FINISHED, SENDING, LedgerRecord

REUSE_CHOICES = ("none", "passed")


class Action(str, enum.Enum):
    TRIGGER = "trigger"
    """Send a trigger (a fresh run); ``record`` is the earlier run, if any."""
    REATTACH = "re-attached"
    """Poll the recorded run's status URL; send no trigger."""
    REUSE = "reused"
    """Send nothing: the recorded run passed on this revision, recently enough."""


@dataclass(frozen=True)
class Decision:
    action: Action
    record: LedgerRecord | None = None
    uncertain: bool = False
    """The earlier trigger has a "sending" mark and no answer: it may have started a run."""


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def decide(record: LedgerRecord | None, *, reuse: str, max_age: float, now: datetime) -> Decision:
    """- no record: trigger;
    - a "sending" mark without an answer: trigger anew, the earlier trigger uncertain;
    - answered, no verdict (the run may still be going): re-attach;
    - passed, ``reuse`` is ``passed``, the revision known and the trigger no older than
      ``max_age`` seconds: reuse;
    - anything else: trigger anew, the earlier run listed as the previous attempt."""
    if record is None:
        return Decision(Action.TRIGGER)
    if record.state == SENDING:
        return Decision(Action.TRIGGER, record, uncertain=True)
    if record.going:
        return Decision(Action.REATTACH, record)
    if (
        record.state == FINISHED
        and record.passed is True
        and reuse == "passed"
        and record.key.revision is not None
    ):
        sent = parse_time(record.sent_at)
        if sent is not None and 0 <= (now - sent).total_seconds() <= max_age:
            return Decision(Action.REUSE, record)
    return Decision(Action.TRIGGER, record)
