"""The command reference (docs/cli-reference.md), generated from every command's ``--help``.

    python -m scripts.cli_reference --write docs/cli-reference.md   # replace the marked section
    python -m scripts.cli_reference --check docs/cli-reference.md   # exit 1 when it is stale

The section lies between ``<!-- cli-reference:start -->`` and ``<!-- cli-reference:end -->``.
Help is rendered at a fixed width so the output does not depend on the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

from scripts.doc_sections import run

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


def main(argv: list[str] | None = None) -> int:
    return run(
        sys.argv[1:] if argv is None else argv,
        module="scripts.cli_reference",
        what="command reference",
        render=render,
        start_marker=START,
        end_marker=END,
    )


if __name__ == "__main__":
    sys.exit(main())
