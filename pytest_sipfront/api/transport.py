"""One HTTP request to the API, with a total deadline, and what can go wrong with it.

:func:`send` makes one request and reads its answer up to :data:`MAX_BODY_BYTES`;
:class:`Trouble` says that no usable answer came, and whether the request provably never
reached the server (only then may a trigger be sent again). Sessions from :func:`new_session`
carry the credentials as an auth object and use the watched connections below.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests
import requests.adapters
import requests.auth
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from pytest_sipfront import __version__
from pytest_sipfront.api.backoff import parse_retry_after
from pytest_sipfront.api.rawjson import load_json
from pytest_sipfront.durations import format_duration

USER_AGENT = f"pytest-sipfront/{__version__}"
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Answers longer than this are not read to the end (a hostile server cannot fill memory)."""
WATCHDOG_GRACE = 0.25
"""Seconds the watchdog waits beyond a request's total time before it cuts the connection."""

_NameResolutionError: type[BaseException] | None = getattr(
    urllib3.exceptions, "NameResolutionError", None
)


# --------------------------------------------------------------------------------------------
# Transport failures


class Failure(str, Enum):
    """Why no usable answer came: the transport's words, typed (the value is what people read)."""

    NAME_NOT_RESOLVED = "name not resolved"
    CONNECTION_REFUSED = "connection refused"
    CONNECT_TIMED_OUT = "connect timed out"
    CONNECTION_FAILED = "connection failed"
    TLS_HANDSHAKE_FAILED = "TLS handshake failed"
    TLS_CONNECTION_FAILED = "TLS connection failed"
    READ_TIMED_OUT = "read timed out"
    CONNECTION_RESET = "connection reset"
    REQUEST_FAILED = "request failed"
    TOO_SLOW = "no complete answer"
    """The whole exchange took longer than allowed (an answer dripping in)."""
    TOO_LARGE = "answer too large"
    REDIRECTED_ELSEWHERE = "redirected to another site"
    TOO_MANY_REDIRECTS = "too many redirects"
    HTTP_STATUS = "HTTP status"
    """An answer whose status is transient trouble (5xx, 429, ...)."""
    NOT_JSON = "answer was not JSON"
    NO_RUN = "answer had no run object"
    NO_LIST = "answer had no list"

    def __str__(self) -> str:
        return self.value


class Trouble(Exception):
    """No usable answer. ``sent`` is False only when provably nothing reached the server."""

    def __init__(
        self,
        failure: Failure,
        *,
        sent: bool = True,
        retry_after: float | None = None,
        http_status: int | None = None,
        within: float | None = None,
        what: str = "",
    ) -> None:
        """``retry_after`` is the server's Retry-After as asked (no cap: the retry policy
        decides); ``within`` the time allowed for a ``TOO_SLOW`` exchange; ``what`` the list a
        ``NO_LIST`` answer lacked."""
        self.failure = failure
        self.sent = sent
        self.retry_after = retry_after
        self.http_status = http_status
        self.within = within
        self.what = what
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """The failure as people read it: ``HTTP 503``, ``no complete answer within 35s``."""
        if self.failure is Failure.HTTP_STATUS:
            return f"HTTP {self.http_status}"
        if self.failure is Failure.TOO_SLOW and self.within is not None:
            return f"{self.failure.value} within {format_duration(self.within)}"
        if self.failure is Failure.NO_LIST and self.what:
            return f"{self.failure.value} of {self.what}"
        return str(self.failure.value)


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


def classify(exc: BaseException) -> Trouble:
    """A short human reason for a requests failure, and whether the request may have been sent."""
    chain = list(_chain(exc))

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(item, types) for item in chain)

    if (_NameResolutionError is not None and has(_NameResolutionError)) or has(socket.gaierror):
        return Trouble(Failure.NAME_NOT_RESOLVED, sent=False)
    if has(ConnectionRefusedError):
        return Trouble(Failure.CONNECTION_REFUSED, sent=False)
    if has(requests.exceptions.ConnectTimeout) or any(
        isinstance(item, urllib3.exceptions.ConnectTimeoutError)
        and not isinstance(item, urllib3.exceptions.NewConnectionError)
        for item in chain
    ):
        return Trouble(Failure.CONNECT_TIMED_OUT, sent=False)
    if has(urllib3.exceptions.NewConnectionError):
        return Trouble(Failure.CONNECTION_FAILED, sent=False)
    if has(requests.exceptions.SSLError, ssl.SSLError):
        # urllib3 also reports TLS trouble while reading the answer as an SSLError: only the
        # errors that can happen in the handshake alone prove that nothing was sent.
        if any(_is_handshake_error(item) for item in chain):
            return Trouble(Failure.TLS_HANDSHAKE_FAILED, sent=False)
        return Trouble(Failure.TLS_CONNECTION_FAILED)
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return Trouble(Failure.READ_TIMED_OUT)
    if has(
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
        http.client.RemoteDisconnected,
        http.client.IncompleteRead,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ChunkedEncodingError,
    ):
        return Trouble(Failure.CONNECTION_RESET)
    return Trouble(Failure.REQUEST_FAILED)


