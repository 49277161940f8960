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
from pytest_sipfront.options import (
    API_URL_VAR,
    BY_NAME,
    DEFAULT_API_URL,
    LEDGER_VAR,
    MEDIA_MODES,
    MEDIA_VAR,
    PROJECT_REPORT_MODES,
    PUBLIC_KEY_VAR,
    REPORT_MODES,
    REUSE_MODES,
    REUSE_VAR,
    SECRET_KEY_VAR,
    SETTINGS,
    Setting,
)

__all__ = [
    "API_URL_VAR",
    "DEFAULT_API_URL",
    "LEDGER_VAR",
    "MAX_RPS",
    "MEDIA_MODES",
    "MEDIA_VAR",
    "MIN_RPS",
    "PARSERS",
    "PROJECT_REPORT_MODES",
    "PUBLIC_KEY_VAR",
    "REPORT_MODES",
    "REUSE_MODES",
    "REUSE_VAR",
    "SECRET_KEY_VAR",
    "Settings",
    "SettingsError",
    "count_problem",
    "credentials",
    "ini_name",
    "not_a_report_mode",
    "option_name",
    "resolve",
]


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


MIN_RPS = 0.01
MAX_RPS = 1000.0


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """A session's settings, resolved: one field per setting of :data:`options.SETTINGS` but
    ``files`` (the collector reads that from pytest's ini)."""

    api_url: str
    concurrency: int
    timeout: float
    poll_interval: float
    max_rps: float
    report_mode: str | None
    junit: str | None
    json: str | None
    heartbeat: float
    max_runs: int
    shutdown_grace: float
    history: bool
    fail_on: str
    media: str
    ledger: str | None
    reuse: str
    reuse_max_age: float
    sandbox: bool
    sandbox_catalog: str | None
    dry_run: bool
    detach: bool


def _positive_int(value: str, name: str, setting: str) -> int:
    number = whole_number(str(value).strip())
    problem = count_problem(repr(value), number)
    if problem or number is None:
        raise SettingsError(f"{name}: {problem}")
    return number


def _rate(value: str, name: str, setting: str) -> float:
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


def _duration(value: str, name: str, setting: str) -> float:
    try:
        return parse_bounded(value, setting)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None


def _report_mode(value: str, name: str, setting: str) -> str:
    mode = str(value).strip().lower()
    if mode not in REPORT_MODES:
        raise SettingsError(f"{name}: {not_a_report_mode(repr(value))}")
    return mode


def _text(value: str, name: str, setting: str) -> str:
    return str(value).strip()


def _on_off(value: str, name: str, setting: str) -> bool:
    word = str(value).strip().lower()
    if word not in ("on", "off"):
        raise SettingsError(f"{name}: {value!r} is not on or off")
    return word == "on"


def _reuse(value: str, name: str, setting: str) -> str:
    word = str(value).strip().lower()
    if word not in REUSE_MODES:
        raise SettingsError(f"{name}: {value!r} is not none or passed")
    return word


def _fail_on(value: str, name: str, setting: str) -> str:
    word = str(value).strip().lower()
    if word not in ("new", "any"):
        raise SettingsError(f"{name}: {value!r} is not new or any")
    return word


def _media(value: str, name: str, setting: str) -> str:
    word = str(value).strip().lower()
    if word not in MEDIA_MODES:
        raise SettingsError(f"{name}: {value!r} is not off, failed or all")
    return word


PARSERS: dict[str, Callable[[str, str, str], Any]] = {
    # a setting's ``parse``: (value as written, where it was written, setting) -> value
    "text": _text,
    "count": _positive_int,
    "duration": _duration,
    "rate": _rate,
    "report_mode": _report_mode,
    "on_off": _on_off,
    "fail_on": _fail_on,
    "media": _media,
    "reuse": _reuse,
}
"""Every parser a setting names; ``flag`` and ``patterns`` settings are read by pytest."""


def option_name(name: str) -> str:
    """The command-line option of setting ``name``: ``api_url`` -> ``--sipfront-url``."""
    return BY_NAME[name].option or name


def ini_name(name: str) -> str:
    """The ini key of setting ``name``: ``api_url`` -> ``sipfront_url``."""
    return BY_NAME[name].ini or name


def _sources(
    setting: Setting,
    cli: Mapping[str, object],
    ini: Mapping[str, object],
    environ: Mapping[str, str],
) -> list[tuple[object, str]]:
    """The values given for ``setting``, highest precedence first, each with where it was
    written (as the user wrote it: ``--sipfront-timeout``, ``SIPFRONT_API_URL``, ``ini
    sipfront_timeout``)."""
    found: list[tuple[object, str]] = []
    if setting.option:
        found.append((cli.get(setting.name), setting.option))
    if setting.env:
        found.append((environ.get(setting.env), setting.env))
    if setting.ini:
        found.append((ini.get(setting.name), f"ini {setting.ini}"))
    return found


def resolve(
    cli: Mapping[str, object],
    ini: Mapping[str, object],
    environ: Mapping[str, str],
    *,
    sandbox: bool = False,
    sandbox_catalog: str | None = None,
    dry_run: bool = False,
    detach: bool = False,
) -> Settings:
    """Merge the sources, first non-empty value wins: command line, environment, ini, default.

    Raises :class:`SettingsError` naming the option (as the user wrote it) for a bad value.
    """
    given = dict(cli)
    given["sandbox"] = sandbox or bool(cli.get("sandbox"))
    given["dry_run"] = dry_run or bool(cli.get("dry_run"))
    given["detach"] = detach or bool(cli.get("detach"))
    if sandbox_catalog is not None:
        given["sandbox_catalog"] = sandbox_catalog
    catalog = given.get("sandbox_catalog")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.parse == "patterns":
            continue
        if setting.parse == "flag":
            values[setting.name] = bool(given.get(setting.name))
            continue
        values[setting.name] = _first_given(setting, _sources(setting, given, ini, environ))
    values["sandbox_catalog"] = catalog  # as given, even empty: it still names the sandbox
    values["sandbox"] = values["sandbox"] or catalog is not None
    if values["detach"] and not values["ledger"]:
        raise SettingsError(
            f"--sipfront-detach needs a ledger to collect from later: add "
            f"{option_name('ledger')} PATH (or set {LEDGER_VAR})"
        )
    return Settings(**values)


def _first_given(setting: Setting, sources: list[tuple[object, str]]) -> Any:
    parse = PARSERS[setting.parse]
    for raw, source in sources:
        if raw is not None and str(raw).strip() != "":
            return parse(str(raw), source, setting.name)
    if setting.default is None:
        return None
    return parse(str(setting.default), f"the default of {setting.name}", setting.name)


def credentials(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The key pair from the environment, or ``None`` when either is missing or empty."""
    public = environ.get(PUBLIC_KEY_VAR, "").strip()
    secret = environ.get(SECRET_KEY_VAR, "").strip()
    if not public or not secret:
        return None
    return public, secret
