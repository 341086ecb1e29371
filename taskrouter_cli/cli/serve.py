"""``trcli serve``: the assignment-callback server, its tunnel and the callback wiring."""

from __future__ import annotations

import re
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from taskrouter_cli.callbacks.instructions import INSTRUCTIONS, RECORD_VALUES
from taskrouter_cli.cli.context import AppContext, json_option, pass_app, workspace_option
from taskrouter_cli.cli.conventions import exit_interrupted
from taskrouter_cli.errors import CredentialsError, UsageError
from taskrouter_cli.guards.origin import describe_bind, is_loopback_bind

if TYPE_CHECKING:
    from taskrouter_cli.callbacks.workers import WorkerPool

_MARKUP = re.compile(r"\[/?(?:bold|yellow|red|green|dim)\]")
INSTRUCTION_OPTIONS = {
    "activity": "activity_sid",
    "from_": "from",
    "to": "to",
    "twiml_url": "url",
    "post_work_activity": "post_work_activity_sid",
    "call_sid": "call_sid",
    "accept": "accept",
    "record": "record",
    "dial_timeout": "timeout",
    "status_callback_url": "status_callback_url",
    "status_callback_events": "status_callback_events",
}


@dataclass
class ServeOptions:
    host: str
    port: int
    instruction: str
    reply_values: dict[str, Any]
    rules: Path | None
    tunnel: bool
    public_url: str | None
    point: str | None
    events: bool
    no_validate: bool
    reject_replays: bool
    as_json: bool
    forward_to: str | None = None
    workers: int = 1
    ui: bool = False
    notes: list[str] = field(default_factory=list)


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--instruction",
    type=click.Choice(INSTRUCTIONS),
    default="defer",
    show_default=True,
    help="Reply to every assignment callback (defer answers {}).",
)
@click.option("--activity", metavar="NAME|SID", help="reject: the worker's new Activity.")
@click.option("--from", "from_", metavar="NUMBER", help="dequeue/call: caller ID (E.164).")
@click.option("--to", metavar="NUMBER", help="dequeue/call: number to dial (else contact_uri).")
@click.option("--url", "twiml_url", metavar="URL", help="call/redirect: TwiML URL.")
@click.option("--post-work-activity", metavar="NAME|SID", help="dequeue: Activity after the call.")
@click.option("--call-sid", metavar="CA...", help="redirect: the waiting call.")
@click.option(
    "--accept/--no-accept",
    default=None,
    help="call/redirect: also accept the reservation (TaskRouter's default: no).",
)
@click.option("--record", type=click.Choice(RECORD_VALUES), help="dequeue/call: recording.")
@click.option(
    "--timeout", "dial_timeout", type=int, metavar="SECONDS", help="dequeue/call: ring time."
)
@click.option("--status-callback-url", metavar="URL", help="dequeue/call: call status URL.")
@click.option("--status-callback-events", metavar="LIST", help="dequeue: e.g. initiated,completed.")
@click.option(
    "--rules",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="TOML/JSON file mapping task-attribute expressions to replies (first match wins).",
)
@click.option(
    "--forward-to",
    metavar="URL",
    help="Let your own handler answer: each verified assignment callback is re-signed for URL "
    "and POSTed there; its answer goes back to TaskRouter (502 if it fails or takes over 4 s).",
)
@click.option(
    "--ui",
    is_flag=True,
    help="Serve the agent console at http://127.0.0.1:PORT/ (this machine only): pending "
    "reservations live, Accept/Reject/Complete, worker activities.",
)
@click.option("--tunnel", is_flag=True, help="Open an https ngrok tunnel (needs NGROK_AUTHTOKEN).")
@click.option(
    "--public-url",
    metavar="URL",
    help="The base URL TaskRouter reaches this server at (another tunnel, a deployment).",
)
@click.option(
    "--point",
    metavar="WORKFLOW",
    help="Point this Workflow's assignment callback here; restored on exit.",
)
@click.option(
    "--events", is_flag=True, help="Point the Workspace's event callback here; restored on exit."
)
@click.option("--no-validate", is_flag=True, help="Do not check X-Twilio-Signature (unsafe).")
@click.option(
    "--reject-replays",
    is_flag=True,
    help="Answer 409 to an identical signed request seen in the last 5 minutes.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes answering on the port (connections dealt in turn), one log.",
)
@workspace_option
@json_option
@pass_app
def serve(app: AppContext, **values: Any) -> None:
    """Answer TaskRouter's assignment callbacks: a local server, optionally an https tunnel,
    and the Workflow pointed at it -- all undone on exit (Ctrl-C or SIGTERM).

    Every callback's signature is checked against the URL TaskRouter called (the tunnel or
    --public-url, else http://HOST:PORT), it is shown live and kept in the callback log
    ('trcli callbacks list'). With --json, stdout carries JSON lines only: first one with
    "kind": "serving" and the URLs, then one per callback.

    \b
    Examples:
      trcli serve --point "Incoming Customer Care Requests"        # against the sandbox
      trcli serve --tunnel --point "Incoming Customer Care Requests" --instruction accept
      trcli serve --instruction reject --activity Offline
      trcli serve --instruction dequeue --from +15551234567 --post-work-activity Idle
      trcli serve --rules rules.toml --tunnel --point WW... --events
      trcli serve --forward-to http://127.0.0.1:8080/assignment.php --point WW...
      trcli serve --ui --point "Incoming Customer Care Requests"   # then open the console
    """
    reply_values = {key: values.pop(name) for name, key in INSTRUCTION_OPTIONS.items()}
    options = ServeOptions(reply_values=reply_values, **values)
    run(app, options)


