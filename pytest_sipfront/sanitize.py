"""Every string that comes from Sipfront is hostile: cut it and strip what a terminal or a file
would misread (ANSI escapes, control characters, lone surrogates, bidi overrides)."""

from __future__ import annotations

import re
from typing import Any

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
"""ANSI escape sequences (colours, cursor moves, OSC titles and links)."""
_NONCHARACTERS = "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}-{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufddf\u202a-\u202e\u2066-\u2069"
    + _NONCHARACTERS
    + "]"
)
"""C0 controls but TAB and LF, DEL, C1 controls, lone surrogates, the non-characters (which
XML 1.0 forbids or junit-xml drops), and the bidi embedding/override/isolate controls
("trojan source")."""

DEFAULT_LIMIT = 2000
ERROR_BODY_LIMIT = 300


def clean_text(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """A printable single- or multi-line string: no ANSI, no control characters, at most ``limit``.

    CR LF and lone CR become LF; a cut string ends with ``…``.
    """
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ANSI.sub("", text)
    text = UNSAFE.sub("", text)
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def clean_line(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Like :func:`clean_text`, folded to one line."""
    return " ".join(clean_text(value, limit=limit * 2).split())[:limit]


def clean_json(value: Any, limit: int = DEFAULT_LIMIT, depth: int = 0) -> Any:
    """Sanitise every string inside a JSON value (keys too); numbers and flags stay as they are."""
    if depth > 8:
        return None
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {
            clean_line(k, 200): clean_json(v, limit, depth + 1)
            for k, v in list(value.items())[:200]
        }
    if isinstance(value, list):
        return [clean_json(v, limit, depth + 1) for v in value[:200]]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return clean_text(str(value), limit)
