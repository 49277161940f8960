"""The run ledger in real sessions against the sandbox, counting triggers on its side: a
killed session's runs are re-attached, not paid again; passed runs are reused on request;
detach then collect; another revision or request is triggered anew; a ledger that cannot be
used stops the session before anything is sent."""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlschema
from conftest import GateRunner, SandboxFactory
from processes import ChildProcess, clean_environ, pytest_command, wait_until
from sandbox_keys import PUBLIC_KEY, SECRET_KEY

from pytest_sipfront import Sipfront
from pytest_sipfront.cli import main
from pytest_sipfront.ledger.model import FINISHED, SENDING, TRIGGERED
from pytest_sipfront.ledger.store import read_ledger
from pytest_sipfront.sandbox import Catalog, SandboxServer

SCHEMA = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"
REVISION = {"SIPFRONT_REVISION": "c0ffee1"}

THREE = """
tests:
  - name: call-1
    test: long-call
  - name: call-2
    test: long-call
    overrides: {step.1.0.dial_destination: "431231234"}
  - name: call-3
    test: long-call
    overrides: {step.1.0.dial_destination: "439994567"}
"""

TWO = """
tests:
  - name: good
    test: good-call
  - name: bad
    test: bad-call
"""

TWO_CATALOG: dict[str, object] = {
    "tests": [
        {"name": "good-call", "duration": "1s"},
        {"name": "bad-call", "duration": "1s", "outcome": "failed", "result_description": "480"},
    ]
}


@pytest.fixture
def server_with() -> Iterator[Callable[[dict[str, object]], SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(catalog: dict[str, object]) -> SandboxServer:
        server = SandboxServer(
            Catalog.from_dict(catalog), public_key=PUBLIC_KEY, secret_key=SECRET_KEY
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def child_session(server: SandboxServer, path: Path, *args: str) -> ChildProcess:
    env = clean_environ(SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY, **REVISION)
    command = pytest_command(server, "--sipfront-poll-interval", "0.5s", *args)
    return ChildProcess.start(command, cwd=path, env=env)


def test_a_session_killed_after_its_triggers_is_re_attached_by_the_same_command_paying_nothing(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "30s"}]})
    (tmp_path / "sipfront.yml").write_text(THREE, encoding="utf-8")
    ledger = tmp_path / "ledger.json"
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-junit", "junit.xml")
    first = child_session(server, tmp_path, *args)
    try:
        wait_until(lambda: server.count("tests.run") == 3, 60, "three triggers")
        wait_until(
            lambda: [r.state for r in read_ledger(ledger).records] == [TRIGGERED] * 3,
            30,
            "three answered runs in the ledger",
        )
        triggered_at = time.monotonic()
        time.sleep(10)  # the runs go on at Sipfront (20 s of their 30 s are left)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    finally:
        first.kill()
    sessions = {r.session_id for r in read_ledger(ledger).records}

    second = child_session(server, tmp_path, *args)
    out, err = second.finish(120)
    ended = time.monotonic()

    assert second.process.returncode == 0, out + err
    assert server.count("tests.run") == 3  # zero new triggers
    assert "3 passed" in out
    assert out.count("re-attached: triggered") >= 3
    polled = {r.path.split("/")[-2] for r in server.requests if r.endpoint == "runs.status"}
    assert polled == sessions
    # It ends when the runs end (30 s after their triggers), not a full run's 30 s after it
    # started: a fresh trigger would need 30 s more than the 20 s that were left.
    assert ended - triggered_at < 30 + 25, f"took {ended - triggered_at:.1f}s"
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("re-attached: triggered") == 3
    assert all(r.state == FINISHED and r.passed for r in read_ledger(ledger).records)


