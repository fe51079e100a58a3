"""``POST /batch/drive/v3``: Google's multipart/mixed batch protocol, part by part.

Request and response format per [DOC guides/performance#batch-requests] and as
googleapiclient's ``BatchHttpRequest`` speaks it (googleapiclient/http.py ``_execute``,
``_serialize_request``, ``_deserialize_response``, ``_header_to_id``):

* the request is ``multipart/mixed; boundary=...``; each part has ``Content-Type:
  application/http``, a ``Content-ID`` such as ``<uuid + 1>``, and a whole inner HTTP request
  (``PATCH /drive/v3/files/ID?alt=json HTTP/1.1``, headers including ``authorization``, body);
* the response is ``multipart/mixed`` with one part per request, in order, each with
  ``Content-ID: <response-`` + the request part's Content-ID value + ``>`` and an inner
  ``HTTP/1.1 200 OK`` response whose headers end with a blank CRLF line (the client splits the
  inner body at ``\\r\\n\\r\\n``);
* Drive takes at most 100 calls per batch [DOC Drive batch guide: "You're limited to 100 calls
  in a single batch request"]; a larger batch is refused as a whole (400);
* each call counts separately against quotas, so one part can be throttled (403
  ``userRateLimitExceeded`` or 429) while the others succeed; googleapiclient hands such a part
  to its callback as an ``HttpError`` and only re-sends parts that got 401.

Parts are dispatched through the same router as direct calls, so they get identical semantics.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import secrets
import threading
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from trashscan.sandbox.server import Request, Response, Router
from trashscan_google_drive.sandbox.wire import drive_error

__all__ = [
    "MAX_BATCH_PARTS",
    "BatchEndpoint",
    "BatchPartRecord",
    "PartFault",
    "rate_limit_error",
    "server_error",
]

MAX_BATCH_PARTS = 100


def rate_limit_error(
    status: int, reason: str, retry_after: float | None = None, message: str | None = None
) -> Response:
    """Drive's throttling answer: 403 ``userRateLimitExceeded``/``rateLimitExceeded`` or 429
    ``rateLimitExceeded`` in the ``usageLimits`` domain [DOC guides/limits, handle-errors]."""
    texts = {
        "userRateLimitExceeded": "User Rate Limit Exceeded. Rate of requests for user exceed "
        "configured project quota. You may consider re-evaluating expected per-user traffic to "
        "the API and adjust project quota limits accordingly.",
        "rateLimitExceeded": "Rate Limit Exceeded",
    }
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    text = message or texts.get(reason, reason)
    domain = "usageLimits" if reason in texts else "global"
    return drive_error(status, reason, text, domain=domain, headers=headers)


def server_error(
    status: int = 500,
    reason: str = "backendError",
    message: str | None = None,
    retry_after: float | None = None,
) -> Response:
    """A Drive 5xx: "500, 502, 503, 504 - Server Errors: Unexpected error arises while processing
    the request" [DOC guides/handle-errors]; body as the Workspace guides' ``backendError`` sample
    (``"reason": "backendError", "message": "Backend Error"``, domain ``global``), whose advice
    is to retry with exponential backoff. Whether the call took effect is not said either way:
    :attr:`PartFault.apply` chooses."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return drive_error(status, reason, message or "Backend Error", headers=headers)


@dataclass
class PartFault:
    """Answer the next batch part that matches with ``response``.

    A part matches when every given criterion holds: ``file_id`` (its path ends in
    ``/files/{file_id}``), ``method`` (``GET``, ``PATCH``...) and ``query`` (each parameter has
    that value, e.g. ``{"driveId": X}`` for one shared drive's ``changes.list``). With ``apply``
    false (the default) the call is not run at all; with ``apply`` true it is run (its effects
    stay) and its answer is replaced by ``response``, as when a server fails after the write.
    """

    response: Response
    file_id: str | None
    remaining: int
    method: str | None = None
    query: dict[str, str] | None = None
    apply: bool = False

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method.upper():
            return False
        if self.file_id is not None and not request.path.rstrip("/").endswith(
            f"/files/{self.file_id}"
        ):
            return False
        return all(value in request.query.get(key, []) for key, value in (self.query or {}).items())


