"""One rate limit for every API request of the session, whichever thread sends it.

The guarantee is a sliding log: never more than ``max(1, floor(rate))`` requests in any
window of 1.0 s, and below one request per second at least ``1 / rate`` seconds lie between two
requests. The limiter counts with a small safety margin (:data:`SAFETY_WINDOW`).

The server sees a request somewhere between the moment it was allowed and the moment its answer
came; under load (many threads, one GIL, a new connection) that can be hundreds of
milliseconds. So a request taken with :meth:`RateLimiter.begin` holds its place in the log as
"now" until :meth:`Slot.done` stamps it with the time its answer came: the request
``burst`` places later starts only a window after that. An observer on the server side then
never counts more than ``burst`` in any window either.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

SAFETY_WINDOW = 1.02
"""The window the limiter counts in, in seconds: 1.0 s plus a margin for jitter."""

_CANCEL_TICK = 0.05
"""How often a queued thread looks at its cancel event while it waits for its turn."""


def _wait_on(condition: threading.Condition, timeout: float | None) -> bool:
    return condition.wait(timeout)


class _Waiter:
    __slots__ = ("background",)

    def __init__(self, background: bool) -> None:
        self.background = background


class Slot:
    """One request's place in the log; :meth:`done` when its answer came (or it failed)."""

    __slots__ = ("_limiter", "stamp")

    def __init__(self, limiter: RateLimiter, stamp: float) -> None:
        self._limiter = limiter
        self.stamp = stamp

    def done(self) -> None:
        self._limiter._finish(self)


class RateLimiter:
    """Thread-safe sliding-log limiter; threads get their turn in the order they asked (FIFO),
    background requests after every other."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Condition, float | None], object] | None = None,
    ) -> None:
        """``clock`` is the monotonic clock the log is kept on; ``wait(condition, timeout)``
        waits for a turn with the condition's lock held (``condition.wait`` unless a test gives
        a clock of its own that moves when the limiter waits)."""
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise ValueError(f"the request rate must be a number, not {rate!r}")
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"the request rate must be greater than zero, not {rate!r}")
        self.rate = float(rate)
        self.burst = max(1, math.floor(rate))
        """Requests allowed in one window."""
        self.window = SAFETY_WINDOW if rate >= 1 else SAFETY_WINDOW / rate
        """Length of the window in seconds (longer than 1 s below one request per second)."""
        self._clock = clock
        self._wait = wait or _wait_on
        self._log: deque[Slot] = deque(maxlen=self.burst)
        self._queue: deque[_Waiter] = deque()
        self._cond = threading.Condition(threading.Lock())

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g})"

    def _delay(self, now: float) -> float:
        """Seconds until the log allows one more request (0.0 when it does now). Lock held."""
        if len(self._log) < self.burst:
            return 0.0
        return max(0.0, self._log[0].stamp + self.window - now)

    def _finish(self, slot: Slot) -> None:
        with self._cond:
            slot.stamp = self._clock()
            self._cond.notify_all()

    def begin(self, cancel: threading.Event | None = None) -> Slot | None:
        """Block until a request may go; its place counts as "now" until ``done()``. ``None``
        when ``cancel`` was set first.

        Waits are timed waits on a condition, never busy loops; a thread waiting with a cancel
        event notices it within :data:`_CANCEL_TICK` seconds.
        """
        return self._begin(cancel, background=False)

    def begin_background(self, cancel: threading.Event | None = None) -> Slot | None:
        """:meth:`begin` for a request that waits behind every other one waiting (media
        metrics), so that it never holds back a run's status poll or trigger."""
        return self._begin(cancel, background=True)

    def _begin(self, cancel: threading.Event | None, *, background: bool) -> Slot | None:
        me = _Waiter(background)
        with self._cond:
            if background:
                self._queue.append(me)
            else:  # ahead of the background requests, behind the other foreground ones
                place = next(
                    (i for i, waiter in enumerate(self._queue) if waiter.background),
                    len(self._queue),
                )
                self._queue.insert(place, me)
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        return None
                    timeout: float | None
                    if self._queue[0] is me:
                        now = self._clock()
                        delay = self._delay(now)
                        if delay <= 0.0:
                            slot = Slot(self, math.inf)  # in flight: "now" until done()
                            self._log.append(slot)
                            return slot
                        timeout = delay if math.isfinite(delay) else None  # until done()
                    else:
                        timeout = None
                    if cancel is not None:
                        timeout = _CANCEL_TICK if timeout is None else min(timeout, _CANCEL_TICK)
                    self._wait(self._cond, timeout)
            finally:
                self._queue.remove(me)
                self._cond.notify_all()
