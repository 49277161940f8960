"""Sphinx configuration of the pytest-sipfront manual (MyST Markdown, Furo theme).

Build it as CI does: ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

import pytest_sipfront  # noqa: E402  (the checkout's package, for the version)

project = "pytest-sipfront"
author = "pytest-sipfront developers"
copyright = "pytest-sipfront developers"
release = pytest_sipfront.__version__
version = release

extensions = ["myst_parser", "sipfront_options"]
source_suffix = {".md": "markdown"}
root_doc = "index"
# Others park text for the manual in docs/_pending/ until it is folded into these pages.
exclude_patterns = ["_build", "_pending/**", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4

html_theme = "furo"
html_title = f"pytest-sipfront {release}"
html_static_path: list[str] = []
