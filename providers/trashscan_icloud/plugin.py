"""iCloud as a trashscan provider: Photos' and iCloud Drive's "Recently Deleted", via pyicloud.

Layout: :mod:`.service` adjusts pyicloud's ``PyiCloudService`` (hosts, TLS, bounded PCS, no
unattended 2FA delivery); :mod:`.client` signs in, retries and maps errors; :mod:`.photos` and
:mod:`.drive` list and restore; :mod:`.auth` is ``accounts add`` and ``accounts test``;
:mod:`.options` the account options. A service is built per call: the core runs each account on
its own thread, and pyicloud's session files are the only state kept between runs.

Nothing here deletes, trashes or purges: none of pyicloud's deleting calls is named, and the
only Photos write clears the delete flag (a test reads these files to keep it so).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

import click

from trashscan.models import (
    Account,
    AuthStatus,
    IndexedItem,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    Thumbnail,
)
from trashscan.provider import Capabilities, Provider, Retention
from trashscan.safe_text import printable_lines
from trashscan_icloud import auth, thumbnails
from trashscan_icloud.client import open_session
from trashscan_icloud.drive import DriveRestorer, drive_pages
from trashscan_icloud.options import OPTIONS, PASSWORD_KEY, RETENTION_DAYS
from trashscan_icloud.photos import PhotoRestorer, photo_pages


class ICloudProvider(Provider):
    name = "icloud"
    display_name = "iCloud"
    secret_keys = (PASSWORD_KEY,)
    capabilities = Capabilities(
        list=True,
        restore=True,
        exact_deletion_times=True,
        incremental=False,
        restore_experimental=True,
        notes=(
            "photo restore is modelled on the captured web delete; experimental until confirmed "
            "on a live account",
            "no change feed: every scan lists both Recently Deleted albums in full",
            "iCloud Drive: files inside a deleted folder are not listed (only the folder is)",
            "needs the Apple ID password (app-specific passwords do not work) and a new 2FA "
            "sign-in when Apple's trust lapses (about every two months)",
        ),
        thumbnails=True,
        thumbnails_note="Photos: the asset's own thumbnail (pyicloud's thumb version, a "
        "short-lived CloudKit link the scan gets with the listing and never stores), one request "
        "each; iCloud Drive: none (placeholder)",
    )
    retention = Retention(
        default_days=RETENTION_DAYS,
        description=(
            "30 days in Recently Deleted (Photos and iCloud Drive); iCloud states each item's "
            "purge date"
        ),
    )
    options = OPTIONS

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        session = open_session(self.context, account)
        unlisted = None
        try:
            yield from photo_pages(session)
            if session.settings.include_drive:
                unlisted = yield from drive_pages(session)
        finally:
            session.close()
        return ScanOutcome(
            state=None, complete_listing=True, unlisted=(unlisted,) if unlisted else ()
        )

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        return thumbnails.thumbnails(self.context, account, items, sources)

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        if not items:
            return
        session = open_session(self.context, account)  # a sign-in failure fails every item
        try:
            photos = PhotoRestorer(session)
            drive = DriveRestorer(session)
            for item in items:  # one at a time: each restore is read back before the next
                kind = (item.restore_handle or {}).get("kind")
                if kind == "photo":
                    yield photos.restore(item)
                elif kind == "drive":
                    yield drive.restore(item)
                else:
                    yield RestoreResult(
                        item.item_id, RestoreOutcome.SKIPPED, detail="unknown item; scan again"
                    )
        finally:
            session.close()

    # -- prompts (tests replace them)

    def read_password(self, prompt: str) -> str:
        return str(click.prompt(prompt, hide_input=True, err=True, prompt_suffix=""))

    def read_code(self, prompt: str) -> str:
        return str(click.prompt(prompt, err=True, prompt_suffix=""))

    def notice(self, text: str) -> None:
        click.echo(printable_lines(text), err=True)  # may quote Apple's messages: escaped

    def login(self, account: Account, interactive: bool) -> dict[str, object]:
        return auth.login(
            self.context, account, interactive, self.read_password, self.read_code, self.notice
        )

    def check_auth(self, account: Account) -> AuthStatus:
        return auth.check_auth(self.context, account)
