"""Who may talk to ``trashscan ui``: the one ASGI middleware every request passes first.

The server listens on 127.0.0.1 only, but that is not enough: any web page the person opens can
make their browser send requests to it (cross-site requests), and a hostile DNS name can be
re-pointed at 127.0.0.1 so that such a page even reads the answers (DNS rebinding). In order:

1. **Host**: the ``Host`` header must be ``127.0.0.1:PORT`` or ``localhost:PORT``; a rebound
   name arrives with its own name there, and is refused (403) before anything else is read.
2. **Login**: the URL printed at start carries a one-time token (``?token=…``, 256 random bits).
   The first request with it gets a session cookie (``HttpOnly``: no script reads it;
   ``SameSite=Strict``: no other site's page sends it) and a redirect to the same address
   without the token, so it leaves the address bar and the history. The token then stops
   working (403: an address copied from the history logs nobody in). As in Jupyter, Datasette's
   ``--root`` and ``rclone gui``.
3. **Session**: every route, thumbnails and static files included, needs the cookie (401).
4. **Cross-origin writes** (every method but GET/HEAD): ``Sec-Fetch-Site``, when the browser
   sends it, must be ``same-origin`` (or ``none``: typed by the person); an ``Origin``, when
   sent, must be this server's own (Datasette's check since 2026-04, after Go 1.25's
   ``http.CrossOriginProtection``). Both are refused with 403.
5. **CSRF token**: and every such request must also carry the session's CSRF token, in the form
   field ``csrf`` or the ``X-CSRF-Token`` header (htmx sends it), compared in constant time.

No response carries CORS headers, so no other origin can read any answer. Every answer also
says ``no-store`` (the pages show what the person threw away), ``nosniff``, a strict
Content-Security-Policy (scripts, styles and images from this server only; no inline script,
no eval) and ``frame-ancestors 'none'`` (no clickjacking through a frame).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "trashscan_session"
TOKEN_PARAM = "token"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SAME_SITE = frozenset({"same-origin", "none"})
MAX_BODY = 8 * 1024 * 1024  # a form of every ref selected (40 hex each) fits many times over
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


@dataclass
class Secrets:
    """The one-time login token, the session it becomes, and that session's CSRF token."""

    port: int
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    login_url: str = ""

    def __post_init__(self) -> None:
        self.login_url = f"http://127.0.0.1:{self.port}/?{TOKEN_PARAM}={self.token}"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    def take_token(self, offered: str) -> bool:
        """True once: for the right token, the first time it is offered."""
        if self.token is None or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return False
        self.token = None
        return True

    def is_session(self, cookie: str | None) -> bool:
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.session.encode())

    def is_csrf(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf.encode())


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers, lower-cased names; a repeated one keeps its first value."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _cookie(headers: dict[str, str]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


async def _answer(
    send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A refusal (or the login redirect): plain text, never echoing anything the request held."""
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *SECURITY_HEADERS,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The middleware: refuses what the module docstring lists, passes the rest on unchanged
    (with the security headers added to every answer)."""

    def __init__(self, app: ASGIApp, keys: Secrets) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        headers = _headers(scope)
        if headers.get("host", "") not in self.keys.hosts:
            await _answer(send, 403, "forbidden: unexpected Host header")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if TOKEN_PARAM in query:
            await self._login(scope, query, headers, send)
            return
        if not self.keys.is_session(_cookie(headers)):
            await _answer(
                send, 401, "not logged in: open the address `trashscan ui` printed (with its token)"
            )
            return
        method = scope["method"].upper()
        if method not in SAFE_METHODS:
            refusal = self._cross_origin(headers)
            if refusal is not None:
                await _answer(send, 403, refusal)
                return
            body = await self._body(receive)
            if body is None:
                await _answer(send, 413, "request too large")
                return
            if not self.keys.is_csrf(self._csrf_of(headers, body)):
                await _answer(send, 403, "forbidden: missing or wrong CSRF token (reload the page)")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, _with_headers(send))

    async def _login(
        self, scope: Scope, query: dict[str, list[str]], headers: dict[str, str], send: Send
    ) -> None:
        """The token (GET only) becomes the cookie; the redirect drops it from the address."""
        offered = query.pop(TOKEN_PARAM)[0]
        if scope["method"].upper() != "GET":  # not even HEAD: a link preview must not spend it
            await _answer(send, 403, "forbidden: the login token is taken by a GET only")
            return
        rest = urlencode(query, doseq=True)
        location = (scope.get("path") or "/") + (f"?{rest}" if rest else "")
        if not location.startswith("/") or location.startswith("//"):
            location = "/"
        if self.keys.take_token(offered):
            cookie = f"{COOKIE}={self.keys.session}; HttpOnly; SameSite=Strict; Path=/"
            extra = [(b"location", location.encode()), (b"set-cookie", cookie.encode())]
            await _answer(send, 303, "logged in", extra)
        elif self.keys.is_session(_cookie(headers)):  # the address opened again: fine
            await _answer(send, 303, "already logged in", [(b"location", location.encode())])
        else:
            await _answer(
                send,
                403,
                "forbidden: this login address is wrong or was used already; "
                "restart `trashscan ui` for a new one",
            )

    def _cross_origin(self, headers: dict[str, str]) -> str | None:
        site = headers.get("sec-fetch-site")
        if site is not None and site not in SAME_SITE:
            return f"forbidden: cross-site request (Sec-Fetch-Site: {site[:20]})"
        origin = headers.get("origin")
        if origin is not None and origin not in self.keys.origins:
            return "forbidden: request from another origin"
        return None

    @staticmethod
    async def _body(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _csrf_of(headers: dict[str, str], body: bytes) -> str | None:
        if CSRF_HEADER in headers:
            return headers[CSRF_HEADER]
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return None
        values = parse_qs(body.decode("latin-1")).get(CSRF_FIELD)
        return values[0] if values else None


def _replay(body: bytes, then: Receive) -> Receive:
    """The body read for the CSRF check, handed to the app as if it came now; after it, the
    connection's own messages (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
            if b"cache-control" not in names:
                extra.append((b"cache-control", b"no-store"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
