"""The session's ledger at run time: opened (locked, read) once before the first trigger,
asked for a decision per run, and written at the three moments that matter: a "sending" mark
before a trigger goes out, the answer the moment it arrives, the verdict once known.

Thread-safe: the scheduler's HTTP threads record triggers and verdicts. Under pytest-xdist
only the controller's run service has a book; workers never touch the file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_sipfront.ledger.decide import Decision, decide
from pytest_sipfront.ledger.key import Revision, attempt_label, request_digest
from pytest_sipfront.ledger.model import (
    FINISHED,
    SENDING,
    TRIGGERED,
    LedgerData,
    LedgerKey,
    LedgerRecord,
)
from pytest_sipfront.ledger.store import (
    LOCK_WAIT,
    LedgerLock,
    ledger_text,
    read_ledger,
    write_ledger,
    write_text,
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LedgerBook:
    def __init__(
        self,
        path: str | Path,
        revision: Revision,
        environ: Mapping[str, str],
        *,
        reuse: str = "none",
        max_age: float = 24 * 3600.0,
        lock_wait: float = LOCK_WAIT,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = Path(path)
        self.revision = revision
        self.reuse = reuse
        self.max_age = max_age
        self._environ = environ
        self._clock = clock
        self._lock = threading.Lock()
        """Guards the records in memory; never held while the file is written."""
        self._writing = threading.Lock()
        """One write at a time; a write carries every change made before it (group commit)."""
        self._version = 0
        self._written = 0
        self._file_lock = LedgerLock(self.path, wait=lock_wait)
        self._data: LedgerData | None = None
        self.attempt = ""
        self.write_problems: list[str] = []
        """Writes that failed (a full disk): the run went on, the ledger missed it."""

    @property
    def opened(self) -> bool:
        return self._data is not None

    def open(self) -> None:
        """Lock and read the ledger (:class:`~.store.LedgerBusy`,
        :class:`~.store.LedgerUnreadable`); once per session, before anything is triggered."""
        with self._lock:
            if self._data is not None:
                return
            self._file_lock.acquire()
            try:
                data = read_ledger(self.path)
                data.sessions += 1
                self.attempt = attempt_label(self._environ, data.sessions)
                write_ledger(self.path, data)
            except BaseException:
                self._file_lock.release()
                raise
            self._data = data

    def close(self) -> None:
        """Write what is not written yet (verdicts), then let the next session have it."""
        self.flush()
        with self._lock:
            self._file_lock.release()

    def flush(self) -> None:
        """Make every change so far durable (the verdicts :meth:`finished` only noted)."""
        self._commit()

    def key(self, manifest: str, item: str, kind: str, body: Mapping[str, Any]) -> LedgerKey:
        return LedgerKey(manifest, item, request_digest(kind, body), self.revision.value)

    def record(self, key: LedgerKey) -> LedgerRecord | None:
        with self._lock:
            return self._find(key)

    def decide(self, key: LedgerKey) -> Decision:
        return decide(self.record(key), reuse=self.reuse, max_age=self.max_age, now=self._clock())

    # -- the three writes ---------------------------------------------------------------------

    def sending(self, key: LedgerKey, kind: str, timeout: float) -> None:
        """Before the trigger goes out: if no answer follows, the next session knows a run
        may have started."""
        with self._lock:
            record = LedgerRecord(
                key=key,
                kind=kind,
                state=SENDING,
                sent_at=self._clock().isoformat(),
                attempt=self.attempt,
                timeout=timeout,
            )
            self._replace(record)
            self._version += 1
        self._commit()

    def answered(
        self,
        key: LedgerKey,
        *,
        session_id: str | None,
        report_url: str | None,
        status_url: str | None,
    ) -> None:
        """The trigger's answer, written before anything else is done with the run."""
        with self._lock:
            record = self._find(key)
            if record is None:
                return
            record.state = TRIGGERED
            record.session_id = session_id
            record.report_url = report_url
            record.status_url = status_url
            record.answered_at = self._clock().isoformat()
            self._version += 1
        self._commit()

    def finished(self, key: LedgerKey, *, verdict: str, passed: bool, run: dict[str, Any]) -> None:
        """The gate's verdict and Sipfront's finished run object, noted in memory: the next
        write carries it (:meth:`flush`; :meth:`close` at the latest). Its caller may hold the
        scheduler's lock, which a file write must not stall."""
        with self._lock:
            record = self._find(key)
            if record is None:
                return
            record.state = FINISHED
            record.verdict = verdict
            record.passed = passed
            record.run = dict(run)
            record.finished_at = self._clock().isoformat()
            self._version += 1

    def forget(self, key: LedgerKey) -> None:
        """A trigger that provably started nothing (refused, never sent): no record."""
        with self._lock:
            data = self._data
            if data is None:
                return
            before = len(data.records)
            data.records = [r for r in data.records if r.key != key]
            if len(data.records) == before:
                return
            self._version += 1
        self._commit()

    # -- inside ------------------------------------------------------------------------------

    def _find(self, key: LedgerKey) -> LedgerRecord | None:
        data = self._data
        if data is None:
            return None
        for record in data.records:
            if record.key == key:
                return record
        return None

    def _replace(self, record: LedgerRecord) -> None:
        data = self._data
        if data is None:
            return
        data.records = [r for r in data.records if r.key != record.key]
        data.records.append(record)

    def _commit(self) -> None:
        """Write the records unless a write that began after the latest change has done it
        (threads that change records at once share one write; the file is rewritten whole)."""
        with self._lock:
            wanted = self._version
        with self._writing:
            with self._lock:
                if self._written >= wanted or self._data is None:
                    return
                text = ledger_text(self._data)
                version = self._version
            try:
                write_text(self.path, text)
            except OSError as error:
                with self._lock:
                    self.write_problems.append(f"{self.path}: {error.strerror or error}")
                return
            self._written = version
