"""Sipfront runs from Python: the ``sipfront`` fixture in real pytest sessions, the library
``Sipfront`` without pytest, and ``sipfront run``; every request counted on the sandbox."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import GateRunner, SandboxFactory
from sandbox_keys import PUBLIC_KEY, SECRET_KEY

import pytest_sipfront.library.command
import pytest_sipfront.session.python_runs  # loaded once here: see conftest.py
from pytest_sipfront import Sipfront, SipfrontRunError, SipfrontRunFailed
from pytest_sipfront.cli import main
from pytest_sipfront.sandbox import Fault, SandboxServer

CATALOG: dict[str, Any] = {
    "default_duration": "1s",
    "tests": [
        {
            "name": "basic-call-a-b",
            "id": 123,
            "duration": "1s",
            "testcase_name": "Basic call A to B",
            "when": [
                {
                    "overrides": {"step.1.0.dial_destination": "439990000"},
                    "outcome": "failed",
                    "result_description": "one-way audio: no RTP from callee",
                }
            ],
        },
        {"name": "slow-call", "id": 124, "duration": "3s"},
        {"name": "never-ends", "id": 125, "outcome": "running"},
    ],
    "projects": [{"name": "nightly", "id": 7, "duration": "1s"}],
}


def sipfront_runs_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if " sipfront runs" in line)
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("=="):
            break
        section.append(line)
    return section


def triggers(server: SandboxServer) -> list[dict[str, Any]]:
    return server.triggers()


# -- the fixture ------------------------------------------------------------------------------


def test_a_fixture_run_is_triggered_once_with_its_overrides_and_gives_sipfront_s_fields(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_sbc="""
        def test_new_sbc_takes_calls(sipfront):
            run = sipfront.run("basic-call-a-b", overrides={"step.1.0.dial_destination": "431"})
            run.check()
            assert run.passed and run.verdict == "passed" and run.status == "passed"
            assert run.test_id == 123 and run.test_name == "basic-call-a-b"
            assert run.testcase_name == "Basic call A to B"
            assert run.agentpool_name == "sandbox"
            assert run.session_id in run.report_url
            assert run.started_at is not None and run.stopped_at is not None
            assert run.duration_s == 1.0 and run.attempts == 1
            assert run.raw["has_passed"] == 1
        """
    )
    result = run_gate(None, "--junitxml=pytest.xml", server=server)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1
    assert triggers(server)[0]["step.1.0.dial_destination"] == "431"
    section = sipfront_runs_section(result.stdout.str())
    assert section[0].startswith("PASSED     test_new_sbc_takes_calls 1s http://127.0.0.1")
    properties = {
        p.get("name"): p.get("value")
        for p in ET.parse(pytester.path / "pytest.xml").iter("property")
    }
    assert properties["sipfront_status"] == "passed"
    assert str(properties["sipfront_report_url"]).startswith(server.base_url.split("/api")[0])


def test_starts_run_concurrently_each_triggered_once(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    """Five runs of 3 s each: every trigger reaches Sipfront before the first run could have
    ended, and the whole takes far less than the 15 s they would take one after another."""
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_many="""
        def test_five_at_once(sipfront):
            handles = [sipfront.start("slow-call", name=f"call-{n}") for n in range(5)]
            assert all(handle.wait().passed for handle in handles)
        """
    )
    result = run_gate(None, "--sipfront-concurrency", "5", server=server)
    result.assert_outcomes(passed=1)
    posts = [r for r in server.requests if r.endpoint == "tests.run"]
    assert len(posts) == 5
    first, last_post = posts[0].time, posts[-1].time
    assert last_post - first < 3.0, "a trigger waited for an earlier run to end"
    last_request = server.requests[-1].time
    assert last_request - first < 12.0, "the runs did not run concurrently"
    links = sipfront_runs_section(result.stdout.str())[0].split()[3:]
    assert len(links) == 5 and "(flaky)" not in sipfront_runs_section(result.stdout.str())[0]


def test_a_failing_run_fails_the_test_with_the_detail_block_and_no_traceback(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_fail="""
        def test_one_way_audio(sipfront):
            run = sipfront.run(
                "basic-call-a-b", overrides={"step.1.0.dial_destination": "439990000"}
            )
            run.check()
        """
    )
    result = run_gate(None, "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "Sipfront run failed: one-way audio: no RTP from callee [status: failed]" in text
    assert "  source   test_fail.py:2" in text
    assert "  report   http://127.0.0.1" in text
    assert "Traceback" not in text and "run.check()" not in text
    assert server.count("tests.run") == 1
    failure = ET.parse(pytester.path / "sf.xml").find(".//failure")
    assert failure is not None and failure.get("type") == "sipfront.failed"


def test_an_emergency_destination_is_refused_before_anything_is_sent(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_sos="""
        def test_dials_emergency(sipfront):
            sipfront.run("basic-call-a-b", overrides={"step.1.0.dial_destination": "tel:+112"})

        def test_sends_a_password(sipfront):
            sipfront.start("basic-call-a-b", overrides={"step.0.0.sip_password": "x"})

        def test_nested_value(sipfront):
            sipfront.start("basic-call-a-b", overrides={"step.1.0.dial_destination": ["1"]})
        """
    )
    result = run_gate(None, server=server)
    result.assert_outcomes(failed=3)
    text = result.stdout.str()
    assert "test_sos.py:2: overrides['step.1.0.dial_destination']: 'tel:+112' is an emergency" in (
        text
    )
    assert "allow_emergency_destination=True" in text
    assert (
        "test_sos.py:5: overrides['step.0.0.sip_password']: this key looks like a credential"
        in (text)
    )
    assert "must be a single value" in text
    assert "Traceback" not in text
    assert server.requests == []


def test_dry_run_skips_with_the_exact_request_and_sends_nothing(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_dry="""
        def test_planned(sipfront):
            sipfront.run("basic-call-a-b", overrides={"step.1.0.dial_destination": "431"})
            raise AssertionError("a dry run must not get here")
        """
    )
    result = run_gate(None, "--sipfront-dry-run", "-rs", server=server)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*dry run: would GET /tests/<id of basic-call-a-b>/status/last (its id from GET /tests)"
            ' for its history, then POST /tests/run {"step.1.0.dial_destination": "431", '
            '"test.name": "basic-call-a-b"} (timeout 30m)*'
        ]
    )
    assert server.requests == []


def test_without_credentials_a_fixture_run_errors_with_the_gate_s_message_and_sends_nothing(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_keys="""
        def test_run(sipfront):
            run = sipfront.run("basic-call-a-b")
            assert run.verdict == "auth" and not run.passed
            run.check()
        """
    )
    result = run_gate(None, server=server, env={"SIPFRONT_SECRET_KEY": None})
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"]
    )
    assert server.requests == []


def test_max_runs_counts_fixture_runs_as_they_are_started(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_budget="""
        def test_two_runs(sipfront):
            first = sipfront.start("basic-call-a-b")
            second = sipfront.start("basic-call-a-b", name="second")
            assert first.wait().passed
            result = second.wait()
            assert result.verdict == "max_runs", result.message
            assert result.message == (
                "This session would start 2 Sipfront runs; --sipfront-max-runs allows 1"
            )
        """
    )
    result = run_gate(None, "--sipfront-max-runs", "1", server=server)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1


def test_several_runs_of_one_test_are_listed_under_it_with_numbered_properties(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_both="""
        def test_both_directions_at_once(sipfront):
            a = sipfront.start("basic-call-a-b", name="a-to-b")
            b = sipfront.start(test_id=123, name="b-to-a")
            project = sipfront.run_project("nightly", test_ids=[11, 12])
            assert a.wait().passed and b.wait().passed and project.passed
        """
    )
    result = run_gate(None, "--junitxml=pytest.xml", "--sipfront-junit", "sf.xml", server=server)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 2 and server.count("projects.run") == 1
    project_body = next(b for b in triggers(server) if "project.name" in b)
    assert project_body["test_ids"] == [11, 12] and project_body["project.name"] == "nightly"
    names = [p.get("name") for p in ET.parse(pytester.path / "pytest.xml").iter("property")]
    assert {"sipfront_report_url_1", "sipfront_report_url_2", "sipfront_report_url_3"} <= set(names)
    case = ET.parse(pytester.path / "sf.xml").find(".//testcase")
    assert case is not None and case.get("name") == "test_both_directions_at_once"
    assert case.get("file") == "test_both.py"
    out = case.findtext("system-out") or ""
    assert out.count("/run/details/") >= 3


def test_under_xdist_each_fixture_run_is_triggered_once_by_the_controller(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_spread="""
        import pytest

        @pytest.mark.parametrize("number", range(4))
        def test_call(sipfront, number):
            run = sipfront.run("basic-call-a-b", overrides={"step.0.0.tag": str(number)})
            run.check()
        """
    )
    result = run_gate(
        None,
        "-n",
        "2",
        "--sipfront-junit",
        "sf.xml",
        "--sipfront-heartbeat",
        "0.3s",
        server=server,
        subprocess=True,
    )
    result.assert_outcomes(passed=4)
    assert server.count("tests.run") == 4
    assert sorted(body["step.0.0.tag"] for body in triggers(server)) == ["0", "1", "2", "3"]
    cases = ET.parse(pytester.path / "sf.xml").findall(".//testcase")
    assert len(cases) == 4
    section = sipfront_runs_section(result.stdout.str())
    assert len(section) == 4 + 1  # a line per run, then the session's count
    assert section[-1] == "4 Sipfront items: 4 passed"
    # A worker's stderr is hidden: the controller writes the heartbeat for the fixture runs.
    assert any(line.startswith("sipfront: waiting for basic-call-a-b") for line in result.errlines)


# -- the library, without pytest ----------------------------------------------------------------


def sandbox_client(server: SandboxServer, **settings: Any) -> Sipfront:
    environ = {"SIPFRONT_PUBLIC_KEY": PUBLIC_KEY, "SIPFRONT_SECRET_KEY": SECRET_KEY}
    settings.setdefault("poll_interval", "0.2s")
    settings.setdefault("max_rps", 200)
    return Sipfront(server.base_url, environ=environ, **settings)


def test_the_library_runs_concurrently_one_trigger_per_start(
    sipfront_sandbox: SandboxFactory,
) -> None:
    server = sipfront_sandbox(CATALOG)
    with sandbox_client(server) as client:
        handles = [client.start("slow-call", name=f"call-{n}") for n in range(4)]
        assert server.count("tests.run") <= 4  # start() returned at once
        results = [handle.wait() for handle in handles]
    assert [r.passed for r in results] == [True] * 4
    posts = [r.time for r in server.requests if r.endpoint == "tests.run"]
    assert len(posts) == 4
    assert max(posts) - min(posts) < 3.0, "a trigger waited for an earlier run to end"
    assert results[0].check() is results[0]


def test_the_library_raises_the_gate_s_failure_with_the_calling_line(
    sipfront_sandbox: SandboxFactory,
) -> None:
    server = sipfront_sandbox(CATALOG)
    with sandbox_client(server) as client:
        result = client.run("basic-call-a-b", overrides={"step.1.0.dial_destination": "439990000"})
    assert result.verdict == "failed" and result.result_description.startswith("one-way")
    with pytest.raises(SipfrontRunFailed) as failure:
        result.check()
    text = str(failure.value)
    assert text.startswith("Sipfront run failed: one-way audio: no RTP from callee")
    assert "  source   tests/test_python_api.py:" in text


def test_the_library_refuses_an_emergency_number_and_a_second_of_test_and_test_id(
    sipfront_sandbox: SandboxFactory,
) -> None:
    server = sipfront_sandbox(CATALOG)
    with sandbox_client(server) as client:
        with pytest.raises(ValueError, match="'911' is an emergency number"):
            client.start("basic-call-a-b", overrides={"step.1.0.dial_destination": "911"})
        with pytest.raises(ValueError, match="exactly one of test= and test_id="):
            client.start("basic-call-a-b", test_id=123)
        with pytest.raises(ValueError, match="not a Sipfront step key"):
            client.start("basic-call-a-b", overrides={"dial_destination": "431"})
        lab = client.run(
            "basic-call-a-b",
            overrides={"step.1.0.dial_destination": "911"},
            allow_emergency_destination=True,
        )
    assert lab.passed
    assert server.count("tests.run") == 1


def test_closing_the_library_returns_the_runs_still_going_at_sipfront(
    sipfront_sandbox: SandboxFactory,
) -> None:
    server = sipfront_sandbox(CATALOG)
    client = sandbox_client(server)
    handle = client.start("never-ends")
    while not any(r.endpoint == "runs.status" for r in server.requests):
        assert handle.result is None
        time.sleep(0.05)
    still = client.close()
    assert [r.verdict for r in still] == ["interrupted"]
    assert (
        still[0].report_url
        and still[0].message == "Interrupted; the run is still going at Sipfront"
    )
    assert handle.wait().verdict == "interrupted"
    with pytest.raises(SipfrontRunError, match="closed"):
        client.start("basic-call-a-b")
    assert server.count("tests.run") == 1


def test_a_library_setting_that_cannot_be_used_names_the_keyword() -> None:
    with pytest.raises(ValueError, match=r"^timeout='10x' is not a duration"):
        Sipfront(sandbox=True, timeout="10x")


# -- sipfront run --------------------------------------------------------------------------------


def cli(server: SandboxServer, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", SECRET_KEY)
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["run", *args, "--api-url", server.base_url, "--poll-interval", "0.2s"], out=out, err=err
    )
    for text in (out.getvalue(), err.getvalue()):
        assert PUBLIC_KEY not in text and SECRET_KEY not in text
    return code, out.getvalue(), err.getvalue()


def test_sipfront_run_exits_0_for_a_pass_1_for_a_failure_2_for_a_gate_error(
    sipfront_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sipfront_sandbox(CATALOG)
    code, out, _ = cli(server, monkeypatch, "basic-call-a-b", "--destination", "431")
    assert code == 0 and out.startswith("Sipfront run passed: basic-call-a-b\n")
    assert "  report   http://127.0.0.1" in out
    code, out, _ = cli(server, monkeypatch, "basic-call-a-b", "--destination", "439990000")
    assert code == 1 and out.startswith("Sipfront run failed: one-way audio")
    server.add_fault(Fault(endpoint="projects.run", status=422, error="Project not found"))
    code, out, _ = cli(server, monkeypatch, "--project", "no-such-project")
    assert code == 2 and out.startswith("Sipfront refused to start the run")
    assert server.count("tests.run") == 2 and server.count("projects.run") == 1


def test_sipfront_run_refuses_an_emergency_number_before_sending(
    sipfront_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sipfront_sandbox(CATALOG)
    code, out, err = cli(
        server, monkeypatch, "basic-call-a-b", "--override", "step.1.0.dial_destination=112"
    )
    assert code == 2 and out == ""
    assert "'112' is an emergency number" in err and "--allow-emergency-destination" in err
    assert server.requests == []


def test_sipfront_run_json_has_the_result_fields(
    sipfront_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sipfront_sandbox(CATALOG)
    code, out, _ = cli(server, monkeypatch, "--test-id", "123", "--json")
    data = json.loads(out)
    assert code == 0 and data["passed"] is True and data["verdict"] == "passed"
    assert data["test_id"] == 123 and data["agentpool_name"] == "sandbox"
    code, out, _ = cli(server, monkeypatch, "--project", "nightly", "--test-ids", "11,12", "--json")
    assert code == 0 and json.loads(out)["passed"] is True
    assert triggers(server)[-1]["test_ids"] == [11, 12]


def test_sipfront_run_sandbox_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SIPFRONT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("SIPFRONT_SECRET_KEY", raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "basic-call-a-b", "--sandbox", "--poll-interval", "0.2s"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "SANDBOX run: nothing was tested at Sipfront" in out.getvalue()
    assert pytest_sipfront.library.command.DESTINATION_KEY == "step.1.0.dial_destination"


# -- the manual's examples (docs/python.md) -----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
FROM_PYTHON = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")


def from_python_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", FROM_PYTHON, flags=re.S)


@pytest.mark.slow
def test_the_manuals_fixture_example_is_the_example_file_and_passes_against_the_sandbox(
    pytester: pytest.Pytester,
) -> None:
    example = (ROOT / "examples" / "test_dynamic_destination.py").read_text(encoding="utf-8")
    block = from_python_blocks("python")[0]
    for chunk in block.split("\n\n\n"):
        assert chunk.strip() in example
    pytester.makepyfile(test_dynamic_destination=example)
    catalog = pytester.path / "sandbox-catalog.yml"
    catalog.write_text((ROOT / "examples" / "sandbox-catalog.yml").read_text("utf-8"), "utf-8")
    result = pytester.runpytest_subprocess(
        "--sipfront-sandbox-catalog", str(catalog), "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=2)
    assert "SANDBOX" in result.stdout.str()


@pytest.mark.slow
def test_the_manuals_library_example_runs_as_a_plain_script(
    pytester: pytest.Pytester, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    script = pytester.path / "script.py"
    script.write_text(from_python_blocks("python")[1], encoding="utf-8")
    environment = {
        **os.environ,
        "SIPFRONT_API_URL": server.base_url,
        "SIPFRONT_PUBLIC_KEY": PUBLIC_KEY,
        "SIPFRONT_SECRET_KEY": SECRET_KEY,
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("passed http://127.0.0.1") == 2
    assert server.count("tests.run") == 2
    assert PUBLIC_KEY not in done.stdout + done.stderr and SECRET_KEY not in done.stderr


def test_importing_the_package_does_not_load_the_library() -> None:
    code = "import json, sys\nimport pytest_sipfront\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert [m for m in loaded if m.split(".")[0] in ("requests", "yaml", "jsonschema")] == []
    assert "pytest_sipfront.library.sipfront" not in loaded


# -- heartbeats, interrupts and the GitHub reports for fixture runs --------------------------------


def test_a_fixture_run_shows_the_heartbeat_while_it_waits(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_beat="""
        def test_slow(sipfront):
            assert sipfront.run("slow-call", name="slow").passed
        """
    )
    result = run_gate(None, "--sipfront-heartbeat", "0.5s", server=server)
    result.assert_outcomes(passed=1)
    assert any(
        line.startswith("sipfront: waiting for slow (running ") for line in result.errlines
    ), result.errlines


def test_a_passed_fixture_run_shows_its_detail_block_with_ra(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_ra="""
        def test_call(sipfront):
            assert sipfront.run("basic-call-a-b").passed
        """
    )
    result = run_gate(None, "-rA", server=server)
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "Captured sipfront call" in text and "  source   test_ra.py:2" in text


def test_a_failed_fixture_run_is_annotated_at_its_test_and_in_the_github_summary(
    pytester: pytest.Pytester, run_gate: GateRunner, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.makepyfile(
        test_gh="""
        def test_call(sipfront):
            sipfront.run(
                "basic-call-a-b", overrides={"step.1.0.dial_destination": "439990000"}
            ).check()
        """
    )
    summary = pytester.path / "summary.md"
    result = run_gate(
        None,
        server=server,
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(pytester.path),
        },
    )
    result.assert_outcomes(failed=1)
    annotations = [line for line in result.outlines if line.startswith("::error ")]
    assert len(annotations) == 1
    assert "file=test_gh.py,line=1," in annotations[0]
    assert "Sipfront run failed: one-way audio" in annotations[0]
    text = summary.read_text(encoding="utf-8")
    assert "test\\_call" in text and "/run/details/" in text  # Markdown-escaped name


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_during_fixture_runs_ends_the_session_and_lists_the_runs_still_going(
    tmp_path: Path, sipfront_sandbox: SandboxFactory
) -> None:
    server = sipfront_sandbox({"tests": [{"name": "long-call", "duration": "120s"}]})
    (tmp_path / "test_long.py").write_text(
        "def test_two_long_calls(sipfront):\n"
        "    a = sipfront.start('long-call', name='long-a')\n"
        "    b = sipfront.start('long-call', name='long-b')\n"
        "    assert a.wait().passed and b.wait().passed\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SIPFRONT_"))}
    env.update(SIPFRONT_PUBLIC_KEY=PUBLIC_KEY, SIPFRONT_SECRET_KEY=SECRET_KEY)
    env.pop("GITHUB_ACTIONS", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_long.py",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            "--sipfront-url",
            server.base_url,
            "--sipfront-poll-interval",
            "0.2s",
            "--sipfront-junit",
            "sf.xml",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 30
        while len({r.path for r in server.requests if r.endpoint == "runs.status"}) < 2:
            assert time.monotonic() < end, "the two runs were never polled"
            time.sleep(0.05)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    took = time.monotonic() - sent
    assert took < 30, "the session did not end long before the 120 s runs would"
    assert process.returncode == 2, out + err
    running = [line for line in out.splitlines() if line.startswith("RUNNING")]
    assert len(running) == 2 and all("/run/details/" in line for line in running), out
    assert server.count("tests.run") == 2
    assert "sipfront.interrupted" not in err and "Traceback" not in err
    assert (tmp_path / "sf.xml").exists()
    assert PUBLIC_KEY not in out + err and SECRET_KEY not in out + err


def test_the_library_and_sipfront_run_do_not_import_pytest() -> None:
    code = (
        "import sys\n"
        "from pytest_sipfront import Sipfront\n"
        "import pytest_sipfront.library.command\n"
        "Sipfront(sandbox=True).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