def check_option_conflicts(options: ServeOptions) -> None:
    """Combinations that cannot be meant; each names both options."""
    given = [key for key, value in options.reply_values.items() if value is not None]
    if options.rules is not None and (options.instruction != "defer" or given):
        raise UsageError(
            "--rules cannot be combined with --instruction or instruction options",
            "Put the replies in the rules file",
        )
    chosen_reply = options.rules is not None or options.instruction != "defer" or bool(given)
    if options.forward_to and chosen_reply:
        raise UsageError(
            "--forward-to cannot be combined with --rules, --instruction or instruction options",
            "With --forward-to your handler chooses the reply",
        )
    if options.workers > 1 and options.reject_replays:
        raise UsageError(
            "--reject-replays needs one process: each of the --workers sees only its own requests",
            "Drop --workers, or --reject-replays",
        )
    if options.workers > 1 and options.forward_to:
        raise UsageError(
            "--forward-to runs in one process: your handler sets the pace, not --workers",
            "Drop --workers",
        )
    if options.workers > 1 and options.ui:
        raise UsageError(
            "--ui runs in one process: the console must see every callback, --workers split them",
            "Drop --workers",
        )
    if options.tunnel and options.public_url:
        raise UsageError(
            "--tunnel and --public-url cannot be used together",
            "--tunnel opens its own public URL; use --public-url for any other tunnel",
        )


def validation_token(app: AppContext, options: ServeOptions) -> tuple[str | None, str]:
    """The auth token to check signatures with (or None) and a sentence saying where it is from.

    Raises when the server would be reachable from the internet without validation.
    """
    settings = app.settings
    public = options.tunnel or bool(options.public_url)
    if options.no_validate:
        return None, "[yellow]off (--no-validate): anyone who finds the URL can call it[/yellow]"
    if settings.auth_token:
        source = settings.sources.get("auth_token", "settings")
        return settings.auth_token, f"validated with the auth token from {source}"
    if settings.api_key:
        why = (
            "You authenticate with an API key, but signatures are made with the account's auth "
            "token, and TWILIO_AUTH_TOKEN is not set"
        )
    else:
        why = "No auth token is configured"
    if public:
        raise CredentialsError(
            f"{why}, so callbacks arriving from the internet could not be checked",
            "Set TWILIO_AUTH_TOKEN (or 'trcli config set auth_token'), or pass --no-validate "
            "to serve unchecked callbacks anyway",
        )
    if not is_loopback_bind(options.host):
        raise CredentialsError(
            f"{why}, so trcli serve listens on loopback only: --host {options.host} would answer "
            "unsigned callbacks from the network",
            "Set TWILIO_AUTH_TOKEN (or 'trcli config set auth_token'), or pass --no-validate "
            "to serve unchecked callbacks from the network anyway",
        )
    return None, f"[yellow]off: {why.lower()[0]}{why[1:]} (set TWILIO_AUTH_TOKEN)[/yellow]"


