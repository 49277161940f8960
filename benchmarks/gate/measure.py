"""Subprocesses, measured: wall time, peak RSS (wait4), threads and memory sampled from /proc."""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.gate.sandboxes import _sandbox_class
from benchmarks.gate.sizes import CHILD_TIMEOUT, SAMPLE_EVERY, SANDBOX_ENV_DROP


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
    cpu: float = 0.0
    """User and system CPU seconds of the process and the children it reaped (wait4)."""

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
        cpu=usage.ru_utime + usage.ru_stime,
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
