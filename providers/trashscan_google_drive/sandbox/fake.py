"""Sandbox fake of Google Drive (v3), Drive Activity (v2) and Google's OAuth token endpoint.

The real ``google-api-python-client``/``google-auth`` stack talks to this over loopback HTTPS:
the client is built with ``client_options={"api_endpoint": base + "/drive/v3/"}``, batches go to
``BatchHttpRequest(batch_uri=base + "/batch/drive/v3")``, credentials refresh against
``base + "/token"`` (``Credentials.with_token_uri``) and Drive Activity is
``POST base + "/v2/activity:query"``. Behaviour is taken from Google's documentation and the
discovery documents, never from what a plugin sends; each module cites its sources:

* :mod:`.model`: files, shared drives, trash, changes and activity logs;
* :mod:`.api`: files.list/get/update, drives, changes, about;
* :mod:`.query` and ``fields``: the ``q`` and ``fields`` syntaxes;
* :mod:`.batch`: multipart/mixed batches with per-part faults;
* :mod:`.activity`: Drive Activity ``activity:query``;
* :mod:`.thumbnails`: ``thumbnailLink`` (short-lived, credentialed, only for tokens that can read
  content, trashed files included) served on ``/drive-storage/...``; ``files.get?alt=media``
  downloads live in :mod:`.api`;
* :mod:`.auth`: tokens, scopes, enabled APIs;
* :mod:`.seed`: the accounts ``seed`` creates.

Test seams (all thread-safe; times default to the fake's clock, see :attr:`GoogleDriveFake.clock`):
``add_account``, ``add_shared_drive``, ``add_file``, ``add_folder``, ``trash``, ``untrash``,
``purge``, ``deny_untrash``, ``trash_bulk``, ``expire_tokens``, ``reject_tokens``, ``revoke``,
``set_api_enabled``, ``set_scopes``, ``fail_next_part`` (by file, method, query parameter; a
5xx before or after applying the call), ``http_fault``, ``find``, ``add_drive_member``,
``remove_drive_member``, ``rename_drive``, plus ``state`` (knobs
``state.untrash_under_trashed_folder`` and ``state.user_log_shared_items``), ``server``,
``batch_log`` and ``refused_calls`` to inspect.

Issue 12 scenarios, how to seed them (sources: google.md §1.1, §1.4, §1.5(a); [DISC] the Drive v3
and Drive Activity v2 discovery documents shipped with googleapiclient):

* trashed with its folder: ``f = add_folder(acct, "F")``, files with ``parent=f.id``, then
  ``trash(acct, f.id)``: children are ``trashed=true, explicitlyTrashed=false`` [DISC
  File.trashed/explicitlyTrashed]; untrashing the folder restores them (GAM wiki, google.md §1.4);
* a photo trashed on its own inside a folder trashed later: ``trash(acct, photo.id, at=t1)``
  then ``trash(acct, f.id, at=t2)``: both explicitly trashed. Untrashing the photo alone is
  UNVERIFIED (google.md open point 1) and follows ``state.untrash_under_trashed_folder``:
  ``"stays"`` (default: its flag clears, it stays trashed through the folder, the answer says
  ``trashed: true``) or ``"root"`` (it moves to its My Drive / shared drive root and comes out);
  untrashing the folder does not bring back the separately trashed photo;
* ``capabilities.canUntrash = false``: ``deny_untrash(file_id)`` (update then answers 403
  ``insufficientFilePermissions``); shared-drive readers get it naturally (seeded Running Club);
* a photo trashed from a live folder: its ``parents`` is that folder, readable by ``files.get``
  with ``trashed: false``;
* Drive Activity ``POST /v2/activity:query``: ``filter`` (``detail.action_detail_case:DELETE``,
  ``time``, ``-`` to exclude), ``ancestorName`` ("this Drive folder, plus all children and
  descendants") or ``itemName``, newest first [DISC-A]; a folder trashed with its children is
  one event on the folder; ``set_api_enabled(acct, "driveactivity.googleapis.com", False)`` →
  403 ``PERMISSION_DENIED`` ``SERVICE_DISABLED`` (google.rpc ErrorInfo); ``set_scopes(acct,
  {".../auth/drive"})`` → 403 "Request had insufficient authentication scopes."
  (``ACCESS_TOKEN_SCOPE_INSUFFICIENT``); the seeded ``bob`` has the API disabled;
* an access token rejected before its expiry: ``reject_tokens(acct)`` (or ``expire_tokens``):
  401 ``UNAUTHENTICATED``, the client must refresh; batch parts get the 401 too.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trashscan.sandbox.faults import FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer
from trashscan_google_drive.sandbox.activity import ActivityApi
from trashscan_google_drive.sandbox.api import DriveApi, RefusedCall
from trashscan_google_drive.sandbox.auth import (
    ACTIVITY_SERVICE,
    DEFAULT_SCOPES,
    DRIVE_SERVICE,
    AccessToken,
    AuthState,
    Grant,
    OAuthClient,
)
from trashscan_google_drive.sandbox.batch import (
    BatchEndpoint,
    BatchPartRecord,
    PartFault,
    rate_limit_error,
    server_error,
)
from trashscan_google_drive.sandbox.consent import AUTH_PATH, ConsentPage
from trashscan_google_drive.sandbox.model import (
    FOLDER_MIME,
    DriveFile,
    DriveState,
    Person,
    SharedDrive,
)

__all__ = ["FakeAccount", "GoogleDriveFake"]


@dataclass
class FakeAccount:
    """A Google account of the fake: a person with an OAuth client and a consent (grant)."""

    name: str
    person: Person
    client: OAuthClient
    grant: Grant
    token: AccessToken  # the access token stored in the account's secrets
    activity: bool

    @property
    def email(self) -> str:
        return self.person.email


class GoogleDriveFake:
    """The Google Drive provider's sandbox fake (see the module docstring)."""

    name = "google-drive"
    needs_server = True

    def __init__(self) -> None:
        self.state = DriveState()
        self.auth = AuthState()
        self.accounts: dict[str, FakeAccount] = {}
        self.server: FakeServer | None = None
        self._anchor = datetime.now(UTC)
        self._started = time.monotonic()
        # The fake's "now": the seed time plus real elapsed time, so seeded trash ages stay
        # consistent with API-made changes. Tests may replace it (``fake.clock = lambda: t``).
        self.clock: Callable[[], datetime] = self._elapsed_clock
        self._batch: BatchEndpoint | None = None
        self.client_files: dict[str, Path] = {}  # account -> its Desktop client JSON
        self._ca_bundle: Path | None = None
        self._drive_api = DriveApi(self.state, self.auth, lambda: self.clock(), self._base_url)

    # -- sandbox contract ---------------------------------------------------------------------

    def seed(
        self, workdir: Path, now: datetime, *, server: FakeServer, ca_bundle: Path | None
    ) -> list[dict[str, Any]]:
        """Register the routes on ``server``, create the seeded accounts, return their tables.

        ``workdir`` is unused: the fake keeps its state in memory only.
        """
        from trashscan_google_drive.sandbox.seed import seed_accounts

        self.attach(server, now)
        names = seed_accounts(self, now)
        self._ca_bundle = ca_bundle
        for name in names:
            self.write_client_secrets(name, workdir / f"{name}-client_secret.json")
        return [self.account_table(name, ca_bundle) for name in names]

    def write_client_secrets(self, name: str, path: Path) -> Path:
        """The "Desktop app" client JSON the Cloud console would let ``name`` download, its
        ``auth_uri`` and ``token_uri`` on this server; ``accounts add`` reads it to sign in.
        Plaintext like the sandbox's secret store, in the sandbox's own folder."""
        client = self.accounts[name].client
        installed = {
            "client_id": client.client_id,
            "project_id": f"sandbox-{client.project_number}",
            "auth_uri": self._base_url() + AUTH_PATH,
            "token_uri": self._base_url() + "/token",
            "client_secret": client.client_secret,
            "redirect_uris": ["http://localhost"],
        }
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(json.dumps({"installed": installed}), encoding="utf-8")
        path.chmod(0o600)
        self.client_files[name] = path
        return path

    def sign_in_help(self) -> list[tuple[str, str]]:
        """For ``sandbox serve``: (account, what a person does to finish ``accounts add``)."""
        first = next((n for n in self.accounts if n in self.client_files), None)
        if first is None:
            return []
        steps = f"open the link it prints, choose {self.accounts[first].email}, Allow"
        return [(first, steps)]

    def attach(self, server: FakeServer, now: datetime | None = None) -> None:
        """Register every route on ``server.router`` (and give the server a fault injector)."""
        if self.server is not None:
            raise RuntimeError("this fake is already attached to a server")
        self.server = server
        if now is not None:
            self._anchor = now if now.tzinfo else now.replace(tzinfo=UTC)
            self._started = time.monotonic()
        if server.faults is None:
            server.faults = FaultInjector()
        router = server.router
        self._drive_api.register(router)
        self._batch = BatchEndpoint(router)
        self._batch.register()
        ActivityApi(self.state, self.auth, lambda: self.clock()).register(router)
        router.add("POST", r"/token", lambda req, m: self.auth.token_endpoint(req, self.clock()))
        ConsentPage(self.auth, self._people).register(router)

    def account_table(self, name: str, ca_bundle: Path | None) -> dict[str, Any]:
        """The config table of account ``name``, its OAuth credentials in ``secrets``."""
        account = self.accounts[name]
        table: dict[str, Any] = {
            "name": name,
            "provider": self.name,
            "endpoint": self._base_url() + "/",
        }
        if ca_bundle is not None:
            table["ca_bundle"] = str(ca_bundle)
        table["activity"] = account.activity
        if name in self.client_files:  # so `accounts add google-drive NAME` can sign in again
            table["client_secrets"] = str(self.client_files[name])
        table["secrets"] = {"authorized_user": json.dumps(self.authorized_user_info(name))}
        return table

    def authorized_user_info(self, name: str) -> dict[str, Any]:
        """The ``authorized_user`` JSON google-auth reads (``Credentials.to_json`` shape)."""
        account = self.accounts[name]
        expiry = account.token.expires_at.astimezone(UTC).replace(tzinfo=None)
        return {
            "type": "authorized_user",
            "client_id": account.client.client_id,
            "client_secret": account.client.client_secret,
            "refresh_token": account.grant.refresh_token,
            "token": account.token.value,
            "token_uri": self._base_url() + "/token",
            "scopes": sorted(account.grant.scopes),
            "expiry": expiry.isoformat() + "Z",
        }

    # -- building state (seams) -----------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        email: str | None = None,
        display_name: str | None = None,
        activity: bool = False,
        scopes: frozenset[str] = DEFAULT_SCOPES,
        created: datetime | None = None,
        token_expired: bool = False,
    ) -> FakeAccount:
        """A Google account with its My Drive, its own OAuth client (Cloud project) and a stored
        access token; ``activity`` enables the Drive Activity API in that project."""
        if name in self.accounts:
            raise ValueError(f"account {name!r} exists")
        now = self.clock()
        with self.state.lock:
            person = self.state.add_person(
                email or f"{name}@example.com", display_name or name.title()
            )
            self.state.add_my_drive(person.email, created or now - timedelta(days=2000))
        services = {DRIVE_SERVICE} | ({ACTIVITY_SERVICE} if activity else set())
        client = self.auth.register_client(services)
        grant = self.auth.grant(client, person.email, scopes)
        token = self.auth.issue(grant, now - timedelta(hours=3) if token_expired else now)
        account = FakeAccount(name, person, client, grant, token, activity)
        self.accounts[name] = account
        return account

    def add_person(self, email: str, display_name: str) -> Person:
        """Someone without credentials in the fake (a shared-drive co-member)."""
        with self.state.lock:
            return self.state.add_person(email, display_name)

    def add_shared_drive(
        self, name: str, members: dict[str, str], *, created: datetime | None = None
    ) -> SharedDrive:
        """A shared drive; ``members`` maps account names or emails to roles."""
        with self.state.lock:
            return self.state.add_shared_drive(
                name,
                {self._email(who): role for who, role in members.items()},
                created or self.clock() - timedelta(days=900),
            )

    def add_drive_member(
        self, drive: str, who: str, role: str = "reader", *, at: datetime | None = None
    ) -> None:
        """``who`` (account name or email) joins shared drive ``drive`` (ID or name) as ``role``,
        or changes role: one ``changeType: "drive"`` change in their user log, none for the
        drive's items [DOC guides/about-changes]."""
        with self.state.lock:
            self.state.add_drive_member(
                self._drive(drive), self._email(who), role, at or self.clock()
            )

    def remove_drive_member(self, drive: str, who: str, *, at: datetime | None = None) -> None:
        """``who`` leaves (or is removed from) ``drive``: a ``drive`` change with ``removed:
        true`` and no ``drive`` resource in their user log; the drive's items and its own log
        are no longer theirs to read."""
        with self.state.lock:
            self.state.remove_drive_member(self._drive(drive), self._email(who), at or self.clock())

    def rename_drive(self, drive: str, name: str, *, at: datetime | None = None) -> None:
        """Rename ``drive``: a ``drive`` change in every member's user log."""
        with self.state.lock:
            self.state.rename_drive(self._drive(drive), name, at or self.clock())

    def add_file(
        self,
        where: str,
        name: str,
        mime_type: str,
        *,
        parent: str | None = None,
        by: str | None = None,
        created: datetime | None = None,
        size: int | None = None,
        image: dict[str, object] | None = None,
        video: dict[str, object] | None = None,
        content: bytes | None = None,
    ) -> DriveFile:
        """Create a file in ``where`` (an account's My Drive, or a shared drive's ID or name),
        under folder ``parent`` (default: the top level), uploaded by ``by``. With ``content``
        its size and checksums are those bytes', and ``alt=media`` returns them."""
        with self.state.lock:
            if where in self.accounts:
                root = self.state.roots[self.accounts[where].email]
                creator = self._email(by or where)
            else:
                drive = self._drive(where)
                root = drive.id
                creator = self._email(by) if by else next(iter(drive.members))
            return self.state.create_file(
                name=name,
                mime_type=mime_type,
                parent_id=parent or root,
                created_by=creator,
                at=created or self.clock(),
                size=size,
                image=image,
                video=video,
                content=content,
            )

    def add_folder(self, where: str, name: str, **kwargs: Any) -> DriveFile:
        return self.add_file(where, name, FOLDER_MIME, **kwargs)

    def trash(self, account: str, file_id: str, at: datetime | None = None) -> None:
        """Move a file to the trash as ``account`` (an account name or email) did at ``at``.

        Feeds the changes log (the file and any descendants) and the activity log."""
        with self.state.lock:
            item = self.state.files[file_id]
            self.state.set_trashed(item, True, self._email(account), at or self.clock())

    def untrash(self, account: str, file_id: str, at: datetime | None = None) -> None:
        with self.state.lock:
            item = self.state.files[file_id]
            self.state.set_trashed(item, False, self._email(account), at or self.clock())

    def deny_untrash(self, file_id: str, denied: bool = True) -> None:
        """Make ``capabilities.canUntrash`` false for this item (for everyone): it lists as
        such, and ``files.update {"trashed": false}`` answers 403 ``insufficientFilePermissions``
        as for a shared-drive reader. Drive does not say which policies cause it; this only
        lets tests seed such items on demand."""
        with self.state.lock:
            self.state.files[file_id].untrash_denied = denied

    def purge(self, account: str, file_id: str, at: datetime | None = None) -> list[str]:
        """Delete a file (and its descendants) forever, e.g. "Delete forever" in the web UI;
        ``changes.list`` then reports ``removed: true`` and ``files.get`` a 404."""
        with self.state.lock:
            item = self.state.files[file_id]
            return self.state.purge(item, self._email(account), at or self.clock())

    def trash_bulk(
        self,
        account: str,
        n_items: int,
        now: datetime | None = None,
        *,
        drive: str | None = None,
        seed: int = 0,
    ) -> list[str]:
        """Create and trash ``n_items`` photos/videos in ``account``'s My Drive (or in shared
        drive ``drive``), trashed at times spread over the 29 days before ``now``; returns IDs.

        Built for benchmarks (10,000 items take well under a few seconds); changes and
        activity are logged in time order, as if the trashing had really happened."""
        from trashscan_google_drive.sandbox.seed import random_media

        now = now or self.clock()
        rng = random.Random(seed)
        where = drive or account
        by = self._email(account)
        specs = [
            (trashed_at, *random_media(rng, trashed_at, index))
            for index, trashed_at in enumerate(
                sorted(now - timedelta(seconds=rng.uniform(60, 29 * 86400)) for _ in range(n_items))
            )
        ]
        pairs: list[tuple[datetime, DriveFile]] = []
        with self.state.lock:
            for trashed_at, name, mime, size, image, video, taken in sorted(
                specs, key=lambda spec: spec[6]
            ):  # uploads in time order, then trashing in time order: a chronological log
                item = self.add_file(
                    where, name, mime, by=by, created=taken, size=size, image=image, video=video
                )
                pairs.append((trashed_at, item))
            pairs.sort(key=lambda pair: pair[0])
            for trashed_at, item in pairs:
                self.state.set_trashed(item, True, by, trashed_at)
        return [item.id for _, item in pairs]

    # -- credentials (seams) --------------------------------------------------------------------

    def expire_tokens(self, account: str) -> int:
        """Expire ``account``'s access tokens: the next call gets Google's 401 and the client
        must refresh through ``/token``. Returns how many tokens were live."""
        return self.auth.expire_tokens(self.accounts[account].email, self.clock())

    def reject_tokens(self, account: str) -> int:
        """The server stops accepting ``account``'s access tokens before they expire (the
        client's stored ``expiry`` is still in the future): the next call gets Google's 401
        ``UNAUTHENTICATED`` and the client must refresh through ``/token``, e.g. through the
        account's own TLS transport. Refresh tokens stay good. Returns how many were live."""
        return self.auth.reject_tokens(self.accounts[account].email)

    def set_api_enabled(self, account: str, service: str, enabled: bool = True) -> None:
        """Enable or disable an API (``drive.googleapis.com``, ``driveactivity.googleapis.com``)
        in ``account``'s Cloud project: a disabled one answers 403 ``PERMISSION_DENIED`` "... API
        has not been used in project N before or it is disabled ..." (``SERVICE_DISABLED``)."""
        client = self.accounts[account].client
        with self.auth.lock:
            if enabled:
                client.enabled_services.add(service)
            else:
                client.enabled_services.discard(service)

    def set_scopes(self, account: str, scopes: set[str] | frozenset[str]) -> None:
        """``account``'s consent is now exactly ``scopes`` (grant and live tokens): without
        ``drive.activity(.readonly)``, ``activity:query`` answers 403 "Request had insufficient
        authentication scopes." (``ACCESS_TOKEN_SCOPE_INSUFFICIENT``)."""
        self.auth.set_scopes(self.accounts[account].email, frozenset(scopes))

    def revoke(self, account: str) -> None:
        """Revoke ``account``'s refresh token too: refreshing then fails with ``invalid_grant``
        (``google.auth.exceptions.RefreshError`` in the client)."""
        self.auth.revoke(self.accounts[account].email)

    def issue_token(self, account: str) -> str:
        """A fresh valid access token for ``account``, bypassing the token endpoint."""
        return self.auth.issue(self.accounts[account].grant, self.clock()).value

    # -- faults (seams) -------------------------------------------------------------------------

    def fail_next_part(
        self,
        status: int = 403,
        reason: str | None = None,
        retry_after: float | None = None,
        file_id: str | None = None,
        *,
        times: int = 1,
        message: str | None = None,
        method: str | None = None,
        query: dict[str, str] | None = None,
        apply: bool = False,
    ) -> None:
        """Make the next batch part that matches fail; the other parts of the batch still run.

        A part matches when it addresses ``file_id`` (``/files/{id}``), uses ``method`` (e.g.
        ``"PATCH"``: only the update of a file, not a GET of it) and carries every ``query``
        parameter with that value (e.g. ``{"driveId": X}``: only that shared drive's
        ``changes.list``); criteria left None match anything.

        429 and 403 are Drive's throttling errors: ``reason`` defaults to
        ``userRateLimitExceeded`` for 403 and ``rateLimitExceeded`` for 429. A 5xx is Drive's
        server error, ``backendError`` "Backend Error" by default [DOC guides/handle-errors].
        By default the call is not run (nothing changes); with ``apply=True`` it is run and
        its answer replaced by the error: the write happened though the client saw a failure,
        the other outcome a client must allow for since Drive does not say which one a 5xx is.
        """
        if self._batch is None:
            raise RuntimeError("attach the fake to a server first")
        if status >= 500:
            response = server_error(status, reason or "backendError", message, retry_after)
        else:
            reason = reason or ("userRateLimitExceeded" if status == 403 else "rateLimitExceeded")
            response = rate_limit_error(status, reason, retry_after, message)
        self._batch.add_fault(PartFault(response, file_id, times, method, query, apply))

    @staticmethod
    def http_fault(
        status: int = 429, reason: str | None = None, retry_after: float | None = 1
    ) -> HttpFault:
        """A Drive-shaped throttling fault for ``server.faults.add(...)`` (the framework's
        default fault body is not Drive's, so googleapiclient would not find a ``reason``)."""
        reason = reason or ("userRateLimitExceeded" if status == 403 else "rateLimitExceeded")
        response = rate_limit_error(status, reason, retry_after)
        return HttpFault(response.status, response.body, dict(response.headers))

    # -- inspection ------------------------------------------------------------------------------

    @property
    def batch_log(self) -> list[BatchPartRecord]:
        """Every inner call of every batch (the server's request log shows one POST each)."""
        return self._batch.log if self._batch else []

    @property
    def refused_calls(self) -> list[RefusedCall]:
        """Destructive calls (files.delete, files.emptyTrash) the fake refused."""
        return self._drive_api.refused

    def find(self, name: str, *, account: str | None = None, drive: str | None = None) -> DriveFile:
        """The unique live item called ``name`` (in ``account``'s My Drive or ``drive``)."""
        with self.state.lock:
            owner = self.accounts[account].email if account else None
            drive_id = self._drive(drive).id if drive else None
            found = [
                f
                for f in self.state.files.values()
                if f.name == name
                and (owner is None or f.owner == owner)
                and (drive_id is None or f.drive_id == drive_id)
            ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} items named {name!r}")
        return found[0]

    # -- internals -------------------------------------------------------------------------------

    def _elapsed_clock(self) -> datetime:
        return self._anchor + timedelta(seconds=time.monotonic() - self._started)

    def _people(self) -> dict[str, str]:
        """Who may be signed in in the consent page's browser: email -> account name."""
        return {account.email: name for name, account in self.accounts.items()}

    def _base_url(self) -> str:
        if self.server is None:
            return "https://127.0.0.1"
        return self.server.base_url

    def _email(self, who: str) -> str:
        if who in self.accounts:
            return self.accounts[who].email
        if "@" in who:
            if who not in self.state.people:
                self.state.add_person(who, who.split("@")[0].title())
            return who
        raise KeyError(f"unknown account {who!r}")

    def _drive(self, key: str) -> SharedDrive:
        for drive in self.state.drives.values():
            if key in {drive.id, drive.name}:
                return drive
        raise KeyError(f"unknown shared drive {key!r}")
