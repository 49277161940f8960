#!/usr/bin/env python3
"""The pytest-sipfront benchmark: the gate against what teams do today, measured in one run.

    python benchmarks/gate.py            # defaults: about 2 minutes on a 2-core machine
    python benchmarks/gate.py --tiny     # CI: well under a minute
    python benchmarks/gate.py --help     # sizes, --skip, --pytest-args

--tiny means N=3 runs of D=1 s, 20 runs of 1 s at scale, a 200-item manifest, ``-n 2`` only.

Everything runs against the package's own sandbox on loopback; nothing reaches Sipfront.

What it measures (one plain-text report, pasted into the README's "Performance" chapter):

1. Gate against baseline. N sandbox runs of D seconds each (default 20 runs of 3 s):
   - the plugin: one ``pytest`` session in a subprocess (concurrency N, poll interval 1 s,
     ``--sipfront-max-rps`` 2N+10), run again with ``--sipfront-max-rps 5``;
   - the baseline: what Sipfront's own action does, one test after another, trigger, then a
     status request every 3 s until it has finished (:func:`baseline_loop`, plain ``requests``);
   - the limit: the longest run's duration.
   The sandbox runs in this process and counts every request with its arrival time.
2. Scale: 500 runs in flight (concurrency 500, 10 s runs) with the sandbox in a process of its
   own; peak RSS and threads of the pytest process. And ``pytest --collect-only`` of a
   5,000-item manifest against an empty session.
3. pytest-xdist: the same N runs in one process, with ``-n 2`` and with ``-n 4``, in alternating
   rounds (5, --tiny 1); the round with the median process wall of each is shown and judged.
4. Guest: an unrelated one-test session with the plugin loaded against the same session with
   ``-p no:sipfront`` (15 alternating runs of each, --tiny 3), median wall and peak RSS; and
   pytest-timeout's cost measured the same way, as a yardstick.

Times: "process wall" is the pytest subprocess from start to exit (Python and pytest start-up,
collection and teardown included); "gate time" is what the sandbox saw, from the first trigger
to the last status request. Targets on time are judged on both, each labelled.

Memory: peak RSS is ``ru_maxrss`` from ``os.wait4()`` on that very process, so each number
belongs to one process and no earlier child can leak into it (``RUSAGE_CHILDREN`` would be the
maximum over every child so far). It is the process's own high-water mark, or that of a child
it reaped if larger (an xdist worker). For xdist runs the sum over the whole process tree is
sampled from /proc as well. Threads: the most seen in ``/proc/<pid>/status`` (20 ms samples).

Exit status: 0 when every target passes; 1 when one fails; 2 when the benchmark crashed. With
``--tiny`` only broken invariants (a run triggered other than exactly once, a 1 s window with
more requests than ``--sipfront-max-rps`` allows, a session whose runs did not all pass) give 1.
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import itertools
import json
import math
import multiprocessing
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from pytest_sipfront.settings import MAX_RPS  # (light: no YAML, no sandbox)

if TYPE_CHECKING:
    from pytest_sipfront.sandbox import Catalog, SandboxServer

# The sandbox is imported where it is used, so that the baseline's process (this file, run with
# --baseline-child) holds no more than the baseline needs: requests.

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


# --------------------------------------------------------------------------------------------
# Sizes


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
    parser.add_argument("--baseline-child", nargs=3, help=argparse.SUPPRESS)
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


# --------------------------------------------------------------------------------------------
# What the sandbox saw


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
        sys.exit("benchmarks/gate.py needs pytest-sipfront installed: pip install -e '.[test]'")
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


# --------------------------------------------------------------------------------------------
# Subprocesses, measured


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    wall: float
    started: float
    ended: float
    maxrss_kb: int
    hwm_kb: int
    tree_rss_kb: int
    threads_max: int
    output: str

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def _proc_status(pid: int) -> dict[str, str]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
    except OSError:
        pass
    return fields


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4


def _tree_rss_kb(root: int) -> int:
    """The resident memory of ``root`` and all its descendants, summed, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                total += int(handle.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_measured(
    argv: list[str], cwd: Path, env: dict[str, str], *, tree: bool = False
) -> Measured:
    """Run ``argv`` to its end: wall time, ru_maxrss from wait4() on it; a sampler thread notes
    the most threads and the VmHWM in /proc/<pid>/status and, with ``tree``, the most resident
    memory of the whole process tree (every fifth sample: it reads all of /proc)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        started = time.monotonic()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()
        peak = {"threads": 0, "hwm": 0, "tree": 0}

        def sample() -> None:
            for number in itertools.count():
                if done.is_set():
                    return
                if tree and number % 5 == 0:
                    peak["tree"] = max(peak["tree"], _tree_rss_kb(process.pid))
                fields = _proc_status(process.pid)
                threads = fields.get("Threads", "0")
                hwm = fields.get("VmHWM", "0 kB").split()[0]
                if threads.isdigit():
                    peak["threads"] = max(peak["threads"], int(threads))
                if hwm.isdigit():
                    peak["hwm"] = max(peak["hwm"], int(hwm))
                if time.monotonic() - started > CHILD_TIMEOUT:
                    process.kill()
                done.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, name="benchmark-sampler", daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        out.seek(0)
        output = out.read()
    return Measured(
        argv=argv,
        returncode=process.returncode,
        wall=ended - started,
        started=started,
        ended=ended,
        maxrss_kb=int(usage.ru_maxrss),
        hwm_kb=peak["hwm"],
        tree_rss_kb=peak["tree"],
        threads_max=peak["threads"],
        output=output,
    )


def child_env() -> dict[str, str]:
    sandbox = _sandbox_class()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SANDBOX_ENV_DROP and not name.startswith("GITHUB_")
    }
    env["SIPFRONT_PUBLIC_KEY"] = sandbox.PUBLIC_KEY
    env["SIPFRONT_SECRET_KEY"] = sandbox.SECRET_KEY
    # Measure our plugin, not whatever else the development venv holds (hypothesis's plugin
    # alone costs seconds at start-up and teardown): only the plugins a gate session needs
    # are loaded, explicitly, by pytest_argv.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


# --------------------------------------------------------------------------------------------
# Manifests and pytest command lines


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


# --------------------------------------------------------------------------------------------
# The baseline: Sipfront's own action, one test after another


def baseline_loop(
    base_url: str, keys: tuple[str, str], names: Sequence[str], poll: float
) -> list[str]:
    """What teams do today (Sipfront's action, docs/sipfront-api.md): for each test, trigger
    it, then wait ``poll`` seconds and ask for its status until the run is no longer running."""
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever the proxy variables say
    session.auth = keys
    verdicts = []
    for name in names:
        answer = session.post(f"{base_url}/tests/run", json={"test.name": name}, timeout=30)
        answer.raise_for_status()
        status_url = answer.json()["data"]["status_url"]
        while True:
            time.sleep(poll)
            run = session.get(status_url, timeout=30).json()["run"]
            state = run.get("session_status", run.get("status"))
            if state != "running":
                verdicts.append(str(state))
                break
    return verdicts


def baseline_child(base_url: str, names: str, poll: str) -> int:
    keys = (os.environ["SIPFRONT_PUBLIC_KEY"], os.environ["SIPFRONT_SECRET_KEY"])
    verdicts = baseline_loop(base_url, keys, names.split(","), float(poll))
    print(json.dumps(verdicts))
    return 0 if all(verdict == "passed" for verdict in verdicts) else 1


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    """One measured configuration."""

    label: str
    runs: int
    measured: Measured | None
    traffic: Traffic | None
    rps: float | None = None
    passed: bool = True
    prefix: str = "bench"
    """Test names are ``<prefix>-<number>``; the sandbox counts triggers by name."""

    @property
    def wall(self) -> float:
        return self.measured.wall if self.measured else math.nan

    @property
    def gate(self) -> float:
        return self.traffic.gate_time() if self.traffic else math.nan

    @property
    def startup(self) -> float:
        """Process start to the first trigger the sandbox saw."""
        if not self.measured or not self.traffic:
            return math.nan
        return self.traffic.first_trigger() - self.measured.started

    @property
    def teardown(self) -> float:
        """The last status request to the process's exit."""
        if not self.measured or not self.traffic:
            return math.nan
        return self.measured.ended - self.traffic.last_status()

    def status_per_run(self) -> tuple[float, int]:
        if not self.traffic:
            return math.nan, 0
        counts = self.traffic.status_per_run()
        total = sum(counts.values())
        return total / self.runs, max(counts.values(), default=0)

    def triggers(self) -> tuple[int, int, int]:
        """(fewest, most) triggers of one run, counting runs never triggered as 0, and the
        total number of triggers."""
        if not self.traffic:
            return 0, 0, 0
        counts = self.traffic.triggers_per_name()
        names = self.traffic_names()
        per_run = [counts.get(name, 0) for name in names]
        extra = sum(count for name, count in counts.items() if name not in set(names))
        total = sum(counts.values())
        return min(per_run, default=0), max(per_run, default=0) + extra, total

    def traffic_names(self) -> list[str]:
        width = len(str(self.runs - 1))
        return [f"{self.prefix}-{n:0{width}d}" for n in range(self.runs)]


@dataclass
class Check:
    text: str
    ok: bool
    invariant: bool = False


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)

    def check(self, ok: bool, text: str, *, invariant: bool = False) -> bool:
        self.checks.append(Check(text, ok, invariant))
        self.say(f"  [{'PASS' if ok else 'FAIL'}] {text}")
        return ok


def seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f} s"


