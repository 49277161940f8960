"""The --sipfront-junit report: what Jenkins, GitLab and other JUnit readers are shown.

Golden files live in tests/golden/; regenerate them with SIPFRONT_UPDATE_GOLDEN=1 after a
deliberate change, and read the diff.
"""

from __future__ import annotations

import functools
import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
import xunitparser  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junitparser import JUnitXml
from report_records import REPORT, SECRET_URL, attempt
from report_records import record as record_of

from pytest_sipfront.reports.junit import classname_for, junit_xml, write_junit
from pytest_sipfront.runs.outcome import (
    Attempt,
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
)

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
PROFILE = HERE / "schemas" / "sipfront-junit-profile.xsd"


@pytest.fixture(scope="module")
def profile() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(PROFILE))


# The runs of these records are of one Sipfront test.
record = functools.partial(record_of, target="basic-call-a-b")


def detail(first: str, session: str, status: str) -> str:
    return (
        f"{first}\n"
        "  test      basic-call-a-b (id 123) | Media analysis for Audio Call\n"
        f"  session   {session}\n"
        f"  status    {status} | agent pool eu-central-1 | 08:20:18 -> 08:22:13 UTC (1m55s)\n"
        f"  report    {REPORT}{session}\n"
        "  manifest  sipfront.yml:12"
    )


FAILED = "Sipfront run failed: one-way audio detected [status: failed]"
TIMEOUT = "Sipfront run did not finish within 10m (last status: running)"
REFUSED = "Sipfront refused to start the run: unknown key step.9.9.x (HTTP 422)"
AUTH = (
    "Sipfront rejected the API credentials (HTTP 401): "
    "check SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"
)


def representative_records() -> list[ItemRecord]:
    P = PytestOutcome
    return [
        record(
            "basic-call",
            P.PASSED,
            line=3,
            verdict=Verdict.PASSED,
            attempts=[attempt("s-pass", "passed", passed=True, seconds=115)],
        ),
        record(
            "one-way-audio",
            P.FAILED,
            line=9,
            verdict=Verdict.FAILED,
            message=FAILED,
            attempts=[attempt("s-fail", "failed", passed=False, seconds=42, description="one-way")],
            longrepr=detail(FAILED, "s-fail", "failed"),
        ),
        record(
            "long-call",
            P.FAILED,
            line=14,
            verdict=Verdict.TIMEOUT,
            message=TIMEOUT,
            attempts=[attempt("s-slow", "running", passed=None)],
            local=600.0004,
        ),
        record(
            "known-bug",
            P.XFAILED,
            line=19,
            verdict=Verdict.FAILED,
            message="known one-way audio, TICKET-12",
            attempts=[attempt("s-xfail", "failed", passed=False, seconds=30)],
            longrepr=detail(FAILED, "s-xfail", "failed"),
        ),
        record(
            "fixed-bug",
            P.XPASSED,
            line=24,
            verdict=Verdict.PASSED,
            message="known one-way audio, TICKET-13",
            attempts=[attempt("s-xpass", "passed", passed=True, seconds=31)],
        ),
        record(
            "flaky-call",
            P.PASSED,
            line=29,
            verdict=Verdict.PASSED,
            flaky=True,
            attempts=[
                attempt("s-flaky-1", "failed", passed=False, seconds=20),
                attempt("s-flaky-2", "passed", passed=True, seconds=21.5),
            ],
        ),
        record("maintenance", P.SKIPPED, line=34, message="not triggered: maintenance window"),
        record(
            "dtmf-matrix[431231234-4567]",
            P.PASSED,
            manifest="ci/prod.sipfront.yml",
            line=4,
            verdict=Verdict.PASSED,
            attempts=[attempt("s-m1", "passed", passed=True, seconds=10)],
        ),
        record(
            "dtmf-matrix[439994567-4567]",
            P.FAILED,
            manifest="ci/prod.sipfront.yml",
            line=4,
            verdict=Verdict.FAILED,
            message="Sipfront run failed: no reason given [status: stopped]",
            attempts=[attempt("s-m2", "stopped", passed=False, seconds=11)],
        ),
        record(
            "bad-override",
            P.ERROR,
            manifest="ci/prod.sipfront.yml",
            line=12,
            verdict=Verdict.REFUSED,
            message=REFUSED,
        ),
        record(
            "after-401",
            P.ERROR,
            manifest="ci/prod.sipfront.yml",
            line=17,
            verdict=Verdict.AUTH,
            message=AUTH,
        ),
    ]


