"""A run request from Python arguments, checked by the manifest's own rules (step keys, scalar
values, credential-like keys, the emergency-number guard, ids, durations, report modes) before
anything is sent. A problem is one :class:`RequestProblem` line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pytest_sipfront.durations import parse_bounded
from pytest_sipfront.integers import whole_number
from pytest_sipfront.manifest.model import RunSpec, request_body
from pytest_sipfront.manifest.safety import is_emergency_destination
from pytest_sipfront.manifest.schema import MAX_ID, NAME_PATTERN
from pytest_sipfront.manifest.sentences import scalar_problem, step_key_problem
from pytest_sipfront.media.thresholds import Threshold, ThresholdSyntaxError, parse_threshold
from pytest_sipfront.settings import PROJECT_REPORT_MODES, REPORT_MODES

Duration = float | int | str
"""Seconds, or ``90s``, ``15m``, ``1h30m``, as in a manifest."""


class RequestProblem(ValueError):
    """A run that cannot be requested as asked; nothing was sent. The message says why."""


@dataclass(frozen=True)
class RunRequest:
    """What to send and how to wait for it, every value checked."""

    kind: Literal["test", "project"]
    body: dict[str, Any]
    target: str
    """``basic-call-a-b``, ``id 123``, ``project nightly`` or ``project id 7``."""
    name: str
    timeout: float | None
    poll_interval: float | None
    retries: int
    thresholds: tuple[Threshold, ...] = ()


def _exactly_one(what: str, name: object, number: object, id_word: str) -> None:
    if (name is None) == (number is None):
        raise RequestProblem(f"give exactly one of {what}= and {id_word}=")


def _id(value: object, argument: str) -> int:
    number = whole_number(value)
    if number is None or not 0 < number <= MAX_ID or isinstance(value, float):
        raise RequestProblem(f"{argument}={value!r} is not an id (a whole number from 1)")
    return number


def _duration(value: Duration | None, setting: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_bounded(value, setting)
    except ValueError as error:
        raise RequestProblem(f"{setting}: {error}") from None


def _retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RequestProblem(f"retries={value!r} is not a whole number from 0")
    return value


def _report_mode(value: object, kind: str) -> str | None:
    if value is None:
        return None
    allowed = REPORT_MODES if kind == "test" else PROJECT_REPORT_MODES
    if value not in allowed:
        raise RequestProblem(
            f"report_mode={value!r} is not a report mode for a {kind} run "
            f"(use {', '.join(allowed)})"
        )
    return str(value)


def _name(value: str | None, target: str) -> str:
    if value is None:
        return target
    if not isinstance(value, str) or not re.fullmatch(NAME_PATTERN, value):
        raise RequestProblem(f"name={value!r} is not a name ({NAME_PATTERN})")
    return value


def check_overrides(
    overrides: Mapping[str, Any] | None, *, allow_emergency_destination: bool
) -> dict[str, Any]:
    """The manifest's rules for ``overrides:``, on a Python mapping."""
    checked: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if not isinstance(key, str):
            raise RequestProblem(f"overrides: {key!r} is not a Sipfront step key")
        problem = step_key_problem(key, "overrides") or scalar_problem(value)
        if problem:
            raise RequestProblem(f"overrides[{key!r}]: {problem}")
        if (
            not allow_emergency_destination
            and key.lower().endswith(".dial_destination")
            and is_emergency_destination(value)
        ):
            raise RequestProblem(
                f"overrides[{key!r}]: {value!r} is an emergency number; a test must never call "
                "emergency services (if it is a lab number, pass "
                "allow_emergency_destination=True)"
            )
        checked[key] = value
    return checked


def check_thresholds(thresholds: Mapping[str, str] | None) -> tuple[Threshold, ...]:
    """``{"rtp_jitter": "p95 < 30"}`` as checked thresholds (the manifest's syntax)."""
    if thresholds is None:
        return ()
    if not isinstance(thresholds, Mapping):
        raise RequestProblem("thresholds must be a mapping such as {'rtp_jitter': 'p95 < 30'}")
    checked = []
    for key, expression in thresholds.items():
        try:
            checked.append(parse_threshold(key, expression))
        except ThresholdSyntaxError as error:
            raise RequestProblem(f"thresholds[{key!r}]: {error}") from None
    return tuple(checked)


