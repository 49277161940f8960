"""The CI entrypoint: ``python -m pytest_sipfront.action [MANIFEST ...]``.

Used by ``action.yml`` (GitHub), as the Docker image's ``ENTRYPOINT`` and directly in GitLab or
Jenkins. It reads the inputs from ``INPUT_*`` variables (see :mod:`pytest_sipfront.ci.inputs`),
runs pytest in this process on the manifest (or on a one-entry manifest written for the
single-run form of Sipfront's own action), and, on GitHub, writes the step's outputs to
``$GITHUB_OUTPUT``. The exit status is pytest's, except that a session that selected no run is
red (1) unless ``allow_empty`` is true, and an invalid input gives 2 before any request.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, TextIO

import pytest

from pytest_sipfront.ci.inputs import (
    ActionInputs,
    InputError,
    MissingKeys,
    SingleRun,
    env_name,
    parse_inputs,
)
from pytest_sipfront.reports.classify import classify, classify_still_running, unreported
from pytest_sipfront.reports.counts import session_counts, still_going
from pytest_sipfront.reports.github import append_summary, cannot_start_summary, escape_data
from pytest_sipfront.reports.outfile import write_text
from pytest_sipfront.reports.terminal import counts_line
from pytest_sipfront.runs.messages import (
    DETACHED,
    GATE_CANNOT_START_TODO,
    GATE_FORK_TODO,
    GATE_NO_KEYS_TODO,
    GATE_USAGE_ERROR,
    GATE_USAGE_ERROR_TODO,
    NOTHING_TESTED,
    REATTACHED,
    REUSED,
    SANDBOX_OVERRIDDEN,
)
from pytest_sipfront.runs.outcome import ItemRecord, RunOutcome, SessionInfo
from pytest_sipfront.sanitize import (
    REDACTOR,
    Redactor,
    clean_json,
    clean_line,
    clean_text,
    secret_forms,
)
from pytest_sipfront.session.keys import RECORDS_KEY
from pytest_sipfront.settings import PUBLIC_KEY_VAR, SECRET_KEY_VAR

COUNT_OUTPUTS = (
    "total",
    "passed",
    "failed",
    "errors",
    "skipped",
    "xfailed",
    "xpassed",
    "flaky",
    "junit_report",
    "results_json",
    "report_urls",
    "new_failures",
    "reattached",
    "reused",
    "triggered",
    "media_breaches",
)
RUN_OUTPUTS = (
    "status",
    "report_url",
    "session_id",
    "result_description",
    "test_id",
    "test_name",
    "project_id",
    "project_name",
    "testcase_name",
    "agentpool_name",
    "started_at",
    "stopped_at",
    "tags",
)
PROJECT_OUTPUTS = ("project_run_id", "project_run_uuid", "total_tests", "tests_started")
OUTPUT_NAMES = COUNT_OUTPUTS + RUN_OUTPUTS + PROJECT_OUTPUTS
"""Every output the entrypoint writes (all of them, every time; empty when not applicable)."""

REPORT_URLS_LIMIT = 64 * 1024
DESCRIPTION_LIMIT = 4 * 1024
VALUE_LIMIT = 2048

EXIT_INPUT_ERROR = 2
EXIT_NO_RUN = 1
_TITLE = "pytest-sipfront"
_ALREADY_IMPORTED = (
    # This process imported the package before pytest could mark it for assertion rewriting;
    # the package has no asserts to rewrite, so the warning would only be noise in every job.
    "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning"
)


# --- talking to people -------------------------------------------------------------------------


class Console:
    """Messages of the entrypoint itself: workflow commands on GitHub, plain lines elsewhere.

    Every message passes through :meth:`redact`, the process's one redactor (the one every API
    client adds its keys to, ``[redacted]``), so a credential never reaches the log."""

    def __init__(
        self,
        github: bool,
        secrets: Sequence[str],
        stream: TextIO | None = None,
        redactor: Redactor = REDACTOR,
    ) -> None:
        self.github = github
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        """Masked on GitHub (``::add-mask::``) whatever their length."""
        self.stream = stream
        self.redactor = redactor
        for secret in self.secrets:  # each key in every form an API client redacts it in
            self.redactor.add(secret_forms(secret, ""))

    def _out(self, error: bool = False) -> TextIO:
        if self.stream is not None:
            return self.stream
        return sys.stdout if self.github or not error else sys.stderr

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def mask_secrets(self) -> None:
        """``::add-mask::`` every credential (each line of it too), before anything else."""
        if not self.github:
            return
        out = self._out()
        for secret in self.secrets:
            parts = {secret, *(line.strip() for line in secret.splitlines())}
            for part in sorted(p for p in parts if p):
                out.write(f"::add-mask::{escape_data(part)}\n")
        out.flush()

    def _say(self, kind: str, text: str) -> None:
        line = clean_line(self.redact(text), 4000)
        out = self._out(error=True)
        if self.github:
            out.write(f"::{kind} title={_TITLE}::{escape_data(line)}\n")
        else:
            out.write(f"{_TITLE}: {kind}: {line}\n")
        out.flush()

    def error(self, text: str) -> None:
        self._say("error", text)

    def warning(self, text: str) -> None:
        self._say("warning", text)

    def info(self, text: str) -> None:
        out = self._out()
        out.write(clean_line(self.redact(text), 4000) + "\n")
        out.flush()


def _secrets(environ: Mapping[str, str]) -> list[str]:
    names = (env_name("public_key"), env_name("secret_key"), PUBLIC_KEY_VAR, SECRET_KEY_VAR)
    return [environ[name].strip() for name in names if environ.get(name, "").strip()]


def _redact_pairs(environ: Mapping[str, str], redactor: Redactor) -> None:
    """Every form of each key pair the environment holds (the inputs' and Sipfront's names)."""
    for public, secret in (
        (env_name("public_key"), env_name("secret_key")),
        (PUBLIC_KEY_VAR, SECRET_KEY_VAR),
    ):
        redactor.add_credentials(environ.get(public, "").strip(), environ.get(secret, "").strip())


# --- the single-run form -----------------------------------------------------------------------


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")[:80].strip("-_.")
    return slug if slug and slug[0].isalnum() else fallback


def _literal(text: str) -> str:
    """A manifest string that means exactly ``text``: ``$`` written as ``$$``."""
    return text.replace("$", "$$")


def single_run_manifest(run: SingleRun) -> tuple[str, dict[str, Any]]:
    """The entry name and the manifest (a JSON document, which is YAML) for one test or project."""
    entry: dict[str, Any]
    if run.kind == "test":
        name = _slug(run.test_name or "", "sipfront-test")
        entry = {"name": name, "test": _literal(run.test_name or "")}
        if run.destination is not None:
            entry["overrides"] = {"step.1.0.dial_destination": _literal(run.destination)}
    else:
        if run.project_id is not None:
            name = f"project-{run.project_id}"
            entry = {"name": name, "project_id": run.project_id}
        else:
            name = _slug(run.project_name or "", "sipfront-project")
            entry = {"name": name, "project": _literal(run.project_name or "")}
        if run.test_ids:
            entry["test_ids"] = list(run.test_ids)
    return name, {"version": 1, "tests": [entry]}


def _write_single_run(run: SingleRun, directory: str) -> str:
    name, manifest = single_run_manifest(run)
    path = os.path.join(directory, f"{name}.sipfront.yml")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(manifest, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    # An ini file of our own: the single-run form ignores the checkout's pytest configuration.
    with open(os.path.join(directory, "pytest.ini"), "w", encoding="utf-8") as stream:
        stream.write("[pytest]\n")
    return path


# --- running pytest ----------------------------------------------------------------------------


def pytest_arguments(inputs: ActionInputs, paths: Sequence[str], rootdir: str) -> list[str]:
    """The command line handed to ``pytest.main``."""
    args = ["-p", "no:cacheprovider", f"--rootdir={rootdir}", "-W", _ALREADY_IMPORTED]
    if inputs.single is not None:
        args.append(f"--config-file={os.path.join(rootdir, 'pytest.ini')}")
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "pytest_sipfront.plugin"]
    args.append(f"--sipfront-junit={inputs.junit_report}")
    args.append(f"--sipfront-json={inputs.results_json}")
    options: list[tuple[str, object]] = [
        ("--sipfront-concurrency", inputs.concurrency),
        ("--sipfront-timeout", inputs.timeout),
        ("--sipfront-poll-interval", inputs.poll_interval),
        ("--sipfront-report-mode", inputs.report_mode),
        ("--sipfront-max-runs", inputs.max_runs),
        ("--sipfront-ledger", inputs.ledger),
        ("--sipfront-reuse", inputs.reuse),
        ("--sipfront-media", inputs.media),
    ]
    if inputs.detach:
        args.append("--sipfront-detach")
    if inputs.sandbox:
        args.append("--sipfront-sandbox")
    elif inputs.api_url:
        options.append(("--sipfront-url", inputs.api_url))
    args += [f"{option}={value}" for option, value in options if value is not None]
    if inputs.markers:
        args += ["-m", inputs.markers]
    if inputs.keyword:
        args += ["-k", inputs.keyword]
    args += inputs.pytest_args
    args += ["--", *paths]
    return args


_SANDBOX_OPTIONS = ("--sipfront-sandbox", "--sipfront-sandbox-catalog")


class Collector:
    """A pytest plugin that keeps the gate's records once the session has finished, and makes
    the action's inputs win over the checkout's pytest configuration on where runs go."""

    def __init__(self, inputs: ActionInputs | None = None, console: Console | None = None) -> None:
        self.inputs = inputs
        self.console = console
        self.records: list[ItemRecord] = []
        self.unreported: list[RunOutcome] = []
        self.info: SessionInfo | None = None
        self.sandbox = False
        self.finished = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        """Before the plugin reads its settings: ``sandbox: false`` (and ``api_url``) win over
        ``addopts`` in the checkout's ini file and over ``PYTEST_ADDOPTS``. Only the action's
        own ``sandbox`` and ``pytest_args`` inputs turn the sandbox on."""
        inputs = self.inputs
        if inputs is None:
            return
        option = config.option
        wanted = inputs.sandbox or any(
            arg.split("=", 1)[0] in _SANDBOX_OPTIONS for arg in inputs.pytest_args
        )
        if not wanted and (
            getattr(option, "sipfront_sandbox", False)
            or getattr(option, "sipfront_sandbox_catalog", None)
        ):
            option.sipfront_sandbox = False
            option.sipfront_sandbox_catalog = None
            if self.console is not None:
                self.console.warning(SANDBOX_OVERRIDDEN)
        if inputs.api_url and not inputs.sandbox:
            option.sipfront_api_url = inputs.api_url

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After the plugin's own sessionfinish, which lists the runs still going."""
        records = session.config.stash.get(RECORDS_KEY, None)
        if records is None:
            return
        self.records = list(records.by_nodeid.values())
        info = records.info()
        self.info = info
        self.unreported = unreported(self.records, info)
        self.sandbox = info.sandbox
        self.finished = True


