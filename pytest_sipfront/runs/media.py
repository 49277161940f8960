"""A finished run's media metrics: which to fetch, fetching them through the session's one
client (its rate limit, retry rules and deadlines), checking the entry's thresholds, and the
verdict that follows. A breach fails the item even when Sipfront passed the run; a threshold
that cannot be checked makes it red too (doubt is red); metrics wanted only for the reports
never change a verdict.

``@baseline`` thresholds compare with the last passing run of the same test: the history
lookup's run (``status/last``) when it passed. :class:`BaselineSource` is the hook for a
richer source (a ledger of passing runs) to answer instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pytest_sipfront.media.report import Breach, KeptSeries, MediaReport
from pytest_sipfront.media.series import (
    Dimension,
    Series,
    Unreadable,
    read_dimensions,
    read_series,
)
from pytest_sipfront.media.summary import (
    HIGHER_IS_WORSE,
    PREFERRED_MEASURES,
    Summary,
    summarise,
    unit_of,
)
from pytest_sipfront.media.thresholds import Threshold
from pytest_sipfront.runs.messages import (
    NO_BASELINE,
    baseline_note,
    media_breach,
    media_off_with_thresholds,
    media_series_note,
    media_summary_line,
    media_unchecked,
    metrics_unreadable,
    no_series,
    stats_request_failed,
    too_many_series,
)
from pytest_sipfront.runs.outcome import RunOutcome, Verdict

MEDIA_BUDGET = 60.0
"""Seconds one run's metrics may take in all (its verdict waits for them)."""
NOTABLE_LINES = 8
MAX_SERIES = 64
"""Series fetched for one run at most (a hostile dimensions list could name thousands)."""
SILENT_MEASURES = ("rtp_byte_per_sec", "rtp_packet_per_sec")
"""A throughput that is zero all along is a silent leg (one-way audio): always notable."""


class StatsSource(Protocol):
    """What fetching needs of the API client (:meth:`SipfrontClient.stats`)."""

    def stats(
        self,
        session_id: str,
        measure: str | None = None,
        *,
        role: str = "",
        direction: str = "",
        deadline: float,
        attempts: int = 3,
    ) -> bytes: ...


class BaselineSource(Protocol):
    """Where ``@baseline`` thresholds find the run to compare with: the session id of the last
    passing run of the same test, or ``None`` (then :data:`NO_BASELINE` is noted)."""

    def baseline_session(self, outcome: RunOutcome) -> str | None: ...


class HistoryBaseline:
    """The history lookup's run (``status/last``, before this session), when it passed."""

    def baseline_session(self, outcome: RunOutcome) -> str | None:
        previous = outcome.previous
        if previous is None or previous.state != "passed":
            return None
        return previous.session_id


def wants_metrics(mode: str, verdict: Verdict, thresholds: Sequence[Threshold]) -> bool:
    """``failed``: when the run did not pass or its entry has thresholds; ``all``: always."""
    if mode == "off":
        return False
    if mode == "all" or thresholds:
        return True
    return verdict is not Verdict.PASSED


def media_off_problem(mode: str, entries: Iterable[tuple[str, Sequence[Threshold]]]) -> str | None:
    """With ``off`` no stats request is sent, so thresholds (``(where, thresholds)`` of each
    item) cannot be checked: the usage error naming the first, or ``None``."""
    if mode != "off":
        return None
    for where, thresholds in entries:
        if thresholds:
            return media_off_with_thresholds(where)
    return None


Reading = Series | str
"""A series, or why there is none (a sentence)."""


@dataclass
class _Fetch:
    source: StatsSource
    session_id: str
    deadline: float
    requests: int = 0
    readings: dict[Dimension, Reading] = field(default_factory=dict)

    def body(self, measure: str | None, role: str = "", direction: str = "") -> bytes | str:
        from pytest_sipfront.api.client import StatsUnavailable

        self.requests += 1
        try:
            return self.source.stats(
                self.session_id, measure, role=role, direction=direction, deadline=self.deadline
            )
        except StatsUnavailable as trouble:
            return stats_request_failed(trouble.reason)

    def dimensions(self) -> list[Dimension] | str:
        body = self.body(None)
        if isinstance(body, str):
            return body
        found = read_dimensions(body)
        return metrics_unreadable(found.excerpt) if isinstance(found, Unreadable) else found

    def series(self, dimension: Dimension) -> Reading:
        if dimension not in self.readings:
            body = self.body(dimension.measure, dimension.role, dimension.dir)
            if isinstance(body, str):
                self.readings[dimension] = body
            else:
                found = read_series(body, dimension)
                self.readings[dimension] = (
                    metrics_unreadable(found.excerpt) if isinstance(found, Unreadable) else found
                )
        return self.readings[dimension]


