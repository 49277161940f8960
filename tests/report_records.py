"""Records of a finished session, built by hand for the report writers' tests (JUnit, GitHub):
one builder, so that both reports are tested on the same data shapes."""

from __future__ import annotations

from datetime import datetime, timedelta

from pytest_sipfront.runs.outcome import Attempt, ItemRecord, PytestOutcome, RunOutcome, Verdict

REPORT = "https://app.sipfront.com/run/details/"
SECRET_URL = "https://pk-user:hunter2-secret@app.sipfront.example/api/v2?secret_key=hunter2"
START = datetime(2024, 2, 9, 8, 20, 18)


def attempt(
    session: str,
    status: str,
    *,
    passed: bool | None,
    seconds: float | None = None,
    description: str = "",
) -> Attempt:
    """One run at Sipfront, started at :data:`START`, finished after ``seconds`` if given."""
    run: dict[str, object] = {"started_at": START.strftime("%Y-%m-%d %H:%M:%S")}
    if seconds is not None:
        run["stopped_at"] = (START + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    if description:
        run["result_description"] = description
    return Attempt(
        session_id=session,
        report_url=REPORT + session,
        status=status,
        passed=passed,
        finished=seconds is not None,
        run=run,
    )


def record(
    name: str,
    outcome: PytestOutcome,
    *,
    manifest: str = "sipfront.yml",
    line: int = 5,
    verdict: Verdict | None = None,
    sessions: tuple[str, ...] = (),
    attempts: list[Attempt] | None = None,
    message: str = "",
    longrepr: str = "",
    flaky: bool = False,
    local: float = 0.0,
    target: str = "",
    sandbox: bool = False,
    with_run: bool = True,
) -> ItemRecord:
    """An item's record; with ``verdict``, its run: ``attempts`` as given, or one bare attempt
    per session id in ``sessions`` (status: the verdict's word). ``with_run=False``: the gate
    decided ``verdict`` without a run (the item's own verdict, nothing asked of Sipfront)."""
    run = None
    if verdict is not None and with_run:
        if attempts is None:
            attempts = [
                Attempt(session_id=s, report_url=REPORT + s, status=verdict.value) for s in sessions
            ]
        run = RunOutcome(
            name=name,
            verdict=verdict,
            message=message,
            attempts=attempts,
            target=target,
            manifest=manifest,
            line=line,
            sandbox=sandbox,
            local_duration_s=local,
        )
    return ItemRecord(
        nodeid=f"{manifest}::{name}",
        name=name,
        manifest=manifest,
        line=line,
        outcome=outcome,
        run=run,
        message=message,
        longrepr=longrepr,
        flaky=flaky,
        verdict=None if with_run else verdict,
    )
