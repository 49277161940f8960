"""The results JSON (``--sipfront-json PATH``): one versioned document with the session and every
run, for scripts (a Slack or Teams message, a dashboard) that should not parse JUnit.

The document is built from the record types (:class:`ItemRecord`, :class:`RunOutcome`,
:class:`Attempt`, :class:`SessionInfo`) into the dataclasses below and serialised from them
(``dataclasses.asdict``); its shape is published as a JSON Schema (``sipfront schema
--results``, ``schema/sipfront-results.schema.json``) and every document written validates
against it. Each run carries what the run ledger said of it (``ledger``: reused, re-attached,
detached, the earlier run) and its media metrics (``media``: breaches, unchecked thresholds,
measures), each ``null`` when there is nothing to say. A reader must ignore keys it does not
know: later versions of the same ``version`` only add keys.

The file is written whole or not at all (a temporary file, fsync, rename), also when the
session is interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from pytest_sipfront.ledger.key import revision_from_environment
from pytest_sipfront.media.report import MediaReport
from pytest_sipfront.reports.classify import (
    Result,
    classify,
    classify_still_running,
    strip_userinfo,
    unreported,
)
from pytest_sipfront.reports.counts import Counts, session_counts, still_going
from pytest_sipfront.reports.github import SourceLinks
from pytest_sipfront.reports.junit import public_api_url
from pytest_sipfront.reports.outfile import replace_text
from pytest_sipfront.runs.messages import REATTACHED, REUSED, media_breach
from pytest_sipfront.runs.outcome import (
    Attempt,
    ItemRecord,
    PreviousRun,
    RunOutcome,
    SessionInfo,
    Verdict,
)
from pytest_sipfront.sanitize import clean_line, clean_text

RESULTS_VERSION = 1
RESULTS_SCHEMA_ID = "urn:pytest-sipfront:results:1"
_TEXT = 2000
_MESSAGE = 4000


def revision(environ: Mapping[str, str]) -> str | None:
    """The commit the session tested, as CI systems name it (the ledger's rule, without its
    ``git`` fallback); ``None`` when none says."""
    named = revision_from_environment(environ)
    return None if named is None or named.value is None else clean_line(named.value, 200)


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sipfront_time(value: object) -> str | None:
    """Sipfront's ``2024-02-09 08:20:18`` (UTC) as ISO 8601, ``None`` when absent."""
    from pytest_sipfront.runs.outcome import parse_timestamp

    moment = parse_timestamp(value)
    return moment.isoformat() + "Z" if moment is not None else None


def _seconds(value: float | None) -> float | None:
    return round(value, 3) if value is not None and value >= 0 else None


def _text(value: object, limit: int = _TEXT) -> str | None:
    text = clean_line(value, limit) if value not in (None, "") else ""
    return text or None


def _url(value: str | None) -> str | None:
    return _text(strip_userinfo(value)) if value else None


# --- the document's types ----------------------------------------------------------------------


@dataclass
class ManifestErrorFacts:
    manifest: str
    line: int
    column: int
    message: str


@dataclass
class SessionFacts:
    revision: str | None
    api_url: str
    sandbox: bool
    interrupted: bool
    started_at: str | None
    finished_at: str | None
    wall_s: float | None
    counts: Counts
    manifest_errors: list[ManifestErrorFacts]


@dataclass
class AttemptFacts:
    session_id: str | None
    report_url: str | None
    status: str | None
    passed: bool | None
    finished: bool
    reason: str | None
    """Sipfront's ``result_description``."""
    started_at: str | None
    stopped_at: str | None
    duration_s: float | None


@dataclass
class HistoryFacts:
    """The run at Sipfront before this session (``--sipfront-history on``)."""

    state: str
    case: str | None
    """``new`` (a failure after a passing run), ``already_failing``, or ``None``."""
    not_red: bool
    reason: str | None
    stopped_at: str | None
    report_url: str | None


@dataclass
class DurationFacts:
    run_s: float | None
    """The run's own duration at Sipfront (trigger to finish; last attempt)."""
    wait_s: float | None
    """How long pytest waited on its item (runs start ahead of pytest: mostly far shorter)."""
    local_s: float | None
    """From the first trigger to the verdict, measured here (every attempt)."""


@dataclass
class LinkFacts:
    report: str | None
    manifest: str | None
    """The manifest line on the forge at this revision (GitHub), when known."""


