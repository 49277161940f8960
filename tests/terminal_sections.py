"""Reading pytest's terminal output in tests."""

from __future__ import annotations


def runs_section(output: str) -> str:
    """The lines of the "sipfront runs" summary section, up to the next ``===`` separator.

    pytest's short test summary follows it; with ``CI`` set it prints each failure's whole
    message, report links included, so it must not count as part of the section."""
    after = output.split("sipfront runs", 1)[1]
    lines = after.splitlines()[1:]
    section = []
    for line in lines:
        if line.startswith("="):
            break
        section.append(line)
    return "\n".join(section) + "\n"
