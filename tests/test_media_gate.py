"""Media metrics in whole pytest sessions against the sandbox: what is fetched, when, and what
the verdict becomes. Requests are counted on the server side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_sipfront.sandbox import SandboxServer

GateRunner = Callable[..., pytest.RunResult]
Factory = Callable[..., SandboxServer]


def stats_requests(server: SandboxServer) -> list[str]:
    return [r.path for r in server.requests if r.endpoint.startswith("runs.stats")]


def catalog(media: str = "steady", outcome: str = "passed", **behaviour: Any) -> dict[str, Any]:
    return {
        "tests": [
            {"name": "call", "duration": "0.3s", "outcome": outcome, "media": media},
        ],
        "behaviour": behaviour,
    }


ENTRY = """
tests:
  - name: call
    test: call
"""


def with_thresholds(*lines: str) -> str:
    return ENTRY + "    thresholds:\n" + "".join(f"      {line}\n" for line in lines)


def test_a_jitter_breach_fails_a_run_sipfront_passed(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog("jitter_spike"))
    result = run_gate(with_thresholds('rtp_jitter: "p95 < 30"'), server=server)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "media threshold breached: rtp_jitter p95 80 ms > 30 (caller, in)" in text
    assert "media threshold breached: rtp_jitter p95 80 ms > 30 (callee, out)" in text
    assert "/run/details/" in text  # the report link stays beside the breaches


def test_a_steady_run_within_its_thresholds_passes(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog("steady"))
    result = run_gate(
        with_thresholds(
            'rtp_jitter: "p95 < 30"',
            '"rtp_jitter{role=callee,dir=in}": "max <= 50"',
            'rtp_byte_per_sec: "min > 0"',
        ),
        server=server,
    )
    result.assert_outcomes(passed=1)
    # One for the dimensions, then one per measure and dimension (3 measures x 2 roles x 2
    # directions in the sandbox: the thresholds' and the reports' preferred ones).
    paths = stats_requests(server)
    assert paths[0].endswith("/stats") and paths.count(paths[0]) == 1
    assert len(paths) == 1 + 12


def detail_lines(result: pytest.RunResult) -> list[str]:
    """The output before pytest's short summary: under ``CI=true`` pytest prints the whole
    failure message there again, detail block included."""
    lines = result.outlines
    ends = [i for i, line in enumerate(lines) if "short test summary info" in line]
    return lines[: ends[0]] if ends else lines


def test_one_way_audio_breaks_min_throughput_on_the_silent_leg_only(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog("one_way_audio"))
    result = run_gate(with_thresholds('rtp_byte_per_sec: "min > 0"'), server=server)
    result.assert_outcomes(failed=1)
    breaches = [
        line for line in detail_lines(result) if line.startswith("  media") and "breach" in line
    ]
    assert len(breaches) == 1
    assert "rtp_byte_per_sec min 0 B/s = 0 (callee, in)" in breaches[0]


def test_a_stats_500_without_thresholds_leaves_the_verdict_alone(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {**catalog(), "faults": [{"endpoint": "runs.stats", "status": 500, "times": 0}]}
    )
    result = run_gate(ENTRY, "--sipfront-media", "all", server=server)
    result.assert_outcomes(passed=1)
    assert stats_requests(server)  # asked, and retried, but it decides nothing


def test_a_stats_500_with_thresholds_makes_the_item_red_saying_why(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {**catalog(), "faults": [{"endpoint": "runs.stats", "status": 500, "times": 0}]}
    )
    result = run_gate(with_thresholds('rtp_jitter: "p95 < 30"'), server=server)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*media threshold not checked: rtp_jitter: p95 < 30: the stats request failed: "
            "Sipfront API unreachable after 3 attempts over *: HTTP 500"
        ]
    )


def test_media_off_sends_not_one_stats_request(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog("jitter_spike", outcome="failed"))
    result = run_gate(ENTRY, "--sipfront-media", "off", server=server)
    result.assert_outcomes(failed=1)
    assert stats_requests(server) == []


def test_media_off_with_thresholds_is_a_usage_error_before_any_trigger(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(
        with_thresholds('rtp_jitter: "p95 < 30"'), server=server, env={"SIPFRONT_MEDIA": "off"}
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--sipfront-media off, but sipfront.yml:* sets media thresholds*"]
    )
    assert server.requests == []


def test_a_passing_run_without_thresholds_asks_for_no_metrics_by_default(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog())
    run_gate(ENTRY, server=server).assert_outcomes(passed=1)
    assert stats_requests(server) == []


def test_a_failed_run_shows_its_media_lines_in_the_detail_block(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog("mos_drop", outcome="failed"))
    result = run_gate(ENTRY, server=server)
    result.assert_outcomes(failed=1)
    media = [line for line in detail_lines(result) if line.startswith("  media")]
    # One line per measure: its worst role and direction.
    assert [line.split()[1] for line in media] == ["rtp_jitter", "rtp_byte_per_sec", "mos"]
    assert "mos (caller, in): min 2.1 median 2.1 p95 4.3 max 4.3" in media[2]


@pytest.mark.parametrize(
    "shape",
    [
        "stats",
        "top_list",
        "data",
        "series",
        "values",
        "points",
        "data.stats",
        "pairs",
        "strings",
        "tagged",
        "short_keys",
    ],
)
def test_every_accepted_series_shape_is_read_the_same(
    run_gate: GateRunner, sipfront_sandbox: Factory, shape: str
) -> None:
    server = sipfront_sandbox(catalog("jitter_spike", media_shape=shape))
    result = run_gate(
        with_thresholds('"rtp_jitter{role=callee,dir=in}": "max <= 50"'), server=server
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*media threshold breached: rtp_jitter max 80 ms > 50 (callee, in)*"]
    )


def test_a_baseline_threshold_compares_with_the_last_passing_run_of_the_test(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    test = {"name": "call", "duration": "0.3s", "media": "jitter_spike"}
    server = sipfront_sandbox(
        {"tests": [{**test, "previous": {"outcome": "passed", "media": "steady"}}]}
    )
    result = run_gate(
        with_thresholds('"rtp_jitter{role=callee,dir=in}@baseline": "p95 < +50%"'), server=server
    )
    result.assert_outcomes(failed=1)
    # The baseline's p95 is 6 ms (steady): the limit is 9 ms.
    result.stdout.fnmatch_lines(
        ["*media threshold breached: rtp_jitter p95 80 ms > 9 (baseline 6 ms +50%) (callee, in)*"]
    )


def test_without_a_passing_baseline_a_baseline_threshold_is_noted_not_failed(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    test = {"name": "call", "duration": "0.3s", "media": "jitter_spike"}
    server = sipfront_sandbox({"tests": [{**test, "previous": "failed"}]})
    result = run_gate(with_thresholds('rtp_jitter@baseline: "p95 < +50%"'), "-rA", server=server)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*media baseline not compared: rtp_jitter@baseline: no passing baseline yet*"]
    )


def test_a_series_that_trickles_is_cut_off_by_the_run_timeout_and_makes_the_item_red(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {
            **catalog("steady"),
            "faults": [{"endpoint": "runs.stats.measure", "trickle": 1, "times": 0}],
        }
    )
    manifest = with_thresholds('"rtp_jitter{role=callee,dir=in}": "p95 < 30"').replace(
        "    test: call\n", "    test: call\n    timeout: 3s\n"
    )
    result = run_gate(manifest, server=server)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*media threshold not checked: *the stats request failed: *"])
    assert result.duration < 60  # far from the 60 s metrics budget of a longer run


def test_one_runs_slow_metrics_hold_back_neither_the_next_trigger_nor_its_verdict(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {
            "tests": [
                {"name": "slow-metrics", "duration": "0.2s"},
                {"name": "other", "duration": "0.2s"},
            ],
            "faults": [{"endpoint": "runs.stats", "test": "slow-metrics", "delay": 6}],
        }
    )
    manifest = """
    tests:
      - name: slow-metrics
        test: slow-metrics
        thresholds:
          rtp_jitter: "p95 < 30"
      - name: other
        test: other
    """
    result = run_gate(manifest, "--sipfront-concurrency", "1", server=server)
    result.assert_outcomes(passed=2)
    asked = next(r.time for r in server.requests if r.endpoint == "runs.stats")
    other = [r for r in server.requests if r.body and r.body.get("test.name") == "other"]
    assert len(other) == 1
    # The concurrency slot was handed on while the first run's metrics were still coming:
    # "other" was triggered well inside the 6 s the stats answer took.
    assert other[0].time < asked + 4


def test_metrics_requests_wait_behind_every_status_poll_in_the_rate_limit() -> None:
    import threading
    import time

    from pytest_sipfront.api.ratelimit import RateLimiter

    limiter = RateLimiter(1)
    first = limiter.begin()
    assert first is not None
    order: list[str] = []
    waiting = threading.Barrier(3)

    def take(name: str, background: bool) -> None:
        waiting.wait()
        if name == "poll":
            time.sleep(0.2)  # asks after the metrics request
        slot = limiter.begin_background() if background else limiter.begin()
        assert slot is not None
        order.append(name)
        slot.done()

    threads = [
        threading.Thread(target=take, args=("metrics", True)),
        threading.Thread(target=take, args=("poll", False)),
    ]
    for thread in threads:
        thread.start()
    waiting.wait()
    time.sleep(0.5)
    first.done()
    for thread in threads:
        thread.join(timeout=30)
    assert order == ["poll", "metrics"]


def test_a_failed_project_run_asks_for_no_metrics(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {"projects": [{"name": "nightly", "duration": "0.3s", "outcome": "failed"}]}
    )
    result = run_gate("tests:\n  - name: p\n    project: nightly\n", server=server)
    result.assert_outcomes(failed=1)
    assert stats_requests(server) == []


@pytest.mark.parametrize(
    ("args", "env", "ini"),
    [
        (("--sipfront-media", "all"), {}, ""),
        ((), {"SIPFRONT_MEDIA": "all"}, ""),
        ((), {}, "[pytest]\nsipfront_media = all\n"),
    ],
    ids=["option", "environment", "ini"],
)
def test_media_all_fetches_the_metrics_of_a_passing_run_from_every_source(
    run_gate: GateRunner,
    sipfront_sandbox: Factory,
    pytester: pytest.Pytester,
    args: tuple[str, ...],
    env: dict[str, str],
    ini: str,
) -> None:
    if ini:
        pytester.makefile(".ini", pytest=ini)
    server = sipfront_sandbox(catalog())
    run_gate(ENTRY, *args, server=server, env=env).assert_outcomes(passed=1)
    assert len(stats_requests(server)) == 1 + 12


def test_an_unknown_media_mode_is_a_usage_error_naming_its_source(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(catalog())
    result = run_gate(ENTRY, server=server, env={"SIPFRONT_MEDIA": "sometimes"})
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*SIPFRONT_MEDIA: 'sometimes' is not off, failed or all*"])
    assert server.requests == []


def test_exitfirst_triggers_nothing_after_a_run_its_thresholds_failed(
    run_gate: GateRunner, sipfront_sandbox: Factory
) -> None:
    server = sipfront_sandbox(
        {
            "tests": [
                {"name": "spiky", "duration": "0.3s", "media": "jitter_spike"},
                {"name": "next", "duration": "0.3s"},
            ]
        }
    )
    manifest = """
    tests:
      - name: spiky
        test: spiky
        thresholds:
          rtp_jitter: "p95 < 30"
      - name: next
        test: next
    """
    result = run_gate(manifest, "-x", "--sipfront-concurrency", "1", server=server)
    result.assert_outcomes(failed=1)
    assert [body.get("test.name") for body in server.triggers()] == ["spiky"]
