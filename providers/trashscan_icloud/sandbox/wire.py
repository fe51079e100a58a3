"""Wire details of the iCloud fake: Apple's error envelopes, cookies, timestamps and ids.

Apple's web services do not share one error shape, and pyicloud (``session.py``) reacts to the
status code first and to the body second, so each family is reproduced as observed:

* **idmsa** (``idmsa.apple.com/appleauth``): ``{"serviceErrors": [{"code": "-20101", ...}]}``; a
  wrong password is 401 with code ``-20101`` ("Your Apple ID or password was incorrect."), a wrong
  2FA code 400 with ``-21669`` (the code pyicloud's own 2SA path checks in ``base.py``), an HSA2
  challenge 409 ``{"authType": "hsa2"}`` (pyicloud ``session._auth_type_from_hsa2_body``);
* **setup** (``setup.icloud.com/setup/ws/1``): ``{"success": false, "error": "..."}`` with 421
  ("Missing X-APPLE-WEBAUTH-TOKEN cookie", the reason pyicloud's ``_raise_error`` special-cases);
* **CloudKit** (``ckdatabasews``): ``{"uuid", "serverErrorCode", "reason"}`` with the HTTP status
  from Apple's *CloudKit Web Services Reference, Error Codes* (ACCESS_DENIED 403, BAD_REQUEST 400,
  AUTHENTICATION_FAILED 401, AUTHENTICATION_REQUIRED 421, CONFLICT 409, NOT_FOUND 404,
  THROTTLED 429, ZONE_NOT_FOUND 404); per-record failures of ``records/modify`` are record-error
  dictionaries inside a 200 (pyicloud ``common/cloudkit/client._raise_for_record_errors``);
* **drivews**: ``{"requestUUID", "errorReason", "errorCode"}``, e.g. the ADP answer
  ``423 {"errorReason": "Missing PCS cookies from the request", "errorCode": 423}`` quoted
  verbatim in rclone/rclone#9408 and picklepete/pyicloud#432.

The sandbox's :class:`~trashscan.sandbox.server.Response` keeps headers in a ``dict``, which holds
one ``Set-Cookie``; Apple sets several cookies per response, so :func:`cookie_headers` sends each
under a differently-cased header name (HTTP field names are case-insensitive, RFC 9110 §5.1, and
``http.client`` hands every variant to the cookie jar as ``Set-Cookie``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.server import Request, Response

__all__ = [
    "JSON_CONTENT_TYPE",
    "b64",
    "ck_error",
    "ck_record_error",
    "cookie_headers",
    "drive_error",
    "iso_z",
    "json_body",
    "json_object",
    "json_response",
    "millis",
    "rate_limit_fault",
    "request_cookies",
    "service_errors",
    "setup_error",
    "stable_hex",
]

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with the ``Content-Type`` Apple's services send (pyicloud only looks at the
    part before ``;``, ``session._is_json_response``)."""
    return Response(
        status,
        json.dumps(obj, separators=(",", ":")).encode(),
        {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def json_body(request: Request) -> Any:
    """The request body as JSON whatever its declared type: pyicloud posts CloudKit JSON as
    ``Content-Type: plain/text`` (``const.CONTENT_TYPE_TEXT``) and ``validate`` with the literal
    body ``null``. An empty body reads as ``None``."""
    if not request.body.strip():
        return None
    return json.loads(request.body)


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; anything else (malformed, a list, empty) reads as ``{}`` so a
    handler answers its usual "missing field" error instead of crashing."""
    try:
        body = json_body(request)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- error envelopes ------------------------------------------------------------------------------


def service_errors(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An idmsa error: ``{"serviceErrors": [{"code", "message", "suppressDismissal"}]}``."""
    error = {"code": code, "message": message, "suppressDismissal": False}
    return json_response({"serviceErrors": [error], "hasError": True}, status, headers)


def setup_error(status: int, error: str) -> Response:
    """A ``setup.icloud.com`` error: ``{"success": false, "error": ...}``."""
    return json_response({"success": False, "error": error}, status)


def ck_error(status: int, code: str, reason: str, **extra: Any) -> Response:
    """A request-level CloudKit error (CloudKit Web Services Reference, Error Codes)."""
    body = {"uuid": str(uuid.uuid4()), "serverErrorCode": code, "reason": reason, **extra}
    return json_response(body, status)


def ck_record_error(record_name: str | None, code: str, reason: str) -> dict[str, Any]:
    """A per-record CloudKit error dictionary: ``recordName``, ``reason``, ``serverErrorCode``,
    ``uuid`` (the CloudKit JS ``CKError`` properties; there is no server-record copy in it)."""
    error: dict[str, Any] = {"serverErrorCode": code, "reason": reason, "uuid": str(uuid.uuid4())}
    if record_name is not None:
        error["recordName"] = record_name
    return error


def drive_error(status: int, reason: str, code: int | str | None = None) -> Response:
    """A drivews error ``{"requestUUID", "errorReason", "errorCode"}`` (rclone/rclone#9408)."""
    body = {"requestUUID": str(uuid.uuid4()), "errorReason": reason, "errorCode": code or status}
    return json_response(body, status)


def rate_limit_fault(service: str, retry_after: int, status: int) -> HttpFault:
    """A throttling answer shaped like ``service``'s own errors, with ``Retry-After``."""
    headers = {"Content-Type": JSON_CONTENT_TYPE, "Retry-After": str(retry_after)}
    body: dict[str, Any]
    if service == "ck":
        body = {
            "uuid": str(uuid.uuid4()),
            "serverErrorCode": "THROTTLED" if status == 429 else "TRY_AGAIN_LATER",
            "reason": "Request throttled. Retry after the delay in retryAfter.",
            "retryAfter": retry_after,
        }
    elif service == "drivews":
        body = {
            "requestUUID": str(uuid.uuid4()),
            "errorReason": "Too many requests",
            "errorCode": status,
        }
    elif service == "idmsa":
        body = {
            "serviceErrors": [
                {
                    "code": "-20209" if status == 403 else "-20751",
                    "message": "Too many attempts. Try again later.",
                    "suppressDismissal": False,
                }
            ],
            "hasError": True,
        }
    elif service == "setup":
        body = {"success": False, "error": "Too many requests"}
    else:
        raise ValueError(f"service must be ck, drivews, idmsa or setup, not {service!r}")
    return HttpFault(status, json.dumps(body).encode(), headers)


# -- cookies --------------------------------------------------------------------------------------


def _case_variant(name: str, index: int) -> str:
    """The ``index``-th distinct capitalisation of ``name`` (0 is all lower case)."""
    chars = list(name.lower())
    letters = [i for i, char in enumerate(chars) if char.isalpha()]
    if index >= 2 ** len(letters):
        raise ValueError("too many cookies for one response")
    for bit, position in enumerate(letters):
        if index >> bit & 1:
            chars[position] = chars[position].upper()
    return "".join(chars)


def cookie_headers(cookies: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``Set-Cookie`` headers for ``(name, value)`` pairs: host-only (the loopback server has no
    domain to scope to), ``Path=/; Secure; HttpOnly`` like Apple's web-auth cookies."""
    headers: dict[str, str] = {}
    for index, (name, value) in enumerate(cookies):
        headers[_case_variant("Set-Cookie", index)] = f"{name}={value}; Path=/; Secure; HttpOnly"
    return headers


def request_cookies(request: Request) -> dict[str, str]:
    """The request's cookies, with the double quotes Apple wraps values in removed."""
    cookies: dict[str, str] = {}
    for header in request.headers.get_all("Cookie") or []:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                cookies[name] = value.strip().strip('"')
    return cookies


# -- values ---------------------------------------------------------------------------------------


def millis(when: datetime) -> int:
    """CloudKit ``TIMESTAMP``: milliseconds since the epoch."""
    return int(when.timestamp() * 1000)


def iso_z(when: datetime) -> str:
    """drivews dates: ISO 8601 in UTC with a ``Z`` (``DRIVE_TRASH_WORKING`` fixture)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(data: bytes | str) -> str:
    """Standard base64 text (``ENCRYPTED_BYTES`` values, SRP numbers)."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def stable_hex(*parts: object, length: int = 32) -> str:
    """A deterministic hex string derived from ``parts`` (for ids that must not look random
    between runs of a seeded fake)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return digest[:length]
