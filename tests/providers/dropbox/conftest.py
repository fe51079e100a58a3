"""A Dropbox provider whose HTTP goes to ``responses``, and builders of Dropbox's JSON answers.

Every test registers the exact requests Dropbox would get (URL, JSON body with every field the
SDK sends, bearer token) and the answers Dropbox would send. Nothing sleeps: the retry policy
records its waits. A cached access token valid until 2100 keeps token refreshes out of the tests
that are not about them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from trashscan.models import (
    Account,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    RestoreResult,
    ScanOutcome,
    TrashItem,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore as DictSecrets
from trashscan_dropbox.plugin import DropboxProvider

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NAME = "alice"
APP_KEY = "k3yk3yk3y"
SERVICE = f"trashscan:dropbox:{NAME}"
API = "https://api.dropboxapi.com"
REFRESH_TOKEN = "refresh-abc"
TOKEN = "sl.cached"
DELETED_AT = "2024-05-20T08:30:00Z"
DELETED_AT_DT = datetime(2024, 5, 20, 8, 30, tzinfo=UTC)

LIST_BODY = {
    "path": "",
    "recursive": True,
    "include_media_info": False,
    "include_deleted": True,
    "include_has_explicit_shared_members": False,
    "include_mounted_folders": True,
    "limit": 2000,
    "include_non_downloadable_files": True,
    "include_restorable_info": True,
}


@dataclass(frozen=True)
class Sent:
    """One request as Dropbox received it."""

    host: str
    route: str
    body: Any
    headers: dict[str, str]

    @property
    def call(self) -> tuple[str, Any]:
        return self.route, self.body


class Harness:
    def __init__(self, tmp_path: Path, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.secrets = DictSecrets()
        self.secrets.set(SERVICE, "refresh_token", REFRESH_TOKEN)
        self.cache_token(TOKEN)
        self.sleeps: list[float] = []
        self.codes: list[str] = []
        self.context = ProviderContext(
            secrets=self.secrets,
            retry=RetryPolicy(sleep=self.sleeps.append, random=lambda: 0.5),
            clock=lambda: NOW,
            data_dir=tmp_path / "data",
        )
        harness = self

        class Pasted(DropboxProvider):
            def read_code(self, prompt: str) -> str:
                harness.prompts.append(prompt)
                return harness.codes.pop(0)

        self.prompts: list[str] = []
        self.provider = Pasted(self.context)

    def cache_token(self, token: str | None, expires: str = "2100-01-01T00:00:00") -> None:
        if token is None:
            self.secrets.delete(SERVICE, "access_token")
        else:
            value = json.dumps({"token": token, "expires_at": expires})
            self.secrets.set(SERVICE, "access_token", value)

    # -------------------------------------------------------------------- registering answers

    def rpc(
        self,
        route: str,
        body: Any,
        answer: Any,
        *,
        status: int = 200,
        base: str = API,
        token: str = TOKEN,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        callback: Callable[[], None] | None = None,
    ) -> None:
        """Expect ``POST base/2/route`` with exactly this JSON body and bearer token."""
        text = answer if isinstance(answer, str) else json.dumps(answer)

        def reply(request: Any) -> tuple[int, dict[str, str], str]:
            if callback is not None:
                callback()
            return status, {"X-Dropbox-Request-Id": "req-1", **(headers or {})}, text

        self.rsps.add_callback(
            responses.POST,
            f"{base}/2/{route}",
            callback=reply,
            content_type=content_type,
            match=[exact_json(body), bearer(token)],
        )

    def error(self, route: str, body: Any, error: dict[str, Any], **kwargs: Any) -> None:
        """A route error: HTTP 409 with Dropbox's ``error`` union and ``error_summary``."""
        answer = {"error_summary": summary(error), "error": error}
        self.rpc(route, body, answer, status=409, **kwargs)

    def lost(self, path: str, *, by_id: bool = True, **kwargs: Any) -> None:
        """A really deleted file at ``path``: its path's ``list_revisions`` (dated, newest
        revision there) and, with ``by_id``, its id's, which says deleted too (not moved). A
        full listing of a home-rooted account needs no id call: no live file of it has the id."""
        answer = revisions([revision(path, **kwargs)])
        self.rpc("files/list_revisions", revisions_body(path.lower()), answer)
        if by_id:
            self.rpc("files/list_revisions", id_revisions_body(path), answer)

    def token_endpoint(
        self, answer: Any, *, status: int = 200, base: str = API, refresh: str = REFRESH_TOKEN
    ) -> None:
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": APP_KEY}
        self.rsps.add(
            responses.POST,
            f"{base}/oauth2/token",
            json=answer,
            status=status,
            match=[responses.matchers.urlencoded_params_matcher(form)],
        )

    # -------------------------------------------------------------------- reading what was sent

    @property
    def sent(self) -> list[Sent]:
        out = []
        for call in self.rsps.calls:
            parts = urlsplit(call.request.url)
            body: Any = call.request.body
            if isinstance(body, bytes):
                body = body.decode()
            if parts.path.startswith("/oauth2/"):
                body = dict(parse_qsl(body or ""))
            elif body is not None:
                body = json.loads(body)
            route = parts.path.removeprefix("/2/")
            out.append(Sent(parts.netloc, route, body, dict(call.request.headers)))
        return out

    @property
    def routes(self) -> list[str]:
        return [s.route for s in self.sent]

    # -------------------------------------------------------------------- running the plugin

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

    def restore(self, *items: IndexedItem, acct: Account | None = None) -> list[RestoreResult]:
        return list(self.provider.restore(acct or account(), list(items)))


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def dbx(tmp_path: Path, rsps: responses.RequestsMock) -> Harness:
    return Harness(tmp_path, rsps)


