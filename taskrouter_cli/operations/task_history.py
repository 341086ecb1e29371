"""What happened to a Task that no longer exists, told from its Events.

TaskRouter deletes a Task about 5 minutes after it is completed or canceled (UpdateTask
``Reason``: setting it "queues the task for deletion"), and a Task can be deleted outright; its
Events stay (30 days). ``explain`` and ``task watch`` use :func:`vanished_task` when fetching the
Task answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskrouter_cli.operations.events import list_events
from taskrouter_cli.operations.inputs import Since

HISTORY_MINUTES = 43_200
"""How far back Events are read (30 days: TaskRouter keeps Events that long)."""

_FINAL = {"task.completed": "completed", "task.canceled": "canceled"}


@dataclass(frozen=True)
class HistoryLine:
    when: datetime | None
    event_type: str
    description: str


@dataclass(frozen=True)
class VanishedTask:
    """A Task the API no longer finds, and what its Events say."""

    task_sid: str
    final_status: str | None
    """``completed`` or ``canceled`` (the last of those Events), None when neither happened."""
    reason: str | None
    finished_at: datetime | None
    deleted_by_request: bool
    """A ``task.deleted`` Event exists (someone deleted it, rather than TaskRouter)."""
    lines: tuple[HistoryLine, ...]

    def summary(self) -> str:
        if self.deleted_by_request:
            how = "it was deleted through the API"
        elif self.final_status is not None:
            how = "TaskRouter deletes a Task about 5 minutes after it is completed or canceled"
        else:
            how = "it was deleted"
        text = f"Task {self.task_sid} no longer exists: {how}."
        if self.final_status is not None:
            stamp = f" at {_format(self.finished_at)}" if self.finished_at else ""
            reason = f" (reason: {self.reason})" if self.reason else ""
            text += f" It was {self.final_status}{stamp}{reason}."
        return text


def _format(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else "?"


def _data(event: Any) -> dict[str, Any]:
    data = getattr(event, "event_data", None)
    return data if isinstance(data, dict) else {}


def vanished_task(workspace: Any, task_sid: str) -> VanishedTask | None:
    """The story of ``task_sid`` from its Events, or None when there are none (then the SID
    was never a Task of this workspace, or its Events are older than 30 days)."""
    events = list_events(
        workspace, task_sid=task_sid, since=Since(minutes=HISTORY_MINUTES), limit=None
    )
    if not events:
        return None
    final_status = reason = None
    finished_at = None
    deleted = False
    lines = []
    for event in events:
        event_type = str(event.event_type)
        lines.append(HistoryLine(event.event_date, event_type, str(event.description or "")))
        if event_type in _FINAL:
            final_status = _FINAL[event_type]
            data = _data(event)
            reason = data.get(f"task_{final_status}_reason") or None
            finished_at = event.event_date
        elif event_type == "task.deleted":
            deleted = True
    return VanishedTask(
        task_sid=task_sid,
        final_status=final_status,
        reason=reason,
        finished_at=finished_at,
        deleted_by_request=deleted,
        lines=tuple(lines),
    )


def history_text(line: HistoryLine) -> str:
    return f"{_format(line.when)}  {line.event_type}  {line.description}"
