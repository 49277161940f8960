"""The sandbox's ``status/last`` endpoints: the earlier run its catalog gives a test or project,
then the latest run it started itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from pytest_sipfront.sandbox import Catalog, CatalogError, SandboxServer

AUTH = (SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY)

CATALOG: dict[str, Any] = {
    "tests": [
        {
            "name": "was-failing",
            "id": 5,
            "previous": {
                "outcome": "failed",
                "result_description": "carrier outage (SIP 503)",
                "duration": "1m55s",
                "stopped_at": "2026-11-30 08:12:00",
            },
        },
        {"name": "was-passing", "id": 6, "previous": "passed"},
        {"name": "garbled", "id": 7, "previous": "malformed"},
        {"name": "blank", "id": 8, "previous": "empty"},
        {"name": "still-going", "id": 9, "previous": "running"},
        {"name": "never-ran", "id": 10, "duration": "30s"},
    ],
    "projects": [{"name": "nightly", "id": 3, "previous": {"outcome": "passed", "duration": 40}}],
}


@contextmanager
def sandbox() -> Iterator[tuple[SandboxServer, str, requests.Session]]:
    server = SandboxServer(Catalog.from_dict(CATALOG, source="test.catalog.yml"))
    with server, requests.Session() as http:
        http.auth = AUTH
        yield server, server.base_url, http


def test_a_previous_failed_run_is_answered_like_a_run_status_with_its_times() -> None:
    with sandbox() as (server, base, http):
        answer = http.get(f"{base}/tests/5/status/last")
        run = answer.json()["run"]
        assert answer.status_code == 200
        assert (run["status"], run["has_passed"], run["is_failed"], run["is_finished"]) == (
            "failed",
            0,
            1,
            1,
        )
        assert run["result_description"] == "carrier outage (SIP 503)"
        assert (run["started_at"], run["stopped_at"]) == (
            "2026-11-30 08:10:05",
            "2026-11-30 08:12:00",
        )
        assert run["report_url"].startswith(server.origin)
        assert server.count("tests.last") == 1


def test_none_is_a_404_empty_an_empty_object_and_malformed_no_json() -> None:
    with sandbox() as (_server, base, http):
        assert http.get(f"{base}/tests/10/status/last").status_code == 404
        assert http.get(f"{base}/tests/404404/status/last").status_code == 404
        blank = http.get(f"{base}/tests/8/status/last")
        assert (blank.status_code, blank.json()) == (200, {})
        garbled = http.get(f"{base}/tests/7/status/last")
        assert garbled.status_code == 200
        with pytest.raises(ValueError):
            garbled.json()
        going = http.get(f"{base}/tests/9/status/last").json()["run"]
        assert (going["status"], going["is_finished"]) == ("running", 0)


def test_projects_have_a_last_run_too() -> None:
    with sandbox() as (server, base, http):
        run = http.get(f"{base}/projects/3/status/last").json()["run"]
        assert (run["run_status"], run["project_id"], run["has_passed"]) == ("passed", 3, 1)
        assert server.count("projects.last") == 1


def test_after_the_sandbox_ran_a_test_its_latest_run_is_the_last_one() -> None:
    with sandbox() as (_server, base, http):
        started = http.post(f"{base}/tests/run", json={"test.name": "never-ran"}).json()["data"]
        run = http.get(f"{base}/tests/10/status/last").json()["run"]
        assert (run["session_id"], run["status"], run["is_finished"]) == (
            started["session_id"],
            "running",
            0,
        )
        assert run["report_url"] == started["report_url"]


def test_a_fault_can_hit_the_last_run_endpoint_of_one_test() -> None:
    data = dict(CATALOG, faults=[{"endpoint": "tests.last", "status": 500, "test": "was-passing"}])
    server = SandboxServer(Catalog.from_dict(data))
    with server, requests.Session() as http:
        http.auth = AUTH
        assert http.get(f"{server.base_url}/tests/5/status/last").status_code == 200
        assert http.get(f"{server.base_url}/tests/6/status/last").status_code == 500
        assert http.get(f"{server.base_url}/tests/6/status/last").status_code == 200


def test_a_bad_previous_in_the_catalog_names_its_place() -> None:
    with pytest.raises(CatalogError, match=r"tests\[0\]\.previous: unknown key 'when'"):
        Catalog.from_dict({"tests": [{"name": "a", "previous": {"when": 1}}]})
    with pytest.raises(CatalogError, match=r"tests\[0\]\.previous\.duration"):
        Catalog.from_dict({"tests": [{"name": "a", "previous": {"duration": "soon"}}]})
