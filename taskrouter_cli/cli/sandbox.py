"""``trcli sandbox``: run the offline TaskRouter, print its env lines, reset it, show callbacks.

``trcli sandbox`` (no subcommand) serves in the foreground until Ctrl-C or SIGTERM. The database
defaults to ``$TRCLI_HOME/sandbox.db``; credentials are generated once per database and kept in
it, so ``trcli sandbox env`` prints the same lines every time. The auth token is printed only in
those environment lines (the start banner and ``sandbox env``), never elsewhere.

Exit codes: 0 after a clean stop; 2 when the port is in use or an option is wrong; 5 when
``sandbox callbacks``/``sandbox reset --url`` cannot reach a running sandbox.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from taskrouter_cli.cli.conventions import confirm_destructive, exit_interrupted, yes_option
from taskrouter_cli.errors import ApiError, NetworkError, TrcliError, UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4010
DB_FILE_NAME = "sandbox.db"


def default_db_path() -> Path:
    from taskrouter_cli.config import trcli_home

    return trcli_home() / DB_FILE_NAME


def env_lines(account_sid: str, auth_token: str, base_url: str) -> list[str]:
    return [
        f"export TWILIO_ACCOUNT_SID={account_sid}",
        f"export TWILIO_AUTH_TOKEN={auth_token}",
        f"export TRCLI_API_URL={base_url}",
    ]


def api_key_env_lines(service: Any, base_url: str) -> list[str]:
    """The same, with API-key auth (TWILIO_API_KEY / TWILIO_API_SECRET) instead of the token."""
    return [
        f"export TWILIO_ACCOUNT_SID={service.account_sid}",
        f"export TWILIO_API_KEY={service.api_key_sid}",
        f"export TWILIO_API_SECRET={service.api_key_secret}",
        f"export TRCLI_API_URL={base_url}",
    ]


def _db_target(db: Path | None, in_memory: bool) -> str:
    if db is not None and in_memory:
        raise UsageError("--db and --in-memory cannot be used together", "Pick one")
    if in_memory:
        return ":memory:"
    path = db if db is not None else default_db_path()
    path = path.expanduser()
    if path.is_dir():
        raise UsageError(f"--db {path} is a directory", "Give a file path, e.g. sandbox.db")
    from taskrouter_cli.guards.private_files import make_private_dir

    make_private_dir(path.parent)
    return str(path)


def _open_service(
    target: str,
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    clock: Any = None,
    no_match: str = "cancel",
    callback_timeout: float = 5.0,
    keep_finished: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    from taskrouter_cli.sandbox.clock import SystemClock
    from taskrouter_cli.sandbox.options import SandboxOptions
    from taskrouter_cli.sandbox.service import SandboxService
    from taskrouter_cli.sandbox.store import SqliteStore

    if account_sid is not None and not (account_sid.startswith("AC") and len(account_sid) == 34):
        raise UsageError(
            f"--account-sid {account_sid!r} is not an Account SID",
            "Use AC followed by 32 hex digits",
        )
    try:
        store = SqliteStore(target)
    except Exception as exc:  # sqlite3.DatabaseError and OSError alike
        raise UsageError(
            f"Cannot open the sandbox database {target}: {exc}",
            "Use --in-memory, or --db PATH in a folder you can write to",
        ) from exc
    # Given credentials are the database's from now on, so 'trcli sandbox env' prints what
    # this sandbox accepts.
    if account_sid is not None:
        store.set_meta("account_sid", account_sid)
    if auth_token is not None:
        store.set_meta("auth_token", auth_token)
    options = SandboxOptions(
        account_sid=account_sid,
        auth_token=auth_token,
        no_match_outcome="pending" if no_match == "pending" else "cancel",
        keep_finished=keep_finished,
        assignment_callback_timeout=callback_timeout,
        on_event=on_event,
    )
    return SandboxService(store, clock or SystemClock(), options=options)


def _lock_database(target: str) -> Any:
    """The database's exclusive lock, taken (None for --in-memory); one line if in use."""
    if target == ":memory:":
        return None
    from taskrouter_cli.sandbox.db_lock import DatabaseInUse, DatabaseLock

    lock = DatabaseLock(target)
    try:
        lock.acquire()
    except DatabaseInUse as exc:
        url = exc.owner.url or "its URL"
        raise UsageError(
            str(exc),
            f'Use that sandbox (eval "$(trcli sandbox env)"; trcli sandbox reset --url {url}), '
            "stop it, or start another with --db OTHER.db or --in-memory",
        ) from None
    except OSError as exc:
        raise UsageError(f"Cannot lock the sandbox database {target}: {exc}") from None
    return lock


