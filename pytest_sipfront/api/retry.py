"""ONE retry policy for the client's three request loops (trigger, status, listings).

Like urllib3's ``Retry``, a :class:`RetryPolicy` is immutable: the loops ask it, after each
failed attempt, whether to go on and how long to wait (:meth:`RetryPolicy.after`), so that they
agree on every rule: full-jitter backoff; a Retry-After honoured as asked while a deadline
bounds the loop (one longer than what is left ends it at once) and capped at
:data:`~pytest_sipfront.api.backoff.RETRY_AFTER_CAP` without one; no wait past the deadline; the
loop ends after ``max_attempts`` attempts or at the deadline, whichever comes first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import Enum

from pytest_sipfront.api.backoff import RETRY_AFTER_CAP, backoff_delay


class GiveUp(Enum):
    """Why a loop stops retrying."""

    EXHAUSTED = "exhausted"
    """No attempt left, or the deadline has come."""
    RETRY_AFTER_TOO_LONG = "retry-after too long"
    """The server asked for a wait longer than what is left before the deadline."""


@dataclass(frozen=True)
class Decision:
    """What to do after a failed attempt: wait ``delay`` seconds and try again, or give up."""

    delay: float = 0.0
    give_up: GiveUp | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry; shared, never changed (:meth:`with_attempts` makes a copy)."""

    max_attempts: int | None = 5
    """Attempts in all; ``None``: until the deadline (status polls)."""
    base: float = 0.5
    """The first backoff ceiling, in seconds; it doubles per attempt."""
    cap: float = 30.0
    """The highest backoff ceiling (a Retry-After may ask for more)."""
    retry_after_cap: float = RETRY_AFTER_CAP
    """A Retry-After beyond this is read as this, when no deadline bounds the loop."""

    def with_attempts(self, attempts: int | None) -> RetryPolicy:
        return replace(self, max_attempts=None if attempts is None else max(1, attempts))

    def after(
        self,
        attempt: int,
        *,
        retry_after: float | None,
        left: float | None,
        rng: random.Random | None = None,
    ) -> Decision:
        """The decision after failed attempt number ``attempt`` (1 for the first).

        ``retry_after`` is the server's Retry-After as asked (seconds, no cap), ``left`` the
        seconds left before the loop's deadline (``None``: no deadline)."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return Decision(give_up=GiveUp.EXHAUSTED)
        if left is not None and left <= 0:
            return Decision(give_up=GiveUp.EXHAUSTED)
        if left is not None and retry_after is not None and retry_after > left:
            return Decision(give_up=GiveUp.RETRY_AFTER_TOO_LONG)
        asked = retry_after
        if asked is not None and left is None:
            asked = min(asked, self.retry_after_cap)
        delay = backoff_delay(attempt, base=self.base, cap=self.cap, retry_after=asked, rng=rng)
        return Decision(delay=delay if left is None else min(delay, left))


DEFAULT_POLICY = RetryPolicy()
