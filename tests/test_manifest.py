"""Good manifests: what each entry turns into, and the exact request it would send."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import jsonschema
import pytest

from pytest_sipfront.manifest import schema as schema_module
from pytest_sipfront.manifest.loader import (
    DEFAULT_PATTERNS,
    Manifest,
    ManifestError,
    RunSpec,
    load_manifest,
    load_manifest_text,
    manifest_schema,
    report_mode_sent,
    request_body,
)
from pytest_sipfront.manifest.sentences import PYTEST_MARK_NAMES

DESIGN_EXAMPLE = """\
version: 1                    # optional; any other value is an error
defaults:                     # optional; every key may also be set per entry
  timeout: 30m                # how long a run may take, from its trigger
  poll_interval: 3s           # steady interval between status requests for one run
  retries: 0                  # re-trigger a run that finished failed, up to N more times
  report_mode: kiosk          # full | kiosk | print (sent as report.mode)
  marks: [voip]               # pytest marks for -m
  overrides:                  # flat Sipfront keys sent with every test entry
    step.0.1.target_pool: 1234
tests:
  - name: basic-call          # required; unique in the file; [A-Za-z0-9][A-Za-z0-9_.-]*
    test: basic-call-a-b      # Sipfront test name  -> test.name
    # test_id: 123            # or the Sipfront test id -> test.id   (exactly one of the four)
    overrides:
      step.1.0.dial_destination: "${DEST_NUMBER:-431231234}"
    marks: [smoke]
    timeout: 10m
    xfail: "known one-way audio, TICKET-12"   # expected to fail: runs, reported xfailed/xpassed
    # skip: "reason"                        # not triggered at all
  - name: dtmf-matrix
    test_id: 124
    matrix:                   # one pytest item per combination (cartesian product)
      step.1.0.dial_destination: ["431231234", "439994567"]
      step.1.0.credential_pool: [4567, 4568]
  - name: nightly-project
    project: my-project       # Sipfront project name -> project.name, POST /projects/run
    # project_id: 7           # or the project id -> id
    test_ids: [11, 12]        # optional subset, projects only