def _close(service: Any) -> None:
    from taskrouter_cli.sandbox.server import close_service

    close_service(service)


@click.group(name="sandbox", invoke_without_command=True)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0 lets the system choose; see --port-file).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file [default: $TRCLI_HOME/sandbox.db].",
)
@click.option("--in-memory", is_flag=True, help="Keep everything in memory (lost on exit).")
@click.option("--account-sid", metavar="AC...", help="Use this Account SID for the database.")
@click.option(
    "--auth-token",
    metavar="TOKEN",
    envvar="TRCLI_SANDBOX_AUTH_TOKEN",
    help="Use this auth token for the database from now on (better: set "
    "TRCLI_SANDBOX_AUTH_TOKEN, which 'ps' does not show).",
)
@click.option("--no-seed", is_flag=True, help="Do not create the quickstart workspace.")
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the port actually bound to this file once listening (useful with --port 0).",
)
@click.option(
    "--time-travel",
    is_flag=True,
    help="Allow 'trcli sandbox advance SECONDS' to move the clock forward (reach a timeout "
    "without waiting).",
)
@click.option(
    "--no-match",
    type=click.Choice(["cancel", "pending"]),
    default="cancel",
    show_default=True,
    help="A Task that matches no filter and has no default_filter: cancel it, or keep it "
    "pending outside any queue (TaskRouter's behaviour is undocumented).",
)
@click.option(
    "--callback-timeout",
    type=click.FloatRange(0.1, 60),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How long an assignment callback may take before the fallback URL is tried "
    "(TaskRouter: 5).",
)
@click.option(
    "--keep-finished",
    is_flag=True,
    help="Keep completed and canceled Tasks (TaskRouter deletes them about 5 minutes after "
    "they finish, and so does the sandbox by default; their Events stay).",
)
@click.option(
    "--quiet/--verbose",
    "-q/-v",
    default=None,
    help="Print no line per request and per routing decision / print them even when stderr "
    "is not a terminal. Default: print them on a terminal.",
)
@click.pass_context
def sandbox(
    ctx: click.Context,
    host: str,
    port: int,
    db: Path | None,
    in_memory: bool,
    account_sid: str | None,
    auth_token: str | None,
    no_seed: bool,
    port_file: Path | None,
    time_travel: bool,
    no_match: str,
    callback_timeout: float,
    keep_finished: bool,
    quiet: bool | None,
) -> None:
    """Run an offline TaskRouter that the twilio SDK (and trcli) can talk to.

    \b
    Serves TaskRouter v1 on http://HOST:PORT until Ctrl-C or SIGTERM; state is kept in the
    database file, so a restart continues where it stopped. On start it prints the lines that
    point trcli and the twilio SDK at it; then one line per request and per routing decision
    on a terminal (-q: none).

    \b
    Examples:
      trcli sandbox                          # seeded quickstart on http://127.0.0.1:4010
      trcli sandbox --in-memory --port 0     # throw-away state on a free port
      eval "$(trcli sandbox env)"            # in another terminal: point trcli at it
      trcli sandbox --time-travel            # then: trcli sandbox advance 1200
    """
    if ctx.invoked_subcommand is not None:
        return
    if quiet is None:
        quiet = not sys.stderr.isatty()
    if auth_token is not None and (
        ctx.get_parameter_source("auth_token") is click.core.ParameterSource.COMMANDLINE
    ):
        _banner(
            "[yellow]Note: --auth-token is visible to other users in 'ps'; "
            "set TRCLI_SANDBOX_AUTH_TOKEN instead.[/yellow]"
        )
    clock = None
    if time_travel:
        from taskrouter_cli.sandbox.clock import SkippableClock

        clock = SkippableClock()
    target = _db_target(db, in_memory)
    lock = _lock_database(target)
    try:
        service = _open_service(
            target,
            account_sid=account_sid,
            auth_token=auth_token,
            clock=clock,
            no_match=no_match,
            callback_timeout=callback_timeout,
            keep_finished=keep_finished,
            on_event=None if quiet else print_routing_decision,
        )
        try:
            if not no_seed:
                service.seed_quickstart()
        except Exception:
            _close(service)
            raise
        _serve(service, host, port, target, port_file, lock, quiet=quiet)
    finally:
        if lock is not None:
            lock.release()


