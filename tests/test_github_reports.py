"""GitHub Actions reports: the ::error annotations and the Markdown job summary.

Golden files live in tests/golden/; regenerate them with SIPFRONT_UPDATE_GOLDEN=1 after a
deliberate change, and read the diff.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from report_records import REPORT, SECRET_URL, record

from pytest_sipfront.reports import github
from pytest_sipfront.reports.github import (
    MAX_ANNOTATIONS,
    escape_data,
    escape_property,
    markdown_cell,
    markdown_link,
    step_summary,
    write_github,
)
from pytest_sipfront.runs.outcome import (
    Attempt,
    ItemRecord,
    PytestOutcome,
    RunOutcome,
    SessionInfo,
    Verdict,
)

GOLDEN = Path(__file__).parent / "golden"
ROOT = "/home/runner/work/voip/voip"
FAILED = "Sipfront run failed: one-way audio detected [status: failed]"

P = PytestOutcome


def info(**changes: object) -> SessionInfo:
    session = SessionInfo(api_url=SECRET_URL, sandbox=False, rootdir=ROOT)
    for key, value in changes.items():
        setattr(session, key, value)
    return session


def representative_records() -> list[ItemRecord]:
    return [
        record("basic-call", P.PASSED, line=3, verdict=Verdict.PASSED, sessions=("s1",),
               local=115),
        record("one-way-audio", P.FAILED, line=9, verdict=Verdict.FAILED, sessions=("s2",),
               message=FAILED, local=42),
        record("long-call", P.FAILED, line=14, verdict=Verdict.TIMEOUT, sessions=("s3",),
               message="Sipfront run did not finish within 10m (last status: running)",
               local=600),
        record("known-bug", P.XFAILED, line=19, verdict=Verdict.FAILED, sessions=("s4",),
               message="known one-way audio, TICKET-12", local=30),
        record("fixed-bug", P.XPASSED, line=24, verdict=Verdict.PASSED, sessions=("s5",),
               local=31),
        record("flaky-call", P.PASSED, line=29, verdict=Verdict.PASSED, sessions=("s6", "s7"),
               flaky=True, local=21),
        record("maintenance", P.SKIPPED, line=34, message="not triggered: maintenance window"),
        record("dtmf-matrix[431231234-4567]", P.PASSED, manifest="ci/prod.sipfront.yml", line=4,
               verdict=Verdict.PASSED, sessions=("s8",), local=10),
        record("bad-override", P.ERROR, manifest="ci/prod.sipfront.yml", line=12,
               verdict=Verdict.REFUSED,
               message="Sipfront refused to start the run: unknown key (HTTP 422)"),
        record("after-401", P.ERROR, manifest="ci/prod.sipfront.yml", line=17,
               verdict=Verdict.AUTH,
               message="Sipfront rejected the API credentials (HTTP 401): check "
               "SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY"),
    ]  # fmt: skip


def failing(count: int) -> list[ItemRecord]:
    return [
        record(f"call-{n}", P.FAILED, line=n, verdict=Verdict.FAILED, sessions=(f"f{n}",),
               message=f"Sipfront run failed: call {n} dropped [status: failed]")
        for n in range(1, count + 1)
    ]  # fmt: skip


HOSTILE = [
    "::error::injected",
    "line one\n::warning file=x::also\r\n::set-output name=x::y\r::add-mask::z",
    "| table | break |\n|---|---|\n| x |",
    "`code` [link](javascript:alert(1)) ![img](https://evil.example/x.png)",
    "<script>alert(1)</script><img src=x onerror=alert(1)> &lt;b&gt;",
    "\x1b[31mred\x1b[0m nul\x00 bell\x07",
    "lone \ud800 surrogate, right-to-left \u200f mark \u202e override",
    "percent %0A %25 colon: comma, done",
    "**bold** _em_ ~~strike~~ \\ backslash",
    "\u2028line separator\u2029paragraph \x85 next line",
]


def hostile_records() -> list[ItemRecord]:
    records = []
    for index, text in enumerate(HOSTILE):
        records.append(
            ItemRecord(
                nodeid=f"x.sipfront.yml::{text}",
                name=f"{text}[{index}]",
                manifest=f"gates/{text[:12]}.sipfront.yml",
                line=index + 1,
                outcome=P.FAILED,
                run=RunOutcome(
                    name=text,
                    verdict=Verdict.FAILED,
                    message=text,
                    attempts=[
                        Attempt(
                            session_id=text,
                            report_url=f"https://app.sipfront.com/run/{index})|[x](y)\n::error::z",
                            status=text,
                        )
                    ],
                ),
                message=f"Sipfront run failed: {text}",
            )
        )
    return records


def golden(filename: str, text: str) -> None:
    path = GOLDEN / filename
    if os.environ.get("SIPFRONT_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8", newline="\n")
    assert text == path.read_text(encoding="utf-8"), (
        f"{filename} changed; if on purpose, rerun with SIPFRONT_UPDATE_GOLDEN=1"
    )


def table_rows(text: str) -> list[str]:
    """The table's lines, its header included, without the |---| line."""
    return [line for line in text.splitlines() if line.startswith("| ")]


