"""The words people read: first lines of failures and errors, and the detail block below them."""

from __future__ import annotations

from typing import Literal

from pytest_sipfront.durations import format_duration
from pytest_sipfront.media.report import Breach
from pytest_sipfront.media.summary import Summary, format_value
from pytest_sipfront.runs.outcome import (
    Attempt,
    PreviousRun,
    RunOutcome,
    Verdict,
    parse_timestamp,
)
from pytest_sipfront.sanitize import clean_line

NO_CREDENTIALS = "No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
STILL_GOING = "the run is still going at Sipfront"
INTERRUPTED = f"Interrupted; {STILL_GOING}"
NOT_REACHED = (
    "not reached: pytest reported nothing for its item (the session stopped first, or its "
    "pytest-xdist worker crashed); this is Sipfront's verdict"
)
INTERRUPTED_QUEUED = "Interrupted before its run was triggered"
INTERRUPTED_MEASURING = (
    "Interrupted while its media metrics were read; the run has finished at Sipfront"
)
NOT_TRIGGERED = "not triggered: the session is stopping"
"""A run pytest will not reach (-x, --maxfail): it ends its item at once, nothing is sent."""
INTERRUPTED_SENDING = (
    "Interrupted while its trigger was being sent; a run may have started: "
    "check Sipfront before re-running"
)
UNKNOWN_TRIGGER = (
    "The trigger request failed after it was sent; a run may have started: "
    "check Sipfront before re-running"
)

NOTHING_TESTED = "SANDBOX: nothing was tested at Sipfront"
"""Beside every count or title of a sandbox session."""
SANDBOX_NOTE = "SANDBOX: simulated by the pytest-sipfront sandbox, not a real Sipfront run"


REATTACHED = "re-attached"
REUSED = "reused"
DETACHED = "detached"
"""The ledger's outcome words (``RunOutcome.ledger``), the same in every report."""


def detached(ledger: str) -> str:
    """The skip reason of an item whose run a ``--sipfront-detach`` session left going."""
    return (
        "detached: running at Sipfront; collect with the same command and "
        f"--sipfront-ledger {ledger}"
    )


def ledger_case(outcome: RunOutcome) -> str:
    """``re-attached: triggered 2026-12-07 11:02:03 UTC in session 1`` (or ``reused: ...``,
    ``detached: ...``) for a run the ledger had; ``""`` otherwise."""
    if not outcome.ledger:
        return ""
    if outcome.ledger == DETACHED:
        return f"{DETACHED}: {STILL_GOING}"
    if not outcome.ledger_note:
        return outcome.ledger
    return f"{outcome.ledger}: triggered {outcome.ledger_note}"


def ledger_when(sent_at: str, attempt: str) -> str:
    """``2026-12-07 11:02:03 UTC in GitHub attempt 1`` from a ledger record's ISO time."""
    text = sent_at.replace("T", " ")[:19]
    return f"{text} UTC in {attempt}" if attempt else f"{text} UTC"


def earlier_run(verdict: str | None, when: str, report_url: str | None) -> str:
    """The detail block's ``earlier`` line: the ledger's run of this item before this session."""
    if verdict is None:
        return f"trigger sent {when}, never answered: a run may have started at Sipfront"
    return f"{verdict} | triggered {when} | {report_url or '-'}"


def uncertain_trigger(name: str, when: str) -> str:
    """Warning: the ledger holds a "sending" mark for this item without an answer."""
    return (
        f"{name}: the ledger holds a trigger sent {when} that was never answered; a run may "
        "have started at Sipfront (check it there); this session triggers anew"
    )


def ledger_unreadable(path: str, reason: str) -> str:
    return (
        f"the Sipfront ledger {path} cannot be used: {reason}. Nothing was triggered. To start "
        "afresh, delete the file (or point --sipfront-ledger at a new one): the runs it "
        "recorded are then triggered anew"
    )


