"""The plugin as a guest in sessions that are not about Sipfront: it imports nothing they do
not need and leaves other plugins' YAML files alone."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from pytest_sipfront.options import SETTINGS
from pytest_sipfront.sandbox import SandboxServer

HEAVY = ("requests", "urllib3", "jsonschema", "referencing", "yaml", "junit_xml")
SANDBOX = "pytest_sipfront.sandbox"

DUMP_MODULES = """
import json
import sys


def pytest_unconfigure(config):
    with open("modules.json", "w", encoding="utf-8") as handle:
        json.dump(sorted(sys.modules), handle)
"""

DUMP_WORKER_MODULES = """
import json
import sys


def pytest_sessionfinish(session):
    worker = getattr(session.config, "workerinput", None)  # (not the environment: this suite
    if worker:  # may itself run under xdist)
        with open(f"modules-{worker['workerid']}.json", "w", encoding="utf-8") as handle:
            json.dump(sorted(sys.modules), handle)
"""

TAVERN_LIKE = """
import pytest
import yaml


class TavernFile(pytest.File):
    def collect(self):
        document = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        yield TavernItem.from_parent(self, name=document["test_name"])


class TavernItem(pytest.Item):
    def runtest(self):
        pass


def pytest_collect_file(file_path, parent):
    if file_path.name.endswith(".tavern.yaml"):
        return TavernFile.from_parent(parent, path=file_path)
    return None
"""

TAVERN_TEST = """
test_name: ping
stages:
  - name: ping
    request: {url: "http://127.0.0.1:1/ping", method: GET}
"""


def heavy_modules(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if name.split(".")[0] in HEAVY or name == SANDBOX or name.startswith(SANDBOX + ".")
    ]


def session_modules(pytester: pytest.Pytester, *args: str) -> list[str]:
    """The modules in sys.modules at the end of a pytest session run in a fresh interpreter."""
    pytester.makepyfile(dump_modules=DUMP_MODULES)
    result = pytester.runpytest_subprocess("-p", "dump_modules", "-p", "no:cacheprovider", *args)
    assert result.ret in (0, 5), result.stdout.str()
    modules: list[str] = json.loads((pytester.path / "modules.json").read_text("utf-8"))
    return modules


def test_importing_the_entry_point_loads_no_http_client_yaml_schema_or_sandbox() -> None:
    code = (
        "import json, sys\nimport pytest_sipfront.plugin\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    modules = json.loads(done.stdout)
    assert "pytest_sipfront.plugin" in modules
    assert heavy_modules(modules) == []


ENTRY_POINT_MODULES = {
    "pytest_sipfront",
    "pytest_sipfront.plugin",
    "pytest_sipfront.options",  # the table of settings: plain data
}


def test_importing_the_entry_point_loads_only_the_table_of_settings() -> None:
    code = (
        "import json, sys\nimport pytest_sipfront.plugin\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    ours = {name for name in json.loads(done.stdout) if name.split(".")[0] == "pytest_sipfront"}
    assert ours == ENTRY_POINT_MODULES


def test_a_session_that_gives_no_setting_loads_nothing_of_the_plugin_but_its_table(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a bytecode cache every module loaded is compiled again at each start: a plain
    session loads no parser, no manifest claim, no fixture module, no xdist hooks."""
    for setting in SETTINGS:
        if setting.env:
            monkeypatch.delenv(setting.env, raising=False)
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    modules = session_modules(pytester, "-q", "-p", "no:xdist")
    ours = {name for name in modules if name.split(".")[0] == "pytest_sipfront"}
    assert ours == ENTRY_POINT_MODULES


def test_a_session_given_a_setting_checks_it_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sipfront-timeout=forever")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-sipfront: --sipfront-timeout: 'forever' *"])


