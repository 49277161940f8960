"""Session settings and their precedence: command line > environment > ini > built-in default.

(Manifest ``defaults`` and entries sit above all of these; the scheduler applies them per run.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_sipfront.durations import parse_bounded
from pytest_sipfront.integers import whole_number

DEFAULT_API_URL = "https://app.sipfront.com/api/v2"
REPORT_MODES = ("full", "kiosk", "print")
"""The report modes Sipfront takes (sent as ``report.mode``): the one definition, for the
options, manifests, the action's inputs, the library and the sandbox."""
PROJECT_REPORT_MODES = REPORT_MODES[:2]
"""The report modes a project run takes: ``print`` is for test runs only."""


def not_a_report_mode(shown: str) -> str:
    """The one sentence for a report mode that is none of :data:`REPORT_MODES`."""
    return (
        f"{shown} is not a report mode (use {', '.join(REPORT_MODES[:-1])} or {REPORT_MODES[-1]})"
    )


def count_problem(shown: str, number: int | None) -> str | None:
    """Why a count (max-runs, concurrency, ...) written as ``shown`` is refused, or None."""
    if number is None:
        return f"{shown} is not a whole number"
    if number < 1:
        return f"{shown} must be at least 1"
    return None


PUBLIC_KEY_VAR = "SIPFRONT_PUBLIC_KEY"
SECRET_KEY_VAR = "SIPFRONT_SECRET_KEY"
API_URL_VAR = "SIPFRONT_API_URL"
JSON_VAR = "SIPFRONT_JSON"


MIN_RPS = 0.01
MAX_RPS = 1000.0


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 5
    timeout: float = 30 * 60.0
    poll_interval: float = 3.0
    max_rps: float = 5.0
    report_mode: str | None = None
    junit: str | None = None
    json: str | None = None
    heartbeat: float = 60.0
    max_runs: int = 100
    shutdown_grace: float = 1.0
    sandbox: bool = False
    sandbox_catalog: str | None = None
    dry_run: bool = False
    history: bool = True
    fail_on: str = "any"


def _positive_int(value: str, name: str) -> int:
    number = whole_number(str(value).strip())
    problem = count_problem(repr(value), number)
    if problem or number is None:
        raise SettingsError(f"{name}: {problem}")
    return number


def _rate(value: str, name: str) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise SettingsError(f"{name}: {value!r} is not a number of requests per second") from None
    if not number > 0 or math.isinf(number):
        raise SettingsError(f"{name}: {value!r} must be greater than zero")
    if number < MIN_RPS:
        raise SettingsError(
            f"{name}: {value!r} is below the smallest allowed rate, {MIN_RPS:g} per second"
        )
    if number > MAX_RPS:
        raise SettingsError(
            f"{name}: {value!r} is above the largest allowed rate, {MAX_RPS:g} per second"
        )
    return number


def _duration_of(setting: str) -> Callable[[str, str], float]:
    def parse(value: str, name: str) -> float:
        try:
            return parse_bounded(value, setting)
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None

    return parse


def _report_mode(value: str, name: str) -> str:
    mode = str(value).strip().lower()
    if mode not in REPORT_MODES:
        raise SettingsError(f"{name}: {not_a_report_mode(repr(value))}")
    return mode


def _text(value: str, name: str) -> str:
    return str(value).strip()


def _on_off(value: str, name: str) -> bool:
    word = str(value).strip().lower()
    if word not in ("on", "off"):
        raise SettingsError(f"{name}: {value!r} is not on or off")
    return word == "on"


def _fail_on(value: str, name: str) -> str:
    word = str(value).strip().lower()
    if word not in ("new", "any"):
        raise SettingsError(f"{name}: {value!r} is not new or any")
    return word


_FIELDS: dict[str, tuple[str | None, Callable[[str, str], Any]]] = {
    # setting: (environment variable, parser)
    "api_url": (API_URL_VAR, _text),
    "concurrency": (None, _positive_int),
    "timeout": (None, _duration_of("timeout")),
    "poll_interval": (None, _duration_of("poll_interval")),
    "max_rps": (None, _rate),
    "report_mode": (None, _report_mode),
    "junit": (None, _text),
    "json": (JSON_VAR, _text),
    "heartbeat": (None, _duration_of("heartbeat")),
    "max_runs": (None, _positive_int),
    "shutdown_grace": (None, _duration_of("shutdown_grace")),
    "history": (None, _on_off),
    "fail_on": (None, _fail_on),
}


_SHORT = {"api_url": "url"}


def option_name(setting: str) -> str:
    """``poll_interval`` -> ``--sipfront-poll-interval``; ``api_url`` -> ``--sipfront-url``."""
    return "--sipfront-" + _SHORT.get(setting, setting).replace("_", "-")


def ini_name(setting: str) -> str:
    """``poll_interval`` -> ``sipfront_poll_interval``; ``api_url`` -> ``sipfront_url``."""
    return "sipfront_" + _SHORT.get(setting, setting)


def resolve(
    cli: Mapping[str, object],
    ini: Mapping[str, object],
    environ: Mapping[str, str],
    *,
    sandbox: bool = False,
    sandbox_catalog: str | None = None,
    dry_run: bool = False,
) -> Settings:
    """Merge the sources, first non-empty value wins: command line, environment, ini, default.

    Raises :class:`SettingsError` naming the option (as the user wrote it) for a bad value.
    """
    values: dict[str, Any] = {}
    for field, (env_var, parse) in _FIELDS.items():
        candidates: list[tuple[object, str]] = [(cli.get(field), option_name(field))]
        if env_var:
            candidates.append((environ.get(env_var), env_var))
        candidates.append((ini.get(field), f"ini {ini_name(field)}"))
        for raw, source in candidates:
            if raw is None or str(raw).strip() == "":
                continue
            values[field] = parse(str(raw), source)
            break
    return Settings(
        **values,
        sandbox=sandbox or sandbox_catalog is not None,
        sandbox_catalog=sandbox_catalog,
        dry_run=dry_run,
    )


def credentials(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The key pair from the environment, or ``None`` when either is missing or empty."""
    public = environ.get(PUBLIC_KEY_VAR, "").strip()
    secret = environ.get(SECRET_KEY_VAR, "").strip()
    if not public or not secret:
        return None
    return public, secret


SETTING_HELP: dict[str, str] = {
    "api_url": f"Sipfront API base URL (env {API_URL_VAR}; default {DEFAULT_API_URL})",
    "concurrency": "how many Sipfront runs may be in flight at once (default 5)",
    "timeout": "how long a run may take from its trigger, e.g. 30m (default 30m)",
    "poll_interval": "interval between status requests for one run, e.g. 3s (default 3s)",
    "max_rps": "API requests per second, all runs together (default 5)",
    "report_mode": "report.mode sent with every run: full, kiosk or print (default: unset)",
    "junit": "write a JUnit XML report of the Sipfront runs to this path (default off)",
    "json": (
        f"write the results JSON (the session and every run; schema: sipfront schema --results) "
        f"to this path (env {JSON_VAR}; default off)"
    ),
    "heartbeat": "interval of the 'still waiting' line on stderr (default 60s)",
    "max_runs": "refuse a session that would trigger more runs than this (default 100)",
    "shutdown_grace": (
        "when the session stops, how long a trigger already sent may take to answer (default 1s)"
    ),
    "history": (
        "on: before a test's first run, ask Sipfront for its last run (NEW failure or ALREADY "
        "FAILING, polling that expects the end); off: send none of these (default on)"
    ),
    "fail_on": (
        "new: only NEW failures are red, a test that was already failing is not; "
        "any: every failure is red (default any)"
    ),
}
