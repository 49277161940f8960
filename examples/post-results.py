#!/usr/bin/env python3
"""Post the Sipfront gate's results to a Slack or Microsoft Teams channel.

Reads the results JSON that the gate writes (the action's ``results_json`` output, or pytest's
``--sipfront-json PATH``; its schema: ``sipfront schema --results``) and posts one message to an
incoming webhook: the verdict, the counts, and each failure with its reason and report link.
Python's standard library only, so it runs on any runner::

    python examples/post-results.py sipfront-results.json --slack  "$SLACK_WEBHOOK_URL"
    python examples/post-results.py sipfront-results.json --teams  "$TEAMS_WEBHOOK_URL"
    python examples/post-results.py sipfront-results.json --print     # the message, not sent
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from typing import Any

SHOWN_FAILURES = 10
RED = ("failed", "timeout", "error", "running")


def headline(document: dict[str, Any]) -> str:
    counts = document["session"]["counts"]
    total, red = counts["total"], counts["failed"] + counts["errors"]
    runs = "run" if total == 1 else "runs"
    if red:
        text = f"❌ {red} of {total} Sipfront {runs} failed"
    elif total - counts["skipped"] == 0:
        text = "⚠️ No Sipfront run was selected"
    else:
        text = f"✅ {counts['passed']} of {total} Sipfront {runs} passed"
    if document["session"]["sandbox"]:
        text += " (SANDBOX: nothing was tested at Sipfront)"
    return text


def counts_line(document: dict[str, Any]) -> str:
    counts = document["session"]["counts"]
    words = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "flaky")
    line = ", ".join(f"{counts[word]} {word}" for word in words if counts[word])
    revision = document["session"]["revision"]
    return f"{line} (revision {revision[:12]})" if revision else line


def failures(document: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """``(name, reason, report link)`` of every run that failed, errored or was left going."""
    return [
        (run["name"], run["reason"] or run["message"] or run["outcome"], run["links"]["report"])
        for run in document["runs"]
        if run["outcome"] in RED
    ]


def slack(document: dict[str, Any]) -> dict[str, Any]:
    lines = [f"*{headline(document)}*", counts_line(document)]
    bad = failures(document)
    for name, reason, link in bad[:SHOWN_FAILURES]:
        where = f" <{link}|report>" if link else ""
        lines.append(f"• *{name}*: {reason}{where}")
    if len(bad) > SHOWN_FAILURES:
        lines.append(f"… and {len(bad) - SHOWN_FAILURES} more")
    return {"text": "\n".join(lines)}


def teams(document: dict[str, Any]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline(document), "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": counts_line(document), "wrap": True},
    ]
    bad = failures(document)
    for name, reason, link in bad[:SHOWN_FAILURES]:
        where = f" [report]({link})" if link else ""
        body.append({"type": "TextBlock", "text": f"**{name}**: {reason}{where}", "wrap": True})
    if len(bad) > SHOWN_FAILURES:
        body.append({"type": "TextBlock", "text": f"… and {len(bad) - SHOWN_FAILURES} more"})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="the results JSON (sipfront-results.json)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--slack", metavar="WEBHOOK_URL", help="a Slack incoming webhook")
    where.add_argument("--teams", metavar="WEBHOOK_URL", help="a Teams workflow webhook")
    where.add_argument("--print", action="store_true", help="print the Slack message only")
    args = parser.parse_args(argv)
    with open(args.results, encoding="utf-8") as stream:
        document = json.load(stream)
    if document.get("version") != 1:
        print(
            f"{args.results}: results version {document.get('version')!r}, not 1", file=sys.stderr
        )
        return 2
    if args.print:
        print(slack(document)["text"])
    elif args.slack:
        post(args.slack, slack(document))
    else:
        post(args.teams, teams(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
