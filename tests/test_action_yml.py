"""action.yml: inputs reach the entrypoint only through ``env:``, outputs map to what it writes,
and its two steps work as a runner would run them."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import pytest_sipfront
from pytest_sipfront.ci.action import OUTPUT_NAMES
from pytest_sipfront.ci.inputs import INPUT_DEFAULTS, env_name

ROOT = Path(__file__).resolve().parent.parent
ACTION_YML = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

# What Sipfront's own action (sipfront/action-call-test) takes and gives: the migration promise.
OFFICIAL_INPUTS = {
    "public_key", "secret_key", "mode", "name", "destination", "project_id", "project_name",
    "test_ids", "report_mode", "poll_interval", "timeout",
}  # fmt: skip
OFFICIAL_OUTPUTS = {
    "status", "report_url", "session_id", "result_description", "test_id", "test_name",
    "project_id", "project_name", "testcase_name", "agentpool_name", "started_at", "stopped_at",
    "tags", "project_run_id", "project_run_uuid", "total_tests", "tests_started",
}  # fmt: skip


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    return loaded


def steps(action: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(action["runs"]["steps"])


def step(action: Mapping[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in steps(action) if s.get("id") == step_id)


def test_it_is_a_composite_action_whose_gate_step_runs_the_entrypoint(
    action: dict[str, Any],
) -> None:
    assert action["runs"]["using"] == "composite"
    ids = [s["id"] for s in steps(action)]
    assert ids == ["install", "ledger-restore", "gate", "ledger-save"]
    runs = [s for s in steps(action) if "run" in s]
    assert all(s["shell"] == "bash" for s in runs), "bash exists on all three runners"
    gate = step(action, "gate")["run"].strip()
    assert gate == 'exec "$SIPFRONT_PYTHON" -m pytest_sipfront.action', "exec: a cancel reaches it"


def test_every_input_used_in_action_yml_is_declared(action: dict[str, Any]) -> None:
    text = ACTION_YML.read_text(encoding="utf-8")
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used, "the inputs are passed on somewhere"
    assert used <= set(action["inputs"])


def test_no_run_script_contains_an_expression(action: dict[str, Any]) -> None:
    for each in steps(action):
        assert "${{" not in each.get("run", ""), (
            f"step {each['id']}: use env:, not ${{{{ }}}} in run"
        )


def test_every_input_reaches_the_entrypoint_as_the_variable_github_would_set(
    action: dict[str, Any],
) -> None:
    env = step(action, "gate")["env"]
    passed = {k: v for k, v in env.items() if k.startswith("INPUT_")}
    assert passed == {env_name(name): f"${{{{ inputs.{name} }}}}" for name in action["inputs"]}
    assert set(action["inputs"]) == set(INPUT_DEFAULTS), "action.yml and the entrypoint agree"


def test_action_yml_declares_the_defaults_the_entrypoint_uses(action: dict[str, Any]) -> None:
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert spec.get("required", False) is False, (
            f"input {name}: the entrypoint says what is missing"
        )
        assert spec.get("default") == INPUT_DEFAULTS[name], name
    assert action["inputs"]["junit_report"]["default"] == "sipfront-junit.xml"
    assert action["inputs"]["allow_empty"]["default"] == "false"
    assert "default" not in action["inputs"]["report_mode"], "kiosk links are public: opt in"


def test_every_output_maps_to_something_the_entrypoint_writes(action: dict[str, Any]) -> None:
    outputs = action["outputs"]
    assert set(outputs) == set(OUTPUT_NAMES)
    for name, spec in outputs.items():
        assert spec["value"] == f"${{{{ steps.gate.outputs.{name} }}}}"
        assert spec.get("description"), f"output {name} has no description"


def test_sipfront_actions_inputs_and_outputs_keep_their_names(action: dict[str, Any]) -> None:
    assert set(action["inputs"]) >= OFFICIAL_INPUTS
    assert set(action["outputs"]) >= OFFICIAL_OUTPUTS


# --- the steps, run as a runner would ------------------------------------------------------------


def _resolve(value: str, context: Mapping[str, str]) -> str:
    """Expand ``${{ a }}`` and ``${{ a || b }}`` (the first non-empty one) from the context."""

    def expand(match: re.Match[str]) -> str:
        names = [name.strip() for name in match.group(1).split("||")]
        return next((context[n] for n in names if context.get(n)), context[names[-1]])

    return EXPRESSION.sub(expand, value)


def _stub(path: Path, body: str) -> None:
    path.write_text(f"#!{shutil.which('bash')}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _install(
    action: dict[str, Any], tmp_path: Path, python_ok: bool, layout: str, ref: str = ""
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """Run the install step with a stub ``python3`` that makes a venv of the given layout.

    The stub hands scripts read from stdin (the venv key) to the real Python; the action's
    checkout is this repository, so the key comes from its real pins and version."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    log = tmp_path / "log.txt"
    log.unlink(missing_ok=True)
    mkdir, chmod = shutil.which("mkdir"), shutil.which("chmod")
    folder, exe = ("$3/Scripts", "python.exe") if layout == "windows" else ("$3/bin", "python")
    _stub(
        stubs / "python3",
        f"""echo "python3 $*" >> "{log}"
if [ "$1" = "-c" ]; then exit {0 if python_ok else 1}; fi
if [ "$1" = "-" ]; then exec "{sys.executable}" "$@"; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  {mkdir} -p "{folder}"
  printf '#!{bash}\\necho "venv-python $*" >> "{log}"\\n' > "{folder}/{exe}"
  {chmod} +x "{folder}/{exe}"
fi
""",
    )
    shutil.copy(stubs / "python3", stubs / "python")
    output = tmp_path / "github_output.txt"
    output.unlink(missing_ok=True)
    install = step(action, "install")
    context = {
        "github.action_path": str(ROOT),
        "github.action_ref": ref,
        "runner.tool_cache": str(tmp_path / "tool-cache"),
        "runner.temp": str(tmp_path / "temp"),
    }
    env = {name: _resolve(str(value), context) for name, value in install["env"].items()}
    env.update(PATH=f"{stubs}{os.pathsep}{os.environ['PATH']}", GITHUB_OUTPUT=str(output))
    done = subprocess.run(
        [bash, "-c", install["run"]], env=env, capture_output=True, text=True, timeout=30
    )
    written = output.read_text(encoding="utf-8") if output.exists() else ""
    logged = log.read_text(encoding="utf-8") if log.exists() else ""
    return done, written, logged


