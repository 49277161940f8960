"""Options, their precedence, and the modes that change what is sent (dry run, sandbox).

Precedence (docs/dev/design.md, manifest rules): manifest entry > manifest defaults > command line >
environment > ini > built-in default. What was sent is read from the sandbox's request log.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable

import pytest

from pytest_sipfront.options import SETTINGS, Setting
from pytest_sipfront.sandbox import SandboxServer
from pytest_sipfront.settings import PARSERS, Settings, resolve

GateRunner = Callable[..., pytest.RunResult]
SandboxFactory = Callable[..., SandboxServer]


def dry_run_reasons(result: pytest.RunResult) -> dict[str, str]:
    """``{request target: reason}`` from the ``-rs`` lines of a dry run."""
    found = {}
    for line in result.outlines:
        match = re.search(
            r"dry run: would (?:GET .* for its history, then )?POST (\S+) (\{.*\}) "
            r"\(timeout (\S+)\)$",
            line,
        )
        if match:
            body = json.loads(match.group(2))
            key = str(body.get("test.name", body.get("id")))
            found[key] = line[match.start() :]
    return found


def dry_run_timeouts(result: pytest.RunResult) -> dict[str, str]:
    return {
        key: re.search(r"\(timeout (\S+)\)$", reason).group(1)  # type: ignore[union-attr]
        for key, reason in dry_run_reasons(result).items()
    }


def sent_report_modes(server: SandboxServer) -> dict[str, str | None]:
    return {str(b["test.name"]): b.get("report.mode") for b in server.triggers()}


def status_times(server: SandboxServer) -> dict[str, list[float]]:
    """Per session: when the sandbox saw its status requests."""
    times: dict[str, list[float]] = defaultdict(list)
    for record in server.requests:
        if record.endpoint == "runs.status":
            times[record.path.rstrip("/").split("/")[-2]].append(record.time)
    return times


def status_gaps(server: SandboxServer) -> dict[str, float]:
    """Per session: the median time between its status requests after the first. A busy
    machine only makes gaps longer, so the tests bound them from below; that an interval
    shorter than another won is shown by counting requests, which a busy machine only lowers.
    """
    times = status_times(server)
    return {
        session: statistics.median(b - a for a, b in itertools.pairwise(seen))
        for session, seen in times.items()
        if len(seen) >= 2
    }


def session_of(result: pytest.RunResult, name: str) -> str:
    """The session id in the terminal summary line of entry ``name``."""
    for line in result.outlines:
        match = re.match(rf"\w+ +{re.escape(name)} \S+ \S+/run/details/(\S+)$", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no summary line for {name}")


# ---- precedence ------------------------------------------------------------------------------

PRECEDENCE = """
    defaults:
      timeout: 7m
      report_mode: full
    tests:
      - {name: own, test: t-own, timeout: 3m, report_mode: print}
      - {name: inherits, test: t-inherits}