_BANNER_MARKUP = re.compile(r"\[/?(?:bold|yellow)\]")


def _banner(template: str, **values: str) -> None:
    """One line of the sandbox's banner on stderr: ``template`` may hold rich markup, ``values``
    are shown as they are (a database path with brackets is not read as markup). On a terminal
    rich renders it; otherwise it is written as plain text without importing rich, so that a
    sandbox started by a script or a test answers its first request ~15 ms sooner."""
    from taskrouter_cli.guards.terminal import escape_control

    if sys.stderr.isatty():
        from taskrouter_cli.output import escape_markup, info

        shown = {name: escape_markup(value) for name, value in values.items()}
        info(template.format(**shown))
        return
    click.echo(escape_control(_BANNER_MARKUP.sub("", template).format(**values)), err=True)


def _serve(
    service: Any,
    host: str,
    port: int,
    target: str,
    port_file: Path | None,
    lock: Any,
    *,
    quiet: bool = False,
) -> None:
    from taskrouter_cli.guards.origin import describe_bind, is_loopback_bind
    from taskrouter_cli.sandbox.server import ServerStartError, run_foreground

    def ready(base_url: str) -> None:
        bound_port = int(base_url.rsplit(":", 1)[1])
        if lock is not None:
            lock.publish(base_url)
        if port_file is not None:
            port_file.write_text(f"{bound_port}\n", encoding="utf-8")
        where = "memory" if target == ":memory:" else target
        _banner(
            "TaskRouter sandbox listening on [bold]{bind}[/bold] (database: {where})",
            bind=describe_bind(host, bound_port),
            where=where,
        )
        if not is_loopback_bind(host):
            _banner(
                "[yellow]Warning: not loopback only. Anyone who can reach this address and has "
                "the credentials below can use the sandbox; /sandbox controls need them too "
                "from other addresses.[/yellow]"
            )
        _banner("Point trcli and the twilio SDK at it with:")
        for line in env_lines(service.account_sid, service.auth_token, base_url):
            click.echo(line)
        sys.stdout.flush()
        _banner("Press Ctrl-C to stop.")

    try:
        if not quiet:
            _print_request_lines()
        stopped_by = run_foreground(service, host, port, on_ready=ready, request_lines=not quiet)
    except ServerStartError as exc:
        raise UsageError(str(exc)) from None
    _banner("Sandbox stopped.")
    if stopped_by == signal.SIGINT:
        exit_interrupted(None)


ROUTING_EVENTS = (
    "workflow.entered",
    "workflow.target-matched",
    "workflow.skipped",
    "workflow.timeout",
    "task-queue.entered",
    "task-queue.moved",
    "task-queue.timeout",
    "reservation.",
    "task.canceled",
)
"""The Events that are routing decisions, printed by a running sandbox."""


def print_routing_decision(event: dict[str, Any]) -> None:
    """One line on stderr for an Event that is a routing decision (others are left out)."""
    from types import SimpleNamespace

    from taskrouter_cli.guards.terminal import escape_control
    from taskrouter_cli.operations.events import event_subject

    event_type = str(event.get("event_type", ""))
    if not event_type.startswith(ROUTING_EVENTS):
        return
    subject = event_subject(SimpleNamespace(**event))
    data = event.get("event_data") or {}
    if event_type.startswith("reservation.") and data.get("task_sid"):
        detail = f"task {data['task_sid']}"
    else:
        detail = str(event.get("description", ""))
    line = f"{time.strftime('%H:%M:%S')}  {event_type:<24} {subject}  {detail}"
    click.echo(escape_control(line), err=True)


