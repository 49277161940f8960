r"""Sipfront runs with values known only at test time, from a pytest suite.

Against the sandbox (no credentials, nothing is tested at Sipfront):

    pytest examples/test_dynamic_destination.py \
        --sipfront-sandbox-catalog examples/sandbox-catalog.yml

Against Sipfront: export SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY and drop the option.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pytest_sipfront import Sipfront


@dataclass
class Sbc:
    """Stands for the system under test your fixtures deploy (a container, a fresh SBC)."""

    did: str


@pytest.fixture
def sbc() -> Iterator[Sbc]:
    # Deploy here; the number to dial is known only now (this pipeline's DID).
    yield Sbc(did=os.environ.get("DEST_NUMBER", "431231234"))


def test_new_sbc_takes_calls(sipfront: Sipfront, sbc: Sbc) -> None:
    run = sipfront.run("basic-call-a-b", overrides={"step.1.0.dial_destination": sbc.did})
    run.check()  # fails the test with Sipfront's reason and the report link, no traceback
    assert run.agentpool_name == "eu-central-1"


def test_both_directions_at_once(sipfront: Sipfront, sbc: Sbc) -> None:
    a = sipfront.start("basic-call-a-b", overrides={"step.1.0.dial_destination": sbc.did})
    b = sipfront.start(test_id=124)  # both run at Sipfront at the same time
    assert a.wait().passed and b.wait().passed
