"""Sizes and limits: the command line of the benchmark and what it means."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_sipfront.settings import MAX_RPS  # (light: no YAML, no sandbox)

BASELINE_POLL = 3.0
"""Sipfront's own action polls every 3 s (docs/sipfront-api.md)."""

SAMPLE_EVERY = 0.02
"""Seconds between two looks at /proc/<pid>/status of a running subprocess."""

CHILD_TIMEOUT = 240.0
"""A subprocess that runs longer than this is killed and the benchmark fails."""

MAX_WORKERS = 32
"""The scheduler's HTTP worker pool never grows past this (pytest_sipfront/runs/scheduler.py)."""

SANDBOX_ENV_DROP = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "SIPFRONT_API_URL", "GITHUB_ACTIONS")
"""Variables that would change what the measured pytest does: removed from its environment."""


@dataclass(frozen=True)
class Sizes:
    runs: int
    duration: float
    poll: float
    baseline_poll: float
    slow_rps: float
    scale_runs: int
    scale_duration: float
    collect_items: int
    xdist: tuple[int, ...]
    xdist_rounds: int
    tiny: bool

    @property
    def max_rps(self) -> float:
        """High enough for every run to be polled on time: 2 N + 10."""
        return 2 * self.runs + 10

    @property
    def scale_rps(self) -> float:
        """2 N + 10, within the largest rate the plugin accepts."""
        return min(MAX_RPS, 2 * self.scale_runs + 10)


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, Sizes]:
    parser = argparse.ArgumentParser(
        description="Benchmark pytest-sipfront against the sequential baseline, on the sandbox."
    )
    parser.add_argument("--tiny", action="store_true", help="CI size: N=3, D=1 s, tiny sections")
    parser.add_argument("--runs", type=int, help="N: runs in the main comparison (default 20)")
    parser.add_argument("--duration", type=float, help="D: seconds each run lasts (default 3)")
    parser.add_argument("--poll", type=float, default=1.0, help="plugin poll interval (1 s)")
    parser.add_argument(
        "--baseline-poll",
        type=float,
        default=BASELINE_POLL,
        help="seconds between the baseline's status requests (3, as Sipfront's action)",
    )
    parser.add_argument("--slow-rps", type=float, default=5.0, help="the rate-limited run (5)")
    parser.add_argument("--scale-runs", type=int, help="runs in flight at scale (default 500)")
    parser.add_argument("--scale-duration", type=float, help="seconds per scale run (10)")
    parser.add_argument("--collect-items", type=int, help="items in the big manifest (5000)")
    parser.add_argument("--xdist", help="comma-separated worker counts (default 2,4; tiny: 2)")
    parser.add_argument(
        "--xdist-rounds",
        type=int,
        help="alternating rounds of 1 process and each worker count, medians (default 5; tiny 1)",
    )
    parser.add_argument(
        "--pytest-args",
        default="",
        metavar="ARGS",
        help="extra arguments for every measured pytest, e.g. '-p no:hypothesispytest'",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("baseline", "scale", "collect", "xdist", "guest", "history"),
        help="leave a section out (repeatable); its targets are then not judged",
    )
    args = parser.parse_args(argv)
    tiny = bool(args.tiny)

    def pick(value: Any, default: Any, small: Any) -> Any:
        return value if value is not None else (small if tiny else default)

    xdist_text = pick(args.xdist, "2,4", "2")
    sizes = Sizes(
        runs=pick(args.runs, 20, 3),
        duration=pick(args.duration, 3.0, 1.0),
        poll=args.poll,
        baseline_poll=args.baseline_poll,
        slow_rps=args.slow_rps,
        scale_runs=pick(args.scale_runs, 500, 20),
        scale_duration=pick(args.scale_duration, 10.0, 1.0),
        collect_items=pick(args.collect_items, 5000, 200),
        xdist=tuple(int(n) for n in xdist_text.split(",") if n.strip()),
        xdist_rounds=pick(args.xdist_rounds, 5, 1),
        tiny=tiny,
    )
    if min(sizes.runs, sizes.scale_runs, sizes.collect_items, sizes.xdist_rounds) < 1:
        parser.error("sizes must be at least 1")
    if sizes.duration <= 0 or sizes.poll <= 0 or sizes.baseline_poll <= 0:
        parser.error("durations must be greater than zero")
    return args, sizes
