"""Sipfront report links in the reports other plugins write: pytest-html and allure-pytest."""

from __future__ import annotations

import html as html_module
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_sipfront.sandbox import SandboxServer

MATRIX = """
    version: 1
    tests:
      - name: calls
        test: basic-call
        matrix:
          step.1.0.dial_destination: ["4311", "4322"]
      - name: broken
        test: broken-call
      - name: known
        test: broken-call
        xfail: the carrier drops this call today
      - name: gone
        test: gone-call
      - name: retried
        test: broken-call
        retries: 1
"""
# Every kind of item (passed, failed, xfailed, an error after the trigger) carries its link.
CATALOG = {
    "default_duration": 0.2,
    "tests": [
        {"name": "broken-call", "outcome": "failed", "duration": 0.2},
        {"name": "gone-call", "duration": 5, "behaviour": {"vanish_after": 0}},
    ],
}
ITEMS = ("calls[4311]", "calls[4322]", "broken", "known", "gone", "retried")
OUTCOMES = {"passed": 2, "failed": 2, "xfailed": 1, "errors": 1}
LINKS = {name: 2 if name == "retried" else 1 for name in ITEMS}
"""Report links per item: one per attempt (the retried run was triggered twice)."""
TRIGGERS = sum(LINKS.values())


def test_pytest_html_shows_one_report_link_per_item_with_its_matrix_values(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_html")
    server = sipfront_sandbox(CATALOG)
    result = run_gate(
        MATRIX, "--html=report.html", "--self-contained-html", server=server, subprocess=True
    )
    result.assert_outcomes(**OUTCOMES)
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    data = re.search(r'data-jsonblob="([^"]*)"', html)
    assert data is not None
    blob = json.loads(
        data.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
    )
    extras = {
        test_id: [e for run in runs for e in run.get("extras", [])]
        for test_id, runs in blob["tests"].items()
    }
    assert set(extras) == {f"sipfront.yml::{name}" for name in ITEMS}
    for test_id, found in extras.items():
        urls = [e for e in found if e["format_type"] == "url"]
        assert len(urls) == LINKS[test_id.split("::")[1]], test_id
        assert urls[0]["content"].startswith(server.origin)
        assert test_id.split("::")[1] in urls[0]["name"]
        assert "session " in urls[0]["name"]
    assert server.count("tests.run") == TRIGGERS


def test_allure_results_carry_the_report_link_matrix_parameters_and_the_detail_block(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("allure_pytest")
    server = sipfront_sandbox(CATALOG)
    result = run_gate(MATRIX, "--alluredir=allure", server=server, subprocess=True)
    result.assert_outcomes(**OUTCOMES)
    results = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (pytester.path / "allure").glob("*-result.json")
    ]
    by_name = {r["name"]: r for r in results}
    assert set(by_name) == set(ITEMS)
    for name, found in by_name.items():
        links = [link for link in found.get("links", []) if link["url"].startswith(server.origin)]
        assert len(links) == LINKS[name], name
        attachments = [a for a in found.get("attachments", []) if a["name"] == "sipfront"]
        assert len(attachments) == 1, name
        text = (pytester.path / "allure" / attachments[0]["source"]).read_text("utf-8")
        assert all(link["url"] in text for link in links)
    parameters = {p["name"]: p["value"] for p in by_name["calls[4322]"].get("parameters", [])}
    assert parameters.get("step.1.0.dial_destination") in ("'4322'", "4322")
    assert by_name["calls[4311]"]["status"] == "passed"
    assert server.count("tests.run") == TRIGGERS


def test_without_an_allure_dir_or_html_option_no_report_plugin_is_touched(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(CATALOG)
    result = run_gate(MATRIX, "-p", "no:html", server=server)
    result.assert_outcomes(**OUTCOMES)


def test_pytest_html_gets_the_session_id_and_report_url_escaped(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_html")
    trigger = {
        "data": {
            "session_id": "<img src=x onerror=alert(1)>",
            "report_url": 'https://app.sipfront.com/r?a="><img/src=x/onerror=alert(2)>',
            "status_url": "/api/v2/runs/hostile/status",
        },
        "status": 200,
    }
    passed = {"run": {"is_finished": 1, "has_passed": 1, "status": "passed"}, "status": 200}
    server = sipfront_sandbox(
        {
            "faults": [
                {
                    "endpoint": endpoint,
                    "body": json.dumps(body),
                    "content_type": "application/json",
                    "times": 0,
                }
                for endpoint, body in (("tests.run", trigger), ("runs.status", passed))
            ]
        }
    )
    result = run_gate(
        "version: 1\ntests:\n  - name: hostile\n    test: basic-call\n",
        "--html=report.html",
        "--self-contained-html",
        "--sipfront-history=off",
        server=server,
        subprocess=True,
    )
    result.assert_outcomes(passed=1)
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    data = re.search(r'data-jsonblob="([^"]*)"', html)
    assert data is not None
    blob = json.loads(html_module.unescape(data.group(1)))  # the attribute's true value
    extras = [e for runs in blob["tests"].values() for run in runs for e in run.get("extras", [])]
    links = [e for e in extras if e["format_type"] == "url"]
    assert len(links) == 1
    # pytest-html puts name and content into its HTML as they are: no tag may survive.
    for text in (links[0]["name"], links[0]["content"]):
        assert "<" not in text and ">" not in text and '"' not in text, text
    assert "&lt;img src=x onerror=alert(1)&gt;" in links[0]["name"]


# --- true durations and the environment ---------------------------------------------------------

TIMED = """
    tests:
      - {name: first, test: two-seconds}
      - {name: second, test: two-seconds}
      - {name: third, test: two-seconds}
      - {name: fourth, test: two-seconds}
"""
TIMED_CATALOG = {"tests": [{"name": "two-seconds", "duration": 2}]}
"""Four runs of 2 s started together: timed by pytest, the first item would take its whole run
and the three after it a few milliseconds (their runs had finished when pytest reached them)."""


def html_blob(path: Path) -> dict[str, Any]:
    html = path.read_text(encoding="utf-8")
    data = re.search(r'data-jsonblob="([^"]*)"', html)
    assert data is not None
    blob: dict[str, Any] = json.loads(
        data.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
    )
    return blob


def test_pytest_html_shows_each_runs_own_duration_the_wait_apart_and_the_api_in_its_environment(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_html")
    server = sipfront_sandbox(TIMED_CATALOG)
    result = run_gate(
        TIMED, "--html=report.html", "--self-contained-html", server=server, subprocess=True
    )
    result.assert_outcomes(passed=4)
    blob = html_blob(pytester.path / "report.html")
    for test_id, runs in blob["tests"].items():
        (call,) = [run for run in runs if run["testId"] == test_id]
        # A run of 2 s (Sipfront's timestamps are whole seconds): never a few milliseconds.
        assert call["duration"] in ("00:00:01", "00:00:02", "00:00:03", "00:00:04"), call
        timing = [e for e in call["extras"] if e["name"] == "Sipfront timing"]
        assert len(timing) == 1 and "pytest waited" in timing[0]["content"], call["extras"]
    assert blob["environment"]["Sipfront API"] == server.base_url
    assert blob["environment"]["Sipfront"].startswith("SANDBOX")  # the server said it is one


def test_pytest_html_environment_says_sandbox_in_a_sandbox_session(
    run_gate: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    pytest.importorskip("pytest_html")
    result = run_gate(
        "tests:\n  - {name: call, test: basic-call}\n",
        "--sipfront-sandbox",
        "--html=report.html",
        "--self-contained-html",
        server=None,
        subprocess=True,
    )
    result.assert_outcomes(passed=1)
    environment = html_blob(pytester.path / "report.html")["environment"]
    assert environment["Sipfront"].startswith("SANDBOX")


def test_allure_times_each_test_by_its_run_keeps_the_wait_apart_and_names_the_api(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("allure_pytest")
    server = sipfront_sandbox(TIMED_CATALOG)
    allure = pytester.path / "allure"
    allure.mkdir()
    (allure / "environment.properties").write_text("Branch=main\n", encoding="utf-8")
    result = run_gate(TIMED, "--alluredir=allure", server=server, subprocess=True)
    result.assert_outcomes(passed=4)
    results = [json.loads(p.read_text("utf-8")) for p in allure.glob("*-result.json")]
    assert len(results) == 4
    for found in results:
        assert 1000 <= found["stop"] - found["start"] <= 3000, found["name"]
        waits = [p for p in found.get("parameters", []) if p["name"] == "sipfront wait"]
        assert len(waits) == 1 and waits[0].get("excluded") is True, found["parameters"]
    environment = (allure / "environment.properties").read_text(encoding="utf-8").splitlines()
    assert "Branch=main" in environment  # the team's own entries stay
    assert f"Sipfront\\ API={server.base_url}" in environment
    # The test server identifies itself as a sandbox: the environment says so.
    assert "Sipfront=SANDBOX: nothing was tested at Sipfront" in environment


def test_pytest_junitxml_times_each_item_by_its_run_and_keeps_the_wait_as_a_property(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(TIMED_CATALOG)
    run_gate(TIMED, "--junitxml=junit.xml", server=server).assert_outcomes(passed=4)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 4
    for case in cases:
        assert 1.0 <= float(case.get("time", "0")) <= 3.5, case.get("name")
        names = [p.get("name") for p in case.iter("property")]
        assert "sipfront_wait_s" in names
