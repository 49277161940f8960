"""Every string that comes from Sipfront is hostile: cut it and strip what a terminal or a file
would misread (ANSI escapes, control characters, lone surrogates, bidi overrides), and redact
the session's own credentials from it (a server may echo them back).

This is for DISPLAY only: a verdict is never read from a cleaned value (see
:mod:`pytest_sipfront.api.runstatus`). The one line-cleaner is :func:`clean_line` (every string
for a one-line place: a status word, a reason, a URL); the one HTML escaper is
:func:`escape_html`; the one redactor is :data:`REDACTOR`.
"""

from __future__ import annotations

import base64
import html
import re
import threading
import unicodedata
import urllib.parse
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


def secret_forms(public_key: str, secret_key: str) -> list[str]:
    """What a credential pair can look like when echoed: each key alone and ``pub:secret``,
    each plain, percent-encoded (upper- and lower-case hex, ``+`` for a space) and in base64
    (standard and URL-safe, with and without padding); and the whole Basic header value."""
    forms: list[str] = []
    keys = [key for key in (public_key, secret_key) if key]
    if public_key and secret_key:
        keys.append(f"{public_key}:{secret_key}")
    for key in keys:
        forms += [key, *_percent_forms(key), *_base64_forms(key)]
    if public_key and secret_key:
        pair = f"{public_key}:{secret_key}".encode("latin-1", "replace")
        forms.append(f"Basic {base64.b64encode(pair).decode('ascii')}")
    return forms


def _percent_forms(text: str) -> list[str]:
    raw = _bytes(text, "utf-8")
    upper = [urllib.parse.quote(raw, safe=""), urllib.parse.quote_plus(raw, safe="")]
    lower = [re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in upper]
    return sorted(form for form in {*upper, *lower} if form != text)


def _base64_forms(text: str) -> list[str]:
    forms: set[str] = set()
    for encoding in ("utf-8", "latin-1"):
        raw = _bytes(text, encoding)
        standard = base64.b64encode(raw).decode("ascii")
        urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
        forms |= {standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")}
    return sorted(forms)


def _bytes(text: str, encoding: str) -> bytes:
    """``text`` as it would go over the wire: undecodable input bytes (lone surrogates from a
    non-UTF-8 environment) back as they were, anything else unencodable replaced."""
    try:
        return text.encode(encoding, "surrogateescape")
    except UnicodeEncodeError:
        return text.encode(encoding, "replace")


class Redactor:
    """The strings to redact from everything that comes from Sipfront.

    Secrets are only ever ADDED (every API client adds its key pair, the action adds the keys
    it was given): a second client with other keys, a sandbox client in the same process or
    the action's console never take the session's keys out of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        """Redact these strings too. Longer first, so a header is replaced whole, not around
        its base64 part. Strings shorter than :data:`MIN_REDACTED` are left alone: replacing
        ``sk`` would cut every ``kiosk``."""
        kept = {s for s in values if isinstance(s, str) and len(s.strip()) >= MIN_REDACTED}
        with self._lock:
            merged = kept | set(self._secrets)
            self._secrets = tuple(sorted(merged, key=lambda s: (-len(s), s)))

    def add_credentials(self, public_key: str, secret_key: str) -> None:
        """Redact every form of this key pair (:func:`secret_forms`)."""
        self.add(secret_forms(public_key, secret_key))

    def redact(self, text: str) -> str:
        """``text`` without any of the secrets; each becomes ``[redacted]``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


REDACTOR = Redactor()
"""The process's one redactor: every client and the action add their credentials to it."""


def redact(text: str) -> str:
    """``text`` without any secret :data:`REDACTOR` holds."""
    return REDACTOR.redact(text)


def lookalike(text: str) -> str:
    """``text`` as a cleaner or a careless reader would see it: without ANSI escapes,
    compatibility-normalised, case-folded, without blanks, controls, format (bidi, zero-width)
    or separator characters. Two strings equal here but not as sent are look-alikes: doubt,
    never a match."""
    folded = unicodedata.normalize("NFKC", ANSI.sub("", text)).casefold()
    return "".join(
        ch for ch in folded if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ"
    )


def visible(text: str) -> str:
    """``text`` with every character a terminal would hide or act on (ANSI escapes, controls,
    bidi overrides, line breaks) shown as a Python escape: ``pass\\x00ed`` stays visibly
    not ``passed``."""
    return "".join(
        ch if ch.isprintable() and not UNSAFE.match(ch) else ch.encode("unicode_escape").decode()
        for ch in text
    )


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
    """THE line-cleaner: like :func:`clean_text`, folded to one line (every line break, the
    Unicode ones too, becomes a space), so nothing in it can start a log line (``::error``,
    ``::stop-commands::``)."""
    return redact(" ".join(clean_text(value, limit=limit * 2).split()))[:limit]


def clean_http_url(value: object, limit: int = DEFAULT_LIMIT) -> str | None:
    """An ``http(s)`` URL from Sipfront, line-cleaned, or ``None`` when it is not one (another
    scheme, a space or line break inside, not a string)."""
    if not isinstance(value, str):
        return None
    text = clean_line(value, limit)
    if not text.lower().startswith(("https://", "http://")) or " " in text:
        return None
    return text


def escape_html(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """THE HTML escaper: a Sipfront string line-cleaned, then escaped for HTML text and
    attribute values (``<``, ``>``, ``&`` and both quotes)."""
    return html.escape(clean_line(value, limit), quote=True)


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
