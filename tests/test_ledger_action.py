"""The action and the run ledger: ``ledger`` (auto, off, a path), ``reuse``, ``detach`` and the
outputs ``reattached``, ``reused``, ``triggered``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from test_action import CATALOG, MANIFEST, run_action

from pytest_sipfront.ci.inputs import InputError, parse_inputs

FAST = "--sipfront-sandbox-catalog catalog.yml --sipfront-poll-interval 0.2s"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "catalog.yml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "sipfront.yml").write_text(MANIFEST, encoding="utf-8")
    return tmp_path


def test_ledger_auto_uses_the_file_action_yml_restores_and_off_or_none_turns_it_off(
    workspace: Path,
) -> None:
    here = str(workspace)
    environ = {"INPUT_MANIFEST": "sipfront.yml", "INPUT_SANDBOX": "true"}
    restored = {**environ, "SIPFRONT_ACTION_LEDGER": "/tmp/r/ledger.json"}
    assert parse_inputs({**restored, "INPUT_LEDGER": "auto"}, cwd=here).ledger == (
        "/tmp/r/ledger.json"
    )
    assert parse_inputs(restored, cwd=here).ledger == "/tmp/r/ledger.json"  # auto by default
    assert parse_inputs({**restored, "INPUT_LEDGER": "off"}, cwd=here).ledger is None
    assert parse_inputs(environ, cwd=here).ledger is None  # the Docker image: no cache
    mine = parse_inputs({**restored, "INPUT_LEDGER": "ci/ledger.json"}, cwd=here)
    assert mine.ledger == "ci/ledger.json"


def test_reuse_and_detach_are_checked_before_anything_runs(workspace: Path) -> None:
    here = str(workspace)
    environ = {"INPUT_MANIFEST": "sipfront.yml", "INPUT_SANDBOX": "true"}
    with pytest.raises(InputError, match="reuse: 'always' is not none or passed"):
        parse_inputs(
            {**environ, "INPUT_REUSE": "always", "INPUT_LEDGER": "l.json"}, cwd=str(workspace)
        )
    with pytest.raises(InputError, match="detach: needs a ledger"):
        parse_inputs({**environ, "INPUT_DETACH": "true", "INPUT_LEDGER": "off"}, cwd=here)


def test_a_re_run_with_reuse_passed_pays_only_for_what_failed_and_says_so_in_its_outputs(
    workspace: Path,
) -> None:
    inputs = {
        "manifest": "sipfront.yml",
        "sandbox": "true",
        "pytest_args": FAST,
        "ledger": "ledger.json",
        "reuse": "passed",
    }
    env = {"GITHUB_SHA": "c0ffee1"}
    first = run_action(workspace, inputs, env=env)
    assert first.code == 1, first.stdout + first.stderr
    assert (first.outputs["triggered"], first.outputs["reused"]) == ("2", "0")
    assert first.outputs["reattached"] == "0"

    for written in ("github_output.txt", "step_summary.md"):  # a new step writes new files
        (workspace / written).unlink()
    second = run_action(workspace, inputs, env={**env, "GITHUB_RUN_ATTEMPT": "2"})

    assert second.code == 1
    assert (second.outputs["triggered"], second.outputs["reused"]) == ("1", "1")
    assert "✅ passed, reused" in second.summary
    assert "reused: triggered " in second.stdout


def test_detach_ends_with_exit_0_and_every_run_still_going(workspace: Path) -> None:
    (workspace / "catalog.yml").write_text("default_duration: 30s\n", encoding="utf-8")
    inputs = {
        "manifest": "sipfront.yml",
        "sandbox": "true",
        "pytest_args": FAST,
        "ledger": "ledger.json",
        "detach": "true",
    }
    run = run_action(workspace, inputs, env={"GITHUB_SHA": "c0ffee1"})
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["triggered"] == "2"
    assert run.summary.count("⏭️ skipped, detached") == 2


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_gitlab_example_keeps_the_ledger_across_retries_of_one_pipeline() -> None:
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))["sipfront"]
    ledger = job["variables"]["INPUT_LEDGER"]
    assert job["cache"]["key"] == "sipfront-ledger-$CI_PIPELINE_ID-$CI_JOB_NAME"
    assert job["cache"]["when"] == "always", "a failed or cancelled job's ledger matters most"
    assert any(ledger.startswith(path) for path in job["cache"]["paths"])


def test_the_jenkins_example_stashes_the_ledger_for_a_restarted_stage() -> None:
    text = (EXAMPLES / "Jenkinsfile").read_text(encoding="utf-8")
    ledger = re.search(r"INPUT_LEDGER = '([^']+)'", text)
    assert ledger is not None
    assert "preserveStashes(" in text
    assert "unstash 'sipfront-ledger'" in text
    assert f"stash name: 'sipfront-ledger', includes: '{ledger.group(1)}'" in text
