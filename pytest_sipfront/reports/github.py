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
from pytest_sipfront.reports.counts import Counts, session_counts
from pytest_sipfront.reports.outfile import write_text
from pytest_sipfront.runs.messages import (
    GATE_BROKEN_MANIFEST,
    GATE_BROKEN_MANIFEST_TODO,
    GATE_CANNOT_START,
    NOT_RED,
    SUMMARY_CUT,
    SUMMARY_SANDBOX,
    history_case,
    ledger_case,
    media_left_out,
    summary_verdict,
)
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo, Verdict
from pytest_sipfront.sanitize import clean_line

MAX_ANNOTATIONS = 10
"""GitHub shows at most 10 error annotations per step."""
SUMMARY_LIMIT = 256 * 1024
"""Bytes we allow ourselves in ``$GITHUB_STEP_SUMMARY``: well under GitHub's 1 MiB per step
(a page that size is no use to a reviewer; the JUnit file and the results JSON list every item)."""
GITHUB_SUMMARY_MAX = 1024 * 1024

SANDBOX_TAG = "[SANDBOX] "
_INTERRUPTED = "**Interrupted**: the session stopped before every run was reported."
_STILL_GOING = "Sipfront cannot cancel runs; some are still going there:"
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


@dataclass(frozen=True)
class SourceLinks:
    """Where a manifest line is shown on GitHub at this commit:
    ``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/blob/$GITHUB_SHA/<path>#L<line>``."""

    server: str
    repository: str
    sha: str
    workspace: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "SourceLinks | None":
        server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
        repository = environ.get("GITHUB_REPOSITORY", "")
        sha = environ.get("GITHUB_SHA", "")
        if not (server and repository and sha):
            return None
        return cls(server, repository, sha, environ.get("GITHUB_WORKSPACE") or None)

    def url(self, manifest: str, line: int, rootdir: str) -> str | None:
        where = _annotation_file(manifest, rootdir, self.workspace)
        if where is None or os.path.isabs(where):
            return None
        anchor = f"#L{line}" if line > 0 else ""
        return f"{self.server}/{self.repository}/blob/{self.sha}/{where}{anchor}"


@dataclass
class _Row:
    result: Result
    name: str
    manifest: str
    line: int
    duration: str
    url: str | None
    attempts: int
    urls: tuple[str | None, ...] = ()
    """Every attempt's report link when there was more than one (retries, reruns)."""
    before: str = ""
    """The ``before`` cell (the run before this session); empty when history was not looked up."""
    before_says: bool = False
    """The ``before`` cell says more than "no earlier run"."""
    ledger: str = ""
    """How the run ledger had the run: ``reused: triggered <when> in <attempt>``, ..."""

    @property
    def attention(self) -> bool:
        """A row the reviewer must read: a failure or an error (shown first, never folded)."""
        return self.result.kind in ("failure", "error")


def _before_cell(run: RunOutcome | None) -> tuple[str, bool]:
    if run is None or run.previous is None:
        return "", False
    case = history_case(run)
    text = {"none": "no earlier run", "running": "still running"}.get(
        run.previous.state, run.previous.state
    )
    if case:
        text = f"{text}: {case}"
        if run.not_red:
            text = f"{text} ({NOT_RED})"
    link = markdown_link(run.previous.report_url, "earlier") if run.previous.report_url else ""
    return f"{markdown_cell(text)} {link}".rstrip(), run.previous.state != "none"


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
    if row.ledger:
        text = f"{text}, {row.ledger}"
    return markdown_cell(text)


def _reason(row: _Row) -> str:
    if row.result.label in ("passed", "flaky") or not row.result.message:
        return ""
    return markdown_cell(row.result.message)


def _links_cell(row: _Row) -> str:
    if len(row.urls) > 1:
        return " ".join(
            markdown_link(url, f"attempt {number}") for number, url in enumerate(row.urls, 1)
        )
    return markdown_link(row.url)


def _line_cell(row: _Row, info: SessionInfo, links: SourceLinks | None) -> str:
    where = f"{row.manifest}:{row.line}" if row.line > 0 else row.manifest
    url = links.url(row.manifest, row.line, info.rootdir) if links is not None else None
    if url is None:
        return markdown_cell(where)
    return markdown_link(url, markdown_cell(where))


@dataclass(frozen=True)
class _Column:
    title: str
    cell: Callable[[_Row], str]


