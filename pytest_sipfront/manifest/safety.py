"""Safety rules shared by the manifest loader and the action: emergency numbers, credential keys,
and what a usable API key pair is."""

from __future__ import annotations

import itertools
import re
import unicodedata

EMERGENCY_NUMBERS = frozenset(
    {
        "112",
        "911",
        "999",
        "000",
        "110",
        "118",
        "119",
        "15",
        "17",
        "18",
        "113",
        "117",
        "122",
        "133",
        "144",
    }
)
OUTSIDE_LINE_PREFIXES = ("0", "9")
CREDENTIAL_WORDS = frozenset({"secret", "password", "passwd", "pass", "pwd", "token", "auth"})
"""A key with one of these as a word part is a credential (``sip_passwd``, ``Auth``)."""
CREDENTIAL_PAIRS = frozenset({("api", "key"), ("public", "key"), ("secret", "key")})
"""Two adjacent word parts that name a credential (``api_key``, ``apiKey``, ``x-api-key``)."""
CREDENTIAL_JOINED = frozenset({"apikey", "publickey", "secretkey"})

_URI_SCHEME = re.compile(r"^\s*(?:tel|sips?|callto)\s*:\s*(?://)?", re.IGNORECASE)
_DIAL_NOISE = re.compile(r"[+\s\-.()/\[\]]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def _ascii_digits(text: str) -> str:
    """NFKC first (fullwidth digits), then any script's decimal digit as its ASCII digit."""
    out = []
    for char in unicodedata.normalize("NFKC", text):
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None and not char.isascii() else char)
    return "".join(out)


def dialled_numbers(value: object) -> set[str]:
    """What a destination may dial: scheme, ``@host``, ``;params``, punctuation and a trailing
    ``#`` removed, digits as ASCII; with and without leading vertical service codes (``*31#``,
    ``#31#``, ``*67``: two or three digits, so every way to read them is kept)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 112.0 in YAML is still 112
    text = _ascii_digits(str(value))
    text = _URI_SCHEME.sub("", text)
    text = re.split(r"[@;?]", text, maxsplit=1)[0]
    text = _DIAL_NOISE.sub("", text)
    found = {text.rstrip("#")}
    todo = [text]
    while todo and len(found) < 64:
        current = todo.pop()
        for width in (2, 3):
            match = re.match(rf"[*#]\d{{{width}}}#?", current)
            if match and len(current) > match.end():
                rest = current[match.end() :]
                found.add(rest.rstrip("#"))
                todo.append(rest)
    return found


def is_emergency_destination(value: object) -> bool:
    """True when a dial destination is an emergency number, alone or behind ``0``/``9``."""
    for digits in dialled_numbers(value):
        if digits in EMERGENCY_NUMBERS:
            return True
        if (
            len(digits) > 1
            and digits[0] in OUTSIDE_LINE_PREFIXES
            and digits[1:] in EMERGENCY_NUMBERS
        ):
            return True
    return False


def key_parts(key: str) -> list[str]:
    """The lower-case word parts of a key's last segment: ``x-api-key`` -> x, api, key."""
    last = key.rsplit(".", 1)[-1]
    return [p.lower() for p in _SEPARATORS.split(_CAMEL.sub("_", last)) if p]


def looks_like_credential(key: str) -> bool:
    """True when a key names a credential: a word part such as ``passwd`` or ``auth``, or
    ``api key`` / ``public key`` / ``secret key`` written in any case and with any separator.
    ``credential_pool`` is not one: parts are whole words, never substrings."""
    parts = key_parts(key)
    if any(part in CREDENTIAL_WORDS or part in CREDENTIAL_JOINED for part in parts):
        return True
    return any(pair in CREDENTIAL_PAIRS for pair in itertools.pairwise(parts))


def credential_problem(name: str, value: str) -> str | None:
    """Why an API key cannot be sent in an HTTP Basic header, or None. Never shows the key."""
    for index, char in enumerate(value):
        if ord(char) < 0x20 or ord(char) == 0x7F:
            what = "a line break" if char in "\r\n" else f"the control character U+{ord(char):04X}"
            return f"{name} contains {what} (at character {index + 1}); copy the key again"
        if ord(char) > 0xFF:
            return (
                f"{name} contains the character U+{ord(char):04X} (at character {index + 1}), "
                "which HTTP Basic auth cannot send; copy the key again"
            )
    if name.lower().endswith("public_key") and ":" in value:
        return (
            f"{name} contains ':', which makes the HTTP Basic header ambiguous "
            "(the secret would start at it); copy the key again"
        )
    return None
