"""The ``sipfront`` command: ``sim``, ``tests``, ``projects``, ``validate``, ``schema``,
``run`` and ``stats``."""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from pytest_sipfront import __version__
from pytest_sipfront.api.client import ApiError, SipfrontClient
from pytest_sipfront.api.urls import check_base_url
from pytest_sipfront.manifest.loader import (
    DEFAULT_PATTERNS,
    Manifest,
    ManifestError,
    load_manifest,
    manifest_schema,
)
from pytest_sipfront.runs.messages import NO_CREDENTIALS, not_a_regular_file
from pytest_sipfront.sandbox import Catalog, CatalogError, SandboxServer
from pytest_sipfront.sanitize import clean_line
from pytest_sipfront.settings import API_URL_VAR, DEFAULT_API_URL, credentials

_LISTING_EXITS = (
    "exit status: 0 listed; 1 Sipfront refused or could not be reached; "
    "2 no credentials, a key that cannot be sent, or a bad API URL"
)


def _command(
    commands: Any, name: str, summary: str, description: str, exits: str
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` says what it does and what its exit statuses mean."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=exits,
    )
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sipfront",
        description=(
            "Sipfront gate tools: check manifests, list what your account can run, run one "
            "test, serve the sandbox. The gate itself runs in pytest (pytest sipfront.yml)."
        ),
        epilog="Each command's --help says what it does and what its exit statuses mean.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sim = _command(
        commands,
        "sim",
        "serve the Sipfront sandbox on loopback",
        "Serve the sandbox, a Sipfront API server that ships with the package, until Ctrl-C. "
        "It prints its base URL and the variables to export; then run pytest against it.",
        "exit status: 0 stopped with Ctrl-C; 2 a bad --host, --port or catalog, or the port "
        "is in use",
    )
    sim.add_argument(
        "--host", default="127.0.0.1", metavar="HOST", help="a loopback address, unless --public"
    )
    sim.add_argument("--port", default="8000", metavar="PORT", help="0 to 65535 (0: any free port)")
    sim.add_argument(
        "--public",
        action="store_true",
        help="allow a --host that is not loopback; random keys are generated and printed",
    )
    sim.add_argument("--catalog", default=None, metavar="FILE", help="sandbox catalog YAML")
    api_url_help = f"default: ${API_URL_VAR} or {DEFAULT_API_URL}"
    for listing, what in (("tests", "tests"), ("projects", "projects")):
        lister = _command(
            commands,
            listing,
            f"list the {what} the account can run",
            f"List the {what} of your Sipfront account (GET /{listing}) as a table of id, name "
            "and description, or as JSON. The keys come from SIPFRONT_PUBLIC_KEY and "
            "SIPFRONT_SECRET_KEY.",
            _LISTING_EXITS,
        )
        lister.add_argument("--json", action="store_true", help="print JSON instead of a table")
        lister.add_argument("--api-url", default=None, metavar="URL", help=api_url_help)
    validate = _command(
        commands,
        "validate",
        "check manifests without running pytest",
        "Check manifests as pytest's collection would, without pytest and without sending "
        "anything. A folder is searched for sipfront.yml, sipfront.yaml, *.sipfront.yml and "
        "*.sipfront.yaml; with no PATH, the current folder. With --online, also ask Sipfront "
        "whether every named test and project exists.",
        "exit status: 0 every manifest is valid; 1 a manifest is broken or unreadable, none "
        "was found, or (--online) Sipfront does not know a name or could not be asked",
    )
    validate.add_argument(
        "manifests",
        nargs="*",
        metavar="PATH",
        help="a manifest, or a folder to search (default: the current folder)",
    )
    validate.add_argument(
        "--online", action="store_true", help="also check that every named test and project exists"
    )
    validate.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document on stdout (same exit status)",
    )
    validate.add_argument("--api-url", default=None, metavar="URL", help=api_url_help)
    schema = _command(
        commands,
        "schema",
        "print the manifest's JSON Schema (or the catalog's, or the results file's)",
        "Print the JSON Schema that manifests follow (the loader checks their structure with "
        "it), e.g. for your editor; with --catalog, the sandbox catalog's instead; with "
        "--results, the one every results file of --sipfront-json follows, for scripts that "
        "read it.",
        "exit status: 0; 2 --catalog and --results given together",
    )
    schema.add_argument(
        "--catalog", action="store_true", help="the sandbox catalog's JSON Schema instead"
    )
    schema.add_argument(
        "--results",
        action="store_true",
        help="the JSON Schema of the results file (--sipfront-json) instead",
    )
    from pytest_sipfront.library.command import add_run_parser
    from pytest_sipfront.library.stats_command import add_stats_parser

    add_run_parser(commands)
    add_stats_parser(commands)
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


def _listing(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``sipfront tests`` / ``sipfront projects``: what the account can run."""
    client = _api_client(args.api_url, err)
    if client is None:
        return 2
    try:
        rows = client.list_tests() if args.command == "tests" else client.list_projects()
    except ApiError as error:
        err.write(f"sipfront: {error.message}\n")
        return 1
    finally:
        client.close()
    if args.json:
        out.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return 0
    table = [
        (
            clean_line(row.get("id", ""), 12),
            clean_line(row.get("name", ""), 60),
            clean_line(row.get("description", "") or "", 80),
        )
        for row in rows
    ]
    widths = [
        max([len(h)] + [len(r[i]) for r in table])
        for i, h in enumerate(("id", "name", "description"))
    ]
    for row in [("id", "name", "description"), *table]:
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


@dataclass(frozen=True)
class Problem:
    """One thing ``sipfront validate`` found wrong; ``line`` is None when no line is to blame."""

    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}" if self.path else f"sipfront: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class CheckedManifest:
    path: str
    runs: int


@dataclass(frozen=True)
class ValidateReport:
    """What ``sipfront validate --json`` prints (``valid`` is what the exit status says)."""

    valid: bool
    manifests: list[CheckedManifest]
    problems: list[Problem]
    skipped: list[str]
    """Files found by a manifest's name that were not read (FIFOs, devices): one sentence each."""


def _manifest_paths(arguments: Sequence[str]) -> tuple[list[Path], list[Problem], list[str]]:
    """The manifests named, and those found in the folders named (no argument: the current
    folder). A file found by name that is not a regular file is skipped, never read: a FIFO
    would block the read."""
    paths: list[Path] = []
    problems: list[Problem] = []
    skipped: list[str] = []
    for argument in arguments or [str(Path.cwd())]:
        path = Path(argument)
        if not path.is_dir():
            paths.append(path)
            continue
        found = _find_manifests(path)
        for candidate in found:
            if candidate.is_file():
                paths.append(candidate)
            else:
                skipped.append(not_a_regular_file(clean_line(str(candidate), 300)))
        if not found:
            where = argument if arguments else "this folder"
            problems.append(
                Problem(
                    "",
                    None,
                    None,
                    f"no manifest found below {where} ({', '.join(DEFAULT_PATTERNS)})",
                )
            )
    if not paths and not problems:  # only FIFOs and the like were found
        problems.append(Problem("", None, None, "no manifest found to read"))
    return paths, problems, skipped


def _unknown_to_sipfront(loaded: list[Manifest], client: SipfrontClient) -> list[Problem]:
    """One problem per entry naming a test or project Sipfront does not know."""
    test_names, test_ids, project_names, project_ids = _known(client)
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for manifest in loaded:
        for spec in manifest.specs:
            if (manifest.path, spec.entry) in reported:
                continue  # one line per entry, not one per matrix item
            request = spec.request
            missing = (
                ("test.name" in request and str(request["test.name"]) not in test_names)
                or ("test.id" in request and str(request["test.id"]) not in test_ids)
                or ("project.name" in request and str(request["project.name"]) not in project_names)
                or ("id" in request and str(request["id"]) not in project_ids)
            )
            if missing:
                problems.append(
                    Problem(
                        manifest.path,
                        spec.line,
                        spec.column,
                        f"{spec.entry}: Sipfront does not know {spec.target}: "
                        "check the name or id in Sipfront",
                    )
                )
                reported.add((manifest.path, spec.entry))
    return problems


def _check(args: argparse.Namespace) -> ValidateReport:
    paths, problems, skipped = _manifest_paths(args.manifests)
    loaded: list[Manifest] = []
    for path in paths:
        try:
            loaded.append(load_manifest(path, display_path=str(path)))
        except ManifestError as error:
            problems.append(Problem(error.path, error.line, error.column, error.message))
        except OSError as error:
            problems.append(
                Problem(str(path), None, None, f"cannot read the file: {error.strerror}")
            )
    if args.online and not problems:
        said = io.StringIO()
        client = _api_client(args.api_url, said)
        if client is None:
            problems.append(
                Problem("", None, None, said.getvalue().strip().removeprefix("sipfront: "))
            )
        else:
            try:
                problems.extend(_unknown_to_sipfront(loaded, client))
            except ApiError as error:
                problems.append(Problem("", None, None, error.message))
            finally:
                client.close()
    checked = [CheckedManifest(m.path, len(m.specs)) for m in loaded]
    return ValidateReport(valid=not problems, manifests=checked, problems=problems, skipped=skipped)


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = _check(args)
    if args.json:
        out.write(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
    else:
        for sentence in report.skipped:
            err.write(f"sipfront: {sentence}\n")
        for problem in report.problems:
            err.write(f"{problem}\n")
        if report.valid:
            count = sum(m.runs for m in report.manifests)
            out.write(f"{len(report.manifests)} manifest(s) valid, {count} run(s)\n")
    return 0 if report.valid else 1


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "sim":
        return _sim(args, out, err)
    if args.command in ("tests", "projects"):
        return _listing(args, out, err)
    if args.command == "validate":
        return _validate(args, out, err)
    if args.command == "stats":
        from pytest_sipfront.library.stats_command import stats_command

        return stats_command(args, _api_client(args.api_url, err), out, err)
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
