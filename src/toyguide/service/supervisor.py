"""Worker processes on one port, each with its own ``SO_REUSEPORT`` listening socket.

uvicorn's own ``--workers`` mode hands one listening socket to every worker: whichever worker
wakes first accepts a whole burst of new connections (asyncio accepts all that are waiting),
and a keep-alive connection stays with the worker that accepted it. Measured with wrk's 32
connections against two workers, five runs split them 25/7, 5/27, 16/16, 32/0 and 16/16: one
worker queued what two could serve. Here every worker gets its own socket, bound to the same
port with ``SO_REUSEPORT``, and the kernel spreads new connections over the sockets by a hash
of the client's address and port.

The supervisor starts each worker as ``python -m toyguide.service.worker_main --fd N`` (a plain
subprocess that inherits its socket; uvicorn's public ``Config``/``Server`` run it), starts
another on the same socket when one dies (connections the kernel hashed to that socket wait
in its queue meanwhile), stops every worker when one fails at startup (it would fail again),
and on SIGINT or SIGTERM stops them all (SIGTERM: uvicorn finishes the requests in flight).
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping

from toyguide.errors import ConfigError

__all__ = ["STARTUP_FAILED", "Supervisor", "reuse_port_sockets"]

log = logging.getLogger("toyguide.service")

STARTUP_FAILED = 3  # a worker's exit status when its app did not start (uvicorn's too)
STOP_TIMEOUT_S = 30  # then a worker that has not finished is killed


def reuse_port_sockets(host: str, port: int, n: int) -> list[socket.socket]:
    """``n`` TCP sockets bound to ``host:port`` with ``SO_REUSEPORT`` (port 0: one free port
    for all), not yet listening: each worker listens on its own. ``ConfigError`` when anything
    listens there already: ``SO_REUSEPORT`` would otherwise share the port, and its traffic,
    with another service of the same user."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR alone: a port left in TIME_WAIT is fine, one with a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        port = probe.getsockname()[1]
    sockets: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Supervisor:
    """Runs one worker per socket until SIGINT/SIGTERM; ``run`` returns when all have exited
    and says whether every worker started."""

    def __init__(self, sockets: list[socket.socket], env: Mapping[str, str]) -> None:
        self.sockets, self.env = sockets, dict(env)
        self.stopping = threading.Event()
        self.workers: list[subprocess.Popen] = []

    def run(self) -> bool:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        started = True
        try:
            self.workers = [self._start(sock) for sock in self.sockets]
            while not self.stopping.wait(0.5):
                started = self._replace_the_dead()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return started

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping.set()

    def _start(self, sock: socket.socket) -> subprocess.Popen:
        fd = sock.fileno()
        command = [sys.executable, "-m", "toyguide.service.worker_main", "--fd", str(fd)]
        return subprocess.Popen(command, env=self.env, pass_fds=(fd,))

    def _replace_the_dead(self) -> bool:
        """Start a worker in place of each that exited; False (and stop) when one failed at
        startup."""
        for i, worker in enumerate(self.workers):
            code = worker.poll()
            if code is None:
                continue
            if code == STARTUP_FAILED:
                log.error("worker %d failed to start; stopping the service", worker.pid)
                self.stopping.set()
                return False
            log.warning("worker %d exited with status %s; starting another", worker.pid, code)
            self.workers[i] = self._start(self.sockets[i])
        return True

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop within %d s; killing it", worker.pid,
                          STOP_TIMEOUT_S)  # fmt: skip
                worker.kill()
                worker.wait()
