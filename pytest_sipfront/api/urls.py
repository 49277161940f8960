"""Where API requests go: the API base URL's check, origins, status-URL resolution, and the one
place for the endpoint paths under the base URL.

No ``requests`` here: the pytest-facing modules use these without loading the HTTP client.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, quote, urlencode, urljoin, urlsplit, urlunsplit

from pytest_sipfront.sanitize import clean_line

TRIGGER_PATHS = {"test": "/tests/run", "project": "/projects/run"}
"""The trigger endpoint of each run kind, under the API base URL."""
LIST_PATHS = {"tests": "/tests", "projects": "/projects"}
"""The listing endpoints, under the API base URL."""


LAST_PATHS = {"test": "/tests/{id}/status/last", "project": "/projects/{id}/status/last"}
"""The latest run of a test or project (its history), under the API base URL."""


STATS_PATH = "/runs/{sid}/stats"
"""The metrics dimensions of a run; ``/<measure>`` after it, one measure's series."""


def stats_url(
    base_url: str, session_id: str, measure: str | None = None, role: str = "", direction: str = ""
) -> str:
    """``/runs/:sid/stats``, or ``/runs/:sid/stats/:measure?role=...&dir=...``."""
    url = base_url + STATS_PATH.format(sid=quote(session_id, safe=""))
    if measure is None:
        return url
    url += "/" + quote(measure, safe="")
    query = [(k, v) for k, v in (("role", role), ("dir", direction)) if v]
    return url + ("?" + urlencode(query) if query else "")


def last_url(base_url: str, kind: str, entity_id: str) -> str:
    """The URL of the latest run of the test or project ``entity_id``."""
    return base_url + LAST_PATHS[kind].format(id=quote(entity_id, safe=""))


def trigger_url(base_url: str, kind: str) -> str:
    """The URL a run of ``kind`` (``test`` or ``project``) is triggered at."""
    return base_url + TRIGGER_PATHS[kind]


def list_url(base_url: str, key: str) -> str:
    """The URL that lists ``key`` (``tests`` or ``projects``)."""
    return base_url + LIST_PATHS[key]


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def check_base_url(url: str) -> str:
    """Return the API base URL normalised (no trailing slash), or raise ``ValueError``.

    https is required, except for loopback hosts (127.0.0.0/8, ::1, localhost). A user name or
    password in the URL is refused (credentials come from the environment only); the message
    never repeats it.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("The Sipfront API URL is empty")
    text = url.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ValueError("The Sipfront API URL must not contain spaces or control characters")
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise ValueError(
            "The Sipfront API URL must not contain a user name or password: "
            "credentials come from SIPFRONT_PUBLIC_KEY and SIPFRONT_SECRET_KEY only"
        )
    shown = clean_line(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), 200)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"The Sipfront API URL must start with https:// (got {shown!r}), "
            "e.g. https://app.sipfront.com/api/v2"
        )
    if not parts.hostname:
        raise ValueError(f"The Sipfront API URL {shown!r} has no host name")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number 0..65535)
    except ValueError:
        raise ValueError(f"The Sipfront API URL {shown!r} has an invalid port") from None
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(
            f"The Sipfront API URL {shown!r} must not have a query or fragment "
            "(give the API base, e.g. https://app.sipfront.com/api/v2)"
        )
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"The Sipfront API URL {shown!r} must use https:// "
            "(plain http is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc.lower(), path, "", ""))


def resolve_status_url(base_url: str, status_url: str) -> str:
    """The URL to poll for a run, so that credentials go to the API's origin only.

    Same scheme, host and port as ``base_url``: used as given. Anything else (another host or
    port, ``http://`` on the base's own host while the base is https, a relative URL, a URL
    with a user name): its path and query are requested on the base's origin. Raises
    ``ValueError`` for something that is not a URL at all.
    """
    if not isinstance(status_url, str) or not status_url.strip():
        raise ValueError("the status URL is empty")
    text = status_url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("the status URL contains control characters")
    base = urlsplit(base_url)
    target = urlsplit(text)
    if not target.scheme and not target.netloc:
        # Relative: resolve against the base (a path of its own, or relative to /api/v2/).
        target = urlsplit(urljoin(base_url.rstrip("/") + "/", text))
    same = (
        target.scheme.lower() in ("http", "https")
        and "@" not in target.netloc
        and _origin(target) == _origin(base)
    )
    if same:
        return urlunsplit(target._replace(fragment=""))
    path = target.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return urlunsplit((base.scheme, base.netloc, path, target.query, ""))


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url`` and no user name."""
    parts = urlsplit(url)
    return "@" not in parts.netloc and _origin(parts) == _origin(urlsplit(base_url))
