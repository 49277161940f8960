"""The sandbox: a real HTTP server on loopback that speaks the Sipfront API from a catalog.

``from pytest_sipfront.sandbox import SandboxServer, Catalog`` is the way in; ``catalog`` holds
the catalog model and reader (and the catalog format), ``behaviour`` the API's answers, runs
and faults, ``server`` the HTTP server.
"""

from pytest_sipfront.sandbox.behaviour import RequestRecord
from pytest_sipfront.sandbox.catalog import Catalog, CatalogError, Fault
from pytest_sipfront.sandbox.server import SandboxServer

__all__ = ["Catalog", "CatalogError", "Fault", "RequestRecord", "SandboxServer"]
