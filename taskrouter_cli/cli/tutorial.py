"""``trcli tutorial``: the quickstart end to end, against a local sandbox or your account."""

from __future__ import annotations

import io
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from typing import Any

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app
from taskrouter_cli.cli.conventions import exit_check_failed
from taskrouter_cli.errors import ExitCode


@click.command(name="tutorial")
@click.option(
    "--sandbox",
    "mode",
    flag_value="sandbox",
    help="Run against a fresh in-process sandbox (the default).",
)
@click.option(
    "--live",
    "mode",
    flag_value="live",
    help="Run against the configured account (or TaskRouter at --api-url) instead.",
)
@click.option("--stage", type=click.IntRange(1, 7), metavar="N", help="Run only stage N (1-7).")
@click.option("--yes", "-y", is_flag=True, help="Do not pause between stages (--live).")
@click.option(
    "--public-url",
    metavar="URL",
    help="--live: a public base URL that already reaches this machine (instead of ngrok).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Callback server port (0: any)."
)
@json_option
@pass_app
def tutorial(
    app: AppContext,
    mode: str | None,
    stage: int | None,
    yes: bool,
    public_url: str | None,
    port: int,
    as_json: bool,
) -> None:
    """Walk TaskRouter's quickstart: serve the assignment callback, expose it, point the
    Workflow at it, create a Task while Alice is Offline, make her available, accept over the
    REST API, then accept through the callback instruction.

    Each stage explains itself, shows the exact trcli command (replay it by hand), its result
    and the task's timeline, and the run ends with a summary. It runs offline, against an
    in-process sandbox on 127.0.0.1, in a few seconds, whatever credentials are configured;
    --live uses your account (and an ngrok tunnel), pauses between stages unless --yes, and
    removes what it created. Exits 6 when a stage fails.

    \b
    Examples:
      trcli tutorial                 the whole quickstart, offline
      trcli tutorial --stage 5       just 'make Alice available'
      trcli tutorial --live          on your account (needs NGROK_AUTHTOKEN)
    """
    from taskrouter_cli import output
    from taskrouter_cli.quickstart.tutorial import STAGES, Tutorial

    mode = mode or "sandbox"
    printer: Any = JsonPrinter() if as_json else RichPrinter()
    started = time.monotonic()
    with _target(app, mode, public_url, port) as (env, describe):
        if not as_json:
            output.info(describe)
        run = Tutorial(env, printer)
        ask = mode == "live" and not yes and sys.stdin.isatty()
        try:
            outcomes = run.run(only=stage, pause=_confirm_next if ask else None)
        finally:
            notes = run.cleanup(live=mode == "live")
    elapsed = time.monotonic() - started
    failed = [o for o in outcomes if o.status == "failed"]
    if as_json:
        output.print_json(
            {
                "mode": mode,
                "seconds": round(elapsed, 3),
                "ok": not failed,
                "stages": [o.to_dict() for o in outcomes],
                "cleanup": notes,
                "events": printer.events,
            }
        )
    else:
        _summary(outcomes, elapsed, notes, len(STAGES))
    if failed:
        exit_check_failed()


def _confirm_next(info: Any) -> None:
    click.confirm(f"Next: stage {info.number}, {info.title}. Go on?", abort=True, err=True)


class _Target:
    """Context manager: the sandbox (started here) or the configured account."""

    def __init__(self, app: AppContext, mode: str, public_url: str | None, port: int) -> None:
        self.app = app
        self.mode = mode
        self.public_url = public_url
        self.port = port
        self.sandbox: Any = None

    def __enter__(self) -> tuple[Any, str]:
        from taskrouter_cli.quickstart.tutorial import TutorialEnv

        if self.mode == "sandbox":
            settings, describe = self._start_sandbox()
        else:
            settings = self.app.settings
            settings.require_credentials()
            tunnel_needed = self.public_url is None and not settings.uses_api_url_override
            if tunnel_needed and not settings.ngrok_authtoken:
                from taskrouter_cli.callbacks.tunnel import TOKEN_HINT, TunnelCredentialsError

                raise TunnelCredentialsError(
                    "No ngrok auth token: the live tutorial needs a tunnel so Twilio can "
                    "reach the callback server",
                    TOKEN_HINT,
                )
            where = settings.api_url if settings.uses_api_url_override else "live Twilio"
            describe = f"Running the quickstart against {where} (account {settings.account_sid})"
        from taskrouter_cli.client import make_client

        client = make_client(settings)
        token = settings.auth_token
        needs_tunnel = not settings.uses_api_url_override

        def make_server() -> Any:
            from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
            from taskrouter_cli.quickstart.tutorial import memory_recorder

            config = ServerConfig(auth_token=token, validate=bool(token), port=self.port)
            return CallbackServer(config, recorder=memory_recorder())

        def open_tunnel(port: int) -> Any:
            from taskrouter_cli.callbacks.tunnel import open_tunnel as connect

            return connect(port, auth_token=settings.ngrok_authtoken)

        env = TutorialEnv(
            client=client,
            run=_command_runner(settings, client),
            make_server=make_server,
            needs_tunnel=needs_tunnel,
            open_tunnel=open_tunnel,
            public_url=self.public_url,
        )
        return env, describe

    def _start_sandbox(self) -> tuple[Any, str]:
        from taskrouter_cli.config import Settings
        from taskrouter_cli.quickstart_spec import QUICKSTART
        from taskrouter_cli.sandbox.clock import SystemClock
        from taskrouter_cli.sandbox.server import SandboxServer
        from taskrouter_cli.sandbox.service import SandboxService
        from taskrouter_cli.sandbox.store import SqliteStore

        service = SandboxService(SqliteStore(":memory:"), SystemClock())
        service.seed_quickstart()
        self.sandbox = SandboxServer(service).start()
        base = self.sandbox.base_url
        settings = Settings(
            account_sid=service.account_sid,
            auth_token=service.auth_token,
            api_url=base,
            workspace=QUICKSTART.name,
            sources={"account_sid": "sandbox"},
        )
        describe = (
            f"Running the quickstart against a fresh sandbox at {base} (no account needed).\n"
            "To replay the commands by hand: run 'trcli sandbox' in another terminal, then "
            "'eval \"$(trcli sandbox env)\"'."
        )
        return settings, describe

    def __exit__(self, *exc: object) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def _target(app: AppContext, mode: str, public_url: str | None, port: int) -> _Target:
    return _Target(app, mode, public_url, port)


