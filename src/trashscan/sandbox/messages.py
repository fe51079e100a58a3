"""What a fake's route handlers see and return: a parsed :class:`Request`, a :class:`Response`.

Below both the server that parses requests and the fault rules that match them (:mod:`.faults`),
so neither has to import the other for these types. :mod:`.server` re-exports them, which is
where the fakes import them from.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Request:
    """A parsed request as route handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message  # case-insensitive .get()/[]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """An ``x-www-form-urlencoded`` body (OAuth token endpoints); a key's last value wins."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass(frozen=True)
class RequestRecord:
    """One answered (or deliberately dropped: ``status`` None) request, for counting round trips.

    ``parts``: the sub-requests a batch endpoint (Graph's ``$batch``) carried in this one round
    trip, each recorded as the fake evaluated it (``latency`` 0: the round trip paid it)."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None
    at: datetime
    latency: float  # the artificial delay applied to this request
    parts: tuple[RequestRecord, ...] = ()


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A batch handler's record of the sub-requests it evaluated: the server logs them with the
    # batch's own record (one round trip), in :attr:`RequestRecord.parts`.
    parts: tuple[RequestRecord, ...] = ()

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        # Exactly "application/json": some SDKs compare the header verbatim before decoding.
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, json.dumps(obj).encode(), merged)

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        return cls(status, text.encode(), merged)

    @classmethod
    def html(cls, title: str, body: str, status: int = 200) -> Response:
        """A small page a person opens (a consent or authorize page): ``title`` escaped here,
        ``body`` already HTML."""
        text = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>"
        )
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


Handler = Callable[[Request, re.Match[str]], Response]
