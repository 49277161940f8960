"""How long to wait before asking again: exponential backoff with full jitter, and Retry-After."""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRY_AFTER_CAP = 300.0
"""A Retry-After beyond this many seconds is read as this many (a hostile or confused server
must not park the gate for hours)."""

_SYSTEM_RANDOM = random.Random()


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Full jitter: a uniform draw from ``[0, min(cap, base * 2 ** (attempt - 1))]``, so that many
    runs failing together do not retry in lockstep. With ``retry_after`` the delay is at least
    that many seconds (the server asked for it), even beyond ``cap``.
    """
    source = rng if rng is not None else _SYSTEM_RANDOM
    exponent = min(max(attempt, 1) - 1, 60)
    ceiling = max(0.0, min(cap, base * (2.0**exponent)))
    delay = source.uniform(0.0, ceiling)
    if retry_after is not None and math.isfinite(retry_after):
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(
    value: str | None, now: datetime | None = None, *, cap: float | None = RETRY_AFTER_CAP
) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP-date.

    ``None`` when absent or unreadable; a date in the past gives ``0.0``; anything above
    ``cap`` (:data:`RETRY_AFTER_CAP`; ``None``: no cap) gives the cap.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds: float
    if text.isascii() and text.replace(".", "", 1).isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        reference = now if now is not None else datetime.now(timezone.utc)
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=timezone.utc)
        seconds = (when - reference).total_seconds()
    if not math.isfinite(seconds):
        return None
    seconds = max(seconds, 0.0)
    return seconds if cap is None else min(seconds, cap)