@dataclass
class LedgerFacts:
    """The run ledger (``--sipfront-ledger``): how it had this run. ``null`` when it had
    nothing to say (no ledger, or a run triggered with no earlier one recorded)."""

    case: str | None
    """``re-attached`` (a run an earlier session started), ``reused`` (an earlier run's pass,
    nothing triggered), ``detached`` (``--sipfront-detach``: triggered, collected later), or
    ``null`` for a run this session triggered anew."""
    reused: bool
    re_attached: bool
    triggered: int
    """Runs this session triggered (paid) for the item: attempts not taken over from the ledger."""
    note: str | None
    """When the reused or re-attached run was triggered and in which attempt."""
    earlier: str | None
    """The ledger's earlier run of this item, which this session triggered anew."""


@dataclass
class BreachFacts:
    """A media threshold the run broke, in one role and direction."""

    key: str
    expression: str
    measure: str
    aggregate: str
    value: float | None
    limit: float | None
    unit: str
    role: str
    dir: str
    baseline: float | None
    """The baseline run's value, for a ``@baseline`` threshold."""
    change: float | None
    """The allowed change in percent, for a ``@baseline`` threshold."""
    message: str


@dataclass
class MeasureFacts:
    """One measured series of the run, summarised."""

    measure: str
    role: str
    dir: str
    unit: str
    count: int
    min: float | None
    median: float | None
    p95: float | None
    max: float | None
    mean: float | None


@dataclass
class MediaFacts:
    """Media metrics (``--sipfront-media``): breached thresholds, thresholds that could not be
    checked (both make the item red), notes, and the measures read."""

    breaches: list[BreachFacts]
    unchecked: list[str]
    notes: list[str]
    measures: list[MeasureFacts]


@dataclass
class RunFacts:
    item: str
    name: str
    manifest: str
    line: int
    kind: str | None
    target: str | None
    outcome: str
    """How every report files it: passed, flaky, failed, timeout, error, skipped, xfailed,
    xpassed (or running: left going at Sipfront by an interruption)."""
    verdict: str | None
    """The gate's verdict (passed, failed, timeout, auth, refused, ...)."""
    error_type: str | None
    """The JUnit type of a failure or error (``sipfront.failed``, ``sipfront.auth``, ...)."""
    message: str | None
    status: str | None
    """Sipfront's status word of the last attempt."""
    reason: str | None
    """Sipfront's ``result_description`` of the last attempt."""
    session_id: str | None
    links: LinkFacts
    durations: DurationFacts
    attempts: list[AttemptFacts]
    flaky: bool
    history: HistoryFacts | None
    reached: bool
    """False for runs pytest never reached (an interruption, ``-x``): Sipfront's own verdict."""
    ledger: LedgerFacts | None
    """How the run ledger had the run; ``null``: it had nothing to say."""
    media: MediaFacts | None
    """The run's media metrics; ``null``: none were read."""


@dataclass
class ResultsDocument:
    schema: str
    version: int
    generator: str
    session: SessionFacts
    runs: list[RunFacts]


# --- building it -------------------------------------------------------------------------------


def _attempt(attempt: Attempt) -> AttemptFacts:
    run = attempt.run
    return AttemptFacts(
        session_id=_text(attempt.session_id, 200),
        report_url=_url(attempt.report_url),
        status=_text(attempt.status, 200),
        passed=attempt.passed,
        finished=attempt.finished,
        reason=_text(attempt.result_description, _MESSAGE),
        started_at=_sipfront_time(run.get("started_at")),
        stopped_at=_sipfront_time(run.get("stopped_at")),
        duration_s=_seconds(attempt.duration_s),
    )


