"""A loopback TCP server that misbehaves on purpose, for the callback fault tests.

Each path of a request chooses the behaviour (``/<fault>``), so one server serves a primary and a
fallback URL with different faults:

* ``/accept``: a correct answer, ``200`` + ``{"instruction": "accept"}``;
* ``/error``: ``500`` with an HTML body;
* ``/garbage``: bytes that are not HTTP at all, then the connection closes;
* ``/cut``: a ``200`` status line and headers promising a body, half the body, then a close;
* ``/slow``: reads the request and answers nothing until :meth:`release` (or :meth:`stop`).

``down_url()`` gives a loopback URL where nothing listens (connection refused).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter

FAULTS = ("error", "garbage", "cut", "slow")

_ACCEPT_BODY = b'{"instruction": "accept"}'


class FaultyTarget:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-target", daemon=True)

    def url(self, fault: str) -> str:
        return f"http://127.0.0.1:{self.port}/{fault}"

    def count(self, fault: str) -> int:
        with self._lock:
            return self.hits[fault]

    def start(self) -> FaultyTarget:
        self._thread.start()
        assert self._ready.wait(5), "the faulty target did not start"
        return self

    def release(self) -> None:
        """Let every held ``/slow`` request go (it then gets an ``accept`` answer)."""
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    def stop(self) -> None:
        self.release()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._released = asyncio.Event()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            fault = head.split(b" ")[1].decode("ascii", "replace").strip("/")
            with self._lock:
                self.hits[fault] += 1
            await self._answer(fault, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    async def _answer(self, fault: str, writer: asyncio.StreamWriter) -> None:
        if fault == "error":
            body = b"<html>Internal Server Error</html>"
            writer.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
                + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                + body
            )
        elif fault == "garbage":
            writer.write(b"\x00\xff\x16\x03 this is not HTTP \xc3\x28\r\n\r\n")
        elif fault == "cut":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + b"Content-Length: %d\r\n\r\n" % (len(_ACCEPT_BODY) * 2)
                + _ACCEPT_BODY[:10]
            )
        else:
            if fault == "slow":
                assert self._released is not None
                await self._released.wait()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(_ACCEPT_BODY)
                + _ACCEPT_BODY
            )
        await writer.drain()


def down_url() -> str:
    """A loopback URL on a port that was just free: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"
