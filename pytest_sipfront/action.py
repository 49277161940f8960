"""``python -m pytest_sipfront.action``: the gate as one CI step.

The step itself lives in :mod:`pytest_sipfront.ci.action`; this name is the one CI files call.
"""

import sys

from pytest_sipfront.ci.action import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
