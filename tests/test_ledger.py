"""The run ledger's parts on their own: the record's shape, the atomic file, the lock, the key
and the one decision rule. (Sessions that use it: tests/test_ledger_sessions.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_sipfront.ledger.book import LedgerBook
from pytest_sipfront.ledger.decide import Action, decide
from pytest_sipfront.ledger.key import Revision, attempt_label, find_revision, request_digest
from pytest_sipfront.ledger.model import (
    FINISHED,
    SENDING,
    TRIGGERED,
    LedgerData,
    LedgerKey,
    LedgerRecord,
    LedgerShapeError,
    from_data,
    to_data,
)
from pytest_sipfront.ledger.store import (
    LedgerBusy,
    LedgerLock,
    LedgerUnreadable,
    read_ledger,
    write_ledger,
    write_text,
)

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=timezone.utc)
KEY = LedgerKey("ci/sipfront.yml", "ci/sipfront.yml::basic-call", "ab" * 32, "c0ffee")


def record(state: str = FINISHED, *, passed: bool | None = True, age_s: float = 60) -> LedgerRecord:
    return LedgerRecord(
        key=KEY,
        kind="test",
        state=state,
        sent_at=(NOW - timedelta(seconds=age_s)).isoformat(),
        attempt="GitHub attempt 1",
        timeout=600.0,
        session_id="s-1",
        report_url="https://app.sipfront.com/run/details/s-1",
        status_url=None if state == SENDING else "https://app.sipfront.com/api/v2/runs/s-1/status",
        verdict=None if state != FINISHED else ("passed" if passed else "failed"),
        passed=passed if state == FINISHED else None,
    )


# -- the record's shape ------------------------------------------------------------------------


def test_a_ledger_reads_back_exactly_what_was_written(tmp_path: Path) -> None:
    data = LedgerData(sessions=3, records=[record(), record(TRIGGERED)])
    data.records[0].run = {"status": "passed", "has_passed": 1, "tags": ["a"]}
    write_ledger(tmp_path / "ledger.json", data)
    assert read_ledger(tmp_path / "ledger.json") == data


def test_a_missing_ledger_is_an_empty_one(tmp_path: Path) -> None:
    assert read_ledger(tmp_path / "none.json") == LedgerData()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"version": 1, "records": [{"key": ', "not JSON"),
        ('{"version": 7, "records": []}', "version 7 is not 1"),
        ("[1, 2]", "no JSON object"),
        ('{"version": 1, "records": [{"kind": "test"}]}', "records[0].key: missing"),
        ('{"version": 1, "sessions": "two", "records": []}', "sessions: expected a whole number"),
    ],
)
def test_a_ledger_that_cannot_be_used_is_refused_whole_saying_why(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "ledger.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LedgerUnreadable) as caught:
        read_ledger(path)
    assert why in caught.value.reason
    assert caught.value.path == path


def test_a_folder_where_the_ledger_should_be_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnreadable, match="folder"):
        read_ledger(tmp_path)


def test_every_field_is_checked_against_its_type() -> None:
    good = to_data(record())
    assert from_data(LedgerRecord, good) == record()
    for field, wrong in (("passed", "yes"), ("timeout", "10m"), ("run", [1]), ("state", 3)):
        with pytest.raises(LedgerShapeError, match=field):
            from_data(LedgerRecord, {**good, field: wrong})
    assert from_data(LedgerRecord, {**good, "timeout": 5}).timeout == 5.0


# -- the atomic file ---------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.json"
    write_ledger(path, LedgerData(sessions=1))

    def broken_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_ledger(path, LedgerData(sessions=2))
    assert read_ledger(path).sessions == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json"]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pytest_sipfront.ledger.model import LedgerData, LedgerKey, LedgerRecord
    from pytest_sipfront.ledger.store import write_ledger

    path = Path(sys.argv[1])
    big = "x" * 20000
    number = 0
    while True:
        number += 1
        records = [
            LedgerRecord(LedgerKey("m", f"i{n}", big, "r"), "test", "finished", "t", "a")
            for n in range(number % 7 + 1)
        ]
        write_ledger(path, LedgerData(sessions=number, records=records))
        if number == 3:
            print("writing", flush=True)
    """
)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_a_process_stopped_while_writing_leaves_a_readable_ledger(
    tmp_path: Path, stop: signal.Signals
) -> None:
    path = tmp_path / "ledger.json"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == "writing\n"
    for _ in range(20):  # stop it again and again at wherever it happens to be
        writer.send_signal(stop)
        writer.wait(timeout=30)
        data = read_ledger(path)
        assert data.sessions >= 3
        assert len(data.records) == data.sessions % 7 + 1
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "writing\n"
    writer.kill()
    writer.wait(timeout=30)


