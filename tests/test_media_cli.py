"""``sipfront stats``: a run's media metrics as Sipfront returned them (``--raw``) and as the
gate reads them (a table, ``--json``), against the sandbox; and ``sipfront sim`` serves them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
import requests
from sandbox_keys import keys_of

from pytest_sipfront.cli import main
from pytest_sipfront.sandbox import SandboxServer

Factory = Callable[..., SandboxServer]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def session_id(sipfront_sandbox: Factory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A run of the jitter-spike test (series bodies in the ``pairs`` shape) in a sandbox named
    by SIPFRONT_API_URL, its keys in the environment."""
    server = sipfront_sandbox(
        {
            "tests": [{"name": "call", "duration": "0.1s", "media": "jitter_spike"}],
            "behaviour": {"media_shape": "pairs"},
        }
    )
    public, secret = keys_of(server)
    monkeypatch.setenv("SIPFRONT_API_URL", server.base_url)
    monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", public)
    monkeypatch.setenv("SIPFRONT_SECRET_KEY", secret)
    answer = requests.post(
        server.base_url + "/tests/run",
        json={"test.name": "call"},
        auth=(public, secret),
        timeout=10,
    )
    return str(answer.json()["data"]["session_id"])


def test_stats_prints_a_table_of_every_dimension(session_id: str) -> None:
    code, out, err = run_cli("stats", session_id)
    assert (code, err) == (0, "")
    rows = [line.split() for line in out.splitlines()]
    assert rows[0][:3] == ["measure", "role", "dir"]
    assert ["rtp_jitter", "callee", "in", "60", "4", "5", "80", "80", "12.5", "ms"] in rows
    assert len(rows) == 1 + 12


def test_stats_raw_prints_the_series_bodies_as_sipfront_sent_them(session_id: str) -> None:
    code, out, _ = run_cli("stats", session_id, "--measure", "rtp_jitter", "--raw")
    assert code == 0
    assert out.count("--- rtp_jitter role=") == 4
    assert '{"data": [[1765000000, 4.0], [1765000001, 5.0]' in out


def test_stats_raw_without_a_measure_prints_the_dimensions_body(session_id: str) -> None:
    code, out, _ = run_cli("stats", session_id, "--raw")
    assert code == 0
    assert json.loads(out)["stats_dimensions"][0] == {
        "dir": "in",
        "role": "caller",
        "stats_measure": "rtp_jitter",
    }


def test_stats_json_gives_the_summaries(session_id: str) -> None:
    code, out, _ = run_cli("stats", session_id, "--measure", "mos", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["session_id"] == session_id
    assert {s["measure"] for s in data["summaries"]} == {"mos"}
    assert data["summaries"][0]["count"] == 60


def test_stats_of_an_unknown_run_says_why_and_exits_2(session_id: str) -> None:
    code, out, err = run_cli("stats", "no-such-run")
    assert code == 2
    assert out == ""
    assert err == "sipfront: the stats request failed: HTTP 404: Run not found\n"


def test_stats_without_credentials_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIPFRONT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("SIPFRONT_SECRET_KEY", raising=False)
    code, _, err = run_cli("stats", "abc")
    assert code == 2
    assert "No Sipfront credentials" in err
