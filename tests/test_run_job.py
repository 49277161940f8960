"""The run request that crosses to the pytest-xdist controller: every field of ``RunJob``
arrives, serialised from the dataclass itself."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from pytest_sipfront.media.thresholds import parse_threshold
from pytest_sipfront.runs.job import RunJob, fixture_key, item_of, job_from_dict, job_to_dict
from pytest_sipfront.runs.outcome import Attempt, PreviousRun, RunOutcome, Verdict

# A value unlike the default for every field of RunJob. A field added to RunJob without a value
# here fails the test below: add it here, and it is carried (or the round trip shows it is not).
EVERY_FIELD: dict[str, Any] = {
    "key": "sipfront.yml::basic-call[4312]",
    "kind": "project",
    "body": {"project.name": "nightly", "test_ids": [11, 12], "report.mode": "kiosk"},
    "timeout": 123.5,
    "poll_interval": 2.5,
    "retries": 2,
    "outcome": RunOutcome(
        name="basic-call[4312]",
        verdict=Verdict.UNKNOWN,
        target="project nightly",
        kind="project",
        manifest="ci/sipfront.yml",
        line=7,
        sandbox=True,
        attempts=[Attempt(session_id="s-1", report_url="https://x/run/1", status="failed")],
        previous=PreviousRun(state="failed", reason="carrier outage"),
    ),
    "expect_failure": True,
    "expected": 95.0,
    "fail_on_new_only": True,
    "ledger_item": "tests/test_calls.py::test_call#2",
    "thresholds": (
        parse_threshold("rtp_jitter", "p95 < 30"),
        parse_threshold("rtp_jitter{role=callee,dir=in}@baseline", "max <= +50%"),
    ),
}


def test_every_field_of_a_run_job_reaches_the_xdist_controller() -> None:
    names = {field.name for field in dataclasses.fields(RunJob)}
    assert names == set(EVERY_FIELD), "give every RunJob field a non-default value above"
    job = RunJob(**EVERY_FIELD)
    for field in dataclasses.fields(RunJob):
        if field.default is not dataclasses.MISSING:
            assert getattr(job, field.name) != field.default, field.name
    wire = json.loads(json.dumps(job_to_dict(job)))
    back = job_from_dict(wire)
    for name in names:
        assert getattr(back, name) == getattr(job, name), name


def test_a_run_job_missing_a_field_is_refused_not_defaulted() -> None:
    wire = job_to_dict(RunJob(**EVERY_FIELD))
    del wire["fail_on_new_only"]
    with pytest.raises(KeyError):
        job_from_dict(wire)


def test_a_run_job_is_a_fixed_request() -> None:
    job = RunJob(**EVERY_FIELD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.timeout = 1.0  # type: ignore[misc]


def test_a_fixture_run_s_key_names_its_test_and_is_the_same_on_every_worker() -> None:
    nodeid = "tests/test_calls.py::test_call[a::b]"
    assert item_of(fixture_key(nodeid, 2)) == nodeid
    assert fixture_key(nodeid, 2) == fixture_key(nodeid, 2) != fixture_key(nodeid, 2, 2)
    assert item_of("sipfront.yml::basic-call") == "sipfront.yml::basic-call"
