"""``sipfront stats SESSION_ID [--measure M] [--raw] [--json]``: a run's media metrics as
Sipfront returned them (``--raw``: the bodies themselves, sanitised, so that the real shape of
the undocumented series can be seen) or as the gate reads them (a table, or ``--json``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any, TextIO

from pytest_sipfront.api.client import SipfrontClient, StatsUnavailable
from pytest_sipfront.media.render import text_table
from pytest_sipfront.media.report import MediaReport
from pytest_sipfront.media.series import Dimension, Unreadable, read_dimensions, read_series
from pytest_sipfront.media.summary import summarise
from pytest_sipfront.runs.messages import metrics_unreadable, no_series, stats_request_failed
from pytest_sipfront.sanitize import clean_text

RAW_LIMIT = 1_000_000
"""Characters of one raw body printed at most."""
REQUEST_BUDGET = 60.0


def add_stats_parser(commands: Any) -> None:
    stats = commands.add_parser(
        "stats",
        help="print a run's media metrics",
        description=(
            "Print the media metrics Sipfront measured for one run (by its session id), as a "
            "table, JSON, or the raw bodies. The keys come from SIPFRONT_PUBLIC_KEY and "
            "SIPFRONT_SECRET_KEY."
        ),
        epilog=(
            "exit status: 0 printed; 2 no credentials, the request failed, or Sipfront's "
            "answer held no readable metrics"
        ),
    )
    stats.add_argument("session_id", help="the run's session id (from its report link)")
    stats.add_argument("--measure", default=None, help="only this measure, e.g. rtp_jitter")
    stats.add_argument(
        "--raw", action="store_true", help="print the bodies Sipfront returned (sanitised)"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.add_argument("--api-url", default=None)


def stats_command(
    args: argparse.Namespace, client: SipfrontClient | None, out: TextIO, err: TextIO
) -> int:
    """0: printed; 2: no client, or nothing could be read."""
    if client is None:
        return 2
    with client:
        return _stats(args, client, out, err)


def _get(client: SipfrontClient, session: str, dimension: Dimension | None) -> bytes | str:
    deadline = time.monotonic() + REQUEST_BUDGET
    try:
        if dimension is None:
            return client.stats(session, deadline=deadline)
        return client.stats(
            session,
            dimension.measure,
            role=dimension.role,
            direction=dimension.dir,
            deadline=deadline,
        )
    except StatsUnavailable as trouble:
        return stats_request_failed(trouble.reason)


def _stats(args: argparse.Namespace, client: SipfrontClient, out: TextIO, err: TextIO) -> int:
    session = str(args.session_id)
    body = _get(client, session, None)
    if isinstance(body, str):
        err.write(f"sipfront: {body}\n")
        return 2
    if args.raw and args.measure is None:
        out.write(clean_text(body.decode("utf-8", "replace"), RAW_LIMIT) + "\n")
        return 0
    found = read_dimensions(body)
    if isinstance(found, Unreadable):
        err.write(f"sipfront: {metrics_unreadable(found.excerpt)}\n")
        return 2
    dimensions = [d for d in found if args.measure is None or d.measure == args.measure]
    if args.measure is not None and not dimensions:
        dimensions = [Dimension(str(args.measure))]  # not listed: ask for it all the same
    report = MediaReport()
    problems: list[str] = []
    raw: list[dict[str, str]] = []
    for dimension in dimensions:
        series_body = _get(client, session, dimension)
        where = ", ".join(p for p in (dimension.role, dimension.dir) if p)
        if isinstance(series_body, str):
            problems.append(f"{dimension.measure} ({where}): {series_body}")
            continue
        if args.raw:
            text = clean_text(series_body.decode("utf-8", "replace"), RAW_LIMIT)
            raw.append(
                {
                    "measure": dimension.measure,
                    "role": dimension.role,
                    "dir": dimension.dir,
                    "body": text,
                }
            )
            continue
        series = read_series(series_body, dimension)
        if isinstance(series, Unreadable):
            problems.append(f"{dimension.measure} ({where}): {metrics_unreadable(series.excerpt)}")
            continue
        summary = summarise(series)
        if summary is None:
            problems.append(no_series(dimension.measure, dimension.role, dimension.dir))
        else:
            report.summaries.append(summary)
    if args.raw:
        for item in raw:
            if args.json:
                continue
            out.write(f"--- {item['measure']} role={item['role']} dir={item['dir']}\n")
            out.write(item["body"] + "\n")
        if args.json:
            out.write(json.dumps(raw, indent=2) + "\n")
    elif args.json:
        payload = {
            "session_id": session,
            "summaries": [dataclasses.asdict(s) for s in report.summaries],
            "problems": problems,
        }
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        table = text_table(report)
        out.write((table or "no media metrics") + "\n")
    for problem in problems if not args.json else []:
        err.write(f"sipfront: {problem}\n")
    return 0 if report.summaries or raw or not dimensions else 2
