"""Statistics endpoints through the real twilio SDK after a known lifecycle on a FakeClock.

Lifecycle (``lifecycle`` fixture, times from the FakeClock's start): t=0 Task A (priority 5)
and t=10 Task B (priority 0) enter the Spanish queue; t=30 Alice goes Idle and is reserved for
A; t=40 she accepts (A waited 40 s); t=50 B is canceled (waited 40 s); t=60 A is completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.fixtures.sandbox import FAKE_START
from tests.sandbox_api.util import ES_TASK, Quickstart, Raw, quickstart

SPANISH = "Customer Care Requests - Spanish"
ENGLISH = "Customer Care Requests - English"
ZERO = {"avg": 0, "min": 0, "max": 0, "total": 0}
FORTY = {"avg": 40, "min": 40, "max": 40, "total": 40}


@dataclass
class Lifecycle:
    qs: Quickstart
    task_a: str
    task_b: str
    reservation: str


class Body:
    """The bulk request body: the SDK sends ``to_dict()`` as JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def by_name(items: list[dict[str, Any]], field: str = "workers") -> dict[str, Any]:
    return {item["friendly_name"]: item[field] for item in items}


def two_waiting(sandbox: Any, sdk_client: Any) -> tuple[Quickstart, str, str]:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    a = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid, priority=5).sid
    sandbox.advance(10)
    b = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid).sid
    sandbox.advance(20)
    return qs, a, b


@pytest.fixture
def lifecycle(sandbox: Any, sdk_client: Any) -> Lifecycle:
    qs, a, b = two_waiting(sandbox, sdk_client)
    qs.set_activity("Alice", "Idle")
    sandbox.advance(10)
    [reservation] = qs.ws.tasks(a).reservations.list()
    qs.ws.tasks(a).reservations(reservation.sid).update(reservation_status="accepted")
    sandbox.advance(10)
    qs.ws.tasks(b).update(assignment_status="canceled", reason="caller hung up")
    sandbox.advance(10)
    qs.ws.tasks(a).update(assignment_status="completed", reason="done")
    return Lifecycle(qs, a, b, reservation.sid)


def test_real_time_statistics_of_waiting_tasks(sandbox: Any, sdk_client: Any) -> None:
    qs, a, _ = two_waiting(sandbox, sdk_client)
    ws = qs.ws.real_time_statistics().fetch()
    assert ws.tasks_by_status == {
        "pending": 2,
        "reserved": 0,
        "assigned": 0,
        "wrapping": 0,
        "completed": 0,
        "canceled": 0,
    }
    assert ws.total_tasks == 2
    assert ws.tasks_by_priority == {"0": 1, "5": 1}
    assert (ws.longest_task_waiting_sid, ws.longest_task_waiting_age) == (a, 30)
    assert ws.total_workers == 2
    assert by_name(ws.activity_statistics) == {"Offline": 2, "Idle": 0, "Reserved": 0, "Busy": 0}

    queue = qs.ws.task_queues(qs.queues[SPANISH]).real_time_statistics().fetch()
    assert queue.task_queue_sid == qs.queues[SPANISH]
    assert queue.tasks_by_status == {"pending": 2, "reserved": 0, "assigned": 0, "wrapping": 0}
    assert (queue.total_eligible_workers, queue.total_available_workers) == (1, 0)
    assert (queue.longest_relative_task_sid_in_queue, queue.longest_relative_task_age_in_queue) == (
        a,
        30,
    )
    assert by_name(queue.activity_statistics)["Offline"] == 1
    english = qs.ws.task_queues(qs.queues[ENGLISH]).real_time_statistics().fetch()
    assert (english.total_tasks, english.total_eligible_workers) == (0, 2)
    assert english.longest_task_waiting_sid is None

    flow = qs.ws.workflows(qs.workflow_sid).real_time_statistics().fetch()
    assert (flow.workflow_sid, flow.total_tasks, flow.longest_task_waiting_age) == (
        qs.workflow_sid,
        2,
        30,
    )

    qs.set_activity("Bob", "Idle")
    workers = qs.ws.workers.real_time_statistics().fetch()
    assert workers.total_workers == 2
    expected = {"Offline": 1, "Idle": 1, "Reserved": 0, "Busy": 0}
    assert by_name(workers.activity_statistics) == expected
    queue = qs.ws.task_queues(qs.queues[ENGLISH]).real_time_statistics().fetch()
    assert queue.total_available_workers == 1


