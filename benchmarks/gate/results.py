"""Results: measured rows, PASS/FAIL checks, and the plain-text formatting of the report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.gate.measure import Measured
from benchmarks.gate.sandboxes import Traffic


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
