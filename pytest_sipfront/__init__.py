"""pytest-sipfront: run Sipfront SIP/VoIP tests as a pytest gate, or from Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["RunHandle", "RunResult", "Sipfront", "SipfrontRunError", "SipfrontRunFailed"]

if TYPE_CHECKING:
    from pytest_sipfront.library.results import (
        RunHandle,
        RunResult,
        SipfrontRunError,
        SipfrontRunFailed,
    )
    from pytest_sipfront.library.sipfront import Sipfront

_LAZY = {
    "Sipfront": "pytest_sipfront.library.sipfront",
    "RunResult": "pytest_sipfront.library.results",
    "RunHandle": "pytest_sipfront.library.results",
    "SipfrontRunFailed": "pytest_sipfront.library.results",
    "SipfrontRunError": "pytest_sipfront.library.results",
}


def __getattr__(name: str) -> Any:
    """``from pytest_sipfront import Sipfront`` loads the library (requests, yaml) only then:
    the pytest entry point in this package must stay light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