# -- the lock ----------------------------------------------------------------------------------


def test_a_second_holder_waits_then_is_told_the_ledger_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    first = LedgerLock(path)
    first.acquire()
    try:
        with pytest.raises(LedgerBusy) as caught:
            LedgerLock(path, wait=0.3, step=0.05).acquire()
        assert caught.value.waited == 0.3
    finally:
        first.release()
    second = LedgerLock(path, wait=0.3)
    second.acquire()
    second.release()


def test_a_killed_holder_does_not_block_the_next_session(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from pytest_sipfront.ledger.store import LedgerLock\n"
            "lock = LedgerLock(Path(sys.argv[1]))\n"
            "lock.acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(300)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(LedgerBusy):
        LedgerLock(path, wait=0.2, step=0.05).acquire()
    holder.kill()
    holder.wait(timeout=30)
    lock = LedgerLock(path, wait=30)
    lock.acquire()
    lock.release()


# -- the key -----------------------------------------------------------------------------------


def test_the_revision_comes_from_the_first_variable_set_in_the_documented_order(
    tmp_path: Path,
) -> None:
    environ = {"GIT_COMMIT": "jenkins", "CI_COMMIT_SHA": "gitlab", "GITHUB_SHA": "github"}
    assert find_revision(environ, tmp_path) == Revision("github", "GITHUB_SHA")
    environ["SIPFRONT_REVISION"] = "mine"
    assert find_revision(environ, tmp_path) == Revision("mine", "SIPFRONT_REVISION")
    assert find_revision({"GIT_COMMIT": "j"}, tmp_path) == Revision("j", "GIT_COMMIT")


def test_without_a_variable_the_revision_is_git_head_else_none(tmp_path: Path) -> None:
    assert find_revision({}, tmp_path) == Revision(None, "none")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=tmp_path, check=True, env=env
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert find_revision({}, tmp_path) == Revision(head, "git rev-parse HEAD")


def test_the_request_digest_changes_with_any_part_of_the_request_but_not_key_order() -> None:
    body = {"test.name": "basic-call", "step.1.0.dial_destination": "431"}
    same = {"step.1.0.dial_destination": "431", "test.name": "basic-call"}
    assert request_digest("test", body) == request_digest("test", same)
    assert request_digest("test", body) != request_digest("project", body)
    changed = {**body, "step.1.0.dial_destination": "432"}
    assert request_digest("test", body) != request_digest("test", changed)


def test_the_attempt_is_named_by_the_ci_system_else_counted_per_ledger() -> None:
    assert attempt_label({"GITHUB_RUN_ATTEMPT": "2"}, 5) == "GitHub attempt 2"
    assert attempt_label({"CI_JOB_ID": "991"}, 5) == "GitLab job 991"
    assert attempt_label({"BUILD_NUMBER": "14"}, 5) == "Jenkins build 14"
    assert attempt_label({}, 5) == "session 5"


# -- the decision ------------------------------------------------------------------------------


def test_an_item_the_ledger_does_not_know_is_triggered() -> None:
    assert decide(None, reuse="passed", max_age=3600, now=NOW).action is Action.TRIGGER


def test_a_run_answered_without_a_verdict_is_re_attached() -> None:
    found = decide(record(TRIGGERED), reuse="none", max_age=3600, now=NOW)
    assert found.action is Action.REATTACH and found.record is not None


def test_a_sending_mark_without_an_answer_is_triggered_anew_and_called_uncertain() -> None:
    found = decide(record(SENDING), reuse="passed", max_age=3600, now=NOW)
    assert (found.action, found.uncertain) == (Action.TRIGGER, True)


def test_a_passed_run_is_reused_only_when_asked_and_young_enough() -> None:
    assert decide(record(), reuse="passed", max_age=3600, now=NOW).action is Action.REUSE
    assert decide(record(), reuse="none", max_age=3600, now=NOW).action is Action.TRIGGER
    old = record(age_s=7200)
    assert decide(old, reuse="passed", max_age=3600, now=NOW).action is Action.TRIGGER


def test_a_passed_run_without_a_known_revision_is_never_reused() -> None:
    unknown = record()
    unknown.key = LedgerKey(KEY.manifest, KEY.item, KEY.digest, None)
    assert decide(unknown, reuse="passed", max_age=3600, now=NOW).action is Action.TRIGGER


def test_a_run_that_finished_otherwise_is_triggered_anew_with_the_earlier_run_kept() -> None:
    failed = decide(record(passed=False), reuse="passed", max_age=3600, now=NOW)
    assert failed.action is Action.TRIGGER and failed.record is not None
    assert not failed.uncertain


# -- the book ----------------------------------------------------------------------------------


def book(path: Path, *, reuse: str = "none", lock_wait: float = 30.0) -> LedgerBook:
    revision = Revision("c0ffee", "SIPFRONT_REVISION")
    return LedgerBook(path, revision, {}, clock=lambda: NOW, reuse=reuse, lock_wait=lock_wait)


def test_the_book_records_sending_then_the_answer_then_the_verdict(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    first = book(path)
    first.open()
    key = first.key("m.yml", "m.yml::a", "test", {"test.name": "a"})
    first.sending(key, "test", 600)
    assert read_ledger(path).records[0].state == SENDING
    first.answered(key, session_id="s", report_url="r", status_url="u")
    assert read_ledger(path).records[0].state == TRIGGERED
    first.finished(key, verdict="passed", passed=True, run={"status": "passed"})
    assert read_ledger(path).records[0].state == TRIGGERED  # noted; the next write carries it
    first.flush()
    stored = read_ledger(path).records[0]
    assert (stored.state, stored.verdict, stored.run) == (FINISHED, "passed", {"status": "passed"})
    assert stored.attempt == "session 1"
    first.close()
    second = book(path, reuse="passed")
    second.open()
    assert second.attempt == "session 2"
    assert second.decide(key).action is Action.REUSE
    other = LedgerBook(path.with_name("x.json"), Revision("beef", "GITHUB_SHA"), {})
    assert other.key("m.yml", "m.yml::a", "test", {"test.name": "a"}) != key
    second.close()


def test_two_books_on_one_ledger_cannot_both_be_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    first = book(path)
    first.open()
    with pytest.raises(LedgerBusy):
        book(path, lock_wait=0.2).open()
    first.close()
    later = book(path, lock_wait=0.2)
    later.open()
    later.close()


def test_an_unreadable_ledger_releases_the_lock_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text("{torn", encoding="utf-8")
    with pytest.raises(LedgerUnreadable):
        book(path).open()
    assert path.read_text(encoding="utf-8") == "{torn"
    LedgerLock(path, wait=0.2).acquire()


def test_a_write_that_fails_is_noted_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.json"
    opened = book(path)
    opened.open()

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pytest_sipfront.ledger.book.write_text", full)
    key = opened.key("m.yml", "m.yml::a", "test", {})
    opened.sending(key, "test", 60)
    assert opened.write_problems == [f"{path}: No space left on device"]
    opened.close()


def test_the_written_file_is_plain_json_a_person_can_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    write_ledger(path, LedgerData(records=[record()]))
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["version"] == 1
    assert raw["records"][0]["key"]["item"] == KEY.item


def test_changes_made_at_once_share_writes_and_all_of_them_reach_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.json"
    opened = book(path)
    opened.open()
    writes: list[int] = []
    real = write_text

    def counted(target: Path, text: str) -> None:
        writes.append(text.count('"key"'))
        time.sleep(0.05)  # a slow disk: changes pile up behind a write in progress
        real(target, text)

    monkeypatch.setattr("pytest_sipfront.ledger.book.write_text", counted)
    keys = [opened.key("m.yml", f"m.yml::{n}", "test", {}) for n in range(40)]
    threads = [threading.Thread(target=opened.sending, args=(key, "test", 60)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(read_ledger(path).records) == 40
    assert len(writes) < 40
    opened.close()
