"""The session's settings, read from pytest's command line and ini and the environment through
the one table (:data:`pytest_sipfront.options.SETTINGS`), resolved once per session.

The entry point resolves them when pytest is configured if any of them is given, so a bad
value stops pytest before anything runs; a session given none resolves them (to the defaults)
only when it first has Sipfront work.
"""

from __future__ import annotations

import os

import pytest

from pytest_sipfront.options import SETTINGS
from pytest_sipfront.session.keys import SETTINGS_KEY
from pytest_sipfront.settings import Settings, SettingsError, resolve


def session_settings(config: pytest.Config) -> Settings:
    """The settings of ``config``'s session; a bad value is a usage error naming its source."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is not None:
        return settings
    cli = {s.name: config.getoption(s.dest) for s in SETTINGS if s.option}
    ini = {s.name: config.getini(s.ini) for s in SETTINGS if s.ini and s.parse != "patterns"}
    try:
        settings = resolve(cli, ini, os.environ)
    except (SettingsError, ValueError) as error:
        raise pytest.UsageError(f"pytest-sipfront: {error}") from None
    config.stash[SETTINGS_KEY] = settings
    return settings
