"""The Sipfront v2 API over HTTP: trigger a run, poll its status, list tests and projects.

Every answer is hostile until sanitised. Transient trouble on status requests is retried until
the run's deadline; a trigger (POST) is sent again only when the first one provably started
nothing (docs/dev/design.md, retry rules). Credentials go to the configured API origin only.

Decisions where the contract leaves a choice:

- A redirect answer to a trigger is never followed (following a 307/308 would send the POST
  again, and a 303 after a POST may mean the run started): it is the "unknown" error.
- A redirect answer to a GET is followed on the API's own origin, at most 3 hops; a redirect
  to another origin is never followed (the credentials would go with it) and counts as
  transient trouble ("redirected to another site") for status polls.
- On a status request, 404 and 410 raise :class:`RunNotFound`; 401/403 are the credentials
  error; every other answer that is not a 2xx with a ``run`` object (other 4xx included) is
  transient trouble, retried until the deadline: the run is still going at Sipfront, and
  giving up early would lose it.
- Listing tests/projects retries transient trouble like the trigger's safe cases, up to
  ``max_trigger_attempts`` attempts; other 4xx are :data:`Verdict.REFUSED`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar
from urllib.parse import urljoin

from pytest_sipfront.api.ratelimit import RateLimiter
from pytest_sipfront.api.retry import DEFAULT_POLICY, GiveUp, RetryPolicy
from pytest_sipfront.api.runstatus import RunReading, read_run_body
from pytest_sipfront.api.transport import Answer, Failure, Trouble, new_session, send
from pytest_sipfront.api.urls import (
    TRIGGER_PATHS,
    check_base_url,
    last_url,
    list_url,
    resolve_status_url,
    same_origin,
    stats_url,
    trigger_url,
)
from pytest_sipfront.manifest.safety import credential_problem
from pytest_sipfront.runs.messages import (
    AUTH_MESSAGE,
    INTERRUPTED,
    INTERRUPTED_LISTING,
    INTERRUPTED_QUEUED,
    LIST_REFUSED_MESSAGE,
    LISTING_TIME_LEFT,
    MEDIA_TIME_LEFT,
    REFUSED_MESSAGE,
    RUN_TIMEOUT_LEFT,
    TRIGGER_BUDGET_LEFT,
    UNKNOWN_TRIGGER,
    VANISHED_MESSAGE,
    retry_after_too_long,
    unreachable,
)
from pytest_sipfront.runs.outcome import Verdict
from pytest_sipfront.sandbox.endpoints import SANDBOX_HEADER
from pytest_sipfront.sanitize import (
    ERROR_BODY_LIMIT,
    REDACTOR,
    clean_http_url,
    clean_json,
    clean_line,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
MIN_REQUEST_TIME = 1.0
"""A request near its run's deadline still gets this long (seconds) for its answer."""

T = TypeVar("T")


@dataclass(frozen=True)
class _Loop:
    """What differs between the three request loops: only the words. Every rule of retrying
    is the one :class:`~pytest_sipfront.api.retry.RetryPolicy`."""

    interrupted: str
    """The sentence when an interrupt ends the loop (while waiting or before sending)."""
    left_of: str
    """What a deadline is the end of, for a Retry-After longer than what is left."""


TRIGGER_LOOP = _Loop(INTERRUPTED_QUEUED, TRIGGER_BUDGET_LEFT)
STATUS_LOOP = _Loop(INTERRUPTED, RUN_TIMEOUT_LEFT)
LIST_LOOP = _Loop(INTERRUPTED_LISTING, LISTING_TIME_LEFT)
STATS_LOOP = _Loop(INTERRUPTED, MEDIA_TIME_LEFT)


class ApiError(Exception):
    """A gate problem with the API; ``message`` is the first line users see."""

    def __init__(self, verdict: Verdict, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message
        self.http_status = http_status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ApiError({self.verdict.value!r}, {self.message!r}, http_status={self.http_status})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.verdict, self.message, self.http_status))


class RunNotFound(Exception):
    """A 404 (or 410) on a status request. The caller decides when a run has vanished."""

    def __init__(self, http_status: int = 404) -> None:
        message = VANISHED_MESSAGE.format(code=http_status)
        super().__init__(message)
        self.message = message
        self.http_status = http_status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.http_status,))


