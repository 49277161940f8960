"""Polling that expects the end: the looks a run gets with and without an expected duration."""

from __future__ import annotations

import itertools

import pytest

from pytest_sipfront.runs.polling import FIRST_LOOK, PollPlan


def schedule(plan: PollPlan, until: float) -> list[float]:
    """The elapsed times of every look the plan asks for, up to ``until``."""
    looks = [plan.first_delay()]
    while looks[-1] < until:
        looks.append(looks[-1] + plan.next_delay(looks[-1]))
    return looks


def test_without_an_expectation_a_run_is_polled_every_interval() -> None:
    looks = schedule(PollPlan(interval=3.0), until=30.0)
    assert looks[0] == FIRST_LOOK
    assert all(b - a == pytest.approx(3.0) for a, b in itertools.pairwise(looks))


def test_a_ten_second_run_with_a_correct_history_needs_three_looks() -> None:
    looks = schedule(PollPlan(interval=3.0, expected=10.0), until=10.0)
    assert looks == pytest.approx([1.0, 9.8, 10.0])


def test_the_early_look_comes_about_a_second_after_the_trigger() -> None:
    assert PollPlan(interval=3.0, expected=600.0).first_delay() == FIRST_LOOK
    assert PollPlan(interval=0.2, expected=600.0).first_delay() == 0.2


def test_a_long_run_is_looked_at_sparsely_until_its_end_comes_near() -> None:
    plan = PollPlan(interval=3.0, expected=600.0)
    looks = schedule(plan, until=600.0)
    assert len(looks) < 30  # fixed-interval polling would send 200
    start, _ = plan.end_phase
    before_end = [look for look in looks if look < start]
    gaps = [b - a for a, b in itertools.pairwise(before_end)]
    assert all(gap >= 3.0 for gap in gaps)


def test_around_the_expected_end_looks_come_at_or_below_the_interval() -> None:
    plan = PollPlan(interval=3.0, expected=120.0)
    start, stop = plan.end_phase
    assert start < 120.0 < stop
    looks = [look for look in schedule(plan, until=stop) if start <= look <= stop]
    assert len(looks) >= 3
    assert all(b - a <= 3.0 for a, b in itertools.pairwise(looks))


@pytest.mark.parametrize("expected", [2.0, 10.0, 20.0, 120.0, 900.0])
def test_a_run_that_takes_three_times_longer_is_seen_at_most_one_interval_late(
    expected: float,
) -> None:
    interval = 3.0
    actual = 3 * expected
    seen_with_history = next(
        look for look in schedule(PollPlan(interval, expected), actual + 10) if look >= actual
    )
    seen_today = next(look for look in schedule(PollPlan(interval), actual + 10) if look >= actual)
    assert seen_with_history - seen_today <= interval


def test_a_run_that_fails_long_before_its_usual_end_is_seen_within_half_a_minute() -> None:
    plan = PollPlan(interval=3.0, expected=600.0)
    start, _ = plan.end_phase
    looks = schedule(plan, until=start)
    assert max(b - a for a, b in itertools.pairwise(looks)) <= 30.0
