"""The session's run ledger (``--sipfront-ledger``): its revision (found once, named in the
terminal header) and the book the run service writes. Imported only when a ledger is set."""

from __future__ import annotations

import os

import pytest

from pytest_sipfront.durations import format_duration
from pytest_sipfront.ledger.book import LedgerBook
from pytest_sipfront.ledger.key import Revision, find_revision
from pytest_sipfront.settings import Settings

REVISION_KEY = pytest.StashKey[Revision]()


def revision_of(config: pytest.Config) -> Revision:
    """The code revision of this session's runs, looked up once per session."""
    found = config.stash.get(REVISION_KEY, None)
    if found is None:
        found = find_revision(os.environ, config.rootpath)
        config.stash[REVISION_KEY] = found
    return found


def book_for(config: pytest.Config, settings: Settings) -> LedgerBook | None:
    if not settings.ledger:
        return None
    return LedgerBook(
        settings.ledger,
        revision_of(config),
        os.environ,
        reuse=settings.reuse,
        max_age=settings.reuse_max_age,
    )


DETACH_UNDER_XDIST = (
    "--sipfront-detach does not work under pytest-xdist yet: run the detaching session "
    "without -n (it only triggers and records, it needs no workers); collecting may use -n"
)


def detach_problem(config: pytest.Config) -> str | None:
    """Why ``--sipfront-detach`` cannot be used in this session, or ``None``."""
    if getattr(config, "workerinput", None) is not None:
        return None  # the controller said it already
    workers = config.getoption("numprocesses", None, skip=True)
    return DETACH_UNDER_XDIST if workers else None


def header(config: pytest.Config, settings: Settings) -> list[str]:
    """The terminal header's line: which ledger, which revision (and where it came from)."""
    if not settings.ledger:
        return []
    revision = revision_of(config)
    named = (
        f"revision {revision.value[:12]} from {revision.source}"
        if revision.value
        else "no revision found (passed runs are never reused)"
    )
    reuse = (
        f"reuse passed runs up to {format_duration(settings.reuse_max_age)} old"
        if settings.reuse == "passed"
        else "reuse none"
    )
    detach = "; detach" if settings.detach else ""
    return [f"sipfront ledger: {settings.ledger} ({named}; {reuse}{detach})"]