def ledger_busy(path: str, waited: float) -> str:
    return (
        f"the Sipfront ledger {path} is held by another session (waited "
        f"{format_duration(waited)}). Nothing was triggered. Run one session per ledger at a "
        "time, or give each session (each matrix leg, each shard) its own ledger file"
    )


def not_waited_for(count: int) -> str:
    """Beside a test whose runs it started and never waited for (their verdicts did not
    decide the test)."""
    return f"{count} run{'s' if count != 1 else ''} started and not waited for"


def unexplained(verdict: Verdict | None, kind: Literal["failure", "error"]) -> str:
    """The first line for an item a report must file as a ``failure`` or ``error`` (``kind``)
    but whose record carries no message."""
    if verdict is Verdict.FAILED:
        return "Sipfront run failed: no reason given"
    if verdict is Verdict.TIMEOUT:
        return "Sipfront run did not finish in time"
    if verdict is Verdict.INTERRUPTED:
        return INTERRUPTED
    if kind == "error":
        what = verdict.value if verdict is not None else "unknown"
        return f"Sipfront gate error ({what}); no message given"
    return "Sipfront item failed; no message given"


def run_failed(attempt: Attempt) -> str:
    description = clean_line(attempt.result_description, 1000) or "no reason given"
    return f"Sipfront run failed: {description} [status: {attempt.status or 'unknown'}]"


def retry_after_too_long(retry_after: float, left: float, what: str) -> str:
    """A Retry-After longer than what is left of the run's timeout (``what``) ends the run."""
    asked = f"{retry_after:.0f}s" if retry_after >= 10 else f"{retry_after:.1f}s"
    return (
        f"Sipfront asked to retry after {asked}, longer than the "
        f"{format_duration(max(0.0, left))} left of {what}"
    )


RUN_TIMEOUT_LEFT = "this run's timeout"
TRIGGER_BUDGET_LEFT = "this run's timeout for its trigger"
LISTING_TIME_LEFT = "the time this listing may take"
MEDIA_TIME_LEFT = "the time this run's media metrics may take"
INTERRUPTED_LISTING = "Interrupted while asking Sipfront for a list; nothing was started"

AUTH_MESSAGE = (
    "Sipfront rejected the API credentials (HTTP {code}): "
    "check SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
)
REFUSED_MESSAGE = "Sipfront refused to start the run: {reason} (HTTP {code})"
LIST_REFUSED_MESSAGE = "Sipfront refused to list the {what}: {reason} (HTTP {code})"
VANISHED_MESSAGE = "Sipfront no longer knows this run (HTTP {code} on its status)"


def unreachable(attempts: int, duration: float, reason: str) -> str:
    """The API gave no usable answer until the retry policy gave up: the same sentence for a
    trigger, a status poll and a listing."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return (
        f"Sipfront API unreachable after {tries} over {format_duration(max(0.0, duration))}: "
        f"{reason}"
    )


def run_contradictory(attempt: Attempt, contradiction: str) -> str:
    """A finished run whose fields contradict each other: it never passes."""
    return (
        f"Sipfront run failed: contradictory result: {contradiction} "
        f"[status: {attempt.status or 'unknown'}]"
    )


def run_timed_out(timeout: float, last_status: str | None, contradiction: str | None = None) -> str:
    text = (
        f"Sipfront run did not finish within {format_duration(timeout)} "
        f"(last status: {last_status or 'unknown'})"
    )
    if contradiction:
        text += f"; contradictory result: {contradiction}"
    return text


def too_many_runs(count: int, limit: int) -> str:
    return f"This session would start {count} Sipfront runs; --sipfront-max-runs allows {limit}"


def not_a_regular_file(path: str) -> str:
    """A file found by a manifest's name that is a FIFO, a device or a socket: not read."""
    return f"{path} skipped: not a regular file (a FIFO or a device), so it is not read"


def input_not_utf8(byte: str) -> str:
    """An action input whose bytes are not UTF-8 text; ``byte`` shows the first bad one."""
    return f"is not UTF-8 text{byte}; pass the value as UTF-8"


