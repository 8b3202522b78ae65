"""Worker sockets: one per worker on one port, spread by the kernel, never shared with a
service already listening there."""

from __future__ import annotations

import socket

import pytest

from toyguide.errors import ConfigError
from toyguide.service.supervisor import reuse_port_sockets


def accepted(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_connections_spread_over_the_workers_sockets() -> None:
    sockets = reuse_port_sockets("127.0.0.1", 0, 2)
    port = sockets[0].getsockname()[1]
    assert [s.getsockname()[1] for s in sockets] == [port, port]
    for sock in sockets:
        sock.listen(64)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    counts = [accepted(s) for s in sockets]
    # by a hash of each client's port: one socket getting all 64 has odds of 2**-63
    assert sum(counts) == 64 and min(counts) > 0, counts
    for sock in [*clients, *sockets]:
        sock.close()


def test_a_port_with_a_listener_is_refused() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # even one that shares
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            reuse_port_sockets("127.0.0.1", port, 2)
