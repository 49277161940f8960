"""The baseline: what teams do today with Sipfront's own action, one test after another.

Run as a script by the benchmark (``python benchmarks/gate/baseline.py URL NAMES POLL``) so that
its process holds no more than the baseline needs: ``requests`` and nothing of the benchmark
or of pytest-sipfront.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

import requests


def baseline_loop(
    base_url: str, keys: tuple[str, str], names: Sequence[str], poll: float
) -> list[str]:
    """What teams do today (Sipfront's action, docs/sipfront-api.md): for each test, trigger
    it, then wait ``poll`` seconds and ask for its status until the run is no longer running."""
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever the proxy variables say
    session.auth = keys
    verdicts = []
    for name in names:
        answer = session.post(f"{base_url}/tests/run", json={"test.name": name}, timeout=30)
        answer.raise_for_status()
        status_url = answer.json()["data"]["status_url"]
        while True:
            time.sleep(poll)
            run = session.get(status_url, timeout=30).json()["run"]
            state = run.get("session_status", run.get("status"))
            if state != "running":
                verdicts.append(str(state))
                break
    return verdicts


def baseline_child(base_url: str, names: str, poll: str) -> int:
    keys = (os.environ["SIPFRONT_PUBLIC_KEY"], os.environ["SIPFRONT_SECRET_KEY"])
    verdicts = baseline_loop(base_url, keys, names.split(","), float(poll))
    print(json.dumps(verdicts))
    return 0 if all(verdict == "passed" for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(baseline_child(*sys.argv[1:4]))
