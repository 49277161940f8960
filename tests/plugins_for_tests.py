"""conftest.py texts that test sessions load: other plugins a gate must live with."""

from __future__ import annotations

# Another plugin that takes a moment to report a failure (a slow JUnit writer, an uploader, a
# chat notification): it widens the window between a run's verdict and pytest deciding to stop
# (-x, --maxfail), which is otherwise a race of a few milliseconds. The gate's scheduler itself
# must stop starting runs.
SLOW_REPORTER = """\
import time

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        time.sleep(0.5)
"""
