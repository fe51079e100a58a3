"""Sandbox fake of the Dropbox API v2 (RPC routes on ``/2/...``) and its ``/oauth2/token``.

The official ``dropbox`` SDK talks to this unmodified over loopback HTTPS: the plugin points the
SDK's api, content and notify hosts at the fake's ``host:port`` (``DROPBOX_API_HOST`` etc. before
import, or the client's ``_host_map``), trusts the sandbox CA, and refreshes its short-lived
token through ``https://<host:port>/oauth2/token``. Behaviour comes from Dropbox's published
spec (dropbox/dropbox-api-spec ``files.stone``/``users.stone``/``auth.stone``, the source of
www.dropbox.com/developers/documentation/http/documentation), its guides (data ingress, error
handling, OAuth) and the SDK's own serializers and response checks (dropbox.md §4), never from
what a plugin sends. Each module cites its sources:

* :mod:`~trashscan_dropbox.sandbox.model`: paths, tombstones, revisions, moves, the journal;
* :mod:`~trashscan_dropbox.sandbox.api`: the routes, cursors, restore, refusals;
* :mod:`~trashscan_dropbox.sandbox.content`: thumbnails (``get_thumbnail_v2``, v1, batch) and
  downloads, ``rev:<rev>`` of a deleted file's last revision included (seam
  ``api.content.deleted_revisions = "not_found"`` for a Dropbox that refuses those: UNVERIFIED);
* :mod:`~trashscan_dropbox.sandbox.auth`: OAuth refresh/PKCE, bearer checks, scopes;
* :mod:`~trashscan_dropbox.sandbox.wire`: status codes, error envelopes, headers;
* :mod:`~trashscan_dropbox.sandbox.seed`: the seeded accounts and the bulk generator.

Deleted items in Dropbox are *paths* whose last event is a deletion: ``list_folder`` with
``include_deleted`` lists them as ``DeletedMetadata`` (no date, size or rev), a path deleted and
then re-created lists as the live file, a file moved away leaves a ``DeletedMetadata`` at its
old path, and dates and revs come from ``list_revisions`` one path at a time.

Test seams (thread-safe; times default to the fake's clock, :attr:`DropboxFake.clock`):
``add_account``, ``add_file``, ``add_folder``, ``delete``, ``move``, ``set_restorable``,
``bulk``, ``expire_tokens``, ``revoke``, ``reset_cursors``, ``force_write_conflict``,
``force_restore_in_progress``, ``authorization_code``, ``login_code``, ``access_token``,
``http_fault``, ``find``; inspect ``state``, ``server``, ``manifest``, ``refused_calls``,
``unmodelled_calls`` and ``restores``.

Issue 12 scenarios: an unrestorable deleted photo is ``set_restorable(account, path, False)``
after ``delete`` (``DeletedMetadata.is_restorable`` false when the listing asks
``include_restorable_info``, the field absent otherwise; revisions ``is_restorable`` false;
``files/restore`` 409 ``invalid_revision``) [DOC files.stone, dropbox-api-spec b5f7ddd;
dropbox.md §1]; the seeded ``/Photos/old-scan.jpg`` and ``/Photos/whiteboard.jpg`` are such.
A revoked grant is ``revoke(account)``: ``/oauth2/token`` answers HTTP 400
``{"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}``
(RFC 6749 §5.2; the text seen from api.dropboxapi.com, see :mod:`~trashscan_dropbox.sandbox.auth`),
which the SDK turns into ``AuthError(invalid_access_token)``: a client must not report it as a
401.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trashscan.sandbox.faults import FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer, Request, Response
from trashscan_dropbox.sandbox.api import DropboxApi, RefusedCall, RestoreRecord
from trashscan_dropbox.sandbox.auth import DEFAULT_SCOPES, AuthState
from trashscan_dropbox.sandbox.authorize import AuthorizePage
from trashscan_dropbox.sandbox.model import (
    Account,
    Namespace,
    Node,
    Revision,
    content_hash,
    lower,
)
from trashscan_dropbox.sandbox.seed import Manifest, bulk, seed_accounts
from trashscan_dropbox.sandbox.wire import rate_limit_body, request_id

__all__ = ["DropboxFake", "DropboxState"]

_ALLOCATION = {"basic": 2 * 1024**3, "pro": 2 * 1024**4, "business": 15 * 1024**4}


@dataclass
class DropboxState:
    """Everything the fake knows: accounts (each with its namespace) and OAuth state."""

    accounts: dict[str, Account] = field(default_factory=dict)
    auth: AuthState = field(default_factory=AuthState)


class DropboxFake:
    """The Dropbox provider's sandbox fake (see the module docstring)."""

    name = "dropbox"
    needs_server = True

    def __init__(self) -> None:
        self.state = DropboxState()
        self.server: FakeServer | None = None
        self.manifest: dict[str, Manifest] = {}
        self._anchor = datetime.now(UTC)
        self._started = time.monotonic()
        # The fake's "now": the seed time plus real elapsed time, so seeded deletion ages stay
        # consistent with API-made changes. Tests may replace it (``fake.clock = lambda: t``).
        self.clock: Callable[[], datetime] = self._elapsed_clock
        self.api = DropboxApi(self.state.accounts, self.state.auth, lambda: self.clock())

    @property
    def accounts(self) -> dict[str, Account]:
        return self.state.accounts

    @property
    def auth(self) -> AuthState:
        return self.state.auth

    # -- sandbox contract ------------------------------------------------------------------------

    def seed(
        self, workdir: Path, now: datetime, *, server: FakeServer, ca_bundle: Path | None
    ) -> list[dict[str, Any]]:
        """Register the routes on ``server``, create ``carol`` and ``dave``, return their
        tables. ``workdir`` is unused: the fake keeps its state in memory only."""
        self.attach(server, now)
        self.manifest.update(seed_accounts(self, self._anchor))
        return [self.account_table(name, ca_bundle) for name in self.manifest]

    def attach(self, server: FakeServer, now: datetime | None = None) -> None:
        """Register every route on ``server.router`` (and give the server a fault injector).

        One server answers what Dropbox splits over api/content/notify hosts: the RPC routes
        under ``/2/`` and ``POST /oauth2/token`` (which the SDK posts to the api host)."""
        if self.server is not None:
            raise RuntimeError("this fake is already attached to a server")
        self.server = server
        if now is not None:
            self._anchor = now if now.tzinfo else now.replace(tzinfo=UTC)
            self._started = time.monotonic()
        if server.faults is None:
            server.faults = FaultInjector()
        self.api.register(server.router)
        server.router.add("POST", r"/oauth2/token", self._token)
        AuthorizePage(self.auth, self._users).register(server.router)

    def account_table(self, name: str, ca_bundle: Path | None) -> dict[str, Any]:
        """The config table of account ``name``; its refresh token goes in ``secrets``."""
        account = self.accounts[name]
        table: dict[str, Any] = {"name": name, "provider": self.name}
        table["endpoint"] = self._base_url() + "/"
        if ca_bundle is not None:
            table["ca_bundle"] = str(ca_bundle)
        table["app_key"] = self.auth.app_key
        table["secrets"] = {"refresh_token": account.refresh_token}
        return table

    # -- building state (seams) ------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        account_type: str = "basic",
        given_name: str | None = None,
        surname: str = "Example",
        email: str | None = None,
        team_name: str | None = None,
        scopes: frozenset[str] = DEFAULT_SCOPES,
    ) -> Account:
        """A Dropbox user linked to the fake's app: a home namespace, and a refresh token
        (``account.refresh_token``) with ``scopes``. ``account_type`` is users_common
        ``AccountType``: basic, pro or business (business implies a team)."""
        if name in self.accounts:
            raise ValueError(f"account {name!r} exists")
        if account_type not in _ALLOCATION:
            raise ValueError(f"account_type must be basic, pro or business, not {account_type!r}")
        index = len(self.accounts) + 1
        digest = base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest()).decode()
        if account_type == "business" and team_name is None:
            team_name = f"{name.title()}'s Team"
        account = Account(
            name=name,
            account_id="dbid:" + ("AA" + digest)[:35],
            uid=str(400_000_000 + index * 7919),
            email=email or f"{name}@example.com",
            given_name=given_name or name.title(),
            surname=surname,
            account_type=account_type,
            namespace=Namespace(ns_id=3_000_000_000 + index * 104_729),
            allocated=_ALLOCATION[account_type],
            team_name=team_name,
            team_id="dbtid:" + ("AAF" + digest[::-1])[:38] if team_name else None,
            team_member_id="dbmid:" + ("AAH" + digest[5:])[:38] if team_name else None,
        )
        self.accounts[name] = account
        self.auth.account_ids[name] = account.account_id
        self.auth.uids[name] = account.uid
        account.refresh_token = self.auth.grant(name, scopes).refresh_token
        self.auth.authorization_code(name, code=self.login_code(name), reusable=True)
        return account

    def add_file(
        self,
        account: str,
        path: str,
        content: bytes | None = None,
        *,
        size: int | None = None,
        at: datetime | None = None,
        client_modified: datetime | None = None,
        content_seed: bytes | None = None,
    ) -> Revision:
        """Upload a file as the user would (``WriteMode.overwrite``): over a live file it is a
        new revision of it, otherwise a new file; missing parent folders are created. Give
        ``content`` (its real ``content_hash`` is computed) or just ``size``."""
        at = self._when(at)
        if content is not None:
            size, digest = len(content), content_hash(content)
        else:
            size = 1024 if size is None else size
            digest = hashlib.sha256(content_seed or f"{path}:{size}:{at}".encode()).hexdigest()
        ns = self.accounts[account].namespace
        with ns.lock:
            return ns.put_file(
                path,
                size=size,
                digest=digest,
                client_modified=client_modified or at,
                at=at,
                content=content,
            )

    def add_folder(self, account: str, path: str, at: datetime | None = None) -> Node:
        ns = self.accounts[account].namespace
        with ns.lock:
            return ns.make_folder(path, self._when(at))

    def delete(self, account: str, path: str, at: datetime | None = None) -> list[Node]:
        """Delete a live file or folder (with its contents) as the user did at ``at``: each
        path becomes a ``DeletedMetadata`` in listings and its revisions stay restorable."""
        ns = self.accounts[account].namespace
        with ns.lock:
            return ns.delete(path, self._when(at))

    def move(self, account: str, src: str, dst: str, at: datetime | None = None) -> Node:
        """Move a live file or folder: ``src`` lists as deleted from then on, the content lives
        at ``dst`` under the same ID (``list_revisions(src, mode=id)`` finds it there)."""
        ns = self.accounts[account].namespace
        with ns.lock:
            return ns.move(src, dst, self._when(at))

    def set_restorable(self, account: str, path: str, restorable: bool = False) -> None:
        """Make a tombstone (and its revisions) unrestorable, as past its recovery window or
        under a data disposition policy: ``is_restorable`` false, restore ``invalid_revision``."""
        ns = self.accounts[account].namespace
        with ns.lock:
            ns.set_restorable(path, restorable)

    def bulk(
        self,
        account: str,
        n_entries: int,
        n_deleted_media: int,
        now: datetime | None = None,
        *,
        seed: int = 0,
        root: str = "/Bulk",
    ) -> list[str]:
        """Benchmark data: ``n_entries`` more listing entries under ``root``, of which
        ``n_deleted_media`` are deleted photos/videos (see :func:`.seed.bulk`)."""
        return bulk(
            self, account, n_entries, n_deleted_media, self._when(now), seed=seed, root=root
        )

    def find(self, account: str, path: str) -> Node:
        """The current state of ``path`` (live or a tombstone); KeyError if never used."""
        ns = self.accounts[account].namespace
        with ns.lock:
            node = ns.node(lower(path))
        if node is None:
            raise KeyError(path)
        return node

    def revisions(self, account: str, path: str) -> list[Revision]:
        """Every revision ever written at ``path``, oldest first."""
        ns = self.accounts[account].namespace
        with ns.lock:
            return [e for e in ns.path_events.get(lower(path), []) if isinstance(e, Revision)]

    # -- credentials and cursors (seams) ---------------------------------------------------------

    def expire_tokens(self, account: str) -> int:
        """Expire ``account``'s access tokens: the next call gets 401 ``expired_access_token``
        and the SDK refreshes through ``/oauth2/token`` and retries. Returns how many."""
        return self.auth.expire(account, self.clock())

    def revoke(self, account: str) -> None:
        """Revoke the refresh token too (the user unlinked the app): API calls get 401
        ``invalid_access_token`` and refreshing gets 400 ``invalid_grant``."""
        self.auth.revoke(account)

    def access_token(self, account: str) -> str:
        """A fresh access token for ``account`` (for tests that skip the refresh)."""
        grant = self.auth.grants[self.accounts[account].refresh_token]
        return self.auth.issue(grant, self.clock()).value

    def login_code(self, account: str) -> str:
        """The sandbox's well-known, reusable authorization code for ``account``; it accepts
        any PKCE verifier (the browser step is not modelled)."""
        return f"sandbox-login-code-{account}"

    def authorization_code(self, account: str, code_challenge: str | None = None) -> str:
        """A one-time code as ``/oauth2/authorize`` gives after "Allow"; with
        ``code_challenge`` (S256) the token endpoint checks the PKCE ``code_verifier``."""
        return self.auth.authorization_code(account, code_challenge=code_challenge)

    def reset_cursors(self, account: str) -> None:
        """Invalidate every cursor of ``account``: ``list_folder/continue`` (and longpoll) then
        answer 409 ``reset`` ("the cursor has been invalidated. Call list_folder to obtain a
        new cursor" [files.stone ListFolderContinueError])."""
        ns = self.accounts[account].namespace
        with ns.lock:
            ns.generation += 1
            ns.notify()

    # -- faults (seams) --------------------------------------------------------------------------

    def force_write_conflict(
        self, account: str, times: int = 1, *, style: str = "rate_limit", retry_after: int = 1
    ) -> None:
        """Make the next ``times`` restores collide with another write (see
        :meth:`DropboxApi.force_write_conflict`: 429 or 409 ``too_many_write_operations``).
        Genuinely overlapping restores of one account get the 429 without this seam."""
        self.api.force_write_conflict(account, times, style=style, retry_after=retry_after)

    def force_restore_in_progress(self, account: str, times: int = 1) -> None:
        self.api.force_restore_in_progress(account, times)

    @property
    def write_latency(self) -> float:
        """Seconds each restore holds the account's write lock (makes overlaps observable)."""
        return self.api.write_latency

    @write_latency.setter
    def write_latency(self, seconds: float) -> None:
        self.api.write_latency = seconds

    @staticmethod
    def http_fault(
        reason: str = "too_many_requests", retry_after: int = 1, *, json_body: bool = True
    ) -> HttpFault:
        """A Dropbox-shaped 429 for ``server.faults.add(...)``. The framework's default fault
        body is not a ``RateLimitError``, and the SDK would fail to decode it. With
        ``json_body=False`` it is the plain-text variant ("the body of a 429 response may be
        JSON or plain text", data-ingress guide) whose backoff the SDK takes from
        ``Retry-After``."""
        headers = {"Retry-After": str(retry_after), "X-Dropbox-Request-Id": request_id()}
        if json_body:
            body = json.dumps(rate_limit_body(reason, retry_after)).encode()
            headers["Content-Type"] = "application/json"
        else:
            body = b"Too many requests"
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return HttpFault(429, body, headers)

    # -- inspection ------------------------------------------------------------------------------

    @property
    def refused_calls(self) -> list[RefusedCall]:
        """Write routes (delete, move, upload, ...) the fake refused."""
        return self.api.refused

    @property
    def unmodelled_calls(self) -> list[RefusedCall]:
        """Read routes the fake does not model (answered 400)."""
        return self.api.unmodelled

    @property
    def restores(self) -> list[RestoreRecord]:
        return self.api.restores

    # -- internals -------------------------------------------------------------------------------

    def _when(self, at: datetime | None) -> datetime:
        if at is None:
            return self.clock()
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    def _elapsed_clock(self) -> datetime:
        return self._anchor + timedelta(seconds=time.monotonic() - self._started)

    def _base_url(self) -> str:
        return self.server.base_url if self.server is not None else "https://127.0.0.1"

    def sign_in_help(self) -> list[tuple[str, str]]:
        """For ``sandbox serve``: (account, what a person does to finish ``accounts add``)."""
        return [
            (name, f"open the link it prints, choose {account.email}, Allow, paste the code")
            for name, account in list(self.accounts.items())[:1]
        ]

    def _users(self) -> dict[str, str]:
        """Who the authorize page's "browser" may be signed in as: account name -> email."""
        return {name: account.email for name, account in self.accounts.items()}

    def _token(self, request: Request, match: Any) -> Response:
        return self.auth.token_endpoint(request, self.clock())
