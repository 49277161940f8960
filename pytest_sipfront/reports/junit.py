"""The ``--sipfront-junit`` report: one ``<testsuite>`` per manifest, a view of the item records.

Every item is filed as :func:`pytest_sipfront.reports.classify.classify` decides, and the file is
built with :mod:`xml.etree.ElementTree` directly (the ``junit-xml`` package is not used: see
"Why not junit-xml" in docs/reports.md). The rules every file keeps:

- every string is made XML 1.0-safe first: ANSI escapes are removed, CR LF becomes LF, and every
  character XML 1.0 forbids (C0/C1 controls except TAB and LF, lone surrogates, non-characters
  such as U+FFFE) and the bidi override controls become a visible U+FFFD (nothing vanishes
  unseen);
- a failure or error always has a ``type``, a ``message`` and a text;
- a testcase gets exactly one of failure, error or skipped, never two;
- ``time`` is the remote run's duration in whole milliseconds, written as ``12.345`` (no float
  noise, no exponent), for testcases, suites and the root alike;
- attributes hold one line (a parser turns newlines in attributes into spaces); ``message`` is
  the first line, cut to 500 characters;
- texts are cut to 64 KiB with a note saying how long they were;
- suites carry ``disabled="0"`` as JUnit readers (and the schema profile) know it.

The session's properties (``sipfront.api_url``, ``sipfront.sandbox``) are written on the first
``<testsuite>`` only, because xunitparser merges all suites and rejects a repeated property name.
The profile allows no ``<properties>`` inside a ``<testcase>``, so a run's history is in its
``<system-out>`` (the ``before`` line) and in the failure's message (NEW failure or ALREADY
FAILING); pytest's own ``--junitxml`` has it as the ``sipfront_previous_*`` properties.
ElementTree escapes ``<``, ``&`` and ``>``, so ``]]>`` in a description is harmless.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pytest_sipfront.durations import format_duration
from pytest_sipfront.media.render import text_table
from pytest_sipfront.reports.classify import (
    Result,
    classify,
    classify_still_running,
    strip_userinfo,
    unreported,
)
from pytest_sipfront.reports.counts import Counts, session_counts
from pytest_sipfront.reports.outfile import replace_text
from pytest_sipfront.runs.messages import SANDBOX_NOTE, before_line, ledger_case
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo
from pytest_sipfront.sanitize import ANSI, UNSAFE

MESSAGE_LIMIT = 500
"""``message`` attributes: the first line, cut to this many characters."""
TEXT_LIMIT = 64 * 1024
"""Failure, error, skipped and system-out texts: cut to this many characters, with a note."""
NAME_LIMIT = 500

REPLACEMENT = "\ufffd"


# --- text ------------------------------------------------------------------------------------


def xml_text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Multi-line text that any XML 1.0 parser reads back as it was shown.

    ANSI escapes are removed; forbidden characters become U+FFFD; longer than ``limit``
    characters, the text is cut (at a line end when one is near) and a note says so.
    """
    text = value if isinstance(value, str) else str(value)
    total = len(text)
    if total > limit + 4096:
        text = text[: limit + 4096]  # no need to clean what will be cut anyway
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ANSI.sub("", text)
    text = UNSAFE.sub(REPLACEMENT, text)
    if len(text) > limit:
        keep = text[:limit]
        newline = keep.rfind("\n")
        if newline > limit * 3 // 4:
            keep = keep[:newline]
        text = f"{keep}\n[... cut: the full text had {total:,} characters]"
    return text


