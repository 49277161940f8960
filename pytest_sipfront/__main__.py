"""``python -m pytest_sipfront``: the same as the ``sipfront`` command."""

from pytest_sipfront.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
