"""The parts of a ledger key that come from outside the run: the code revision, the request's
digest, and the name of this attempt of the pipeline."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REVISION_VARS = ("SIPFRONT_REVISION", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")
GIT_SOURCE = "git rev-parse HEAD"
GIT_WAIT = 10.0


@dataclass(frozen=True)
class Revision:
    value: str | None
    """The revision, or ``None`` when no source gave one."""
    source: str
    """Where it came from: a variable's name, ``git rev-parse HEAD``, or ``none``."""


def revision_from_environment(environ: Mapping[str, str]) -> Revision | None:
    """The revision a CI variable names (``SIPFRONT_REVISION``, else ``GITHUB_SHA``,
    ``CI_COMMIT_SHA``, ``GIT_COMMIT``), or ``None``."""
    for name in REVISION_VARS:
        value = environ.get(name, "").strip()
        if value:
            return Revision(value, name)
    return None


def find_revision(environ: Mapping[str, str], rootdir: Path) -> Revision:
    """``SIPFRONT_REVISION``, else ``GITHUB_SHA``, ``CI_COMMIT_SHA``, ``GIT_COMMIT``, else
    ``git rev-parse HEAD`` in ``rootdir``, else none."""
    named = revision_from_environment(environ)
    if named is not None:
        return named
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=rootdir,
            capture_output=True,
            text=True,
            timeout=GIT_WAIT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return Revision(None, "none")
    value = done.stdout.strip()
    if done.returncode != 0 or not value:
        return Revision(None, "none")
    return Revision(value, GIT_SOURCE)


def request_digest(kind: str, body: Mapping[str, Any]) -> str:
    """sha256 of the exact request: its kind and body (after variables), keys sorted."""
    text = json.dumps(
        {"kind": kind, "body": dict(body)}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def attempt_label(environ: Mapping[str, str], session_number: int) -> str:
    """Which attempt of the pipeline this session is: the CI system's own count when it has
    one, else the how-many-th session on this ledger."""
    github = environ.get("GITHUB_RUN_ATTEMPT", "").strip()
    if github:
        return f"GitHub attempt {github}"
    gitlab = environ.get("CI_JOB_ID", "").strip()
    if gitlab:
        return f"GitLab job {gitlab}"
    jenkins = environ.get("BUILD_NUMBER", "").strip()
    if jenkins:
        return f"Jenkins build {jenkins}"
    return f"session {session_number}"
