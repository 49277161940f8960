"""The Sipfront v2 API over HTTP: trigger a run, poll its status, list tests and projects.

Every answer is hostile until sanitised. Transient trouble on status requests is retried until
the run's deadline; a trigger (POST) is sent again only when the first one provably started
nothing (docs/design.md, retry rules). Credentials go to the configured API origin only.

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

import contextlib
import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import requests.auth
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from pytest_sipfront import __version__
from pytest_sipfront.api.backoff import RETRY_AFTER_CAP, backoff_delay, parse_retry_after
from pytest_sipfront.api.ratelimit import RateLimiter
from pytest_sipfront.durations import format_duration
from pytest_sipfront.manifest.safety import credential_problem
from pytest_sipfront.runs.messages import (
    RUN_TIMEOUT_LEFT,
    TRIGGER_BUDGET_LEFT,
    retry_after_too_long,
)
from pytest_sipfront.runs.outcome import Verdict
from pytest_sipfront.sanitize import (
    ERROR_BODY_LIMIT,
    clean_json,
    clean_line,
    install_secrets,
    secret_forms,
)

log = logging.getLogger(__name__)

USER_AGENT = f"pytest-sipfront/{__version__}"
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Answers longer than this are not read to the end (a hostile server cannot fill memory)."""
MAX_REDIRECTS = 3

AUTH_MESSAGE = (
    "Sipfront rejected the API credentials (HTTP {code}): "
    "check SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
)
REFUSED_MESSAGE = "Sipfront refused to start the run: {reason} (HTTP {code})"
UNREACHABLE_ATTEMPTS_MESSAGE = "Sipfront API unreachable after {attempts} attempts: {reason}"
UNREACHABLE_FOR_MESSAGE = "Sipfront API unreachable for {duration}: {reason}"
UNKNOWN_MESSAGE = (
    "The trigger request failed after it was sent; a run may have started: "
    "check Sipfront before re-running"
)
INTERRUPTED_MESSAGE = "Interrupted; the run is still going at Sipfront"
INTERRUPTED_BEFORE_TRIGGER_MESSAGE = "Interrupted before the run was triggered"
VANISHED_MESSAGE = "Sipfront no longer knows this run (HTTP {code} on its status)"

_NameResolutionError: type[BaseException] | None = getattr(
    urllib3.exceptions, "NameResolutionError", None
)


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


# --------------------------------------------------------------------------------------------
# URLs


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def check_base_url(url: str) -> str:
    """Return the API base URL normalised (no trailing slash), or raise ``ValueError``.

    https is required, except for loopback hosts (127.0.0.0/8, ::1, localhost). A user name or
    password in the URL is refused (credentials come from the environment only); the message
    never repeats it.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("The Sipfront API URL is empty")
    text = url.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ValueError("The Sipfront API URL must not contain spaces or control characters")
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise ValueError(
            "The Sipfront API URL must not contain a user name or password: "
            "credentials come from SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY only"
        )
    shown = clean_line(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), 200)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"The Sipfront API URL must start with https:// (got {shown!r}), "
            "e.g. https://app.sipfront.com/api/v2"
        )
    if not parts.hostname:
        raise ValueError(f"The Sipfront API URL {shown!r} has no host name")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number 0..65535)
    except ValueError:
        raise ValueError(f"The Sipfront API URL {shown!r} has an invalid port") from None
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(
            f"The Sipfront API URL {shown!r} must not have a query or fragment "
            "(give the API base, e.g. https://app.sipfront.com/api/v2)"
        )
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"The Sipfront API URL {shown!r} must use https:// "
            "(plain http is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc.lower(), path, "", ""))


def resolve_status_url(base_url: str, status_url: str) -> str:
    """The URL to poll for a run, so that credentials go to the API's origin only.

    Same scheme, host and port as ``base_url``: used as given. Anything else (another host or
    port, ``http://`` on the base's own host while the base is https, a relative URL, a URL
    with a user name): its path and query are requested on the base's origin. Raises
    ``ValueError`` for something that is not a URL at all.
    """
    if not isinstance(status_url, str) or not status_url.strip():
        raise ValueError("the status URL is empty")
    text = status_url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("the status URL contains control characters")
    base = urlsplit(base_url)
    target = urlsplit(text)
    if not target.scheme and not target.netloc:
        # Relative: resolve against the base (a path of its own, or relative to /api/v2/).
        target = urlsplit(urljoin(base_url.rstrip("/") + "/", text))
    same = (
        target.scheme.lower() in ("http", "https")
        and "@" not in target.netloc
        and _origin(target) == _origin(base)
    )
    if same:
        return urlunsplit(target._replace(fragment=""))
    path = target.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return urlunsplit((base.scheme, base.netloc, path, target.query, ""))


def _same_origin(url: str, base_url: str) -> bool:
    parts = urlsplit(url)
    return "@" not in parts.netloc and _origin(parts) == _origin(urlsplit(base_url))


# --------------------------------------------------------------------------------------------
# Transport failures


class _Trouble(Exception):
    """No usable answer. ``sent`` is False only when provably nothing reached the server."""

    def __init__(
        self,
        reason: str,
        *,
        sent: bool = True,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.retry_after = retry_after
        self.http_status = http_status


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3 ``reason``, args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 50:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (item.__cause__, item.__context__, getattr(item, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
        todo.extend(arg for arg in item.args if isinstance(arg, BaseException))


_HANDSHAKE_WORDS = (
    "handshake",
    "certificate",
    "wrong_version_number",
    "wrong version number",
    "unsupported_protocol",
    "unsupported protocol",
    "protocol_version",
    "protocol version",
    "no_protocols_available",
    "no protocols available",
    "unknown_ca",
    "unknown ca",
    "hostname",
    "http_request",
)


def _is_handshake_error(exc: BaseException) -> bool:
    """A TLS error that can only come from the handshake (certificate, version, alert)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return True
    if not isinstance(exc, ssl.SSLError) or isinstance(
        exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
    ):
        return False
    text = f"{getattr(exc, 'reason', '') or ''} {exc}".lower()
    return any(word in text for word in _HANDSHAKE_WORDS)


