"""When to ask about a run next: fixed-interval polling, or polling that expects the end.

Without an expectation a run is polled every ``interval`` seconds (the first look comes after
``min(FIRST_LOOK, interval)``), as the gate always did. With an expected duration (from the
test's last finished run at Sipfront, or from the durations this machine saw before) the plan
is:

1. one early look ``FIRST_LOOK`` seconds after the trigger, for runs that fail at once;
2. sparse looks while the end is far away: each halves the distance to the end phase, never
   closer together than ``interval`` and never further apart than ``SPARSE_HORIZON`` (so a run
   that now fails long before its usual end is still seen within half a minute); once the end
   phase is within ``SPARSE_HORIZON`` (or four intervals), the next look is its first;
3. the end phase, from one dense step before the expected end: a look every dense step
   (2 % of the expected duration, at least ``MIN_DENSE_STEP``, at most ``interval``) for
   ``END_WINDOW_STEPS`` steps past the expected end;
4. past that window, every ``interval`` as without an expectation.

Every delay is a wish: the rate limit and the run's deadline still decide when a request
goes out, and nothing here changes how a verdict is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_LOOK = 1.0
"""Seconds after the trigger of the first status request (runs that fail at once)."""

MIN_DENSE_STEP = 0.2
"""The closest two looks of the end phase come together, in seconds."""

DENSE_SHARE = 0.02
"""The end phase's step as a share of the expected duration."""

END_WINDOW_STEPS = 5
"""How many dense steps past the expected end the end phase lasts."""

SPARSE_HORIZON = 30.0
"""Seconds: the longest gap between sparse looks; an end phase closer than this (or than four
intervals) gets no sparse look first."""


@dataclass(frozen=True)
class PollPlan:
    """The looks at one run attempt; ``elapsed`` counts from the trigger's answer."""

    interval: float
    expected: float | None = None

    @property
    def dense_step(self) -> float:
        """The step between looks around the expected end."""
        if self.expected is None:
            return self.interval
        return min(self.interval, max(MIN_DENSE_STEP, self.expected * DENSE_SHARE))

    @property
    def end_phase(self) -> tuple[float, float]:
        """From when to when (elapsed seconds) looks come every dense step."""
        if self.expected is None:
            return (0.0, 0.0)
        step = self.dense_step
        return (max(0.0, self.expected - step), self.expected + END_WINDOW_STEPS * step)

    def first_delay(self) -> float:
        """Seconds from the trigger's answer to the first look: the one rule the scheduler
        follows, with or without an expectation."""
        return min(FIRST_LOOK, self.interval)

    def next_delay(self, elapsed: float) -> float:
        """Seconds from now (``elapsed`` after the trigger's answer) to the next look."""
        if self.expected is None:
            return self.interval
        start, stop = self.end_phase
        if elapsed >= stop:
            return self.interval
        if elapsed >= start:
            return self.dense_step
        distance = start - elapsed
        if distance <= max(SPARSE_HORIZON, 4 * self.interval):
            return distance
        return max(self.interval, min(distance / 2, SPARSE_HORIZON))