def exact(value: float) -> str:
    """For PASS/FAIL lines: enough digits that the verdict can be seen in the numbers."""
    return "-" if math.isnan(value) else f"{value:.2f} s"


def ratio(value: float, to: float) -> str:
    return "-" if math.isnan(value) or not to else f"{value / to:.2f}x"


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB" if kb else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = [f"{cell:>{width}}" for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(headers), rule, *(line(row) for row in rows)]


# --------------------------------------------------------------------------------------------
# The phases


class Bench:
    def __init__(
        self, sizes: Sizes, extra: Sequence[str], root: Path, skips: Sequence[str] = ()
    ) -> None:
        self.sizes = sizes
        self.skips = set(skips)
        self.extra = list(extra)
        self.root = root
        self.env = child_env()
        self.report = Report()
        self.counter = 0

    def _dir(self, name: str) -> Path:
        self.counter += 1
        tidy = "-".join("".join(c if c.isalnum() else " " for c in name).split())
        return fresh_dir(self.root, f"{self.counter:02d}-{tidy}")

    def plugin(
        self,
        label: str,
        *,
        runs: int,
        duration: float,
        rps: float,
        xdist: int = 0,
        in_process: bool = True,
    ) -> Row:
        where = self._dir(label)
        prefix = f"bench{self.counter:02d}"
        manifest = run_manifest(where / "bench.sipfront.yml", runs, prefix)
        sandbox = local_sandbox if in_process else process_sandbox
        with sandbox(duration) as (url, traffic):
            timeout = max(60.0, 6 * duration + 30)
            args = gate_options(url, runs, self.sizes.poll, rps, timeout)
            if xdist:
                args += ["-n", str(xdist)]
            argv = pytest_argv(self.extra, manifest.name, *args)
            measured = run_measured(argv, where, self.env, tree=bool(xdist))
            seen = traffic()
        row = Row(label, runs, measured, seen, rps=rps, prefix=prefix)
        row.passed = measured.returncode == 0
        if not row.passed:
            self.report.say(f"  ! {label}: pytest exited {measured.returncode}:")
            for text in measured.tail().splitlines():
                self.report.say(f"  !   {text}")
        return row

    def baseline(self) -> Row:
        sizes = self.sizes
        where = self._dir("baseline")
        prefix = f"bench{self.counter:02d}"
        row = Row("baseline", sizes.runs, None, None, prefix=prefix)
        with local_sandbox(sizes.duration) as (url, traffic):
            argv = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--baseline-child",
                url,
                ",".join(row.traffic_names()),
                f"{sizes.baseline_poll:g}",
            ]
            row.measured = run_measured(argv, where, self.env)
            row.traffic = traffic()
        row.passed = row.measured.returncode == 0
        if not row.passed:
            self.report.say(f"  ! baseline exited {row.measured.returncode}:")
            for text in row.measured.tail().splitlines():
                self.report.say(f"  !   {text}")
        return row

    def empty_session(self) -> Measured:
        where = self._dir("empty")
        return run_measured(pytest_argv(self.extra), where, self.env)

    def collect(self, items: int) -> tuple[Measured, int]:
        where = self._dir("collect")
        manifest = big_manifest(where / "big.sipfront.yml", items)
        measured = run_measured(
            pytest_argv(self.extra, manifest.name, "--collect-only"), where, self.env
        )
        collected = -1
        for text in measured.output.splitlines():
            words = text.split()
            if len(words) >= 2 and words[1] in ("tests", "test") and words[0].isdigit():
                collected = int(words[0])
        return measured, collected


