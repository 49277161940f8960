"""A cancelled GitHub job reaches the gate: GitHub sends SIGINT, then SIGTERM, to the step's
entry process (bash for a ``run:`` step) only. The gate step hands its process over to Python,
so the signal to bash alone ends the session with the JUnit file, the job summary, the step
outputs and the list of runs still going at Sipfront written.

The step's script is taken from action.yml and run as GitHub runs it:
``bash --noprofile --norc -eo pipefail SCRIPT``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from processes import clean_environ, polled_sessions, wait_until

from pytest_sipfront.sandbox import Catalog, SandboxServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_KEY = "pk-cancel-51c2"
SECRET_KEY = "sk-cancel-0b7e"
RUN_TAKES = 120  # seconds one sandbox run would take
# The step ends in about 2 s when idle; a minute is far from a busy machine's noise and from
# the runs' end.
LONG_BEFORE_A_RUN_ENDS = 60

MANIFEST = """\
defaults:
  poll_interval: 0.2s
  timeout: 10m
tests:
  - name: long-1
    test: long-call
  - name: long-2
    test: long-call
"""


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    catalog = Catalog.from_dict({"tests": [{"name": "long-call", "duration": f"{RUN_TAKES}s"}]})
    sandbox = SandboxServer(catalog, public_key=PUBLIC_KEY, secret_key=SECRET_KEY)
    sandbox.start()
    yield sandbox
    sandbox.stop()


def gate_step_environment(tmp_path: Path, server: SandboxServer) -> dict[str, str]:
    """The environment the runner gives the gate step for these ``with:`` inputs."""
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    gate = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    given = {
        "manifest": "sipfront.yml",
        "public_key": PUBLIC_KEY,
        "secret_key": SECRET_KEY,
        "api_url": server.base_url,
        "pytest_args": "--sipfront-max-rps 100 -p no:hypothesispytest -p no:cacheprovider",
    }
    env = clean_environ()
    for name, value in gate["env"].items():
        if name == "SIPFRONT_PYTHON":
            env[name] = sys.executable
        elif name.startswith("INPUT_"):
            input_name = name[len("INPUT_") :].lower()
            default = action["inputs"][input_name].get("default", "")
            env[name] = given.get(input_name, str(default))
        else:
            env[name] = str(value)
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(tmp_path),
        GITHUB_OUTPUT=str(tmp_path / "github_output.txt"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary.md"),
        PYTHONUNBUFFERED="1",
    )
    (tmp_path / "github_output.txt").write_text("", encoding="utf-8")
    script = tmp_path / "gate-step.sh"
    script.write_text(gate["run"], encoding="utf-8")
    return env


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_gate_steps_bash_alone_ends_the_session_with_every_report_written(
    signum: int, tmp_path: Path, server: SandboxServer
) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    (tmp_path / "sipfront.yml").write_text(MANIFEST, encoding="utf-8")
    env = gate_step_environment(tmp_path, server)
    step = subprocess.Popen(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "gate-step.sh")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: the signal below reaches bash's PID only
    )
    try:
        wait_until(
            lambda: len(polled_sessions(server)) == 2, 60, "both runs to be triggered and polled"
        )
        sent = time.monotonic()
        os.kill(step.pid, signum)  # the step's entry process alone, as GitHub does
        out, err = step.communicate(timeout=LONG_BEFORE_A_RUN_ENDS)
        took = time.monotonic() - sent
    finally:
        if step.poll() is None:
            os.killpg(step.pid, signal.SIGKILL)
            step.communicate()

    assert took < LONG_BEFORE_A_RUN_ENDS, (
        f"the step took {took:.1f}s to end; a run takes {RUN_TAKES}s"
    )
    assert step.returncode != 0, out + err
    assert "Traceback" not in err
    assert server.count("tests.run") == 2

    junit = (tmp_path / "sipfront-junit.xml").read_text(encoding="utf-8")
    assert junit.count('type="sipfront.interrupted"') == 2, junit
    summary = (tmp_path / "step_summary.md").read_text(encoding="utf-8")
    assert "Interrupted" in summary
    outputs = (tmp_path / "github_output.txt").read_text(encoding="utf-8")
    assert "total<<" in outputs and "errors<<" in outputs and "junit_report<<" in outputs
    running = [line for line in out.splitlines() if line.startswith("RUNNING")]
    assert len(running) == 2, out
    for session in polled_sessions(server):
        assert sum(session in line for line in running) == 1, out
