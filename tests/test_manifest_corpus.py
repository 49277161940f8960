"""Every broken manifest in tests/broken_manifests/ fails with exactly the message its first line
promises (``# expect: <file>:<line>:<column>: <message>``).

The corpus is loaded with a fixed environment (``CORPUS_ENVIRON``), never the real one, so that a
variable set on a developer's machine cannot change a message. The file names never match the
plugin's collection patterns, so pytest does not collect these files as manifests.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from pytest_sipfront.manifest import yamlnodes
from pytest_sipfront.manifest.loader import DEFAULT_PATTERNS, ManifestError, load_manifest

CORPUS = Path(__file__).parent / "broken_manifests"
CORPUS_ENVIRON = {"EMPTY_VALUE": "", "LAB_NUMBER": "0112"}
EXPECT = "# expect: "

FILES = sorted(CORPUS.glob("*.yml"))


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(EXPECT), f"{path.name} must start with '{EXPECT}<message>'"
    return first[len(EXPECT) :]


def test_the_corpus_holds_at_least_thirty_broken_manifests() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_no_corpus_file_would_be_collected_as_a_manifest(path: Path) -> None:
    assert not any(fnmatch.fnmatch(path.name, pattern) for pattern in DEFAULT_PATTERNS)


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every message must read the same whether PyYAML has libyaml or not."""
    if request.param == "pure-python":
        monkeypatch.setattr(yamlnodes, "_FAST_LOADER", None)
    elif yamlnodes._FAST_LOADER is None:
        pytest.skip("this PyYAML was built without libyaml")
    return str(request.param)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_broken_manifest_fails_with_its_exact_message(path: Path, yaml_loader: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, environ=CORPUS_ENVIRON, display_path=path.name)
    assert str(caught.value) == expected_message(path)
    assert caught.value.path == path.name
    assert caught.value.line >= 1
    assert caught.value.column >= 1
    assert str(caught.value).startswith(
        f"{path.name}:{caught.value.line}:{caught.value.column}: {caught.value.message}"
    )


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_broken_manifest_message_is_one_line_without_python_noise(path: Path) -> None:
    message = expected_message(path)
    assert "\n" not in message
    for noise in ("Traceback", "yaml.", "jsonschema", "ValidationError", "Failed validating"):
        assert noise not in message


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_the_loader_checks_with_the_published_schema(path: Path) -> None:
    """The loader validates with an inlined copy of `sipfront schema` (faster): both must find
    the same structural errors in every document."""
    import jsonschema
    import yaml

    from pytest_sipfront.manifest import loader as manifest
    from pytest_sipfront.manifest import structure

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        pytest.skip("not YAML: the schema never sees it")
    published = jsonschema.Draft7Validator(manifest.manifest_schema())
    inlined = structure.validator()
    assert sorted(e.message for e in published.iter_errors(data)) == sorted(
        e.message for e in inlined.iter_errors(data)
    )
