"""The Sipfront sandbox, driven over real HTTP the way the gate and a curl user drive it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_sipfront.sandbox import Catalog, CatalogError, Fault, SandboxServer
from pytest_sipfront.sandbox.catalog import MAX_CATALOG_BYTES

AUTH = (SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

FINISHED_TEST_FIELDS = {
    "agentpool_name",
    "has_passed",
    "id",
    "is_failed",
    "is_finished",
    "project_id",
    "project_name",
    "result_description",
    "session_id",
    "started_at",
    "status",
    "session_status",
    "stopped_at",
    "tags",
    "test_id",
    "test_name",
    "testcase_name",
}


@contextmanager
def sandbox(data: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[SandboxServer]:
    server = SandboxServer(Catalog.from_dict(data or {}, source="test.catalog.yml"), **kwargs)
    with server:
        yield server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = AUTH
        yield session


def trigger(http: requests.Session, server: SandboxServer, **body: Any) -> dict[str, Any]:
    answer = http.post(f"{server.base_url}/tests/run", json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def wait_finished(http: requests.Session, status_url: str, limit: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        run: dict[str, Any] = http.get(status_url, timeout=5).json()["run"]
        if run.get("is_finished") == 1:
            return run
        assert time.monotonic() < deadline, f"run did not finish within {limit}s: {run}"
        time.sleep(0.05)


# Runs asked for their status right after the trigger, to see "running", last 1.5 s or more:
# a busy machine can take a good part of a second between two requests.

# --------------------------------------------------------------------------- auth and triggers


def test_requests_without_the_sandbox_credentials_are_refused_with_an_error_body() -> None:
    with sandbox() as server:
        for auth in (None, ("sandbox-public", "wrong"), ("someone", "sandbox-secret")):
            answer = requests.post(
                f"{server.base_url}/tests/run", json={"test.name": "x"}, auth=auth, timeout=5
            )
            assert answer.status_code == 401
            assert answer.json() == {"error": "Invalid API credentials", "status": 401}
        assert [r.authorized for r in server.requests] == [False, False, False]
        assert server.count("runs.status") == 0


def test_other_credentials_can_be_configured() -> None:
    with sandbox(public_key="pk-1", secret_key="sk-1") as server:
        refused = requests.get(f"{server.base_url}/tests", auth=AUTH, timeout=5)
        accepted = requests.get(f"{server.base_url}/tests", auth=("pk-1", "sk-1"), timeout=5)
    assert (refused.status_code, accepted.status_code) == (401, 200)


def test_a_json_trigger_answers_with_report_session_and_status_links(
    http: requests.Session,
) -> None:
    with sandbox({"tests": [{"name": "basic-call-a-b", "id": 123}]}) as server:
        answer = http.post(f"{server.base_url}/tests/run", json={"test.name": "basic-call-a-b"})
        body = answer.json()
        session = body["data"]["session_id"]
        assert answer.status_code == 200 and body["status"] == 200
        assert set(body["data"]) == {"report_url", "session_id", "status_url"}
        assert body["data"]["status_url"] == f"{server.base_url}/runs/{session}/status"
        assert body["data"]["report_url"] == f"{server.origin}/run/details/{session}"
        assert answer.headers["Content-Type"] == "application/json"
        assert http.get(body["data"]["status_url"]).json()["run"]["test_id"] == 123


def test_form_and_multipart_triggers_are_read_like_json(http: requests.Session) -> None:
    catalog = {
        "tests": [
            {
                "name": "basic-call-a-b",
                "id": 123,
                "duration": 0.2,
                "when": [
                    {"overrides": {"step.1.0.dial_destination": "439990000"}, "outcome": "failed"}
                ],
            }
        ]
    }
    with sandbox(catalog) as server:
        fields = {"test.name": "basic-call-a-b", "step.1.0.dial_destination": "439990000"}
        form = http.post(f"{server.base_url}/tests/run", data=fields).json()["data"]
        multipart = http.post(  # what `curl -F test.id=123 -F step.1.0...` sends
            f"{server.base_url}/tests/run",
            files={"test.id": (None, "123"), "step.1.0.dial_destination": (None, "439990000")},
        ).json()["data"]
        assert wait_finished(http, form["status_url"])["status"] == "failed"
        assert wait_finished(http, multipart["status_url"])["status"] == "failed"
        assert server.triggers() == [
            fields,
            {"test.id": "123", "step.1.0.dial_destination": "439990000"},
        ]


def test_a_trigger_without_a_test_or_with_an_unknown_id_is_refused_with_422(
    http: requests.Session,
) -> None:
    with sandbox({"tests": [{"name": "known", "id": 5}]}) as server:
        url = f"{server.base_url}/tests/run"
        missing = http.post(url, json={"step.1.0.dial_destination": "431231234"})
        unknown = http.post(url, json={"test.id": 999})
        not_a_number = http.post(url, data={"test.id": "abc"})
        broken = http.post(url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert missing.status_code == 422
    assert missing.json() == {"error": "Missing parameter: test.name or test.id", "status": 422}
    assert unknown.status_code == 422 and unknown.json()["error"] == "Test not found"
    assert not_a_number.status_code == 422
    assert broken.status_code == 400 and broken.json()["status"] == 400


def test_a_test_not_in_the_catalog_passes_after_the_default_duration(
    http: requests.Session,
) -> None:
    # Long enough that the status asked right after the trigger is "running" on a busy machine.
    with sandbox({"default_duration": 2.0}) as server:
        started = time.monotonic()
        data = trigger(http, server, **{"test.name": "anything-at-all"})
        assert http.get(data["status_url"]).json()["run"]["status"] == "running"
        run = wait_finished(http, data["status_url"])
        assert time.monotonic() - started >= 2.0
        assert (run["status"], run["has_passed"], run["test_name"]) == (
            "passed",
            1,
            "anything-at-all",
        )


def test_the_default_catalog_passes_every_test_after_two_seconds() -> None:
    catalog = Catalog.default()
    assert (catalog.tests, catalog.projects, catalog.faults) == ((), (), ())
    assert catalog.default_duration == 2.0


def test_unknown_tests_can_be_refused(http: requests.Session) -> None:
    with sandbox({"unknown_tests": "refuse"}) as server:
        answer = http.post(f"{server.base_url}/tests/run", json={"test.name": "nope"})
    assert answer.status_code == 422 and answer.json()["error"] == "Test not found"


# --------------------------------------------------------------------------- run status


def test_a_run_reports_running_until_its_duration_has_passed_then_the_finished_body(
    http: requests.Session,
) -> None:
    catalog = {
        "tests": [
            {
                "name": "media",
                "id": 123,
                "duration": 2.0,  # "running" when asked at once, on a busy machine too
                "testcase_name": "Media analysis for Audio Call",
                "agentpool_name": "eu-central-1",
                "tags": ["media", "prod"],
                "project_id": 1,
                "project_name": "my-project-name",
            }
        ]
    }
    with sandbox(catalog) as server:
        started = time.monotonic()
        data = trigger(http, server, **{"test.id": 123})
        running = http.get(data["status_url"]).json()
        assert running["status"] == 200
        assert running["run"]["status"] == running["run"]["session_status"] == "running"
        assert running["run"]["is_finished"] == 0
        assert "has_passed" not in running["run"]
        finished = wait_finished(http, data["status_url"])
        assert time.monotonic() - started >= 2.0
    assert set(finished) == FINISHED_TEST_FIELDS
    assert finished["status"] == finished["session_status"] == "passed"
    assert (finished["has_passed"], finished["is_failed"], finished["is_finished"]) == (1, 0, 1)
    assert finished["tags"] == '["media", "prod"]'
    assert finished["session_id"] == data["session_id"]
    assert (finished["test_id"], finished["test_name"]) == (123, "media")
    assert finished["testcase_name"] == "Media analysis for Audio Call"
    assert finished["agentpool_name"] == "eu-central-1"
    assert (finished["project_id"], finished["project_name"]) == (1, "my-project-name")
    started_at = datetime.strptime(finished["started_at"], "%Y-%m-%d %H:%M:%S")
    stopped_at = datetime.strptime(finished["stopped_at"], "%Y-%m-%d %H:%M:%S")
    assert 1 <= (stopped_at - started_at).total_seconds() <= 3  # 2 s, in whole seconds


def test_the_outcome_depends_on_the_overrides_sent(http: requests.Session) -> None:
    catalog = {
        "tests": [
            {
                "name": "basic-call-a-b",
                "duration": 0.2,
                "when": [
                    {
                        "overrides": {"step.1.0.dial_destination": "439990000"},
                        "outcome": "failed",
                        "result_description": "callee did not answer (SIP 480)",
                    },
                    {"overrides": {"step.1.0.credential_pool": 4567}, "outcome": "errored"},
                ],
            }
        ]
    }
    with sandbox(catalog) as server:
        runs = [
            trigger(http, server, **{"test.name": "basic-call-a-b", **overrides})["status_url"]
            for overrides in (
                {"step.1.0.dial_destination": "439990000"},
                {"step.1.0.dial_destination": "431231234"},
                {"step.1.0.credential_pool": 4567},
                {},
            )
        ]
        results = [wait_finished(http, url) for url in runs]
    assert [r["status"] for r in results] == ["failed", "passed", "errored", "passed"]
    assert results[0]["result_description"] == "callee did not answer (SIP 480)"
    assert (results[0]["has_passed"], results[0]["is_failed"]) == (0, 1)
    assert results[1]["result_description"] == ""


def test_stopped_errored_unknown_and_running_outcomes_never_pass(http: requests.Session) -> None:
    outcomes = ["stopped", "errored", "exploded", "running"]
    catalog = {"tests": [{"name": o, "duration": 0.2, "outcome": o} for o in outcomes]}
    with sandbox(catalog) as server:
        urls = [trigger(http, server, **{"test.name": o})["status_url"] for o in outcomes]
        results = [wait_finished(http, url) for url in urls[:3]]
        never = http.get(urls[3]).json()["run"]
    flags = [(r["status"], r["has_passed"], r["is_failed"]) for r in results]
    assert flags == [("stopped", 0, 0), ("errored", 0, 1), ("exploded", 0, 0)]
    assert (never["status"], never["is_finished"]) == ("running", 0)


def test_an_unknown_session_is_a_404(http: requests.Session) -> None:
    with sandbox() as server:
        answer = http.get(f"{server.base_url}/runs/no-such-session/status")
    assert answer.status_code == 404
    assert answer.json() == {"error": "Run not found", "status": 404}


# --------------------------------------------------------------------------- report links


def test_kiosk_mode_gives_a_public_report_link_to_a_sandbox_page(http: requests.Session) -> None:
    with sandbox() as server:
        kiosk = trigger(http, server, **{"test.name": "x", "report.mode": "kiosk"})
        full = trigger(http, server, **{"test.name": "x", "report.mode": "full"})
        printed = trigger(http, server, **{"test.name": "x", "report.mode": "print"})
        prefix = f"{server.origin}/kiosk/"
        assert kiosk["report_url"].startswith(prefix)
        assert kiosk["report_url"].endswith("/" + kiosk["session_id"])
        assert full["report_url"] == f"{server.origin}/run/details/{full['session_id']}"
        assert printed["report_url"] == f"{server.origin}/run/details/{printed['session_id']}"
        page = requests.get(kiosk["report_url"], timeout=5)  # no credentials: kiosk is public
        assert page.status_code == 200 and "SANDBOX report" in page.text
        assert "SANDBOX report" in requests.get(full["report_url"], timeout=5).text
        assert server.count("report") == 2


def test_an_unknown_report_mode_is_refused_with_422(http: requests.Session) -> None:
    with sandbox() as server:
        answer = http.post(
            f"{server.base_url}/tests/run", json={"test.name": "x", "report.mode": "public"}
        )
    assert answer.status_code == 422
    assert answer.json()["error"] == "Invalid report.mode 'public' (use full, kiosk or print)"


# --------------------------------------------------------------------------- projects


def test_a_project_run_reports_run_status_then_its_details(http: requests.Session) -> None:
    catalog = {"projects": [{"name": "nightly-project", "id": 7, "duration": 1.5}]}
    with sandbox(catalog) as server:
        answer = http.post(f"{server.base_url}/projects/run", json={"id": 7, "test_ids": [11, 12]})
        data = answer.json()["data"]
        assert set(data) == {"status_url", "report_url", "project_run_id", "project_run_uuid"}
        running = http.get(data["status_url"]).json()["run"]
        assert (running["run_status"], running["is_finished"]) == ("running", 0)
        finished = wait_finished(http, data["status_url"])
    assert finished["run_status"] == "passed"
    assert (finished["has_passed"], finished["is_finished"]) == (1, 1)
    assert (finished["project_id"], finished["project_name"]) == (7, "nightly-project")
    assert (finished["total_tests"], finished["tests_started"]) == (2, 2)
    assert {"created_at", "stopped_at"} <= set(finished)
    assert finished["id"] == data["project_run_id"]


def test_a_project_is_found_by_name_and_the_id_takes_precedence(http: requests.Session) -> None:
    catalog = {
        "projects": [
            {"name": "good", "id": 7, "duration": 0.2},
            {"name": "bad", "id": 8, "duration": 0.2, "outcome": "failed"},
        ]
    }
    with sandbox(catalog) as server:
        url = f"{server.base_url}/projects/run"
        by_name = http.post(url, data={"project.name": "bad"}).json()["data"]
        both = http.post(url, data={"project.name": "bad", "id": "7"}).json()["data"]
        kiosk = http.post(url, json={"id": 7, "report.mode": "kiosk"}).json()["data"]
        printed = http.post(url, json={"id": 7, "report.mode": "print"})
        unknown = http.post(url, json={"id": 99})
        assert wait_finished(http, by_name["status_url"])["run_status"] == "failed"
        assert wait_finished(http, both["status_url"])["project_name"] == "good"
    assert kiosk["report_url"].startswith(f"{server.origin}/kiosk/")
    assert printed.status_code == 422
    assert printed.json()["error"] == "Invalid report.mode 'print' (use full or kiosk)"
    assert unknown.status_code == 422 and unknown.json()["error"] == "Project not found"


def test_listings_show_the_catalogs_tests_and_projects(http: requests.Session) -> None:
    catalog = {
        "tests": [{"name": "a", "id": 1, "description": "first"}, {"name": "b"}],
        "projects": [{"name": "p", "id": 7}],
    }
    with sandbox(catalog) as server:
        tests = http.get(f"{server.base_url}/tests").json()
        projects = http.get(f"{server.base_url}/projects").json()
        index = http.get(f"{server.base_url}/").json()
    assert tests["status"] == 200
    assert [(t["id"], t["name"], t["description"]) for t in tests["data"]] == [
        (1, "a", "first"),
        (1001, "b", ""),
    ]
    assert projects["data"] == [{"id": 7, "name": "p", "description": ""}]
    urls = {e["url"] for e in index["endpoints"]}
    assert f"{server.base_url}/tests/run" in urls
    assert f"{server.base_url}/runs/:id/status" in urls


def test_a_wrong_method_is_a_405(http: requests.Session) -> None:
    with sandbox() as server:
        answer = http.get(f"{server.base_url}/tests/run")
    assert answer.status_code == 405 and answer.json()["status"] == 405


# --------------------------------------------------------------------------- faults


def test_a_status_fault_lets_some_requests_through_then_answers_n_times(
    http: requests.Session,
) -> None:
    faults = [{"endpoint": "runs.status", "status": 503, "after": 1, "times": 2}]
    with sandbox({"faults": faults}) as server:
        url = trigger(http, server, **{"test.name": "x"})["status_url"]
        answers = [http.get(url) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 503, 503, 200]
    assert answers[1].json() == {"error": "Service Unavailable", "status": 503}


def test_a_fault_sends_retry_after_and_its_own_error_text(http: requests.Session) -> None:
    faults = [{"endpoint": "tests.run", "status": 429, "retry_after": 1, "error": "Slow down"}]
    with sandbox({"faults": faults}) as server:
        first = http.post(f"{server.base_url}/tests/run", json={"test.name": "x"})
        second = http.post(f"{server.base_url}/tests/run", json={"test.name": "x"})
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert first.json() == {"error": "Slow down", "status": 429}
    assert second.status_code == 200 and "Retry-After" not in second.headers


def test_a_fault_with_times_null_always_applies(http: requests.Session) -> None:
    with sandbox({"faults": [{"endpoint": "tests", "status": 500, "times": None}]}) as server:
        codes = {http.get(f"{server.base_url}/tests").status_code for _ in range(5)}
    assert codes == {500}


def test_a_delay_fault_can_outlast_the_clients_read_timeout(http: requests.Session) -> None:
    # A long delay, so that the next request's answer (no delay: the fault applied once) is far
    # quicker than it, on a busy machine too.
    with sandbox({"faults": [{"endpoint": "tests", "delay": 20.0}]}) as server:
        with pytest.raises(requests.ReadTimeout):
            http.get(f"{server.base_url}/tests", timeout=0.2)
        started = time.monotonic()
        assert http.get(f"{server.base_url}/tests", timeout=30).status_code == 200
        assert time.monotonic() - started < 10


def test_a_delay_only_fault_answers_normally_afterwards(http: requests.Session) -> None:
    with sandbox({"faults": [{"endpoint": "tests", "delay": 0.3}]}) as server:
        started = time.monotonic()
        answer = http.get(f"{server.base_url}/tests", timeout=5)
    assert answer.status_code == 200 and time.monotonic() - started >= 0.3


def test_a_drop_fault_resets_the_connection_without_an_answer(http: requests.Session) -> None:
    with sandbox({"faults": [{"endpoint": "tests.run", "drop": True}]}) as server:
        with pytest.raises(requests.ConnectionError):
            http.post(f"{server.base_url}/tests/run", json={"test.name": "x"})
        again = http.post(f"{server.base_url}/tests/run", json={"test.name": "x"})
        assert again.status_code == 200
        assert [r.status for r in server.requests] == [0, 200]
        assert server.triggers() == [{"test.name": "x"}, {"test.name": "x"}]


def test_a_fault_can_send_a_body_that_is_not_json(http: requests.Session) -> None:
    faults = [{"endpoint": "runs.status", "body": "<html>oops</html>"}]
    with sandbox({"faults": faults}) as server:
        url = trigger(http, server, **{"test.name": "x"})["status_url"]
        answer = http.get(url)
        assert answer.status_code == 200 and answer.text == "<html>oops</html>"
        assert answer.headers["Content-Type"] == "text/html"
        with pytest.raises(ValueError):
            answer.json()
        assert http.get(url).json()["run"]["status"] == "running"


def test_a_fault_can_concern_one_test_only(http: requests.Session) -> None:
    catalog = {
        "tests": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "faults": [
            {"endpoint": "tests.run", "status": 422, "test": "b", "error": "No agents available"},
            {"endpoint": "runs.status", "status": 502, "test": "a", "times": 0},
        ],
    }
    with sandbox(catalog) as server:
        url = f"{server.base_url}/tests/run"
        refused = http.post(url, json={"test.id": 2})
        b_run = http.post(url, json={"test.name": "b"}).json()["data"]
        a_run = http.post(url, json={"test.name": "a"}).json()["data"]
        assert refused.json() == {"error": "No agents available", "status": 422}
        assert http.get(a_run["status_url"]).status_code == 502
        assert http.get(b_run["status_url"]).status_code == 200


def test_faults_can_be_added_while_the_sandbox_runs(http: requests.Session) -> None:
    with sandbox() as server:
        assert http.get(f"{server.base_url}/tests").status_code == 200
        server.add_fault(Fault(endpoint="tests", status=503, retry_after=2))
        answer = http.get(f"{server.base_url}/tests")
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "2")
        assert http.get(f"{server.base_url}/tests").status_code == 200


def test_a_fault_that_cannot_work_is_refused() -> None:
    with pytest.raises(ValueError, match="endpoint: 'runs' is not one of"):
        Fault(endpoint="runs", status=503)
    with pytest.raises(ValueError, match="does nothing"):
        Fault(endpoint="runs.status")


# --------------------------------------------------------------------------- recording


def test_requests_are_recorded_and_counted_per_endpoint(http: requests.Session) -> None:
    with sandbox() as server:
        before = time.monotonic()
        data = trigger(http, server, **{"test.name": "x", "step.1.0.dial_destination": "4312"})
        http.get(data["status_url"])
        http.get(f"{server.base_url}/runs/{data['session_id']}/status?x=1")
        requests.get(f"{server.base_url}/tests", timeout=5)
        http.post(f"{server.base_url}/projects/run", json={"id": 42})
        records = server.requests
    assert [r.endpoint for r in records] == [
        "tests.run",
        "runs.status",
        "runs.status",
        "tests",
        "projects.run",
    ]
    assert [r.status for r in records] == [200, 200, 200, 401, 422]
    assert records[2].path == f"/api/v2/runs/{data['session_id']}/status"
    assert records[0].body == {"test.name": "x", "step.1.0.dial_destination": "4312"}
    assert records[1].body is None and records[1].method == "GET"
    assert before <= records[0].time <= records[-1].time
    assert (server.count("runs.status"), server.count("tests.run"), server.count("index")) == (
        2,
        1,
        0,
    )
    assert server.triggers() == [
        {"test.name": "x", "step.1.0.dial_destination": "4312"},
        {"id": 42},
    ]


# --------------------------------------------------------------------------- behaviour knobs


@pytest.mark.parametrize(
    ("fields", "present", "absent"),
    [("status", "status", "session_status"), ("session_status", "session_status", "status")],
)
def test_the_status_field_can_be_status_or_session_status_alone(
    http: requests.Session, fields: str, present: str, absent: str
) -> None:
    catalog = {"default_duration": 1.5, "behaviour": {"status_fields": fields}}
    with sandbox(catalog) as server:
        url = trigger(http, server, **{"test.name": "x"})["status_url"]
        running = http.get(url).json()["run"]
        finished = wait_finished(http, url)
    assert running[present] == "running" and absent not in running
    assert finished[present] == "passed" and absent not in finished


def test_flags_can_be_omitted_and_tags_sent_as_an_array(http: requests.Session) -> None:
    catalog = {
        "tests": [{"name": "x", "duration": 2.0, "tags": ["media"]}],
        "behaviour": {"omit": ["is_finished", "has_passed", "is_failed"], "tags": "array"},
    }
    with sandbox(catalog) as server:
        url = trigger(http, server, **{"test.name": "x"})["status_url"]
        assert http.get(url).json()["run"]["status"] == "running"
        deadline = time.monotonic() + 60
        while (finished := http.get(url).json()["run"])["status"] == "running":
            assert time.monotonic() < deadline, "the run never finished"
            time.sleep(0.05)
    assert finished["status"] == "passed" and finished["tags"] == ["media"]
    assert not {"is_finished", "has_passed", "is_failed"} & set(finished)


def test_a_run_can_vanish_after_some_status_requests(http: requests.Session) -> None:
    catalog = {"tests": [{"name": "ghost", "behaviour": {"vanish_after": 1}}, {"name": "real"}]}
    with sandbox(catalog) as server:
        ghost = trigger(http, server, **{"test.name": "ghost"})["status_url"]
        real = trigger(http, server, **{"test.name": "real"})["status_url"]
        codes = [http.get(ghost).status_code for _ in range(3)]
        assert http.get(real).status_code == 200
    assert codes == [200, 404, 404]


def test_the_status_url_can_point_elsewhere_or_be_missing(http: requests.Session) -> None:
    catalog = {
        "tests": [
            {"name": "foreign", "behaviour": {"status_url_origin": "http://127.0.0.2:9"}},
            {"name": "https", "behaviour": {"status_url_origin": "https://{host}:{port}"}},
            {"name": "bare", "behaviour": {"trigger_status_url": False}},
        ]
    }
    with sandbox(catalog) as server:
        foreign = trigger(http, server, **{"test.name": "foreign"})
        https = trigger(http, server, **{"test.name": "https"})
        bare = trigger(http, server, **{"test.name": "bare"})
        own_path = f"{server.base_url}/runs/{foreign['session_id']}/status"
        assert http.get(own_path).status_code == 200  # the run is served on the own origin
    assert foreign["status_url"] == f"http://127.0.0.2:9/api/v2/runs/{foreign['session_id']}/status"
    port = server.origin.rsplit(":", 1)[1]
    assert https["status_url"].startswith(f"https://127.0.0.1:{port}/api/v2/runs/")
    assert set(bare) == {"report_url", "session_id"}


def test_the_running_word_can_be_changed(http: requests.Session) -> None:
    catalog = {"default_duration": 1.5, "behaviour": {"running_status": "queued"}}
    with sandbox(catalog) as server:
        url = trigger(http, server, **{"test.name": "x"})["status_url"]
        assert http.get(url).json()["run"]["session_status"] == "queued"
        assert wait_finished(http, url)["session_status"] == "passed"


# --------------------------------------------------------------------------- HTTP behaviour


def test_connections_are_kept_alive_with_exact_content_lengths() -> None:
    with sandbox() as server:
        host, port = server.origin.removeprefix("http://").split(":")
        connection = HTTPConnection(host, int(port), timeout=5)
        headers = {"Authorization": requests.auth._basic_auth_str(*AUTH)}
        for _ in range(3):
            connection.request("GET", "/api/v2/tests", headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            assert answer.status == 200
            assert int(answer.headers["Content-Length"]) == len(payload)
            assert answer.version == 11 and not answer.will_close
        connection.close()


def test_stop_closes_open_connections_and_the_port(http: requests.Session) -> None:
    server = SandboxServer()
    server.start()
    url = f"{server.base_url}/tests"
    assert http.get(url).status_code == 200  # leaves a kept-alive connection open
    server.stop()
    server.stop()  # twice is fine
    with pytest.raises(requests.ConnectionError):
        http.get(url, timeout=2)


def test_the_sandbox_writes_nothing_to_the_terminal(
    http: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    faults = [{"endpoint": "tests", "drop": True}, {"endpoint": "projects", "delay": 0.5}]
    with sandbox({"faults": faults}) as server:
        trigger(http, server, **{"test.name": "x"})
        requests.get(f"{server.base_url}/", timeout=5)  # refused: no credentials
        with pytest.raises(requests.ConnectionError):
            http.get(f"{server.base_url}/tests")
        with pytest.raises(requests.ReadTimeout):
            http.get(f"{server.base_url}/projects", timeout=0.1)
        time.sleep(0.5)  # the delayed answer now goes to a closed connection
        with socket.create_connection(("127.0.0.1", int(server.origin.rsplit(":", 1)[1]))) as s:
            s.sendall(b"NONSENSE\r\n\r\n")
            assert b"400" in s.recv(1000)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_many_concurrent_runs_are_triggered_and_polled() -> None:
    runs = 100
    with sandbox({"default_duration": 0.5}) as server:

        def one(index: int) -> str:
            with requests.Session() as session:
                session.auth = AUTH
                data = trigger(session, server, **{"test.name": f"t{index}"})
                return str(wait_finished(session, data["status_url"], limit=60)["status"])

        with ThreadPoolExecutor(max_workers=runs) as pool:
            statuses = list(pool.map(one, range(runs)))
        assert statuses == ["passed"] * runs
        assert server.count("tests.run") == runs


# --------------------------------------------------------------------------- catalogs


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"tests": [{"name": "a", "duration": "x"}]},
            "cat.yml: tests[0].duration: 'x' is not a duration (use 90s, 15m, 1h30m)",
        ),
        (
            {"tests": [{"name": "a", "colour": "red"}]},
            "cat.yml: tests[0]: unknown key 'colour'",
        ),
        ({"tests": [{"id": 1}]}, "cat.yml: tests[0]: a test needs a name"),
        (
            {"tests": [{"name": "a"}, {"name": "a"}]},
            "cat.yml: tests[1].name: 'a' is already used by tests[0]",
        ),
        (
            {"tests": [{"name": "a", "id": 5}, {"name": "b", "id": 5}]},
            "cat.yml: tests[1].id: 5 is already used by tests[0]",
        ),
        ({"tests": {"name": "a"}}, "cat.yml: tests: expected a list, got a mapping"),
        (
            {"tests": [{"name": "a", "when": [{"outcome": "failed"}]}]},
            "cat.yml: tests[0].when[0]: a when rule needs overrides",
        ),
        (
            {"faults": [{"endpoint": "runs", "status": 503}]},
            "cat.yml: faults[0].endpoint: 'runs' is not one of index, tests, projects",
        ),
        (
            {"faults": [{"endpoint": "runs.status", "status": 999}]},
            "cat.yml: faults[0].status: 999 is not an HTTP status code",
        ),
        (
            {"faults": [{"endpoint": "runs.status", "delay": "soon"}]},
            "cat.yml: faults[0].delay: 'soon' is not a duration",
        ),
        (
            {"behaviour": {"status_fields": "state"}},
            "cat.yml: behaviour.status_fields: 'state' is not both, status or session_status",
        ),
        ({"default_duration": 0}, "cat.yml: default_duration: 0 is not a duration greater"),
        (
            {"faults": [{"endpoint": "runs.status", "delay": 1e308}]},
            "cat.yml: faults[0].delay: 1e+308 is longer than the longest allowed delay, 24h",
        ),
        (
            {"tests": [{"name": "a", "duration": "1000h"}]},
            "cat.yml: tests[0].duration: '1000h' is longer than the longest allowed duration",
        ),
        ({"unknown_tests": "maybe"}, "cat.yml: unknown_tests: 'maybe' is not pass or refuse"),
    ],
)
def test_catalog_errors_are_sentences_naming_the_file(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(data, source="cat.yml")
    assert str(caught.value).startswith(message)


def test_catalog_files_that_cannot_be_read_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("tests:\n  - name: a\n   id: [\n")
    listing = tmp_path / "list.yml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(CatalogError, match=r"broken\.yml:3:4: this line does not line up"):
        Catalog.load(broken)
    with pytest.raises(CatalogError, match=r"list\.yml:1:1: the catalog must be a mapping"):
        Catalog.load(listing)
    with pytest.raises(CatalogError, match=r"missing\.yml:1:1: cannot read the catalog: No such"):
        Catalog.load(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("tests:\n  - name: a\n    duration: 10x\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(bad)
    assert str(caught.value) == (
        f"{bad}:3:5: tests[0].duration: '10x' is not a duration (use 90s, 15m, 1h30m)"
    )


def test_a_catalog_that_is_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(CatalogError) as caught:
        Catalog.load("/dev/zero")
    assert str(caught.value) == (
        "/dev/zero:1:1: cannot read the catalog: it is not a regular file; name a YAML file"
    )


def test_a_catalog_larger_than_the_cap_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yml"
    with open(huge, "wb") as stream:  # sparse: 6 MB of nothing, written in no time
        stream.truncate(MAX_CATALOG_BYTES + 1024)
    with pytest.raises(CatalogError, match=r"huge\.yml:1:1: the file is larger than the 5 MB"):
        Catalog.load(huge)


def test_a_catalog_fifo_nobody_writes_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "catalog.yml"
    os.mkfifo(fifo)
    with pytest.raises(CatalogError, match="not a regular file"):
        Catalog.load(fifo)


def test_a_duplicate_outcome_key_in_the_catalog_is_an_error_not_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "dup.yml"
    path.write_text("tests:\n  - name: a\n    outcome: failed\n    outcome: passed\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    assert str(caught.value).startswith(
        f"{path}:4:5: tests[0].outcome: this key appears twice in the same mapping"
    )


@pytest.mark.parametrize("written", ["\uff11\uff12\uff13", "\u0661\u0662", "+12", "1_2"])
def test_full_width_digits_are_not_a_catalog_id(tmp_path: Path, written: str) -> None:
    path = tmp_path / "ids.yml"
    path.write_text(f'tests:\n  - name: a\n    id: "{written}"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"ids\.yml:3:5: tests\[0\]\.id: .* is not a whole"):
        Catalog.load(path)


def test_a_catalog_error_points_at_the_line_and_column_of_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "cat.yml"
    path.write_text("tests:\n  - name: a\n  - name: b\n    colour: red\n")
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    assert str(caught.value).startswith(f"{path}:4:5: tests[1]: unknown key 'colour'")


@pytest.mark.parametrize(
    "content",
    [
        "root:$6$c2VjcmV0c2FsdA$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
        "Port 22\nPasswordAuthentication no\n",
        "secret_token: hunter2-hunter2\napi: x\n",
        "- hunter2-hunter2\n",
    ],
)
def test_a_file_that_is_no_catalog_is_refused_without_showing_its_content(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "shadow"
    path.write_text(content)
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    for secret in ("hashhash", "c2VjcmV0", "Port", "Password", "hunter2", "secret_token"):
        assert secret not in message


def test_an_empty_catalog_file_is_the_default_catalog(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing yet\n")
    catalog = Catalog.load(empty)
    assert (catalog.tests, catalog.default_duration, catalog.source) == ((), 2.0, str(empty))


def test_the_example_catalogs_pair_with_the_example_manifest(http: requests.Session) -> None:
    passing = Catalog.load(EXAMPLES / "sandbox-catalog.yml")
    failing = Catalog.load(EXAMPLES / "failing.sandbox-catalog.yml")
    for catalog in (passing, failing):
        basic, dtmf = catalog.find_test(name="basic-call-a-b"), catalog.find_test(test_id=124)
        project = catalog.find_project(project_id=7)
        assert basic is not None and basic.id == 123
        assert dtmf is not None and dtmf.name == "dtmf-check"
        assert project is not None and project.name == "nightly-project"
        assert max(t.duration for t in catalog.tests) <= 3
    with SandboxServer(failing) as server:
        runs = {
            destination: trigger(
                http,
                server,
                **{"test.name": "basic-call-a-b", "step.1.0.dial_destination": destination},
            )["status_url"]
            for destination in ("439990000", "431231234")
        }
        bad, good = (wait_finished(http, url) for url in runs.values())
    assert (bad["status"], bad["result_description"]) == (
        "failed",
        "one-way audio: no RTP from callee",
    )
    assert good["status"] == "passed"


def test_the_sandbox_module_does_not_import_pytest() -> None:
    code = (
        "import sys, pytest_sipfront.sandbox.server, pytest_sipfront.sandbox.catalogschema; "
        "print('pytest' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_json_answers_are_json_with_the_sandbox_header(http: requests.Session) -> None:
    with sandbox() as server:
        answer = http.get(f"{server.base_url}/projects")
    assert json.loads(answer.content) == {"data": [], "status": 200}
    assert answer.headers["X-Sipfront-Sandbox"] == "1"


def test_every_answer_of_the_sandbox_says_it_is_a_sandbox(http: requests.Session) -> None:
    catalog = {"faults": [{"endpoint": "tests", "status": 503, "times": 1}]}
    with sandbox(catalog) as server:
        answers = [
            http.get(f"{server.base_url}/tests"),  # the fault: 503
            http.get(f"{server.base_url}/nowhere"),  # 404
            requests.get(f"{server.base_url}/projects", timeout=30),  # 401: no credentials
            http.post(
                f"{server.base_url}/tests/run",
                data=b"{",
                headers={"Content-Type": "application/json"},
            ),  # 400
            http.get(f"{server.origin}/run/details/unknown"),  # a report page, 404
            http.delete(f"{server.base_url}/tests"),  # 405
        ]
    assert [a.status_code for a in answers] == [503, 404, 401, 400, 404, 405]
    assert all(a.headers.get("X-Sipfront-Sandbox") == "1" for a in answers)