def assert_no_command_can_be_injected(text: str) -> None:
    for line in re.split(r"\r\n|\r|\n|\u2028|\u2029|\x85", text):
        assert not line.strip().startswith("::"), line


# --- annotations -------------------------------------------------------------------------------


def test_a_representative_session_gives_the_golden_annotations_and_summary() -> None:
    records = representative_records()
    lines = github.annotations(records, info(), workspace=ROOT)
    golden("github_annotations.txt", "\n".join(lines) + "\n")
    golden("github_step_summary.md", step_summary(records, info()))


def test_an_annotation_names_the_manifest_line_title_message_and_report_link() -> None:
    lines = github.annotations(representative_records(), info(), workspace=ROOT)
    assert lines[0] == (
        f"::error file=sipfront.yml,line=9,title=Sipfront%3A one-way-audio::{FAILED} {REPORT}s2"
    )
    assert len(lines) == 4  # failed, timeout, refused, auth: not xfailed, skipped or passed
    assert lines[2].startswith("::error file=ci/prod.sipfront.yml,line=12,title=Sipfront%3A ")


def test_the_annotation_file_is_relative_to_the_workspace_and_absent_outside_it() -> None:
    records = [record("call", P.FAILED, manifest="ci/prod.sipfront.yml", verdict=Verdict.FAILED)]
    session = info(rootdir=os.path.join(os.sep, "w", "repo", "gates"))
    in_workspace = github.annotations(records, session, workspace=os.path.join(os.sep, "w", "repo"))
    assert in_workspace[0].startswith("::error file=gates/ci/prod.sipfront.yml,line=5,")
    without = github.annotations(records, session, workspace=None)
    assert without[0].startswith("::error file=ci/prod.sipfront.yml,line=5,")
    # Outside the workspace GitHub cannot place the file: the annotation names none.
    outside = github.annotations(records, session, workspace=os.path.join(os.sep, "elsewhere"))
    assert outside[0].startswith("::error title=Sipfront%3A call::")


def test_more_failures_than_github_shows_give_nine_and_one_line_counting_the_rest() -> None:
    lines = github.annotations(failing(25), info(), workspace=ROOT)
    assert len(lines) == MAX_ANNOTATIONS == 10
    assert all(line.startswith("::error file=sipfront.yml,") for line in lines[:9])
    assert "call-9" in lines[8]
    assert lines[9] == (
        "::error title=Sipfront::16 more Sipfront runs failed or errored; see the job summary"
    )


def test_ten_failures_fit_and_are_all_shown() -> None:
    lines = github.annotations(failing(10), info(), workspace=ROOT)
    assert len(lines) == 10
    assert "call-10" in lines[9]


def test_workflow_command_escaping_covers_percent_cr_lf_colon_and_comma() -> None:
    assert escape_data("100% done\r\nnext:line,") == "100%25 done%0D%0Anext:line,"
    assert escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"
    assert escape_data("%0A") == "%250A"  # an already-escaped sequence stays literal


