"""The CI entrypoint ``python -m pytest_sipfront.action``, run as GitHub runs it: a subprocess with
the runner's environment faked (``GITHUB_*``, ``INPUT_*`` with action.yml's own defaults), against
the sandbox."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pytest_sipfront.ci import action
from pytest_sipfront.ci import inputs as action_inputs
from pytest_sipfront.sandbox import Catalog, SandboxServer

ROOT = Path(__file__).resolve().parent.parent
ACTION_YML = ROOT / "action.yml"

CATALOG = """\
default_duration: 0.1s
tests:
  - name: basic-call
    id: 123
    duration: 0.1s
    outcome: passed
    testcase_name: Basic call A to B
    agentpool_name: eu-central-1
    tags: [media, prod]
    when:
      - overrides: {step.1.0.dial_destination: "439990000"}
        outcome: failed
        result_description: "callee did not answer (SIP 480)"
  - name: one-way-audio
    id: 124
    duration: 0.1s
    outcome: failed
    result_description: "no audio from B to A"
  - name: hostile
    id: 125
    duration: 0.1s
    outcome: failed
    result_description: "line one\\nstatus<<EOF\\npassed\\nEOF\\n::error::injected"
projects:
  - name: nightly
    id: 7
    duration: 0.1s
    outcome: passed
"""

MANIFEST = """\
tests:
  - name: call
    test: basic-call
    marks: [smoke]
  - name: audio
    test: one-way-audio
    marks: [media]
"""

FAST = "--sipfront-sandbox-catalog catalog.yml --sipfront-poll-interval 0.2s"


def action_defaults() -> dict[str, str]:
    """Every input of action.yml with its default, as GitHub passes them (unset: empty)."""
    spec = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    return {name: str(entry.get("default", "")) for name, entry in spec["inputs"].items()}


def declared_outputs() -> list[str]:
    spec = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    return list(spec["outputs"])


def parse_github_output(text: str) -> dict[str, str]:
    """Read ``$GITHUB_OUTPUT`` the way the runner does (``name<<DELIMITER`` blocks)."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
            continue
        name, separator, delimiter = line.partition("<<")
        assert separator and delimiter, f"not a heredoc output line: {line!r}"
        end = lines.index(delimiter, index + 1)
        assert name not in outputs, f"output {name} written twice"
        outputs[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return outputs


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    @property
    def lines(self) -> list[str]:
        """stdout without the ``::add-mask::`` lines."""
        return [line for line in self.stdout.splitlines() if not line.startswith("::add-mask::")]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "catalog.yml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "sipfront.yml").write_text(MANIFEST, encoding="utf-8")
    return tmp_path


def run_action(
    workspace: Path,
    inputs: Mapping[str, str],
    *,
    github: bool = True,
    argv: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    defaults: bool = True,
    cwd: Path | None = None,
) -> ActionRun:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INPUT_", "SIPFRONT_", "GITHUB_", "PYTEST_"))
    }
    output_file = workspace / "github_output.txt"
    summary_file = workspace / "step_summary.md"
    if github:
        environ.update(
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_OUTPUT=str(output_file),
            GITHUB_STEP_SUMMARY=str(summary_file),
        )
    unknown = set(inputs) - set(action_defaults())
    assert not unknown, f"not inputs of action.yml: {unknown}"
    if defaults:
        for name, default in action_defaults().items():
            environ[f"INPUT_{name.upper()}"] = inputs.get(name, default)
    else:
        environ.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    # Only the plugin under test (action.py loads it with -p): other plugins cost a second a run.
    environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront.action", *argv],
        cwd=cwd or workspace,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=90,
    )
    outputs = (
        parse_github_output(output_file.read_text(encoding="utf-8")) if output_file.exists() else {}
    )
    summary = summary_file.read_text(encoding="utf-8") if summary_file.exists() else ""
    return ActionRun(done.returncode, done.stdout, done.stderr, outputs, summary, workspace)


