"""Manifest thresholds on media metrics: their syntax, and checking them against summaries.

    rtp_jitter: "p95 < 30"                       every role and direction
    "rtp_jitter{role=callee,dir=in}": "max <= 50"
    rtp_jitter@baseline: "p95 < +50%"            against the last passing run of the test

Aggregates ``min``, ``max``, ``mean``, ``median``, ``pN`` (0-100); comparators ``<``, ``<=``,
``>``, ``>=``. A ``@baseline`` limit is a percentage of the same aggregate in the baseline run.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from pytest_sipfront.media.series import Dimension

AGGREGATES = ("min", "max", "mean", "median")
COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
KEY = re.compile(
    r"^\s*(?P<measure>[A-Za-z_][A-Za-z0-9_.-]*)\s*"
    r"(?:\{(?P<selector>[^{}]*)\})?\s*(?P<baseline>@baseline)?\s*$"
)
SELECTOR = re.compile(r"^\s*(?P<name>[A-Za-z_]+)\s*=\s*(?P<value>[A-Za-z0-9_.-]+)\s*$")
EXPRESSION = re.compile(
    r"^\s*(?P<aggregate>[A-Za-z]+[0-9.]*)\s*(?P<comparator><=|>=|<|>)\s*"
    r"(?P<limit>[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*(?P<percent>%)?\s*$"
)

KEY_HELP = (
    'write a measure, optionally with {role=...,dir=...} and @baseline, e.g. "rtp_jitter", '
    '"rtp_jitter{role=callee,dir=in}" or "rtp_jitter@baseline"'
)
EXPRESSION_HELP = 'write an aggregate, a comparator and a number, e.g. "p95 < 30" or "min > 0"'


class ThresholdSyntaxError(ValueError):
    """A threshold that cannot be read; the message says what to write instead. ``in_key``:
    the key is wrong (else the expression)."""

    def __init__(self, message: str, *, in_key: bool = False) -> None:
        super().__init__(message)
        self.in_key = in_key


@dataclass(frozen=True)
class Threshold:
    """One checked threshold of a manifest entry (crosses to xdist workers as a dict)."""

    measure: str
    aggregate: str
    comparator: str
    limit: float
    role: str = ""
    dir: str = ""
    baseline: bool = False
    """The limit is a percentage change from the baseline run's same aggregate."""
    key: str = ""
    """The key as written, for messages."""
    expression: str = ""
    """The expression as written, for messages."""

    def selects(self, dimension: Dimension) -> bool:
        return (
            dimension.measure == self.measure
            and (not self.role or dimension.role == self.role)
            and (not self.dir or dimension.dir == self.dir)
        )

    def holds(self, value: float, limit: float) -> bool:
        return COMPARATORS[self.comparator](value, limit)

    def limit_against(self, baseline: float) -> float:
        """The absolute limit of a ``@baseline`` threshold, given the baseline's value."""
        return baseline * (1 + self.limit / 100)


def _aggregate(word: str) -> str:
    word = word.lower()
    if word in AGGREGATES:
        return word
    if re.fullmatch(r"p(100|[0-9]{1,2}(\.[0-9]+)?)", word):
        return word
    raise ThresholdSyntaxError(
        f"{word!r} is not an aggregate; use min, max, mean, median or pN with N from 0 to 100"
    )


def parse_threshold(key: str, expression: object) -> Threshold:
    """A threshold from its manifest key and value; raises :class:`ThresholdSyntaxError`."""
    match = KEY.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise ThresholdSyntaxError(f"{key!r} is not a threshold key; {KEY_HELP}", in_key=True)
    selectors: dict[str, str] = {}
    if match["selector"] is not None:
        for part in match["selector"].split(","):
            found = SELECTOR.fullmatch(part)
            if found is None or found["name"] not in ("role", "dir"):
                raise ThresholdSyntaxError(
                    f"{{{match['selector']}}} selects nothing known; use role=... and dir=..., "
                    "e.g. {role=callee,dir=in}",
                    in_key=True,
                )
            if found["name"] in selectors:
                raise ThresholdSyntaxError(
                    f"{found['name']} is given twice in {key!r}", in_key=True
                )
            selectors[found["name"]] = found["value"]
    if not isinstance(expression, str):
        raise ThresholdSyntaxError(f"{expression!r} is not a text; {EXPRESSION_HELP}")
    parts = EXPRESSION.fullmatch(expression)
    if parts is None:
        raise ThresholdSyntaxError(f"{expression!r} is not a threshold; {EXPRESSION_HELP}")
    baseline = match["baseline"] is not None
    if baseline and not parts["percent"]:
        raise ThresholdSyntaxError(
            f'{expression!r}: a @baseline threshold is a change in percent, e.g. "p95 < +50%"'
        )
    if parts["percent"] and not baseline:
        raise ThresholdSyntaxError(
            f"{expression!r}: a percentage is a change from a baseline; write the key as "
            f"{match['measure']}@baseline, or give a number without %"
        )
    return Threshold(
        measure=match["measure"],
        aggregate=_aggregate(parts["aggregate"]),
        comparator=parts["comparator"],
        limit=float(parts["limit"]),
        role=selectors.get("role", ""),
        dir=selectors.get("dir", ""),
        baseline=baseline,
        key=key.strip(),
        expression=" ".join(expression.split()),
    )