def test_hostile_strings_cannot_inject_workflow_commands_through_annotations() -> None:
    lines = github.annotations(hostile_records(), info(), workspace=ROOT)
    assert len(lines) == len(HOSTILE)
    for line in lines:
        assert not re.search(r"[\r\n\u2028\u2029\x85\x00\x1b]", line)
        assert line.startswith("::error file=")
        command, _, message = line[2:].partition("::")
        assert message
        properties = command.removeprefix("error ").split(",")
        assert [p.split("=", 1)[0] for p in properties] == ["file", "line", "title"]
        for prop in properties:
            assert ":" not in prop.split("=", 1)[1]
        assert "\u202e" not in line


def test_sandbox_annotations_say_sandbox() -> None:
    lines = github.annotations(failing(12), info(sandbox=True), workspace=ROOT)
    assert all("::[SANDBOX] " in line for line in lines)


def test_runs_left_going_by_an_interruption_are_annotated_as_errors() -> None:
    still = RunOutcome(
        name="long-call",
        verdict=Verdict.INTERRUPTED,
        manifest="sipfront.yml",
        line=14,
        attempts=[Attempt(session_id="s9", report_url=REPORT + "s9", status="running")],
    )
    lines = github.annotations([], info(interrupted=True, still_running=[still]), workspace=ROOT)
    assert lines == [
        "::error file=sipfront.yml,line=14,title=Sipfront%3A long-call::"
        f"Interrupted; the run is still going at Sipfront {REPORT}s9"
    ]


# --- the job summary ---------------------------------------------------------------------------


def test_the_summary_counts_every_outcome_and_tables_every_item() -> None:
    text = step_summary(representative_records(), info())
    assert text.startswith("## Sipfront runs\n")
    assert (
        "**10 Sipfront items**: 3 passed, 2 failed, 2 errors, 1 skipped, 1 xfailed, 1 xpassed, "
        "1 flaky"
    ) in text
    assert "| result | name | duration | report |" in text
    rows = table_rows(text)
    assert len(rows) == 1 + 10
    escaped = FAILED.replace("[", "\\[").replace("]", "\\]")
    row = f"| ❌ failed | sipfront.yml::one-way-audio<br>{escaped} | 42s | [report]({REPORT}s2) |"
    assert row in rows
    assert "| ✅ passed (flaky: 2 attempts) |" in text
    assert "| ⛔ error (auth) |" in text


def test_a_sandbox_summary_says_sandbox_in_its_heading() -> None:
    text = step_summary(representative_records(), info(sandbox=True))
    assert (
        text.splitlines()[0] == "## Sipfront runs (SANDBOX: simulated, not real Sipfront results)"
    )


def test_an_interrupted_summary_says_so_and_lists_the_runs_still_going() -> None:
    still = [
        RunOutcome(
            name=f"long-{n}",
            verdict=Verdict.INTERRUPTED,
            manifest="sipfront.yml",
            attempts=[Attempt(session_id=f"r{n}", report_url=f"{REPORT}r{n}", status="running")],
        )
        for n in range(3)
    ]
    text = step_summary(failing(2), info(interrupted=True, still_running=still))
    assert "**Interrupted**: the session stopped before every run was reported." in text
    for n in range(3):
        assert f"- long-{n}: [report]({REPORT}r{n})" in text
    assert "**5 Sipfront items**: 0 passed, 2 failed, 3 errors" in text


def test_hostile_strings_cannot_break_the_table_or_inject_anything() -> None:
    text = step_summary(hostile_records(), info())
    assert_no_command_can_be_injected(text)
    rows = table_rows(text)
    assert len(rows) == 1 + len(HOSTILE)
    for row in rows:
        unescaped_pipes = re.findall(r"(?<!\\)\|", row)
        assert len(unescaped_pipes) == 5, row
        without_breaks = row.replace("<br>", "")
        assert "<" not in without_breaks and ">" not in without_breaks, row
        assert not re.search(r"(?<!\\)`", row), row
        assert not re.search(r"(?<!\\)\]\(javascript", row), row  # no live link
        assert "\x1b" not in row and "\u202e" not in row and "\x00" not in row
    links = re.findall(r"\[report\]\(([^)]*)\)", text)
    assert len(links) == len(HOSTILE)
    assert all(re.fullmatch(r"https://app\.sipfront\.com/run/\d+%29%7C%5Bx%5D%28y%29[^\s|]*", link)
               for link in links), links  # fmt: skip


