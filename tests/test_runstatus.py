"""Reading a status body: when a run has finished, whether it passed, and which word to show."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_sipfront.api.runstatus import FINISHED_WORDS, GOING_WORDS, RunState, interpret


def state(
    finished: bool,
    passed: bool,
    word: str,
    unknown: str | None = None,
    contradiction: str | None = None,
) -> RunState:
    return RunState(
        finished=finished,
        passed=passed,
        word=word,
        unknown_word=unknown,
        contradiction=contradiction,
    )


PUBLISHED_FINISHED = {
    "agentpool_name": "eu-central-1",
    "has_passed": 1,
    "id": 12345,
    "is_failed": 0,
    "is_finished": 1,
    "result_description": "",
    "status": "passed",
    "stopped_at": "2024-02-09 08:22:13",
}


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        # The two bodies the API page publishes.
        ({"status": "running"}, state(False, False, "running")),
        (PUBLISHED_FINISHED, state(True, True, "passed")),
        # is_finished decides when present, in any spelling.
        ({"is_finished": 1, "has_passed": 0, "status": "failed"}, state(True, False, "failed")),
        ({"is_finished": True, "has_passed": True}, state(True, True, "")),
        (
            {"is_finished": "1", "has_passed": "0", "status": "stopped"},
            state(True, False, "stopped"),
        ),
        ({"is_finished": 0, "status": "passed"}, state(False, False, "passed")),
        ({"is_finished": "0", "status": "failed"}, state(False, False, "failed")),
        ({"is_finished": 0, "status": "weird"}, state(False, False, "weird")),
        # has_passed decides a finished run; without it, only "passed" passes.
        (
            {"is_finished": 1, "has_passed": 1, "status": "failed"},
            state(True, False, "failed", None, "has_passed=1 with status failed"),
        ),
        ({"is_finished": 1, "status": "passed"}, state(True, True, "passed")),
        ({"is_finished": 1, "status": "errored"}, state(True, False, "errored")),
        ({"is_finished": 1}, state(True, False, "")),
        (
            {"is_finished": 1, "status": "running"},
            state(False, False, "running", None, "is_finished=1 with status running"),
        ),
        ({"is_finished": 1, "status": "wobbly"}, state(True, False, "wobbly")),
        # Without is_finished, the words decide.
        ({"status": "passed"}, state(True, True, "passed")),
        ({"session_status": "passed"}, state(True, True, "passed")),
        ({"status": "failed", "result_description": "no audio"}, state(True, False, "failed")),
        ({"status": "stopped"}, state(True, False, "stopped")),
        ({"status": "  ERRORED "}, state(True, False, "errored")),
        ({"status": "finished"}, state(True, False, "finished")),
        ({"status": "completed", "has_passed": 1}, state(True, True, "completed")),
        ({"status": "queued"}, state(False, False, "queued")),
        ({"status": "pending"}, state(False, False, "pending")),
        # The two fields disagree: a going word wins.
        ({"status": "passed", "session_status": "running"}, state(False, False, "running")),
        ({"status": "scheduled", "session_status": "failed"}, state(False, False, "scheduled")),
        # Two finished words that disagree never pass without has_passed.
        ({"status": "passed", "session_status": "failed"}, state(True, False, "failed")),
        ({"status": "passed", "session_status": "passed"}, state(True, True, "passed")),
        # An unknown word keeps the run polling and is reported; a finished word beside it holds.
        ({"status": "warming-up"}, state(False, False, "warming-up", "warming-up")),
        ({"status": "warming-up", "session_status": "starting"}, state(False, False, "starting")),
        ({"status": "warming-up", "session_status": "failed"}, state(True, False, "failed")),
        # Nothing usable at all: keep polling, nothing to warn about.
        ({}, state(False, False, "")),
        # A status that is not a word is doubt: the run keeps polling, never passes.
        (
            {"status": 200, "session_status": None},
            state(False, False, "", None, "status is a number, not a status word: 200"),
        ),
        ({"status": ""}, state(False, False, "")),
    ],
)
def test_a_test_run_status_is_read_by_the_rules_of_the_contract(
    run: dict[str, Any], expected: RunState
) -> None:
    assert interpret(run) == expected


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ({"run_status": "running"}, state(False, False, "running")),
        ({"run_status": "passed", "total_tests": 3}, state(True, True, "passed")),
        ({"run_status": "failed"}, state(True, False, "failed")),
        (
            {"run_status": "stopped", "stopped_at": "2024-02-09 08:22:13"},
            state(True, False, "stopped"),
        ),
        ({"run_status": "passed", "status": "running"}, state(False, False, "running")),
        ({"run_status": "odd"}, state(False, False, "odd", "odd")),
        ({"is_finished": 1, "run_status": "failed", "has_passed": 0}, state(True, False, "failed")),
    ],
)
def test_a_project_run_is_read_from_run_status(run: dict[str, Any], expected: RunState) -> None:
    assert interpret(run, kind="project") == expected


@pytest.mark.parametrize(
    ("run", "contradiction"),
    [
        (
            {"is_finished": 1, "has_passed": 2, "status": "failed"},
            "has_passed=2 is neither 0 nor 1",
        ),
        (
            {"is_finished": 1, "has_passed": "yes", "status": "failed"},
            "has_passed='yes' is neither 0 nor 1",
        ),
        (
            {"is_finished": 1, "has_passed": "true", "status": "passed"},
            "has_passed='true' is neither 0 nor 1",
        ),
        ({"is_finished": 1, "has_passed": 1.0}, "has_passed=1.0 is neither 0 nor 1"),
        ({"is_finished": 1, "has_passed": -1}, "has_passed=-1 is neither 0 nor 1"),
        ({"has_passed": 1, "status": "stopped"}, "has_passed=1 with status stopped"),
        (
            {"is_finished": 1, "has_passed": 0, "status": "passed"},
            "has_passed=0 with status passed",
        ),
        (
            {"is_finished": 1, "has_passed": 1, "status": "passed", "session_status": "aborted"},
            "has_passed=1 with status aborted",
        ),
    ],
)
def test_a_contradictory_finished_body_never_passes_and_names_the_fields(
    run: dict[str, Any], contradiction: str
) -> None:
    result = interpret(run)
    assert result.finished
    assert not result.passed
    assert result.contradiction == contradiction


@pytest.mark.parametrize(
    "run",
    [
        {"is_finished": 1, "has_passed": 1, "status": "running"},
        {"is_finished": "1", "has_passed": 1, "session_status": "queued"},
    ],
)
def test_is_finished_beside_a_going_word_keeps_polling_and_never_passes(
    run: dict[str, Any],
) -> None:
    result = interpret(run)
    assert not result.finished and not result.passed
    assert result.contradiction is not None and result.contradiction.startswith("is_finished=")


@pytest.mark.parametrize(
    "value",
    [1, "1", " 1 ", True],
)
def test_has_passed_counts_as_one_only_as_integer_string_or_boolean(value: object) -> None:
    assert interpret({"is_finished": 1, "has_passed": value, "status": "passed"}).passed
    assert interpret({"is_finished": 1, "has_passed": value, "status": "completed"}).passed


def test_run_status_means_nothing_for_a_single_test_run() -> None:
    assert interpret({"run_status": "passed"}) == state(False, False, "")


@pytest.mark.parametrize("word", sorted(FINISHED_WORDS - {"passed"}))
def test_every_finished_word_but_passed_fails(word: str) -> None:
    result = interpret({"status": word})
    assert result.finished and not result.passed and result.word == word


@pytest.mark.parametrize("word", sorted(GOING_WORDS))
def test_every_going_word_keeps_the_run_polling(word: str) -> None:
    result = interpret({"session_status": word.upper()})
    assert not result.finished and result.word == word and result.unknown_word is None


def test_the_word_lists_are_the_contracts() -> None:
    finished = "passed failed stopped errored error aborted cancelled canceled timeout finished"
    assert set(FINISHED_WORDS) == {*finished.split(), "completed"}
    assert set(GOING_WORDS) == {"running", "queued", "pending", "scheduled", "starting"}
