"""Deterministic fault injection for the fake servers.

Tests and benchmarks need to prove that real SDK clients survive throttling, outages and dropped
connections through the shared retry policy. Faults are queued explicitly (no random rates) so that
each test states exactly which request fails and how, and reruns behave identically.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trashscan.sandbox.messages import Request

__all__ = ["Drip", "DropConnection", "Fault", "FaultInjector", "HttpFault"]

_JSON = {"Content-Type": "application/json"}


def _error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


@dataclass(frozen=True)
class HttpFault:
    """Answer with this status instead of running the route.

    The body is configurable because each provider has its own error shape (Graph's
    ``{"error": {"code": ...}}``, Dropbox's ``error_summary``) and SDKs parse it.
    """

    status: int
    body: bytes = b'{"error": "injected fault"}'
    headers: dict[str, str] = field(default_factory=lambda: dict(_JSON))

    @classmethod
    def too_many_requests(
        cls,
        retry_after: float | str | None = 1,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpFault:
        """A 429; ``retry_after`` may be seconds, an HTTP-date string, or None for no header."""
        return cls._make(429, "too many requests", retry_after, body, headers)

    @classmethod
    def server_error(
        cls, status: int = 500, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> HttpFault:
        return cls._make(status, "internal server error", None, body, headers)

    @classmethod
    def unavailable(
        cls,
        retry_after: float | str | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpFault:
        return cls._make(503, "service unavailable", retry_after, body, headers)

    @classmethod
    def unauthorized(
        cls, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> HttpFault:
        """A 401, for exercising token refresh and "run `trashscan login`" hints."""
        return cls._make(401, "unauthorized", None, body, headers)

    @classmethod
    def _make(
        cls,
        status: int,
        message: str,
        retry_after: float | str | None,
        body: bytes | None,
        headers: dict[str, str] | None,
    ) -> HttpFault:
        merged = dict(_JSON)
        if retry_after is not None:
            merged["Retry-After"] = (
                f"{retry_after:g}" if isinstance(retry_after, int | float) else retry_after
            )
        merged.update(headers or {})
        return cls(status, _error_body(message) if body is None else body, merged)


@dataclass(frozen=True)
class DropConnection:
    """Close the socket without answering; clients see ``RemoteDisconnected``/ConnectionError."""


@dataclass(frozen=True)
class Drip:
    """Answer slowly: one byte every ``interval`` seconds.

    Every read a client makes gets a byte before its timeout, so per-read timeouts never fire;
    only a deadline the client enforces itself ends the request. With ``count`` None the body
    never ends (a ``200`` of spaces, until the client hangs up or the server stops); otherwise the
    route's real answer follows ``count`` bytes of leading whitespace, which JSON ignores: a reply
    that arrives, late.
    """

    interval: float = 1.0
    count: int | None = None


Fault = HttpFault | DropConnection | Drip


@dataclass
class _Rule:
    fault: Fault
    path: re.Pattern[str] | None
    method: str | None
    remaining: int | None


class FaultInjector:
    """A thread-safe, ordered list of fault rules; the first matching rule fires.

    Shared between the server's handler threads and the test thread that queues faults while
    clients are running, hence the lock.
    """

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def add(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Queue ``fault`` for the next ``times`` matching requests (None: every one, forever).

        ``path`` is a regex searched (not full-matched) in the request path, so ``"/delta"``
        matches ``/v1.0/me/drive/root/delta``.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for unlimited")
        rule = _Rule(
            fault,
            re.compile(path) if path is not None else None,
            method.upper() if method else None,
            times,
        )
        with self._lock:
            self._rules.append(rule)

    def match(self, request: Request) -> Fault | None:
        """The fault for this request, if any, consuming one use of its rule."""
        return self._take(request, http_only=False)

    def match_http(self, request: Request) -> HttpFault | None:
        """Like :meth:`match`, among the :class:`HttpFault` rules only: for a sub-request of a
        batch (Graph's ``$batch``), which can get a status of its own but has no connection of
        its own to drop or drip on."""
        fault = self._take(request, http_only=True)
        assert fault is None or isinstance(fault, HttpFault)
        return fault

    def _take(self, request: Request, http_only: bool) -> Fault | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                if http_only and not isinstance(rule.fault, HttpFault):
                    continue
                if rule.method is not None and rule.method != request.method.upper():
                    continue
                if rule.path is not None and not rule.path.search(request.path):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[index]
                return rule.fault
        return None

    def pending(self) -> int:
        """How many rules still wait to fire, so tests can assert every fault was consumed."""
        with self._lock:
            return len(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
