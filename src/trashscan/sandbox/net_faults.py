"""Network faults below HTTP, for tests that point an account at a broken endpoint.

:mod:`trashscan.sandbox.faults` makes a fake answer badly; these make the connection itself
fail, the way a wrong endpoint, a dead server or a stuck one does: a port nothing listens on
(:func:`closed_port`), a plain-HTTP server where HTTPS is expected (:class:`PlainHttpServer`), a
server that accepts and never says a word (:class:`SilentServer`). Each server counts the
connections it accepted, and :class:`ConnectionLog` counts the connections and DNS lookups the
process attempted, so tests assert that retries were bounded by counting, never by timing.
Everything binds loopback only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["ConnectionLog", "PlainHttpServer", "SilentServer", "closed_port"]

_PLAIN_ANSWER = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nbad request"
)


def closed_port() -> int:
    """A loopback port that nothing listens on (bound once to pick it, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Listener:
    """A loopback TCP listener whose accepted connections are handed to ``serve``."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = int(self._socket.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    def url(self, scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/"

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.close()
            self._open.clear()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.accepted += 1
                self._open.append(connection)
            self.serve(connection)

    def serve(self, connection: socket.socket) -> None:
        raise NotImplementedError


class PlainHttpServer(_Listener):
    """Answers whatever arrives (a TLS ClientHello included) with a plain ``HTTP/1.1 400``."""

    def serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            connection.settimeout(5)
            connection.recv(65536)
            connection.sendall(_PLAIN_ANSWER)
            connection.shutdown(socket.SHUT_WR)


class SilentServer(_Listener):
    """Accepts connections and never sends a byte (held open until :meth:`stop`)."""

    def serve(self, connection: socket.socket) -> None:
        pass


class ConnectionLog:
    """Counts, while active, the TCP connections and DNS lookups this process attempts.

    It wraps ``socket.socket.connect`` and ``socket.getaddrinfo``, which requests/urllib3 and
    httplib2 both go through, so it sees every provider SDK; a refused connection is counted too
    (no server can count what it never accepted).
    """

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.lookups: list[str] = []
        self._lock = threading.Lock()
        self._saved: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    def to_port(self, port: int) -> int:
        """How many connections were attempted to ``port`` on any address."""
        return sum(1 for _, p in self.connects if p == port)

    def lookups_of(self, host: str) -> int:
        return sum(1 for h in self.lookups if h == host)

    def __enter__(self) -> ConnectionLog:
        connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo
        self._saved = (connect, getaddrinfo)
        log = self

        def counted_connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple) and len(address) >= 2:
                with log._lock:
                    log.connects.append((str(address[0]), int(address[1])))
            return connect(sock, address)

        def counted_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            with log._lock:
                log.lookups.append(host.decode() if isinstance(host, bytes) else str(host))
            return getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = counted_connect  # type: ignore[method-assign]
        socket.getaddrinfo = counted_getaddrinfo
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._saved is not None
        socket.socket.connect, socket.getaddrinfo = self._saved  # type: ignore[method-assign]
        self._saved = None