def run_pytest(args: Sequence[str], collector: Collector) -> int:
    return int(pytest.main(list(args), plugins=[collector]))


# --- outputs -----------------------------------------------------------------------------------


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def _field(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, dict)):
        return _cut_bytes(json.dumps(clean_json(value, 500), ensure_ascii=False), VALUE_LIMIT)
    return clean_line(value, VALUE_LIMIT)


def _tags(value: object) -> str:
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            return clean_line(text, VALUE_LIMIT)
        return _field(parsed) if isinstance(parsed, list) else clean_line(text, VALUE_LIMIT)
    return _field(value)


def _run_outputs(
    record: ItemRecord | None, run: RunOutcome | None, single: SingleRun | None
) -> dict[str, str]:
    """The official action's outputs for the session's one run (record or unreported run)."""
    attempt = run.last if run is not None else None
    data: dict[str, Any] = attempt.run if attempt is not None else {}
    trigger: dict[str, Any] = attempt.trigger if attempt is not None else {}
    if attempt is not None and attempt.finished and attempt.status:
        status = attempt.status
    elif run is not None:
        status = run.verdict.value
    else:
        status = record.outcome.value if record is not None else ""
    values: dict[str, str] = {
        "status": clean_line(status, 200),
        "report_url": clean_line(attempt.report_url or "", VALUE_LIMIT) if attempt else "",
        "session_id": clean_line(attempt.session_id or "", 200) if attempt else "",
        "result_description": _cut_bytes(
            clean_text(data.get("result_description") or "", DESCRIPTION_LIMIT), DESCRIPTION_LIMIT
        ),
        "tags": _tags(data.get("tags")),
    }
    for name in RUN_OUTPUTS + PROJECT_OUTPUTS:
        if name not in values:
            source = trigger if name in ("project_run_id", "project_run_uuid") else data
            value = source.get(name)
            if value in (None, "") and name.startswith("project_run"):
                value = data.get(name)
            if value in (None, "") and name == "started_at":
                value = data.get("created_at")  # a project run says when it was created
            values[name] = _field(value)
    if single is not None:
        fallbacks = {
            "test_name": single.test_name,
            "project_id": single.project_id,
            "project_name": single.project_name,
        }
        for name, value in fallbacks.items():
            if not values[name] and value is not None:
                values[name] = _field(value)
    return values


