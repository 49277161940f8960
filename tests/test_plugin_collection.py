"""Which files become manifests, what items they give, and how selection picks them.

Collection alone must never talk to Sipfront: every test checks the sandbox saw nothing, or
only the triggers of the items that were selected.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import xmlschema

from pytest_sipfront.sandbox import SandboxServer

ONE_ENTRY = "tests:\n  - {name: only, test: t-only}\n"

SCHEMA = Path(__file__).parent / "schemas" / "sipfront-junit-profile.xsd"


def collected_ids(result: pytest.RunResult) -> list[str]:
    """Node ids from ``--collect-only -q``."""
    return sorted(line for line in result.outlines if "::" in line and " " not in line)


def write(pytester: pytest.Pytester, relative: str, text: str) -> None:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def triggered_names(server: SandboxServer) -> list[str]:
    return [str(body.get("test.name", body.get("test.id"))) for body in server.triggers()]


def test_manifests_are_collected_by_their_file_name_and_other_yaml_is_not(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox()
    for path, name in [
        ("x.sipfront.yml", "from-x"),
        ("y.sipfront.yaml", "from-y"),
        ("sipfront.yaml", "from-yaml"),
        ("other.yml", "from-other"),
        ("sipfront-notes.yml", "from-notes"),
        ("sipfront.yml.bak", "from-backup"),
        ("ci/prod.sipfront.yml", "from-ci"),
    ]:
        write(pytester, path, f"tests:\n  - {{name: {name}, test: t}}\n")
    result = run_gate(ONE_ENTRY, "--collect-only", "-q", server=server)
    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == [
        "ci/prod.sipfront.yml::from-ci",
        "sipfront.yaml::from-yaml",
        "sipfront.yml::only",
        "x.sipfront.yml::from-x",
        "y.sipfront.yaml::from-y",
    ]
    assert server.requests == []


def test_a_yaml_file_named_on_the_command_line_is_collected_whatever_its_name(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    write(pytester, "gate.yml", "tests:\n  - {name: named, test: t-named}\n")
    result = run_gate(None, "gate.yml", server=server)
    result.assert_outcomes(passed=1)
    assert triggered_names(server) == ["t-named"]


def test_ini_sipfront_files_replaces_the_file_name_patterns(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox()
    pytester.makeini("[pytest]\nsipfront_files = *.gate.yml\n")
    write(pytester, "deploy.gate.yml", "tests:\n  - {name: gated, test: t}\n")
    result = run_gate(ONE_ENTRY, "--collect-only", "-q", server=server)
    assert collected_ids(result) == ["deploy.gate.yml::gated"]
    assert server.requests == []


MATRIX = """
    version: 1
    tests:
      - name: basic-call
        test: basic-call-a-b
      - name: dtmf
        test_id: 124
        matrix:
          step.1.0.dial_destination: ["431231234", "439994567"]
          step.1.0.credential_pool: [4567, 4568]
      - name: nightly
        project: my-project
        test_ids: [11, 12]
"""


def test_item_ids_are_the_manifest_path_and_name_and_matrix_ids_read_like_parametrize(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox()
    result = run_gate(MATRIX, "--collect-only", "-q", server=server)
    assert collected_ids(result) == sorted(
        [
            "sipfront.yml::basic-call",
            "sipfront.yml::dtmf[431231234-4567]",
            "sipfront.yml::dtmf[431231234-4568]",
            "sipfront.yml::dtmf[439994567-4567]",
            "sipfront.yml::dtmf[439994567-4568]",
            "sipfront.yml::nightly",
        ]
    )
    assert server.requests == []


def test_a_matrix_sends_one_run_per_combination_with_its_values(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"tests": [{"name": "dtmf-check", "id": 124, "duration": 0.2}]})
    result = run_gate(MATRIX, "-k", "dtmf", server=server)
    result.assert_outcomes(passed=4, deselected=2)
    sent = sorted(
        (b["step.1.0.dial_destination"], str(b["step.1.0.credential_pool"]))
        for b in server.triggers()
    )
    assert sent == [
        ("431231234", "4567"),
        ("431231234", "4568"),
        ("439994567", "4567"),
        ("439994567", "4568"),
    ]
    assert all(str(b["test.id"]) == "124" for b in server.triggers())


MARKED = """
    defaults:
      marks: [voip]
    tests:
      - {name: smoke-call, test: t-smoke, marks: [smoke]}
      - {name: media-call, test: t-media, marks: [media]}
      - {name: plain-call, test: t-plain}
