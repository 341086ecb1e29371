"""Errors that reach the user, and the exit codes they map to.

Nothing here imports click: the CLI layer turns a :class:`TrcliError` into one line on stderr and
the exit code it carries. Exit codes are a documented contract (see docs/output.md, "Exit codes").
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    """Anything else that went wrong (a bug, an unexpected state)."""
    USAGE = 2
    """Bad input: unknown option, bad JSON, a SID with the wrong prefix, an unknown name."""
    CREDENTIALS = 3
    """Credentials missing, or rejected by the API (HTTP 401/403)."""
    API_ERROR = 4
    """The API answered with an error (HTTP 4xx other than 401/403, or 5xx)."""
    NETWORK = 5
    """The API (or sandbox, or tunnel) could not be reached."""
    CHECK_FAILED = 6
    """A check failed or ran out of time: doctor, a tutorial stage, ``--wait``, a lint."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C."""


class TrcliError(Exception):
    """An error meant for the user: a message, an optional hint, and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint on one line, as printed after ``Error:``."""
        if self.hint:
            return f"{self.message.rstrip('.')}. {self.hint}"
        return self.message


class UsageError(TrcliError):
    exit_code = ExitCode.USAGE


class ConfigError(TrcliError):
    """A broken configuration file or setting."""

    exit_code = ExitCode.USAGE


class CredentialsError(TrcliError):
    exit_code = ExitCode.CREDENTIALS


class ApiError(TrcliError):
    """The TaskRouter API answered with an error."""

    exit_code = ExitCode.API_ERROR

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code


class NetworkError(TrcliError):
    exit_code = ExitCode.NETWORK


class CheckFailed(TrcliError):
    """A check that did not pass, or a wait that timed out (exit 6, not 1: not a bug)."""

    exit_code = ExitCode.CHECK_FAILED


class NotFoundError(UsageError):
    """A name or SID given by the user matches nothing."""


class AmbiguousNameError(UsageError):
    """A friendly name given by the user matches several resources."""