class MediaChecker:
    """Fetches and checks one run's metrics at a time; shared by the session's threads."""

    def __init__(
        self,
        source: StatsSource,
        mode: str,
        *,
        baseline: BaselineSource | None = None,
        budget: float = MEDIA_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.mode = mode
        self.baseline = baseline or HistoryBaseline()
        self.budget = budget
        self.clock = clock
        self._lock = threading.Lock()
        self._baselines: dict[tuple[str, Dimension], Reading] = {}

    def wanted(
        self, outcome: RunOutcome, verdict: Verdict, thresholds: Sequence[Threshold]
    ) -> bool:
        last = outcome.last
        return (
            outcome.kind == "test"  # a project run's session id names no run's metrics
            and last is not None
            and bool(last.session_id)
            and last.finished
            and wants_metrics(self.mode, verdict, thresholds)
        )

    def check(
        self,
        outcome: RunOutcome,
        verdict: Verdict,
        message: str,
        thresholds: Sequence[Threshold],
        budget: float | None = None,
    ) -> tuple[Verdict, str]:
        """Fetch, summarise and check; ``outcome.media`` is set. The verdict and first line
        that follow: a breach, or a threshold not checked, fails a passed run. ``budget``: the
        run's timeout, which bounds its metrics too (at most :data:`MEDIA_BUDGET`)."""
        last = outcome.last
        assert last is not None and last.session_id
        seconds = self.budget if budget is None else min(self.budget, budget)
        fetch = _Fetch(self.source, last.session_id, self.clock() + seconds)
        report = MediaReport()
        dimensions = fetch.dimensions()
        wanted = _wanted(dimensions, thresholds) if not isinstance(dimensions, str) else []
        for dimension in wanted:
            fetch.series(dimension)
        self._judge(report, outcome, fetch, dimensions, thresholds, wanted)
        for dimension in wanted:
            reading = fetch.readings[dimension]
            if isinstance(reading, Series):
                summary = summarise(reading)
                if summary is not None:
                    report.summaries.append(summary)
                if reading.values:
                    report.series.append(KeptSeries.of(reading))
        self._notes(report, fetch, dimensions, thresholds, verdict)
        report.requests = fetch.requests
        outcome.media = report
        if report.red and verdict is Verdict.PASSED:
            return Verdict.FAILED, report.lines[0]
        return verdict, message

    # -- thresholds --------------------------------------------------------------------------

    def _judge(
        self,
        report: MediaReport,
        outcome: RunOutcome,
        fetch: _Fetch,
        dimensions: list[Dimension] | str,
        thresholds: Sequence[Threshold],
        wanted: Sequence[Dimension],
    ) -> None:
        for threshold in thresholds:

            def unchecked(why: str, threshold: Threshold = threshold) -> None:
                report.unchecked.append(media_unchecked(threshold.key, threshold.expression, why))

            if isinstance(dimensions, str):
                unchecked(dimensions)
                continue
            selected = [d for d in dimensions if threshold.selects(d)]
            if not selected:
                unchecked(no_series(threshold.measure, threshold.role, threshold.dir))
                continue
            baseline_session = (
                self.baseline.baseline_session(outcome) if threshold.baseline else None
            )
            if threshold.baseline and baseline_session is None:
                report.notes.append(baseline_note(threshold.key, NO_BASELINE))
                continue
            for dimension in selected:
                if dimension not in wanted:
                    unchecked(too_many_series(MAX_SERIES))
                    break
                reading = fetch.series(dimension)
                if isinstance(reading, str):
                    unchecked(reading)
                    continue
                if not reading.values:
                    unchecked(no_series(dimension.measure, dimension.role, dimension.dir))
                    continue
                value = _aggregate(reading, threshold.aggregate)
                limit, base = threshold.limit, None
                if baseline_session is not None:
                    base_reading = self._baseline(fetch, baseline_session, dimension)
                    if isinstance(base_reading, str):
                        unchecked(f"baseline run {baseline_session}: {base_reading}")
                        continue
                    if not base_reading.values:
                        unchecked(
                            f"baseline run {baseline_session}: "
                            + no_series(dimension.measure, dimension.role, dimension.dir)
                        )
                        continue
                    base = _aggregate(base_reading, threshold.aggregate)
                    limit = threshold.limit_against(base)
                if threshold.holds(value, limit):
                    continue
                breach = Breach(
                    key=threshold.key,
                    expression=threshold.expression,
                    measure=dimension.measure,
                    aggregate=threshold.aggregate,
                    value=value,
                    limit=limit,
                    unit=unit_of(dimension.measure),
                    role=dimension.role,
                    dir=dimension.dir,
                    baseline=base,
                    change=threshold.limit if base is not None else 0.0,
                )
                report.breaches.append(breach)
                report.breach_lines.append(media_breach(breach))

    def _baseline(self, fetch: _Fetch, session_id: str, dimension: Dimension) -> Reading:
        """The baseline run's series of ``dimension``, asked once per session."""
        key = (session_id, dimension)
        with self._lock:
            known = self._baselines.get(key)
        if known is not None:
            return known
        other = _Fetch(fetch.source, session_id, fetch.deadline)
        reading = other.series(dimension)
        fetch.requests += other.requests
        with self._lock:
            self._baselines[key] = reading
        return reading

    # -- what reports say besides -----------------------------------------------------------

    def _notes(
        self,
        report: MediaReport,
        fetch: _Fetch,
        dimensions: list[Dimension] | str,
        thresholds: Sequence[Threshold],
        verdict: Verdict,
    ) -> None:
        named = {d for d in fetch.readings if any(t.selects(d) for t in thresholds)}
        if isinstance(dimensions, str) and not thresholds:
            report.notes.append(media_series_note("metrics", "", "", dimensions))
        for dimension, reading in fetch.readings.items():
            if isinstance(reading, str) and dimension not in named:
                report.notes.append(
                    media_series_note(dimension.measure, dimension.role, dimension.dir, reading)
                )
        breached = {b.dimension for b in report.breaches}
        notable: dict[Dimension, Summary] = {}
        for summary in report.summaries:
            silent = summary.measure in SILENT_MEASURES and summary.max == 0
            if summary.dimension in breached or silent:
                notable[summary.dimension] = summary
        if verdict is not Verdict.PASSED:  # the worst dimension of each measure
            worst: dict[str, Summary] = {}
            for summary in report.summaries:
                known = worst.get(summary.measure)
                if known is None or _worse(summary, known):
                    worst[summary.measure] = summary
            for summary in worst.values():
                notable.setdefault(summary.dimension, summary)
        report.notable = [media_summary_line(s) for s in list(notable.values())[:NOTABLE_LINES]]


def _worse(one: Summary, other: Summary) -> bool:
    """Higher p95 where higher is worse (jitter), else lower minimum (throughput, MOS)."""
    if one.measure in HIGHER_IS_WORSE:
        return one.p95 > other.p95
    return one.min < other.min


def _wanted(dimensions: Iterable[Dimension], thresholds: Sequence[Threshold]) -> list[Dimension]:
    """The dimensions to fetch: those a threshold names, then the preferred measures', in the
    order the dimensions came (one request each)."""
    chosen: dict[Dimension, None] = {}
    listed = list(dimensions)
    for threshold in thresholds:
        for dimension in listed:
            if threshold.selects(dimension):
                chosen[dimension] = None
    for measure in PREFERRED_MEASURES:
        for dimension in listed:
            if dimension.measure == measure:
                chosen[dimension] = None
    return list(chosen)[:MAX_SERIES]


def _aggregate(series: Series, name: str) -> float:
    summary = summarise(series)
    assert summary is not None
    return summary.aggregate(name, sorted(series.values))