def representative_info(**changes: object) -> SessionInfo:
    info = SessionInfo(api_url=SECRET_URL, sandbox=False, rootdir="/builds/voip")
    for key, value in changes.items():
        setattr(info, key, value)
    return info


def interrupted_sandbox_session() -> tuple[list[ItemRecord], SessionInfo]:
    records = [
        record(
            "basic-call",
            PytestOutcome.PASSED,
            line=3,
            verdict=Verdict.PASSED,
            sandbox=True,
            attempts=[attempt("sbx-1", "passed", passed=True, seconds=2)],
        ),
        record(
            "long-call",
            PytestOutcome.ERROR,
            line=14,
            verdict=Verdict.INTERRUPTED,
            sandbox=True,
            message="Interrupted; the run is still going at Sipfront",
            attempts=[attempt("sbx-2", "running", passed=None)],
        ),
    ]
    still = [
        RunOutcome(  # reached by pytest above: must not appear twice
            name="long-call",
            verdict=Verdict.INTERRUPTED,
            manifest="sipfront.yml",
            line=14,
            attempts=[attempt("sbx-2", "running", passed=None)],
        ),
        RunOutcome(
            name="dtmf-matrix[431231234-4567]",
            verdict=Verdict.INTERRUPTED,
            manifest="ci/prod.sipfront.yml",
            line=4,
            sandbox=True,
            attempts=[attempt("sbx-3", "running", passed=None)],
        ),
    ]
    info = SessionInfo(
        api_url="http://127.0.0.1:8123/api/v2",
        sandbox=True,
        rootdir="/builds/voip",
        interrupted=True,
        still_running=still,
    )
    return records, info


HOSTILE = [
    "cdata ]]> end",
    "<script>alert('x')</script> & &amp; \"quoted\"",
    "nul \x00 bell \x07 escape-alone \x1b vt \x0b ff \x0c",
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "lone \ud800 surrogates \udfff",
    "right-to-left \u200f mark \u202e override \u2066 isolate",
    "::error::injected\n::warning file=x::also\r\n::set-output name=x::y",
    "| table | break |\n| --- |\n`tick` [link](javascript:alert(1))",
    "non-characters \ufffe \uffff \U0001fffe c1 \x85 \x9b",
    "percent %0A%0D %25 and comma, colon: done",
    "emoji 😀 and CJK 漢字",
    "x" * 1_000_000,
]


def hostile_records() -> list[ItemRecord]:
    records = []
    for index, text in enumerate(HOSTILE):
        first = f"Sipfront run failed: {text} [status: failed]"
        records.append(
            record(
                f"hostile-{index}{text[:40]}",
                PytestOutcome.FAILED,
                line=index + 1,
                verdict=Verdict.FAILED,
                message=first,
                longrepr=f"{first}\n  detail {text}",
                attempts=[
                    attempt(f"h{index}", text[:60], passed=False, seconds=1, description=text)
                ],
            )
        )
        records.append(
            record(f"hostile-skip-{index}", PytestOutcome.SKIPPED, message=text, line=index + 1)
        )
        records.append(
            record(
                f"hostile-error-{index}",
                PytestOutcome.ERROR,
                verdict=Verdict.UNREACHABLE,
                message=f"Sipfront API unreachable after 5 attempts: {text}",
                line=index + 1,
            )
        )
    return records


def check_readers(text: str, schema: xmlschema.XMLSchema) -> JUnitXml:
    """The file parses with junitparser and xunitparser and validates against the profile."""
    schema.validate(text)
    parsed = JUnitXml.fromstring(text)
    _, result = xunitparser.parse(io.BytesIO(text.encode("utf-8")))
    assert result.testsRun == int(ET.fromstring(text).get("tests", "0"))
    return parsed


def cases(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text)
    return {case.get("name", ""): case for case in root.iter("testcase")}


