"""The one error type the sandbox service raises for a request it refuses.

``TaskRouterError`` (the answer TaskRouter would give; not the CLI's ``errors.ApiError``)
carries the HTTP status, the Twilio error code and a one-line message; the HTTP layer turns it
into ``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations


class TaskRouterError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> TaskRouterError:
    """400 / 20001: a parameter or a state change that TaskRouter refuses."""
    return TaskRouterError(400, 20001, message)


def not_found(path_or_what: str) -> TaskRouterError:
    """404 / 20404 with TaskRouter's wording."""
    return TaskRouterError(404, 20404, f"The requested resource {path_or_what} was not found")


def precondition_failed(message: str) -> TaskRouterError:
    """412: an ``If-Match`` header that does not match the current version."""
    return TaskRouterError(412, 20001, message)
