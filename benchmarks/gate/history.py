"""5. History: polling that expects the end, against today's polling."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.gate.bench import Bench
from benchmarks.gate.commands import gate_options, pytest_argv
from benchmarks.gate.measure import run_measured
from benchmarks.gate.results import exact, table
from benchmarks.gate.sandboxes import _sandbox_class


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
