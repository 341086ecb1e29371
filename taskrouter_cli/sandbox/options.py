"""Knobs of the sandbox service, with the choices made where TaskRouter's behaviour is unknown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

NoMatchOutcome = Literal["cancel", "pending"]


@dataclass(frozen=True)
class SandboxOptions:
    """Options of :class:`~taskrouter_cli.sandbox.service.SandboxService`.

    account_sid / auth_token
        Override the credentials kept in the database (which are generated once per database).
    no_match_outcome
        What happens to a task that matches no workflow filter and the workflow has no
        ``default_filter`` (UNCONFIRMED in TaskRouter's docs). ``"cancel"`` (default) cancels the
        task with reason ``no_match_reason`` (a ``task.canceled`` event is recorded);
        ``"pending"`` leaves it pending outside any queue until its attributes or the workflow
        change, or its TTL expires.
    assignment_callback_timeout / event_callback_timeout
        Seconds to wait for an answer (TaskRouter: 5 s and 15 s).
    max_deliveries
        How many callback deliveries the inspector keeps (oldest dropped first).
    events_default_minutes
        Window of the Events list when neither ``Minutes``, ``StartDate`` nor ``EndDate`` is given
        (TaskRouter: 15 minutes). ``None`` lists every stored event.
    max_assignment_count
        A task that has been reserved this many times is canceled (TaskRouter: 1,000).
    keep_finished / finished_task_seconds
        Completed and canceled tasks are deleted ``finished_task_seconds`` of sandbox time after
        they finished (live TaskRouter: about 5 minutes; their Events stay), unless
        ``keep_finished``.
    """

    account_sid: str | None = None
    auth_token: str | None = None
    no_match_outcome: NoMatchOutcome = "cancel"
    no_match_reason: str = "No matching filter"
    assignment_callback_timeout: float = 5.0
    event_callback_timeout: float = 15.0
    max_deliveries: int = 1000
    on_event: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)
    """Called with each Event as it is recorded (``trcli sandbox`` prints routing decisions)."""
    events_default_minutes: int | None = 15
    max_assignment_count: int = 1000
    keep_finished: bool = False
    finished_task_seconds: float = 300.0
