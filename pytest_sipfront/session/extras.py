"""Sipfront report links where other plugins show results: pytest-html's extras and
allure-pytest's links, parameters and attachments.

Neither plugin is a dependency. These hooks are registered only when the plugin is loaded
(pytest-html) or writing results (allure-pytest with ``--alluredir``), and neither package is
imported otherwise.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pytest_sipfront.media.render import csv_text, svg_chart
from pytest_sipfront.runs.messages import full_text
from pytest_sipfront.runs.outcome import RunOutcome
from pytest_sipfront.sanitize import clean_http_url, escape_html
from pytest_sipfront.session.items import SipfrontItem


def register(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if manager.hasplugin("html"):
        manager.register(HtmlExtras(), "sipfront-html")
    if manager.hasplugin("allure_pytest") and config.getoption("allure_report_dir", None):
        manager.register(AllureExtras(), "sipfront-allure")


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
        worst = outcome.media.worst() if outcome.media is not None else None
        if worst is not None:  # markup of our own; every text in it escaped by svg_chart
            svg = svg_chart(worst)
            extras.append({"name": "media", "format_type": "html", "content": svg, "extension": ""})
        report.extras = extras  # type: ignore[attr-defined]


class AllureExtras(_ReportExtras):
    def show(self, item: SipfrontItem, outcome: RunOutcome, report: pytest.TestReport) -> None:
        import allure

        for name, url in links(item, outcome):
            allure.dynamic.link(url, name=name)  # type: ignore[no-untyped-call]
        for key, value in item.spec.params:
            allure.dynamic.parameter(str(key), value)
        allure.attach(
            full_text(outcome), name="sipfront", attachment_type=allure.attachment_type.TEXT
        )
        if outcome.media is not None and outcome.media.series:
            allure.attach(
                csv_text(outcome.media),
                name="sipfront media",
                attachment_type=allure.attachment_type.CSV,
            )