# ------------------------------------------------------------------------------------ matchers


def exact_json(expected: Any) -> Callable[[Any], tuple[bool, str]]:
    """The body is exactly this JSON (every field, ``null`` included)."""

    def match(request: Any) -> tuple[bool, str]:
        body = request.body
        if isinstance(body, bytes):
            body = body.decode()
        try:
            found = json.loads(body) if body is not None else None
        except ValueError:
            return False, f"body is not JSON: {body!r}"
        if found != expected:
            return False, f"body {found!r} != {expected!r}"
        if request.headers.get("Content-Type") != "application/json":
            return False, "Content-Type is not application/json"
        return True, ""

    return match


def bearer(token: str) -> Callable[[Any], tuple[bool, str]]:
    def match(request: Any) -> tuple[bool, str]:
        found = request.headers.get("Authorization")
        ok = found == f"Bearer {token}"
        return ok, "" if ok else f"Authorization {found!r}"

    return match


# ------------------------------------------------------------------------------------ builders


def account(
    endpoint: str | None = None, retention_days: int | None = None, **options: Any
) -> Account:
    return Account(
        NAME,
        "dropbox",
        options={"app_key": APP_KEY, **options},
        endpoint=endpoint,
        retention_days=retention_days,
    )


def summary(error: dict[str, Any]) -> str:
    tags = []
    value: Any = error
    while isinstance(value, dict) and ".tag" in value:
        tags.append(value[".tag"])
        value = value.get(value[".tag"])
    return "/".join(tags) + "/.."


def deleted(path: str, restorable: bool | None = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        ".tag": "deleted",
        "name": path.rsplit("/", 1)[-1],
        "path_lower": path.lower(),
        "path_display": path,
    }
    if restorable is not None:
        entry["is_restorable"] = restorable
    return entry


def file_id(path: str) -> str:
    """The id ``file_md`` gives the file at ``path`` unless told another (``ident``)."""
    return "id:" + path.lower().replace("/", "_")


def file_md(
    path: str,
    rev: str = "015f0a1b2c3d4e5f",
    size: int = 1234,
    content_hash: str = "ab" * 32,
    ident: str | None = None,  # the file id, to keep one across a move
) -> dict[str, Any]:
    return {
        ".tag": "file",
        "name": path.rsplit("/", 1)[-1],
        "id": ident or file_id(path),
        "client_modified": "2024-04-01T10:00:00Z",
        "server_modified": "2024-04-01T10:00:01Z",
        "rev": rev,
        "size": size,
        "path_lower": path.lower(),
        "path_display": path,
        "is_downloadable": True,
        "content_hash": content_hash,
    }