def test_a_rerun_with_reuse_passed_triggers_only_what_failed(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    first = run_gate(TWO, "--sipfront-ledger", "ledger.json", server=server, env=REVISION)
    first.assert_outcomes(passed=1, failed=1)
    assert server.count("tests.run") == 2

    second = run_gate(
        None,
        "--sipfront-ledger",
        "ledger.json",
        "--sipfront-reuse",
        "passed",
        "--sipfront-junit",
        "junit.xml",
        server=server,
        env=REVISION,
    )

    second.assert_outcomes(passed=1, failed=1)
    assert server.count("tests.run") == 3  # exactly one new trigger: the failed run
    assert server.triggers()[-1]["test.name"] == "bad-call"
    summary = "\n".join(second.outlines)
    assert "good 1s" in summary and "(reused: triggered " in summary
    assert "earlier   failed | triggered" in summary  # the failed run's earlier attempt
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert "ledger    reused: triggered" in junit


def test_without_reuse_a_passed_run_is_triggered_anew(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    run_gate(TWO, "--sipfront-ledger", "ledger.json", server=server, env=REVISION)
    run_gate(None, "--sipfront-ledger", "ledger.json", server=server, env=REVISION)
    assert server.count("tests.run") == 4


def test_reuse_comes_from_the_environment_and_honours_the_max_age(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    env = {**REVISION, "SIPFRONT_LEDGER": "ledger.json", "SIPFRONT_REUSE": "passed"}
    run_gate(TWO, server=server, env=env)
    run_gate(None, server=server, env=env)
    assert server.count("tests.run") == 3
    time.sleep(1.2)
    run_gate(None, "--sipfront-reuse-max-age", "1s", server=server, env=env)
    assert server.count("tests.run") == 5  # both anew: the passed run is older than 1s


@pytest.mark.parametrize(
    "change", ["another revision", "a changed override"], ids=["revision", "override"]
)
def test_a_record_of_another_revision_or_request_is_never_used(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, change: str
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    manifest = """
    tests:
      - name: good
        test: good-call
        overrides: {step.1.0.dial_destination: "${DEST:-431}"}
    """
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-reuse", "passed")
    run_gate(manifest, *args, server=server, env=REVISION).assert_outcomes(passed=1)
    env = {"SIPFRONT_REVISION": "beef2"} if change == "another revision" else {**REVISION}
    if change == "a changed override":
        env["DEST"] = "432"
    result = run_gate(None, *args, server=server, env=env)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 2
    assert "reused" not in "\n".join(result.outlines)


def test_detach_triggers_everything_and_ends_then_the_same_command_collects(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "8s"}]})
    (tmp_path / "sipfront.yml").write_text(THREE, encoding="utf-8")
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-junit", "junit.xml")

    detach = child_session(server, tmp_path, *args, "--sipfront-detach", "-rs")
    out, err = detach.finish(60)

    assert detach.process.returncode == 0, out + err
    assert server.count("tests.run") == 3
    assert "3 skipped" in out
    assert "detached: running at Sipfront; collect with the same command and" in out
    assert out.count("(detached: the run is still going at Sipfront)") == 3, out
    assert out.count("RUNNING    call-") == 3  # every run, with its link, as still going
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase") == 3 and junit.count("/run/details/") >= 3
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(tmp_path / "junit.xml"))

    collect = child_session(server, tmp_path, *args)
    out, err = collect.finish(60)

    assert collect.process.returncode == 0, out + err
    assert server.count("tests.run") == 3  # collecting triggers nothing
    assert "3 passed" in out
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase") == 3 and "<skipped" not in junit
    assert junit.count("re-attached: triggered") == 3
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(tmp_path / "junit.xml"))


def test_detach_without_a_ledger_is_a_usage_error(run_gate: GateRunner) -> None:
    result = run_gate(THREE, "--sipfront-detach", server=None)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sipfront-detach needs a ledger" in "\n".join(result.errlines)


@pytest.mark.parametrize(
    "content", ['{"version": 1, "records": [', '{"version": 99}', "folder"], ids=str
)
def test_a_ledger_that_cannot_be_read_stops_the_session_before_any_trigger(
    sipfront_sandbox: SandboxFactory,
    run_gate: GateRunner,
    pytester: pytest.Pytester,
    content: str,
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    ledger = pytester.path / "ledger.json"
    if content == "folder":
        ledger.mkdir()
    else:
        ledger.write_text(content, encoding="utf-8")
    result = run_gate(TWO, "--sipfront-ledger", "ledger.json", server=server, env=REVISION)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = "\n".join(result.errlines)
    assert "the Sipfront ledger ledger.json cannot be used" in errors
    assert "To start afresh, delete the file" in errors
    assert server.count("tests.run") == 0


def test_a_sending_mark_without_an_answer_warns_and_triggers_anew(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    run_gate(TWO, "--sipfront-ledger", "ledger.json", server=server, env=REVISION)
    ledger = pytester.path / "ledger.json"
    text = ledger.read_text(encoding="utf-8").replace('"finished"', f'"{SENDING}"', 1)
    ledger.write_text(text, encoding="utf-8")
    result = run_gate(None, "--sipfront-ledger", "ledger.json", "-rA", server=server, env=REVISION)
    assert server.count("tests.run") == 4
    output = "\n".join(result.outlines)
    assert "that was never answered; a run may have started at Sipfront" in output
    assert "earlier   trigger sent " in output


def test_under_xdist_the_controller_keeps_the_ledger_for_every_worker(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "1s"}]})
    (tmp_path / "sipfront.yml").write_text(THREE, encoding="utf-8")
    args = ("-n", "2", "--sipfront-ledger", "ledger.json", "--sipfront-reuse", "passed")
    out, err = child_session(server, tmp_path, *args).finish(100)
    assert "3 passed" in out, out + err
    assert server.count("tests.run") == 3
    records = read_ledger(tmp_path / "ledger.json")
    assert len(records.records) == 3 and records.sessions == 1  # one reader: the controller
    out, err = child_session(server, tmp_path, *args).finish(100)
    assert "3 passed" in out, out + err
    assert server.count("tests.run") == 3
    assert out.count("reused: triggered") == 3


