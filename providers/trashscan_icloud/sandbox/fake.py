"""Sandbox fake of Apple iCloud: Apple ID sign-in, CloudKit Photos and iCloud Drive.

The unmodified ``pyicloud`` client (``PyiCloudService``) talks to this over loopback HTTPS. pyicloud
hard-codes three roots (``base.PyiCloudService._setup_endpoints``); the plugin (and the tests,
with a subclass) redirect each real host to a path prefix of the one server, the real paths
following it:

=====================================================  ===========================================
real URL                                               sandbox URL
=====================================================  ===========================================
``https://idmsa.apple.com/appleauth/auth/...``         ``{base}/idmsa/appleauth/auth/...``
``https://www.icloud.com`` (Origin/Referer only)       ``{base}/home``
``https://setup.icloud.com/setup/ws/1/...``            ``{base}/setup/ws/1/...``
``ckdatabasews`` (from ``accountLogin``)               ``{base}/ck/database/1/...``
``drivews`` (from ``accountLogin``)                    ``{base}/drivews/...``
``docws`` (from ``accountLogin``)                      ``{base}/docws/ws/...``
content URLs (``cvws.icloud-content.com``)             ``{base}/cvws/B/<token>/<file name>``
=====================================================  ===========================================

Behaviour is built from Apple's web client as documented and observed (/work/shared/docs/icloud.md,
pyicloud 2026.10.1's source, timlaing/pyicloud's captured test fixtures, Apple's CloudKit Web
Services Reference), never from what a trashscan plugin sends. Each module cites its sources:

* :mod:`~trashscan_icloud.sandbox.auth`: SRP-6a sign-in, HSA2 2FA, trust tokens, web sessions, ADP;
* :mod:`~trashscan_icloud.sandbox.cloudkit`: Photos (Recently Deleted, counts, lookup, modify),
  and the content its CPLMaster records point at: real originals and ``resJPEGThumbRes``
  thumbnails (pyicloud's ``thumb``/``thumb_image``) of deleted assets too, served on ``/cvws``;
* :mod:`~trashscan_icloud.sandbox.drive`: iCloud Drive listing, trash and put-back;
* :mod:`~trashscan_icloud.sandbox.model`: accounts, records, drive nodes, sessions;
* :mod:`~trashscan_icloud.sandbox.wire`: error envelopes, cookies, timestamps;
* :mod:`~trashscan_icloud.sandbox.seed`: the seeded account and the bulk generator.

**How the seeded account is "already trusted".** Apple lets a browser skip 2FA while it presents a
trust token younger than about two months (icloud.md §1). The plugin keeps pyicloud's cookie and
session files under ``TRASHSCAN_HOME/accounts/icloud/<name>/``, which the sandbox does not control,
so the fake cannot place a trust token there. ``grace`` is therefore seeded with
``trust_on_first_login``: her first SRP sign-in without a valid trust token is treated as coming
from a browser that was trusted earlier; it succeeds without 2FA and the answer carries the
``X-Apple-TwoSV-Trust-Token`` pyicloud stores in its session file, exactly as after a real 2FA.
From then on she behaves like any 2FA account: cached sessions need only ``validate``, expired
sessions need only the password while the trust token lives, and a lost cookie dir, or
:meth:`ICloudFake.expire_trust`, means 2FA again. :meth:`ICloudFake.trust_token` also issues a
token for harnesses that can seed a session file themselves.

Test seams (thread-safe; times default to :attr:`ICloudFake.clock`, which tests may replace):
``add_account``, ``add_photo``, ``delete_photo``, ``touch_asset``, ``expunge``,
``bulk_deleted``, ``set_indexing_state``, ``add_drive_file``, ``trash_drive_item``,
``require_2fa``, ``two_factor_code``, ``trust_token``, ``trust_next_login``, ``expire_trust``,
``expire_session``, ``enable_adp``, ``approve_web_access``, ``disable_web_access``,
``http_fault``, ``fail_drive_trash``, ``drive_restore_conflict``, ``between_scans`` (the demo's
"meanwhile" step); inspect ``state``, ``server``, ``manifest``, ``find_asset``, ``deleted_assets``,
``drive_trash``, ``drive_trash_faults``, ``drive_path``, ``refused_calls``, ``unmodelled_calls``,
``modify_log`` and ``drive_restores``.

Issue 12 scenario: Photos' Recently Deleted (CloudKit) and iCloud Drive's (drivews) are separate
listings of separate services (icloud.md §2, §3). ``fail_drive_trash(429, retry_after=30,
times=2)`` throttles only the Drive trash listing twice; ``fail_drive_trash(503,
retry_after=None, times=None)`` breaks it until ``fail_drive_trash(times=0)``; Photos and the
other Drive calls keep answering. How often Apple fails one alone is unknown.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trashscan.sandbox.faults import FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer, Request, Response
from trashscan_icloud.sandbox.auth import ICloudAuth, derive_dsid, make_verifier
from trashscan_icloud.sandbox.cloudkit import PhotosCloudKit
from trashscan_icloud.sandbox.drive import ICloudDrive
from trashscan_icloud.sandbox.model import (
    Account,
    AuthState,
    ContentStore,
    DriveItem,
    DriveRestore,
    DriveTree,
    ModifyLogEntry,
    PhotoAsset,
    PhotoLibrary,
    RefusedCall,
)
from trashscan_icloud.sandbox.seed import SeedManifest, bulk_deleted, seed_grace
from trashscan_icloud.sandbox.wire import rate_limit_fault, stable_hex

__all__ = ["ICloudFake", "ICloudState"]


@dataclass
class ICloudState:
    """Everything the fake knows: the Apple IDs (each with its library and drive), sign-in
    state, and downloadable content. ``auth.lock`` guards all of it."""

    accounts: dict[str, Account] = field(default_factory=dict)
    auth: AuthState = field(default_factory=AuthState)
    content: ContentStore = field(default_factory=ContentStore)

    @property
    def lock(self) -> Any:
        return self.auth.lock


class ICloudFake:
    """The iCloud provider's sandbox fake (see the module docstring)."""

    name = "icloud"
    needs_server = True

    def __init__(self) -> None:
        self.state = ICloudState()
        self.server: FakeServer | None = None
        self.manifest: dict[str, SeedManifest] = {}
        self.refused_calls: list[RefusedCall] = []
        self.unmodelled_calls: list[RefusedCall] = []
        self.modify_log: list[ModifyLogEntry] = []
        self.drive_restores: list[DriveRestore] = []
        self._anchor = datetime.now(UTC)
        self._started = time.monotonic()
        # The fake's "now": the seed time plus real elapsed time. Tests may replace it
        # (``fake.clock = lambda: t``) to move past trust lifetimes or purge dates.
        self.clock: Callable[[], datetime] = self._elapsed_clock
        now = lambda: self.clock()  # noqa: E731 - late-bound so replacing ``clock`` works
        self.auth = ICloudAuth(self.state.accounts, self.state.auth, now, self._base_url)
        self.cloudkit = PhotosCloudKit(
            self.state.accounts,
            self.auth,
            now,
            self._base_url,
            self.state.content,
            self.refused_calls,
            self.unmodelled_calls,
            self.modify_log,
        )
        self.drive = ICloudDrive(
            self.state.accounts,
            self.auth,
            now,
            self._base_url,
            self.state.content,
            self.refused_calls,
            self.unmodelled_calls,
            self.drive_restores,
        )

    # -- sandbox contract ------------------------------------------------------------------------

    def seed(
        self, workdir: Path, now: datetime, *, server: FakeServer, ca_bundle: Path | None
    ) -> list[dict[str, Any]]:
        """Register the routes on ``server``, create ``grace`` (:mod:`.seed`) and return her
        config table. ``workdir`` is unused: the fake keeps its state in memory."""
        self.attach(server, now)
        self.manifest["grace"] = seed_grace(self, self._anchor)
        return [self.account_table("grace", ca_bundle)]

    def attach(self, server: FakeServer, now: datetime | None = None) -> None:
        """Register every route on ``server.router`` and give the server a fault injector."""
        if self.server is not None:
            raise RuntimeError("this fake is already attached to a server")
        self.server = server
        if now is not None:
            self._anchor = now if now.tzinfo else now.replace(tzinfo=UTC)
            self._started = time.monotonic()
        if server.faults is None:
            server.faults = FaultInjector()
        self.auth.register(server.router)
        self.cloudkit.register(server.router)
        self.drive.register(server.router)
        server.router.add("GET", r"/cvws/B/([^/]+)/([^/]+)", self._content)

    def account_table(self, name: str, ca_bundle: Path | None) -> dict[str, Any]:
        """The config table of ``name``; the password goes to the secret store."""
        account = self.state.accounts[name]
        table: dict[str, Any] = {
            "name": name,
            "provider": self.name,
            "endpoint": self._base_url() + "/",
        }
        if ca_bundle is not None:
            table["ca_bundle"] = str(ca_bundle)
        table["apple_id"] = account.apple_id
        table["secrets"] = {"password": account.password}
        return table

    def sign_in_help(self) -> list[tuple[str, str]]:
        """For ``sandbox serve``: (account, what a person types to finish ``accounts add``).
        The two-factor code is fixed per Apple ID; Apple asks for it when no trust token is
        presented (a new account name, or after the seeded one's first sign-in)."""
        return [
            (name, f"when asked: password {acct.password}, two-factor code {acct.two_factor_code}")
            for name, acct in self.state.accounts.items()
        ]

    def between_scans(self) -> None:
        """The demo's "meanwhile, in the clouds" step (:meth:`Sandbox.between_scans`): ``grace``
        deletes two of her live photos and one iCloud Drive photo now. Runs once."""
        manifest = self.manifest.get("grace")
        if manifest is None or manifest.between_scans_done:
            return
        manifest.between_scans_done = True
        now = self.clock()
        for asset_id in manifest.live_assets[:2]:
            self.delete_photo("grace", asset_id, now)
        self.trash_drive_item("grace", manifest.drive_files[0], now)

    # -- accounts --------------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        apple_id: str | None = None,
        password: str | None = None,
        first_name: str | None = None,
        last_name: str = "Example",
        two_factor: bool = True,
        trust_on_first_login: bool = False,
        protocol: str = "s2k",
        iterations: int = 20_000,
    ) -> Account:
        """An Apple ID with an SRP verifier for ``password`` (generated when omitted; read it
        from ``account.password``), HSA2 2FA unless ``two_factor=False``, an empty library and
        an empty drive. ``trust_on_first_login``: see the module docstring."""
        if protocol not in ("s2k", "s2k_fo"):
            raise ValueError("protocol must be s2k or s2k_fo")
        apple_id = apple_id or f"{name}@example.com"
        password = password or secrets.token_urlsafe(12)
        # srp's ctypes backend (the one pyicloud gets) turns the salt into a number and back,
        # dropping a leading zero byte, so such a salt (1 in 256) could never sign in.
        salt = b"\x01" + secrets.token_bytes(15)
        account = Account(
            name=name,
            apple_id=apple_id,
            password=password,
            dsid=derive_dsid(apple_id),
            first_name=first_name or name.title(),
            last_name=last_name,
            salt=salt,
            iterations=iterations,
            protocol=protocol,
            verifier=make_verifier(password, salt, iterations, protocol),
            photos=PhotoLibrary(owner_record_name="_" + stable_hex("owner", apple_id)),
            drive=DriveTree(),
            two_factor=two_factor,
            trust_on_first_login=trust_on_first_login,
            two_factor_code=str(100_000 + int(stable_hex("2fa", apple_id, length=8), 16) % 900_000),
        )
        with self.state.lock:
            if name in self.state.accounts:
                raise ValueError(f"account {name!r} exists")
            if self.auth.account_by_apple_id(apple_id) is not None:
                raise ValueError(f"Apple ID {apple_id!r} exists")
            self.state.accounts[name] = account
        return account

    # -- sign-in seams ---------------------------------------------------------------------------

    def two_factor_code(self, account: str) -> str:
        """The code ``account``'s trusted devices show: six digits, stable per Apple ID (so a
        person driving the sandbox by hand can type it); valid for every challenge."""
        return self.state.accounts[account].two_factor_code

    def require_2fa(self, account: str) -> None:
        """Turn HSA2 on and drop the "trusted earlier" grace: the next sign-in without a valid
        trust token answers 409 and needs :meth:`two_factor_code`. Issued trust tokens stay
        valid (see :meth:`expire_trust`)."""
        with self.state.lock:
            acct = self.state.accounts[account]
            acct.two_factor = True
            acct.trust_on_first_login = False

    def trust_next_login(self, account: str) -> None:
        """Re-arm ``trust_on_first_login`` (the next sign-in without a trust token is trusted)."""
        with self.state.lock:
            self.state.accounts[account].trust_on_first_login = True

    def trust_token(self, account: str) -> str:
        """Issue a valid trust token for ``account``, as 2FA on some browser would have; put it
        in pyicloud's session file (``trust_token``) to sign in without 2FA."""
        with self.state.lock:
            return self.state.accounts[account].issue_trust_token(self.clock())

    def expire_trust(self, account: str) -> None:
        """The 2FA trust lapsed (Apple's ~two-month interval): every trust token is void,
        ``trust_on_first_login`` is off, and existing sessions report
        ``hsaTrustedBrowser: false``, so pyicloud's next login reports ``requires_2fa``."""
        with self.state.lock:
            acct = self.state.accounts[account]
            acct.trust_tokens.clear()
            acct.trust_on_first_login = False
            self.auth.untrust_sessions(account)

    def expire_session(self, account: str) -> int:
        """Every session token and web-auth cookie of ``account`` expires: ``validate`` and
        ``accountLogin`` answer 421, so pyicloud signs in again with SRP (no 2FA while its trust
        token is valid). Returns how many sessions were revoked."""
        return self.auth.expire_sessions(account)

    # -- Advanced Data Protection seams ----------------------------------------------------------

    def enable_adp(self, account: str, *, device_approves: bool = False) -> None:
        """Turn Advanced Data Protection on: ``requestWebAccessState`` says
        ``isICDRSDisabled: true``, Photos answers 403 ``ACCESS_DENIED`` and Drive 423 until a
        trusted device consents (``device_approves``: it taps "Allow" when asked; else see
        :meth:`approve_web_access`) and ``requestPCS`` delivered the PCS cookies."""
        with self.state.lock:
            acct = self.state.accounts[account]
            acct.adp = True
            acct.device_approves = device_approves
            acct.device_consent_until = None

    def approve_web_access(self, account: str, hours: float = 1.0) -> None:
        """The user approved web access on a trusted device: consent lasts ``hours``."""
        with self.state.lock:
            acct = self.state.accounts[account]
            acct.device_consent_until = self.clock() + timedelta(hours=hours)

    def disable_web_access(self, account: str, disabled: bool = True) -> None:
        """Turn "Access iCloud Data on the Web" off: ``isWebAccessAllowed: false``, and data
        requests are denied like under ADP."""
        with self.state.lock:
            self.state.accounts[account].web_access_allowed = not disabled

    # -- Photos seams ----------------------------------------------------------------------------

    def add_photo(
        self,
        account: str,
        filename: str,
        *,
        uti: str = "public.heic",
        size: int = 2_000_000,
        width: int = 4032,
        height: int = 3024,
        asset_date: datetime | None = None,
        added_date: datetime | None = None,
        live_video_size: int | None = None,
        deleted_at: datetime | None = None,
        unique: object = "",
        content: bytes | None = None,
    ) -> PhotoAsset:
        """Add a photo/video (``uti`` as in ``itemType``) to ``account``'s library; with
        ``deleted_at`` it is then deleted at that time. With ``content`` (the original's bytes)
        ``size`` is their length and downloads return them."""
        when = self._when(asset_date)
        with self.state.lock:
            library = self.state.accounts[account].photos
            asset = library.new_asset(
                filename,
                uti,
                size=size,
                width=width,
                height=height,
                asset_date=when,
                added_date=self._when(added_date or when),
                live_video_size=live_video_size,
                unique=unique,
                content=content,
            )
            if deleted_at is not None:
                library.mark_deleted(asset, self._when(deleted_at))
            return asset

    def delete_photo(self, account: str, asset_id: str, at: datetime | None = None) -> None:
        """The user deleted the asset at ``at`` (from another device: not an API call)."""
        with self.state.lock:
            library = self.state.accounts[account].photos
            library.mark_deleted(library.assets[asset_id], self._when(at))

    def touch_asset(self, account: str, asset_id: str, at: datetime | None = None) -> str:
        """Another device edited the CPLAsset (a keyword, a caption...): its
        ``recordChangeTag`` changes, so a write carrying the old tag gets ``CONFLICT``.
        Returns the new tag."""
        with self.state.lock:
            library = self.state.accounts[account].photos
            asset = library.assets[asset_id]
            asset.asset_tag = library.new_tag()
            asset.modified = self._when(at)
            library.touched()
            return asset.asset_tag

    def expunge(self, account: str, asset_id: str) -> None:
        """Purge an asset for good now (as Recently Deleted does at ``dateExpunged``)."""
        with self.state.lock:
            library = self.state.accounts[account].photos
            library.expunge(library.assets[asset_id])

    def bulk_deleted(
        self, account: str, n: int, now: datetime | None = None, *, seed: int = 0
    ) -> list[str]:
        """``n`` more deleted photos/videos (benchmarks; 5,000 take well under a second)."""
        return bulk_deleted(self, account, n, self._when(now), seed=seed)

    def set_indexing_state(self, account: str, state: str = "NOT_FINISHED") -> None:
        """What ``CheckIndexingState`` answers (pyicloud refuses anything but FINISHED)."""
        with self.state.lock:
            self.state.accounts[account].photos.indexing_state = state

    def find_asset(self, account: str, asset_id: str) -> PhotoAsset:
        """The asset (live, deleted or expunged) with CPLAsset record name ``asset_id``."""
        with self.state.lock:
            library = self.state.accounts[account].photos
            asset = library.assets.get(asset_id) or library.expunged.get(asset_id)
            if asset is None:
                raise KeyError(asset_id)
            return asset

    def deleted_assets(self, account: str) -> list[PhotoAsset]:
        """Recently Deleted now, soonest purge first (the order the service pages in)."""
        with self.state.lock:
            library = self.state.accounts[account].photos
            library.purge_expired(self.clock())
            return list(library.index("deleted"))

    # -- iCloud Drive seams ----------------------------------------------------------------------

    def add_drive_file(
        self, account: str, path: str, size: int, at: datetime | None = None
    ) -> DriveItem:
        """A file at ``path`` (``"Folder/Sub/name.ext"``), creating missing folders."""
        with self.state.lock:
            return self.state.accounts[account].drive.add_file(path, size, self._when(at))

    def trash_drive_item(
        self, account: str, drivewsid: str, at: datetime | None = None
    ) -> DriveItem:
        """The user deleted the item at ``at``: it moves to Recently Deleted for 30 days."""
        with self.state.lock:
            tree = self.state.accounts[account].drive
            item = tree.by_drivewsid(drivewsid)
            if item is None or item.in_trash:
                raise KeyError(drivewsid)
            tree.move_to_trash(item, self._when(at))
            return item

    def drive_trash(self, account: str) -> list[DriveItem]:
        with self.state.lock:
            tree = self.state.accounts[account].drive
            tree.purge_expired(self.clock())
            return tree.trash()

    def drive_path(self, account: str, drivewsid: str) -> str:
        """Where an item lives now (``"Camera Uploads/IMG_0420 2.JPG"``)."""
        with self.state.lock:
            tree = self.state.accounts[account].drive
            item = tree.by_drivewsid(drivewsid)
            if item is None:
                raise KeyError(drivewsid)
            return tree.path_of(item)

    @property
    def drive_restore_conflict(self) -> str:
        """What put-back does when the restore path is taken: ``"rename"`` (default, restore
        as ``"<name> 2.<ext>"``) or ``"error"`` (item status ``NAME_CONFLICT``, nothing moves).
        The real behaviour is UNVERIFIED (icloud.md §3)."""
        return self.drive.conflict_policy

    @drive_restore_conflict.setter
    def drive_restore_conflict(self, policy: str) -> None:
        if policy not in ("rename", "error"):
            raise ValueError("policy must be 'rename' or 'error'")
        self.drive.conflict_policy = policy

    # -- faults ----------------------------------------------------------------------------------

    def fail_drive_trash(
        self, status: int = 429, *, retry_after: int | None = 1, times: int | None = 1
    ) -> None:
        """Make iCloud Drive's Recently Deleted listing (only it: Photos and other Drive
        listings still answer) fail the next ``times`` times (None: until called again with
        ``times=0``) with ``status`` (429 throttled, or a 5xx) in drivews' error shape,
        ``Retry-After: retry_after`` unless None. pyicloud raises
        ``PyiCloudAPIResponseException`` with ``code`` = ``status``."""
        fault = rate_limit_fault("drivews", retry_after or 0, status)
        headers = dict(fault.headers)
        if retry_after is None:
            headers.pop("Retry-After", None)
        with self.state.lock:
            self.drive.trash_fault = Response(fault.status, fault.body, headers)
            self.drive.trash_fault_times = times

    @property
    def drive_trash_faults(self) -> int | None:
        """How many more Recently Deleted listings will fail (None: all of them)."""
        with self.state.lock:
            return self.drive.trash_fault_times

    @staticmethod
    def http_fault(status: int = 429, retry_after: int = 1, *, service: str = "ck") -> HttpFault:
        """A throttling answer for ``server.faults.add(...)`` in ``service``'s own error shape
        (``ck``: CloudKit ``THROTTLED``/``retryAfter``; ``drivews``; ``setup``; ``idmsa``) with
        ``Retry-After``. pyicloud raises ``PyiCloudAPIResponseException`` with ``code`` 429 and
        the header on ``exc.response`` (icloud.md §2)."""
        return rate_limit_fault(service, retry_after, status)

    # -- internals -------------------------------------------------------------------------------

    def _when(self, at: datetime | None) -> datetime:
        if at is None:
            return self.clock()
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    def _elapsed_clock(self) -> datetime:
        return self._anchor + timedelta(seconds=time.monotonic() - self._started)

    def _base_url(self) -> str:
        return self.server.base_url if self.server is not None else "https://127.0.0.1"

    def _content(self, request: Request, match: Any) -> Response:
        body = self.state.content.get(match.group(1))
        if body is None:
            return Response(404, b"", {"Content-Type": "text/plain"})
        return Response(200, body, {"Content-Type": "application/octet-stream"})
