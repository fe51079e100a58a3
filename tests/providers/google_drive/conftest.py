"""A Google Drive provider whose transport is an ``HttpMockSequence``, and helpers to read it.

Every test states the exact responses Google would send and then checks the exact requests the
plugin made (method, host, path, query, body; batch parts parsed out of the multipart body).
Nothing sleeps: the retry policy records its waits.
"""

from __future__ import annotations

import email
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from googleapiclient.http import HttpMockSequence

from trashscan.models import (
    Account,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    ScanOutcome,
    TrashItem,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore as DictSecrets
from trashscan_google_drive.plugin import GoogleDriveProvider

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NAME = "alice"
SERVICE = f"trashscan:google-drive:{NAME}"
DRIVE = "https://www.googleapis.com/drive/v3/"
BOUNDARY = "batch_test_boundary"
CREDENTIALS = {
    "type": "authorized_user",
    "client_id": "cid.apps.googleusercontent.com",
    "client_secret": "csecret",
    "refresh_token": "1//refresh",
    "token": "ya29.valid",
    "expiry": "2100-01-01T00:00:00Z",
    "scopes": ["https://www.googleapis.com/auth/drive"],
}

Response = tuple[dict[str, str], str]


@dataclass(frozen=True)
class Req:
    method: str
    host: str
    path: str
    query: dict[str, str]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _req(uri: str, method: str, body: Any, headers: dict[str, str] | None) -> Req:
    parts = urlsplit(uri)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return Req(method, parts.netloc, parts.path, dict(parse_qsl(parts.query)), body, headers or {})


class Harness:
    """A provider, its secrets and recorded sleeps; ``respond`` queues Google's answers."""

    def __init__(self, tmp_path: Path) -> None:
        self.secrets = DictSecrets()
        self.secrets.set(SERVICE, "authorized_user", json.dumps(CREDENTIALS))
        self.sleeps: list[float] = []
        self.http = HttpMockSequence([])
        context = ProviderContext(
            secrets=self.secrets,
            retry=RetryPolicy(sleep=self.sleeps.append, random=lambda: 0.5),
            clock=lambda: NOW,
            data_dir=tmp_path / "data",
        )
        harness = self

        class MockedDrive(GoogleDriveProvider):
            def make_http(self, account: Account) -> Any:
                return harness.http

        self.provider = MockedDrive(context)

    def respond(self, *responses: Response) -> None:
        self.http._iterable.extend(responses)

    @property
    def requests(self) -> list[Req]:
        return [_req(*call) for call in self.http.request_sequence]

    @property
    def unused(self) -> int:
        return len(self.http._iterable)

    def scan(
        self, acct: Account | None = None, state: dict | None = None
    ) -> tuple[list[Page], ScanOutcome]:
        gen: Generator[Page, None, ScanOutcome] = self.provider.scan(acct or account(), state)
        pages: list[Page] = []
        while True:
            try:
                pages.append(next(gen))
            except StopIteration as stop:
                return pages, stop.value


@pytest.fixture
def gd(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    assert harness.unused == 0, "the plugin sent fewer requests than the test expected"


def account(endpoint: str | None = None, **options: Any) -> Account:
    return Account(NAME, "google-drive", options=options, endpoint=endpoint)


def ok(body: Any, **headers: str) -> Response:
    return {"status": "200", "content-type": "application/json", **headers}, json.dumps(body)


def error(status: int, reason: str, message: str = "refused", **headers: str) -> Response:
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    return {"status": str(status), "content-type": "application/json", **headers}, json.dumps(body)


def q(**params: Any) -> dict[str, str]:
    """A query as the client serialises it: booleans lower-case, ``alt=json`` added."""
    out = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()}
    return {**out, "alt": "json"}


def get(path: str, **params: Any) -> Req:
    return Req("GET", "www.googleapis.com", f"/drive/v3/{path}", q(**params))


def items_of(pages: list[Page]) -> dict[str, TrashItem]:
    return {item.item_id: item for page in pages for item in page.items}


def removed_of(pages: list[Page]) -> list[str]:
    return [file_id for page in pages for file_id in page.removed]


# ----------------------------------------------------------------------------------- batches

Part = tuple[str, int, Any, dict[str, str]]  # request id, status, JSON body, extra headers


def batch_answer(*parts: Part) -> Response:
    """A multipart/mixed batch response as Google sends it (one application/http per part)."""
    lines: list[str] = []
    for request_id, status, body, headers in parts:
        lines += [
            f"--{BOUNDARY}",
            "Content-Type: application/http",
            f"Content-ID: <response-abc + {request_id}>",
            "",
            f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}",
            "Content-Type: application/json; charset=UTF-8",
            *(f"{k}: {v}" for k, v in headers.items()),
            "",
            json.dumps(body),
        ]
    lines.append(f"--{BOUNDARY}--")
    headers = {"status": "200", "content-type": f"multipart/mixed; boundary={BOUNDARY}"}
    return headers, "\r\n".join(lines) + "\r\n"


def part_ok(file_id: str, body: dict[str, Any]) -> Part:
    return (file_id, 200, body, {})


def part_error(file_id: str, status: int, reason: str, **headers: str) -> Part:
    body = {"error": {"code": status, "message": reason, "errors": [{"reason": reason}]}}
    return (file_id, status, body, headers)


def batch_parts(req: Req) -> list[Req]:
    """The inner requests of a batch POST, parsed from its multipart body."""
    message = email.message_from_string(
        f"Content-Type: {req.headers['content-type']}\r\n\r\n{req.body}"
    )
    inner: list[Req] = []
    for part in message.get_payload():
        assert part.get_content_type() == "application/http"
        text = part.get_payload()
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        request_line, *header_lines = head.split("\n")
        method, target, _version = request_line.split(" ")
        headers = dict(line.split(": ", 1) for line in header_lines if line)
        found = _req(f"https://{headers.get('Host', '')}{target}", method, body or None, headers)
        inner.append(found)
    return inner


def indexed(
    item_id: str, handle: dict[str, Any] | None = None, restorable: bool = True
) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("google-drive", NAME, item_id),
        provider="google-drive",
        account=NAME,
        item_id=item_id,
        name=f"{item_id}.jpg",
        path=None,
        kind=Kind.PHOTO,
        mime_type="image/jpeg",
        size=1,
        deleted_at=NOW,
        deleted_at_source=DeletedAtSource.OBSERVED,
        purge_at=NOW,
        purge_is_estimate=True,
        restorable=restorable,
        not_restorable_reason=None,
        restore_handle=handle if handle is not None else {"untrash": item_id},
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
    )