def _report_urls(entries: list[dict[str, str]]) -> tuple[str, int]:
    """A JSON array of ``{name, manifest, outcome, report_url}``, cut to fit; and how many fit."""
    kept: list[dict[str, str]] = []
    size = 2
    for entry in entries:
        piece = len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + 2
        if size + piece > REPORT_URLS_LIMIT:
            break
        kept.append(entry)
        size += piece
    return json.dumps(kept, ensure_ascii=False), len(kept)


class PaidOnce:
    """The ledger's counts: runs re-attached to, reused, and triggered (paid) this session."""

    def __init__(self) -> None:
        self.reattached = self.reused = self.triggered = self.detached = 0

    def count(self, run: RunOutcome | None) -> None:
        if run is None:
            return
        if run.ledger == DETACHED:
            self.detached += 1  # skipped, but its run was triggered and goes on at Sipfront
        earlier = 0
        if run.ledger == REATTACHED:
            self.reattached += 1
            earlier = 1
        elif run.ledger == REUSED:
            self.reused += 1
            earlier = 1
        self.triggered += max(0, len(run.attempts) - earlier)


class Tally:
    """The session's outputs: its counts are :func:`~pytest_sipfront.reports.counts.session_counts`,
    the one count the terminal, the JUnit file and the GitHub summary show too."""

    def __init__(
        self,
        collector: Collector,
        single: SingleRun | None,
        junit_report: str,
        results_json: str = "",
    ) -> None:
        info = collector.info or SessionInfo(api_url="", sandbox=collector.sandbox, rootdir="")
        self.counts = session_counts(collector.records, info)
        self.new_failures = self.media_breaches = 0
        paid = PaidOnce()
        urls: list[dict[str, str]] = []
        for record in collector.records:
            paid.count(record.run)
            if record.run is not None and record.run.new_failure:
                self.new_failures += 1  # failures after a passing earlier run (history on)
            if record.run is not None and record.run.media is not None:
                self.media_breaches += len(record.run.media.breaches)
            result = classify(record)
            self._url(urls, record.name, record.manifest, result.label, record.report_url)
        for run in collector.unreported:
            paid.count(run)
            result = classify_still_running(run)
            label = "running" if still_going(run) else result.label
            self._url(urls, run.name, run.manifest, label, run.report_url)
        self.detached = paid.detached
        self.report_urls, self.urls_kept = _report_urls(urls)
        self.urls_total = len(urls)
        self.sandbox = collector.sandbox
        self.finished = collector.finished
        self.junit_report = junit_report if os.path.isfile(junit_report) else ""
        self.results_json = results_json if results_json and os.path.isfile(results_json) else ""
        self.outputs: dict[str, str] = dict.fromkeys(OUTPUT_NAMES, "")
        counts = self.counts
        self.outputs.update(
            total=str(counts.total),
            passed=str(counts.passed),
            failed=str(counts.failed),
            errors=str(counts.errors),
            skipped=str(counts.skipped),
            xfailed=str(counts.xfailed),
            xpassed=str(counts.xpassed),
            flaky=str(counts.flaky),
            junit_report=clean_line(self.junit_report, VALUE_LIMIT),
            results_json=clean_line(self.results_json, VALUE_LIMIT),
            report_urls=self.report_urls,
            new_failures=str(self.new_failures),
            reattached=str(paid.reattached),
            reused=str(paid.reused),
            triggered=str(paid.triggered),
            media_breaches=str(self.media_breaches),
        )
        if len(collector.records) + len(collector.unreported) == 1:
            if collector.records:
                record = collector.records[0]
                self.outputs.update(_run_outputs(record, record.run, single))
            else:
                self.outputs.update(_run_outputs(None, collector.unreported[0], single))

    @staticmethod
    def _url(
        urls: list[dict[str, str]], name: str, manifest: str, outcome: str, url: str | None
    ) -> None:
        if url:
            urls.append(
                {
                    "name": clean_line(name, 500),
                    "manifest": clean_line(manifest, 500),
                    "outcome": outcome,
                    "report_url": clean_line(url, VALUE_LIMIT),
                }
            )

    @property
    def ran(self) -> int:
        """Items that were not skipped: runs asked of Sipfront (or problems on the way); a
        detached item's run was asked for too."""
        return self.counts.ran + self.detached

    def line(self) -> str:
        sandbox = f" ({NOTHING_TESTED})" if self.sandbox else ""
        return f"{_TITLE}: {counts_line(self.counts)}{sandbox}"