def _number(value: float | None) -> float | None:
    """A finite number as JSON can carry it; ``None`` otherwise."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def _ledger(run: RunOutcome) -> LedgerFacts | None:
    if not (run.ledger or run.earlier):
        return None
    taken = 1 if run.ledger in (REATTACHED, REUSED) else 0
    return LedgerFacts(
        case=_text(run.ledger, 40),
        reused=run.ledger == REUSED,
        re_attached=run.ledger == REATTACHED,
        triggered=max(0, len(run.attempts) - taken),
        note=_text(run.ledger_note, _MESSAGE),
        earlier=_text(run.earlier, _MESSAGE),
    )


def _media(run: RunOutcome) -> MediaFacts | None:
    report: MediaReport | None = run.media
    if report is None:
        return None
    return MediaFacts(
        breaches=[
            BreachFacts(
                key=clean_line(breach.key, _TEXT),
                expression=clean_line(breach.expression, _TEXT),
                measure=clean_line(breach.measure, _TEXT),
                aggregate=clean_line(breach.aggregate, _TEXT),
                value=_number(breach.value),
                limit=_number(breach.limit),
                unit=clean_line(breach.unit, _TEXT),
                role=clean_line(breach.role, _TEXT),
                dir=clean_line(breach.dir, _TEXT),
                baseline=_number(breach.baseline),
                change=_number(breach.change) if breach.baseline is not None else None,
                message=clean_line(media_breach(breach), _MESSAGE),
            )
            for breach in report.breaches
        ],
        unchecked=[clean_line(text, _MESSAGE) for text in report.unchecked],
        notes=[clean_line(text, _MESSAGE) for text in report.notes],
        measures=[
            MeasureFacts(
                measure=clean_line(summary.measure, _TEXT),
                role=clean_line(summary.role, _TEXT),
                dir=clean_line(summary.dir, _TEXT),
                unit=clean_line(summary.unit, _TEXT),
                count=summary.count,
                min=_number(summary.min),
                median=_number(summary.median),
                p95=_number(summary.p95),
                max=_number(summary.max),
                mean=_number(summary.mean),
            )
            for summary in report.summaries
        ],
    )


def _history(run: RunOutcome) -> HistoryFacts | None:
    previous: PreviousRun | None = run.previous
    if previous is None:
        return None
    case = "new" if run.new_failure else "already_failing" if run.already_failing else None
    return HistoryFacts(
        state=previous.state,
        case=case,
        not_red=run.not_red,
        reason=_text(previous.reason, _MESSAGE),
        stopped_at=_sipfront_time(previous.stopped_at),
        report_url=_url(previous.report_url),
    )


def _run(
    item: str,
    name: str,
    manifest: str,
    line: int,
    result: Result,
    run: RunOutcome | None,
    *,
    reached: bool,
    info: SessionInfo,
    links: SourceLinks | None,
) -> RunFacts:
    last = run.last if run is not None else None
    started = run is not None and bool(run.attempts)
    outcome: str = result.label
    if not reached and run is not None and still_going(run):
        outcome = "running"
    return RunFacts(
        item=clean_line(item, _TEXT),
        name=clean_line(name, _TEXT),
        manifest=clean_line(manifest, _TEXT),
        line=line,
        kind=run.kind if run is not None else None,
        target=_text(run.target) if run is not None else None,
        outcome=outcome,
        verdict=run.verdict.value if run is not None else None,
        error_type=result.junit_type or None,
        message=_text(clean_text(result.message, _MESSAGE).split("\n", 1)[0], _MESSAGE),
        status=_text(last.status, 200) if last is not None else None,
        reason=_text(last.result_description, _MESSAGE) if last is not None else None,
        session_id=_text(last.session_id, 200) if last is not None else None,
        links=LinkFacts(
            report=_url(run.report_url) if run is not None else None,
            manifest=links.url(manifest, line, info.rootdir) if links is not None else None,
        ),
        durations=DurationFacts(
            run_s=_seconds(run.duration_s) if started and run is not None else None,
            wait_s=_seconds(run.wait_s) if run is not None else None,
            local_s=_seconds(run.local_duration_s) if started and run is not None else None,
        ),
        attempts=[_attempt(attempt) for attempt in run.attempts] if run is not None else [],
        flaky=result.label == "flaky",
        history=_history(run) if run is not None else None,
        reached=reached,
        ledger=_ledger(run) if run is not None else None,
        media=_media(run) if run is not None else None,
    )


def results_document(
    records: Sequence[ItemRecord],
    info: SessionInfo,
    *,
    environ: Mapping[str, str],
) -> ResultsDocument:
    """The whole document for the session's records (what the JUnit file and the summary list)."""
    from pytest_sipfront import __version__

    links = SourceLinks.from_environ(environ)
    counts = session_counts(records, info)
    runs = [
        _run(
            record.nodeid,
            record.name,
            record.manifest,
            record.line,
            classify(record),
            record.run,
            reached=True,
            info=info,
            links=links,
        )
        for record in records
    ]
    runs += [
        _run(
            f"{run.manifest}::{run.name}",
            run.name,
            run.manifest,
            run.line,
            classify_still_running(run),
            run,
            reached=False,
            info=info,
            links=links,
        )
        for run in unreported(records, info)
    ]
    session = SessionFacts(
        revision=revision(environ),
        api_url=public_api_url(info.api_url),
        sandbox=info.sandbox,
        interrupted=info.interrupted,
        started_at=_iso(info.started_at),
        finished_at=_iso(info.finished_at),
        wall_s=_seconds(info.wall_s),
        counts=counts,
        manifest_errors=[
            ManifestErrorFacts(clean_line(path, _TEXT), line, column, clean_line(text, _MESSAGE))
            for path, line, column, text in info.manifest_errors
        ],
    )
    return ResultsDocument(
        schema=RESULTS_SCHEMA_ID,
        version=RESULTS_VERSION,
        generator=f"pytest-sipfront {__version__}",
        session=session,
        runs=runs,
    )