def status_budget(duration: float, poll: float) -> int:
    return math.ceil(duration / poll) + 2


def run_rows(bench: Bench) -> dict[str, Row]:
    sizes = bench.sizes
    rows: dict[str, Row] = {}
    rows["plugin"] = bench.plugin(
        f"plugin (concurrency {sizes.runs}, max-rps {sizes.max_rps:g})",
        runs=sizes.runs,
        duration=sizes.duration,
        rps=sizes.max_rps,
    )
    rows["slow"] = bench.plugin(
        f"plugin (concurrency {sizes.runs}, max-rps {sizes.slow_rps:g})",
        runs=sizes.runs,
        duration=sizes.duration,
        rps=sizes.slow_rps,
    )
    return rows


def main_table(bench: Bench, rows: dict[str, Row], empties: list[Measured]) -> None:
    sizes, say = bench.sizes, bench.report.say
    limit = sizes.duration
    say(
        f"1. Gate against baseline: {sizes.runs} sandbox runs of {sizes.duration:g} s each; "
        f"plugin polls every {sizes.poll:g} s, baseline every {sizes.baseline_poll:g} s"
    )
    say()
    headers = [
        "",
        "process wall",
        "/ limit",
        "gate time",
        "/ limit",
        "status req/run (max)",
        "triggers/run",
        "max req in 1 s",
        "peak RSS",
        "threads",
    ]
    body = [
        ["limit (the longest run)", seconds(limit), "1.00x", seconds(limit), "1.00x"] + [""] * 5
    ]
    for key in ("baseline", "plugin", "slow"):
        row = rows.get(key)
        if row is None:
            continue
        mean, most = row.status_per_run()
        low, high, _ = row.triggers()
        label = (
            f"baseline (sequential, poll {sizes.baseline_poll:g} s)"
            if key == "baseline"
            else row.label
        )
        body.append(
            [
                label,
                seconds(row.wall),
                ratio(row.wall, limit),
                seconds(row.gate),
                ratio(row.gate, limit),
                f"{mean:.2f} ({most})",
                str(low) if low == high else f"{low}..{high}",
                str(row.traffic.max_in_window()) if row.traffic else "-",
                mb(row.measured.maxrss_kb) if row.measured else "-",
                str(row.measured.threads_max) if row.measured else "-",
            ]
        )
    for text in table(headers, body):
        say(text)
    say()
    say(
        "  empty pytest session (start-up alone): "
        + ", ".join(seconds(m.wall) for m in empties)
        + f"; peak RSS {mb(max(m.maxrss_kb for m in empties))}"
    )
    for key in ("plugin", "slow"):
        row = rows[key]
        say(
            f"  {row.label}: start to first trigger {seconds(row.startup)}, "
            f"last status request to exit {seconds(row.teardown)}"
        )
    say()


