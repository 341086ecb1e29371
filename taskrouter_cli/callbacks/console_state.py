"""What the agent console shows: workers, activities and one card per reservation.

Cards come from two sources: assignment callbacks as they arrive (:meth:`ConsoleState.observe`,
on the server loop) and TaskRouter's current state read through the operations layer
(:meth:`ConsoleState.apply`, from the refresher thread). Everything is guarded by one lock and
turned into a JSON-able snapshot for the page; ``version`` changes whenever the snapshot does.
The number of cards is bounded: finished ones beyond MAX_CARDS are dropped, oldest first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from taskrouter_cli.callbacks.log import CallbackRecord
from taskrouter_cli.operations.agents import ActivityView, ReservationState, WorkerView

MAX_CARDS = 100
FINISHED_RESERVATIONS = frozenset({"rejected", "timeout", "canceled", "rescinded"})
FINISHED_TASKS = frozenset({"completed", "canceled", "deleted"})
REPLY_CHARS = 300


@dataclass
class TimelineStep:
    label: str
    at: str | None


@dataclass
class Card:
    """One reservation as the page shows it (field names are the page's JSON keys)."""

    reservation_sid: str
    task_sid: str
    worker_sid: str
    worker_name: str | None = None
    queue_name: str | None = None
    workflow_sid: str | None = None
    task_attributes: dict[str, Any] = field(default_factory=dict)
    task_age: int | None = None
    """Seconds the task had waited when this console first saw the reservation."""
    seen_at: float = 0.0
    """When this console first saw it (Unix seconds, this machine's clock)."""
    timeout_seconds: int | None = None
    reservation_status: str = "pending"
    task_status: str = "reserved"
    callback_answer: str | None = None
    reason: str | None = None
    timeline: list[TimelineStep] = field(default_factory=list)

    @property
    def tracked(self) -> bool:
        """Still worth asking TaskRouter about."""
        if self.reservation_status in FINISHED_RESERVATIONS:
            return False
        return self.task_status not in FINISHED_TASKS

    def step(self, label: str, at: str | None) -> None:
        if label not in {existing.label for existing in self.timeline}:
            self.timeline.append(TimelineStep(label, at))


def describe_answer(record: CallbackRecord) -> str:
    """What the assignment callback was answered, in a few words."""
    if record.forwarded_to:
        if record.handler_status is None:
            return f"your handler failed: {record.error or 'no answer'}"
        shown = (
            json.dumps(record.reply, ensure_ascii=False)
            if record.reply is not None
            else record.handler_body or "(empty)"
        )
        text = f"your handler answered {record.handler_status} {shown}"
    else:
        text = f"trcli serve answered {json.dumps(record.reply or {}, ensure_ascii=False)}"
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1] + "…"


class ConsoleState:
    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._cards: dict[str, Card] = {}
        self._workers: list[WorkerView] = []
        self._activities: list[ActivityView] = []
        self._wall_clock = wall_clock
        self.version = 0
        self.reply_description = ""
        self.problem: str | None = None
        """Why TaskRouter could not be read on the last try (shown on the page), or None."""

    # -- inputs -------------------------------------------------------------------------------

    def observe(self, record: CallbackRecord) -> bool:
        """Take an assignment callback in; True when it added or changed a card."""
        if record.kind != "assignment" or not record.reservation_sid or not record.task_sid:
            return False
        if record.handler_status is None and 400 <= record.status < 500:
            return False  # refused by trcli serve: not (provably) TaskRouter's
        with self._lock:
            card = self._card(record.reservation_sid, record.task_sid, record.worker_sid or "")
            card.worker_name = card.worker_name or record.worker_name
            card.workflow_sid = card.workflow_sid or record.workflow_sid
            if record.task_attributes is not None:
                card.task_attributes = record.task_attributes
            age = record.params.get("TaskAge")
            if card.task_age is None and isinstance(age, str) and age.isdigit():
                card.task_age = int(age)
            card.callback_answer = describe_answer(record)
            self._changed()
        return True

    def _card(self, reservation_sid: str, task_sid: str, worker_sid: str) -> Card:
        card = self._cards.get(reservation_sid)
        if card is None:
            card = Card(reservation_sid, task_sid, worker_sid, seen_at=self._wall_clock())
            self._cards[reservation_sid] = card
            self._trim()
        return card

    def _trim(self) -> None:
        excess = len(self._cards) - MAX_CARDS
        for sid in [sid for sid, card in self._cards.items() if not card.tracked][:excess]:
            del self._cards[sid]

    def apply(self, state: ReservationState, timeout_seconds: int | None) -> None:
        """TaskRouter's current view of a reservation and its task."""
        with self._lock:
            card = self._card(state.reservation_sid, state.task_sid, state.worker_sid)
            before = asdict(card)
            card.worker_sid = state.worker_sid
            card.worker_name = state.worker_name
            card.queue_name = state.task_queue_name or card.queue_name
            card.workflow_sid = state.workflow_sid or card.workflow_sid
            card.task_attributes = state.task_attributes
            if card.task_age is None:
                card.task_age = state.task_age
            card.timeout_seconds = timeout_seconds
            card.reservation_status = state.reservation_status
            card.task_status = state.task_status
            card.reason = state.reason
            card.step("created", state.task_created)
            card.step("reserved", state.reservation_created)
            if state.reservation_status != "pending":
                card.step(state.reservation_status, state.reservation_updated)
            if state.task_status in ("assigned", "wrapping", "completed", "canceled"):
                if state.task_status == "completed":
                    card.step("assigned", None)
                card.step(state.task_status, state.task_updated)
            if asdict(card) != before:
                self._changed()

    def forget(self, reservation_sid: str) -> None:
        """TaskRouter no longer has the task (finished tasks are deleted after a while)."""
        with self._lock:
            card = self._cards.get(reservation_sid)
            if card is not None and card.task_status != "deleted":
                card.task_status = "deleted"
                self._changed()

    def set_people(self, workers: list[WorkerView], activities: list[ActivityView] | None) -> None:
        with self._lock:
            changed = workers != self._workers
            self._workers = workers
            if activities is not None and activities != self._activities:
                self._activities = activities
                changed = True
            if changed:
                self._changed()

    def set_problem(self, problem: str | None) -> None:
        with self._lock:
            if problem != self.problem:
                self.problem = problem
                self._changed()

    def _changed(self) -> None:
        self.version += 1

    # -- outputs ------------------------------------------------------------------------------

    def tracked(self) -> list[tuple[str, str]]:
        """(task SID, reservation SID) of the cards whose state may still change."""
        with self._lock:
            return [(c.task_sid, c.reservation_sid) for c in self._cards.values() if c.tracked]

    def task_of(self, reservation_sid: str) -> str | None:
        with self._lock:
            card = self._cards.get(reservation_sid)
            return card.task_sid if card else None

    def knows_task(self, task_sid: str) -> bool:
        with self._lock:
            return any(card.task_sid == task_sid for card in self._cards.values())

    def knows_worker(self, worker_sid: str) -> bool:
        with self._lock:
            return any(worker.sid == worker_sid for worker in self._workers)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": self.version,
                "reply": self.reply_description,
                "problem": self.problem,
                "workers": [asdict(w) for w in self._workers],
                "activities": [asdict(a) for a in self._activities],
                "reservations": [asdict(c) for c in self._cards.values()],
            }
