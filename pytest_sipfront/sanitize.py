"""Every string that comes from Sipfront is hostile: cut it and strip what a terminal or a file
would misread (ANSI escapes, control characters, lone surrogates, bidi overrides), and redact
the session's own credentials from it (a server may echo them back)."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
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
XML 1.0 forbids or JUnit readers choke on), and the bidi embedding/override/isolate controls
("trojan source")."""

DEFAULT_LIMIT = 2000
ERROR_BODY_LIMIT = 300
REDACTED = "[redacted]"
MIN_REDACTED = 6
"""Credentials shorter than this are not redacted (no real API key is that short)."""

_secrets_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def secret_forms(public_key: str, secret_key: str) -> list[str]:
    """What a credential pair can look like when echoed: each key, ``pub:secret``, its
    base64 (the Basic-auth value, also URL-safe and unpadded) and the whole header value."""
    forms = [public_key, secret_key]
    if public_key and secret_key:
        pair = f"{public_key}:{secret_key}".encode("latin-1", "replace")
        encoded = base64.b64encode(pair).decode("ascii")
        urlsafe = base64.urlsafe_b64encode(pair).decode("ascii")
        forms += [
            f"{public_key}:{secret_key}",
            f"Basic {encoded}",
            encoded,
            encoded.rstrip("="),
            urlsafe,
            urlsafe.rstrip("="),
        ]
    return forms


def install_secrets(values: Iterable[str]) -> None:
    """Redact these strings from everything cleaned here, instead of the ones installed before.

    Called wherever credentials are loaded: the API client, the action. Longer first, so a
    header is replaced whole, not around its base64 part. Strings shorter than
    :data:`MIN_REDACTED` are left alone: replacing ``sk`` would cut every ``kiosk``."""
    global _secrets
    kept = {s for s in values if len(s.strip()) >= MIN_REDACTED}
    with _secrets_lock:
        _secrets = tuple(sorted(kept, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` without any installed secret; each becomes ``[redacted]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def clean_text(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """A printable single- or multi-line string: no ANSI, no control characters, at most ``limit``.

    CR LF and lone CR become LF; a cut string ends with ``…``.
    """
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ANSI.sub("", text)
    text = UNSAFE.sub("", text)
    text = redact(text)  # after the strip: a secret split by control characters is found too
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def clean_line(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Like :func:`clean_text`, folded to one line."""
    return redact(" ".join(clean_text(value, limit=limit * 2).split()))[:limit]


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
