"""The README is the manual: its examples must load and its option table must be complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_sipfront.manifest.loader import load_manifest, load_manifest_text
from pytest_sipfront.sandbox import Catalog

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_the_manifest_example_in_the_readme_loads() -> None:
    block = next(b for b in _yaml_blocks() if b.startswith("version: 1"))
    manifest = load_manifest_text(block, "README.md", environ={})
    names = [spec.name for spec in manifest.specs]
    assert names[0] == "basic-call"
    assert len([n for n in names if n.startswith("dtmf-matrix[")]) == 4


def test_the_sandbox_catalog_example_in_the_readme_loads() -> None:
    block = next(b for b in _yaml_blocks() if b.startswith("default_duration"))
    catalog = Catalog.from_dict(yaml.safe_load(block), source="README.md")
    assert catalog.find_test(name="basic-call-a-b") is not None


@pytest.mark.parametrize("name", ["sipfront.yml", "failing.sipfront.yml"])
def test_the_example_manifests_load(name: str) -> None:
    assert load_manifest(ROOT / "examples" / name, environ={}).specs


def test_every_plugin_option_is_in_the_readme(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    options = set(re.findall(r"(--sipfront-[a-z-]+)", result.stdout.str()))
    assert options, "the plugin's options did not show in --help"
    missing = sorted(option for option in options if f"`{option}" not in README)
    assert missing == []


def test_every_ini_option_is_in_the_readme(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    inis = set(re.findall(r"^\s+(sipfront_[a-z_]+)", result.stdout.str(), flags=re.M))
    assert inis
    assert sorted(i for i in inis if f"`{i}`" not in README) == []


@pytest.mark.parametrize(
    "name",
    ["github-workflow.yml", "github-workflow-single.yml", ".gitlab-ci.yml", "Jenkinsfile"],
)
def test_the_ci_examples_in_the_readme_are_the_tested_files(name: str) -> None:
    text = (ROOT / "examples" / name).read_text(encoding="utf-8").strip()
    assert text in README
