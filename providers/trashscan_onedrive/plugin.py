"""OneDrive (personal, and work or school) as a trashscan provider.

The two kinds share nothing but sign-in and Graph plumbing:

* personal: no API lists the recycle bin; the account is enrolled (a metadata mirror of its photos
  and videos, then the delta feed), see :mod:`.personal`; restore is ``driveItem: restore``, see
  :mod:`.restore_personal`;
* business: the recycle bin of the user's OneDrive site is listed in full, with exact times, see
  :mod:`.business`; restore is the site recycle bin's (beta) restore action, see
  :mod:`.restore_business`.

The kind is detected at ``accounts add`` (``drive_type`` in the config); an account without it is
detected with one ``/me/drive`` call on its first scan and the result kept in the scan state. A
session is built per call: the core runs each account on its own thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any

from trashscan.models import (
    Account,
    AuthStatus,
    IndexedItem,
    Page,
    RestoreResult,
    ScanOutcome,
    Thumbnail,
)
from trashscan.provider import Capabilities, Provider, Retention
from trashscan.safe_text import printable_lines
from trashscan_onedrive import auth, thumbnails
from trashscan_onedrive.business import BusinessScan
from trashscan_onedrive.client import GraphSession
from trashscan_onedrive.drive import DriveInfo, read_drive
from trashscan_onedrive.mirror import open_mirror
from trashscan_onedrive.options import OPTIONS, Settings
from trashscan_onedrive.personal import PersonalScan
from trashscan_onedrive.restore_business import BusinessRestorer
from trashscan_onedrive.restore_personal import PersonalRestorer
from trashscan_onedrive.tokens import CACHE_KEY


class OneDriveProvider(Provider):
    name = "onedrive"
    display_name = "OneDrive"
    secret_blob_keys = (CACHE_KEY,)
    capabilities = Capabilities(
        list=True,
        restore=True,
        exact_deletion_times=False,  # exact for work or school accounts only
        incremental=True,
        restore_experimental=True,  # the business restore action is beta and undocumented
        notes=(
            "personal: no API lists the recycle bin; the first scan enrols the account and "
            "only items deleted after it are found",
            "personal: deletion time = the scan before the deletion was seen, purge = +30 days "
            "(estimate), +3 days while the recycle bin is at 9% or more of the storage (OneDrive "
            "may purge after 3 days above 10%; read each scan, the earlier dates kept)",
            "work or school: the OneDrive site's recycle bin, exact times, purge = +93 days",
            "personal: a restore onto a taken name goes to 'name (restored).ext'; a folder in "
            "the recycle bin is restored first; only a folder gone for good sends the photo to "
            "the root folder (the plan says so)",
            "work or school: restores only to the original place; a taken name or a missing "
            "folder is reported (not restored, nothing replaced or renamed)",
        ),
        thumbnails=True,
        thumbnails_note="personal: no API shows a deleted item, so pictures of live photos and "
        "videos are captured after each scan (thumbnails/0/medium/content, two requests each, "
        "up to [thumbnails] per_run, newest first) and shown once they are deleted; one deleted "
        "before its capture shows a placeholder. Work or school: none (the recycle bin names no "
        "drive item): a placeholder",
    )
    retention = Retention(
        default_days=30,
        description=(
            "personal: 30 days, 3 at the least when the recycle bin exceeds 10% of the storage; "
            "work or school: 93 days from the deletion, across both recycle-bin stages"
        ),
    )
    options = OPTIONS

    def session(self, account: Account) -> GraphSession:
        return GraphSession(self.context, account, Settings.from_account(account))

    def echo(self, text: str) -> None:
        """Sign-in instructions go to stderr (stdout is for data); tests replace this.

        They quote the sign-in server's message: control characters are shown escaped."""
        sys.stderr.write(printable_lines(text.rstrip("\n")) + "\n")
        sys.stderr.flush()

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        session = self.session(account)
        try:
            kind, known = self._kind(session, state)
            now = self.context.clock()
            if kind == "business":
                previous = state if (state or {}).get("drive_type") == "business" else None
                return (yield from BusinessScan(session, account, now).run(previous, known))
            mirror = open_mirror(self.context.account_dir(account))
            try:
                previous = state if (state or {}).get("drive_type") == "personal" else None
                return (yield from PersonalScan(session, mirror, account, now).run(previous))
            finally:
                mirror.close()
        finally:
            session.close()

    @staticmethod
    def _kind(session: GraphSession, state: dict | None) -> tuple[str, DriveInfo | None]:
        """The configured kind, else the one in the scan state, else one ``/me/drive`` call."""
        configured = session.settings.drive_type
        if configured:
            return configured, None
        remembered = (state or {}).get("drive_type")
        if remembered in {"personal", "business"}:
            return remembered, None
        info = read_drive(session)
        return info.drive_type, info

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        return thumbnails.trashed(items)

    def live_thumbnails(
        self, account: Account, wanted: Callable[[str, str], bool], limit: int
    ) -> Iterator[Thumbnail]:
        return thumbnails.live(
            lambda: self.context.account_dir(account),
            lambda: self.session(account),
            wanted,
            limit,
        )

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        business = [i for i in items if "site_id" in (i.restore_handle or {})]
        personal = [i for i in items if "site_id" not in (i.restore_handle or {})]
        session = self.session(account)
        try:
            if business:
                yield from BusinessRestorer(session).restore(business)
            if personal:
                yield from PersonalRestorer(session).restore(personal)
        finally:
            session.close()

    def plan_notes(self, account: Account, items: Sequence[IndexedItem]) -> Mapping[str, str]:
        """Personal: a folder in the recycle bin restored first, or the root folder instead of
        one gone for good. Business restores only to the original place: nothing to add."""
        personal = [i for i in items if "site_id" not in (i.restore_handle or {})]
        if not personal:
            return {}
        session = self.session(account)
        try:
            return PersonalRestorer(session).plan(personal)
        finally:
            session.close()

    def login(self, account: Account, interactive: bool) -> dict[str, object]:
        # The device code flow needs no browser here: it works the same without a terminal.
        return auth.login(self.context, account, self.echo)

    def check_auth(self, account: Account) -> AuthStatus:
        return auth.check_auth(self.context, account)
