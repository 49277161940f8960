"""The shared rate limit: never more requests in any second than allowed, whoever sends them."""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections.abc import Callable

import pytest
from fake_time import FakeTime

from pytest_sipfront.api.ratelimit import SAFETY_WINDOW, RateLimiter


def most_in_any_window(stamps: list[float], window: float = 1.0) -> int:
    """The largest number of timestamps inside any closed window of ``window`` seconds."""
    ordered = sorted(stamps)
    return max(
        (bisect.bisect_right(ordered, start + window) - i for i, start in enumerate(ordered)),
        default=0,
    )


def send(
    limiter: RateLimiter,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> float | None:
    """One request through the limiter as the client sends it (``begin``, the request,
    ``done``): the moment it went, or None when ``cancel`` ended its wait first."""
    slot = limiter.begin(cancel)
    if slot is None:
        return None
    went = clock()
    slot.done()
    return went


def on_fake_time(rate: float) -> tuple[RateLimiter, FakeTime]:
    """A limiter on the injectable clock: its waits pass at once, its times are exact."""
    fake = FakeTime()
    return RateLimiter(rate, clock=fake.clock, wait=fake.wait), fake


def send_all(limiter: RateLimiter, count: int, clock: Callable[[], float]) -> list[float]:
    """``count`` requests one after another; the moments they went."""
    starts = [send(limiter, clock=clock) for _ in range(count)]
    assert None not in starts
    return [start for start in starts if start is not None]


def cancel_after(seconds: float) -> threading.Event:
    """An event set ``seconds`` from now: a request still waiting for its turn then gives up."""
    event = threading.Event()
    timer = threading.Timer(seconds, event.set)
    timer.daemon = True
    timer.start()
    return event


@pytest.mark.parametrize("rate", [1, 2.7, 12.5, 40])
def test_no_window_of_one_second_ever_holds_more_than_the_rate(rate: float) -> None:
    limiter, fake = on_fake_time(rate)
    allowed = max(1, math.floor(rate))

    starts = send_all(limiter, 2 * allowed + 1, fake.clock)

    assert most_in_any_window(starts) <= allowed
    # The request one burst later went a whole window after the one before it.
    assert all(
        later - earlier >= 1.0 for earlier, later in zip(starts, starts[allowed:], strict=False)
    )


def test_a_burst_goes_at_once_up_to_the_rate_and_the_rest_waits_over_a_second() -> None:
    limiter, fake = on_fake_time(5)

    starts = send_all(limiter, 11, fake.clock)

    assert starts[:5] == [starts[0]] * 5  # the first five did not wait at all
    assert all(start - starts[0] >= 1.0 for start in starts[5:10])
    assert starts[5] == pytest.approx(starts[0] + SAFETY_WINDOW)  # and the sixth no longer
    assert starts[10] - starts[0] >= 2.0


def test_below_one_per_second_requests_are_at_least_one_over_rate_apart() -> None:
    rate = 0.9
    limiter, fake = on_fake_time(rate)

    starts = send_all(limiter, 3, fake.clock)

    assert all(b - a >= 1 / rate for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize("rate", [0.5, 0.25, 0.9])
def test_below_one_per_second_the_window_is_one_over_rate_or_longer(rate: float) -> None:
    limiter = RateLimiter(rate)
    assert limiter.burst == 1
    assert limiter.window >= 1 / rate


def test_requests_go_at_once_while_the_window_has_room_and_then_wait() -> None:
    limiter = RateLimiter(3)

    assert all(send(limiter, cancel_after(5.0)) is not None for _ in range(3))
    assert send(limiter, cancel_after(0.3)) is None  # still waiting when it was cancelled


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
            slot = limiter.begin()
            assert slot is not None
            with lock:
                stamps.append(time.monotonic())
            slot.done()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(stamps) == 48
    assert most_in_any_window(stamps) <= 20
    # 48 requests at 20 per second: two full waits, and no lost wake-up (those hang the
    # waiters for far longer).
    assert 2.0 < time.monotonic() - started < 20


def test_waiting_threads_get_their_turn_in_the_order_they_asked() -> None:
    limiter = RateLimiter(3)
    for _ in range(3):  # fill the window, spaced so that slots come free one by one
        assert send(limiter) is not None
        time.sleep(0.1)
    order: list[int] = []

    def worker(number: int) -> None:
        assert send(limiter) is not None
        order.append(number)

    threads = []
    for number in range(3):
        thread = threading.Thread(target=worker, args=(number,))
        thread.start()
        threads.append(thread)
        time.sleep(0.03)
    for thread in threads:
        thread.join(5)

    assert order == [0, 1, 2]


def test_a_cancelled_wait_returns_false_at_once_and_does_not_block_the_queue() -> None:
    limiter = RateLimiter(1)
    assert send(limiter) is not None
    cancel = threading.Event()
    results: dict[str, bool] = {}
    ended: dict[str, float] = {}

    def waiter(name: str, event: threading.Event | None) -> None:
        results[name] = send(limiter, event) is not None
        ended[name] = time.monotonic()

    opened = time.monotonic()  # the first request's answer: the window runs from here
    first = threading.Thread(target=waiter, args=("cancelled", cancel))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=waiter, args=("patient", None))
    second.start()
    time.sleep(0.1)
    cancel.set()
    first.join(30)
    second.join(30)

    assert results == {"cancelled": False, "patient": True}
    # The cancelled wait ended while the window was still full (it did not wait for a turn)...
    assert ended["cancelled"] < ended["patient"]
    # ... and the patient one took the slot it gave up: the next window, not one after it
    # (a second window would end 2.04 s after the first answer; a busy machine adds less).
    assert ended["patient"] - opened < 2 * limiter.window


def test_an_already_cancelled_acquire_sends_nothing() -> None:
    limiter = RateLimiter(1)
    cancel = threading.Event()
    cancel.set()

    assert send(limiter, cancel) is None
    assert send(limiter, cancel_after(0.5)) is not None  # the slot is still free


def test_a_request_in_flight_holds_its_place_until_its_answer_comes() -> None:
    # The server may see a request as late as its answer: the next one in the window must wait
    # a whole window after that answer, not after the moment the first one was allowed.
    limiter = RateLimiter(1)
    first = limiter.begin()
    assert first is not None
    got: list[float] = []

    def wait_and_send() -> None:
        send(limiter)
        got.append(time.monotonic())

    waiter = threading.Thread(target=wait_and_send)
    waiter.start()
    time.sleep(0.3)
    assert got == []  # still blocked: the first request has no answer yet
    answered = time.monotonic()
    first.done()
    waiter.join(5)
    assert got and got[0] - answered >= limiter.window - 0.01