def test_cumulative_statistics_count_the_lifecycle(sandbox: Any, lifecycle: Lifecycle) -> None:
    qs = lifecycle.qs
    ws = qs.ws.cumulative_statistics().fetch(split_by_wait_time="30,60")
    assert ws.start_time == FAKE_START + timedelta(seconds=60) - timedelta(minutes=15)
    assert ws.end_time == FAKE_START + timedelta(seconds=60)
    assert (ws.tasks_created, ws.tasks_canceled, ws.tasks_completed, ws.tasks_deleted) == (
        2,
        1,
        1,
        0,
    )
    assert (ws.reservations_created, ws.reservations_accepted, ws.reservations_rejected) == (
        1,
        1,
        0,
    )
    assert (ws.reservations_timed_out, ws.reservations_canceled, ws.reservations_rescinded) == (
        0,
        0,
        0,
    )
    assert ws.avg_task_acceptance_time == 40
    assert ws.wait_duration_until_accepted == FORTY
    assert ws.wait_duration_until_canceled == FORTY
    assert ws.split_by_wait_time == {
        "30": {
            "below": {"reservations_accepted": 0, "tasks_canceled": 0},
            "above": {"reservations_accepted": 1, "tasks_canceled": 1},
        },
        "60": {
            "below": {"reservations_accepted": 1, "tasks_canceled": 1},
            "above": {"reservations_accepted": 0, "tasks_canceled": 0},
        },
    }

    spanish = qs.ws.task_queues(qs.queues[SPANISH]).cumulative_statistics().fetch()
    assert (spanish.tasks_entered, spanish.reservations_accepted, spanish.tasks_moved) == (2, 1, 0)
    assert spanish.wait_duration_in_queue_until_accepted == FORTY
    assert spanish.split_by_wait_time is None
    english = qs.ws.task_queues(qs.queues[ENGLISH]).cumulative_statistics().fetch()
    assert (english.tasks_entered, english.reservations_created) == (0, 0)
    assert english.wait_duration_until_accepted == ZERO

    flow = qs.ws.workflows(qs.workflow_sid).cumulative_statistics().fetch()
    assert (flow.tasks_entered, flow.tasks_completed, flow.tasks_timed_out_in_workflow) == (2, 1, 0)

    workers = qs.ws.workers.cumulative_statistics().fetch()
    assert (workers.reservations_created, workers.reservations_accepted) == (1, 1)
    durations = by_name(workers.activity_durations, "total")
    assert durations == {"Offline": 30, "Idle": 0, "Reserved": 10, "Busy": 0}
    bob = qs.worker("Bob").statistics().fetch()
    assert bob.worker_sid == qs.workers["Bob"]
    assert bob.cumulative["reservations_created"] == 0


def test_the_window_follows_minutes_start_and_end(sandbox: Any, lifecycle: Lifecycle) -> None:
    qs = lifecycle.qs
    sandbox.advance(20 * 60)
    assert qs.ws.cumulative_statistics().fetch().tasks_created == 0
    assert qs.ws.cumulative_statistics().fetch(minutes=30).tasks_created == 2
    early = qs.ws.cumulative_statistics().fetch(
        start_date=FAKE_START, end_date=FAKE_START + timedelta(seconds=35)
    )
    assert (early.tasks_created, early.reservations_created, early.reservations_accepted) == (
        2,
        1,
        0,
    )
    assert early.start_time == FAKE_START
    late = qs.ws.cumulative_statistics().fetch(start_date=FAKE_START + timedelta(seconds=45))
    assert (late.tasks_created, late.tasks_canceled, late.tasks_completed) == (0, 1, 1)


def test_timeouts_and_rejections_are_counted(sandbox: Any, sdk_client: Any) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    task = qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid).sid
    qs.set_activity("Alice", "Idle")
    sandbox.advance(1200)
    [timed_out] = qs.ws.tasks(task).reservations.list()
    assert timed_out.reservation_status == "timeout"
    qs.set_activity("Alice", "Idle")
    [second] = [r for r in qs.ws.tasks(task).reservations.list() if r.sid != timed_out.sid]
    qs.ws.tasks(task).reservations(second.sid).update(reservation_status="rejected")
    # Alice stays Idle after rejecting, so the Task is offered to her a third time.
    statuses = sorted(r.reservation_status for r in qs.ws.tasks(task).reservations.list())
    assert statuses == ["pending", "rejected", "timeout"]
    stats = qs.ws.task_queues(qs.queues[SPANISH]).cumulative_statistics().fetch(minutes=60)
    assert (stats.reservations_created, stats.reservations_timed_out) == (3, 1)
    assert (stats.reservations_rejected, stats.reservations_accepted) == (1, 0)
    assert qs.ws.real_time_statistics().fetch().longest_task_waiting_age == 1200


