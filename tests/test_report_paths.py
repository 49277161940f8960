"""The --sipfront-junit path is checked before the first trigger (a usage error naming the
setting, nothing sent); a write that still fails is one line and the terminal summary stays;
devices, FIFOs and symlinks are written in place, never replaced."""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable

import pytest

from pytest_sipfront.sandbox import SandboxServer

MANIFEST = "tests:\n  - {name: call, test: t-ok}\n"
CATALOG = {"default_duration": 0.2}


@pytest.mark.parametrize("how", ["parent-is-a-file", "a-directory", "dot", "same-as-junitxml"])
def test_a_junit_path_that_cannot_be_written_is_a_usage_error_and_nothing_is_triggered(
    how: str,
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    pytester.path.joinpath("afile").write_text("x", encoding="utf-8")
    pytester.mkdir("reports")
    args = {
        "parent-is-a-file": ["--sipfront-junit", "afile/sf.xml"],
        "a-directory": ["--sipfront-junit", "reports"],
        "dot": ["--sipfront-junit", "."],
        "same-as-junitxml": ["--sipfront-junit", "out.xml", "--junitxml", "out.xml"],
    }[how]
    result = run_gate(MANIFEST, *args, server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "--sipfront-junit" in errors
    assert "Traceback" not in errors + result.stdout.str()
    assert server.count("tests.run") == 0


def test_an_unwritable_junit_directory_is_a_usage_error(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(CATALOG)
    result = run_gate(MANIFEST, "--sipfront-junit", "/proc/sf.xml", server=server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--sipfront-junit /proc/sf.xml" in result.stderr.str()
    assert server.count("tests.run") == 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_junit_write_that_fails_later_is_one_line_and_the_summary_stays(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox(CATALOG)
    result = run_gate(MANIFEST, "--sipfront-junit", "/dev/full", server=server)
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "Traceback" not in out + result.stderr.str()
    result.stdout.fnmatch_lines(
        ["*sipfront runs*", "PASSED*call*", "sipfront: --sipfront-junit /dev/full was not written*"]
    )
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs and symlinks")
def test_a_fifo_and_a_symlink_are_written_in_place_not_replaced(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox(CATALOG)
    fifo = pytester.path / "sf.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    result = run_gate(MANIFEST, "--sipfront-junit", str(fifo), server=server)
    reader.join(30)
    result.assert_outcomes(passed=1)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and "<testcase" in got[0]

    real = pytester.path / "real.xml"
    real.write_text("old", encoding="utf-8")
    link = pytester.path / "link.xml"
    link.symlink_to(real)
    result = run_gate(MANIFEST, "--sipfront-junit", str(link), server=server)
    result.assert_outcomes(passed=1)
    assert link.is_symlink()
    assert "<testcase" in real.read_text(encoding="utf-8")
