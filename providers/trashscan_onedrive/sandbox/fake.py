"""Sandbox fake of Microsoft Graph (OneDrive Personal and for Business) and its Entra authority.

One loopback HTTPS server answers both: the msal-compatible authority under ``/{tenant}/...``
(:mod:`~trashscan_onedrive.sandbox.auth`) and Graph under ``/v1.0/...`` and ``/beta/...``
(:mod:`.graph`). The real ``msal.PublicClientApplication`` talks to it
with ``authority=<base>/common, instance_discovery=False`` and a ``requests`` session trusting
the sandbox CA (with ``trust_env = False``: ``REQUESTS_CA_BUNDLE`` would override ``verify``,
onedrive.md §5.3); Graph calls are plain HTTPS with the bearer token msal returns.

Behaviour comes from Microsoft's documentation (learn.microsoft.com/graph: driveitem-delta,
driveitem-get, driveitem-list-children, driveitem-restore, drive-get, recyclebin-list-items,
resources/recyclebinitem, filestoragecontainer-restore-recyclebinitem, concepts/errors and
throttling; Entra's device-code page), the msal source (what it sends and requires), and
/work/shared/docs/onedrive.md; each module cites its sources:

* :mod:`~trashscan_onedrive.sandbox.model`: drives, items, the change journal, recycle bins;
* :mod:`.graph`: the Graph routes, delta, restores, refusals;
* :mod:`~trashscan_onedrive.sandbox.batch`: JSON batching, ``POST /v1.0/$batch`` (and beta), each
  part run through the same routes (auth, faults, recording) and logged in its round trip's
  ``RequestRecord.parts``;
* :mod:`~trashscan_onedrive.sandbox.auth`: discovery, device code, token grants, bearer checks;
* :mod:`~trashscan_onedrive.sandbox.wire`: content types, Graph and Entra error bodies;
* :mod:`~trashscan_onedrive.sandbox.seed`: the seeded accounts, between-scans changes, bulk data.

Test seams (times default to the fake's clock :attr:`OneDriveFake.clock`, the seed time plus
real elapsed time): ``add_account``, ``add_file``, ``add_folder``, ``delete``, ``find``,
``between_scans``, ``bulk_personal``, ``bulk_recycle_bin``, ``delete_random``,
``approve_device_code``, ``decline_device_code``, ``expire_device_codes``, ``expire_tokens``,
``expire_refresh_tokens``, ``revoke``, ``grant_consent``, ``access_token``,
``expire_delta_tokens``, ``deny_restore``, ``allow_restore``, ``move_to_second_stage``,
``purge_bin_entry``, ``http_fault``, ``token_cache_blob``; inspect ``state``, ``server``,
``manifest``, ``restore_seen`` (business records carry ``not_restored``: (id, why) pairs),
``refused_calls``, ``unmodelled_calls`` and ``undocumented_calls``; tune ``graph``
(``list_second_stage``, ``serve_bin_item_get``, ``site_restore_ok_status``,
``bin_restore_recreates_folders``, ``max_restore_ids``, ``page_size``), ``batch``
(``order``: ``"shuffled"``/``"request"``/``"reverse"``, ``strict_dependencies``,
``max_requests``) and ``auth``
(``device_interval``, ``auto_approve``, ``interactive_account``).

Issue 12 scenarios, how to seed them (details and sources in :mod:`.graph`):

* undocumented ``GET .../recycleBin/items/{id}``: refused by default (400 ``BadRequest``;
  Microsoft documents only "list items"), served with ``fake.graph.serve_bin_item_get =
  True``; assert ``fake.undocumented_calls == []`` for a faithful client;
* bin restore, all restored: 207 by default, ``fake.graph.site_restore_ok_status = 200`` for 200;
* already restored / two runs racing: restore the entry once (or from two threads), then again:
  the id is absent from the 207 and live at its original path;
* original folder gone: ``e = fake.delete("frank", "/A/p.jpg")``, ``f = fake.delete("frank",
  "/A")`` (folder in the bin) and optionally ``fake.purge_bin_entry("frank", f.id)`` (gone
  for good): restoring ``e.id`` leaves it in the bin, unless
  ``fake.graph.bin_restore_recreates_folders = True`` (UNVERIFIED UI behaviour);
* name taken: ``fake.add_file("frank", <the entry's original path>)`` before restoring: not
  restored, nothing renamed (UNVERIFIED for Graph beta; the conservative choice);
* personal photo whose folder was deleted later: ``fake.delete("erin", photo_id)`` then
  ``fake.delete("erin", "/Folder")``: restoring the photo alone is 409 ``parentItemNotFound``;
  folder first, then photo, works; ``parentReference`` to a live folder works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trashscan.sandbox.faults import FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer
from trashscan_onedrive.sandbox import seed as seeding
from trashscan_onedrive.sandbox.auth import DEFAULT_CONSENT, MSA_TENANT, AuthAccount, AuthState
from trashscan_onedrive.sandbox.batch import BatchApi
from trashscan_onedrive.sandbox.graph import GraphApi, RecordedCall, RestoreRecord
from trashscan_onedrive.sandbox.model import Drive, Identity, Item, RecycleBinEntry, Site
from trashscan_onedrive.sandbox.seed import Manifest
from trashscan_onedrive.sandbox.wire import GRAPH_JSON_TYPE, throttle_body

__all__ = ["LOGIN_SCOPES", "OneDriveFake", "OneDriveState"]

LOGIN_SCOPES = ("Files.ReadWrite.All", "User.Read")  # what the seeded caches were granted
BUSINESS_TENANT = "3c7f4d1e-9b2a-4f6e-8a5d-1e2f3a4b5c6d"
BUSINESS_DOMAIN = "contoso.onmicrosoft.com"
BUSINESS_HOST = "contoso-my.sharepoint.com"
QUOTA = 1024**4  # 1 TB (Microsoft 365 plans)


@dataclass
class OneDriveState:
    """Everything the fake knows; ``drives``/``sites`` are keyed by account name."""

    auth: AuthState
    drives: dict[str, Drive] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)


class OneDriveFake:
    """The OneDrive provider's sandbox fake (see the module docstring)."""

    name = "onedrive"
    needs_server = True

    def __init__(self) -> None:
        self.server: FakeServer | None = None
        self.manifest: dict[str, Manifest] = {}
        self._anchor = datetime.now(UTC)
        self._started = time.monotonic()
        # The fake's "now": the seed time plus real elapsed time, so seeded ages stay consistent
        # with changes made later. Tests may replace it (``fake.clock = lambda: t``).
        self.clock: Callable[[], datetime] = self._elapsed_clock
        self.auth = AuthState(lambda: self.clock(), self._base_url)
        self.graph = GraphApi(self.auth, lambda: self.clock(), self._base_url)
        self.state = OneDriveState(self.auth, self.graph.drives, self.graph.sites)
        self.batch = BatchApi(
            lambda: self.server.router if self.server is not None else None,
            lambda: self.server.faults if self.server is not None else None,
            self._absolute_batch_url,
        )
        self._between_done: set[str] = set()

    # -- sandbox contract ----------------------------------------------------------------------

    def seed(
        self, workdir: Path, now: datetime, *, server: FakeServer, ca_bundle: Path | None
    ) -> list[dict[str, Any]]:
        """Register the routes on ``server``, create ``erin`` (personal) and ``frank``
        (business), and return their account tables, each with an msal token cache obtained
        through a device-code login against this very server. ``workdir`` is unused."""
        self.attach(server, now)
        self.manifest.update(seeding.seed_accounts(self, self._anchor))
        return [self.account_table(name, ca_bundle) for name in self.manifest]

    def attach(self, server: FakeServer, now: datetime | None = None) -> None:
        """Register the authority and Graph routes on ``server`` (and give it a fault
        injector). ``now`` re-anchors the fake's clock."""
        if self.server is not None:
            raise RuntimeError("this fake is already attached to a server")
        self.server = server
        if now is not None:
            self._anchor = now if now.tzinfo else now.replace(tzinfo=UTC)
            self._started = time.monotonic()
        if server.faults is None:
            server.faults = FaultInjector()
        self.batch.register(server.router)  # ahead of Graph's catch-all route
        self.graph.register(server.router)
        self.auth.register(server.router)

    def sign_in_help(self) -> list[tuple[str, str]]:
        """For ``sandbox serve``: (account, what a person does to finish ``accounts add``)."""
        return [
            (name, "open the page it names, type its code, choose " + account.identity.email)
            for name, account in self.auth.accounts.items()
            if name in self.manifest
        ][:1]

    def account_table(self, name: str, ca_bundle: Path | None) -> dict[str, Any]:
        """The config table of account ``name``; its msal cache goes in ``secret_blobs``."""
        base = self._base_url()
        table: dict[str, Any] = {
            "name": name,
            "provider": self.name,
            "endpoint": base + "/",
            "authority": base + "/common",
            "client_id": self.auth.client_id,
            "drive_type": self.graph.drives[name].drive_type,
        }
        if ca_bundle is not None:
            table["ca_bundle"] = str(ca_bundle)
        table["secret_blobs"] = {"msal_cache": self.token_cache_blob(name, ca_bundle)}
        return table

    def between_scans(self) -> None:
        """Delete a few of the personal accounts' photos and videos (once; see
        :mod:`~trashscan_onedrive.sandbox.seed` for exactly what)."""
        now = self.clock()
        for name, manifest in self.manifest.items():
            if manifest.drive_type == "personal" and name not in self._between_done:
                self._between_done.add(name)
                seeding.between_scans(self, manifest, now)

    # -- building state (seams) ----------------------------------------------------------------

    def add_account(
        self,
        name: str,
        kind: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        consent: Sequence[str] | None = None,
    ) -> Drive:
        """A user with a drive: ``kind`` ``personal`` (consumer tenant, CID-style ids) or
        ``business`` (tenant contoso, with a personal site). ``consent`` defaults to the
        Files/Sites/User.Read permissions the seeded users granted the app."""
        if name in self.graph.drives:
            raise ValueError(f"account {name!r} exists")
        display_name = display_name or f"{name.title()} Example"
        digest = hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()
        now = self.clock()
        if kind == "personal":
            cid = digest[:16]
            identity = Identity(
                name,
                display_name,
                email or f"{name}@outlook.com",
                f"00000000-0000-0000-{cid[:4]}-{cid[4:]}",
                MSA_TENANT,
                cid,
            )
            drive_id, domain = cid, None
        elif kind == "business":
            oid = str(uuid.UUID(digest[:32]))
            identity = Identity(
                name, display_name, email or f"{name}@contoso.com", oid, BUSINESS_TENANT, oid
            )
            drive_id = "b!" + base64.urlsafe_b64encode(bytes.fromhex(digest) * 2)[:64].decode()
            domain = BUSINESS_DOMAIN
        else:
            raise ValueError(f"kind must be personal or business, not {kind!r}")
        drive = Drive(
            drive_id, kind, identity, now - timedelta(days=800), quota_total=QUOTA, seed=0
        )
        self.graph.drives[name] = drive
        if kind == "business":
            local = identity.email.replace("@", "_").replace(".", "_")
            self.graph.sites[name] = Site(
                account=name,
                hostname=BUSINESS_HOST,
                path=f"/personal/{local}",
                site_guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"site:{name}")),
                web_guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"web:{name}")),
                list_guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"list:{name}")),
                tenant_id=BUSINESS_TENANT,
                display_name=display_name,
                created=drive.created,
            )
        granted = set(consent if consent is not None else DEFAULT_CONSENT[kind])
        self.auth.add_account(AuthAccount(identity, kind, domain, granted))
        return drive

    def add_file(
        self,
        account: str,
        path: str,
        size: int | None = None,
        at: datetime | None = None,
        *,
        taken: datetime | None = None,
        content: bytes | None = None,
    ) -> Item:
        """Upload a file as the user would (missing folders are created; over a live file of
        that name it is a new version). Photos and videos get ``taken`` (default: ``at``).
        With ``content`` the size and hashes are those bytes'."""
        at = self._when(at)
        size = seeding.size_of(path) if size is None else size
        if taken is None and seeding.is_media(path):
            taken = at
        return self.graph.drives[account].put_file(path, size, at, taken=taken, content=content)

    def add_folder(self, account: str, path: str, at: datetime | None = None) -> Item:
        return self.graph.drives[account].mkdirs(path, self._when(at))

    def delete(
        self, account: str, path_or_id: str, at: datetime | None = None
    ) -> RecycleBinEntry | None:
        """Delete a live file or folder (by path or id) as the user would at ``at``. Business
        drives return the new recycle-bin entry."""
        drive = self.graph.drives[account]
        with drive.lock:
            item = self._item(drive, path_or_id)
            return drive.delete(item, self._when(at))

    def find(self, account: str, path_or_id: str) -> Item:
        """The live item at a path, or any item (live or deleted) by id; KeyError if none."""
        drive = self.graph.drives[account]
        with drive.lock:
            return self._item(drive, path_or_id, live_only=False)

    def bulk_personal(
        self, account: str, n_files: int, now: datetime | None = None, *, seed: int = 0
    ) -> list[str]:
        """Benchmark data: ``n_files`` more live files (see :func:`.seed.bulk_personal`)."""
        return seeding.bulk_personal(self, account, n_files, self._when(now), seed=seed)

    def bulk_recycle_bin(
        self, account: str, n_items: int, now: datetime | None = None, *, seed: int = 0
    ) -> list[str]:
        """Benchmark data: ``n_items`` more recycle-bin entries on a business account."""
        return seeding.bulk_recycle_bin(self, account, n_items, self._when(now), seed=seed)

    def delete_random(self, account: str, n: int, *, seed: int = 0) -> list[str]:
        """Delete ``n`` random live photos/videos now (e.g. 100 for a bench); their ids."""
        return seeding.delete_random(self, account, n, seed=seed)

    def move_to_second_stage(self, account: str, entry_id: str) -> None:
        """The user emptied this entry from the site recycle bin: it moves to the site
        collection recycle bin (second stage) with its original deletion time."""
        drive = self.graph.drives[account]
        with drive.lock:
            drive.bin[entry_id].stage = 2

    def purge_bin_entry(self, account: str, entry_id: str) -> None:
        """The user deleted this entry from the site collection (second-stage) recycle bin:
        it is gone for good, and items whose original folder it was can no longer go back
        there ("the original folder is gone")."""
        self.graph.drives[account].purge_entry(entry_id)

    # -- credentials (seams) -------------------------------------------------------------------

    def approve_device_code(self, code_or_account: str, account: str | None = None) -> None:
        """The user signs in at the verification page: ``approve_device_code(user_code,
        account)``, or ``approve_device_code(account)`` for that account's newest pending
        code. Consent to the requested scopes is recorded."""
        self.auth.approve(code_or_account, account)

    def decline_device_code(self, user_code: str) -> None:
        self.auth.decline(user_code)

    def expire_device_codes(self) -> None:
        self.auth.expire_device_codes()

    def expire_tokens(self, account: str) -> int:
        """Expire ``account``'s access tokens: Graph answers 401 ``InvalidAuthenticationToken``
        ("Lifetime validation failed, the token is expired.") while msal's cache still thinks
        them valid, so the client must refresh (``force_refresh=True``). Returns how many."""
        return self.auth.expire_access_tokens(account)

    def expire_refresh_tokens(self, account: str) -> None:
        """Refreshing then fails with ``invalid_grant`` AADSTS700082 (inactive 90 days)."""
        self.auth.expire_refresh_tokens(account)

    def revoke(self, account: str) -> None:
        """The user revoked the app's sessions: refreshing fails with ``invalid_grant``
        AADSTS50173 (``suberror: bad_token``) and access tokens get 401 at once."""
        self.auth.revoke(account)

    def grant_consent(self, account: str, *scopes: str) -> None:
        """Add Graph permissions the user consented to (refresh for others is AADSTS65001)."""
        self.auth.accounts[account].consented.update(scopes)

    def access_token(self, account: str, scopes: Sequence[str] | None = None) -> str:
        """A fresh Graph access token for ``account`` without an OAuth round trip."""
        return self.auth.access_token(account, frozenset(scopes) if scopes is not None else None)

    def token_cache_blob(
        self, account: str, ca_bundle: Path | None, scopes: Sequence[str] = LOGIN_SCOPES
    ) -> bytes:
        """An msal ``SerializableTokenCache`` for ``account``, made by the real msal through a
        device-code flow against this server, auto-approved: its shape is msal's own. Holds the
        account, an id token, a refresh token and an access token for ``scopes``."""
        import msal
        import requests

        if self.server is None or self.server.tls is None:
            raise RuntimeError("msal needs an https authority: attach the fake to a TLS server")
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
        session.verify = str(ca_bundle) if ca_bundle is not None else True
        cache = msal.SerializableTokenCache()
        try:
            app = msal.PublicClientApplication(
                self.auth.client_id,
                authority=self._base_url() + "/common",
                instance_discovery=False,
                http_client=session,
                token_cache=cache,
            )
            flow = app.initiate_device_flow(scopes=list(scopes))
            if "user_code" not in flow:
                raise RuntimeError(f"device code request failed: {flow}")
            self.auth.approve(flow["user_code"], account)
            result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)
        finally:
            session.close()
        if "access_token" not in result:
            raise RuntimeError(f"sandbox login for {account} failed: {result.get('error')}")
        return cache.serialize().encode()

    # -- Graph behaviour (seams) ---------------------------------------------------------------

    def expire_delta_tokens(self, account: str) -> None:
        """Invalidate every delta token and nextLink of ``account``'s drive: the next delta call
        with one gets 410 ``resyncRequired`` with a ``Location`` to start over."""
        drive = self.graph.drives[account]
        with drive.lock:
            drive.generation += 1

    def deny_restore(self, account: str, permission: str = "Sites.ReadWrite.All") -> None:
        """Make the business recycle-bin restore answer 403 ``accessDenied`` naming
        ``permission`` (the permission for the site restore is undocumented)."""
        self.graph.denied_restore[account] = permission

    def allow_restore(self, account: str) -> None:
        self.graph.denied_restore.pop(account, None)

    @staticmethod
    def http_fault(status: int = 429, retry_after: float | str | None = 1) -> HttpFault:
        """A Graph-shaped throttling (429 ``activityLimitReached``) or outage (503
        ``serviceNotAvailable``) answer for ``server.faults.add(...)``, with ``Retry-After``
        unless ``retry_after`` is None [DOC concepts/throttling.md: "the Retry-After delay";
        SharePoint guidance: 429 or 503 with Retry-After]."""
        headers = {"Content-Type": GRAPH_JSON_TYPE, "request-id": str(uuid.uuid4())}
        if retry_after is not None:
            headers["Retry-After"] = (
                f"{retry_after:g}" if isinstance(retry_after, int | float) else retry_after
            )
        return HttpFault(status, json.dumps(throttle_body(status)).encode(), headers)

    # -- inspection ----------------------------------------------------------------------------

    @property
    def restore_seen(self) -> list[RestoreRecord]:
        """Every restore request (personal driveItem restores and business bin restores)."""
        return self.graph.restores

    @property
    def refused_calls(self) -> list[RecordedCall]:
        """Destructive calls the fake refused with 403 (delete, permanentDelete, upload...)."""
        return self.graph.refused

    @property
    def undocumented_calls(self) -> list[RecordedCall]:
        """Calls of routes Microsoft does not document (``GET .../recycleBin/items/{id}``),
        served or refused per ``graph.serve_bin_item_get``: a faithful client makes none."""
        return self.graph.undocumented

    @property
    def unmodelled_calls(self) -> list[RecordedCall]:
        """Graph GETs the fake does not model (answered 400 "Resource not found")."""
        return self.graph.unmodelled

    # -- internals -----------------------------------------------------------------------------

    def _absolute_batch_url(self, method: str, url: str) -> None:
        """A batch part with an absolute url ("URIs must be relative"): a miscall to report."""
        account = None
        self.graph.unmodelled.append(RecordedCall(method, url, account, self.clock()))

    @staticmethod
    def _item(drive: Drive, path_or_id: str, *, live_only: bool = True) -> Item:
        item = drive.resolve(path_or_id) if path_or_id.startswith("/") else drive.get(path_or_id)
        if item is None or (live_only and not item.live):
            raise KeyError(path_or_id)
        return item

    def _when(self, at: datetime | None) -> datetime:
        if at is None:
            return self.clock()
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    def _elapsed_clock(self) -> datetime:
        return self._anchor + timedelta(seconds=time.monotonic() - self._started)

    def _base_url(self) -> str:
        return self.server.base_url if self.server is not None else "https://127.0.0.1"
