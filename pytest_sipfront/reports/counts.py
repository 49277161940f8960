"""The session's one set of counts: every surface (the "sipfront runs" section, the job summary,
JUnit, the results JSON, the action's outputs) reads it from :func:`session_counts`, so no two
can disagree.

Each item is counted once, by how :func:`pytest_sipfront.reports.classify.classify` files it;
xfailed and xpassed are counted apart (never as passed), flaky passes are passes that are also
named as flaky; a broken manifest is an error (the JUnit file has a testcase for it); a run that
an interruption left going at Sipfront is an error, and is also counted as ``running``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

from pytest_sipfront.reports.classify import Result, classify, classify_still_running, unreported
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo, Verdict

_ORDER = ("failed", "passed", "skipped", "xfailed", "xpassed", "errors")
"""pytest's order on its last line (``1 failed, 2 passed, 1 skipped, 1 xfailed, 1 error``)."""


@dataclass(frozen=True)
class Counts:
    """How many Sipfront items ended which way; ``total`` is their sum."""

    total: int = 0
    passed: int = 0
    """Passed, flaky passes included (pytest's ``passed``)."""
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    flaky: int = 0
    """Passes that needed more than one attempt (also in ``passed``)."""
    running: int = 0
    """Runs an interruption left going at Sipfront (also in ``errors``)."""

    @property
    def ran(self) -> int:
        """Items that were not skipped: runs asked of Sipfront, or problems on the way."""
        return self.total - self.skipped

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def phrase(self) -> str:
        """pytest's words in pytest's order, zeros left out: ``1 failed, 3 passed (1 flaky),
        1 xfailed, 2 errors``; ``no items`` when there is none."""
        parts = []
        for name in _ORDER:
            number = getattr(self, name)
            if not number:
                continue
            if name == "errors":
                parts.append(f"{number} {'error' if number == 1 else 'errors'}")
            elif name == "passed" and self.flaky:
                parts.append(f"{number} passed ({self.flaky} flaky)")
            else:
                parts.append(f"{number} {name}")
        if self.running:
            parts.append(f"{self.running} still running at Sipfront")
        return ", ".join(parts) or "no items"


def still_going(run: RunOutcome) -> bool:
    """A run without a record that an interruption left going at Sipfront (or whose trigger
    was sent without an answer): counted as an error and as running."""
    return run.verdict is Verdict.INTERRUPTED or not run.attempts


def filed(records: Sequence[ItemRecord], info: SessionInfo) -> Iterator[tuple[str, Result]]:
    """``(what, result)`` for every counted thing: ``record``, ``manifest`` (a broken one),
    ``running`` (left going at Sipfront) or ``not-reached`` (finished there, never reported)."""
    for record in records:
        yield "record", classify(record)
    for manifest, line, column, message in info.manifest_errors:
        text = f"{manifest}:{line}:{column}: {message}"
        yield "manifest", Result("error", "error", "sipfront.manifest", text)
    for run in unreported(records, info):
        yield ("running" if still_going(run) else "not-reached"), classify_still_running(run)


def session_counts(records: Sequence[ItemRecord], info: SessionInfo) -> Counts:
    """The one count of the session, every surface's source."""
    tally = dict.fromkeys(("total", "passed", "failed", "errors", "skipped"), 0)
    tally.update(xfailed=0, xpassed=0, flaky=0, running=0)
    for what, result in filed(records, info):
        tally["total"] += 1
        if what == "running":
            tally["running"] += 1
        if result.kind == "error":
            tally["errors"] += 1
        elif result.kind == "failure":
            tally["failed"] += 1
        elif result.label in ("xfailed", "xpassed"):
            tally[result.label] += 1
        elif result.kind == "skipped":
            tally["skipped"] += 1
        else:
            tally["passed"] += 1
            if result.label == "flaky":
                tally["flaky"] += 1
    return Counts(**tally)
