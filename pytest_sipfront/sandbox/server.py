"""The Sipfront sandbox: a real HTTP server on loopback that speaks the Sipfront v2 API.

It answers like Sipfront does (see ``docs/dev/sipfront-api.md``): Basic auth, JSON and form bodies
(``multipart/form-data`` too, as ``curl -F`` sends), test runs and project runs that report
``running`` first and then a finished body, kiosk and full report links, and error bodies
``{"error": "...", "status": <code>}``. Nothing leaves the machine, and no run is real:
every report link opens a page that says SANDBOX.

It accepts the credentials ``sandbox-public`` / ``sandbox-secret`` unless told otherwise.

The catalog format is in :mod:`pytest_sipfront.sandbox.catalog`, the answers in
:mod:`pytest_sipfront.sandbox.behaviour`.

In Python::

    with SandboxServer(Catalog.load("sandbox-catalog.yml")) as sandbox:
        sandbox.base_url            # http://127.0.0.1:<port>/api/v2
        ...                         # drive it with SandboxServer.PUBLIC_KEY / SECRET_KEY
        sandbox.count("tests.run")  # what it saw; sandbox.requests, sandbox.triggers()
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Mapping
from email import policy
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl

from pytest_sipfront.sandbox.behaviour import (
    Answer,
    ApiState,
    RequestRecord,
    error_answer,
    fault_answer,
    phrase,
)
from pytest_sipfront.sandbox.catalog import Catalog, Fault
from pytest_sipfront.sandbox.endpoints import (
    API_PREFIX,
    SANDBOX_HEADER,
    TRIGGERS,
    Call,
    Endpoint,
    route,
)

_MAX_BODY = 1 << 20
BODY_TOO_LARGE = "The request body is too large"

# --------------------------------------------------------------------------- request bodies


class _BadBody(Exception):
    pass


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"test": {"name": "x"}}`` reads like ``{"test.name": "x"}``; flat keys stay as sent."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _form_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in pairs:
        key = key.removesuffix("[]")
        if key in fields:
            previous = fields[key]
            fields[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[key] = value
    return fields


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """JSON, form-urlencoded or multipart/form-data; raise ``_BadBody`` when unreadable."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return _multipart(raw, content_type)
    text = raw.decode("utf-8", errors="replace")
    if kind == "application/json" or (kind == "" and text.lstrip().startswith("{")):
        try:
            value = json.loads(text) if text.strip() else {}
        except ValueError:
            raise _BadBody("The request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise _BadBody("The request body must be a JSON object")
        return value
    return _form_fields(parse_qsl(text, keep_blank_values=True))


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode(
        "latin-1", errors="replace"
    )
    message = BytesParser(policy=policy.HTTP).parsebytes(header + raw)
    if not message.is_multipart():
        raise _BadBody("The multipart body cannot be read")
    pairs: list[tuple[str, str]] = []
    for part in cast(list[Message], message.get_payload()):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        value = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
        pairs.append((name, value))
    return _form_fields(pairs)


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SipfrontSandbox/1"
    timeout = 300  # idle keep-alive connections are closed after this long

    @property
    def state(self) -> ApiState:
        return cast(_HTTPServer, self.server).state

    def setup(self) -> None:
        super().setup()
        cast(_HTTPServer, self.server).track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_HTTPServer, self.server).track(self.connection, add=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request on stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get a JSON error body too."""
        self.close_connection = True
        answer = error_answer(code, message or phrase(code))
        with contextlib.suppress(OSError):
            self._write(answer)

    # ---- one request

    def _serve(self) -> None:
        arrived = time.monotonic()
        path = self.path.partition("?")[0].partition("#")[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        endpoint, params = route(path)
        self._record_base = (arrived, self.command, path, endpoint.name if endpoint else "other")
        self._body: dict[str, Any] | None = None
        self._authorized = False
        self._trickle: float | None = None
        try:
            raw = self._read_body()
        except _BadBody as exc:
            self.close_connection = True
            self._answer(error_answer(400, str(exc)))
            return
        try:
            self._dispatch(endpoint, params, raw)
        except OSError:
            self.close_connection = True
        except Exception as exc:  # a sandbox bug: answer it, and say so once on stderr
            print(f"sipfront sandbox: internal error: {exc!r}", file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._answer(error_answer(500, "Sandbox internal error"))

    def _dispatch(self, endpoint: Endpoint | None, params: dict[str, str], raw: bytes) -> None:
        state = self.state
        fields, bad_body = self._fields(raw)
        self._authorized = state.authorized(self.headers.get("Authorization"))
        query = self.path.partition("?")[2].partition("#")[0]
        call = Call(self.command, self._record_base[2], params, fields, query)
        if endpoint is not None:
            fault = state.pick_fault(endpoint.name, state.concerned(endpoint, call))
            if fault is not None and self._play(fault):
                return
        self._answer(state.answer(endpoint, call, authorized=self._authorized, bad_body=bad_body))

    def _fields(self, raw: bytes) -> tuple[dict[str, Any], str | None]:
        """A POST's body read and flattened, or why it cannot be read; nothing for other methods."""
        if self.command != "POST":
            return {}, None
        try:
            self._body = _parse_body(raw, self.headers.get("Content-Type", ""))
        except _BadBody as exc:
            return {}, str(exc)
        return _flatten(self._body), None

    def _play(self, fault: Fault) -> bool:
        """Act out a fault; True when it took the request over (dropped or answered it)."""
        self._trickle = fault.trickle
        if fault.delay and self.state.stopping.wait(fault.delay):
            self._drop()
            return True
        if fault.drop:
            self._drop()
            return True
        if fault.status is not None or fault.body is not None:
            self._answer(fault_answer(fault))
            return True
        return False

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadBody("Content-Length is not a number") from None
        if length < 0 or length > _MAX_BODY:
            raise _BadBody(BODY_TOO_LARGE)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadBody("The chunked request body cannot be read") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY:
                raise _BadBody(BODY_TOO_LARGE)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    # ---- answering

    def _record(self, status: int) -> None:
        arrived, method, path, endpoint = self._record_base
        self.state.record(
            RequestRecord(
                time=arrived,
                method=method,
                path=path,
                endpoint=endpoint,
                status=status,
                body=self._body,
                authorized=self._authorized,
            )
        )

    def _answer(self, answer: Answer) -> None:
        self._record(answer.status)
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        trickle = getattr(self, "_trickle", None)
        if trickle:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        self.send_header(SANDBOX_HEADER, "1")  # every answer says it is no real Sipfront
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if not trickle:
            self.wfile.write(answer.body)
            return
        # Slowly: one chunk of a byte (or more, above 100 bytes per second) at a time.
        step = max(1, int(trickle / 100))
        for start in range(0, len(answer.body), step):
            piece = answer.body[start : start + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if self.state.stopping.wait(len(piece) / trickle):
                self.close_connection = True
                return
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        """Close the connection without an answer; the client sees a reset."""
        self._record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many clients connect at once

    def __init__(self, address: tuple[str, int], state: ApiState) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self.connections_lock:
            if add:
                self.connections.add(connection)
            else:
                self.connections.discard(connection)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that go away (timeouts, resets) are normal here: say nothing."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """The sandbox as a server: ``start()`` serves in a daemon thread until ``stop()``.

    >>> with SandboxServer() as sandbox:          # doctest: +SKIP
    ...     url = sandbox.base_url                 # http://127.0.0.1:<port>/api/v2
    """

    PUBLIC_KEY = "sandbox-public"
    SECRET_KEY = "sandbox-secret"

    def __init__(
        self,
        catalog: Catalog | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        public_key: str = PUBLIC_KEY,
        secret_key: str = SECRET_KEY,
    ) -> None:
        self.catalog = catalog if catalog is not None else Catalog.default()
        self._state = ApiState(self.catalog, public_key, secret_key)
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- lifecycle

    def _bind(self) -> _HTTPServer:
        with self._lock:
            if self._httpd is None:
                if self._state.stopping.is_set():
                    raise RuntimeError("this sandbox was stopped; create a new SandboxServer")
                try:
                    httpd = _HTTPServer(self._address, self._state)
                except OSError as exc:
                    host, port = self._address
                    raise OSError(
                        exc.errno, f"the sandbox cannot listen on {host}:{port}: {exc.strerror}"
                    ) from None
                bound_host, port = str(httpd.server_address[0]), int(httpd.server_address[1])
                shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
                if shown == "::":
                    shown = "::1"
                if ":" in shown:
                    shown = f"[{shown}]"
                self._state.host = shown
                self._state.port = port
                self._state.origin = f"http://{shown}:{port}"
                self._httpd = httpd
            return self._httpd

    def start(self) -> str:
        """Serve in a daemon thread; return the base URL (``http://127.0.0.1:<port>/api/v2``)."""
        httpd = self._bind()
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    name="sipfront-sandbox",
                    daemon=True,
                )
                thread.start()
                self._thread = thread
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call more than once."""
        self._state.stopping.set()
        with self._lock:
            httpd, self._httpd = self._httpd, None
            thread, self._thread = self._thread, None
        if httpd is None:
            return
        if thread is not None:
            httpd.shutdown()  # returns once the serving loop has ended
            thread.join(timeout=5)
        httpd.server_close()
        httpd.close_connections()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- where it is

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``; valid after :meth:`start`."""
        if not self._state.origin:
            raise RuntimeError("the sandbox has no address yet: call start() first")
        return self._state.origin

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/v2``; valid after :meth:`start`."""
        return self.origin + API_PREFIX

    @property
    def bound_address(self) -> tuple[str, int]:
        """The host and port the socket really listens on (``0.0.0.0`` stays ``0.0.0.0``)."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("the sandbox is not listening: call start() first")
        return str(httpd.server_address[0]), int(httpd.server_address[1])

    # ---- what it saw

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in the order they were answered (a copy)."""
        with self._state.lock:
            return list(self._state.records)

    def count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint`` (e.g. ``"tests.run"``), answered or not."""
        with self._state.lock:
            return sum(1 for r in self._state.records if r.endpoint == endpoint)

    def triggers(self) -> list[dict[str, Any]]:
        """The bodies of every POST to tests.run and projects.run, accepted or not, in order."""
        return [
            dict(r.body or {})
            for r in self.requests
            if r.method == "POST" and r.endpoint in TRIGGERS
        ]

    def add_fault(self, fault: Fault) -> None:
        """Inject a fault while the sandbox runs (takes effect with the next request)."""
        self._state.add_fault(fault)
