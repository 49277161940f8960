"""GitHub Actions reports: ``::error`` annotations and the Markdown job summary.

Both are views of the item records and file every item exactly as the JUnit report does
(:func:`pytest_sipfront.reports.classify.classify`). Every string that came from Sipfront is
cleaned (no ANSI, no control characters, no bidi overrides) and escaped for where it goes:
workflow-command escaping for annotations (so no newline can start a command of its own),
Markdown and HTML escaping for table cells (so no description can break the table or open a
link or a tag).
"""

# No ``from __future__ import annotations`` here: the contract's function ``annotations`` would
# shadow it (mypy sees a redefinition). Every annotation below is valid at runtime on 3.10.

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import quote

from pytest_sipfront.durations import format_duration
from pytest_sipfront.media.render import markdown_section
from pytest_sipfront.reports.classify import (
    Result,
    classify,
    classify_still_running,
    strip_userinfo,
    unreported,
)
from pytest_sipfront.reports.outfile import write_text
from pytest_sipfront.runs.messages import NOT_RED, history_case, media_left_out
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo, Verdict
from pytest_sipfront.sanitize import clean_line

MAX_ANNOTATIONS = 10
"""GitHub shows at most 10 error annotations per step."""
SUMMARY_LIMIT = 1_000_000
"""Bytes we allow ourselves in ``$GITHUB_STEP_SUMMARY`` (GitHub's limit is 1 MiB per step)."""
GITHUB_SUMMARY_MAX = 1024 * 1024

SANDBOX_TAG = "[SANDBOX] "
_INTERRUPTED = "**Interrupted**: the session stopped before every run was reported."
_STILL_GOING = "Sipfront cannot cancel runs; these are still going there:"
_MESSAGE_CHARS = 1000
_CELL_CHARS = 300
_URL_CHARS = 2048
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_URL_SAFE = "-._~:/?#@!$&*+,;=%"


# --- workflow commands -------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape a workflow command's message: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value: ``%``, CR, LF, ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation_file(manifest: str, rootdir: str, workspace: str | None) -> str | None:
    """The manifest path relative to the workspace (else as given, relative to the rootdir);
    ``None`` for a file outside the workspace (the action's one-run form writes its manifest
    to a temporary folder): GitHub cannot place it, so the annotation names no file."""
    if not workspace:
        return manifest
    absolute = os.path.normpath(os.path.join(rootdir, manifest))
    try:
        relative = os.path.relpath(absolute, os.path.normpath(workspace))
    except ValueError:  # another drive on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def _annotation(
    name: str,
    manifest: str,
    line: int,
    result: Result,
    url: str | None,
    info: SessionInfo,
    *,
    workspace: str | None,
    run: RunOutcome | None = None,
) -> str:
    where = _annotation_file(manifest, info.rootdir, workspace)
    properties = []
    if where is not None:
        properties.append(f"file={escape_property(clean_line(where, _URL_CHARS))}")
        if line > 0:
            properties.append(f"line={line}")
    title = "Sipfront: " + clean_line(name, _CELL_CHARS)
    case = history_case(run) if run is not None else ""
    if case:
        title += " (NEW failure)" if run is not None and run.new_failure else " (ALREADY FAILING)"
    properties.append(f"title={escape_property(title)}")
    message = clean_line(result.message, _MESSAGE_CHARS) or result.label
    if url:
        message = f"{message} {clean_line(strip_userinfo(url), _URL_CHARS)}"
    if info.sandbox:
        message = SANDBOX_TAG + message
    return f"::error {','.join(properties)}::{escape_data(message)}"


def manifest_error_annotations(info: SessionInfo, *, workspace: str | None) -> list[str]:
    """One ``::error`` per broken manifest, on the line and column the loader named."""
    lines = []
    for manifest, line, column, message in info.manifest_errors:
        where = _annotation_file(manifest, info.rootdir, workspace)
        path = clean_line(where if where is not None else manifest, _URL_CHARS)
        properties = f"file={escape_property(path)},line={line},col={column}"
        title = escape_property("Sipfront manifest")
        text = escape_data(clean_line(message, _MESSAGE_CHARS))
        lines.append(f"::error {properties},title={title}::{text}")
    return lines


