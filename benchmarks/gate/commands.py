"""Manifests and pytest command lines of the measured sessions."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path


def fresh_dir(root: Path, name: str) -> Path:
    """A directory with an empty pytest.ini: its own rootdir, no addopts from the repository."""
    path = root / name
    path.mkdir()
    (path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return path


def run_manifest(path: Path, runs: int, prefix: str) -> Path:
    lines = ["version: 1", "tests:"]
    width = len(str(runs - 1))
    for number in range(runs):
        lines += [f"  - name: run-{number:0{width}d}", f"    test: {prefix}-{number:0{width}d}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def big_manifest(path: Path, items: int) -> Path:
    """``items`` pytest items: half from 5x5 matrix entries, the rest plain entries."""
    lines = ["version: 1", "defaults:", "  poll_interval: 5s", "  marks: [voip]", "tests:"]
    matrix_entries = (items // 2) // 25
    for number in range(matrix_entries):
        lines += [
            f"  - name: matrix-{number}",
            f"    test_id: {1000 + number}",
            "    matrix:",
            "      step.1.0.dial_destination: [43100001, 43100002, 43100003, 43100004, 43100005]",
            "      step.1.0.credential_pool: [11, 12, 13, 14, 15]",
        ]
    for number in range(items - 25 * matrix_entries):
        lines += [
            f"  - name: plain-{number}",
            f"    test: plain-test-{number}",
            "    overrides:",
            f'      step.1.0.dial_destination: "4319{number:06d}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pytest_argv(extra: Sequence[str], *args: str) -> list[str]:
    plugins = ["-p", "pytest_sipfront.plugin"]
    if any(arg == "-n" or arg.startswith("-n") for arg in (*args, *extra)):
        plugins += ["-p", "xdist.plugin"]
    return [sys.executable, "-m", "pytest", *plugins, *args, "-p", "no:cacheprovider", "-q", *extra]


def gate_options(url: str, runs: int, poll: float, rps: float, timeout: float) -> list[str]:
    return [
        "--sipfront-url",
        url,
        "--sipfront-concurrency",
        str(runs),
        "--sipfront-poll-interval",
        f"{poll:g}s",
        "--sipfront-max-rps",
        f"{rps:g}",
        "--sipfront-max-runs",
        str(runs),
        "--sipfront-timeout",
        f"{math.ceil(timeout)}s",
    ]
