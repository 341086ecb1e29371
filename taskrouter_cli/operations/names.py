"""Friendly names of a workspace's resources for shell completion: cached, and bounded in time.

Completion runs on every Tab press, so this module avoids the twilio SDK (importing it alone
costs more than the budget): it reads the TaskRouter REST API with the standard library's
urllib, keeps the names in ``$TRCLI_HOME/completion-cache.json`` for :data:`FRESH_SECONDS`,
and gives up when :data:`BUDGET_SECONDS` have passed, answering with what the cache held
(possibly stale, possibly nothing). A wrong name is never worse than no completion.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskrouter_cli.config import LIVE_API_URL, Settings
from taskrouter_cli.sids import is_sid

FRESH_SECONDS = 60.0
BUDGET_SECONDS = 0.25
"""Time allowed for network requests during one completion (the whole Tab stays < 300 ms)."""
CACHE_FILE_NAME = "completion-cache.json"

COLLECTIONS = {
    "worker": "Workers",
    "activity": "Activities",
    "queue": "TaskQueues",
    "workflow": "Workflows",
}
"""Resource kind → its collection under ``/v1/Workspaces/{WS}``."""
KINDS = ("workspace", *COLLECTIONS)


@dataclass(frozen=True)
class Named:
    name: str
    sid: str


class _OutOfTime(Exception):
    pass


class NameSource:
    """Names of one account's resources, from the cache or (within the budget) the API."""

    def __init__(
        self,
        settings: Settings,
        cache_path: Path,
        *,
        budget: float = BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.cache_path = cache_path
        self.clock = clock
        self.now = now
        self.deadline = clock() + budget
        self.base = (settings.api_url or LIVE_API_URL).rstrip("/")

    def names(self, kind: str) -> list[str]:
        """Friendly names of ``kind`` in the configured workspace (``[]`` when unknown)."""
        if not self.settings.has_credentials:
            return []
        try:
            if kind == "workspace":
                items = self._cached("workspace", "/v1/Workspaces", "workspaces")
            else:
                workspace = self._workspace_sid()
                if workspace is None:
                    return []
                path = f"/v1/Workspaces/{workspace}/{COLLECTIONS[kind]}"
                items = self._cached(f"{kind}@{workspace}", path, _list_key(COLLECTIONS[kind]))
        except (_OutOfTime, OSError, ValueError):
            return []
        return sorted({item.name for item in items}, key=str.lower)

    # -- internals ----------------------------------------------------------------------------
    def _workspace_sid(self) -> str | None:
        wanted = self.settings.workspace
        if wanted and is_sid(wanted, "WS"):
            return wanted
        workspaces = self._cached("workspace", "/v1/Workspaces", "workspaces")
        if wanted:
            matches = [w for w in workspaces if w.name.lower() == wanted.lower()]
            return matches[0].sid if len(matches) == 1 else None
        return workspaces[0].sid if len(workspaces) == 1 else None

    def _cache_key(self, what: str) -> str:
        return f"{self.base}|{self.settings.account_sid}|{what}"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _cached(self, what: str, path: str, key: str) -> list[Named]:
        cache = self._load()
        entry = cache.get(self._cache_key(what))
        stale: list[Named] = []
        if isinstance(entry, dict) and isinstance(entry.get("items"), list):
            stale = [Named(str(n), str(s)) for n, s in entry["items"]]
            if self.now() - float(entry.get("at", 0)) < FRESH_SECONDS:
                return stale
        try:
            fresh = self._fetch(path, key)
        except (_OutOfTime, OSError, ValueError):
            if stale:
                return stale
            raise
        cache[self._cache_key(what)] = {
            "at": self.now(),
            "items": [[item.name, item.sid] for item in fresh],
        }
        self._save(cache)
        return fresh

    def _save(self, cache: dict[str, Any]) -> None:
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            self.cache_path.write_text(json.dumps(cache), encoding="utf-8")
        except OSError:
            pass  # no cache, still a completion

    def _fetch(self, path: str, key: str) -> list[Named]:
        remaining = self.deadline - self.clock()
        if remaining <= 0.01:
            raise _OutOfTime()
        s = self.settings
        user, password = (
            (s.account_sid, s.auth_token) if s.auth_token else (s.api_key, s.api_secret)
        )
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request = urllib.request.Request(
            f"{self.base}{path}?PageSize=1000", headers={"Authorization": f"Basic {token}"}
        )
        with urllib.request.urlopen(request, timeout=remaining) as response:
            document = json.loads(response.read(2_000_000).decode("utf-8"))
        rows = document.get(key, []) if isinstance(document, dict) else []
        return [
            Named(str(row["friendly_name"]), str(row["sid"]))
            for row in rows
            if isinstance(row, dict) and "friendly_name" in row and "sid" in row
        ]


def _list_key(collection: str) -> str:
    """The JSON key of a TaskRouter list response (``TaskQueues`` → ``task_queues``)."""
    out = ""
    for index, char in enumerate(collection):
        if char.isupper() and index:
            out += "_"
        out += char.lower()
    return out
