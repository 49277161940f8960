"""The manual (README.md and the site in docs/): its examples load and run, it names every
option the plugin has, the README stays a short front page, and the site builds cleanly."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from pytest_sipfront.manifest.loader import load_manifest, load_manifest_text
from pytest_sipfront.sandbox import Catalog

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUICK_START = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && "
    "pytest examples/sipfront.yml --sipfront-sandbox-catalog examples/sandbox-catalog.yml",
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest -n 2",
)
CI_EXAMPLES = {
    "github-workflow.yml": "ci/github.md",
    "github-workflow-single.yml": "migration.md",
    "gitlab-ci.yml": "ci/gitlab.md",
    "Jenkinsfile": "ci/jenkins.md",
}


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def options_extension() -> ModuleType:
    """docs/_ext/sipfront_options.py, the Sphinx extension that renders the options table."""
    spec = importlib.util.spec_from_file_location(
        "sipfront_options", DOCS / "_ext" / "sipfront_options.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# -- the README: a front page --------------------------------------------------------------------


def test_the_readme_is_a_front_page_of_at_most_250_lines() -> None:
    assert len(README.splitlines()) <= 250


def test_the_readme_quick_start_holds_its_two_commands() -> None:
    for command in QUICK_START:
        assert f"```console\n{command}\n```" in README


def test_the_readme_github_snippet_is_the_tested_workflow_file() -> None:
    workflow = (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8").strip()
    assert f"```yaml\n{workflow}\n```" in README


def test_every_link_of_the_readme_into_the_repository_names_a_file_that_exists() -> None:
    targets = re.findall(r"\]\(((?:docs/|CHANGELOG|LICENSE)[^)#]*)", README)
    assert len(targets) > 10
    assert [t for t in targets if not (ROOT / t).is_file()] == []


# -- the site's examples -------------------------------------------------------------------------


def test_the_manifest_example_of_the_manual_loads() -> None:
    block = next(b for b in blocks(page("manifest.md"), "yaml") if b.startswith("version: 1"))
    manifest = load_manifest_text(block, "manifest.md", environ={})
    names = [spec.name for spec in manifest.specs]
    assert names[0] == "basic-call"
    assert len([n for n in names if n.startswith("dtmf-matrix[")]) == 4


def test_the_sandbox_catalog_example_of_the_manual_loads() -> None:
    block = next(b for b in blocks(page("sandbox.md"), "yaml") if b.startswith("default_duration"))
    catalog = Catalog.from_dict(yaml.safe_load(block), source="sandbox.md")
    assert catalog.find_test(name="basic-call-a-b") is not None


@pytest.mark.parametrize("name", ["sipfront.yml", "failing.sipfront.yml"])
def test_the_example_manifests_load(name: str) -> None:
    assert load_manifest(ROOT / "examples" / name, environ={}).specs


@pytest.mark.parametrize(("name", "where"), sorted(CI_EXAMPLES.items()))
def test_the_ci_examples_in_the_manual_are_the_tested_files(name: str, where: str) -> None:
    depth = "../" * where.count("/")
    assert f"```{{literalinclude}} ../{depth}examples/{name}\n" in page(where)


def test_the_safety_rules_list_the_credential_words_that_are_refused() -> None:
    safety = page("manifest.md").split("## Safety", 1)[1].split("\n## ", 1)[0]
    for word in ("passwd", "pass", "password", "auth", "apikey", "api_key", "token", "secret"):
        assert f"`{word}`" in safety, word
    for key in ("sip_passwd", "x-api-key", "apiKey", "credential_pool"):
        assert f"`{key}`" in safety, key


# -- the options reference is generated from the plugin ------------------------------------------


def test_the_options_reference_has_every_option_and_ini_value_of_pytest_help(
    pytester: pytest.Pytester,
) -> None:
    helped = pytester.runpytest("--help").stdout.str()
    options = set(re.findall(r"(--sipfront-[a-z-]+)", helped))
    inis = set(re.findall(r"^\s+(sipfront_[a-z_]+)", helped, flags=re.M))
    assert options and inis, "the plugin's options did not show in --help"
    rows = options_extension().option_rows()
    assert options == {row.option for row in rows if row.option}
    assert inis == {row.ini for row in rows if row.ini}
    assert all(row.help for row in rows)


def test_the_options_page_renders_the_generated_table_and_keeps_no_copy() -> None:
    text = page("options.md")
    assert "```{sipfront-options}\n```" in text
    assert "| `--sipfront-" not in text, "the table is generated: no hand-kept rows"


def test_read_the_docs_builds_the_manual_with_the_docs_extra_and_warnings_as_errors() -> None:
    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    assert config["sphinx"] == {"configuration": "docs/conf.py", "fail_on_warning": True}
    assert config["python"]["install"] == [
        {"method": "pip", "path": ".", "extra_requirements": ["docs"]}
    ]
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if checker is not None:
        done = subprocess.run(
            [checker, "--builtin-schema", "vendor.readthedocs", ".readthedocs.yaml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_site_builds_without_a_warning_and_shows_every_option(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="the docs extra builds the manual")
    pytest.importorskip("myst_parser", reason="the docs extra builds the manual")
    pytest.importorskip("furo", reason="the docs extra builds the manual")
    # A copy of what the manual reads, with text parked in docs/_pending/ as others park it:
    # broken on purpose, so the build only passes while that folder stays out of the site.
    checkout = tmp_path / "checkout"
    shutil.copytree(DOCS, checkout / "docs", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "examples", checkout / "examples")
    shutil.copy(ROOT / "CHANGELOG.md", checkout / "CHANGELOG.md")
    (checkout / "docs" / "_pending").mkdir(exist_ok=True)
    (checkout / "docs" / "_pending" / "parked.md").write_text(
        "## Options\n\n[a link to nowhere](nowhere.md)\n", encoding="utf-8"
    )
    out = tmp_path / "html"
    build = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    done = subprocess.run(
        [*build, str(checkout / "docs"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    html = (out / "options.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="[^"]*sipfront-options.*?</table>', html, flags=re.S)
    assert table, "the options page has no generated table"
    rows = re.findall(r"<tr.*?</tr>", table.group(0), flags=re.S)
    extension = options_extension()
    assert len(rows) == 1 + len(extension.option_rows())
    for row in extension.option_rows():
        assert (row.option or row.ini) in table.group(0)
    assert (out / "changelog.html").is_file()
    assert not (out / "_pending").exists()


# -- the changelog ------------------------------------------------------------------------------


def test_the_changelog_keeps_a_changelog_form_with_unreleased_and_0_1_0() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.M)
    assert [v for v, _ in versions][:2] == ["Unreleased", "0.1.0"]
    assert all(re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest) for v, rest in versions[1:])
    kinds = set(re.findall(r"^### (.+)$", text, flags=re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    for version, _ in versions:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, flags=re.M), version


def test_the_manual_includes_the_changelog() -> None:
    assert "```{include} ../CHANGELOG.md" in page("changelog.md")


# -- outcomes and troubleshooting ----------------------------------------------------------------


def test_every_message_of_the_troubleshooting_page_says_what_it_means_and_what_to_do() -> None:
    entries = re.findall(r"^`([^\n]+)`.*?\n: (.*?)(?=\n\n|\Z)", page("outcomes.md"), re.M | re.S)
    assert len(entries) >= 20
    for message, explanation in entries:
        assert "**Means**" in explanation and "**Do**" in explanation, message


def test_the_troubleshooting_page_explains_every_message_a_run_can_end_with() -> None:
    from pytest_sipfront.runs import messages

    text = " ".join(page("outcomes.md").split())
    fixed = [
        messages.NO_CREDENTIALS,
        messages.INTERRUPTED,
        messages.INTERRUPTED_QUEUED,
        messages.INTERRUPTED_SENDING,
        messages.INTERRUPTED_LISTING,
        messages.UNKNOWN_TRIGGER,
        messages.NOT_REACHED,
        messages.NOT_TRIGGERED,
    ]
    templates = [
        messages.AUTH_MESSAGE,
        messages.REFUSED_MESSAGE,
        messages.VANISHED_MESSAGE,
        messages.unreachable(5, 60.0, "{reason}"),
    ]
    for sentence in fixed + [t.split("{", 1)[0].split(" 5 ", 1)[0] for t in templates]:
        assert f"`{sentence}" in text, sentence


# -- every other example of the manual -----------------------------------------------------------

PAGES = sorted(
    path.relative_to(DOCS).as_posix()
    for path in DOCS.rglob("*.md")
    if not any(part.startswith("_") for part in path.relative_to(DOCS).parts)  # _pending, _build
)


@pytest.mark.parametrize("name", PAGES)
def test_every_yaml_and_json_example_of_the_manual_parses(name: str) -> None:
    text = page(name)
    for block in blocks(text, "yaml"):
        yaml.safe_load(block)
    for block in blocks(text, "json"):
        json.loads(block)


def test_the_validate_examples_are_what_sipfront_validate_prints(tmp_path: Path) -> None:
    from pytest_sipfront.cli import main

    text = page("cli.md")
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(ROOT / "examples")], out=out, err=err) == 0
    assert f"$ sipfront validate examples/\n{out.getvalue()}```" in text
    shown = json.loads(blocks(text, "json")[0])
    broken = tmp_path / "sipfront.yml"
    broken.write_text("tests:\n  - {name: a, test: b, timeout: 10x}\n", encoding="utf-8")
    out = io.StringIO()
    main(["validate", "--json", str(broken)], out=out, err=io.StringIO())
    real = json.loads(out.getvalue())
    assert set(shown) == set(real)
    assert set(shown["problems"][0]) == set(real["problems"][0])
    assert set(shown["manifests"][0]) == {"path", "runs"}


def test_the_pre_commit_example_names_the_hook_this_repository_publishes() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    config = next(b for b in blocks(page("manifest.md"), "yaml") if "repos:" in b)
    named = yaml.safe_load(config)["repos"][0]["hooks"][0]["id"]
    assert named in {hook["id"] for hook in hooks}


def test_the_sharding_example_splits_with_pytest_split_and_one_junit_file_per_group() -> None:
    block = next(b for b in blocks(page("ci/github.md"), "yaml") if "--splits" in b)
    job = yaml.safe_load(block)["jobs"]["sipfront"]
    command = next(step["run"] for step in job["steps"] if "--splits" in step.get("run", ""))
    groups = job["strategy"]["matrix"]["group"]
    assert f"--splits {len(groups)}" in command and "--group ${{ matrix.group }}" in command
    assert "--sipfront-junit sipfront-junit-${{ matrix.group }}.xml" in command


def test_every_input_and_output_the_migration_page_maps_is_one_the_action_has() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    versions = page("migration.md").split("## The versions of Sipfront's action", 1)[1]
    rows = [line for line in versions.split("\n## ", 1)[0].splitlines() if line.startswith("| ")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]
    assert [row[0].split()[0] for row in cells] == ["`v0.0.1`", "later", "the"]
    not_inputs = {"sf_environment", "test", "project"}  # Sipfront's internal input; mode's values
    for _, inputs, outputs, _ in cells:
        for name in set(re.findall(r"`([a-z_]+)`", inputs)) - not_inputs:
            assert name in action["inputs"], name
        for name in re.findall(r"`([a-z_]+)`", outputs):
            assert name in action["outputs"], name
