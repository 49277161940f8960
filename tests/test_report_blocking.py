"""Report files that block (a FIFO nobody reads, a reader that never reads): writing them has a
deadline, the file is skipped with one clear line, and the session ends."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sipfront.ci.action import write_outputs
from pytest_sipfront.reports.outfile import Blocked, write_text
from pytest_sipfront.runs.messages import REPORT_FILE_NO_READER, REPORT_FILE_STOPPED
from pytest_sipfront.sandbox import SandboxServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs")

MANIFEST = """
tests:
  - {name: call, test: t-call}
"""
# Writing waits 10 s for a reader; a session that hung would be killed at this bound.
HUNG = 120.0


def test_report_files_that_are_fifos_nobody_reads_are_skipped_with_one_line_each(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    junit, summary = pytester.path / "junit.fifo", pytester.path / "summary.fifo"
    os.mkfifo(junit)
    os.mkfifo(summary)
    result = run_gate(
        MANIFEST,
        "--sipfront-junit",
        str(junit),
        server=server,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        subprocess=True,
        timeout=HUNG,
    )
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1
    junit_lines = [line for line in result.outlines if "--sipfront-junit" in line]
    assert junit_lines == [
        f"sipfront: --sipfront-junit {junit} was not written: {REPORT_FILE_NO_READER}"
    ]
    summary_lines = [line for line in result.outlines if "job summary" in line]
    assert len(summary_lines) == 1 and REPORT_FILE_NO_READER in summary_lines[0]


def test_a_fifo_whose_reader_never_reads_is_left_at_the_deadline(tmp_path: Path) -> None:
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
    try:
        with pytest.raises(Blocked, match=r"did not take the report within 0\.5 s"):
            write_text(fifo, "x" * (1 << 20), deadline=0.5)
    finally:
        os.close(reader)


def test_a_stop_request_ends_the_wait_for_a_reader_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "s.fifo"
    os.mkfifo(fifo)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(Blocked) as caught:
        write_text(fifo, "text", deadline=600, stop=stop.is_set)
    assert caught.value.strerror == REPORT_FILE_STOPPED


def test_a_fifo_with_a_reader_gets_the_whole_text(tmp_path: Path) -> None:
    fifo = tmp_path / "ok.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text(fifo, "y" * 300_000, deadline=60)
    reader.join(60)
    assert got == [b"y" * 300_000]


def test_the_actions_outputs_file_that_is_a_fifo_nobody_reads_raises_instead_of_hanging(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "github_output"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="nobody opened it"):
        write_outputs(str(fifo), {"total": "1"})
