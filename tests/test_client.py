"""The Sipfront API client against a local HTTP server: what is sent, how often, what users read."""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import requests.adapters
import urllib3.exceptions
from fake_time import FakeTime
from processes import free_port
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_sipfront import __version__
from pytest_sipfront.api import transport
from pytest_sipfront.api.backoff import backoff_delay, parse_retry_after
from pytest_sipfront.api.client import (
    ApiError,
    RunNotFound,
    SipfrontClient,
    TriggerResponse,
)
from pytest_sipfront.api.ratelimit import RateLimiter, Slot
from pytest_sipfront.api.urls import check_base_url, resolve_status_url
from pytest_sipfront.runs.outcome import Verdict

PUBLIC = "pk_live_PUBLICKEY123"
SECRET = "sk_live_SECRETKEY456"

UNKNOWN = (
    "The trigger request failed after it was sent; a run may have started: "
    "check Sipfront before re-running"
)
AUTH_401 = (
    "Sipfront rejected the API credentials (HTTP 401): "
    "check SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def assert_unreachable(message: str, attempts: int, reason: str) -> None:
    """The one UNREACHABLE sentence of every request loop."""
    pattern = (
        rf"Sipfront API unreachable after {attempts} attempts over [\d.]+m?s: {re.escape(reason)}"
    )
    assert re.fullmatch(pattern, message), message


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def reply(
    status: int = 200,
    body: Any = None,
    *,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if raw is not None:
        return Response(raw, status=status, headers=headers, content_type="text/plain")
    return Response(
        json.dumps(body if body is not None else {}),
        status=status,
        headers=headers,
        content_type="application/json",
    )


class Script:
    """A server-side handler that answers from a list (the last answer repeats) and counts."""

    def __init__(self, answers: Sequence[Callable[[Request], Response] | Response]) -> None:
        self.answers = list(answers)
        self.requests: list[Request] = []

    @property
    def count(self) -> int:
        return len(self.requests)

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return answer(request) if callable(answer) and not isinstance(answer, Response) else answer


def drop_connection(request: Request) -> Response:
    """Cut the connection after the request arrived, without an answer."""
    sock = request.environ["werkzeug.socket"]
    sock.shutdown(socket.SHUT_RDWR)
    return Response("never seen")


def settle(server: HTTPServer, requests_seen: int) -> None:
    """Wait until the server has logged its answers (it logs after the client gave up)."""
    limit = time.monotonic() + 5
    while len(server.log) < requests_seen and time.monotonic() < limit:
        time.sleep(0.01)


def slow(seconds: float) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return reply(200, {"run": {"status": "running"}})

    return handler


def trigger_ok(httpserver: HTTPServer, session: str = "sess-1") -> Response:
    return reply(
        200,
        {
            "data": {
                "report_url": f"https://app.sipfront.com/run/details/{session}",
                "session_id": session,
                "status_url": httpserver.url_for(f"/api/v2/runs/{session}/status"),
            },
            "status": 200,
        },
    )


RUNNING = reply(200, {"run": {"status": "running"}, "status": 200})
PASSED = reply(
    200,
    {
        "run": {
            "status": "passed",
            "is_finished": 1,
            "has_passed": 1,
            "result_description": "",
            "testcase_name": "Media analysis\x1b[31m for Audio Call",
        },
        "status": 200,
    },
)


def api(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/api/v2")


def make_client(
    httpserver: HTTPServer | None, fake_time: FakeTime, *, base: str | None = None, **kw: Any
) -> SipfrontClient:
    url = base if base is not None else api(httpserver) if httpserver is not None else ""
    kw.setdefault("read_timeout", 2.0)
    kw.setdefault("connect_timeout", 1.0)
    return SipfrontClient(
        url,
        PUBLIC,
        SECRET,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(7),
        **kw,
    )


def on_trigger(httpserver: HTTPServer, *answers: Any, kind: str = "tests") -> Script:
    script = Script(answers)
    httpserver.expect_request(f"/api/v2/{kind}/run", method="POST").respond_with_handler(script)
    return script


def on_status(httpserver: HTTPServer, *answers: Any, session: str = "sess-1") -> Script:
    script = Script(answers)
    httpserver.expect_request(f"/api/v2/runs/{session}/status", method="GET").respond_with_handler(
        script
    )
    return script


@pytest.fixture
def other_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


# ---- trigger: what is sent ------------------------------------------------------------------


def test_trigger_posts_json_with_basic_auth_and_returns_the_sanitised_answer(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(
        httpserver,
        reply(
            200,
            {
                "data": {
                    "report_url": "https://app.sipfront.com/kiosk/x/sess-1",
                    "session_id": "sess-1",
                    "status_url": httpserver.url_for("/api/v2/runs/sess-1/status"),
                    "note": "evil\x1b]0;title\x07 \x1b[2Jtext\u202e",
                },
                "status": 200,
            },
        ),
    )
    client = make_client(httpserver, fake_time)
    body = {"test.name": "basic-call", "step.1.0.dial_destination": "431231234"}

    answer = client.trigger("test", body)

    assert answer == TriggerResponse(
        session_id="sess-1",
        report_url="https://app.sipfront.com/kiosk/x/sess-1",
        status_url=httpserver.url_for("/api/v2/runs/sess-1/status"),
        data={
            "report_url": "https://app.sipfront.com/kiosk/x/sess-1",
            "session_id": "sess-1",
            "status_url": httpserver.url_for("/api/v2/runs/sess-1/status"),
            "note": "evil text",
        },
    )
    (sent,) = script.requests
    assert json.loads(sent.get_data()) == body
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == f"pytest-sipfront/{__version__}"
    expected = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"


def test_a_project_trigger_goes_to_projects_run_and_takes_the_project_run_uuid_as_session(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(
        httpserver,
        reply(
            200,
            {
                "data": {
                    "status_url": httpserver.url_for("/api/v2/projects/7/runs/9/status"),
                    "report_url": "javascript:alert(1)",
                    "project_run_id": 9,
                    "project_run_uuid": "uuid-9",
                }
            },
        ),
        kind="projects",
    )
    answer = make_client(httpserver, fake_time).trigger("project", {"id": 7, "test_ids": [1, 2]})

    assert script.count == 1
    assert answer.session_id == "uuid-9"
    assert answer.report_url is None  # not an http(s) link: never shown as one
    assert answer.data["project_run_id"] == 9


# ---- trigger: never twice unless provably nothing started ----------------------------------


@pytest.mark.parametrize("code", [500, 502, 504])
def test_a_trigger_answered_with_a_server_error_is_sent_once_and_may_have_started(
    httpserver: HTTPServer, fake_time: FakeTime, code: int
) -> None:
    script = on_trigger(httpserver, reply(code, {"error": "boom"}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNKNOWN
    assert caught.value.message == UNKNOWN
    assert str(caught.value) == UNKNOWN
    assert script.count == 1
    assert fake_time.sleeps == []


def test_a_trigger_whose_answer_times_out_is_sent_once(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(httpserver, slow(0.6))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time, read_timeout=0.2).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNKNOWN
    settle(httpserver, 1)
    assert script.count == 1


def test_a_trigger_whose_connection_drops_after_sending_is_sent_once(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(httpserver, drop_connection)

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNKNOWN
    assert caught.value.message == UNKNOWN
    settle(httpserver, 1)
    assert script.count == 1


@pytest.mark.parametrize(
    "answer",
    [
        reply(200, raw="<html>gateway</html>"),
        reply(200, {"data": {"session_id": "s"}}),
        reply(200, {"data": {"status_url": ""}}),
        reply(200, {"status": 200}),
        reply(302, raw="", headers={"Location": "/api/v2/tests/run2"}),
    ],
    ids=["not-json", "no-status-url", "empty-status-url", "no-data", "redirect"],
)
def test_a_trigger_with_an_unusable_answer_is_sent_once_and_may_have_started(
    httpserver: HTTPServer, fake_time: FakeTime, answer: Response
) -> None:
    script = on_trigger(httpserver, answer)

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNKNOWN
    assert script.count == 1
    assert len(httpserver.log) == 1  # a redirect is not followed either


def test_a_trigger_answered_503_every_time_is_tried_five_times_then_unreachable(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(httpserver, reply(503, {"error": "maintenance"}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert_unreachable(caught.value.message, 5, "HTTP 503")
    assert script.count == 5
    assert len(fake_time.sleeps) == 4


def test_a_trigger_answered_503_then_200_is_sent_twice_and_succeeds(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(httpserver, reply(503), trigger_ok(httpserver))

    answer = make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert answer.session_id == "sess-1"
    assert script.count == 2


def test_a_trigger_answered_429_waits_at_least_retry_after(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(
        httpserver, reply(429, headers={"Retry-After": "7"}), trigger_ok(httpserver)
    )

    make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert script.count == 2
    assert len(fake_time.sleeps) == 1
    assert fake_time.sleeps[0] >= 7


def test_a_refused_connection_is_retried_five_times_then_unreachable(fake_time: FakeTime) -> None:
    client = make_client(None, fake_time, base=f"http://127.0.0.1:{free_port()}/api/v2")

    with pytest.raises(ApiError) as caught:
        client.trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert_unreachable(caught.value.message, 5, "connection refused")
    assert len(fake_time.sleeps) == 4


def test_a_failed_tls_handshake_is_retried_because_nothing_was_sent(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    # The local server speaks plain HTTP: the TLS handshake cannot succeed.
    script = on_trigger(httpserver, trigger_ok(httpserver))
    base = f"https://127.0.0.1:{httpserver.port}/api/v2"
    client = make_client(None, fake_time, base=base, max_trigger_attempts=2)

    with pytest.raises(ApiError) as caught:
        client.trigger("test", {"test.name": "x"})

    assert_unreachable(caught.value.message, 2, "TLS handshake failed")
    assert script.count == 0


def _name_not_resolved() -> Exception:
    reason = urllib3.exceptions.NameResolutionError(
        "app.sipfront.example",
        None,  # type: ignore[arg-type]
        socket.gaierror(-2, "Name or service not known"),
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/api/v2/tests/run", reason)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("make_error", "reason"),
    [
        (_name_not_resolved, "name not resolved"),
        (lambda: requests.exceptions.ConnectTimeout("timed out"), "connect timed out"),
    ],
    ids=["name", "connect-timeout"],
)
def test_failures_before_sending_are_retried_and_named(
    monkeypatch: pytest.MonkeyPatch,
    fake_time: FakeTime,
    make_error: Callable[[], Exception],
    reason: str,
) -> None:
    calls: list[str] = []

    def send(self: object, request: requests.PreparedRequest, **kwargs: object) -> None:
        calls.append(str(request.url))
        raise make_error()

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    client = make_client(None, fake_time, base="http://127.0.0.1:9/api/v2")

    with pytest.raises(ApiError) as caught:
        client.trigger("test", {"test.name": "x"})

    assert_unreachable(caught.value.message, 5, reason)
    assert len(calls) == 5


def test_a_read_timeout_reported_by_requests_is_never_retried_on_a_trigger(
    monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime
) -> None:
    calls: list[str] = []

    def send(self: object, request: requests.PreparedRequest, **kwargs: object) -> None:
        calls.append(str(request.url))
        raise requests.exceptions.ReadTimeout("read timed out")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    client = make_client(None, fake_time, base="http://127.0.0.1:9/api/v2")

    with pytest.raises(ApiError) as caught:
        client.trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.UNKNOWN
    assert len(calls) == 1


# ---- trigger: refusals and credentials ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "Test not found", "description": "ignored"}, "Test not found"),
        ({"description": "Missing parameter test.name"}, "Missing parameter test.name"),
        ({"error": "", "status": 422}, "HTTP 422"),
        ({"status": 422}, "HTTP 422"),
    ],
)
def test_a_refused_trigger_names_error_then_description_then_the_http_code(
    httpserver: HTTPServer, fake_time: FakeTime, body: dict[str, Any], expected: str
) -> None:
    script = on_trigger(httpserver, reply(422, body))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert caught.value.verdict is Verdict.REFUSED
    assert caught.value.message == f"Sipfront refused to start the run: {expected} (HTTP 422)"
    assert caught.value.http_status == 422
    assert script.count == 1


def test_a_hostile_refusal_text_is_cut_to_300_characters_and_stripped(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    on_trigger(httpserver, reply(400, {"error": "\x1b[31mquota\r\n::error::x " + "A" * 1000}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    message = caught.value.message
    reason = message.removeprefix("Sipfront refused to start the run: ").removesuffix(" (HTTP 400)")
    assert reason.startswith("quota ::error::x AAA")
    assert len(reason) <= 300
    assert "\x1b" not in message and "\n" not in message and "\r" not in message


@pytest.mark.parametrize("code", [401, 403])
def test_rejected_credentials_latch_and_no_later_call_sends_anything(
    httpserver: HTTPServer, fake_time: FakeTime, code: int
) -> None:
    trigger = on_trigger(httpserver, reply(code, {"error": "Unauthorized"}))
    status = on_status(httpserver, RUNNING)
    client = make_client(httpserver, fake_time)

    with pytest.raises(ApiError) as first:
        client.trigger("test", {"test.name": "x"})
    with pytest.raises(ApiError) as second:
        client.trigger("test", {"test.name": "y"})
    with pytest.raises(ApiError) as third:
        client.status(httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60)
    with pytest.raises(ApiError):
        client.list_tests()

    expected = AUTH_401.replace("401", str(code))
    for caught in (first, second, third):
        assert caught.value.verdict is Verdict.AUTH
        assert caught.value.message == expected
    assert trigger.count == 1
    assert status.count == 0
    assert len(httpserver.log) == 1


# ---- status ---------------------------------------------------------------------------------


def test_status_returns_the_sanitised_run_object(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    on_status(httpserver, PASSED)

    run = (
        make_client(httpserver, fake_time)
        .status(httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60)
        .run
    )

    assert run["status"] == "passed"
    assert run["has_passed"] == 1
    assert run["testcase_name"] == "Media analysis for Audio Call"


def test_status_retries_through_transient_trouble_until_it_gets_a_run(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_status(
        httpserver,
        reply(502, raw="bad gateway"),
        reply(503, raw="unavailable"),
        reply(200, raw="<html>not json</html>"),
        reply(200, {"status": 200}),
        reply(429, {"error": "slow down"}),
        drop_connection,
        PASSED,
    )

    run = (
        make_client(httpserver, fake_time)
        .status(httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 600)
        .run
    )

    assert run["status"] == "passed"
    settle(httpserver, 7)
    assert script.count == 7
    assert len(fake_time.sleeps) == 6


def test_status_waits_at_least_retry_after(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    script = on_status(httpserver, reply(503, headers={"Retry-After": "12"}), RUNNING)

    make_client(httpserver, fake_time).status(
        httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 600
    )

    assert script.count == 2
    assert fake_time.sleeps[0] >= 12


def test_status_gives_up_at_the_deadline_without_waiting_past_it(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_status(httpserver, reply(503))
    deadline = fake_time.now + 20

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=deadline
        )

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert caught.value.message == "Sipfront API unreachable after 8 attempts over 20s: HTTP 503"
    assert fake_time.now <= deadline
    assert script.count > 3


def test_status_gives_up_at_once_when_retry_after_reaches_past_the_deadline(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_status(httpserver, reply(503, headers={"Retry-After": "120"}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 30
        )

    assert caught.value.message == (
        "Sipfront asked to retry after 120s, longer than the 30s left of this run's timeout"
    )
    assert script.count == 1
    assert fake_time.sleeps == []


def test_a_status_429_with_a_huge_retry_after_names_it_not_unreachable_for_0s(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_status(httpserver, reply(429, headers={"Retry-After": "999999"}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60
        )

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert caught.value.message == (
        "Sipfront asked to retry after 999999s, longer than the 1m left of this run's timeout"
    )
    assert script.count == 1
    assert fake_time.sleeps == []


def test_a_trigger_429_with_a_retry_after_past_its_budget_ends_at_once(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = on_trigger(httpserver, reply(429, headers={"Retry-After": "999999"}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger(
            "test", {"test.name": "x"}, deadline=fake_time.now + 600
        )

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert caught.value.message == (
        "Sipfront asked to retry after 999999s, longer than the 10m left of "
        "this run's timeout for its trigger"
    )
    assert script.count == 1
    assert fake_time.sleeps == []


def test_a_trigger_never_waits_past_its_budget(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    script = on_trigger(httpserver, reply(503, headers={"Retry-After": "4"}))
    start = fake_time.now

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).trigger("test", {"test.name": "x"}, deadline=start + 10)

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert fake_time.now <= start + 10
    assert script.count < 5


@pytest.mark.parametrize("code", [404, 410])
def test_a_run_unknown_to_sipfront_raises_run_not_found_without_retrying(
    httpserver: HTTPServer, fake_time: FakeTime, code: int
) -> None:
    script = on_status(httpserver, reply(code, {"error": "Not found"}))

    with pytest.raises(RunNotFound) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60
        )

    assert str(caught.value) == f"Sipfront no longer knows this run (HTTP {code} on its status)"
    assert script.count == 1


def test_a_status_url_on_another_origin_is_requested_on_the_api_origin_only(
    httpserver: HTTPServer, other_server: HTTPServer, fake_time: FakeTime
) -> None:
    mine = on_status(httpserver, PASSED)
    other_server.expect_request("/api/v2/runs/sess-1/status").respond_with_handler(Script([PASSED]))

    run = (
        make_client(httpserver, fake_time)
        .status(other_server.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60)
        .run
    )

    assert run["status"] == "passed"
    assert mine.count == 1
    assert other_server.log == []
    assert "Authorization" in mine.requests[0].headers


def test_a_trigger_answer_pointing_elsewhere_is_resolved_onto_the_api_origin(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    on_trigger(
        httpserver,
        reply(200, {"data": {"status_url": "https://evil.example:8443/api/v2/runs/s/status?x=1"}}),
    )

    answer = make_client(httpserver, fake_time).trigger("test", {"test.name": "x"})

    assert answer.status_url == httpserver.url_for("/api/v2/runs/s/status?x=1")


def test_status_follows_a_redirect_on_its_own_origin(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    on_status(httpserver, reply(302, raw="", headers={"Location": "/api/v2/runs/sess-2/status"}))
    moved = on_status(httpserver, PASSED, session="sess-2")

    run = (
        make_client(httpserver, fake_time)
        .status(httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 60)
        .run
    )

    assert run["status"] == "passed"
    assert moved.count == 1


def test_status_never_follows_a_redirect_to_another_origin(
    httpserver: HTTPServer, other_server: HTTPServer, fake_time: FakeTime
) -> None:
    elsewhere = other_server.url_for("/steal")
    on_status(httpserver, reply(307, raw="", headers={"Location": elsewhere}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 5
        )

    assert caught.value.verdict is Verdict.UNREACHABLE
    assert caught.value.message.endswith(": redirected to another site")
    assert other_server.log == []


def test_an_interrupt_ends_a_status_retry_wait_at_once(httpserver: HTTPServer) -> None:
    on_status(httpserver, reply(503, headers={"Retry-After": "60"}))
    cancel = threading.Event()
    client = SipfrontClient(api(httpserver), PUBLIC, SECRET, cancel=cancel)
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()

    with pytest.raises(ApiError) as caught:
        client.status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=time.monotonic() + 120
        )

    assert caught.value.verdict is Verdict.INTERRUPTED
    assert caught.value.message == "Interrupted; the run is still going at Sipfront"
    assert time.monotonic() - started < 30  # long before the 60 s Retry-After


def test_every_request_goes_through_the_rate_limiter(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    class Counting(RateLimiter):
        calls = 0
        open_slots = 0

        def begin(self, cancel: threading.Event | None = None) -> Slot | None:
            Counting.calls += 1
            Counting.open_slots += 1
            return _Closing(self, 0.0)

    class _Closing(Slot):
        def done(self) -> None:
            Counting.open_slots -= 1

    on_trigger(httpserver, reply(503), trigger_ok(httpserver))
    on_status(httpserver, reply(502), RUNNING)
    client = make_client(httpserver, fake_time, limiter=Counting(100))

    answer = client.trigger("test", {"test.name": "x"})
    client.status(answer.status_url, deadline=fake_time.now + 60)

    assert Counting.calls == len(httpserver.log) == 4
    assert Counting.open_slots == 0  # every request gave its place back with its answer time


def test_a_cancelled_limiter_wait_sends_nothing(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    cancel = threading.Event()
    cancel.set()
    client = make_client(httpserver, fake_time, limiter=RateLimiter(1), cancel=cancel)

    with pytest.raises(ApiError) as caught:
        client.status(httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 9)

    assert caught.value.verdict is Verdict.INTERRUPTED
    assert httpserver.log == []


def test_an_oversized_answer_is_not_read_to_the_end(
    httpserver: HTTPServer, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_BODY_BYTES", 1000)
    on_status(httpserver, reply(200, {"run": {"status": "x" * 5000}}))

    with pytest.raises(ApiError) as caught:
        make_client(httpserver, fake_time).status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=fake_time.now + 3
        )

    assert caught.value.message.endswith(": answer too large")


# ---- lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "status": 200},
        {"tests": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]},
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        {"data": {"tests": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}},
        {"1": {"name": "a"}, "2": {"id": 2, "name": "b"}},
    ],
    ids=["data", "tests", "bare", "nested", "by-id"],
)
def test_list_tests_reads_every_known_answer_shape(
    httpserver: HTTPServer, fake_time: FakeTime, body: Any
) -> None:
    httpserver.expect_request("/api/v2/tests", method="GET").respond_with_json(body)

    tests = make_client(httpserver, fake_time).list_tests()

    assert [t["name"] for t in tests] == ["a", "b"]
    assert [str(t["id"]) for t in tests] == ["1", "2"]


def test_list_projects_sanitises_names(httpserver: HTTPServer, fake_time: FakeTime) -> None:
    httpserver.expect_request("/api/v2/projects").respond_with_json(
        {"data": [{"id": 7, "name": "nightly\x1b[2J\x07"}]}
    )

    assert make_client(httpserver, fake_time).list_projects() == [{"id": 7, "name": "nightly"}]


def test_list_tests_retries_a_503_and_refuses_a_404(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    script = Script([reply(503), reply(200, {"data": []})])
    httpserver.expect_request("/api/v2/tests").respond_with_handler(script)
    httpserver.expect_request("/api/v2/projects").respond_with_json({"error": "nope"}, status=404)
    client = make_client(httpserver, fake_time)

    assert client.list_tests() == []
    assert script.count == 2
    with pytest.raises(ApiError) as caught:
        client.list_projects()
    assert caught.value.verdict is Verdict.REFUSED
    assert caught.value.message == "Sipfront refused to list the projects: nope (HTTP 404)"


# ---- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.sipfront.com/api/v2", "https://app.sipfront.com/api/v2"),
        ("https://app.sipfront.com/api/v2/", "https://app.sipfront.com/api/v2"),
        (" HTTPS://App.Sipfront.com/api/v2// ", "https://app.sipfront.com/api/v2"),
        ("http://127.0.0.1:8000/api/v2", "http://127.0.0.1:8000/api/v2"),
        ("http://127.9.9.9/api/v2", "http://127.9.9.9/api/v2"),
        ("http://localhost:8000/api/v2", "http://localhost:8000/api/v2"),
        ("http://[::1]:8000/api/v2", "http://[::1]:8000/api/v2"),
    ],
)
def test_check_base_url_accepts_https_and_loopback_http(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://app.sipfront.com/api/v2", "must use https://"),
        ("http://10.0.0.1/api/v2", "must use https://"),
        ("http://localhost.evil.com/api/v2", "must use https://"),
        ("ftp://app.sipfront.com/api/v2", "must start with https://"),
        ("app.sipfront.com/api/v2", "must start with https://"),
        ("https:///api/v2", "has no host name"),
        ("https://app.sipfront.com:99999/api/v2", "invalid port"),
        ("https://app.sipfront.com/api/v2?key=1", "must not have a query"),
        ("", "is empty"),
        ("https://app sipfront.com/", "spaces"),
    ],
)
def test_check_base_url_refuses_with_a_plain_sentence(url: str, words: str) -> None:
    with pytest.raises(ValueError, match="Sipfront API URL") as caught:
        check_base_url(url)
    assert words in str(caught.value)


def test_check_base_url_refuses_credentials_without_repeating_them() -> None:
    with pytest.raises(ValueError) as caught:
        check_base_url("https://pk_live_abc:hunter2secret@app.sipfront.com/api/v2")

    message = str(caught.value)
    assert "user name or password" in message
    assert "hunter2secret" not in message and "pk_live_abc" not in message


BASE = "https://app.sipfront.com/api/v2"


@pytest.mark.parametrize(
    ("status_url", "expected"),
    [
        (f"{BASE}/runs/1/status", f"{BASE}/runs/1/status"),
        (
            "https://APP.sipfront.com:443/api/v2/runs/1/status",
            "https://APP.sipfront.com:443/api/v2/runs/1/status",
        ),
        ("http://app.sipfront.com/api/v2/runs/1/status", f"{BASE}/runs/1/status"),
        ("https://evil.example/api/v2/runs/1/status?a=b#frag", f"{BASE}/runs/1/status?a=b"),
        ("https://app.sipfront.com:8443/api/v2/runs/1/status", f"{BASE}/runs/1/status"),
        ("https://user:pw@app.sipfront.com/api/v2/runs/1/status", f"{BASE}/runs/1/status"),
        ("/api/v2/runs/1/status", f"{BASE}/runs/1/status"),
        ("runs/1/status", f"{BASE}/runs/1/status"),
        ("//evil.example/api/v2/runs/1/status", f"{BASE}/runs/1/status"),
    ],
)
def test_status_urls_are_kept_on_the_api_origin(status_url: str, expected: str) -> None:
    assert resolve_status_url(BASE, status_url) == expected


def test_an_http_status_url_on_a_loopback_http_base_is_used_as_given() -> None:
    base = "http://127.0.0.1:8000/api/v2"
    url = "http://127.0.0.1:8000/api/v2/runs/1/status"
    assert resolve_status_url(base, url) == url


# ---- secrets --------------------------------------------------------------------------------


def test_no_key_appears_in_any_error_message_or_repr(
    httpserver: HTTPServer, other_server: HTTPServer, fake_time: FakeTime
) -> None:
    errors: list[BaseException] = []
    echo = f"{PUBLIC} {SECRET}"
    scenarios: list[tuple[str, Response]] = [
        ("tests/run", reply(422, {"error": "bad"})),
        ("tests/run", reply(500, {"error": echo})),
        ("tests/run", reply(503, {"error": echo})),
        ("tests/run", reply(200, raw=echo)),
        ("runs/sess-1/status", reply(404, {"error": echo})),
        ("runs/sess-1/status", reply(503, raw=echo)),
        ("tests", reply(400, raw="")),
        ("tests/run", reply(401, {"error": echo})),
    ]
    for path, answer in scenarios:
        httpserver.clear()
        httpserver.expect_request(f"/api/v2/{path}").respond_with_response(answer)
        client = make_client(httpserver, fake_time)
        errors.append(AssertionError(repr(client)))
        try:
            if path == "tests/run":
                client.trigger("test", {"test.name": "x"})
            elif path == "tests":
                client.list_tests()
            else:
                client.status(httpserver.url_for(f"/api/v2/{path}"), deadline=fake_time.now + 5)
        except (ApiError, RunNotFound) as exc:
            errors.append(exc)
    refused = make_client(None, fake_time, base=f"http://127.0.0.1:{free_port()}/api/v2")
    with pytest.raises(ApiError) as caught:
        refused.trigger("test", {"test.name": "x"})
    errors.append(caught.value)

    assert len(errors) == 2 * len(scenarios) + 1
    for error in errors:
        for text in (str(error), repr(error), str(error.__cause__), str(error.__context__)):
            assert SECRET not in text
            assert PUBLIC not in text


# ---- backoff --------------------------------------------------------------------------------


class Highest(random.Random):
    """Always draws the top of the range, to see the ceiling of the jitter."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    delays = [backoff_delay(n, base=0.5, cap=30.0, rng=Highest()) for n in range(1, 10)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_delay(10_000, rng=Highest()) == 30.0


def test_backoff_is_jittered_between_zero_and_the_ceiling() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(4, base=1.0, cap=30.0, rng=rng) for _ in range(200)]

    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 150


def test_backoff_never_waits_less_than_retry_after() -> None:
    rng = random.Random(5)
    assert all(backoff_delay(n, retry_after=45.0, rng=rng) >= 45.0 for n in range(1, 20))
    assert backoff_delay(1, retry_after=0.0, rng=Highest()) == 0.5


NOW = datetime(2024, 2, 9, 8, 20, 18, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("86400", 300.0),
        ("Fri, 09 Feb 2024 08:20:48 GMT", 30.0),
        ("Fri, 09 Feb 2024 08:19:00 GMT", 0.0),
        ("Sat, 10 Feb 2024 08:20:18 GMT", 300.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("soon", None),
        ("1e9", None),
        ("Fri, 99 Foo 2024", None),
        ("\u0663", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_headers_trickling_in_end_at_the_runs_deadline() -> None:
    # A raw server on loopback that sends its status line and headers one byte a second.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    stop = threading.Event()
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 300

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                for byte in answer:
                    if stop.wait(1.0):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = SipfrontClient(f"http://127.0.0.1:{port}/api/v2", PUBLIC, SECRET)
    started = time.monotonic()
    try:
        with pytest.raises(ApiError) as caught:
            client.status(
                f"http://127.0.0.1:{port}/api/v2/runs/s/status", deadline=time.monotonic() + 3
            )
    finally:
        stop.set()
        listener.close()
    elapsed = time.monotonic() - started
    assert caught.value.verdict is Verdict.UNREACHABLE
    assert "no complete answer within" in caught.value.message
    assert elapsed < 40, f"took {elapsed:.0f}s; the headers alone would take 300s"


def test_one_watchdog_thread_serves_every_request_in_flight() -> None:
    watchdog = transport._Watchdog()
    watches = [transport._Watch() for _ in range(50)]
    for watch in watches:
        watchdog.watch(0.3, watch)
    spared = transport._Watch()
    watchdog.watch(0.3, spared)()  # cancelled at once
    threads = [t for t in threading.enumerate() if t.name == "sipfront-watchdog"]
    assert len(threads) <= 2  # this one, and at most the shared one of earlier tests
    deadline = time.monotonic() + 30
    while not all(watch.expired for watch in watches):
        assert time.monotonic() < deadline, "the watchdog did not expire every watch"
        time.sleep(0.05)
    time.sleep(0.5)
    assert not spared.expired


# ---- one retry policy: the three request loops agree -------------------------------------------


def _loops(
    client: SipfrontClient, httpserver: HTTPServer, deadline: float | None
) -> dict[str, Any]:
    """Each of the client's three request loops, as a call that raises its ApiError."""
    status_deadline = deadline if deadline is not None else 10_000.0
    return {
        "trigger": lambda: client.trigger("test", {"test.name": "x"}, deadline=deadline),
        "status": lambda: client.status(
            httpserver.url_for("/api/v2/runs/sess-1/status"), deadline=status_deadline
        ),
        "listing": (
            (lambda: client.listing("test", deadline=deadline, attempts=5))
            if deadline is not None
            else client.list_tests
        ),
    }


def _every_loop_answers(httpserver: HTTPServer, answer: Response) -> None:
    for path in ("/api/v2/tests/run", "/api/v2/runs/sess-1/status", "/api/v2/tests"):
        httpserver.expect_request(path).respond_with_handler(Script([answer]))


def test_the_three_request_loops_give_up_with_one_unreachable_sentence(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    _every_loop_answers(httpserver, reply(503, {"error": "busy"}))
    client = make_client(httpserver, fake_time)
    messages = {}
    for name, call in _loops(client, httpserver, fake_time.now + 20).items():
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.verdict is Verdict.UNREACHABLE, name
        messages[name] = caught.value.message
    for name, message in messages.items():
        assert re.fullmatch(
            r"Sipfront API unreachable after \d+ attempts? over [\d.]+m?s: HTTP 503", message
        ), (name, message)


def test_the_three_request_loops_end_alike_on_a_retry_after_longer_than_what_is_left(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    _every_loop_answers(httpserver, reply(503, headers={"Retry-After": "99999"}))
    client = make_client(httpserver, fake_time)
    for name, call in _loops(client, httpserver, fake_time.now + 60).items():
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.verdict is Verdict.UNREACHABLE, name
        assert caught.value.message.startswith("Sipfront asked to retry after 99999s"), name
    assert fake_time.sleeps == []  # none of them waited for it


def test_without_a_deadline_the_trigger_and_the_listing_cap_a_retry_after_alike(
    httpserver: HTTPServer, fake_time: FakeTime
) -> None:
    _every_loop_answers(httpserver, reply(503, headers={"Retry-After": "99999"}))
    client = make_client(httpserver, fake_time, max_trigger_attempts=2)
    waited = {}
    for name, call in _loops(client, httpserver, None).items():
        if name == "status":
            continue  # a status poll always has its run's deadline
        fake_time.sleeps.clear()
        with pytest.raises(ApiError):
            call()
        waited[name] = list(fake_time.sleeps)
    assert waited == {"trigger": [300.0], "listing": [300.0]}


@pytest.mark.parametrize(
    ("loop", "sentence"),
    [
        ("trigger", "Interrupted before its run was triggered"),
        ("status", "Interrupted; the run is still going at Sipfront"),
        ("listing", "Interrupted while asking Sipfront for a list; nothing was started"),
    ],
)
def test_an_interrupt_during_a_retry_wait_ends_each_loop_with_its_own_sentence(
    httpserver: HTTPServer, fake_time: FakeTime, loop: str, sentence: str
) -> None:
    _every_loop_answers(httpserver, reply(503))
    cancel = threading.Event()

    def interrupted_sleep(seconds: float) -> None:
        fake_time.sleep(seconds)
        cancel.set()

    client = SipfrontClient(
        api(httpserver),
        PUBLIC,
        SECRET,
        cancel=cancel,
        sleep=interrupted_sleep,
        clock=fake_time.clock,
        rng=random.Random(7),
    )
    with pytest.raises(ApiError) as caught:
        _loops(client, httpserver, None)[loop]()
    assert caught.value.verdict is Verdict.INTERRUPTED
    assert caught.value.message == sentence


def test_every_transport_failure_reason_is_typed() -> None:
    from pytest_sipfront.api.transport import Failure, Trouble, classify

    for exc in (
        ConnectionRefusedError(),
        socket.gaierror(),
        TimeoutError(),
        ConnectionResetError(),
        RuntimeError(),
    ):
        trouble = classify(exc)
        assert isinstance(trouble.failure, Failure)
        assert trouble.reason == trouble.failure.value
    assert Trouble(Failure.HTTP_STATUS, http_status=503).reason == "HTTP 503"
    assert Trouble(Failure.TOO_SLOW, within=35).reason == "no complete answer within 35s"
