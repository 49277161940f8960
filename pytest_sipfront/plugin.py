"""pytest hooks for Sipfront manifests: thin, everything else lives in plain modules."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from _pytest.outcomes import Failed

from pytest_sipfront.manifest.claim import DEFAULT_PATTERNS, looks_like_manifest, matches
from pytest_sipfront.session import extras
from pytest_sipfront.session.gate import BROKER_INPUT, GATE_KEY, Gate
from pytest_sipfront.session.items import ManifestFile, SipfrontError, SipfrontFailure, SipfrontItem
from pytest_sipfront.settings import SETTING_HELP, SettingsError, ini_name, option_name, resolve


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
        gate = Gate(config, settings)
    except (SettingsError, ValueError) as error:
        raise pytest.UsageError(f"pytest-sipfront: {error}") from None
    config.stash[GATE_KEY] = gate
    config.pluginmanager.register(GateHooks(gate), "sipfront-gate")
    extras.register(config)  # report links for pytest-html and allure-pytest, when loaded
    # The ``sipfront`` fixture (runs from Python); that module imports nothing heavy.
    config.pluginmanager.import_plugin("pytest_sipfront.session.fixture")
    if hasattr(config.hook, "pytest_configure_node") and not gate.is_worker:
        # pytest-xdist is loaded (under whatever plugin name): this may be its controller.
        config.pluginmanager.register(XdistControllerHooks(gate), "sipfront-xdist")


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
    return ManifestFile.from_parent(parent, path=file_path)


COLLECTED_KEY = pytest.StashKey[dict[Path, Path]]()


class GateHooks:
    """The session's hooks, bound to its gate (one per config, so pytester runs stay apart)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.signals = SignalGuard(gate)

    def pytest_unconfigure(self) -> None:
        self.signals.restore()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            return
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return  # pytest stops next for the collection errors: trigger nothing
        if self.gate.start(session):
            self.signals.install()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        result = yield
        if isinstance(item, SipfrontItem):
            report = result.get_result()
            error = call.excinfo.value if call.excinfo is not None else None
            if (
                report.failed
                and item.run_outcome is None
                and isinstance(error, Failed)
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
                # A skip raised by the item (dry run) points at the manifest entry, not at
                # the line of pytest.skip() inside the plugin.
                path, line = item.reportinfo()[:2]
                report.longrepr = (str(path), line + 1, report.longrepr[2])
            self.gate.attach(item, report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.gate.logreport(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self) -> None:
        self.gate.interrupted = True

    @pytest.hookimpl(tryfirst=True)  # before xdist tears down workers still waiting on us
    def pytest_sessionfinish(self) -> None:
        with self.signals.ignored():
            self.gate.finish()
        self.signals.restore()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        title, lines = self.gate.summary_lines()
        if lines:
            terminalreporter.write_sep("=", title)
            for line in lines:
                terminalreporter.write_line(line)


class XdistControllerHooks:
    """pytest-xdist's controller: it triggers and polls every run, the workers only wait."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[BROKER_INPUT] = self.gate.serve_workers()

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # The controller has no items of its own: a manifest among the workers' items means
        # Sipfront runs are planned (only manifests are collected from .yml/.yaml files).
        if any(nodeid.split("::")[0].endswith((".yml", ".yaml")) for nodeid in ids):
            plugin = self.gate.config.pluginmanager.get_plugin("sipfront-gate")
            if isinstance(plugin, GateHooks):
                plugin.signals.install()


class SignalGuard:
    """SIGTERM and SIGHUP (a cancelled CI job, a closed terminal) stop the session like Ctrl-C,
    but only while Sipfront runs are planned or going: from the run loop start of a session
    with Sipfront items until its reports are written. Outside that window the process keeps
    whatever handler it had (without one it dies at once, as without the plugin)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        if self.previous:
            return
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) != signal.SIG_DFL:
                continue  # someone else (or nohup) decided about this signal: leave it
            with contextlib.suppress(ValueError):  # ValueError: not the main thread
                self.previous[signum] = signal.signal(signum, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Stop like Ctrl-C, once: while the session is already stopping (a first signal, the
        reports being written) another signal must not break that."""
        if (
            self.gate.interrupted
            or self.gate.finished
            or isinstance(sys.exc_info()[1], KeyboardInterrupt)
        ):
            return
        self.gate.interrupted = True
        raise KeyboardInterrupt(signal.Signals(signum).name)

    @contextlib.contextmanager
    def ignored(self) -> Generator[None, None, None]:
        """While the reports are written, Ctrl-C and the stop signals wait: a half-written
        report (and a long traceback) helps nobody; writing takes a moment."""
        saved: dict[int, Any] = {}
        if self.previous:
            for name in ("SIGINT", *STOP_SIGNALS):
                signum = getattr(signal, name, None)
                if signum is None:
                    continue
                with contextlib.suppress(ValueError):
                    saved[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            yield
        finally:
            for signum, handler in saved.items():
                with contextlib.suppress(ValueError):
                    signal.signal(signum, handler)

    def restore(self) -> None:
        previous, self.previous = self.previous, {}
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError):
                signal.signal(signum, handler)


STOP_SIGNALS = ("SIGTERM", "SIGHUP")
