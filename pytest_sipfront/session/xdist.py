"""pytest-xdist's controller: it triggers and polls every run, the workers only wait.

Imported only when pytest-xdist is loaded; the xdist package itself is never imported here.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_sipfront.session.keys import BROKER_INPUT


class XdistControllerHooks:
    """The controller's hooks: hand every worker the broker's address, and stop on SIGTERM
    like Ctrl-C once a worker has planned Sipfront runs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        from pytest_sipfront.session.hooks import open_session

        node.workerinput[BROKER_INPUT] = open_session(self.config).serve_workers()

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # The controller has no items of its own. A worker plans its Sipfront items on the
        # controller's broker before it reports its collection, so by now the controller
        # knows whether any of the collected items are Sipfront runs.
        from pytest_sipfront.session.hooks import session_hooks

        hooks = session_hooks(self.config)
        if hooks is not None and hooks.gate.runs_planned():
            hooks.signals.install()
