"""Sipfront report links where other plugins show results: pytest-html's extras and
allure-pytest's links, parameters and attachments.

Neither plugin is a dependency. These hooks are registered only when the plugin is loaded
(pytest-html) or writing results (allure-pytest with ``--alluredir``), and neither package is
imported otherwise.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Generator

import pytest

from pytest_sipfront.durations import format_duration
from pytest_sipfront.media.render import csv_text, svg_chart
from pytest_sipfront.runs.messages import NOTHING_TESTED, full_text, ledger_case, timing_line
from pytest_sipfront.runs.outcome import RunOutcome
from pytest_sipfront.sanitize import clean_http_url, escape_html
from pytest_sipfront.session.items import SipfrontItem
from pytest_sipfront.session.timing import run_seconds


def register(config: pytest.Config, *, api_url: str | None, sandbox: bool) -> None:
    manager = config.pluginmanager
    environment = session_environment(api_url, sandbox)
    if manager.hasplugin("metadata"):  # pytest-html's Environment table
        add_metadata(config, environment)
    if manager.hasplugin("html"):
        manager.register(HtmlExtras(), "sipfront-html")
    alluredir = config.getoption("allure_report_dir", None)
    if manager.hasplugin("allure_pytest") and alluredir:
        manager.register(AllureExtras(config, str(alluredir), environment), "sipfront-allure")


def update_environment(config: pytest.Config, *, api_url: str | None, sandbox: bool) -> None:
    """At the session's end, when the gate knows whether it talked to a sandbox (a
    ``sipfront sim`` server says so in its answers): the environment the reports show."""
    environment = session_environment(api_url, sandbox)
    manager = config.pluginmanager
    if manager.hasplugin("metadata"):
        add_metadata(config, environment)
    allure = manager.get_plugin("sipfront-allure")
    if isinstance(allure, AllureExtras):
        allure.environment = environment


def session_environment(api_url: str | None, sandbox: bool) -> dict[str, str]:
    """What the reports' environment says of Sipfront: the API (never credentials; ``None``:
    the sandbox inside this process) and, in a sandbox session, that nothing was tested."""
    environment = {"Sipfront API": "sandbox (loopback)"}
    if api_url is not None:
        from pytest_sipfront.reports.junit import public_api_url

        environment["Sipfront API"] = public_api_url(api_url)
    if sandbox:
        environment["Sipfront"] = NOTHING_TESTED
    return environment


def add_metadata(config: pytest.Config, environment: dict[str, str]) -> None:
    """Into pytest-metadata's table (which pytest-html shows as its Environment)."""
    try:
        from pytest_metadata.plugin import metadata_key  # type: ignore[import-untyped]
    except ImportError:  # pytest-metadata before 3.0
        metadata = getattr(config, "_metadata", None)
    else:
        metadata = config.stash.get(metadata_key, None)
    if isinstance(metadata, dict):
        metadata.update(environment)


