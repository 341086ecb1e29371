"""``trcli reservation`` and the quickstart's part 2, command by command."""

from __future__ import annotations

from typing import Any

from tests.helpers.cli import Trcli


def test_quickstart_part_2(trcli: Trcli) -> None:
    offline = trcli("worker", "set-activity", "Alice", "Offline").ok()
    assert "Alice is now Offline (not available)" in offline.stdout
    task = (
        trcli("task", "create", "--attributes", '{"selected_language":"es"}', "--json").ok().json()
    )
    assert task["assignment_status"] == "pending"
    idle = trcli("worker", "set-activity", "Alice", "Idle").ok()
    assert "Alice is now Idle (available)" in idle.stdout  # the answer: what the write set
    assert "Alice became Idle and was reserved right away" in idle.stderr  # routing, after
    assert task["sid"] in idle.stderr
    listed = trcli("reservation", "list", "--json").ok().json()
    assert [(r["worker_name"], r["reservation_status"], r["task_sid"]) for r in listed] == [
        ("Alice", "pending", task["sid"])
    ]
    table = trcli("reservation", "list").ok()
    assert "Alice" in table.stdout and "pending" in table.stdout
    accepted = trcli("reservation", "accept", "--task", task["sid"], "--json").ok().json()
    assert accepted["reservation_status"] == "accepted"
    assert accepted["sid"] == listed[0]["sid"]
    shown = trcli("task", "show", task["sid"], "--json").ok().json()
    assert shown["assignment_status"] == "assigned"
    alice = trcli("worker", "show", "Alice", "--json").ok().json()
    assert alice["activity_name"] == "Busy"


def test_accept_the_only_pending_reservation(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    outcome = trcli("reservation", "accept").ok()
    assert "accepted" in outcome.stdout
    assert f"Alice accepted Task {sid}" in outcome.stderr


def test_accept_with_nothing_pending(trcli: Trcli, spanish_task: Any) -> None:
    none = trcli("reservation", "accept")
    assert none.exit_code == 2 and "No pending reservation in the workspace" in none.stderr
    sid = spanish_task()
    waiting = trcli("reservation", "accept", "--task", sid)
    assert waiting.exit_code == 2
    assert f"Task {sid} has no pending reservation (it is pending)" in waiting.stderr


def test_several_pending_reservations_are_listed(trcli: Trcli) -> None:
    english = '{"selected_language": "en"}'
    first = trcli("task", "create", "--attributes", english, "--json").ok().json()["sid"]
    second = trcli("task", "create", "--attributes", english, "--json").ok().json()["sid"]
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    trcli("worker", "set-activity", "Bob", "Idle").ok()
    outcome = trcli("reservation", "accept")
    assert outcome.exit_code == 2
    assert "2 reservations are pending" in outcome.stderr
    assert first in outcome.stderr and second in outcome.stderr
    assert "Alice" in outcome.stderr and "Bob" in outcome.stderr


def test_accept_by_reservation_sid_alone(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    reservation = trcli("reservation", "list", "--task", sid, "--json").ok().json()[0]["sid"]
    shown = trcli("reservation", "show", reservation, "--json").ok().json()
    assert shown["task_sid"] == sid and shown["reservation_status"] == "pending"
    trcli("reservation", "accept", reservation).ok()
    again = trcli("reservation", "accept", reservation)
    assert again.exit_code == 2
    assert f"Reservation {reservation} was already accepted by Alice at 12:00:00" in again.stderr
    # once accepted it is found through the worker's reservations
    shown = trcli("reservation", "show", reservation).ok()
    assert "accepted" in shown.stdout


def test_accepting_a_timed_out_reservation_explains(
    trcli: Trcli, spanish_task: Any, sandbox: Any
) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    sandbox.advance(1201)
    outcome = trcli("reservation", "accept", "--task", sid)
    assert outcome.exit_code == 2
    assert "No pending reservation" in outcome.stderr or "has no pending" in outcome.stderr
    reservation = trcli("reservation", "list", "--task", sid, "--json").ok().json()[0]
    assert reservation["reservation_status"] == "timeout"
    explained = trcli("reservation", "accept", reservation["sid"], "--task", sid)
    assert explained.exit_code == 2
    assert f"Reservation {reservation['sid']} timed out (after 1200 s, at 12:20:0" in (
        explained.stderr
    )
    assert "the task is pending again" in explained.stderr
    assert "trcli worker set-activity Alice Idle" in explained.stderr


def test_reject_moves_the_worker(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    rejected = trcli("reservation", "reject", "--task", sid, "--activity", "Offline", "--json")
    assert rejected.ok().json()["reservation_status"] == "rejected"
    assert trcli("worker", "show", "Alice", "--json").ok().json()["activity_name"] == "Offline"
    assert trcli("task", "show", sid, "--json").ok().json()["assignment_status"] == "pending"
    listed = trcli("reservation", "list", "--worker", "alice", "--status", "rejected", "--json")
    assert [r["task_sid"] for r in listed.ok().json()] == [sid]
    explained = trcli("reservation", "reject", listed.json()[0]["sid"])
    assert explained.exit_code == 2 and "was rejected by Alice" in explained.stderr


def test_canceled_task_explains_its_reservation(trcli: Trcli, spanish_task: Any) -> None:
    trcli("worker", "set-activity", "Alice", "Idle").ok()
    sid = spanish_task()
    reservation = trcli("reservation", "list", "--task", sid, "--json").ok().json()[0]["sid"]
    trcli("task", "cancel", sid, "--reason", "caller left").ok()
    outcome = trcli("reservation", "accept", reservation, "--task", sid)
    assert outcome.exit_code == 2
    assert "canceled" in outcome.stderr and "because the task was canceled" in outcome.stderr


def test_reservation_arguments_are_checked(trcli: Trcli) -> None:
    wrong = trcli("reservation", "accept", "WT" + "0" * 32)
    assert wrong.exit_code == 2
    assert "is a Task SID, but a Reservation SID (WR...) is expected" in wrong.stderr
    unknown = trcli("reservation", "show", "WR" + "0" * 32)
    assert unknown.exit_code == 2 and "No reservation WR" in unknown.stderr
    worker = trcli("reservation", "list", "--worker", "Carol")
    assert worker.exit_code == 2 and "Alice (WK" in worker.stderr and "Bob (WK" in worker.stderr
