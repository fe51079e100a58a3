"""Dropbox as a trashscan provider: deleted photos and videos, exact deletion times, restore.

The plugin is thin: :mod:`.client` holds the SDK client (hosts, TLS, tokens, retries, errors),
:mod:`.scan` the listing and change feed, :mod:`.restore` the one-at-a-time restores,
:mod:`.auth` the sign-in and :mod:`.options` the account options and retention guess. A session
is built per call: the core runs each account on its own thread.
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
from trashscan_dropbox import auth, thumbnails
from trashscan_dropbox.client import ACCESS_KEY, REFRESH_KEY, DropboxSession
from trashscan_dropbox.options import OPTIONS, PLAN_DAYS, UNKNOWN_PLAN_DAYS, Settings
from trashscan_dropbox.restore import Restorer
from trashscan_dropbox.scan import DropboxScan


class DropboxProvider(Provider):
    name = "dropbox"
    display_name = "Dropbox"
    secret_keys = (REFRESH_KEY, ACCESS_KEY)
    capabilities = Capabilities(
        list=True,
        restore=True,
        exact_deletion_times=True,
        incremental=True,
        notes=(
            "purge dates assume the lowest plan of the account type (set retention_days)",
            "a restore onto a taken path goes to 'name (restored).ext'",
        ),
        thumbnails=True,
        thumbnails_note="photos: files/get_thumbnail_v2 of the deleted file's last revision "
        "(rev:...; HEIC and RAW downloaded and resized here, up to 25 MB); videos: a placeholder "
        "(Dropbox makes no video thumbnail); needs files.content.read (accounts added before it "
        "was asked for: sign in again)",
    )
    retention = Retention(
        default_days=UNKNOWN_PLAN_DAYS,
        per_plan=dict(PLAN_DAYS),
        description=(
            "30 days (Basic, Plus, Family), 180 (Professional, Standard, Essentials, teams), "
            "365 (Advanced, Enterprise, Education); the API hides the plan: basic and pro "
            "count as 30, business as 180, unless retention_days is set"
        ),
    )
    options = OPTIONS

    def session(self, account: Account) -> DropboxSession:
        return DropboxSession(self.context, account, Settings.from_account(account))

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        session = self.session(account)
        try:
            scan = DropboxScan(session, session.settings, account)
            return (yield from scan.run(state))
        finally:
            session.close()

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        session = self.session(account)
        try:
            yield from Restorer(session).restore(items)
        finally:
            session.close()

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        session = self.session(account)
        try:
            yield from thumbnails.thumbnails(session, items)
        finally:
            session.close()

    def read_code(self, prompt: str) -> str:
        """Where the pasted authorization code comes from; tests replace it."""
        return auth.read_code(prompt)

    def login(self, account: Account, interactive: bool) -> dict[str, object]:
        # The code is read from stdin even without a terminal, so it can be piped in.
        return auth.login(self.context, account, self.read_code)

    def check_auth(self, account: Account) -> AuthStatus:
        return auth.check_auth(self.context, account)
