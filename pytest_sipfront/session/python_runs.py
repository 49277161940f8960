"""The ``sipfront`` fixture's object: a :class:`~pytest_sipfront.library.sipfront.Sipfront`
on the session's run service, speaking pytest (skip in a dry run, fail without a traceback)."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest

from pytest_sipfront.api.urls import TRIGGER_PATHS
from pytest_sipfront.library.requests import RunRequest
from pytest_sipfront.library.results import RunResult
from pytest_sipfront.library.sipfront import Sipfront
from pytest_sipfront.runs.job import RunJob, fixture_key
from pytest_sipfront.runs.messages import dry_run_request
from pytest_sipfront.session.gate import Gate, SipfrontWarning
from pytest_sipfront.session.items import SipfrontError, SipfrontFailure


class SessionSipfront(Sipfront):
    """What the ``sipfront`` fixture gives a test."""

    _failure = SipfrontFailure
    _error = SipfrontError

    def __init__(self, gate: Gate, item: pytest.Item) -> None:
        self._setup(
            gate.settings,
            gate.service,
            root=item.config.rootpath,
            heartbeat_every=gate.settings.heartbeat,
        )
        self._gate = gate
        self._item = item
        self._numbers = itertools.count(1)
        self._order = 0

    def _ledger_item(self, request: RunRequest) -> str:
        """The run ledger's item id: the test's node id and the order of the call in it."""
        with self._lock:
            self._order += 1
            return f"{self._item.nodeid}#{self._order}"

    def _key(self, number: int) -> str:
        # Counted per test (and per rerun of it), not per process: every pytest-xdist worker
        # of ``--dist each`` names the run alike, so it is triggered once and all of them get
        # its verdict.
        execution = int(getattr(self._item, "execution_count", 1) or 1)
        return fixture_key(self._item.nodeid, next(self._numbers), execution)

    def _refuse(self, text: str) -> BaseException:
        return SipfrontError(text)

    def _before_trigger(self, job: RunJob, request: RunRequest) -> None:
        if self.settings.dry_run:
            body = json.dumps(job.body, sort_keys=True, ensure_ascii=False)
            lookup = ""
            if self.settings.history:
                from pytest_sipfront.runs.history import planned_lookup

                lookup = planned_lookup(job.kind, job.body)
            pytest.skip(dry_run_request(TRIGGER_PATHS[job.kind], body, job.timeout, lookup))
        if not self._gate.is_worker:
            # SIGTERM / SIGHUP stop the session like Ctrl-C while runs are going, as for
            # manifest items (the xdist controller does this for its workers).
            hooks = self._item.config.pluginmanager.get_plugin("sipfront-gate")
            signals = getattr(hooks, "signals", None)
            if signals is not None:
                signals.install()

    def _write_heartbeat(self, line: str) -> None:
        self._gate.write_heartbeat(line)

    def _done(self, result: RunResult) -> None:
        for text in result.outcome.warnings:
            warnings.warn(SipfrontWarning(text), stacklevel=1)

    def waited(self) -> list[bool]:
        """For each run started here (as :meth:`outcomes` lists them): was it waited for?"""
        return [handle.result is not None for handle in list(self.handles)]

    def close(self) -> list[RunResult]:
        """The fixture's end: this test starts nothing more. The session's service keeps
        polling what is going; the session's reports list it."""
        with self._lock:
            self._closed = True
        return []