def folder_md(path: str) -> dict[str, Any]:
    return {
        ".tag": "folder",
        "name": path.rsplit("/", 1)[-1],
        "id": "id:folder" + path.lower().replace("/", "_"),
        "path_lower": path.lower(),
        "path_display": path,
    }


def listing(entries: list[dict[str, Any]], cursor: str, has_more: bool = False) -> dict[str, Any]:
    return {"entries": entries, "cursor": cursor, "has_more": has_more}


def revisions_body(path: str) -> dict[str, Any]:
    """Exactly what ``files_list_revisions(path, mode=path, limit=1)`` sends."""
    return {"path": path, "mode": {".tag": "path"}, "limit": 1, "include_restorable_info": False}


def id_revisions_body(path: str) -> dict[str, Any]:
    """Exactly what ``files_list_revisions(<id>, mode=id, limit=1)`` sends for the file whose
    newest revision ``revision(path)`` is (its id: ``file_id(path)``)."""
    return {
        "path": file_id(path),
        "mode": {".tag": "id"},
        "limit": 1,
        "include_restorable_info": False,
    }


def revisions(
    entries: list[dict[str, Any]], deleted_at: str | None = DELETED_AT, is_deleted: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {"is_deleted": is_deleted, "entries": entries, "has_more": False}
    if deleted_at is not None:
        body["server_deleted"] = deleted_at
    return body


def revision(path: str, rev: str = "015f0a1b2c3d4e5f", **kwargs: Any) -> dict[str, Any]:
    """A revision entry: a FileMetadata without the ``.tag`` (the list holds one struct type)."""
    entry = file_md(path, rev=rev, **kwargs)
    del entry[".tag"]
    return entry


def metadata_body(path: str) -> dict[str, Any]:
    """Exactly what ``files_get_metadata(path)`` sends."""
    return {
        "path": path,
        "include_media_info": False,
        "include_deleted": False,
        "include_has_explicit_shared_members": False,
    }


def lookup_error(tag: str) -> dict[str, Any]:
    return {".tag": "path", "path": {".tag": tag}}


def full_account(account_type: str = "basic", home_namespace: str = "3235641") -> dict[str, Any]:
    """``root_info`` is a user root (home = root) unless ``home_namespace`` differs from the
    root's: a team-space member, whose home folder sits under the team's root."""
    return {
        "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
        "name": {
            "given_name": "Alice",
            "surname": "Liddell",
            "familiar_name": "Alice",
            "display_name": "Alice Liddell",
            "abbreviated_name": "AL",
        },
        "email": "alice@example.org",
        "email_verified": True,
        "disabled": False,
        "locale": "en",
        "referral_link": "https://db.tt/ZITNuhtI",
        "is_paired": False,
        "account_type": {".tag": account_type},
        "root_info": (
            {".tag": "user", "root_namespace_id": "3235641", "home_namespace_id": "3235641"}
            if home_namespace == "3235641"
            else {
                ".tag": "team",
                "root_namespace_id": "3235641",
                "home_namespace_id": home_namespace,
                "home_path": "/Alice Liddell",
            }
        ),
        "country": "GB",
    }


def indexed(
    path: str,
    rev: str | None = "015f0a1b2c3d4e5f",
    content_hash: str | None = "ab" * 32,
) -> IndexedItem:
    handle: dict[str, Any] = {"path": path}
    if rev is not None:
        handle.update(rev=rev, content_hash=content_hash)
    return IndexedItem(
        ref=item_ref("dropbox", NAME, path.lower()),
        provider="dropbox",
        account=NAME,
        item_id=path.lower(),
        name=path.rsplit("/", 1)[-1],
        path=path,
        kind=Kind.PHOTO,
        mime_type="image/jpeg",
        size=1234,
        deleted_at=DELETED_AT_DT,
        deleted_at_source=DeletedAtSource.API,
        purge_at=DELETED_AT_DT,
        purge_is_estimate=True,
        restorable=True,
        not_restorable_reason=None,
        restore_handle=handle,
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
    )


def items_of(pages: list[Page]) -> dict[str, TrashItem]:
    return {item.item_id: item for page in pages for item in page.items}


def removed_of(pages: list[Page]) -> list[str]:
    return [item_id for page in pages for item_id in page.removed]