def main_checks(bench: Bench, rows: dict[str, Row]) -> None:
    sizes, check = bench.sizes, bench.report.check
    limit = sizes.duration
    bound = limit + sizes.poll + 1.0
    plugin = rows["plugin"]
    # A session whose runs did not all pass has no wall time worth a PASS.
    check(
        plugin.passed and plugin.wall <= bound,
        f"plugin wall (PROCESS wall, incl. pytest start-up) {exact(plugin.wall)} <= "
        f"limit + poll + 1 s = {exact(bound)}",
    )
    check(
        plugin.passed and plugin.gate <= bound,
        f"plugin wall (GATE time, first trigger to last status request) {exact(plugin.gate)} "
        f"<= {exact(bound)}",
    )
    budget = status_budget(sizes.duration, sizes.poll)
    mean, most = plugin.status_per_run()
    check(
        plugin.passed and 0 < most <= budget,
        f"status requests per run: most {most} (mean {mean:.2f}) <= ceil(D / poll) + 2 = {budget}",
    )
    for key in ("plugin", "slow"):
        trigger_check(bench, rows[key])
    slow = rows["slow"]
    allowed = max(1, math.floor(sizes.slow_rps))
    most_window = slow.traffic.max_in_window() if slow.traffic else -1
    check(
        0 <= most_window <= allowed,
        f"{slow.label}: most requests the sandbox saw in any 1 s window {most_window} <= {allowed}",
        invariant=True,
    )
    window_check(bench, plugin)
    for key in ("plugin", "slow"):
        session_check(bench, rows[key])
    baseline = rows.get("baseline")
    if baseline is not None:
        session_check(bench, baseline)
        bench.report.say(
            f"  [info] baseline / plugin wall: process {ratio(baseline.wall, plugin.wall)}, "
            f"gate time {ratio(baseline.gate, plugin.gate)}"
        )
    bench.report.say()


def trigger_check(bench: Bench, row: Row) -> None:
    low, high, total = row.triggers()
    bench.report.check(
        low == high == 1 and total == row.runs,
        f"{row.label}: exactly 1 trigger per run ({total} triggers for {row.runs} runs, "
        f"per run {low}..{high})",
        invariant=True,
    )


def window_check(bench: Bench, row: Row) -> None:
    if row.rps is None or not row.traffic:
        return
    allowed = max(1, math.floor(row.rps))
    most = row.traffic.max_in_window()
    bench.report.check(
        most <= allowed,
        f"{row.label}: most requests in any 1 s window {most} <= {allowed}",
        invariant=True,
    )


def session_check(bench: Bench, row: Row) -> None:
    code = row.measured.returncode if row.measured else -1
    bench.report.check(
        row.passed, f"{row.label}: every run passed (exit status {code})", invariant=True
    )


def scale_section(bench: Bench, empties: list[Measured]) -> None:
    sizes, say = bench.sizes, bench.report.say
    skip = bench.skips
    say(
        f"2. Scale: {sizes.scale_runs} runs in flight (concurrency {sizes.scale_runs}, "
        f"{sizes.scale_duration:g} s runs, poll {sizes.poll:g} s, max-rps {sizes.scale_rps:g}), "
        "sandbox in its own process"
    )
    say()
    row: Row | None = None
    if "scale" not in skip:
        row = bench.plugin(
            f"plugin, {sizes.scale_runs} runs in flight",
            runs=sizes.scale_runs,
            duration=sizes.scale_duration,
            rps=sizes.scale_rps,
            in_process=False,
        )
    collects: list[tuple[Measured, int]] = []
    empties = list(empties)
    threads_empty = max(m.threads_max for m in empties)
    if "collect" not in skip:
        # Unless --tiny: the big collection twice, with a third empty session in between, and
        # the quickest of each compared.
        for number in range(1 if sizes.tiny else 2):
            collects.append(bench.collect(sizes.collect_items))
            if number == 0 and not sizes.tiny:
                empties.append(bench.empty_session())
    scale_table(bench, row, empties, collects)
    scale_checks(bench, row, empties, collects, threads_empty)
    say()


