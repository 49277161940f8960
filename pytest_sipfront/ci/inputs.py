"""The action's inputs: read from ``INPUT_*`` variables and checked before anything is sent.

GitHub hands an action's inputs to it as ``INPUT_<NAME>`` (the input's name upper-cased);
``action.yml`` passes them on explicitly through ``env:``, and GitLab, Jenkins or ``docker run``
users set the same variables themselves. An empty variable counts as unset. Every problem is
one plain sentence naming the input, raised as :class:`InputError` before any request.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytest_sipfront.api.urls import check_base_url
from pytest_sipfront.durations import parse_duration
from pytest_sipfront.integers import whole_number
from pytest_sipfront.manifest.safety import credential_problem, is_emergency_destination
from pytest_sipfront.manifest.schema import MAX_ID
from pytest_sipfront.runs.messages import id_too_large, input_not_utf8
from pytest_sipfront.sanitize import clean_line
from pytest_sipfront.settings import (
    MEDIA_MODES,
    PROJECT_REPORT_MODES,
    PUBLIC_KEY_VAR,
    REPORT_MODES,
    SECRET_KEY_VAR,
    count_problem,
    not_a_report_mode,
)

INPUT_DEFAULTS: dict[str, str | None] = {
    "manifest": None,
    "public_key": None,
    "secret_key": None,
    "api_url": None,
    "concurrency": None,
    "timeout": None,
    "poll_interval": None,
    "report_mode": None,
    "max_runs": None,
    "media": None,
    "allow_empty": "false",
    "junit_report": "sipfront-junit.xml",
    "results_json": "sipfront-results.json",
    "markers": None,
    "keyword": None,
    "pytest_args": None,
    "sandbox": "false",
    "ledger": "auto",
    "ledger_key": "${{ github.job }}-${{ strategy.job-index }}",
    "reuse": None,
    "detach": "false",
    "mode": None,
    "name": None,
    "destination": None,
    "project_id": None,
    "project_name": None,
    "test_ids": None,
}
"""Every input and its default (``None``: unset); ``action.yml`` declares the same defaults."""

MULTI_LINE_INPUTS = ("manifest", "pytest_args", "test_ids", "public_key", "secret_key")
"""Inputs that may hold a line break: manifest (one path per line), pytest_args and test_ids
(a line break separates like a space) and the keys (checked on their own, never shown). Every
other input must be one line: a line break in a marker could start a workflow command."""
SINGLE_RUN_INPUTS = ("mode", "name", "destination", "project_id", "project_name", "test_ids")
MODES = ("test", "project")
LONGEST_TIMEOUT = "24h"
"""What ``timeout: 0`` (Sipfront's action: no limit) becomes: a gate must not wait forever."""

_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")
_NO_CREDENTIALS_OPTIONS = ("--sipfront-sandbox", "--sipfront-sandbox-catalog", "--sipfront-dry-run")


class InputError(ValueError):
    """An input that cannot be used; the message is one sentence that names it."""


class MissingKeys(InputError):
    """The API keys are not there: the job summary says where they come from (and that a pull
    request from a fork gets none)."""


def env_name(name: str) -> str:
    """The variable GitHub sets for an input: ``public_key`` -> ``INPUT_PUBLIC_KEY``."""
    return "INPUT_" + name.replace(" ", "_").upper()


def read_raw(environ: Mapping[str, str]) -> dict[str, str]:
    """The inputs that are set (stripped, empty ones left out), by input name.

    An input that is not UTF-8 text (Python hands its bytes on as lone surrogates) is an
    :class:`InputError`: passed on, it would end the action with a traceback."""
    raw: dict[str, str] = {}
    for name in INPUT_DEFAULTS:
        value = environ.get(env_name(name), "").strip()
        if not value:
            continue
        bad = next((ch for ch in value if "\udc80" <= ch <= "\udcff"), None)
        if bad is not None:
            shown = (
                "" if name in ("public_key", "secret_key") else f" (byte 0x{ord(bad) - 0xDC00:02x})"
            )
            raise InputError(f"{name}: {input_not_utf8(shown)}")
        raw[name] = value
    return raw


@dataclass(frozen=True)
class SingleRun:
    """One Sipfront test or project without a manifest, as Sipfront's own action takes it."""

    kind: str
    """``test`` or ``project``."""
    test_name: str | None = None
    destination: str | None = None
    project_id: int | None = None
    project_name: str | None = None
    test_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ActionInputs:
    manifests: tuple[str, ...] = ()
    single: SingleRun | None = None
    public_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    api_url: str | None = None
    concurrency: int | None = None
    timeout: str | None = None
    poll_interval: str | None = None
    report_mode: str | None = None
    max_runs: int | None = None
    media: str | None = None
    allow_empty: bool = False
    junit_report: str = "sipfront-junit.xml"
    results_json: str = "sipfront-results.json"
    markers: str | None = None
    keyword: str | None = None
    pytest_args: tuple[str, ...] = ()
    sandbox: bool = False
    ledger: str | None = None
    """The run ledger's path (``None``: off)."""
    reuse: str | None = None
    detach: bool = False
    warnings: tuple[str, ...] = ()
    """Things to tell the user that did not stop the action (``timeout: 0``)."""


def _shown(value: str) -> str:
    return repr(clean_line(value, 120))


def _boolean(raw: Mapping[str, str], name: str) -> bool:
    value = raw.get(name, INPUT_DEFAULTS[name] or "false").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError(f"{name}: {_shown(value)} is not a boolean (use true or false)")


def _whole(raw: Mapping[str, str], name: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    number = whole_number(value)
    problem = count_problem(_shown(value), number)
    if problem or number is None:
        raise InputError(f"{name}: {problem}")
    return number


def _duration(raw: Mapping[str, str], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    try:
        parse_duration(value)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
    return value


def _timeout(raw: Mapping[str, str], warnings: list[str]) -> str | None:
    value = raw.get("timeout")
    if value is not None:
        try:
            zero = float(value) == 0
        except ValueError:
            zero = False
        if zero:
            warnings.append(
                "timeout: 0 means 'no limit' in Sipfront's own action; a gate must not wait "
                f"forever, so pytest-sipfront waits at most {LONGEST_TIMEOUT} for each run"
            )
            return LONGEST_TIMEOUT
    return _duration(raw, "timeout")


ACTION_LEDGER_VAR = "SIPFRONT_ACTION_LEDGER"
"""Where action.yml restores the ledger from the GitHub cache (``ledger: auto``)."""


def _ledger(raw: Mapping[str, str], environ: Mapping[str, str]) -> str | None:
    """``auto``: the file action.yml keeps in the GitHub cache (off where there is none: the
    Docker image); ``off``; else a path."""
    value = raw.get("ledger", INPUT_DEFAULTS["ledger"] or "auto")
    if value.lower() == "off":
        return None
    if value.lower() == "auto":
        return environ.get(ACTION_LEDGER_VAR, "").strip() or None
    return value


def _reuse(raw: Mapping[str, str]) -> str | None:
    value = raw.get("reuse")
    if value is None:
        return None
    if value.lower() not in ("none", "passed"):
        raise InputError(f"reuse: {_shown(value)} is not none or passed")
    return value.lower()


def _media(raw: Mapping[str, str]) -> str | None:
    value = raw.get("media")
    if value is None:
        return None
    word = value.lower()
    if word not in MEDIA_MODES:
        raise InputError(f"media: {_shown(value)} is not off, failed or all")
    return word


def _report_mode(raw: Mapping[str, str]) -> str | None:
    value = raw.get("report_mode")
    if value is None:
        return None
    mode = value.lower()
    if mode not in REPORT_MODES:
        raise InputError(f"report_mode: {not_a_report_mode(_shown(value))}")
    return mode


def _test_ids(value: str) -> tuple[int, ...]:
    text = value.strip().removeprefix("[").removesuffix("]")
    ids: list[int] = []
    for part in re.split(r"[\s,]+", text):
        if not part:
            continue
        number = whole_number(part)
        if number is None:
            raise InputError(
                f"test_ids: {_shown(part)} is not a test id (use numbers such as 11,12)"
            )
        if number < 1:
            raise InputError(f"test_ids: {_shown(part)} is not a test id (ids are at least 1)")
        ids.append(number)
    if not ids:
        raise InputError("test_ids: no test id given (use numbers such as 11,12)")
    return tuple(ids)


def _single_run(raw: Mapping[str, str], report_mode: str | None, warnings: list[str]) -> SingleRun:
    mode = raw.get("mode", "").lower()
    project_given = "project_id" in raw or "project_name" in raw
    if not mode:
        mode = "project" if project_given and "name" not in raw else "test"
    if mode not in MODES:
        raise InputError(f"mode: {_shown(raw['mode'])} is not a mode (use test or project)")
    if mode == "test":
        for name in ("project_id", "project_name", "test_ids"):
            if name in raw:
                raise InputError(
                    f"{name}: only for mode project; mode test runs the test named by name"
                )
        test_name = raw.get("name")
        if test_name is None:
            raise InputError("name: missing: mode test needs the name of a Sipfront test")
        destination = raw.get("destination")
        if destination is not None and is_emergency_destination(destination):
            raise InputError(
                f"destination: {_shown(destination)} is an emergency number; "
                "pytest-sipfront refuses to dial it"
            )
        return SingleRun(kind="test", test_name=test_name, destination=destination)
    for name in ("name", "destination"):
        if name in raw:
            raise InputError(
                f"{name}: only for mode test; mode project runs the project named by "
                "project_id or project_name"
            )
    if report_mode is not None and report_mode not in PROJECT_REPORT_MODES:
        raise InputError("report_mode: print is for tests only (projects take full or kiosk)")
    if not project_given:
        raise InputError("project_id: missing: mode project needs project_id or project_name")
    project_id = _whole(raw, "project_id")
    if project_id is not None and project_id > MAX_ID:
        raise InputError(f"project_id: {id_too_large(_shown(raw['project_id']), MAX_ID)}")
    project_name = raw.get("project_name")
    if project_id is not None and project_name is not None:
        warnings.append(
            "project_name is ignored because project_id is set (Sipfront gives the id precedence)"
        )
        project_name = None
    test_ids = _test_ids(raw["test_ids"]) if "test_ids" in raw else ()
    return SingleRun(
        kind="project", project_id=project_id, project_name=project_name, test_ids=test_ids
    )


def _manifests(raw: Mapping[str, str], argv: Sequence[str], cwd: str) -> tuple[str, ...]:
    from_input = [line.strip() for line in raw.get("manifest", "").splitlines() if line.strip()]
    if from_input and argv:
        raise InputError(
            "manifest: given both as the manifest input and on the command line; use one"
        )
    paths = tuple(from_input or [path for path in argv if path.strip()])
    for path in paths:
        # ``sipfront.yml::basic-call`` names one entry, as on pytest's command line.
        if not os.path.exists(os.path.join(cwd, path.split("::", 1)[0])):
            raise InputError(
                f"manifest: {_shown(path)} does not exist "
                f"(paths are relative to {clean_line(cwd, 300)})"
            )
    return paths


def _pytest_args(raw: Mapping[str, str]) -> tuple[str, ...]:
    value = raw.get("pytest_args")
    if value is None:
        return ()
    try:
        return tuple(shlex.split(value))
    except ValueError as error:
        raise InputError(
            f"pytest_args: cannot split {_shown(value)} into arguments ({error})"
        ) from None


def _needs_no_credentials(sandbox: bool, pytest_args: Sequence[str]) -> bool:
    if sandbox:
        return True
    return any(arg.split("=", 1)[0] in _NO_CREDENTIALS_OPTIONS for arg in pytest_args)


def parse_inputs(
    environ: Mapping[str, str], argv: Sequence[str] = (), cwd: str | None = None
) -> ActionInputs:
    """Check every input and return them ready to use; raise :class:`InputError` otherwise.

    ``argv`` holds manifest paths given on the command line (the Docker image's arguments).
    Inputs are checked in a fixed order, so that the first problem is always the same one.
    """
    raw = read_raw(environ)
    _check_one_line(raw)
    warnings: list[str] = []
    manifests = _manifests(raw, argv, cwd if cwd is not None else os.getcwd())
    report_mode = _report_mode(raw)
    single = _single_or_none(raw, manifests, report_mode, warnings)
    sandbox = _boolean(raw, "sandbox")
    pytest_args = _pytest_args(raw)
    public_key, secret_key = _keys(raw, environ, _needs_no_credentials(sandbox, pytest_args))
    api_url = _api_url(raw, sandbox)
    timeout = _timeout(raw, warnings)
    ledger = _ledger(raw, environ)
    detach = _boolean(raw, "detach")
    if detach and ledger is None:
        raise InputError("detach: needs a ledger to collect from later (ledger: auto or a path)")
    return ActionInputs(
        manifests=manifests,
        single=single,
        public_key=public_key,
        secret_key=secret_key,
        api_url=api_url,
        concurrency=_whole(raw, "concurrency"),
        timeout=timeout,
        poll_interval=_duration(raw, "poll_interval"),
        report_mode=report_mode,
        max_runs=_whole(raw, "max_runs"),
        media=_media(raw),
        allow_empty=_boolean(raw, "allow_empty"),
        junit_report=raw.get("junit_report") or INPUT_DEFAULTS["junit_report"] or "",
        results_json=raw.get("results_json") or INPUT_DEFAULTS["results_json"] or "",
        markers=raw.get("markers"),
        keyword=raw.get("keyword"),
        pytest_args=pytest_args,
        sandbox=sandbox,
        ledger=ledger,
        reuse=_reuse(raw),
        detach=detach,
        warnings=tuple(warnings),
    )


def _check_one_line(raw: Mapping[str, str]) -> None:
    for name, value in raw.items():
        if name not in MULTI_LINE_INPUTS and ("\n" in value or "\r" in value):
            raise InputError(f"{name}: must be one line, but it holds a line break; remove it")


def _single_or_none(
    raw: Mapping[str, str], manifests: Sequence[str], report_mode: str | None, warnings: list[str]
) -> SingleRun | None:
    """The single run the inputs name instead of manifests, or None when manifests are given."""
    single_given = [name for name in SINGLE_RUN_INPUTS if name in raw]
    if manifests and single_given:
        raise InputError(
            f"{single_given[0]}: only for one test or project without a manifest; "
            "set either manifest or name / project_id / project_name, not both"
        )
    if manifests:
        return None
    if not single_given:
        raise InputError(
            "manifest: missing: set manifest (a Sipfront manifest file), or name (one "
            "Sipfront test) or project_id / project_name (one Sipfront project)"
        )
    return _single_run(raw, report_mode, warnings)


def _keys(
    raw: Mapping[str, str], environ: Mapping[str, str], optional: bool
) -> tuple[str | None, str | None]:
    """The API key pair from the inputs, else the environment; both needed unless optional."""
    public_key = raw.get("public_key") or environ.get(PUBLIC_KEY_VAR, "").strip() or None
    secret_key = raw.get("secret_key") or environ.get(SECRET_KEY_VAR, "").strip() or None
    if (public_key is None or secret_key is None) and not optional:
        missing = " and ".join(
            name
            for name, value in (("public_key", public_key), ("secret_key", secret_key))
            if value is None
        )
        raise MissingKeys(
            f"{missing}: missing: pass the Sipfront API keys as the public_key and secret_key "
            f"inputs (from secrets) or set {PUBLIC_KEY_VAR} and {SECRET_KEY_VAR}"
        )
    for key_name, key in (("public_key", public_key), ("secret_key", secret_key)):
        problem = credential_problem(key_name, key or "")
        if problem:
            raise InputError(problem)
    return public_key, secret_key


def _api_url(raw: Mapping[str, str], sandbox: bool) -> str | None:
    api_url = raw.get("api_url")
    if api_url is None or sandbox:
        return api_url
    try:
        return check_base_url(api_url)
    except ValueError as error:
        raise InputError(f"api_url: {error}") from None
