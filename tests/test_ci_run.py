"""What CI runs (``.ci/run``): the README's test command, the slow tests once in a step of
their own (not again from the sdist and on the other Pythons), and the benchmark package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / ".ci" / "run").is_file():  # an unpacked sdist carries the tests, not CI
    pytest.skip("no .ci/run here (an unpacked sdist)", allow_module_level=True)
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def pytest_runs() -> list[str]:
    """Every pytest command line of ``.ci/run`` (comments left out), from ``pytest`` on."""
    runs = []
    for line in CI.splitlines():
        code = line.split("#")[0]
        match = re.search(r"(?:^|\s|-m )(pytest(?: [^)]*)?)\)?\s*$", code)
        if match:
            runs.append(match.group(1).strip())
    return runs


def test_ci_runs_the_readmes_test_command() -> None:
    assert "pytest -n 2" in pytest_runs()


def test_the_slow_tests_run_once_in_a_step_of_their_own() -> None:
    runs = pytest_runs()
    assert [run for run in runs if "slow" in run] == ["pytest -n 2 -m slow -p no:cacheprovider"]
    # Every other run (the README's command, the sdist, the other Pythons) leaves them out.
    assert len(runs) >= 4
    assert 'addopts = ["-p", "pytester", "-m", "not slow"]' in PYPROJECT
    assert re.search(r'^    "slow: ', PYPROJECT, flags=re.M)


def test_ci_runs_the_benchmark_package_at_tiny_sizes() -> None:
    assert re.search(r"^python -m benchmarks\.gate --tiny$", CI, flags=re.M)
    assert (ROOT / "benchmarks" / "gate" / "__main__.py").is_file()