def _command_runner(settings: Any, client: Any) -> Any:
    """Runs one trcli command in-process with these settings; captures what it prints."""
    from taskrouter_cli.quickstart.tutorial import CommandOutcome

    def run(args: list[str]) -> CommandOutcome:
        from taskrouter_cli.cli import cli

        app = AppContext()
        app._settings = settings
        app._client = client
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = cli.main(args=args, prog_name="trcli", standalone_mode=False, obj=app)
        except click.ClickException as exc:
            return CommandOutcome(exc.exit_code, out.getvalue(), exc.format_message())
        except click.exceptions.Exit as exc:
            return CommandOutcome(exc.exit_code, out.getvalue(), err.getvalue())
        except click.Abort:
            return CommandOutcome(int(ExitCode.INTERRUPTED), out.getvalue(), "aborted")
        return CommandOutcome(int(code or 0), out.getvalue(), err.getvalue())

    return run


class RichPrinter:
    def __init__(self) -> None:
        from taskrouter_cli import output

        self.console = output.console()

    def stage(self, info: Any, total: int) -> None:
        from rich.markup import escape

        self.console.print()
        self.console.print(f"[bold cyan]Stage {info.number}/{total} · {escape(info.title)}[/]")
        self.console.print(f"  {escape(info.explanation)}", soft_wrap=True)

    def command(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"  [bold]$[/bold] {escape(text)}", soft_wrap=True)

    def result(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"  [green]→[/green] {escape(text)}", soft_wrap=True)

    def timeline(self, task_sid: str, entries: list[tuple[str, datetime | None]]) -> None:
        from taskrouter_cli.quickstart.tutorial import _short_time

        start = next((moment for _, moment in entries if moment is not None), None)
        parts = []
        for label, moment in entries:
            if moment is None:
                parts.append(f"{label} -")
            elif start is None or moment == start:
                parts.append(f"{label} {_short_time(moment)}")
            else:
                parts.append(f"{label} +{(moment - start).total_seconds():.3f}s")
        self.console.print(f"  timeline {task_sid}: " + " → ".join(parts), soft_wrap=True)

    def note(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(escape(text), soft_wrap=True)


class JsonPrinter:
    """Collects what the stages show, for ``--json``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def stage(self, info: Any, total: int) -> None:
        self.events.append({"stage": info.number, "title": info.title})

    def command(self, text: str) -> None:
        self.events.append({"command": text})

    def result(self, text: str) -> None:
        self.events.append({"result": text})

    def timeline(self, task_sid: str, entries: list[tuple[str, datetime | None]]) -> None:
        self.events.append(
            {
                "timeline": task_sid,
                "entries": [
                    {"step": label, "time": moment.isoformat() if moment else None}
                    for label, moment in entries
                ],
            }
        )

    def note(self, text: str) -> None:
        self.events.append({"note": text})


def _summary(outcomes: list[Any], elapsed: float, notes: list[str], total: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from taskrouter_cli import output

    console = output.console()
    console.print()
    table = Table(title="Summary", title_justify="left")
    for header in ("Stage", "Outcome", "Result"):
        table.add_column(header, overflow="fold")
    style = {"ok": "green", "skipped": "dim", "failed": "red", "not run": "dim"}
    for outcome in outcomes:
        colour = style.get(outcome.status, "")
        table.add_row(
            f"{outcome.number}. {escape(outcome.title)}",
            f"[{colour}]{outcome.status}[/{colour}]",
            escape(outcome.summary),
        )
    console.print(table)
    err = output.err_console()
    for note in notes:
        err.print(f"cleanup: {escape(note)}", soft_wrap=True)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        first = failed[0]
        err.print(
            f"[red]✗[/red] Stage {first.number} failed: {escape(first.summary)}", soft_wrap=True
        )
        if first.fix:
            err.print(f"  Fix: {escape(first.fix)}", soft_wrap=True)
    else:
        done = sum(1 for o in outcomes if o.status in ("ok", "skipped"))
        output.success(f"{done} of {len(outcomes)} stage(s) done in {elapsed:.1f} s")
