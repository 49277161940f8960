"""Stage 3 of loading: the loader's own checks, entry by entry in file order, and the run specs
each entry makes.

What the schema cannot say is checked here, after variables are replaced: durations and their
bounds, whole numbers and ids, unique names, marks, the emergency-number guard, credential-looking
keys, a project's report mode, and the matrix (its size and its item ids).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NoReturn

from pytest_sipfront.durations import parse_bounded
from pytest_sipfront.integers import whole_number
from pytest_sipfront.manifest.model import Manifest, RunSpec
from pytest_sipfront.manifest.safety import is_emergency_destination
from pytest_sipfront.manifest.schema import MAX_ID, NAME_PATTERN
from pytest_sipfront.manifest.sentences import (
    mark_problem,
    problem_at,
    project_mode_sentence,
    show,
    step_key_problem,
    value_sentence,
)
from pytest_sipfront.manifest.structure import first_repeat
from pytest_sipfront.manifest.variables import VariableProblem, interpolate
from pytest_sipfront.manifest.yamlnodes import Path, Positions
from pytest_sipfront.media.thresholds import Threshold, ThresholdSyntaxError, parse_threshold
from pytest_sipfront.settings import PROJECT_REPORT_MODES, REPORT_MODES

MAX_MATRIX_ITEMS = 10_000
"""The most items one entry's matrix may make."""

_NAME = re.compile(NAME_PATTERN.strip("^$"))

StepValues = dict[str, tuple[Any, Path, Any]]
"""Checked override or matrix keys: key -> (value, its path, the value as written)."""


@dataclass
class _Settings:
    """The settings that both ``defaults`` and an entry may set."""

    timeout: float | None = None
    poll_interval: float | None = None
    retries: int | None = None
    report_mode: str | None = None
    marks: tuple[str, ...] = ()
    overrides: StepValues = field(default_factory=dict)
    thresholds: dict[str, Threshold] = field(default_factory=dict)


@dataclass
class _Entry:
    """What one entry's keys give, each checked."""

    name: str
    path: Path
    own: _Settings = field(default_factory=_Settings)
    target: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None
    xfail: str | None = None
    test_ids: list[int] | None = None
    matrix: StepValues = field(default_factory=dict)


