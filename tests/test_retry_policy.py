"""The one retry policy the client's request loops share: its decisions, and that it cannot
be changed under them."""

from __future__ import annotations

import dataclasses
import random

import pytest

from pytest_sipfront.api.retry import DEFAULT_POLICY, Decision, GiveUp, RetryPolicy


class Highest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_policy_is_immutable_and_a_copy_changes_only_the_attempts() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.max_attempts = 1  # type: ignore[misc]
    copy = DEFAULT_POLICY.with_attempts(2)
    assert (copy.max_attempts, DEFAULT_POLICY.max_attempts) == (2, 5)
    assert dataclasses.replace(copy, max_attempts=5) == DEFAULT_POLICY


def test_the_last_attempt_or_a_passed_deadline_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.after(3, retry_after=None, left=None) == Decision(give_up=GiveUp.EXHAUSTED)
    assert policy.after(1, retry_after=None, left=0.0) == Decision(give_up=GiveUp.EXHAUSTED)
    unbounded = policy.with_attempts(None)
    assert unbounded.after(10_000, retry_after=None, left=5.0).give_up is None


def test_a_retry_after_is_honoured_as_asked_under_a_deadline_and_capped_without_one() -> None:
    policy = RetryPolicy()
    assert policy.after(1, retry_after=40.0, left=60.0, rng=Highest()).delay == 40.0
    assert policy.after(1, retry_after=61.0, left=60.0).give_up is GiveUp.RETRY_AFTER_TOO_LONG
    assert policy.after(1, retry_after=99_999.0, left=None, rng=Highest()).delay == 300.0


def test_no_wait_goes_past_the_deadline() -> None:
    policy = RetryPolicy(base=100.0, cap=100.0)
    assert policy.after(2, retry_after=None, left=3.0, rng=Highest()).delay == 3.0
