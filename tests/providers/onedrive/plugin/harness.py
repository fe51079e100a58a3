"""A OneDrive provider whose HTTP (msal's and Graph's) goes to ``responses``, and JSON builders.

Every test registers the exact requests Microsoft would get (URL with its query, bearer token,
JSON body) and checks the exact sequence the plugin sent. msal runs for real against the same
mock: its token cache is built with ``TokenCache.add`` (as msal does after a sign-in), and each
test gets a fresh provider, hence a fresh msal app (msal caches HTTP failures per app). Nothing
sleeps: the retry policy records its waits.

The fixtures ``rsps`` and ``od`` are in this folder's ``conftest.py``; the sandbox fake's tests
(one folder up) have their own.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msal
import requests
import responses
from responses import matchers

from trashscan.models import (
    Account,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    RestoreResult,
    ScanOutcome,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore as MemorySecrets
from trashscan_onedrive.mirror import Mirror
from trashscan_onedrive.plugin import OneDriveProvider

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NAME = "alice"
SERVICE = f"trashscan:onedrive:{NAME}"
CLIENT_ID = "0a1b2c3d-1111-2222-3333-444455556666"
GRAPH = "https://graph.microsoft.com/"
V1 = GRAPH + "v1.0/"
BETA = GRAPH + "beta/"
LOGIN = "https://login.microsoftonline.com/common"
SANDBOX = "https://127.0.0.1:8443/"
SCOPES = ["Files.ReadWrite.All", "Sites.ReadWrite.All"]
TOKEN = "at-cached"
REFRESH = "rt-cached"
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
HINT = f"re-run `trashscan accounts add onedrive {NAME}`"
SITE_GUID = "5a4f2b8c-0000-4000-8000-000000000001"
WEB_GUID = "9e1d3c7a-0000-4000-8000-000000000002"
SITE = f"contoso-my.sharepoint.com,{SITE_GUID},{WEB_GUID}"  # Graph's "host,siteId,webId"
QUOTA = f"{V1}me/drive?$select=quota"
GB = 1024**3
PART = "X-Test-Batch-Part"  # marks the harness's own calls that answer a batch's parts


# ------------------------------------------------------------------------------------ tokens


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def id_token(username: str = "alice@outlook.com", tenant: str = MSA_TENANT) -> str:
    claims = {
        "oid": "00000000-0000-0000-aaaa-bbbbccccdddd",
        "sub": "sub-1",
        "tid": tenant,
        "preferred_username": username,
        "iss": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "aud": CLIENT_ID,
        "exp": int(time.time()) + 3600,
    }
    return b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."


def token_answer(
    access: str = TOKEN, refresh: str = REFRESH, scope: str = " ".join(SCOPES)
) -> dict[str, Any]:
    """What the token endpoint answers: scope echoed, unsigned id token, client_info."""
    return {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": 3600,
        "ext_expires_in": 3600,
        "access_token": access,
        "refresh_token": refresh,
        "id_token": id_token(),
        "client_info": b64({"uid": "uid-1", "utid": MSA_TENANT}),
    }


def cache_blob(
    authority: str = LOGIN,
    *,
    access: str = TOKEN,
    expired: bool = False,
    scopes: list[str] | None = None,
) -> bytes:
    """An msal cache as a device-code sign-in leaves it (valid or expired access token)."""
    granted = scopes or SCOPES
    cache = msal.SerializableTokenCache()
    cache.add(
        {
            "client_id": CLIENT_ID,
            "scope": granted,
            "token_endpoint": f"{authority}/oauth2/v2.0/token",
            "grant_type": DEVICE_GRANT,
            "response": token_answer(access, scope=" ".join(granted)),
        },
        now=time.time() - (7200 if expired else 0),
    )
    return cache.serialize().encode()


def openid_configuration(authority: str) -> dict[str, Any]:
    return {
        "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
        "token_endpoint": f"{authority}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
    }


# ------------------------------------------------------------------------------------ harness


class Harness:
    def __init__(self, tmp_path: Path, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.now = NOW
        self.secrets = MemorySecrets()
        self.sleeps: list[float] = []
        self.context = ProviderContext(
            secrets=self.secrets,
            retry=RetryPolicy(sleep=self.sleeps.append, random=lambda: 0.5),
            clock=lambda: self.now,
            data_dir=tmp_path / "data",
        )
        self.echoed: list[str] = []
        harness = self

        class Quiet(OneDriveProvider):
            def echo(self, text: str) -> None:
                harness.echoed.append(text)

        self.provider = Quiet(self.context)

    # -------------------------------------------------------------------- sign-in

    def sign_in(self, authority: str = LOGIN, **kwargs: Any) -> None:
        """Store an msal cache as `accounts add` leaves it."""
        self.secrets.blobs[(SERVICE, "msal_cache")] = cache_blob(authority, **kwargs)

    def discovery(self, authority: str = LOGIN) -> None:
        """What msal reads before any token: the authority's OpenID configuration.

        (msal asks login.microsoftonline.com for aliases only when the cache holds no account
        for the authority's own host, which never happens after a sign-in with this authority.)
        """
        self.rsps.add(
            responses.GET,
            f"{authority}/v2.0/.well-known/openid-configuration",
            json=openid_configuration(authority),
        )

    def signed_in(self) -> None:
        """The common case: a valid cached token for the global cloud (and Graph's JSON batching
        served, see :meth:`batching`)."""
        self.sign_in()
        self.discovery()
        self.batching()

    def restart(self, authority: str = LOGIN) -> None:
        """Forget earlier registrations and calls; a new session reads the configuration again."""
        self.rsps.reset()
        self.discovery(authority)
        self.batching()

    # -------------------------------------------------------------------- Graph

    def graph(
        self,
        method: str,
        url: str,
        answer: Any = None,
        *,
        status: int = 200,
        body: Any = None,
        token: str = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Expect ``method url`` (query included) with this bearer token and JSON body."""
        base, _, query = url.partition("?")
        match: list[Callable[..., Any]] = [
            matchers.query_string_matcher(query or None),
            matchers.header_matcher({"Authorization": f"Bearer {token}"}),
        ]
        if body is not None:
            match.append(matchers.json_params_matcher(body))
        self.rsps.add(
            method,
            base,
            json=answer if answer is not None else {},
            status=status,
            headers=headers,
            match=match,
        )

    def batching(self, order: str = "reverse", part_faults: dict[str, Any] | None = None) -> None:
        """Serve ``POST {V1}$batch`` as Graph documents JSON batching [json-batching]: each part's
        relative url runs under ``/v1.0`` with the batch's own ``Authorization``, answered by the
        mocks registered for its direct call (each part is one of ``rsps.calls``, the batch
        too, after its parts); the batch is 200 and the answers come in reverse order ("might
        appear in a different order than the requests": paired by id, never by position), each
        ``{id, status, headers, body}``. ``part_faults`` maps a part's url to answers given
        before its mock, one per time it is asked: (status, headers, body)."""
        queued = {url: list(answers) for url, answers in (part_faults or {}).items()}
        self.batches: list[list[dict[str, Any]]] = []

        def serve(request: Any) -> tuple[int, dict[str, str], str]:
            parts = json.loads(request.body)["requests"]
            self.batches.append(parts)
            answers = []
            for part in parts:
                assert part["method"] == "GET" and part["url"].startswith("/"), part
                if queued.get(part["url"]):
                    status, headers, body = queued[part["url"]].pop(0)
                    answers.append(
                        {"id": part["id"], "status": status, "headers": headers, "body": body}
                    )
                    continue
                direct = requests.get(
                    V1 + part["url"][1:],
                    headers={"Authorization": request.headers["Authorization"], PART: part["id"]},
                )
                answer: dict[str, Any] = {
                    "id": part["id"],
                    "status": direct.status_code,
                    "headers": {"Content-Type": "application/json"},
                }
                if direct.content:
                    answer["body"] = direct.json()
                answers.append(answer)
            if order == "reverse":
                answers.reverse()
            return 200, {"Content-Type": "application/json"}, json.dumps({"responses": answers})

        self.rsps.remove("POST", f"{V1}$batch")  # the one served before, if any
        self.rsps.add_callback("POST", f"{V1}$batch", callback=serve)

    def quota(self, deleted: int = 0, total: int = 5 * GB, **more: Any) -> None:
        """``GET /me/drive?$select=quota`` answers with the drive's quota facet (sizes in bytes;
        ``deleted`` is the recycle bin's) [resources/quota.md]."""
        used = min(total, deleted + total // 4)
        facet = {"deleted": deleted, "remaining": total - used, "state": "normal", "total": total}
        facet["used"] = used
        self.graph("GET", QUOTA, {"quota": {**facet, **more}})

    # -------------------------------------------------------------------- what was sent

    @property
    def sent(self) -> list[tuple[str, str]]:
        return [(c.request.method, c.request.url) for c in self.rsps.calls]

    def sent_to(self, host: str = "graph.microsoft.com") -> list[tuple[str, str]]:
        return [(m, u) for m, u in self.sent if urlsplit(u).netloc == host]

    def round_trips(self) -> list[tuple[str, str]]:
        """The Graph requests sent, a batch as one (its parts left out)."""
        return [
            (c.request.method, c.request.url)
            for c in self.rsps.calls
            if urlsplit(c.request.url).netloc == "graph.microsoft.com"
            and PART not in c.request.headers
        ]

    def writes(self) -> list[tuple[str, str]]:
        """The Graph requests sent that are not reads (a batch of GETs is a read)."""
        return [(m, u) for m, u in self.sent_to() if m != "GET" and u != f"{V1}$batch"]

    def bodies(self, host: str = "graph.microsoft.com") -> list[Any]:
        out = []
        for call in self.rsps.calls:
            if urlsplit(call.request.url).netloc != host:
                continue
            raw = call.request.body
            out.append(json.loads(raw) if raw else None)
        return out

    def form(self, index: int) -> dict[str, str]:
        body = self.rsps.calls[index].request.body
        return dict(parse_qsl(body.decode() if isinstance(body, bytes) else body or ""))

    # -------------------------------------------------------------------- running

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

    def mirror(self, acct: Account | None = None) -> Mirror:
        return Mirror(self.context.account_dir(acct or account()) / "mirror.sqlite")


# ------------------------------------------------------------------------------------ builders


def account(
    endpoint: str | None = None, retention_days: int | None = None, **options: Any
) -> Account:
    return Account(
        NAME,
        "onedrive",
        options={"client_id": CLIENT_ID, **options},
        endpoint=endpoint,
        retention_days=retention_days,
    )


def indexed(
    item_id: str,
    name: str,
    handle: dict[str, Any],
    path: str | None = None,
    deleted_at: datetime = NOW,
) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("onedrive", NAME, item_id),
        provider="onedrive",
        account=NAME,
        item_id=item_id,
        name=name,
        path=path,
        kind=Kind.PHOTO,
        mime_type=None,
        size=None,
        deleted_at=deleted_at,
        deleted_at_source=DeletedAtSource.CHANGES,
        purge_at=None,
        purge_is_estimate=True,
        restorable=True,
        not_restorable_reason=None,
        restore_handle=handle,
        first_seen=deleted_at,
        last_seen=deleted_at,
        state=ItemState.TRASHED,
    )
