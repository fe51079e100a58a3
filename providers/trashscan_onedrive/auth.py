"""Signing in with the device code flow, detecting the drive's kind, and checking it later.

The device code flow shows a short code to type at microsoft.com/devicelogin on any device, so
``accounts add`` works over SSH and on headless machines (it needs "Allow public client flows"
on the app registration). The msal token cache then goes to the encrypted blob store; the drive
kind (``personal`` or ``business``), read once with ``/me/drive``, goes to the config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msal

from trashscan.errors import AccountError, AuthError
from trashscan.models import Account, AuthStatus
from trashscan_onedrive.client import GraphSession
from trashscan_onedrive.drive import read_drive
from trashscan_onedrive.mirror import MIRROR_FILE, read_enrolled_at
from trashscan_onedrive.options import REGISTER_HINT, Settings, login_hint
from trashscan_onedrive.tokens import build_app, describe_failure, guarded, save_cache

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

_FLOW_HINT = (
    "enable 'Allow public client flows' (Authentication) on your app registration and check "
    "its client id and supported account types; " + REGISTER_HINT
)


def personal_notice(account: Account) -> str:
    return (
        "OneDrive personal cannot list its recycle bin: trashscan enrols the account now; items "
        "deleted before today cannot be found. The enrolment reads your drive's photo and video "
        f"names once, at the first `trashscan scan --account {account.name}`; from then on "
        "every deletion is seen (purge dates are estimates: 30 days, or 3 while the recycle "
        "bin is near or over 10% of your storage)."
    )


BUSINESS_NOTICE = (
    "OneDrive for Business: trashscan lists the recycle bin of your OneDrive site directly, with "
    "exact deletion times (kept 93 days)."
)


def login(
    context: ProviderContext, account: Account, echo: Callable[[str], None]
) -> dict[str, object]:
    """Device code sign-in; the msal cache goes to the blob store, the drive kind to the config."""
    settings = Settings.from_account(account, for_login=True)
    session = GraphSession(context, account, settings)
    try:
        cache = msal.SerializableTokenCache()
        app = build_app(settings, cache, session.http, context.retry)
        flow = guarded(
            "the sign-in server",
            lambda: app.initiate_device_flow(scopes=list(settings.scopes)),
            context.retry,
        )
        if "user_code" not in flow:
            raise AuthError(
                f"Microsoft refused to start the device sign-in ({describe_failure(flow)})",
                hint=_FLOW_HINT,
            )
        echo(str(flow.get("message") or f"Enter the code {flow['user_code']}"))
        result = guarded(
            "the sign-in server", lambda: app.acquire_token_by_device_flow(flow), context.retry
        )
        if not isinstance(result, dict) or "access_token" not in result:
            raise AuthError(
                f"the Microsoft sign-in did not complete ({describe_failure(result)})",
                hint=login_hint(account),
            )
        save_cache(context, account, cache)
        session.tokens.adopt(app, cache, str(result["access_token"]))
        info = read_drive(session)
    finally:
        session.close()
    if info.drive_type == "business":
        echo(BUSINESS_NOTICE)
    elif since := enrolled_at(context, account):
        echo(f"OneDrive personal: enrolled since {since}; deletions since then are tracked.")
    else:
        echo(personal_notice(account))
    return {
        "client_id": settings.client_id,
        "authority": settings.authority,
        "drive_type": info.drive_type,
    }


def enrolled_at(context: ProviderContext, account: Account) -> str | None:
    """When a personal account's first (enrolment) scan finished, if it has."""
    return read_enrolled_at(context.account_dir(account) / MIRROR_FILE)


def check_auth(context: ProviderContext, account: Account) -> AuthStatus:
    """One Graph call a scan makes (``/me/drive``), never prompting, so cron can use it.

    A token from msal's cache proves nothing: Graph may have rejected it (a revoked grant, a
    password change) while it has not expired. The call refreshes it once on a 401, like a scan.
    """
    try:
        settings = Settings.from_account(account)
        session = GraphSession(context, account, settings)
        try:
            info = read_drive(session)
        finally:
            session.close()
    except AccountError as exc:
        return AuthStatus(False, str(exc), hint=exc.hint)
    who = session.tokens.username or "a Microsoft account"
    kind = settings.drive_type or info.drive_type
    if settings.drive_type != "business" and not enrolled_at(context, account):
        return AuthStatus(
            True,
            f"signed in as {who} (OneDrive {kind}); not enrolled yet",
            hint=f"not enrolled yet: run `trashscan scan --account {account.name}`",
        )
    return AuthStatus(True, f"signed in as {who} (OneDrive {kind})")
