"""Properties of the manifest loader, over documents hypothesis makes up.

Whatever the text, loading gives a Manifest or a ManifestError that points inside the file;
overrides merge key by key; a matrix makes exactly one item per combination; names are unique.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sipfront.manifest.loader import Manifest, ManifestError, load_manifest_text

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENVIRON = {"DEST": "431231234", "EMPTY": "", "NAME": "basic-call-a-b"}

YAML_ALPHABET = "ab:-_ \n\t[]{},'\"#&*!|>%@`$~.?019\\\r\x00é"

MANIFEST_WORDS = [
    "version",
    "defaults",
    "tests",
    "name",
    "test",
    "test_id",
    "project",
    "project_id",
    "test_ids",
    "overrides",
    "matrix",
    "timeout",
    "poll_interval",
    "retries",
    "report_mode",
    "marks",
    "skip",
    "xfail",
    "allow_emergency_destination",
    "step.1.0.dial_destination",
    "step.0.1.target_pool",
    "report.mode",
    "password",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        ["", "30m", "0s", "10x", "kiosk", "print", "112", "0112", "${DEST}", "${NOPE}", "$$", "a b"]
    ),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(MANIFEST_WORDS), st.text(max_size=8))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)

step_keys = st.sampled_from(
    [f"step.{step}.{action}.{attr}" for step in (0, 1) for action in (0, 1) for attr in ("a", "b")]
)
plain_values = st.one_of(
    st.integers(min_value=0, max_value=10_000),
    st.booleans(),
    st.text(alphabet="abcXYZ019 -_.", max_size=8),
)


def check_outcome(text: str) -> Manifest | None:
    """Load ``text``: either a Manifest, or a ManifestError that points inside the file."""
    try:
        manifest = load_manifest_text(text, "sipfront.yml", environ=ENVIRON)
    except ManifestError as error:
        assert error.line >= 1
        assert error.column >= 1
        assert error.line <= text.count("\n") + text.count("\r") + 2
        assert error.message and "\n" not in error.message
        assert str(error).startswith(f"sipfront.yml:{error.line}:{error.column}: ")
        return None
    names = [spec.name for spec in manifest.specs]
    assert len(names) == len(set(names))
    assert manifest.specs
    return manifest


@FAST
@given(st.text(max_size=300))
def test_any_text_loads_or_fails_with_a_located_manifest_error(text: str) -> None:
    check_outcome(text)


@FAST
@given(st.text(alphabet=YAML_ALPHABET, max_size=300))
def test_yaml_punctuation_loads_or_fails_with_a_located_manifest_error(text: str) -> None:
    check_outcome(text)


@FAST
@given(documents)
def test_any_yaml_document_loads_or_fails_with_a_located_manifest_error(data: Any) -> None:
    check_outcome(yaml.safe_dump(data, allow_unicode=True))


def entries() -> st.SearchStrategy[dict[str, Any]]:
    kind = st.sampled_from(["test", "test_id", "project", "project_id"])
    return st.builds(
        lambda name, kind, target, extra: {"name": name, kind: target, **extra},
        st.from_regex(r"[a-c][a-c0-9.-]{0,3}", fullmatch=True),
        kind,
        st.one_of(st.integers(min_value=-1, max_value=500), st.sampled_from(["t", "", "${NAME}"])),
        st.dictionaries(
            st.sampled_from(
                ["timeout", "retries", "report_mode", "marks", "overrides", "matrix", "test_ids"]
            ),
            documents,
            max_size=3,
        ),
    )


@FAST
@given(st.lists(entries(), min_size=1, max_size=4), st.dictionaries(keys, documents, max_size=3))
def test_manifest_shaped_documents_load_or_fail_with_a_located_manifest_error(
    tests: list[dict[str, Any]], defaults: dict[str, Any]
) -> None:
    manifest = check_outcome(yaml.safe_dump({"defaults": defaults, "tests": tests}))
    if manifest is not None:
        assert {spec.entry for spec in manifest.specs} <= {entry["name"] for entry in tests}


@FAST
@given(
    st.dictionaries(step_keys, plain_values, max_size=6),
    st.dictionaries(step_keys, plain_values, max_size=6),
)
def test_entry_overrides_win_over_defaults_key_by_key(
    defaults: dict[str, Any], own: dict[str, Any]
) -> None:
    document = {
        "defaults": {"overrides": defaults},
        "tests": [{"name": "call", "test": "basic-call-a-b", "overrides": own}],
    }
    manifest = load_manifest_text(
        yaml.safe_dump(document, sort_keys=False), "sipfront.yml", environ={}
    )
    request = dict(manifest.specs[0].request)
    assert request.pop("test.name") == "basic-call-a-b"
    assert request == {**defaults, **own}
    for key, value in request.items():
        expected = own[key] if key in own else defaults[key]
        assert value == expected and type(value) is type(expected)


@FAST
@given(
    st.dictionaries(
        step_keys,
        st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=4, unique=True),
        min_size=1,
        max_size=3,
    )
)
def test_matrix_makes_one_uniquely_named_item_per_combination(
    matrix: dict[str, list[int]],
) -> None:
    document = {"tests": [{"name": "m", "test_id": 124, "matrix": matrix}]}
    manifest = load_manifest_text(
        yaml.safe_dump(document, sort_keys=False), "sipfront.yml", environ={}
    )
    assert len(manifest.specs) == math.prod(len(values) for values in matrix.values())
    names = [spec.name for spec in manifest.specs]
    assert len(set(names)) == len(names)
    first = manifest.specs[0]
    assert first.name == "m[" + "-".join(str(values[0]) for values in matrix.values()) + "]"
    assert first.params == tuple((key, values[0]) for key, values in matrix.items())
    for spec in manifest.specs:
        assert {key: spec.request[key] for key in matrix} == dict(spec.params)
