"""The ``sipfront`` command: schema, validate (files, folders, --online, --json), tests and
projects, sim, and what every --help says."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml
from processes import free_port
from sandbox_keys import keys_of

from pytest_sipfront.cli import main
from pytest_sipfront.sandbox import SandboxServer

CATALOG = {
    "unknown_tests": "refuse",
    "tests": [
        {"name": "basic-call-a-b", "id": 123, "description": "Calls B from A"},
        {"name": "dtmf-check", "id": 124, "description": "Sends digits"},
    ],
    "projects": [{"name": "nightly-project", "id": 7}],
}

VALID = """\
version: 1
defaults:
  timeout: 10m
tests:
  - name: basic-call
    test: basic-call-a-b
  - name: dtmf
    test_id: 124
    matrix:
      step.1.0.dial_destination: ["431231234", "439994567"]
  - name: nightly
    project: nightly-project
"""


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def online(
    sipfront_sandbox: Callable[..., SandboxServer], monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    """A sandbox with CATALOG, named by SIPFRONT_API_URL, with its keys in the environment."""
    server = sipfront_sandbox(CATALOG)
    monkeypatch.setenv("SIPFRONT_API_URL", server.base_url)
    public, secret = keys_of(server)
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", public)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", secret)
    return server


def assert_no_keys(server: SandboxServer, *texts: str) -> None:
    for text in texts:
        for key in keys_of(server):
            assert key not in text


# ---- schema ------------------------------------------------------------------------------------


def test_schema_prints_a_json_schema_that_accepts_a_valid_manifest_and_refuses_a_bad_one() -> None:
    code, out, err = run_cli("schema")
    assert code == 0
    assert err == ""
    schema = json.loads(out)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(VALID))) == []
    assert list(validator.iter_errors({"tests": [{"name": "x", "tset": "typo"}]}))
    assert list(validator.iter_errors({"version": 2, "tests": [{"name": "x", "test": "y"}]}))


def test_schema_catalog_prints_the_sandbox_catalogs_json_schema() -> None:
    code, out, err = run_cli("schema", "--catalog")
    assert (code, err) == (0, "")
    schema = json.loads(out)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    example = Path(__file__).resolve().parent.parent / "examples" / "sandbox-catalog.yml"
    assert list(validator.iter_errors(yaml.safe_load(example.read_text(encoding="utf-8")))) == []
    assert list(validator.iter_errors({"tests": [{"name": "x", "outcom": "failed"}]}))
    assert list(validator.iter_errors({"faults": [{"status": 503}]}))


def test_schema_works_as_an_installed_command() -> None:
    command = Path(sys.executable).with_name("sipfront")
    if not command.exists():
        pytest.skip("the sipfront console script is not installed next to this Python")
    done = subprocess.run(
        [str(command), "schema"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["type"] == "object"


# ---- validate ------------------------------------------------------------------------------------


def test_validate_accepts_a_valid_manifest_and_counts_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text(VALID)
    code, out, err = run_cli("validate", str(path))
    assert (code, err) == (0, "")
    assert out == "1 manifest(s) valid, 4 run(s)\n"


def test_validate_reports_every_broken_manifest_with_file_line_and_column(tmp_path: Path) -> None:
    good = tmp_path / "good.sipfront.yml"
    good.write_text(VALID)
    bad = tmp_path / "bad.sipfront.yml"
    bad.write_text("tests:\n  - name: one\n    test: a\n    timeout: 10x\n")
    worse = tmp_path / "worse.sipfront.yml"
    worse.write_text("tests: []\n")
    code, out, err = run_cli("validate", str(good), str(bad), str(worse))
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"{bad}:4:14: tests[0].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)"
    )
    assert lines[1].startswith(f"{worse}:1:")
    assert len(lines) == 2
    assert "Traceback" not in err


def test_validate_without_arguments_finds_the_manifests_below_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "prod.sipfront.yml").write_text(VALID)
    (tmp_path / "sipfront.yml").write_text("tests:\n  - {name: a, test: b}\n")
    (tmp_path / "other.yml").write_text("not: a manifest\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("validate")
    assert (code, err) == (0, "")
    assert out == "2 manifest(s) valid, 5 run(s)\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs")
def test_validate_skips_a_fifo_named_like_a_manifest_with_one_line_instead_of_hanging(
    tmp_path: Path,
) -> None:
    (tmp_path / "sipfront.yml").write_text(VALID)
    os.mkfifo(tmp_path / "stuck.sipfront.yml")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a hang (waiting for a writer) is killed here and fails the test
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"sipfront: {tmp_path / 'stuck.sipfront.yml'} skipped: not a regular file "
        "(a FIFO or a device), so it is not read"
    ]
    assert done.stdout == "1 manifest(s) valid, 4 run(s)\n"


def test_validate_with_no_manifest_to_find_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("validate")
    assert code == 1
    assert "no manifest found" in err


def test_validate_online_flags_tests_and_projects_sipfront_does_not_know(
    online: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text(
        "tests:\n"
        "  - {name: known, test: basic-call-a-b}\n"
        "  - {name: typo, test: basic-cal-a-b}\n"
        "  - {name: by-id, test_id: 124}\n"
        "  - {name: bad-id, test_id: 999}\n"
        "  - {name: project, project: nightly-project}\n"
        "  - {name: no-project, project_id: 8}\n"
    )
    code, out, err = run_cli("validate", "--online", str(path))
    assert code == 1
    flagged = err.splitlines()
    assert len(flagged) == 3
    assert flagged[0].startswith(f"{path}:3:5: ")
    assert "basic-cal-a-b" in flagged[0]
    assert flagged[1].startswith(f"{path}:5:5: ")
    assert "999" in flagged[1]
    assert flagged[2].startswith(f"{path}:7:5: ")
    assert online.count("tests") == 1
    assert online.count("tests.run") == online.count("projects.run") == 0
    assert_no_keys(online, out, err)


def test_validate_online_passes_when_sipfront_knows_every_name(
    online: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text(VALID)
    code, out, err = run_cli("validate", "--online", str(path))
    assert (code, err) == (0, "")
    assert out == "1 manifest(s) valid, 4 run(s)\n"
    assert online.count("tests") == 1


def test_validate_online_without_credentials_says_which_variables_to_set(
    online: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIPFRONT_SECRET_KEY")
    path = tmp_path / "sipfront.yml"
    path.write_text(VALID)
    code, _, err = run_cli("validate", "--online", str(path))
    assert code == 1
    assert "SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY" in err
    assert online.requests == []


def test_validate_online_does_not_ask_sipfront_about_a_broken_manifest(
    online: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text("tests:\n  - {name: a}\n")
    code, _, err = run_cli("validate", "--online", str(path))
    assert code == 1
    assert err.startswith(f"{path}:2:")
    assert online.requests == []


def test_validate_given_a_folder_finds_the_manifests_below_it(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "prod.sipfront.yml").write_text(VALID)
    (tmp_path / "sipfront.yml").write_text("tests:\n  - {name: a, test: b}\n")
    (tmp_path / "other.yml").write_text("not: a manifest\n")
    code, out, err = run_cli("validate", str(tmp_path))
    assert (code, err) == (0, "")
    assert out == "2 manifest(s) valid, 5 run(s)\n"


def test_validate_examples_folder_checks_the_example_manifests() -> None:
    examples = Path(__file__).resolve().parent.parent / "examples"
    code, out, err = run_cli("validate", str(examples))
    assert (code, err) == (0, "")
    assert out.startswith("2 manifest(s) valid")


def test_validate_given_a_folder_without_manifests_says_so(tmp_path: Path) -> None:
    (tmp_path / "other.yml").write_text("not: a manifest\n")
    code, out, err = run_cli("validate", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"sipfront: no manifest found below {tmp_path} "
        "(sipfront.yml, sipfront.yaml, *.sipfront.yml, *.sipfront.yaml)\n"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs")
def test_validate_json_names_a_fifo_found_in_a_folder_as_skipped_without_reading_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "sipfront.yml").write_text(VALID)
    os.mkfifo(tmp_path / "stuck.sipfront.yml")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "validate", "--json", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,  # a read of the FIFO would wait for a writer: killed here, the test fails
    )
    assert (done.returncode, done.stderr) == (0, "")
    report = json.loads(done.stdout)
    assert report["manifests"] == [{"path": str(tmp_path / "sipfront.yml"), "runs": 4}]
    assert report["skipped"] == [
        f"{tmp_path / 'stuck.sipfront.yml'} skipped: not a regular file (a FIFO or a device), "
        "so it is not read"
    ]


def test_validate_json_lists_each_manifest_with_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text(VALID)
    code, out, err = run_cli("validate", "--json", str(path))
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "valid": True,
        "manifests": [{"path": str(path), "runs": 4}],
        "problems": [],
        "skipped": [],
    }


def test_validate_json_lists_every_problem_with_file_line_and_column(tmp_path: Path) -> None:
    good = tmp_path / "good.sipfront.yml"
    good.write_text(VALID)
    bad = tmp_path / "bad.sipfront.yml"
    bad.write_text("tests:\n  - name: one\n    test: a\n    timeout: 10x\n")
    missing = tmp_path / "missing.sipfront.yml"
    code, out, err = run_cli("validate", "--json", str(good), str(bad), str(missing))
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["valid"] is False
    assert report["manifests"] == [{"path": str(good), "runs": 4}]
    assert report["problems"] == [
        {
            "path": str(bad),
            "line": 4,
            "column": 14,
            "message": "tests[0].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)",
        },
        {
            "path": str(missing),
            "line": 1,
            "column": 1,
            "message": "cannot read the manifest: No such file or directory",
        },
    ]


def test_validate_json_online_names_what_sipfront_does_not_know(
    online: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "sipfront.yml"
    path.write_text("tests:\n  - {name: known, test: basic-call-a-b}\n  - {name: typo, test: x}\n")
    code, out, err = run_cli("validate", "--json", "--online", str(path))
    assert (code, err) == (1, "")
    problems = json.loads(out)["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(3, 5)]
    assert "Sipfront does not know" in problems[0]["message"]
    assert_no_keys(online, out, err)


# ---- tests ---------------------------------------------------------------------------------------


def test_tests_prints_the_account_s_tests_as_a_table(online: SandboxServer) -> None:
    code, out, err = run_cli("tests")
    assert (code, err) == (0, "")
    rows = [line.split(None, 2) for line in out.splitlines()]
    assert rows == [
        ["id", "name", "description"],
        ["123", "basic-call-a-b", "Calls B from A"],
        ["124", "dtmf-check", "Sends digits"],
    ]
    assert online.count("tests") == 1
    assert_no_keys(online, out, err)


def test_tests_json_prints_what_sipfront_answered(online: SandboxServer) -> None:
    code, out, err = run_cli("tests", "--json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [(t["id"], t["name"]) for t in listed] == [(123, "basic-call-a-b"), (124, "dtmf-check")]
    assert_no_keys(online, out, err)


def test_projects_prints_the_account_s_projects_as_tests_prints_tests(
    online: SandboxServer,
) -> None:
    code, out, err = run_cli("projects")
    assert (code, err) == (0, "")
    rows = [line.split(None, 2) for line in out.splitlines()]
    assert rows[0] == ["id", "name", "description"]
    assert ["7", "nightly-project"] in [row[:2] for row in rows[1:]]
    assert online.count("projects") == 1
    assert online.count("tests") == 0
    assert_no_keys(online, out, err)


def test_projects_json_prints_what_sipfront_answered(online: SandboxServer) -> None:
    code, out, err = run_cli("projects", "--json")
    assert (code, err) == (0, "")
    assert [(p["id"], p["name"]) for p in json.loads(out)] == [(7, "nightly-project")]


def test_projects_without_credentials_says_which_variables_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SIPFRONT_PUBLIC_KEY", raising=False)
    code, out, err = run_cli("projects")
    assert (code, out) == (2, "")
    assert "set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY" in err


def test_tests_with_wrong_keys_fails_with_a_sentence_not_a_traceback(
    online: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", "sk-WRONGsentinel-55")
    code, out, err = run_cli("tests")
    assert code == 1
    assert "401" in err
    assert "Traceback" not in err
    assert "sk-WRONGsentinel-55" not in out + err
    assert_no_keys(online, out, err)


def test_tests_refuses_plain_http_to_a_remote_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", "pk")
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", "sk")
    code, _, err = run_cli("tests", "--api-url", "http://192.0.2.1/api/v2")
    assert code != 0
    assert "https://" in err


# ---- sim -----------------------------------------------------------------------------------------


def test_sim_prints_its_base_url_serves_the_api_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("tests:\n  - {name: from-the-catalog, id: 77}\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_sipfront.cli",
            "sim",
            "--port",
            "0",
            "--catalog",
            str(catalog),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        prefix = "Sipfront SANDBOX serving at "
        assert first.startswith(prefix), first
        base_url = first[len(prefix) :]
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api/v2")
        answer = requests.get(
            base_url + "/tests",
            auth=(SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY),
            timeout=60,
        )
        assert answer.status_code == 200
        assert "from-the-catalog" in answer.text
        process.send_signal(signal.SIGINT)
        # Ends at once when idle; a minute is far from a busy machine's noise.
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_sim_with_a_broken_catalog_says_what_is_wrong(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("tests:\n  - {name: x, outcome: [not, a, word]}\n")
    code, out, err = run_cli("sim", "--port", "0", "--catalog", str(catalog))
    assert code == 2
    assert out == ""
    assert err.startswith("sipfront: ")
    assert "Traceback" not in err


SIM = [sys.executable, "-m", "pytest_sipfront.cli", "sim"]


def refuses_connections(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(5)
        return client.connect_ex(("127.0.0.1", port)) != 0


def test_sim_refuses_a_host_that_is_not_loopback_without_public() -> None:
    code, out, err = run_cli("sim", "--host", "0.0.0.0", "--port", "0")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "'0.0.0.0' is not a loopback address" in err and "--public" in err


def test_sim_public_generates_random_keys_and_names_the_address_it_listens_on() -> None:
    port = free_port()
    process = subprocess.Popen(
        [*SIM, "--host", "0.0.0.0", "--public", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        assert f"listening on 0.0.0.0:{port} (every interface)" in banner[1], banner
        exported = dict(line.strip().removeprefix("export ").split("=", 1) for line in banner[2:5])
        public, secret = exported["SIPFRONT_PUBLIC_KEY"], exported["SIPFRONT_SECRET_KEY"]
        assert public != SandboxServer.PUBLIC_KEY and secret != SandboxServer.SECRET_KEY
        url = f"http://127.0.0.1:{port}/api/v2/tests"
        fixed = requests.get(
            url, auth=(SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY), timeout=60
        )
        assert fixed.status_code == 401
        assert requests.get(url, auth=(public, secret), timeout=60).status_code == 200
        process.send_signal(signal.SIGINT)
        # Ends at once when idle; a minute is far from a busy machine's noise.
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--port", "70000"], "'70000' is not a port (0 to 65535)"),
        (["--port", "eighty"], "'eighty' is not a port"),
        (["--host", "no-such-host.invalid", "--public", "--port", "0"], "cannot listen on"),
        (["--host", "999.1.1.1", "--public", "--port", "0"], "cannot listen on 999.1.1.1"),
    ],
)
def test_sim_with_an_unusable_address_says_so_in_one_line(
    arguments: list[str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront.cli", "sim", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("sipfront: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr


def test_sim_on_a_port_in_use_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli("sim", "--port", str(port))
    assert code == 2
    assert out == ""
    assert (
        err == f"sipfront: the sandbox cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


class CtrlCWhilePrinting(io.StringIO):
    def write(self, text: str) -> int:
        raise KeyboardInterrupt


def test_a_ctrl_c_while_sim_prints_its_banner_stops_the_server_without_a_traceback() -> None:
    port = free_port()
    err = io.StringIO()
    code = main(["sim", "--port", str(port)], out=CtrlCWhilePrinting(), err=err)
    assert code == 0
    assert err.getvalue() == ""
    assert refuses_connections(port)


def test_tests_with_a_key_that_cannot_be_sent_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", "pk-abcdef")
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", "SÉCRET☎")
    code, out, err = run_cli("tests", "--api-url", "http://127.0.0.1:9/api/v2")
    assert code == 2
    assert out == ""
    assert err.startswith("sipfront: SIPFRONT_SECRET_KEY contains the character U+260E")
    assert err.count("\n") == 1 and "SÉCRET" not in err


# ---- --help ------------------------------------------------------------------------------------


def subcommands() -> list[str]:
    """Every subcommand the parser has, so that a new one is held to the same rules."""
    from pytest_sipfront.cli import _parser

    actions = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


COMMANDS = subcommands()


def help_of(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_command_s_help_lists_every_subcommand_with_a_summary() -> None:
    assert {"sim", "tests", "projects", "validate", "schema", "run"} <= set(COMMANDS)
    listed = help_of()
    for command in COMMANDS:
        assert re.search(rf"^    {command} +\S", listed, flags=re.M), command


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_s_help_has_a_description_and_its_exit_statuses(command: str) -> None:
    text = help_of(command)
    description = text.split("\n\n")[1]
    assert not description.startswith(("options:", "positional arguments:")), text
    assert "exit status: 0" in " ".join(text.split())


def test_options_show_what_kind_of_value_they_take() -> None:
    run = " ".join(help_of("run").split())
    for shown in ("--test-id N", "--timeout DURATION", "--poll-interval DURATION", "--api-url URL"):
        assert shown in run
    assert "TIMEOUT" not in run and "TEST_ID" not in run


def test_the_plugin_s_options_show_n_duration_and_on_off_in_pytest_help(
    pytester: pytest.Pytester,
) -> None:
    text = pytester.runpytest("--help").stdout.str()
    for shown in (
        "--sipfront-concurrency=N",
        "--sipfront-max-runs=N",
        "--sipfront-timeout=DURATION",
        "--sipfront-poll-interval=DURATION",
        "--sipfront-history={on,off}",
        "--sipfront-fail-on={new,any}",
    ):
        assert shown in text
    assert "SIPFRONT_CONCURRENCY" not in text
