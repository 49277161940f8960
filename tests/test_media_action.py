"""The action's ``media`` input and ``media_breaches`` output."""

from __future__ import annotations

from pathlib import Path

from test_action import run_action

CATALOG = """\
tests:
  - name: spiky
    duration: 0.1s
    media: jitter_spike
"""
MANIFEST = """\
tests:
  - name: call
    test: spiky
    thresholds:
      rtp_jitter: "p95 < 30"
"""
FAST = "--sipfront-sandbox-catalog catalog.yml --sipfront-poll-interval 0.2s"


def workspace_with(tmp_path: Path) -> Path:
    (tmp_path / "catalog.yml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "sipfront.yml").write_text(MANIFEST, encoding="utf-8")
    return tmp_path


def test_media_breaches_counts_every_breached_role_and_direction(tmp_path: Path) -> None:
    run = run_action(
        workspace_with(tmp_path),
        {"manifest": "sipfront.yml", "sandbox": "true", "pytest_args": FAST},
    )
    assert run.code == 1
    assert run.outputs["media_breaches"] == "4"  # caller/callee x in/out
    assert run.outputs["failed"] == "1"
    assert "<details><summary>Media metrics: call</summary>" in run.summary


def test_media_off_as_an_input_makes_thresholds_a_usage_error(tmp_path: Path) -> None:
    run = run_action(
        workspace_with(tmp_path),
        {"manifest": "sipfront.yml", "sandbox": "true", "media": "off", "pytest_args": FAST},
    )
    assert run.code != 0
    assert "--sipfront-media off, but sipfront.yml:2 sets media thresholds" in (
        run.stdout + run.stderr
    )


def test_an_unknown_media_input_is_refused_before_anything_runs(tmp_path: Path) -> None:
    run = run_action(
        workspace_with(tmp_path),
        {"manifest": "sipfront.yml", "sandbox": "true", "media": "sometimes"},
    )
    assert run.code == 2
    assert "media: 'sometimes' is not off, failed or all" in run.stdout + run.stderr
