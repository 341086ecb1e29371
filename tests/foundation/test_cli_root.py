"""The root command: help, version, exit codes, error lines, import discipline."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from taskrouter_cli import __version__
from taskrouter_cli.cli import cli
from taskrouter_cli.client import _rewrite_url
from taskrouter_cli.errors import UsageError
from taskrouter_cli.resolve import check_sid

HEAVY_MODULES = ("twilio", "rich", "aiohttp", "pyngrok", "requests")


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.strip() == f"trcli, version {__version__}"
    result = runner.invoke(cli, ["-h"])
    assert result.exit_code == 0
    assert "config" in result.output


def test_unknown_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--no-such-option"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, taskrouter_cli.cli; "
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    ("value", "label", "message"),
    [
        ("WK" + "0" * 32, "Task", "is a Worker SID, but a Task SID (WT...) is expected"),
        ("WT" + "0" * 32, "Reservation", "is a Task SID, but a Reservation SID (WR...) is"),
        ("ZZ" + "0" * 32, "Task", "is a SID with prefix ZZ"),
        ("WT123", "Task", "is not a Task SID"),
    ],
)
def test_sid_prefix_is_checked(value: str, label: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_sid(value, label)
    assert message in caught.value.one_line()


def test_check_sid_accepts_the_right_prefix() -> None:
    sid = "WT" + "ab" * 16
    assert check_sid(sid, "Task") == sid


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://taskrouter.twilio.com/v1/Workspaces",
            "http://127.0.0.1:4010",
            "http://127.0.0.1:4010/v1/Workspaces",
        ),
        (
            "https://taskrouter.dublin.ie1.twilio.com/v1/Workspaces?PageSize=5",
            "http://127.0.0.1:4010/prefix/",
            "http://127.0.0.1:4010/prefix/v1/Workspaces?PageSize=5",
        ),
        (
            "http://127.0.0.1:4010/v1/Workspaces",
            "http://x:1",
            "http://127.0.0.1:4010/v1/Workspaces",
        ),
    ],
)
def test_api_url_rewrite(url: str, base: str, expected: str) -> None:
    assert _rewrite_url(url, base) == expected


def test_every_listed_command_loads_under_its_name() -> None:
    import click

    from taskrouter_cli.cli import COMMANDS

    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command), name
        assert command.name == name
    assert cli.get_command(context, "no-such-command") is None


def test_root_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from taskrouter_cli.cli import cli\n"
        "CliRunner().invoke(cli, ['--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('taskrouter_cli.cli.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['taskrouter_cli.cli.context']"
