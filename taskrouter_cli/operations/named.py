"""List, find and delete the named resources (Workspaces, and a workspace's Workflows, Workers,
Activities and TaskQueues) the same way for each, on twilio SDK objects."""

from __future__ import annotations

from typing import Any

from taskrouter_cli.resolve import WORKSPACE, Resolver, ResourceKind

PAGE_SIZE = 1000


def _collection(client: Any, workspace_sid: str | None, kind: ResourceKind) -> Any:
    v1 = client.taskrouter.v1
    if kind is WORKSPACE:
        return v1.workspaces
    assert workspace_sid is not None, f"a {kind.label} lives in a Workspace"
    return getattr(v1.workspaces(workspace_sid), kind.collection)


def list_named(
    client: Any, workspace_sid: str | None, kind: ResourceKind, **filters: Any
) -> list[Any]:
    """Every resource of ``kind`` (``filters`` are the SDK's list parameters)."""
    return list(_collection(client, workspace_sid, kind).stream(page_size=PAGE_SIZE, **filters))


def find_named(
    resolver: Resolver, workspace_sid: str | None, kind: ResourceKind, value: str
) -> Any:
    """One resource of ``kind`` by SID or friendly name (an error lists the candidates)."""
    if kind is WORKSPACE:
        return resolver.workspace(value)
    assert workspace_sid is not None
    return resolver.in_workspace(kind, workspace_sid, value)


def delete_named(client: Any, workspace_sid: str | None, kind: ResourceKind, sid: str) -> None:
    _collection(client, workspace_sid, kind)(sid).delete()


def create_named(client: Any, workspace_sid: str | None, kind: ResourceKind, **params: Any) -> Any:
    """Create a resource of ``kind`` (``params`` are the SDK's create parameters)."""
    return _collection(client, workspace_sid, kind).create(**params)


def update_named(
    client: Any, workspace_sid: str | None, kind: ResourceKind, sid: str, **params: Any
) -> Any:
    """Update one resource of ``kind`` (``params`` are the SDK's update parameters)."""
    return _collection(client, workspace_sid, kind)(sid).update(**params)
