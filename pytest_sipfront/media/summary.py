"""What a series amounts to: count, min, median, p95, max and mean per measure, role and
direction, with the unit where one is assumed.

Percentiles (the median too) are nearest-rank: always a value that was measured, never one
interpolated between two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_sipfront.media.series import Dimension, Series

ASSUMED_UNITS: dict[str, str] = {
    "rtp_jitter": "ms",
    "rtp_rtt": "ms",
    "rtt": "ms",
    "latency": "ms",
    "rtp_byte_per_sec": "B/s",
    "rtp_packet_per_sec": "packets/s",
    "rtp_packets_lost": "packets",
    "rtp_packet_loss": "%",
    "mos": "",
}
"""Sipfront documents no unit for the API: these are assumptions (the docs list them)."""

PREFERRED_MEASURES = ("rtp_jitter", "rtp_byte_per_sec", "mos", "rtp_packet_loss")
"""Measures the reports show when a run has them, besides those a threshold names."""

HIGHER_IS_WORSE = ("rtp_jitter", "rtp_rtt", "rtt", "latency", "rtp_packets_lost", "rtp_packet_loss")


def unit_of(measure: str) -> str:
    return ASSUMED_UNITS.get(measure, "")


def percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile ``share`` (0-100) of ascending, non-empty ``ordered``."""
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Summary:
    measure: str
    role: str
    dir: str
    count: int
    min: float
    median: float
    p95: float
    max: float
    mean: float
    unit: str = ""
    skipped: int = 0
    cut: bool = False

    @property
    def dimension(self) -> Dimension:
        return Dimension(self.measure, self.role, self.dir)

    def aggregate(self, name: str, values: Sequence[float]) -> float:
        """``min``, ``max``, ``mean``, ``median`` or ``pN`` of this series (``values`` is its
        ascending list: ``pN`` other than p95 needs the points)."""
        if name in ("min", "max", "mean", "median", "p95"):
            return float(getattr(self, name))
        return percentile(values, float(name[1:]))


def summarise(series: Series) -> Summary | None:
    """The summary of a series; ``None`` when it has no readable point."""
    if not series.values:
        return None
    ordered = sorted(series.values)
    dimension = series.dimension
    return Summary(
        measure=dimension.measure,
        role=dimension.role,
        dir=dimension.dir,
        count=len(ordered),
        min=ordered[0],
        median=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        max=ordered[-1],
        mean=math.fsum(ordered) / len(ordered),
        unit=unit_of(dimension.measure),
        skipped=series.skipped,
        cut=series.cut,
    )


def format_value(value: float, unit: str = "") -> str:
    """``45 ms``, ``0.125``, ``1.2e+06 B/s``: six significant digits at most."""
    text = f"{value:.6g}"
    return f"{text} {unit}" if unit else text
