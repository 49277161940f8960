"""The CI examples (GitHub, GitLab, Jenkins) are valid for their systems and use the action and
the image as they really are."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_sipfront.ci.inputs import INPUT_DEFAULTS, env_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
WORKFLOWS = ("github-workflow.yml", "github-workflow-single.yml")
OFFICIAL_INPUTS = {
    "public_key", "secret_key", "mode", "name", "destination", "project_id", "project_name",
    "test_ids", "report_mode", "poll_interval", "timeout",
}  # fmt: skip
INPUT_VARIABLES = {env_name(name) for name in INPUT_DEFAULTS}
ENTRYPOINT = "python -m pytest_sipfront.action"


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or shutil.which(
        "check-jsonschema", path=os.path.dirname(sys.executable)
    )
    if found is None:
        pytest.skip("check-jsonschema is not installed")
    return found


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        ("vendor.github-workflows", [f"examples/{name}" for name in WORKFLOWS]),
        ("vendor.gitlab-ci", ["examples/gitlab-ci.yml"]),
    ],
)
def test_the_files_validate_against_their_ci_systems_schema(schema: str, files: list[str]) -> None:
    done = subprocess.run(
        [check_jsonschema(), "--builtin-schema", schema, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return loaded


def gate_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for job in workflow["jobs"].values()
        for s in job.get("steps", [])
        if "pytest-sipfront" in str(s.get("uses", ""))
    ]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_workflows_pass_only_inputs_the_action_declares(name: str) -> None:
    steps = gate_steps(load(name))
    assert len(steps) == 1
    given = set(steps[0]["with"])
    assert given <= set(INPUT_DEFAULTS)
    assert steps[0]["with"]["secret_key"] == "${{ secrets.SIPFRONT_SECRET_KEY }}"
    assert steps[0]["with"]["public_key"] == "${{ secrets.SIPFRONT_PUBLIC_KEY }}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_workflows_keep_the_junit_file_even_when_the_gate_fails(name: str) -> None:
    workflow = load(name)
    (gate,) = gate_steps(workflow)
    junit = gate["with"].get("junit_report", INPUT_DEFAULTS["junit_report"])
    uploads = [
        s
        for job in workflow["jobs"].values()
        for s in job.get("steps", [])
        if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 1
    assert uploads[0]["if"] == "${{ !cancelled() }}"
    assert uploads[0]["with"]["path"] == junit


def test_the_single_run_workflow_needs_nothing_sipfronts_own_action_lacks() -> None:
    (gate,) = gate_steps(load("github-workflow-single.yml"))
    assert set(gate["with"]) <= OFFICIAL_INPUTS
    assert "manifest" not in gate["with"]


def test_the_gitlab_job_runs_the_gate_in_the_image_and_files_its_junit_report() -> None:
    job = load("gitlab-ci.yml")["sipfront"]
    assert job["image"]["entrypoint"] == [""]
    assert job["script"] == [ENTRYPOINT]
    inputs = {k: v for k, v in job["variables"].items() if k.startswith("INPUT_")}
    assert set(inputs) <= INPUT_VARIABLES
    assert "INPUT_PUBLIC_KEY" not in inputs and "INPUT_SECRET_KEY" not in inputs
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == inputs["INPUT_JUNIT_REPORT"]


def jenkins_block(text: str, name: str) -> str:
    """The body of ``name { ... }`` or ``name(...) { ... }`` (braces balanced)."""
    start = re.search(rf"\b{name}\s*(?:\((?:[^()]|\([^()]*\))*\))?\s*\{{", text)
    assert start, f"no {name} block"
    depth, index = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return text[start.end() : index - 1]


def test_the_jenkinsfile_binds_both_keys_and_records_junit_always() -> None:
    text = (EXAMPLES / "Jenkinsfile").read_text(encoding="utf-8")
    assert text.count("{") == text.count("}")
    code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    bound = set(re.findall(r"string\(credentialsId: '[^']+', variable: '(\w+)'\)", code))
    assert bound == {"SIPFRONT_PUBLIC_KEY", "SIPFRONT_SECRET_KEY"}
    assert f"sh '{ENTRYPOINT}'" in jenkins_block(code, "withCredentials")
    assert "junit testResults: 'sipfront-junit.xml'" in jenkins_block(
        jenkins_block(code, "post"), "always"
    )
    assert "args '--entrypoint='" in code
    variables = set(re.findall(r"\b(INPUT_\w+)\s*=", code))
    assert variables and variables <= INPUT_VARIABLES


def test_gitlab_and_jenkins_run_what_the_image_would() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["python", "-m", "pytest_sipfront.action"]' in dockerfile
