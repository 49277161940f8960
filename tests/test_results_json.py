"""The results JSON (``--sipfront-json PATH``): one versioned document with the session and every
run, valid against the published schema, written whole, also when the session is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import GateRunner, SandboxFactory
from processes import ChildProcess, clean_environ, polled_sessions, pytest_command, wait_until
from report_records import record

from pytest_sipfront.reports import results
from pytest_sipfront.runs.outcome import PytestOutcome, SessionInfo, Verdict
from pytest_sipfront.sandbox import Catalog, SandboxServer

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema" / "sipfront-results.schema.json"

CATALOG: dict[str, Any] = {
    "tests": [
        {"name": "good", "id": 11, "duration": 0.3, "outcome": "passed",
         "testcase_name": "Basic call A to B"},
        {"name": "bad", "id": 12, "duration": 0.3, "outcome": "failed",
         "result_description": "one-way audio"},
    ],
}  # fmt: skip

MANIFEST = """\
tests:
  - name: call
    test: good
  - name: audio
    test: bad
  - name: known
    test: bad
    xfail: TICKET-12
  - name: later
    test: good
    skip: maintenance
"""


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def validate(document: object) -> None:
    jsonschema.Draft7Validator(schema()).validate(document)


def test_the_committed_results_schema_is_what_sipfront_schema_results_prints() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "schema", "--results"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == schema()
    jsonschema.Draft7Validator.check_schema(schema())


def test_a_session_writes_the_session_and_every_run_and_the_document_validates(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    run_gate(
        MANIFEST,
        "--sipfront-json",
        "out/results.json",
        server=server,
        env={
            "SIPFRONT_REVISION": "0123abcd",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/voip",
            "GITHUB_SHA": "0123abcd",
            "GITHUB_WORKSPACE": str(pytester.path),
        },
    )
    document = json.loads((pytester.path / "out" / "results.json").read_text(encoding="utf-8"))
    validate(document)
    assert (document["schema"], document["version"]) == ("urn:pytest-sipfront:results:1", 1)
    session = document["session"]
    assert session["revision"] == "0123abcd"
    assert session["api_url"] == server.base_url
    assert session["sandbox"] is True  # the test server identifies itself as a sandbox
    assert session["started_at"] <= session["finished_at"]
    assert session["wall_s"] > 0
    assert session["counts"] == {
        "total": 4, "passed": 1, "failed": 1, "errors": 0, "skipped": 1, "xfailed": 1,
        "xpassed": 0, "flaky": 0, "running": 0,
    }  # fmt: skip
    runs = {run["name"]: run for run in document["runs"]}
    assert [run["outcome"] for run in document["runs"]] == [
        "passed",
        "failed",
        "xfailed",
        "skipped",
    ]
    audio = runs["audio"]
    assert audio["item"] == "sipfront.yml::audio"
    assert (audio["manifest"], audio["line"]) == ("sipfront.yml", 4)
    assert audio["links"]["manifest"] == (
        "https://github.com/acme/voip/blob/0123abcd/sipfront.yml#L4"
    )
    assert (audio["verdict"], audio["status"], audio["reason"]) == (
        "failed", "failed", "one-way audio"
    )  # fmt: skip
    assert audio["error_type"] == "sipfront.failed"
    assert audio["message"].startswith("Sipfront run failed: one-way audio")
    assert audio["session_id"] and audio["links"]["report"].endswith(audio["session_id"])
    assert len(audio["attempts"]) == 1 and audio["attempts"][0]["finished"] is True
    assert audio["durations"]["run_s"] is not None and audio["durations"]["wait_s"] is not None
    assert audio["ledger"] is None  # no --sipfront-ledger
    # --sipfront-media failed (the default): the failed run's metrics, none of the pass's.
    measures = {(m["measure"], m["role"], m["dir"]): m for m in audio["media"]["measures"]}
    jitter = measures["rtp_jitter", "caller", "in"]
    assert (jitter["unit"], jitter["count"], jitter["p95"]) == ("ms", 60, 6)
    assert audio["media"]["breaches"] == [] and audio["media"]["unchecked"] == []
    assert runs["call"]["media"] is None and runs["call"]["ledger"] is None
    assert runs["later"]["attempts"] == [] and runs["later"]["verdict"] is None
    assert server.count("tests.run") == 3  # the skipped entry was not triggered


def test_the_results_path_comes_from_the_ini_or_the_environment(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    manifest = "tests:\n  - {name: call, test: good}\n"
    pytester.makeini("[pytest]\nsipfront_json = from-ini.json\n")
    run_gate(manifest, server=server).assert_outcomes(passed=1)
    assert (pytester.path / "from-ini.json").is_file()
    run_gate(manifest, server=server, env={"SIPFRONT_JSON": "from-env.json"})
    validate(json.loads((pytester.path / "from-env.json").read_text(encoding="utf-8")))


def test_a_results_file_that_cannot_be_replaced_keeps_the_one_before_and_leaves_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.json"
    info = SessionInfo(api_url="https://app.sipfront.com/api/v2", sandbox=False, rootdir="/w")
    records = [record("call", PytestOutcome.PASSED, verdict=Verdict.PASSED, sessions=("s1",))]
    results.write_results(target, records, info, environ={})
    before = target.read_text(encoding="utf-8")

    def broken_replace(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        results.write_results(target, [], info, environ={})
    assert target.read_text(encoding="utf-8") == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.json"]


def test_credentials_in_the_api_url_never_reach_the_results() -> None:
    info = SessionInfo(
        api_url="https://pk-user:hunter2@app.sipfront.example/api/v2?secret_key=hunter2",
        sandbox=False,
        rootdir="/w",
    )
    text = results.results_json(results.results_document([], info, environ={}))
    assert "hunter2" not in text and "pk-user" not in text
    validate(json.loads(text))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(300)
def test_an_interrupted_session_still_writes_the_results_with_the_runs_still_going(
    tmp_path: Path,
) -> None:
    server = SandboxServer(
        Catalog.from_dict({"tests": [{"name": "long-call", "duration": "120s"}]}),
        public_key="pk-json-1",
        secret_key="sk-json-1",
    )
    server.start()
    child = None
    try:
        (tmp_path / "sipfront.yml").write_text(
            "defaults: {poll_interval: 0.2s}\ntests:\n"
            "  - {name: long-1, test: long-call}\n  - {name: long-2, test: long-call}\n",
            encoding="utf-8",
        )
        env = clean_environ(SIPFRONT_PUBLIC_KEY="pk-json-1", SIPFRONT_SECRET_KEY="sk-json-1")
        command = pytest_command(server, "--sipfront-json", "results.json")
        child = ChildProcess.start(command, cwd=tmp_path, env=env)
        wait_until(lambda: len(polled_sessions(server)) == 2, 60, "both runs to be polled")
        child.process.send_signal(signal.SIGINT)
        child.finish(60)
        document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    finally:
        if child is not None:
            child.kill()
        server.stop()
    validate(document)
    assert document["session"]["interrupted"] is True
    assert document["session"]["counts"]["running"] == 2
    assert [run["outcome"] for run in document["runs"]] == ["running", "running"]
    assert all(run["links"]["report"] for run in document["runs"])


@pytest.mark.parametrize("channel", ["slack", "teams"])
def test_the_recipe_posts_the_verdict_and_each_failure_with_its_link_to_slack_or_teams(
    channel: str,
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
    httpserver: Any,
) -> None:
    server = sipfront_sandbox(CATALOG)
    run_gate(MANIFEST, "--sipfront-json", "results.json", server=server)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "post-results.py"),
            str(pytester.path / "results.json"),
            f"--{channel}",
            httpserver.url_for("/hook"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ((request, _),) = httpserver.log
    payload = json.loads(request.get_data(as_text=True))
    document = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    link = next(run["links"]["report"] for run in document["runs"] if run["name"] == "audio")
    text = json.dumps(payload, ensure_ascii=False)
    assert "❌ 1 of 4 Sipfront runs failed" in text
    assert "audio" in text and "one-way audio" in text and link in text
    if channel == "teams":
        assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"


def test_a_results_path_that_cannot_be_written_stops_the_session_before_any_trigger(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    (pytester.path / "taken").mkdir()
    result = run_gate(MANIFEST, "--sipfront-json", "taken", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sipfront-json taken: it is a directory; name a file*"])
    assert server.count("tests.run") == 0


LEDGER_MANIFEST = """
tests:
  - name: good
    test: good-call
  - name: bad
    test: bad-call
