"""3. pytest-xdist: one process against -n 2 and -n 4 in alternating rounds."""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
from collections.abc import Sequence

from benchmarks.gate.bench import Bench
from benchmarks.gate.guest import GUEST_TEST
from benchmarks.gate.measure import run_measured
from benchmarks.gate.results import Row, exact, mb, ratio, seconds, table


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
