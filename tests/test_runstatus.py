"""Reading a status body: when a run has finished, whether it passed, and which word to show."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sipfront.api.rawjson import load_json
from pytest_sipfront.api.runstatus import (
    FINISHED_WORDS,
    GOING_WORDS,
    RunState,
    interpret,
    read_run_body,
)
from pytest_sipfront.sanitize import clean_line


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


# ---- property: no body passes without consistent evidence ------------------------------------

VERDICT_KEYS = ("is_finished", "has_passed", "is_failed", "status", "session_status", "run_status")
ONE = (1, True, "1", " 1", "1 ")
ZERO = (0, False, "0")
PASSING_WORDS = ("passed", "finished", "completed")


def _lookalike_keys(key: str) -> list[str]:
    """Keys a cleaner or a careless reader would take for ``key``."""
    return [
        key + " ",
        " " + key,
        key.upper(),
        key[:3] + "\u0000" + key[3:],
        key[:3] + "\x1b[0m" + key[3:],
        key + "\u202e",
        key[:2] + "\u200b" + key[2:],
        key + "\t",
    ]


LOOKALIKES = [alike for key in VERDICT_KEYS for alike in _lookalike_keys(key)]
HARMLESS_KEYS = ["id", "result_description", "report_url", "tags", "test_name"]
VALUES: list[Any] = [
    0,
    1,
    2,
    -1,
    1.0,
    True,
    False,
    None,
    "0",
    "1",
    " 1 ",
    "2",
    "true",
    "yes",
    "",
    "passed",
    "PASSED",
    " passed ",
    "failed",
    "finished",
    "completed",
    "running",
    "queued",
    "wobbly",
    "pass\u0000ed",
    "pass\x1b[0med",
    "pass\u202eed",
    "passed\n::error::x",
    ["passed"],
    {"status": "passed"},
    [],
    {},
]


def _word(value: Any) -> str | None:
    return value.strip(" \t\r\n").lower() if isinstance(value, str) else None


def consistent_pass_evidence(pairs: list[tuple[str, Any]], kind: str) -> bool:
    """The oracle, written apart from the implementation: a body may pass only if it says
    finished, has_passed exactly 1 (or, absent, every status word says passed), every status
    is a word consistent with passing, and nothing contradicts (no look-alike key, no key sent
    twice, no is_failed other than 0)."""
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)) or any(key in LOOKALIKES for key in keys):
        return False
    run = dict(pairs)
    fields = (
        ("run_status", "status", "session_status")
        if kind == "project"
        else (
            "status",
            "session_status",
        )
    )
    present = [run[name] for name in fields if run.get(name) is not None]
    if not all(isinstance(value, str) for value in present):
        return False
    words = [w for w in (_word(value) for value in present) if w]
    if any(w not in PASSING_WORDS for w in words):
        return False
    finished = run.get("is_finished")
    if finished is None:
        if not words:
            return False
    elif finished not in ONE:
        return False
    passed = run.get("has_passed")
    if passed is None:
        if not words or any(w != "passed" for w in words):
            return False
    elif passed not in ONE or isinstance(passed, float):
        return False
    return run.get("is_failed") is None or run.get("is_failed") in ZERO


def _raw_body(pairs: list[tuple[str, Any]]) -> bytes:
    inner = ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs)
    return ('{"run": {' + inner + '}, "status": 200}').encode()


PAIR = st.tuples(
    st.sampled_from([*VERDICT_KEYS, *VERDICT_KEYS, *LOOKALIKES, *HARMLESS_KEYS]),
    st.one_of(st.sampled_from(VALUES), st.text(max_size=8)),
)
PASSING_BODIES: list[list[tuple[str, Any]]] = [
    [("is_finished", 1), ("has_passed", 1), ("status", "passed")],
    [("is_finished", 1), ("has_passed", 1), ("is_failed", 0), ("status", "passed")],
    [("has_passed", 1), ("status", "completed")],
    [("status", "passed"), ("session_status", "passed")],
    [("is_finished", "1"), ("run_status", "passed"), ("has_passed", True)],
    [("is_finished", 1), ("status", "passed")],
]


@st.composite
def _near_passing(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A body that passes, with a few pairs added, replaced or sent twice: most of the bodies
    worth checking are one hostile field away from a pass."""
    pairs = list(draw(st.sampled_from(PASSING_BODIES)))
    for _ in range(draw(st.integers(0, 3))):
        pair = draw(st.one_of(PAIR, st.sampled_from(pairs)))
        pairs.insert(draw(st.integers(0, len(pairs))), pair)
    return pairs


