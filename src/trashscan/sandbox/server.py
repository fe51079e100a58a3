"""A tiny threaded HTTP(S) server that provider fakes plug their routes into.

The fakes exist so that the real SDKs (dropbox, msal, pyicloud, httplib2) run unmodified against
loopback, which is why this speaks genuine HTTP/1.1 with keep-alive and TLS rather than being a
mock transport. It uses only the standard library so the sandbox adds no web framework to the
dependency tree, and it binds loopback only: fakes hand out tokens and must not be reachable from
the network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from trashscan.sandbox.faults import Drip, DropConnection, FaultInjector, HttpFault
from trashscan.sandbox.messages import Handler, Request, RequestRecord, Response

__all__ = ["FakeServer", "Handler", "Request", "RequestRecord", "Response", "Router"]

logger = logging.getLogger(__name__)

_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 60.0  # lets handler threads of abandoned keep-alive connections finish


class Router:
    """Regex routes, full-matched against the path, tried in the order added."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return register

    def dispatch(self, request: Request) -> Response:
        """Run the matching handler; 404 for an unknown path, 405 for a known path, wrong method."""
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                return handler(request, match)
            allowed.append(method)
        if allowed:
            return Response.json(
                {"error": "method not allowed"},
                status=405,
                headers={"Allow": ", ".join(dict.fromkeys(allowed))},
            )
        return Response.json({"error": "not found"}, status=404)


class FakeServer:
    """A loopback HTTP(S) server running a :class:`Router` on a background daemon thread."""

    def __init__(
        self,
        router: Router,
        *,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        faults: FaultInjector | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"sandbox servers bind loopback only, not {host!r}")
        self.router = router
        self.tls = tls
        self.host = host
        self.port = port
        self.latency = latency  # read per request, so it may be changed while running
        self.faults = faults
        self.sleep = sleep  # injectable so tests can check latency without timing anything
        self.request_log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # ends dripping responses (faults.Drip)

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """The socket's actual bound address."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.socket.getsockname()[:2]
        return host, port

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FakeServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        httpd = _HTTPServer((self.host, self.port), _RequestHandler, fake=self)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"trashscan-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.close_connections()  # otherwise keep-alive clients would still be served
        httpd.server_close()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(
        self,
        request: Request,
        status: int | None,
        latency: float,
        parts: tuple[RequestRecord, ...] = (),
    ) -> None:
        record = RequestRecord(
            request.method, request.path, request.query, status, datetime.now(UTC), latency, parts
        )
        with self._log_lock:
            self.request_log.append(record)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback  # the server socket is AF_INET


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, fake: FakeServer) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), slow on some CI hosts.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Headers and body leave in separate writes; with Nagle on, each response would wait for
        # the client's delayed ACK (tens of ms), dwarfing the latency a benchmark injects.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # TLS is wrapped here, on the per-connection thread, not on the listening socket, so a
        # slow or failing handshake (a client that rejects our CA) never blocks accept().
        if self.fake.tls is not None:
            try:
                request.settimeout(_HANDSHAKE_TIMEOUT)
                request = self.fake.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                logger.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        with self._connections_lock:
            self._connections.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            if self.fake.tls is not None:
                request.close()  # the raw socket was detached by wrap_socket

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request is routine here; keep it off stderr.
        logger.debug("connection from %s failed", client_address, exc_info=True)


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so SDK sessions reuse connections
    timeout = _IDLE_TIMEOUT
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
        )
        latency = fake.latency
        if latency > 0:
            fake.sleep(latency)
        fault = fake.faults.match(request) if fake.faults is not None else None
        if isinstance(fault, DropConnection):
            fake._record(request, None, latency)
            self.close_connection = True
            _shutdown(self.connection)
            return
        if isinstance(fault, Drip):
            late = self._dispatch(request) if fault.count is not None else None
            if late is None:
                fake._record(request, 200, latency)
            else:
                fake._record(request, late.status, latency, late.parts)
            self._drip(fault, late)
            return
        if isinstance(fault, HttpFault):
            response = Response(fault.status, fault.body, dict(fault.headers))
        else:
            response = self._dispatch(request)
        # before replying: no race with asserts
        fake._record(request, response.status, latency, response.parts)
        self._send(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def _dispatch(self, request: Request) -> Response:
        try:
            response = self.server.fake.router.dispatch(request)
            if not isinstance(response, Response):
                raise TypeError(f"handler returned {type(response).__name__}, not Response")
        except Exception as exc:
            logger.exception("sandbox handler for %s %s failed", request.method, request.path)
            return Response.json(
                {"error": "internal error", "detail": type(exc).__name__}, status=500
            )
        return response

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        names = {name.lower() for name in response.headers}
        for name, value in response.headers.items():
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _drip(self, fault: Drip, late: Response | None) -> None:
        """Headers at once, then spaces (JSON ignores them) one byte at a time: forever (until
        the client hangs up or the server stops), or ``fault.count`` of them before ``late``'s
        body. The connection is closed afterwards."""
        self.close_connection = True
        stopping = self.server.fake.stopping
        status, headers, body = 200, {"Content-Type": "application/json"}, b""
        if late is not None:
            status, body = late.status, late.body
            headers = {k: v for k, v in late.headers.items() if k.lower() != "content-length"}
        length = (1 << 30) if fault.count is None else fault.count + len(body)
        sent = 0
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()
            while fault.count is None or sent < fault.count:
                if stopping.wait(fault.interval):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
                sent += 1
            self.wfile.write(body)
        except OSError:  # the client gave up: what a drip is for
            return

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""
