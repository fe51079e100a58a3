"""Google's wire conventions shared by the fake's endpoints: JSON replies, error shapes, params.

Two error shapes exist, and clients parse both (googleapiclient's ``HttpError`` reads
``error.message``, ``error.errors[].reason`` and ``error.details``):

* Drive v3's "global" shape [DOC guides/handle-errors]::

      {"error": {"code": 404, "message": "File not found: ID.",
                 "errors": [{"message": ..., "domain": "global", "reason": "notFound",
                             "location": "fileId", "locationType": "parameter"}]}}

* the ``google.rpc.Status`` shape of newer APIs such as Drive Activity v2::

      {"error": {"code": 403, "message": ..., "status": "PERMISSION_DENIED", "details": [...]}}

Google sends ``Content-Type: application/json; charset=UTF-8`` on both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from trashscan.sandbox.server import Request, Response

__all__ = [
    "JSON_TYPE",
    "ApiError",
    "PageToken",
    "bool_param",
    "drive_error",
    "int_param",
    "invalid_value",
    "json_reply",
    "param",
    "rpc_error",
]

JSON_TYPE = "application/json; charset=UTF-8"


class ApiError(Exception):
    """Raised inside handlers to answer with ``response`` (an error) right away."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status, json.dumps(obj).encode(), {"Content-Type": JSON_TYPE, **(headers or {})}
    )


def drive_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in Drive v3's shape (see module docstring)."""
    item: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    if location is not None:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    body: dict[str, Any] = {"code": status, "message": message, "errors": [item], **(extra or {})}
    return json_reply({"error": body}, status, headers)


def rpc_error(
    status: int,
    rpc_status: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in the google.rpc.Status JSON shape (see module docstring)."""
    body: dict[str, Any] = {"code": status, "message": message}
    if errors:
        body["errors"] = errors
    body["status"] = rpc_status
    if details:
        body["details"] = details
    return json_reply({"error": body}, status, headers)


def invalid_value(location: str) -> ApiError:
    """Drive's generic 400 for a bad parameter value (also what a bad ``q`` gets)."""
    return ApiError(
        drive_error(400, "invalid", "Invalid Value", location=location, location_type="parameter")
    )


def param(request: Request, name: str) -> str | None:
    """A query parameter's last value (googleapiclient sends each once)."""
    values = request.query.get(name)
    return values[-1] if values else None


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    value = param(request, name)
    if value is None:
        return default
    if value.lower() not in {"true", "false"}:
        raise invalid_value(name)
    return value.lower() == "true"


def int_param(request: Request, name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer parameter; values above ``maximum`` are coerced down, as Drive documents for
    ``pageSize`` ("values above 1000 will be coerced to 1000") [DISC files.list]."""
    value = param(request, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid_value(name) from None
    if number < minimum:
        raise invalid_value(name)
    return min(number, maximum)


class PageToken:
    """Opaque page tokens: base64 of an offset plus a fingerprint of the listing's parameters.

    Drive says a rejected token should be discarded and pagination restarted [DISC
    FileList.nextPageToken]; binding the token to the query makes a token reused with another
    query fail loudly (400 on ``pageToken``) instead of silently skipping items.
    """

    @staticmethod
    def fingerprint(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]

    @staticmethod
    def encode(offset: int, fingerprint: str) -> str:
        raw = json.dumps({"o": offset, "f": fingerprint}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(token: str | None, fingerprint: str, location: str = "pageToken") -> int:
        """The offset a token stands for (0 without a token); 400 for a foreign or bad one."""
        if token is None:
            return 0
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            offset = int(data["o"])
            ok = data["f"] == fingerprint and offset >= 0
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise invalid_value(location)
        return offset
