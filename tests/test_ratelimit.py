"""The shared rate limit: never more requests in any second than allowed, whoever sends them."""

from __future__ import annotations

import bisect
import itertools
import math
import random
import threading
import time
from collections.abc import Callable

import pytest

from pytest_sipfront.api.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def queued(limiter: RateLimiter) -> int:
    """Threads waiting in ``limiter`` (its private queue: an event to wait on, not a sleep)."""
    with limiter._cond:
        return len(limiter._queue)


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"gave up after {seconds}s"
        time.sleep(0.01)


def most_in_any_window(stamps: list[float], window: float = 1.0) -> int:
    """The largest number of timestamps inside any closed window of ``window`` seconds."""
    ordered = sorted(stamps)
    return max(
        (bisect.bisect_right(ordered, start + window) - i for i, start in enumerate(ordered)),
        default=0,
    )


def drive(limiter: RateLimiter, clock: FakeClock, arrivals: list[float]) -> list[float]:
    """Send one request per arrival time (in order) on the fake clock; return the start times."""
    starts: list[float] = []
    for arrival in arrivals:
        clock.now = max(clock.now, arrival)
        while (delay := limiter.try_acquire()) > 0:
            clock.now += delay
        starts.append(clock.now)
    return starts


@pytest.mark.parametrize("rate", [1, 2.7, 5, 12.5, 40])
def test_no_window_of_one_second_ever_holds_more_than_the_rate(rate: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock)
    rng = random.Random(rate)
    arrivals = sorted(50.0 + rng.uniform(0, 20) for _ in range(400))

    starts = drive(limiter, clock, arrivals)

    allowed = max(1, math.floor(rate))
    assert most_in_any_window(starts) <= allowed
    # Nobody started before asking.
    assert all(start >= arrival for start, arrival in zip(starts, arrivals, strict=True))


def test_a_burst_goes_at_once_up_to_the_rate_and_the_rest_waits_just_over_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock)

    starts = drive(limiter, clock, [50.0] * 11)

    assert starts[:5] == [50.0] * 5
    assert all(1.0 < start - 50.0 <= 1.05 for start in starts[5:10])
    assert 2.0 < starts[10] - 50.0 <= 2.1


@pytest.mark.parametrize("rate", [0.5, 0.25, 0.9])
def test_below_one_per_second_requests_are_at_least_one_over_rate_apart(rate: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock)

    starts = drive(limiter, clock, [50.0] * 6)

    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 1 / rate for gap in gaps)
    assert all(gap <= 1.05 / rate for gap in gaps)


def test_acquire_returns_at_once_while_the_window_has_room() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)

    assert all(limiter.acquire() for _ in range(3))
    assert limiter.try_acquire() > 0


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), True, "5"])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate: object) -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate)  # type: ignore[arg-type]


def test_threads_sharing_a_limiter_never_exceed_the_rate_in_real_time() -> None:
    limiter = RateLimiter(20)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(8):
            assert limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(stamps) == 48
    assert most_in_any_window(stamps) <= 20
    # 48 requests at 20 per second: at least two full waits. No thread sleeps through its turn
    # (a lost wake-up): about 2.2 s when idle, far below a wait per request (48 s).
    assert 2.0 < time.monotonic() - started < 20


def test_waiting_threads_get_their_turn_in_the_order_they_asked() -> None:
    limiter = RateLimiter(3)
    for _ in range(3):  # fill the window, spaced so that slots come free one by one
        assert limiter.acquire()
        time.sleep(0.1)
    order: list[int] = []

    def worker(number: int) -> None:
        assert limiter.acquire()
        order.append(number)

    threads = []
    for number in range(3):
        thread = threading.Thread(target=worker, args=(number,))
        thread.start()
        threads.append(thread)
        # The next one asks only once this one is queued (or already through).
        wait_for(lambda n=number: queued(limiter) + len(order) > n)  # type: ignore[misc]
    for thread in threads:
        thread.join(30)

    assert order == [0, 1, 2]


def test_a_cancelled_wait_returns_false_at_once_and_does_not_block_the_queue() -> None:
    # A long window (4 s), so that "at once" and "one window more" are far apart.
    limiter = RateLimiter(0.25)
    assert limiter.acquire()
    taken = time.monotonic()
    cancel = threading.Event()
    results: dict[str, bool] = {}
    ended: dict[str, float] = {}

    def waiter(name: str, event: threading.Event | None) -> None:
        results[name] = limiter.acquire(event)
        ended[name] = time.monotonic()

    first = threading.Thread(target=waiter, args=("cancelled", cancel))
    first.start()
    wait_for(lambda: queued(limiter) == 1)
    second = threading.Thread(target=waiter, args=("patient", None))
    second.start()
    wait_for(lambda: queued(limiter) == 2)
    cancelled = time.monotonic()
    cancel.set()
    first.join(30)
    second.join(30)

    assert results == {"cancelled": False, "patient": True}
    assert ended["cancelled"] - cancelled < limiter.window / 2
    # The patient one took the slot the cancelled one gave up: one window, not two.
    assert ended["patient"] - taken < limiter.window * 1.5


def test_an_already_cancelled_acquire_sends_nothing() -> None:
    limiter = RateLimiter(1)
    cancel = threading.Event()
    cancel.set()

    assert limiter.acquire(cancel) is False
    assert limiter.try_acquire() == 0.0  # the slot is still free


def test_a_request_in_flight_holds_its_place_until_its_answer_comes() -> None:
    # The server may see a request as late as its answer: the next one in the window must wait
    # a whole window after that answer, not after the moment the first one was allowed.
    limiter = RateLimiter(1)
    first = limiter.begin()
    assert first is not None
    got: list[float] = []

    def wait_and_note() -> None:
        limiter.acquire()
        got.append(time.monotonic())

    waiter = threading.Thread(target=wait_and_note)
    waiter.start()
    time.sleep(0.3)
    assert got == []  # still blocked: the first request has no answer yet
    answered = time.monotonic()
    first.done()
    waiter.join(5)
    assert got and got[0] - answered >= limiter.window - 0.01
