"""Media metrics where people look: the JUnit ``<system-out>`` table, the GitHub job summary's
folded table and Mermaid chart, pytest-html's inline SVG, allure's CSV; and under xdist."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from pytest_sipfront.media.render import markdown_section, svg_chart
from pytest_sipfront.media.report import KeptSeries, MediaReport
from pytest_sipfront.reports.github import markdown_cell
from pytest_sipfront.sandbox import SandboxServer

GateRunner = Callable[..., pytest.RunResult]
Factory = Callable[..., SandboxServer]
PROFILE = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"

MANIFEST = """
tests:
  - name: spiky
    test: spiky
    thresholds:
      rtp_jitter: "p95 < 30"
  - name: fine
    test: fine
"""


def catalog() -> dict[str, Any]:
    return {
        "tests": [
            {"name": "spiky", "duration": "0.3s", "media": "jitter_spike"},
            {"name": "fine", "duration": "0.3s", "media": "steady"},
        ]
    }


def test_junit_system_out_carries_a_media_table_and_the_file_validates(
    run_gate: GateRunner, sipfront_sandbox: Factory, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(MANIFEST, "--sipfront-junit", "out.xml", server=server)
    result.assert_outcomes(failed=1, passed=1)
    path = pytester.path / "out.xml"
    xmlschema.XMLSchema(str(PROFILE)).validate(str(path))
    cases = {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}
    out = cases["spiky"].findtext("system-out") or ""
    assert "media metrics:" in out
    rows = [line.split() for line in out.split("media metrics:\n", 1)[1].splitlines()]
    assert rows[0] == [
        "measure",
        "role",
        "dir",
        "count",
        "min",
        "median",
        "p95",
        "max",
        "mean",
        "unit",
    ]
    assert ["rtp_jitter", "callee", "in", "60", "4", "5", "80", "80", "12.5", "ms"] in rows
    failure = cases["spiky"].find("failure")
    assert failure is not None
    assert "media threshold breached: rtp_jitter p95 80 ms > 30" in failure.get("message", "")
    assert "media metrics:" not in (cases["fine"].findtext("system-out") or "")


def test_the_job_summary_folds_a_table_and_a_mermaid_chart_for_a_breached_run(
    run_gate: GateRunner, sipfront_sandbox: Factory, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(catalog())
    summary = pytester.path / "summary.md"
    result = run_gate(
        MANIFEST,
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(failed=1, passed=1)
    text = summary.read_text("utf-8")
    assert text.count("<details><summary>Media metrics:") == 1
    assert "<details><summary>Media metrics: spiky</summary>" in text
    assert "| measure | role | dir | count | min | median | p95 | max | mean | unit |" in text
    assert "```mermaid\nxychart-beta\n" in text
    assert 'title "rtp_jitter (caller, in) [ms]"' in text
    assert "60 of 60 points shown." in text


def test_a_chart_shows_at_most_100_measured_points_keeping_the_spike() -> None:
    times = [float(t) for t in range(5000)]
    values = [5.0] * 5000
    values[4321] = 250.0
    kept = KeptSeries("rtp_jitter", "callee", "in", "ms", times, values, 5000)
    section = markdown_section(MediaReport(series=[kept]), "call", markdown_cell)
    line = next(row for row in section.splitlines() if row.strip().startswith("line ["))
    numbers = line.strip()[len("line [") : -1].split(", ")
    assert len(numbers) == 100
    assert "250" in numbers
    assert set(numbers) == {"5", "250"}  # measured values only, none averaged


def test_the_svg_chart_escapes_what_came_from_sipfront() -> None:
    kept = KeptSeries("<script>alert(1)</script>", "a&b", "in", "", [1.0, 2.0], [1.0, 2.0], 2)
    svg = svg_chart(kept)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "a&amp;b" in svg


def test_pytest_html_gets_an_inline_svg_chart_in_the_item_extras(
    run_gate: GateRunner, sipfront_sandbox: Factory, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(
        MANIFEST, "--html=report.html", "--self-contained-html", server=server, subprocess=True
    )
    result.assert_outcomes(failed=1, passed=1)
    html = (pytester.path / "report.html").read_text("utf-8")
    assert "<svg" in html or "&lt;svg" in html
    assert "polyline" in html


def test_allure_gets_the_series_as_csv(
    run_gate: GateRunner, sipfront_sandbox: Factory, pytester: pytest.Pytester
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(MANIFEST, "--alluredir=allure", server=server, subprocess=True)
    result.assert_outcomes(failed=1, passed=1)
    csvs = [p.read_text("utf-8") for p in (pytester.path / "allure").glob("*.csv")]
    assert len(csvs) == 1
    assert csvs[0].startswith("measure,role,dir,time,value,unit\n")
    assert "rtp_jitter,callee,in,1765000030.000000,80,ms" in csvs[0]


def test_under_xdist_a_breach_fails_its_item_and_each_run_is_asked_once(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(MANIFEST, "-n", "2", server=server, subprocess=True, timeout=120)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*media threshold breached: rtp_jitter p95 80 ms > 30*"])
    dimensions = [r for r in server.requests if r.endpoint == "runs.stats"]
    assert len(dimensions) == 1  # the passing run without thresholds is not measured


def test_the_job_summary_stays_under_its_limit_and_counts_the_media_sections_left_out() -> None:
    from report_records import record

    from pytest_sipfront.reports.github import step_summary
    from pytest_sipfront.runs.outcome import PytestOutcome, SessionInfo, Verdict

    kept = KeptSeries(
        "rtp_jitter", "callee", "in", "ms", [float(t) for t in range(500)], [5.0] * 500, 500
    )
    records = []
    for number in range(200):
        item = record(
            f"call-{number}", PytestOutcome.FAILED, verdict=Verdict.FAILED, sessions=("s",)
        )
        assert item.run is not None
        item.run.media = MediaReport(series=[kept])
        records.append(item)
    limit = 64 * 1024
    text = step_summary(
        records, SessionInfo(api_url="", sandbox=False, rootdir="."), limit_bytes=limit
    )
    assert len(text.encode("utf-8")) <= limit
    shown = text.count("<details><summary>Media metrics:")
    assert 0 < shown < 200
    assert f"Media metrics of {200 - shown} runs left out to keep this summary" in text


def test_hostile_measure_names_are_escaped_in_the_summary_table_and_chart() -> None:
    from pytest_sipfront.media.summary import Summary

    name = '<img src=x>|`x`[a](b)"\n%%{init}'
    summary = Summary(name, "callee", "in", 2, 1.0, 1.0, 2.0, 2.0, 1.5)
    kept = KeptSeries(name, "callee", "in", "", [1.0, 2.0], [1.0, 2.0], 2)
    section = markdown_section(
        MediaReport(summaries=[summary], series=[kept]), "<b>call</b>", markdown_cell
    )
    assert "<img" not in section and "<b>" not in section
    assert "&lt;img src=x&gt;\\|" in section
    title = next(line for line in section.splitlines() if line.strip().startswith("title"))
    assert title.count('"') == 2 and "%%" not in title and "{" not in title
