"""Media thresholds in the manifest: read into each run, checked by the loader and by
``sipfront validate`` with file:line:column, described by the JSON schema."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import jsonschema
import pytest

from pytest_sipfront.cli import main
from pytest_sipfront.manifest.loader import load_manifest_text
from pytest_sipfront.manifest.model import ManifestError
from pytest_sipfront.manifest.schema import manifest_schema
from pytest_sipfront.media.thresholds import Threshold

GOOD = """\
defaults:
  thresholds:
    rtp_jitter: "p95 < 30"
    rtp_byte_per_sec: "min > 0"
tests:
  - name: call
    test: call
    thresholds:
      rtp_jitter: "p95 < 20"
      "rtp_jitter{role=callee,dir=in}": "max <= 50"
      rtp_jitter@baseline: "p95 < +50%"
"""


def problem(text: str) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(textwrap.dedent(text), "sipfront.yml", environ={})
    return str(caught.value)


def test_entry_thresholds_win_over_defaults_on_the_same_key_and_add_the_rest() -> None:
    spec = load_manifest_text(GOOD, "sipfront.yml", environ={}).specs[0]
    assert spec.thresholds == (
        Threshold("rtp_jitter", "p95", "<", 20.0, key="rtp_jitter", expression="p95 < 20"),
        Threshold(
            "rtp_byte_per_sec", "min", ">", 0.0, key="rtp_byte_per_sec", expression="min > 0"
        ),
        Threshold(
            "rtp_jitter",
            "max",
            "<=",
            50.0,
            role="callee",
            dir="in",
            key="rtp_jitter{role=callee,dir=in}",
            expression="max <= 50",
        ),
        Threshold(
            "rtp_jitter",
            "p95",
            "<",
            50.0,
            baseline=True,
            key="rtp_jitter@baseline",
            expression="p95 < +50%",
        ),
    )


@pytest.mark.parametrize(
    ("line", "column", "says"),
    [
        ('rtp_jitter: "p95 ~ 30"', 19, "'p95 ~ 30' is not a threshold; write an aggregate"),
        ('rtp_jitter: "p101 < 30"', 19, "'p101' is not an aggregate"),
        ('rtp_jitter: "p95 < 30%"', 19, "a percentage is a change from a baseline"),
        ('rtp_jitter@baseline: "p95 < 30"', 28, "a @baseline threshold is a change in percent"),
        ('"rtp_jitter{side=a}": "p95 < 30"', 7, "selects nothing known"),
        ('"9jitter": "p95 < 30"', 7, "is not a threshold key"),
        ("rtp_jitter: 30", 19, 'must be a threshold as text, e.g. "p95 < 30", not the number'),
    ],
)
def test_a_malformed_threshold_is_an_error_at_its_line(line: str, column: int, says: str) -> None:
    message = problem(f"tests:\n  - name: a\n    test: a\n    thresholds:\n      {line}\n")
    assert message.startswith(f"sipfront.yml:5:{column}: ")
    assert says in message


def test_thresholds_that_are_not_a_mapping_are_an_error() -> None:
    message = problem("tests:\n  - name: a\n    test: a\n    thresholds: [p95 < 30]\n")
    assert message.startswith("sipfront.yml:4:")
    assert "must be a mapping of media thresholds" in message


def test_the_schema_describes_thresholds_in_entries_and_defaults() -> None:
    import yaml

    schema = manifest_schema()
    jsonschema.validate(yaml.safe_load(GOOD), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"tests": [{"name": "a", "test": "a", "thresholds": {"rtp_jitter": 3}}]}, schema
        )


def test_validate_names_a_broken_threshold_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text('tests:\n  - name: a\n    test: a\n    thresholds:\n      mos: "avg > 3"\n')
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(path)], out=out, err=err) == 1
    assert err.getvalue().startswith(f"{path}:5:12: ")
    assert "'avg' is not an aggregate" in err.getvalue()


def test_thresholds_are_for_test_entries_and_defaults_skip_project_entries() -> None:
    message = problem(
        'tests:\n  - name: p\n    project: n\n    thresholds:\n      mos: "min > 3"\n'
    )
    assert message == (
        "sipfront.yml:4:5: tests[0].thresholds: thresholds is for test entries only "
        "(test or test_id), and this entry runs a project"
    )
    text = 'defaults:\n  thresholds:\n    mos: "min > 3"\ntests:\n  - name: p\n    project: n\n'
    assert load_manifest_text(text, "sipfront.yml", environ={}).specs[0].thresholds == ()