def _pip_lines(logged: str) -> list[str]:
    return [line for line in logged.splitlines() if line.startswith("venv-python")]


@pytest.mark.parametrize(
    ("layout", "python"), [("posix", "bin/python"), ("windows", "Scripts/python.exe")]
)
def test_the_install_step_installs_the_hash_pinned_set_then_the_checkout_without_deps(
    action: dict[str, Any], tmp_path: Path, layout: str, python: str
) -> None:
    done, written, logged = _install(action, tmp_path, python_ok=True, layout=layout, ref="v1")
    assert done.returncode == 0, done.stderr
    venvs = list((tmp_path / "tool-cache" / "pytest-sipfront").iterdir())
    assert len(venvs) == 1 and venvs[0].name.startswith(f"{pytest_sipfront.__version__}-v1-py")
    assert written == f"python={venvs[0]}/{python}\n"
    pins = ROOT / "requirements" / "action.txt"
    assert _pip_lines(logged) == [
        "venv-python -m pip install --quiet --disable-pip-version-check"
        f" --require-hashes -r {ROOT}/requirements/action.txt",
        f"venv-python -m pip install --quiet --disable-pip-version-check --no-deps {ROOT}",
    ]
    assert pins.is_file()


def test_a_second_job_with_the_same_action_version_reuses_the_venv(
    action: dict[str, Any], tmp_path: Path
) -> None:
    first, written, _ = _install(action, tmp_path, python_ok=True, layout="posix", ref="v1")
    assert first.returncode == 0, first.stderr
    again, written_again, logged = _install(
        action, tmp_path, python_ok=True, layout="posix", ref="v1"
    )
    assert again.returncode == 0, again.stderr
    assert _pip_lines(logged) == [] and "venv" not in logged.split("python3 -c", 1)[-1]
    assert written_again == written
    other, _, logged_other = _install(action, tmp_path, python_ok=True, layout="posix", ref="v2")
    assert other.returncode == 0 and len(_pip_lines(logged_other)) == 2