def _print_request_lines() -> None:
    """Show the server's request lines (logged at INFO) on stderr, one each."""
    import logging

    from taskrouter_cli.sandbox.server import REQUEST_LOG

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s  %(message)s", "%H:%M:%S"))
    REQUEST_LOG.addHandler(handler)
    REQUEST_LOG.setLevel(logging.INFO)
    REQUEST_LOG.propagate = False


def _base_url_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--url",
        "url",
        metavar="URL",
        help="Base URL of a running sandbox [default: $TRCLI_API_URL or http://127.0.0.1:4010].",
    )(func)


@sandbox.command(name="env")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file [default: $TRCLI_HOME/sandbox.db].",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Host the sandbox uses.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--api-key",
    is_flag=True,
    help="Authenticate with the database's API key (TWILIO_API_KEY/TWILIO_API_SECRET) instead "
    "of the auth token.",
)
@click.pass_context
def sandbox_env(ctx: click.Context, db: Path | None, host: str, port: int, api_key: bool) -> None:
    """Print the export lines that point trcli and the SDK at the sandbox of a database.

    When a sandbox is running on the database, its URL is printed (unless --host or --port
    say otherwise), with the credentials it accepts.

    \b
    Examples:
      eval "$(trcli sandbox env)"
      eval "$(trcli sandbox env --api-key)"     # API-key auth, as Twilio recommends
    """
    from taskrouter_cli.sandbox.db_lock import DatabaseLock
    from taskrouter_cli.sandbox.server import format_base_url

    target = _db_target(db, False)
    base_url = format_base_url(host, port)
    given = {
        name
        for name in ("host", "port")
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    owner = DatabaseLock(target).holder()
    if owner is not None and owner.url and not given:
        base_url = owner.url
    service = _open_service(target)
    try:
        if api_key:
            lines = api_key_env_lines(service, base_url)
        else:
            lines = env_lines(service.account_sid, service.auth_token, base_url)
    finally:
        _close(service)
    for line in lines:
        click.echo(line)


@sandbox.command(name="reset")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file [default: $TRCLI_HOME/sandbox.db].",
)
@_base_url_option
@click.option("--seed", is_flag=True, help="Create the quickstart workspace again afterwards.")
@yes_option
def sandbox_reset(db: Path | None, url: str | None, seed: bool, yes: bool) -> None:
    """Empty a sandbox database (credentials are kept). Asks first on a terminal; otherwise
    needs --yes.

    \b
    Without --url the database file is reset directly: stop a sandbox running on it first.
    With --url, the running sandbox at URL resets itself (POST /sandbox/reset).

    \b
    Example:
      trcli sandbox reset --url http://127.0.0.1:4010 --yes
    """
    from taskrouter_cli.output import success

    if url is not None and db is not None:
        raise UsageError("--db and --url cannot be used together", "Pick one")
    target = url if url is not None else _db_target(db, False)
    confirm_destructive(f"Delete everything in the sandbox at {target}", yes=yes)
    if url is not None:
        _control_request(url.rstrip("/") + "/sandbox/reset", data={"seed": str(seed).lower()})
        success(f"Sandbox at {url} reset" + (" and seeded" if seed else ""))
        return
    lock = _lock_database(target)
    try:
        service = _open_service(target)
    except Exception:
        lock.release()
        raise
    try:
        service.reset()
        if seed:
            service.seed_quickstart()
    finally:
        _close(service)
        lock.release()
    success(f"Sandbox database {target} reset" + (" and seeded" if seed else ""))