def test_markdown_cells_and_links_escape_what_could_break_out() -> None:
    assert markdown_cell("a|b\nc `d` <e> [f](g) & *h*") == (
        "a\\|b c \\`d\\` &lt;e&gt; \\[f\\](g) &amp; \\*h\\*"
    )
    assert markdown_link("javascript:alert(1)") == "javascript:alert(1)"
    assert markdown_link("https://x.example/a b)c") == "[report](https://x.example/a%20b%29c)"
    assert markdown_link("https://user:pw@x.example/r") == "[report](https://x.example/r)"
    assert markdown_link(None) == "—"


def test_twenty_thousand_items_stay_under_a_mebibyte_and_the_summary_says_rows_were_left_out() -> (
    None
):
    long = "Sipfront run failed: " + "very long description " * 200
    records = [
        record(f"call-{n}", P.FAILED, verdict=Verdict.FAILED, sessions=(f"s{n}",), message=long)
        for n in range(20_000)
    ]
    text = step_summary(records, info())
    size = len(text.encode("utf-8"))
    assert size < 1_000_000 <= 1024 * 1024
    shown = len(table_rows(text)) - 1
    assert 100 < shown < 20_000
    assert f"{20_000 - shown} of 20000 rows left out" in text
    assert "**20000 Sipfront items**: 0 passed, 20000 failed" in text


def test_a_smaller_limit_is_honoured_too() -> None:
    text = step_summary(failing(500), info(), limit_bytes=10_000)
    assert len(text.encode("utf-8")) <= 10_000
    assert "rows left out" in text


def test_credentials_in_the_api_url_never_reach_github() -> None:
    stream = io.StringIO()
    records = representative_records()
    text = step_summary(records, info()) + "\n".join(
        github.annotations(records, info(), workspace=ROOT)
    )
    write_github(records, info(), environ={"GITHUB_ACTIONS": "true"}, stream=stream)
    for output in (text, stream.getvalue()):
        assert "hunter2" not in output and "pk-user" not in output


# --- writing -----------------------------------------------------------------------------------


def test_outside_github_actions_nothing_is_written(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    stream = io.StringIO()
    environ = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "false"}
    write_github(failing(2), info(), environ=environ, stream=stream)
    assert stream.getvalue() == ""
    assert not summary.exists()


def test_on_github_actions_annotations_are_printed_and_the_summary_appended(
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step output\n", encoding="utf-8")
    stream = io.StringIO()
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": ROOT,
    }
    write_github(representative_records(), info(), environ=environ, stream=stream)
    assert stream.getvalue().splitlines() == github.annotations(
        representative_records(), info(), workspace=ROOT
    )
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("# Earlier step output\n\n## Sipfront runs\n")
    assert written.endswith(step_summary(representative_records(), info()))


def test_without_a_summary_file_only_annotations_are_printed() -> None:
    stream = io.StringIO()
    write_github(failing(1), info(), environ={"GITHUB_ACTIONS": "true"}, stream=stream)
    assert stream.getvalue().startswith("::error file=sipfront.yml,line=1,")


def test_an_unwritable_summary_gives_a_warning_not_a_crash(tmp_path: Path) -> None:
    stream = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path)}  # a directory
    write_github(failing(1), info(), environ=environ, stream=stream)
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("::warning title=Sipfront::Could not write the job summary")


@pytest.mark.parametrize("already", [1024 * 1024 - 100, 0])
def test_the_summary_leaves_room_for_what_earlier_steps_wrote(tmp_path: Path, already: int) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * already)
    stream = io.StringIO()
    records = failing(20_000)
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    write_github(records, info(), environ=environ, stream=stream)
    assert summary.stat().st_size <= 1024 * 1024
    if already:
        assert "::warning title=Sipfront::The job summary is nearly full" in stream.getvalue()
