"""What a Sipfront status body means: finished or still going, passed or not (design 4.5).

The verdict is read from the RAW body, as the server sent it: sanitising is for display only
(:func:`read_run_body` returns both). Nothing a cleaner would fold away can pass a run: a key
that only LOOKS like a verdict key (``"has_passed "``, a control or bidi character in it,
another case), a key sent twice, a status word with a control character in it
(``"pass\\u0000ed"`` is not ``passed``), a status that is not a word (a list, an object). All
of these are doubt, and doubt is red. Every key is read; there is no cap that could drop the
one that contradicts. The run verdict and history (``status/last``) both call
:func:`read_run_body`: one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_sipfront.api.rawjson import duplicate_keys
from pytest_sipfront.runs.messages import (
    doubt_failed_flag,
    doubt_key_lookalike,
    doubt_key_twice,
    doubt_not_a_word,
    doubt_word_beside_passed,
)
from pytest_sipfront.sanitize import clean_json, clean_line, lookalike, visible

FINISHED_WORDS: frozenset[str] = frozenset(
    {
        "passed",
        "failed",
        "stopped",
        "errored",
        "error",
        "aborted",
        "cancelled",
        "canceled",
        "timeout",
        "finished",
        "completed",
    }
)
GOING_WORDS: frozenset[str] = frozenset({"running", "queued", "pending", "scheduled", "starting"})

_TEST_FIELDS = ("status", "session_status")
_PROJECT_FIELDS = ("run_status", "status", "session_status")

VERDICT_FIELDS: tuple[str, ...] = (
    "is_finished",
    "has_passed",
    "is_failed",
    "status",
    "session_status",
    "run_status",
)
"""The keys a verdict is read from; a key that only looks like one of them is doubt."""
SHOWN_LIMIT = 200
"""The longest status word or contradiction shown."""

_TRUE_WORDS = frozenset({"true", "yes"})
_FALSE_WORDS = frozenset({"false", "no"})


@dataclass(frozen=True)
class RunState:
    """The verdict on one status body."""

    finished: bool
    passed: bool
    """Only ever ``True`` for a finished run."""
    word: str
    """The status word to show (``passed``, ``failed``, ``running``; ``""`` when none)."""
    unknown_word: str | None
    """A word that is neither finished nor going and keeps the run polling because
    ``is_finished`` is absent: the caller warns, naming it."""
    contradiction: str | None = None
    """The fields that contradict each other (``has_passed=2``, ``has_passed=1 with status
    failed``, ``is_finished=1 with status running``): such a run never passes. A finished run
    with one fails naming it; ``is_finished=1`` beside a going word keeps polling (the body may
    still settle) and the caller names it when the deadline comes."""
    failed: bool = field(default=False, compare=False)
    """Sipfront said, consistently, that the finished run failed (``has_passed`` 0 or a
    failing status word, nothing contradicting): what history needs for ALREADY FAILING. A
    finished run that neither passed nor failed this way (no verdict at all) is ``False``."""


FAILED_WORDS: frozenset[str] = FINISHED_WORDS - {"passed", "finished", "completed"}
"""Finished words that say the run did not pass."""


def passed_flag(value: object) -> bool | None:
    """Read ``has_passed`` strictly: integer 0/1, ``"0"``/``"1"``, true/false.

    ``None`` for any other value (2, ``"yes"``, ``"true"``, 1.0): it is not evidence.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.strip(_BLANKS) in ("0", "1"):
        return value.strip(_BLANKS) == "1"
    return None


_BLANKS = " \t\r\n"
"""What a raw value may be padded with: ASCII blanks only (``str.strip()`` would also take
control characters such as ``\\x1f`` away)."""


def _show(value: object) -> str:
    return f"'{visible(value)}'" if isinstance(value, str) else visible(str(value))


def _display(text: str) -> str:
    """A raw word or sentence made safe for a one-line place, its hidden characters shown."""
    return clean_line(visible(text), SHOWN_LIMIT)


