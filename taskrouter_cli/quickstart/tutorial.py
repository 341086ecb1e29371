"""The quickstart's Part 2, stage by stage (``trcli tutorial``).

Stages (TaskRouter quickstart "Create Tasks and accept Reservations"):

1. serve the assignment callback (a :class:`~taskrouter_cli.callbacks.app.CallbackServer`);
2. expose it through a tunnel (skipped when TaskRouter is the local sandbox);
3. point the Workflow's assignment callback at it;
4. create a Task while Alice is Offline and see it pending;
5. make Alice available and see her reserved (the callback answers ``{}``: defer);
6. accept the reservation over the REST API;
7. answer the callback with ``{"instruction": "accept"}`` and see a second Task accepted by it.

Every TaskRouter change is made by running the real trcli command in-process through the
``run`` function the CLI layer supplies (so the printed command is exactly what ran, and the
learner can replay it by hand); only observing (fetching tasks, events) uses the SDK directly.
This module imports neither click nor rich: printing goes through a :class:`Printer`.

Running one stage (``only=N``) first runs the stages before it without printing, so stage N
finds the state it needs. On a live account :meth:`Tutorial.cleanup` puts back what the run
changed: the workflow's callback URL, Alice's activity, the tasks it created (canceled or
completed, then deleted), the workspace itself if the run created it.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from taskrouter_cli.errors import TrcliError
from taskrouter_cli.quickstart_spec import QUICKSTART, SPANISH_TASK_ATTRIBUTES, WorkspaceSpec

WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02
WORKER = "Alice"
CLEANUP_REASON = "trcli tutorial cleanup"


@dataclass(frozen=True)
class StageInfo:
    number: int
    title: str
    explanation: str


STAGES: tuple[StageInfo, ...] = (
    StageInfo(
        1,
        "Serve the assignment callback",
        "When TaskRouter reserves a worker it POSTs the reservation to the Workflow's "
        "assignment callback URL. trcli serve answers it, checking X-Twilio-Signature; for now "
        "it answers {} ('I will act later over the REST API').",
    ),
    StageInfo(
        2,
        "Expose it to TaskRouter",
        "Live TaskRouter cannot reach localhost, so the server needs a public https URL: an "
        "ngrok tunnel.",
    ),
    StageInfo(
        3,
        "Point the Workflow at it",
        "The Workflow 'Incoming Customer Care Requests' gets the server's URL as its "
        "AssignmentCallbackUrl.",
    ),
    StageInfo(
        4,
        "Create a Task while Alice is Offline",
        'Only Alice speaks Spanish. With her Offline, a Task with {"selected_language": "es"} '
        "matches the Spanish filter and waits, pending, in the Spanish queue.",
    ),
    StageInfo(
        5,
        "Make Alice available",
        "Moving Alice to Idle (an available activity) lets TaskRouter reserve her for the "
        "waiting Task: she moves to Reserved and the assignment callback fires.",
    ),
    StageInfo(
        6,
        "Accept the reservation over the REST API",
        "The callback answered {}, so the reservation waits. Accepting it over the REST API "
        "assigns the Task to Alice, who moves to Busy.",
    ),
    StageInfo(
        7,
        "Accept through the callback instruction",
        'Now the server answers {"instruction": "accept"}: the next reservation is accepted '
        "the moment the callback is answered, with no REST call.",
    ),
)


@dataclass(frozen=True)
class CommandOutcome:
    """What one in-process trcli command did."""

    exit_code: int
    stdout: str
    error: str = ""


CommandRunner = Callable[[list[str]], CommandOutcome]


class Printer(Protocol):
    def stage(self, info: StageInfo, total: int) -> None: ...

    def command(self, text: str) -> None: ...

    def result(self, text: str) -> None: ...

    def timeline(self, task_sid: str, entries: list[tuple[str, datetime | None]]) -> None: ...

    def note(self, text: str) -> None: ...


class SilentPrinter:
    """Used for the stages run only to prepare ``--stage N``."""

    def stage(self, info: StageInfo, total: int) -> None:
        return None

    def command(self, text: str) -> None:
        return None

    def result(self, text: str) -> None:
        return None

    def timeline(self, task_sid: str, entries: list[tuple[str, datetime | None]]) -> None:
        return None

    def note(self, text: str) -> None:
        return None


class StageFailed(TrcliError):
    """A stage did not reach its outcome: what went wrong (message) and how to fix it (hint)."""


@dataclass
class StageOutcome:
    number: int
    title: str
    status: str  # "ok" | "skipped" | "failed" | "not run"
    summary: str = ""
    seconds: float = 0.0
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.number,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
            "fix": self.fix,
        }


def memory_recorder() -> Any:
    """A callback recorder (``trcli serve``'s own, writing no file and showing nothing) that
    also keeps every record in ``.records`` for the tutorial to read back."""
    from taskrouter_cli.callbacks.log import CallbackRecord, CallbackRecorder

    class MemoryRecorder(CallbackRecorder):
        def __init__(self) -> None:
            super().__init__(None, live="off")
            self.records: list[CallbackRecord] = []

        def record(self, record: CallbackRecord) -> None:
            self.records.append(record)
            super().record(record)

    return MemoryRecorder()


class StageSkipped(Exception):
    """Raised by a stage that does not apply here (e.g. the tunnel against the sandbox)."""


@dataclass
class TutorialEnv:
    """Everything the stages need; built by the CLI layer."""

    client: Any
    """twilio REST client for the target (live Twilio or a sandbox)."""
    run: CommandRunner
    make_server: Callable[[], Any]
    """Returns an un-started CallbackServer that validates with the account's auth token."""
    needs_tunnel: bool
    open_tunnel: Callable[[int], Any] | None = None
    """``open_tunnel(port)`` → an object with ``public_url`` and ``close()``."""
    public_url: str | None = None
    """A public base URL the learner already has (instead of a tunnel)."""
    spec: WorkspaceSpec = QUICKSTART
    wait_seconds: float = WAIT_SECONDS


@dataclass
class TutorialState:
    workspace_sid: str = ""
    workspace_created: bool = False
    server: Any = None
    tunnel: Any = None
    callback_url: str | None = None
    previous_callback_url: str | None = None
    workflow_sid: str | None = None
    first_task: str | None = None
    reservation: str | None = None
    second_task: str | None = None
    created_tasks: list[str] = field(default_factory=list)
    alice_sid: str | None = None
    alice_activity_before: str | None = None


def command_text(args: list[str]) -> str:
    return "trcli " + shlex.join(args)


def _short_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%H:%M:%S.%f")[:-3]


class Tutorial:
    def __init__(self, env: TutorialEnv, printer: Printer) -> None:
        self.env = env
        self.printer = printer
        self.state = TutorialState()
        self.stage_functions: dict[int, Callable[[], str]] = {
            1: self.serve,
            2: self.expose,
            3: self.point,
            4: self.create_pending,
            5: self.make_available,
            6: self.accept_rest,
            7: self.accept_callback,
        }

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def ws(self) -> Any:
        return self.env.client.taskrouter.v1.workspaces(self.state.workspace_sid)

    def trcli(self, *args: str) -> CommandOutcome:
        """Show and run one trcli command; a failure fails the stage with its own message."""
        argv = list(args)
        self.printer.command(command_text(argv))
        outcome = self.env.run(argv)
        if outcome.exit_code != 0:
            raise StageFailed(
                f"'{command_text(argv)}' failed (exit {outcome.exit_code}): "
                f"{outcome.error.strip() or outcome.stdout.strip()}",
                "Run 'trcli doctor' to see what is missing, then 'trcli tutorial --stage N' "
                "to retry the stage",
            )
        return outcome

    def wait_for(self, what: str, check: Callable[[], Any], hint: str) -> Any:
        """Bounded poll until ``check()`` returns something truthy."""
        deadline = time.monotonic() + self.env.wait_seconds
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise StageFailed(f"{what} did not happen within {self.env.wait_seconds:g} s", hint)
            time.sleep(POLL_SECONDS)

    def task_status(self, sid: str) -> str:
        return str(self.ws.tasks(sid).fetch().assignment_status)

    def alice(self) -> Any:
        return self.ws.workers(self.state.alice_sid).fetch()

    def callback_for(self, task_sid: str) -> Any:
        server = self.state.server
        records = getattr(getattr(server, "recorder", None), "records", [])
        for record in records:
            if record.kind == "assignment" and record.task_sid == task_sid:
                return record
        return None

    def timeline(self, task_sid: str) -> list[tuple[str, datetime | None]]:
        """Created → Reserved → Accepted → Assigned, with times, from the workspace's events."""
        events = list(self.ws.events.list(task_sid=task_sid, page_size=1000))
        events.sort(key=lambda e: (e.event_date_ms or 0, str(e.sid)))
        moments: dict[str, datetime | None] = {}

        def when(event: Any) -> datetime | None:
            if event.event_date_ms:
                return datetime.fromtimestamp(int(event.event_date_ms) / 1000, tz=timezone.utc)
            return event.event_date

        labels = {
            "task.created": "Created",
            "reservation.created": "Reserved",
            "reservation.accepted": "Accepted",
        }
        for event in events:
            label = labels.get(str(event.event_type))
            if label and label not in moments:
                moments[label] = when(event)
            data = event.event_data or {}
            if data.get("task_assignment_status") == "assigned" and "Assigned" not in moments:
                moments["Assigned"] = when(event)
        return [
            (label, moments.get(label)) for label in ("Created", "Reserved", "Accepted", "Assigned")
        ]

    def show_timeline(self, task_sid: str) -> None:
        self.printer.timeline(task_sid, self.timeline(task_sid))

    # -- set-up ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Make sure the quickstart workspace exists (Part 1), remembering what we created."""
        from taskrouter_cli.quickstart.setup import CREATED, apply_setup

        report = apply_setup(self.env.client.taskrouter.v1, self.env.spec)
        self.state.workspace_sid = str(report.workspace_sid)
        self.state.workspace_created = any(
            item.kind == "Workspace" and item.result == CREATED for item in report.items
        )
        alice = next(w for w in self.ws.workers.list() if w.friendly_name == WORKER)
        self.state.alice_sid = str(alice.sid)
        self.state.alice_activity_before = str(alice.activity_name)
        workflow = next(
            w for w in self.ws.workflows.list() if w.friendly_name == self.env.spec.workflow.name
        )
        self.state.workflow_sid = str(workflow.sid)
        self.state.previous_callback_url = workflow.assignment_callback_url or None
        changed = sum(1 for item in report.items if item.result != "exists")
        self.printer.note(
            f"Workspace '{self.env.spec.name}' ({report.workspace_sid}) is ready: "
            + ("created with 'trcli setup'" if changed else "already set up ('trcli setup')")
        )

    # -- stages ---------------------------------------------------------------------------------
    def serve(self) -> str:
        server = self.env.make_server()
        server.start()
        self.state.server = server
        self.printer.command(f"trcli serve --port {server.port}")
        from taskrouter_cli.quickstart.doctor import http_request

        health = http_request(server.local_base() + "/healthz")
        if health.status != 200:
            raise StageFailed(
                f"The callback server does not answer on {server.local_base()}/healthz "
                f"({health.status or health.error})",
                "Check that nothing blocks loopback connections, then retry",
            )
        self.state.callback_url = server.assignment_url
        self.printer.result(f"listening at {server.assignment_url}, answering {{}} (defer)")
        return f"listening on {server.local_base()}, answering assignment callbacks with {{}}"

    def expose(self) -> str:
        server = self.state.server
        if self.env.public_url:
            server.set_public_url(self.env.public_url)
            self.state.callback_url = server.assignment_url
            self.printer.command(
                f"trcli serve --port {server.port} --public-url {self.env.public_url}"
            )
            return f"TaskRouter reaches the server at {server.assignment_url}"
        if not self.env.needs_tunnel:
            raise StageSkipped("the sandbox runs on this machine and reaches 127.0.0.1 directly")
        if self.env.open_tunnel is None:
            raise StageFailed(
                "No tunnel is available", "Pass --public-url with a URL that reaches this machine"
            )
        self.printer.command(f"trcli serve --port {server.port} --tunnel")
        tunnel = self.env.open_tunnel(server.port)
        self.state.tunnel = tunnel
        server.set_public_url(tunnel.public_url)
        self.state.callback_url = server.assignment_url
        return f"public URL {server.assignment_url}"

    def point(self) -> str:
        url = str(self.state.callback_url)
        self.trcli("workflow", "point-callback", self.env.spec.workflow.name, "--url", url)
        workflow = self.ws.workflows(self.state.workflow_sid).fetch()
        if workflow.assignment_callback_url != url:
            raise StageFailed(
                f"The workflow's callback URL is {workflow.assignment_callback_url!r}, not {url}",
                "Another process may have changed it; retry this stage",
            )
        self.printer.result(f"the workflow's AssignmentCallbackUrl is now {url}")
        return f"AssignmentCallbackUrl = {url}"

    def create_task(self) -> str:
        attributes = json.dumps(dict(SPANISH_TASK_ATTRIBUTES))
        outcome = self.trcli("task", "create", "--attributes", attributes, "--json")
        try:
            sid = str(json.loads(outcome.stdout)["sid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StageFailed(
                f"'trcli task create --json' printed no task SID ({exc})",
                "This is a bug in trcli; run with --debug and report it",
            ) from None
        self.state.created_tasks.append(sid)
        return sid

    def create_pending(self) -> str:
        self.trcli("worker", "set-activity", WORKER, "Offline")
        sid = self.create_task()
        self.state.first_task = sid
        task = self.ws.tasks(sid).fetch()
        if str(task.assignment_status) != "pending":
            raise StageFailed(
                f"Task {sid} is {task.assignment_status}, not pending",
                f"See why with 'trcli explain {sid}'",
            )
        self.printer.result(f"task {sid}: pending in {task.task_queue_friendly_name}")
        return f"Task {sid} pending in {task.task_queue_friendly_name}"

    def make_available(self) -> str:
        sid = str(self.state.first_task)
        self.trcli("worker", "set-activity", WORKER, "Idle")
        self.wait_for(
            f"Task {sid} being reserved",
            lambda: self.task_status(sid) == "reserved",
            f"See why with 'trcli explain {sid}'",
        )
        record = self.wait_for(
            "The assignment callback",
            lambda: self.callback_for(sid),
            "Check the workflow's callback URL with 'trcli doctor'",
        )
        self.state.reservation = str(record.reservation_sid)
        answer = json.dumps(record.reply) if record.reply is not None else "{}"
        self.printer.result(
            f"reservation {record.reservation_sid} for {WORKER} ({self.alice().activity_name}); "
            f"callback signature {record.signature}, answered {answer}"
        )
        return f"{WORKER} reserved ({record.reservation_sid}); callback answered {answer}"

    def accept_rest(self) -> str:
        sid, reservation = str(self.state.first_task), str(self.state.reservation)
        self.trcli("reservation", "accept", reservation, "--task", sid)
        self.wait_for(
            f"Task {sid} being assigned",
            lambda: self.task_status(sid) == "assigned",
            f"See why with 'trcli explain {sid}'",
        )
        activity = self.alice().activity_name
        self.printer.result(f"task {sid}: assigned to {WORKER}, who is now {activity}")
        self.show_timeline(sid)
        return f"Task {sid} assigned to {WORKER} ({activity})"

    def accept_callback(self) -> str:
        from taskrouter_cli.callbacks.instructions import build_reply

        server = self.state.server
        server.config.reply = build_reply("accept", {})
        self.printer.command(f"trcli serve --port {server.port} --instruction accept")
        first = self.state.first_task
        if first and self.task_status(first) == "assigned":
            self.trcli("task", "complete", first, "--reason", "handled in the tutorial")
        self.trcli("worker", "set-activity", WORKER, "Offline")
        sid = self.create_task()
        self.state.second_task = sid
        self.trcli("worker", "set-activity", WORKER, "Idle")
        self.wait_for(
            f"Task {sid} being assigned by the callback's accept",
            lambda: self.task_status(sid) == "assigned",
            f"See why with 'trcli explain {sid}'",
        )
        record = self.callback_for(sid)
        if record is None or record.instruction != "accept":
            raise StageFailed(
                f"Task {sid} was assigned, but not through the callback's accept instruction",
                "Check the callback log with 'trcli callbacks list'",
            )
        self.printer.result(
            f"task {sid}: assigned to {WORKER} by the callback answer {json.dumps(record.reply)}"
        )
        self.show_timeline(sid)
        return f"Task {sid} accepted by the callback instruction"

    # -- running --------------------------------------------------------------------------------
    def run_stage(self, info: StageInfo) -> StageOutcome:
        started = time.monotonic()
        self.printer.stage(info, len(STAGES))
        try:
            summary = self.stage_functions[info.number]()
        except StageSkipped as skipped:
            self.printer.result(f"skipped: {skipped}")
            return StageOutcome(info.number, info.title, "skipped", str(skipped))
        except TrcliError as error:
            return StageOutcome(
                info.number,
                info.title,
                "failed",
                error.message,
                time.monotonic() - started,
                error.hint,
            )
        return StageOutcome(info.number, info.title, "ok", summary, time.monotonic() - started)

    def run(
        self,
        only: int | None = None,
        pause: Callable[[StageInfo], None] | None = None,
    ) -> list[StageOutcome]:
        """Run every stage (or just ``only``, after preparing silently); stop at a failure."""
        self.prepare()
        outcomes: list[StageOutcome] = []
        wanted = [s for s in STAGES if only is None or s.number == only]
        if only is not None:
            visible = self.printer
            self.printer = SilentPrinter()
            try:
                for info in STAGES[: only - 1]:
                    result = self.run_stage(info)
                    if result.status == "failed":
                        result.summary = f"(preparing stage {only}) {result.summary}"
                        return [result]
            finally:
                self.printer = visible
        for index, info in enumerate(wanted):
            if pause is not None and index > 0:
                pause(info)
            outcome = self.run_stage(info)
            outcomes.append(outcome)
            if outcome.status == "failed":
                outcomes.extend(
                    StageOutcome(rest.number, rest.title, "not run") for rest in wanted[index + 1 :]
                )
                break
        return outcomes

    def cleanup(self, live: bool) -> list[str]:
        """Stop the server and tunnel; on a live account also undo what the run changed."""
        notes: list[str] = []
        state = self.state
        if state.server is not None:
            state.server.stop()
        if state.tunnel is not None:
            warning = state.tunnel.close()
            if warning:
                notes.append(warning)
        if not live or not state.workspace_sid:
            return notes
        if state.workspace_created:
            from taskrouter_cli.quickstart.setup import teardown

            teardown(self.env.client.taskrouter.v1, self.env.spec.name)
            notes.append(f"deleted workspace '{self.env.spec.name}' (created by this run)")
            return notes
        for sid in state.created_tasks:
            try:
                notes.append(self._remove_task(sid))
            except Exception as exc:  # noqa: BLE001 - cleanup goes on and reports the problem
                notes.append(f"could not remove task {sid}: {exc}")
        if state.workflow_sid and state.callback_url:
            workflow = self.ws.workflows(state.workflow_sid).fetch()
            if workflow.assignment_callback_url == state.callback_url:
                self.ws.workflows(state.workflow_sid).update(
                    assignment_callback_url=state.previous_callback_url or ""
                )
                notes.append(
                    "restored the workflow's callback URL to "
                    + (state.previous_callback_url or "(none)")
                )
        if state.alice_sid and state.alice_activity_before:
            activity = next(
                (
                    a
                    for a in self.ws.activities.list()
                    if a.friendly_name == state.alice_activity_before
                ),
                None,
            )
            if activity is not None:
                self.ws.workers(state.alice_sid).update(activity_sid=activity.sid)
                notes.append(f"moved {WORKER} back to {state.alice_activity_before}")
        return notes

    def _remove_task(self, sid: str) -> str:
        task = self.ws.tasks(sid).fetch()
        status = str(task.assignment_status)
        if status in ("pending", "reserved"):
            self.ws.tasks(sid).update(assignment_status="canceled", reason="trcli tutorial cleanup")
        elif status in ("assigned", "wrapping"):
            self.ws.tasks(sid).update(
                assignment_status="completed", reason="trcli tutorial cleanup"
            )
        self.ws.tasks(sid).delete()
        return f"removed task {sid}"