"""


def test_k_selects_entries_by_name_and_only_those_are_triggered(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(MARKED, "-k", "media or plain", server=server)
    result.assert_outcomes(passed=2, deselected=1)
    assert sorted(triggered_names(server)) == ["t-media", "t-plain"]


def test_m_selects_by_manifest_marks_combined_with_the_defaults_marks(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(MARKED, "-m", "voip and not smoke", server=server)
    result.assert_outcomes(passed=2, deselected=1)
    assert sorted(triggered_names(server)) == ["t-media", "t-plain"]


def test_strict_markers_accepts_the_marks_used_in_manifests(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    result = run_gate(MARKED, "--strict-markers", "-m", "smoke", server=server)
    result.assert_outcomes(passed=1, deselected=2)
    assert triggered_names(server) == ["t-smoke"]


BROKEN = """
    tests:
      - name: good
        test: t-good
      - name: bad
        test: t-bad
        timeout: 10x
"""


def test_a_broken_manifest_fails_collection_with_file_line_and_column_and_triggers_nothing(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox()
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run_gate(BROKEN, server=server)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    errors = [line for line in result.outlines if re.match(r"sipfront\.yml:\d+:\d+: ", line)]
    assert errors == [
        "sipfront.yml:7:14: tests[1].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)"
    ]
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text
    assert "site-packages" not in text
    assert server.requests == []


def test_on_github_a_broken_manifest_is_annotated_at_its_line_and_column(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(pytester.path)}
    result = run_gate(BROKEN, server=server, env=env)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    annotations = [line for line in result.outlines if line.startswith("::error ")]
    assert annotations == [
        "::error file=sipfront.yml,line=7,col=14,title=Sipfront manifest::"
        "tests[1].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)"
    ]


def test_a_broken_manifest_is_an_error_in_the_sipfront_junit_file(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox()
    result = run_gate(BROKEN, "--sipfront-junit", "sf.xml", server=server)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    xml = pytester.path / "sf.xml"
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(xml))
    (case,) = ET.parse(xml).iter("testcase")
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "sipfront.manifest"
    assert error.get("message") == (
        "sipfront.yml:7:14: tests[1].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)"
    )
    assert (case.get("file"), case.get("line")) == ("sipfront.yml", "7")


def test_a_broken_manifest_keeps_the_other_manifests_of_the_session_from_being_triggered(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    write(pytester, "fine.sipfront.yml", "tests:\n  - {name: fine, test: t-fine}\n")
    result = run_gate(BROKEN, server=server)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert server.requests == []


def test_continue_on_collection_errors_still_runs_the_valid_manifests(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    pytester: pytest.Pytester,
) -> None:
    server = sipfront_sandbox({"default_duration": 0.2})
    write(pytester, "fine.sipfront.yml", "tests:\n  - {name: fine, test: t-fine}\n")
    result = run_gate(BROKEN, "--continue-on-collection-errors", server=server)
    result.assert_outcomes(passed=1, errors=1)
    assert triggered_names(server) == ["t-fine"]


@pytest.mark.parametrize("mark", ["skip", "xfail", "parametrize", "timeout", "flaky"])
def test_pytest_s_own_mark_names_are_refused_as_manifest_marks(
    sipfront_sandbox: Callable[..., SandboxServer],
    run_gate: Callable[..., pytest.RunResult],
    mark: str,
) -> None:
    server = sipfront_sandbox()
    result = run_gate(f"tests:\n  - {{name: one, test: t, marks: [{mark}]}}\n", server=server)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert any(
        re.match(r"sipfront\.yml:2:\d+: .*" + re.escape(mark), line) for line in result.outlines
    ), result.stdout.str()
    assert server.requests == []


def test_duplicate_entry_names_fail_collection(
    sipfront_sandbox: Callable[..., SandboxServer], run_gate: Callable[..., pytest.RunResult]
) -> None:
    server = sipfront_sandbox()
    result = run_gate(
        """
        tests:
          - {name: twice, test: a}
          - {name: twice, test: b}
        """,
        server=server,
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert (
        "sipfront.yml:4:12: tests[1].name: 'twice' is already the name of tests[0] (line 3); "
        "names must be unique in a file"
    ) in result.outlines
    assert server.requests == []
