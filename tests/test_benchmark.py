"""The benchmark's pure helpers (``benchmarks/gate/``): what it counts and how it reports, so
that a figure in the Performance chapter means what its label says."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.gate.against_baseline import status_budget
from benchmarks.gate.commands import big_manifest, pytest_argv, run_manifest
from benchmarks.gate.guest import CACHED, PLAIN, UNCACHED, Condition, guest_rows
from benchmarks.gate.measure import Measured
from benchmarks.gate.parallel import median_row
from benchmarks.gate.results import Row, exact, mb, ratio, seconds, table
from benchmarks.gate.sandboxes import Hit, Traffic
from benchmarks.gate.sizes import parse_args
from pytest_sipfront.manifest.loader import load_manifest
from pytest_sipfront.settings import MAX_RPS


def measured(
    wall: float, *, rss_kb: int = 40 * 1024, started: float = 0.0, cpu: float = 0.0
) -> Measured:
    return Measured(
        argv=["pytest"],
        returncode=0,
        wall=wall,
        started=started,
        ended=started + wall,
        maxrss_kb=rss_kb,
        hwm_kb=rss_kb,
        tree_rss_kb=0,
        threads_max=1,
        output="",
        cpu=cpu,
    )


def traffic(*hits: tuple[float, str, str]) -> Traffic:
    return Traffic([Hit(time, endpoint, run) for time, endpoint, run in hits])


def test_the_busiest_second_counts_requests_in_a_half_open_window() -> None:
    seen = traffic(
        (0.0, "tests.run", "a"),
        (0.5, "runs.status", "s"),
        (0.99, "runs.status", "s"),
        (1.0, "runs.status", "s"),  # [0, 1) leaves it out; [0.5, 1.5) holds three
        (3.0, "runs.status", "s"),
    )
    assert seen.max_in_window() == 3
    assert traffic().max_in_window() == 0


def test_gate_time_runs_from_the_first_trigger_to_the_last_status_request() -> None:
    seen = traffic(
        (10.0, "runs.status", "old"),  # before the first trigger: still the last one counts
        (2.0, "tests.run", "a"),
        (3.0, "tests.run", "b"),
        (7.5, "runs.status", "s"),
    )
    assert seen.gate_time() == pytest.approx(8.0)
    assert math.isnan(traffic((1.0, "tests.run", "a")).gate_time())


def test_a_run_never_triggered_counts_as_zero_and_a_stranger_as_an_extra_trigger() -> None:
    seen = traffic(
        (0.0, "tests.run", "bench-0"),
        (0.1, "tests.run", "bench-0"),
        (0.2, "tests.run", "somebody-else"),
    )
    row = Row("plugin", 3, measured(1.0), seen, prefix="bench")
    assert row.traffic_names() == ["bench-0", "bench-1", "bench-2"]
    fewest, most, total = row.triggers()
    assert (fewest, most, total) == (0, 3, 3)


def test_names_are_zero_padded_to_the_widest_number() -> None:
    row = Row("plugin", 12, None, None, prefix="p")
    assert row.traffic_names()[:2] == ["p-00", "p-01"]
    assert row.traffic_names()[-1] == "p-11"


def test_start_up_and_teardown_are_measured_against_what_the_sandbox_saw() -> None:
    seen = traffic((100.4, "tests.run", "bench-0"), (103.0, "runs.status", "s"))
    row = Row("plugin", 1, measured(3.5, started=100.0), seen)
    assert row.startup == pytest.approx(0.4)
    assert row.teardown == pytest.approx(0.5)
    assert math.isnan(Row("baseline", 1, None, None).startup)


def test_a_missing_figure_is_a_dash_never_nan() -> None:
    nan = math.nan
    assert (seconds(nan), exact(nan), ratio(nan, 1.0), ratio(1.0, 0.0), mb(0)) == ("-",) * 5
    assert (seconds(1.26), exact(1.256), ratio(3.0, 2.0), mb(2048)) == (
        "1.3 s",
        "1.26 s",
        "1.50x",
        "2 MB",
    )


def test_a_table_left_aligns_the_first_column_and_right_aligns_the_others() -> None:
    lines = table(["", "wall"], [["plugin", "3.0 s"], ["baseline (sequential)", "61.1 s"]])
    assert lines == [
        " " * 25 + "wall",
        "---------------------  ------",
        "plugin                  3.0 s",
        "baseline (sequential)  61.1 s",
    ]


def test_the_status_budget_is_one_request_per_interval_and_two_spare() -> None:
    assert status_budget(3.0, 1.0) == 5
    assert status_budget(3.5, 1.0) == 6


def test_the_median_round_is_the_lower_middle_one() -> None:
    rows = [Row(str(wall), 1, measured(wall), None) for wall in (4.0, 1.0, 3.0, 2.0)]
    assert median_row(rows).label == "2.0"
    assert median_row(rows[:3]).label == "3.0"


def test_tiny_sizes_are_what_ci_runs_and_the_scale_rate_stays_within_the_allowed() -> None:
    _, tiny = parse_args(["--tiny"])
    assert (tiny.runs, tiny.duration, tiny.xdist, tiny.xdist_rounds) == (3, 1.0, (2,), 1)
    assert tiny.max_rps == 2 * 3 + 10
    _, default = parse_args([])
    assert (default.runs, default.scale_runs, default.xdist) == (20, 500, (2, 4))
    assert default.scale_rps == MAX_RPS  # 2 * 500 + 10 would be refused


def test_sizes_below_one_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--runs", "0"])
    assert "sizes must be at least 1" in capsys.readouterr().err


def test_the_manifests_hold_as_many_items_as_asked(tmp_path: Path) -> None:
    runs = load_manifest(run_manifest(tmp_path / "r.sipfront.yml", 12, "b"), environ={})
    assert [spec.name for spec in runs.specs][:2] == ["run-00", "run-01"]
    assert len(runs.specs) == 12
    for items in (200, 213):
        big = load_manifest(big_manifest(tmp_path / f"{items}.sipfront.yml", items), environ={})
        assert len(big.specs) == items


def test_the_measured_pytest_loads_xdist_only_for_dash_n() -> None:
    plain = pytest_argv([], "m.yml")
    assert plain[plain.index("-p") + 1] == "pytest_sipfront.plugin"
    assert "xdist.plugin" not in plain
    assert "xdist.plugin" in pytest_argv([], "m.yml", "-n", "2")


def test_the_uncached_condition_forbids_bytecode_and_puts_the_fresh_copies_first(
    tmp_path: Path,
) -> None:
    base = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "/elsewhere", "HOME": "/root"}
    cached = Condition(CACHED, None).env(base)
    assert "PYTHONDONTWRITEBYTECODE" not in cached and "PYTHONPATH" not in cached
    uncached = Condition(UNCACHED, tmp_path).env(base)
    assert uncached["PYTHONDONTWRITEBYTECODE"] == "1"
    assert uncached["PYTHONPATH"] == str(tmp_path)
    assert (
        cached["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        == uncached["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        == "1"
    )
    assert uncached["HOME"] == "/root"


def test_the_guest_table_compares_each_session_with_pytest_alone_in_its_condition() -> None:
    seen = {
        (CACHED, PLAIN): [measured(0.20), measured(0.30), measured(0.10)],
        (CACHED, "pytest-sipfront"): [measured(0.21, rss_kb=41 * 1024, cpu=0.1)],
        (UNCACHED, PLAIN): [measured(0.40, cpu=0.2)],
        (UNCACHED, "pytest-sipfront"): [measured(0.50, cpu=0.21)],
    }
    body, wall, rss = guest_rows(seen)
    assert wall[CACHED, PLAIN] == pytest.approx(0.20)  # the median, not the mean or the first
    assert body[1][2:4] == ["0.210 s", "1.05x"]
    assert body[1][4:] == ["0.100 s", "-", "41.0 MiB", "+1.0 MiB"]  # no CPU time without: "-"
    assert body[3][3] == "1.25x"  # against the uncached session without plugins
    assert body[3][5] == "1.05x"
    assert rss[UNCACHED, PLAIN] == 40 * 1024