def write_outputs(path: str, outputs: Mapping[str, str]) -> None:
    """Append every output to ``$GITHUB_OUTPUT`` as ``name<<DELIMITER`` blocks (multi-line
    safe), in one write with a deadline: a FIFO nobody reads raises ``OSError``, never hangs."""
    blocks: list[str] = []
    for name, value in outputs.items():
        delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
        blocks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    write_text(path, "".join(blocks), append=True)


# --- the entrypoint ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_sipfront.action",
        description=(
            "Run Sipfront tests as a CI gate. Inputs come from INPUT_* variables as GitHub sets "
            "them (INPUT_MANIFEST, INPUT_TIMEOUT, ...); credentials from INPUT_PUBLIC_KEY / "
            "INPUT_SECRET_KEY or SIPFRONT_PUBLIC_KEY / SIPFRONT_SECRET_KEY. Exit status: 0 all "
            "passed; 1 a run failed or errored, or no run was selected; 2 an input is invalid "
            "(nothing sent) or the session was interrupted or a manifest is broken; 3 internal "
            "error; 4 bad pytest_args or option value."
        ),
    )
    parser.add_argument(
        "manifests",
        nargs="*",
        metavar="MANIFEST",
        help="manifest paths (instead of INPUT_MANIFEST)",
    )
    return parser


