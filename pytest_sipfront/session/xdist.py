"""pytest-xdist's controller: it triggers and polls every run, the workers only wait.

Imported only when pytest-xdist is loaded; the xdist package itself is never imported here.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_sipfront.session.keys import BROKER_INPUT


class XdistControllerHooks:
    """The controller's hooks: hand every worker the broker's address, and stop on SIGTERM
    and SIGHUP like Ctrl-C once a worker has planned Sipfront runs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        from pytest_sipfront.session.hooks import open_session, session_hooks

        gate = open_session(self.config)
        node.workerinput[BROKER_INPUT] = gate.serve_workers()
        # Runs are planned on the broker's threads (a manifest's at a worker's collection, a
        # fixture's at any time), where no signal handler can be installed: the handler is
        # in place before any worker starts and stops the session once runs are planned.
        hooks = session_hooks(self.config)
        if hooks is not None:
            hooks.signals.install(active=gate.runs_planned)
