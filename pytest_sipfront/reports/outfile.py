"""Writing a report into a file that may block (a FIFO, a device, a terminal), with a deadline.

A report path may name a FIFO that nobody reads (``--sipfront-junit``, ``$GITHUB_STEP_SUMMARY``,
``$GITHUB_OUTPUT``): a plain ``open()`` waits for a reader for ever, a ``write()`` into a full
pipe too. Here the file is opened without waiting and written in slices as it takes them, until
:data:`WRITE_DEADLINE` seconds have passed or ``stop()`` says the session is being stopped
(Ctrl-C, SIGTERM, SIGHUP); then it is left alone with :class:`Blocked`, which the caller turns
into one line. A regular file is written at once, as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import tempfile
import time
from collections.abc import Callable

from pytest_sipfront.runs.messages import (
    REPORT_FILE_NO_READER,
    REPORT_FILE_STOPPED,
    report_file_too_slow,
)

WRITE_DEADLINE = 10.0
"""Seconds one report file may take to accept its text before it is skipped."""
_SLICE = 0.1
"""How often a wait looks at ``stop()``."""


class Blocked(OSError):
    """A report file that did not take its text in time; ``strerror`` says why, briefly."""


def write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    append: bool = False,
    deadline: float = WRITE_DEADLINE,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Write ``text`` (UTF-8) to ``path``, truncating it unless ``append``; create it if it is
    missing. Raise :class:`Blocked` when the file does not take it within ``deadline``
    seconds or ``stop()`` turns true meanwhile, ``OSError`` when it cannot be written."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= os.O_APPEND if append else os.O_TRUNC
    waiting = _Wait(deadline, stop)
    while True:
        try:
            handle = os.open(path, flags, 0o666)
            break
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: a FIFO without a reader (yet)
                raise
        waiting.check(REPORT_FILE_NO_READER)
        time.sleep(_SLICE)
    try:
        _write_all(handle, text.encode("utf-8"), waiting)
    finally:
        os.close(handle)


def replace_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    prefix: str = ".sipfront-",
    stop: Callable[[], bool] | None = None,
) -> None:
    """Write a whole report file (the JUnit file, the results JSON): parent folders made, a
    temporary file beside it synced to disk and renamed over it, so a reader never sees half of
    it. A path that is (or links to) a device or a FIFO is written in place, never replaced,
    and only while it takes the text (:func:`write_text`: a deadline, ``stop()``); a symlink to
    a file is followed (the link stays, the file it names is replaced)."""
    target = os.path.realpath(os.path.abspath(os.fspath(path)))
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        write_text(target, text, stop=stop)
        return
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file private (0600); CI users and other containers must read it.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class _Wait:
    """One deadline for opening and writing a report file, and the session's ``stop()``."""

    def __init__(self, seconds: float, stop: Callable[[], bool] | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.stop = stop

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def check(self, why_slow: str) -> None:
        """Raise :class:`Blocked` when the session is stopping or the deadline has passed."""
        if self.stop is not None and self.stop():
            raise Blocked(errno.EINTR, REPORT_FILE_STOPPED)
        if self.left() <= 0:
            raise Blocked(errno.ETIMEDOUT, why_slow)


def _write_all(handle: int, data: bytes, waiting: _Wait) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(handle, view) :]
            continue
        except BlockingIOError:
            pass
        while True:
            waiting.check(report_file_too_slow(waiting.seconds))
            if _writable(handle, max(0.0, min(_SLICE, waiting.left()))):
                break


def _writable(handle: int, seconds: float) -> bool:
    """Whether ``handle`` takes more now, waiting at most ``seconds`` (poll: any fd number)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(handle, select.POLLOUT)
        return bool(poller.poll(seconds * 1000))
    _, ready, _ = select.select([], [handle], [], seconds)
    return bool(ready)
