"""The pytest collector for manifests and the item that stands for one Sipfront run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_sipfront.runs.messages import NOT_RED, full_text
from pytest_sipfront.runs.outcome import RunOutcome, Verdict
from pytest_sipfront.session.keys import GATE_KEY, RECORDS_KEY
from pytest_sipfront.session.records import record_properties

if TYPE_CHECKING:
    # The same class as pytest.fail.Exception (the public name used at run time), spelled so
    # a type checker can take it as a base class.
    from _pytest.outcomes import Failed as FailException

    from pytest_sipfront.manifest.loader import RunSpec
    from pytest_sipfront.session.gate import Gate
else:
    FailException = pytest.fail.Exception


class SipfrontError(FailException):
    """Sipfront could not give a verdict (API error, credentials, interrupt): a pytest error."""

    __module__ = "builtins"  # the short summary shows "SipfrontError: ...", like pytest's own

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


class SipfrontFailure(FailException):
    """The run finished failed or did not finish in time: a pytest failure."""

    __module__ = "builtins"

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)


def relative_path(path: Path, rootdir: Path) -> str:
    """A manifest's path relative to the rootdir, ``/``-separated (absolute when outside it)."""
    try:
        return path.resolve().relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class ManifestFile(pytest.File):
    """A Sipfront manifest: one item per entry (and per matrix combination)."""

    def collect(self) -> Iterator[SipfrontItem]:
        # The manifest reader (PyYAML, jsonschema) is imported only once a manifest is collected.
        from pytest_sipfront.manifest.loader import ManifestError, load_manifest

        display = relative_path(self.path, self.config.rootpath)
        try:
            manifest = load_manifest(self.path, display_path=display)
        except ManifestError as error:
            self.gate_errors().append((display, error.line, error.column, error.message))
            raise self.CollectError(str(error)) from None
        for mark in sorted(manifest.marks):
            self.config.addinivalue_line("markers", f"{mark}: Sipfront manifest mark")
        for spec in manifest.specs:
            item = SipfrontItem.from_parent(self, name=spec.name, spec=spec, manifest=display)
            for mark in spec.marks:
                item.add_marker(getattr(pytest.mark, mark))
            if spec.skip is not None:
                item.add_marker(pytest.mark.skip(reason=spec.skip))
            if spec.xfail is not None:
                item.add_marker(pytest.mark.xfail(reason=spec.xfail, raises=SipfrontFailure))
            yield item

    def gate_errors(self) -> list[tuple[str, int, int, str]]:
        return self.config.stash[RECORDS_KEY].manifest_errors


class SipfrontItem(pytest.Item):
    """Waits (in setup) for its run's verdict from the session's gate, then passes or fails."""

    def __init__(self, *, spec: RunSpec, manifest: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.manifest = manifest
        self.run_outcome: RunOutcome | None = None

    @property
    def gate(self) -> Gate:
        return self.config.stash[GATE_KEY]

    def setup(self) -> None:
        outcome = self.gate.wait_for(self)
        self.run_outcome = outcome
        record_properties(self, outcome)
        if outcome.verdict is Verdict.SKIPPED:
            pytest.skip(outcome.message)
        if outcome.verdict.is_error or (
            outcome.verdict is Verdict.TIMEOUT and self.spec.xfail is not None
        ):
            raise SipfrontError(full_text(outcome))

    def runtest(self) -> None:
        outcome = self.run_outcome
        assert outcome is not None
        if outcome.verdict.is_failure:
            if outcome.already_failing and self.gate.settings.fail_on == "new":
                outcome.not_red = True  # the verdict stays failed; pytest files it xfailed
                pytest.xfail(f"{NOT_RED}: {outcome.message}")
            raise SipfrontFailure(full_text(outcome))
        # Shown by -rA for passed runs; failures already carry the same block.
        self.add_report_section("call", "sipfront", full_text(outcome))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.spec.line - 1, f"sipfront: {self.spec.name}"
