"""Every setting of a session in one table: its command-line option, ini key, environment
variable, parser, built-in default, help text and metavar.

pytest's options and ini keys, the precedence of the sources (:func:`settings.resolve`) and the
options reference in the documentation are all made from :data:`SETTINGS`. Plain data on
purpose: reading it imports nothing (no pytest, no parser); the pytest entry point loads it in
every session of the environment.
"""

from __future__ import annotations

DEFAULT_API_URL = "https://app.sipfront.com/api/v2"
API_URL_VAR = "SIPFRONT_API_URL"
PUBLIC_KEY_VAR = "SIPFRONT_PUBLIC_KEY"
SECRET_KEY_VAR = "SIPFRONT_SECRET_KEY"
MEDIA_VAR = "SIPFRONT_MEDIA"
LEDGER_VAR = "SIPFRONT_LEDGER"
REUSE_VAR = "SIPFRONT_REUSE"
JSON_VAR = "SIPFRONT_JSON"
REUSE_MODES = ("none", "passed")
"""``--sipfront-reuse``: whether a run that passed on this revision is run again."""
MEDIA_MODES = ("off", "failed", "all")
"""``--sipfront-media``: which finished runs get their media metrics read."""
REPORT_MODES = ("full", "kiosk", "print")
"""The report modes Sipfront takes (sent as ``report.mode``): the one definition, for the
options, manifests, the action's inputs, the library and the sandbox."""
PROJECT_REPORT_MODES = REPORT_MODES[:2]
"""The report modes a project run takes: ``print`` is for test runs only."""
DEFAULT_PATTERNS: tuple[str, ...] = (
    "sipfront.yml",
    "sipfront.yaml",
    "*.sipfront.yml",
    "*.sipfront.yaml",
)
"""The file names of Sipfront manifests unless the ini key ``sipfront_files`` says others."""


