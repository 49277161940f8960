"""Variables in manifest values: ``${NAME}``, ``${NAME:-default}`` and ``$$`` (a literal ``$``).

A default is used as written (no variables inside it). ``$NAME`` without braces is an error
(write ``${NAME}`` or ``$$NAME``); any other ``$`` is kept. The Sipfront API keys can never be
used: the plugin reads them itself and never sends them as test parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytest_sipfront.manifest.sentences import show

FORBIDDEN_VARIABLES: frozenset[str] = frozenset({"SIPFRONT_PUBLIC_KEY", "SIPFRONT_SECRET_KEY"})

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class VariableProblem(Exception):
    """A variable that cannot be replaced; the message is the sentence for people."""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with its variables replaced from ``environ``; raise :class:`VariableProblem`."""
    out: list[str] = []
    index = 0
    while True:
        dollar = text.find("$", index)
        if dollar < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:dollar])
        after = text[dollar + 1 : dollar + 2]
        if after == "$":
            out.append("$")
            index = dollar + 2
        elif after == "{":
            value, index = _braced(text, dollar, environ)
            out.append(value)
        else:
            match = _VARIABLE_NAME.match(text, dollar + 1)
            if match:
                raise VariableProblem(
                    f"${match.group()} looks like a variable; write ${{{match.group()}}} to use "
                    f"it, or $${match.group()} for the literal text"
                )
            out.append("$")
            index = dollar + 1


def _braced(text: str, dollar: int, environ: Mapping[str, str]) -> tuple[str, int]:
    """The value of the ``${...}`` at ``dollar``, and the index just after it."""
    end = text.find("}", dollar + 2)
    if end < 0:
        raise VariableProblem(
            f"{show(text[dollar:])} is not closed; write ${{NAME}} or "
            "${NAME:-default} (and $$ for a literal $)"
        )
    body = text[dollar + 2 : end]
    name, separator, default = body.partition(":-")
    if not _VARIABLE_NAME.fullmatch(name) or (not separator and body != name):
        raise VariableProblem(
            f"{show(text[dollar : end + 1])} is not a variable this manifest "
            "understands; write ${NAME} or ${NAME:-default} (and $$ for a literal $)"
        )
    if "${" in default:
        raise VariableProblem(
            f"{show(text[dollar:])} puts a variable inside a default, "
            "which is not supported; the default is used as written"
        )
    if name.upper() in FORBIDDEN_VARIABLES:
        raise VariableProblem(
            f"${{{name}}} cannot be used in a manifest: the Sipfront API keys are read "
            "by the plugin itself and never sent as test parameters"
        )
    value = environ.get(name)
    if value is None or (value == "" and separator):
        if not separator:
            raise VariableProblem(
                f"the variable {name} is not set; set it in the environment, "
                f"or give a default: ${{{name}:-value}}"
            )
        value = default
    return value, end + 1
