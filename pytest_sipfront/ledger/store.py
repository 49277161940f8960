"""The ledger's file: read whole, written atomically (a temporary file beside it, fsync,
rename, fsync of the folder), and held by one session at a time through a lock file.

Whatever kills the process (SIGKILL included), the file is the old one or the new one, never
a torn mix. The lock is an OS lock on ``<ledger>.lock`` (``flock``; ``msvcrt.locking`` on
Windows): the OS drops it when its holder dies, so a killed session never blocks the next.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from pytest_sipfront.ledger.model import (
    LEDGER_VERSION,
    LedgerData,
    LedgerShapeError,
    from_data,
    to_data,
)

LOCK_WAIT = 30.0


class LedgerUnreadable(Exception):
    """The ledger file exists but cannot be used; ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LedgerBusy(Exception):
    """Another session held the ledger's lock for the whole wait."""

    def __init__(self, path: Path, waited: float) -> None:
        super().__init__(f"{path}: locked for {waited:g}s")
        self.path = path
        self.waited = waited


def read_ledger(path: Path) -> LedgerData:
    """The ledger at ``path``; an empty one when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LedgerData()
    except IsADirectoryError:
        raise LedgerUnreadable(path, "it is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise LedgerUnreadable(path, f"it cannot be read ({reason})") from None
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise LedgerUnreadable(path, f"it is not JSON ({error})") from None
    if not isinstance(raw, dict):
        raise LedgerUnreadable(path, "it is not a ledger (no JSON object)")
    version = raw.get("version")
    if version != LEDGER_VERSION:
        raise LedgerUnreadable(
            path, f"its version {version!r} is not {LEDGER_VERSION}, the one this version reads"
        )
    try:
        return from_data(LedgerData, raw)
    except LedgerShapeError as error:
        raise LedgerUnreadable(path, f"it is not a ledger ({error})") from None


def ledger_text(data: LedgerData) -> str:
    """The file's text for ``data`` (one record per line, readable and diffable)."""
    shape = to_data(data)
    records = shape.pop("records")
    head = json.dumps(shape, sort_keys=True, ensure_ascii=False)[:-1]
    lines = ",\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)
    separator = ", " if len(head) > 1 else ""
    return f'{head}{separator}"records": [\n{lines}\n]}}\n'


def write_ledger(path: Path, data: LedgerData) -> None:
    """Replace the file at ``path`` with ``data`` in one step (old or new, never torn)."""
    write_text(path, ledger_text(data))


def write_text(path: Path, text: str) -> None:
    """Replace the file at ``path`` with ``text``: a temporary file beside it, fsync, rename,
    fsync of the folder."""
    folder = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no folder handles to sync)."""
    if sys.platform == "win32":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class LedgerLock:
    """The session's hold on a ledger: taken before it is read, kept until the session ends."""

    def __init__(self, path: Path, wait: float = LOCK_WAIT, step: float = 0.1) -> None:
        self.path = Path(f"{path}.lock")
        self.ledger = path
        self.wait = wait
        self.step = step
        self._stream: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds; :class:`LedgerBusy` after that."""
        if self._stream is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            stream = open(self.path, "a+b")  # noqa: SIM115 (held open until release)
        except OSError as error:
            reason = error.strerror or str(error)
            raise LedgerUnreadable(
                self.ledger, f"its lock file cannot be made ({reason})"
            ) from None
        end = time.monotonic() + self.wait
        while True:
            if _try_lock(stream):
                self._stream = stream
                return
            if time.monotonic() >= end:
                stream.close()
                raise LedgerBusy(self.ledger, self.wait)
            time.sleep(self.step)

    def release(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        _unlock(stream)
        stream.close()


if sys.platform == "win32":
    import msvcrt

    def _try_lock(stream: IO[bytes]) -> bool:
        try:
            stream.seek(0)
            msvcrt.locking(stream.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(stream: IO[bytes]) -> None:
        try:
            stream.seek(0)
            msvcrt.locking(stream.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(stream: IO[bytes]) -> bool:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(stream: IO[bytes]) -> None:
        fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