"""

LEDGER_CATALOG: dict[str, object] = {
    "tests": [
        {"name": "good-call", "duration": "1s"},
        {"name": "bad-call", "duration": "1s", "outcome": "failed", "result_description": "480"},
    ]
}


def test_the_results_json_says_which_run_the_ledger_reused_and_which_it_triggered_anew(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(LEDGER_CATALOG)
    revision = {"SIPFRONT_REVISION": "c0ffee1"}
    run_gate(LEDGER_MANIFEST, "--sipfront-ledger", "ledger.json", server=server, env=revision)
    second = run_gate(
        None,
        "--sipfront-ledger",
        "ledger.json",
        "--sipfront-reuse",
        "passed",
        "--sipfront-json",
        "results.json",
        server=server,
        env=revision,
    )
    second.assert_outcomes(passed=1, failed=1)
    assert server.count("tests.run") == 3  # the pass was reused, the failure triggered anew
    document = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    validate(document)
    runs = {run["name"]: run for run in document["runs"]}
    good, bad = runs["good"]["ledger"], runs["bad"]["ledger"]
    assert (good["case"], good["reused"], good["re_attached"], good["triggered"]) == (
        "reused", True, False, 0
    )  # fmt: skip
    assert good["note"] and good["earlier"] is None
    assert (bad["case"], bad["reused"], bad["triggered"]) == (None, False, 1)
    assert bad["earlier"] and bad["earlier"].startswith("failed")


def test_a_breached_media_threshold_is_in_the_results_json_with_its_value_and_limit() -> None:
    from pytest_sipfront.media.report import Breach, MediaReport

    info = SessionInfo(api_url="https://app.sipfront.com/api/v2", sandbox=False, rootdir="/w")
    item = record("call", PytestOutcome.FAILED, verdict=Verdict.FAILED, sessions=("s1",))
    assert item.run is not None
    breach = Breach("rtp_jitter", "p95 < 30", "rtp_jitter", "p95", 45.0, 30.0, "ms", "callee", "in")
    item.run.media = MediaReport(breaches=[breach], unchecked=["mos: no series"])
    document = json.loads(results.results_json(results.results_document([item], info, environ={})))
    validate(document)
    media = document["runs"][0]["media"]
    assert media["unchecked"] == ["mos: no series"] and media["measures"] == []
    (shown,) = media["breaches"]
    assert (shown["measure"], shown["aggregate"], shown["value"], shown["limit"]) == (
        "rtp_jitter", "p95", 45.0, 30.0
    )  # fmt: skip
    assert (shown["role"], shown["dir"], shown["baseline"], shown["change"]) == (
        "callee", "in", None, None
    )  # fmt: skip
    assert shown["message"].startswith("media threshold breached: rtp_jitter p95 45")