def scale_table(
    bench: Bench, row: Row | None, empties: list[Measured], collects: list[tuple[Measured, int]]
) -> None:
    sizes, say = bench.sizes, bench.report.say
    headers = ["", "process wall", "gate time", "status req/run (max)", "peak RSS", "threads"]
    body = []
    if row is not None and row.measured is not None:
        mean, most = row.status_per_run()
        body.append(
            [
                row.label,
                seconds(row.wall),
                seconds(row.gate),
                f"{mean:.2f} ({most})",
                mb(row.measured.maxrss_kb),
                str(row.measured.threads_max),
            ]
        )
    for number, measured in enumerate(empties, 1):
        body.append(
            [
                f"empty session ({number})" if len(empties) > 1 else "empty session",
                seconds(measured.wall),
                "",
                "",
                mb(measured.maxrss_kb),
                str(measured.threads_max),
            ]
        )
    for number, (measured, _) in enumerate(collects, 1):
        body.append(
            [
                f"--collect-only, {sizes.collect_items}-item manifest"
                + (f" ({number})" if len(collects) > 1 else ""),
                seconds(measured.wall),
                "",
                "",
                mb(measured.maxrss_kb),
                str(measured.threads_max),
            ]
        )
    for text in table(headers, body):
        say(text)
    say()


def scale_checks(
    bench: Bench,
    row: Row | None,
    empties: list[Measured],
    collects: list[tuple[Measured, int]],
    threads_empty: int,
) -> None:
    sizes, check = bench.sizes, bench.report.check
    if row is not None and row.measured is not None:
        workers = min(MAX_WORKERS, max(2, sizes.scale_runs))
        design = threads_empty + 1 + workers + 1
        check(
            row.measured.maxrss_kb <= 100 * 1024,
            f"{sizes.scale_runs} runs in flight: peak RSS {mb(row.measured.maxrss_kb)} <= 100 MB",
        )
        check(
            row.measured.threads_max <= design,
            f"{sizes.scale_runs} runs in flight: at most {row.measured.threads_max} threads in "
            f"the pytest process <= {design}: an empty session's {threads_empty} (main "
            f"thread, other plugins) + 1 dispatcher + {workers} HTTP workers + 1 watchdog",
        )
        trigger_check(bench, row)
        window_check(bench, row)
        session_check(bench, row)
    if collects:
        for measured, collected in collects:
            check(
                collected == sizes.collect_items and measured.returncode == 0,
                f"--collect-only found {collected} items of {sizes.collect_items} "
                f"(exit status {measured.returncode})",
                invariant=True,
            )
        quickest = min(measured.wall for measured, _ in collects)
        quickest_empty = min(m.wall for m in empties)
        which = f" (quickest of {len(collects)} and {len(empties)})" if len(collects) > 1 else ""
        check(
            quickest <= quickest_empty + 2.0,
            f"--collect-only of {sizes.collect_items} items {exact(quickest)} <= "
            f"empty session {exact(quickest_empty)} + 2 s{which}",
        )