PAIRS = st.one_of(_near_passing(), st.lists(PAIR, max_size=10))


@settings(max_examples=1500, deadline=None)
@given(pairs=PAIRS, kind=st.sampled_from(["test", "project"]))
def test_no_body_passes_without_consistent_evidence(
    pairs: list[tuple[str, Any]], kind: str
) -> None:
    reading = read_run_body(load_json(_raw_body(pairs)), kind)
    assert reading is not None
    if reading.state.passed:
        assert reading.state.finished
        assert consistent_pass_evidence(pairs, kind), pairs


@settings(max_examples=300, deadline=None)
@given(pairs=PAIRS)
def test_every_word_and_contradiction_shown_is_one_clean_line(
    pairs: list[tuple[str, Any]],
) -> None:
    state = interpret(load_json(_raw_body(pairs))["run"])
    for shown in (state.word, state.unknown_word or "", state.contradiction or ""):
        assert shown == clean_line(shown, 200)
        assert "\n" not in shown and "\x1b" not in shown and "\u202e" not in shown


def test_a_consistent_passing_body_still_passes() -> None:
    body = _raw_body([("is_finished", 1), ("has_passed", 1), ("status", "passed")])
    reading = read_run_body(load_json(body))
    assert reading is not None and reading.state.passed


@pytest.mark.parametrize(
    ("raw", "contradiction"),
    [
        (
            b'{"is_finished": 1, "has_passed": 0, "has_passed ": 1}',
            "the key 'has_passed ' looks like has_passed",
        ),
        (
            b'{"is_finished": 1, "has_passed": 0, "has_passed\\u202e": 1}',
            "the key 'has_passed\\u202e' looks like has_passed",
        ),
        (
            b'{"is_finished": 1, "has_passed": 0, "has_passed": 1}',
            "the key 'has_passed' was sent twice",
        ),
        (
            b'{"is_finished": 1, "has_passed": 1, "status": ["failed"]}',
            "status is a list, not a status word: ['failed']",
        ),
        (
            b'{"is_finished": 1, "has_passed": 1, "session_status": {"a": 1}}',
            "session_status is an object, not a status word: {'a': 1}",
        ),
        (
            b'{"is_finished": 1, "has_passed": 1, "status": "pass\\u0000ed"}',
            "has_passed=1 with status 'pass\\x00ed'",
        ),
        (
            b'{"is_finished": 1, "has_passed": 1, "is_failed": 1, "status": "passed"}',
            "is_failed=1 with a passed run",
        ),
    ],
)
def test_a_doubtful_body_fails_and_its_line_names_the_doubt_visibly(
    raw: bytes, contradiction: str
) -> None:
    state = interpret(load_json(raw))
    assert state.finished and not state.passed
    assert state.contradiction == contradiction


def test_a_status_word_with_a_hidden_character_is_not_a_known_word() -> None:
    for word in ("pass\u0000ed", "pass\x1b[0med", "pass\u202eed"):
        state = interpret({"status": word})
        assert not state.finished and not state.passed
        # Shown with the hidden character escaped, so it visibly is not "passed".
        assert state.unknown_word == state.word and "\\" in state.word, state.word
    assert interpret({"status": " passed\n"}).passed  # ASCII blanks around it are padding


def test_a_contradicting_field_after_many_others_still_counts() -> None:
    pairs = ", ".join(f'"field_{n}": {n}' for n in range(1000))
    raw = '{"is_finished": 1, "has_passed": 1, ' + pairs + ', "session_status": "failed"}'
    state = interpret(load_json(raw))
    assert not state.passed
    assert state.contradiction == "has_passed=1 with status failed"
