"""Shared fixtures: a sandbox Sipfront server per test, and a way to run a pytest session
against it through ``pytester``.

``sipfront_sandbox(catalog_dict=None, *, public_key=..., secret_key=...)`` starts a
:class:`SandboxServer` on loopback (stopped after the test) with distinctive credentials;
``run_gate(manifest_text, *args, server=..., env=None, subprocess=False)`` writes
``sipfront.yml`` in ``pytester.path``, sets ``SIPFRONT_PUBLIC_KEY`` / ``SIPFRONT_SECRET_KEY``
to the server's keys, points ``--sipfront-url`` at it and runs pytest; it also asserts that
neither key appears in the output.
"""

from __future__ import annotations

import importlib
import signal
import textwrap
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from sandbox_keys import PUBLIC_KEY, SECRET_KEY, keys_of

from pytest_sipfront.sandbox import Catalog, SandboxServer

# The plugin imports its run service, HTTP client and report writers only when a session needs
# them. pytester's in-process runs drop every module first imported inside them, so a later run
# would import requests anew next to leftovers of the old copy: load them here, once, instead.
# The stop-signal tests send SIGHUP to child sessions and expect what a terminal gives them:
# SIGHUP at its default. Under `nohup` (or a CI runner that ignores it) the ignore is inherited
# by every child, which then survives the signal: give the children the default again.
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

for _module in (
    "runs.broker",
    "reports.github",
    "reports.junit",
    "manifest.loader",
    "runs.service",
    "runs.scheduler",
    "api.client",
):
    importlib.import_module(f"pytest_sipfront.{_module}")

# Fast settings added to every run unless the test passes the option itself (or fast=False).
FAST_OPTIONS: dict[str, str] = {
    "--sipfront-poll-interval": "0.2s",
    "--sipfront-max-rps": "200",
}

SandboxFactory = Callable[..., SandboxServer]
GateRunner = Callable[..., pytest.RunResult]


@pytest.fixture
def sipfront_sandbox() -> Iterator[SandboxFactory]:
    """Factory: ``sipfront_sandbox(catalog_dict=None) -> SandboxServer``, started, auto-stopped.

    The server's keys are ``server.test_public_key`` / ``server.test_secret_key``.
    """
    servers: list[SandboxServer] = []

    def start(
        catalog_dict: Mapping[str, Any] | None = None,
        *,
        public_key: str = PUBLIC_KEY,
        secret_key: str = SECRET_KEY,
    ) -> SandboxServer:
        catalog = Catalog.from_dict(dict(catalog_dict or {}))
        server = SandboxServer(catalog, public_key=public_key, secret_key=secret_key)
        server.test_public_key = public_key  # type: ignore[attr-defined]
        server.test_secret_key = secret_key  # type: ignore[attr-defined]
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


def assert_no_secrets(result: pytest.RunResult, *secrets: str) -> None:
    """Neither credential may appear anywhere in the session's output."""
    text = "\n".join(result.outlines + result.errlines)
    for secret in secrets:
        assert secret not in text, "a credential leaked into the output"


@pytest.fixture
def run_gate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GateRunner:
    """``run_gate(manifest_text, *args, server, env=None, subprocess=False) -> RunResult``.

    - ``manifest_text`` is dedented and written to ``sipfront.yml`` (``None``: write nothing);
    - credentials are the server's keys; ``env`` adds or (with ``None`` values) removes
      variables, e.g. ``env={"SIPFRONT_SECRET_KEY": None}``;
    - ``--sipfront-url <server.base_url>`` unless ``server`` is ``None`` or ``url=False``;
    - ``-p no:cacheprovider`` unless ``cache=True``; always ``-p no:hypothesispytest`` (slow);
    - fast defaults (poll interval 0.2s, high rate limit) unless ``fast=False`` or the option
      is already among ``args``;
    - ``check_secrets=False`` skips the check that no key string is in the output.
    """

    def run(
        manifest_text: str | None,
        *args: str,
        server: SandboxServer | None,
        env: Mapping[str, str | None] | None = None,
        subprocess: bool = False,
        cache: bool = False,
        fast: bool = True,
        url: bool = True,
        check_secrets: bool = True,
        timeout: float | None = 60,
    ) -> pytest.RunResult:
        if manifest_text is not None:
            pytester.path.joinpath("sipfront.yml").write_text(
                textwrap.dedent(manifest_text), encoding="utf-8"
            )
        public, secret = keys_of(server)
        monkeypatch.setenv("SIPFRONT_PUBLIC_KEY", public)
        monkeypatch.setenv("SIPFRONT_SECRET_KEY", secret)
        monkeypatch.delenv("SIPFRONT_API_URL", raising=False)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        for name, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        full: list[str] = []
        if server is not None and url:
            full += ["--sipfront-url", server.base_url]
        if not cache:
            full += ["-p", "no:cacheprovider"]
        # Hypothesis' plugin re-imports hypothesis in every in-process session (~2 s): not needed.
        full += ["-p", "no:hypothesispytest"]
        if fast:
            for option, value in FAST_OPTIONS.items():
                if not any(a == option or a.startswith(option + "=") for a in args):
                    full += [option, value]
        full += list(args)
        if subprocess:
            result = pytester.runpytest_subprocess(*full, timeout=timeout)
        else:
            result = pytester.runpytest(*full)
        if check_secrets:
            assert_no_secrets(result, public, secret)
        return result

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """No test of this suite may hang CI: 120 s each (pytest-timeout comes with the test extra).
    Set here, not in pyproject.toml's ini, so that the quick start (the package
    without the test extra) runs without an 'unknown config option' warning."""
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))
