"""The sandbox's endpoints, in one table: name, method, path, and what answers them.

Adding an endpoint is one row here and the :class:`~.behaviour.ApiState` method the row names
(``answer(call) -> Answer``; ``concerns(call) -> names`` when a catalog fault's ``test:`` may
select its requests). The row's name is the one request records and catalog faults use. A path
part written ``:name`` is a parameter, handed to the method as ``call.params["name"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v2"
SANDBOX_HEADER = "X-Sipfront-Sandbox"
"""Sent with every answer (faults' too): a client that sees it talks to a sandbox."""


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of the sandbox; see the module docstring."""

    name: str
    method: str
    path: str
    answer: str
    """The :class:`~.behaviour.ApiState` method that answers a request to it."""
    concerns: str = ""
    """The :class:`~.behaviour.ApiState` method naming the tests or projects a request
    concerns (a fault's ``test:``); empty: none."""
    public: bool = False
    """Answered without credentials (report pages, as on Sipfront)."""
    parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(p for p in self.path.split("/") if p))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The parameters of a request path split at ``/``, or ``None`` when it is not this."""
        if len(parts) != len(self.parts):
            return None
        params: dict[str, str] = {}
        for mine, given in zip(self.parts, parts, strict=True):
            if mine.startswith(":"):
                params[mine[1:]] = given
            elif mine != given:
                return None
        return params


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("index", "GET", API_PREFIX, "index"),
    Endpoint("tests", "GET", f"{API_PREFIX}/tests", "test_listing"),
    Endpoint("projects", "GET", f"{API_PREFIX}/projects", "project_listing"),
    Endpoint("tests.run", "POST", f"{API_PREFIX}/tests/run", "trigger_test", "test_trigger_names"),
    Endpoint(
        "projects.run",
        "POST",
        f"{API_PREFIX}/projects/run",
        "trigger_project",
        "project_trigger_names",
    ),
    Endpoint("runs.status", "GET", f"{API_PREFIX}/runs/:key/status", "run_status", "run_names"),
    Endpoint(
        "tests.last", "GET", f"{API_PREFIX}/tests/:id/status/last", "last_test_run", "test_names"
    ),
    Endpoint(
        "projects.last",
        "GET",
        f"{API_PREFIX}/projects/:id/status/last",
        "last_project_run",
        "project_names",
    ),
    Endpoint("runs.stats", "GET", f"{API_PREFIX}/runs/:key/stats", "run_stats", "run_names"),
    Endpoint(
        "runs.stats.measure",
        "GET",
        f"{API_PREFIX}/runs/:key/stats/:measure",
        "run_series",
        "run_names",
    ),
    Endpoint("report", "GET", "/run/details/:key", "report_page", "run_names", public=True),
    Endpoint("report", "GET", "/kiosk/:token/:key", "report_page", "run_names", public=True),
)
"""Every endpoint the sandbox answers; a request matching none is ``other`` (404)."""

ENDPOINT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(e.name for e in ENDPOINTS))
"""Endpoint names of request records (plus ``"other"``) and of catalog faults."""
TRIGGERS: tuple[str, ...] = tuple(e.name for e in ENDPOINTS if e.method == "POST")
"""The endpoints that start runs (the only ones that take a POST)."""


@dataclass(frozen=True)
class Call:
    """One request as an endpoint's method sees it."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)
    """A POST's body, flattened (``test.name``)."""
    query: str = ""
    """The query string, as sent (a series' ``role`` and ``dir``)."""


def route(path: str) -> tuple[Endpoint | None, dict[str, str]]:
    """The endpoint a request path names and its parameters; ``(None, {})`` for none."""
    parts = [p for p in path.split("/") if p]
    for endpoint in ENDPOINTS:
        params = endpoint.match(parts)
        if params is not None:
            return endpoint, params
    return None, {}


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")
