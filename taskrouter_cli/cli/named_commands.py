"""``list``, ``show`` and ``delete`` of the named resources, from one table: each group adds
the commands its resource has (:func:`add_named_commands`), all going through
``operations.named``. Commands that differ (``worker list``'s filters, ``workflow show``'s
routing, ``workspace show``'s default) stay in their group's module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import confirm_destructive, yes_option
from taskrouter_cli.cli.resource_common import Column, note, show_list, show_one


@dataclass(frozen=True)
class NamedResource:
    group: str
    """The command group (``queue``)."""
    kind_name: str
    """The ``resolve`` kind (``TASK_QUEUE``)."""
    label: str
    plural: str
    example: str
    """A name for the help examples (shell-quoted)."""
    columns: Sequence[Column]
    fields: Sequence[Column]
    deletes_also: str = ""
    """What else a delete removes, said in the question."""
    note: str = ""
    """A line added to ``delete``'s help."""

    @property
    def kind(self) -> Any:
        from taskrouter_cli import resolve

        return getattr(resolve, self.kind_name)

    @property
    def in_workspace(self) -> bool:
        return self.kind_name != "WORKSPACE"

    def workspace_sid(self, app: AppContext) -> str | None:
        return app.workspace_sid if self.in_workspace else None


def _in_workspace(spec: NamedResource, function: Any) -> Any:
    return workspace_option(function) if spec.in_workspace else function


def add_named_commands(group: click.Group, spec: NamedResource, *names: str) -> None:
    """Add ``names`` (any of ``list``, ``show``, ``delete``) to ``group`` for ``spec``."""
    makers = {"list": _list_command, "show": _show_command, "delete": _delete_command}
    for name in names:
        group.add_command(makers[name](spec), name)


def _list_command(spec: NamedResource) -> click.Command:
    def command(app: AppContext, as_json: bool) -> None:
        from taskrouter_cli.operations.named import list_named

        items = list_named(app.client, spec.workspace_sid(app), spec.kind)
        show_list(items, as_json=as_json, columns=spec.columns, empty_message=f"No {spec.plural}.")

    where = "the workspace's" if spec.in_workspace else "the account's"
    command.__doc__ = f"""List {where} {spec.plural}.

    \b
    Example:
      trcli {spec.group} list --json
    """
    return click.command(name="list")(_in_workspace(spec, json_option(pass_app(command))))


def _show_command(spec: NamedResource) -> click.Command:
    def command(app: AppContext, name: str, as_json: bool) -> None:
        from taskrouter_cli.operations.named import find_named

        found = find_named(app.resolver, spec.workspace_sid(app), spec.kind, name)
        title = f"{spec.label} {found.friendly_name}"
        show_one(found, as_json=as_json, fields=spec.fields, title=title)

    command.__doc__ = f"""Show one {spec.label}.

    \b
    Example:
      trcli {spec.group} show {spec.example}
    """
    argument = click.argument("name", metavar=spec.group.upper())
    return click.command(name="show")(argument(_in_workspace(spec, json_option(pass_app(command)))))


def _delete_command(spec: NamedResource) -> click.Command:
    def command(app: AppContext, name: str, yes: bool) -> None:
        from taskrouter_cli.operations.named import delete_named, find_named

        workspace_sid = spec.workspace_sid(app)
        found = find_named(app.resolver, workspace_sid, spec.kind, name)
        what = f"{spec.label} {found.friendly_name} ({found.sid})"
        also = f" with {spec.deletes_also}" if spec.deletes_also else ""
        confirm_destructive(f"Delete {what}{also}", yes=yes)
        delete_named(app.client, workspace_sid, spec.kind, str(found.sid))
        note(f"Deleted {what}")

    article = "an" if spec.label[0] in "AEIOU" else "a"
    command.__doc__ = f"""Delete {article} {spec.label}{spec.note}. Asks first on a terminal;
    otherwise needs --yes.

    \b
    Example:
      trcli {spec.group} delete {spec.example} --yes
    """
    argument = click.argument("name", metavar=spec.group.upper())
    return click.command(name="delete")(
        argument(yes_option(_in_workspace(spec, pass_app(command))))
    )