def flag(value: object) -> bool | None:
    """Read a 0/1 flag: ints, bools, digit strings (``"1"``), ``"true"``/``"false"``.

    ``None`` when absent or unreadable (then the status words decide).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float):
        return None if value != value else value != 0
    if isinstance(value, str):
        text = value.strip(_BLANKS).lower()
        if text.isascii() and text.isdigit():
            return int(text) != 0
        if text in _TRUE_WORDS:
            return True
        if text in _FALSE_WORDS:
            return False
    return None


def _word(value: object) -> str:
    """The raw word, trimmed of ASCII blanks; lower-cased only when it is ASCII (a look-alike
    letter never lower-cases into a known word). Control characters stay: no match."""
    if not isinstance(value, str):
        return ""
    text = value.strip(_BLANKS)
    return text.lower() if text.isascii() else text


def doubts(run: Mapping[str, Any], kind: str = "test") -> list[str]:
    """What makes a run object untrustworthy whatever it says, read from the raw object:
    a key sent twice (anywhere inside it), a key that looks like a verdict key without being
    one, a status field that is not a word."""
    found = [doubt_key_twice(_show(key)) for key in duplicate_keys(run)]
    for key in run:
        if key not in VERDICT_FIELDS and lookalike(str(key)) in VERDICT_FIELDS:
            found.append(doubt_key_lookalike(_show(key), lookalike(str(key))))
    fields = _PROJECT_FIELDS if kind == "project" else _TEST_FIELDS
    for name in fields:
        value = run.get(name)
        if value is not None and not isinstance(value, str):
            found.append(doubt_not_a_word(name, _kind_of(value), _show(value)))
    return found


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, (int, float)) else "not text"


def status_words(run: Mapping[str, Any], kind: str = "test") -> list[str]:
    """The non-empty status words of ``run``, in field order.

    Tests: ``status``, then ``session_status``. Projects: ``run_status`` first; ``status`` and
    ``session_status`` also count, so that a project body in the test shape is understood.
    """
    fields = _PROJECT_FIELDS if kind == "project" else _TEST_FIELDS
    return [word for word in (_word(run.get(name)) for name in fields) if word]


def interpret(run: Mapping[str, Any], kind: str = "test") -> RunState:
    """Apply the verdict rules (docs/dev/design.md) to a ``run`` object.

    - Finished when ``is_finished`` is 1. When ``is_finished`` is 0 the run is still going.
      When it is absent: a going word in any status field means still going (a going word wins
      when the fields disagree); else a finished word means finished; else (an unknown word, or
      none) the run keeps polling, and an unknown word is reported in ``unknown_word``.
    - A finished run passes when ``has_passed`` is 1; when ``has_passed`` is absent, when its
      status words say ``passed`` and no other finished word (``passed`` next to ``failed``
      does not pass). Doubt is red: a ``has_passed`` other than 0/1, one that contradicts a
      finished word, or ``is_finished`` 1 beside a going word is a ``contradiction``.
    """
    state = _interpret(run, kind)
    return RunState(
        finished=state.finished,
        passed=state.passed,
        word=_display(state.word),
        unknown_word=None if state.unknown_word is None else _display(state.unknown_word),
        contradiction=None if state.contradiction is None else _display(state.contradiction),
        failed=state.failed,
    )


def _interpret(run: Mapping[str, Any], kind: str) -> RunState:
    """:func:`interpret` on raw words (shown words are made safe by the caller)."""
    words = status_words(run, kind)
    going = [w for w in words if w in GOING_WORDS]
    ended = [w for w in words if w in FINISHED_WORDS]
    unknown = [w for w in words if w not in GOING_WORDS and w not in FINISHED_WORDS]
    doubt = doubts(run, kind)
    finished, unknown_word = _is_finished(run, going, ended, unknown)
    if finished and going:
        # is_finished says done while a status word says going: keep polling, never pass.
        return RunState(
            finished=False,
            passed=False,
            word=going[0],
            unknown_word=None,
            contradiction=f"is_finished={_show(run.get('is_finished'))} with status {going[0]}",
        )
    if not finished:
        word = going[0] if going else (words[0] if words else "")
        return RunState(
            finished=False,
            passed=False,
            word=word,
            unknown_word=unknown_word,
            contradiction=doubt[0] if doubt else None,
        )
    state = _finished_state(run, words, ended, unknown)
    if doubt and state.contradiction is None:
        return RunState(True, False, state.word, None, doubt[0])
    return state


def _is_finished(
    run: Mapping[str, Any], going: list[str], ended: list[str], unknown: list[str]
) -> tuple[bool, str | None]:
    """Whether the run has finished, and the unknown word that left it in doubt."""
    is_finished = flag(run.get("is_finished"))
    if is_finished is not None:
        return is_finished, None
    if going:
        return False, None
    if ended:
        return True, None
    return False, (unknown[0] if unknown else None)


def _finished_state(
    run: Mapping[str, Any], words: list[str], ended: list[str], unknown: list[str]
) -> RunState:
    """The verdict of a finished run (see :func:`interpret`)."""
    raw_passed = run.get("has_passed")
    has_passed = passed_flag(raw_passed)
    raw_finished = run.get("is_finished")
    raw_failed = run.get("is_failed")
    failing_words = [w for w in ended if w in FAILED_WORDS]
    contradiction: str | None = None
    if raw_passed is not None and has_passed is None:
        contradiction = f"has_passed={_show(raw_passed)} is neither 0 nor 1"
    elif has_passed and failing_words:
        contradiction = f"has_passed={_show(raw_passed)} with status {failing_words[0]}"
    elif has_passed and unknown:
        contradiction = f"has_passed={_show(raw_passed)} with status {_show(unknown[0])}"
    elif has_passed is False and "passed" in ended:
        contradiction = f"has_passed={_show(raw_passed)} with status passed"
    elif raw_finished is not None and passed_flag(raw_finished) is None:
        contradiction = f"is_finished={_show(raw_finished)} is neither 0 nor 1"
    if contradiction is not None:
        passed = False
    elif has_passed is not None:
        passed = has_passed
    else:
        passed = bool(ended) and all(w == "passed" for w in ended)
    if passed and unknown:
        # An unknown word beside the words that pass (no has_passed to decide): doubt.
        passed = False
        contradiction = doubt_word_beside_passed(_show(unknown[0]))
    if passed and raw_failed is not None and passed_flag(raw_failed) is not False:
        # Everything else says passed, but is_failed is not 0: doubt.
        passed = False
        contradiction = doubt_failed_flag(_show(raw_failed))
    # The word to show: the finished word that explains the verdict, else whatever was said.
    if ended:
        failing = [w for w in ended if w != "passed"]
        if passed:
            word = "passed" if "passed" in ended else ended[0]
        else:
            word = failing[0] if failing else ended[0]
    else:
        word = words[0] if words else ""
    failed = (
        contradiction is None
        and not passed
        and (has_passed is False or (has_passed is None and bool(failing_words)))
        and "passed" not in ended
    )
    return RunState(
        finished=True,
        passed=passed,
        word=word,
        unknown_word=None,
        contradiction=contradiction,
        failed=failed,
    )


@dataclass(frozen=True)
class RunReading:
    """A ``run`` object read: the verdict from the raw object, the object cleaned for display."""

    state: RunState
    run: dict[str, Any]
    """Sanitised (cut, stripped, redacted): to SHOW, never to decide."""


def read_run_body(
    body: Any, kind: str = "test", keys: tuple[str, ...] = ("run",)
) -> RunReading | None:
    """THE verdict of a status body (the run's own and history's ``status/last``): the first
    of ``keys`` that holds an object is the run; ``None`` when there is none.

    A body that sent one of ``keys`` twice is doubt like a run object that did."""
    if not isinstance(body, dict):
        return None
    run = next((body[key] for key in keys if isinstance(body.get(key), dict)), None)
    if run is None:
        return None
    state = interpret(run, kind)
    twice = [key for key in getattr(body, "duplicates", ()) if key in keys]
    if twice and state.contradiction is None:
        state = RunState(
            state.finished,
            False,
            state.word,
            None,
            _display(doubt_key_twice(_show(twice[0]))),
        )
    clean = clean_json(run)
    return RunReading(state=state, run=clean if isinstance(clean, dict) else {})