def _export_credentials(inputs: ActionInputs, environ: MutableMapping[str, str]) -> None:
    """The plugin reads credentials from the environment only; the inputs' copies go away."""
    if inputs.public_key and inputs.secret_key:
        environ[PUBLIC_KEY_VAR] = inputs.public_key
        environ[SECRET_KEY_VAR] = inputs.secret_key
    for name in ("public_key", "secret_key"):
        environ.pop(env_name(name), None)


def _tolerant_streams() -> None:
    """A console that cannot show a character (Windows code pages) must not end the gate."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def _enter_workspace(environ: Mapping[str, str], console: Console) -> bool:
    """Paths in the inputs, the JUnit file and the item names are relative to the workspace."""
    workspace = environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return True
    try:
        os.chdir(workspace)
    except OSError as error:
        console.error(
            f"GITHUB_WORKSPACE: {clean_line(workspace, 300)!r} cannot be used as the "
            f"workspace ({error.strerror or error}); check the job's checkout"
        )
        return False
    return True


_FORK_EVENTS = ("pull_request", "pull_request_review", "pull_request_review_comment")


def fork_pull_request(environ: Mapping[str, str]) -> bool:
    """The job runs for a pull request from a fork (GitHub gives such workflows no secrets)."""
    # (pull_request_target runs with the base repository's secrets: not this case.)
    if environ.get("GITHUB_EVENT_NAME") not in _FORK_EVENTS:
        return False
    try:
        with open(environ.get("GITHUB_EVENT_PATH", ""), encoding="utf-8") as stream:
            event = json.load(stream)
        pull = event["pull_request"]
        return bool(pull["head"]["repo"]["full_name"] != pull["base"]["repo"]["full_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _cannot_start(error: InputError, environ: Mapping[str, str], console: Console) -> None:
    """The job summary of a gate that could not start: what is wrong and what to do."""
    if isinstance(error, MissingKeys):
        todo = [GATE_NO_KEYS_TODO]
        if fork_pull_request(environ):
            todo.insert(0, GATE_FORK_TODO)
    else:
        todo = [GATE_CANNOT_START_TODO]
    problem = console.redact(str(error))
    append_summary(environ, sys.stdout, lambda _limit: cannot_start_summary(problem, todo))


def _run_session(inputs: ActionInputs, console: Console) -> tuple[int, Collector]:
    """pytest's exit status for the manifests (or the one-run manifest), and what it recorded."""
    collector = Collector(inputs, console)
    with tempfile.TemporaryDirectory(prefix="sipfront-action-") as directory:
        if inputs.single is not None:
            paths = [_write_single_run(inputs.single, directory)]
            rootdir = directory
        else:
            paths = list(inputs.manifests)
            rootdir = os.getcwd()  # the workspace, when GITHUB_WORKSPACE is set
        code = run_pytest(pytest_arguments(inputs, paths, rootdir), collector)
    return code, collector


