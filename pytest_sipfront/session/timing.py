"""The durations pytest's reports show for a Sipfront item: the run's own duration at Sipfront.

A run starts when the run loop begins, long before pytest reaches its item; the item then waits
(in its setup) only for what is left. Timed by pytest, an item would last its wait (0 s when its
run had long finished, the whole run when it is first). Every report that adds up the phases
(pytest's ``--junitxml``, pytest-html, ``--durations``) shows instead, on the phase where the
verdict lands, the run's own duration (trigger to finish at Sipfront, last attempt), and on the
setup what it took besides the wait. The wait itself is kept apart: the ``sipfront_wait_s``
property, the results JSON, pytest-html's and allure's extras.
"""

from __future__ import annotations

import pytest

from pytest_sipfront.runs.outcome import RunOutcome


def run_seconds(outcome: RunOutcome | None) -> float | None:
    """The run's own duration, when a run was started and its length is known."""
    if outcome is None or not outcome.attempts:
        return None
    seconds = outcome.duration_s
    return seconds if seconds > 0 else None


def true_duration(report: pytest.TestReport, outcome: RunOutcome | None) -> None:
    """Give ``report`` (a Sipfront item's setup or call report) the run's own duration."""
    seconds = run_seconds(outcome)
    if seconds is None or outcome is None or report.when not in ("setup", "call"):
        return
    own = report.duration
    if report.when == "setup":
        own = max(0.0, own - (outcome.wait_s or 0.0))  # the phase without the wait
    verdict_here = report.when == "call" or report.failed or report.skipped
    report.duration = own + seconds if verdict_here else own