def test_statistics_nest_realtime_and_cumulative(sandbox: Any, lifecycle: Lifecycle) -> None:
    qs = lifecycle.qs
    ws = qs.ws.statistics().fetch(minutes=5)
    assert ws.realtime["tasks_by_status"]["completed"] == 1
    assert ws.cumulative["tasks_created"] == 2
    assert ws.cumulative["end_time"] == "2024-01-01T12:01:00Z"
    assert ws.cumulative["start_time"] == "2024-01-01T11:56:00Z"
    queue = qs.ws.task_queues(qs.queues[SPANISH]).statistics().fetch()
    assert queue.realtime["total_eligible_workers"] == 1
    assert queue.cumulative["reservations_accepted"] == 1
    flow = qs.ws.workflows(qs.workflow_sid).statistics().fetch()
    assert (flow.realtime["total_tasks"], flow.cumulative["tasks_canceled"]) == (2, 1)
    workers = qs.ws.workers.statistics().fetch(task_queue_sid=qs.queues[SPANISH])
    assert workers.realtime["total_workers"] == 1
    assert by_name(workers.realtime["activity_statistics"])["Busy"] == 1
    everyone = qs.ws.workers.statistics().fetch()
    assert everyone.realtime["total_workers"] == 2


def test_task_queue_list_and_bulk(sandbox: Any, lifecycle: Lifecycle) -> None:
    qs = lifecycle.qs
    listed = qs.ws.task_queues.statistics.list(page_size=1)
    assert [s.task_queue_sid for s in listed] == [qs.queues[SPANISH], qs.queues[ENGLISH]]
    assert listed[0].cumulative["tasks_entered"] == 2
    named = qs.ws.task_queues.statistics.list(friendly_name=ENGLISH)
    assert [s.task_queue_sid for s in named] == [qs.queues[ENGLISH]]

    sids = [qs.queues[ENGLISH], qs.queues[SPANISH]]
    bulk = qs.ws.task_queues.bulk_real_time_statistics.create(body=Body({"TaskQueueSids": sids}))
    assert bulk.task_queue_response_count == 2
    assert [d["task_queue_sid"] for d in bulk.task_queue_data] == sids
    assert [d["total_eligible_workers"] for d in bulk.task_queue_data] == [2, 1]


def test_task_channel_narrows_tasks(sandbox: Any, sdk_client: Any) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid, task_channel="voice")
    qs.ws.tasks.create(attributes=ES_TASK, workflow_sid=qs.workflow_sid)
    assert qs.ws.real_time_statistics().fetch().total_tasks == 2
    assert qs.ws.real_time_statistics().fetch(task_channel="voice").total_tasks == 1
    assert qs.ws.cumulative_statistics().fetch(task_channel="voice").tasks_created == 1


def sdk_error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def test_bad_requests_are_one_clear_line(sandbox: Any, sdk_client: Any) -> None:
    qs = quickstart(sdk_client, sandbox.workspace_sid)
    error = sdk_error(lambda: qs.ws.cumulative_statistics().fetch(split_by_wait_time="5,x"))
    assert error.status == 400 and "SplitByWaitTime" in error.msg
    error = sdk_error(
        lambda: qs.ws.cumulative_statistics().fetch(
            start_date=FAKE_START, end_date=FAKE_START - timedelta(seconds=1)
        )
    )
    assert error.status == 400 and "StartDate" in error.msg
    error = sdk_error(lambda: qs.ws.cumulative_statistics().fetch(minutes=0))
    assert error.status == 400 and "Minutes" in error.msg
    error = sdk_error(lambda: qs.ws.cumulative_statistics().fetch(minutes=10**12))
    assert error.status == 400 and "before 1970" in error.msg
    error = sdk_error(lambda: qs.ws.real_time_statistics().fetch(task_channel="fax"))
    assert error.status == 400 and "fax" in error.msg
    error = sdk_error(lambda: qs.ws.task_queues("WQ" + "0" * 32).statistics().fetch())
    assert error.status == 404
    error = sdk_error(
        lambda: qs.ws.task_queues.bulk_real_time_statistics.create(body=Body({"TaskQueueSids": []}))
    )
    assert error.status == 400 and "TaskQueueSids" in error.msg
    error = sdk_error(
        lambda: qs.ws.task_queues.bulk_real_time_statistics.create(
            body=Body({"TaskQueueSids": ["WQ" + "0" * 32]})
        )
    )
    assert error.status == 400 and "WQ" + "0" * 32 in error.msg


def test_bulk_body_forms(sandbox: Any) -> None:
    raw = Raw(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)
    path = f"/v1/Workspaces/{sandbox.workspace_sid}/TaskQueues/RealTimeStatistics"
    queues = sandbox.service.list("task_queue", {"workspace_sid": sandbox.workspace_sid}).records
    answer = raw.post(path, data=[("TaskQueueSids", q["sid"]) for q in queues])
    assert answer.status_code == 200
    assert answer.json()["task_queue_response_count"] == 2
    answer = raw.post(path, data="not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    answer = raw.post(path, data="x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