def _table(
    rows: Sequence[_Row], info: SessionInfo, links: SourceLinks | None, *, attention: bool
) -> tuple[list[str], list[str]]:
    """A table's two head lines and its rows, with only the columns that say something."""
    columns = []
    # The result cell carries the ledger's word (reused, re-attached): never left out then.
    if attention or any(row.ledger for row in rows) or len({_result_cell(row) for row in rows}) > 1:
        columns.append(_Column("result", _result_cell))
    if not attention and len({row.manifest for row in rows}) > 1:
        # Without the manifest column, a name alone could stand for entries of two manifests.
        columns.append(_Column("name", lambda row: markdown_cell(f"{row.manifest}::{row.name}")))
    else:
        columns.append(_Column("name", lambda row: markdown_cell(row.name)))
    if any(_reason(row) for row in rows):
        columns.append(_Column("reason", lambda row: _reason(row) or "—"))
    if any(row.duration != "—" for row in rows):
        columns.append(_Column("duration", lambda row: row.duration))
    if any(row.url for row in rows):
        columns.append(_Column("report", _links_cell))
    if attention:
        columns.append(_Column("manifest", lambda row: _line_cell(row, info, links)))
    if any(row.before_says for row in rows):
        columns.append(_Column("before", lambda row: row.before or "—"))
    head = [
        "| " + " | ".join(column.title for column in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    body = ("| " + " | ".join(column.cell(row) for column in columns) + " |" for row in rows)
    return head, list(body)


def _urls(run: RunOutcome | None) -> tuple[str | None, ...]:
    if run is None or len(run.attempts) < 2:
        return ()
    return tuple(attempt.report_url for attempt in run.attempts)


def _duration(run: RunOutcome | None) -> str:
    """The remote duration; ``—`` when no run started or nothing is known of its length."""
    if run is None or not run.attempts or not run.duration_s > 0:
        return "—"
    return format_duration(run.duration_s)


def _row(
    result: Result, name: str, manifest: str, line: int, run: RunOutcome | None, ledger: str = ""
) -> _Row:
    before, says = _before_cell(run)
    return _Row(
        result,
        name,
        manifest,
        line,
        _duration(run),
        run.report_url if run is not None else None,
        len(run.attempts) if run is not None else 0,
        _urls(run),
        before,
        says,
        ledger,
    )


def _rows(records: Sequence[ItemRecord], info: SessionInfo) -> list[_Row]:
    rows = [
        _row(
            classify(record),
            record.name,
            record.manifest,
            record.line,
            record.run,
            ledger_case(record.run) if record.run is not None else "",
        )
        for record in records
    ]
    rows += [
        _row(classify_still_running(run), run.name, run.manifest, run.line, run)
        for run in unreported(records, info)
    ]
    return rows


_FOLD_ORDER = ("xpassed", "flaky", "xfailed", "skipped")


def _fold_rank(row: _Row) -> int:
    label = row.result.label
    return _FOLD_ORDER.index(label) if label in _FOLD_ORDER else len(_FOLD_ORDER)


def _counts_line(counts: Counts, info: SessionInfo) -> str:
    total = counts.total
    line = f"**{total} Sipfront {'item' if total == 1 else 'items'}**: {counts.phrase()}"
    wall = info.wall_s
    if wall is not None:
        line += f" · wall time {format_duration(wall)}"
    return line


def _size(line: str) -> int:
    return len(line.encode("utf-8")) + 1


def _manifest_error_lines(info: SessionInfo, links: SourceLinks | None) -> list[str]:
    lines = []
    for manifest, line, column, message in info.manifest_errors:
        url = links.url(manifest, line, info.rootdir) if links is not None else None
        where = markdown_cell(f"{manifest}:{line}:{column}")
        place = markdown_link(url, where) if url else where
        lines.append(f"- {place}: {markdown_cell(message)}")
    return lines


def step_summary(
    records: Sequence[ItemRecord],
    info: SessionInfo,
    *,
    limit_bytes: int = SUMMARY_LIMIT,
    links: SourceLinks | None = None,
) -> str:
    """The Markdown job summary, built for a pull-request reviewer: the verdict in the heading,
    the counts and the wall time, then the failures and errors (reason, report link, manifest
    line at this commit), then every other row folded in ``<details>``. Columns that would say
    nothing are left out. Kept under ``limit_bytes`` (UTF-8) however many records there are;
    rows that do not fit are counted in a last line."""
    rows = _rows(records, info)
    counts = session_counts(records, info)
    if info.manifest_errors and not rows:
        heading = GATE_BROKEN_MANIFEST
    else:
        heading = summary_verdict(
            counts.total,
            counts.failed,
            counts.errors,
            counts.passed,
            counts.ran,
            interrupted=info.interrupted,
        )
    if info.sandbox:
        heading += f" ({SUMMARY_SANDBOX})"
    head = [f"## {heading}", ""]
    if counts.total:
        head += [_counts_line(counts, info), ""]
    if info.still_running:
        head += [f"{_INTERRUPTED} {_STILL_GOING} see the rows that say so.", ""]
    elif info.interrupted:
        head += [_INTERRUPTED, ""]
    if info.manifest_errors:
        if rows:
            head += [f"### {GATE_BROKEN_MANIFEST}", ""]
        head += [GATE_BROKEN_MANIFEST_TODO, "", *_manifest_error_lines(info, links), ""]
    # Room kept back for the note that says what was left out (well under 300 bytes).
    budget = limit_bytes - 300 - sum(_size(line) for line in head)

    lines = list(head)
    shown = 0
    attention = [row for row in rows if row.attention]
    # Inside the fold, what a reviewer may want to read first (an xfail entry that passed, a
    # flaky pass, an expected failure, a skip and its reason), then the plain passes.
    others = sorted((row for row in rows if not row.attention), key=_fold_rank)
    if attention:
        table_head, body = _table(attention, info, links, attention=True)
        budget -= sum(_size(line) for line in table_head)
        kept, budget = _fit(body, budget)
        if kept:
            lines += table_head + kept + [""]
        shown += len(kept)
    if others and shown == len(attention):
        counted = Counts(
            total=len(others),
            passed=counts.passed,
            skipped=counts.skipped,
            xfailed=counts.xfailed,
            xpassed=counts.xpassed,
            flaky=counts.flaky,
        )
        opening = [f"<details><summary>{markdown_cell(counted.phrase())}</summary>", ""]
        closing = ["", "</details>"]
        table_head, body = _table(others, info, links, attention=False)
        budget -= sum(_size(line) for line in opening + closing + table_head)
        kept, budget = _fit(body, budget)
        if kept:
            lines += opening + table_head + kept + closing
        shown += len(kept)
    if not rows and not info.manifest_errors:
        lines.append("No Sipfront items were run.")
    left_out = len(rows) - shown
    if left_out:
        lines += ["", SUMMARY_CUT.format(left=left_out, total=len(rows))]
    lines += _media_sections(records, budget)
    text = "\n".join(_defused(line) for line in lines).rstrip("\n") + "\n"
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
    links = SourceLinks.from_environ(environ)
    append_summary(
        environ,
        stream,
        lambda limit: step_summary(records, info, limit_bytes=limit, links=links),
        stop=stop,
    )


def append_summary(
    environ: Mapping[str, str],
    stream: TextIO,
    render: Callable[[int], str],
    *,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Append ``render(limit)`` to ``$GITHUB_STEP_SUMMARY`` when it is set, within what is left
    of GitHub's 1 MiB. A summary file that cannot be written, or that blocks (a FIFO nobody
    reads: it gets a deadline and ``stop()``, :func:`.outfile.write_text`), gives a
    ``::warning::`` line, not an exception and not a hang."""
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
        text = render(limit)
        write_text(path, ("\n" if used else "") + text, append=True, stop=stop)
    except OSError as error:
        reason = clean_line(error.strerror or error, 300)
        _warn(stream, f"Could not write the job summary ({reason})")


def cannot_start_summary(problem: str, todo: Sequence[str]) -> str:
    """The summary of a gate that could not start (an input is wrong, the keys are missing):
    what is wrong, then what to do."""
    lines = [f"## {GATE_CANNOT_START}", "", markdown_cell(problem, _MESSAGE_CHARS), ""]
    lines += [paragraph for text in todo for paragraph in (text, "")]
    return "\n".join(_defused(line) for line in lines).rstrip("\n") + "\n"


def _warn(stream: TextIO, text: str) -> None:
    stream.write(f"::warning title=Sipfront::{escape_data(text)}\n")
