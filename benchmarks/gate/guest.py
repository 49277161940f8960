"""4. Guest: what the plugin costs a session that has nothing to do with Sipfront, with and
without a bytecode cache (Docker images often set ``PYTHONDONTWRITEBYTECODE=1``)."""

from __future__ import annotations

import importlib.util
import shutil
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.gate.bench import Bench
from benchmarks.gate.measure import Measured, run_measured
from benchmarks.gate.results import ratio, table

GUEST_TEST = "def test_unrelated():\n    assert sum(range(10)) == 45\n"
PLAIN = "without plugins"
VARIANTS: dict[str, list[str]] = {
    PLAIN: [],
    "pytest-sipfront": ["-p", "pytest_sipfront.plugin"],
    "pytest-timeout": ["-p", "pytest_timeout"],
}
"""The sessions compared: pytest alone, with the plugin, with pytest-timeout as a yardstick."""
CACHED = "bytecode cache"
UNCACHED = "no bytecode cache"
TARGET = 1.05
"""The most the plugin may add to an unrelated session's wall time."""


@dataclass(frozen=True)
class Condition:
    """How the plugins' modules are found: ``path`` (``PYTHONPATH``) holds fresh copies with
    no ``__pycache__`` and nothing may write one, or ``None``: as installed, with its cache."""

    name: str
    path: Path | None

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # exactly the plugins named in VARIANTS
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPATH", None)
        if self.path is not None:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPATH"] = str(self.path)
        return env


def copy_without_cache(target: Path) -> Path:
    """Fresh copies of pytest-sipfront and pytest-timeout in ``target``, no ``__pycache__``:
    an install made with ``PYTHONDONTWRITEBYTECODE=1`` (or a read-only one) that Python
    compiles again at every start."""
    import pytest_sipfront

    timeout = importlib.util.find_spec("pytest_timeout")
    if timeout is None or timeout.origin is None:
        sys.exit("the benchmark needs pytest-timeout: pip install -e '.[test]'")

    target.mkdir()
    shutil.copytree(
        Path(pytest_sipfront.__file__).parent,
        target / "pytest_sipfront",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(timeout.origin, target / "pytest_timeout.py")
    return target


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def guest_runs(
    where: Path,
    envs: dict[str, dict[str, str]],
    base: list[str],
    variants: dict[str, list[str]],
    rounds: int,
) -> dict[tuple[str, str], list[Measured]]:
    """One warm-up run of each (condition, variant), not counted: it fills the cache where one
    may be written; then ``rounds`` rounds alternating every one of them."""
    keys = [(condition, name) for condition in envs for name in variants]
    seen: dict[tuple[str, str], list[Measured]] = {key: [] for key in keys}
    for condition, name in keys:
        run_measured([*base, *variants[name], "test_unrelated.py"], where, envs[condition])
    for _ in range(rounds):
        for condition, name in keys:
            argv = [*base, *variants[name], "test_unrelated.py"]
            seen[condition, name].append(run_measured(argv, where, envs[condition]))
    return seen


def guest_rows(
    seen: dict[tuple[str, str], list[Measured]],
) -> tuple[list[list[str]], dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """The table's rows, and the median wall and median peak RSS (KiB) of each key. CPU time
    is shown beside the wall: other work on the machine stretches a session's wall time far
    more than the CPU time it needs."""
    wall = {key: median([m.wall for m in runs]) for key, runs in seen.items()}
    cpu = {key: median([m.cpu for m in runs]) for key, runs in seen.items()}
    rss = {key: median([float(m.maxrss_kb) for m in runs]) for key, runs in seen.items()}
    body = []
    for condition, name in seen:
        key, plain = (condition, name), (condition, PLAIN)
        body.append(
            [
                condition,
                name if name == PLAIN else f"with {name}",
                f"{wall[key]:.3f} s",
                ratio(wall[key], wall[plain]),
                f"{cpu[key]:.3f} s",
                ratio(cpu[key], cpu[plain]),
                f"{rss[key] / 1024:.1f} MiB",
                f"{(rss[key] - rss[plain]) / 1024:+.1f} MiB",
            ]
        )
    return body, wall, rss


def guest_section(bench: Bench) -> None:
    """The plugin as a guest: what it costs a session that has nothing to do with Sipfront."""
    say, check = bench.report.say, bench.report.check
    rounds = 3 if bench.sizes.tiny else 15
    say(
        f"4. Guest: an unrelated one-test session, {rounds} alternating runs of each, "
        "median wall, CPU time and peak RSS"
    )
    say()
    where = bench._dir("guest")
    (where / "test_unrelated.py").write_text(GUEST_TEST, encoding="utf-8")
    conditions = [
        # As installed: pip writes bytecode for an installed package and pytest caches its
        # assertion rewriting of plugin modules; the warm-up run fills those caches.
        Condition(CACHED, None),
        Condition(UNCACHED, copy_without_cache(bench.root / "no-bytecode-cache")),
    ]
    envs = {condition.name: condition.env(bench.env) for condition in conditions}
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *bench.extra]
    seen = guest_runs(where, envs, base, VARIANTS, rounds)
    body, wall, rss = guest_rows(seen)
    headers = ["", "", "median wall", "/ without", "median CPU", "/ without"]
    headers += ["median peak RSS", "vs without"]
    for text in table(headers, body):
        say(text)
    say()
    say(
        f"  {CACHED}: as installed, PYTHONDONTWRITEBYTECODE unset (one warm-up run of each "
        f"fills the caches); {UNCACHED}: PYTHONDONTWRITEBYTECODE=1 and fresh copies of the "
        "plugins without __pycache__ on PYTHONPATH (pytest's own modules as installed)"
    )
    for key, runs in seen.items():
        bad = [m for m in runs if m.returncode != 0]
        check(
            not bad, f"guest {key[1]} ({key[0]}): every session passed its one test", invariant=True
        )
    for condition in envs:
        ours, plain = (condition, "pytest-sipfront"), (condition, PLAIN)
        check(
            wall[ours] <= TARGET * wall[plain],
            f"guest ({condition}): wall with pytest-sipfront {wall[ours]:.3f} s <= {TARGET} x "
            f"without {wall[plain]:.3f} s = {TARGET * wall[plain]:.3f} s",
        )
        check(
            rss[ours] <= rss[plain] + 2048,
            f"guest ({condition}): peak RSS with pytest-sipfront {rss[ours] / 1024:.1f} MiB "
            f"<= without {rss[plain] / 1024:.1f} MiB + 2 MiB",
        )
    say()
