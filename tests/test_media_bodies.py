"""Hostile and odd stats bodies, served by pytest-httpserver standing in for Sipfront: the
gate reads what it can, counts what it skips, never invents a number, and says "metrics
unreadable" (sanitised, cut, without secrets) for anything else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sandbox_keys import PUBLIC_KEY, SECRET_KEY
from werkzeug import Request, Response

GateRunner = Callable[..., pytest.RunResult]

DIMENSIONS = {"stats_dimensions": [{"stats_measure": "rtp_jitter", "role": "callee", "dir": "in"}]}


def fake_sipfront(httpserver: HTTPServer, series: bytes | Response, dims: Any = DIMENSIONS) -> None:
    """A run that passes at once, with one jitter dimension whose series is ``series``."""
    httpserver.expect_request("/api/v2/tests/run", method="POST").respond_with_json(
        {
            "data": {
                "session_id": "s-1",
                "report_url": httpserver.url_for("/run/details/s-1"),
                "status_url": httpserver.url_for("/api/v2/runs/s-1/status"),
            },
            "status": 200,
        }
    )
    httpserver.expect_request("/api/v2/runs/s-1/status").respond_with_json(
        {"run": {"status": "passed", "has_passed": 1, "is_finished": 1, "session_id": "s-1"}}
    )
    httpserver.expect_request("/api/v2/tests/1/status/last").respond_with_json({}, status=404)
    body = dims if isinstance(dims, bytes) else json.dumps(dims).encode()
    httpserver.expect_request("/api/v2/runs/s-1/stats").respond_with_data(
        body, content_type="application/json"
    )
    if isinstance(series, Response):
        httpserver.expect_request("/api/v2/runs/s-1/stats/rtp_jitter").respond_with_response(series)
    else:
        httpserver.expect_request("/api/v2/runs/s-1/stats/rtp_jitter").respond_with_data(
            series, content_type="application/json"
        )


MANIFEST = """
tests:
  - name: call
    test_id: 1
    thresholds:
      rtp_jitter: "p95 < 30"
"""


def gate(run_gate: GateRunner, httpserver: HTTPServer, *args: str) -> pytest.RunResult:
    return run_gate(MANIFEST, "--sipfront-url", httpserver.url_for("/api/v2"), *args, server=None)


def stats_calls(httpserver: HTTPServer) -> list[Request]:
    return [r for r, _ in httpserver.log if "/stats" in r.path]


def test_null_nan_and_text_points_are_counted_and_skipped_never_zeroed(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    body = (
        b'{"stats": [{"ts": 1, "value": null}, {"ts": 2, "value": NaN}, '
        b'{"ts": 3, "value": "loud"}, {"ts": 4, "value": "12.5"}, {"ts": 5, "value": 40}]}'
    )
    fake_sipfront(httpserver, body)
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    # p95 of the two readable points (12.5 and 40) is 40; a zeroed null would not change p95,
    # but min shows it: 12.5, not 0.
    assert "media threshold breached: rtp_jitter p95 40 ms > 30 (callee, in)" in text
    assert "min 12.5 median 12.5 p95 40 max 40 mean 26.25 [ms] (2 points, 3 points skipped)" in text


def test_negative_times_are_read_as_given(run_gate: GateRunner, httpserver: HTTPServer) -> None:
    fake_sipfront(httpserver, b'{"data": [[-5, 4], [-1, 5], [3, 6]]}')
    result = gate(run_gate, httpserver, "--sipfront-media", "all")
    result.assert_outcomes(passed=1)


def test_only_the_first_100000_points_are_read(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    points = [[t, 5] for t in range(100_000)] + [[t, 99] for t in range(100_000, 130_000)]
    fake_sipfront(httpserver, json.dumps({"points": points}).encode())
    result = gate(run_gate, httpserver)
    # The 30,000 loud points beyond the cap are not read: the threshold holds on what was.
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>\x1b[31mBad gateway</body></html>",
        b'{"series": {"unexpected": true}}',
        b'{"stats": ["a", "b"]}',
        b"",
    ],
)
def test_an_unreadable_series_makes_a_threshold_red_with_the_start_of_the_body(
    run_gate: GateRunner, httpserver: HTTPServer, body: bytes
) -> None:
    fake_sipfront(httpserver, body)
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*media threshold not checked: rtp_jitter: p95 < 30: metrics unreadable: *"]
    )
    assert not any("\x1b" in line for line in result.outlines if "metrics unreadable" in line)


def test_an_unreadable_body_that_echoes_the_credentials_shows_neither(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    fake_sipfront(httpserver, f"oops {PUBLIC_KEY}:{SECRET_KEY} {SECRET_KEY}".encode())
    result = gate(run_gate, httpserver)  # run_gate checks the whole output for both keys
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*metrics unreadable: oops [[]redacted[]]*"])


def test_missing_dimensions_make_every_threshold_red(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    fake_sipfront(httpserver, b"[]", dims={"stats_dimensions": []})
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*media threshold not checked: rtp_jitter: p95 < 30: no series for rtp_jitter*"]
    )
    assert len(stats_calls(httpserver)) == 1  # nothing to ask for beyond the dimensions


def test_an_answer_too_large_to_read_is_a_failed_request_not_a_number(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    fake_sipfront(httpserver, b'{"stats": [' + b" " * (9 * 1024 * 1024) + b"]}")
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the stats request failed: Sipfront API unreachable after 3 attempts *: answer too large"]
    )


def test_a_404_on_a_series_is_not_retried(run_gate: GateRunner, httpserver: HTTPServer) -> None:
    fake_sipfront(httpserver, Response('{"error": "no such measure"}', status=404))
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the stats request failed: HTTP 404: no such measure*"])
    assert len(stats_calls(httpserver)) == 2  # the dimensions, then the series once


def test_an_integer_too_large_for_a_float_is_skipped_not_a_crash(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    fake_sipfront(httpserver, b'{"stats": [[1, 1' + b"0" * 400 + b"], [2, 7]]}")
    result = gate(run_gate, httpserver, "-rA")
    result.assert_outcomes(passed=1)


def test_a_dimensions_list_naming_thousands_of_series_is_read_only_so_far(
    run_gate: GateRunner, httpserver: HTTPServer
) -> None:
    many = {
        "stats_dimensions": [
            {"stats_measure": "rtp_jitter", "role": f"r{n}", "dir": "in"} for n in range(2000)
        ]
    }
    httpserver.expect_request("/api/v2/runs/s-1/stats/rtp_jitter").respond_with_data(
        b'{"stats": [[1, 5]]}', content_type="application/json"
    )
    fake_sipfront(httpserver, b'{"stats": [[1, 5]]}', dims=many)
    result = gate(run_gate, httpserver)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*not checked: rtp_jitter: p95 < 30: the run lists more series than the 64 read*"]
    )
    assert len(stats_calls(httpserver)) == 1 + 64
