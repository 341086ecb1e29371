"""CRUD semantics: defaults, validation messages, uniqueness, limits, paging, filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from taskrouter_cli.sandbox.errors import TaskRouterError
from taskrouter_cli.sandbox.service import SandboxService


def error(call: Callable[[], Any]) -> TaskRouterError:
    with pytest.raises(TaskRouterError) as info:
        call()
    return info.value


@pytest.fixture
def ws(service: SandboxService) -> dict[str, str]:
    return {"workspace_sid": service.create("workspace", {}, {"friendly_name": "w"})["sid"]}


def test_new_workspace_defaults(service: SandboxService, ws: dict[str, str]) -> None:
    workspace = service.fetch("workspace", {}, ws["workspace_sid"])
    assert workspace["multi_task_enabled"] is True
    assert workspace["default_activity_name"] == "Offline"
    activities = {a["friendly_name"]: a["available"] for a in service.list("activity", ws).records}
    assert activities == {"Offline": False, "Available": True, "Unavailable": False}
    channels = [c["unique_name"] for c in service.list("task_channel", ws).records]
    assert channels == ["default", "voice", "sms", "chat", "video"]
    worker = service.create("worker", ws, {"friendly_name": "a"})
    assert worker["activity_name"] == "Offline" and worker["attributes"] == "{}"
    wc = service.list("worker_channel", {**ws, "worker_sid": worker["sid"]}).records
    assert len(wc) == 5 and {c["configured_capacity"] for c in wc} == {1}


def test_fifo_template(service: SandboxService) -> None:
    scope = {
        "workspace_sid": service.create(
            "workspace", {}, {"friendly_name": "f", "template": "FIFO"}
        )["sid"]
    }
    assert [q["friendly_name"] for q in service.list("task_queue", scope).records] == [
        "Sample Queue"
    ]
    assert [w["friendly_name"] for w in service.list("workflow", scope).records] == [
        "Default Fifo Workflow"
    ]
    task = service.create("task", scope, {})  # the only workflow is used
    routed = service.fetch("task", scope, task["sid"])
    assert routed["task_queue_friendly_name"] == "Sample Queue"


def test_validation_messages(service: SandboxService, ws: dict[str, str]) -> None:
    service.create("worker", ws, {"friendly_name": "Alice"})
    assert (
        "already exists"
        in error(lambda: service.create("worker", ws, {"friendly_name": "alice"})).message
    )
    big = json.dumps({"x": "y" * 5000})
    assert (
        "4096"
        in error(
            lambda: service.create("worker", ws, {"friendly_name": "b", "attributes": big})
        ).message
    )
    assert (
        "not valid JSON"
        in error(
            lambda: service.create("worker", ws, {"friendly_name": "b", "attributes": "{"})
        ).message
    )
    bad_sid = error(
        lambda: service.create("worker", ws, {"friendly_name": "b", "activity_sid": "XX1"})
    )
    assert bad_sid.status == 400 and "ActivitySid" in bad_sid.message
    absent = error(
        lambda: service.create(
            "worker", ws, {"friendly_name": "b", "activity_sid": "WA" + "0" * 32}
        )
    )
    assert absent.status == 400 and "ActivitySid" in absent.message
    expr = error(
        lambda: service.create("task_queue", ws, {"friendly_name": "q", "target_workers": "a == "})
    )
    assert expr.status == 400 and "position" in expr.message
    config = error(
        lambda: service.create("workflow", ws, {"friendly_name": "wf", "configuration": "{}"})
    )
    assert config.status == 400 and "Configuration" in config.message
    missing_queue = json.dumps({"task_routing": {"default_filter": {"queue": "WQ" + "1" * 32}}})
    assert (
        "does not exist"
        in error(
            lambda: service.create(
                "workflow", ws, {"friendly_name": "wf", "configuration": missing_queue}
            )
        ).message
    )
    assert error(lambda: service.fetch("worker", ws, "WK" + "0" * 32)).status == 404


def test_activity_rules(service: SandboxService, ws: dict[str, str]) -> None:
    activity = service.create("activity", ws, {"friendly_name": "Lunch", "available": False})
    assert (
        "Available"
        in error(
            lambda: service.update("activity", ws, activity["sid"], {"available": True})
        ).message
    )
    worker = service.create("worker", ws, {"friendly_name": "a", "activity_sid": activity["sid"]})
    assert "in use" in error(lambda: service.delete("activity", ws, activity["sid"])).message
    service.update("activity", ws, activity["sid"], {"friendly_name": "Break"})
    assert service.fetch("worker", ws, worker["sid"])["activity_name"] == "Break"
    for i in range(96):
        service.create("activity", ws, {"friendly_name": f"a{i}"})
    assert (
        "100"
        in error(lambda: service.create("activity", ws, {"friendly_name": "one too many"})).message
    )


def test_worker_filters_and_paging(service: SandboxService, ws: dict[str, str]) -> None:
    available = next(a["sid"] for a in service.list("activity", ws).records if a["available"])
    for i in range(5):
        service.create(
            "worker",
            ws,
            {
                "friendly_name": f"w{i}",
                "attributes": json.dumps({"level": i}),
                "activity_sid": available if i % 2 else None,
            },
        )
    assert [
        w["friendly_name"] for w in service.list("worker", ws, {"available": "true"}).records
    ] == ["w1", "w3"]
    high = service.list("worker", ws, {"target_workers_expression": "level >= 3"}).records
    assert [w["friendly_name"] for w in high] == ["w3", "w4"]
    page = service.list("worker", ws, {}, page_size=2)
    seen = [w["friendly_name"] for w in page.records]
    while page.next_page_token:
        page = service.list("worker", ws, {}, page_size=2, page_token=page.next_page_token)
        seen += [w["friendly_name"] for w in page.records]
    assert seen == ["w0", "w1", "w2", "w3", "w4"] and page.page == 2
    ordered = service.list("worker", ws, {"ordering": "FriendlyName:desc"}).records
    assert ordered[0]["friendly_name"] == "w4"
    assert error(lambda: service.list("worker", ws, {}, page_token="garbage")).status == 400


def test_task_filters(service: SandboxService, ws: dict[str, str]) -> None:
    queue = service.create("task_queue", ws, {"friendly_name": "q"})
    config = json.dumps({"task_routing": {"default_filter": {"queue": queue["sid"]}}})
    service.create("workflow", ws, {"friendly_name": "wf", "configuration": config})
    for priority in (1, 5):
        service.create(
            "task", ws, {"priority": priority, "attributes": json.dumps({"p": priority})}
        )
    assert (
        len(service.list("task", ws, {"assignment_status": ["pending", "reserved"]}).records) == 2
    )
    assert len(service.list("task", ws, {"priority": 5}).records) == 1
    assert len(service.list("task", ws, {"evaluate_task_attributes": "p > 2"}).records) == 1
    assert len(service.list("task", ws, {"task_queue_name": "q"}).records) == 2
    first = service.list("task", ws, {"ordering": "Priority:desc"}).records[0]
    assert first["priority"] == 5
    task = service.list("task", ws).records[0]
    both = error(
        lambda: service.update(
            "task", ws, task["sid"], {"assignment_status": "canceled", "attributes": "{}"}
        )
    )
    assert both.status == 400
    etag = service.etag("task", ws, task["sid"])
    assert (
        error(
            lambda: service.update("task", ws, task["sid"], {"priority": 3}, if_match="nope")
        ).status
        == 412
    )
    service.update("task", ws, task["sid"], {"priority": 3}, if_match=etag)


def test_a_refused_update_changes_nothing_in_memory_or_in_the_store(
    service: SandboxService, ws: dict[str, str]
) -> None:
    before = service.fetch("task_channel", ws, "chat")
    refused = error(
        lambda: service.update(
            "task_channel",
            ws,
            "chat",
            {"friendly_name": "Renamed", "channel_optimized_routing": [1]},
        )
    )
    assert refused.status == 400 and "ChannelOptimizedRouting" in refused.message
    assert service.fetch("task_channel", ws, "chat")["friendly_name"] == before["friendly_name"]
    service.state.load()  # what the store holds
    assert service.fetch("task_channel", ws, "chat")["friendly_name"] == before["friendly_name"]
