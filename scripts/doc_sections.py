"""Generated sections of a Markdown file: replace or check the text between two markers.

Each generator (``scripts/cli_reference.py``, ``scripts/sandbox_fidelity.py``) renders its
section and hands it to :func:`run`, which implements ``--write FILE`` and ``--check FILE``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def replace_section(document: str, section: str, start_marker: str, end_marker: str) -> str:
    """``document`` with the text between the two markers replaced by ``section``."""
    start = document.find(start_marker)
    end = document.find(end_marker)
    if start < 0 or end < 0 or end < start:
        raise ValueError(
            f"the markers {start_marker} and {end_marker} were not found (in that order)"
        )
    return document[: start + len(start_marker)] + "\n" + section.rstrip() + "\n" + document[end:]


def run(
    argv: list[str],
    *,
    module: str,
    what: str,
    render: Callable[[], str],
    start_marker: str,
    end_marker: str,
) -> int:
    """``--write FILE`` replaces the section, ``--check FILE`` exits 1 when it is stale."""
    if len(argv) != 2 or argv[0] not in ("--check", "--write"):
        print(f"usage: python -m {module} --check|--write FILE", file=sys.stderr)
        return 2
    mode, name = argv
    path = Path(name)
    try:
        document = path.read_text(encoding="utf-8")
        updated = replace_section(document, render(), start_marker, end_marker)
    except (OSError, ValueError) as exc:
        print(f"Error: {path}: {exc}", file=sys.stderr)
        return 2
    if mode == "--write":
        if updated != document:
            path.write_text(updated, encoding="utf-8")
        print(f"{path}: {what} {'updated' if updated != document else 'up to date'}")
        return 0
    if updated != document:
        print(
            f"{path}: the {what} is stale; run 'python -m {module} --write {path}'", file=sys.stderr
        )
        return 1
    print(f"{path}: {what} up to date")
    return 0
