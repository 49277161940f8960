"""Rules written down once: the sandbox's endpoints in one table, Sipfront's report modes in one
tuple, the first poll's delay in the poll plan. A second copy is how rules drift apart."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import requests

import pytest_sipfront
from pytest_sipfront.sandbox import SandboxServer
from pytest_sipfront.sandbox.behaviour import ApiState
from pytest_sipfront.sandbox.endpoints import ENDPOINT_NAMES, ENDPOINTS, Call, route

PACKAGE = Path(pytest_sipfront.__file__).parent


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_the_sandbox_names_its_endpoints_in_one_table_only() -> None:
    elsewhere = {
        f"{path.name}: {text}"
        for path in (PACKAGE / "sandbox").glob("*.py")
        if path.name != "endpoints.py"
        for text in string_constants(path)
        if text in ENDPOINT_NAMES and "." in text
    }
    assert elsewhere == set()


def test_every_endpoint_row_names_methods_that_answer_a_call() -> None:
    for endpoint in ENDPOINTS:
        for name in filter(None, (endpoint.answer, endpoint.concerns)):
            method = getattr(ApiState, name, None)
            assert callable(method), f"{endpoint.name}: ApiState.{name} is missing"
            assert list(inspect.signature(method).parameters) == ["self", "call"], name


def test_every_endpoint_row_routes_its_own_path() -> None:
    for endpoint in ENDPOINTS:
        path = "/".join("x1" if part.startswith(":") else part for part in endpoint.path.split("/"))
        found, params = route(path)
        assert found == endpoint, endpoint.path
        assert set(params) == {p[1:] for p in endpoint.parts if p.startswith(":")}


def test_adding_an_endpoint_is_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new endpoint needs: a row, and the method it names."""
    from pytest_sipfront.sandbox import behaviour, endpoints

    row = endpoints.Endpoint("runs.probe", "GET", "/api/v2/runs/:key/probe", "probe_for_test")
    monkeypatch.setattr(endpoints, "ENDPOINTS", (*endpoints.ENDPOINTS, row))

    def probe_for_test(self: ApiState, call: Call) -> behaviour.Answer:
        return behaviour.json_answer({"data": {"run": call.params["key"]}, "status": 200})

    monkeypatch.setattr(ApiState, "probe_for_test", probe_for_test, raising=False)
    with SandboxServer() as server:
        answer = requests.get(
            f"{server.base_url}/runs/abc/probe",
            auth=(SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY),
            timeout=30,
        )
        assert answer.json() == {"data": {"run": "abc"}, "status": 200}
        assert [r.endpoint for r in server.requests] == ["runs.probe"]


def test_sipfronts_report_modes_are_written_down_once() -> None:
    copies = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Tuple)
        and {"full", "kiosk"}
        <= {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    ]
    assert copies == ["options.py"]  # the table of settings


def test_the_scheduler_takes_the_first_look_from_the_poll_plan() -> None:
    scheduler = (PACKAGE / "runs" / "scheduler.py").read_text(encoding="utf-8")
    assert "first_delay()" in scheduler
    assert not any(
        isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value == 1.0
        for node in ast.walk(ast.parse(scheduler))
    ), "a second copy of the first look's delay"


def test_the_action_takes_pytests_exit_codes_from_pytest() -> None:
    action = (PACKAGE / "ci" / "action.py").read_text(encoding="utf-8")
    assert "ExitCode.NO_TESTS_COLLECTED" in action
    assert "_PYTEST_NO_TESTS" not in action
