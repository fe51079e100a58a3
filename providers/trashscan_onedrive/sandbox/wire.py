"""Wire format of the OneDrive fake: Graph's JSON envelopes and errors, Entra's OAuth errors.

Microsoft Graph [DOC learn.microsoft.com/graph/errors, concepts/errors.md in
microsoftgraph/microsoft-graph-docs-contrib]:

* every JSON answer is ``Content-Type: application/json; odata.metadata=minimal;
  odata.streaming=true; IEEE754Compatible=false; charset=utf-8`` (what graph.microsoft.com sends;
  ``requests``' ``.json()`` only looks at the body, so the parameters are harmless to clients);
* every answer carries ``request-id`` and ``client-request-id`` headers (the latter echoes the
  client's header when it sent one) and ``x-ms-ags-diagnostic``;
* errors are ``{"error": {"code", "message", "innerError": {"date", "request-id",
  "client-request-id"}}}``; the OneDrive error doc adds that ``innerError`` may carry a more
  specific ``code`` (``resyncChangesApplyDifferences``, ``throttledRequest``...), which is where
  this fake puts its detailed codes;
* 401 carries ``WWW-Authenticate: Bearer realm="", authorization_uri=..., client_id=<Graph's
  app id>`` and code ``InvalidAuthenticationToken``.

Entra ID (login.microsoftonline.com) token-endpoint errors are RFC 6749 JSON with Entra's extra
fields, as seen verbatim in public bug reports (Azure/azure-cli#14244,
Azure/azure-sdk-for-python#26729, MS Q&A device-code thread): ``error``, ``error_description``
("AADSTSnnnnn: text\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: ..."),
``error_codes`` [n], ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri`` and, for
errors that need the user back, ``suberror`` (``bad_token``, ``consent_required``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from trashscan.sandbox.server import Request, Response

__all__ = [
    "ENTRA_JSON_TYPE",
    "GRAPH_APP_ID",
    "GRAPH_JSON_TYPE",
    "GraphError",
    "entra_error",
    "entra_json",
    "graph_error_body",
    "graph_error_response",
    "graph_json",
    "iso",
    "parse_iso",
    "throttle_body",
]

GRAPH_JSON_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; "
    "IEEE754Compatible=false; charset=utf-8"
)
ENTRA_JSON_TYPE = "application/json; charset=utf-8"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's well-known app id


def iso(at: datetime) -> str:
    """Graph's timestamp format: ISO 8601 in UTC with a ``Z`` (driveItem, recycleBinItem)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime; ValueError otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class GraphError(Exception):
    """Raised by a Graph handler: answer ``status`` with Graph's error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.inner_code = inner_code
        self.headers = headers or {}


def _ids(request: Request | None) -> tuple[str, str]:
    request_id = str(uuid.uuid4())
    client = request.headers.get("client-request-id") if request is not None else None
    return request_id, client or request_id


def _graph_headers(request_id: str, client_id: str) -> dict[str, str]:
    return {
        "Content-Type": GRAPH_JSON_TYPE,
        "request-id": request_id,
        "client-request-id": client_id,
        "x-ms-ags-diagnostic": json.dumps(
            {"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "5"}}
        ),
        "Cache-Control": "no-store, no-cache",
        "Strict-Transport-Security": "max-age=31536000",
    }


def graph_json(
    request: Request | None,
    obj: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A Graph JSON answer with Graph's content type and tracing headers."""
    request_id, client_id = _ids(request)
    merged = {**_graph_headers(request_id, client_id), **(headers or {})}
    return Response(status, json.dumps(obj).encode(), merged)


def graph_error_body(
    code: str,
    message: str,
    *,
    inner_code: str | None = None,
    request_id: str | None = None,
    client_request_id: str | None = None,
) -> dict[str, Any]:
    """Graph's error envelope [DOC concepts/errors.md]."""
    request_id = request_id or str(uuid.uuid4())
    inner: dict[str, Any] = {}
    if inner_code is not None:
        inner["code"] = inner_code
    inner.update(
        {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
        }
    )
    return {"error": {"code": code, "message": message, "innerError": inner}}


def graph_error_response(request: Request | None, error: GraphError) -> Response:
    request_id, client_id = _ids(request)
    body = graph_error_body(
        error.code,
        error.message,
        inner_code=error.inner_code,
        request_id=request_id,
        client_request_id=client_id,
    )
    headers = {**_graph_headers(request_id, client_id), **error.headers}
    return Response(error.status, json.dumps(body).encode(), headers)


def throttle_body(status: int) -> dict[str, Any]:
    """The body of a throttled (429) or unavailable (503) Graph answer.

    429: ``activityLimitReached`` with detailed code ``throttledRequest`` ("The app or user has
    been throttled" / "Too many requests" [DOC concepts/errors.md]); 503:
    ``serviceNotAvailable`` ("Try the request again after a delay. There may be a Retry-After
    header")."""
    if status == 429:
        return graph_error_body(
            "activityLimitReached",
            "The request has been throttled",
            inner_code="throttledRequest",
        )
    if status == 503:
        return graph_error_body(
            "serviceNotAvailable",
            "Service unavailable. Try the request again after a delay.",
        )
    return graph_error_body("generalException", "An unspecified error has occurred.")


def entra_error(
    status: int,
    error: str,
    aadsts: int,
    text: str,
    *,
    suberror: str | None = None,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An Entra ID OAuth error as login.microsoftonline.com sends it (see module docstring)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = at.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": error,
        "error_description": (
            f"AADSTS{aadsts}: {text}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [aadsts],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
    }
    if suberror is not None:
        body["suberror"] = suberror
    body.update(extra or {})
    return entra_json(body, status)


def entra_json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A login.microsoftonline.com JSON answer (no caching of token responses)."""
    merged = {
        "Content-Type": ENTRA_JSON_TYPE,
        "Cache-Control": "no-store, no-cache",
        "Pragma": "no-cache",
        "x-ms-request-id": str(uuid.uuid4()),
        **(headers or {}),
    }
    return Response(status, json.dumps(obj).encode(), merged)