@dataclass
class Answer:
    code: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def retry_after_asked(self) -> float | None:
        """Retry-After as the server sent it (no cap): the retry policy compares it with what
        is left before a deadline, or caps it when there is none."""
        return parse_retry_after(self.headers.get("Retry-After"), cap=None)

    def json(self) -> Any:
        """The decoded body; raises ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            raise ValueError("empty body")
        return load_json(self.body)


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


class _Watchdog:
    """One thread that expires every request's watch at its deadline (a timer thread per
    request would be a thread per request in flight). It starts with the first request and
    ends after a minute without one."""

    IDLE = 60.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []  # [deadline, sequence, watch or None when cancelled]
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, after: float, watch: _Watch) -> Callable[[], None]:
        """Expire ``watch`` in ``after`` seconds; the function returned cancels that."""
        entry: list[Any] = [time.monotonic() + after, next(self._sequence), watch]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sipfront-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()

        def cancel() -> None:
            with self._cond:
                entry[2] = None

        return cancel

    def _next_due(self) -> _Watch | None:
        """The next watch whose deadline has passed, waiting for it; None once idle."""
        with self._cond:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if not self._heap:
                    if not self._cond.wait(self.IDLE) and not self._heap:
                        self._thread = None
                        return None
                    continue
                if self._heap[0][0] <= now:
                    due: _Watch = heapq.heappop(self._heap)[2]
                    return due
                self._cond.wait(self._heap[0][0] - now)

    def _run(self) -> None:
        while (due := self._next_due()) is not None:
            due.expire()


_WATCHDOG = _Watchdog()


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


def new_session(public_key: str, secret_key: str, pool_size: int) -> requests.Session:
    """A session to the API whose requests the watchdog of :func:`send` can cut."""
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


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    body: bytes | None,
    timeout: tuple[float, float],
    allowed: float,
) -> Answer:
    """One request (no redirect followed), its body read up to :data:`MAX_BODY_BYTES`.

    ``timeout`` is requests' (connect, read) pair; the whole exchange (connect, headers and
    body) ends after ``allowed`` seconds. Raises :class:`Trouble` when no answer came.
    """
    headers = {"Content-Type": "application/json"} if body is not None else None
    watch = _Watch()
    # A little later than ``allowed``: a silent server is "read timed out" (the read
    # timeout fires first); the watchdog is for answers that keep dripping in.
    cancel = _WATCHDOG.watch(allowed + WATCHDOG_GRACE, watch)
    _current.watch = watch
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
            trouble = classify(exc)
            if watch.expired and trouble.sent and trouble.failure is not Failure.READ_TIMED_OUT:
                raise Trouble(Failure.TOO_SLOW, within=allowed) from None
            raise trouble from None
        finally:
            _current.watch = None
        return _read(response, watch, allowed)
    finally:
        cancel()
        _current.watch = None


def _read(response: requests.Response, watch: _Watch, allowed: float) -> Answer:
    """The answer's body, unless it is too large or the watchdog cut it off."""
    try:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(65536):
            if watch.expired:
                raise Trouble(Failure.TOO_SLOW, within=allowed, http_status=response.status_code)
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise Trouble(Failure.TOO_LARGE, http_status=response.status_code)
        if watch.expired:
            raise Trouble(Failure.TOO_SLOW, within=allowed, http_status=response.status_code)
        return Answer(response.status_code, response.headers, b"".join(chunks))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if watch.expired:
            raise Trouble(
                Failure.TOO_SLOW, within=allowed, http_status=response.status_code
            ) from None
        raise classify(exc) from None
    finally:
        response.close()
