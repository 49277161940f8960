"""The ``--sipfront-junit`` report: one ``<testsuite>`` per manifest, a view of the item records.

It is written with the ``junit-xml`` package behind a wrapper that defeats the package's known
flaws:

- every string is made XML 1.0-safe first: ANSI escapes are removed, CR LF becomes LF, and every
  character XML 1.0 forbids or ``junit-xml`` silently drops (C0/C1 controls except TAB and LF,
  lone surrogates, non-characters such as U+FFFE) and the bidi override controls become a
  visible U+FFFD (so lone surrogates cannot crash the writer and nothing vanishes unseen);
- a failure or error always has both a ``message`` and a text (with only a type, ``junit-xml``
  writes a pass);
- a testcase gets exactly one of failure, error or skipped, never two;
- ``time`` is the remote run's duration in whole milliseconds, written as ``12.345`` (no float
  noise, no exponent), for testcases, suites and the root alike;
- attributes hold one line (a parser turns newlines in attributes into spaces); ``message`` is
  the first line, cut to 500 characters;
- texts are cut to 64 KiB with a note saying how long they were.

The session's properties (``sipfront.api_url``, ``sipfront.sandbox``) are written on the first
``<testsuite>`` only, because xunitparser merges all suites and rejects a repeated property name.

Serialisation uses :class:`xml.etree.ElementTree` (which escapes ``<``, ``&`` and ``>``, so
``]]>`` in a description is harmless) rather than ``junit-xml``'s minidom pretty-printer.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from junit_xml import TestCase, TestSuite  # type: ignore[import-untyped]

from pytest_sipfront.durations import format_duration
from pytest_sipfront.runs.outcome import ItemRecord, PytestOutcome, RunOutcome, SessionInfo, Verdict
from pytest_sipfront.sanitize import ANSI, UNSAFE

MESSAGE_LIMIT = 500
"""``message`` attributes: the first line, cut to this many characters."""
TEXT_LIMIT = 64 * 1024
"""Failure, error, skipped and system-out texts: cut to this many characters, with a note."""
NAME_LIMIT = 500

INTERRUPTED_MESSAGE = "Interrupted; the run is still going at Sipfront"
SANDBOX_NOTE = "SANDBOX: simulated by the pytest-sipfront sandbox, not a real Sipfront run"

REPLACEMENT = "\ufffd"

# Where the plugin gives no run (so no verdict), the contract's first lines still say which
# gate problem it was (design section 5).
_MESSAGE_VERDICTS = (
    ("No Sipfront credentials", Verdict.AUTH),
    ("Sipfront rejected the API credentials", Verdict.AUTH),
    ("This session would start", Verdict.MAX_RUNS),
    ("Interrupted;", Verdict.INTERRUPTED),
    ("Sipfront refused to start the run", Verdict.REFUSED),
    ("Sipfront API unreachable", Verdict.UNREACHABLE),
    ("The trigger request failed after it was sent", Verdict.UNKNOWN),
    ("Sipfront no longer knows this run", Verdict.VANISHED),
    ("Sipfront run did not finish within", Verdict.TIMEOUT),
    ("Sipfront run failed", Verdict.FAILED),
)


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


def strip_userinfo(url: str) -> str:
    """The URL without any ``user:password@`` part."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    except ValueError:
        return re.sub(r"//[^/?#]*@", "//", url)


def public_api_url(url: str) -> str:
    """The API URL as reports show it: no userinfo, no query, no fragment (never credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return xml_line(urlunsplit((parts.scheme, host, parts.path, "", "")), 2000)
    except ValueError:
        return xml_line(re.sub(r"//[^/?#]*@", "//", url).split("?")[0].split("#")[0], 2000)


# --- what each item is -------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """How the reports file one item: the one classification JUnit and GitHub share."""

    kind: str
    """``passed``, ``failure``, ``error`` or ``skipped`` (the JUnit child element)."""
    label: str
    """What people read: ``passed``, ``flaky``, ``failed``, ``timeout``, ``error``, ``skipped``,
    ``xfailed``, ``xpassed``."""
    junit_type: str
    """``sipfront.failed``, ``sipfront.auth``, ...; empty for passes and skips."""
    message: str
    """First line (unsanitised), e.g. ``Sipfront run failed: ... [status: failed]``."""


def _verdict_from_message(message: str) -> Verdict | None:
    for prefix, verdict in _MESSAGE_VERDICTS:
        if message.lstrip().startswith(prefix):
            return verdict
    return None


def _default_message(verdict: Verdict | None, kind: str) -> str:
    if verdict is Verdict.FAILED:
        return "Sipfront run failed: no reason given"
    if verdict is Verdict.TIMEOUT:
        return "Sipfront run did not finish in time"
    if verdict is Verdict.INTERRUPTED:
        return INTERRUPTED_MESSAGE
    if kind == "error":
        what = verdict.value if verdict is not None else "unknown"
        return f"Sipfront gate error ({what}); no message given"
    return "Sipfront item failed; no message given"


def classify(record: ItemRecord) -> Result:
    """File one record: gate problems are errors, failed or timed-out runs failures, ``skip:``
    and xfailed items skipped, passed and xpassed items passes; never two at once."""
    run = record.run
    message = record.message or (run.message if run else "")
    verdict = run.verdict if run is not None else _verdict_from_message(message)
    outcome = record.outcome
    if outcome is PytestOutcome.ERROR or (verdict is not None and verdict.is_error):
        # An xfail entry's timeout is an error (never xfailed), still typed as a timeout.
        typed = verdict is not None and (verdict.is_error or verdict is Verdict.TIMEOUT)
        junit_type = verdict.junit_type if typed and verdict is not None else ""
        return Result(
            "error",
            "error",
            junit_type or "sipfront.error",
            message or _default_message(verdict, "error"),
        )
    # A timeout is a gate problem, never an expected failure (design section 4, point 10).
    xfail_hid_a_timeout = outcome is PytestOutcome.XFAILED and verdict is Verdict.TIMEOUT
    if outcome is PytestOutcome.FAILED or xfail_hid_a_timeout:
        label = "timeout" if verdict is Verdict.TIMEOUT else "failed"
        junit_type = verdict.junit_type if verdict is not None and verdict.is_failure else ""
        return Result(
            "failure",
            label,
            junit_type or "sipfront.failed",
            message or _default_message(verdict, "failure"),
        )
    if outcome is PytestOutcome.SKIPPED:
        return Result("skipped", "skipped", "", message or "skipped")
    if outcome is PytestOutcome.XFAILED:
        return Result("skipped", "xfailed", "", message)
    if outcome is PytestOutcome.XPASSED:
        return Result("passed", "xpassed", "", message)
    flaky = record.flaky or (run is not None and run.flaky)
    return Result("passed", "flaky" if flaky else "passed", "", "")


def classify_still_running(run: RunOutcome) -> Result:
    """A run the stopped session triggered but never reported: an error while it is still
    going; Sipfront's verdict when it finished before the session stopped (never reached)."""
    if run.verdict is Verdict.INTERRUPTED or not run.attempts:
        message = run.message or INTERRUPTED_MESSAGE
        return Result("error", "error", Verdict.INTERRUPTED.junit_type, message)
    if run.verdict is Verdict.PASSED:
        outcome = PytestOutcome.PASSED
    elif run.verdict.is_failure:
        outcome = PytestOutcome.FAILED
    else:
        outcome = PytestOutcome.ERROR
    record = ItemRecord(
        nodeid=run.name,
        name=run.name,
        manifest=run.manifest,
        line=run.line,
        outcome=outcome,
        run=run,
        message=run.message,
    )
    return classify(record)