def install_stop_handlers(
    stop: threading.Event, received: list[int] | None = None
) -> dict[int, Any]:
    """SIGINT and SIGTERM set ``stop`` (main thread only) and are appended to ``received``;
    returns the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if received is not None:
            received.append(signum)
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, handler)
    return previous


def restore_handlers(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def _activity_lookup(app: AppContext) -> Any:
    from taskrouter_cli.resolve import ACTIVITY

    def lookup(value: str) -> str:
        return str(app.resolver.sid_in_workspace(ACTIVITY, app.workspace_sid, value))

    return lookup


def build_responder(app: AppContext, options: ServeOptions) -> tuple[Any, Any, str]:
    """(reply, rules, description) for the server; names are resolved to SIDs here, once."""
    from taskrouter_cli.callbacks.instructions import DEFER, build_reply

    if options.rules is not None:
        from taskrouter_cli.callbacks.rules import load_rules

        rules = load_rules(options.rules, activity_lookup=_activity_lookup(app))
        described = ", ".join(f"{rule.name} → {rule.reply.describe()}" for rule in rules.rules)
        return (
            DEFER,
            rules,
            f"rules from {options.rules}: {described}; else {rules.default.describe()}",
        )
    reply = build_reply(
        options.instruction, options.reply_values, activity_lookup=_activity_lookup(app)
    )
    return reply, None, reply.describe()


def public_base_url(app: AppContext, options: ServeOptions) -> str | None:
    """The checked --public-url (without a trailing slash), or None."""
    if not options.public_url:
        return None
    from taskrouter_cli.operations.workflows import check_callback_url

    url = options.public_url.rstrip("/")
    check_callback_url(url, live=not app.settings.uses_api_url_override, option="--public-url")
    if url.endswith(("/assignment", "/events")):
        raise UsageError(
            f"--public-url is the server's base URL, without /assignment: got {url}",
            f"Pass --public-url {url.rsplit('/', 1)[0]}",
        )
    return url


def check_wiring_allowed(app: AppContext, options: ServeOptions) -> None:
    if not (options.point or options.events):
        return
    flag = "--point" if options.point else "--events"
    if not (options.tunnel or options.public_url) and not app.settings.uses_api_url_override:
        raise UsageError(
            f"{flag} needs a URL TaskRouter can reach, and live Twilio cannot reach this machine",
            "Add --tunnel (ngrok) or --public-url URL; without them --point works only against "
            "the sandbox (TRCLI_API_URL / --api-url)",
        )


def build_console(app: AppContext, reply_text: str) -> Any:
    """``--ui``: the agent console, reading and writing the selected Workspace."""
    from taskrouter_cli.callbacks.console import Console
    from taskrouter_cli.client import translate_exception

    def describe_error(exc: BaseException) -> str | None:
        error = translate_exception(exc, app.settings)
        return error.one_line() if error is not None else None

    return Console(app.workspace_api, describe_error=describe_error, reply_description=reply_text)


def _say(options: ServeOptions, message: str) -> None:
    from taskrouter_cli import output

    if options.as_json:
        click.echo(_MARKUP.sub("", message), err=True)
    else:
        output.info(message)


def run(app: AppContext, options: ServeOptions) -> None:
    """Start everything, serve until Ctrl-C/SIGTERM, then undo everything (in reverse)."""
    import json
    import sys

    from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
    from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path
    from taskrouter_cli.callbacks.wiring import CallbackWiring

    check_option_conflicts(options)
    check_wiring_allowed(app, options)
    public_url = public_base_url(app, options)
    token, validation = validation_token(app, options)
    reply, rules, reply_text = build_responder(app, options)
    forwarder = None
    if options.forward_to:
        from taskrouter_cli.callbacks.forward import FORWARD_TIMEOUT, Forwarder

        forwarder = Forwarder(options.forward_to, token)
        reply_text = (
            f"from your handler at {forwarder.url} (re-signed for it; 502 to TaskRouter if it "
            f"is down, fails or takes over {FORWARD_TIMEOUT:g} s)"
        )
    console = build_console(app, reply_text) if options.ui else None
    workflow = None
    if options.point:
        from taskrouter_cli.resolve import WORKFLOW

        workflow = app.resolver.in_workspace(WORKFLOW, app.workspace_sid, options.point)

    stop = threading.Event()
    received: list[int] = []
    previous_handlers = install_stop_handlers(stop, received)
    log_path = callback_log_path()
    recorder = CallbackRecorder(log_path, live="json" if options.as_json else "rich")
    config = ServerConfig(
        host=options.host,
        port=options.port,
        public_url=public_url,
        auth_token=token,
        reply=reply,
        rules=rules,
        reject_replays=options.reject_replays,
        forwarder=forwarder,
        deal_connections=options.workers > 1,
        console=console,
    )
    server = CallbackServer(config, recorder=recorder)
    tunnel = None
    pool: WorkerPool | None = None
    wiring: CallbackWiring | None = None
    try:
        server.start()
        if options.tunnel:
            from taskrouter_cli.callbacks.tunnel import open_tunnel

            tunnel = open_tunnel(
                server.port, auth_token=app.settings.ngrok_authtoken, host=options.host
            )
            server.set_public_url(tunnel.public_url)
        processes = ""
        if options.workers > 1:
            from taskrouter_cli.callbacks.workers import WorkerPool

            pool = WorkerPool(
                server.config,
                server.port,
                recorder,
                count=options.workers - 1,
                deal_to=server.deal_to,
            )
            pool.start()
            processes = f", {options.workers} processes"
        routes = f"POST /assignment, POST /events, GET /healthz{processes}"
        lines = [
            f"listening   {describe_bind(options.host, server.port)}  ({routes})",
            f"TaskRouter  {server.assignment_url}"
            + ("  (ngrok tunnel)" if tunnel else "  (--public-url)" if public_url else ""),
            f"reply       {reply_text}",
            f"signatures  {validation}",
        ]
        if console is not None:
            lines.append(
                f"console     {server.local_base()}/  (open it in a browser on this machine)"
            )
        pointed: list[dict[str, Any]] = []
        if workflow is not None or options.events:
            wiring = CallbackWiring(app.workspace_api)
        if wiring is not None and workflow is not None:
            change = wiring.point_workflow(str(workflow.sid), server.assignment_url)
            pointed.append({"workflow_sid": change.sid, "previous": change.previous})
            lines.append(
                f"workflow    {change.name} now calls {server.assignment_url} "
                f"(was {change.describe_previous()}; restored on exit)"
            )
        if wiring is not None and options.events:
            change = wiring.point_events(app.workspace_sid, server.events_url)
            pointed.append({"workspace_sid": change.sid, "previous": change.previous})
            lines.append(
                f"events      workspace {change.name} now sends events to {server.events_url} "
                f"(was {change.describe_previous()}; restored on exit)"
            )
        lines.append(f"log         {log_path}  ('trcli callbacks list')")
        if workflow is None:
            lines.append(
                "next        point a Workflow here: trcli workflow point-callback WORKFLOW "
                f"--url {server.assignment_url}  (or restart with --point WORKFLOW)"
            )
        for note_line in wiring.recovered if wiring is not None else []:
            _say(options, f"[yellow]{note_line}[/yellow]")
        if options.as_json:
            started = {
                "kind": "serving",
                "local_url": server.local_base(),
                "bound": describe_bind(options.host, server.port).split(" ", 1)[0],
                "assignment_url": server.assignment_url,
                "events_url": server.events_url,
                "validation": token is not None,
                "reply": reply_text,
                "pointed": pointed,
                "log": str(log_path),
                "console_url": server.local_base() + "/" if console is not None else None,
            }
            sys.stdout.write(json.dumps(started) + "\n")
            sys.stdout.flush()
        else:
            _say(options, "[bold]trcli serve[/bold]: answering TaskRouter assignment callbacks")
            for line in lines:
                _say(options, "  " + line)
            _say(options, "Press Ctrl-C to stop.")
        while not stop.wait(0.25):
            if not server.running:
                raise UsageError("The callback server stopped unexpectedly")
            if pool is not None and not pool.alive:
                raise UsageError("A callback server worker process stopped unexpectedly")
    finally:
        for line in wiring.restore() if wiring is not None else []:
            _say(options, line)
        if tunnel is not None:
            warning = tunnel.close()
            if warning:
                _say(options, f"[yellow]{warning}[/yellow]")
        if pool is not None:
            pool.stop()
        server.stop()
        restore_handlers(previous_handlers)
    _say(options, f"Stopped after {recorder.count} callback(s).")
    if signal.SIGINT in received:
        exit_interrupted(None)
