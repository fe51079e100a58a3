"""pyicloud's ``PyiCloudService``, adjusted for trashscan in one small subclass.

What is changed, and why (pyicloud ``>=2026.10,<2027`` is pinned because this touches private
names that a minor release may move):

* **Hosts.** pyicloud hard-codes its roots in ``_setup_endpoints``. With ``account.endpoint``
  set (the sandbox), each root is replaced per :data:`SANDBOX_ROOTS`. Everything else (CloudKit,
  Drive) comes from the ``webservices`` map that sign-in returns, so nothing more is redirected.
* **TLS.** pyicloud's ``PyiCloudSession`` is a ``requests.Session`` whose requests pass no
  ``verify``; requests then lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace the session's
  own ``verify``, silently dropping an account's ``ca_bundle``. :class:`_PinnedSession` makes the
  session's ``verify`` win (and gives every request a timeout: pyicloud passes none for setup and
  Drive calls, so a stalled connection could hang a cron run forever).
* **Never pyicloud's keyring.** The service is always built with ``authenticate=False`` (which
  skips pyicloud's own ``pyicloud://icloud-password`` keyring lookup) and the password trashscan
  keeps is passed explicitly.
* **No 2FA code delivery unless asked.** A scheduled run that finds the trust expired must not
  text the user or pop up prompts every few hours: :meth:`request_2fa_code` delivers nothing
  unless the service was built for an interactive sign-in.
* **A failed connection is not an invalid session.** pyicloud takes any failure of
  ``setup/validate`` for an expired session and signs in with the password next; a connection
  failure there raises :class:`Unreachable` instead, so the retry policy sees (and names) it.
* **Bounded PCS wait.** With Advanced Data Protection on, pyicloud asks a trusted device for
  consent and then polls ``requestPCS`` up to 10 x 5 s each (about 100 s) before failing. Here
  the whole handshake is bounded by ``pcs_wait`` seconds, the device prompt is only sent when the
  caller allows it (interactive sign-in), and web access being off is detected up front.
* **The web-access state once.** pyicloud posts ``requestWebAccessState`` every time a service
  property (``photos``, ``drive``) is read. The state is the account's (web access allowed,
  Advanced Data Protection, a device's consent), not a service's: it is read once per
  service object (one scan, restore or check), and again only while waiting for a consent,
  which can change. ``requestPCS`` is still sent per app (its cookies are per app), once.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from http.cookiejar import CookieJar
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pyicloud import PyiCloudService
from pyicloud.cookie_jar import PyiCloudCookieJar
from pyicloud.exceptions import PyiCloudConnectionException
from pyicloud.session import NON_PERSISTED_SESSION_KEYS, PyiCloudSession

from trashscan.errors import AccountError
from trashscan.tls import PinnedVerifyMixin

# Each of pyicloud's hard-coded roots, as a path under ``account.endpoint`` (which ends with "/").
# The real roots are https://idmsa.apple.com, https://idmsa.apple.com/appleauth/auth,
# https://www.icloud.com[.cn] and https://setup.icloud.com[.cn]/setup/ws/1: every real URL keeps
# its path, its host becomes a prefix (idmsa.apple.com -> /idmsa, www.icloud.com -> /home). The
# setup host is the one exception: its paths already start with /setup, so they are served as they
# are (/setup/ws/1/...) rather than doubled (/setup/setup/ws/1/...). The three prefixes never
# overlap. ``_home_endpoint`` is only sent in Origin/Referer headers and the OAuth redirect URI;
# nothing is requested from it.
SANDBOX_ROOTS: Mapping[str, str] = MappingProxyType(
    {
        "_idmsa_endpoint": "idmsa",
        "_auth_endpoint": "idmsa/appleauth/auth",
        "_home_endpoint": "home",
        "_setup_endpoint": "setup/ws/1",
    }
)

REQUEST_TIMEOUT = (10.0, 100.0)  # connect, read: for the calls pyicloud sends without one
PCS_STEP = 5.0  # seconds between two looks at the PCS state (pyicloud's own interval)
# requestPCS answers that mean "not yet, ask again shortly" (pyicloud base.py).
PCS_PENDING = frozenset(
    {"Requested the device to upload cookies.", "Cookies not available yet on server."}
)


class WebAccessOff(Exception):
    """``requestWebAccessState`` says iCloud data is not reachable from the web for this account."""


class MissingPassword(Exception):
    """A password sign-in (SRP) is needed and no password is stored."""


class Unreachable(Exception):
    """``setup/validate`` could not be sent or answered: the network, not the session, failed.

    Deliberately not a ``PyiCloudAPIResponseException``: pyicloud reads those from
    ``_validate_token`` as "the session is invalid" and goes on to a password sign-in, which fails
    the same way and doubles every connection attempt. The cause is kept as ``__cause__``.
    """


class PcsNotGranted(Exception):
    """Advanced Data Protection is on and web access (PCS cookies) was not granted in time."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sandbox_roots(endpoint: str, account_name: str) -> dict[str, str]:
    """The four root URLs of pyicloud for an ``account.endpoint`` such as https://127.0.0.1:8443/."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise AccountError(
            f"endpoint {endpoint!r} of iCloud account {account_name!r} must be "
            "https://HOST[:PORT]/ (pyicloud accepts only HTTPS web services)"
        )
    base = endpoint if endpoint.endswith("/") else endpoint + "/"
    return {attribute: base + suffix for attribute, suffix in SANDBOX_ROOTS.items()}


class _SaveCheckedCookieJar(PyiCloudCookieJar):
    """pyicloud's cookie jar, telling whether its last :meth:`save` reached the file.

    ``PyiCloudSession._save_session_data`` logs a failed cookie save (``OSError``,
    ``ValueError``) and goes on; ``trashscan_saved`` stays False then, so the same cookies are
    written again after the next request. Only a method is added (the class can be swapped in).
    """

    trashscan_saved = False

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.trashscan_saved = False
        super().save(*args, **kwargs)
        self.trashscan_saved = True


def _cookie_state(jar: CookieJar) -> tuple[tuple[Any, ...], ...]:
    """Every attribute of every cookie that the LWP file keeps, comparable and cheap."""
    return tuple(
        (
            c.version, c.name, c.value, c.port, c.port_specified, c.domain, c.domain_specified,
            c.domain_initial_dot, c.path, c.path_specified, c.secure, c.expires, c.discard,
            c.comment, c.comment_url, tuple(sorted(c._rest.items())),
        )
        for c in list(jar)
    )  # fmt: skip


class _PinnedSession(PinnedVerifyMixin, PyiCloudSession):
    """pyicloud's session whose own ``verify`` beats REQUESTS_CA_BUNDLE, with default timeouts,
    and whose two files are rewritten only when what they hold changed.

    pyicloud calls ``_save_session_data`` after every request: it rewrites the ``.session`` file
    and the whole ``.cookiejar`` (about a third of a restore request's own CPU). Here the save is
    skipped when the persisted session data and every cookie equal what the last complete save
    wrote; any change is still written by pyicloud's own save right after the request that made
    it (a run killed then loses nothing, so no new 2FA). The first save of a session object
    always writes, and so does every save after a failed one.

    Only methods are added, so an existing ``PyiCloudSession`` can take this class; the
    attributes read (``trashscan_timeout``, the account's ``timeout``; ``_trashscan_written``)
    default to absent.
    """

    def _persisted_state(self) -> tuple[str, tuple[tuple[Any, ...], ...]] | None:
        """What the two files would hold now; None if the jar changed while being read."""
        data = {k: v for k, v in dict(self.data).items() if k not in NON_PERSISTED_SESSION_KEYS}
        try:
            return json.dumps(data), _cookie_state(self.cookies)
        except (RuntimeError, TypeError, ValueError):
            return None

    def _save_session_data(self) -> None:
        state = self._persisted_state()
        if state is not None and state == getattr(self, "_trashscan_written", None):
            return
        self._trashscan_written = None
        jar = self.cookies
        if type(jar) is PyiCloudCookieJar:
            jar.__class__ = _SaveCheckedCookieJar
        if isinstance(jar, _SaveCheckedCookieJar):
            jar.trashscan_saved = False
        super()._save_session_data()  # raises if the session file could not be written
        if isinstance(jar, _SaveCheckedCookieJar) and jar.trashscan_saved and jar is self.cookies:
            self._trashscan_written = state

    def clear_persistence(self, remove_files: bool = True) -> None:
        self._trashscan_written = None
        super().clear_persistence(remove_files=remove_files)

    def request(self, method: Any, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().request(method, url, **self._with_timeout(kwargs))

    def request_raw(self, method: str, url: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().request_raw(method, url, **self._with_timeout(kwargs))

    def _with_timeout(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The account's ``timeout`` for every request; else pyicloud's, else ours."""
        chosen = getattr(self, "trashscan_timeout", None)
        if chosen is not None:
            kwargs["timeout"] = chosen
        elif kwargs.get("timeout") is None:
            kwargs["timeout"] = REQUEST_TIMEOUT
        return kwargs


class TrashscanICloudService(PyiCloudService):
    """One account's pyicloud service; built unauthenticated, see :meth:`authenticate`."""

    def __init__(
        self,
        apple_id: str,
        password: str | None,
        *,
        password_source: Callable[[], str | None] | None = None,
        cookie_directory: Path,
        china_mainland: bool,
        ca_bundle: str | None = None,
        timeout: float | None = None,
        roots: Mapping[str, str] | None = None,
        deliver_codes: bool = False,
        pcs_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        allow_consent_request: bool = False,
    ) -> None:
        self._password_source = password_source
        # Read by _setup_endpoints, which the parent constructor calls first.
        self._roots = dict(roots) if roots else None
        self._deliver_codes = deliver_codes
        self.pcs_wait = pcs_wait
        self.allow_consent_request = allow_consent_request
        self._sleep = sleep
        self.web_access_state: dict[str, Any] | None = None
        self._pcs_granted: set[str] = set()  # apps whose requestPCS succeeded (ADP)
        super().__init__(
            apple_id,
            password,
            cookie_directory=str(cookie_directory),
            verify=ca_bundle or True,  # type: ignore[arg-type]  # requests takes a CA path too
            china_mainland=china_mainland,
            with_family=False,
            refresh_interval=None,
            authenticate=False,
        )
        self._session.__class__ = _PinnedSession
        self._session.trashscan_timeout = timeout  # type: ignore[attr-defined]
        self.cookie_directory = Path(cookie_directory)

    # ------------------------------------------------------------------------------ hosts

    def _setup_endpoints(self) -> None:
        super()._setup_endpoints()
        if self._roots:
            for attribute, url in self._roots.items():
                setattr(self, attribute, url)

    @property
    def roots(self) -> dict[str, str]:
        return {attribute: getattr(self, attribute) for attribute in SANDBOX_ROOTS}

    # ------------------------------------------------------------------------------ sign-in

    def _srp_authentication(self, pause_2fa: bool = False) -> bool:
        """The password is fetched only now: a valid cached session never needs it."""
        if self._password_raw is None and self._password_source is not None:
            self._password_raw = self._password_source()
        if not self._password_raw:
            raise MissingPassword
        return super()._srp_authentication(pause_2fa=pause_2fa)

    def _validate_token(self) -> Any:
        """pyicloud's session check, except that a connection failure is not "invalid"."""
        try:
            return super()._validate_token()
        except PyiCloudConnectionException as exc:
            raise Unreachable("setup/validate") from exc

    def request_2fa_code(self) -> bool:
        """Deliver a 2FA code (SMS, trusted-device prompt) only for an interactive sign-in."""
        if not self._deliver_codes:
            return False
        return super().request_2fa_code()

    # ------------------------------------------------------------------------------ PCS

    def web_access(self) -> dict[str, Any]:
        """``setup/requestWebAccessState``: whether web access is allowed, and ADP's PCS state."""
        state = self._check_pcs_consent()
        self.web_access_state = state if isinstance(state, dict) else {}
        return self.web_access_state

    def _request_pcs_for_service(self, app_name: str) -> None:
        """pyicloud's PCS handshake, bounded by ``pcs_wait`` seconds in total.

        Raises :class:`WebAccessOff` or :class:`PcsNotGranted` instead of pyicloud's
        ``PyiCloudPCSTimeoutException`` after about 100 s. The state read earlier by this
        service is used again (see the module docstring).
        """
        state = self.web_access_state if self.web_access_state is not None else self.web_access()
        if state.get("isWebAccessAllowed") is False:
            raise WebAccessOff
        if not state.get("isICDRSDisabled", False) or app_name in self._pcs_granted:
            return  # no Advanced Data Protection (nothing to ask for), or asked already
        waited = 0.0
        if not state.get("isDeviceConsentedForPCS", True):
            if not self.allow_consent_request:
                raise PcsNotGranted("no trusted device has approved web access recently")
            consent = self.session.post(
                f"{self._setup_endpoint}/enableDeviceConsentForPCS", params=self.params
            ).json()
            if not consent.get("isDeviceConsentNotificationSent"):
                raise PcsNotGranted("Apple could not ask a trusted device to approve web access")
            while not state.get("isDeviceConsentedForPCS", True):
                step = min(PCS_STEP, self.pcs_wait - waited)
                if step <= 0:
                    raise PcsNotGranted(
                        f"no trusted device approved web access within {self.pcs_wait:g} s"
                    )
                self._sleep(step)
                waited += step
                state = self.web_access()
        attempt = 0
        while True:
            answer = self._send_pcs_request(app_name, derived_from_user_action=attempt == 0)
            if answer.get("status") == "success":
                self._pcs_granted.add(app_name)
                return
            message = answer.get("message")
            step = min(PCS_STEP, self.pcs_wait - waited)
            if message not in PCS_PENDING:
                raise PcsNotGranted(f"iCloud refused web access ({message or 'no reason given'})")
            if step <= 0:
                raise PcsNotGranted(f"web access was not granted within {self.pcs_wait:g} s")
            self._sleep(step)
            waited += step
            attempt += 1

    # ------------------------------------------------------------------------------ files

    def tighten_files(self) -> None:
        """pyicloud writes its ``.session`` file with the default umask; make it owner-only.

        The directory is 0700 already; an existing file keeps its mode when pyicloud rewrites it.
        """
        for path in (self.session.cookiejar_path, self.session.session_path):
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)