def test_a_representative_session_matches_the_golden_file(profile: xmlschema.XMLSchema) -> None:
    sessions = {
        "junit_session.xml": (representative_records(), representative_info()),
        "junit_interrupted_sandbox.xml": interrupted_sandbox_session(),
    }
    for filename, (records, info) in sessions.items():
        text = junit_xml(records, info)
        check_readers(text, profile)
        golden = GOLDEN / filename
        if os.environ.get("SIPFRONT_UPDATE_GOLDEN") == "1":
            golden.write_text(text, encoding="utf-8", newline="\n")
        assert text == golden.read_text(encoding="utf-8"), (
            f"{filename} changed; if on purpose, rerun with SIPFRONT_UPDATE_GOLDEN=1"
        )


def test_every_item_is_read_back_with_the_right_result_by_both_parsers(
    profile: xmlschema.XMLSchema,
) -> None:
    text = junit_xml(representative_records(), representative_info())
    parsed = check_readers(text, profile)
    results = {}
    for suite in parsed:
        for case in suite:
            kinds = [type(result).__name__ for result in case.result]
            results[case.name] = kinds
    assert results == {
        "basic-call": [],
        "one-way-audio": ["Failure"],
        "long-call": ["Failure"],
        "known-bug": ["Skipped"],
        "fixed-bug": [],
        "flaky-call": [],
        "maintenance": ["Skipped"],
        "dtmf-matrix[431231234-4567]": [],
        "dtmf-matrix[439994567-4567]": ["Failure"],
        "bad-override": ["Error"],
        "after-401": ["Error"],
    }
    _, result = xunitparser.parse(io.BytesIO(text.encode("utf-8")))
    assert (len(result.failures), len(result.errors), len(result.skipped)) == (3, 2, 2)


def test_each_manifest_is_one_suite_with_classname_file_line_and_properties() -> None:
    root = ET.fromstring(junit_xml(representative_records(), representative_info()))
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["sipfront.yml", "ci/prod.sipfront.yml"]
    assert [suite.get("tests") for suite in suites] == ["7", "4"]
    prod = suites[1]
    assert {case.get("classname") for case in prod.iter("testcase")} == {"sipfront.ci_prod"}
    assert {case.get("file") for case in prod.iter("testcase")} == {"ci/prod.sipfront.yml"}
    assert [case.get("line") for case in prod.iter("testcase")] == ["4", "4", "12", "17"]
    # Session properties sit on the first suite only (xunitparser rejects a repeated name).
    properties = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert properties == {
        "sipfront.api_url": "https://app.sipfront.example/api/v2",
        "sipfront.sandbox": "false",
        # The session's one count, xfailed and xpassed apart (JUnit has no word for them).
        "sipfront.count.total": "11",
        "sipfront.count.passed": "3",
        "sipfront.count.failed": "3",
        "sipfront.count.errors": "2",
        "sipfront.count.skipped": "1",
        "sipfront.count.xfailed": "1",
        "sipfront.count.xpassed": "1",
        "sipfront.count.flaky": "1",
        "sipfront.count.running": "0",
    }
    assert prod.find("properties") is None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("11", "3", "2")
    assert root.get("skipped") == "2"


@pytest.mark.parametrize(
    ("manifest", "classname"),
    [
        ("ci/prod.sipfront.yml", "sipfront.ci_prod"),
        ("ci/prod.sipfront.yaml", "sipfront.ci_prod"),
        ("sipfront.yml", "sipfront.sipfront"),
        ("ci/sipfront.yaml", "sipfront.ci_sipfront"),
        ("gates/eu.v2.yml", "sipfront.gates_eu_v2"),
        ("./nightly.sipfront.yml", "sipfront.nightly"),
    ],
)
def test_classname_follows_the_manifest_path(manifest: str, classname: str) -> None:
    assert classname_for(manifest) == classname


def test_failed_and_timed_out_runs_are_failures_with_message_and_full_text() -> None:
    by_name = cases(junit_xml(representative_records(), representative_info()))
    failure = by_name["one-way-audio"].find("failure")
    assert failure is not None
    assert failure.get("type") == "sipfront.failed"
    assert failure.get("message") == FAILED
    assert failure.text is not None
    assert failure.text.startswith(FAILED + "\n  test      basic-call-a-b (id 123)")
    timeout = by_name["long-call"].find("failure")
    assert timeout is not None
    assert timeout.get("type") == "sipfront.timeout"
    assert timeout.get("message") == TIMEOUT
    assert timeout.text is not None and timeout.text.startswith(TIMEOUT)
    assert f"{REPORT}s-slow" in timeout.text