@dataclass(frozen=True)
class BatchPartRecord:
    """One inner call of a batch, for tests counting calls (the server log sees one POST)."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    content_id: str | None


class BatchEndpoint:
    """Parses a batch, dispatches each part through ``router``, assembles the answer."""

    def __init__(self, router: Router, api_prefix: str = "/drive/v3/") -> None:
        self.router = router
        self.api_prefix = api_prefix
        self.faults: list[PartFault] = []
        self.log: list[BatchPartRecord] = []
        self._lock = threading.Lock()

    def register(self, path: str = r"/batch/drive/v3") -> None:
        self.router.add("POST", path, self.handle)

    def add_fault(self, fault: PartFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, request: Request) -> PartFault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle(self, request: Request, match: object) -> Response:
        content_type = request.headers.get("Content-Type") or ""
        if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type:
            return drive_error(400, "badRequest", "Batch requests must be multipart/mixed.")
        envelope = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(envelope)
        parts = message.get_payload() if message.is_multipart() else []
        if not isinstance(parts, list) or not parts:
            return drive_error(400, "badRequest", "The batch request contains no parts.")
        if len(parts) > MAX_BATCH_PARTS:
            text = f"A batch request may contain at most {MAX_BATCH_PARTS} calls, got {len(parts)}."
            return drive_error(400, "batchSizeTooLarge", text)
        outer_auth = request.headers.get("Authorization")
        boundary = "batch_" + secrets.token_urlsafe(18).replace("-", "").replace("_", "")
        chunks: list[bytes] = []
        for part in parts:
            content_id = _unfold(part.get("Content-ID"))
            response, inner = self._run_part(part, outer_auth)
            chunks.append(self._encode_part(boundary, content_id, response))
            self.log.append(
                BatchPartRecord(
                    inner.method if inner else "",
                    inner.path if inner else "",
                    inner.query if inner else {},
                    response.status,
                    content_id,
                )
            )
        body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
        return Response(200, body, {"Content-Type": f"multipart/mixed; boundary={boundary}"})

    def _run_part(self, part: Message, outer_auth: str | None) -> tuple[Response, Request | None]:
        payload = part.get_payload(decode=False)
        inner = _parse_inner_request(payload if isinstance(payload, str) else "", outer_auth)
        if inner is None:
            return drive_error(400, "badRequest", "Malformed batch part."), None
        if not inner.path.startswith(self.api_prefix):
            text = "Batch parts must call the API of the batch endpoint."
            return drive_error(400, "badRequest", text), inner
        fault = self._take_fault(inner)
        if fault is None:
            return self.router.dispatch(inner), inner
        if fault.apply:
            self.router.dispatch(inner)  # the call takes effect; its answer is lost
        return fault.response, inner

    @staticmethod
    def _encode_part(boundary: str, content_id: str | None, response: Response) -> bytes:
        head = [f"--{boundary}", "Content-Type: application/http"]
        if content_id:
            head.append(f"Content-ID: <response-{content_id.strip().strip('<>')}>")
        reason = HTTPStatus(response.status).phrase
        inner = [f"HTTP/1.1 {response.status} {reason}"]
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                inner.append(f"{name}: {value}")
        inner.append(f"Content-Length: {len(response.body)}")
        text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(inner) + "\r\n\r\n"
        return text.encode() + response.body + b"\r\n"


def _unfold(value: str | None) -> str | None:
    """RFC 5322 unfolding: googleapiclient leaves a space in ``<uuid + id>`` precisely so long
    Content-IDs get folded there; the echoed ID must be the unfolded one."""
    return None if value is None else re.sub(r"\r?\n(?=[ \t])", "", value)


def _parse_inner_request(payload: str, outer_auth: str | None) -> Request | None:
    """Parse an ``application/http`` part: request line, headers, blank line, body."""
    normalized = payload.replace("\r\n", "\n")
    head, _, body = normalized.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0].split()
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        return None
    method, target, _ = request_line
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in {" ", "\t"} and fields:  # a folded continuation line
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        fields.append((name.strip(), value.strip()))
    headers = Message()
    for name, value in fields:
        headers[name] = value
    if headers.get("Authorization") is None and outer_auth:
        headers["Authorization"] = outer_auth  # parts without their own credentials use the batch's
    data = body.encode("utf-8", "surrogateescape")  # the parser kept raw bytes as surrogates
    length = headers.get("Content-Length") or ""
    data = data[: int(length)] if length.isdigit() else data.rstrip(b"\r\n")
    parts = urlsplit(target)
    return Request(
        method=method.upper(),
        path=parts.path,
        query=parse_qs(parts.query, keep_blank_values=True),
        headers=headers,
        body=data,
    )
