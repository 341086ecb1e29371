"""The root's options (--profile, --account-sid, --api-url, --debug) work after the
subcommand too, in every command, and the subcommand's own options of the same name win."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from scripts.cli_reference import walk
from taskrouter_cli.cli import cli
from tests.helpers.cli import invoke

GLOBAL = ("--profile", "--account-sid", "--api-url", "--debug")


def test_every_command_accepts_the_global_options() -> None:
    missing = []
    for path, command, _ in walk(cli, ("trcli",)):
        if len(path) == 1:
            continue
        names = {name for param in command.params for name in param.opts}
        missing += [f"{' '.join(path)} {option}" for option in GLOBAL if option not in names]
    assert missing == []


def test_api_url_after_the_subcommand(sandbox: Any) -> None:
    env = {k: v for k, v in sandbox.env.items() if k != "TRCLI_API_URL"}
    outcome = invoke(["worker", "list", "--api-url", sandbox.base_url, "--json"], env).ok()
    assert {w["friendly_name"] for w in outcome.json()} == {"Alice", "Bob"}


def test_profile_after_a_nested_subcommand(sandbox: Any) -> None:
    invoke(["config", "set", "workflow", "Elsewhere"], {}).ok()  # the active profile: default
    for key in ("account_sid", "api_url", "workspace"):
        value = {"account_sid": sandbox.account_sid, "api_url": sandbox.base_url}.get(key)
        value = value or sandbox.workspace_sid
        invoke(["config", "set", key, value, "--profile", "sandboxed"], {}).ok()
    invoke(
        ["config", "set", "auth_token", "--profile", "sandboxed"],
        {},
        stdin=(f"{sandbox.auth_token}\n{sandbox.auth_token}\n"),
    ).ok()
    assert invoke(["task", "list", "--json"], {}).exit_code == 3  # the default profile is empty
    outcome = invoke(["task", "list", "--profile", "sandboxed", "--json"], {}).ok()
    assert outcome.json() == []


def test_debug_after_the_subcommand_shows_the_traceback(sandbox: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**sandbox.env, "TRCLI_API_URL": f"http://127.0.0.1:{port}"}
    assert invoke(["worker", "list"], env).exit_code == 5
    with pytest.raises(Exception, match="Connection refused|Max retries"):
        invoke(["worker", "list", "--debug"], env)


def test_a_subcommands_own_option_of_the_same_name_keeps_its_meaning() -> None:
    invoke(["config", "set", "workspace", "Elsewhere", "--profile", "other"], {}).ok()
    shown = invoke(["config", "show", "--profile", "other", "--json"], {}).ok().json()
    assert "Elsewhere" in str(shown)
