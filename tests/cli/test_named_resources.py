"""list, show and delete of the named resources come from one table (cli/named_commands.py)
and go through operations/named.py; the same behaviour for each resource."""

from __future__ import annotations

import pytest
from click import Context, Group

from taskrouter_cli.cli import cli
from tests.helpers.cli import Trcli

TABLE_COMMANDS = {
    "activity": ("list", "delete"),
    "queue": ("list", "show", "delete"),
    "worker": ("show", "delete"),
    "workflow": ("list", "delete"),
    "workspace": ("list", "delete"),
}


@pytest.mark.parametrize("group_name", sorted(TABLE_COMMANDS))
def test_the_commands_come_from_the_resource_table(group_name: str) -> None:
    context = Context(cli, info_name="trcli")
    group = cli.get_command(context, group_name)
    assert isinstance(group, Group)
    for name in TABLE_COMMANDS[group_name]:
        command = group.commands[name]
        assert command.callback is not None
        assert command.callback.__module__ == "taskrouter_cli.cli.named_commands", name


@pytest.mark.parametrize(
    ("group", "name", "label", "create"),
    [
        ("queue", "French", "TaskQueue", ["--target-workers", 'languages HAS "fr"']),
        ("worker", "Carol", "Worker", []),
        ("workflow", "Incoming Customer Care Requests", "Workflow", None),
        ("activity", "On Break", "Activity", []),
    ],
)
def test_delete_is_the_same_for_every_resource(
    group: str, name: str, label: str, create: list[str] | None, trcli: Trcli
) -> None:
    if create is not None:
        trcli(group, "create", name, *create).ok()
    listed = {row["friendly_name"] for row in trcli(group, "list", "--json").ok().json()}
    assert name in listed
    outcome = trcli(group, "delete", name, "--yes").ok()
    assert outcome.stderr.startswith(f"Deleted {label} {name} (")
    listed = {row["friendly_name"] for row in trcli(group, "list", "--json").ok().json()}
    assert name not in listed
    unknown = trcli(group, "delete", "No Such Thing", "--yes")
    assert unknown.exit_code == 2 and "No Such Thing" in unknown.stderr
