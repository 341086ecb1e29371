"""``trcli completion bash|zsh|fish`` and the completion of resource names.

Click completes commands and options itself (``_TRCLI_COMPLETE``); :func:`complete_names`
gives the parameters that take a Worker, Activity, TaskQueue, Workflow or Workspace the
friendly names of the configured TaskRouter (``operations.names``: cached, bounded in time).
"""

from __future__ import annotations

from typing import Any

import click

from taskrouter_cli.cli.context import AppContext

SHELLS = ("bash", "zsh", "fish")
RESOURCE_GROUPS = ("worker", "activity", "queue", "workflow", "workspace")
OPTION_KINDS = {
    "worker": "worker",
    "activity": "activity",
    "reservation_activity": "activity",
    "assignment_activity": "activity",
    "post_work_activity": "activity",
    "queue": "queue",
    "workflow": "workflow",
    "point": "workflow",
    "workspace": "workspace",
}
"""Option parameter name → the kind of resource it names."""


def name_kind(group: str | None, command: str, param: click.Parameter) -> str | None:
    """Which resource's names complete ``param`` of ``trcli [group] command``, if any."""
    if isinstance(param, click.Option):
        return OPTION_KINDS.get(param.name or "")
    if param.name == "activity":
        return "activity"
    if param.name == "name" and group in RESOURCE_GROUPS and command != "create":
        return group
    return None


def complete_names(command: click.Command, group: str | None = None) -> None:
    """Give every name-taking parameter of ``command`` (and of the commands under it) the
    completion of resource names."""
    for param in command.params:
        kind = name_kind(group, command.name or "", param)
        if kind is not None:
            setattr(param, "shell_complete", _completer(kind))  # noqa: B010 (instance override)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            complete_names(sub, command.name)


def _completer(kind: str) -> Any:
    def complete(ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from taskrouter_cli.errors import TrcliError

        try:
            names = _names(ctx, kind)
        except (TrcliError, OSError, ValueError):  # a broken config: no names, no traceback
            return []
        wanted = incomplete.lower()
        return [CompletionItem(name) for name in names if name.lower().startswith(wanted)]

    return complete


def _names(ctx: click.Context, kind: str) -> list[str]:
    from taskrouter_cli.config import load_settings, trcli_home
    from taskrouter_cli.operations.names import CACHE_FILE_NAME, NameSource

    app = ctx.find_object(AppContext) or AppContext()
    root = ctx.find_root().params
    overrides = {key: root.get(key) for key in ("account_sid", "api_url") if root.get(key)}
    overrides.update({key: value for key, value in app.overrides.items() if value})
    settings = load_settings(overrides, profile=app.profile or root.get("profile"))
    return NameSource(settings, trcli_home() / CACHE_FILE_NAME).names(kind)


@click.command(name="completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL: commands, options, and the names of
    workers, activities, queues and workflows of the configured TaskRouter (cached for a
    minute; a Tab never waits more than a quarter of a second for them).

    \b
    Examples:
      eval "$(trcli completion bash)"      # in ~/.bashrc
      eval "$(trcli completion zsh)"       # in ~/.zshrc
      trcli completion fish > ~/.config/fish/completions/trcli.fish
    """
    from click.shell_completion import get_completion_class

    from taskrouter_cli.cli import cli

    shell_class = get_completion_class(shell)
    assert shell_class is not None  # every name in SHELLS is one of click's
    click.echo(shell_class(cli, {}, "trcli", "_TRCLI_COMPLETE").source())
