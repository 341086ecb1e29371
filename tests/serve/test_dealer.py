"""The serve process's connection dealer (``serve --workers``), on a real loop and sockets."""

from __future__ import annotations

import asyncio
import socket

from taskrouter_cli.callbacks.dealer import ConnectionDealer, listening_sockets


async def _deal(connections: int, worker: socket.socket) -> tuple[int, int]:
    """(served here, dealt to the worker) after ``connections`` clients connect in turn."""
    served: list[socket.socket] = []
    dealer = ConnectionDealer(served.append)
    dealer.listen(listening_sockets("127.0.0.1", 0, 16))
    dealer.add_worker(worker)
    loop = asyncio.get_running_loop()
    clients = []
    try:
        for _ in range(connections):
            client = socket.socket()
            client.setblocking(False)
            await loop.sock_connect(client, ("127.0.0.1", dealer.port))
            clients.append(client)
            for _ in range(100):  # until the dealer has accepted it
                if len(served) + dealer.dealt == len(clients):
                    break
                await asyncio.sleep(0.01)
        return len(served), dealer.dealt
    finally:
        dealer.close()
        for sock in [*clients, *served]:
            sock.close()


def test_connections_are_dealt_in_turn_to_this_process_and_the_worker() -> None:
    here, there = socket.socketpair()
    try:
        assert asyncio.run(_deal(6, here)) == (3, 3)
        received = 0
        while True:  # until the end the dealer closed
            data, descriptors, _, _ = socket.recv_fds(there, 16, 16)
            for descriptor in descriptors:
                socket.socket(fileno=descriptor).close()
            received += len(descriptors)
            if not data:
                break
        assert received == 3
    finally:
        there.close()


def test_a_worker_that_is_gone_leaves_its_connections_to_this_process() -> None:
    here, there = socket.socketpair()
    there.close()  # the worker exited
    assert asyncio.run(_deal(4, here)) == (4, 0)
