"""pytest hooks for Sipfront manifests: thin, everything else lives in plain modules.

This module is loaded in every pytest session of the environment, so at import it loads only
pytest and the table of settings (:mod:`pytest_sipfront.options`, plain data). The settings are
resolved when one of them is given; the manifest claim when a YAML file is collected; the gate
and its hooks (:mod:`pytest_sipfront.session.hooks`) when the session first needs them: a
manifest is collected, ``--sipfront-junit`` or ``--sipfront-json`` asks for a report, an xdist
controller starts a worker, or a test uses the ``sipfront`` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.options import SETTINGS, help_text

if TYPE_CHECKING:
    from pytest_sipfront.session.items import ManifestFile
    from pytest_sipfront.session.python_runs import SessionSipfront


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sipfront", "Sipfront runs from YAML manifests")
    for setting in SETTINGS:
        text = help_text(setting)
        if setting.option and setting.parse == "flag":
            group.addoption(setting.option, action="store_true", default=False, help=text)
        elif setting.option:
            group.addoption(
                setting.option, dest=setting.dest, default=None, metavar=setting.metavar, help=text
            )
        if setting.ini and isinstance(setting.default, tuple):  # a list of patterns
            parser.addini(setting.ini, type="args", default=list(setting.default), help=text)
        elif setting.ini:
            parser.addini(setting.ini, help=text, default=None)


def _given(config: pytest.Config) -> bool:
    """Whether any setting is given on the command line, in the ini file or the environment."""
    return any(
        (setting.option and config.getoption(setting.dest))
        or (setting.env and os.environ.get(setting.env, "").strip())
        or (setting.ini and setting.parse != "patterns" and config.getini(setting.ini))
        for setting in SETTINGS
    )


def pytest_configure(config: pytest.Config) -> None:
    if _given(config):
        # Resolved now, so that a bad value stops pytest before anything runs; a session given
        # none resolves the defaults when it first has Sipfront work.
        from pytest_sipfront.session.configured import session_settings

        settings = session_settings(config)
        if settings.detach:
            from pytest_sipfront.session.ledger import detach_problem

            problem = detach_problem(config)
            if problem:
                raise pytest.UsageError(f"pytest-sipfront: {problem}")
        if settings.junit or settings.json:  # written even when no manifest is collected
            from pytest_sipfront.session.hooks import open_session

            open_session(config)
    if hasattr(config.hook, "pytest_configure_node") and not hasattr(config, "workerinput"):
        # pytest-xdist is loaded (under whatever plugin name): this may be its controller.
        from pytest_sipfront.session.xdist import XdistControllerHooks

        config.pluginmanager.register(XdistControllerHooks(config), "sipfront-xdist")


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not _given(config):  # (a ledger is a setting given)
        return []
    from pytest_sipfront.session.configured import session_settings

    settings = session_settings(config)
    if not settings.ledger:
        return []
    from pytest_sipfront.session.ledger import header

    return header(config, settings)


@pytest.fixture
def sipfront(request: pytest.FixtureRequest) -> Iterator[SessionSipfront]:
    """Trigger Sipfront runs from this test: ``sipfront.run("basic-call-a-b", overrides=...)``,
    ``sipfront.start(...)``, ``run_project`` / ``start_project``; ``result.check()`` fails the
    test with the gate's message and detail block."""
    from pytest_sipfront.session.fixture import session_runs

    yield from session_runs(request)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ManifestFile | None:
    if file_path.suffix not in (".yml", ".yaml"):
        return None
    from pytest_sipfront.session.collect import manifest_file

    return manifest_file(file_path, parent)
