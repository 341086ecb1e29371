"""TaskRouter's status values, as the SDK and the API name them (standard library only, so the
sandbox, the operations layer and the CLI share one definition)."""

from __future__ import annotations

TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping", "canceled", "completed")
"""A Task's ``assignment_status`` values, in lifecycle order."""

RESERVATION_STATUSES = (
    "pending",
    "accepted",
    "rejected",
    "timeout",
    "canceled",
    "rescinded",
    "wrapping",
    "completed",
)
"""A Reservation's ``reservation_status`` values."""
