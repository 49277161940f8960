"""Credentials stay secret and go to the API's origin only (docs/dev/design.md, Security).

- A session with passes, failures and several kinds of API trouble, run as a real process with
  debug logging, JUnit files and the GitHub reports on, never shows either key, nor the Basic
  auth token made of them; the action's entrypoint neither (its ``::add-mask::`` lines aside,
  which GitHub consumes to hide the values and never shows).
- A plain-http API URL to a host that is not loopback, and a URL with a user name or password,
  are refused before any request, naming the rule and not repeating the password.
- A ``status_url`` on another origin is never contacted; the run is followed on the API's own
  origin. (The sandbox speaks plain http on loopback, so the upgrade of an ``http://``
  status_url on the API's own https host is checked on :func:`resolve_status_url` directly.)
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from processes import clean_environ, github_environ, pytest_command

from pytest_sipfront.api.client import ApiError, SipfrontClient
from pytest_sipfront.api.urls import resolve_status_url
from pytest_sipfront.runs.outcome import Verdict
from pytest_sipfront.sandbox import SandboxServer

PUBLIC_KEY = "PK-7f3a91-distinct"
SECRET_KEY = "SK-c0ffee-distinct"
BASIC_TOKEN = base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
SECRETS = (PUBLIC_KEY, SECRET_KEY, BASIC_TOKEN)

# Error text a hostile or broken API might send: a workflow command, ANSI, a table breaker.
HOSTILE = "quota exceeded\n::error file=x::injected %0A \x1b[31mred\x1b[0m | col"

CATALOG: dict[str, Any] = {
    "tests": [
        {"name": "ok-call", "duration": "0.3s"},
        {
            "name": "bad-call",
            "duration": "0.3s",
            "outcome": "failed",
            "result_description": "no audio | from B\n::warning::fake",
        },
        {"name": "flaky-api", "duration": "0.3s"},
        {"name": "lost-trigger", "duration": "0.3s"},
        {"name": "gone-run", "duration": "0.3s"},
        {"name": "refused-call", "duration": "0.3s"},
        {"name": "stuck-call", "duration": "0.3s", "outcome": "running"},
    ],
    "faults": [
        {"endpoint": "runs.status", "status": 503, "times": 2, "test": "flaky-api"},
        {"endpoint": "tests.run", "status": 500, "test": "lost-trigger"},
        {"endpoint": "runs.status", "status": 404, "times": 2, "test": "gone-run"},
        {"endpoint": "tests.run", "status": 422, "error": HOSTILE, "test": "refused-call"},
    ],
}

MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 3s
tests:
  - name: ok
    test: ok-call
  - name: bad
    test: bad-call
  - name: flaky-api
    test: flaky-api
  - name: lost-trigger
    test: lost-trigger
  - name: gone
    test: gone-run
  - name: refused
    test: refused-call
  - name: stuck
    test: stuck-call
"""

AUTH_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 3s
tests:
  - name: ok
    test: ok-call
  - name: refused-keys
    test: flaky-api
