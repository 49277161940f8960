"""Media metrics from Python, without pytest: ``thresholds=``, ``result.media``,
``result.media_breaches`` and ``check()``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sandbox_keys import PUBLIC_KEY, SECRET_KEY

from pytest_sipfront import Sipfront
from pytest_sipfront.library.results import SipfrontRunFailed
from pytest_sipfront.sandbox import SandboxServer

Factory = Callable[..., SandboxServer]
ENVIRON = {"SIPFRONT_PUBLIC_KEY": PUBLIC_KEY, "SIPFRONT_SECRET_KEY": SECRET_KEY}


def client(server: SandboxServer, media: str | None = None) -> Sipfront:
    return Sipfront(
        server.base_url, environ=ENVIRON, poll_interval="0.2s", max_rps=200, media=media
    )


def test_a_breach_fails_the_result_and_check_raises_with_it(sipfront_sandbox: Factory) -> None:
    server = sipfront_sandbox(
        {"tests": [{"name": "call", "duration": "0.2s", "media": "jitter_spike"}]}
    )
    with client(server) as sipfront:
        result = sipfront.run("call", thresholds={"rtp_jitter{role=callee,dir=in}": "max <= 50"})
    assert not result.passed
    assert result.media_breaches == [
        "media threshold breached: rtp_jitter max 80 ms > 50 (callee, in)"
    ]
    jitter = [
        s
        for s in result.media
        if (s["measure"], s["role"], s["dir"]) == ("rtp_jitter", "callee", "in")
    ]
    assert jitter[0]["p95"] == 80 and jitter[0]["unit"] == "ms" and jitter[0]["count"] == 60
    with pytest.raises(SipfrontRunFailed, match="media threshold breached: rtp_jitter max 80"):
        result.check()
    assert result.to_dict()["media_breaches"] == result.media_breaches


def test_a_passing_run_has_its_summaries_with_media_all(sipfront_sandbox: Factory) -> None:
    server = sipfront_sandbox({"tests": [{"name": "call", "duration": "0.2s"}]})
    with client(server, media="all") as sipfront:
        result = sipfront.run("call")
    assert result.passed
    assert len(result.media) == 12
    assert result.media_breaches == []


def test_a_malformed_threshold_is_refused_before_anything_is_sent(
    sipfront_sandbox: Factory,
) -> None:
    server = sipfront_sandbox()
    with client(server) as sipfront, pytest.raises(ValueError, match="'avg' is not an aggregate"):
        sipfront.run("call", thresholds={"mos": "avg > 3"})
    assert server.requests == []


def test_thresholds_with_media_off_are_an_error_and_trigger_nothing(
    sipfront_sandbox: Factory,
) -> None:
    server = sipfront_sandbox()
    with client(server, media="off") as sipfront:
        result = sipfront.run("call", thresholds={"mos": "min > 3"})
    assert result.verdict == "refused"
    assert "--sipfront-media off, but" in result.message
    assert [r for r in server.requests if r.endpoint == "tests.run"] == []


def test_closing_while_metrics_are_read_says_the_run_has_finished(
    sipfront_sandbox: Factory,
) -> None:
    import threading
    import time

    server = sipfront_sandbox(
        {
            "tests": [{"name": "call", "duration": "0.2s"}],
            "faults": [{"endpoint": "runs.stats", "delay": 20}],
        }
    )
    sipfront = client(server)
    handle = sipfront.start("call", thresholds={"mos": "min > 3"})
    end = time.monotonic() + 30
    while not server.count("runs.stats") and time.monotonic() < end:
        time.sleep(0.05)
    assert server.count("runs.stats") == 1
    still = sipfront.close()
    assert still == []  # nothing is still going at Sipfront
    done = threading.Event()
    result = []

    def wait() -> None:
        result.append(handle.wait())
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    assert done.wait(10)  # far inside the 20 s the stats answer would take
    assert result[0].verdict == "interrupted"
    assert result[0].message == (
        "Interrupted while its media metrics were read; the run has finished at Sipfront"
    )
