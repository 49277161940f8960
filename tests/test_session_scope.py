"""The plugin is a guest in sessions without Sipfront items: it changes nothing there. SIGTERM
and SIGHUP stop a session like Ctrl-C only while Sipfront runs are planned or going, and a bad
API URL is an error only for a session that would send Sipfront requests."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sipfront.sandbox import SandboxServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SLEEPER = """\
import time

def test_sleeps():
    print("sleeping now", flush=True)
    time.sleep(120)
"""


def _env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "GITHUB_", "SIPFRONT_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _killed_after_start(tmp_path: Path, signum: int, *args: str) -> tuple[int, str]:
    (tmp_path / "test_sleep.py").write_text(SLEEPER, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", *args]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    started = time.monotonic()
    while "sleeping now" not in seen:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    process.send_signal(signum)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    assert time.monotonic() - started < 100, "the session outlived its 120 s test"
    return process.returncode, seen + out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_session_without_sipfront_items_dies_on_a_stop_signal_as_without_the_plugin(
    signum: int, tmp_path: Path
) -> None:
    without, _ = _killed_after_start(tmp_path, signum, "-p", "no:sipfront")
    code, out = _killed_after_start(tmp_path, signum)
    assert without == -signum
    assert code == without, out
    assert "KeyboardInterrupt" not in out


def test_a_bad_api_url_does_not_break_a_session_without_sipfront_items(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    monkeypatch.setenv("SIPFRONT_API_URL", "http://example.com")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("how", ["env", "option", "ini"])
def test_a_bad_api_url_is_a_usage_error_naming_the_setting_when_sipfront_items_are_selected(
    how: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".yml", sipfront="tests:\n  - name: call\n    test: basic-call\n")
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", "pk-scope")
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", "sk-scope")
    monkeypatch.delenv("SIPFRONT_API_URL", raising=False)
    args = ["-p", "no:cacheprovider"]
    if how == "env":
        monkeypatch.setenv("SIPFRONT_API_URL", "http://example.com")
    elif how == "option":
        args += ["--sipfront-url", "http://example.com"]
    else:
        pytester.makeini("[pytest]\nsipfront_url = http://example.com\n")
    result = pytester.runpytest_subprocess(*args, timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "must use https://" in errors
    assert "SIPFRONT_API_URL, --sipfront-url or sipfront_url" in errors
    assert "Traceback" not in errors


def test_under_xdist_a_bad_api_url_errors_the_sipfront_items_without_an_internal_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".yml", sipfront="tests:\n  - name: call\n    test: basic-call\n")
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", "pk-scope")
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", "sk-scope")
    monkeypatch.setenv("SIPFRONT_API_URL", "http://example.com")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=120)
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    result.assert_outcomes(passed=1, errors=1)
    assert "SIPFRONT_API_URL, --sipfront-url or sipfront_url" in output


def test_the_stop_signal_handlers_are_put_back_after_a_session_with_sipfront_runs(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    # In this process (pytester runs inline): the handlers before and after must be the same,
    # and during the run the plugin's own was installed.
    pytester.makeconftest(
        "import signal\n"
        "def pytest_runtest_setup(item):\n"
        "    during = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)\n"
        "    item.config._during = during\n"
        "    open('during.txt', 'w').write(repr(signal.SIG_DFL in during))\n"
    )
    seen: list[object] = []
    server = sipfront_sandbox({"default_duration": 0.2})
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    previous = {s: signal.signal(s, signal.SIG_DFL) for s in before}
    try:
        run_gate(
            "tests:\n  - {name: call, test: basic-call}\n",
            server=server,
        ).assert_outcomes(passed=1)
        seen.extend(signal.getsignal(s) for s in before)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert seen == [signal.SIG_DFL, signal.SIG_DFL]
    assert (pytester.path / "during.txt").read_text(encoding="utf-8") == "False"


YAML_ITEMS_PLUGIN = """\
import importlib.util
import os
import time

import pytest


class WaitFile(pytest.File):
    def collect(self):
        yield WaitItem.from_parent(self, name="waits")


class WaitItem(pytest.Item):
    def runtest(self):
        parent = os.getppid()
        open(f"started-{os.getpid()}", "w").close()
        deadline = time.monotonic() + 60
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.1)  # until the controller is gone (or a minute has passed)


def pytest_collect_file(file_path, parent):
    if file_path.name.endswith(".wait.yaml"):
        return WaitFile.from_parent(parent, path=file_path)
    return None
"""


def _xdist_killed_while_running(tmp_path: Path, signum: int, *args: str) -> tuple[int, str]:
    """Another plugin's YAML items under ``-n 2``: the controller is signalled once a worker
    runs one (it leaves a file), and its exit status is returned with its output."""
    (tmp_path / "conftest.py").write_text(YAML_ITEMS_PLUGIN, encoding="utf-8")
    (tmp_path / "ping.wait.yaml").write_text("stages: []\n", encoding="utf-8")
    for old in tmp_path.glob("started-*"):
        old.unlink()
    command = [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", *args]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not any(tmp_path.glob("started-*")) and process.poll() is None:
        assert time.monotonic() < deadline, "no worker started its item"
        time.sleep(0.1)
    process.send_signal(signum)
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, out


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_under_xdist_another_plugins_yaml_items_leave_sigterm_to_the_controller_as_it_was(
    tmp_path: Path,
) -> None:
    without, _ = _xdist_killed_while_running(tmp_path, signal.SIGTERM, "-p", "no:sipfront")
    code, out = _xdist_killed_while_running(tmp_path, signal.SIGTERM)
    assert without == -signal.SIGTERM
    assert code == without, out
    assert "KeyboardInterrupt" not in out
