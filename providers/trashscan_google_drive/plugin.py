"""Google Drive as a trashscan provider: trashed photos and videos of My Drive and shared drives.

The plugin is thin: :mod:`.client` holds the authorised clients, retries and error mapping,
:mod:`.scan` the listing and changes feeds, :mod:`.restore` the batched untrash, :mod:`.auth`
the sign-in. Clients are built per call because the core runs each account on its own thread and
httplib2 is not thread-safe; tests replace :meth:`GoogleDriveProvider.make_http` with a mock.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
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
from trashscan_google_drive import auth, restore, scan
from trashscan_google_drive.client import SECRET_KEY, DriveSession, make_http
from trashscan_google_drive.options import OPTIONS
from trashscan_google_drive.thumbnails import DriveThumbnails


class GoogleDriveProvider(Provider):
    name = "google-drive"
    display_name = "Google Drive"
    secret_keys = (SECRET_KEY,)
    capabilities = Capabilities(
        list=True,
        restore=True,
        exact_deletion_times=False,  # exact for shared drives only
        incremental=True,
        notes=(
            "My Drive deletion times come from the Drive Activity API (activity=true, the default"
            " for new accounts), else the changes feed, else bounds: a photo already in the trash "
            "when first seen may be purged any day, by 30 days after at the latest",
            "items trashed with their folder are restored by restoring that folder (the plan says "
            "what else comes back with it)",
        ),
        thumbnails=True,
        thumbnails_note="the file's thumbnailLink, fetched here with the account's credentials "
        "(a photo without one is downloaded and resized, up to 25 MB; a video without one shows "
        "a placeholder with its length)",
    )
    retention = Retention(
        default_days=30, description="deleted for good 30 days after trashing (My Drive and shared)"
    )
    options = OPTIONS

    def make_http(self, account: Account) -> Any:
        """The httplib2 transport of one session; the seam tests replace."""
        return make_http(account)

    def session(self, account: Account) -> DriveSession:
        return DriveSession(self.context, account, self.make_http(account))

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        drive_scan = scan.DriveScan(
            self.session(account),
            now=self.context.clock(),
            activity=auth.activity_enabled(account.options),
        )
        return (yield from drive_scan.run(state))

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        return DriveThumbnails(self.session(account)).run(items, sources)

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        return restore.restore(self.session(account), items)

    def plan_notes(self, account: Account, items: Sequence[IndexedItem]) -> Mapping[str, str]:
        """The folders a restore untrashes and what else comes back with them (reads only)."""
        return restore.plan_notes(self.session(account), items)

    def login(self, account: Account, interactive: bool) -> dict[str, object]:
        return auth.login(self.context, account, interactive)

    def check_auth(self, account: Account) -> AuthStatus:
        return auth.check_auth(self.session, account)
