"""The rules every command follows, in one place.

* **Destructive commands** (every ``delete``, ``setup --teardown``, ``sandbox reset``, ``workspace
  apply --prune``) take :func:`yes_option` and call :func:`confirm_destructive` before acting:
  it asks on a terminal, ``--yes`` skips the question, and without a terminal and without
  ``--yes`` it refuses (exit 2). Declining at the prompt also exits 2 with nothing changed.
* **Exit codes** (``errors.ExitCode``): 1 is a bug; a check that fails or times out (doctor, a
  tutorial stage, ``--wait``, a lint) exits 6 — raise ``errors.CheckFailed`` with the reason, or
  call :func:`exit_check_failed` after printing a report; Ctrl-C exits 130 everywhere — a
  command that catches ``KeyboardInterrupt`` to clean up calls :func:`exit_interrupted`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import click

from taskrouter_cli.errors import ExitCode, UsageError

F = TypeVar("F", bound=Callable[..., Any])


def yes_option(function: F) -> F:
    """``--yes`` / ``-y``: do not ask before a destructive action (needed without a terminal)."""
    return cast(
        F,
        click.option(
            "--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed in scripts)."
        )(function),
    )


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def confirm_destructive(action: str, *, yes: bool) -> None:
    """Go on with ``--yes``; ask on a terminal; otherwise refuse with exit 2.

    ``action`` says what will happen, as a question without its question mark, e.g.
    ``"Delete Worker Bob (WK…)"``.
    """
    if yes:
        return
    if not stdin_is_terminal():
        raise UsageError(
            f"Not confirmed: {action[0].lower()}{action[1:]}",
            "Run it on a terminal to be asked, or pass --yes",
        )
    if not click.confirm(f"{action}?", default=False, err=True):
        raise UsageError("Nothing changed: not confirmed")


def exit_check_failed() -> NoReturn:
    """End a command whose check failed, after its report was printed (exit 6)."""
    raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))


def exit_interrupted(message: str | None = "Interrupted.") -> NoReturn:
    """End a command stopped with Ctrl-C, after its own clean-up (exit 130)."""
    if message:
        click.echo(message, err=True)
    raise click.exceptions.Exit(int(ExitCode.INTERRUPTED))
