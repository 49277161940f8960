"""How a ``status/last`` run object is read: tolerantly, and "no earlier run" when unusable."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_sipfront.runs.history import planned_lookup, previous_from_run
from pytest_sipfront.runs.messages import before_line


def test_a_failed_test_run_keeps_its_reason_times_and_link() -> None:
    previous = previous_from_run(
        {
            "status": "failed",
            "is_finished": 1,
            "has_passed": 0,
            "result_description": "carrier \x1b[31moutage",
            "started_at": "2026-11-30 08:10:17",
            "stopped_at": "2026-11-30 08:12:12",
            "report_url": "https://app.sipfront.com/run/details/abc",
        },
        "test",
    )
    assert (previous.state, previous.reason, previous.duration_s) == (
        "failed",
        "carrier outage",
        115.0,
    )
    assert before_line(previous) == (
        "failed: carrier outage | 2026-11-30 08:12 UTC (1m55s) "
        "https://app.sipfront.com/run/details/abc"
    )


def test_a_project_run_counts_from_created_at() -> None:
    previous = previous_from_run(
        {
            "run_status": "passed",
            "has_passed": 1,
            "is_finished": 1,
            "created_at": "2026-11-30 08:00:00",
            "stopped_at": "2026-11-30 08:00:40",
        },
        "project",
    )
    assert (previous.state, previous.duration_s) == ("passed", 40.0)


def test_a_run_still_going_has_no_duration() -> None:
    previous = previous_from_run(
        {"status": "running", "is_finished": 0, "started_at": "2026-11-30 08:00:00"}, "test"
    )
    assert (previous.state, previous.duration_s) == ("running", None)
    assert before_line(previous) == "still running"


@pytest.mark.parametrize(
    "run",
    [None, {}, {"foo": "bar"}, {"status": None}, "passed", ["passed"]],
)
def test_an_unusable_body_is_no_earlier_run(run: Any) -> None:
    previous = previous_from_run(run, "test")
    assert previous.state == "none"
    assert before_line(previous) == "no earlier run"


def test_a_link_that_is_not_http_is_dropped() -> None:
    previous = previous_from_run(
        {"status": "passed", "is_finished": 1, "report_url": "javascript:alert(1)"}, "test"
    )
    assert previous.report_url is None


def test_a_dry_run_names_the_lookup_by_id_or_by_name() -> None:
    assert planned_lookup("test", {"test.id": 12}) == "GET /tests/12/status/last"
    assert planned_lookup("project", {"project.name": "nightly"}) == (
        "GET /projects/<id of nightly>/status/last (its id from GET /projects)"
    )
    assert planned_lookup("test", {}) == ""
