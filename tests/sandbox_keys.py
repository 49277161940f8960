"""The credentials the tests' sandboxes accept: distinctive strings, so that a test can look
for them in output that must not contain them."""

from __future__ import annotations

from pytest_sipfront.sandbox import SandboxServer

PUBLIC_KEY = "pk-7Q2xSENTINELpub9"
SECRET_KEY = "sk-4mZ8SENTINELsec3"


def keys_of(server: SandboxServer | None) -> tuple[str, str]:
    """The credentials a sandbox from conftest's ``sipfront_sandbox`` accepts."""
    if server is None:
        return PUBLIC_KEY, SECRET_KEY
    return (
        getattr(server, "test_public_key", SandboxServer.PUBLIC_KEY),
        getattr(server, "test_secret_key", SandboxServer.SECRET_KEY),
    )
