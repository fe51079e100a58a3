"""Drive's HTTP batch (``multipart/mixed``), written and read here rather than by googleapiclient.

The format, as Google documents it [DOC developers.google.com/drive/api/guides/performance
#batch-requests]: "A batch request is a single standard HTTP request containing multiple Google
Drive API calls, using the multipart/mixed content type. Within that main HTTP request, each of
the parts contains a nested HTTP request. Each part begins with its own Content-Type:
application/http HTTP header. It can also have an optional Content-ID header." The body of each
part is "a complete HTTP request, with its own verb, URL, headers, and body"; the answer is "a
single standard HTTP response with a multipart/mixed content type; each part is the response to
one of the requests in the batched request, in the same order", each with a ``Content-ID`` of
``response-`` followed by the request part's Content-ID.

Why not ``googleapiclient.http.BatchHttpRequest``: it writes every part with the email
package's generator (header folding, MIME objects) and reads the answer with its feed parser,
about 1 ms of CPU per call; a restore of 10,000 photos spent most of its time there (issue 16:
55 items/s against a floor of 2,000). Here a part is a few joined strings and the answer is split
on its boundary as bytes. What goes on the wire is what the SDK sends, part for part: the inner
request line, the headers the discovery client put on the request (``accept``,
``accept-encoding``, ``user-agent``, ``x-goog-api-client``), the access token (``authorization``)
and ``Host``, the JSON body with its ``content-length``, and the Content-ID ``<base + id>`` (the
id URL-quoted, as the SDK writes it); only the line ends (CRLF, as RFC 2046 asks) and the
boundary's spelling differ, and no header is folded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from googleapiclient.errors import BatchError

__all__ = ["Answer", "Call", "FileCall", "decode", "encode", "per_file"]


class Call(Protocol):
    """What a part is written from: a googleapiclient ``HttpRequest`` has these attributes."""

    method: str
    uri: str
    body: Any
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FileCall:
    """A call on one file, copied from the request built for another (:func:`per_file`); its
    request target (path and query) and host are kept apart, for :func:`encode`."""

    method: str
    uri: str
    body: Any
    headers: Mapping[str, str]
    target: str
    host: str


# A file id for the template request: letters only, which URL quoting leaves as they are.
TEMPLATE_ID = "trashscanTemplateFileId"


def per_file(build: Callable[[str], Call]) -> Callable[[str], Call]:
    """``build`` (file id -> the discovery client's request), building one request only.

    The discovery client spends 50 to 80 us of CPU on each request (uritemplate, urlencode, its
    JSON model), as much as the rest of a batch part. A batch sends the same call for many files
    (``files.get`` with the same ``fields``, ``files.update`` with the same body): the request
    built for :data:`TEMPLATE_ID` is reused, the id in its path replaced by each file's, quoted as
    uritemplate quotes a simple ``{fileId}`` expansion (``quote(id, safe="")``), so each request
    is the one the discovery client would build. Falls back to ``build`` for every id when the
    template id is not found exactly once, at the end of the path."""
    template = build(TEMPLATE_ID)
    split = urlsplit(template.uri)
    marker = f"/files/{TEMPLATE_ID}"
    if not split.path.endswith(marker) or template.uri.count(TEMPLATE_ID) != 1:
        return build
    head, _, tail = template.uri.partition(marker)
    path = split.path[: -len(marker)] + "/files/"
    query = f"?{split.query}" if split.query else ""
    method, body, headers, host = template.method, template.body, template.headers, split.netloc

    def make(file_id: str) -> Call:
        quoted = quote(file_id, safe="")
        uri = f"{head}/files/{quoted}{tail}"
        return FileCall(method, uri, body, headers, f"{path}{quoted}{query}", host)

    return make


@dataclass(frozen=True, slots=True)
class Answer:
    """One part of a batch answer: the inner response's status line and its header block (read
    by :attr:`headers` when asked: a successful part's headers are never needed) and body."""

    status: int
    reason: str
    head: bytes
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        """The inner response's headers, names lower-cased."""
        return _headers(self.head)


_SKIPPED = frozenset({"content-type", "content-length", "host", "authorization"})


def encode(calls: Sequence[tuple[str, Call]], auth: Mapping[str, str]) -> tuple[str, bytes]:
    """The batch body of ``calls`` (request id, request) and its Content-Type header.

    ``auth`` holds the headers the credentials add to each call (``authorization``...). Each
    part: the part's headers, the inner request line, the request's headers (those of requests
    sharing one header mapping and host are written once and reused), ``content-length`` and
    the body."""
    base = uuid.uuid4()
    boundary = f"batch_{base.hex}"
    opening = (
        f"--{boundary}\r\nContent-Type: application/http\r\n"
        f"Content-Transfer-Encoding: binary\r\nContent-ID: <{base} + "
    )
    auth_lines = "".join(f"{name}: {value}\r\n" for name, value in auth.items())
    blocks: dict[tuple[int, str], str] = {}  # (id of a header mapping, host) -> header lines
    chunks: list[bytes] = []
    for request_id, call in calls:
        if isinstance(call, FileCall):
            target, host = call.target, call.host
        else:
            split = urlsplit(call.uri)
            target, host = split.path + (f"?{split.query}" if split.query else ""), split.netloc
        headers = call.headers
        block = blocks.get((id(headers), host))
        if block is None:
            block = (
                f"Content-Type: {headers.get('content-type', 'application/json')}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() not in _SKIPPED)
                + f"{auth_lines}Host: {host}\r\n"
            )
            _no_line_break(block.replace("\r\n", ""), request_id)
            blocks[(id(headers), host)] = block
        line = f"{call.method} {target} HTTP/1.1"
        _no_line_break(line, request_id)
        body = call.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        length = "" if body is None else f"content-length: {len(body)}\r\n"
        chunks.append(
            f"{opening}{quote(request_id)}>\r\n\r\n{line}\r\n{block}{length}\r\n".encode()
        )
        if body:
            chunks.append(body)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)


