"""TaskQueues: checks made before a request is sent."""

from __future__ import annotations

from taskrouter_cli.errors import UsageError
from taskrouter_cli.routing.expressions import ExpressionError, parse_expression


def check_target_workers(value: str | None, option: str = "--target-workers") -> None:
    """Refuse a ``target_workers`` expression TaskRouter would refuse, before any request."""
    if not value:
        return
    try:
        parse_expression(value)
    except ExpressionError as exc:
        raise UsageError(f"{option} '{value}' is not a valid expression: {exc}") from None
