"""1. Gate against baseline, and the shared checks of every plugin row."""

from __future__ import annotations

import math

from benchmarks.gate.bench import Bench
from benchmarks.gate.measure import Measured
from benchmarks.gate.results import Row, exact, mb, ratio, seconds, table


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
