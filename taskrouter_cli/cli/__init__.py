"""The ``trcli`` root command: global options, error translation, command registration.

Only click is imported at start-up; every command imports twilio, rich, aiohttp or pyngrok
inside its own function, so ``trcli --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import click

from taskrouter_cli import __version__
from taskrouter_cli.cli.context import AppContext
from taskrouter_cli.config import home_not_writable, use_app_dir
from taskrouter_cli.errors import ExitCode, TrcliError

use_app_dir(lambda: click.get_app_dir("trcli"))


class UserFacingError(click.ClickException):
    """A TrcliError on its way out: one line on stderr and the error's exit code."""

    def __init__(self, error: TrcliError) -> None:
        super().__init__(error.one_line())
        self.exit_code = int(error.exit_code)  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file or sys.stderr)


def _debug_requested(ctx: click.Context) -> bool:
    app = ctx.find_object(AppContext)
    return bool(app and app.debug) or os.environ.get("TRCLI_DEBUG", "") not in ("", "0")


COMMANDS: dict[str, tuple[str, str]] = {
    "activity": ("activity", "Activities: the states a Worker can be in."),
    "callbacks": ("callbacks", "The callbacks 'trcli serve' received."),
    "completion": ("completion", "Print the shell completion script (bash, zsh, fish)."),
    "config": ("config_cmd", "Named profiles of credentials and defaults."),
    "doctor": ("doctor", "Check credentials, workspace, callback URL and workers."),
    "events": ("events", "Events: what happened in the workspace."),
    "explain": ("explain", "Why is a Task pending, reserved or assigned?"),
    "queue": ("queue", "TaskQueues: which Workers take which Tasks."),
    "reservation": ("reservation", "List Reservations; accept or reject them."),
    "sandbox": ("sandbox", "Run the offline TaskRouter (no account needed)."),
    "serve": ("serve", "Answer assignment callbacks (tunnel, signature checks)."),
    "setup": ("setup", "Create the quickstart's workspace (idempotent)."),
    "task": ("task", "Create Tasks and follow them through routing."),
    "tutorial": ("tutorial", "Walk the quickstart end to end, offline or live."),
    "worker": ("worker", "Workers: the people TaskRouter offers Tasks to."),
    "workflow": ("workflow", "Workflows: the routing rules and the callback URL."),
    "workspace": ("workspace", "Workspaces: the container of everything else."),
}
"""Command name → (module in taskrouter_cli.cli, one-line help for ``trcli --help``).

Command modules are imported only when their command runs (or its help is shown), so
``trcli --help`` costs little more than importing click."""


class TrcliGroup(click.Group):
    """The root group: commands load lazily, and every exception becomes one line and a
    documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        import importlib

        module = importlib.import_module(f"taskrouter_cli.cli.{COMMANDS[cmd_name][0]}")
        command = getattr(module, cmd_name)
        from taskrouter_cli.cli.completion import complete_names

        accept_global_options(command)
        complete_names(command)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx) if name in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except (KeyboardInterrupt, click.Abort):  # Abort: Ctrl-C or Ctrl-D at a prompt
            if _debug_requested(ctx):
                raise
            click.echo("\nInterrupted.", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Exception as exc:
            if _debug_requested(ctx):
                raise
            raise UserFacingError(_to_user_error(exc, ctx)) from None


def _global_options() -> list[click.Option]:
    """``--profile``, ``--account-sid``, ``--api-url`` and ``--debug`` as a subcommand accepts
    them (``trcli task list --profile live``); hidden from its help, which would repeat them."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        app = ctx.ensure_object(AppContext)
        name = (param.name or "").removeprefix("global_")
        if name == "debug":
            app.debug = app.debug or bool(value)
        elif name == "profile":
            app.use_profile(value)
        else:
            app.override(name, value)
        return value

    common: dict[str, Any] = {"expose_value": False, "hidden": True, "callback": remember}
    return [  # named global_* so they never clash with a subcommand's own parameter names
        click.Option(["--profile", "global_profile"], metavar="NAME", **common),
        click.Option(["--account-sid", "global_account_sid"], metavar="AC...", **common),
        click.Option(["--api-url", "global_api_url"], metavar="URL", **common),
        click.Option(["--debug", "global_debug"], is_flag=True, **common),
    ]


def accept_global_options(command: click.Command) -> None:
    """Let ``command`` and every command under it take the root's options too (unless it has
    an option of the same name with its own meaning, such as ``config set --profile``)."""
    taken = {name for param in command.params for name in param.opts}
    command.params.extend(option for option in _global_options() if not set(option.opts) & taken)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


def _to_user_error(exc: Exception, ctx: click.Context) -> TrcliError:
    from taskrouter_cli.client import translate_exception

    app = ctx.find_object(AppContext)
    settings = app._settings if app is not None else None
    translated = translate_exception(exc, settings)
    if translated is not None:
        return translated
    if isinstance(exc, OSError):
        unwritable = home_not_writable(exc, sandbox=ctx.invoked_subcommand == "sandbox")
        if unwritable is not None:
            return unwritable
    return TrcliError(
        f"Unexpected {exc.__class__.__name__}: {exc}",
        "This is a bug in trcli; run again with --debug for the traceback and report it",
    )


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=TrcliGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="trcli")
@click.option(
    "--profile",
    envvar="TRCLI_PROFILE",
    show_envvar=True,
    metavar="NAME",
    help="Config profile to use (see 'trcli config list').",
)
@click.option(
    "--account-sid",
    metavar="AC...",
    help="Twilio Account SID (overrides TWILIO_ACCOUNT_SID and the profile).",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="TaskRouter base URL, e.g. a sandbox at http://127.0.0.1:4010 (env TRCLI_API_URL).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    account_sid: str | None,
    api_url: str | None,
    debug: bool,
) -> None:
    """trcli: create Tasks, accept Reservations and serve assignment callbacks for Twilio
    TaskRouter, live or against an offline sandbox.

    \b
    Start here (no account needed):
      trcli tutorial            the quickstart, end to end, against a local sandbox
      trcli sandbox             run the offline TaskRouter on http://127.0.0.1:4010

    Credentials come from options, then TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (or
    TWILIO_API_KEY / TWILIO_API_SECRET), then the profile in $TRCLI_HOME/config.toml. The
    options below also work after the subcommand (trcli task list --profile live).

    \b
    Example:
      trcli --profile live task list --status pending
    """
    app = ctx.ensure_object(AppContext)
    app.use_profile(profile)
    app.debug = debug
    app.override("account_sid", account_sid)
    app.override("api_url", api_url)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="trcli")