def annotations(
    records: Sequence[ItemRecord], info: SessionInfo, *, workspace: str | None
) -> list[str]:
    """One ``::error`` line per failed or errored item (runs left going by an interruption
    included); when there are more than :data:`MAX_ANNOTATIONS`, the first nine and one line
    counting the rest."""
    bad: list[tuple[str, str, int, Result, str | None, RunOutcome | None]] = [
        (record.name, record.manifest, record.line, result, record.report_url, record.run)
        for record in records
        if (result := classify(record)).kind in ("failure", "error")
    ]
    bad += [
        (run.name, run.manifest, run.line, result, run.report_url, run)
        for run in unreported(records, info)
        if (result := classify_still_running(run)).kind in ("failure", "error")
    ]
    # Only the lines GitHub will show are formatted.
    lines = [
        _annotation(name, manifest, line, result, url, info, workspace=workspace, run=run)
        for name, manifest, line, result, url, run in bad[:MAX_ANNOTATIONS]
    ]
    if len(bad) <= MAX_ANNOTATIONS:
        return lines
    shown = MAX_ANNOTATIONS - 1
    rest = len(bad) - shown
    runs = "run" if rest == 1 else "runs"
    message = f"{rest} more Sipfront {runs} failed or errored; see the job summary"
    if info.sandbox:
        message = SANDBOX_TAG + message
    return [*lines[:shown], f"::error title=Sipfront::{escape_data(message)}"]


# --- the job summary ---------------------------------------------------------------------------


