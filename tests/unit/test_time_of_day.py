"""The documented ``taskrouter.*`` time-of-day keys (Twilio: Time of Day Routing for TaskRouter)."""

from datetime import datetime, timedelta, timezone

from taskrouter_cli.routing.expressions import parse_expression
from taskrouter_cli.routing.time_of_day import time_of_day, with_time_of_day

TUESDAY_0930 = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def test_values_follow_the_documented_types_in_utc() -> None:
    assert time_of_day(TUESDAY_0930) == {
        "currentTime": 930,
        "currentHour": "09",
        "currentMin": 30,
        "dayOfWeek": "Tue",
    }
    other_zone = TUESDAY_0930.astimezone(timezone(timedelta(hours=-5)))
    assert time_of_day(other_zone)["currentTime"] == 930


def test_documented_business_hours_expression_uses_the_given_time() -> None:
    expression = parse_expression("taskrouter.currentTime > 0800 AND taskrouter.currentTime < 1830")
    assert expression.evaluate(with_time_of_day({}, TUESDAY_0930))
    assert not expression.evaluate(with_time_of_day({}, TUESDAY_0930.replace(hour=19)))


def test_day_of_week_and_task_attributes_resolve_together() -> None:
    expression = parse_expression('taskrouter.dayOfWeek == "Tue" AND type == "support"')
    context = with_time_of_day({"type": "support", "taskrouter": {"team": "a"}}, TUESDAY_0930)
    assert expression.evaluate(context)
    assert context["taskrouter"]["team"] == "a"
    assert not expression.evaluate(with_time_of_day({"type": "sales"}, TUESDAY_0930))
