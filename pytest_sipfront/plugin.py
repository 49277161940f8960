"""pytest hooks for Sipfront manifests: thin, everything else lives in plain modules.

This module is loaded in every pytest session of the environment, so it imports only pytest
and the plugin's option and setting definitions. The gate and its hooks
(:mod:`pytest_sipfront.session.hooks`) are made when the session first needs them: a manifest
is collected, ``--sipfront-junit`` asks for a report, or an xdist controller starts a worker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.manifest.claim import DEFAULT_PATTERNS, looks_like_manifest, matches
from pytest_sipfront.session.keys import COLLECTED_KEY, SETTINGS_KEY
from pytest_sipfront.settings import SETTING_HELP, SettingsError, ini_name, option_name, resolve

if TYPE_CHECKING:
    from pytest_sipfront.session.items import ManifestFile


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sipfront", "Sipfront runs from YAML manifests")
    for setting, text in SETTING_HELP.items():
        group.addoption(option_name(setting), dest=f"sipfront_{setting}", default=None, help=text)
        parser.addini(ini_name(setting), help=text, default=None)
    group.addoption(
        "--sipfront-sandbox",
        action="store_true",
        default=False,
        help="run against the built-in sandbox server, not Sipfront",
    )
    group.addoption(
        "--sipfront-sandbox-catalog",
        default=None,
        metavar="FILE",
        help="sandbox catalog YAML (implies --sipfront-sandbox)",
    )
    group.addoption(
        "--sipfront-dry-run",
        action="store_true",
        default=False,
        help="resolve every run request and report it as skipped; send nothing",
    )
    parser.addini(
        "sipfront_files",
        type="args",
        default=list(DEFAULT_PATTERNS),
        help="file name patterns of Sipfront manifests",
    )


def pytest_configure(config: pytest.Config) -> None:
    cli = {s: config.getoption(f"sipfront_{s}") for s in SETTING_HELP}
    ini = {s: config.getini(ini_name(s)) for s in SETTING_HELP}
    try:
        settings = resolve(
            cli,
            ini,
            os.environ,
            sandbox=config.getoption("sipfront_sandbox"),
            sandbox_catalog=config.getoption("sipfront_sandbox_catalog"),
            dry_run=config.getoption("sipfront_dry_run"),
        )
    except (SettingsError, ValueError) as error:
        raise pytest.UsageError(f"pytest-sipfront: {error}") from None
    config.stash[SETTINGS_KEY] = settings
    # The ``sipfront`` fixture (runs from Python); that module imports nothing heavy.
    config.pluginmanager.import_plugin("pytest_sipfront.session.fixture")
    if settings.junit or settings.json:  # written even when no manifest is collected
        from pytest_sipfront.session.hooks import open_session

        open_session(config)
    if hasattr(config.hook, "pytest_configure_node") and not hasattr(config, "workerinput"):
        # pytest-xdist is loaded (under whatever plugin name): this may be its controller.
        from pytest_sipfront.session.xdist import XdistControllerHooks

        config.pluginmanager.register(XdistControllerHooks(config), "sipfront-xdist")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ManifestFile | None:
    if file_path.suffix not in (".yml", ".yaml"):
        return None
    config = parent.config
    claimed = matches(file_path, config.getini("sipfront_files"))
    if not claimed:
        named = {
            (config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args
        }
        # Named on the command line under another name: ours only if it reads like a
        # manifest; any other YAML file (a tavern test, say) is left to the other plugins.
        claimed = file_path.resolve() in named and looks_like_manifest(file_path)
    if not claimed:
        return None
    # One entry is one run: a manifest reached by a second path (a symlink) is not collected
    # again, or its runs would be triggered (and paid) twice. The same path may be collected
    # more than once (pytest walks a folder once per argument naming a file in it); only
    # another path to the same file is left out.
    first_path = config.stash.setdefault(COLLECTED_KEY, {}).setdefault(
        file_path.resolve(), file_path
    )
    if first_path != file_path:
        return None
    from pytest_sipfront.session.hooks import open_session
    from pytest_sipfront.session.items import ManifestFile

    open_session(config)
    return ManifestFile.from_parent(parent, path=file_path)