def _classify(exc: BaseException) -> _Trouble:
    """A short human reason for a requests failure, and whether the request may have been sent."""
    chain = list(_chain(exc))

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(item, types) for item in chain)

    if (_NameResolutionError is not None and has(_NameResolutionError)) or has(socket.gaierror):
        return _Trouble("name not resolved", sent=False)
    if has(ConnectionRefusedError):
        return _Trouble("connection refused", sent=False)
    if has(requests.exceptions.ConnectTimeout) or any(
        isinstance(item, urllib3.exceptions.ConnectTimeoutError)
        and not isinstance(item, urllib3.exceptions.NewConnectionError)
        for item in chain
    ):
        return _Trouble("connect timed out", sent=False)
    if has(urllib3.exceptions.NewConnectionError):
        return _Trouble("connection failed", sent=False)
    if has(requests.exceptions.SSLError, ssl.SSLError):
        # urllib3 also reports TLS trouble while reading the answer as an SSLError: only the
        # errors that can happen in the handshake alone prove that nothing was sent.
        if any(_is_handshake_error(item) for item in chain):
            return _Trouble("TLS handshake failed", sent=False)
        return _Trouble("TLS connection failed")
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return _Trouble("read timed out")
    if has(
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
        http.client.RemoteDisconnected,
        http.client.IncompleteRead,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ChunkedEncodingError,
    ):
        return _Trouble("connection reset")
    return _Trouble("request failed")


@dataclass
class _Answer:
    code: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))

    @property
    def retry_after_asked(self) -> float | None:
        """Retry-After as the server sent it (no cap): compared with what is left of a run."""
        return parse_retry_after(self.headers.get("Retry-After"), cap=None)

    def json(self) -> Any:
        """The decoded body; raises ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            raise ValueError("empty body")
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise ValueError("not JSON") from exc


def _error_text(answer: _Answer) -> str:
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


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = clean_line(value, 2000)
    if not text.lower().startswith(("https://", "http://")) or " " in text:
        return None
    return text


def _text_id(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = clean_line(value, 200)
        return text or None
    return None


def _extract_list(body: Any, key: str) -> list[dict[str, Any]] | None:
    """Tolerant reading of a list answer: a bare list, ``{"data": [...]}``, ``{"<key>": [...]}``,
    one of those nested in ``data``, or a dict of id -> item."""

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
    return [clean_json(item) for item in found if isinstance(item, dict)]


# --------------------------------------------------------------------------------------------
# A total deadline per request
#
# requests' read timeout restarts with every byte that arrives: a server that trickles its
# headers or body one byte a second holds a request for ever. So each request gets a watchdog:
# when its total deadline passes, the socket of the connection it uses is shut down, which ends
# the blocked read in the sending thread at once. The connection classes below tell the
# watchdog which connection a request went out on (a kept-alive one too).


class _Watch:
    """The watchdog of one request: ``expire()`` shuts its connection's socket down."""

    def __init__(self) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[Any] = []

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        # socket.socket's own shutdown, also for an SSLSocket: the TLS object is left alone
        # while the other thread may be inside it; its read fails at once.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