def test_gate_problems_are_errors_typed_by_verdict_never_failures() -> None:
    records = [
        *representative_records(),
        record(  # decided before any run: the verdict, not the message, types it
            "no-credentials",
            PytestOutcome.ERROR,
            verdict=Verdict.AUTH,
            message="No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY",
        ),
        record(  # pytest filed it as a failure; the gate says it is an error
            "vanished",
            PytestOutcome.FAILED,
            verdict=Verdict.VANISHED,
            message="Sipfront no longer knows this run (HTTP 404 on its status)",
        ),
        record("mystery", PytestOutcome.ERROR),
    ]
    by_name = cases(junit_xml(records, representative_info()))
    expected = {
        "bad-override": ("sipfront.refused", REFUSED),
        "after-401": ("sipfront.auth", AUTH),
        "no-credentials": (
            "sipfront.auth",
            "No Sipfront credentials: set SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY",
        ),
        "vanished": (
            "sipfront.vanished",
            "Sipfront no longer knows this run (HTTP 404 on its status)",
        ),
    }
    for name, (kind, message) in expected.items():
        case = by_name[name]
        error = case.find("error")
        assert error is not None, name
        assert case.find("failure") is None
        assert (error.get("type"), error.get("message")) == (kind, message)
        assert error.text and error.text.startswith(message)
    mystery = by_name["mystery"].find("error")
    assert mystery is not None and mystery.get("message") and mystery.text


def test_skipped_and_xfailed_items_are_skipped_and_never_also_failed() -> None:
    by_name = cases(junit_xml(representative_records(), representative_info()))
    for name in ("maintenance", "known-bug"):
        children = [child.tag for child in by_name[name]]
        assert children == ["skipped", "system-out"], name
    assert by_name["maintenance"].find("skipped").get("message") == (  # type: ignore[union-attr]
        "not triggered: maintenance window"
    )
    xfail = by_name["known-bug"].find("skipped")
    assert xfail is not None
    assert xfail.get("message") == "expected failure (xfail): known one-way audio, TICKET-12"
    assert xfail.text and FAILED in xfail.text


def test_an_xpassed_item_is_a_pass_that_says_it_was_expected_to_fail() -> None:
    case = cases(junit_xml(representative_records(), representative_info()))["fixed-bug"]
    assert [child.tag for child in case] == ["system-out"]
    out = case.findtext("system-out") or ""
    assert "xpassed: the run passed although the entry expects it to fail" in out
    assert "TICKET-13" in out


def test_system_out_holds_report_session_status_and_every_attempt_of_a_flaky_item() -> None:
    case = cases(junit_xml(representative_records(), representative_info()))["flaky-call"]
    assert [child.tag for child in case] == ["system-out"]
    out = (case.findtext("system-out") or "").splitlines()
    assert "result    passed (flaky: passed on attempt 2 of 2)" in out
    assert f"report    {REPORT}s-flaky-2" in out
    assert "session   s-flaky-2" in out
    assert "status    passed" in out
    assert f"attempt 1 of 2: failed | session s-flaky-1 | report {REPORT}s-flaky-1" in out
    assert f"attempt 2 of 2: passed | session s-flaky-2 | report {REPORT}s-flaky-2" in out
    assert case.get("time") == "21.000"


def test_times_are_the_remote_duration_in_whole_milliseconds() -> None:
    records = [
        record("a", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=0.1),
        record("b", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=0.2),
        record("c", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=0.00001),
        record("d", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=float("nan")),
        record("e", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=-3.0),
        record("f", PytestOutcome.PASSED, verdict=Verdict.PASSED, local=86399.9996),
        record(
            "g",
            PytestOutcome.PASSED,
            verdict=Verdict.PASSED,
            local=5.0,
            attempts=[attempt("s", "passed", passed=True, seconds=115)],
        ),
    ]
    root = ET.fromstring(junit_xml(records, representative_info()))
    times = {case.get("name"): case.get("time") for case in root.iter("testcase")}
    assert times == {
        "a": "0.100",
        "b": "0.200",
        "c": "0.000",
        "d": "0.000",
        "e": "0.000",
        "f": "86400.000",
        "g": "115.000",
    }
    assert root.find("testsuite").get("time") == "86515.300"  # type: ignore[union-attr]
    assert root.get("time") == "86515.300"


