"""Google Photos: registered so that trashscan can say plainly what the public API does not allow.

The Photos Library API never had trash, delete or restore methods, and since 2025-03-31 it only
sees items the calling app uploaded itself; the Picker API returns only what the user picks. No
public API reaches the Photos trash, so this plugin lists nothing and restores nothing: the core
prints :attr:`Capabilities.unsupported_reason` once per configured account, without failing the run.
It needs no sign-in either, since there is nothing it could call.
"""

from __future__ import annotations

from collections.abc import Generator

from trashscan.models import Account, AuthStatus, Page, ScanOutcome
from trashscan.provider import Capabilities, Provider, Retention

UNSUPPORTED = (
    "the Google Photos API cannot list or restore the trash; "
    "check https://photos.google.com/trash (items kept 60 days)"
)


class GooglePhotosProvider(Provider):
    name = "google-photos"
    display_name = "Google Photos"
    capabilities = Capabilities(list=False, restore=False, unsupported_reason=UNSUPPORTED)
    options = ()  # nothing to configure: there is nothing it could call
    retention = Retention(
        default_days=60, description="backed-up items stay 60 days in the Photos trash"
    )

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        yield from ()
        return ScanOutcome(state=None, complete_listing=False)

    def check_auth(self, account: Account) -> AuthStatus:
        return AuthStatus(ok=True, detail="nothing to sign in to: " + UNSUPPORTED)
