"""``python -m benchmarks.gate``: every section in one run, one report."""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from benchmarks.gate.against_baseline import main_checks, main_table, run_rows
from benchmarks.gate.bench import Bench
from benchmarks.gate.environment import header, load_average
from benchmarks.gate.guest import guest_section
from benchmarks.gate.history import history_section
from benchmarks.gate.parallel import xdist_section
from benchmarks.gate.scale import scale_section
from benchmarks.gate.sizes import parse_args


def run(argv: Sequence[str]) -> int:
    args, sizes = parse_args(argv)
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
