"""What the sandbox saw: its request log as hits, in this process or a process of its own."""

from __future__ import annotations

import bisect
import math
import multiprocessing
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_sipfront.sandbox import Catalog, SandboxServer


@dataclass(frozen=True)
class Hit:
    """One request the sandbox answered: arrival time (monotonic), endpoint, and the run it
    concerns (the test name sent with a trigger, the session id of a status request)."""

    time: float
    endpoint: str
    run: str


@dataclass
class Traffic:
    hits: list[Hit]

    def of(self, endpoint: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.endpoint == endpoint]

    def triggers_per_name(self) -> Counter[str]:
        return Counter(hit.run for hit in self.of("tests.run"))

    def status_per_run(self) -> Counter[str]:
        return Counter(hit.run for hit in self.of("runs.status"))

    def gate_time(self) -> float:
        """First trigger to last status request, as the sandbox saw them."""
        triggers = self.of("tests.run")
        status = self.of("runs.status")
        if not triggers or not status:
            return math.nan
        return max(hit.time for hit in status) - min(hit.time for hit in triggers)

    def first_trigger(self) -> float:
        return min((hit.time for hit in self.of("tests.run")), default=math.nan)

    def last_status(self) -> float:
        return max((hit.time for hit in self.of("runs.status")), default=math.nan)

    def max_in_window(self, width: float = 1.0) -> int:
        """The most requests whose arrival times fall in any window [t, t + width)."""
        times = sorted(hit.time for hit in self.hits)
        best = 0
        for i, start in enumerate(times):
            best = max(best, bisect.bisect_left(times, start + width, lo=i) - i)
        return best


def _sandbox_class() -> type[SandboxServer]:
    try:
        from pytest_sipfront.sandbox import SandboxServer
    except ImportError:
        sys.exit("the benchmark needs pytest-sipfront installed: pip install -e '.[test]'")
    return SandboxServer


def _hits(server: SandboxServer) -> list[Hit]:
    hits = []
    for record in server.requests:
        run = ""
        if record.endpoint == "tests.run":
            run = str((record.body or {}).get("test.name", ""))
        elif record.endpoint == "runs.status":
            run = record.path.rstrip("/").split("/")[-2]
        hits.append(Hit(record.time, record.endpoint, run))
    return hits


def _catalog(duration: float) -> Catalog:
    from pytest_sipfront.sandbox import Catalog

    # Every test not listed passes after default_duration: the manifests name bench* tests.
    return Catalog.from_dict({"default_duration": duration}, source="<benchmark>")


@contextmanager
def local_sandbox(duration: float) -> Iterator[tuple[str, Callable[[], Traffic]]]:
    """The sandbox in a thread of this process."""
    server = _sandbox_class()(_catalog(duration))
    url = server.start()
    try:
        yield url, lambda: Traffic(_hits(server))
    finally:
        server.stop()


def _serve_sandbox(conn: Connection, duration: float) -> None:
    """In a process of its own: serve until told to stop, then send back what it saw."""
    server = _sandbox_class()(_catalog(duration))
    conn.send(server.start())
    conn.recv()
    hits = [(hit.time, hit.endpoint, hit.run) for hit in _hits(server)]
    server.stop()
    conn.send(hits)
    conn.close()


@contextmanager
def process_sandbox(duration: float) -> Iterator[tuple[str, Callable[[], Traffic]]]:
    """The sandbox in its own process (so that it does not share this process's GIL); it
    reports every request back through a pipe. CLOCK_MONOTONIC is system-wide on Linux, so its
    times compare with ours."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=_serve_sandbox, args=(theirs, duration), daemon=True)
    process.start()
    if not mine.poll(30):
        process.kill()
        raise RuntimeError("the sandbox process did not start within 30 s")
    url = str(mine.recv())
    seen: list[Traffic] = []

    def traffic() -> Traffic:
        if not seen:
            mine.send("stop")
            if not mine.poll(60):
                raise RuntimeError("the sandbox process did not report what it saw within 60 s")
            seen.append(Traffic([Hit(*row) for row in mine.recv()]))
        return seen[0]

    try:
        yield url, traffic
    finally:
        traffic()
        process.join(10)
        if process.is_alive():
            process.kill()