"""


def assert_secret_free(name: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a credential appears in {name}"


@pytest.fixture
def sandbox(
    sipfront_sandbox: Callable[..., SandboxServer],
) -> Callable[[dict[str, Any]], SandboxServer]:
    """The conftest's sandbox, with this file's distinctive key pair."""

    def start(catalog: dict[str, Any]) -> SandboxServer:
        return sipfront_sandbox(catalog, public_key=PUBLIC_KEY, secret_key=SECRET_KEY)

    return start


def run_session(
    path: Path, server: SandboxServer, manifest: str
) -> subprocess.CompletedProcess[str]:
    (path / "sipfront.yml").write_text(manifest, encoding="utf-8")
    command = pytest_command(
        server,
        "-v",
        "-rA",
        "--log-cli-level=DEBUG",
        "--log-level=DEBUG",
        "--sipfront-junit",
        "sipfront-junit.xml",
        "--sipfront-json",
        "sipfront-results.json",
        "--junitxml",
        "pytest-junit.xml",
    )
    env = github_environ(path, SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY)
    return subprocess.run(
        command, cwd=path, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def scan_everything(path: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert_secret_free("stdout", result.stdout)
    assert_secret_free("stderr", result.stderr)
    for name in (
        "sipfront-junit.xml",
        "pytest-junit.xml",
        "step_summary.md",
        "sipfront-results.json",
    ):
        assert (path / name).exists(), f"{name} was not written"
        assert_secret_free(name, (path / name).read_text(encoding="utf-8"))
    output = path / "github_output.txt"
    if output.exists():
        assert_secret_free("GITHUB_OUTPUT", output.read_text(encoding="utf-8"))


def test_no_credential_appears_anywhere_in_a_session_with_failures_and_api_trouble(
    sandbox: Callable[[dict[str, Any]], SandboxServer], tmp_path: Path
) -> None:
    server = sandbox(CATALOG)
    result = run_session(tmp_path, server, MANIFEST)
    assert result.returncode == 1, result.stdout + result.stderr
    # Every kind of trouble really happened, so its message was rendered and scanned.
    for text in (
        "Sipfront run failed",
        "The trigger request failed after it was sent",
        "Sipfront no longer knows this run",
        "Sipfront refused to start the run",
        "Sipfront run did not finish within 3s",
    ):
        assert text in result.stdout
    assert server.count("runs.status") > 0
    scan_everything(tmp_path, result)

    # Text from Sipfront cannot start a workflow command of its own, nor colour the log.
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 5, commands  # bad, lost-trigger, gone, refused, stuck
    assert all(line.startswith("::error file=sipfront.yml,") for line in commands), commands
    assert "\x1b[31m" not in result.stdout
    summary = (tmp_path / "step_summary.md").read_text(encoding="utf-8")
    assert not any(line.lstrip().startswith("::") for line in summary.splitlines())
    tables = [block.splitlines() for block in summary.split("\n\n") if block.startswith("| ")]
    assert tables and tables[0][0].startswith("| result | name | reason |"), summary
    for table in tables:  # no cell broke out of its table (items, or a run's media metrics)
        width = table[0].count(" | ")
        assert all(line.count(" | ") == width for line in table if line.startswith("| ")), table
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == 9 for line in rows if line.startswith("| rtp_")), rows


def test_no_credential_appears_when_sipfront_rejects_them(
    sandbox: Callable[[dict[str, Any]], SandboxServer], tmp_path: Path
) -> None:
    server = sandbox(
        {
            "tests": CATALOG["tests"],
            "faults": [{"endpoint": "runs.status", "status": 401, "test": "flaky-api"}],
        }
    )
    result = run_session(tmp_path, server, AUTH_MANIFEST)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Sipfront rejected the API credentials (HTTP 401)" in result.stdout
    scan_everything(tmp_path, result)


def test_the_action_entrypoint_shows_no_credential_but_in_its_add_mask_lines(
    sandbox: Callable[[dict[str, Any]], SandboxServer], tmp_path: Path
) -> None:
    action = pytest.importorskip("pytest_sipfront.action")
    if not callable(getattr(action, "main", None)):
        pytest.skip("pytest_sipfront.action has no main() yet")
    server = sandbox(CATALOG)
    (tmp_path / "sipfront.yml").write_text(MANIFEST, encoding="utf-8")
    env = github_environ(
        tmp_path,
        INPUT_MANIFEST="sipfront.yml",
        INPUT_API_URL=server.base_url,
        INPUT_PUBLIC_KEY=PUBLIC_KEY,
        INPUT_SECRET_KEY=SECRET_KEY,
        INPUT_POLL_INTERVAL="0.2s",
        INPUT_PYTEST_ARGS="-p no:hypothesispytest -rA --sipfront-max-rps=100",
        INPUT_JUNIT_REPORT="sipfront-junit.xml",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront.action"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 2 and "::error title=pytest-sipfront::" in result.stdout:
        pytest.skip(f"the action refused its inputs: {result.stdout.strip()[-300:]}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert server.count("tests.run") > 0
    lines = result.stdout.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert {line.removeprefix("::add-mask::") for line in masks} >= {PUBLIC_KEY, SECRET_KEY}
    assert lines[: len(masks)] == masks, "a credential must be masked before anything is shown"
    assert_secret_free("stdout", "\n".join(lines[len(masks) :]))
    assert_secret_free("stderr", result.stderr)
    for name in (
        "sipfront-junit.xml",
        "step_summary.md",
        "github_output.txt",
        "sipfront-results.json",
    ):
        assert (tmp_path / name).exists(), f"{name} was not written"
        assert_secret_free(name, (tmp_path / name).read_text(encoding="utf-8"))


# -- URLs refused before any request ------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "url", "rule"),
    [
        ("option", "http://example.invalid/api/v2", "must use https://"),
        ("env", "http://example.invalid/api/v2", "must use https://"),
        ("option", "http://127.0.0.1.example.invalid/api/v2", "must use https://"),
        ("option", "ftp://example.invalid/api/v2", "must start with https://"),
        ("option", "https://ci-user:Hunter2-pass@example.invalid/api/v2", "user name or password"),
        ("env", "https://ci-user:Hunter2-pass@example.invalid/api/v2", "user name or password"),
        ("option", "https://Hunter2-pass@example.invalid/api/v2", "user name or password"),
    ],
)
def test_an_unsafe_api_url_is_a_usage_error_before_anything_is_sent(
    how: str, url: str, rule: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".yml", sipfront="tests:\n  - name: call\n    test: basic-call\n")
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", SECRET_KEY)
    args = ["-p", "no:cacheprovider"]
    if how == "env":
        monkeypatch.setenv("SIPFRONT_API_URL", url)
    else:
        monkeypatch.delenv("SIPFRONT_API_URL", raising=False)
        args += ["--sipfront-url", url]
    result = pytester.runpytest_subprocess(*args, timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert rule in errors
    assert "Hunter2-pass" not in errors + result.stdout.str()
    assert "Traceback" not in errors
    assert_secret_free("output", errors + result.stdout.str())


def test_a_url_with_credentials_pointing_at_a_live_api_sends_it_nothing(
    sandbox: Callable[[dict[str, Any]], SandboxServer],
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = sandbox({})
    url = server.base_url.replace("http://", f"http://{PUBLIC_KEY}:{SECRET_KEY}@")
    pytester.makefile(".yml", sipfront="tests:\n  - name: call\n    test: basic-call\n")
    monkeypatch.delenv("SIPFRONT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("SIPFRONT_SECRET_KEY", raising=False)
    result = pytester.runpytest("-p", "no:cacheprovider", "--sipfront-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "user name or password" in result.stderr.str()
    assert_secret_free("output", result.stdout.str() + result.stderr.str())
    assert server.requests == []


# -- status_url on another origin ---------------------------------------------------------------


class Counter:
    """A plain HTTP server on loopback that only counts what reaches it (and answers 200)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.hits.append(
                    f"{self.command} {self.path} {self.headers.get('Authorization')}"
                )
                body = b'{"run": {"status": "passed", "is_finished": 1, "has_passed": 1}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counter() -> Iterator[Counter]:
    server = Counter()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:{counter}", "http://localhost:{counter}", "https://{host}:{port}"],
    ids=["another-port", "another-host-name", "another-scheme"],
)
def test_a_status_url_on_another_origin_is_never_contacted_and_the_run_still_completes(
    origin: str,
    counter: Counter,
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    server = sipfront_sandbox(
        {
            "tests": [
                {
                    "name": "away-call",
                    "duration": "0.4s",
                    "outcome": "failed",
                    "result_description": "followed on the API origin",
                }
            ],
            "behaviour": {
                "status_url_origin": origin.replace("{counter}", str(counter.port)),
            },
        }
    )
    result = run_gate(
        "tests:\n  - name: away\n    test: away-call\n    timeout: 10s\n", server=server
    )
    # The counter would have said "passed": a failure proves the sandbox's status was read.
    result.stdout.fnmatch_lines(["Sipfront run failed: followed on the API origin*"])
    assert counter.hits == []
    assert server.count("runs.status") >= 1


def test_a_redirect_to_another_origin_is_not_followed_with_the_credentials(
    counter: Counter,
) -> None:
    """The client alone, against a status endpoint that redirects away."""
    hits: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{counter.port}/steal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    api = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{api.server_address[1]}/api/v2"
    try:
        with (
            SipfrontClient(base, PUBLIC_KEY, SECRET_KEY, sleep=lambda _: None) as client,
            pytest.raises(ApiError) as raised,
        ):
            client.status(f"{base}/runs/abc/status", deadline=time.monotonic() + 0.5)
    finally:
        api.shutdown()
        api.server_close()
    assert raised.value.verdict is Verdict.UNREACHABLE
    assert "redirected to another site" in raised.value.message
    assert hits and counter.hits == []


@pytest.mark.parametrize(
    ("status_url", "expected"),
    [
        # http on the API's own https host: upgraded, never sent in the clear.
        (
            "http://app.sipfront.com/api/v2/runs/abc/status",
            "https://app.sipfront.com/api/v2/runs/abc/status",
        ),
        (
            "http://app.sipfront.com:80/api/v2/runs/abc/status",
            "https://app.sipfront.com/api/v2/runs/abc/status",
        ),
        # Same origin: as given.
        (
            "https://app.sipfront.com/api/v2/runs/abc/status?x=1",
            "https://app.sipfront.com/api/v2/runs/abc/status?x=1",
        ),
        # Another origin: its path (and query) on the API's own origin.
        (
            "https://evil.example/api/v2/runs/abc/status?x=1",
            "https://app.sipfront.com/api/v2/runs/abc/status?x=1",
        ),
        (
            "https://app.sipfront.com:8443/api/v2/runs/abc/status",
            "https://app.sipfront.com/api/v2/runs/abc/status",
        ),
        (
            "https://user:pw@app.sipfront.com/api/v2/runs/abc/status",
            "https://app.sipfront.com/api/v2/runs/abc/status",
        ),
        (
            "//evil.example/api/v2/runs/abc/status",
            "https://app.sipfront.com/api/v2/runs/abc/status",
        ),
        # Relative: on the API base.
        ("/api/v2/runs/abc/status", "https://app.sipfront.com/api/v2/runs/abc/status"),
        ("runs/abc/status", "https://app.sipfront.com/api/v2/runs/abc/status"),
    ],
)
def test_a_status_url_is_resolved_onto_the_api_origin(status_url: str, expected: str) -> None:
    assert resolve_status_url("https://app.sipfront.com/api/v2", status_url) == expected


# -- a server that echoes the credentials back ---------------------------------------------------

ECHO = (
    f"key {PUBLIC_KEY} secret {SECRET_KEY} header Authorization: Basic {BASIC_TOKEN} "
    f"b64 {BASIC_TOKEN.rstrip('=')}"
)
# The echo split by a control character: stripping it must not put the secret back together.
SPLIT_ECHO = f"{SECRET_KEY[:4]}\x01{SECRET_KEY[4:]}"

ECHO_CATALOG: dict[str, Any] = {
    "tests": [
        {
            "name": "echo-fail",
            "duration": "0.3s",
            "outcome": "failed",
            "result_description": ECHO + " " + SPLIT_ECHO,
            "testcase_name": f"case {SECRET_KEY}",
        },
        {"name": "echo-error", "duration": "0.3s"},
        {"name": "echo-pass", "duration": "0.3s", "result_description": ECHO},
    ],
    "faults": [{"endpoint": "tests.run", "status": 422, "error": ECHO, "test": "echo-error"}],
}

ECHO_MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 5s
tests:
  - name: echo-fail
    test: echo-fail
  - name: echo-error
    test: echo-error
  - name: echo-pass
    test: echo-pass
"""


def test_credentials_echoed_by_sipfront_are_redacted_from_every_output(
    sandbox: Callable[[dict[str, Any]], SandboxServer], tmp_path: Path
) -> None:
    server = sandbox(ECHO_CATALOG)
    result = run_session(tmp_path, server, ECHO_MANIFEST)
    assert result.returncode == 1, result.stdout + result.stderr
    assert server.count("tests.run") == 3
    # The echo was shown, redacted, so the scan below looked at text that held it.
    assert "[redacted]" in result.stdout
    assert "[redacted]" in (tmp_path / "sipfront-junit.xml").read_text(encoding="utf-8")
    assert "[redacted]" in (tmp_path / "pytest-junit.xml").read_text(encoding="utf-8")
    scan_everything(tmp_path, result)
    assert "Basic " + BASIC_TOKEN not in result.stdout


@pytest.mark.parametrize(
    ("form", "triggers"),
    [({"INPUT_MANIFEST": "sipfront.yml"}, 3), ({"INPUT_NAME": "echo-fail"}, 1)],
    ids=["manifest", "single-run"],
)
def test_the_action_redacts_credentials_echoed_by_sipfront_from_every_output(
    sandbox: Callable[[dict[str, Any]], SandboxServer],
    tmp_path: Path,
    form: dict[str, str],
    triggers: int,
) -> None:
    server = sandbox(ECHO_CATALOG)
    (tmp_path / "sipfront.yml").write_text(ECHO_MANIFEST, encoding="utf-8")
    env = github_environ(
        tmp_path,
        INPUT_API_URL=server.base_url,
        INPUT_PUBLIC_KEY=PUBLIC_KEY,
        INPUT_SECRET_KEY=SECRET_KEY,
        INPUT_POLL_INTERVAL="0.2s",
        INPUT_PYTEST_ARGS="-p no:hypothesispytest -rA --sipfront-max-rps=100",
        INPUT_JUNIT_REPORT="sipfront-junit.xml",
        **form,
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront.action"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert server.count("tests.run") == triggers
    lines = [line for line in result.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert_secret_free("stdout", "\n".join(lines))
    assert_secret_free("stderr", result.stderr)
    assert "[redacted]" in result.stdout
    for name in (
        "sipfront-junit.xml",
        "step_summary.md",
        "github_output.txt",
        "sipfront-results.json",
    ):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert_secret_free(name, text)
    if "INPUT_NAME" in form:  # the single-run outputs carry the result description
        assert "[redacted]" in (tmp_path / "github_output.txt").read_text(encoding="utf-8")


# -- keys that cannot be sent -----------------------------------------------------------------

PLAIN_TEST = "def test_plain():\n    assert True\n"


@pytest.mark.parametrize(
    ("public", "secret", "variable", "what"),
    [
        (PUBLIC_KEY, "SÉCRET☎", "SIPFRONT_SECRET_KEY", "U+260E"),
        (PUBLIC_KEY, "SK-line\nbreak", "SIPFRONT_SECRET_KEY", "a line break"),
        (PUBLIC_KEY, "SK-\x07bell", "SIPFRONT_SECRET_KEY", "U+0007"),
        ("PK:with-colon", SECRET_KEY, "SIPFRONT_PUBLIC_KEY", "':'"),
    ],
)
def test_a_key_that_cannot_be_sent_errors_every_sipfront_item_in_one_line_and_others_run(
    sandbox: Callable[[dict[str, Any]], SandboxServer],
    tmp_path: Path,
    public: str,
    secret: str,
    variable: str,
    what: str,
) -> None:
    server = sandbox(CATALOG)
    (tmp_path / "sipfront.yml").write_text(AUTH_MANIFEST, encoding="utf-8")
    (tmp_path / "test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-rA",
        "--sipfront-url",
        server.base_url,
        "--sipfront-junit",
        "sipfront-junit.xml",
    ]
    env = clean_environ(SIPFRONT_PUBLIC_KEY=public, SIPFRONT_SECRET_KEY=secret)
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "INTERNALERROR" not in output
    assert "1 passed" in result.stdout and "2 errors" in result.stdout, result.stdout
    lines = [line for line in result.stdout.splitlines() if variable in line and what in line]
    assert lines, result.stdout
    assert server.count("tests.run") == 0
    junit = (tmp_path / "sipfront-junit.xml").read_text(encoding="utf-8")
    assert 'tests="2"' in junit and variable in junit
    for shown in (secret, public):
        assert shown not in output and shown not in junit


def test_every_form_of_the_keys_is_redacted_by_the_one_cleaning_path() -> None:
    from pytest_sipfront import sanitize

    sanitize.REDACTOR.add_credentials(PUBLIC_KEY, SECRET_KEY)
    pair = f"{PUBLIC_KEY}:{SECRET_KEY}".encode()
    forms = [
        f"Basic {BASIC_TOKEN}",
        BASIC_TOKEN,
        BASIC_TOKEN.rstrip("="),
        base64.urlsafe_b64encode(pair).decode(),
        f"{PUBLIC_KEY}:{SECRET_KEY}",
        SECRET_KEY,
        PUBLIC_KEY,
        SPLIT_ECHO,
    ]
    for form in forms:
        for cleaned in (
            sanitize.clean_text(f"a {form} b"),
            sanitize.clean_line(f"a\n{form}\nb"),
            sanitize.clean_json({form: [f"x{form}x"]}),
        ):
            text = str(cleaned)
            assert "[redacted]" in text, form
            assert SECRET_KEY not in text and PUBLIC_KEY not in text
            assert BASIC_TOKEN.rstrip("=") not in text
    # A key too short to redact safely leaves ordinary words alone.
    sanitize.REDACTOR.add(["sk", "pk"])
    assert sanitize.clean_line("kiosk link") == "kiosk link"


SMOKE_CHECK = """\
from pytest_sipfront import Sipfront


def test_a_smoke_check_of_the_library_against_its_sandbox():
    with Sipfront(sandbox=True, poll_interval="0.2s") as sipfront:
        assert sipfront.run("smoke", timeout="30s").passed
"""


def test_the_session_keys_stay_redacted_after_a_sandbox_client_is_made_in_the_same_session(
    sandbox: Callable[[dict[str, Any]], SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sandbox(
        {
            "tests": [
                {
                    "name": "echo-fail",
                    "duration": "3s",  # it ends after the smoke check made its client
                    "outcome": "failed",
                    "result_description": f"echo {SECRET_KEY} and {PUBLIC_KEY}",
                }
            ]
        }
    )
    pytester.makepyfile(test_smoke=SMOKE_CHECK)
    junit = pytester.path / "sipfront-junit.xml"
    result = run_gate(
        "version: 1\ntests:\n  - name: echo-fail\n    test: echo-fail\n",
        "test_smoke.py",
        "sipfront.yml",
        f"--sipfront-junit={junit}",
        "--sipfront-history=off",
        server=server,
        check_secrets=False,
    )
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "echo [redacted] and [redacted]" in output
    for text in (output, junit.read_text(encoding="utf-8")):
        assert SECRET_KEY not in text and PUBLIC_KEY not in text


def test_a_second_client_with_other_keys_adds_to_the_redaction_never_replaces_it() -> None:
    from pytest_sipfront.sanitize import clean_line

    first = SipfrontClient("https://api.example.test/api/v2", "pk-first-client", "sk-first-client")
    second = SipfrontClient("https://api.example.test/api/v2", "pk-other-client", "sk-other-client")
    try:
        shown = clean_line("sk-first-client pk-first-client sk-other-client")
        assert shown == "[redacted] [redacted] [redacted]"
        assert first.redactor is second.redactor
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    "echo",
    [
        pytest.param("SK%2Fpercent%2Bkey%3D1", id="percent-encoded"),
        pytest.param("SK%2fpercent%2bkey%3d1", id="percent-encoded-lower-case"),
        pytest.param(base64.b64encode(b"SK/percent+key=1").decode(), id="base64-of-the-secret"),
        pytest.param(
            base64.urlsafe_b64encode(b"SK/percent+key=1").decode().rstrip("="),
            id="url-safe-base64-of-the-secret",
        ),
    ],
)
def test_a_percent_encoded_or_base64_echo_of_the_secret_alone_is_redacted(echo: str) -> None:
    from pytest_sipfront.sanitize import clean_json, clean_line

    client = SipfrontClient("https://api.example.test/api/v2", "PK-percent-key", "SK/percent+key=1")
    client.close()
    assert clean_line(f"echo {echo} here") == "echo [redacted] here"
    assert echo not in str(clean_json({"description": f"x{echo}x"}))


def test_the_action_console_uses_the_one_redactor_and_its_forms() -> None:
    import io

    from pytest_sipfront.ci.action import Console

    stream = io.StringIO()
    console = Console(False, ["SK-console-secret"], stream=stream)
    encoded = base64.b64encode(b"SK-console-secret").decode()
    console.info(f"plain SK-console-secret, base64 {encoded}")
    console.error("percent SK-console-secret%0A")
    text = stream.getvalue()
    assert "SK-console-secret" not in text and encoded not in text
    assert "***" not in text and text.count("[redacted]") == 3


def test_a_key_with_an_undecodable_byte_is_redacted_without_a_traceback() -> None:
    from pytest_sipfront.sanitize import Redactor

    redactor = Redactor()
    secret = "sk-\udcffbyte-key"  # a non-UTF-8 byte, as os.environ gives it (surrogateescape)
    redactor.add_credentials("pk-byte-key", secret)
    encoded = base64.b64encode(secret.encode("utf-8", "surrogateescape")).decode()
    assert redactor.redact(f"{secret} {encoded} sk-%FFbyte-key") == "[redacted] " * 2 + "[redacted]"