def write_allure_environment(alluredir: str, environment: dict[str, str]) -> None:
    """Into ``environment.properties`` of the allure results, keeping the entries already there
    (allure-pytest has no environment of its own; teams write this file)."""
    path = os.path.join(alluredir, "environment.properties")
    lines: list[str] = []
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as stream:
        lines = [
            line.rstrip("\n")
            for line in stream
            if line.split("=", 1)[0].strip().replace("\\ ", " ") not in environment
        ]
    for key, value in environment.items():
        lines.append(f"{_property_text(key, key=True)}={_property_text(value)}")
    os.makedirs(alluredir, exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


def _property_text(text: str, *, key: bool = False) -> str:
    """A ``.properties`` value (or key): backslashes, line breaks and, in keys, spaces, ``=``
    and ``:`` escaped."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        text = text.replace(" ", "\\ ").replace("=", "\\=").replace(":", "\\:")
    return text


def links(item: SipfrontItem, outcome: RunOutcome) -> list[tuple[str, str]]:
    """``(name, url)`` per attempt that has a report link; the name carries the item's name
    (matrix values included) and the session id."""
    found = []
    attempts = [a for a in outcome.attempts if a.report_url]
    for number, attempt in enumerate(attempts, 1):
        name = f"Sipfront report: {item.name}"
        if attempt.session_id:
            name += f" (session {attempt.session_id})"
        if len(attempts) > 1:
            name += f", attempt {number}"
        if outcome.ledger:
            name += f", {ledger_case(outcome)}"
        found.append((name, str(attempt.report_url)))
    return found


def _new_outcome(item: pytest.Item, seen: dict[str, int]) -> tuple[SipfrontItem, RunOutcome] | None:
    """The item's outcome the first time a report can carry it (a rerun brings a new one)."""
    if not isinstance(item, SipfrontItem) or item.run_outcome is None:
        return None
    outcome = item.run_outcome
    if seen.get(item.nodeid) == id(outcome):
        return None
    seen[item.nodeid] = id(outcome)
    return item, outcome


class _ReportExtras:
    """Adds what a run shows to another plugin's report, once per run outcome (a rerun's new
    outcome adds its own)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        found = _new_outcome(item, self.seen)
        if found is not None:
            self.show(*found, report)
        return report

    def show(self, item: SipfrontItem, outcome: RunOutcome, report: pytest.TestReport) -> None:
        raise NotImplementedError


class HtmlExtras(_ReportExtras):
    def show(self, item: SipfrontItem, outcome: RunOutcome, report: pytest.TestReport) -> None:
        # pytest-html puts an extra's name and content into its HTML as they are: both go
        # through the one HTML escaper (a session id or link from Sipfront may carry markup).
        extras = list(getattr(report, "extras", []))
        for name, url in links(item, outcome):
            link = clean_http_url(url)
            if link is None:
                continue
            extras.append(
                {
                    "name": escape_html(name),
                    "format_type": "url",
                    "content": escape_html(link),
                    "extension": "",
                }
            )
        if outcome.attempts:
            # The row's duration is the run's own; the wait is said apart.
            text = timing_line(run_seconds(outcome), outcome.wait_s)
            extras.append(
                {
                    "name": "Sipfront timing",
                    "format_type": "html",
                    "content": f"<div>{escape_html(text)}</div>",
                    "extension": "",
                }
            )
        worst = outcome.media.worst() if outcome.media is not None else None
        if worst is not None:  # markup of our own; every text in it escaped by svg_chart
            svg = svg_chart(worst)
            extras.append({"name": "media", "format_type": "html", "content": svg, "extension": ""})
        report.extras = extras  # type: ignore[attr-defined]


class AllureExtras(_ReportExtras):
    def __init__(self, config: pytest.Config, alluredir: str, environment: dict[str, str]) -> None:
        super().__init__()
        self.config = config
        self.alluredir = alluredir
        self.environment = environment
        self.timed: dict[str, RunOutcome] = {}

    def show(self, item: SipfrontItem, outcome: RunOutcome, report: pytest.TestReport) -> None:
        import allure

        for name, url in links(item, outcome):
            allure.dynamic.link(url, name=name)  # type: ignore[no-untyped-call]
        for key, value in item.spec.params:
            allure.dynamic.parameter(str(key), value)
        allure.attach(
            full_text(outcome), name="sipfront", attachment_type=allure.attachment_type.TEXT
        )
        if outcome.wait_s is not None:
            # Kept apart from the run's duration, and out of allure's history id.
            allure.dynamic.parameter(
                "sipfront wait", format_duration(outcome.wait_s), excluded=True
            )
        if outcome.media is not None and outcome.media.series:
            allure.attach(
                csv_text(outcome.media),
                name="sipfront media",
                attachment_type=allure.attachment_type.CSV,
            )
        self.timed[item.nodeid] = outcome

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """Before allure closes the test (its own logfinish wrapper): the test's start and stop
        become the run's at Sipfront, instead of pytest's call phase (0 s: the verdict came in
        the setup)."""
        outcome = self.timed.pop(nodeid, None)
        seconds = run_seconds(outcome)
        if outcome is None or seconds is None:
            return
        listener = self.config.pluginmanager.get_plugin("allure_listener")
        try:  # allure-pytest's listener keeps the open test result by node id
            uuid = listener._cache.get(nodeid)  # type: ignore[union-attr]
            result = listener.allure_logger.get_test(uuid)  # type: ignore[union-attr]
        except AttributeError:
            return
        if result is None:
            return
        stop = int(result.stop or time.time() * 1000)
        result.start, result.stop = stop - round(seconds * 1000), stop

    def pytest_sessionfinish(self) -> None:
        with contextlib.suppress(OSError):
            write_allure_environment(self.alluredir, self.environment)
