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
    SourceLinks,
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
    PreviousRun,
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


def passing(count: int) -> list[ItemRecord]:
    return [
        record(f"pass-{n}", P.PASSED, line=100 + n, verdict=Verdict.PASSED, sessions=(f"p{n}",))
        for n in range(1, count + 1)
    ]


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
    assert text.startswith("## ❌ 4 of 10 Sipfront runs failed or errored\n")
    assert (
        "**10 Sipfront items**: 2 failed, 3 passed (1 flaky), 1 skipped, 1 xfailed, 1 xpassed, "
        "2 errors"
    ) in text
    assert "| result | name | reason | duration | report | manifest |" in text
    rows = table_rows(text)
    assert len(rows) == 2 + 10  # two tables: what needs attention, then the folded rest
    escaped = FAILED.replace("[", "\\[").replace("]", "\\]")
    row = f"| ❌ failed | one-way-audio | {escaped} | 42s | [report]({REPORT}s2) | sipfront.yml:9 |"
    assert row in rows
    assert "| ✅ passed (flaky: 2 attempts) |" in text
    assert "| ⛔ error (auth) |" in text


SESSION_LINKS = SourceLinks("https://github.com", "acme/voip", "0123abc", ROOT)


@pytest.mark.parametrize(
    ("records", "heading"),
    [
        (failing(5) + passing(45), "## ❌ 5 of 50 Sipfront runs failed"),
        (passing(12), "## ✅ 12 Sipfront runs passed"),
        (passing(1), "## ✅ 1 Sipfront run passed"),
        (
            [*passing(3), record("later", P.SKIPPED, message="maintenance")],
            "## ✅ No Sipfront run failed (3 of 4 passed)",
        ),
        (
            [record("later", P.SKIPPED, message="maintenance")],
            "## ⚠️ No Sipfront run was selected: the gate tested nothing",
        ),
        (
            [record("x", P.ERROR, verdict=Verdict.AUTH, message="bad keys"), *passing(2)],
            "## ❌ 1 of 3 Sipfront runs errored",
        ),
    ],
)
def test_the_summary_heading_carries_the_gates_verdict(
    records: list[ItemRecord], heading: str
) -> None:
    assert step_summary(records, info()).splitlines()[0] == heading


def test_a_sandbox_summary_says_sandbox_in_its_heading() -> None:
    text = step_summary(passing(12), info(sandbox=True))
    assert text.splitlines()[0] == (
        "## ✅ 12 Sipfront runs passed (SANDBOX: simulated, not real Sipfront results)"
    )


def test_failures_come_first_with_reason_report_and_their_manifest_line_at_this_commit() -> None:
    records = [
        r for pair in zip(passing(5), failing(5), strict=False) for r in pair
    ]  # 1 pass, 1 failure, ...
    text = step_summary(records, info(), links=SESSION_LINKS)
    lines = text.splitlines()
    failures = [n for n, line in enumerate(lines) if line.startswith("| ❌ failed |")]
    passes = [n for n, line in enumerate(lines) if line.startswith("| pass-")]
    assert len(failures) == 5 and len(passes) == 5
    assert max(failures) < min(passes)
    blob = "https://github.com/acme/voip/blob/0123abc/sipfront.yml"
    assert lines[failures[2]] == (
        f"| ❌ failed | call-3 | Sipfront run failed: call 3 dropped \\[status: failed\\] | "
        f"[report]({REPORT}f3) | [sipfront.yml:3]({blob}#L3) |"
    )


def test_passed_and_skipped_rows_are_folded_and_say_only_what_varies() -> None:
    records = [*passing(3), record("later", P.SKIPPED, message="maintenance window")]
    text = step_summary(records, info())
    start = text.index("<details><summary>3 passed, 1 skipped</summary>\n\n")
    assert text.index("| result | name | reason | report |") > start
    assert text.rstrip().endswith("</details>")
    # All passed: neither a result nor a reason column.
    assert "| name | report |\n|---|---|\n| pass-1 |" in step_summary(passing(3), info())


def test_a_before_column_is_shown_only_when_history_says_something() -> None:
    nothing_earlier = failing(3)
    for item in nothing_earlier:
        assert item.run is not None
        item.run.previous = PreviousRun(state="none")
    assert "before" not in step_summary(nothing_earlier, info())
    assert nothing_earlier[0].run is not None
    nothing_earlier[0].run.previous = PreviousRun(state="passed")
    text = step_summary(nothing_earlier, info())
    assert "| before |" in text
    assert "passed: NEW failure" in text


def test_the_summary_shows_the_sessions_wall_time() -> None:
    text = step_summary(passing(2), info(started_at=1000.0, finished_at=1250.0))
    assert text.splitlines()[2] == "**2 Sipfront items**: 2 passed · wall time 4m10s"


def test_fifty_runs_with_five_failures_stay_under_ten_kilobytes() -> None:
    records = failing(5) + passing(45)
    for item in records:
        assert item.run is not None
        item.run.attempts[0].report_url = f"{REPORT}bae59eae-c723-11ee-8347-6cb5e9a2b1c2"
        item.run.local_duration_s = 125
    text = step_summary(records, info(started_at=0.0, finished_at=400.0), links=SESSION_LINKS)
    assert len(text.encode("utf-8")) < 10_000
    assert len(table_rows(text)) == 2 + 50


def test_a_broken_manifest_gives_a_summary_that_says_what_is_wrong_and_what_to_do() -> None:
    broken = info(manifest_errors=[("sipfront.yml", 14, 5, "tests[2].timeout: '10x' is not a "
                                    "duration (use 90s, 15m, 1h30m)")])  # fmt: skip
    text = step_summary([], broken, links=SESSION_LINKS)
    assert text.splitlines()[0] == "## ⛔ The Sipfront gate could not start: a manifest is broken"
    assert "`sipfront validate`" in text
    blob = "https://github.com/acme/voip/blob/0123abc/sipfront.yml#L14"
    assert f"- [sipfront.yml:14:5]({blob}): tests\\[2\\].timeout: '10x' is not a duration" in text


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
    assert text.splitlines()[0] == "## ⛔ 5 of 5 Sipfront runs failed or errored (interrupted)"
    assert "**Interrupted**: the session stopped before every run was reported." in text
    for n in range(3):
        assert f"| ⛔ error (interrupted) | long-{n} | Interrupted; the run is still going" in text
        assert f"[report]({REPORT}r{n})" in text
    assert "**5 Sipfront items**: 2 failed, 3 errors, 3 still running at Sipfront" in text


def test_hostile_strings_cannot_break_the_table_or_inject_anything() -> None:
    text = step_summary(hostile_records(), info())
    assert_no_command_can_be_injected(text)
    rows = table_rows(text)
    assert len(rows) == 1 + len(HOSTILE)
    for row in rows:
        unescaped_pipes = re.findall(r"(?<!\\)\|", row)
        assert len(unescaped_pipes) == 6, row
        assert "<" not in row and ">" not in row, row
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
    assert size < 300 * 1024  # well under GitHub's limit
    shown = len(table_rows(text)) - 1
    assert 100 < shown < 20_000
    assert f"{20_000 - shown} of 20000 rows left out" in text
    assert "**20000 Sipfront items**: 20000 failed" in text


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
    assert written.startswith("# Earlier step output\n\n## ❌ 4 of 10 Sipfront runs failed")
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