def test_runs_left_going_by_an_interruption_are_errors_in_their_manifest_suite(
    profile: xmlschema.XMLSchema,
) -> None:
    records, info = interrupted_sandbox_session()
    text = junit_xml(records, info)
    check_readers(text, profile)
    root = ET.fromstring(text)
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == ["basic-call", "long-call", "dtmf-matrix[431231234-4567]"]
    prod = root.findall("testsuite")[1]
    assert prod.get("name") == "ci/prod.sipfront.yml"
    case = prod.find("testcase")
    assert case is not None
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "sipfront.interrupted"
    assert error.get("message") == "Interrupted; the run is still going at Sipfront"
    assert f"{REPORT}sbx-3" in (error.text or "")
    assert f"{REPORT}sbx-3" in (case.findtext("system-out") or "")


def test_a_sandbox_session_says_so_in_properties_and_every_testcase() -> None:
    records, info = interrupted_sandbox_session()
    root = ET.fromstring(junit_xml(records, info))
    assert root.get("name") == "Sipfront SANDBOX"
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["sipfront.sandbox"] == "true"
    assert properties["sipfront.interrupted"] == "true"
    for case in root.iter("testcase"):
        assert (case.findtext("system-out") or "").startswith("SANDBOX:")


def test_items_that_never_reached_sipfront_still_appear() -> None:
    records = [
        record(
            "dry",
            PytestOutcome.SKIPPED,
            line=7,
            message='dry run: POST /tests/run\n{"test": {"name": "basic-call-a-b"}}',
        ),
    ]
    case = cases(junit_xml(records, representative_info()))["dry"]
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "dry run: POST /tests/run"
    assert '{"test": {"name": "basic-call-a-b"}}' in (skipped.text or "")
    assert "no Sipfront run was triggered" in (case.findtext("system-out") or "")
    assert case.get("time") == "0.000"


def test_testcase_names_in_a_suite_are_unique() -> None:
    records = [
        record("basic-call", PytestOutcome.PASSED),
        record("basic-call", PytestOutcome.PASSED),
        record("basic-call", PytestOutcome.PASSED, manifest="other.sipfront.yml"),
    ]
    root = ET.fromstring(junit_xml(records, representative_info()))
    first, other = root.findall("testsuite")
    assert [case.get("name") for case in first.iter("testcase")] == [
        "basic-call",
        "basic-call (2)",
    ]
    assert [case.get("name") for case in other.iter("testcase")] == ["basic-call"]


def test_credentials_in_the_api_url_never_reach_the_report() -> None:
    text = junit_xml(representative_records(), representative_info())
    assert "hunter2" not in text
    assert "pk-user" not in text
    assert 'value="https://app.sipfront.example/api/v2"' in text


def test_an_empty_session_is_still_a_valid_report(profile: xmlschema.XMLSchema) -> None:
    text = junit_xml([], representative_info())
    check_readers(text, profile)
    assert ET.fromstring(text).get("tests") == "0"


def test_hostile_descriptions_give_a_valid_readable_file(profile: xmlschema.XMLSchema) -> None:
    text = junit_xml(hostile_records(), representative_info())
    check_readers(text, profile)
    assert "\x1b" not in text
    assert "[31m" not in text
    assert "\u202e" not in text and "\u2066" not in text
    assert len(text.encode("utf-8")) < 2_000_000  # 3 MB of descriptions, cut sensibly
    root = ET.fromstring(text)
    for element in root.iter():
        for key, value in element.attrib.items():
            assert "\n" not in value and "\t" not in value, key
            if key == "message":
                assert len(value) <= 500
    by_name = {case.get("name", ""): case for case in root.iter("testcase")}
    cdata = next(case for name, case in by_name.items() if name.startswith("hostile-0"))
    failure = cdata.find("failure")
    assert failure is not None
    assert failure.get("message") == "Sipfront run failed: cdata ]]> end [status: failed]"
    controls = next(case for name, case in by_name.items() if name.startswith("hostile-2"))
    # Control characters are replaced visibly with U+FFFD, not dropped.
    assert "nul \ufffd bell \ufffd escape-alone \ufffd vt \ufffd ff \ufffd" in (
        controls.findtext("failure") or ""
    )
    ansi = next(case for name, case in by_name.items() if name.startswith("hostile-3"))
    assert "red link" in (ansi.find("failure").get("message") or "")  # type: ignore[union-attr]
    huge = next(case for name, case in by_name.items() if name.startswith("hostile-11"))
    huge_text = huge.findtext("failure") or ""
    assert len(huge_text) < 70_000
    assert huge_text.endswith("characters]") and "cut: the full text had" in huge_text
    skipped = by_name["hostile-skip-6"].find("skipped")
    assert skipped is not None and skipped.get("message") == "::error::injected"