def test_the_header_names_the_ledger_and_where_the_revision_came_from(
    run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    result = run_gate(
        TWO, "--sipfront-ledger", "ledger.json", server=server, env={"GITHUB_SHA": "abc123"}
    )
    result.stdout.fnmatch_lines(
        ["sipfront ledger: ledger.json (revision abc123 from GITHUB_SHA; reuse none)"]
    )


# -- from Python: the fixture, the library, ``sipfront run`` -----------------------------------

FIXTURE_TEST = """
def test_two_calls(sipfront):
    first = sipfront.run("good-call", overrides={"step.1.0.dial_destination": "431"})
    second = sipfront.run("good-call", overrides={"step.1.0.dial_destination": "431"})
    first.check()
    second.check()
"""


def test_the_fixture_uses_the_session_ledger_keyed_by_node_id_and_call_order(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    pytester.makepyfile(test_calls=FIXTURE_TEST)
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-reuse", "passed")
    run_gate(None, *args, server=server, env=REVISION).assert_outcomes(passed=1)
    assert server.count("tests.run") == 2
    items = sorted(r.key.item for r in read_ledger(pytester.path / "ledger.json").records)
    assert items == ["test_calls.py::test_two_calls#1", "test_calls.py::test_two_calls#2"]

    result = run_gate(None, *args, server=server, env=REVISION)

    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 2  # both runs reused, nothing sent
    junit_free = "\n".join(result.outlines)
    assert "PASSED     test_two_calls" in junit_free


def test_the_library_with_a_ledger_re_attaches_to_a_run_a_killed_script_left_going(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "6s"}]})
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "from pytest_sipfront import Sipfront\n"
        "with Sipfront(sys.argv[1], ledger='ledger.json', poll_interval='0.5s') as sf:\n"
        "    print(sf.run('long-call').verdict, flush=True)\n",
        encoding="utf-8",
    )
    env = clean_environ(SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY, **REVISION)
    command = [sys.executable, str(script), server.base_url]
    first = ChildProcess.start(command, cwd=tmp_path, env=env)
    try:
        wait_until(
            lambda: [r.state for r in read_ledger(tmp_path / "ledger.json").records] == [TRIGGERED],
            60,
            "the answered run in the ledger",
        )
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    finally:
        first.kill()

    out, err = ChildProcess.start(command, cwd=tmp_path, env=env).finish(60)

    assert out.strip() == "passed", out + err
    assert server.count("tests.run") == 1