def test_a_local_action_without_a_ref_is_reinstalled_every_time(
    action: dict[str, Any], tmp_path: Path
) -> None:
    for _ in range(2):
        done, _, logged = _install(action, tmp_path, python_ok=True, layout="posix", ref="")
        assert done.returncode == 0, done.stderr
        assert len(_pip_lines(logged)) == 2


def test_the_install_step_says_so_when_the_runner_has_no_usable_python(
    action: dict[str, Any], tmp_path: Path
) -> None:
    done, written, _ = _install(action, tmp_path, python_ok=False, layout="posix")
    assert done.returncode != 0
    assert done.stdout.startswith("::error title=pytest-sipfront::No Python 3.10 or newer")
    assert written == ""


def test_the_gate_step_turns_with_inputs_into_a_run_of_the_entrypoint(
    action: dict[str, Any], tmp_path: Path
) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    (tmp_path / "sipfront.yml").write_text(
        "tests:\n  - name: call\n    test: basic-call\n  - name: other\n    test: other\n",
        encoding="utf-8",
    )
    (tmp_path / "catalog.yml").write_text("default_duration: 0.1s\n", encoding="utf-8")
    given = {
        "manifest": "sipfront.yml",
        "sandbox": "true",
        "keyword": "call",
        "junit_report": "reports/gate.xml",
        "pytest_args": "--sipfront-sandbox-catalog catalog.yml --sipfront-poll-interval 0.2s",
    }
    context = {
        f"inputs.{n}": given.get(n, str(s.get("default", ""))) for n, s in action["inputs"].items()
    }
    context["steps.install.outputs.python"] = sys.executable
    context["runner.temp"] = str(tmp_path / "runner-temp")
    gate = step(action, "gate")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INPUT_", "SIPFRONT_", "GITHUB_", "PYTEST_"))
    }
    env.update({name: _resolve(str(value), context) for name, value in gate["env"].items()})
    output = tmp_path / "github_output.txt"
    env.update(GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(tmp_path), GITHUB_OUTPUT=str(output))
    done = subprocess.run(
        [bash, "-c", gate["run"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "reports" / "gate.xml").is_file()
    written = output.read_text(encoding="utf-8")
    assert "total<<" in written and "junit_report<<" in written
    assert "\n1\n" in written.split("total<<", 1)[1]


def test_the_ledger_is_restored_and_saved_with_the_cache_actions_pinned_by_full_commit(
    action: dict[str, Any],
) -> None:
    restore, save = step(action, "ledger-restore"), step(action, "ledger-save")
    for each in (restore, save):
        name, _, ref = each["uses"].partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name} is pinned by a full commit SHA"
        assert each["with"]["path"] == "${{ runner.temp }}/sipfront-ledger/ledger.json"
    assert restore["uses"].startswith("actions/cache/restore@")
    assert save["uses"].startswith("actions/cache/save@")
    assert restore["if"] == "inputs.ledger == 'auto'"
    assert save["if"] == "always() && inputs.ledger == 'auto'", "a failed or cancelled gate too"
    prefix = "sipfront-ledger-${{ github.run_id }}-${{ inputs.ledger_key }}-"
    assert restore["with"]["restore-keys"] == prefix
    assert save["with"]["key"] == restore["with"]["key"] == prefix + "${{ github.run_attempt }}"
    assert step(action, "gate")["env"]["SIPFRONT_ACTION_LEDGER"] == restore["with"]["path"]


def test_the_legs_of_a_matrix_job_never_share_a_ledger_key(action: dict[str, Any]) -> None:
    default = action["inputs"]["ledger_key"]["default"]
    assert "github.job" in default and "strategy.job-index" in default
    assert action["inputs"]["ledger"]["default"] == "auto"
