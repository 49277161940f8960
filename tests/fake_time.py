"""The injectable clock of the tests: a monotonic clock that moves only when the code under
test sleeps or waits, so that time is asserted exactly and a busy machine changes nothing.

``clock`` and ``sleep`` are what the API client takes; ``wait(condition, timeout)`` is what the
rate limiter takes (it is called with the condition's lock held).
"""

from __future__ import annotations

import threading


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps or waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def wait(self, condition: threading.Condition, timeout: float | None) -> bool:
        """A timed wait passes its time at once; an untimed one would wait for another
        thread, which a single-threaded test does not have."""
        assert timeout is not None, "an untimed wait in a single-threaded test never ends"
        self.sleep(timeout)
        return False