class Setting:
    """One setting. ``parse`` names its parser in :data:`settings.PARSERS` (``flag``: an option
    without a value; ``patterns``: an ini list of file name patterns). ``default`` is written
    as a user would write it (``"30m"``), ``None`` for unset; it is parsed like any other value.

    A plain class, not a dataclass: this module is loaded at every pytest start, and making a
    dataclass costs more than everything else here.
    """

    __slots__ = ("default", "env", "help", "ini", "metavar", "name", "option", "parse")

    def __init__(
        self,
        name: str,
        option: str | None,
        ini: str | None,
        env: str | None,
        parse: str,
        default: str | bool | tuple[str, ...] | None,
        help: str,
        metavar: str | None,
    ) -> None:
        self.name = name
        """The field of :class:`settings.Settings` (and the keyword of ``Sipfront(...)``)."""
        self.option = option
        """The command-line option, or ``None``."""
        self.ini = ini
        """The ini key, or ``None``."""
        self.env = env
        """The environment variable, or ``None``."""
        self.parse = parse
        self.default = default
        self.help = help
        """What it does, in a phrase; :func:`help_text` adds the default."""
        self.metavar = metavar
        """How its value is written in ``--help`` and the documentation (``None``: a flag)."""

    def __repr__(self) -> str:
        return f"Setting({self.name!r}, option={self.option!r}, ini={self.ini!r})"

    @property
    def dest(self) -> str:
        """pytest's ``dest`` for its option: ``sipfront_poll_interval``."""
        return f"sipfront_{self.name}"


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    # name, option, ini, env, parse, default, help, metavar
    Setting(
        "api_url", "--sipfront-url", "sipfront_url", API_URL_VAR, "text", DEFAULT_API_URL,
        "Sipfront API base URL", "URL",
    ),
    Setting(
        "concurrency", "--sipfront-concurrency", "sipfront_concurrency", None, "count", "5",
        "how many Sipfront runs may be in flight at once", "N",
    ),
    Setting(
        "timeout", "--sipfront-timeout", "sipfront_timeout", None, "duration", "30m",
        "how long a run may take from its trigger, e.g. 30m", "DURATION",
    ),
    Setting(
        "poll_interval", "--sipfront-poll-interval", "sipfront_poll_interval", None, "duration",
        "3s", "interval between status requests for one run, e.g. 3s", "DURATION",
    ),
    Setting(
        "max_rps", "--sipfront-max-rps", "sipfront_max_rps", None, "rate", "5",
        "API requests per second, all runs together", "RATE",
    ),
    Setting(
        "report_mode", "--sipfront-report-mode", "sipfront_report_mode", None, "report_mode",
        None, "report.mode sent with every run (unset: Sipfront's default)",
        "{" + ",".join(REPORT_MODES) + "}",
    ),
    Setting(
        "junit", "--sipfront-junit", "sipfront_junit", None, "text", None,
        "write a JUnit XML report of the Sipfront runs to this path (unset: none)", "PATH",
    ),
    Setting(
        "json", "--sipfront-json", "sipfront_json", JSON_VAR, "text", None,
        "write the results JSON (the session and every run; its schema: sipfront schema "
        "--results) to this path (unset: none)", "PATH",
    ),
    Setting(
        "heartbeat", "--sipfront-heartbeat", "sipfront_heartbeat", None, "duration", "60s",
        "interval of the 'still waiting' line on stderr", "DURATION",
    ),
    Setting(
        "max_runs", "--sipfront-max-runs", "sipfront_max_runs", None, "count", "100",
        "refuse a session that would trigger more runs than this", "N",
    ),
    Setting(
        "shutdown_grace", "--sipfront-shutdown-grace", "sipfront_shutdown_grace", None,
        "duration", "1s",
        "when the session stops, how long a trigger already sent may take to answer",
        "DURATION",
    ),
    Setting(
        "history", "--sipfront-history", "sipfront_history", None, "on_off", "on",
        "on: before a test's first run, ask Sipfront for its last run (NEW failure or ALREADY "
        "FAILING, polling that expects the end); off: send none of these", "{on,off}",
    ),
    Setting(
        "fail_on", "--sipfront-fail-on", "sipfront_fail_on", None, "fail_on", "any",
        "new: only NEW failures are red, a test that was already failing is not; "
        "any: every failure is red", "{new,any}",
    ),
    Setting(
        "media", "--sipfront-media", "sipfront_media", MEDIA_VAR, "media", "failed",
        "media metrics of finished runs: failed: of runs that did not pass or have "
        "thresholds; all: of every run; off: send no stats request", "{off,failed,all}",
    ),
    Setting(
        "ledger", "--sipfront-ledger", "sipfront_ledger", LEDGER_VAR, "text", None,
        "record every run in this JSON file: the same command again re-attaches to runs still "
        "going instead of paying for them twice (unset: no ledger)", "PATH",
    ),
    Setting(
        "reuse", "--sipfront-reuse", "sipfront_reuse", REUSE_VAR, "reuse", "none",
        "with a ledger, passed: a run that passed on this revision is not run again; "
        "none: it is", "{" + ",".join(REUSE_MODES) + "}",
    ),
    Setting(
        "reuse_max_age", "--sipfront-reuse-max-age", "sipfront_reuse_max_age", None, "duration",
        "24h", "how old a passed run may be to be reused, e.g. 12h", "DURATION",
    ),
    Setting(
        "sandbox", "--sipfront-sandbox", None, None, "flag", False,
        "run against the built-in sandbox server, not Sipfront", None,
    ),
    Setting(
        "sandbox_catalog", "--sipfront-sandbox-catalog", None, None, "text", None,
        "sandbox catalog YAML (implies --sipfront-sandbox; unset: the built-in catalog)", "PATH",
    ),
    Setting(
        "dry_run", "--sipfront-dry-run", None, None, "flag", False,
        "resolve every run request and report it as skipped; send nothing", None,
    ),
    Setting(
        "detach", "--sipfront-detach", None, None, "flag", False,
        "with --sipfront-ledger: trigger every run, record it and end without waiting; "
        "the same command later collects the verdicts", None,
    ),
    Setting(
        "files", None, "sipfront_files", None, "patterns", DEFAULT_PATTERNS,
        "file name patterns of Sipfront manifests", "PATTERN ...",
    ),
)
# fmt: on
"""Every setting, in the order ``--help`` and the documentation show them."""

BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def help_text(setting: Setting) -> str:
    """The help line ``--help`` shows: the phrase, the environment variable, the default."""
    notes = [f"env {setting.env}"] if setting.env else []
    if isinstance(setting.default, str):
        notes.append(f"default {setting.default}")
    return f"{setting.help} ({'; '.join(notes)})" if notes else setting.help
