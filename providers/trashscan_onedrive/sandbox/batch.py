"""Microsoft Graph JSON batching for the OneDrive fake: ``POST /v1.0/$batch`` (and ``/beta``).

Built from Microsoft's pages only [DOC concepts/json-batching.md in
microsoftgraph/microsoft-graph-docs-contrib, 2025-02 ("json-batching" below); the older
revision in microsoftgraph/microsoft-graph-docs ("json-batching, 2018"); concepts/known-issues.md
"JSON Batching" in microsoftgraph/microsoft-graph-docs ("known issues")], onedrive.md §4, and,
for the exact wording of the batch's own errors, which Microsoft does not document, the answers
quoted in public reports [3P, each named where used]:

* the body is ``{"requests": [{"id", "method", "url", "headers", "body", "dependsOn"}]}``;
  ``id``, ``method`` and ``url`` are required ("A JSON batch request body consists of a single
  JSON object with one required property: requests"); a body that is not such an object, an
  empty ``requests`` (Graph "throws error: Invalid batch payload format." [3P
  microsoftgraph/msgraph-sdk-php Batch comment]; "Graph rejects these with 400 Bad Request"
  [3P OfficeDev/microsoft-teams-apps-company-communicator#337]) or a request without one of
  them is 400 ``BadRequest`` "Invalid batch payload format." ("If the batch request itself is
  malformed, the status code is 400");
* at most :attr:`BatchApi.max_requests` (20) requests ("JSON batch requests are currently
  limited to 20 individual requests"): more is 400 ``BadRequest`` "Number of requests inside
  batch exceeds the limit." [3P microsoftgraph/microsoftgraph-postman-collections#9];
* ids are strings, unique and "Not case-sensitive. Must be unique in the batch, otherwise, the
  batch request fails with a 400 error code": 400 ``BadRequest`` "Request Id {id} has to be
  unique in a batch." [3P microsoftgraph/msgraph-sdk-java#559; "a" and "A" clash:
  microsoftgraph/microsoft-graph-docs#4449];
* "When a body is included with the request, the headers object must contain a value for
  Content-Type", and for POST/PUT/PATCH "you must still specify the headers and body
  parameters where only body can be an empty object": a body without ``Content-Type``, or a
  write without a body, is a malformed batch (400 ``BadRequest``). A body "Might be a JSON
  object or a base64 URL-encoded value": a string body with a non-JSON ``Content-Type`` is
  decoded from base64url;
* ``url`` is "The relative resource URL ... while the absolute URL is
  https://graph.microsoft.com/v1.0/users, this url is /users" and "Microsoft Graph then makes
  these URLs absolute by using the version endpoint included in the batch URL" (known issues):
  ``/v1.0/$batch`` runs ``/me/drive`` as ``/v1.0/me/drive`` (a leading ``/`` is optional, as
  in the docs' ``users?$select=...``); personal and work or school accounts use the same
  endpoint, the token telling them apart. An absolute url answers that part 400 ``BadRequest``
  (and is recorded in ``graph.unmodelled``); "JSON batch requests must not contain any nested
  batch requests" (known issues): a part addressed to ``$batch`` makes the batch 400;
* each part runs through the very route handlers of the direct call (the server's router):
  auth (the batch's ``Authorization`` header, which parts inherit; json-batching, 2018 shows a
  part answered 401), scopes, refusals, thumbnails, every recording seam; the server's fault
  rules apply to each part's own method and path ("Requests in a batch are evaluated
  individually against the applicable throttling limits and if any request exceeds the limits,
  it fails with a status of 429"): an :class:`~trashscan.sandbox.faults.HttpFault` queued with
  ``path="/items/ID"`` answers that part alone, with its ``Retry-After`` among the part's
  headers, while a rule matching ``$batch`` (or any path) hits the whole round trip first;
* the answer is 200 ("If the batch request is parseable, the status code is 200. A 200 status
  code on the batch response headers doesn't indicate that the individual requests inside the
  batch succeeded") with ``{"responses": [{"id", "status", "headers", "body"}]}``, and
  "Individual responses might appear in a different order than the requests": the order is
  :attr:`BatchApi.order`, ``"shuffled"`` by default (a fixed permutation, never the request
  order when there are two or more), so a client that pairs answers by position fails its
  tests; ``"request"`` and ``"reverse"`` are the others. A part's ``body`` is its JSON, or
  base64 for other content, and absent when empty;
* ``dependsOn`` ("an array of strings that references the id of a different individual
  request") orders execution; "If an individual request fails, any request that depends on that
  request fails with status code 424 (Failed Dependency)" (failure: a status of 400 or more,
  the 424 included, so it cascades; the 424's error code ``failedDependency`` is this fake's).
  A ``dependsOn`` naming an unknown id, itself, or making a cycle is a malformed batch. "Batch
  should be either fully sequential or fully parallel" (json-batching TIP); known issues lists
  the shapes accepted: "Parallel - no individual request states a dependency", "Serial - all
  individual requests depend on the previous individual request", "Same - all individual
  requests that state a dependency ... state the same dependency", each depending "on a single
  other request". :attr:`BatchApi.strict_dependencies` (True) refuses any other shape with 400
  ``BadRequest`` "Batch should be either fully sequential or fully parallel" (the text of the
  refusal as reported [3P volcengine.com/article/563906]); False runs any acyclic graph.

Parts are evaluated one after another on the server's thread for the batch, in dependency
order (parallel parts in request order). The server logs the batch as one round trip whose
:attr:`~trashscan.sandbox.server.RequestRecord.parts` are the parts in evaluation order (those
answered 424 included, with that status); :class:`~trashscan.testing.RequestLog` ``parts()``
lists them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from trashscan.sandbox.faults import FaultInjector
from trashscan.sandbox.server import Request, RequestRecord, Response, Router
from trashscan_onedrive.sandbox.wire import (
    GraphError,
    graph_error_response,
    graph_json,
)

__all__ = ["BatchApi"]

logger = logging.getLogger(__name__)

BATCH_PATH = r"/(?P<version>v1\.0|beta)/\$batch"
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_INVALID = "Invalid batch payload format."
# Headers that describe the sub-answer's transport, not the answer: never in a part.
_TRANSPORT = frozenset({"content-length", "strict-transport-security", "connection"})


@dataclass
class _Part:
    id: str
    method: str
    target: str  # the path and query after the version root, "/me/drive?$select=id"
    headers: dict[str, str]
    body: bytes
    depends_on: list[str]  # ids as the batch spells them


@dataclass
class BatchApi:
    """``POST /{version}/$batch`` over the server's own router (see the module docstring)."""

    router: Callable[[], Router | None]
    faults: Callable[[], FaultInjector | None]
    on_absolute_url: Callable[[str, str], None] = lambda method, path: None
    max_requests: int = 20
    order: str = "shuffled"  # "shuffled" | "request" | "reverse"
    strict_dependencies: bool = True
    seed: int = 16

    def register(self, router: Router) -> None:
        """Register ahead of the Graph catch-all route (routes are tried in order)."""
        router.add("POST", BATCH_PATH, self.handle)

    # -- the batch ------------------------------------------------------------------------------

    def handle(self, request: Request, match: re.Match[str]) -> Response:
        version = match["version"]
        try:
            parts = self._parse(request, version)
        except GraphError as error:
            return graph_error_response(request, error)
        answers: dict[str, dict[str, Any]] = {}
        records: list[RequestRecord] = []
        failed: set[str] = set()
        for part in self._evaluation_order(parts):
            key = part.id.lower()
            if any(dep.lower() in failed for dep in part.depends_on):
                answer = self._failed_dependency(request, part)
                records.append(self._record(version, part, answer["status"]))
            else:
                answer, record = self._run(request, version, part)
                records.append(record)
            if answer["status"] >= 400:
                failed.add(key)
            answers[key] = answer
        body = {"responses": [answers[p.id.lower()] for p in self._answer_order(parts)]}
        response = graph_json(request, body)
        response.parts = tuple(records)
        return response

    def _parse(self, request: Request, version: str) -> list[_Part]:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", _INVALID)
        if len(requests) > self.max_requests:
            raise GraphError(
                400, "BadRequest", "Number of requests inside batch exceeds the limit."
            )
        parts: list[_Part] = []
        seen: set[str] = set()
        for raw in requests:
            part = self._parse_part(raw)
            if part.id.lower() in seen:
                raise GraphError(
                    400, "BadRequest", f"Request Id {part.id} has to be unique in a batch."
                )
            seen.add(part.id.lower())
            if urlsplit(part.target).path.rstrip("/").endswith("$batch"):
                raise GraphError(400, "BadRequest", "Nested batch requests are not supported.")
            parts.append(part)
        self._check_dependencies(parts)
        return parts

    @staticmethod
    def _parse_part(raw: Any) -> _Part:
        if not isinstance(raw, dict):
            raise GraphError(400, "BadRequest", _INVALID)
        part_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
        if not isinstance(part_id, str) or not part_id:
            raise GraphError(400, "BadRequest", _INVALID)
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise GraphError(400, "BadRequest", _INVALID)
        if not isinstance(url, str) or not url.strip():
            raise GraphError(400, "BadRequest", _INVALID)
        method = method.upper()
        headers = raw.get("headers")
        if headers is None:
            headers = {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise GraphError(400, "BadRequest", _INVALID)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        has_body = "body" in raw and raw["body"] is not None
        if has_body and content_type is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Request {part_id}: a Content-Type header is required when a body is given.",
            )
        if method in _WRITES and not has_body:
            raise GraphError(
                400, "BadRequest", f"Request {part_id}: a {method} request requires a body."
            )
        body = _encode_body(raw["body"], content_type or "") if has_body else b""
        depends = raw.get("dependsOn")
        if depends is None:
            depends = []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise GraphError(400, "BadRequest", _INVALID)
        target = url.strip()
        if "://" not in target and not target.startswith("/"):
            target = "/" + target
        return _Part(part_id, method, target, dict(headers), body, list(depends))

    def _check_dependencies(self, parts: list[_Part]) -> None:
        ids = {p.id.lower() for p in parts}
        for part in parts:
            for dep in part.depends_on:
                if dep.lower() not in ids or dep.lower() == part.id.lower():
                    raise GraphError(
                        400,
                        "BadRequest",
                        f"Request {part.id} depends on {dep}, which is not another request "
                        "of this batch.",
                    )
        if self.strict_dependencies and not _simple_shape(parts):
            raise GraphError(
                400, "BadRequest", "Batch should be either fully sequential or fully parallel"
            )
        self._evaluation_order(parts)  # raises on a cycle

    @staticmethod
    def _evaluation_order(parts: list[_Part]) -> list[_Part]:
        """Dependencies first, otherwise the request order; GraphError on a cycle."""
        done: set[str] = set()
        ordered: list[_Part] = []
        pending = list(parts)
        while pending:
            ready = [p for p in pending if all(d.lower() in done for d in p.depends_on)]
            if not ready:
                raise GraphError(400, "BadRequest", "The dependsOn of this batch form a cycle.")
            for part in ready:
                done.add(part.id.lower())
                ordered.append(part)
            pending = [p for p in pending if p.id.lower() not in done]
        return ordered

    def _answer_order(self, parts: list[_Part]) -> list[_Part]:
        if self.order == "request":
            return list(parts)
        if self.order == "reverse":
            return list(reversed(parts))
        shuffled = list(parts)
        random.Random(self.seed + len(parts)).shuffle(shuffled)
        if len(parts) > 1 and shuffled == parts:  # never the request order
            shuffled = shuffled[1:] + shuffled[:1]
        return shuffled

    # -- one part -------------------------------------------------------------------------------

    def _run(
        self, batch: Request, version: str, part: _Part
    ) -> tuple[dict[str, Any], RequestRecord]:
        if "://" in part.target:  # "URIs must be relative"
            self.on_absolute_url(part.method, part.target)
            error = GraphError(
                400, "BadRequest", "Invalid request URI: a batch request's url must be relative."
            )
            answer = self._answer(part.id, graph_error_response(batch, error))
            return answer, self._record(version, part, 400)
        sub = self._sub_request(batch, version, part)
        faults = self.faults()
        fault = faults.match_http(sub) if faults is not None else None
        if fault is not None:
            response = Response(fault.status, fault.body, dict(fault.headers))
        else:
            response = self._dispatch(sub)
        record = RequestRecord(
            sub.method, sub.path, sub.query, response.status, datetime.now(UTC), 0.0
        )
        return self._answer(part.id, response), record

    @staticmethod
    def _sub_request(batch: Request, version: str, part: _Part) -> Request:
        split = urlsplit(part.target)
        headers = Message()
        authorization = batch.headers.get("Authorization")
        if authorization is not None and not any(
            k.lower() == "authorization" for k in part.headers
        ):
            headers["Authorization"] = authorization
        for name, value in part.headers.items():
            headers[name] = value
        if part.body:
            headers["Content-Length"] = str(len(part.body))
        return Request(
            method=part.method,
            path=f"/{version}{split.path}",
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=part.body,
        )

    def _dispatch(self, sub: Request) -> Response:
        router = self.router()
        if router is None:
            raise RuntimeError("the batch endpoint is not attached to a server")
        try:
            response = router.dispatch(sub)
            if not isinstance(response, Response):
                raise TypeError(f"handler returned {type(response).__name__}, not Response")
        except Exception as exc:  # as the server answers a failing handler
            logger.exception("sandbox handler for batched %s %s failed", sub.method, sub.path)
            return Response.json(
                {"error": "internal error", "detail": type(exc).__name__}, status=500
            )
        return response

    @staticmethod
    def _answer(part_id: str, response: Response) -> dict[str, Any]:
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _TRANSPORT}
        answer: dict[str, Any] = {"id": part_id, "status": response.status, "headers": headers}
        if response.body:
            content_type = next(
                (v for k, v in headers.items() if k.lower() == "content-type"), ""
            ).lower()
            body: Any = None
            if "json" in content_type:
                try:
                    body = json.loads(response.body)
                except (ValueError, UnicodeDecodeError):
                    body = None
            if body is None:
                body = base64.b64encode(response.body).decode("ascii")
            answer["body"] = body
        return answer

    @staticmethod
    def _failed_dependency(batch: Request, part: _Part) -> dict[str, Any]:
        error = GraphError(
            424,
            "failedDependency",
            f"Request {part.id} was not run: a request it depends on failed.",
        )
        return BatchApi._answer(part.id, graph_error_response(batch, error))

    @staticmethod
    def _record(version: str, part: _Part, status: int) -> RequestRecord:
        split = urlsplit(part.target)
        path = part.target if "://" in part.target else f"/{version}{split.path}"
        query = {} if "://" in part.target else parse_qs(split.query, keep_blank_values=True)
        return RequestRecord(part.method, path, query, status, datetime.now(UTC), 0.0)


def _simple_shape(parts: list[_Part]) -> bool:
    """Parallel, serial (each on the previous one) or same (all on one), as known issues lists."""
    depending = [p for p in parts if p.depends_on]
    if not depending:
        return True
    if any(len(p.depends_on) != 1 for p in depending):
        return False
    serial = all(
        p.depends_on == []
        if n == 0
        else [d.lower() for d in p.depends_on] == [parts[n - 1].id.lower()]
        for n, p in enumerate(parts)
    )
    if serial:
        return True
    targets = {p.depends_on[0].lower() for p in depending}
    if len(targets) != 1:
        return False
    (target,) = targets
    return all(p.id.lower() != target for p in depending)


def _encode_body(body: Any, content_type: str) -> bytes:
    """A part's body as bytes: JSON for a JSON content type (or any non-string value), else
    a string decoded from base64url ("a base64 URL-encoded value, for example, when the body
    is an image")."""
    if isinstance(body, str) and "json" not in content_type.lower():
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error):
            raise GraphError(400, "BadRequest", _INVALID) from None
    return json.dumps(body).encode()