def main_in_process(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    inputs: Mapping[str, str],
    *,
    github: bool = True,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str, str]:
    """The entrypoint in this process, for speed: an invalid input returns before pytest runs."""
    for key in list(os.environ):
        if key.startswith(("INPUT_", "SIPFRONT_", "GITHUB_")):
            monkeypatch.delenv(key)
    if github:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_OUTPUT", str(workspace / "github_output.txt"))
    for name, default in action_defaults().items():
        monkeypatch.setenv(f"INPUT_{name.upper()}", inputs.get(name, default))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(workspace)
    code = action.main([])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def private_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of our own with its own keys, reached like the real API (no ``sandbox``)."""
    server = SandboxServer(
        Catalog.from_dict(yaml.safe_load(CATALOG)),
        public_key="pk-live-Zq81Xv0",
        secret_key="sk-live-9yTTr%Q2:x",
    )
    server.start()
    yield server
    server.stop()


def test_a_passing_selection_exits_0_and_writes_every_declared_output(workspace: Path) -> None:
    run = run_action(
        workspace,
        {"manifest": "sipfront.yml", "sandbox": "true", "markers": "smoke", "pytest_args": FAST},
    )
    assert run.code == 0, run.stdout + run.stderr
    assert set(run.outputs) == set(declared_outputs())
    assert (run.outputs["total"], run.outputs["passed"]) == ("1", "1")
    assert (run.outputs["failed"], run.outputs["errors"]) == ("0", "0")
    assert run.outputs["junit_report"] == "sipfront-junit.xml"
    assert (workspace / "sipfront-junit.xml").is_file()
    assert run.outputs["results_json"] == "sipfront-results.json"
    results = json.loads((workspace / "sipfront-results.json").read_text(encoding="utf-8"))
    assert results["session"]["sandbox"] is True
    assert [run["outcome"] for run in results["runs"]] == ["passed"]
    urls = json.loads(run.outputs["report_urls"])
    assert [(u["name"], u["outcome"]) for u in urls] == [("call", "passed")]
    assert urls[0]["report_url"].startswith("http://127.0.0.1:")
    # One item: the official action's outputs are filled in too.
    assert run.outputs["status"] == "passed"
    assert run.outputs["test_name"] == "basic-call"
    assert "SANDBOX" in run.stdout
    assert "| call |" in run.summary and urls[0]["report_url"] in run.summary
    assert run.summary.startswith("## ✅ 1 Sipfront run passed (SANDBOX")


def test_a_failed_run_exits_1_and_is_counted_and_annotated(workspace: Path) -> None:
    run = run_action(
        workspace, {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST}
    )
    assert run.code == 1
    outputs = run.outputs
    assert (outputs["total"], outputs["passed"], outputs["failed"], outputs["errors"]) == (
        "2",
        "1",
        "1",
        "0",
    )
    annotations = [line for line in run.lines if line.startswith("::error file=sipfront.yml")]
    assert len(annotations) == 1
    assert "no audio from B to A" in annotations[0]
    # Two items: the single-run outputs are written, empty.
    assert outputs["status"] == "" and outputs["report_url"] == ""
    assert len(json.loads(outputs["report_urls"])) == 2


def test_a_session_that_selects_no_run_is_red_unless_allow_empty(workspace: Path) -> None:
    inputs = {"manifest": "sipfront.yml", "sandbox": "true", "markers": "nightly"}
    red = run_action(workspace, inputs)
    assert red.code == 1
    errors = [line for line in red.lines if line.startswith("::error")]
    assert len(errors) == 1 and "No Sipfront run was selected" in errors[0]
    assert red.outputs["total"] == "0"

    (workspace / "github_output.txt").unlink()
    green = run_action(workspace, {**inputs, "allow_empty": "true"})
    assert green.code == 0
    assert not [line for line in green.lines if line.startswith("::error")]
    assert set(green.outputs) == set(declared_outputs())


def test_single_run_form_sends_the_destination_and_sets_the_official_outputs(
    workspace: Path,
) -> None:
    run = run_action(
        workspace,
        {
            "sandbox": "true",
            "mode": "test",
            "name": "basic-call",
            "destination": "439990000",
            "pytest_args": FAST,
        },
    )
    assert run.code == 1, run.stdout + run.stderr
    outputs = run.outputs
    assert set(outputs) == set(declared_outputs())
    assert outputs["status"] == "failed"
    assert outputs["result_description"] == "callee did not answer (SIP 480)"
    assert (outputs["test_id"], outputs["test_name"]) == ("123", "basic-call")
    assert outputs["testcase_name"] == "Basic call A to B"
    assert outputs["agentpool_name"] == "eu-central-1"
    assert outputs["report_url"] and outputs["session_id"]
    assert outputs["started_at"] and outputs["stopped_at"]
    assert json.loads(outputs["tags"]) == ["media", "prod"]
    assert (outputs["total"], outputs["failed"]) == ("1", "1")
    assert (workspace / "sipfront-junit.xml").is_file()
    assert not list(workspace.glob("*.sipfront.yml")), "the single-run manifest is temporary"
    # Its manifest is not in the workspace: the annotation names no file GitHub cannot find.
    (annotation,) = [line for line in run.lines if line.startswith("::error ")]
    assert annotation.startswith("::error title=Sipfront%3A basic-call::"), annotation


def test_a_hostile_description_cannot_forge_outputs_or_workflow_commands(workspace: Path) -> None:
    run = run_action(workspace, {"sandbox": "true", "name": "hostile", "pytest_args": FAST})
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["status"] == "failed"
    assert run.outputs["result_description"] == (
        "line one\nstatus<<EOF\npassed\nEOF\n::error::injected"
    )
    assert not [line for line in run.stdout.splitlines() if line.startswith("::error::")]


def test_a_manifest_entry_can_be_named_like_on_the_pytest_command_line(
    workspace: Path,
) -> None:
    environ = {"INPUT_MANIFEST": "sipfront.yml::call", "INPUT_SANDBOX": "true"}
    inputs = action_inputs.parse_inputs(environ, cwd=str(workspace))
    assert inputs.manifests == ("sipfront.yml::call",)


def test_single_run_project_form_sets_the_project_outputs(workspace: Path) -> None:
    run = run_action(
        workspace,
        {"sandbox": "true", "project_id": "7", "test_ids": "11, 12", "pytest_args": FAST},
    )
    assert run.code == 0, run.stdout + run.stderr
    outputs = run.outputs
    assert outputs["status"] == "passed"
    assert outputs["project_id"] == "7"
    assert outputs["project_name"] == "nightly"
    assert outputs["project_run_id"] and outputs["project_run_uuid"]
    assert outputs["total_tests"] == "2"
    assert outputs["started_at"] and outputs["stopped_at"]  # a project run has created_at


def test_a_broken_manifest_is_counted_as_an_error_not_as_nothing(workspace: Path) -> None:
    (workspace / "broken.sipfront.yml").write_text(
        "tests:\n  - name: a\n    test: t\n    timeout: 10x\n", encoding="utf-8"
    )
    run = run_action(workspace, {"manifest": "broken.sipfront.yml", "sandbox": "true"})
    assert run.code == 2
    assert (run.outputs["total"], run.outputs["errors"]) == ("1", "1")
    annotations = [line for line in run.lines if line.startswith("::error file=broken")]
    assert len(annotations) == 1 and "line=4,col=14" in annotations[0]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"manifest": "sipfront.yml", "concurrency": "many"}, "concurrency: 'many'"),
        ({"manifest": "sipfront.yml", "timeout": "10x"}, "timeout: '10x' is not a duration"),
        ({"manifest": "sipfront.yml", "report_mode": "loud"}, "report_mode: 'loud'"),
        ({"manifest": "sipfront.yml", "allow_empty": "maybe"}, "allow_empty: 'maybe'"),
        ({"manifest": "missing.yml"}, "manifest: 'missing.yml' does not exist"),
        ({}, "manifest: missing"),
        ({"manifest": "sipfront.yml", "name": "basic-call"}, "name: only for one test"),
        ({"mode": "suite", "name": "basic-call"}, "mode: 'suite' is not a mode"),
        ({"mode": "project", "name": "basic-call"}, "name: only for mode test"),
        ({"name": "basic-call", "destination": "+112"}, "emergency number"),
        ({"project_id": "seven"}, "project_id: 'seven' is not a whole number"),
        ({"project_id": "7", "test_ids": "11,x"}, "test_ids: 'x'"),
        ({"manifest": "sipfront.yml", "pytest_args": "-k 'open"}, "pytest_args: cannot split"),
        (
            {"manifest": "sipfront.yml", "public_key": "", "secret_key": ""},
            "public_key and secret_key: missing",
        ),
        (
            {"manifest": "sipfront.yml", "markers": "smoke\n::error::forged"},
            "markers: must be one line",
        ),
        (
            {"manifest": "sipfront.yml", "keyword": "call\r\n::warning::forged"},
            "keyword: must be one line",
        ),
        ({"name": "basic-call\n::error::x"}, "name: must be one line"),
        ({"name": "basic-call", "destination": "4399\n0000"}, "destination: must be one line"),
        ({"mode": "test\nx", "name": "basic-call"}, "mode: must be one line"),
        ({"manifest": "sipfront.yml", "junit_report": "a\nb.xml"}, "junit_report: must be one"),
        (
            {"manifest": "sipfront.yml", "secret_key": "SÉCRET☎"},
            "secret_key contains the character U+260E",
        ),
        ({"manifest": "sipfront.yml", "secret_key": "sk\nx"}, "secret_key contains a line"),
        ({"manifest": "sipfront.yml", "public_key": "pk:x"}, "public_key contains ':'"),
    ],
)
def test_an_invalid_input_is_one_error_line_and_exit_2_with_nothing_sent(
    workspace: Path,
    private_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    inputs: dict[str, str],
    message: str,
) -> None:
    given = {
        "api_url": private_sandbox.base_url,
        "public_key": "pk-live-Zq81Xv0",
        "secret_key": "sk-live-9yTTr%Q2:x",
        **inputs,
    }
    code, out, err = main_in_process(workspace, monkeypatch, capsys, given)
    lines = [line for line in out.splitlines() if not line.startswith("::add-mask::")]
    assert code == 2
    assert len(lines) == 1, out
    assert lines[0].startswith("::error title=pytest-sipfront::")
    assert message in lines[0]
    assert err == ""
    assert private_sandbox.requests == []
    assert not (workspace / "github_output.txt").exists()


def test_the_real_entrypoint_stops_at_an_invalid_input_before_any_request(
    workspace: Path, private_sandbox: SandboxServer
) -> None:
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "api_url": private_sandbox.base_url,
            "public_key": "pk-live-Zq81Xv0",
            "secret_key": "sk-live-9yTTr%Q2:x",
            "max_runs": "0",
        },
    )
    assert run.code == 2
    assert run.lines == ["::error title=pytest-sipfront::max_runs: '0' must be at least 1"]
    assert private_sandbox.requests == []
    assert run.outputs == {}


def test_a_url_with_credentials_inside_is_refused_without_repeating_them(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = main_in_process(
        workspace,
        monkeypatch,
        capsys,
        {
            "manifest": "sipfront.yml",
            "api_url": "https://someone:hunter2-pass@app.example.com/api/v2",
            "public_key": "pk",
            "secret_key": "sk",
        },
    )
    assert code == 2
    assert "api_url:" in out and "user name or password" in out
    assert "hunter2" not in out + err


def test_credentials_are_masked_first_and_appear_nowhere_else(
    workspace: Path, private_sandbox: SandboxServer
) -> None:
    public, secret = "pk-live-Zq81Xv0", "sk-live-9yTTr%Q2:x"
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "api_url": private_sandbox.base_url,
            "public_key": public,
            "secret_key": secret,
            "pytest_args": "--sipfront-poll-interval 0.2s -rA",
        },
    )
    assert run.code == 1, run.stdout + run.stderr  # one-way-audio fails: its text is printed
    first = run.stdout.splitlines()[:2]
    assert sorted(first) == sorted(
        ["::add-mask::" + public, "::add-mask::" + secret.replace("%", "%25")]
    )
    basic = base64.b64encode(f"{public}:{secret}".encode()).decode()
    written = [
        "\n".join(run.lines),
        run.stderr,
        run.summary,
        (workspace / "github_output.txt").read_text(encoding="utf-8"),
        (workspace / "sipfront-junit.xml").read_text(encoding="utf-8"),
    ]
    for text in written:
        for value in (public, secret, basic, "sk-live"):
            assert value not in text
    assert any(r.authorized for r in private_sandbox.requests), "the keys did reach the API"


def test_timeout_0_means_the_longest_wait_with_a_warning(workspace: Path) -> None:
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "sandbox": "true",
            "timeout": "0",
            "allow_empty": "true",
            "pytest_args": "--sipfront-dry-run -rs",
        },
    )
    assert run.code == 0, run.stdout + run.stderr
    warnings = [line for line in run.lines if line.startswith("::warning")]
    assert len(warnings) == 1 and "24h" in warnings[0]
    assert "(timeout 24h)" in run.stdout  # the dry run shows the timeout each run would get


def test_without_github_it_takes_the_manifest_as_argument_and_sipfront_variables(
    workspace: Path, private_sandbox: SandboxServer
) -> None:
    run = run_action(
        workspace,
        {},
        github=False,
        defaults=False,
        argv=("sipfront.yml",),
        env={
            "SIPFRONT_API_URL": private_sandbox.base_url,
            "SIPFRONT_PUBLIC_KEY": "pk-live-Zq81Xv0",
            "SIPFRONT_SECRET_KEY": "sk-live-9yTTr%Q2:x",
            "INPUT_MARKERS": "smoke",
            "INPUT_POLL_INTERVAL": "0.2s",
        },
    )
    assert run.code == 0, run.stdout + run.stderr
    assert not [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert "pytest-sipfront: 1 Sipfront item: 1 passed" in run.stdout
    assert (workspace / "sipfront-junit.xml").is_file()
    assert not (workspace / "github_output.txt").exists()


def test_without_github_an_invalid_input_is_one_plain_line_on_stderr(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = main_in_process(
        workspace,
        monkeypatch,
        capsys,
        {"manifest": "sipfront.yml", "timeout": "soon"},
        github=False,
        env={"SIPFRONT_PUBLIC_KEY": "pk", "SIPFRONT_SECRET_KEY": "sk"},
    )
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "pytest-sipfront: error: timeout: 'soon' is not a duration (use 90s, 15m, 1h30m)"
    ]


def test_a_multi_line_manifest_input_and_pytest_args_stay_allowed(workspace: Path) -> None:
    (workspace / "second.sipfront.yml").write_text(
        "tests:\n  - {name: other, test: basic-call}\n", encoding="utf-8"
    )
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml\nsecond.sipfront.yml",
            "sandbox": "true",
            "keyword": "call or other",
            "pytest_args": FAST + "\n-p no:randomly",
        },
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["total"] == "2"


def test_the_action_works_in_the_workspace_when_started_elsewhere(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    run = run_action(
        workspace,
        {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST},
        env={"PWD": str(elsewhere)},
        cwd=elsewhere,
    )
    assert run.code == 1, run.stdout + run.stderr  # audio fails
    assert (workspace / "sipfront-junit.xml").exists()
    assert not (elsewhere / "sipfront-junit.xml").exists()
    junit = (workspace / "sipfront-junit.xml").read_text(encoding="utf-8")
    assert "../" not in junit and 'file="sipfront.yml"' in junit
    assert "../" not in run.stdout


def test_a_workspace_that_does_not_exist_is_the_actions_one_line_error(
    workspace: Path, private_sandbox: SandboxServer
) -> None:
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "api_url": private_sandbox.base_url,
            "public_key": "pk-live-Zq81Xv0",
            "secret_key": "sk-live-9yTTr%Q2:x",
        },
        env={"GITHUB_WORKSPACE": str(workspace / "nowhere")},
    )
    assert run.code == 2
    assert len(run.lines) == 1, run.stdout
    assert run.lines[0].startswith("::error title=pytest-sipfront::GITHUB_WORKSPACE: ")
    assert "rootdir" not in run.stdout + run.stderr
    assert private_sandbox.requests == []


def test_new_failures_counts_runs_that_failed_after_a_passing_earlier_run(
    workspace: Path,
) -> None:
    catalog = CATALOG.replace(
        '    result_description: "no audio from B to A"\n',
        '    result_description: "no audio from B to A"\n'
        "    previous: {outcome: passed, duration: 0.1s}\n",
    )
    assert catalog != CATALOG
    (workspace / "catalog.yml").write_text(catalog, encoding="utf-8")
    run = run_action(
        workspace, {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST}
    )
    assert run.code == 1
    assert (run.outputs["failed"], run.outputs["new_failures"]) == ("1", "1")
    assert any("title=Sipfront%3A audio (NEW failure)" in line for line in run.lines)


def test_without_history_there_are_no_new_failures(workspace: Path) -> None:
    run = run_action(
        workspace, {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST}
    )
    assert (run.outputs["failed"], run.outputs["new_failures"]) == ("1", "0")


@pytest.mark.parametrize("where", ["ini", "PYTEST_ADDOPTS"])
def test_the_actions_sandbox_false_wins_over_addopts_sandbox_in_the_ini_and_pytest_addopts(
    workspace: Path, private_sandbox: SandboxServer, where: str
) -> None:
    env: dict[str, str] = {}
    if where == "ini":
        (workspace / "pytest.ini").write_text(
            "[pytest]\naddopts = --sipfront-sandbox-catalog catalog.yml\n", encoding="utf-8"
        )
    else:
        env["PYTEST_ADDOPTS"] = "--sipfront-sandbox --sipfront-url=http://127.0.0.1:9/api/v2"
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "sandbox": "false",
            "api_url": private_sandbox.base_url,
            "public_key": "pk-live-Zq81Xv0",
            "secret_key": "sk-live-9yTTr%Q2:x",
            "markers": "smoke",
            "pytest_args": "--sipfront-poll-interval 0.2s",
        },
        env=env,
    )
    assert run.code == 0, run.stdout + run.stderr
    assert private_sandbox.count("tests.run") == 1  # sent to the API URL, not a sandbox of its own
    warnings = [line for line in run.lines if "sandbox: false wins" in line]
    assert len(warnings) == 1 and warnings[0].startswith("::warning title=pytest-sipfront::")


@pytest.mark.parametrize("name", ["markers", "manifest", "secret_key", "pytest_args"])
def test_a_non_utf8_action_input_is_one_input_error_without_a_traceback(
    workspace: Path, private_sandbox: SandboxServer, name: str
) -> None:
    given = {
        "manifest": "sipfront.yml",
        "api_url": private_sandbox.base_url,
        "public_key": "pk-live-Zq81Xv0",
        "secret_key": "sk-live-9yTTr%Q2:x",
    }
    given[name] = given.get(name, "smoke") + os.fsdecode(b"\xff\xfe")
    run = run_action(workspace, given)
    assert run.code == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    errors = [line for line in run.lines if line.startswith("::error")]
    assert len(errors) == 1 and f"{name}: is not UTF-8 text" in errors[0], run.lines
    assert private_sandbox.requests == []


def test_a_single_run_project_id_above_the_largest_sipfront_id_is_an_input_error(
    workspace: Path,
    private_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    given = {
        "api_url": private_sandbox.base_url,
        "public_key": "pk-live-Zq81Xv0",
        "secret_key": "sk-live-9yTTr%Q2:x",
        "project_id": str(2**63),
    }
    code, out, _ = main_in_process(workspace, monkeypatch, capsys, given)
    lines = [line for line in out.splitlines() if not line.startswith("::add-mask::")]
    assert code == 2
    assert len(lines) == 1 and "project_id: '9223372036854775808' is not a Sipfront id" in lines[0]
    assert private_sandbox.requests == []


def test_missing_keys_still_give_a_summary_that_says_what_is_wrong_and_what_to_do(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = workspace / "step_summary.md"
    inputs = {"manifest": "sipfront.yml", "public_key": "", "secret_key": ""}
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_EVENT_NAME": "push"}
    code, _, _ = main_in_process(workspace, monkeypatch, capsys, inputs, env=env)
    text = summary.read_text(encoding="utf-8")
    assert code == 2
    assert text.startswith("## ⛔ The Sipfront gate could not start\n\n")
    assert "public\\_key and secret\\_key: missing" in text
    assert "`public_key: ${{ secrets.SIPFRONT_PUBLIC_KEY }}`" in text
    assert "fork" not in text


def test_a_pull_request_from_a_fork_is_told_in_the_summary_why_it_has_no_keys(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = workspace / "step_summary.md"
    event = workspace / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"repo": {"full_name": "someone/voip"}},
                    "base": {"repo": {"full_name": "acme/voip"}},
                }
            }
        ),
        encoding="utf-8",
    )
    env = {
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
    }
    inputs = {"manifest": "sipfront.yml", "public_key": "", "secret_key": ""}
    code, _, _ = main_in_process(workspace, monkeypatch, capsys, inputs, env=env)
    text = summary.read_text(encoding="utf-8")
    assert code == 2
    assert "This is a pull request from a fork: GitHub gives such workflows no secrets" in text
    assert "`pull_request_target`" in text


def test_a_broken_manifest_gives_a_summary_naming_the_line_and_what_to_do(
    workspace: Path,
) -> None:
    (workspace / "sipfront.yml").write_text(
        "tests:\n  - name: call\n    test: basic-call\n    timeout: 10x\n", encoding="utf-8"
    )
    env = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/voip",
        "GITHUB_SHA": "0123abc",
    }
    run = run_action(
        workspace, {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST}, env=env
    )
    assert run.code != 0
    assert run.summary.startswith("## ⛔ The Sipfront gate could not start: a manifest is broken")
    assert "[sipfront.yml:4:14](https://github.com/acme/voip/blob/0123abc/sipfront.yml#L4)" in (
        run.summary
    )


def test_an_option_pytest_refuses_still_gives_a_summary_that_says_so(workspace: Path) -> None:
    run = run_action(
        workspace,
        {
            "manifest": "sipfront.yml",
            "sandbox": "true",
            "pytest_args": "--sipfront-concurrency=many",
        },
    )
    assert run.code == 4
    assert run.summary.startswith("## ⛔ The Sipfront gate could not start\n\npytest refused")
    assert "`pytest_args`" in run.summary
