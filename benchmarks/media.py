#!/usr/bin/env python3
"""The cost of media metrics: N sandbox runs with ``--sipfront-media all`` against the same
runs with ``--sipfront-media off``, at ``--sipfront-max-rps 50``.

    python benchmarks/media.py            # 20 runs of 3 s, 3 alternating rounds of each
    python benchmarks/media.py --tiny     # 5 runs of 1 s, 1 round of each

The sandbox runs in this process and counts every request with its arrival time. "gate time"
is what the sandbox saw, from the first trigger to the last request (with ``all``, the last
stats request: every verdict waits for its run's metrics). Requests per run are the round's
requests over its runs, stats requests shown apart; "to last status" is ``gate.py``'s gate time
(first trigger to last status request) and "process wall" the pytest subprocess, for
comparison. The round with the median gate time of
each mode is shown; the target is ``all`` at most 1.1x the gate time of ``off``. History is
off in both (with it, later rounds would poll on the durations of earlier ones).

Exit status: 0 when the target holds and every run passed; 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_sipfront.sandbox import Catalog, SandboxServer

TARGET = 1.1
MAX_RPS = "50"


@dataclass(frozen=True)
class Round:
    mode: str
    gate_s: float
    status_s: float
    """From the first trigger to the last status request (``gate.py``'s gate time)."""
    wall_s: float
    requests: int
    stats_requests: int
    passed: bool


def manifest(runs: int) -> str:
    lines = ["tests:"]
    for number in range(runs):
        lines += [f"  - name: call-{number}", f"    test: bench-{number}"]
    return "\n".join(lines) + "\n"


def one_round(server: SandboxServer, folder: Path, mode: str, runs: int) -> Round:
    before = len(server.requests)
    env = {
        **os.environ,
        "SIPFRONT_PUBLIC_KEY": SandboxServer.PUBLIC_KEY,
        "SIPFRONT_SECRET_KEY": SandboxServer.SECRET_KEY,
    }
    env.pop("SIPFRONT_MEDIA", None)
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--sipfront-url",
            server.base_url,
            "--sipfront-concurrency",
            str(runs),
            "--sipfront-poll-interval",
            "1s",
            "--sipfront-max-rps",
            MAX_RPS,
            "--sipfront-media",
            mode,
            "--sipfront-history",  # rounds alike: no round polls on an earlier one's durations
            "off",
            "sipfront.yml",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.monotonic() - started
    records = server.requests[before:]
    triggers = [r.time for r in records if r.endpoint == "tests.run"]
    first = min(triggers) if triggers else float("nan")
    gate = max(r.time for r in records) - first
    status = max(r.time for r in records if r.endpoint == "runs.status") - first
    stats = sum(1 for r in records if r.endpoint.startswith("runs.stats"))
    return Round(mode, gate, status, wall, len(records), stats, done.returncode == 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tiny", action="store_true", help="5 runs of 1 s, one round each")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--duration", default=None, help="each run's duration (default 3s)")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.tiny else 20)
    rounds = args.rounds or (1 if args.tiny else 3)
    duration = args.duration or ("1s" if args.tiny else "3s")
    tests = [{"name": f"bench-{n}", "duration": duration, "media": "steady"} for n in range(runs)]
    server = SandboxServer(Catalog.from_dict({"tests": tests}))
    server.start()
    results: dict[str, list[Round]] = {"off": [], "all": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "sipfront.yml").write_text(manifest(runs), encoding="utf-8")
            for _ in range(rounds):
                for mode in ("off", "all"):
                    results[mode].append(one_round(server, folder, mode, runs))
    finally:
        server.stop()
    command = " ".join(["python", "benchmarks/media.py", *(argv or sys.argv[1:])])
    print(f"$ {command}")
    print(f"{runs} runs of {duration}, --sipfront-max-rps {MAX_RPS}, {rounds} round(s) each")
    print(
        f"{'mode':<6} {'gate time':>10} {'to last status':>15} {'process wall':>13} "
        f"{'requests/run':>13} {'stats/run':>10}  all passed"
    )
    chosen: dict[str, Round] = {}
    for mode, found in results.items():
        median = statistics.median_low([r.gate_s for r in found])
        pick = next(r for r in found if r.gate_s == median)
        chosen[mode] = pick
        print(
            f"{mode:<6} {pick.gate_s:>9.2f}s {pick.status_s:>14.2f}s {pick.wall_s:>12.2f}s "
            f"{pick.requests / runs:>13.1f} {pick.stats_requests / runs:>10.1f}  "
            f"{all(r.passed for r in found)}"
        )
    ratio = chosen["all"].gate_s / chosen["off"].gate_s
    ok = ratio <= TARGET and all(r.passed for found in results.values() for r in found)
    print(
        f"all / off gate time: {ratio:.2f}x (target at most {TARGET}x): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
