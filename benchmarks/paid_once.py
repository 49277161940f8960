#!/usr/bin/env python3
"""The "paid once" benchmark: what a cancelled or crashed session costs the next attempt, with
the run ledger and without it, side by side in one run.

    python benchmarks/paid_once.py           # 20 runs of 30 s, the first session killed at 10 s
    python benchmarks/paid_once.py --tiny    # 4 runs of 6 s, killed at 2 s (CI)

Each side gets its own sandbox (in this process, counting every request) and its own folder:

1. the first session (``pytest`` in a subprocess, concurrency N) triggers N runs; once Sipfront
   has answered every trigger, it is left running until K seconds after the first trigger, then
   killed with SIGKILL (a runner that vanished);
2. the same command again: with ``--sipfront-ledger`` it re-attaches (it should send no
   trigger and end when the runs end: what was left of them, plus at most 2 s); without one it
   triggers all N again and waits a full run's duration.

Targets (judged, exit 1 when missed; with --tiny only the trigger counts are judged):
- ledger side, second session: 0 triggers, every item passed, and it ends at most 2 s after
  the runs end (counted from its first request when they ended during its start-up: Python
  and pytest start-up is shown apart, as "start-up");
- no-ledger side: N more triggers.
Nothing reaches Sipfront.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_sipfront.sandbox import Catalog, SandboxServer

PUBLIC_KEY = "pk-bench-paid-once"
SECRET_KEY = "sk-bench-paid-once"
SLACK = 2.0
"""What the issue allows beyond what was left of the runs."""


@dataclass(frozen=True)
class Sizes:
    runs: int
    duration: float
    kill_at: float


@dataclass
class Side:
    name: str
    ledger: bool
    first_triggers: int = 0
    second_triggers: int = 0
    killed_after: float = 0.0
    """Seconds from the first trigger to the kill."""
    startup: float = 0.0
    """Second session: from its start to its first request at the sandbox."""
    wall: float = 0.0
    """Second session: process wall, start to exit."""
    after_runs: float = 0.0
    """Second session: how long after the first session's runs ended (or after its own first
    request, when they had ended before it) it exited."""
    passed: bool = False
    exit_code: int = 0

    def left(self, sizes: Sizes) -> float:
        return max(0.0, sizes.duration - self.killed_after)


def manifest(runs: int) -> str:
    lines = ["tests:"]
    for number in range(1, runs + 1):
        lines += [f"  - name: call-{number}", "    test: long-call"]
    return "\n".join(lines) + "\n"


def command(server: SandboxServer, runs: int, ledger: bool) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "pytest",
        "sipfront.yml",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "--sipfront-url",
        server.base_url,
        "--sipfront-concurrency",
        str(runs),
        "--sipfront-max-rps",
        str(max(20, 4 * runs)),
        "--sipfront-poll-interval",
        "1s",
    ]
    return args + (["--sipfront-ledger", "ledger.json"] if ledger else [])


def environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIPFRONT_", "PYTEST_"))}
    env.update(
        SIPFRONT_PUBLIC_KEY=PUBLIC_KEY,
        SIPFRONT_SECRET_KEY=SECRET_KEY,
        SIPFRONT_REVISION="bench",
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_for(condition: object, seconds: float, what: str) -> None:
    assert callable(condition)
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError(f"gave up after {seconds}s waiting for {what}")
        time.sleep(0.02)


def answered(server: SandboxServer) -> int:
    """Triggers answered so far (the sandbox logs a request once it has answered it)."""
    return sum(
        1
        for r in server.requests
        if r.method == "POST" and r.endpoint == "tests.run" and r.status == 200
    )


def run_side(side: Side, sizes: Sizes, folder: Path) -> None:
    catalog = Catalog.from_dict({"tests": [{"name": "long-call", "duration": sizes.duration}]})
    server = SandboxServer(catalog, public_key=PUBLIC_KEY, secret_key=SECRET_KEY)
    server.start()
    try:
        (folder / "sipfront.yml").write_text(manifest(sizes.runs), encoding="utf-8")
        argv = command(server, sizes.runs, side.ledger)
        first = subprocess.Popen(
            argv, cwd=folder, env=environ(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(lambda: answered(server) >= sizes.runs, 120, "every trigger answered")
            triggers = [r.time for r in server.requests if r.endpoint == "tests.run"]
            first_trigger = min(triggers)
            runs_end = max(triggers) + sizes.duration
            wait_for(lambda: time.monotonic() - first_trigger >= sizes.kill_at, 600, "the kill")
            first.send_signal(signal.SIGKILL)
            side.killed_after = time.monotonic() - first_trigger
        finally:
            first.kill()
            first.wait()
        side.first_triggers = server.count("tests.run")
        before = len(server.requests)
        started = time.monotonic()
        second = subprocess.run(
            argv, cwd=folder, env=environ(), capture_output=True, text=True, timeout=600
        )
        ended = time.monotonic()
        side.wall = ended - started
        requests = server.requests[before:]
        first_request = min(r.time for r in requests) if requests else started
        side.startup = first_request - started
        side.after_runs = ended - max(runs_end, first_request)
        side.second_triggers = server.count("tests.run") - side.first_triggers
        side.exit_code = second.returncode
        side.passed = second.returncode == 0 and f"{sizes.runs} passed" in second.stdout
    finally:
        server.stop()


def table(sides: Sequence[Side], sizes: Sizes) -> list[str]:
    rows = [
        f"paid once: {sizes.runs} runs of {sizes.duration:g} s, the first session killed "
        f"{sizes.kill_at:g} s after its first trigger (SIGKILL), then the same command",
        "",
        "| second session | triggers | process wall | start-up | left of the runs "
        "| ended after the runs | all passed |",
        "|---|---|---|---|---|---|---|",
    ]
    for side in sides:
        left = side.left(sizes)
        rows.append(
            f"| {side.name} | {side.second_triggers} | {side.wall:.1f} s | {side.startup:.1f} s "
            f"| {left:.1f} s | {side.after_runs:+.1f} s | {'yes' if side.passed else 'no'} |"
        )
    return rows


def judge(sides: Sequence[Side], sizes: Sizes, tiny: bool) -> list[str]:
    misses: list[str] = []
    ledger, bare = sides
    if ledger.second_triggers != 0:
        misses.append(f"with a ledger the second session sent {ledger.second_triggers} triggers")
    if bare.second_triggers != sizes.runs:
        misses.append(f"without a ledger: {bare.second_triggers} triggers, not {sizes.runs}")
    if not ledger.passed:
        misses.append(f"with a ledger the second session did not pass (exit {ledger.exit_code})")
    if not tiny and ledger.after_runs > SLACK:
        misses.append(
            f"with a ledger it ended {ledger.after_runs:.1f} s after the runs (allowed {SLACK:g} s)"
        )
    return misses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tiny", action="store_true", help="4 runs of 6 s, killed at 2 s")
    args = parser.parse_args(argv)
    sizes = Sizes(4, 6.0, 2.0) if args.tiny else Sizes(20, 30.0, 10.0)
    sides = [Side("with --sipfront-ledger", True), Side("without a ledger", False)]
    errors: list[BaseException] = []
    with tempfile.TemporaryDirectory(prefix="sipfront-paid-once-") as root:

        def run(side: Side, folder: Path) -> None:
            try:
                run_side(side, sizes, folder)
            except BaseException as error:  # reported below; the other side goes on
                errors.append(error)

        threads = []
        for number, side in enumerate(sides):
            folder = Path(root) / str(number)
            folder.mkdir()
            thread = threading.Thread(target=run, args=(side, folder))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    if errors:
        print(f"paid once: the benchmark crashed: {errors[0]!r}", file=sys.stderr)
        return 2
    print("\n".join(table(sides, sizes)))
    misses = judge(sides, sizes, args.tiny)
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
