"""How reports draw a run's media metrics: a plain-text table (JUnit ``<system-out>``), a
Markdown table with a Mermaid ``xychart-beta`` chart (GitHub job summary), an inline SVG
chart (pytest-html) and CSV (allure). Every string in them came through the sanitiser when the
body was read; the SVG escapes it with the one HTML escaper as well."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from pytest_sipfront.media.report import CHART_POINTS, KeptSeries, MediaReport, downsample
from pytest_sipfront.media.summary import HIGHER_IS_WORSE, Summary, format_value
from pytest_sipfront.sanitize import escape_html

COLUMNS = ("measure", "role", "dir", "count", "min", "median", "p95", "max", "mean", "unit")


def _row(summary: Summary) -> list[str]:
    return [
        summary.measure,
        summary.role or "-",
        summary.dir or "-",
        str(summary.count),
        *(format_value(getattr(summary, name)) for name in ("min", "median", "p95", "max", "mean")),
        summary.unit or "-",
    ]


def text_table(report: MediaReport) -> str:
    """The summaries as an aligned plain-text table (empty when there are none)."""
    if not report.summaries:
        return ""
    rows = [list(COLUMNS), *(_row(s) for s in report.summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


Escape = Callable[[str], str]
"""The report's own escaping of one Markdown table cell (``reports.github.markdown_cell``)."""


def markdown_table(report: MediaReport, cell: Escape) -> str:
    if not report.summaries:
        return ""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for summary in report.summaries:
        lines.append("| " + " | ".join(cell(text) for text in _row(summary)) + " |")
    return "\n".join(lines)


def _chart_points(kept: KeptSeries) -> tuple[list[float], list[float]]:
    return downsample(
        kept.times, kept.values, CHART_POINTS, high_bad=kept.measure in HIGHER_IS_WORSE
    )


def _title(kept: KeptSeries) -> str:
    where = ", ".join(part for part in (kept.role, kept.dir) if part)
    unit = f" [{kept.unit}]" if kept.unit else ""
    return f"{kept.measure}{f' ({where})' if where else ''}{unit}"


def mermaid_chart(kept: KeptSeries) -> str:
    """A Mermaid ``xychart-beta`` line chart of at most :data:`CHART_POINTS` measured points,
    x in seconds from the first point."""
    times, values = _chart_points(kept)
    start = times[0] if times else 0.0
    # Letters, digits and a few signs only: nothing can end the string or start a directive.
    plain = _title(kept).replace("%", " percent")
    title = "".join(ch for ch in plain if ch.isalnum() or ch in " _.,()[]/-")
    xs = ", ".join(f"{t - start:.6g}" for t in times)
    ys = ", ".join(f"{v:.6g}" for v in values)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{title}"',
            f'    x-axis "seconds" [{xs}]',
            f'    y-axis "{kept.unit or "value"}"',
            f"    line [{ys}]",
            "```",
        ]
    )


def markdown_section(report: MediaReport, name: str, cell: Escape) -> str:
    """A failed or breached run's part of the job summary: table and chart, folded; ``cell``
    escapes every text (the item's name too)."""
    parts = [f"<details><summary>Media metrics: {cell(name)}</summary>", ""]
    table = markdown_table(report, cell)
    if table:
        parts += [table, ""]
    worst = report.worst()
    if worst is not None and worst.values:
        shown = min(len(worst.values), CHART_POINTS)
        parts += [mermaid_chart(worst), "", f"{shown} of {worst.total} points shown.", ""]
    parts.append("</details>")
    return "\n".join(parts)


def svg_chart(kept: KeptSeries, width: int = 480, height: int = 160) -> str:
    """An inline SVG line chart; text escaped for XML."""
    times, values = _chart_points(kept)
    pad = 24
    if not values:
        return ""
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = (v1 - v0) or 1.0
    points = " ".join(
        f"{pad + (t - t0) / span_t * (width - 2 * pad):.1f},"
        f"{height - pad - (v - v0) / span_v * (height - 2 * pad):.1f}"
        for t, v in zip(times, values, strict=True)
    )
    title = escape_html(_title(kept))
    low, high = escape_html(format_value(v0, kept.unit)), escape_html(format_value(v1, kept.unit))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{title}">'
        f'<text x="{pad}" y="14" font-size="12">{title}</text>'
        f'<text x="2" y="{height - pad}" font-size="10">{low}</text>'
        f'<text x="2" y="{pad + 10}" font-size="10">{high}</text>'
        f'<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="{points}"/>'
        "</svg>"
    )


def csv_text(report: MediaReport) -> str:
    """Every kept series as CSV: measure, role, dir, time, value, unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["measure", "role", "dir", "time", "value", "unit"])
    for kept in report.series:
        for t, v in zip(kept.times, kept.values, strict=True):
            writer.writerow([kept.measure, kept.role, kept.dir, f"{t:.6f}", f"{v:.6g}", kept.unit])
    return out.getvalue()
