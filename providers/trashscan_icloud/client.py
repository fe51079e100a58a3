"""One account's signed-in pyicloud service, its retries, and its errors as one-line messages.

pyicloud makes its own requests and has no retries. Every pyicloud call trashscan makes goes
through :meth:`ICloudSession.call`, which runs it under the core
:class:`~trashscan.retry.RetryPolicy` and turns what pyicloud raises into the account's one line.

Reading pyicloud's exceptions (``pyicloud/session.py``):

* A 429 or 5xx with a JSON body raises ``PyiCloudAPIResponseException(code=429, response=...)``;
  without a JSON body the code is the same and the response hangs off ``__cause__``
  (a ``requests.HTTPError``). ``Retry-After`` is read from whichever carries it.
* Sign-in wraps the cause: ``PyiCloudFailedLoginException(...) from error``. A throttled sign-in
  must not be reported as a wrong password, so the whole exception chain is searched.
* Transport failures (TLS included) become ``PyiCloudConnectionException`` from the
  ``requests`` error; :mod:`trashscan.net_errors` names them (the policy first, with bounded
  retries; TLS and DNS failures are never retried).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import requests
from pyicloud.exceptions import (
    PyiCloud2FARequiredException,
    PyiCloud2SARequiredException,
    PyiCloudAcceptTermsException,
    PyiCloudAccountLockedException,
    PyiCloudAPIResponseException,
    PyiCloudAuthRequiredException,
    PyiCloudConnectionException,
    PyiCloudEndpointGoneException,
    PyiCloudException,
    PyiCloudFailedLoginException,
    PyiCloudSecurityKeyException,
    PyiCloudServiceNotActivatedException,
    PyiCloudServiceUnavailable,
)

from trashscan.errors import AccountError, AuthError, ProviderUnavailableError, TrashscanError
from trashscan.models import Account
from trashscan.net_errors import checked_ca_bundle, diagnose
from trashscan.retry import Classification, parse_retry_after
from trashscan_icloud.options import (
    PASSWORD_KEY,
    Settings,
    needs_2fa_message,
    relogin_hint,
    setup_hint,
)
from trashscan_icloud.service import (
    MissingPassword,
    PcsNotGranted,
    TrashscanICloudService,
    WebAccessOff,
    sandbox_roots,
)

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

log = logging.getLogger(__name__)

T = TypeVar("T")

NEEDS_2FA_MARKER = "needs-2fa"  # in the account dir: Apple asked for 2FA; don't sign in unattended
WEB_ACCESS_OFF = (
    "iCloud web access is off (Advanced Data Protection): trashscan cannot read this account; "
    "turn on 'Access iCloud Data on the Web' to use it"
)
THROTTLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# CloudKit's own names for "throttled" and "try again" (per-record serverErrorCode).
_CLOUDKIT_STATUS = {"THROTTLED": 429, "TRY_AGAIN_LATER": 503}


class Throttled(Exception):
    """A raw CloudKit request answered 429/5xx (raised by trashscan's own requests)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class WrongPassword(AuthError):
    """Apple refused the password (or the account is not an Apple ID)."""


class Needs2FA(AuthError):
    """Apple wants a new two-factor sign-in, which only `accounts add` can do."""


class WebAccessBlocked(AccountError):
    """iCloud data is not reachable from the web for this account (web access off, or Advanced
    Data Protection withholding it): the whole account is unreadable, whichever part said so."""


class MaybeApplied(Exception):
    """A write failed in a way that leaves open whether iCloud applied it."""


# ------------------------------------------------------------------------------ exceptions


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and exceptions passed as arguments (pyicloud does)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend((current.__cause__, current.__context__))
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, Throttled):
        return exc.status
    if isinstance(exc, PyiCloudAPIResponseException):
        code = exc.code
        if isinstance(code, int):
            return code
        if isinstance(code, str):
            if code.isdigit():
                return int(code)
            return _CLOUDKIT_STATUS.get(code)
        return None
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code
    return None


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, Throttled):
        return exc.retry_after
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return parse_retry_after(headers.get("Retry-After"))
    except Exception:  # a mock or an odd header object: no usable value
        return None


def throttle_of(exc: BaseException) -> tuple[int, float | None] | None:
    """The first throttling or server-error status in the chain, with its Retry-After."""
    chain = list(exception_chain(exc))
    for item in chain:
        status = _status(item)
        if status in THROTTLE_STATUSES:
            retry_after = _retry_after(item)
            if retry_after is None:  # the header may sit on the wrapped requests error
                retry_after = next((r for r in map(_retry_after, chain) if r is not None), None)
            return status, retry_after
    return None


def _tls_failure(exc: BaseException) -> bool:
    return any(isinstance(e, requests.exceptions.SSLError) for e in exception_chain(exc))


def _connection_failure(exc: BaseException) -> bool:
    return any(
        isinstance(e, PyiCloudConnectionException | requests.ConnectionError | requests.Timeout)
        for e in exception_chain(exc)
    )


