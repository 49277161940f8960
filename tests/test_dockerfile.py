"""The Dockerfile: a small python:3.12-slim image whose entrypoint is the CI gate."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ["python", "-m", "pytest_sipfront.action"]


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs: comments dropped, continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, arguments = text.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def test_the_image_starts_from_python_3_12_slim() -> None:
    assert instructions()[0] == ("FROM", "python:3.12-slim")
    assert [i for i in instructions() if i[0] == "FROM"] == [("FROM", "python:3.12-slim")]


def test_the_image_sets_no_user() -> None:
    assert "USER" not in [keyword for keyword, _ in instructions()]


def test_the_entrypoint_is_the_gate_in_exec_form() -> None:
    entrypoints = [arguments for keyword, arguments in instructions() if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == ENTRYPOINT
    assert "CMD" not in [keyword for keyword, _ in instructions()]


def test_the_image_installs_the_checkout_without_keeping_a_pip_cache() -> None:
    runs = [arguments for keyword, arguments in instructions() if keyword == "RUN"]
    assert any("pip install --no-cache-dir --no-deps ." in run for run in runs)
    assert any("--require-hashes -r requirements/action.txt" in run for run in runs)


def test_the_image_carries_the_oci_labels() -> None:
    labels = " ".join(arguments for keyword, arguments in instructions() if keyword == "LABEL")
    for key in ("source", "licenses", "version", "description"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=os.path.dirname(sys.executable)
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the build context -----------------------------------------------------------------------


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _same_shape(path: str, pattern: str) -> bool:
    """Go's ``filepath.Match``: ``*`` never crosses a ``/``."""
    names, wanted = path.split("/"), pattern.split("/")
    return len(names) == len(wanted) and all(
        fnmatch.fnmatchcase(name, want) for name, want in zip(names, wanted, strict=True)
    )


def sent_to_docker(path: str, patterns: list[str]) -> bool:
    """Docker's rule, for the patterns used here: the last matching pattern decides; a pattern
    matches the path or any folder above it; ``!`` sends back what an earlier one left out."""
    included = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.rstrip("/")
        if body.startswith("**/"):
            matched = any(fnmatch.fnmatch(p.split("/")[-1], body[3:]) for p in prefixes)
        elif "/**/" in body:
            head, tail = body.split("/**/", 1)
            matched = path.startswith(head + "/") and any(
                fnmatch.fnmatch(p.split("/")[-1], tail) for p in prefixes
            )
        else:
            matched = any(_same_shape(p, body) for p in prefixes)
        if matched:
            included = negated
    return included


def build_context(destination: Path) -> list[str]:
    patterns = ignore_patterns()
    sent: list[str] = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if (
            path.is_file()
            and not relative.startswith(".git/")
            and sent_to_docker(relative, patterns)
        ):
            sent.append(relative)
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return sent


def test_the_build_context_leaves_out_tests_and_repository_data(tmp_path: Path) -> None:
    sent = build_context(tmp_path / "context")
    assert "pyproject.toml" in sent
    assert "pytest_sipfront/action.py" in sent
    assert not [p for p in sent if p.startswith(("tests/", ".git", "examples/", ".ci/"))]
    assert not [p for p in sent if "__pycache__" in p or p.endswith(".pyc")]


@pytest.mark.slow
def test_the_build_context_is_enough_to_build_the_package(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="building offline needs hatchling installed")
    context = tmp_path / "context"
    build_context(context)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("pytest_sipfront-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_sipfront/action.py" in names
    assert "pytest_sipfront/plugin.py" in names
