"""Fixtures of the sandbox-core tests: a service on an in-memory store with a FakeClock, and a
real loopback aiohttp server (127.0.0.1, port 0) that plays the app receiving callbacks."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from taskrouter_cli.sandbox.clock import FakeClock
from taskrouter_cli.sandbox.service import SandboxService
from taskrouter_cli.sandbox.store import SqliteStore

Reply = Callable[[dict[str, str]], web.StreamResponse]


@dataclass
class Received:
    url: str
    form: dict[str, str]
    signature: str | None


@dataclass
class CallbackServer:
    """Answers POSTs on any path with ``replies[path](form)`` (default: ``{}`` as JSON)."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)
    hold: dict[str, float] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str, reply: Reply) -> str:
        self.replies[path] = reply
        return self.url(path)

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.received if r.url == self.url(path)]


def json_reply(body: Any) -> Reply:
    return lambda form: web.json_response(body)


def text_reply(text: str, content_type: str = "text/plain", status: int = 200) -> Reply:
    return lambda form: web.Response(text=text, content_type=content_type, status=status)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(clock: FakeClock) -> Iterator[SandboxService]:
    svc = SandboxService(SqliteStore(":memory:"), clock)
    yield svc
    svc.close()


@pytest.fixture
def quickstart(service: SandboxService) -> dict[str, Any]:
    """The seeded tutorial workspace, with its SIDs by name."""
    workspace = service.seed_quickstart()
    assert workspace is not None
    scope = {"workspace_sid": workspace["sid"]}
    return {
        "scope": scope,
        "ws": workspace,
        "activities": {
            a["friendly_name"]: a["sid"] for a in service.list("activity", scope).records
        },
        "workers": {w["friendly_name"]: w["sid"] for w in service.list("worker", scope).records},
        "queues": {q["friendly_name"]: q["sid"] for q in service.list("task_queue", scope).records},
        "workflow": service.list("workflow", scope).records[0]["sid"],
    }


@pytest.fixture
def callback_server() -> Iterator[CallbackServer]:
    server = CallbackServer()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: dict[str, web.AppRunner] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        url = f"{server.base_url}{request.path_qs}"
        server.received.append(Received(url, form, request.headers.get("X-Twilio-Signature")))
        delay = server.hold.get(request.path)
        if delay:
            await asyncio.sleep(delay)
        reply = server.replies.get(request.path, json_reply({}))
        return reply(form)

    async def start() -> None:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server.base_url = f"http://127.0.0.1:{port}"
        runner_box["runner"] = runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield server
    asyncio.run_coroutine_threadsafe(runner_box["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def make_task(
    service: SandboxService, qs: dict[str, Any], language: str = "es", **extra: Any
) -> dict[str, Any]:
    params = {
        "attributes": json.dumps({"selected_language": language}),
        "workflow_sid": qs["workflow"],
    }
    params.update(extra)
    return service.create("task", qs["scope"], params)


def set_activity(
    service: SandboxService, qs: dict[str, Any], worker: str, activity: str
) -> dict[str, Any]:
    return service.update(
        "worker", qs["scope"], qs["workers"][worker], {"activity_sid": qs["activities"][activity]}
    )


def reservations(
    service: SandboxService, qs: dict[str, Any], task_sid: str
) -> list[dict[str, Any]]:
    return service.list("reservation", {**qs["scope"], "task_sid": task_sid}).records


def reserved_for_alice(
    service: SandboxService, qs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Spanish task, Alice made Idle, and the one reservation that offers it to her."""
    task = make_task(service, qs)
    set_activity(service, qs, "Alice", "Idle")
    [res] = reservations(service, qs, task["sid"])
    return task, res


def accept(
    service: SandboxService, qs: dict[str, Any], task: dict[str, Any], res: dict[str, Any]
) -> dict[str, Any]:
    """Accept ``res`` through the task's reservations (the REST path)."""
    scope = {**qs["scope"], "task_sid": task["sid"]}
    return service.update("reservation", scope, res["sid"], {"reservation_status": "accepted"})