def classify_read(exc: BaseException) -> Classification:
    """Retry reads (and sign-in) on throttling, 5xx and lost connections; never on TLS."""
    if _tls_failure(exc):
        return False
    throttled = throttle_of(exc)
    if throttled is not None:
        return throttled[1]
    if _connection_failure(exc):
        return None
    return False


def classify_write(exc: BaseException) -> Classification:
    """Retry a write only when iCloud provably did not act: 429, or 503 with Retry-After."""
    if _tls_failure(exc):
        return False
    throttled = throttle_of(exc)
    if throttled is None:
        return False
    status, retry_after = throttled
    if status == 429 or (status == 503 and retry_after is not None):
        return retry_after
    return False


def _web_access_blocked(exc: BaseException) -> bool:
    """The errors iCloud gives when web access is off or ADP withholds PCS cookies.

    Photos: ``private db access disabled for this account`` (ACCESS_DENIED); Drive:
    ``Missing PCS cookies from the request`` (HTTP 423).
    """
    for item in exception_chain(exc):
        if isinstance(item, WebAccessOff):
            return True
        if isinstance(item, PyiCloudAPIResponseException):
            texts = [item.reason or "", _response_text(item)]
            if any(marker in text.lower() for text in texts for marker in _WEB_ACCESS_MARKERS):
                return True
            if item.code in (423, "423"):
                return True
    return False


_WEB_ACCESS_MARKERS = ("private db access disabled", "missing pcs cookies")


def _response_text(exc: BaseException) -> str:
    """The body of the response an exception carries (pyicloud puts the HTTP reason, not
    Apple's, in ``reason`` for error statuses)."""
    response = getattr(exc, "response", None)
    try:
        text = response.text if response is not None else ""
    except Exception:
        return ""
    return text if isinstance(text, str) else ""


def account_error(exc: BaseException, account: Account, what: str) -> TrashscanError | None:
    """The one-line error for a pyicloud failure, or None to let ``exc`` through.

    pyicloud's messages can quote Apple's response bodies (with the account's dsid), so only
    status codes and trashscan's own words are used.
    """
    name = account.name
    chain = list(exception_chain(exc))
    if _web_access_blocked(exc):
        return WebAccessBlocked(WEB_ACCESS_OFF)
    for item in chain:
        if isinstance(item, PcsNotGranted):
            return WebAccessBlocked(
                "iCloud Advanced Data Protection is on and web access was not granted "
                f"({item.reason}): each web sign-in must be approved on a trusted device, so "
                "trashscan cannot read this account unattended",
                hint=f"{relogin_hint(account)} and approve the request on your device, then scan "
                "within the hour; or turn off Advanced Data Protection",
            )
        if isinstance(item, MissingPassword):
            return AuthError(
                f"no stored password for iCloud account {name!r}", hint=setup_hint(account)
            )
    network = diagnose(exc)
    if network is not None and not network.retryable:  # TLS, DNS: named, with the host
        return network.error()
    for item in chain:
        if isinstance(item, PyiCloudAccountLockedException):
            return AuthError(
                f"Apple says the Apple ID of iCloud account {name!r} is locked",
                hint=f"unlock it at https://iforgot.apple.com, then {relogin_hint(account)}",
            )
        if isinstance(item, PyiCloudAcceptTermsException):
            return AuthError(
                f"Apple asks iCloud account {name!r} to accept new terms of service",
                hint=f"sign in once at https://www.icloud.com, then {relogin_hint(account)}",
            )
        if isinstance(item, PyiCloud2FARequiredException | PyiCloud2SARequiredException):
            return Needs2FA(needs_2fa_message(account), hint=relogin_hint(account))
        if isinstance(item, PyiCloudSecurityKeyException):
            return AuthError(
                f"the security key sign-in of iCloud account {name!r} failed",
                hint=relogin_hint(account),
            )
    throttled = throttle_of(exc)
    if throttled is not None:
        return ProviderUnavailableError(
            f"iCloud answered HTTP {throttled[0]} to {what}",
            hint="iCloud is throttling or unavailable; try again later",
        )
    if network is not None:
        return network.error()
    if _connection_failure(exc):
        return ProviderUnavailableError(
            f"could not reach iCloud ({what})", hint="check the network; try again later"
        )
    for item in chain:
        if isinstance(item, PyiCloudFailedLoginException):
            return WrongPassword(
                f"Apple refused the password of iCloud account {name!r} (it needs the Apple ID "
                "password itself; app-specific passwords do not work)",
                hint=relogin_hint(account),
            )
        if isinstance(item, PyiCloudAuthRequiredException):
            return AuthError(
                f"iCloud asked account {name!r} to sign in again", hint=relogin_hint(account)
            )
        if isinstance(item, PyiCloudEndpointGoneException):
            return AccountError(
                f"Apple no longer serves an endpoint trashscan uses ({what})",
                hint="update trashscan (its pyicloud needs an update)",
            )
        if isinstance(item, PyiCloudServiceNotActivatedException | PyiCloudServiceUnavailable):
            why = "not set up, or still indexing" if "Photos" in what else "not set up"
            return AccountError(
                f"iCloud {what} is not available for account {name!r} ({why})",
                hint="open https://www.icloud.com once to finish setting it up, or try later",
            )
    for item in chain:
        if isinstance(item, PyiCloudAPIResponseException):
            status = _status(item)
            if status in (401, 421) or item.code == "AUTHENTICATION_FAILED":
                return AuthError(
                    f"iCloud ended the session of account {name!r} ({what}); the next run "
                    "signs in again",
                    hint=f"if it persists, {relogin_hint(account)}",
                )
            shown = f"HTTP {status}" if status else str(item.code or "no code")
            return AccountError(f"iCloud refused {what} ({shown})")
        if isinstance(item, PyiCloudException):
            return AccountError(f"iCloud {what} failed ({type(item).__name__})")
    return None


