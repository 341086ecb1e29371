"""``trcli serve --forward-to``: the user's own handler answers, trcli checks, re-signs and logs.

End to end through the sandbox: the tutorial's assignment.php under ``php -S`` and a Python
handler that validates signatures with the SDK's RequestValidator. The failure paths (handler
down, failing, too slow) answer 502 with one log line; the timeout is driven by a timer the
test fires, not by waiting four seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from taskrouter_cli.callbacks.forward import Forwarder
from taskrouter_cli.callbacks.log import (
    CallbackRecorder,
    callback_log_path,
    read_records,
    render_live,
)
from taskrouter_cli.callbacks.wiring import CallbackWiring
from taskrouter_cli.cli import cli
from taskrouter_cli.errors import ExitCode
from tests.serve.conftest import TOKEN, Running, assignment_params, start_server
from tests.serve.handlers import TUTORIAL_ACCEPT_PHP, PhpHandler, ValidatingHandler, free_port
from tests.serve.test_cli_serve import ServeProcess
from tests.serve.test_sandbox_flows import WORKFLOW, Quickstart


@pytest.fixture
def quickstart(sandbox: Any, sdk_client: Any) -> Quickstart:
    return Quickstart(sandbox, sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid))


@pytest.fixture
def php(tmp_path: Path) -> Iterator[PhpHandler]:
    handler = PhpHandler(tmp_path)
    try:
        yield handler
    finally:
        handler.stop()


@pytest.fixture
def php_accepting(tmp_path: Path) -> Iterator[PhpHandler]:
    handler = PhpHandler(tmp_path, TUTORIAL_ACCEPT_PHP)
    try:
        yield handler
    finally:
        handler.stop()


class ForwardingServe:
    """A CallbackServer forwarding to ``url``, with the quickstart Workflow pointed at it."""

    def __init__(self, quickstart: Quickstart, forwarder: Forwarder) -> None:
        self.quickstart = quickstart
        self.recorder = CallbackRecorder(callback_log_path(), live="off")
        config = ServerConfig(port=0, auth_token=quickstart.sandbox.auth_token, forwarder=forwarder)
        self.server = CallbackServer(config, recorder=self.recorder)
        self.wiring = CallbackWiring(quickstart.workspace)

    def __enter__(self) -> ForwardingServe:  # noqa: PYI034 - typing.Self needs 3.11
        self.server.start()
        self.wiring.point_workflow(
            self.quickstart.sid("workflows", WORKFLOW), self.server.assignment_url
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.wiring.restore()
        self.server.stop()

    def records(self) -> list[Any]:
        self.quickstart.sandbox.flush()
        assert self.recorder.flush(5)
        return read_records(callback_log_path())[0]


def test_the_tutorials_assignment_php_defers_and_the_reservation_waits(
    quickstart: Quickstart, php: PhpHandler
) -> None:
    forwarder = Forwarder(php.url, quickstart.sandbox.auth_token)
    with ForwardingServe(quickstart, forwarder) as serve:
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = serve.records()
    assert (record.status, record.signature, record.task_sid) == (200, "valid", task.sid)
    assert record.forwarded_to == php.url
    assert record.handler_status == 200
    assert record.handler_content_type is not None
    assert record.handler_content_type.startswith("application/json")
    assert (record.reply, record.instruction) == ({}, "defer")
    assert record.handler_ms is not None and record.handler_ms > 0
    [reservation] = quickstart.reservations(task.sid)
    assert reservation.reservation_status == "pending"
    assert record.next_command == f"trcli reservation accept {reservation.sid}"


def test_the_tutorials_accepting_php_assigns_the_task(
    quickstart: Quickstart, php_accepting: PhpHandler
) -> None:
    forwarder = Forwarder(php_accepting.url, quickstart.sandbox.auth_token)
    with ForwardingServe(quickstart, forwarder) as serve:
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = serve.records()
    assert (record.reply, record.instruction) == ({"instruction": "accept"}, "accept")
    [reservation] = quickstart.reservations(task.sid)
    assert reservation.reservation_status == "accepted"
    assert quickstart.workspace.tasks(task.sid).fetch().assignment_status == "assigned"


def test_a_handler_validating_signatures_accepts_the_re_signed_callback(
    quickstart: Quickstart,
) -> None:
    handler = ValidatingHandler(quickstart.sandbox.auth_token)
    try:
        forwarder = Forwarder(handler.url, quickstart.sandbox.auth_token)
        with ForwardingServe(quickstart, forwarder) as serve:
            task = quickstart.create_task("es")
            quickstart.set_activity("Alice", "Idle")
            [record] = serve.records()
    finally:
        handler.stop()
    [seen] = handler.seen
    assert seen["valid"] is True
    assert seen["path"] == "/hooks/assignment?source=trcli"
    assert seen["form"]["TaskSid"] == task.sid
    assert seen["form"]["TaskAttributes"] == '{"selected_language": "es"}'
    assert record.handler_status == 200 and record.instruction == "accept"
    [reservation] = quickstart.reservations(task.sid)
    assert reservation.reservation_status == "accepted"


def test_the_handlers_status_type_and_body_go_back_unchanged(running: Running) -> None:
    handler = ValidatingHandler("another-token-entirely-000000000")
    try:
        running.server.config.forwarder = Forwarder(handler.url, TOKEN)
        response = running.post(assignment_params())
    finally:
        handler.stop()
        running.server.config.forwarder = None
    assert handler.seen[0]["valid"] is False  # signed with our token, checked with another
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == b'{"no": 1}'
    [record] = running.records()
    assert (record.status, record.handler_status, record.reply) == (403, 403, {"no": 1})
    shown = CliRunner().invoke(cli, ["callbacks", "show", "last"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert 'handler 403 {"no": 1}' in shown.stdout
    assert f"{handler.url} (" in shown.stdout


def test_a_handler_that_is_down_gets_taskrouter_a_502_and_one_log_line(
    running: Running,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/assignment.php"
    running.server.config.forwarder = Forwarder(url, TOKEN)
    response = running.post(assignment_params())
    assert response.status_code == 502
    assert response.json()["error"].startswith(f"Handler {url} is not reachable")
    [record] = running.records()
    assert record.status == 502 and record.handler_status is None
    line = render_live(record)
    assert "\n" not in line
    assert f"502 assignment[/red]  Handler {url} is not reachable" in line
    assert "answered TaskRouter 502" in line


def test_a_handler_answering_500_gets_taskrouter_a_502(tmp_path: Path, running: Running) -> None:
    broken = PhpHandler(tmp_path, "<?php\nhttp_response_code(500);\necho 'Fatal: no database';\n")
    try:
        running.server.config.forwarder = Forwarder(broken.url, TOKEN)
        response = running.post(assignment_params())
    finally:
        broken.stop()
    assert response.status_code == 502
    [record] = running.records()
    assert record.error is not None
    assert f"Handler {broken.url} failed with 500: Fatal: no database" in record.error


class ManualTimer:
    """Stands in for ``asyncio.sleep(timeout)``: the test says when the time is up."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.seconds: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._future = self._loop.create_future()
        self.armed.set()
        await self._future

    def expire(self) -> None:
        assert self._loop is not None and self._future is not None
        future = self._future
        self._loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))


