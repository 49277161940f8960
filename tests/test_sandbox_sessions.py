"""Sessions that meet a sandbox: a sandbox behind a plain API URL is called SANDBOX in every
report, and a sandbox catalog that cannot be used is one usage error, never an internal one."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import GateRunner, SandboxFactory

ONE_ENTRY = """
tests:
  - {name: plain, test: t-plain}
"""


def test_a_session_against_a_sandbox_at_a_plain_api_url_says_sandbox_in_every_report(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    summary = pytester.path / "summary.md"
    result = run_gate(
        ONE_ENTRY,
        "--sipfront-junit",
        "junit.xml",
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1
    result.stdout.re_match_lines([r"=+ sipfront runs \(SANDBOX.*\) =+$"])
    root = ET.parse(pytester.path / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["sipfront.sandbox"] == "true"
    assert "SANDBOX" in summary.read_text(encoding="utf-8").splitlines()[0]


def test_a_session_against_a_real_looking_server_does_not_say_sandbox(
    run_gate: GateRunner, pytester: pytest.Pytester, httpserver: object
) -> None:
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    base = httpserver.url_for("/api/v2")
    httpserver.expect_request("/api/v2/tests/run", method="POST").respond_with_json(
        {"data": {"session_id": "s-1", "status_url": f"{base}/runs/s-1/status"}}
    )
    httpserver.expect_request("/api/v2/runs/s-1/status").respond_with_json(
        {"run": {"status": "passed", "is_finished": 1, "has_passed": 1, "is_failed": 0}}
    )
    result = run_gate(
        ONE_ENTRY,
        "--sipfront-url",
        base,
        "--sipfront-junit",
        "junit.xml",
        server=None,
    )
    result.assert_outcomes(passed=1)
    assert not any("SANDBOX" in line for line in result.outlines)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["sipfront.sandbox"] == "false"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"catalog\.yml:1:1: cannot read the catalog: No such file or directory"),
        ("- a\n- b\n", r"catalog\.yml:1:1: the catalog must be a mapping"),
        ("tests:\n  - name: a\n    outcome: failed\n    outcome: passed\n", r"catalog\.yml:4:5: "),
    ],
)
def test_a_missing_or_non_mapping_sandbox_catalog_is_one_usage_error_not_an_internal_error(
    run_gate: GateRunner, pytester: pytest.Pytester, content: str | None, expected: str
) -> None:
    if content is not None:
        pytester.makefile(".yml", catalog=content)
    result = run_gate(ONE_ENTRY, "--sipfront-sandbox-catalog", "catalog.yml", server=None)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = "\n".join(result.outlines + result.errlines)
    assert "INTERNALERROR" not in text and "Traceback" not in text
    errors = [line for line in result.errlines if "sipfront-sandbox-catalog" in line]
    assert len(errors) == 1 and re.search(expected, errors[0]), result.errlines


def test_a_sandbox_catalog_on_dev_zero_is_refused_without_reading_it(
    run_gate: GateRunner,
) -> None:
    result = run_gate(
        ONE_ENTRY, "--sipfront-sandbox-catalog", "/dev/zero", server=None, subprocess=True
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*/dev/zero:1:1: cannot read the catalog: it is not a regular*"])


def test_sim_with_a_catalog_that_is_no_catalog_does_not_echo_its_content(tmp_path: Path) -> None:
    from pytest_sipfront.cli import main

    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$c2VjcmV0$hunter2hunter2:19000:0:99999:7:::\n")
    import io

    out, err = io.StringIO(), io.StringIO()
    assert main(["sim", "--catalog", os.fspath(shadow)], out=out, err=err) == 2
    assert "hunter2" not in out.getvalue() + err.getvalue()
    assert "root" not in err.getvalue().replace(str(tmp_path), "")
    assert err.getvalue().count("\n") == 1


def test_a_failure_from_a_sandbox_at_a_plain_api_url_says_sandbox_in_its_detail_block(
    sipfront_sandbox: SandboxFactory, run_gate: GateRunner
) -> None:
    server = sipfront_sandbox(
        {"tests": [{"name": "t-plain", "duration": 0.2, "outcome": "failed"}]}
    )
    result = run_gate(ONE_ENTRY, server=server)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  sandbox   SANDBOX run: nothing was tested at Sipfront"])


def test_the_library_marks_a_result_from_a_sandbox_at_a_plain_api_url(
    sipfront_sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox_keys import keys_of

    from pytest_sipfront import Sipfront

    server = sipfront_sandbox({"default_duration": 0.2})
    public, secret = keys_of(server)
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", public)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", secret)
    with Sipfront(api_url=server.base_url, poll_interval="0.2s") as sipfront:
        result = sipfront.run(test="t-plain")
    assert result.passed
    assert result.to_dict()["sandbox"] is True
