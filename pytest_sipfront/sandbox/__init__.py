"""The sandbox: a real HTTP server on loopback that speaks the Sipfront API from a catalog.

``from pytest_sipfront.sandbox import SandboxServer, Catalog`` is the way in; the modules below
hold the catalog model and reader, the API behaviour and the HTTP server.
"""

from pytest_sipfront.sandbox.server import (
    Catalog,
    CatalogError,
    Fault,
    RequestRecord,
    SandboxServer,
)

__all__ = ["Catalog", "CatalogError", "Fault", "RequestRecord", "SandboxServer"]
