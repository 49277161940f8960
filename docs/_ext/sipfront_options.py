"""The ``sipfront-options`` directive: the options reference, read from the plugin itself.

There is no hand-kept copy of the options: the directive hands a recording stand-in for pytest's
parser to the plugin's own ``pytest_addoption`` and renders what it registered (every command
line option and ini value, with its help text), joined with the environment variable that
``pytest_sipfront.settings`` reads for it. A new option shows up in the manual by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class OptionRow:
    """One line of the reference: an option, its ini name and variable, and what it does."""

    option: str = ""
    metavar: str = ""
    ini: str = ""
    environment: str = ""
    allowed: str = ""
    help: str = ""


@dataclass
class _Recorder:
    """Takes what ``pytest_addoption`` registers, as pytest's parser and option group would."""

    options: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    inis: list[tuple[str, str]] = field(default_factory=list)

    def getgroup(self, name: str, description: str = "", after: str | None = None) -> _Recorder:
        return self

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.options.append((names, attrs))

    def _addoption(self, *names: str, **attrs: Any) -> None:
        self.addoption(*names, **attrs)

    def addini(self, name: str, help: str, *args: Any, **kwargs: Any) -> None:
        self.inis.append((name, help))


def _environment_variables() -> dict[str, str]:
    """Option -> the environment variable the table of settings reads for it."""
    from pytest_sipfront.options import SETTINGS

    return {s.option: s.env for s in SETTINGS if s.option and s.env}


def _allowed(setting: str) -> str:
    """The range the settings accept for ``setting``, from the bounds the parsers use."""
    from pytest_sipfront import durations, settings

    bounds = durations.DURATION_BOUNDS.get(setting)
    if bounds:
        low, high = (durations.format_duration(b) for b in bounds)
        return f"{low} to {high}"
    if setting == "max_rps":
        return f"{settings.MIN_RPS:g} to {settings.MAX_RPS:g} per second"
    return ""


def option_rows() -> list[OptionRow]:
    """Every option and ini value the plugin registers, in its order, paired where they match."""
    from pytest_sipfront import plugin, settings

    recorder = _Recorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    variables = _environment_variables()
    inis = dict(recorder.inis)
    rows: list[OptionRow] = []
    for names, attrs in recorder.options:
        option = next(n for n in names if n.startswith("--"))
        dest = str(attrs.get("dest") or option.lstrip("-").replace("-", "_"))
        setting = dest.removeprefix("sipfront_")
        ini = settings.ini_name(setting)
        takes_value = attrs.get("action") not in ("store_true", "store_false", "count")
        metavar = ""
        if takes_value:
            metavar = str(attrs.get("metavar") or "VALUE")
        rows.append(
            OptionRow(
                option=option,
                metavar=metavar,
                ini=ini if ini in inis else "",
                environment=variables.get(option, ""),
                allowed=_allowed(setting),
                help=str(attrs.get("help") or inis.get(ini, "")),
            )
        )
    paired = {row.ini for row in rows}
    rows.extend(
        OptionRow(ini=name, help=text) for name, text in recorder.inis if name not in paired
    )
    return rows


HEADER = ("command line", "ini", "environment", "meaning")
WIDTHS = (28, 18, 14, 40)


def table_cells() -> list[tuple[str, str, str, str]]:
    """The reference's rows as text: option (with its value), ini name, variable, meaning."""
    cells = []
    for row in option_rows():
        allowed = f" (allowed: {row.allowed})" if row.allowed else ""
        option = f"{row.option} {row.metavar}".strip()
        cells.append((option, row.ini, row.environment, f"{row.help}{allowed}"))
    return cells


def setup(app: Any) -> dict[str, Any]:
    """Sphinx calls this; docutils is imported here, so the rows above need no Sphinx."""
    from docutils import nodes
    from docutils.parsers.rst import Directive

    def entry(text: str, code: bool) -> nodes.entry:
        cell = nodes.entry()
        if text:
            inline = nodes.literal(text, text) if code else nodes.Text(text)
            cell += nodes.paragraph("", "", inline)
        return cell

    class SipfrontOptions(Directive):
        """``{sipfront-options}`` in a page renders the table (built as nodes, so it reads the
        same from MyST and reStructuredText)."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            table = nodes.table(classes=["sipfront-options"])
            group = nodes.tgroup(cols=len(HEADER))
            table += group
            for width in WIDTHS:
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            head += nodes.row("", *(entry(text, code=False) for text in HEADER))
            group += head
            body = nodes.tbody()
            for option, ini, variable, meaning in table_cells():
                body += nodes.row(
                    "",
                    entry(option, code=True),
                    entry(ini, code=True),
                    entry(variable, code=True),
                    entry(meaning, code=False),
                )
            group += body
            return [table]

    app.add_directive("sipfront-options", SipfrontOptions)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
