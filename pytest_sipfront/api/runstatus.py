"""What a Sipfront status body means: finished or still going, passed or not (design 4.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return value.strip() == "1"
    return None


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


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
        text = value.strip().lower()
        if text.isascii() and text.isdigit():
            return int(text) != 0
        if text in _TRUE_WORDS:
            return True
        if text in _FALSE_WORDS:
            return False
    return None


def _word(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


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
    words = status_words(run, kind)
    going = [w for w in words if w in GOING_WORDS]
    ended = [w for w in words if w in FINISHED_WORDS]
    unknown = [w for w in words if w not in GOING_WORDS and w not in FINISHED_WORDS]
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
            contradiction=None,
        )
    return _finished_state(run, words, ended)


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


def _finished_state(run: Mapping[str, Any], words: list[str], ended: list[str]) -> RunState:
    """The verdict of a finished run (see :func:`interpret`)."""
    raw_passed = run.get("has_passed")
    has_passed = passed_flag(raw_passed)
    failing_words = [w for w in ended if w in FAILED_WORDS]
    contradiction: str | None = None
    if raw_passed is not None and has_passed is None:
        contradiction = f"has_passed={_show(raw_passed)} is neither 0 nor 1"
    elif has_passed and failing_words:
        contradiction = f"has_passed={_show(raw_passed)} with status {failing_words[0]}"
    elif has_passed is False and "passed" in ended:
        contradiction = f"has_passed={_show(raw_passed)} with status passed"
    if contradiction is not None:
        passed = False
    elif has_passed is not None:
        passed = has_passed
    else:
        passed = bool(ended) and all(w == "passed" for w in ended)
    # The word to show: the finished word that explains the verdict, else whatever was said.
    if ended:
        failing = [w for w in ended if w != "passed"]
        if passed:
            word = "passed" if "passed" in ended else ended[0]
        else:
            word = failing[0] if failing else ended[0]
    else:
        word = words[0] if words else ""
    return RunState(
        finished=True, passed=passed, word=word, unknown_word=None, contradiction=contradiction
    )
