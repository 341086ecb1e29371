"""Time-of-day keys for workflow expressions (``taskrouter.currentTime`` and friends).

Twilio's "Time of Day Routing for TaskRouter" page documents four keys that TaskRouter fills in
when it evaluates a filter or target-worker expression, all in UTC:

* ``taskrouter.currentTime`` -- an integer, HHMM on a 24-hour clock (``930`` at 09:30);
* ``taskrouter.currentHour`` -- a string, ``"HH"`` (``"09"``);
* ``taskrouter.currentMin`` -- the minute; its type is not stated, the page compares it with
  numbers (``taskrouter.currentMin > 10``), so it is an integer here;
* ``taskrouter.dayOfWeek`` -- a string, ``Mon`` ``Tue`` ``Wed`` ``Thu`` ``Fri`` ``Sat`` ``Sun``.

:func:`with_time_of_day` lays them over the attributes an expression is evaluated against, so
the sandbox (on its own clock, which ``--time-travel`` moves) and ``trcli workflow test --at``
evaluate them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["DAY_NAMES", "TimeOfDayContext", "time_of_day", "with_time_of_day"]

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
KEY = "taskrouter"


def time_of_day(now: datetime) -> dict[str, Any]:
    """The values of the ``taskrouter.*`` keys at ``now`` (naive datetimes are taken as UTC)."""
    moment = now.astimezone(timezone.utc) if now.tzinfo is not None else now
    return {
        "currentTime": moment.hour * 100 + moment.minute,
        "currentHour": f"{moment.hour:02d}",
        "currentMin": moment.minute,
        "dayOfWeek": DAY_NAMES[moment.weekday()],
    }


class TimeOfDayContext(Mapping[str, Any]):
    """``attributes`` with a ``taskrouter`` key holding the time-of-day values.

    The task's own ``taskrouter`` object, if it has one, is merged under the time-of-day values
    (TaskRouter fills those in), so other keys below ``taskrouter`` still resolve.
    """

    __slots__ = ("_attributes", "_merged", "_now")

    def __init__(self, attributes: Mapping[str, Any], now: datetime) -> None:
        self._attributes = attributes
        self._now = now
        self._merged: dict[str, Any] | None = None

    def _taskrouter(self) -> dict[str, Any]:
        if self._merged is None:
            own = self._attributes.get(KEY)
            merged = dict(own) if isinstance(own, Mapping) else {}
            merged.update(time_of_day(self._now))
            self._merged = merged
        return self._merged

    def __getitem__(self, key: str) -> Any:
        if key == KEY:
            return self._taskrouter()
        return self._attributes[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key == KEY:
            return self._taskrouter()
        return self._attributes.get(key, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._attributes
        if KEY not in self._attributes:
            yield KEY

    def __len__(self) -> int:
        return len(self._attributes) + (0 if KEY in self._attributes else 1)


def with_time_of_day(attributes: Mapping[str, Any], now: datetime) -> Mapping[str, Any]:
    """The mapping to evaluate an expression against: ``attributes`` plus ``taskrouter.*``."""
    return TimeOfDayContext(attributes, now)
