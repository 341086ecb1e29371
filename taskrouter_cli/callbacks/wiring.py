"""Point a Workflow's AssignmentCallbackUrl (and the Workspace's EventCallbackUrl) at the
callback server, and put the previous values back on exit.

:class:`CallbackWiring` remembers every change it made and :meth:`CallbackWiring.restore` undoes
them in reverse order. A value is restored only if it is still the one we set: when somebody
else changed it meanwhile (another ``trcli serve``, the Console), theirs is kept and the
restore says so.

So that a crash or ``kill -9`` leaves no dead URL behind for ever, each change is also written to
``$TRCLI_HOME/serve-wiring.json`` until it is restored; the next ``trcli serve`` that points the
same resource and finds our old URL still there restores the value from before that run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taskrouter_cli.guards.private_files import make_private_dir

STATE_FILE_NAME = "serve-wiring.json"

FIELDS = {
    "workflow": ("assignment_callback_url", "AssignmentCallbackUrl"),
    "workspace": ("event_callback_url", "EventCallbackUrl"),
}


@dataclass
class Change:
    """One URL we set: on which resource, what it was, what we made it."""

    kind: str  # "workflow" | "workspace"
    sid: str
    name: str
    previous: str | None
    current: str

    @property
    def field_label(self) -> str:
        return FIELDS[self.kind][1]

    def describe_previous(self) -> str:
        return self.previous or "(empty)"


def _state_path(home: Path | None) -> Path:
    from taskrouter_cli.config import trcli_home

    return (home or trcli_home()) / STATE_FILE_NAME


class CallbackWiring:
    """Sets callback URLs through the REST API and restores them (see the module docstring)."""

    def __init__(self, workspace_api: Any, *, home: Path | None = None) -> None:
        self.workspace_api = workspace_api
        self.changes: list[Change] = []
        self.recovered: list[str] = []
        self._state = _state_path(home)

    # -- persistence --------------------------------------------------------------------------

    def _load_state(self) -> list[Change]:
        try:
            raw = json.loads(self._state.read_text(encoding="utf-8"))
            return [Change(**item) for item in raw]
        except (OSError, ValueError, TypeError):
            return []

    def _save_state(self, changes: list[Change]) -> None:
        try:
            if not changes:
                self._state.unlink(missing_ok=True)
                return
            make_private_dir(self._state.parent)
            temporary = self._state.with_name(self._state.name + ".tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps([asdict(c) for c in changes], indent=2))
            os.replace(temporary, self._state)
        except OSError:
            pass  # the state file is a safety net; serving works without it

    def _remember(self, change: Change) -> None:
        others = [c for c in self._load_state() if (c.kind, c.sid) != (change.kind, change.sid)]
        self._save_state([*others, change])

    def _forget(self, change: Change) -> None:
        self._save_state(
            [c for c in self._load_state() if (c.kind, c.sid) != (change.kind, change.sid)]
        )

    def _leftover(self, kind: str, sid: str, value: str | None) -> Change | None:
        for change in self._load_state():
            if (change.kind, change.sid) == (kind, sid) and change.current == value:
                return change
        return None

    # -- REST ---------------------------------------------------------------------------------

    def _resource(self, kind: str, sid: str) -> Any:
        if kind == "workflow":
            return self.workspace_api.workflows(sid)
        return self.workspace_api

    def _read(self, kind: str, sid: str) -> tuple[str | None, str]:
        instance = self._resource(kind, sid).fetch()
        value = getattr(instance, FIELDS[kind][0], None)
        return (value or None), str(getattr(instance, "friendly_name", "") or sid)

    def _write(self, kind: str, sid: str, value: str | None) -> None:
        self._resource(kind, sid).update(**{FIELDS[kind][0]: value or ""})

    def _point(self, kind: str, sid: str, url: str) -> Change:
        previous, name = self._read(kind, sid)
        leftover = self._leftover(kind, sid, previous)
        if leftover is not None and leftover.current != url:
            self.recovered.append(
                f"{kind.capitalize()} {name} still pointed at {leftover.current} from an earlier "
                f"trcli serve that did not exit cleanly; it will be restored to "
                f"{leftover.describe_previous()}"
            )
            previous = leftover.previous
        elif leftover is not None:
            previous = leftover.previous
        change = Change(kind=kind, sid=sid, name=name, previous=previous, current=url)
        self._remember(change)
        try:
            self._write(kind, sid, url)
        except BaseException:
            self._forget(change)
            raise
        self.changes.append(change)
        return change

    def point_workflow(self, workflow_sid: str, url: str) -> Change:
        """Set the Workflow's AssignmentCallbackUrl to ``url``; remembers the old value."""
        return self._point("workflow", workflow_sid, url)

    def point_events(self, workspace_sid: str, url: str) -> Change:
        """Set the Workspace's EventCallbackUrl to ``url``; remembers the old value."""
        return self._point("workspace", workspace_sid, url)

    def restore(self) -> list[str]:
        """Undo every change (newest first). Returns one line per outcome; never raises."""
        lines: list[str] = []
        while self.changes:
            change = self.changes.pop()
            label = f"{change.kind.capitalize()} {change.name}"
            try:
                now, _ = self._read(change.kind, change.sid)
                if now != change.current:
                    lines.append(
                        f"{label}: {change.field_label} was changed to {now or '(empty)'} while "
                        "serving; left as it is"
                    )
                else:
                    self._write(change.kind, change.sid, change.previous)
                    lines.append(
                        f"{label}: {change.field_label} restored to {change.describe_previous()}"
                    )
                self._forget(change)
            except Exception as exc:  # noqa: BLE001 - reported, never raised: shutting down
                lines.append(
                    f"{label}: could not restore {change.field_label} to "
                    f"{change.describe_previous()} ({exc.__class__.__name__}: "
                    f"{' '.join(str(exc).split())}); the next 'trcli serve --point' will retry"
                )
        return lines