# ------------------------------------------------------------------------------ the session


def marker_path(context: ProviderContext, account: Account) -> Path:
    return context.account_dir(account) / NEEDS_2FA_MARKER


def build_service(
    context: ProviderContext,
    account: Account,
    settings: Settings,
    *,
    password: str | None = None,
    interactive: bool = False,
    pcs_wait: float | None = None,
) -> TrashscanICloudService:
    """The account's pyicloud service, not yet signed in; its cookies live in the account dir.

    Without ``password`` the keyring is read only if a password sign-in turns out to be needed
    (a valid cached session needs none), so a scan of a signed-in account works even while the
    keyring is locked.
    """
    roots = sandbox_roots(account.endpoint, account.name) if account.endpoint else None

    def stored_password() -> str | None:
        return context.secrets.get(account.secret_service, PASSWORD_KEY)

    first_host = urlsplit(roots["_idmsa_endpoint"]).netloc if roots else "idmsa.apple.com"
    return TrashscanICloudService(
        settings.apple_id,
        password,
        password_source=None if password is not None else stored_password,
        cookie_directory=context.account_dir(account),
        china_mainland=settings.china_mainland,
        ca_bundle=checked_ca_bundle(account, first_host),
        timeout=account.timeout,
        roots=roots,
        deliver_codes=interactive,
        pcs_wait=settings.pcs_wait_seconds if pcs_wait is None else pcs_wait,
        sleep=context.retry.sleep,
        allow_consent_request=interactive,
    )


class ICloudSession:
    """A service plus the account it belongs to: retries and error lines for every call."""

    def __init__(
        self,
        context: ProviderContext,
        account: Account,
        settings: Settings,
        service: TrashscanICloudService,
    ) -> None:
        self.context = context
        self.account = account
        self.settings = settings
        self.service = service

    def call(self, fn: Callable[[], T], what: str, *, write: bool = False) -> T:
        """``fn()`` under the retry policy; pyicloud's exceptions become one-line errors.

        A write that fails with a lost connection or a 5xx raises :class:`MaybeApplied`: the
        caller reads back instead of repeating it.
        """
        classify = classify_write if write else classify_read
        try:
            return self.context.retry.call(fn, classify, what=f"iCloud {what} unavailable")
        except TrashscanError:
            raise
        except Exception as exc:
            if write and not _tls_failure(exc):
                throttled = throttle_of(exc)
                if (throttled is not None and throttled[0] >= 500) or (
                    throttled is None and _connection_failure(exc)
                ):
                    raise MaybeApplied(type(exc).__name__) from exc
            mapped = account_error(exc, self.account, what)
            if mapped is None:
                raise
            raise mapped from None

    def sign_in(self, *, skip_cached: bool = False) -> None:
        """Cached session (one ``setup/validate``), else the trust token plus the password.

        ``skip_cached``: the cached session was just found invalid; don't validate it again.

        Never prompts and never asks Apple to deliver a 2FA code. When Apple wants 2FA, the
        account is marked so that unattended runs stop signing in (each attempt can make Apple
        show a prompt on the user's devices) until ``accounts add`` signs in again.
        """
        marker = marker_path(self.context, self.account)
        if marker.exists():
            raise Needs2FA(needs_2fa_message(self.account), hint=relogin_hint(self.account))
        service = self.service
        self.call(lambda: service.authenticate(force_refresh=skip_cached), "sign-in")
        if self.service.requires_2fa or self.service.requires_2sa:
            marker.write_text("Apple asked for a new two-factor sign-in\n", encoding="utf-8")
            raise Needs2FA(needs_2fa_message(self.account), hint=relogin_hint(self.account))
        self.service.tighten_files()

    def close(self) -> None:
        self.service.tighten_files()
        self.service.session.close()


def open_session(context: ProviderContext, account: Account) -> ICloudSession:
    """A signed-in session for a scan or a restore, without prompting."""
    settings = Settings.from_account(account)
    session = ICloudSession(context, account, settings, build_service(context, account, settings))
    try:
        session.sign_in()
    except BaseException:
        session.close()
        raise
    return session
