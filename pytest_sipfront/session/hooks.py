"""The hooks of a session with Sipfront work, registered with its gate the first time the
session needs one (a manifest collected, ``--sipfront-junit``, an xdist controller's
worker): a session without Sipfront work never loads this module."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_sipfront.session import extras
from pytest_sipfront.session.configured import session_settings
from pytest_sipfront.session.gate import Gate
from pytest_sipfront.session.items import SipfrontError, SipfrontFailure, SipfrontItem
from pytest_sipfront.session.keys import GATE_KEY, RECORDS_KEY
from pytest_sipfront.session.records import attach
from pytest_sipfront.session.signals import SignalGuard
from pytest_sipfront.session.timing import true_duration

HOOKS_NAME = "sipfront-gate"


def open_session(config: pytest.Config) -> Gate:
    """The session's gate, made and its hooks registered on first use."""
    gate = config.stash.get(GATE_KEY, None)
    if gate is not None:
        return gate
    gate = Gate(config, session_settings(config))
    config.stash[GATE_KEY] = gate
    config.stash[RECORDS_KEY] = gate.records
    config.pluginmanager.register(GateHooks(gate), HOOKS_NAME)
    # Report links, true durations and the environment for pytest-html and allure, when loaded.
    own_sandbox = gate.settings.sandbox  # (its URL is known once it runs: none is shown)
    extras.register(
        config, api_url=None if own_sandbox else gate.records.api_url, sandbox=own_sandbox
    )
    return gate


def session_hooks(config: pytest.Config) -> GateHooks | None:
    plugin = config.pluginmanager.get_plugin(HOOKS_NAME)
    return plugin if isinstance(plugin, GateHooks) else None


def one_item_per_entry(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The session's one dedup of manifest entries: one item per manifest file (by its
    device and inode, so a second path, a symlink or a hard link, is the same file) and
    entry, whatever ``--keep-duplicates`` says: one entry is one run, paid once. The later
    items are deselected."""
    seen: set[tuple[int, int, str]] = set()
    files: dict[Path, tuple[int, int]] = {}
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if isinstance(item, SipfrontItem):
            if item.path not in files:
                stat = item.path.stat()
                files[item.path] = (stat.st_dev, stat.st_ino)
            identity = (*files[item.path], item.name)
            if identity in seen:
                dropped.append(item)
                continue
            seen.add(identity)
        kept.append(item)
    if dropped:
        items[:] = kept
        config.hook.pytest_deselected(items=dropped)


class GateHooks:
    """The session's hooks, bound to its gate (one per config, so pytester runs stay apart)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.records = gate.records
        self.signals = SignalGuard(gate.records)

    def pytest_unconfigure(self) -> None:
        self.signals.restore()

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        """An xdist worker plans as soon as its items are final (every plugin has selected and
        ordered them, and before the worker reports its collection): the first worker to get
        there starts every run (all workers collect the same items) while the others still
        collect and the controller waits for them. A collection that raised plans nothing."""
        yield
        one_item_per_entry(session.config, items)
        if self.gate.is_worker and self._may_trigger(session):
            self.gate.start(session)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self._may_trigger(session) and self.gate.start(session):
            self.signals.install()

    @staticmethod
    def _may_trigger(session: pytest.Session) -> bool:
        if session.config.option.collectonly:
            return False
        # pytest stops next for collection errors: trigger nothing.
        return not session.testsfailed or bool(session.config.option.continue_on_collection_errors)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if isinstance(item, SipfrontItem):
            self._adjust(item, call, report)
            true_duration(report, item.run_outcome)  # the run's, not the wait's
            attach(item, report, sandbox=self.gate.sandbox)
        return report

    def _adjust(
        self, item: SipfrontItem, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        error = call.excinfo.value if call.excinfo is not None else None
        if (
            report.failed
            and item.run_outcome is None
            and isinstance(error, pytest.fail.Exception)
            and not isinstance(error, (SipfrontError, SipfrontFailure))
        ):
            # pytest-timeout stopped the wait: no traceback, the run's link, still going.
            assert call.excinfo is not None
            report.longrepr = self.gate.stopped_by_another_plugin(item, call.excinfo.exconly())
        if (
            report.skipped
            and isinstance(report.longrepr, tuple)
            and not hasattr(report, "wasxfail")
        ):
            # A skip raised by the item (dry run) points at the manifest entry, not at the
            # line of pytest.skip() inside the plugin.
            path, line = item.reportinfo()[:2]
            report.longrepr = (str(path), line + 1, report.longrepr[2])

    @pytest.hookimpl(trylast=True)  # after pytest's session has counted the item
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.records.logreport(report)
        session = self.gate.config.pluginmanager.get_plugin("session")
        if isinstance(session, pytest.Session):
            self.gate.judged(report, session)

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self) -> None:
        self.records.interrupted = True

    @pytest.hookimpl(tryfirst=True)  # before xdist tears down workers still waiting on us
    def pytest_sessionfinish(self) -> None:
        with self.signals.held():
            self.gate.finish()
        self.signals.restore()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        title, lines = self.records.summary_lines()
        if lines:
            terminalreporter.write_sep("=", title)
            for line in lines:
                terminalreporter.write_line(line)
