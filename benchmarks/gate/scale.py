"""2. Scale: runs in flight with the sandbox in its own process; a big collection."""

from __future__ import annotations

from benchmarks.gate.against_baseline import session_check, trigger_check, window_check
from benchmarks.gate.bench import Bench
from benchmarks.gate.measure import Measured
from benchmarks.gate.results import Row, exact, mb, seconds, table
from benchmarks.gate.sizes import MAX_WORKERS


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
