"""What a run's media metrics came to, as one record every report draws from (and pytest-xdist
carries as a dict): the summaries, the kept series, the breaches, what could not be checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_sipfront.media.series import Dimension, Series
from pytest_sipfront.media.summary import HIGHER_IS_WORSE, Summary, unit_of

KEPT_POINTS = 500
"""Points of each series a record keeps for charts and CSV (the extreme of each bucket)."""
CHART_POINTS = 100
"""Points at most in a chart (GitHub's Mermaid renderer, pytest-html's SVG)."""


def downsample(
    times: Sequence[float], values: Sequence[float], limit: int, *, high_bad: bool
) -> tuple[list[float], list[float]]:
    """At most ``limit`` of the measured points, in order: from each of ``limit`` equal buckets
    the worst one (highest where higher is worse, else lowest), so a spike or a silent gap
    stays visible and no number is invented."""
    count = len(values)
    if count <= limit:
        return list(times), list(values)
    kept_t: list[float] = []
    kept_v: list[float] = []
    for bucket in range(limit):
        start, stop = bucket * count // limit, (bucket + 1) * count // limit
        if start >= stop:
            continue
        pick = max if high_bad else min
        index = pick(range(start, stop), key=lambda i: values[i])
        kept_t.append(times[index])
        kept_v.append(values[index])
    return kept_t, kept_v


@dataclass
class KeptSeries:
    """One series as a record keeps it: at most :data:`KEPT_POINTS` measured points."""

    measure: str
    role: str
    dir: str
    unit: str
    times: list[float]
    values: list[float]
    total: int
    """How many readable points there were before downsampling."""

    @property
    def dimension(self) -> Dimension:
        return Dimension(self.measure, self.role, self.dir)

    @classmethod
    def of(cls, series: Series) -> KeptSeries:
        pairs = sorted(zip(series.times, series.values, strict=True))
        times, values = [p[0] for p in pairs], [p[1] for p in pairs]
        high_bad = series.dimension.measure in HIGHER_IS_WORSE
        kept_t, kept_v = downsample(times, values, KEPT_POINTS, high_bad=high_bad)
        dimension = series.dimension
        return cls(
            dimension.measure,
            dimension.role,
            dimension.dir,
            unit_of(dimension.measure),
            kept_t,
            kept_v,
            len(values),
        )


@dataclass
class Breach:
    """A threshold the run's metrics broke, in one role and direction."""

    key: str
    expression: str
    measure: str
    aggregate: str
    value: float
    limit: float
    unit: str
    role: str
    dir: str
    baseline: float | None = None
    """The baseline run's value of the aggregate, for a ``@baseline`` threshold."""
    change: float = 0.0
    """The allowed change in percent, for a ``@baseline`` threshold."""

    @property
    def dimension(self) -> Dimension:
        return Dimension(self.measure, self.role, self.dir)


@dataclass
class MediaReport:
    """A run's media metrics: ``lines`` are the sentences reports print (breaches, what could
    not be checked, notes), each already worded by :mod:`pytest_sipfront.runs.messages`."""

    summaries: list[Summary] = field(default_factory=list)
    series: list[KeptSeries] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """Why a threshold could not be checked, one sentence each: these make the item red."""
    notes: list[str] = field(default_factory=list)
    """Worth saying, deciding nothing: no baseline yet, a series unreadable without a threshold."""
    breach_lines: list[str] = field(default_factory=list)
    notable: list[str] = field(default_factory=list)
    """Summary lines of breached measures and, for a run that did not pass, the preferred ones."""
    requests: int = 0
    """Stats requests sent for this run."""

    @property
    def red(self) -> bool:
        return bool(self.breaches or self.unchecked)

    @property
    def lines(self) -> list[str]:
        return [*self.breach_lines, *self.unchecked, *self.notes, *self.notable]

    def worst(self) -> KeptSeries | None:
        """The series a chart shows: the first breached one, else the first kept (threshold
        measures first, then the preferred ones)."""
        if not self.series:
            return None
        for breach in self.breaches:
            for kept in self.series:
                if kept.dimension == breach.dimension:
                    return kept
        return self.series[0]


def media_to_dict(report: MediaReport) -> dict[str, Any]:
    return asdict(report)


def media_from_dict(data: dict[str, Any]) -> MediaReport:
    return MediaReport(
        summaries=[Summary(**s) for s in data.get("summaries", [])],
        series=[KeptSeries(**s) for s in data.get("series", [])],
        breaches=[Breach(**b) for b in data.get("breaches", [])],
        unchecked=list(data.get("unchecked", [])),
        notes=list(data.get("notes", [])),
        breach_lines=list(data.get("breach_lines", [])),
        notable=list(data.get("notable", [])),
        requests=int(data.get("requests", 0)),
    )
