"""Safety rules shared by the manifest loader and the action: emergency numbers, credential keys."""

from __future__ import annotations

import re

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
CREDENTIAL_KEYS = ("secret", "password", "api_key", "public_key", "secret_key", "token")
_DIAL_NOISE = re.compile(r"[+\s\-.()]")


def is_emergency_destination(value: object) -> bool:
    """True when a dial destination is an emergency number, alone or behind ``0``/``9``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 112.0 in YAML is still 112
    digits = _DIAL_NOISE.sub("", str(value))
    if digits in EMERGENCY_NUMBERS:
        return True
    return (
        len(digits) > 1 and digits[0] in OUTSIDE_LINE_PREFIXES and digits[1:] in EMERGENCY_NUMBERS
    )


def looks_like_credential(key: str) -> bool:
    """True when a key names a credential (``secret``, ``api_key``, ``step.0.0.password``)."""
    last = key.lower().rsplit(".", 1)[-1]
    return any(last == word or last.endswith("_" + word) for word in CREDENTIAL_KEYS)