def id_too_large(shown: str, largest: int) -> str:
    """A Sipfront id beyond what Sipfront's signed 64-bit ids hold."""
    return f"{shown} is not a Sipfront id (ids are at most {largest})"


SANDBOX_OVERRIDDEN = (
    "sandbox: false wins over --sipfront-sandbox in the checkout's pytest configuration "
    "(addopts) or PYTEST_ADDOPTS: the runs go to Sipfront; set sandbox: true for the sandbox"
)
"""The action's input turned off a sandbox that the pytest configuration turned on."""

REPORT_FILE_NO_READER = (
    "nobody opened it for reading within the deadline (a FIFO without a reader); "
    "the report was skipped"
)
"""Why a report file that is a FIFO nobody opened was not written."""
REPORT_FILE_STOPPED = "the session was stopped while it waited for a reader; the report was skipped"


def report_file_too_slow(seconds: float) -> str:
    """Why a report file (a FIFO, a device) that took its text too slowly was left alone."""
    return f"it did not take the report within {seconds:g} s (nobody reads it); it was skipped"


def report_not_written(setting: str, path: str, error: OSError) -> str:
    return f"sipfront: {setting} {path} was not written: {error.strerror or error}"


def bad_api_url(reason: str) -> str:
    """A refused API URL, naming where it can be set."""
    return f"{reason} (from SIPFRONT_API_URL, --sipfront-url or sipfront_url)"


def heartbeat(name: str, running_s: float, running: int, done: int, queued: int) -> str:
    """The line CI systems see while an item waits (they kill jobs that print nothing)."""
    return (
        f"sipfront: waiting for {name} (running {format_duration(running_s)}) | "
        f"{running} running, {done} done, {queued} queued"
    )


def _times(attempt: Attempt) -> str:
    start = parse_timestamp(attempt.run.get("started_at"))
    stop = parse_timestamp(attempt.run.get("stopped_at"))
    if start is None:
        return ""
    text = start.strftime("%H:%M:%S")
    if stop is not None:
        text += f" -> {stop.strftime('%H:%M:%S')} UTC"
        duration = attempt.duration_s
        if duration is not None:
            text += f" ({format_duration(duration)})"
    else:
        text += " UTC"
    return text


def _what(outcome: RunOutcome, attempt: Attempt | None) -> str:
    run = attempt.run if attempt else {}
    if outcome.kind == "project":
        label = clean_line(run.get("project_name") or outcome.target, 200)
        project_id = run.get("project_id")
        if project_id not in (None, "") and f"id {project_id}" not in label:
            label += f" (id {clean_line(project_id, 40)})"
        parts = [label]
        for key, word in (("total_tests", "tests"), ("tests_started", "started")):
            if run.get(key) not in (None, ""):
                parts.append(f"{word} {clean_line(run[key], 20)}")
        return " | ".join(parts)
    label = clean_line(run.get("test_name") or outcome.target, 200)
    test_id = run.get("test_id")
    if test_id not in (None, "") and f"id {test_id}" not in label:
        label += f" (id {clean_line(test_id, 40)})"
    testcase = clean_line(run.get("testcase_name") or "", 200)
    return f"{label} | {testcase}" if testcase else label


def _status(attempt: Attempt) -> str:
    parts = [attempt.status or "unknown"]
    pool = clean_line(attempt.run.get("agentpool_name") or "", 100)
    if pool:
        parts.append(f"agent pool {pool}")
    times = _times(attempt)
    if times:
        parts.append(times)
    return " | ".join(parts)


NEW_FAILURE = "NEW failure: the run before this session passed"
ALREADY_FAILING = "ALREADY FAILING before this session"
NOT_RED = "not red: --sipfront-fail-on new counts only NEW failures"
"""An already-failing failure under ``--sipfront-fail-on new``: said wherever it is counted."""


def history_case(outcome: RunOutcome) -> str:
    """``NEW failure`` / ``ALREADY FAILING`` words for a failure with history, else ``""``."""
    if outcome.new_failure:
        return NEW_FAILURE
    if outcome.already_failing:
        return ALREADY_FAILING
    return ""


