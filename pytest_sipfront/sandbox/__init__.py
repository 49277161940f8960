"""The sandbox: a real HTTP server on loopback that speaks the Sipfront API from a catalog.

``from pytest_sipfront.sandbox import SandboxServer, Catalog`` is the way in; ``endpoints``
holds the one endpoint table, ``catalog`` the catalog model and reader (and the catalog
format), ``catalogschema`` its structure, ``behaviour`` the API's answers, runs and faults,
``server`` the HTTP server. Importing this package loads none of them until a name is used:
a client asks :mod:`.endpoints` whether an answer came from a sandbox without loading YAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_sipfront.sandbox.behaviour import RequestRecord
    from pytest_sipfront.sandbox.catalog import Catalog, CatalogError, Fault
    from pytest_sipfront.sandbox.server import SandboxServer

__all__ = ["Catalog", "CatalogError", "Fault", "RequestRecord", "SandboxServer"]

_HOMES = {
    "Catalog": "catalog",
    "CatalogError": "catalog",
    "Fault": "catalog",
    "RequestRecord": "behaviour",
    "SandboxServer": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