class _WatchedConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self)
        super().request(*args, **kwargs)


class _WatchedPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }


MIN_REQUEST_TIME = 1.0
"""A request near its run's deadline still gets this long (seconds) for its answer."""
WATCHDOG_GRACE = 0.25
"""Seconds the watchdog waits beyond a request's total time before it cuts the connection."""


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
        install_secrets(secret_forms(public_key, secret_key))  # an echo of them is redacted
        self.limiter = limiter
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.cancel = cancel
        self.max_trigger_attempts = max(1, max_trigger_attempts)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._auth_status: int | None = None
        self._session = self._new_session(public_key, secret_key, pool_size)
        # Triggers go over a session of their own that never reuses a connection: a POST on a
        # kept-alive connection that the server closed meanwhile would fail in a way that
        # cannot tell whether the run started.
        self._trigger_session = self._new_session(public_key, secret_key, pool_size)
        self._trigger_session.headers["Connection"] = "close"

    @staticmethod
    def _new_session(public_key: str, secret_key: str, pool_size: int) -> requests.Session:
        session = requests.Session()
        # An auth object, not a tuple: its repr never shows the keys.
        session.auth = requests.auth.HTTPBasicAuth(public_key, secret_key)
        session.headers["Accept"] = "application/json"
        session.headers["User-Agent"] = USER_AGENT
        size = max(1, pool_size)
        adapter = _WatchedAdapter(pool_connections=size, pool_maxsize=size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def __repr__(self) -> str:
        return f"SipfrontClient(base_url={self.base_url!r})"

    @property
    def auth_failed(self) -> bool:
        """True after any 401/403: every later call fails at once without a request."""
        return self._auth_status is not None

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
        interrupted: str = INTERRUPTED_MESSAGE,
        deadline: float | None = None,
    ) -> _Answer:
        """One HTTP request (after the rate limiter), its body read up to a cap.

        The whole request (connect, headers and body) ends by ``connect_timeout`` plus the
        read timeout, and by ``deadline`` (the run's, on the client's clock) when that comes
        first, though never sooner than :data:`MIN_REQUEST_TIME`.

        Raises :class:`ApiError` for a latched auth failure or an interrupt, :class:`_Trouble`
        when no answer came.
        """
        if self._auth_status is not None:
            raise self._auth_error()
        if self._cancelled():
            raise ApiError(Verdict.INTERRUPTED, interrupted)
        slot = self.limiter.begin(self.cancel) if self.limiter is not None else None
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
    ) -> _Answer:
        if self._auth_status is not None:  # another thread learnt it while we waited
            raise self._auth_error()
        session = self._trigger_session if method == "POST" else self._session
        headers = {"Content-Type": "application/json"} if body is not None else None
        timeout = (self.connect_timeout, read_timeout or self.read_timeout)
        allowed = self.connect_timeout + timeout[1]
        if deadline is not None:
            allowed = min(allowed, max(MIN_REQUEST_TIME, deadline - self._clock()))
        too_slow = f"no complete answer within {format_duration(allowed)}"
        watch = _Watch()
        # A little later than ``allowed``: a silent server is "read timed out" (the read
        # timeout fires first); the watchdog is for answers that keep dripping in.
        timer = threading.Timer(allowed + WATCHDOG_GRACE, watch.expire)
        timer.daemon = True
        _current.watch = watch
        timer.start()
        try:
            try:
                response = session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except requests.RequestException as exc:
                trouble = _classify(exc)
                if watch.expired and trouble.sent and trouble.reason != "read timed out":
                    raise _Trouble(too_slow) from None
                raise trouble from None
            finally:
                _current.watch = None
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(65536):
                    if watch.expired:
                        raise _Trouble(too_slow, http_status=response.status_code)
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise _Trouble("answer too large", http_status=response.status_code)
                if watch.expired:
                    raise _Trouble(too_slow, http_status=response.status_code)
                return _Answer(response.status_code, response.headers, b"".join(chunks))
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                if watch.expired:
                    raise _Trouble(too_slow, http_status=response.status_code) from None
                raise _classify(exc) from None
            finally:
                response.close()
        finally:
            timer.cancel()
            _current.watch = None

    def _get(
        self, url: str, *, read_timeout: float | None = None, deadline: float | None = None
    ) -> _Answer:
        """A GET that follows redirects on the API's own origin (at most 3 hops)."""
        for _hop in range(MAX_REDIRECTS + 1):
            answer = self._send("GET", url, read_timeout=read_timeout, deadline=deadline)
            location = answer.headers.get("Location")
            if answer.code not in (301, 302, 303, 307, 308) or not location:
                return answer
            target = urljoin(url, location.strip())
            if not _same_origin(target, self.base_url):
                raise _Trouble("redirected to another site", http_status=answer.code)
            url = target
        raise _Trouble("too many redirects", http_status=answer.code)

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
        if kind not in ("test", "project"):
            raise ValueError(f"kind must be 'test' or 'project', not {kind!r}")
        url = f"{self.base_url}/{'tests' if kind == 'test' else 'projects'}/run"
        payload = json.dumps(dict(body), allow_nan=False).encode("utf-8")
        attempts = self.max_trigger_attempts
        for attempt in range(1, attempts + 1):
            try:
                answer = self._send(
                    "POST",
                    url,
                    body=payload,
                    interrupted=INTERRUPTED_BEFORE_TRIGGER_MESSAGE,
                    deadline=deadline,
                )
            except _Trouble as trouble:
                if trouble.sent:
                    log.debug("trigger failed after sending: %s", trouble.reason)
                    raise ApiError(
                        Verdict.UNKNOWN, UNKNOWN_MESSAGE, http_status=trouble.http_status
                    ) from None
                reason, retry_after, last_code = trouble.reason, None, None
            else:
                code = last_code = answer.code
                if code in (401, 403):
                    self._latch_auth(code)
                if code in (429, 503):
                    reason, retry_after = f"HTTP {code}", answer.retry_after_asked
                    if deadline is None and retry_after is not None:
                        retry_after = min(retry_after, RETRY_AFTER_CAP)
                elif 200 <= code < 300:
                    return self._trigger_response(answer)
                elif 400 <= code < 500:
                    text = _error_text(answer) or f"HTTP {code}"
                    raise ApiError(
                        Verdict.REFUSED,
                        REFUSED_MESSAGE.format(reason=text, code=code),
                        http_status=code,
                    )
                else:
                    log.debug("trigger answered HTTP %s: the run may have started", code)
                    raise ApiError(Verdict.UNKNOWN, UNKNOWN_MESSAGE, http_status=code)
            if attempt >= attempts:
                raise ApiError(
                    Verdict.UNREACHABLE,
                    UNREACHABLE_ATTEMPTS_MESSAGE.format(attempts=attempts, reason=reason),
                )
            delay = backoff_delay(attempt, retry_after=retry_after, rng=self._rng)
            if deadline is not None:
                left = deadline - self._clock()
                if retry_after is not None and retry_after > left:
                    raise ApiError(
                        Verdict.UNREACHABLE,
                        retry_after_too_long(retry_after, left, TRIGGER_BUDGET_LEFT),
                        http_status=last_code,
                    )
                if left <= 0:
                    raise ApiError(
                        Verdict.UNREACHABLE,
                        UNREACHABLE_ATTEMPTS_MESSAGE.format(attempts=attempt, reason=reason),
                    )
                delay = min(delay, left)
            log.debug("trigger not sent (%s); retrying in %.1fs", reason, delay)
            if not self._wait(delay):
                raise ApiError(Verdict.INTERRUPTED, INTERRUPTED_BEFORE_TRIGGER_MESSAGE)
        raise AssertionError("unreachable")  # pragma: no cover

    def _trigger_response(self, answer: _Answer) -> TriggerResponse:
        try:
            body = answer.json()
        except ValueError:
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_MESSAGE, http_status=answer.code) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_MESSAGE, http_status=answer.code)
        clean = clean_json(data)
        raw_status_url = data.get("status_url")
        try:
            if not isinstance(raw_status_url, str):
                raise ValueError("no status URL")
            status_url = resolve_status_url(self.base_url, clean_line(raw_status_url, 2000))
        except ValueError:
            raise ApiError(Verdict.UNKNOWN, UNKNOWN_MESSAGE, http_status=answer.code) from None
        session_id = (
            _text_id(data.get("session_id"))
            or _text_id(data.get("project_run_uuid"))
            or _text_id(data.get("project_run_id"))
        )
        return TriggerResponse(
            session_id=session_id,
            report_url=_http_url(data.get("report_url")),
            status_url=status_url,
            data=clean if isinstance(clean, dict) else {},
        )

    # ---- status ---------------------------------------------------------------------------

    def status(self, status_url: str, *, deadline: float) -> dict[str, Any]:
        """One logical status poll: the sanitised ``run`` object.

        Transient trouble is retried with backoff until ``deadline`` (on the client's clock),
        never waiting past it. Raises :class:`RunNotFound` on 404/410, :class:`ApiError` AUTH
        on 401/403, UNREACHABLE when the deadline passes while failing, INTERRUPTED when the
        cancel event is set.
        """
        url = resolve_status_url(self.base_url, status_url)
        first_failure: float | None = None
        failures = 0
        while True:
            sent = self._clock()
            remaining = deadline - sent
            read_timeout = max(1.0, min(self.read_timeout, remaining))
            try:
                return self._status_once(url, read_timeout, deadline)
            except _Trouble as trouble:
                now = self._clock()
                if first_failure is None:
                    first_failure = sent  # the API has been unusable since this request left
                failures += 1
                remaining = deadline - now
                delay = backoff_delay(failures, retry_after=trouble.retry_after, rng=self._rng)
                must_wait = trouble.retry_after or 0.0
                if remaining > 0 and must_wait > remaining:
                    raise ApiError(
                        Verdict.UNREACHABLE,
                        retry_after_too_long(must_wait, remaining, RUN_TIMEOUT_LEFT),
                        http_status=trouble.http_status,
                    ) from None
                if remaining <= 0:
                    raise ApiError(
                        Verdict.UNREACHABLE,
                        UNREACHABLE_FOR_MESSAGE.format(
                            duration=format_duration(max(0.0, now - first_failure)),
                            reason=trouble.reason,
                        ),
                        http_status=trouble.http_status,
                    ) from None
                delay = min(delay, remaining)
                log.debug("status request failed (%s); retrying in %.1fs", trouble.reason, delay)
                if not self._wait(delay):
                    raise ApiError(Verdict.INTERRUPTED, INTERRUPTED_MESSAGE) from None
                if self._clock() >= deadline:
                    end = self._clock()
                    raise ApiError(
                        Verdict.UNREACHABLE,
                        UNREACHABLE_FOR_MESSAGE.format(
                            duration=format_duration(max(0.0, end - first_failure)),
                            reason=trouble.reason,
                        ),
                        http_status=trouble.http_status,
                    ) from None

    def _status_once(self, url: str, read_timeout: float, deadline: float) -> dict[str, Any]:
        answer = self._get(url, read_timeout=read_timeout, deadline=deadline)
        code = answer.code
        if code in (401, 403):
            self._latch_auth(code)
        if code in (404, 410):
            raise RunNotFound(code)
        if not 200 <= code < 300:
            raise _Trouble(f"HTTP {code}", retry_after=answer.retry_after_asked, http_status=code)
        try:
            body = answer.json()
        except ValueError:
            raise _Trouble("answer was not JSON", http_status=code) from None
        run = body.get("run") if isinstance(body, dict) else None
        if not isinstance(run, dict):
            raise _Trouble("answer had no run object", http_status=code)
        clean = clean_json(run)
        return clean if isinstance(clean, dict) else {}

    # ---- lists ----------------------------------------------------------------------------

    def list_tests(self) -> list[dict[str, Any]]:
        """GET ``/tests``: the tests the account can run, sanitised."""
        return self._list("tests")

    def list_projects(self) -> list[dict[str, Any]]:
        """GET ``/projects``: the account's projects, sanitised."""
        return self._list("projects")

    def _list(self, key: str) -> list[dict[str, Any]]:
        url = f"{self.base_url}/{key}"
        attempts = self.max_trigger_attempts
        for attempt in range(1, attempts + 1):
            retry_after: float | None = None
            try:
                answer = self._get(url)
                code = answer.code
                if code in (401, 403):
                    self._latch_auth(code)
                if 400 <= code < 500 and code != 429:
                    text = _error_text(answer) or f"HTTP {code}"
                    raise ApiError(
                        Verdict.REFUSED,
                        f"Sipfront refused to list the {key}: {text} (HTTP {code})",
                        http_status=code,
                    )
                if not 200 <= code < 300:
                    raise _Trouble(f"HTTP {code}", retry_after=answer.retry_after)
                try:
                    body = answer.json()
                except ValueError:
                    raise _Trouble("answer was not JSON") from None
                items = _extract_list(body, key)
                if items is None:
                    raise _Trouble(f"answer had no list of {key}")
                return items
            except _Trouble as trouble:
                reason, retry_after = trouble.reason, trouble.retry_after
            if attempt >= attempts:
                raise ApiError(
                    Verdict.UNREACHABLE,
                    UNREACHABLE_ATTEMPTS_MESSAGE.format(attempts=attempts, reason=reason),
                )
            if not self._wait(backoff_delay(attempt, retry_after=retry_after, rng=self._rng)):
                raise ApiError(Verdict.INTERRUPTED, "Interrupted")
        raise AssertionError("unreachable")  # pragma: no cover
