"""Turn what the user typed (a SID or a friendly name) into a resource.

Every command that names a Workspace, Workflow, Worker, Activity or TaskQueue goes through
:class:`Resolver`, so the rules are the same everywhere:

* a value shaped like a SID must carry the right prefix (``WK`` for a Worker...), checked before
  any request is made;
* anything else is a friendly name, matched case-insensitively; an unknown or ambiguous name is
  an error that lists the candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from taskrouter_cli.errors import AmbiguousNameError, NotFoundError, UsageError
from taskrouter_cli.sids import PREFIX_BY_RESOURCE, is_sid, looks_like_any_sid

MAX_CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class ResourceKind:
    label: str
    """Human name, also the key of PREFIX_BY_RESOURCE."""
    collection: str
    """Attribute of a workspace context (``workers``) or of ``client.taskrouter.v1``."""
    option_hint: str
    """What to run to see the valid values."""

    @property
    def prefix(self) -> str:
        return PREFIX_BY_RESOURCE[self.label]


WORKSPACE = ResourceKind("Workspace", "workspaces", "trcli workspace list")
WORKFLOW = ResourceKind("Workflow", "workflows", "trcli workflow list")
WORKER = ResourceKind("Worker", "workers", "trcli worker list")
ACTIVITY = ResourceKind("Activity", "activities", "trcli activity list")
TASK_QUEUE = ResourceKind("TaskQueue", "task_queues", "trcli queue list")


def check_sid(value: str, label: str) -> str:
    """Return ``value`` if it is a SID of the kind ``label``; else raise a UsageError."""
    prefix = PREFIX_BY_RESOURCE[label]
    if is_sid(value, prefix):
        return value
    if looks_like_any_sid(value):
        other = next((name for name, p in PREFIX_BY_RESOURCE.items() if value.startswith(p)), None)
        what = f"a {other} SID" if other else f"a SID with prefix {value[:2]}"
        raise UsageError(f"'{value}' is {what}, but a {label} SID ({prefix}...) is expected here")
    raise UsageError(
        f"'{value}' is not a {label} SID",
        f"{label} SIDs are {prefix} followed by 32 hex digits",
    )


def describe_candidates(resources: Iterable[Any]) -> str:
    items = [f"{r.friendly_name} ({r.sid})" for r in resources]
    if not items:
        return "none exist"
    shown = ", ".join(items[:MAX_CANDIDATES_SHOWN])
    more = len(items) - MAX_CANDIDATES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def pick_by_name(kind: ResourceKind, value: str, resources: list[Any], scope: str = "") -> Any:
    """The one resource whose friendly name is ``value`` (case-insensitive), or an error."""
    wanted = value.casefold()
    matches = [r for r in resources if (r.friendly_name or "").casefold() == wanted]
    where = f" in {scope}" if scope else ""
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(
            f"No {kind.label} named '{value}'{where}; candidates: {describe_candidates(resources)}",
            f"Use a SID or one of these names ('{kind.option_hint}')",
        )
    raise AmbiguousNameError(
        f"{len(matches)} {kind.label}s are named '{value}'{where}: {describe_candidates(matches)}",
        "Use the SID instead",
    )


class Resolver:
    """Resolves names and SIDs against one client; remembers lists it has fetched."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._lists: dict[tuple[str, str], list[Any]] = {}

    @property
    def v1(self) -> Any:
        return self.client.taskrouter.v1

    def _all(self, kind: ResourceKind, workspace_sid: str | None) -> list[Any]:
        key = (kind.collection, workspace_sid or "")
        if key not in self._lists:
            parent = self.v1 if workspace_sid is None else self.v1.workspaces(workspace_sid)
            self._lists[key] = list(getattr(parent, kind.collection).stream(page_size=1000))
        return self._lists[key]

    def workspace(self, value: str | None) -> Any:
        """The Workspace for ``value``; with no value, the account's only Workspace."""
        if value and is_sid(value):
            check_sid(value, "Workspace")
            return self.v1.workspaces(value).fetch()
        workspaces = self._all(WORKSPACE, None)
        if value:
            return pick_by_name(WORKSPACE, value, workspaces)
        if len(workspaces) == 1:
            return workspaces[0]
        if not workspaces:
            raise UsageError(
                "This account has no TaskRouter Workspace",
                "Create one with 'trcli setup' or 'trcli workspace create NAME'",
            )
        raise UsageError(
            f"Several Workspaces exist ({describe_candidates(workspaces)}) and none is selected",
            "Pass --workspace, set TRCLI_WORKSPACE, or run 'trcli workspace use NAME'",
        )

    def in_workspace(self, kind: ResourceKind, workspace_sid: str, value: str) -> Any:
        """A Workflow, Worker, Activity or TaskQueue of the workspace, by SID or name."""
        if is_sid(value):
            check_sid(value, kind.label)
            parent = self.v1.workspaces(workspace_sid)
            return getattr(parent, kind.collection)(value).fetch()
        return pick_by_name(
            kind, value, self._all(kind, workspace_sid), scope=f"workspace {workspace_sid}"
        )

    def list_in_workspace(self, kind: ResourceKind, workspace_sid: str) -> list[Any]:
        """Every resource of this kind in the workspace (fetched once, then remembered)."""
        return self._all(kind, workspace_sid)

    def sid_in_workspace(self, kind: ResourceKind, workspace_sid: str, value: str) -> str:
        """Like :meth:`in_workspace` but returns only the SID; a SID needs no request."""
        if is_sid(value):
            return check_sid(value, kind.label)
        return str(self.in_workspace(kind, workspace_sid, value).sid)

    def only_one(self, kind: ResourceKind, workspace_sid: str, what_to_pass: str) -> Any:
        """The workspace's single resource of this kind, or an error asking for ``what_to_pass``."""
        resources = self._all(kind, workspace_sid)
        if len(resources) == 1:
            return resources[0]
        raise UsageError(
            f"The workspace has {len(resources)} {kind.label}s "
            f"({describe_candidates(resources)}); say which one",
            f"Pass {what_to_pass}",
        )

    def forget(self) -> None:
        self._lists.clear()
