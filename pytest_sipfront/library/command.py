"""``sipfront run``: one Sipfront run from a shell step, with the gate's verdict and exit code
(0 passed, 1 failed or timed out, 2 the gate got no verdict or could not ask)."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from pytest_sipfront.library.requests import RequestProblem
from pytest_sipfront.library.results import RunResult
from pytest_sipfront.library.sipfront import Sipfront
from pytest_sipfront.runs.messages import DETACHED
from pytest_sipfront.settings import API_URL_VAR, DEFAULT_API_URL, SettingsError

DESTINATION_KEY = "step.1.0.dial_destination"
"""Where ``--destination`` goes, as in the action's one-run form."""


class _CommandSipfront(Sipfront):
    def _location(self) -> tuple[str, int]:
        return "", 0  # a shell step has no source line to point at


def add_run_parser(commands: Any) -> None:
    """The ``run`` subcommand, on the ``sipfront`` command's subparsers."""
    run = commands.add_parser(
        "run",
        help="trigger one Sipfront run and wait for its verdict",
        description=(
            "Trigger one Sipfront test (or, with --project / --project-id, one project) run, "
            "wait for it and print its verdict with the report link, or the result as JSON. "
            "The keys come from SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY (not needed with "
            "--sandbox)."
        ),
        epilog=(
            "exit status: 0 the run passed; 1 it failed or did not finish in time; 2 no verdict "
            "(credentials, API errors, a refused request, an interrupt)"
        ),
    )
    run.add_argument("test", nargs="?", default=None, metavar="TEST", help="the Sipfront test name")
    what = run.add_mutually_exclusive_group()
    what.add_argument("--test-id", default=None, metavar="N", help="the Sipfront test id")
    what.add_argument("--project", default=None, metavar="NAME", help="a Sipfront project name")
    what.add_argument("--project-id", default=None, metavar="N", help="a Sipfront project id")
    run.add_argument(
        "--test-ids", default=None, metavar="IDS", help="projects only: these test ids, e.g. 11,12"
    )
    run.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a step key to send, e.g. step.0.1.target_pool=1234 (values are sent as strings)",
    )
    run.add_argument(
        "--destination",
        default=None,
        metavar="NUMBER",
        help=f"the number to dial (sent as {DESTINATION_KEY})",
    )
    run.add_argument(
        "--report-mode", default=None, metavar="{full,kiosk,print}", help="report.mode to send"
    )
    run.add_argument(
        "--timeout",
        default=None,
        metavar="DURATION",
        help="how long the run may take, e.g. 30m (default 30m)",
    )
    run.add_argument(
        "--poll-interval",
        default=None,
        metavar="DURATION",
        help="between status requests (default 3s)",
    )
    run.add_argument(
        "--heartbeat",
        default="60s",
        metavar="DURATION",
        help="interval of the 'still waiting' line on stderr (default 60s)",
    )
    run.add_argument(
        "--allow-emergency-destination",
        action="store_true",
        help="let the run dial an emergency number (a lab number)",
    )
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument(
        "--api-url",
        default=None,
        metavar="URL",
        help=f"default: ${API_URL_VAR} or {DEFAULT_API_URL}",
    )
    run.add_argument(
        "--sandbox", action="store_true", help="run against the built-in sandbox, not Sipfront"
    )
    run.add_argument("--sandbox-catalog", default=None, metavar="FILE", help="implies --sandbox")
    run.add_argument(
        "--ledger",
        default=None,
        metavar="PATH",
        help="record the run in this ledger file; the same command again re-attaches to it",
    )
    run.add_argument("--reuse", default=None, help="with --ledger: none or passed (default none)")
    run.add_argument(
        "--detach",
        action="store_true",
        help="with --ledger: trigger, record and exit 0; the same command later collects",
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in args.override:
        key, sep, value = str(pair).partition("=")
        if not sep:
            raise RequestProblem(f"--override {pair!r}: write KEY=VALUE")
        overrides[key.strip()] = value
    if args.destination is not None:
        overrides[DESTINATION_KEY] = args.destination
    return overrides


def _start(sipfront: Sipfront, args: argparse.Namespace) -> RunResult:
    if args.project is not None or args.project_id is not None:
        if args.test is not None or args.override or args.destination is not None:
            raise RequestProblem("a project run takes no TEST, --override or --destination")
        test_ids = None
        if args.test_ids:
            test_ids = [part for part in str(args.test_ids).replace(",", " ").split() if part]
        return sipfront.run_project(
            args.project,
            project_id=args.project_id,
            test_ids=test_ids,
            report_mode=args.report_mode,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
        )
    if args.test_ids:
        raise RequestProblem("--test-ids is for project runs (--project or --project-id)")
    return sipfront.run(
        args.test,
        test_id=args.test_id,
        overrides=_overrides(args),
        report_mode=args.report_mode,
        timeout=args.timeout,
        poll_interval=args.poll_interval,
        allow_emergency_destination=args.allow_emergency_destination,
    )


def exit_code(result: RunResult) -> int:
    if result.passed or result.outcome.ledger == DETACHED:
        return 0
    return 1 if result.outcome.verdict.is_failure else 2


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        sipfront = _CommandSipfront(
            args.api_url,
            heartbeat=args.heartbeat,
            sandbox=bool(args.sandbox or args.sandbox_catalog),
            sandbox_catalog=args.sandbox_catalog,
            ledger=args.ledger,
            reuse=args.reuse,
            detach=bool(args.detach),
        )
    except (SettingsError, ValueError) as error:
        err.write(f"sipfront: {error}\n")
        return 2
    try:
        result = _start(sipfront, args)
    except RequestProblem as problem:
        sipfront.close()
        text = str(problem).replace(
            "pass allow_emergency_destination=True", "pass --allow-emergency-destination"
        )
        err.write(f"sipfront: {text}\n")
        return 2
    except KeyboardInterrupt:
        # Not ``with sipfront:``: its exit would close the client first and the runs still
        # going (session id, report link) would be lost to this message.
        for still in sipfront.close():
            err.write(still.text + "\n")
        return 2
    except BaseException:
        sipfront.close()
        raise
    sipfront.close()
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        if result.passed:
            out.write(f"Sipfront run passed: {result.name}\n")
        out.write(result.text + "\n")
    return exit_code(result)
