"""Whether a YAML file pytest meets is a Sipfront manifest of this session, and its collector.

Loaded when the session meets its first YAML file (the entry point stays small: it is loaded
in every pytest session of the environment). The manifest reader, the gate and its hooks are
loaded only when a file is claimed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_sipfront.manifest.claim import looks_like_manifest, matches
from pytest_sipfront.session.keys import COLLECTED_KEY

if TYPE_CHECKING:
    from pytest_sipfront.session.items import ManifestFile


def manifest_file(file_path: Path, parent: pytest.Collector) -> ManifestFile | None:
    """The collector of ``file_path`` when it is a manifest this session collects, else None."""
    config = parent.config
    claimed = matches(file_path, config.getini("sipfront_files"))
    if not claimed:
        named = {
            (config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args
        }
        # Named on the command line under another name: ours only if it reads like a
        # manifest; any other YAML file (a tavern test, say) is left to the other plugins.
        claimed = file_path.resolve() in named and looks_like_manifest(file_path)
    if not claimed:
        return None
    # One entry is one run: a manifest reached by a second path (a symlink) is not collected
    # again, or its runs would be triggered (and paid) twice. The same path may be collected
    # more than once (pytest walks a folder once per argument naming a file in it); only
    # another path to the same file is left out.
    first_path = config.stash.setdefault(COLLECTED_KEY, {}).setdefault(
        file_path.resolve(), file_path
    )
    if first_path != file_path:
        return None
    from pytest_sipfront.session.hooks import open_session
    from pytest_sipfront.session.items import ManifestFile

    open_session(config)
    return ManifestFile.from_parent(parent, path=file_path)