def xml_line(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """One line for an attribute: XML-safe, whitespace folded, cut to ``limit`` (ending ``…``)."""
    text = xml_text(value, limit=limit * 4 + 64)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def first_line(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """The first non-empty line of a text, made attribute-safe and cut to ``limit``."""
    text = value if isinstance(value, str) else str(value)
    text = text[: limit * 4 + 4096].replace("\r", "\n")
    for line in text.split("\n"):
        cleaned = xml_line(line, limit)
        if cleaned:
            return cleaned
    return ""


def public_api_url(url: str) -> str:
    """The API URL as reports show it: no userinfo, no query, no fragment (never credentials)."""
    bare = strip_userinfo(url)
    return xml_line(bare.split("#", 1)[0].split("?", 1)[0], 2000)


# --- times -------------------------------------------------------------------------


def millis(seconds: float) -> int:
    """Whole milliseconds; anything that is not a finite, non-negative number counts as 0."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        return 0
    return round(seconds * 1000)


def format_millis(ms: int) -> str:
    """``12345`` -> ``12.345``: the JUnit ``time``, free of float noise and exponents."""
    return f"{ms // 1000}.{ms % 1000:03d}"


# --- naming ------------------------------------------------------------------------------------


def classname_for(manifest: str) -> str:
    """``sipfront.`` plus the manifest path without ``.yml``/``.yaml`` and a ``.sipfront`` suffix,
    ``/`` and ``.`` turned into ``_``.

    ``ci/prod.sipfront.yml`` gives ``sipfront.ci_prod``. A bare ``sipfront.yml`` has no
    ``.sipfront`` suffix to remove, so it gives ``sipfront.sipfront`` (``ci/sipfront.yml``:
    ``sipfront.ci_sipfront``): the rule applied literally, which keeps every manifest's classname
    distinct and gives Jenkins the package ``sipfront`` for all of them. Backslashes count as
    ``/`` and a leading ``./`` is dropped; the endings are matched case-insensitively.
    """
    path = manifest.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    lowered = path.lower()
    for ending in (".yml", ".yaml"):
        if lowered.endswith(ending):
            path = path[: -len(ending)]
            break
    if path.lower().endswith(".sipfront"):
        path = path[: -len(".sipfront")]
    path = path.strip("/") or "sipfront"
    return "sipfront." + xml_line(path.replace("/", "_").replace(".", "_"), NAME_LIMIT)


# --- texts inside a testcase -------------------------------------------------------------------


def _attempt_state(run: RunOutcome, index: int) -> str:
    attempt = run.attempts[index]
    if attempt.status:
        return attempt.status
    if attempt.passed:
        return "passed"
    return "failed" if attempt.finished else "not finished"


def run_lines(run: RunOutcome) -> list[str]:
    """The detail lines of a run: what was asked, report, session, status and every attempt."""
    lines: list[str] = []
    if run.target:
        lines.append(f"{run.kind or 'test':<9} {run.target}")
    if not run.attempts:
        lines.append("report    none (no run was started)")
        return lines
    lines.append(f"report    {run.report_url or 'none'}")
    lines.append(f"session   {run.session_id or 'none'}")
    lines.append(f"status    {run.status or 'unknown'}")
    lines.append(f"duration  {format_duration(millis(run.duration_s) / 1000)}")
    if run.previous is not None:
        lines.append(f"before    {before_line(run.previous)}")
    if run.ledger:
        lines.append(f"ledger    {ledger_case(run)}")
    if run.earlier:
        lines.append(f"earlier   {run.earlier}")
    total = len(run.attempts)
    for index, attempt in enumerate(run.attempts):
        lines.append(
            f"attempt {index + 1} of {total}: {_attempt_state(run, index)}"
            f" | session {attempt.session_id or 'none'} | report {attempt.report_url or 'none'}"
        )
    return lines


def _result_line(result: Result, run: RunOutcome | None) -> str:
    attempts = len(run.attempts) if run is not None else 0
    if result.label == "flaky":
        return f"result    passed (flaky: passed on attempt {attempts} of {attempts})"
    if result.label == "xpassed":
        why = f" ({result.message})" if result.message else ""
        return f"result    xpassed: the run passed although the entry expects it to fail{why}"
    if result.label == "xfailed":
        why = f" ({result.message})" if result.message else ""
        return f"result    xfailed: the run failed, as the entry expects{why}"
    if result.kind == "passed":
        return "result    passed"
    return f"result    {result.label}: {result.message}"


def system_out(
    result: Result, run: RunOutcome | None, manifest: str, line: int, sandbox: bool
) -> str:
    """The ``<system-out>`` of a testcase."""
    lines = [SANDBOX_NOTE] if sandbox else []
    lines.append(_result_line(result, run))
    if run is not None:
        lines.extend(run_lines(run))
    else:
        lines.append("report    none (no Sipfront run was triggered)")
    lines.append(f"manifest  {manifest}:{line}" if line > 0 else f"manifest  {manifest}")
    table = text_table(run.media) if run is not None and run.media is not None else ""
    if table:
        lines += ["media metrics:", table]
    return xml_text("\n".join(lines))


def _body(result: Result, longrepr: str, run: RunOutcome | None, manifest: str, line: int) -> str:
    """The element text: the first line, then the detail block (pytest's, else our own)."""
    head = result.message
    detail = longrepr.strip("\n")
    if detail:
        if detail.split("\n", 1)[0].strip() == head.strip():
            return detail
        return f"{head}\n{detail}"
    lines = [head]
    if run is not None:
        lines.extend("  " + text for text in run_lines(run))
    lines.append(f"  manifest  {manifest}:{line}" if line > 0 else f"  manifest  {manifest}")
    return "\n".join(lines)


# --- the document ------------------------------------------------------------------------------


@dataclass
class _Case:
    name: str
    manifest: str
    line: int
    result: Result
    ms: int
    body: str
    out: str


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} ({number})"
    taken.add(candidate)
    return candidate


def _cases(records: Sequence[ItemRecord], info: SessionInfo) -> dict[str, list[_Case]]:
    suites: dict[str, list[_Case]] = {}
    for record in records:
        result = classify(record)
        run = record.run
        sandbox = info.sandbox or (run is not None and run.sandbox)
        body = _body(result, record.longrepr, run, record.manifest, record.line)
        out = system_out(result, run, record.manifest, record.line, sandbox)
        case = _Case(
            record.name, record.manifest, record.line, result, millis(record.duration_s), body, out
        )
        suites.setdefault(record.manifest, []).append(case)
    for manifest, line, column, message in info.manifest_errors:
        # A broken manifest is a gate error too: Jenkins and GitLab must not read "0 tests".
        text = f"{manifest}:{line}:{column}: {message}"
        result = Result("error", "error", "sipfront.manifest", text)
        out = f"manifest  {manifest}:{line}:{column}\nnothing was triggered\n"
        case = _Case(manifest, manifest, line, result, 0, text, out)
        suites.setdefault(manifest, []).append(case)
    for run in unreported(records, info):
        result = classify_still_running(run)
        body = _body(result, "", run, run.manifest, run.line)
        out = system_out(result, run, run.manifest, run.line, info.sandbox or run.sandbox)
        case = _Case(run.name, run.manifest, run.line, result, millis(run.duration_s), body, out)
        suites.setdefault(run.manifest, []).append(case)
    return suites


def _test_case(case: _Case, name: str) -> ET.Element:
    """One ``<testcase>``: name, classname, file, line, time; at most one of failure, error or
    skipped (always with a message, and a text for failures and errors); its system-out."""
    element = ET.Element("testcase", {"name": name, "classname": classname_for(case.manifest)})
    manifest = xml_line(case.manifest, 2000)
    if manifest:
        element.set("file", manifest)
    if case.line > 0:
        element.set("line", str(case.line))
    element.set("time", format_millis(case.ms))
    result = case.result
    message = first_line(result.message) or result.label
    text = xml_text(case.body) or message
    if result.kind in ("failure", "error"):
        problem = ET.SubElement(element, result.kind, {"type": result.junit_type})
        problem.set("message", message)
        problem.text = text
    elif result.kind == "skipped":
        if result.label == "xfailed":
            reason = first_line(result.message, MESSAGE_LIMIT - 30)
            message = f"expected failure (xfail): {reason}" if reason else "expected failure"
        skipped = ET.SubElement(element, "skipped", {"type": "skipped", "message": message})
        if text != message:
            skipped.text = text
    if case.out:
        ET.SubElement(element, "system-out").text = case.out
    return element


def session_properties(info: SessionInfo, counts: Counts | None = None) -> dict[str, str]:
    """The suite properties: the API URL (never credentials), whether this was the sandbox, and
    the session's one count (``sipfront.count.xfailed``, ...: JUnit itself files xfailed items
    as skipped and xpassed ones as passed, and has no word for flaky)."""
    properties = {
        "sipfront.api_url": public_api_url(info.api_url),
        "sipfront.sandbox": "true" if info.sandbox else "false",
    }
    if info.interrupted:
        properties["sipfront.interrupted"] = "true"
    if counts is not None:
        for name, number in counts.as_dict().items():
            properties[f"sipfront.count.{name}"] = str(number)
    return properties


def _suite(manifest: str, cases: list[_Case], properties: dict[str, str] | None) -> ET.Element:
    name = xml_line(manifest, 2000) or "sipfront"
    kinds = [case.result.kind for case in cases]
    suite = ET.Element(
        "testsuite",
        {
            "disabled": "0",
            "errors": str(kinds.count("error")),
            "failures": str(kinds.count("failure")),
            "name": name,
            "skipped": str(kinds.count("skipped")),
            "tests": str(len(cases)),
            "time": format_millis(sum(case.ms for case in cases)),
            "file": name,
        },
    )
    if properties:
        listed = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(listed, "property", {"name": key, "value": value})
    taken: set[str] = set()
    for case in cases:
        suite.append(_test_case(case, _unique(xml_line(case.name, NAME_LIMIT) or "unnamed", taken)))
    return suite


def junit_xml(records: Sequence[ItemRecord], info: SessionInfo) -> str:
    """The whole JUnit document, as text (UTF-8 declared, indented, deterministic)."""
    cases = _cases(records, info)
    counts = session_counts(records, info)
    # The session's properties go on the first suite only: xunitparser gathers every suite of a
    # file into one and refuses a property name seen twice.
    suites = [
        _suite(manifest, listed, session_properties(info, counts) if index == 0 else None)
        for index, (manifest, listed) in enumerate(cases.items())
    ]
    root = ET.Element("testsuites")
    root.set("name", "Sipfront SANDBOX" if info.sandbox else "Sipfront")
    for key in ("tests", "failures", "errors", "skipped", "disabled"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in suites)))
    root.set("time", format_millis(sum(case.ms for listed in cases.values() for case in listed)))
    root.extend(suites)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def junit_path_problem(path: str, other_reports: Sequence[str] = ()) -> str | None:
    """Why the JUnit file could not be written at ``path`` (checked before the first trigger),
    or ``None``. ``other_reports`` are paths other plugins write (pytest's ``--junitxml``)."""
    target = os.path.realpath(os.path.abspath(path))
    if any(target == os.path.realpath(os.path.abspath(other)) for other in other_reports):
        return "it is the path of --junitxml; give each report its own file"
    if os.path.isdir(target):
        return "it is a directory; name a file"
    if os.path.exists(target):
        if not os.access(target, os.W_OK):
            return "the file is not writable"
        if not stat.S_ISREG(os.stat(target).st_mode):
            return None  # a device or FIFO: written in place
    ancestor = os.path.dirname(target)
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        return f"{ancestor} is not a directory"
    try:  # a real probe: os.access says yes to root, and to /proc
        handle, probe = tempfile.mkstemp(prefix=".sipfront-junit-", suffix=".tmp", dir=ancestor)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return f"{ancestor} is not writable ({error.strerror or error})"
    return None


def write_junit(
    path: str | os.PathLike[str],
    records: Sequence[ItemRecord],
    info: SessionInfo,
    *,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Write the JUnit file: parent directories created, written whole or not at all. A path
    that is (or links to) a device or a FIFO is written in place, never replaced, and only
    while it takes the text (:func:`.outfile.write_text`: a deadline, ``stop()``); a symlink
    to a file is followed (the link stays, the file it names is replaced)."""
    replace_text(path, junit_xml(records, info), prefix=".sipfront-junit-", stop=stop)
