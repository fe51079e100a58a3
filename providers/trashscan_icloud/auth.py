"""Signing in to iCloud (password, 2FA code or security key), and checking it without prompting.

iCloud has no API for third-party apps: pyicloud signs in the way icloud.com does, with the
Apple ID password over SRP (app-specific passwords are refused), then a second factor. Trusting
the session gives a trust token that lets later sign-ins use the password alone; Apple lets it
lapse after a while (about two months, per icloudpd's documentation), and then a new 2FA sign-in
through ``trashscan accounts add icloud NAME`` is needed. The password lives in trashscan's own
keyring entry (never pyicloud's), the session and trust files in the account's private directory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from trashscan.errors import AuthError, TrashscanError
from trashscan.models import Account, AuthStatus
from trashscan_icloud.client import (
    WEB_ACCESS_OFF,
    ICloudSession,
    Needs2FA,
    WrongPassword,
    build_service,
    marker_path,
)
from trashscan_icloud.options import PASSWORD_KEY, Settings, relogin_hint

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

Reader = Callable[[str], str]
Notice = Callable[[str], None]

LOGIN_PCS_WAIT = 60.0  # seconds to approve web access on a device during `accounts add` (ADP)
CODE_ATTEMPTS = 3
NEEDS_2FA_DETAIL = "needs a new 2FA sign-in"
_DELIVERY = {
    "trusted_device": "Apple sent a sign-in code to your trusted Apple devices.",
    "sms": "Apple sent a sign-in code by text message to your trusted phone number.",
}
_NO_DELIVERY = (
    "Apple asks for a two-factor code: enter the 6-digit code shown on one of your Apple devices "
    "(if none appears, open Settings > your name > Sign-In & Security > Get Verification Code)."
)


def _ask(reader: Reader, prompt: str, what: str, account: Account) -> str:
    try:
        value = reader(prompt)
    except (click.Abort, EOFError):
        value = ""
    value = (value or "").strip("\r\n")
    if not value.strip():
        raise AuthError(f"no {what} was entered", hint=relogin_hint(account))
    return value


def login(
    context: ProviderContext,
    account: Account,
    interactive: bool,
    read_password: Reader,
    read_code: Reader,
    notice: Notice,
) -> dict[str, object]:
    """Sign in (prompting for what is needed), trust the session, keep the password."""
    settings = Settings.from_account(account, for_login=True)
    stored = context.secrets.get(account.secret_service, PASSWORD_KEY)
    prompt = f"Apple ID password for {settings.apple_id} (not an app-specific password): "
    password = stored or _ask(read_password, prompt, "password", account)

    def signed_in(password: str) -> ICloudSession:
        service = build_service(
            context,
            account,
            settings,
            password=password,
            interactive=True,
            pcs_wait=max(settings.pcs_wait_seconds, LOGIN_PCS_WAIT),
        )
        session = ICloudSession(context, account, settings, service)
        session.call(service.authenticate, "sign-in")
        return session

    try:
        session = signed_in(password)
    except WrongPassword:
        if not stored:
            raise
        notice("Apple refused the stored password.")
        password = _ask(read_password, prompt, "password", account)
        session = signed_in(password)
    try:
        service = session.service
        if service.requires_2fa:
            _second_factor(session, read_code, notice)
        elif service.requires_2sa:
            raise AuthError(
                f"iCloud account {account.name!r} uses Apple's old two-step verification, which "
                "trashscan does not support",
                hint="turn on two-factor authentication for the Apple ID, then "
                + relogin_hint(account),
            )
        service.tighten_files()
        if password != stored:
            context.secrets.set(account.secret_service, PASSWORD_KEY, password)
        marker_path(context, account).unlink(missing_ok=True)
        _check_web_access(session, interactive, notice)
    finally:
        session.close()
    return {"apple_id": settings.apple_id, "china_mainland": settings.china_mainland}


def _second_factor(session: ICloudSession, read_code: Reader, notice: Notice) -> None:
    service = session.service
    account = session.account
    if service.two_factor_delivery_method == "security_key":
        names = ", ".join(service.security_key_names or []) or "a security key"
        try:
            devices = list(service.fido2_devices)
        except Exception:  # no HID access on this machine
            devices = []
        if not devices:
            raise AuthError(
                f"Apple asks for a security key ({names}) to sign in iCloud account "
                f"{account.name!r}, and none is connected",
                hint=f"connect it by USB, then {relogin_hint(account)}",
            )
        notice(f"Touch your security key ({names}) to sign in.")
        session.call(lambda: service.confirm_security_key(devices[0]), "security key sign-in")
    else:
        notice(_DELIVERY.get(service.two_factor_delivery_method, _NO_DELIVERY))
        for attempt in range(1, CODE_ATTEMPTS + 1):
            code = _ask(read_code, "Two-factor code: ", "code", account).strip()
            # validate_2fa_code also trusts the session (2sv/trust, then accountLogin).

            def check(code: str = code) -> bool:
                return service.validate_2fa_code(code)

            if session.call(check, "2FA code check", write=True):
                break
            if attempt < CODE_ATTEMPTS:
                notice("Apple did not accept that code; try again.")
        else:
            raise AuthError("Apple did not accept the two-factor code", hint=relogin_hint(account))
    if not service.is_trusted_session:
        session.call(service.trust_session, "session trust", write=True)
    if not service.is_trusted_session:
        raise AuthError(
            f"Apple did not trust the sign-in of iCloud account {account.name!r}, so every "
            "scan would need a new code",
            hint=relogin_hint(account),
        )


def _check_web_access(session: ICloudSession, interactive: bool, notice: Notice) -> None:
    """Tell the user now if trashscan will not be able to read the account."""
    service = session.service
    try:
        state = session.call(service.web_access, "web access check")
    except TrashscanError as exc:
        notice(f"warning: {exc.one_line()}")
        return
    if state.get("isWebAccessAllowed") is False:
        notice(f"warning: {WEB_ACCESS_OFF}")
        return
    if not state.get("isICDRSDisabled", False):
        return
    notice(
        "Advanced Data Protection is on: each web sign-in must be approved on a trusted device "
        "and lasts about an hour, so scheduled scans of this account will fail."
    )
    if not interactive:
        return
    if not state.get("isDeviceConsentedForPCS", True):
        notice("Approve the web access request on one of your Apple devices now.")
    try:
        session.call(lambda: service._request_pcs_for_service("photos"), "web access request")
    except TrashscanError as exc:
        notice(f"warning: {exc.one_line()}")
        return
    notice("Web access was approved: scans work for about an hour.")


def check_auth(context: ProviderContext, account: Account) -> AuthStatus:
    """The session (``get_auth_status()``, else a password-only sign-in), then what a scan
    opens first: the Photos service, behind the web-access state.

    A valid session proves little: with web access off, or Advanced Data Protection on and no
    device approval, every scan fails. Never prompts and never delivers a code or a device
    request, so cron can use it.
    """
    try:
        settings = Settings.from_account(account)
        if marker_path(context, account).exists():
            return AuthStatus(False, NEEDS_2FA_DETAIL, hint=relogin_hint(account))
        session = ICloudSession(
            context, account, settings, build_service(context, account, settings)
        )
        try:
            status = session.call(session.service.get_auth_status, "session check")
            detail = f"signed in as {settings.apple_id}"
            if not (
                status.get("authenticated")
                and status.get("trusted_session")
                and not status.get("requires_2fa")
            ):
                session.sign_in(skip_cached=True)  # the trust token and the stored password
                detail = f"signed in again as {settings.apple_id} (password only)"
            service = session.service
            session.call(lambda: service.photos, "Photos")
            return AuthStatus(True, detail)
        finally:
            session.close()
    except Needs2FA:
        return AuthStatus(False, NEEDS_2FA_DETAIL, hint=relogin_hint(account))
    except TrashscanError as exc:
        return AuthStatus(False, str(exc), hint=exc.hint)
