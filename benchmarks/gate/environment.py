"""The report's header: the machine, the plugins installed, how things are measured."""

from __future__ import annotations

import os
import platform
import shlex
from collections.abc import Sequence

from benchmarks.gate.bench import Bench
from benchmarks.gate.commands import pytest_argv


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def header(bench: Bench, argv: Sequence[str]) -> None:
    import importlib.metadata

    import pytest

    sizes, say = bench.sizes, bench.report.say
    say("$ " + shlex.join(["python", "-m", "benchmarks.gate", *argv]))
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
