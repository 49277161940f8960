"""Where the session's objects are found: their ``config.stash`` keys and the names they pass
to pytest-xdist workers. Its own module, so the collection classes, the gate and the records
each import it without importing one another."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_sipfront.session.gate import Gate
    from pytest_sipfront.session.records import Records
    from pytest_sipfront.settings import Settings

GATE_KEY: pytest.StashKey[Gate] = pytest.StashKey()
"""The session's gate: made when a manifest is collected or a Sipfront option needs it."""
RECORDS_KEY: pytest.StashKey[Records] = pytest.StashKey()
"""The session's records, every report's one source (made together with the gate)."""
COLLECTED_KEY = pytest.StashKey[dict[Path, Path]]()
"""Each collected manifest's resolved path and the path it was first collected by."""
BROKER_INPUT = "sipfront_broker"
"""The ``workerinput`` key that hands xdist workers the controller's broker address."""
SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
"""The session's settings, resolved (and checked) when pytest is configured."""