def results_json(document: ResultsDocument) -> str:
    return json.dumps(asdict(document), indent=2, ensure_ascii=False) + "\n"


def write_results(
    path: str | os.PathLike[str],
    records: Sequence[ItemRecord],
    info: SessionInfo,
    *,
    environ: Mapping[str, str],
    stop: Callable[[], bool] | None = None,
) -> None:
    """Write the document at ``path``, whole or not at all (:func:`.outfile.replace_text`: a
    temporary file synced and renamed over it; a FIFO or device gets a deadline)."""
    text = results_json(results_document(records, info, environ=environ))
    replace_text(path, text, prefix=".sipfront-json-", stop=stop)


# --- the schema --------------------------------------------------------------------------------

OUTCOMES = (
    "passed",
    "flaky",
    "failed",
    "timeout",
    "error",
    "skipped",
    "xfailed",
    "xpassed",
    "running",
)
_OPEN = (LedgerFacts, MediaFacts)
"""The ledger's and media's objects may carry keys this version does not list."""
_DESCRIPTIONS = {
    "outcome": "How every report files the item (the job summary, JUnit, the action outputs).",
    "verdict": "The gate's verdict on the run.",
    "ledger": "How the run ledger (--sipfront-ledger) had the run; null: nothing to say.",
    "media": "The run's media metrics (--sipfront-media); null: none were read.",
}


def _type_schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        inner = (
            _type_schema(options[0])
            if len(options) == 1
            else {"anyOf": [_type_schema(arg) for arg in options]}
        )
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(hint)[0])}
    if origin is dict:
        return {"type": "object"}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _object_schema(hint)
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if hint in simple:
        return {"type": simple[hint]}
    if hint is Any:
        return {}
    raise TypeError(f"no JSON Schema for {hint!r}")


def _object_schema(kind: type) -> dict[str, Any]:
    hints = typing.get_type_hints(kind)
    properties: dict[str, Any] = {}
    for item in dataclasses.fields(kind):
        schema = _type_schema(hints[item.name])
        if item.name in _DESCRIPTIONS:
            schema = {"description": _DESCRIPTIONS[item.name], **schema}
        properties[item.name] = schema
    described: dict[str, Any] = {}
    if kind.__doc__ and not kind.__doc__.startswith(kind.__name__ + "("):
        described["description"] = " ".join(kind.__doc__.split())
    return {
        **described,
        "type": "object",
        "properties": properties,
        "required": [item.name for item in dataclasses.fields(kind)],
        "additionalProperties": kind in _OPEN,
    }


def results_schema() -> dict[str, Any]:
    """The JSON Schema of the results document, made from the document's own types."""
    schema = _object_schema(ResultsDocument)
    properties = schema["properties"]
    properties["schema"] = {"const": RESULTS_SCHEMA_ID}
    properties["version"] = {"const": RESULTS_VERSION}
    run = properties["runs"]["items"]["properties"]
    run["outcome"] = {**run["outcome"], "enum": list(OUTCOMES)}
    verdicts = [verdict.value for verdict in Verdict]
    run["verdict"] = {
        "description": run["verdict"]["description"],
        "type": ["string", "null"],
        "enum": [*verdicts, None],
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": RESULTS_SCHEMA_ID,
        "title": "pytest-sipfront results",
        "description": (
            "The session and every Sipfront run of a pytest-sipfront session "
            "(--sipfront-json PATH). Readers ignore keys they do not know."
        ),
        **schema,
    }
