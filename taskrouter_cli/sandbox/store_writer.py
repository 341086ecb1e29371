"""The store's writer thread (for an in-memory database; a file has a writer process): batches
of writes committed in the order they came, the batches that queued up while a commit ran merged
into the next one (one transaction, one fsync-free WAL commit for all of them)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Change = TypeVar("Change")


class BatchWriter(Generic[Change]):
    """``write`` runs on one thread of its own, with every batch queued since its last call."""

    def __init__(self, write: Callable[[Sequence[Change]], None], name: str) -> None:
        self._write = write
        self._queue: deque[tuple[list[Change], Future[None]]] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, batch: list[Change]) -> Future[None]:
        """Queue ``batch``; the future resolves once it is written (or fails with the error)."""
        future: Future[None] = Future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the store's writer has stopped")
            self._queue.append((batch, future))
            self._ready.notify()
        return future

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                taken = list(self._queue)
                self._queue.clear()
            merged = [change for batch, _ in taken for change in batch]
            try:
                self._write(merged)
            except BaseException as exc:  # noqa: BLE001 -- handed to whoever waits for it
                for _, future in taken:
                    future.set_exception(exc)
            else:
                for _, future in taken:
                    future.set_result(None)