def test_a_handler_slower_than_4_seconds_gets_taskrouter_a_502(running: Running) -> None:
    handler = ValidatingHandler(TOKEN)
    handler.hang = True
    timer = ManualTimer()
    running.server.config.forwarder = Forwarder(handler.url, TOKEN, expired=timer)
    answers: list[Any] = []
    poster = threading.Thread(target=lambda: answers.append(running.post(assignment_params())))
    try:
        poster.start()
        assert timer.armed.wait(5) and handler.arrived.wait(5)
        assert timer.seconds == 4.0
        assert not answers  # the handler is still thinking
        timer.expire()
        poster.join(5)
    finally:
        handler.stop()
    [response] = answers
    assert response.status_code == 502
    [record] = running.records()
    assert record.error is not None
    assert record.error.startswith(f"Handler {handler.url} did not answer within 4 s")


def test_the_live_log_shows_the_handlers_reply_and_latency(
    quickstart: Quickstart, php: PhpHandler
) -> None:
    with ForwardingServe(quickstart, Forwarder(php.url, quickstart.sandbox.auth_token)) as serve:
        quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        [record] = serve.records()
    shown = render_live(record)
    assert f"handler [green]200 {record.handler_content_type} {{}}[/green]" in shown
    assert f"{record.handler_ms:.1f} ms  ← {php.url}" in shown
    assert "next: [bold]trcli reservation accept" in shown


def test_serve_forward_to_runs_end_to_end_from_the_command_line(
    quickstart: Quickstart, sandbox: Any, php: PhpHandler
) -> None:
    serve = ServeProcess(["--point", WORKFLOW, "--forward-to", php.url], sandbox.env)
    try:
        started = serve.next_json()
        assert started["reply"].startswith(f"from your handler at {php.url}")
        task = quickstart.create_task("es")
        quickstart.set_activity("Alice", "Idle")
        sandbox.flush()
        record = serve.wait_for_assignment()
    finally:
        code, stderr = serve.stop()
    assert code == 0, stderr
    assert record["task_sid"] == task.sid
    assert (record["handler_status"], record["reply"]) == (200, {})
    assert quickstart.reservations(task.sid)[0].reservation_status == "pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--forward-to", "localhost:8080/assignment.php"], "needs an absolute http(s) URL"),
        (
            ["--forward-to", "http://127.0.0.1:8080/", "--instruction", "accept"],
            "cannot be combined",
        ),
        (["--ui", "--workers", "2"], "--ui runs in one process"),
    ],
)
def test_forward_to_and_ui_start_up_errors_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "0", *args], env={})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unsigned_request_is_refused_before_anything_is_forwarded() -> None:
    handler = ValidatingHandler(TOKEN)
    handle = start_server(forwarder=Forwarder(handler.url, TOKEN))
    try:
        response = handle.post(assignment_params(), signature="bm90IGEgc2lnbmF0dXJl")
    finally:
        handler.stop()
        handle.http.close()
        handle.server.stop()
    assert response.status_code == 403
    assert handler.seen == []