"""


def test_an_entry_beats_the_manifest_defaults_which_beat_the_command_line(
    run_gate: GateRunner,
) -> None:
    result = run_gate(
        PRECEDENCE,
        "--sipfront-dry-run",
        "-rs",
        "--sipfront-timeout",
        "11m",
        "--sipfront-report-mode",
        "kiosk",
        server=None,
    )
    result.assert_outcomes(skipped=2)
    reasons = dry_run_reasons(result)
    assert dry_run_timeouts(result) == {"t-own": "3m", "t-inherits": "7m"}
    assert '"report.mode": "print"' in reasons["t-own"]
    assert '"report.mode": "full"' in reasons["t-inherits"]


NO_DEFAULTS = "tests:\n  - {name: plain, test: t-plain}\n"


def test_the_command_line_beats_the_ini_file(
    run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_timeout = 9m\nsipfront_report_mode = full\n")
    result = run_gate(
        NO_DEFAULTS,
        "--sipfront-dry-run",
        "-rs",
        "--sipfront-timeout",
        "4m",
        "--sipfront-report-mode",
        "kiosk",
        server=None,
    )
    assert dry_run_timeouts(result) == {"t-plain": "4m"}
    assert '"report.mode": "kiosk"' in dry_run_reasons(result)["t-plain"]


def test_the_ini_file_beats_the_built_in_defaults(
    run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_timeout = 9m\nsipfront_report_mode = full\n")
    result = run_gate(NO_DEFAULTS, "--sipfront-dry-run", "-rs", server=None)
    assert dry_run_timeouts(result) == {"t-plain": "9m"}
    assert '"report.mode": "full"' in dry_run_reasons(result)["t-plain"]


def test_without_any_setting_the_timeout_is_30m_and_no_report_mode_is_sent(
    run_gate: GateRunner,
) -> None:
    result = run_gate(NO_DEFAULTS, "--sipfront-dry-run", "-rs", server=None)
    assert dry_run_timeouts(result) == {"t-plain": "30m"}
    assert "report.mode" not in dry_run_reasons(result)["t-plain"]


def test_the_report_mode_that_wins_is_the_one_sent_to_sipfront(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        """
        defaults:
          report_mode: kiosk
        tests:
          - {name: own, test: t-own, report_mode: full}
          - {name: inherits, test: t-inherits}
        """,
        "--sipfront-report-mode",
        "print",
        server=server,
    )
    result.assert_outcomes(passed=2)
    assert sent_report_modes(server) == {"t-own": "full", "t-inherits": "kiosk"}


def test_the_command_line_report_mode_is_sent_when_the_manifest_sets_none(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_report_mode = full\n")
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(NO_DEFAULTS, "--sipfront-report-mode", "kiosk", server=server)
    result.assert_outcomes(passed=1)
    assert sent_report_modes(server) == {"t-plain": "kiosk"}
    # A kiosk run's report link is the kiosk one.
    assert "/kiosk/" in next(line for line in result.outlines if line.startswith("PASSED "))


def test_poll_interval_follows_the_same_precedence(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    """Entry 0.1s and defaults 0.5s beat the command line's 0.3s (status requests are spaced
    by the interval that won)."""
    server = sipfront_sandbox({"default_duration": 2.0})
    result = run_gate(
        """
        defaults:
          poll_interval: 0.5s
        tests:
          - {name: fast, test: t-fast, poll_interval: 0.1s}
          - {name: slow, test: t-slow}
        """,
        "--sipfront-poll-interval",
        "0.3s",
        server=server,
    )
    result.assert_outcomes(passed=2)
    # Polling every 0.3s (or 0.5s), a 2 s run gets at most ceil(2 / 0.3) + 2 = 9 requests.
    assert len(status_times(server)[session_of(result, "fast")]) > 9
    assert status_gaps(server)[session_of(result, "slow")] >= 0.45


def test_the_command_line_poll_interval_beats_the_ini_file(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_poll_interval = 0.1s\n")
    server = sipfront_sandbox({"default_duration": 1.2})
    result = run_gate(NO_DEFAULTS, "--sipfront-poll-interval", "0.5s", server=server)
    result.assert_outcomes(passed=1)
    assert status_gaps(server)[session_of(result, "plain")] >= 0.45


def test_the_ini_poll_interval_is_used_without_a_command_line_value(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nsipfront_poll_interval = 0.4s\nsipfront_max_rps = 50\n")
    server = sipfront_sandbox({"default_duration": 2.0})
    result = run_gate(NO_DEFAULTS, server=server, fast=False)
    result.assert_outcomes(passed=1)
    # The built-in 3s would look at a 2 s run twice (after 1 s, then after 4 s).
    assert len(status_times(server)[session_of(result, "plain")]) >= 3
    assert status_gaps(server)[session_of(result, "plain")] >= 0.35


def test_an_entry_timeout_beats_the_command_line_in_a_real_run(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"tests": [{"name": "t-hangs", "outcome": "running"}]})
    result = run_gate(
        "tests:\n  - {name: hangs, test: t-hangs, timeout: 0.5s}\n",
        "--sipfront-timeout",
        "1h",
        server=server,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["Sipfront run did not finish within 0.5s (last status: running)"])


# ---- the API URL -------------------------------------------------------------------------------


def test_sipfront_url_on_the_command_line_beats_sipfront_api_url(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    from_env = sipfront_sandbox({"default_duration": 0.2})
    from_cli = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        NO_DEFAULTS,
        "--sipfront-url",
        from_cli.base_url,
        server=from_cli,
        url=False,
        env={"SIPFRONT_API_URL": from_env.base_url},
    )
    result.assert_outcomes(passed=1)
    assert from_cli.count("tests.run") == 1
    assert from_env.requests == []


def test_sipfront_api_url_beats_the_ini_url(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    from_env = sipfront_sandbox({"default_duration": 0.2})
    from_ini = sipfront_sandbox({"default_duration": 0.2})
    pytester.makeini(f"[pytest]\nsipfront_url = {from_ini.base_url}\n")
    result = run_gate(
        NO_DEFAULTS, server=from_env, url=False, env={"SIPFRONT_API_URL": from_env.base_url}
    )
    result.assert_outcomes(passed=1)
    assert from_env.count("tests.run") == 1
    assert from_ini.requests == []


def test_the_ini_url_is_used_when_nothing_else_names_one(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.makeini(f"[pytest]\nsipfront_url = {server.base_url}\n")
    result = run_gate(NO_DEFAULTS, server=server, url=False)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--sipfront-concurrency", "0"),
        ("--sipfront-concurrency", "many"),
        ("--sipfront-timeout", "10x"),
        ("--sipfront-timeout", "0"),
        ("--sipfront-poll-interval", "-1s"),
        ("--sipfront-max-rps", "fast"),
        ("--sipfront-report-mode", "pdf"),
        ("--sipfront-heartbeat", "soon"),
        ("--sipfront-max-runs", "0"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_the_option(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, option: str, value: str
) -> None:
    server = sipfront_sandbox()
    result = run_gate(NO_DEFAULTS, f"{option}={value}", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-sipfront: {option}: '{value}' *"])
    assert "Traceback" not in result.stderr.str()
    assert server.requests == []


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1_000", "is not a whole number"),
        ("+5", "is not a whole number"),
        ("\u0663", "is not a whole number"),
        ("5.0", "is not a whole number"),
        ("-2", "must be at least 1"),
    ],
)
def test_a_whole_number_option_is_read_by_the_manifests_rule_plain_digits(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, value: str, why: str
) -> None:
    """int() would take 1_000, +5 and an Arabic-Indic 3; manifests and options do not."""
    server = sipfront_sandbox()
    result = run_gate(NO_DEFAULTS, f"--sipfront-concurrency={value}", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    option = "--sipfront-concurrency"
    result.stderr.fnmatch_lines([f"ERROR: pytest-sipfront: {option}: {value!r} {why}"])
    assert server.requests == []


@pytest.mark.parametrize(
    ("option", "value", "why"),
    [
        ("--sipfront-max-rps", "1e-300", "is below the smallest allowed rate, 0.01 per second"),
        ("--sipfront-max-rps", "1e6", "is above the largest allowed rate, 1000 per second"),
        ("--sipfront-heartbeat", "1e300", "is longer than the longest allowed heartbeat, 24h"),
        ("--sipfront-heartbeat", "1e11", "is longer than the longest allowed heartbeat, 24h"),
        ("--sipfront-timeout", "25h", "is longer than the longest allowed timeout, 24h"),
        ("--sipfront-timeout", "0.01", "is shorter than the shortest allowed timeout, 0.1s"),
        ("--sipfront-poll-interval", "2h", "is longer than the longest allowed poll interval, 1h"),
        ("--sipfront-poll-interval", "1e-9", "is shorter than the shortest allowed poll interval"),
        (
            "--sipfront-shutdown-grace",
            "2m",
            "is longer than the longest allowed shutdown grace, 1m",
        ),
        ("--sipfront-shutdown-grace", "0s", "is not a duration greater than zero"),
    ],
)
def test_a_duration_or_rate_out_of_bounds_is_a_usage_error_naming_the_bound(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, option: str, value: str, why: str
) -> None:
    server = sipfront_sandbox()
    result = run_gate(NO_DEFAULTS, f"{option}={value}", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-sipfront: {option}: '{value}' {why}*"])
    assert "Traceback" not in result.stderr.str()
    assert server.requests == []


def test_a_bad_ini_value_is_a_usage_error_naming_the_ini_key(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox()
    pytester.makeini("[pytest]\nsipfront_concurrency = lots\n")
    result = run_gate(NO_DEFAULTS, server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-sipfront: ini sipfront_concurrency: 'lots' *"])
    assert server.requests == []


def test_plain_http_to_a_host_other_than_loopback_is_refused_before_anything_is_sent(
    run_gate: GateRunner,
) -> None:
    # 192.0.2.1 is TEST-NET-1: never routed, and never contacted because the URL is refused.
    result = run_gate(NO_DEFAULTS, "--sipfront-url", "http://192.0.2.1/api/v2", server=None)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-sipfront: *must use https://*"])


def test_a_url_with_user_and_password_is_refused_and_the_password_is_not_shown(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox()
    url = server.base_url.replace("http://", "http://apiuser:Pw9SENTINELurl@")
    result = run_gate(NO_DEFAULTS, "--sipfront-url", url, server=server, url=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-sipfront: *must not contain a user name*"])
    assert "Pw9SENTINELurl" not in result.stdout.str() + result.stderr.str()
    assert server.requests == []


def test_a_loopback_http_url_by_name_is_accepted(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    url = server.base_url.replace("127.0.0.1", "localhost")
    result = run_gate(NO_DEFAULTS, "--sipfront-url", url, server=server, url=False)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1


# ---- dry run and sandbox -----------------------------------------------------------------------


def test_a_dry_run_sends_nothing_needs_no_credentials_and_shows_each_exact_request(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox()
    result = run_gate(
        """
        defaults:
          overrides:
            step.0.1.target_pool: 1234
        tests:
          - name: call
            test: basic-call
            overrides:
              step.1.0.dial_destination: "${DEST_NUMBER:-431231234}"
          - name: nightly
            project_id: 7
            test_ids: [11, 12]
        """,
        "--sipfront-dry-run",
        "-rs",
        server=server,
        env={
            "SIPFRONT_PUBLIC_KEY": None,
            "SIPFRONT_SECRET_KEY": None,
            "DEST_NUMBER": "439990000",
        },
    )
    result.assert_outcomes(skipped=2)
    assert result.ret == pytest.ExitCode.OK
    test_body = {
        "step.0.1.target_pool": 1234,
        "step.1.0.dial_destination": "439990000",
        "test.name": "basic-call",
    }
    project_body = {"id": 7, "test_ids": [11, 12]}
    reasons = dry_run_reasons(result)
    # The history lookup is planned before each trigger (a name needs the one GET /tests).
    assert reasons["basic-call"] == (
        "dry run: would GET /tests/<id of basic-call>/status/last (its id from GET /tests) "
        "for its history, then "
        f"POST /tests/run {json.dumps(test_body, sort_keys=True)} (timeout 30m)"
    )
    assert reasons["7"] == (
        "dry run: would GET /projects/7/status/last for its history, then "
        f"POST /projects/run {json.dumps(project_body, sort_keys=True)} "
        "(timeout 30m)"
    )
    assert server.requests == []


def test_a_dry_run_skip_points_at_the_manifest_entry_not_at_the_plugin(
    run_gate: GateRunner,
) -> None:
    result = run_gate(NO_DEFAULTS, "--sipfront-dry-run", "-rs", server=None)
    result.stdout.re_match_lines([r"SKIPPED \[1\] sipfront\.yml:2: dry run: "])
    assert "items.py" not in result.stdout.str()


SANDBOX_CATALOG = "default_duration: 0.2s\n"


def test_the_built_in_sandbox_runs_without_credentials_and_says_sandbox(
    run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makefile(".yml", catalog=SANDBOX_CATALOG)
    result = run_gate(
        NO_DEFAULTS,
        "--sipfront-sandbox-catalog",
        "catalog.yml",
        server=None,
        env={"SIPFRONT_PUBLIC_KEY": None, "SIPFRONT_SECRET_KEY": None},
    )
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"=+ sipfront runs \(SANDBOX.*\) =+$"])
    assert any(
        re.match(r"PASSED +plain \S+ http://127\.0\.0\.1:\d+/run/details/", line)
        for line in result.outlines
    )


def test_the_sandbox_flag_alone_uses_the_built_in_catalog(run_gate: GateRunner) -> None:
    result = run_gate(
        NO_DEFAULTS,
        "--sipfront-sandbox",
        "--sipfront-dry-run",
        "-rs",
        server=None,
        env={"SIPFRONT_PUBLIC_KEY": None, "SIPFRONT_SECRET_KEY": None},
    )
    result.assert_outcomes(skipped=1)


def test_a_sandbox_failure_says_sandbox_in_its_detail_block(
    run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytester.makefile(
        ".yml",
        catalog="tests:\n  - {name: t-plain, duration: 0.2s, outcome: failed}\n",
    )
    result = run_gate(NO_DEFAULTS, "--sipfront-sandbox-catalog", "catalog.yml", server=None)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  sandbox   SANDBOX run: nothing was tested at Sipfront"])


# ---- heartbeat -----------------------------------------------------------------------------------

HEARTBEAT = re.compile(
    r"sipfront: waiting for (\S+) \(running (\S+)\) \| (\d+) running, (\d+) done, (\d+) queued$"
)


def test_a_heartbeat_line_goes_to_stderr_while_an_item_waits_even_with_capture_on(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"default_duration": 1.2})
    result = run_gate(
        """
        tests:
          - {name: long-call, test: t-long}
          - {name: second-call, test: t-second}
        """,
        "--sipfront-heartbeat",
        "0.3s",
        "--sipfront-concurrency",
        "1",
        server=server,
        subprocess=True,
    )
    result.assert_outcomes(passed=2)
    beats = [b for b in (HEARTBEAT.match(line) for line in result.errlines) if b is not None]
    assert len(beats) >= 2, result.stderr.str()
    first = next(b for b in beats if b.group(1) == "long-call")
    assert first.groups()[2:] == ("1", "0", "1")
    assert not any(HEARTBEAT.search(line) for line in result.outlines)


def test_no_heartbeat_is_written_when_runs_finish_before_it_is_due(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(NO_DEFAULTS, "--sipfront-heartbeat", "30s", server=server, subprocess=True)
    result.assert_outcomes(passed=1)
    assert not any(HEARTBEAT.search(line) for line in result.errlines + result.outlines)


def test_report_mode_print_from_the_command_line_is_not_sent_to_projects_and_says_so(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(
        "tests:\n  - {name: call, test: t-call}\n  - {name: nightly, project: p-nightly}\n",
        "--sipfront-report-mode",
        "print",
        server=server,
    )
    result.assert_outcomes(passed=2)
    bodies = {body.get("test.name") or body.get("project.name"): body for body in server.triggers()}
    assert bodies["t-call"]["report.mode"] == "print"
    assert "report.mode" not in bodies["p-nightly"]
    result.stdout.fnmatch_lines(["*nightly: report mode 'print' is for tests only*"])


# ---- the one table of settings --------------------------------------------------------------


def test_the_table_of_settings_reads_without_pytest() -> None:
    """The documentation's options reference is made from it, outside any pytest session."""
    code = (
        "import sys\nsys.modules['pytest'] = None\nsys.modules['_pytest'] = None\n"
        "from pytest_sipfront.options import SETTINGS\n"
        "print(len(SETTINGS), all(s.help and (s.metavar or s.parse == 'flag') for s in SETTINGS))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == [str(len(SETTINGS)), "True"]


def test_every_setting_of_a_session_is_in_the_table_and_every_parser_exists() -> None:
    names = {setting.name for setting in SETTINGS if setting.parse != "patterns"}
    assert names == set(Settings.__dataclass_fields__)
    assert {s.parse for s in SETTINGS} - {"flag", "patterns"} <= set(PARSERS)
    assert len({s.option for s in SETTINGS if s.option}) == len([s for s in SETTINGS if s.option])
    assert len({s.ini for s in SETTINGS if s.ini}) == len([s for s in SETTINGS if s.ini])


def test_the_built_in_defaults_are_the_tables_written_defaults() -> None:
    settings = resolve({}, {}, {})
    assert (settings.timeout, settings.poll_interval, settings.heartbeat) == (1800.0, 3.0, 60.0)
    assert (settings.concurrency, settings.max_runs, settings.max_rps) == (5, 100, 5.0)
    assert (settings.history, settings.fail_on, settings.report_mode) == (True, "any", None)
    assert settings.api_url == "https://app.sipfront.com/api/v2"
    assert (settings.sandbox, settings.dry_run, settings.sandbox_catalog) == (False, False, None)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.option], ids=lambda s: s.name)
def test_help_shows_every_option_with_its_metavar_and_default(
    pytester: pytest.Pytester, setting: Setting
) -> None:
    text = re.sub(r"\s+", " ", pytester.runpytest("--help").stdout.str())
    shown = setting.option if setting.metavar is None else f"{setting.option}={setting.metavar}"
    assert f" {shown} " in text
    if isinstance(setting.default, str):
        assert f"default {setting.default})" in text
    if setting.env:
        assert f"env {setting.env}" in text


def test_the_environment_beats_the_ini_file_and_the_command_line_beats_both() -> None:
    ini = {"api_url": "https://ini.example/api"}
    env = {"SIPFRONT_API_URL": "https://env.example/api"}
    cli = {"api_url": "https://cli.example/api"}
    assert resolve({}, ini, {}).api_url == "https://ini.example/api"
    assert resolve({}, ini, env).api_url == "https://env.example/api"
    assert resolve(cli, ini, env).api_url == "https://cli.example/api"