@pytest.mark.parametrize("text", HOSTILE[:-1])
def test_every_hostile_string_alone_survives_both_parsers_and_the_profile(
    text: str, profile: xmlschema.XMLSchema
) -> None:
    records = [
        record(
            text or "empty",
            PytestOutcome.FAILED,
            manifest=f"ci/{text[:20]}.sipfront.yml",
            verdict=Verdict.FAILED,
            message=text,
            longrepr=text,
            attempts=[attempt(text[:30], text, passed=False, seconds=1, description=text)],
        ),
        record(text, PytestOutcome.XFAILED, verdict=Verdict.FAILED, message=text, longrepr=text),
    ]
    info = representative_info(api_url=f"https://u:p@h.example/{text[:30]}")
    check_readers(junit_xml(records, info), profile)


def test_a_failure_or_error_without_any_message_is_never_written_as_a_pass() -> None:
    records = [
        record("silent-failure", PytestOutcome.FAILED),
        record("silent-error", PytestOutcome.ERROR),
        record("silent-timeout", PytestOutcome.FAILED, verdict=Verdict.TIMEOUT),
    ]
    root = ET.fromstring(junit_xml(records, representative_info()))
    assert (root.get("failures"), root.get("errors")) == ("2", "1")
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        assert problem is not None
        assert problem.get("message") and problem.text


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=ANY_TEXT, description=ANY_TEXT, status=ANY_TEXT, url=ANY_TEXT)
def test_any_text_from_sipfront_gives_a_file_both_parsers_and_the_profile_accept(
    name: str, description: str, status: str, url: str, profile: xmlschema.XMLSchema
) -> None:
    run_attempt = Attempt(
        session_id=status, report_url=url, status=status, run={"result_description": description}
    )
    records = [
        record(
            name,
            PytestOutcome.FAILED,
            manifest=f"{name}.sipfront.yml",
            verdict=Verdict.FAILED,
            message=description,
            longrepr=description,
            attempts=[run_attempt],
        ),
        record(name, PytestOutcome.SKIPPED, message=description),
        record(name, PytestOutcome.ERROR, verdict=Verdict.REFUSED, message=status),
    ]
    check_readers(junit_xml(records, representative_info(api_url=url)), profile)


def test_write_junit_creates_directories_and_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "nested" / "sipfront-junit.xml"
    write_junit(target, representative_records(), representative_info())
    first = target.read_bytes()
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert first.decode("utf-8") == junit_xml(representative_records(), representative_info())
    write_junit(str(target), representative_records()[:1], representative_info())
    assert ET.fromstring(target.read_bytes()).get("tests") == "1"
    assert sorted(p.name for p in target.parent.iterdir()) == ["sipfront-junit.xml"]
    if os.name == "posix":
        assert target.stat().st_mode & 0o044  # readable by others, not mkstemp's 0600


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "sipfront-junit.xml"
    target.write_text("previous", encoding="utf-8")

    def refuse(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pytest_sipfront.reports.junit.os.replace", refuse)
    with pytest.raises(OSError):
        write_junit(target, representative_records(), representative_info())
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["sipfront-junit.xml"]


def test_an_xfail_entry_whose_run_timed_out_is_an_error_typed_as_a_timeout() -> None:
    message = "Sipfront run did not finish within 2s (last status: running)"
    records = [record("slow-known", PytestOutcome.ERROR, verdict=Verdict.TIMEOUT, message=message)]
    case = cases(junit_xml(records, representative_info()))["slow-known"]
    error = case.find("error")
    assert error is not None
    assert (error.get("type"), error.get("message")) == ("sipfront.timeout", message)