@sandbox.command(name="advance")
@click.argument("seconds", type=click.FloatRange(0, 30 * 24 * 3600))
@_base_url_option
def sandbox_advance(seconds: float, url: str | None) -> None:
    """Move a running sandbox's clock forward by SECONDS and run every timer that falls due
    (reservation timeouts, task TTLs, workflow target timeouts).

    The sandbox must have been started with --time-travel.

    \b
    Example:
      trcli sandbox advance 1201     # past the quickstart's 1200 s reservation timeout
    """
    from taskrouter_cli.output import success

    base = url or os.environ.get("TRCLI_API_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    body = _control_request(
        base.rstrip("/") + "/sandbox/clock/advance", data={"seconds": f"{seconds:g}"}
    )
    now = body.get("now") if isinstance(body, dict) else None
    success(f"Sandbox clock advanced by {seconds:g} s; it is now {now}")


@sandbox.command(name="settle")
@click.option(
    "--timeout",
    type=click.FloatRange(0, 60),
    default=10.0,
    show_default=True,
    help="Seconds to wait at most.",
)
@_base_url_option
def sandbox_settle(timeout: float, url: str | None) -> None:
    """Wait until a running sandbox's routing has settled.

    A write is answered first and routed right after (as live TaskRouter does): this waits
    until every reservation, activity change and callback those writes set off is done.
    Exits 1 when routing is still running after --timeout seconds.

    \b
    Example:
      trcli task create --attributes '{"selected_language":"es"}' && trcli sandbox settle
    """
    from taskrouter_cli.output import success

    base = url or os.environ.get("TRCLI_API_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    body = _control_request(
        base.rstrip("/") + "/sandbox/settle",
        data={"timeout": f"{timeout:g}"},
        timeout=timeout + 5,
    )
    if not (isinstance(body, dict) and body.get("settled")):
        raise TrcliError(f"Routing in the sandbox at {base} had not settled after {timeout:g} s")
    success("Sandbox routing settled")


@sandbox.command(name="callbacks")
@_base_url_option
@click.option("--limit", type=click.IntRange(1, None), help="Show only the last N deliveries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sandbox_callbacks(url: str | None, limit: int | None, as_json: bool) -> None:
    """Show the callback deliveries of a running sandbox (the inspector).

    Every assignment and event callback the sandbox sent: URL, status, reply, latency and
    outcome (with Twilio's debugger code when the reply would be flagged).

    \b
    Example:
      trcli sandbox callbacks --limit 5
    """
    from taskrouter_cli.output import emit, print_table

    base = url or os.environ.get("TRCLI_API_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    query = f"?limit={limit}" if limit else ""
    body = _control_request(base.rstrip("/") + "/sandbox/callbacks" + query)
    deliveries = body.get("deliveries", []) if isinstance(body, dict) else []
    rows = [
        {
            "time": d.get("time"),
            "kind": d.get("event_type") or d.get("kind"),
            "url": d.get("url"),
            "status": d.get("status") if d.get("status") is not None else d.get("error"),
            "latency": f"{d['latency_ms']} ms" if d.get("latency_ms") is not None else None,
            "outcome": d.get("outcome"),
            "code": d.get("debugger_code"),
        }
        for d in deliveries
    ]
    emit(
        deliveries,
        as_json=as_json,
        table=lambda: print_table(
            rows,
            [
                ("Time", "time"),
                ("Kind", "kind"),
                ("URL", "url"),
                ("Status", "status"),
                ("Outcome", "outcome"),
                ("Code", "code"),
                ("Latency", "latency"),
            ],
            title=f"Callback deliveries ({base})",
            empty_message="No callback deliveries yet.",
        ),
    )


def _control_request(url: str, data: dict[str, str] | None = None, timeout: float = 10) -> Any:
    """GET (or form POST) a /sandbox control URL; Basic auth from TWILIO_* when set."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    body = urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    sid, token = os.environ.get("TWILIO_ACCOUNT_SID"), os.environ.get("TWILIO_AUTH_TOKEN")
    if sid and token:
        pair = base64.b64encode(f"{sid}:{token}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("message", detail)
        except (ValueError, AttributeError):
            pass
        raise ApiError(
            f"The sandbox at {url} answered HTTP {exc.code}: {detail}", status=exc.code
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NetworkError(
            f"Cannot reach a sandbox at {url} ({reason})",
            "Is it running? Start it with 'trcli sandbox', or pass --url",
        ) from None
