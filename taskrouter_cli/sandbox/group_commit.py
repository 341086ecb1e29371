"""Group commit: the writes of one event-loop turn are committed together, and each answer waits
for the commit of what it wrote.

Every write used to be its own SQLite transaction: with 50 clients, a loop turn that handled 20
requests committed 20 times, each writing the same table and index pages to the WAL again. Now
the store leaves writes made on the server's loop uncommitted (``SqliteStore.group_commits``),
and the first one of a turn schedules one commit at the start of the next turn
(``loop.call_soon``). A request handler awaits :meth:`GroupCommit.durable` after its service
call, so it answers only once what it wrote (and whatever it read that others wrote) is
committed: "nothing acknowledged is lost on SIGKILL" still holds. Writes from other threads
(tests driving the service directly, executor threads) commit at once, as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class GroupCommit:
    """The group commit of one service on one event loop (attached while the server runs)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[None] | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Group the writes made on ``loop`` (call from the loop's thread)."""
        store = getattr(self.service, "store", None)
        if store is None or not callable(getattr(store, "group_commits", None)):
            return
        self._loop = loop
        store.group_commits(threading.get_ident(), self._schedule)

    def detach(self) -> None:
        """Commit what is pending and write each change at once again."""
        store = getattr(self.service, "store", None)
        if self._loop is not None and store is not None:
            self._loop = None
            self._commit()
            try:
                store.group_commits(None, None)
            except Exception:  # a store closed under the server: nothing left to commit
                log.exception("the store could not leave group commit")

    def _schedule(self) -> None:
        loop = self._loop
        if loop is not None and self._future is None:
            self._future = loop.create_future()
            loop.call_soon(self._commit)

    def _commit(self) -> None:
        future, self._future = self._future, None
        try:
            self.service.commit_pending()
        except Exception as exc:  # answers waiting for this commit fail; memory was rolled back
            log.exception("the group commit failed; its writes are rolled back")
            if future is not None and not future.done():
                future.set_exception(exc)
                future.add_done_callback(_retrieve)
            return
        if future is not None and not future.done():
            future.set_result(None)

    async def durable(self) -> None:
        """Return once every write made so far on the loop is committed."""
        future = self._future
        if future is not None:
            await asyncio.shield(future)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