def with_history(outcome: RunOutcome, message: str) -> str:
    """The verdict line, saying which case a failure is when its history is known."""
    case = history_case(outcome)
    if not case or case in message:
        return message
    return f"{message} ({case})"


# Doubts in a status body (read raw, see pytest_sipfront.api.runstatus): each is the
# "<what>" of "contradictory result: <what>". ``shown`` values are already made visible.


def doubt_key_twice(shown_key: str) -> str:
    return f"the key {shown_key} was sent twice"


def doubt_key_lookalike(shown_key: str, field: str) -> str:
    return f"the key {shown_key} looks like {field}"


def doubt_not_a_word(field: str, what: str, shown_value: str) -> str:
    return f"{field} is {what}, not a status word: {shown_value}"


def doubt_word_beside_passed(shown_word: str) -> str:
    return f"status {shown_word} beside status passed"


def doubt_failed_flag(shown_value: str) -> str:
    return f"is_failed={shown_value} with a passed run"


HISTORY_NO_VERDICT = "Sipfront's last run has finished but gives no verdict"
HISTORY_TOO_SLOW = "Sipfront did not answer the history lookup in time"


def history_contradictory(contradiction: str) -> str:
    """The last run's body contradicts itself: unknown history, never ALREADY FAILING."""
    return f"Sipfront's last run is contradictory: {contradiction}"


def history_name_ambiguous(name: str, count: int) -> str:
    """A name that does not pick exactly one Sipfront test (or project) as sent."""
    return (
        f"{count} Sipfront entries are named {clean_line(name, 200)!r} or look like it "
        "(a space, case or invisible character apart): use the id to get its history"
    )


def before_line(previous: PreviousRun) -> str:
    """The ``before`` row: the run at Sipfront before this session."""
    if previous.state == "none":
        return "no earlier run"
    if previous.state == "unknown":
        return f"unknown: {clean_line(previous.reason, 300) or 'no reason given'}"
    link = f" {previous.report_url}" if previous.report_url else ""
    if previous.state == "running":
        return f"still running{link}"
    when = ""
    stop = parse_timestamp(previous.stopped_at)
    if stop is not None:
        when = f" {stop.strftime('%Y-%m-%d %H:%M')} UTC"
        if previous.duration_s is not None:
            when += f" ({format_duration(previous.duration_s)})"
    if previous.state == "passed":
        return f"passed{when}{link}"
    reason = clean_line(previous.reason, 300) or "no reason given"
    rest = f" |{when}{link}" if when or link else ""
    return f"failed: {reason}{rest}"


def detail_block(outcome: RunOutcome) -> str:
    """The indented block shown under every failure and error (and in the ``sipfront`` section)."""
    attempt = outcome.last
    rows: list[tuple[str, str]] = [
        ("project" if outcome.kind == "project" else "test", _what(outcome, attempt))
    ]
    if attempt is not None:
        if attempt.session_id:
            rows.append(("session", attempt.session_id))
        rows.append(("status", _status(attempt)))
        if attempt.report_url:
            rows.append(("report", attempt.report_url))
    if outcome.previous is not None:
        rows.append(("before", before_line(outcome.previous)))
    if outcome.ledger:
        rows.append(("ledger", ledger_case(outcome)))
    if outcome.earlier:
        rows.append(("earlier", outcome.earlier))
    if len(outcome.attempts) > 1:
        for number, earlier in enumerate(outcome.attempts, start=1):
            rows.append(
                (
                    f"attempt {number}",
                    f"{earlier.status or 'unknown'} | {earlier.report_url or '-'}",
                )
            )
    if outcome.manifest:
        # A run started from Python names the line that started it instead of a manifest line.
        label = "manifest" if outcome.manifest.endswith((".yml", ".yaml")) else "source"
        rows.append((label, f"{outcome.manifest}:{outcome.line}"))
    if outcome.media is not None:
        rows.extend(("media", line) for line in outcome.media.lines)
    if outcome.sandbox:
        rows.append(("sandbox", "SANDBOX run: nothing was tested at Sipfront"))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"  {label.ljust(width)}{value}" for label, value in rows)


