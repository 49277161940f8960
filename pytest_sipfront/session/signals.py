"""SIGTERM and SIGHUP while Sipfront runs are planned or going: the session stops like Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

from pytest_sipfront.session.records import Records

STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class SignalGuard:
    """SIGTERM and SIGHUP (a cancelled CI job, a closed terminal) stop the session like Ctrl-C,
    but only while Sipfront runs are planned or going: from the run loop start of a session
    with Sipfront items until its reports are written. Outside that window the process keeps
    whatever handler it had (without one it dies at once, as without the plugin)."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.previous: dict[int, Any] = {}
        self._active: Callable[[], bool] | None = None

    def install(self, active: Callable[[], bool] | None = None) -> None:
        """Take SIGTERM and SIGHUP. ``active``: the pytest-xdist controller installs before
        its first worker can trigger anything (Sipfront runs are planned from worker threads
        of its broker, where no handler can be installed): until ``active()`` is true a
        signal does what it did before, at once."""
        if self.previous:
            if active is None:
                self._active = None  # runs are planned here: from now on, always
            return
        self._active = active
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) != signal.SIG_DFL:
                continue  # someone else (or nohup) decided about this signal: leave it
            with contextlib.suppress(ValueError):  # ValueError: not the main thread
                self.previous[signum] = signal.signal(signum, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Stop like Ctrl-C, once: while the session is already stopping (a first signal, the
        reports being written) another signal must not break that."""
        if self._active is not None and not self._active():
            # No Sipfront run planned yet: the signal does what it would without the plugin.
            previous = self.previous.get(signum, signal.SIG_DFL)
            self.restore()
            if callable(previous):
                previous(signum, frame)
            else:
                signal.raise_signal(signum)
            return
        if (
            self.records.interrupted
            or self.records.finished
            or isinstance(sys.exc_info()[1], KeyboardInterrupt)
        ):
            return
        self.records.interrupted = True
        raise KeyboardInterrupt(signal.Signals(signum).name)

    @contextlib.contextmanager
    def held(self) -> Generator[None, None, None]:
        """While the reports are written, Ctrl-C and the stop signals do not break them off
        half-written (nor print a long traceback): they are noted, and a report file still
        waiting for a reader (a FIFO) is then skipped at once, so writing ends promptly."""
        saved: dict[int, Any] = {}
        if self.previous:
            for name in ("SIGINT", *STOP_SIGNALS):
                signum = getattr(signal, name, None)
                if signum is None:
                    continue
                with contextlib.suppress(ValueError):
                    saved[signum] = signal.signal(signum, self._note)
        try:
            yield
        finally:
            for signum, handler in saved.items():
                with contextlib.suppress(ValueError):
                    signal.signal(signum, handler)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.records.stop_requested = True

    def restore(self) -> None:
        previous, self.previous = self.previous, {}
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError):
                signal.signal(signum, handler)
