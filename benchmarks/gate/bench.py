"""The benchmark's state and the measured sessions every section runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.gate import baseline
from benchmarks.gate.commands import (
    big_manifest,
    fresh_dir,
    gate_options,
    pytest_argv,
    run_manifest,
)
from benchmarks.gate.measure import Measured, child_env, run_measured
from benchmarks.gate.results import Report, Row
from benchmarks.gate.sandboxes import local_sandbox, process_sandbox
from benchmarks.gate.sizes import Sizes


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
                str(Path(baseline.__file__).resolve()),
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
