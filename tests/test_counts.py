"""One set of counts on every surface: pytest's last line, the "sipfront runs" section, the GitHub
job summary, the JUnit file, the results JSON and the action's outputs agree, for a table of
real sessions against the sandbox (xfailed and xpassed counted apart everywhere, flaky named)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from terminal_sections import runs_section

from pytest_sipfront.sandbox import SandboxServer

KINDS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")

CATALOG: dict[str, Any] = {
    "default_duration": 0.2,
    "unknown_tests: refuse": None,
    "tests": [
        {"name": "good", "id": 11, "duration": 0.2, "outcome": "passed"},
        {"name": "bad", "id": 12, "duration": 0.2, "outcome": "failed",
         "result_description": "one-way audio"},
        {"name": "old-bad", "id": 13, "duration": 0.2, "outcome": "failed",
         "result_description": "still broken", "previous": {"outcome": "failed"}},
        {"name": "wobbly", "id": 14, "duration": 0.2, "outcome": "passed"},
    ],
    "faults": [
        {"endpoint": "tests.run", "status": 422, "error": "Test not found", "test": "ghost",
         "times": 0},
        {
            "endpoint": "runs.status",
            "times": 1,
            "test": "wobbly",
            "body": json.dumps({"run": {"is_finished": 1, "has_passed": 0, "is_failed": 1,
                                        "status": "failed", "session_status": "failed",
                                        "result_description": "registration timed out"},
                                "status": 200}),
            "content_type": "application/json",
        },
    ],
}  # fmt: skip
del CATALOG["unknown_tests: refuse"]

GOOD = "{name: %s, test: good}"
SESSIONS: dict[str, tuple[list[str], list[str], dict[str, int]]] = {
    # id: (manifest entries, extra options, expected counts)
    "all passed": ([GOOD % "a", GOOD % "b"], [], {"passed": 2}),
    "one failed": ([GOOD % "a", "{name: b, test: bad}"], [], {"passed": 1, "failed": 1}),
    "xfailed": (
        [GOOD % "a", "{name: b, test: bad, xfail: known}"],
        [],
        {"passed": 1, "xfailed": 1},
    ),
    "xpassed and failed": (
        ["{name: a, test: good, xfail: fixed?}", "{name: b, test: bad}"],
        [],
        {"xpassed": 1, "failed": 1},
    ),
    "skipped": (
        [GOOD % "a", "{name: b, test: good, skip: later}"],
        [],
        {"passed": 1, "skipped": 1},
    ),
    "flaky": (
        [GOOD % "a", "{name: b, test: wobbly, retries: 2}"],
        [],
        {"passed": 2, "flaky": 1},
    ),
    "refused": ([GOOD % "a", "{name: b, test: ghost}"], [], {"passed": 1, "errors": 1}),
    "already failing, fail-on new": (
        [GOOD % "a", "{name: b, test: old-bad}"],
        ["--sipfront-fail-on", "new"],
        {"passed": 1, "xfailed": 1},
    ),
    "every kind": (
        [
            GOOD % "a",
            "{name: b, test: bad}",
            "{name: c, test: bad, xfail: known}",
            "{name: d, test: good, xfail: fixed?}",
            "{name: e, test: good, skip: later}",
            "{name: f, test: ghost}",
            "{name: g, test: wobbly, retries: 1}",
        ],
        [],
        {"passed": 2, "failed": 1, "xfailed": 1, "xpassed": 1, "skipped": 1, "errors": 1,
         "flaky": 1},
    ),
}  # fmt: skip

TALLY_PLUGIN = """
import json
import pytest
from pytest_sipfront.ci.action import Collector, Tally

collector = Collector()


def pytest_configure(config):
    config.pluginmanager.register(collector, "action-collector")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("outputs.json", "w", encoding="utf-8") as stream:
        json.dump(Tally(collector, None, "").outputs, stream)
"""


def pytest_line_counts(lines: list[str]) -> dict[str, int]:
    """pytest's last line (``1 failed, 2 passed, 1 xfailed, 1 error in 3.2s``), by word."""
    last = [line for line in lines if re.search(r" in [\d.]+s", line)][-1]
    counts = {}
    for number, word in re.findall(r"(\d+) (\w+)", last):
        counts["errors" if word == "error" else word] = int(number)
    return counts


def phrase_counts(text: str) -> dict[str, int]:
    """``2 failed, 3 passed (1 flaky), 1 xfailed, 2 errors`` by word."""
    counts = {}
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|flaky)",
                                   text):  # fmt: skip
        counts["errors" if word == "error" else word] = int(number)
    return counts


def junit_counts(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    properties = {
        p.get("name", ""): p.get("value", "")
        for p in root.iter("property")
        if p.get("name", "").startswith("sipfront.count.")
    }
    return {name.removeprefix("sipfront.count."): int(value) for name, value in properties.items()}


def nonzero(counts: dict[str, int], keys: tuple[str, ...] = (*KINDS, "flaky")) -> dict[str, int]:
    return {key: counts[key] for key in keys if counts.get(key)}


@pytest.mark.parametrize("session", list(SESSIONS), ids=list(SESSIONS))
def test_every_surface_shows_the_same_counts(
    session: str,
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    entries, options, expected = SESSIONS[session]
    server = sipfront_sandbox(CATALOG)
    pytester.makeconftest(TALLY_PLUGIN)
    summary = pytester.path / "summary.md"
    manifest = "tests:\n" + "".join(f"  - {entry}\n" for entry in entries)
    result = run_gate(
        manifest,
        "--sipfront-junit",
        "junit.xml",
        "--sipfront-json",
        "results.json",
        *options,
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    wanted = nonzero(expected)
    total = sum(expected.get(kind, 0) for kind in KINDS)

    # pytest's own last line (flaky passes are passes there).
    assert pytest_line_counts(result.outlines) == nonzero(expected, KINDS), result.stdout.str()
    # The "sipfront runs" section ends with the same count.
    section = runs_section(result.stdout.str()).strip().splitlines()
    assert section[-1].startswith(f"{total} Sipfront item")
    assert phrase_counts(section[-1]) == wanted
    # The job summary's count line.
    text = summary.read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith(f"**{total} Sipfront item")]
    assert phrase_counts(line) == wanted
    # The JUnit file's session properties, and its own attributes where JUnit has a word.
    junit = junit_counts(pytester.path / "junit.xml")
    assert nonzero(junit) == wanted and junit["total"] == total
    root = ET.parse(pytester.path / "junit.xml").getroot()
    assert int(root.get("failures", "0")) == expected.get("failed", 0)
    assert int(root.get("errors", "0")) == expected.get("errors", 0)
    # The results JSON.
    document = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    assert nonzero(document["session"]["counts"]) == wanted
    assert document["session"]["counts"]["total"] == total
    # The action's outputs.
    outputs = json.loads((pytester.path / "outputs.json").read_text(encoding="utf-8"))
    assert nonzero({key: int(outputs[key]) for key in (*KINDS, "flaky")}) == wanted
    assert int(outputs["total"]) == total
