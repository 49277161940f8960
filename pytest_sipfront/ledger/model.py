"""What the run ledger holds: one record per run a session triggered, keyed by where the run
comes from (manifest, item), what was asked (the request's digest) and the code revision.

The file is JSON written from these dataclasses and read back through :func:`from_data`, which
checks every field against its type: a ledger edited by hand or by another version is refused
whole (:class:`LedgerShapeError`), never half used.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

LEDGER_VERSION = 1

SENDING = "sending"
"""The trigger is about to go out (or went out) and no answer was recorded."""
TRIGGERED = "triggered"
"""Sipfront answered the trigger: the run is going (no verdict recorded yet)."""
FINISHED = "finished"
"""The gate's verdict on the run is recorded."""
STATES = (SENDING, TRIGGERED, FINISHED)


@dataclass(frozen=True)
class LedgerKey:
    """What makes two runs the same run: a record is used only for an equal key."""

    manifest: str
    """The manifest's path relative to the rootdir (for runs from Python: the caller's file)."""
    item: str
    """The item id: a manifest item's node id; ``<node id>#<n>`` for the n-th fixture call."""
    digest: str
    """sha256 of the exact request (kind and body, after variables)."""
    revision: str | None
    """The code revision the run tested (``None``: none was found)."""


@dataclass
class LedgerRecord:
    key: LedgerKey
    kind: str
    """``test`` or ``project``."""
    state: str
    """``sending`` | ``triggered`` | ``finished``."""
    sent_at: str
    """When the trigger went out, ISO 8601 UTC."""
    attempt: str
    """Which attempt of the pipeline sent it (``GitHub attempt 2``, ``session 3``)."""
    timeout: float = 0.0
    """The run's timeout from its trigger, in seconds (a re-attach keeps its deadline)."""
    session_id: str | None = None
    report_url: str | None = None
    status_url: str | None = None
    answered_at: str | None = None
    verdict: str | None = None
    """The gate's verdict word (``passed``, ``failed``, ``timeout``, ...), once known."""
    passed: bool | None = None
    finished_at: str | None = None
    run: dict[str, Any] = field(default_factory=dict)
    """Sipfront's finished run object (sanitised, as the gate keeps it)."""

    @property
    def going(self) -> bool:
        """Answered by Sipfront and without a verdict: the run may still be going there."""
        return self.state == TRIGGERED and bool(self.status_url)


@dataclass
class LedgerData:
    version: int = LEDGER_VERSION
    sessions: int = 0
    """How many sessions opened this ledger (names the attempt when CI does not)."""
    records: list[LedgerRecord] = field(default_factory=list)


class LedgerShapeError(ValueError):
    """The data does not have the ledger's shape; the message says where."""


T = TypeVar("T")


def to_data(value: Any) -> Any:
    """A JSON-able copy of a ledger dataclass."""
    return dataclasses.asdict(value)


def from_data(cls: type[T], data: Any, where: str = "ledger") -> T:
    """Build ``cls`` from JSON data, checking every field against its declared type."""
    return typing.cast(T, _build(cls, data, where))


def _build(kind: Any, data: Any, where: str) -> Any:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _build_dataclass(kind, data, where)
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _build(option, data, where)
            except LedgerShapeError:
                continue
        raise LedgerShapeError(f"{where}: {data!r} has the wrong type")
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(data, list):
            raise LedgerShapeError(f"{where}: expected a list")
        return [_build(item, value, f"{where}[{i}]") for i, value in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise LedgerShapeError(f"{where}: expected an object")
        return dict(data)
    if kind is Any:
        return data
    if kind is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
        raise LedgerShapeError(f"{where}: expected a number")
    if kind is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise LedgerShapeError(f"{where}: expected a whole number")
    if kind in (str, bool):
        if type(data) is kind:
            return data
        raise LedgerShapeError(f"{where}: expected {'text' if kind is str else 'true or false'}")
    raise LedgerShapeError(f"{where}: cannot read a {kind!r}")  # pragma: no cover


def _build_dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise LedgerShapeError(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        if spec.name not in data:
            missing = (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            )
            if missing:
                raise LedgerShapeError(f"{where}.{spec.name}: missing")
            continue
        values[spec.name] = _build(hints[spec.name], data[spec.name], f"{where}.{spec.name}")
    return cls(**values)
