"""Trust at the root, seen from a real pytest session against the sandbox: the verdict is read
from the body Sipfront sent, never from its cleaned copy; history trusts only a consistent
verdict and an exact name; every Sipfront string for a one-line place is one line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from pytest_sipfront.sandbox import SandboxServer

StartSandbox = Callable[..., SandboxServer]
RunGate = Callable[..., pytest.RunResult]

MANIFEST = """\
version: 1
tests:
  - name: entry-0
    test: basic-call
    timeout: 20s
"""


def always(endpoint: str, body: str, **extra: Any) -> dict[str, Any]:
    """A fault that answers every request to ``endpoint`` with this raw JSON body."""
    return {
        "endpoint": endpoint,
        "body": body,
        "content_type": "application/json",
        "times": 0,
        **extra,
    }


def run_body(*pairs: str) -> str:
    """A status body whose ``run`` object is these raw ``"key": value`` pairs (duplicates and
    all, as a hostile server may send them)."""
    return '{"run": {' + ", ".join(pairs) + '}, "status": 200}'


def verdict_line(result: pytest.RunResult) -> str:
    for index, line in enumerate(result.outlines):
        if line.startswith("_") and "sipfront: entry-0 " in line:
            return result.outlines[index + 1]
    raise AssertionError("no failure block for entry-0\n" + result.stdout.str())


def before_row(result: pytest.RunResult) -> str:
    rows = [line for line in result.outlines if line.startswith("  before")]
    assert rows, result.stdout.str()
    return rows[0].split(None, 1)[1]


# ---- wrong verdicts (the body is read raw) --------------------------------------------------

FILLER = [f'"field_{n:03d}": {n}' for n in range(250)]

HOSTILE_BODIES = {
    "a key with a trailing space overwrites has_passed 0": run_body(
        '"is_finished": 1', '"has_passed": 0', '"has_passed ": 1'
    ),
    "a key with a control character overwrites has_passed 0": run_body(
        '"is_finished": 1', '"has_passed": 0', '"has_\\u0007passed": 1'
    ),
    "a key with a bidi character overwrites has_passed 0": run_body(
        '"is_finished": 1', '"has_passed": 0', '"has_passed\\u202e": 1'
    ),
    "a body with more than 200 keys loses the contradicting field": run_body(
        '"is_finished": 1',
        '"has_passed": 1',
        '"status": "passed"',
        *FILLER,
        '"session_status": "failed"',
    ),
    "a duplicate has_passed key is read last-wins": run_body(
        '"is_finished": 1', '"has_passed": 0', '"status": "passed"', '"has_passed": 1'
    ),
    "a duplicate run key is read last-wins": (
        '{"run": {"is_finished": 1, "has_passed": 0, "status": "failed"}, '
        '"run": {"is_finished": 1, "has_passed": 1, "status": "passed"}}'
    ),
    "a status pass-NUL-ed becomes passed": run_body(
        '"is_finished": 1', '"status": "pass\\u0000ed"'
    ),
    "a status pass-ANSI-ed becomes passed": run_body(
        '"is_finished": 1', '"status": "pass\\u001b[0med"'
    ),
    "a status given as a list is ignored": run_body(
        '"is_finished": 1', '"has_passed": 1', '"status": ["failed"]'
    ),
    "a status given as a dict is ignored": run_body(
        '"is_finished": 1', '"has_passed": 1', '"session_status": {"word": "failed"}'
    ),
    "is_failed 1 beside has_passed 1 is ignored": run_body(
        '"is_finished": 1', '"has_passed": 1', '"is_failed": 1', '"status": "passed"'
    ),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=list(HOSTILE_BODIES))
def test_a_body_that_only_passes_once_cleaned_fails_with_one_clear_line(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, body: str
) -> None:
    json.loads(body)  # valid JSON, each of them
    server = sipfront_sandbox({"faults": [always("runs.status", body)]})
    result = run_gate(MANIFEST, "--sipfront-history=off", server=server)
    result.assert_outcomes(failed=1)
    line = verdict_line(result)
    assert line.startswith("Sipfront run failed"), line
    assert server.count("tests.run") == 1
    # Nothing hidden reaches the terminal: the hostile characters are shown escaped.
    output = result.stdout.str()
    assert "\x00" not in output and "\u202e" not in output and "\x07" not in output


def test_a_status_given_as_a_list_says_so_in_its_failure_line(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    body = run_body('"is_finished": 1', '"has_passed": 1', '"status": ["failed"]')
    server = sipfront_sandbox({"faults": [always("runs.status", body)]})
    result = run_gate(MANIFEST, "--sipfront-history=off", server=server)
    result.assert_outcomes(failed=1)
    assert "status is a list, not a status word" in verdict_line(result)


# ---- history: --sipfront-fail-on new trusts only a consistent verdict and an exact name ------

FAILING_NOW = {"name": "basic-call", "id": 700, "duration": "0.2s", "outcome": "failed"}
NO_VERDICT = {
    "no verdict at all": run_body('"is_finished": 1'),
    "a contradictory verdict": run_body(
        '"is_finished": 1', '"has_passed": 1', '"status": "failed"'
    ),
    "has_passed 2": run_body('"is_finished": 1', '"has_passed": 2'),
    "a duplicate has_passed": run_body('"is_finished": 1', '"has_passed": 0', '"has_passed": 0'),
}


@pytest.mark.parametrize("body", NO_VERDICT.values(), ids=list(NO_VERDICT))
def test_with_fail_on_new_a_last_run_without_a_clear_verdict_is_not_already_failing(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, body: str
) -> None:
    server = sipfront_sandbox({"tests": [FAILING_NOW], "faults": [always("tests.last", body)]})
    result = run_gate(MANIFEST, "--sipfront-fail-on=new", server=server)
    result.assert_outcomes(failed=1)  # the failure stays red
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "ALREADY FAILING" not in result.stdout.str()
    assert before_row(result).startswith("unknown: ")


LISTINGS = {
    "two tests share the name": [
        {"id": 700, "name": "basic-call"},
        {"id": 701, "name": "basic-call"},
    ],
    "the name matches only with a trailing space": [{"id": 701, "name": "basic-call "}],
    "the name matches only after a bidi character is cleaned": [
        {"id": 701, "name": "basic-call\u2066"}
    ],
    "the name matches only in another case": [{"id": 701, "name": "Basic-Call"}],
}


@pytest.mark.parametrize("listing", LISTINGS.values(), ids=list(LISTINGS))
def test_with_fail_on_new_a_name_that_is_not_exactly_one_test_gets_no_history(
    sipfront_sandbox: StartSandbox, run_gate: RunGate, listing: list[dict[str, Any]]
) -> None:
    failed_before = run_body('"is_finished": 1', '"has_passed": 0', '"status": "failed"')
    server = sipfront_sandbox(
        {
            "tests": [FAILING_NOW],
            "faults": [
                always("tests", json.dumps({"data": listing})),
                always("tests.last", failed_before),
            ],
        }
    )
    result = run_gate(MANIFEST, "--sipfront-fail-on=new", server=server)
    result.assert_outcomes(failed=1)  # never resolved to one of them: no ALREADY FAILING
    assert "ALREADY FAILING" not in result.stdout.str()
    assert server.count("tests.last") == 0
    before = before_row(result)
    assert before.startswith("unknown: ") and "named 'basic-call'" in before, before


def test_a_slow_test_listing_holds_the_trigger_no_longer_than_the_history_timeout(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    server = sipfront_sandbox(
        {"tests": [FAILING_NOW], "faults": [{"endpoint": "tests", "delay": 40, "times": 0}]}
    )
    started = time.monotonic()
    result = run_gate(MANIFEST, server=server)
    result.assert_outcomes(failed=1)
    triggers = [r for r in server.requests if r.endpoint == "tests.run"]
    assert len(triggers) == 1
    # History's whole lookup ends after 5 s; before, the listing alone held it 35 s.
    assert triggers[0].time - started < 20
    assert before_row(result) == "no earlier run"


# ---- one line for a one-line place ------------------------------------------------------------


def test_a_status_word_with_a_line_break_starts_no_workflow_command(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    body = run_body(
        '"is_finished": 1',
        '"has_passed": 0',
        '"status": "failed\\n::error::forged\\n::stop-commands::token"',
    )
    server = sipfront_sandbox({"faults": [always("runs.status", body)]})
    result = run_gate(
        MANIFEST,
        "--sipfront-history=off",
        server=server,
        env={"GITHUB_ACTIONS": "true"},
    )
    result.assert_outcomes(failed=1)
    assert not [
        line
        for line in result.outlines
        if line.lstrip().startswith(("::error::forged", "::stop-commands::"))
    ]


def test_a_history_report_url_with_a_line_break_starts_no_workflow_command(
    sipfront_sandbox: StartSandbox, run_gate: RunGate
) -> None:
    body = run_body(
        '"is_finished": 1',
        '"has_passed": 0',
        '"status": "failed"',
        '"report_url": "https://app.sipfront.com/r\\n::stop-commands::token"',
    )
    server = sipfront_sandbox({"tests": [FAILING_NOW], "faults": [always("tests.last", body)]})
    result = run_gate(MANIFEST, server=server, env={"GITHUB_ACTIONS": "true"})
    result.assert_outcomes(failed=1)
    assert not [line for line in result.outlines if line.lstrip().startswith("::stop-commands::")]
    assert before_row(result) == "failed: no reason given"
