"""``trcli workflow test`` predicts what the sandbox then does with a real task.

For each row: the dry run (``--json``), then the same task created for real; the task's queue
and reservations must be what the dry run said, at age 0 and after each target timeout (the
FakeClock is moved to the age of every timeline step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.helpers.cli import Trcli
from tests.workflow_loop.conftest import ENGLISH, EVERYONE, LAB, SPANISH, Lab

QUICKSTART_WORKFLOW = "Incoming Customer Care Requests"


@dataclass(frozen=True)
class Row:
    name: str
    attributes: dict[str, Any]
    idle: tuple[str, ...]
    """Workers made Idle, in this order, 5 s apart (the first is the longest idle)."""
    hours_later: int = 0
    """Move the clock (12:00 UTC on a Monday) this many hours before the task is created."""
    expected: list[tuple[float, str, str | None, tuple[str, ...]]] = field(default_factory=list)
    """(age, event, queue, reserved) of every timeline step."""
    workflow: str = LAB
    timeout: int | None = None
    """The task's Timeout (TTL); TaskRouter's default (a day) when None."""


TIME_OF_DAY_ROWS = [
    Row(
        "office hours, Alice free: Spanish queue",
        {"selected_language": "es"},
        ("Alice", "Bob"),
        expected=[(0, "reserve", SPANISH, ("Alice",))],
    ),
    Row(
        "office hours, nobody free: both targets time out, then the workflow",
        {"selected_language": "es"},
        (),
        expected=[
            (0, "wait", SPANISH, ()),
            (30, "wait", ENGLISH, ()),
            (90, "workflow-timeout", None, ()),
        ],
    ),
    Row(
        "office hours, only Bob free: the second target reaches him after 30 s",
        {"selected_language": "es"},
        ("Bob",),
        expected=[(0, "wait", SPANISH, ()), (30, "reserve", ENGLISH, ("Bob",))],
    ),
    Row(
        "after hours: the next filter, highest level first",
        {"selected_language": "es"},
        ("Bob", "Alice"),
        hours_later=6,
        expected=[(0, "reserve", ENGLISH, ("Alice",))],
    ),
]
"""Rows where ``taskrouter.currentTime`` decides (the sandbox evaluates it on its clock)."""

ROWS = [
    *TIME_OF_DAY_ROWS,
    Row(
        "no filter matches: the default filter, longest idle first",
        {"selected_language": "fr"},
        ("Bob", "Alice"),
        expected=[(0, "reserve", EVERYONE, ("Bob",))],
    ),
    Row(
        "no filter and no default filter: canceled",
        {"selected_language": "fr"},
        ("Alice", "Bob"),
        expected=[(0, "no-match", None, ())],
        workflow=QUICKSTART_WORKFLOW,
    ),
    Row(
        "the default filter has no timeout: the task waits until its TTL",
        {"selected_language": "fr"},
        (),
        expected=[(0, "wait", EVERYONE, ()), (45, "ttl", None, ())],
        timeout=45,
    ),
    Row(
        "the TTL runs out before the targets do",
        {"type": "callback"},
        (),
        expected=[(0, "skipped", None, ()), (0, "wait", ENGLISH, ()), (30, "ttl", None, ())],
        timeout=30,
    ),
    Row(
        "known agent",
        {"agent": "Bob"},
        ("Alice", "Bob"),
        expected=[(0, "reserve", EVERYONE, ("Bob",))],
    ),
    Row(
        "skip_if passes over a queue with nobody available",
        {"type": "callback"},
        ("Bob",),
        expected=[(0, "skipped", None, ()), (0, "reserve", ENGLISH, ("Bob",))],
    ),
    Row(
        "skip_if, then the remaining target times out",
        {"type": "callback"},
        (),
        expected=[
            (0, "skipped", None, ()),
            (0, "wait", ENGLISH, ()),
            (40, "workflow-timeout", None, ()),
        ],
    ),
]


def observed(lab: Lab, task_sid: str) -> tuple[str, str | None, tuple[str, ...]]:
    task = lab.ws.tasks(task_sid).fetch()
    pending = tuple(
        sorted(
            str(r.worker_name)
            for r in lab.ws.tasks(task_sid).reservations.list()
            if r.reservation_status == "pending"
        )
    )
    queue = lab.queue_names.get(str(task.task_queue_sid)) if task.task_queue_sid else None
    return str(task.assignment_status), queue, pending


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_workflow_test_agrees_with_what_the_sandbox_does(
    row: Row, trcli: Trcli, sandbox: Any, routing_lab: Lab
) -> None:
    if row.hours_later:
        sandbox.advance(row.hours_later * 3600)
    for name in row.idle:
        trcli("worker", "set-activity", name, "Idle").ok()
        sandbox.settle()
        sandbox.advance(5)
    attributes = json.dumps(row.attributes)
    timeout = ("--timeout", str(row.timeout)) if row.timeout else ()
    dry = trcli("workflow", "test", row.workflow, "--attributes", attributes, *timeout, "--json")
    dry = dry.ok().json()
    steps = [
        (step["age"], step["event"], step["queue"], tuple(sorted(step["would_reserve"])))
        for step in dry["timeline"]
    ]
    assert steps == row.expected

    created = trcli(
        "task", "create", "--workflow", row.workflow, "--attributes", attributes, *timeout, "--json"
    )
    task_sid = created.ok().json()["sid"]
    sandbox.settle()
    age = 0.0
    priorities = [step["priority"] for step in dry["timeline"]]
    for (step_age, event, queue, reserved), step_priority in zip(steps, priorities, strict=True):
        if step_age > age:
            sandbox.advance(step_age - age)
            sandbox.settle()
            age = step_age
        if event == "skipped":
            continue
        status, actual_queue, pending = observed(routing_lab, task_sid)
        priority = routing_lab.ws.tasks(task_sid).fetch().priority
        if event == "reserve":
            assert (status, actual_queue, pending) == ("reserved", queue, reserved), step_age
            assert priority == step_priority
        elif event == "wait":
            assert (status, actual_queue, pending) == ("pending", queue, ()), step_age
            assert priority == step_priority
        else:
            assert status == "canceled", (step_age, status)
            reason = {
                "workflow-timeout": "Workflow Timeout",
                "no-match": "No matching filter",
                "ttl": "Task TTL Exceeded",
            }
            assert routing_lab.ws.tasks(task_sid).fetch().reason == reason[event]
    first = next(step for step in row.expected if step[1] != "skipped")
    assert dry["reserved_now"] == list(first[3] if first[:2] == (0, "reserve") else ())


MULTI = {
    "workspace": {"name": "Multi", "multi_task_enabled": True, "default_activity": "Offline"},
    "activities": [{"name": "Offline", "available": False}, {"name": "Idle", "available": True}],
    "task_channels": [{"unique_name": "chat", "name": "Chat"}],
    "queues": [{"name": "Chat", "target_workers": "1==1"}],
    "workers": [{"name": "Dana", "activity": "Idle", "attributes": {}, "channels": {"chat": 2}}],
    "workflows": [
        {
            "name": "Chats",
            "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "Chat"}}},
        }
    ],
}


def test_capacity_on_the_tasks_channel_in_a_multi_tasking_workspace(
    trcli: Trcli, sandbox: Any, sdk_client: Any, tmp_path: Any
) -> None:
    """Dana takes two chats at once (capacity 2 on the chat channel); the dry run counts her
    open tasks the way the sandbox does, and says when she is full."""
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(MULTI))
    applied = trcli("workspace", "apply", str(path), "--json").ok().json()
    ws = sdk_client.taskrouter.v1.workspaces(applied["workspace_sid"])
    env = {"TRCLI_WORKSPACE": applied["workspace_sid"]}

    def dry(channel: str) -> Any:
        args = ("workflow", "test", "Chats", "--attributes", "{}", "--channel", channel, "--json")
        return trcli(*args, env=env).ok().json()["targets"][0]["workers"][0]

    assert dry("voice")["capacity"] == "0/1 on voice"
    for used in range(3):
        worker = dry("chat")
        assert worker["capacity"] == f"{used}/2 on chat"
        assert worker["eligible"] is (used < 2)
        created = trcli(
            "task", "create", "--workflow", "Chats", "--channel", "chat", "--json", env=env
        )
        task_sid = created.ok().json()["sid"]
        sandbox.settle()
        status = ws.tasks(task_sid).fetch().assignment_status
        assert status == ("reserved" if used < 2 else "pending")
