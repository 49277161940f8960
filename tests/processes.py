"""Real processes in tests: a clean environment, waiting on events, and a pytest session run as
a child process whose output is read while it runs.

Nothing here bounds time tightly: a wait gives up only after a generous limit (the machine is
shared and busy), and what a test checks is an event it can see (a request in the sandbox's
log, a line on stderr), never that a fixed sleep was long enough.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pytest_sipfront.sandbox import SandboxServer

# Variables of the outer session (pytest's own, GitHub's, ours, the action's inputs) that must
# not leak into a child process.
FOREIGN_PREFIXES = ("PYTEST_", "GITHUB_", "SIPFRONT_", "INPUT_")


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without :data:`FOREIGN_PREFIXES` variables, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_PREFIXES)}
    env.update(extra)
    return env


def github_environ(path: Path, **extra: str) -> dict[str, str]:
    """A clean environment as GitHub Actions sets it, its files in ``path``."""
    return clean_environ(
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(path),
        GITHUB_STEP_SUMMARY=str(path / "step_summary.md"),
        GITHUB_OUTPUT=str(path / "github_output.txt"),
        **extra,
    )


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` every 20 ms; fail the test naming ``what`` after ``seconds``."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {seconds}s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    """A loopback port nobody listens on (the OS picked it free; nothing binds it after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def polled_sessions(server: SandboxServer) -> set[str]:
    """Session ids whose status was asked for."""
    return {r.path.split("/")[-2] for r in server.requests if r.endpoint == "runs.status"}


def pytest_command(server: SandboxServer, *args: str) -> list[str]:
    """``python -m pytest sipfront.yml`` against ``server``, without the cache and without
    Hypothesis's plugin (unrelated to the gate, it imports all of hypothesis in its terminal
    summary: over a second without a bytecode cache)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "sipfront.yml",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "--sipfront-url",
        server.base_url,
        "--sipfront-max-rps",
        "100",
        *args,
    ]


@dataclass
class ChildProcess:
    """A process whose stdout and stderr are collected line by line while it runs, so that a
    test can wait for a line (:meth:`wait_for_line`) and still read everything at the end."""

    process: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, command: list[str], *, cwd: Path, env: Mapping[str, str]) -> ChildProcess:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        child = cls(process)
        for stream, lines in ((process.stdout, child.out), (process.stderr, child.err)):
            assert stream is not None
            reader = threading.Thread(target=child._read, args=(stream, lines), daemon=True)
            reader.start()
            child._readers.append(reader)
        return child

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._lock:
                lines.append(line)

    def stderr_so_far(self) -> str:
        with self._lock:
            return "".join(self.err)

    def finish(self, seconds: float) -> tuple[str, str]:
        """Wait up to ``seconds`` for the process to end; its whole stdout and stderr. Fails
        the test (after killing the process) when it is still running then."""
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            out, err = self._collected()
            raise AssertionError(f"still running after {seconds}s:\n{out}\n{err}") from None
        return self._collected()

    def _collected(self) -> tuple[str, str]:
        for reader in self._readers:
            reader.join(timeout=30)
        with self._lock:
            return "".join(self.out), "".join(self.err)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._collected()
