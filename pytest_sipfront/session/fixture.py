"""The ``sipfront`` fixture: Sipfront runs from a test function, backed by the session's run
service (concurrency, rate limit, --sipfront-max-runs, dry run, sandbox, xdist: as for manifest
items), and the hook that puts a test's runs into the session's reports.

Imported when a test first uses the fixture (the entry point defines it and calls
:func:`session_runs`); the run machinery is imported then too.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.session.keys import GATE_KEY

if TYPE_CHECKING:
    from pytest_sipfront.runs.outcome import RunOutcome
    from pytest_sipfront.session.python_runs import SessionSipfront

RUNS_KEY = pytest.StashKey["SessionSipfront"]()


REPORTS_NAME = "sipfront-fixture-reports"


def session_runs(request: pytest.FixtureRequest) -> Iterator[SessionSipfront]:
    """The ``sipfront`` fixture's body (the entry point defines the fixture). Its first use in
    a session registers this module's report hook, before the test's first report is made."""
    from pytest_sipfront.session.hooks import open_session
    from pytest_sipfront.session.python_runs import SessionSipfront

    item = request.node
    manager = item.config.pluginmanager
    if not manager.has_plugin(REPORTS_NAME):
        manager.register(sys.modules[__name__], REPORTS_NAME)
    runs = SessionSipfront(open_session(item.config), item)
    item.stash[RUNS_KEY] = runs
    yield runs
    runs.close()


def run_properties(outcomes: list[RunOutcome]) -> list[tuple[str, object]]:
    """``user_properties`` for a test's runs; numbered (``sipfront_report_url_2``) when
    several."""
    properties: list[tuple[str, object]] = []
    for number, outcome in enumerate(outcomes, start=1):
        suffix = f"_{number}" if len(outcomes) > 1 else ""
        properties += [
            (f"sipfront_session_id{suffix}", outcome.session_id or ""),
            (f"sipfront_report_url{suffix}", outcome.report_url or ""),
            (f"sipfront_status{suffix}", outcome.status or outcome.verdict.value),
            (f"sipfront_duration_s{suffix}", round(outcome.duration_s, 3)),
        ]
        if len(outcome.attempts) > 1:
            properties.append((f"sipfront_attempts{suffix}", len(outcome.attempts)))
    return properties


def merged(
    name: str,
    path: str,
    line: int,
    outcomes: list[RunOutcome],
    passed: bool,
    sandbox: bool,
    waited: list[bool] | None = None,
) -> RunOutcome:
    """One record for a test's runs: every attempt of every run, the test's verdict. Only a
    run the test waited for can explain a failure; a run it never waited for is listed (its
    link) and counted as not waited for, never as the test's failure or error. A test that
    failed with its own exception is a failure, its message pytest's."""
    from pytest_sipfront.runs.outcome import RunOutcome, Verdict

    waited = waited if waited is not None else [True] * len(outcomes)
    decided = [outcome for outcome, done in zip(outcomes, waited, strict=True) if done]
    verdict, message = Verdict.PASSED, ""
    if not passed:
        bad = [o for o in decided if o.verdict.is_error] or [
            o for o in decided if o.verdict.is_failure
        ]
        verdict, message = (bad[0].verdict, bad[0].message) if bad else (Verdict.FAILED, "")
    kinds = {outcome.kind for outcome in outcomes}
    return RunOutcome(
        name=name,
        verdict=verdict,
        message=message,
        attempts=[attempt for outcome in outcomes for attempt in outcome.attempts],
        target=", ".join(dict.fromkeys(outcome.target for outcome in outcomes)),
        kind=kinds.pop() if len(kinds) == 1 else "test",
        manifest=path,
        line=line,
        sandbox=sandbox,
        local_duration_s=max(outcome.local_duration_s for outcome in outcomes),
        runs=sum(1 for outcome in outcomes if outcome.attempts) or 1,
        not_waited_for=len(outcomes) - len(decided),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    runs = item.stash.get(RUNS_KEY, None)
    outcomes = runs.outcomes() if runs is not None else []
    if runs is not None and outcomes:
        _record_runs(item, report, outcomes, runs.waited())
    return report


def _record_runs(
    item: pytest.Item, report: pytest.TestReport, outcomes: list[RunOutcome], waited: list[bool]
) -> None:
    """The test's runs on its report: numbered properties, one record, ``-rA`` detail blocks."""
    from pytest_sipfront.runs.messages import full_text
    from pytest_sipfront.session.records import attach_run

    properties = run_properties(outcomes)
    names = {name for name, _ in properties}
    for holder in (item.user_properties, report.user_properties):
        holder[:] = [p for p in holder if p[0] not in names] + properties
    path, line = item.location[0], (item.location[1] or 0) + 1
    sandbox = item.config.stash[GATE_KEY].sandbox
    record = merged(item.name, path, line, outcomes, report.passed, sandbox, waited)
    attach_run(report, name=item.name, source=path, line=line, run=record, sandbox=sandbox)
    if report.when == "call" and report.passed:
        # As for a manifest item: ``-rA`` shows every run's detail block for a passed test.
        text = "\n\n".join(full_text(outcome) for outcome in outcomes)
        report.sections.append(("Captured sipfront call", text))
