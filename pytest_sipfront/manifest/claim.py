"""Which YAML files are Sipfront manifests: a file whose name matches ``sipfront_files``, or
one named on the command line whose top level looks like a manifest. Every other YAML file is
left to the other plugins of the session (tavern, for one).

Light on purpose: the pytest entry point imports it; PyYAML is imported only when a YAML file
named on the command line has to be looked at.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

DEFAULT_PATTERNS: tuple[str, ...] = (
    "sipfront.yml",
    "sipfront.yaml",
    "*.sipfront.yml",
    "*.sipfront.yaml",
)
TOP_LEVEL_KEYS = frozenset({"version", "defaults", "tests"})
"""The keys a manifest's top level may hold."""


def matches(path: Path, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def looks_like_manifest(path: Path) -> bool:
    """A ``tests`` list at the top level and no key a manifest does not know.

    Only the node tree is built (no values constructed, tags ignored); a file that cannot be
    read or parsed, or holds more than one document, is not a manifest's."""
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open("rb") as handle:
            root = yaml.compose(handle, Loader=loader)
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(root, MappingNode):
        return False
    keys: dict[str, object] = {}
    for key, value in root.value:
        if not isinstance(key, ScalarNode):
            return False
        keys[str(key.value)] = value
    return (
        "tests" in keys and set(keys) <= TOP_LEVEL_KEYS and isinstance(keys["tests"], SequenceNode)
    )