"""


def load(text: str, **environ: str) -> Manifest:
    return load_manifest_text(textwrap.dedent(text), "sipfront.yml", environ=environ)


def by_name(manifest: Manifest) -> dict[str, RunSpec]:
    return {spec.name: spec for spec in manifest.specs}


def test_the_design_example_resolves_to_the_documented_requests() -> None:
    manifest = load(DESIGN_EXAMPLE)
    assert [spec.name for spec in manifest.specs] == [
        "basic-call",
        "dtmf-matrix[431231234-4567]",
        "dtmf-matrix[431231234-4568]",
        "dtmf-matrix[439994567-4567]",
        "dtmf-matrix[439994567-4568]",
        "nightly-project",
    ]
    specs = by_name(manifest)
    basic = specs["basic-call"]
    assert dict(basic.request) == {
        "test.name": "basic-call-a-b",
        "step.0.1.target_pool": 1234,
        "step.1.0.dial_destination": "431231234",
    }
    assert (basic.kind, basic.target, basic.entry) == ("test", "basic-call-a-b", "basic-call")
    assert basic.timeout == 600.0
    assert basic.poll_interval == 3.0
    assert basic.retries == 0
    assert basic.report_mode == "kiosk"
    assert basic.marks == ("voip", "smoke")
    assert basic.xfail == "known one-way audio, TICKET-12"
    assert basic.skip is None
    assert (basic.line, basic.column) == (11, 5)

    dtmf = specs["dtmf-matrix[439994567-4568]"]
    assert dict(dtmf.request) == {
        "test.id": 124,
        "step.0.1.target_pool": 1234,
        "step.1.0.dial_destination": "439994567",
        "step.1.0.credential_pool": 4568,
    }
    assert dtmf.params == (
        ("step.1.0.dial_destination", "439994567"),
        ("step.1.0.credential_pool", 4568),
    )
    assert (dtmf.entry, dtmf.target, dtmf.timeout) == ("dtmf-matrix", "id 124", 1800.0)

    project = specs["nightly-project"]
    assert dict(project.request) == {"project.name": "my-project", "test_ids": [11, 12]}
    assert (project.kind, project.target) == ("project", "project my-project")
    assert manifest.marks == frozenset({"voip", "smoke"})


def test_each_of_the_four_entry_kinds_builds_its_own_request() -> None:
    manifest = load(
        """\
        tests:
          - name: by-name
            test: basic-call-a-b
          - name: by-id
            test_id: 123
          - name: project-by-name
            project: my-project
          - name: project-by-id
            project_id: 7
            test_ids: [11, 12]
        """
    )
    got = [(spec.kind, spec.target, dict(spec.request)) for spec in manifest.specs]
    assert got == [
        ("test", "basic-call-a-b", {"test.name": "basic-call-a-b"}),
        ("test", "id 123", {"test.id": 123}),
        ("project", "project my-project", {"project.name": "my-project"}),
        ("project", "project id 7", {"id": 7, "test_ids": [11, 12]}),
    ]


def test_entry_overrides_win_over_defaults_key_by_key() -> None:
    spec = load(
        """\
        defaults:
          overrides:
            step.0.1.target_pool: 1234
            step.1.0.credential_pool: 2345
        tests:
          - name: call
            test: basic-call-a-b
            overrides:
              step.1.0.credential_pool: 9999
              step.1.0.dial_destination: "439994567"
        """
    ).specs[0]
    assert dict(spec.request) == {
        "test.name": "basic-call-a-b",
        "step.0.1.target_pool": 1234,
        "step.1.0.credential_pool": 9999,
        "step.1.0.dial_destination": "439994567",
    }


def test_defaults_overrides_are_not_sent_with_project_runs() -> None:
    spec = load(
        """\
        defaults:
          overrides:
            step.0.1.target_pool: 1234
        tests:
          - name: nightly
            project_id: 7
        """
    ).specs[0]
    assert dict(spec.request) == {"id": 7}


def test_run_settings_come_from_the_entry_then_defaults_and_stay_unset_otherwise() -> None:
    specs = by_name(
        load(
            """\
            defaults:
              timeout: 1h30m
              report_mode: full
            tests:
              - name: own
                test: a
                timeout: 90
                poll_interval: 1.5
                retries: 2
                report_mode: print
              - name: inherited
                test: b
              - name: project
                project: p
            """
        )
    )
    own, inherited = specs["own"], specs["inherited"]
    assert (own.timeout, own.poll_interval, own.retries, own.report_mode) == (
        90.0,
        1.5,
        2,
        "print",
    )
    assert (inherited.timeout, inherited.poll_interval, inherited.retries) == (5400.0, None, None)
    assert inherited.report_mode == "full"
    assert specs["project"].report_mode == "full"


def test_nothing_set_in_the_manifest_leaves_every_setting_to_the_session() -> None:
    spec = load("tests: [{name: a, test: b}]").specs[0]
    assert (spec.timeout, spec.poll_interval, spec.retries, spec.report_mode) == (
        None,
        None,
        None,
        None,
    )
    assert (spec.marks, spec.skip, spec.xfail, spec.params) == ((), None, None, ())
    assert spec.allow_emergency_destination is False


def test_marks_from_defaults_and_entry_are_combined_once_in_order() -> None:
    manifest = load(
        """\
        defaults:
          marks: [voip, smoke]
        tests:
          - name: a
            test: a
            marks: [nightly, voip, db_check]
          - name: b
            test: b
        """
    )
    assert [spec.marks for spec in manifest.specs] == [
        ("voip", "smoke", "nightly", "db_check"),
        ("voip", "smoke"),
    ]
    assert manifest.marks == frozenset({"voip", "smoke", "nightly", "db_check"})


def test_matrix_items_are_named_like_pytest_parametrize_ids_in_key_order() -> None:
    manifest = load(
        """\
        tests:
          - name: flags
            test: t
            matrix:
              step.0.0.srtp: [true, false]
              step.0.0.codec: [PCMA, "G.722"]
              step.0.0.ratio: [0.5]
        """
    )
    assert [spec.name for spec in manifest.specs] == [
        "flags[True-PCMA-0.5]",
        "flags[True-G.722-0.5]",
        "flags[False-PCMA-0.5]",
        "flags[False-G.722-0.5]",
    ]
    assert all(spec.entry == "flags" for spec in manifest.specs)
    assert manifest.specs[2].request["step.0.0.srtp"] is False


def test_a_matrix_value_replaces_the_same_key_from_defaults_overrides() -> None:
    manifest = load(
        """\
        defaults:
          overrides:
            step.1.0.dial_destination: "431231234"
            step.0.1.target_pool: 1234
        tests:
          - name: m
            test: t
            matrix:
              step.1.0.dial_destination: ["439994567", "439994568"]
        """
    )
    assert [spec.request["step.1.0.dial_destination"] for spec in manifest.specs] == [
        "439994567",
        "439994568",
    ]
    assert all(spec.request["step.0.1.target_pool"] == 1234 for spec in manifest.specs)


def test_variables_are_replaced_in_string_values_with_shell_rules() -> None:
    spec = load(
        """\
        tests:
          - name: vars
            test: "${TEST_NAME}"
            overrides:
              step.1.0.dial_destination: "${DEST:-431231234}"
              step.1.0.caller: "${EMPTY:-fallback}"
              step.1.0.note: "${EMPTY}"
              step.1.0.price: "$$5 and $$${TEST_NAME}"
              step.1.0.count: 3
            skip: "waiting for ${TICKET:-TICKET-12}"
        """,
        TEST_NAME="basic-call-a-b",
        EMPTY="",
    ).specs[0]
    assert dict(spec.request) == {
        "test.name": "basic-call-a-b",
        "step.1.0.dial_destination": "431231234",
        "step.1.0.caller": "fallback",
        "step.1.0.note": "",
        "step.1.0.price": "$5 and $basic-call-a-b",
        "step.1.0.count": 3,
    }
    assert spec.skip == "waiting for TICKET-12"


def test_a_set_variable_wins_over_its_default() -> None:
    spec = load(
        """\
        tests:
          - name: v
            test: t
            overrides:
              step.1.0.dial_destination: "${DEST:-431231234}"
        """,
        DEST="439994567",
    ).specs[0]
    assert spec.request["step.1.0.dial_destination"] == "439994567"


def test_variables_feed_ids_durations_report_mode_and_marks() -> None:
    spec = load(
        """\
        tests:
          - name: v
            test_id: "${TEST_ID}"
            timeout: "${TIMEOUT:-15m}"
            retries: "${RETRIES:-1}"
            report_mode: "${MODE:-kiosk}"
            marks: ["${MARK:-nightly}"]
        """,
        TEST_ID="124",
    ).specs[0]
    assert dict(spec.request) == {"test.id": 124}
    assert (spec.timeout, spec.retries, spec.report_mode, spec.marks) == (
        900.0,
        1,
        "kiosk",
        ("nightly",),
    )


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPFRONT_TEST_DEST_FOR_MANIFEST", "439990000")
    spec = load_manifest_text(
        "tests: [{name: a, test: t, overrides: "
        "{step.1.0.dial_destination: '${SIPFRONT_TEST_DEST_FOR_MANIFEST}'}}]",
        "sipfront.yml",
    ).specs[0]
    assert spec.request["step.1.0.dial_destination"] == "439990000"


def test_variables_are_not_replaced_in_keys() -> None:
    with pytest.raises(ManifestError) as caught:
        load(
            """\
            tests:
              - name: a
                test: t
                overrides:
                  "${KEY}": 1
            """,
            KEY="step.1.0.x",
        )
    assert "is not a Sipfront step key" in str(caught.value)


def test_an_emergency_destination_is_allowed_when_the_entry_says_so() -> None:
    manifest = load(
        """\
        defaults:
          overrides:
            step.1.0.dial_destination: "112"
        tests:
          - name: lab
            test: t
            allow_emergency_destination: true
          - name: lab-matrix
            test: t
            allow_emergency_destination: true
            matrix:
              step.2.0.dial_destination: ["911", "0112"]
        """
    )
    assert [spec.name for spec in manifest.specs] == [
        "lab",
        "lab-matrix[911]",
        "lab-matrix[0112]",
    ]
    assert all(spec.allow_emergency_destination for spec in manifest.specs)
    assert manifest.specs[0].request["step.1.0.dial_destination"] == "112"


def test_the_same_manifest_without_the_flag_is_refused() -> None:
    with pytest.raises(ManifestError) as caught:
        load(
            """\
            tests:
              - name: lab
                test: t
                overrides:
                  step.1.0.dial_destination: "${DEST}"
            """,
            DEST="9 112",
        )
    assert str(caught.value).startswith(
        "sipfront.yml:5:34: tests[0].overrides.step.1.0.dial_destination: "
        "'9 112' (from '${DEST}') is an emergency number"
    )


def test_request_body_adds_the_report_mode_of_the_manifest_or_else_the_session() -> None:
    specs = by_name(
        load(
            """\
            tests:
              - name: kiosk
                test: t
                report_mode: kiosk
              - name: unset
                test: t
              - name: project
                project_id: 7
                test_ids: [11]
            """
        )
    )
    assert request_body(specs["kiosk"], "full") == {"test.name": "t", "report.mode": "kiosk"}
    assert request_body(specs["unset"], "full") == {"test.name": "t", "report.mode": "full"}
    assert request_body(specs["unset"], None) == {"test.name": "t"}
    assert request_body(specs["project"], "kiosk") == {
        "id": 7,
        "test_ids": [11],
        "report.mode": "kiosk",
    }
    # Projects take only full or kiosk: a session-wide print is not sent for them.
    assert request_body(specs["project"], "print") == {"id": 7, "test_ids": [11]}


def test_the_session_mode_dropped_for_a_project_is_print_and_only_print() -> None:
    """report_mode_sent is the one place of the rule; request_body and the session ask it."""
    specs = by_name(
        load(
            """\
            tests:
              - {name: call, test: t}
              - {name: nightly, project: p}
              - {name: own, project: p, report_mode: kiosk}
            """
        )
    )
    sent = {
        (name, mode): report_mode_sent(spec, mode)
        for name, spec in specs.items()
        for mode in (None, "full", "kiosk", "print")
    }
    dropped = {key for key, value in sent.items() if key[1] is not None and value is None}
    assert dropped == {("nightly", "print")}
    assert sent[("own", "print")] == "kiosk"
    assert sent[("call", "print")] == "print"
    assert sent[("call", None)] is None


def test_request_body_is_a_fresh_copy_that_leaves_the_spec_alone() -> None:
    spec = load("tests: [{name: p, project_id: 7, test_ids: [11, 12]}]").specs[0]
    body = request_body(spec, None)
    body["test_ids"].append(13)
    body["extra"] = 1
    assert dict(spec.request) == {"id": 7, "test_ids": [11, 12]}
    assert "report.mode" not in spec.request


def test_yaml_anchors_and_merge_keys_work_and_own_keys_win() -> None:
    manifest = load(
        """\
        tests:
          - &call
            name: first
            test: basic-call-a-b
            timeout: 5m
            overrides: &dest
              step.1.0.dial_destination: "431231234"
          - <<: *call
            name: second
            timeout: 7m
            overrides: *dest
        """
    )
    first, second = manifest.specs
    assert (second.name, second.target, second.timeout) == ("second", "basic-call-a-b", 420.0)
    assert second.request == first.request
    assert (second.line, second.column) == (8, 5)


def test_quoted_numbers_and_dates_stay_as_written() -> None:
    spec = load(
        """\
        tests:
          - name: q
            test: t
            overrides:
              step.1.0.dial_destination: "0043123"
              step.1.0.when: 2024-02-09
              step.1.0.country: "NO"
              step.1.0.pool: 1234
        """
    ).specs[0]
    assert dict(spec.request) == {
        "test.name": "t",
        "step.1.0.dial_destination": "0043123",
        "step.1.0.when": "2024-02-09",
        "step.1.0.country": "NO",
        "step.1.0.pool": 1234,
    }


def test_the_first_problem_in_the_file_is_the_one_reported() -> None:
    with pytest.raises(ManifestError) as caught:
        load(
            """\
            tests:
              - name: a
                test: t
                timeout: 10x
              - name: b
                test: t
                retries: -1
            """
        )
    assert str(caught.value) == (
        "sipfront.yml:4:14: tests[0].timeout: '10x' is not a duration (use 90s, 15m, 1h30m)"
    )


def test_a_manifest_duration_out_of_bounds_names_the_bound() -> None:
    with pytest.raises(ManifestError) as caught:
        load("tests:\n  - name: a\n    test: t\n    timeout: 1e300\n")
    assert "tests[0].timeout: '1e300' is longer than the longest allowed timeout, 24h" in str(
        caught.value
    )
    with pytest.raises(ManifestError) as caught:
        load("defaults:\n  poll_interval: 0.001s\ntests:\n  - {name: a, test: t}\n")
    assert "poll_interval: '0.001s' is shorter than the shortest allowed poll interval" in str(
        caught.value
    )


def test_a_mapping_with_a_misspelt_key_reports_the_key_before_what_is_missing() -> None:
    with pytest.raises(ManifestError) as caught:
        load(
            """\
            tests:
              - test: t
                nmae: a
            """
        )
    assert str(caught.value) == "sipfront.yml:3:5: tests[0].nmae: unknown key; did you mean name?"


def test_load_manifest_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "sipfront.yml"
    good.write_text("tests: [{name: a, test: t}]\n", encoding="utf-8")
    assert load_manifest(good).path == str(good)
    assert load_manifest(good, display_path="ci/sipfront.yml").path == "ci/sipfront.yml"

    bad = tmp_path / "bad.sipfront.yml"
    bad.write_text("tests:\n  - name: a\n    test: t\n    timeout: 0\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(bad, display_path="ci/bad.sipfront.yml")
    assert str(caught.value) == (
        "ci/bad.sipfront.yml:4:14: tests[0].timeout: "
        "0 is not a duration greater than zero (use 90s, 15m, 1h30m)"
    )


def test_a_missing_or_undecodable_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "nope.sipfront.yml", display_path="nope.sipfront.yml")
    assert str(caught.value).startswith("nope.sipfront.yml:1:1: cannot read the manifest: ")

    latin = tmp_path / "latin.sipfront.yml"
    latin.write_bytes(b"tests:\n  - name: a\n    test: caf\xe9\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(latin, display_path="latin.sipfront.yml")
    assert str(caught.value) == (
        "latin.sipfront.yml:3:14: the file is not UTF-8 text (byte 0xe9); save it as UTF-8"
    )


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.sipfront.yml"
    path.write_bytes("\ufefftests: [{name: a, test: café}]\n".encode())
    assert load_manifest(path).specs[0].request == {"test.name": "café"}


def test_manifest_error_shows_path_line_column_and_survives_pickling() -> None:
    error = ManifestError("sipfront.yml", 14, 5, "tests[2].timeout: bad")
    assert str(error) == "sipfront.yml:14:5: tests[2].timeout: bad"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.line, copy.column, copy.message) == (
        "sipfront.yml",
        14,
        5,
        "tests[2].timeout: bad",
    )


def test_run_specs_are_immutable_hashable_and_picklable() -> None:
    spec = load(DESIGN_EXAMPLE).specs[1]
    assert hash(spec) == hash(pickle.loads(pickle.dumps(spec)))
    assert pickle.loads(pickle.dumps(spec)) == spec
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_the_schema_is_valid_draft7_with_help_for_editors() -> None:
    schema = manifest_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"] and schema["title"] and schema["description"]
    entry = schema["properties"]["tests"]["items"]
    assert set(entry["properties"]) == set(schema_module.ENTRY_KEYS)
    assert set(schema["properties"]["defaults"]["properties"]) == set(schema_module.DEFAULTS_KEYS)
    assert manifest_schema is schema_module.manifest_schema
    schema["title"] = "changed"
    assert manifest_schema()["title"] != "changed"


def test_the_schema_accepts_the_design_example_as_parsed_yaml() -> None:
    import yaml

    jsonschema.Draft7Validator(manifest_schema()).validate(yaml.safe_load(DESIGN_EXAMPLE))


def test_public_constants() -> None:
    assert DEFAULT_PATTERNS == (
        "sipfront.yml",
        "sipfront.yaml",
        "*.sipfront.yml",
        "*.sipfront.yaml",
    )
    assert (
        frozenset(
            {
                "skip",
                "skipif",
                "xfail",
                "parametrize",
                "usefixtures",
                "filterwarnings",
                "timeout",
                "flaky",
            }
        )
        == PYTEST_MARK_NAMES
    )


# -- the emergency guard normalises before it checks --------------------------------------------

EMERGENCY_SPELLINGS = [
    "tel:112",
    "TEL:+112",
    "sip:911@pbx.example",
    "sips:112@pbx.example;transport=tls",
    "sip:112;user=phone",
    "112#",
    "*31#112",
    "#31#112",
    "*67911",
    "*67 0112",
    "\u0661\u0661\u0662",  # Arabic-Indic 112
    "\uff19\uff11\uff11",  # fullwidth 911
    "\u0969\u0966\u0966\u0966"[1:],  # Devanagari 000
    "9 112",
]


@pytest.mark.parametrize("destination", EMERGENCY_SPELLINGS)
def test_an_emergency_number_in_any_spelling_is_refused(destination: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(
            """\
            tests:
              - name: lab
                test: t
                overrides:
                  step.1.0.dial_destination: "${DEST}"
            """,
            DEST=destination,
        )
    assert "is an emergency number" in str(caught.value)


@pytest.mark.parametrize(
    "destination",
    ["sip:alice@pbx.example", "tel:+4930123456", "*31#4930123456", "1120", "49112", "0049911"],
)
def test_ordinary_destinations_in_the_same_spellings_pass(destination: str) -> None:
    spec = load(
        """\
        tests:
          - name: lab
            test: t
            overrides:
              step.1.0.dial_destination: "${DEST}"
        """,
        DEST=destination,
    ).specs[0]
    assert spec.request["step.1.0.dial_destination"] == destination


CREDENTIAL_LIKE_KEYS = [
    "step.1.0.sip_passwd",
    "step.1.0.Auth",
    "step.1.0.apiKey",
    "step.1.0.x-api-key",
    "step.1.0.apikey",
    "step.1.0.api_key",
    "step.1.0.pass",
    "step.1.0.password",
    "step.1.0.SIP_PASSWORD",
    "step.1.0.token",
    "step.1.0.auth_token",
    "step.1.0.secret",
    "step.1.0.public_key",
    "step.1.0.secretKey",
]


@pytest.mark.parametrize("key", CREDENTIAL_LIKE_KEYS)
def test_a_credential_like_key_is_refused_whatever_its_case_and_separators(key: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(f"tests: [{{name: a, test: t, overrides: {{{key}: x}}}}]")
    assert "looks like a credential" in str(caught.value)


@pytest.mark.parametrize(
    "key",
    [
        "step.1.0.credential_pool",
        "step.0.1.target_pool",
        "step.1.0.dial_destination",
        "step.1.0.regexpire",
        "step.0.0.max_total_calls",
        "step.1.0.passive_mode",
        "step.1.0.author",
    ],
)
def test_sipfront_keys_that_merely_contain_a_credential_word_pass(key: str) -> None:
    spec = load(f"tests: [{{name: a, test: t, overrides: {{{key}: 7}}}}]").specs[0]
    assert spec.request[key] == 7


# -- sizes and ids ------------------------------------------------------------------------------


def test_a_large_manifest_without_aliases_is_not_blamed_on_aliases(tmp_path: Path) -> None:
    entries = "".join(
        f"  - {{name: e{i}, test: t, overrides: {{step.1.0.a: 1, step.1.0.b: 2}}}}\n"
        for i in range(12_000)
    )
    manifest = tmp_path / "sipfront.yml"
    manifest.write_text("tests:\n" + entries, encoding="utf-8")
    assert len(load_manifest(manifest).specs) == 12_000  # 60 000 values, no alias


def test_aliases_that_expand_a_document_too_far_are_still_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    with pytest.raises(ManifestError) as caught:
        load_manifest_text("\n".join(lines) + "\ntests: []\n", "sipfront.yml")
    assert "aliases used too often" in str(caught.value)


def test_a_manifest_file_larger_than_the_limit_is_refused_naming_the_limit(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "sipfront.yml"
    manifest.write_text("tests: []\n" + ("#" * 79 + "\n") * (6 * 1024 * 1024 // 80), "utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    assert "larger than the 5 MB a manifest may be" in str(caught.value)
    assert "alias" not in str(caught.value)


@pytest.mark.parametrize("value", ["100000000000000000000000000", "'9223372036854775808'"])
def test_an_id_beyond_a_64_bit_integer_is_a_manifest_error(value: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(f"tests: [{{name: a, test_id: {value}}}]")
    assert "is not a Sipfront test id" in str(caught.value)
    assert "at most 9223372036854775807" in str(caught.value)


def test_the_largest_64_bit_id_is_sent() -> None:
    spec = load("tests: [{name: a, test_id: 9223372036854775807}]").specs[0]
    assert spec.request == {"test.id": 2**63 - 1}
