"""Assignment callback targets that fail: down, slow, 500, garbage, cut mid-reply.

Documented outcome (behaviour doc §4.4): a failed primary URL is followed by the fallback URL;
when both fail the reservation is canceled (delivery failure 11200) and the task is offered
again. These tests drive the real sandbox over HTTP with the twilio SDK, with the assignment
callback timeout chosen per fault (``SandboxOptions.assignment_callback_timeout``) and
``max_assignment_count=2`` so a task whose callbacks always fail ends canceled after two offers
instead of being offered a thousand times.

The callback timeout is wall-clock time, so it is short only where running out is the fault under
test (``slow``, which never answers until released). A target that answers (``accept``, ``error``,
``garbage``, ``cut``) gets a timeout far above any loopback round trip: on a loaded machine a 0.5 s
timeout turned a quick ``500`` into "no answer" and let the fault server count the request only
after ``settle()`` had returned (seen as ``count('error') == 3``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.faults.faulty_target import FAULTS, FaultyTarget, down_url
from tests.fixtures.sandbox import FAKE_START, quickstart_workspace_sid, validating_http_client

ANSWER_TIMEOUT = 10.0
"""For targets that answer: never reached by a reply, however loaded the machine."""
SLOW_TIMEOUT = 2.0
"""For ``slow``: the timeout is the fault; long enough for the request to reach the target."""
ALL_FAULTS = ("down", *FAULTS)


@dataclass
class Rig:
    service: Any
    server: Any
    client: Any
    ws: Any
    target: FaultyTarget
    workflow_sid: str
    activities: dict[str, str]
    workers: dict[str, str]

    def url(self, fault: str) -> str:
        return down_url() if fault == "down" else self.target.url(fault)

    def route(self, primary: str, fallback: str | None) -> None:
        self.ws.workflows(self.workflow_sid).update(
            assignment_callback_url=self.url(primary),
            fallback_assignment_callback_url=self.url(fallback) if fallback else "",
        )

    def offer_task(self) -> str:
        task = self.ws.tasks.create(attributes=json.dumps({"selected_language": "es"}))
        self.ws.workers(self.workers["Alice"]).update(activity_sid=self.activities["Idle"])
        return str(task.sid)

    def flush(self) -> None:
        assert self.service.settle(20), "routing and callback deliveries did not finish"

    def reservations(self, task_sid: str) -> list[Any]:
        return list(self.ws.tasks(task_sid).reservations.list())


@contextmanager
def running_rig(callback_timeout: float) -> Iterator[Rig]:
    from twilio.rest import Client

    from taskrouter_cli.sandbox.clock import FakeClock
    from taskrouter_cli.sandbox.options import SandboxOptions
    from taskrouter_cli.sandbox.server import SandboxServer
    from taskrouter_cli.sandbox.service import SandboxService
    from taskrouter_cli.sandbox.store import SqliteStore

    options = SandboxOptions(assignment_callback_timeout=callback_timeout, max_assignment_count=2)
    service = SandboxService(SqliteStore(":memory:"), FakeClock(FAKE_START), options=options)
    service.seed_quickstart()
    server = SandboxServer(service).start()
    target = FaultyTarget().start()
    try:
        client = Client(
            service.account_sid,
            service.auth_token,
            http_client=validating_http_client(server.base_url),
        )
        client.region = None
        client.edge = None
        ws_sid = quickstart_workspace_sid(service)
        ws = client.taskrouter.v1.workspaces(ws_sid)
        yield Rig(
            service=service,
            server=server,
            client=client,
            ws=ws,
            target=target,
            workflow_sid=ws.workflows.list()[0].sid,
            activities={a.friendly_name: a.sid for a in ws.activities.list()},
            workers={w.friendly_name: w.sid for w in ws.workers.list()},
        )
    finally:
        target.stop()
        server.stop()


def callback_timeout(fault: str) -> float:
    return SLOW_TIMEOUT if fault == "slow" else ANSWER_TIMEOUT


def wait_for_hits(rig: Rig, fault: str, expected: int) -> int:
    """The target counts a request once it has read it, which may be after the sandbox gave up
    waiting (``slow``): poll, bounded, for the count to arrive."""
    deadline = time.monotonic() + 10
    while rig.target.count(fault) < expected and time.monotonic() < deadline:
        time.sleep(0.005)
    return rig.target.count(fault)


@pytest.fixture
def rig(fault: str) -> Iterator[Rig]:
    with running_rig(callback_timeout(fault)) as handle:
        yield handle


def assert_still_serving(rig: Rig) -> None:
    """A full lifecycle with a healthy callback still works after the faults (the fallback
    accepts too, in case a loaded machine makes the primary miss ``slow``'s short timeout)."""
    rig.route("accept", "accept")
    rig.ws.workers(rig.workers["Alice"]).update(activity_sid=rig.activities["Offline"])
    task_sid = rig.offer_task()
    rig.flush()
    assert rig.ws.tasks(task_sid).fetch().assignment_status == "assigned"


@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_both_urls_failing_cancel_the_reservation(rig: Rig, fault: str) -> None:
    rig.route(fault, fault)
    task_sid = rig.offer_task()
    rig.flush()

    reservations = rig.reservations(task_sid)
    assert [r.reservation_status for r in reservations] == ["canceled", "canceled"]
    task = rig.ws.tasks(task_sid).fetch()
    assert (task.assignment_status, task.reason) == ("canceled", "Max assignment count exceeded")
    alice = rig.ws.workers(rig.workers["Alice"]).fetch()
    assert alice.activity_name == "Idle"  # the canceled reservations gave Alice back

    attempts = [
        (d["reservation_sid"], d["attempt"], d["debugger_code"])
        for d in rig.service.deliveries()
        if d["kind"] == "assignment"
    ]
    expected = []
    for reservation in sorted(reservations, key=lambda r: r.date_created):
        expected += [(reservation.sid, step, 11200) for step in ("primary", "fallback", "gave-up")]
    assert sorted(attempts) == sorted(expected)
    failures = [d for d in rig.service.deliveries() if d["attempt"] in ("primary", "fallback")]
    assert all(d["outcome"].startswith("failed: ") for d in failures)
    if fault != "down":
        assert wait_for_hits(rig, fault, 4) == 4
    assert_still_serving(rig)


@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_a_failing_primary_falls_back(rig: Rig, fault: str) -> None:
    rig.route(fault, "accept")
    task_sid = rig.offer_task()
    rig.flush()

    [reservation] = rig.reservations(task_sid)
    assert reservation.reservation_status == "accepted"
    assert rig.ws.tasks(task_sid).fetch().assignment_status == "assigned"
    steps = [(d["attempt"], d["status"]) for d in rig.service.deliveries()]
    expected_primary_status = 500 if fault == "error" else None
    assert steps == [("primary", expected_primary_status), ("fallback", 200)]
    assert rig.target.count("accept") == 1


def test_a_callback_url_with_credentials_is_delivered_too() -> None:
    """A URL with user:password (Twilio accepts them for HTTP authentication) is not sent by the
    sandbox's own plain-HTTP client: aiohttp sends it, with the same outcome."""
    with running_rig(callback_timeout=ANSWER_TIMEOUT) as rig:
        url = rig.url("accept").replace("http://", "http://learner:secret@")
        rig.ws.workflows(rig.workflow_sid).update(assignment_callback_url=url)
        task_sid = rig.offer_task()
        rig.flush()
        assert rig.ws.tasks(task_sid).fetch().assignment_status == "assigned"
        [delivery] = rig.service.deliveries()
        assert (delivery["attempt"], delivery["status"]) == ("primary", 200)
        assert rig.target.count("accept") == 1


def test_the_api_answers_while_a_callback_hangs() -> None:
    hang = 10.0
    with running_rig(callback_timeout=hang) as rig:
        rig.route("slow", None)
        task_sid = rig.offer_task()
        deadline = time.monotonic() + 5
        while rig.target.count("slow") == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # bounded poll: the callback reached the target, which holds it
        assert rig.target.count("slow") == 1
        latencies = []
        for _ in range(20):
            started = time.perf_counter()
            assert rig.ws.tasks(task_sid).fetch().assignment_status == "reserved"
            rig.ws.workers.list()
            latencies.append(time.perf_counter() - started)
        # An API blocked by the held callback would answer only when it ends (release after this
        # loop, or the 10 s timeout): a bound far below the hang proves it is not, however loaded
        # the machine (a 0.5 s bound measured the machine's load instead).
        assert max(latencies) < hang / 4, latencies
        rig.target.release()  # the held callback now answers "accept", within the timeout
        rig.flush()
        [reservation] = rig.reservations(task_sid)
        assert reservation.reservation_status == "accepted"
        assert [d["attempt"] for d in rig.service.deliveries()] == ["primary"]