def _spec(
    kind: Literal["test", "project"],
    target: str,
    request: dict[str, Any],
    report_mode: str | None,
    name: str,
    allow: bool,
) -> RunSpec:
    return RunSpec(
        name=name,
        entry=name,
        kind=kind,
        target=target,
        request=request,
        report_mode=report_mode,
        timeout=None,
        poll_interval=None,
        retries=None,
        marks=(),
        skip=None,
        xfail=None,
        allow_emergency_destination=allow,
        line=0,
        column=0,
        params=(),
    )


def request_for_test(
    test: str | None,
    *,
    test_id: int | str | None,
    overrides: Mapping[str, Any] | None,
    report_mode: str | None,
    timeout: Duration | None,
    poll_interval: Duration | None,
    retries: int,
    name: str | None,
    allow_emergency_destination: bool,
    session_report_mode: str | None,
    thresholds: Mapping[str, str] | None = None,
) -> RunRequest:
    _exactly_one("test", test, test_id, "test_id")
    request: dict[str, Any] = {}
    if test is not None:
        if not isinstance(test, str) or not test.strip():
            raise RequestProblem(f"test={test!r} is not a Sipfront test name")
        request["test.name"] = test
        target = test
    else:
        number = _id(test_id, "test_id")
        request["test.id"] = number
        target = f"id {number}"
    request.update(
        check_overrides(overrides, allow_emergency_destination=allow_emergency_destination)
    )
    shown = _name(name, test if test is not None else f"test-{request['test.id']}")
    spec = _spec(
        "test",
        target,
        request,
        _report_mode(report_mode, "test"),
        shown,
        allow_emergency_destination,
    )
    request_ = _run_request(spec, session_report_mode, timeout, poll_interval, retries)
    return replace(request_, thresholds=check_thresholds(thresholds))


def request_for_project(
    project: str | None,
    *,
    project_id: int | str | None,
    test_ids: Iterable[int | str] | None,
    report_mode: str | None,
    timeout: Duration | None,
    poll_interval: Duration | None,
    retries: int,
    name: str | None,
    session_report_mode: str | None,
) -> RunRequest:
    _exactly_one("project", project, project_id, "project_id")
    request: dict[str, Any] = {}
    if project is not None:
        if not isinstance(project, str) or not project.strip():
            raise RequestProblem(f"project={project!r} is not a Sipfront project name")
        request["project.name"] = project
        target = f"project {project}"
        default_name = project
    else:
        number = _id(project_id, "project_id")
        request["id"] = number
        target = f"project id {number}"
        default_name = f"project-{number}"
    if test_ids is not None:
        if isinstance(test_ids, (str, bytes)):
            raise RequestProblem("test_ids must be a list of test ids, not a string")
        ids: list[int] = []
        for value in test_ids:
            number = _id(value, "test_ids item")
            if number in ids:
                raise RequestProblem(f"test_ids: {number} is listed twice; list each test id once")
            ids.append(number)
        request["test_ids"] = ids
    shown = _name(name, default_name)
    spec = _spec("project", target, request, _report_mode(report_mode, "project"), shown, False)
    return _run_request(spec, session_report_mode, timeout, poll_interval, retries)


def _run_request(
    spec: RunSpec,
    session_report_mode: str | None,
    timeout: Duration | None,
    poll_interval: Duration | None,
    retries: int,
) -> RunRequest:
    """The checked request of ``spec``, with how long to wait for it and how to poll it."""
    return RunRequest(
        kind=spec.kind,
        body=request_body(spec, session_report_mode),
        target=spec.target,
        name=spec.name,
        timeout=_duration(timeout, "timeout"),
        poll_interval=_duration(poll_interval, "poll_interval"),
        retries=_retries(retries),
    )
