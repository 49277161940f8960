"""pytest-xdist's broker form (docs/dev/design.md): the controller triggers and polls every run and
the workers only wait for their items' verdicts.

The controller serves its :class:`~pytest_sipfront.runs.service.RunService` on loopback with a
random token; each worker gets the address in its ``workerinput`` and talks to it with
:class:`BrokerClient`, which offers the same calls the gate uses in one process.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qs, quote, urlsplit

from pytest_sipfront.runs.job import Progress, RunJob, job_from_dict, job_to_dict
from pytest_sipfront.runs.messages import heartbeat
from pytest_sipfront.runs.outcome import RunOutcome, run_from_dict, run_to_dict

if TYPE_CHECKING:  # a worker's BrokerClient needs neither the service nor its sandbox
    from pytest_sipfront.runs.service import RunService

TOKEN_HEADER = "X-Sipfront-Broker"
LONG_POLL = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _BrokerHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _allowed(self) -> bool:
        if secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), self.server.token):
            return True
        self._answer(403, {"error": "forbidden"})
        return False

    def do_GET(self) -> None:
        if not self._allowed():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        service = self.server.service
        if url.path == "/result":
            key = query.get("key", [""])[0]
            timeout = min(float(query.get("wait", [str(LONG_POLL)])[0]), LONG_POLL)
            with self.server.lock:
                self.server.waiting[key] = self.server.waiting.get(key, 0) + 1
            try:
                outcome = service.wait(key, timeout)
            finally:
                with self.server.lock:
                    self.server.waiting[key] -= 1
                    if not self.server.waiting[key]:
                        del self.server.waiting[key]
            self._answer(
                200,
                {
                    "outcome": run_to_dict(outcome) if outcome else None,
                    "progress": asdict(service.progress()),
                    "running_for": service.running_for(key),
                },
            )
        elif url.path == "/knows":
            self._answer(200, {"knows": service.knows(query.get("key", [""])[0])})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if not self._allowed():
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        service = self.server.service
        if self.path == "/plan":
            service.plan([job_from_dict(job) for job in body["jobs"]])
            self._answer(200, {"ok": True})
        elif self.path == "/run-now":
            service.run_now(job_from_dict(body["job"]))
            self._answer(200, {"ok": True})
        else:
            self._answer(404, {"error": "not found"})


class _BrokerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A worker gone mid-answer (the session is stopping) is no news: print nothing."""

    def __init__(self, make_service: Callable[[], RunService], token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._make_service = make_service
        self._service: RunService | None = None
        self._service_lock = threading.Lock()
        self.token = token
        self.lock = threading.Lock()
        self.waiting: dict[str, int] = {}
        """Keys a worker is waiting for right now (long polls in progress)."""

    @property
    def service(self) -> RunService:
        """The run service, made on first use (it imports the HTTP client)."""
        with self._service_lock:
            if self._service is None:
                self._service = self._make_service()
            return self._service


class Broker:
    """The controller's side: serves a run service to the workers.

    The service is made in the background once the broker starts: its imports (the HTTP
    client) then overlap the workers' start-up instead of delaying it."""

    def __init__(self, make_service: Callable[[], RunService]) -> None:
        self._server = _BrokerHTTPServer(make_service, secrets.token_hex(16))
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for this loop to notice
            name="sipfront-broker",
            daemon=True,
        )

    @property
    def address(self) -> str:
        """``host:port|token``, for the workers' ``workerinput``."""
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"{host}:{port}|{self._server.token}"

    @property
    def service(self) -> RunService:
        return self._server.service

    def start(self, heartbeat: float | None = None, stream: TextIO | None = None) -> None:
        self._thread.start()
        threading.Thread(
            target=lambda: self._server.service, name="sipfront-broker-service", daemon=True
        ).start()
        if heartbeat and stream is not None:
            threading.Thread(
                target=self._heartbeat,
                args=(heartbeat, stream),
                name="sipfront-heartbeat",
                daemon=True,
            ).start()

    def _heartbeat(self, interval: float, stream: TextIO) -> None:
        """Workers' stderr is hidden under xdist, so the controller says who is waiting.
        Only a line to stderr is written here; nothing of pytest is touched."""
        while not self._stopped.wait(interval):
            with self._server.lock:
                keys = sorted(self._server.waiting)
            progress = self.service.progress()
            for key in keys:
                line = heartbeat(
                    self.service.name_of(key),
                    self.service.running_for(key),
                    progress.running,
                    progress.done,
                    progress.queued,
                )
                stream.write(line + "\n")
            stream.flush()

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()


class BrokerClient:
    """A worker's side: the calls of :class:`~pytest_sipfront.runs.job.Service`, answered by
    the controller's run service."""

    def __init__(self, address: str) -> None:
        hostport, self._token = address.split("|", 1)
        host, port = hostport.rsplit(":", 1)
        self._host = host
        self._port = int(port)
        self._last: dict[str, float] = {}
        self._progress = Progress(0, 0, 0)

    def _request(self, method: str, path: str, payload: Any = None, timeout: float = 10) -> Any:
        # http.client, not requests: no proxy variables may route loopback traffic elsewhere.
        connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        try:
            body = json.dumps(payload).encode() if payload is not None else None
            headers = {TOKEN_HEADER: self._token, "Content-Type": "application/json"}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = json.loads(response.read() or b"null")
            if response.status != 200:
                raise RuntimeError(f"pytest-sipfront controller answered HTTP {response.status}")
            return data
        finally:
            connection.close()

    def plan(self, jobs: Sequence[RunJob]) -> None:
        self._request("POST", "/plan", {"jobs": [job_to_dict(job) for job in jobs]})

    def run_now(self, job: RunJob) -> None:
        self._request("POST", "/run-now", {"job": job_to_dict(job)})

    def knows(self, key: str) -> bool:
        return bool(self._request("GET", f"/knows?key={quote(key)}")["knows"])

    def wait(self, key: str, timeout: float | None) -> RunOutcome | None:
        end = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            left = LONG_POLL if end is None else min(LONG_POLL, max(0.0, end - time.monotonic()))
            data = self._request("GET", f"/result?key={quote(key)}&wait={left}", timeout=left + 30)
            self._progress = Progress(**data["progress"])
            self._last[key] = float(data["running_for"])
            if data["outcome"]:
                return run_from_dict(data["outcome"])
            if end is not None and time.monotonic() >= end:
                return None

    def progress(self) -> Progress:
        return self._progress

    def running_for(self, key: str) -> float:
        return self._last.get(key, 0.0)

    def interrupted(self, key: str) -> RunOutcome | None:
        return None  # the controller holds the runs; its JUnit file lists them