def _report(code: int, tally: Tally, inputs: ActionInputs, console: Console) -> int:
    """Say what the session did; the exit status, red when it selected no run."""
    if tally.urls_kept < tally.urls_total:
        console.warning(
            f"report_urls holds {tally.urls_kept} of {tally.urls_total} report links "
            f"(the output is kept under {REPORT_URLS_LIMIT // 1024} KiB); the JUnit file has all"
        )
    if tally.finished:
        console.info(tally.line())
    if code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and tally.ran == 0:
        if inputs.allow_empty:
            return 0
        console.error(
            "No Sipfront run was selected (no manifest entry matched, every entry is "
            "skipped, or it was a dry run): the gate tested nothing. Check manifest, markers "
            "and keyword, or set allow_empty: true if that is expected"
        )
        return EXIT_NO_RUN
    return code


def main(argv: Sequence[str] | None = None) -> int:
    environ = os.environ
    _tolerant_streams()
    github = environ.get("GITHUB_ACTIONS") == "true"
    console = Console(github, _secrets(environ))
    console.mask_secrets()
    # An echo of a key in anything Sipfront sends is redacted: the keys go into the one
    # redactor (the console's) and stay there whatever client is made later.
    _redact_pairs(environ, console.redactor)
    args = _parser().parse_args(argv)
    if not _enter_workspace(environ, console):
        return EXIT_INPUT_ERROR
    try:
        inputs = parse_inputs(environ, args.manifests)
    except InputError as error:
        console.error(str(error))
        if github:
            _cannot_start(error, environ, console)
        return EXIT_INPUT_ERROR
    console.redactor.add_credentials(inputs.public_key or "", inputs.secret_key or "")
    for text in inputs.warnings:
        console.warning(text)
    _export_credentials(inputs, environ)
    code, collector = _run_session(inputs, console)
    tally = Tally(collector, inputs.single, inputs.junit_report, inputs.results_json)
    sys.stdout.flush()
    if github and code == pytest.ExitCode.USAGE_ERROR and not collector.finished:
        # pytest stopped at start-up (a bad option in pytest_args): no report was written.
        todo = [GATE_USAGE_ERROR_TODO]
        append_summary(
            environ, sys.stdout, lambda _limit: cannot_start_summary(GATE_USAGE_ERROR, todo)
        )
    code = _report(code, tally, inputs, console)
    output_path = environ.get("GITHUB_OUTPUT")
    if output_path:
        try:
            write_outputs(output_path, tally.outputs)
        except OSError as error:
            console.warning(f"Could not write the step outputs ({error.strerror or error})")
    return code


if __name__ == "__main__":
    sys.exit(main())