def unreported(records: Sequence[ItemRecord], info: SessionInfo) -> list[RunOutcome]:
    """The runs triggered without a record: finished but never reached, then still going at
    Sipfront; each once (a run with a record is not repeated)."""
    seen = {(record.manifest, record.name) for record in records}
    listed: list[RunOutcome] = []
    for run in (*info.not_reached, *info.still_running):
        if (run.manifest, run.name) not in seen:
            seen.add((run.manifest, run.name))
            listed.append(run)
    return listed


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


def _test_case(case: _Case, name: str) -> TestCase:
    manifest = xml_line(case.manifest, 2000)
    test_case = TestCase(
        name,
        classname=classname_for(case.manifest),
        file=manifest,
        line=str(case.line) if case.line > 0 else None,
        stdout=case.out,
    )
    result = case.result
    message = first_line(result.message) or result.label
    text = xml_text(case.body) or message
    if result.kind == "failure":
        test_case.add_failure_info(message=message, output=text, failure_type=result.junit_type)
    elif result.kind == "error":
        test_case.add_error_info(message=message, output=text, error_type=result.junit_type)
    elif result.kind == "skipped":
        if result.label == "xfailed":
            reason = first_line(result.message, MESSAGE_LIMIT - 30)
            message = f"expected failure (xfail): {reason}" if reason else "expected failure"
        test_case.add_skipped_info(message=message, output=text if text != message else None)
    return test_case


def session_properties(info: SessionInfo) -> dict[str, str]:
    """The suite properties: the API URL (never credentials) and whether this was the sandbox."""
    properties = {
        "sipfront.api_url": public_api_url(info.api_url),
        "sipfront.sandbox": "true" if info.sandbox else "false",
    }
    if info.interrupted:
        properties["sipfront.interrupted"] = "true"
    return properties


def _suite(manifest: str, cases: list[_Case], properties: dict[str, str] | None) -> ET.Element:
    taken: set[str] = set()
    test_cases = [
        _test_case(case, _unique(xml_line(case.name, NAME_LIMIT) or "unnamed", taken))
        for case in cases
    ]
    name = xml_line(manifest, 2000) or "sipfront"
    suite = TestSuite(name, test_cases, properties=properties, file=name)
    element: ET.Element = suite.build_xml_doc()
    for case, child in zip(cases, element.findall("testcase"), strict=True):
        child.set("time", format_millis(case.ms))
    element.set("time", format_millis(sum(case.ms for case in cases)))
    return element


def junit_xml(records: Sequence[ItemRecord], info: SessionInfo) -> str:
    """The whole JUnit document, as text (UTF-8 declared, indented, deterministic)."""
    # The session's properties go on the first suite only: xunitparser gathers every suite of a
    # file into one and refuses a property name seen twice.
    suites = [
        _suite(manifest, cases, session_properties(info) if index == 0 else None)
        for index, (manifest, cases) in enumerate(_cases(records, info).items())
    ]
    root = ET.Element("testsuites")
    root.set("name", "Sipfront SANDBOX" if info.sandbox else "Sipfront")
    for key in ("tests", "failures", "errors", "skipped", "disabled"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in suites)))
    root.set("time", format_millis(sum(millis(float(suite.get("time", "0"))) for suite in suites)))
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
    path: str | os.PathLike[str], records: Sequence[ItemRecord], info: SessionInfo
) -> None:
    """Write the JUnit file: parent directories created, written whole or not at all. A path
    that is (or links to) a device or a FIFO is written in place, never replaced; a symlink
    to a file is followed (the link stays, the file it names is replaced)."""
    text = junit_xml(records, info)
    target = os.path.realpath(os.path.abspath(os.fspath(path)))
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        with open(target, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        return
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".sipfront-junit-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        # mkstemp creates the file private (0600); CI users and other containers must read it.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
