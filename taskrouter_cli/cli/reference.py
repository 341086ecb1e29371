"""The README's command reference, generated from every command's ``--help``.

    python -m taskrouter_cli.cli.reference --write README.md   # replace the marked section
    python -m taskrouter_cli.cli.reference --check README.md   # exit 1 when it is stale

The section lies between ``<!-- cli-reference:start -->`` and ``<!-- cli-reference:end -->``.
Help is rendered at a fixed width so the output does not depend on the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
WIDTH = 100


def walk(
    command: click.Command, path: tuple[str, ...], parent: click.Context | None = None
) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command (groups first, then their subcommands in name order) with its context."""
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    context = click.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, command, context
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(context)):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name), context)


def render(root: click.Command | None = None) -> str:
    """The Markdown section: one heading and one help block per command."""
    if root is None:
        from taskrouter_cli.cli import cli

        root = cli
    parts: list[str] = []
    for path, command, context in walk(root, ("trcli",)):
        level = "#" * min(3 + len(path) - 1, 6)
        help_text = command.get_help(context).rstrip()
        parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{help_text}\n```\n")
    return "\n".join(parts)


def replace_section(
    document: str, section: str, start_marker: str = START, end_marker: str = END
) -> str:
    """``document`` with the text between the two markers replaced by ``section``."""
    start = document.find(start_marker)
    end = document.find(end_marker)
    if start < 0 or end < 0 or end < start:
        raise ValueError(
            f"the markers {start_marker} and {end_marker} were not found (in that order)"
        )
    return document[: start + len(start_marker)] + "\n" + section.rstrip() + "\n" + document[end:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("--check", "--write"):
        print("usage: python -m taskrouter_cli.cli.reference --check|--write README.md")
        return 2
    mode, name = args
    path = Path(name)
    try:
        document = path.read_text(encoding="utf-8")
        updated = replace_section(document, render())
    except (OSError, ValueError) as exc:
        print(f"Error: {path}: {exc}", file=sys.stderr)
        return 2
    if mode == "--write":
        if updated != document:
            path.write_text(updated, encoding="utf-8")
        print(f"{path}: command reference {'updated' if updated != document else 'up to date'}")
        return 0
    if updated != document:
        print(
            f"{path}: the command reference is stale; run "
            f"'python -m taskrouter_cli.cli.reference --write {path}'",
            file=sys.stderr,
        )
        return 1
    print(f"{path}: command reference up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