class Checker:
    """Checks a manifest whose structure the schema accepted, and builds its run specs."""

    def __init__(self, display_path: str, positions: Positions, environ: Mapping[str, str]):
        self.display_path = display_path
        self.positions = positions
        self.environ = environ

    def fail(self, path: Path, sentence: str, *, at_key: bool = False) -> NoReturn:
        raise problem_at(self.display_path, self.positions, path, sentence, at_key=at_key)

    def build(self, data: Mapping[str, Any]) -> Manifest:
        defaults = _Settings()
        for key, value in (data.get("defaults") or {}).items():
            self.setting(defaults, ("defaults", key), key, value)
        seen: dict[str, int] = {}
        specs: list[RunSpec] = []
        for index, entry in enumerate(data["tests"]):
            specs.extend(self.entry(index, entry, defaults, seen))
        marks = frozenset(mark for spec in specs for mark in spec.marks)
        return Manifest(self.display_path, tuple(specs), marks)

    # -- values ----------------------------------------------------------------------------

    def interpolate(self, path: Path, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return interpolate(value, self.environ)
        except VariableProblem as problem:
            self.fail(path, str(problem))

    def duration(self, path: Path, value: Any, setting: str) -> float:
        value = self.interpolate(path, value)
        try:
            return parse_bounded(value, setting)
        except ValueError as error:
            self.fail(path, str(error))

    def retries(self, path: Path, value: Any) -> int:
        value = self.interpolate(path, value)
        number = whole_number(value)
        if number is None or number < 0:
            self.fail(path, value_sentence("retries", value, ""))
        return number

    def positive_id(self, path: Path, value: Any, name: str) -> int:
        value = self.interpolate(path, value)
        number = whole_number(value)
        if number is None or not 0 < number <= MAX_ID:
            self.fail(path, value_sentence(name, value, ""))
        return number

    def report_mode(self, path: Path, value: Any) -> str:
        value = self.interpolate(path, value)
        if value not in REPORT_MODES:
            self.fail(path, value_sentence("report_mode", value, ""))
        return str(value)

    def reason(self, path: Path, value: Any, name: str) -> str:
        value = self.interpolate(path, value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, value_sentence(name, value, ""))
        return value

    def marks(self, path: Path, values: list[Any]) -> tuple[str, ...]:
        marks: list[str] = []
        for index, raw in enumerate(values):
            mark = self.interpolate((*path, index), raw)
            problem = mark_problem(mark)
            if problem:
                self.fail((*path, index), problem)
            if mark not in marks:
                marks.append(mark)
        return tuple(marks)

    def thresholds(self, path: Path, mapping: Mapping[str, Any]) -> dict[str, Threshold]:
        """Each threshold read; a malformed one is an error at its line."""
        found: dict[str, Threshold] = {}
        for key, raw in mapping.items():
            try:
                found[key] = parse_threshold(key, self.interpolate((*path, key), raw))
            except ThresholdSyntaxError as error:
                self.fail((*path, key), str(error), at_key=error.in_key)
        return found

    def step_values(self, path: Path, mapping: Mapping[str, Any], container: str) -> StepValues:
        """Checked keys and interpolated values of ``overrides`` or ``matrix``."""
        result: StepValues = {}
        for key, raw in mapping.items():
            key_path = (*path, key)
            problem = step_key_problem(key, container)
            if problem:
                self.fail(key_path, problem, at_key=True)
            if container == "matrix":
                values = [
                    self.interpolate((*key_path, index), item) for index, item in enumerate(raw)
                ]
                repeat = first_repeat(values)
                if repeat is not None:
                    self.fail(
                        (*key_path, repeat),
                        f"{show(values[repeat])} is listed twice once variables are replaced; "
                        "each value makes one item, so list it once",
                    )
                result[key] = (values, key_path, raw)
            else:
                result[key] = (self.interpolate(key_path, raw), key_path, raw)
        return result

    def setting(self, settings: _Settings, at: Path, key: str, value: Any) -> bool:
        """Check one setting shared by defaults and entries; False when ``key`` is not one."""
        if key in ("timeout", "poll_interval"):
            setattr(settings, key, self.duration(at, value, key))
        elif key == "retries":
            settings.retries = self.retries(at, value)
        elif key == "report_mode":
            settings.report_mode = self.report_mode(at, value)
        elif key == "marks":
            settings.marks = self.marks(at, value)
        elif key == "overrides":
            settings.overrides = self.step_values(at, value, "overrides")
        elif key == "thresholds":
            settings.thresholds = self.thresholds(at, value)
        else:
            return False
        return True

    # -- entries ---------------------------------------------------------------------------

    def entry(
        self, index: int, entry: Mapping[str, Any], defaults: _Settings, seen: dict[str, int]
    ) -> list[RunSpec]:
        """The run specs of ``tests[index]``: one, or one per matrix combination."""
        given = _Entry(name=str(entry["name"]), path=("tests", index))
        for key, value in entry.items():
            self.entry_key(given, key, value, index, seen)
        is_test = "test" in entry or "test_id" in entry
        allow_emergency = entry.get("allow_emergency_destination") is True
        report_mode = self.entry_report_mode(given, defaults, is_test)
        if not is_test:
            if given.test_ids is not None:
                given.request["test_ids"] = given.test_ids
            return [self.spec(given, defaults, "project", report_mode, allow_emergency)]
        overrides = {**defaults.overrides, **given.own.overrides}
        for key, (value, at, raw) in overrides.items():
            if not allow_emergency:
                self.guard_emergency(key, value, at, raw, given)
            given.request[key] = value
        self.check_matrix(given, allow_emergency)
        base = self.spec(given, defaults, "test", report_mode, allow_emergency)
        return self.expand(given, base) if given.matrix else [base]

    def entry_key(
        self, given: _Entry, key: str, value: Any, index: int, seen: dict[str, int]
    ) -> None:
        at = (*given.path, key)
        if self.setting(given.own, at, key, value):
            return
        if key == "name":
            self.check_name(at, given.name, index, seen)
        elif key in ("test", "project"):
            text = self.interpolate(at, value)
            if not text.strip():
                self.fail(at, f"is empty once variables are replaced; give the Sipfront {key} name")
            given.request[f"{key}.name"] = text
            given.target = text if key == "test" else f"project {text}"
        elif key in ("test_id", "project_id"):
            number = self.positive_id(at, value, key)
            given.request["test.id" if key == "test_id" else "id"] = number
            given.target = f"id {number}" if key == "test_id" else f"project id {number}"
        elif key == "test_ids":
            given.test_ids = self.test_ids(at, value)
        elif key == "matrix":
            given.matrix = self.step_values(at, value, "matrix")
        elif key == "skip":
            given.skip = self.reason(at, value, key)
        elif key == "xfail":
            given.xfail = self.reason(at, value, key)

    def test_ids(self, at: Path, values: list[Any]) -> list[int]:
        test_ids: list[int] = []
        for index, item in enumerate(values):
            number = self.positive_id((*at, index), item, "test_ids_item")
            if number in test_ids:
                self.fail(
                    (*at, index),
                    f"{number} is listed twice once variables are replaced; list each test id once",
                )
            test_ids.append(number)
        return test_ids

    def check_name(self, at: Path, name: str, index: int, seen: dict[str, int]) -> None:
        if not _NAME.fullmatch(name):
            self.fail(at, value_sentence("name", name, ""))
        if name in seen:
            first = seen[name]
            first_line = self.positions.value(("tests", first, "name"))[0]
            self.fail(
                at,
                f"{name!r} is already the name of tests[{first}] (line {first_line}); "
                "names must be unique in a file",
            )
        seen[name] = index

    def entry_report_mode(self, given: _Entry, defaults: _Settings, is_test: bool) -> str | None:
        """The entry's report mode (its own, else the defaults'); a project takes no print."""
        report_mode = given.own.report_mode or defaults.report_mode
        if not is_test and report_mode not in (None, *PROJECT_REPORT_MODES):
            if given.own.report_mode is not None:
                self.fail((*given.path, "report_mode"), project_mode_sentence(report_mode))
            self.fail(
                given.path,
                f"report_mode {report_mode!r} from defaults is for test runs only; "
                "set report_mode: full or kiosk on this project entry",
            )
        return report_mode

    def spec(
        self,
        given: _Entry,
        defaults: _Settings,
        kind: Literal["test", "project"],
        report_mode: str | None,
        allow_emergency: bool,
    ) -> RunSpec:
        """The entry's run spec, before its matrix (if any) makes one per combination."""
        own = given.own
        line, column = self.positions.value(given.path)
        return RunSpec(
            name=given.name,
            entry=given.name,
            kind=kind,
            target=given.target,
            request=given.request,
            report_mode=report_mode,
            timeout=own.timeout if own.timeout is not None else defaults.timeout,
            poll_interval=(
                own.poll_interval if own.poll_interval is not None else defaults.poll_interval
            ),
            retries=own.retries if own.retries is not None else defaults.retries,
            marks=tuple(dict.fromkeys(defaults.marks + own.marks)),
            skip=given.skip,
            xfail=given.xfail,
            allow_emergency_destination=allow_emergency,
            line=line,
            column=column,
            params=(),
            # Media metrics are a test run's (defaults' thresholds skip project entries).
            thresholds=tuple({**defaults.thresholds, **own.thresholds}.values())
            if kind == "test"
            else (),
        )

    # -- matrix and safety -----------------------------------------------------------------

    def check_matrix(self, given: _Entry, allow_emergency: bool) -> None:
        """A matrix key is not also in the entry's overrides, and dials no emergency number."""
        for key, (values, at, raws) in given.matrix.items():
            if key in given.own.overrides:
                first_line = self.positions.key(given.own.overrides[key][1])[0]
                self.fail(
                    at,
                    f"this key is also in the entry's overrides (line {first_line}); "
                    "set it in overrides or in matrix, not both",
                    at_key=True,
                )
            if not allow_emergency:
                for item_index, value in enumerate(values):
                    self.guard_emergency(key, value, (*at, item_index), raws[item_index], given)

    def expand(self, given: _Entry, base: RunSpec) -> list[RunSpec]:
        """One run spec per combination of the matrix values, keys in file order."""
        matrix = given.matrix
        keys = list(matrix)
        count = math.prod(len(matrix[key][0]) for key in keys)
        if count > MAX_MATRIX_ITEMS:
            self.fail(
                (*given.path, "matrix"),
                f"makes {count} items, more than the {MAX_MATRIX_ITEMS} one entry may make; "
                "split it into several entries",
                at_key=True,
            )
        specs: list[RunSpec] = []
        made: dict[str, tuple[Any, ...]] = {}
        for combination in itertools.product(*(matrix[key][0] for key in keys)):
            item = f"{given.name}[{'-'.join(_id_part(value) for value in combination)}]"
            if item in made:
                earlier = " + ".join(show(value) for value in made[item])
                later = " + ".join(show(value) for value in combination)
                self.fail(
                    (*given.path, "matrix"),
                    f"the combinations {earlier} and {later} both make the item {item!r}; "
                    "change a value so that every item has its own name",
                    at_key=True,
                )
            made[item] = combination
            params = tuple(zip(keys, combination, strict=True))
            request = {**given.request, **dict(params)}
            specs.append(replace(base, name=item, request=request, params=params))
        return specs

    def guard_emergency(self, key: str, value: Any, at: Path, raw: Any, given: _Entry) -> None:
        if not key.lower().endswith(".dial_destination") or not is_emergency_destination(value):
            return
        shown = show(value)
        if raw != value:
            shown += f" (from {show(raw)})"
        if at[0] == "defaults":
            self.fail(
                at,
                f"{shown} is an emergency number, and tests[{given.path[1]}] ({given.name}) "
                "would dial it; a test must never call emergency services (if it is a lab "
                "number, set allow_emergency_destination: true on that entry)",
            )
        self.fail(
            at,
            f"{shown} is an emergency number; a test must never call emergency services "
            "(if it is a lab number, set allow_emergency_destination: true on this entry)",
        )


def _id_part(value: Any) -> str:
    """A matrix value in an item id: ``str()``, with control characters escaped."""
    text = str(value)
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
