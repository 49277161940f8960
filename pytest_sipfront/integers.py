"""Whole numbers as manifests, options and action inputs write them: one rule for all three.

A number is written in the digits 0-9, after a minus sign if it is negative: no ``+``, no
spaces, no ``_`` and no other script's digits (Python's ``int()`` takes all of those). A YAML
integer is one, and so is a YAML float with nothing after the point (``5.0``); ``true`` and
``false`` are not. Each caller checks its own bounds and says them in its own words, so a
negative number is told that it is too small rather than that it is no number.

Light on purpose: the pytest entry point imports it through the settings.
"""

from __future__ import annotations

import re

_WRITTEN = re.compile(r"-?[0-9]+")
_LONGEST = 4000
"""Digits ``int()`` is asked to read; Python refuses strings of more than 4,300 digits."""
_BEYOND: int = 10**_LONGEST


def whole_number(value: object) -> int | None:
    """The integer ``value`` writes, or ``None`` when it writes none (see the module's rule).

    A string of more than 4,000 significant digits reads as ``±10**4000``: beyond every bound
    a caller checks, without asking ``int()`` for what it refuses.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if not isinstance(value, str) or not _WRITTEN.fullmatch(value):
        return None
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("-").lstrip("0")
    if len(digits) > _LONGEST:
        return sign * _BEYOND
    return sign * int(digits or "0")