def full_text(outcome: RunOutcome) -> str:
    """First line and detail block, as pytest and the JUnit file show them."""
    if outcome.verdict is Verdict.PASSED:
        return detail_block(outcome)
    return f"{outcome.message}\n{detail_block(outcome)}"


def dry_run_request(endpoint: str, body_json: str, timeout: float, lookup: str = "") -> str:
    """A dry run's skip reason: the exact request that would be sent, after the history
    ``lookup`` planned before it (when history is on)."""
    before = f"{lookup} for its history, then " if lookup else ""
    duration = format_duration(timeout)
    return f"dry run: would {before}POST {endpoint} {body_json} (timeout {duration})"


def stopped_by_plugin(crash: str, message: str) -> str:
    """An item another plugin stopped while it waited (pytest-timeout, a ``pytest.fail``):
    that plugin's first line, then where the run stands (``message``, the run's own)."""
    first = crash.strip().splitlines()[0] if crash.strip() else "Stopped by another plugin"
    first = first.removeprefix("Failed: ").rstrip(".")
    where = STILL_GOING if message == INTERRUPTED else message[:1].lower() + message[1:]
    return f"{first}; {where}"


# --- the job summary's headings and notes --------------------------------------------------------


def summary_verdict(
    total: int, failed: int, errors: int, passed: int, ran: int, *, interrupted: bool = False
) -> str:
    """The summary's heading: the gate's verdict in one line (``❌ 5 of 50 Sipfront runs
    failed``, ``✅ 12 Sipfront runs passed``, ``⚠️ No Sipfront run was selected``; a stopped
    session's heading says so: ``⛔ 2 of 5 Sipfront runs errored (interrupted)``)."""
    runs = "run" if total == 1 else "runs"
    if failed or errors:
        word = "failed" if not errors else "errored" if not failed else "failed or errored"
        text = f"{failed + errors} of {total} Sipfront {runs} {word}"
        return f"⛔ {text} (interrupted)" if interrupted else f"❌ {text}"
    if interrupted:
        return f"⛔ Interrupted: {passed} of {total} Sipfront {runs} passed before it stopped"
    if not ran:
        return "⚠️ No Sipfront run was selected: the gate tested nothing"
    if passed == total:
        return f"✅ {total} Sipfront {runs} passed"
    return f"✅ No Sipfront run failed ({passed} of {total} passed)"


SUMMARY_SANDBOX = "SANDBOX: simulated, not real Sipfront results"
SUMMARY_CUT = (
    "{left} of {total} rows left out to keep this summary small; the job log, the JUnit "
    "report and the results JSON list every item."
)
GATE_BROKEN_MANIFEST = "⛔ The Sipfront gate could not start: a manifest is broken"
GATE_BROKEN_MANIFEST_TODO = (
    "Nothing was triggered. Fix the line named below; `sipfront validate` checks a manifest "
    "on your machine without sending anything."
)
GATE_CANNOT_START = "⛔ The Sipfront gate could not start"
GATE_CANNOT_START_TODO = (
    "Nothing was sent to Sipfront. Fix the input named above and re-run the job."
)
GATE_NO_KEYS_TODO = (
    "Nothing was sent to Sipfront. Store the API keys as repository secrets (Settings > Secrets "
    "and variables > Actions) and pass them: `public_key: ${{ secrets.SIPFRONT_PUBLIC_KEY }}`, "
    "`secret_key: ${{ secrets.SIPFRONT_SECRET_KEY }}`."
)
GATE_USAGE_ERROR = "pytest refused an option or argument at start-up (exit status 4)"
GATE_USAGE_ERROR_TODO = (
    "Nothing was sent to Sipfront. The job log names the option and what is wrong with it: "
    "fix it in `pytest_args` (or the input it came from) and re-run the job."
)
GATE_FORK_TODO = (
    "This is a pull request from a fork: GitHub gives such workflows no secrets, so the gate "
    "cannot reach Sipfront. Skip the step for forks with "
    "`if: github.event.pull_request.head.repo.full_name == github.repository` and run the gate "
    "where the secrets are: on a `push` to a branch of this repository (a maintainer can push "
    "the change to one). Do not use `pull_request_target` to hand secrets to code from a fork."
)


