"""The ``sipfront`` command: ``sim``, ``tests``, ``validate``, ``schema``, ``run``."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pytest_sipfront import __version__
from pytest_sipfront.api.client import ApiError, SipfrontClient
from pytest_sipfront.api.urls import check_base_url
from pytest_sipfront.manifest.loader import (
    DEFAULT_PATTERNS,
    ManifestError,
    load_manifest,
    manifest_schema,
)
from pytest_sipfront.runs.messages import NO_CREDENTIALS, not_a_regular_file
from pytest_sipfront.sandbox import Catalog, CatalogError, SandboxServer
from pytest_sipfront.sanitize import clean_line
from pytest_sipfront.settings import API_URL_VAR, DEFAULT_API_URL, credentials


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sipfront", description="Sipfront gate tools (the pytest plugin runs the gate)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("sim", help="serve the Sipfront sandbox on loopback")
    sim.add_argument("--host", default="127.0.0.1", help="a loopback address, unless --public")
    sim.add_argument("--port", default="8000", help="0 to 65535 (0: any free port)")
    sim.add_argument(
        "--public",
        action="store_true",
        help="allow a --host that is not loopback; random keys are generated and printed",
    )
    sim.add_argument("--catalog", default=None, help="sandbox catalog YAML")
    tests = commands.add_parser("tests", help="list the tests the account can run")
    tests.add_argument("--json", action="store_true", help="print JSON instead of a table")
    tests.add_argument(
        "--api-url", default=None, help=f"default: ${API_URL_VAR} or {DEFAULT_API_URL}"
    )
    validate = commands.add_parser("validate", help="check manifests without running pytest")
    validate.add_argument("manifests", nargs="*", help="default: manifests below this folder")
    validate.add_argument(
        "--online", action="store_true", help="also check that every named test and project exists"
    )
    validate.add_argument("--api-url", default=None)
    schema = commands.add_parser("schema", help="print the manifest's JSON Schema")
    schema.add_argument(
        "--catalog", action="store_true", help="the sandbox catalog's JSON Schema instead"
    )
    schema.add_argument(
        "--results",
        action="store_true",
        help="the JSON Schema of the results file (--sipfront-json) instead",
    )
    from pytest_sipfront.library.command import add_run_parser

    add_run_parser(commands)
    return parser


def _api_client(api_url: str | None, err: TextIO) -> SipfrontClient | None:
    keys = credentials(os.environ)
    if keys is None:
        err.write(f"sipfront: {NO_CREDENTIALS}\n")
        return None
    try:
        base = check_base_url(api_url or os.environ.get(API_URL_VAR) or DEFAULT_API_URL)
    except ValueError as error:
        err.write(f"sipfront: {error}\n")
        return None
    try:
        return SipfrontClient(base, keys[0], keys[1])
    except ValueError as error:  # a key that cannot be sent: the message never shows it
        err.write(f"sipfront: {error}\n")
        return None


def _find_manifests(root: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in DEFAULT_PATTERNS:
        found.extend(p for p in root.rglob(pattern) if ".git" not in p.parts)
    return sorted(set(found))


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def _sim(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        port = int(args.port)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        err.write(f"sipfront: --port {clean_line(args.port, 40)!r} is not a port (0 to 65535)\n")
        return 2
    host = str(args.host)
    if not _is_loopback(host) and not args.public:
        err.write(
            f"sipfront: --host {clean_line(host, 100)!r} is not a loopback address: the sandbox "
            "would answer every network that reaches it; pass --public to allow that "
            "(it then generates random keys)\n"
        )
        return 2
    try:
        catalog = Catalog.load(args.catalog) if args.catalog else Catalog.default()
    except CatalogError as error:
        err.write(f"sipfront: {error}\n")
        return 2
    keys = (SandboxServer.PUBLIC_KEY, SandboxServer.SECRET_KEY)
    if args.public:  # fixed, published keys must never guard a server others can reach
        keys = ("sim-" + secrets.token_urlsafe(12), secrets.token_urlsafe(24))
    server: SandboxServer | None = None
    try:
        server = SandboxServer(
            catalog, host=host, port=port, public_key=keys[0], secret_key=keys[1]
        )
        try:
            url = server.start()
        except (OSError, OverflowError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            err.write(f"sipfront: {clean_line(reason, 300)}\n")
            return 2
        bound_host, bound_port = server.bound_address
        where = f"[{bound_host}]" if ":" in bound_host else bound_host
        out.write(
            f"Sipfront SANDBOX serving at {url}\n"
            f"  listening on {where}:{bound_port}"
            + (" (every interface)" if bound_host in ("0.0.0.0", "::") else "")
            + ("" if _is_loopback(bound_host) else ": reachable from other machines")
            + "\n"
            f"  export SIPFRONT_API_URL={url}\n"
            f"  export SIPFRONT_PUBLIC_KEY={keys[0]}\n"
            f"  export SIPFRONT_SECRET_KEY={keys[1]}\n"
            "Stop it with Ctrl-C.\n"
        )
        out.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.stop()


def _tests(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = _api_client(args.api_url, err)
    if client is None:
        return 2
    try:
        tests = client.list_tests()
    except ApiError as error:
        err.write(f"sipfront: {error.message}\n")
        return 1
    finally:
        client.close()
    if args.json:
        out.write(json.dumps(tests, indent=2, ensure_ascii=False) + "\n")
        return 0
    rows = [
        (
            clean_line(t.get("id", ""), 12),
            clean_line(t.get("name", ""), 60),
            clean_line(t.get("description", "") or "", 80),
        )
        for t in tests
    ]
    widths = [
        max([len(h)] + [len(r[i]) for r in rows])
        for i, h in enumerate(("id", "name", "description"))
    ]
    for row in [("id", "name", "description"), *rows]:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )
    return 0


def _known(client: SipfrontClient) -> tuple[set[str], set[str], set[str], set[str]]:
    tests = client.list_tests()
    projects = client.list_projects()

    def ids(rows: list[dict[str, Any]]) -> set[str]:
        return {str(row.get("id")) for row in rows if row.get("id") is not None}

    def names(rows: list[dict[str, Any]]) -> set[str]:
        return {str(row.get("name")) for row in rows if row.get("name") is not None}

    return names(tests), ids(tests), names(projects), ids(projects)


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    paths = [Path(p) for p in args.manifests]
    if not paths:  # found by name: a FIFO or device so named is left alone (it could block)
        for path in _find_manifests(Path.cwd()):
            if path.is_file():
                paths.append(path)
            else:
                err.write(f"sipfront: {not_a_regular_file(clean_line(str(path), 300))}\n")
    if not paths:
        err.write("sipfront: no manifest found (sipfront.yml, *.sipfront.yml, ...)\n")
        return 1
    failed = False
    loaded = []
    for path in paths:
        try:
            loaded.append(load_manifest(path, display_path=str(path)))
        except ManifestError as error:
            err.write(f"{error}\n")
            failed = True
        except OSError as error:
            err.write(f"{path}: cannot read the file: {error.strerror}\n")
            failed = True
    if args.online and not failed:
        client = _api_client(args.api_url, err)
        if client is None:
            return 1
        try:
            test_names, test_ids, project_names, project_ids = _known(client)
        except ApiError as error:
            err.write(f"sipfront: {error.message}\n")
            return 1
        finally:
            client.close()
        reported: set[tuple[str, str]] = set()
        for manifest in loaded:
            for spec in manifest.specs:
                if (manifest.path, spec.entry) in reported:
                    continue  # one line per entry, not one per matrix item
                request = spec.request
                missing = (
                    ("test.name" in request and str(request["test.name"]) not in test_names)
                    or ("test.id" in request and str(request["test.id"]) not in test_ids)
                    or (
                        "project.name" in request
                        and str(request["project.name"]) not in project_names
                    )
                    or ("id" in request and str(request["id"]) not in project_ids)
                )
                if missing:
                    err.write(
                        f"{manifest.path}:{spec.line}:{spec.column}: {spec.entry}: "
                        f"Sipfront does not know {spec.target}: check the name or id in Sipfront\n"
                    )
                    reported.add((manifest.path, spec.entry))
                    failed = True
    if not failed:
        count = sum(len(m.specs) for m in loaded)
        out.write(f"{len(loaded)} manifest(s) valid, {count} run(s)\n")
    return 1 if failed else 0


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "sim":
        return _sim(args, out, err)
    if args.command == "tests":
        return _tests(args, out, err)
    if args.command == "validate":
        return _validate(args, out, err)
    if args.command == "run":
        from pytest_sipfront.library.command import run_command

        return run_command(args, out, err)
    if args.catalog and args.results:
        err.write("sipfront schema: give --catalog or --results, not both\n")
        return 2
    if args.results:
        from pytest_sipfront.reports.results import results_schema

        out.write(json.dumps(results_schema(), indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.catalog:
        from pytest_sipfront.sandbox.catalogschema import CATALOG_SCHEMA

        out.write(json.dumps(CATALOG_SCHEMA, indent=2) + "\n")
        return 0
    out.write(json.dumps(manifest_schema(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