def test_a_plain_session_makes_no_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    modules = session_modules(pytester, "-q")
    assert "pytest_sipfront.session.gate" not in modules
    assert "pytest_sipfront.session.hooks" not in modules
    # The sipfront fixture is registered in every session; what it runs on is loaded on use.
    assert [name for name in modules if name.startswith("pytest_sipfront.runs")] == []


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_an_xdist_worker_waits_for_its_runs_without_loading_the_http_client(
    pytester: pytest.Pytester,
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.makeconftest(DUMP_WORKER_MODULES)
    manifest = "version: 1\ntests:\n  - {name: one, test: t-one}\n  - {name: two, test: t-two}\n"
    result = run_gate(manifest, "-n", "2", server=server, subprocess=True)
    result.assert_outcomes(passed=2)
    assert server.count("tests.run") == 2
    dumps = sorted(pytester.path.glob("modules-gw*.json"))
    assert len(dumps) == 2
    for dump in dumps:
        modules = json.loads(dump.read_text("utf-8"))
        assert "pytest_sipfront.session.gate" in modules  # the worker collected the manifest
        assert [name for name in modules if name.split(".")[0] in ("requests", "urllib3")] == []
        assert "pytest_sipfront.runs.service" not in modules


def test_collecting_a_plain_test_folder_loads_none_of_the_plugins_heavy_modules(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    modules = session_modules(pytester, "--collect-only", "-q")
    assert "pytest_sipfront.plugin" in modules
    assert heavy_modules(modules) == []


def test_running_a_plain_test_loads_none_of_the_plugins_heavy_modules(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    modules = session_modules(pytester, "-q")
    assert heavy_modules(modules) == []


def test_collecting_a_manifest_loads_the_manifest_reader(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("sipfront.yml").write_text(
        "version: 1\ntests:\n  - {name: one, test: t-one}\n", encoding="utf-8"
    )
    modules = session_modules(pytester, "--collect-only", "-q")
    assert {"yaml", "jsonschema", "pytest_sipfront.manifest.loader"} <= set(modules)


def write_tavern(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(TAVERN_LIKE)
    pytester.path.joinpath("test_ping.tavern.yaml").write_text(
        textwrap.dedent(TAVERN_TEST), encoding="utf-8"
    )


def test_another_plugins_yaml_file_named_alone_is_left_to_that_plugin(
    pytester: pytest.Pytester, run_gate: Callable[..., pytest.RunResult]
) -> None:
    write_tavern(pytester)
    result = run_gate(None, "test_ping.tavern.yaml", "-v", server=None)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_ping.tavern.yaml::ping PASSED*"])
    result.stdout.no_fnmatch_line("*unknown key*")


def test_another_plugins_yaml_file_and_a_manifest_both_run_in_one_session(
    pytester: pytest.Pytester,
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    server: SandboxServer = sipfront_sandbox({"default_duration": 0.2})
    write_tavern(pytester)
    manifest = "version: 1\ntests:\n  - {name: sip, test: t-sip}\n"
    result = run_gate(manifest, "test_ping.tavern.yaml", "sipfront.yml", "-v", server=server)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        ["*test_ping.tavern.yaml::ping PASSED*", "*sipfront.yml::sip PASSED*"]
    )
    assert server.count("tests.run") == 1


def test_a_named_yaml_file_with_keys_a_manifest_does_not_know_is_not_claimed(
    pytester: pytest.Pytester, run_gate: Callable[..., pytest.RunResult]
) -> None:
    pytester.path.joinpath("other.yml").write_text(
        "tests:\n  - {name: x}\nstages: []\n", encoding="utf-8"
    )
    result = run_gate(None, "other.yml", server=None)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # "not found": no plugin collects it
    result.stdout.no_fnmatch_line("*unknown key*")


def test_a_named_yaml_file_that_reads_like_a_manifest_is_claimed_whatever_its_name(
    pytester: pytest.Pytester, run_gate: Callable[..., pytest.RunResult]
) -> None:
    pytester.path.joinpath("gate.yml").write_text(
        "version: 1\ndefaults: {timeout: 5m}\ntests:\n  - {name: named, test: t}\n",
        encoding="utf-8",
    )
    result = run_gate(None, "gate.yml", "--collect-only", "-q", server=None)
    result.stdout.fnmatch_lines(["gate.yml::named"])


def test_a_session_against_sipfront_itself_never_loads_the_sandbox_server_or_its_catalog(
    pytester: pytest.Pytester,
    run_gate: Callable[..., pytest.RunResult],
    sipfront_sandbox: Callable[..., SandboxServer],
) -> None:
    # The server is this test's; the session only gets its URL, as it would Sipfront's.
    server = sipfront_sandbox({"default_duration": 0.2})
    pytester.makepyfile(dump_modules=DUMP_MODULES)
    manifest = "version: 1\ntests:\n  - {name: one, test: t-one}\n"
    result = run_gate(manifest, "-p", "dump_modules", server=server, subprocess=True)
    result.assert_outcomes(passed=1)
    assert server.count("tests.run") == 1
    modules = json.loads((pytester.path / "modules.json").read_text("utf-8"))
    assert "pytest_sipfront.runs.service" in modules
    # The client knows the sandbox's answer header from the one endpoint table; nothing else.
    loaded = {name for name in modules if name.startswith(SANDBOX + ".")}
    assert loaded <= {f"{SANDBOX}.endpoints"}