def median_row(rows: Sequence[Row]) -> Row:
    """The row with the median process wall (the lower middle one of an even count)."""
    return sorted(rows, key=lambda row: row.wall)[(len(rows) - 1) // 2]


def xdist_rounds(bench: Bench) -> tuple[dict[int, list[Row]], dict[int, list[float]]]:
    """Every round measures one process, then each worker count, one after the other, so a
    busy spell of the machine falls on all of them alike; and the same for a one-test session
    without pytest-sipfront (xdist's own cost, the yardstick). Key 0: one process."""
    sizes = bench.sizes
    counts = (0, *sizes.xdist)
    seen: dict[int, list[Row]] = {n: [] for n in counts}
    plain: dict[int, list[float]] = {n: [] for n in counts}
    where = bench._dir("xdist-alone")
    (where / "test_unrelated.py").write_text(GUEST_TEST, encoding="utf-8")
    for number in range(1, sizes.xdist_rounds + 1):
        for n in counts:
            label = "plugin, 1 process" if n == 0 else f"plugin -n {n}"
            if sizes.xdist_rounds > 1:
                label += f" (round {number})"
            seen[n].append(
                bench.plugin(
                    label, runs=sizes.runs, duration=sizes.duration, rps=sizes.max_rps, xdist=n
                )
            )
        for n in counts:
            workers = ["-n", str(n)] if n else []
            argv = [sys.executable, "-m", "pytest", "-p", "xdist.plugin", *workers]
            argv += ["test_unrelated.py", "-p", "no:cacheprovider", "-q", *bench.extra]
            plain[n].append(run_measured(argv, where, bench.env).wall)
    return seen, plain


def xdist_table(bench: Bench, medians: dict[int, Row]) -> None:
    single = medians[0]
    headers = [
        "",
        "process wall",
        "/ 1 process",
        "gate time",
        "/ 1 process",
        "triggers/run",
        "status req/run (max)",
        "peak RSS, largest process",
        "all processes",
        "threads (controller)",
    ]
    body = []
    for n, row in medians.items():
        mean, most = row.status_per_run()
        low, high, _ = row.triggers()
        assert row.measured is not None
        body.append(
            [
                "plugin, 1 process" if n == 0 else f"plugin -n {n}",
                seconds(row.wall),
                ratio(row.wall, single.wall),
                seconds(row.gate),
                ratio(row.gate, single.gate),
                str(low) if low == high else f"{low}..{high}",
                f"{mean:.2f} ({most})",
                mb(row.measured.maxrss_kb),
                mb(row.measured.tree_rss_kb) if n else "-",
                str(row.measured.threads_max),
            ]
        )
    for text in table(headers, body):
        bench.report.say(text)


def xdist_section(bench: Bench) -> None:
    sizes, say, check = bench.sizes, bench.report.say, bench.report.check
    rounds = sizes.xdist_rounds
    say(
        f"3. pytest-xdist: the same {sizes.runs} runs of {sizes.duration:g} s "
        f"(concurrency {sizes.runs}, max-rps {sizes.max_rps:g}); {rounds} alternating "
        f"round{'s' if rounds > 1 else ''}, the median process wall of each shown"
    )
    say()
    if importlib.util.find_spec("xdist") is None:
        check(False, "pytest-xdist is not installed: pip install pytest-xdist")
        say()
        return
    seen, plain = xdist_rounds(bench)
    medians = {n: median_row(rows) for n, rows in seen.items()}
    xdist_table(bench, medians)
    say()
    say("  peak RSS, largest process: wait4() ru_maxrss; all processes: the most resident memory")
    say("  of the pytest process and its workers together, sampled every 0.1 s")
    alone = {n: statistics.median(walls) for n, walls in plain.items()}
    for n, rows in seen.items():
        walls = " ".join(f"{row.wall:.2f}" for row in rows)
        name = "1 process" if n == 0 else f"-n {n}"
        row = medians[n]
        say(
            f"  {name}: process wall per round {walls} s; the median round: start to first "
            f"trigger {seconds(row.startup)}, last status request to exit {seconds(row.teardown)}"
        )
    say(
        "  xdist alone (a one-test session without pytest-sipfront, median): "
        + ", ".join(
            f"{'1 process' if n == 0 else f'-n {n}'} {alone[n]:.2f} s"
            + (f" (+{alone[n] - alone[0]:.2f} s)" if n else "")
            for n in alone
        )
    )
    xdist_checks(bench, seen, medians)
    say()


def xdist_checks(bench: Bench, seen: dict[int, list[Row]], medians: dict[int, Row]) -> None:
    check = bench.report.check
    for n, rows in seen.items():
        name = "plugin, 1 process" if n == 0 else f"plugin -n {n}"
        once = all(row.triggers()[:2] == (1, 1) and row.triggers()[2] == row.runs for row in rows)
        check(once, f"{name}: exactly 1 trigger per run in every round", invariant=True)
        allowed = max(1, math.floor(bench.sizes.max_rps))
        most = max((row.traffic.max_in_window() if row.traffic else 0) for row in rows)
        check(
            most <= allowed,
            f"{name}: most requests in any 1 s window {most} <= {allowed}",
            invariant=True,
        )
        codes = sorted({row.measured.returncode if row.measured else -1 for row in rows})
        check(
            all(row.passed for row in rows),
            f"{name}: every run passed in every round (exit status {codes})",
            invariant=True,
        )
    single = medians[0]
    for n, row in medians.items():
        if n == 0:
            continue
        check(
            row.passed and row.wall <= 1.2 * single.wall,
            f"plugin -n {n}: median PROCESS wall {exact(row.wall)} <= 1.2 x single process "
            f"{exact(single.wall)} = {exact(1.2 * single.wall)}",
        )
        check(
            row.passed and row.gate <= 1.2 * single.gate,
            f"plugin -n {n}: GATE time {exact(row.gate)} <= 1.2 x single process "
            f"{exact(single.gate)} = {exact(1.2 * single.gate)}",
        )


GUEST_TEST = "def test_unrelated():\n    assert sum(range(10)) == 45\n"


def guest_runs(
    where: Path,
    env: dict[str, str],
    base: list[str],
    variants: dict[str, list[str]],
    rounds: int,
) -> dict[str, list[Measured]]:
    """One warm-up run of each variant (not counted), then ``rounds`` rounds alternating them."""
    seen: dict[str, list[Measured]] = {name: [] for name in variants}
    for extra in variants.values():
        run_measured([*base, *extra, "test_unrelated.py"], where, env)
    for _ in range(rounds):
        for name, extra in variants.items():
            seen[name].append(run_measured([*base, *extra, "test_unrelated.py"], where, env))
    return seen


def guest_section(bench: Bench) -> None:
    """The plugin as a guest: what it costs a session that has nothing to do with Sipfront."""
    say, check = bench.report.say, bench.report.check
    rounds = 3 if bench.sizes.tiny else 15
    say(
        f"4. Guest: an unrelated one-test session, {rounds} alternating runs of each, "
        "median wall and median peak RSS"
    )
    say()
    where = bench._dir("guest")
    (where / "test_unrelated.py").write_text(GUEST_TEST, encoding="utf-8")
    env = dict(bench.env)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # exactly the plugins named below
    # As installed: pip writes bytecode for an installed package and pytest caches its
    # assertion rewriting of plugin modules, so a real session does not compile them again.
    # One warm-up run of each variant (not counted) fills those caches.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *bench.extra]
    variants = {
        "without plugins": [],
        "pytest-sipfront": ["-p", "pytest_sipfront.plugin"],
        "pytest-timeout": ["-p", "pytest_timeout"],
    }
    seen = guest_runs(where, env, base, variants, rounds)

    def median(values: Sequence[float]) -> float:
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    wall = {name: median([m.wall for m in runs]) for name, runs in seen.items()}
    rss = {name: median([m.maxrss_kb for m in runs]) for name, runs in seen.items()}
    plain = "without plugins"
    body = [
        [
            name if name == plain else f"with {name}",
            f"{wall[name]:.3f} s",
            ratio(wall[name], wall[plain]),
            f"{rss[name] / 1024:.1f} MiB",
            f"{(rss[name] - rss[plain]) / 1024:+.1f} MiB",
        ]
        for name in variants
    ]
    headers = ["", "median wall", "/ without", "median peak RSS", "vs without"]
    for text in table(headers, body):
        say(text)
    say()
    for name, runs in seen.items():
        bad = [m for m in runs if m.returncode != 0]
        check(not bad, f"guest {name}: every session passed its one test", invariant=True)
    name = "pytest-sipfront"
    check(
        wall[name] <= 1.05 * wall[plain],
        f"guest: wall with pytest-sipfront {wall[name]:.3f} s <= 1.05 x without "
        f"{wall[plain]:.3f} s = {1.05 * wall[plain]:.3f} s",
    )
    check(
        rss[name] <= rss[plain] + 2048,
        f"guest: peak RSS with pytest-sipfront {rss[name] / 1024:.1f} MiB <= without "
        f"{rss[plain] / 1024:.1f} MiB + 2 MiB",
    )
    say()


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def header(bench: Bench, argv: Sequence[str]) -> None:
    import importlib.metadata

    import pytest

    sizes, say = bench.sizes, bench.report.say
    say("$ " + shlex.join(["python", "benchmarks/gate.py", *argv]))
    say(
        f"  {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, pytest {pytest.__version__}"
    )
    plugins = sorted(
        {
            f"{dist.metadata['Name']} {dist.version}"
            for dist in importlib.metadata.distributions()
            if any(point.group == "pytest11" for point in dist.entry_points)
        }
    )
    say(
        "  pytest plugins installed (the measured pytest loads only pytest-sipfront, and xdist"
        " for -n: PYTEST_DISABLE_PLUGIN_AUTOLOAD=1): " + ", ".join(plugins)
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        say(
            "  PYTHONDONTWRITEBYTECODE is set: pytest re-does its assertion rewriting of every "
            "plugin's modules at each start (no cache)"
        )
    shown = pytest_argv(bench.extra, "<manifest>", "--sipfront-url", "<sandbox>")[1:]
    say(
        f"  measured: python {' '.join(shown)} --sipfront-... "
        "(in a temp dir with an empty pytest.ini, sandbox keys in the environment)"
    )
    say(
        "  process wall: subprocess start to exit; gate time: first trigger to last status "
        "request, as the sandbox saw them"
    )
    say(
        "  peak RSS: ru_maxrss from os.wait4() on that process; threads: the most seen in "
        "/proc/<pid>/status, sampled every 20 ms"
    )
    say(f"  load average at start: {load_average()} (other work on this machine skews times)")
    if sizes.tiny:
        say("  --tiny: only broken invariants make the exit status non-zero")
    say()


# --------------------------------------------------------------------------------------------
# History: polling that expects the end


@dataclass
class Expecting:
    """One measured history configuration: per run, its status requests and how late the
    status answer that showed it finished came after the sandbox marked it finished."""

    label: str
    runs: int
    status: list[int]
    latency: list[float]
    triggers: int
    wall: float
    """First trigger to the status answer that showed the last run finished (sandbox clock)."""
    limit: float
    """First trigger to the moment the sandbox marked the last run finished."""
    passed: bool


def history_session(
    bench: Bench,
    label: str,
    *,
    runs: int,
    duration: float,
    told: float | None,
    poll: float,
    rps: float,
) -> Expecting:
    """``runs`` runs of one ``duration``-second test; ``told`` is what its history says it
    takes (``None``: history off, today's polling)."""
    from pytest_sipfront.sandbox import Catalog

    where = bench._dir(f"history {label}")
    entry: dict[str, Any] = {"name": "hist-test", "id": 4242, "duration": duration}
    if told is not None:
        entry["previous"] = {"outcome": "passed", "duration": told}
    server = _sandbox_class()(Catalog.from_dict({"tests": [entry]}, source="<benchmark>"))
    lines = ["version: 1", "tests:"]
    for number in range(runs):
        lines += [f"  - name: run-{number:02d}", "    test: hist-test"]
    manifest = where / "history.sipfront.yml"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with server:
        args = gate_options(server.base_url, runs, poll, rps, max(60.0, 6 * duration + 30))
        if told is None:
            args += ["--sipfront-history", "off"]
        measured = run_measured(
            pytest_argv(bench.extra, manifest.name, *args), where, bench.env, tree=False
        )
        records = server.requests
        ends = {key: run.started + run.duration for key, run in server._state.runs.items()}
    triggers = [r for r in records if r.endpoint == "tests.run"]
    status: dict[str, list[float]] = {key: [] for key in ends}
    for record in records:
        if record.endpoint == "runs.status":
            status.setdefault(record.path.rstrip("/").split("/")[-2], []).append(record.time)
    latency = []
    seen_last = []
    for key, end in ends.items():
        after = [t for t in status.get(key, []) if t >= end]
        if after:
            latency.append(min(after) - end)
            seen_last.append(min(after))
    first = min((r.time for r in triggers), default=math.nan)
    return Expecting(
        label=label,
        runs=runs,
        status=[len(status.get(key, [])) for key in ends],
        latency=latency,
        triggers=len(triggers),
        wall=max(seen_last, default=math.nan) - first,
        limit=max(ends.values(), default=math.nan) - first,
        passed=measured.returncode == 0 and len(latency) == runs,
    )


def history_section(bench: Bench) -> None:
    """Issue 11: today's fixed-interval polling against polling that expects the end, with a
    correct history and with a wrong one (the runs take 3x longer than history says)."""
    say, check = bench.report.say, bench.report.check
    tiny = bench.sizes.tiny
    say("5. History: polling that expects the end (one test, its runs side by side)")
    cases = (
        ("a", 4 if tiny else 20, 2.0 if tiny else 10.0, 3.0, 1000.0),
        ("b", 10 if tiny else 50, 4.0 if tiny else 20.0, 3.0, 5.0),
    )
    rows = []
    results: dict[tuple[str, str], Expecting] = {}
    for name, runs, duration, poll, rps in cases:
        for how, told in (("today", None), ("correct", duration), ("wrong", duration / 3)):
            label = f"({name}) {runs}x{duration:g}s {how}"
            got = history_session(
                bench, label, runs=runs, duration=duration, told=told, poll=poll, rps=rps
            )
            results[(name, how)] = got
            mean = statistics.fmean(got.latency) if got.latency else math.nan
            rows.append(
                [
                    label,
                    f"{poll:g}s / {rps:g}",
                    f"{statistics.fmean(got.status):.1f}" if got.status else "-",
                    f"{mean:.2f} s",
                    f"{max(got.latency, default=math.nan):.2f} s",
                    f"{got.wall:.1f} s / {got.limit:.1f} s",
                    str(got.triggers),
                ]
            )
    for line in table(
        [
            "session",
            "poll / max-rps",
            "status req/run",
            "mean latency",
            "max latency",
            "wall / limit",
            "triggers",
        ],
        rows,
    ):
        say(line)
    for name, runs, _duration, poll, _rps in cases:
        today, right, wrong = (results[(name, how)] for how in ("today", "correct", "wrong"))
        for got in (today, right, wrong):
            check(
                got.triggers == runs and got.passed,
                f"{got.label}: exactly one trigger per run ({got.triggers} for {runs})",
                invariant=True,
            )
        mean_right = statistics.fmean(right.latency) if right.latency else math.nan
        if name == "a":
            per_run = statistics.fmean(right.status) if right.status else math.nan
            check(per_run <= 4, f"(a) correct history: {per_run:.2f} status requests per run <= 4")
            check(
                mean_right <= 0.5, f"(a) correct history: mean latency {exact(mean_right)} <= 0.5 s"
            )
        else:
            check(
                mean_right <= 1.5, f"(b) correct history: mean latency {exact(mean_right)} <= 1.5 s"
            )
            check(
                right.wall <= right.limit + 1.0,
                f"(b) correct history: wall {exact(right.wall)} <= limit "
                f"{exact(right.limit)} + 1 s",
            )
        worst_wrong = max(wrong.latency, default=math.nan)
        worst_today = max(today.latency, default=math.nan)
        check(
            worst_wrong <= worst_today + poll,
            f"({name}) wrong history: largest latency {exact(worst_wrong)} <= today's "
            f"{exact(worst_today)} + one poll interval ({poll:g} s)",
        )
    say()


def run(argv: Sequence[str]) -> int:
    args, sizes = parse_args(argv)
    if args.baseline_child:
        return baseline_child(*args.baseline_child)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sipfront-bench-") as temp:
        bench = Bench(sizes, shlex.split(args.pytest_args), Path(temp), args.skip)
        header(bench, argv)
        # Start-up varies by a second or more on a busy machine: two empty sessions (--tiny: 1).
        empties = [bench.empty_session() for _ in range(1 if sizes.tiny else 2)]
        rows = run_rows(bench)
        if "baseline" not in args.skip:
            rows["baseline"] = bench.baseline()
        main_table(bench, rows, empties)
        main_checks(bench, rows)
        scale_section(bench, empties)
        if "xdist" not in args.skip and sizes.xdist:
            xdist_section(bench)
        if "guest" not in args.skip:
            guest_section(bench)
        if "history" not in args.skip:
            history_section(bench)
    checks = bench.report.checks
    passed = sum(check.ok for check in checks)
    failed = len(checks) - passed
    broken = [check for check in checks if check.invariant and not check.ok]
    bench.report.say(
        f"Summary: {passed} PASS, {failed} FAIL ({len(broken)} broken invariants) "
        f"in {time.monotonic() - began:.0f} s; load average at the end: {load_average()}"
    )
    if sizes.tiny:
        return 1 if broken else 0
    return 1 if failed else 0


def main() -> int:
    try:
        return run(sys.argv[1:])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print("the benchmark crashed (see above)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