def timing_line(run_s: float | None, wait_s: float | None) -> str:
    """The run's own duration and pytest's wait, kept apart (pytest-html, allure)."""
    run = format_duration(run_s) if run_s is not None else "unknown"
    line = f"Sipfront run {run} (trigger to finish at Sipfront)"
    if wait_s is not None:
        line += f"; pytest waited {format_duration(wait_s)} for its verdict (the run began ahead)"
    return line


# -- media metrics ---------------------------------------------------------------------------

NO_BASELINE = "no passing baseline yet"


def media_off_with_thresholds(where: str) -> str:
    return (
        f"--sipfront-media off, but {where} sets media thresholds: they cannot be checked "
        "without metrics; use --sipfront-media failed or all, or remove the thresholds"
    )


def _dimension_label(role: str, direction: str) -> str:
    label = ", ".join(part for part in (role, direction) if part)
    return f" ({label})" if label else ""


def media_breach(breach: Breach) -> str:
    """``media threshold breached: rtp_jitter p95 45 ms > 30 (callee, in)``: the measured value,
    how it stands to the limit, the limit."""
    value = format_value(breach.value, breach.unit)
    relation = ">" if breach.value > breach.limit else "<" if breach.value < breach.limit else "="
    limit = format_value(breach.limit)
    if breach.baseline is not None:
        base = format_value(breach.baseline, breach.unit)
        limit += f" (baseline {base} {breach.change:+g}%)"
    where = _dimension_label(breach.role, breach.dir)
    what = f"{breach.measure} {breach.aggregate}"
    return f"media threshold breached: {what} {value} {relation} {limit}{where}"


def media_unchecked(key: str, expression: str, why: str) -> str:
    """A threshold that could not be checked: red, saying why."""
    return f"media threshold not checked: {key}: {expression}: {why}"


def metrics_unreadable(excerpt: str) -> str:
    return f"metrics unreadable: {excerpt}"


def stats_request_failed(reason: str) -> str:
    return f"the stats request failed: {reason}"


def no_series(measure: str, role: str = "", direction: str = "") -> str:
    return f"no series for {measure}{_dimension_label(role, direction)}"


def too_many_series(limit: int) -> str:
    return f"the run lists more series than the {limit} read for one run"


def baseline_note(key: str, why: str) -> str:
    return f"media baseline not compared: {key}: {why}"


def media_series_note(measure: str, role: str, direction: str, why: str) -> str:
    """A series a report wanted (no threshold names it) that could not be read."""
    return f"media {measure}{_dimension_label(role, direction)}: {why}"


def media_summary_line(summary: Summary) -> str:
    """The terminal's ``media`` line of a notable measure."""
    unit = summary.unit
    values = " ".join(
        f"{name} {format_value(getattr(summary, name))}"
        for name in ("min", "median", "p95", "max", "mean")
    )
    where = _dimension_label(summary.role, summary.dir)
    tail = f" [{unit}]" if unit else ""
    skipped = f", {summary.skipped} points skipped" if summary.skipped else ""
    cut = f", only the first {summary.count + summary.skipped} read" if summary.cut else ""
    return f"{summary.measure}{where}: {values}{tail} ({summary.count} points{skipped}{cut})"


def media_left_out(count: int) -> str:
    """The job summary's note when media sections did not fit GitHub's size limit."""
    return (
        f"Media metrics of {count} {'run' if count == 1 else 'runs'} left out to keep this "
        "summary under GitHub's size limit."
    )