class StatsUnavailable(Exception):
    """A stats request that gave no usable answer; ``reason`` says why (sanitised)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason,))


@dataclass(frozen=True)
class TriggerResponse:
    """What the trigger answered, sanitised."""

    session_id: str | None
    """``data.session_id``; for project runs ``project_run_uuid`` or ``project_run_id``."""
    report_url: str | None
    """``data.report_url`` when it is an http(s) URL."""
    status_url: str
    """Already resolved by :func:`resolve_status_url`: safe to send credentials to."""
    data: dict[str, Any]
    """The whole sanitised ``data`` object."""


def _error_text(answer: Answer) -> str:
    """``error``, else ``description``, else a short plain-text body; sanitised, at most 300."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error", "description", "message"):
            value = body.get(key)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                text = clean_line(value, ERROR_BODY_LIMIT)
                if text:
                    return text
        return ""
    if body is None:
        text = clean_line(answer.body.decode("utf-8", "replace"), ERROR_BODY_LIMIT)
        if text and not text.startswith("<"):
            return text
    return ""


def _text_id(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = clean_line(value, 200)
        return text or None
    return None


def _extract_list(body: Any, key: str) -> list[dict[str, Any]] | None:
    """Tolerant reading of a list answer: a bare list, ``{"data": [...]}``, ``{"<key>": [...]}``,
    one of those nested in ``data``, or a dict of id -> item. The items are raw (the callers
    clean them for display; a name lookup matches them as sent)."""

    def pick(value: Any, depth: int) -> list[Any] | None:
        if isinstance(value, list):
            return value
        if not isinstance(value, dict) or depth > 2:
            return None
        for name in ("data", key, "items", "results"):
            if name in value:
                found = pick(value[name], depth + 1)
                if found is not None:
                    return found
        items = [v for k, v in value.items() if k != "status"]
        if items and all(isinstance(v, dict) for v in items):
            return [{**v, "id": v.get("id", k)} for k, v in value.items() if isinstance(v, dict)]
        if not items:
            return []
        return None

    found = pick(body, 0)
    if found is None:
        return None
    return [item for item in found if isinstance(item, dict)]


# --------------------------------------------------------------------------------------------
# The client


class SipfrontClient:
    """One HTTP session to the Sipfront API, shared by every thread of the gate."""

    def __init__(
        self,
        base_url: str,
        public_key: str,
        secret_key: str,
        *,
        limiter: RateLimiter | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        pool_size: int = 10,
        cancel: threading.Event | None = None,
        max_trigger_attempts: int = 5,
        retry: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        """``sleep`` replaces the waits between retries (tests); without it the client waits on
        ``cancel`` (so an interrupt ends a wait at once), or with ``time.sleep``. ``clock`` is
        the monotonic clock that status deadlines are measured on."""
        self.base_url = check_base_url(base_url)
        for name, key in (("SIPFRONT_PUBLIC_KEY", public_key), ("SIPFRONT_SECRET_KEY", secret_key)):
            if not isinstance(key, str):
                raise ValueError(f"{name} must be a string")
            problem = credential_problem(name, key)
            if problem:
                raise ValueError(problem)
        # An echo of the keys is redacted; added to the process's one redactor, never
        # replacing what another client (a sandbox one too) put there.
        self.redactor = REDACTOR
        self.redactor.add_credentials(public_key, secret_key)
        self.limiter = limiter
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.cancel = cancel
        self.max_trigger_attempts = max(1, max_trigger_attempts)
        self.retry = retry.with_attempts(self.max_trigger_attempts)
        """The one retry policy of the trigger and the listings; status polls use it without
        an attempt limit (their deadline bounds them)."""
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._auth_status: int | None = None
        self.sandbox_seen = False
        """True once an answer said it came from a sandbox (its ``X-Sipfront-Sandbox``
        header): the one place a session learns that a plain API URL is no real Sipfront."""
        self._session = new_session(public_key, secret_key, pool_size)
        # Triggers go over a session of their own that never reuses a connection: a POST on a
        # kept-alive connection that the server closed meanwhile would fail in a way that
        # cannot tell whether the run started.
        self._trigger_session = new_session(public_key, secret_key, pool_size)
        self._trigger_session.headers["Connection"] = "close"

    def __repr__(self) -> str:
        return f"SipfrontClient(base_url={self.base_url!r})"

    def now(self) -> float:
        """The client's monotonic clock, that every ``deadline`` argument is measured on."""
        return self._clock()

    def close(self) -> None:
        self._session.close()
        self._trigger_session.close()

    def __enter__(self) -> SipfrontClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing -------------------------------------------------------------------------

    def _auth_error(self) -> ApiError:
        code = self._auth_status or 401
        return ApiError(Verdict.AUTH, AUTH_MESSAGE.format(code=code), http_status=code)

    def _latch_auth(self, code: int) -> NoReturn:
        if self._auth_status is None:
            self._auth_status = code
        raise self._auth_error()

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def _wait(self, delay: float) -> bool:
        """Wait ``delay`` seconds; False when the cancel event ended the wait."""
        if self._cancelled():
            return False
        if delay > 0:
            if self._sleep is not None:
                self._sleep(delay)
            elif self.cancel is not None:
                if self.cancel.wait(delay):
                    return False
            else:
                time.sleep(delay)
        return not self._cancelled()

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        read_timeout: float | None = None,
        interrupted: str = INTERRUPTED,
        deadline: float | None = None,
        background: bool = False,
    ) -> Answer:
        """One HTTP request (after the rate limiter; ``background`` waits behind every other
        request), its body read up to a cap.

        The whole request (connect, headers and body) ends by ``connect_timeout`` plus the
        read timeout, and by ``deadline`` (the run's, on the client's clock) when that comes
        first, though never sooner than :data:`MIN_REQUEST_TIME`.

        Raises :class:`ApiError` for a latched auth failure or an interrupt, :class:`Trouble`
        when no answer came.
        """
        if self._auth_status is not None:
            raise self._auth_error()
        if self._cancelled():
            raise ApiError(Verdict.INTERRUPTED, interrupted)
        slot = None
        if self.limiter is not None:
            slot = (
                self.limiter.begin_background(self.cancel)
                if background
                else self.limiter.begin(self.cancel)
            )
        if self.limiter is not None and slot is None:
            raise ApiError(Verdict.INTERRUPTED, interrupted)
        try:
            return self._send_now(method, url, body, read_timeout, deadline)
        finally:
            if slot is not None:
                slot.done()

    def _send_now(
        self,
        method: str,
        url: str,
        body: bytes | None,
        read_timeout: float | None,
        deadline: float | None = None,
    ) -> Answer:
        if self._auth_status is not None:  # another thread learnt it while we waited
            raise self._auth_error()
        session = self._trigger_session if method == "POST" else self._session
        timeout = (self.connect_timeout, read_timeout or self.read_timeout)
        allowed = self.connect_timeout + timeout[1]
        if deadline is not None:
            allowed = min(allowed, max(MIN_REQUEST_TIME, deadline - self._clock()))
        answer = send(session, method, url, body=body, timeout=timeout, allowed=allowed)
        if answer.headers.get(SANDBOX_HEADER):
            self.sandbox_seen = True
        return answer

    def _get(
        self,
        url: str,
        *,
        read_timeout: float | None = None,
        deadline: float | None = None,
        interrupted: str = INTERRUPTED,
        background: bool = False,
    ) -> Answer:
        """A GET that follows redirects on the API's own origin (at most 3 hops)."""
        for _hop in range(MAX_REDIRECTS + 1):
            answer = self._send(
                "GET",
                url,
                read_timeout=read_timeout,
                deadline=deadline,
                interrupted=interrupted,
                background=background,
            )
            location = answer.headers.get("Location")
            if answer.code not in (301, 302, 303, 307, 308) or not location:
                return answer
            target = urljoin(url, location.strip())
            if not same_origin(target, self.base_url):
                raise Trouble(Failure.REDIRECTED_ELSEWHERE, http_status=answer.code)
            url = target
        raise Trouble(Failure.TOO_MANY_REDIRECTS, http_status=answer.code)

    def _retrying(
        self,
        once: Callable[[], T],
        loop: _Loop,
        policy: RetryPolicy,
        deadline: float | None,
    ) -> T:
        """Call ``once`` until it returns, retrying each :class:`Trouble` it raises as
        ``policy`` says: THE request loop of the trigger, the status poll and the listings.

        Raises :class:`ApiError`: UNREACHABLE when the policy gives up (one sentence,
        :func:`~pytest_sipfront.runs.messages.unreachable`, or the Retry-After one),
        INTERRUPTED (``loop.interrupted``) when the cancel event ends a wait."""
        first_failure: float | None = None
        attempt = 0
        while True:
            attempt += 1
            sent = self._clock()
            try:
                return once()
            except Trouble as caught:
                trouble = caught
            if first_failure is None:
                first_failure = sent  # the API has been unusable since this request left
            now = self._clock()
            left = None if deadline is None else deadline - now
            decision = policy.after(
                attempt, retry_after=trouble.retry_after, left=left, rng=self._rng
            )
            if decision.give_up is GiveUp.RETRY_AFTER_TOO_LONG:
                assert trouble.retry_after is not None and left is not None
                raise ApiError(
                    Verdict.UNREACHABLE,
                    retry_after_too_long(trouble.retry_after, left, loop.left_of),
                    http_status=trouble.http_status,
                )
            if decision.give_up is None:
                log.debug("%s; retrying in %.1fs", trouble.reason, decision.delay)
                if not self._wait(decision.delay):
                    raise ApiError(Verdict.INTERRUPTED, loop.interrupted)
                now = self._clock()
                if deadline is None or now < deadline:
                    continue
            raise ApiError(
                Verdict.UNREACHABLE,
                unreachable(attempt, now - first_failure, trouble.reason),
                http_status=trouble.http_status,
            )

    # ---- trigger --------------------------------------------------------------------------

    def trigger(
        self, kind: str, body: Mapping[str, Any], *, deadline: float | None = None
    ) -> TriggerResponse:
        """Start a run: ``kind`` ``test`` posts to ``/tests/run``, ``project`` to
        ``/projects/run``, with ``body`` as JSON (flat dotted keys).

        ``deadline`` (on the client's clock) is the trigger's budget: no retry waits past it,
        and a Retry-After longer than what is left of it ends the trigger at once (UNREACHABLE,
        naming the Retry-After).

        Raises :class:`ApiError`: AUTH, REFUSED, UNREACHABLE (only when no attempt can have
        started a run), UNKNOWN (a run may have started), INTERRUPTED (before any attempt that
        may have started a run).
        """
        if kind not in TRIGGER_PATHS:
            raise ValueError(f"kind must be 'test' or 'project', not {kind!r}")
        url = trigger_url(self.base_url, kind)
        payload = json.dumps(dict(body), allow_nan=False).encode("utf-8")
        return self._retrying(
            lambda: self._trigger_once(url, payload, deadline), TRIGGER_LOOP, self.retry, deadline
        )

    def _trigger_once(self, url: str, payload: bytes, deadline: float | None) -> TriggerResponse:
        """One trigger attempt: the run's answer; :class:`Trouble` only when it provably
        started nothing (so it may be sent again)."""
        try:
            answer = self._send(
                "POST",
                url,
                body=payload,
                interrupted=TRIGGER_LOOP.interrupted,
                deadline=deadline,
            )
        except Trouble as trouble:
            if trouble.sent:
                log.debug("trigger failed after sending: %s", trouble.reason)
                raise ApiError(
                    Verdict.UNKNOWN, UNKNOWN_TRIGGER, http_status=trouble.http_status
                ) from None
            raise
        code = answer.code
        if code in (401, 403):
            self._latch_auth(code)
        if code in (429, 503):
            raise Trouble(
                Failure.HTTP_STATUS, retry_after=answer.retry_after_asked, http_status=code
            )
        if 200 <= code < 300:
            return self._trigger_response(answer)
        if 400 <= code < 500:
            text = _error_text(answer) or f"HTTP {code}"
            raise ApiError(
                Verdict.REFUSED,
                REFUSED_MESSAGE.format(reason=text, code=code),
                http_status=code,
            )
        log.debug("trigger answered HTTP %s: the run may have started", code)
        raise ApiError(Verdict.UNKNOWN, UNKNOWN_TRIGGER, http_status=code)

    def _trigger_response(self, answer: Answer) -> TriggerResponse:
        try:
            body = answer.json()
        except ValueError:
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_TRIGGER, http_status=answer.code) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_TRIGGER, http_status=answer.code)
        clean = clean_json(data)
        raw_status_url = data.get("status_url")
        try:
            if not isinstance(raw_status_url, str):
                raise ValueError("no status URL")
            status_url = resolve_status_url(self.base_url, clean_line(raw_status_url, 2000))
        except ValueError:
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_TRIGGER, http_status=answer.code) from None
        session_id = (
            _text_id(data.get("session_id"))
            or _text_id(data.get("project_run_uuid"))
            or _text_id(data.get("project_run_id"))
        )
        return TriggerResponse(
            session_id=session_id,
            report_url=clean_http_url(data.get("report_url")),
            status_url=status_url,
            data=clean if isinstance(clean, dict) else {},
        )

    # ---- status ---------------------------------------------------------------------------

    def status(self, status_url: str, *, deadline: float, kind: str = "test") -> RunReading:
        """One logical status poll: the verdict read from the raw ``run`` object, and that
        object sanitised for display (:func:`~pytest_sipfront.api.runstatus.read_run_body`).

        Transient trouble is retried with backoff until ``deadline`` (on the client's clock),
        never waiting past it. Raises :class:`RunNotFound` on 404/410, :class:`ApiError` AUTH
        on 401/403, UNREACHABLE when the deadline passes while failing, INTERRUPTED when the
        cancel event is set.
        """
        url = resolve_status_url(self.base_url, status_url)

        def once() -> RunReading:
            read_timeout = max(1.0, min(self.read_timeout, deadline - self._clock()))
            return self._status_once(url, read_timeout, deadline, kind)

        return self._retrying(once, STATUS_LOOP, self.retry.with_attempts(None), deadline)

    def _status_once(self, url: str, read_timeout: float, deadline: float, kind: str) -> RunReading:
        answer = self._get(url, read_timeout=read_timeout, deadline=deadline)
        code = answer.code
        if code in (401, 403):
            self._latch_auth(code)
        if code in (404, 410):
            raise RunNotFound(code)
        if not 200 <= code < 300:
            raise Trouble(
                Failure.HTTP_STATUS, retry_after=answer.retry_after_asked, http_status=code
            )
        try:
            body = answer.json()
        except ValueError:
            raise Trouble(Failure.NOT_JSON, http_status=code) from None
        reading = read_run_body(body, kind)
        if reading is None:
            raise Trouble(Failure.NO_RUN, http_status=code)
        return reading

    # ---- history --------------------------------------------------------------------------

    def last_run(self, kind: str, entity_id: str, *, deadline: float) -> RunReading | None:
        """GET ``/tests/:id/status/last`` (``kind`` ``test``) or ``/projects/:id/status/last``:
        the latest run read like a status body (the same raw-body verdict), or ``None``.

        One request through the rate limiter, never retried: a 404, any other status, an
        empty, non-JSON or run-less body, no answer at all, even refused credentials all mean
        "no history" (``None``) and never an error; the trigger that follows decides the rest.
        """
        if kind not in TRIGGER_PATHS:
            raise ValueError(f"kind must be 'test' or 'project', not {kind!r}")
        url = last_url(self.base_url, kind, entity_id)
        read_timeout = max(MIN_REQUEST_TIME, min(self.read_timeout, deadline - self._clock()))
        try:
            answer = self._get(url, read_timeout=read_timeout, deadline=deadline)
        except (Trouble, ApiError):
            return None
        if not 200 <= answer.code < 300:
            return None
        try:
            body = answer.json()
        except ValueError:
            return None
        return read_run_body(body, kind, keys=("run", "data"))

    # ---- media metrics --------------------------------------------------------------------

    def stats(
        self,
        session_id: str,
        measure: str | None = None,
        *,
        role: str = "",
        direction: str = "",
        deadline: float,
        attempts: int = 3,
    ) -> bytes:
        """GET ``/runs/:sid/stats`` (no ``measure``: the dimensions) or
        ``/runs/:sid/stats/:measure?role=...&dir=...`` (a series): the raw body of a 2xx answer,
        for the tolerant reader. Through the rate limiter; transient trouble (no answer, 429,
        5xx) is retried with backoff, at most ``attempts`` tries and never past ``deadline``.

        Raises :class:`StatsUnavailable` with the reason; a 401/403 here does not stop the
        session's runs (these endpoints may be refused to a key that may run tests). These
        requests wait behind every other in the rate limiter: metrics never hold back a run's
        status poll or trigger.
        """
        url = stats_url(self.base_url, session_id, measure, role, direction)
        policy = self.retry.with_attempts(attempts)
        try:
            return self._retrying(
                lambda: self._stats_once(url, deadline), STATS_LOOP, policy, deadline
            )
        except ApiError as error:  # the policy gave up, an interrupt, refused credentials
            raise StatsUnavailable(error.message) from None

    def _stats_once(self, url: str, deadline: float) -> bytes:
        answer = self._get(
            url, deadline=deadline, interrupted=STATS_LOOP.interrupted, background=True
        )
        code = answer.code
        if 200 <= code < 300:
            return answer.body
        if code == 429 or code >= 500:
            raise Trouble(
                Failure.HTTP_STATUS, retry_after=answer.retry_after_asked, http_status=code
            )
        text = _error_text(answer)
        raise StatsUnavailable(f"HTTP {code}" + (f": {text}" if text else ""))

    # ---- lists ----------------------------------------------------------------------------

    def list_tests(self, *, attempts: int | None = None) -> list[dict[str, Any]]:
        """GET ``/tests``: the tests the account can run, sanitised. ``attempts`` (default
        ``max_trigger_attempts``) bounds the tries on transient trouble."""
        return [clean_json(item) for item in self._list("tests", attempts)]

    def list_projects(self, *, attempts: int | None = None) -> list[dict[str, Any]]:
        """GET ``/projects``: the account's projects, sanitised."""
        return [clean_json(item) for item in self._list("projects", attempts)]

    def listing(self, kind: str, *, deadline: float, attempts: int = 1) -> list[dict[str, Any]]:
        """GET ``/tests`` (``kind`` ``test``) or ``/projects``, RAW (names as sent, to match a
        name exactly), ending by ``deadline`` on the client's clock (history: one attempt).

        Raises :class:`ApiError` like the listings above (UNREACHABLE when no answer came in
        time)."""
        if kind not in TRIGGER_PATHS:
            raise ValueError(f"kind must be 'test' or 'project', not {kind!r}")
        return self._list("tests" if kind == "test" else "projects", attempts, deadline)

    def _list(
        self, key: str, attempts: int | None = None, deadline: float | None = None
    ) -> list[dict[str, Any]]:
        url = list_url(self.base_url, key)
        policy = self.retry if attempts is None else self.retry.with_attempts(attempts)
        return self._retrying(
            lambda: self._list_once(url, key, deadline), LIST_LOOP, policy, deadline
        )

    def _list_once(self, url: str, key: str, deadline: float | None) -> list[dict[str, Any]]:
        read_timeout = None
        if deadline is not None:
            read_timeout = max(MIN_REQUEST_TIME, min(self.read_timeout, deadline - self._clock()))
        answer = self._get(
            url, read_timeout=read_timeout, deadline=deadline, interrupted=LIST_LOOP.interrupted
        )
        code = answer.code
        if code in (401, 403):
            self._latch_auth(code)
        if 400 <= code < 500 and code != 429:
            text = _error_text(answer) or f"HTTP {code}"
            raise ApiError(
                Verdict.REFUSED,
                LIST_REFUSED_MESSAGE.format(what=key, reason=text, code=code),
                http_status=code,
            )
        if not 200 <= code < 300:
            raise Trouble(
                Failure.HTTP_STATUS, retry_after=answer.retry_after_asked, http_status=code
            )
        try:
            body = answer.json()
        except ValueError:
            raise Trouble(Failure.NOT_JSON, http_status=code) from None
        items = _extract_list(body, key)
        if items is None:
            raise Trouble(Failure.NO_LIST, what=key, http_status=code)
        return items