def markdown_cell(value: object, limit: int = _CELL_CHARS) -> str:
    """Text for one Markdown table cell: one line, cut, HTML and Markdown specials escaped.

    No ``|`` can end the cell, no newline the row, no ``<`` open a tag, no ``[``/`` ` ``/``*``
    make a link, code or emphasis; and since the result never starts a line, no ``::``
    workflow command can come of it.
    """
    text = clean_line(value, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_link(url: str | None, label: str = "report") -> str:
    """``[report](url)`` for an http(s) URL, percent-encoding anything that could break out of
    the link or the table; other values are shown as escaped text; ``—`` when there is none."""
    if not url:
        return "—"
    text = clean_line(strip_userinfo(url), _URL_CHARS)
    if not re.match(r"https?://[^\s/?#]", text, re.IGNORECASE):
        return markdown_cell(text)
    return f"[{label}]({quote(text, safe=_URL_SAFE)})"


@dataclass
class _Row:
    result: Result
    name: str
    manifest: str
    duration: str
    url: str | None
    attempts: int
    urls: tuple[str | None, ...] = ()
    """Every attempt's report link when there was more than one (retries, reruns)."""
    before: str = ""
    """The ``before`` cell (the run before this session); empty when history was not looked up."""


def _before_cell(run: RunOutcome | None) -> str:
    if run is None or run.previous is None:
        return ""
    case = history_case(run)
    text = {"none": "no earlier run", "running": "still running"}.get(
        run.previous.state, run.previous.state
    )
    if case:
        text = f"{text}: {case}"
        if run.not_red:
            text = f"{text} ({NOT_RED})"
    link = markdown_link(run.previous.report_url, "earlier") if run.previous.report_url else ""
    return f"{markdown_cell(text)} {link}".rstrip()


_ICONS = {
    "passed": "✅ passed",
    "flaky": "✅ passed (flaky)",
    "failed": "❌ failed",
    "timeout": "❌ failed (timeout)",
    "error": "⛔ error",
    "skipped": "⏭️ skipped",
    "xfailed": "☑️ xfailed",
    "xpassed": "⚠️ xpassed",
}


def _result_cell(row: _Row) -> str:
    text = _ICONS.get(row.result.label, row.result.label)
    if row.result.label == "flaky":
        text = f"✅ passed (flaky: {row.attempts} attempts)"
    elif row.result.kind == "error" and row.result.junit_type.startswith("sipfront."):
        text = f"⛔ error ({row.result.junit_type.removeprefix('sipfront.')})"
    return markdown_cell(text)


def _row_text(row: _Row, qualified: bool, with_before: bool = False) -> str:
    name = f"{row.manifest}::{row.name}" if qualified else row.name
    cell = markdown_cell(name)
    if row.result.label not in ("passed", "flaky") and row.result.message:
        cell = f"{cell}<br>{markdown_cell(row.result.message)}"
    if len(row.urls) > 1:
        links = " ".join(
            markdown_link(url, f"attempt {number}") for number, url in enumerate(row.urls, 1)
        )
    else:
        links = markdown_link(row.url)
    if with_before:
        return f"| {_result_cell(row)} | {cell} | {row.duration} | {links} | {row.before or '—'} |"
    return f"| {_result_cell(row)} | {cell} | {row.duration} | {links} |"


def _urls(run: RunOutcome | None) -> tuple[str | None, ...]:
    if run is None or len(run.attempts) < 2:
        return ()
    return tuple(attempt.report_url for attempt in run.attempts)


def _duration(run: RunOutcome | None) -> str:
    """The remote duration; ``—`` when no run started or nothing is known of its length."""
    if run is None or not run.attempts or not run.duration_s > 0:
        return "—"
    return format_duration(run.duration_s)


def _rows(records: Sequence[ItemRecord], info: SessionInfo) -> list[_Row]:
    rows = []
    for record in records:
        run = record.run
        rows.append(
            _Row(
                classify(record),
                record.name,
                record.manifest,
                _duration(run),
                record.report_url,
                len(run.attempts) if run is not None else 0,
                _urls(run),
                _before_cell(run),
            )
        )
    for still in unreported(records, info):
        rows.append(
            _Row(
                classify_still_running(still),
                still.name,
                still.manifest,
                _duration(still),
                still.report_url,
                len(still.attempts),
                _urls(still),
            )
        )
    return rows


def _counts(rows: Sequence[_Row]) -> str:
    labels = [row.result.label for row in rows]
    kinds = [row.result.kind for row in rows]
    parts = [
        f"{labels.count('passed') + labels.count('flaky')} passed",
        f"{kinds.count('failure')} failed",
        f"{kinds.count('error')} {'error' if kinds.count('error') == 1 else 'errors'}",
        f"{labels.count('skipped')} skipped",
        f"{labels.count('xfailed')} xfailed",
        f"{labels.count('xpassed')} xpassed",
        f"{labels.count('flaky')} flaky",
    ]
    total = len(rows)
    return f"**{total} Sipfront {'item' if total == 1 else 'items'}**: " + ", ".join(parts)


def _size(line: str) -> int:
    return len(line.encode("utf-8")) + 1


def _still_running_line(run: RunOutcome) -> str:
    return f"- {markdown_cell(run.name)}: {markdown_link(run.report_url)}"


def step_summary(
    records: Sequence[ItemRecord], info: SessionInfo, *, limit_bytes: int = SUMMARY_LIMIT
) -> str:
    """The Markdown job summary: heading, counts, what an interruption left going, and a table
    (result, name, duration, report link), kept under ``limit_bytes`` (UTF-8) however many
    records there are; rows that do not fit are counted in a last line."""
    rows = _rows(records, info)
    heading = "## Sipfront runs"
    if info.sandbox:
        heading += " (SANDBOX: simulated, not real Sipfront results)"
    head = [heading, "", _counts(rows), ""]
    if info.still_running:
        head += [f"{_INTERRUPTED} {_STILL_GOING}", ""]
    elif info.interrupted:
        head += [_INTERRUPTED, ""]
    # Room kept back for the two notes that say what was left out (each well under 200 bytes).
    budget = limit_bytes - 2 * 200 - sum(_size(line) for line in head)

    running, budget = _fit((_still_running_line(run) for run in info.still_running), budget)
    running_left = len(info.still_running) - len(running)
    if running_left:
        running.append(f"- … and {running_left} more (left out to keep the summary small)")
    if running:
        running.append("")

    table_head = ["| result | name | duration | report |", "|---|---|---|---|"]
    with_before = any(row.before for row in rows)
    if with_before:
        table_head = ["| result | name | duration | report | before |", "|---|---|---|---|---|"]
    budget -= sum(_size(line) for line in table_head)
    qualified = len({row.manifest for row in rows}) > 1
    table, budget = _fit((_row_text(row, qualified, with_before) for row in rows), budget)
    left_out = len(rows) - len(table)

    lines = head + running
    if table:
        lines += table_head + table
    elif not rows:
        lines.append("No Sipfront items were run.")
    if left_out:
        lines += [
            "",
            f"{left_out} of {len(rows)} rows left out to keep this summary under GitHub's size "
            "limit; the job log (and the JUnit report, when written) lists every item.",
        ]
    lines += _media_sections(records, budget - sum(_size(line) for line in lines[len(head) :]))
    text = "\n".join(_defused(line) for line in lines) + "\n"
    encoded = text.encode("utf-8")
    if len(encoded) > limit_bytes:  # only when limit_bytes is smaller than the heading itself
        text = encoded[: max(0, limit_bytes)].decode("utf-8", errors="ignore")
    return text


def _media_sections(records: Sequence[ItemRecord], budget: int) -> list[str]:
    """For each failed or breached run with metrics: its table and chart, folded, as far as
    ``budget`` bytes allow; a note counts those left out."""
    shown: list[str] = []
    left = 0
    for record in records:
        run = record.run
        media = run.media if run is not None else None
        if run is None or media is None or not (media.red or run.verdict is not Verdict.PASSED):
            continue
        section = ["", *markdown_section(media, record.name, markdown_cell).split("\n")]
        size = sum(_size(line) for line in section)
        if size > budget - 200:
            left += 1
            continue
        shown += section
        budget -= size
    if left:
        shown += ["", media_left_out(left)]
    return shown


def _fit(lines: Iterable[str], budget: int) -> tuple[list[str], int]:
    """The leading lines that fit in ``budget`` bytes, and the budget left (lines are made
    lazily: 20,000 rows that cannot fit are never formatted)."""
    kept: list[str] = []
    for line in lines:
        size = _size(line)
        if size > budget:
            break
        kept.append(line)
        budget -= size
    return kept, budget


def _defused(line: str) -> str:
    """Belt and braces: no summary line may read as a workflow command."""
    if line.lstrip().startswith("::"):
        return "\\" + line.lstrip()
    return line


# --- writing -----------------------------------------------------------------------------------


def write_github(
    records: Sequence[ItemRecord],
    info: SessionInfo,
    *,
    environ: Mapping[str, str],
    stream: TextIO,
    stop: Callable[[], bool] | None = None,
) -> None:
    """On GitHub Actions (``GITHUB_ACTIONS=true``): print the annotations to ``stream`` and
    append the summary to ``$GITHUB_STEP_SUMMARY`` when it is set. Elsewhere: nothing.

    A summary file that cannot be written, or that blocks (a FIFO nobody reads: it gets a
    deadline and ``stop()``, :func:`.outfile.write_text`), gives a ``::warning::`` line, not an
    exception and not a hang."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    workspace = environ.get("GITHUB_WORKSPACE") or None
    for line in manifest_error_annotations(info, workspace=workspace):
        stream.write(line + "\n")
    for line in annotations(records, info, workspace=workspace):
        stream.write(line + "\n")
    stream.flush()
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        used = os.path.getsize(path) if os.path.isfile(path) else 0
        # GitHub's 1 MiB is per step: leave room for what others already wrote there.
        limit = min(SUMMARY_LIMIT, GITHUB_SUMMARY_MAX - used - 1024)
        if limit < 2048:
            _warn(stream, "The job summary is nearly full; the Sipfront summary was left out")
            return
        text = step_summary(records, info, limit_bytes=limit)
        write_text(path, ("\n" if used else "") + text, append=True, stop=stop)
    except OSError as error:
        reason = clean_line(error.strerror or error, 300)
        _warn(stream, f"Could not write the job summary ({reason})")


def _warn(stream: TextIO, text: str) -> None:
    stream.write(f"::warning title=Sipfront::{escape_data(text)}\n")