def _no_line_break(text: str, request_id: str) -> None:
    if "\n" in text or "\r" in text:  # it would end a header and start another
        raise ValueError(f"a header of batch part {request_id!r} holds a line break")


def decode(content_type: str, content: bytes) -> dict[str, Answer]:
    """The answers of a batch by request id (the ``<base + id>`` of the request's Content-ID,
    unquoted, as googleapiclient reads it). Raises ``BatchError`` when the answer is not a
    multipart/mixed body or a part cannot be read."""
    boundary = _boundary(content_type)
    if boundary is None:
        raise BatchError("Response not in multipart/mixed format.", content=content)
    answers: dict[str, Answer] = {}
    # A delimiter is CRLF "--" boundary (RFC 2046 5.1.1); the first may open the body.
    chunks = (b"\r\n" + content).split(b"\n--" + boundary)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the close delimiter
            break
        part = chunk.partition(b"\n")[2]  # after the delimiter line (and its padding)
        if part.endswith(b"\r"):  # the CR of the CRLF that belongs to the next delimiter
            part = part[:-1]
        head, inner = _split(part)
        content_id = _headers(head).get("content-id")
        if content_id is None:
            raise BatchError("a batch answer part has no Content-ID", content=content)
        status_head, body = _split(inner)
        status_line, _, header_block = status_head.partition(b"\n")
        fields = status_line.decode("latin-1").split(None, 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            raise BatchError(f"a batch answer part has no status line: {status_line!r}")
        reason = fields[2].strip() if len(fields) > 2 else ""
        answers[_request_id(content_id)] = Answer(int(fields[1]), reason, header_block, body)
    return answers


def _boundary(content_type: str) -> bytes | None:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/mixed":
        return None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"').encode("latin-1")
    return None


def _split(data: bytes) -> tuple[bytes, bytes]:
    """Headers and body at the first empty line (CRLF CRLF, or bare LF LF)."""
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    if lf >= 0:
        return data[:lf], data[lf + 2 :]
    return data, b""


def _headers(text: bytes) -> dict[str, str]:
    """Header lines, unfolded (RFC 5322 2.2.3), names lower-cased; the last of a name wins."""
    headers: dict[str, str] = {}
    name = None
    for line in text.decode("latin-1").split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and name is not None:
            headers[name] += line
            continue
        key, sep, value = line.partition(":")
        if sep:
            name = key.strip().lower()
            headers[name] = value.strip()
    return headers


def _request_id(content_id: str) -> str:
    """``<response-BASE + ID>`` -> ID, as googleapiclient's ``_header_to_id`` reads it."""
    value = content_id.strip()
    if value[:1] != "<" or value[-1:] != ">" or " + " not in value:
        raise BatchError(f"Invalid value for Content-ID: {content_id}")
    return unquote(value[1:-1].split(" + ", 1)[1])