def test_sipfront_run_detach_then_the_same_command_collects(
    sipfront_sandbox: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sipfront_sandbox({"tests": [{"name": "long-call", "duration": "3s"}]})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("SIPFRONT_REVISION", "c0ffee1")
    base = ["run", "long-call", "--api-url", server.base_url, "--poll-interval", "0.2s"]
    base += ["--ledger", "ledger.json"]
    out, err = io.StringIO(), io.StringIO()

    assert main([*base, "--detach"], out=out, err=err) == 0, err.getvalue()
    assert "detached: running at Sipfront" in out.getvalue()
    assert server.count("tests.run") == 1

    out = io.StringIO()
    assert main(base, out=out, err=err) == 0, err.getvalue()
    assert "Sipfront run passed: long-call" in out.getvalue()
    assert "re-attached: triggered" in out.getvalue()
    assert server.count("tests.run") == 1

    out = io.StringIO()
    assert main([*base, "--reuse", "passed", "--json"], out=out, err=err) == 0
    found = json.loads(out.getvalue())
    assert (found["verdict"], found["ledger"]) == ("passed", "reused")
    assert server.count("tests.run") == 1


def test_detach_under_xdist_is_a_usage_error_before_anything_is_sent(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox(TWO_CATALOG)
    args = ("-n", "2", "--sipfront-ledger", "l.json", "--sipfront-detach")
    result = run_gate(TWO, *args, server=server, env=REVISION)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sipfront-detach does not work under pytest-xdist yet" in "\n".join(result.errlines)
    assert server.requests == []


def test_pytest_html_names_a_reused_run_s_link_with_when_and_in_which_attempt(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytest.importorskip("pytest_html")
    server = sipfront_sandbox(TWO_CATALOG)
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-reuse", "passed")
    run_gate(TWO, *args, server=server, env=REVISION)
    html_args = ("--html=report.html", "--self-contained-html")
    run_gate(None, *args, *html_args, server=server, env=REVISION, subprocess=True)
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "Sipfront report: good (session " in html
    assert ", reused: triggered " in html and " in session 1" in html


def test_a_rerun_by_pytest_rerunfailures_is_triggered_and_recorded_in_the_ledger(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    pytest.importorskip("pytest_rerunfailures")
    server = sipfront_sandbox(TWO_CATALOG)
    args = ("--sipfront-ledger", "ledger.json", "--reruns", "1")
    result = run_gate(TWO, *args, server=server, env=REVISION)
    assert server.count("tests.run") == 3  # good once, bad twice
    line = next(line for line in result.outlines if line.startswith("FAILED     bad "))
    first, rerun = (link.rsplit("/", 1)[-1] for link in line.split()[3:5])
    records = read_ledger(pytester.path / "ledger.json").records
    bad = next(r for r in records if r.key.item.endswith("::bad"))
    assert (bad.session_id, bad.state, bad.verdict) == (rerun, FINISHED, "failed")
    assert first != rerun


def test_the_library_opens_a_ledger_only_when_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIPFRONT_LEDGER", "env-ledger.json")
    with Sipfront(sandbox=True):
        pass
    assert not (tmp_path / "env-ledger.json").exists()
    (tmp_path / "torn.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"the Sipfront ledger torn\.json cannot be used"):
        Sipfront(sandbox=True, ledger="torn.json")


def test_two_sessions_on_one_ledger_the_second_stops_clearly_and_sends_nothing(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "90s"}]})
    (tmp_path / "sipfront.yml").write_text(THREE, encoding="utf-8")
    first = child_session(server, tmp_path, "--sipfront-ledger", "ledger.json")
    try:
        wait_until(lambda: server.count("tests.run") == 3, 60, "the first session's triggers")
        started = time.monotonic()
        second = child_session(server, tmp_path, "--sipfront-ledger", "ledger.json")
        out, err = second.finish(100)
        assert time.monotonic() - started >= 30  # it waited for the lock
        assert second.process.returncode == pytest.ExitCode.USAGE_ERROR, out + err
        assert "is held by another session (waited 30s)" in err
        assert server.count("tests.run") == 3  # the second session sent nothing
        assert first.process.poll() is None  # the first one goes on
    finally:
        first.kill()


MANY = "tests:\n" + "".join(f"  - name: call-{n}\n    test: long-call\n" for n in range(20))


def test_sigterm_while_triggers_are_being_recorded_leaves_a_readable_ledger_of_every_run(
    server_with: Callable[[dict[str, object]], SandboxServer], tmp_path: Path
) -> None:
    server = server_with({"tests": [{"name": "long-call", "duration": "60s"}]})
    (tmp_path / "sipfront.yml").write_text(MANY, encoding="utf-8")
    args = ("--sipfront-ledger", "ledger.json", "--sipfront-concurrency", "20")
    session = child_session(server, tmp_path, *args)
    try:
        wait_until(lambda: server.count("tests.run") >= 3, 60, "the first triggers")
        session.process.send_signal(signal.SIGTERM)  # while the other triggers are recorded
        out, err = session.finish(60)
    finally:
        session.kill()
    records = read_ledger(tmp_path / "ledger.json").records  # readable, never torn
    answered = [r for r in records if r.state == TRIGGERED]
    assert 3 <= len(answered) <= server.count("tests.run"), out + err
    assert all(r.state in (SENDING, TRIGGERED) for r in records)  # none has a verdict yet
