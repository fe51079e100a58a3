"""Dropbox API v2 wire format for the fake: JSON bodies, error envelopes, request IDs.

Everything here follows what the official Python SDK (``dropbox`` 12.x,
``dropbox_client._DropboxTransport``) checks, because an SDK that rejects a response is the
failure a fake must never cause by itself (dropbox.md §4):

* a 2xx RPC response must carry ``Content-Type`` exactly ``application/json`` (the SDK asserts
  it; ``application/json; charset=utf-8`` fails), and so must a 401 and a JSON 429;
* route errors are HTTP 409 with ``{"error_summary": "...", "error": <route error union>}``
  [DOC http/documentation "Errors": "Endpoint-specific error ... JSON body"]; the SDK decodes
  ``error`` with the route's error type and raises ``ApiError``;
* 400 is "Bad input parameter" with a plain-text body, which the SDK surfaces verbatim as
  ``BadInputError`` (except an OAuth ``{"error": "invalid_grant"}``);
* 401 is ``{"error_summary": ..., "error": AuthError}``; the SDK refreshes once on
  ``expired_access_token``;
* 429 is ``{"error_summary": ..., "error": RateLimitError}`` where ``RateLimitError`` is the
  *struct* ``{"reason": {".tag": "too_many_requests" | "too_many_write_operations"},
  "retry_after": n}`` [auth.stone; data-ingress guide: "If it's JSON, it will include a reason
  field"], plus a ``Retry-After`` header [DBX performance guide: "Rate limited responses always
  include a Retry-After header"]. The SDK decodes ``res.json()["error"]`` as that struct, so a
  bare ``{"error": {".tag": "too_many_requests"}}`` would crash its decoder;
* every response carries ``X-Dropbox-Request-Id`` (the SDK's ``e.request_id``).

Bodies are produced with the SDK's own stone serializers (``json_compat_obj_encode`` with the
route's result/error validator), so field names, ``.tag`` placement and timestamp format
(``%Y-%m-%dT%H:%M:%SZ``, common.stone ``DropboxTimestamp``) are exactly what the SDK parses.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from dropbox import stone_serializers
from dropbox.auth import RateLimitError as RateLimitStruct
from dropbox.auth import RateLimitError_validator, RateLimitReason

from trashscan.sandbox.server import Response

__all__ = [
    "JSON_TYPE",
    "BadRequest",
    "RateLimited",
    "RouteError",
    "auth_error",
    "bad_request",
    "download_reply",
    "encode",
    "error_summary",
    "json_reply",
    "rate_limit_body",
    "rate_limited",
    "request_id",
    "route_error",
]

JSON_TYPE = "application/json"  # exactly this, no charset: the SDK compares verbatim
TEXT_TYPE = "text/plain; charset=utf-8"


class RouteError(Exception):
    """Raised by a handler: answer 409 with ``value`` (a stone union of the route's error type)."""

    def __init__(self, value: Any) -> None:
        super().__init__(repr(value))
        self.value = value


class BadRequest(Exception):
    """Raised by a handler: answer 400 with a plain-text message, as Dropbox does for bad input."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    """Raised by a handler: answer 429 with a ``RateLimitError`` body and ``Retry-After``."""

    def __init__(self, reason: str = "too_many_requests", retry_after: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def request_id() -> str:
    """A fresh ``X-Dropbox-Request-Id`` (32 hex digits, like the real header)."""
    return secrets.token_hex(16)


def encode(validator: Any, value: Any) -> Any:
    """``value`` as the JSON-compatible object the real server would send for ``validator``."""
    return stone_serializers.json_compat_obj_encode(validator, value)


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": JSON_TYPE, "X-Dropbox-Request-Id": request_id(), **(headers or {})}
    return Response(status, json.dumps(obj).encode(), merged)


def error_summary(error: Any) -> str:
    """Dropbox's ``error_summary``: the chain of union tags, then a slash and padding dots
    (observed as ``path/not_found/..``, ``expired_access_token/..``); clients should never parse
    it, they get the structured ``error``."""
    tags: list[str] = []
    node = error
    while isinstance(node, dict) and ".tag" in node:
        tag = node[".tag"]
        tags.append(tag)
        node = node.get(tag)
    if isinstance(error, dict) and "reason" in error and not tags:  # RateLimitError struct
        return error_summary(error["reason"])
    return "/".join(tags) + "/.."


def route_error(validator: Any, value: Any, headers: dict[str, str] | None = None) -> Response:
    """HTTP 409 with a route's error union (``ApiError`` in the SDK)."""
    body = encode(validator, value)
    return json_reply({"error_summary": error_summary(body), "error": body}, 409, headers)


def auth_error(tag: str, extra: dict[str, Any] | None = None) -> Response:
    """HTTP 401 with an ``AuthError`` (``invalid_access_token``, ``expired_access_token``,
    ``missing_scope``...)."""
    error: dict[str, Any] = {".tag": tag, **(extra or {})}
    return json_reply({"error_summary": error_summary(error), "error": error}, 401)


def bad_request(message: str) -> Response:
    """HTTP 400 with plain text, as Dropbox answers malformed calls (SDK ``BadInputError``)."""
    headers = {"Content-Type": TEXT_TYPE, "X-Dropbox-Request-Id": request_id()}
    return Response(400, message.encode(), headers)


def rate_limit_body(reason: str, retry_after: int) -> dict[str, Any]:
    """The JSON body of a 429, serialized with the SDK's ``RateLimitError`` validator."""
    value = RateLimitStruct(reason=RateLimitReason(reason), retry_after=retry_after)
    error = encode(RateLimitError_validator, value)
    return {"error_summary": error_summary(error), "error": error}


def rate_limited(reason: str, retry_after: int) -> Response:
    return json_reply(rate_limit_body(reason, retry_after), 429, {"Retry-After": str(retry_after)})


def download_reply(result: Any, data: bytes) -> Response:
    """A content-download answer: the bytes as the body, the route's result JSON in the
    ``Dropbox-API-Result`` header (ASCII: non-ASCII characters escaped, as HTTP headers need),
    ``Content-Type: application/octet-stream``."""
    headers = {
        "Content-Type": "application/octet-stream",
        "Dropbox-API-Result": json.dumps(result, separators=(",", ":")),
        "X-Dropbox-Request-Id": request_id(),
    }
    return Response(200, data, headers)
