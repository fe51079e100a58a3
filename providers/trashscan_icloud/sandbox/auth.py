"""Apple ID sign-in (idmsa: SRP-6a, HSA2 2FA, trust tokens) and ``setup.icloud.com`` sessions.

Routes, under the URL layout the plugin redirects pyicloud's hard-coded roots to
(``https://idmsa.apple.com`` -> ``{base}/idmsa``, ``https://setup.icloud.com/setup/ws/1`` ->
``{base}/setup/ws/1``; pyicloud ``base.PyiCloudService._setup_endpoints``):

``GET  /idmsa/appleauth/auth/authorize/signin``
    the OAuth widget page pyicloud loads first (``_srp_authentication``); answers HTML and opens a
    sign-in transaction (``scnt``, ``X-Apple-ID-Session-Id``, ``X-Apple-Auth-Attributes``).
``POST /idmsa/appleauth/auth/signin/init``
    ``{a, accountName, protocols}`` -> ``{salt, b, c, iteration, protocol}`` (icloud.md §1/§5.3).
    The verifier follows Apple's s2k scheme as pyicloud implements the client
    (``srp_password.SrpPassword``): ``p = PBKDF2-SHA256(SHA256(password), salt, iteration, 32)``
    (``s2k_fo`` hashes the hex digest), ``x = SHA256(salt | SHA256(":" | p))`` (no user name in
    x), ``v = g^x mod N`` over RFC 5054's 2048-bit group, with the ``srp`` package's
    ``rfc5054_enable()`` and ``no_username_in_x()``.
``POST /idmsa/appleauth/auth/signin/complete``
    ``{accountName, c, m1, m2, rememberMe, trustTokens}``: 401 ``-20101`` for a wrong password;
    200 when the account has no 2FA or a presented trust token is still valid; otherwise
    409 ``{"authType": "hsa2"}`` (pyicloud ``session._handle_request_error``). Either way the
    answer carries ``X-Apple-Session-Token`` and ``X-Apple-ID-Account-Country`` (pyicloud
    ``const.HEADER_DATA``).
``GET  /idmsa/appleauth/auth``
    the 2FA options. Answered in the legacy trusted-device shape without the HSA2 "bridge" boot
    data, so pyicloud takes ``verify/trusteddevice/securitycode`` rather than the ``wss://``
    bridge (icloud.md §5: "answer GET /appleauth/auth with {} ..."; the keys sent here are ones
    pyicloud ignores for routing).
``POST /idmsa/appleauth/auth/verify/trusteddevice/securitycode``
    ``{"securityCode": {"code": ...}}``: 204 for the right code, 400 ``-21669`` otherwise
    (``validate_2fa_code`` then returns False [EXP icloud.md §1]).
``GET  /idmsa/appleauth/auth/2sv/trust``
    204 with ``X-Apple-TwoSV-Trust-Token`` and a fresh, verified ``X-Apple-Session-Token``.
``POST /setup/ws/1/accountLogin`` / ``validate`` / ``logout``
    the web session: ``accountLogin`` takes ``dsWebAuthToken`` and answers the login document
    (``dsInfo`` with ``hsaVersion: 2``, ``hsaTrustedBrowser``, ``webservices``; timlaing/pyicloud
    ``tests/const/const_login.py`` ``LOGIN_WORKING``/``LOGIN_2FA``) and the web-auth cookies;
    ``validate`` (body ``null``) answers the same document for a live ``X-APPLE-WEBAUTH-TOKEN``
    cookie, else 421 ``Missing X-APPLE-WEBAUTH-TOKEN cookie``.
``POST /setup/ws/1/requestWebAccessState`` / ``enableDeviceConsentForPCS`` / ``requestPCS``
    Advanced Data Protection (icloud.md §4; foxt/icloud.js#4): with ADP off the state is
    ``{"isWebAccessAllowed": true, "isICDRSDisabled": false, "isDeviceConsentedForPCS": true}``;
    with ADP on ``isICDRSDisabled`` is true and data needs a trusted device's consent, after which
    ``requestPCS`` first answers "Requested the device to upload cookies." and then sets the
    ``X-APPLE-WEBAUTH-PCS-*`` cookies (messages as recorded by icloud-photos-sync and pyicloud's
    retry list in ``base._request_pcs_for_service``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from hashlib import pbkdf2_hmac, sha256
from typing import Any

import srp
from srp import _pysrp

from trashscan.sandbox.server import Request, Response, Router
from trashscan_icloud.sandbox.model import (
    Account,
    AuthState,
    AuthTransaction,
    IdmsaSession,
    SrpChallenge,
    WebSession,
)
from trashscan_icloud.sandbox.wire import (
    b64,
    cookie_headers,
    json_object,
    json_response,
    request_cookies,
    service_errors,
    setup_error,
)

__all__ = ["AUTH", "SETUP", "ICloudAuth", "derive_dsid", "make_verifier", "srp_enable"]

AUTH = "/idmsa/appleauth/auth"
SETUP = "/setup/ws/1"
WEBAUTH_COOKIE = "X-APPLE-WEBAUTH-TOKEN"
CONSENT_WINDOW = timedelta(hours=1)  # "approved on a trusted device, which arms it for about an
# hour" (Apple Platform Security, Advanced Data Protection; icloud.md §4)
PCS_COOKIES = {
    "photos": ("X-APPLE-WEBAUTH-PCS-Photos", "X-APPLE-WEBAUTH-PCS-Sharing"),
    "iclouddrive": ("X-APPLE-WEBAUTH-PCS-Documents", "X-APPLE-WEBAUTH-PCS-Sharing"),
}
WRONG_PASSWORD = "Your Apple ID or password was incorrect."

_N, _G = _pysrp.get_ng(_pysrp.NG_2048, None, None)


def srp_enable() -> None:
    """Apple's SRP variant: RFC 5054 padding and no user name in x. Both are module globals of
    the ``srp`` package (pyicloud sets them too before each sign-in)."""
    srp.rfc5054_enable()
    srp.no_username_in_x()


def _password_key(password: str, salt: bytes, iterations: int, protocol: str) -> bytes:
    digest = sha256(password.encode("utf-8")).digest()
    if protocol == "s2k_fo":
        digest = digest.hex().encode()
    return pbkdf2_hmac("sha256", digest, salt, iterations, 32)


def make_verifier(password: str, salt: bytes, iterations: int, protocol: str = "s2k") -> bytes:
    """The SRP verifier ``v`` Apple stores for ``password`` (see the module docstring)."""
    key = _password_key(password, salt, iterations, protocol)
    x = int.from_bytes(sha256(salt + sha256(b":" + key).digest()).digest(), "big")
    v = pow(_G, x, _N)
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


class ICloudAuth:
    """The idmsa and setup routes over the fake's accounts and :class:`AuthState`."""

    def __init__(
        self,
        accounts: dict[str, Account],
        auth: AuthState,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
    ) -> None:
        self.accounts = accounts
        self.auth = auth
        self.clock = clock
        self.base_url = base_url
        self._counter = 0

    def register(self, router: Router) -> None:
        router.add("GET", AUTH + "/authorize/signin", self.authorize)
        router.add("POST", AUTH + "/signin/init", self.signin_init)
        router.add("POST", AUTH + "/signin/complete", self.signin_complete)
        router.add("GET", AUTH, self.auth_options)
        router.add("POST", AUTH + "/verify/trusteddevice/securitycode", self.verify_code)
        router.add("GET", AUTH + "/2sv/trust", self.trust)
        router.add("POST", SETUP + "/accountLogin", self.account_login)
        router.add("POST", SETUP + "/validate", self.validate)
        router.add("POST", SETUP + "/logout", self.logout)
        router.add("POST", SETUP + "/requestWebAccessState", self.web_access_state)
        router.add("POST", SETUP + "/enableDeviceConsentForPCS", self.enable_consent)
        router.add("POST", SETUP + "/requestPCS", self.request_pcs)
        router.add("GET", r"/home/?", self.home)

    # -- lookups used by the data services ------------------------------------------------------

    def account_by_apple_id(self, apple_id: str) -> Account | None:
        wanted = apple_id.strip().casefold()
        for account in self.accounts.values():
            if account.apple_id.casefold() == wanted:
                return account
        return None

    def web_session(self, request: Request) -> WebSession | None:
        """The live web session named by the request's ``X-APPLE-WEBAUTH-TOKEN`` cookie."""
        token = request_cookies(request).get(WEBAUTH_COOKIE)
        with self.auth.lock:
            session = self.auth.web_sessions.get(token or "")
            if session is None or session.revoked:
                return None
            return session

    def has_pcs(self, request: Request, session: WebSession, cookie: str) -> bool:
        """Whether the request carries the PCS cookie ``cookie`` granted to ``session``."""
        value = request_cookies(request).get(cookie)
        with self.auth.lock:
            return value is not None and session.pcs_cookies.get(cookie) == value

    # -- seams ----------------------------------------------------------------------------------

    def expire_sessions(self, account: str) -> int:
        """Revoke every session token and web session of ``account``; returns how many."""
        count = 0
        with self.auth.lock:
            for idmsa in self.auth.idmsa_sessions.values():
                if idmsa.account == account and not idmsa.revoked:
                    idmsa.revoked = True
                    count += 1
            for web in self.auth.web_sessions.values():
                if web.account == account and not web.revoked:
                    web.revoked = True
                    count += 1
        return count

    def untrust_sessions(self, account: str) -> None:
        """After the 2FA trust lapsed, existing sessions report ``hsaTrustedBrowser: false``."""
        with self.auth.lock:
            for idmsa in self.auth.idmsa_sessions.values():
                if idmsa.account == account:
                    idmsa.verified = False
            for web in self.auth.web_sessions.values():
                if web.account == account:
                    web.trusted = False

    # -- idmsa ------------------------------------------------------------------------------------

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _new_transaction(self) -> AuthTransaction:
        tx = AuthTransaction(
            session_id=secrets.token_hex(16).upper(),
            scnt="AAAA-" + secrets.token_urlsafe(24),
            created=self.clock(),
        )
        self.auth.transactions[tx.session_id] = tx
        return tx

    def _transaction(self, request: Request) -> AuthTransaction | None:
        return self.auth.transactions.get(request.headers.get("X-Apple-ID-Session-Id") or "")

    @staticmethod
    def _tx_headers(tx: AuthTransaction) -> dict[str, str]:
        return {
            "scnt": tx.scnt,
            "X-Apple-ID-Session-Id": tx.session_id,
            "X-Apple-Auth-Attributes": b64(tx.session_id[:12]),
        }

    def authorize(self, request: Request, match: Any) -> Response:
        with self.auth.lock:
            tx = self._new_transaction()
        page = b"<!DOCTYPE html><html><head><title>Sign In with Apple ID</title></head></html>"
        headers = {"Content-Type": "text/html;charset=UTF-8", **self._tx_headers(tx)}
        return Response(200, page, headers)

    def signin_init(self, request: Request, match: Any) -> Response:
        body = json_object(request)
        name, a = body.get("accountName"), body.get("a")
        if not isinstance(name, str) or not isinstance(a, str):
            return service_errors(400, "-20101", "accountName and a are required.")
        protocols = body.get("protocols") or ["s2k"]
        try:
            big_a = base64.b64decode(a, validate=True)
        except ValueError:
            return service_errors(400, "-20101", "Invalid SRP parameters.")
        srp_enable()
        with self.auth.lock:
            tx = self._transaction(request) or self._new_transaction()
            account = self.account_by_apple_id(name)
            if account is not None and account.protocol in protocols:
                salt, iterations = account.salt, account.iterations
                protocol, v = account.protocol, account.verifier
            else:
                # An unknown Apple ID still gets a challenge (nothing tells names apart); the
                # exchange cannot succeed because v matches no password.
                salt, iterations, protocol = secrets.token_bytes(16), 20_000, "s2k"
                v, account = secrets.token_bytes(256), None
            verifier = srp.Verifier(name, salt, v, big_a, hash_alg=srp.SHA256, ng_type=srp.NG_2048)
            _s, big_b = verifier.get_challenge()
            if big_b is None:  # SRP-6a safety check: A % N == 0
                return service_errors(400, "-20101", "Invalid SRP parameters.")
            c = f"d-{self._next()}-{secrets.token_hex(16)}:PRN"
            self.auth.challenges[c] = SrpChallenge(
                c, account.name if account else None, verifier, tx.session_id
            )
            answer = {
                "iteration": iterations,
                "salt": b64(salt),
                "protocol": protocol,
                "b": b64(big_b),
                "c": c,
            }
            return json_response(answer, 200, self._tx_headers(tx))

    def signin_complete(self, request: Request, match: Any) -> Response:
        body = json_object(request)
        with self.auth.lock:
            challenge = self.auth.challenges.pop(str(body.get("c")), None)
            if challenge is None:
                return service_errors(401, "-20101", WRONG_PASSWORD)
            try:
                m1 = base64.b64decode(body.get("m1") or "")
                m2 = base64.b64decode(body.get("m2") or "")
            except ValueError:
                return service_errors(401, "-20101", WRONG_PASSWORD)
            srp_enable()
            hamk = challenge.verifier.verify_session(m1)
            tx = self.auth.transactions[challenge.transaction]
            if challenge.account is None or hamk is None or (m2 and m2 != hamk):
                return service_errors(401, "-20101", WRONG_PASSWORD, self._tx_headers(tx))
            account = self.accounts[challenge.account]
            tx.account = account.name
            now = self.clock()
            headers = {**self._tx_headers(tx), "X-Apple-ID-Account-Country": account.country}
            presented = [t for t in body.get("trustTokens") or [] if isinstance(t, str)]
            valid = [t for t in presented if account.trust_valid(t, now)]
            trust: str | None = valid[0] if valid else None
            if not account.two_factor or trust is not None:
                session = self._new_idmsa(account, verified=True, trust_token=trust)
                headers["X-Apple-Session-Token"] = session.token
                return json_response({"authType": "hsa2"}, 200, headers)
            if account.trust_on_first_login:
                # "This device was trusted earlier": the browser already holds a trust token
                # the sandbox cannot place in the plugin's cookie dir, so it is handed over now.
                account.trust_on_first_login = False
                trust = account.issue_trust_token(now)
                session = self._new_idmsa(account, verified=True, trust_token=trust)
                headers["X-Apple-Session-Token"] = session.token
                headers["X-Apple-TwoSV-Trust-Token"] = trust
                return json_response({"authType": "hsa2"}, 200, headers)
            tx.pending_2fa = True
            tx.code_verified = False
            session = self._new_idmsa(account, verified=False)
            headers["X-Apple-Session-Token"] = session.token
            headers["X-Apple-TwoSV-Trust-Eligible"] = "true"
            return json_response({"authType": "hsa2"}, 409, headers)

    def _new_idmsa(
        self, account: Account, *, verified: bool, trust_token: str | None = None
    ) -> IdmsaSession:
        session = IdmsaSession(
            token="AAAABLwIAAAAAG" + secrets.token_urlsafe(96),
            account=account.name,
            verified=verified,
            trust_token=trust_token,
        )
        self.auth.idmsa_sessions[session.token] = session
        return session

    def auth_options(self, request: Request, match: Any) -> Response:
        with self.auth.lock:
            tx = self._transaction(request)
            if tx is None or not tx.pending_2fa:
                return service_errors(401, "-20101", "No sign-in in progress.")
            options = {
                "trustedDeviceCount": 1,
                "securityCode": {
                    "length": 6,
                    "tooManyCodesSent": False,
                    "tooManyCodesValidated": False,
                    "securityCodeLocked": False,
                    "securityCodeCooldown": False,
                },
                "authenticationType": "hsa2",
                "recoveryUrl": "https://iforgot.apple.com/phone/add?prs_account_nm=",
                "noTrustedDevices": False,
            }
            return json_response(options, 200, self._tx_headers(tx))

    def verify_code(self, request: Request, match: Any) -> Response:
        body = json_object(request)
        with self.auth.lock:
            tx = self._transaction(request)
            if tx is None or not tx.pending_2fa or tx.account is None:
                return service_errors(401, "-20101", "No sign-in in progress.")
            if request.headers.get("scnt") != tx.scnt:
                return service_errors(401, "-20101", "Session mismatch.")
            code = (body.get("securityCode") or {}).get("code")
            if str(code) != self.accounts[tx.account].two_factor_code:
                tx.wrong_codes += 1
                wrong = {
                    "service_errors": [
                        {
                            "code": "-21669",
                            "title": "Incorrect Verification Code",
                            "message": "Incorrect verification code.",
                        }
                    ],
                    "hasError": True,
                }
                return json_response(wrong, 400, self._tx_headers(tx))
            tx.code_verified = True
            return Response(204, b"", self._tx_headers(tx))

    def trust(self, request: Request, match: Any) -> Response:
        with self.auth.lock:
            tx = self._transaction(request)
            if tx is None or not tx.code_verified or tx.account is None:
                return service_errors(401, "-20101", "Verification required.")
            account = self.accounts[tx.account]
            token = account.issue_trust_token(self.clock())
            session = self._new_idmsa(account, verified=True, trust_token=token)
            tx.pending_2fa = False
            headers = {
                **self._tx_headers(tx),
                "X-Apple-TwoSV-Trust-Token": token,
                "X-Apple-Session-Token": session.token,
            }
            return Response(204, b"", headers)

    # -- setup.icloud.com -------------------------------------------------------------------------

    def home(self, request: Request, match: Any) -> Response:
        """``https://www.icloud.com`` is only pyicloud's Origin/Referer; answer a page anyway."""
        return Response(200, b"<!DOCTYPE html><title>iCloud</title>", {"Content-Type": "text/html"})

    def login_document(self, account: Account, trusted: bool) -> dict[str, Any]:
        """The ``accountLogin``/``validate`` answer, trimmed from ``LOGIN_WORKING`` to what an
        iCloud account needs plus the three web services this fake serves."""
        base = self.base_url()

        def service(path: str) -> dict[str, Any]:
            return {"pcsRequired": True, "url": base + path, "status": "active"}

        return {
            "dsInfo": {
                "lastName": account.last_name,
                "iCDPEnabled": False,
                "tantorMigrated": True,
                "dsid": account.dsid,
                "hsaEnabled": account.two_factor,
                "ironcadeMigrated": True,
                "locale": "en-us_US",
                "brZoneConsolidated": False,
                "isManagedAppleID": False,
                "isWebAccessAllowed": account.web_access_allowed,
                "appleIdAliases": [],
                "hsaVersion": 2 if account.two_factor else 0,
                "isPaidDeveloper": False,
                "countryCode": account.country,
                "primaryEmailVerified": True,
                "locked": False,
                "hasICloudQualifyingDevice": True,
                "primaryEmail": account.apple_id,
                "appleIdEntries": [{"isPrimary": True, "type": "EMAIL", "value": account.apple_id}],
                "fullName": account.full_name,
                "languageCode": "en-us",
                "appleId": account.apple_id,
                "firstName": account.first_name,
                "notesMigrated": True,
                "hasPaymentInfo": False,
                "pcsDeleted": False,
                "brMigrated": True,
                "statusCode": 2,
                "familyEligible": True,
            },
            "hasMinimumDeviceForPhotosWeb": True,
            "iCDPEnabled": False,
            "webservices": {
                "ckdatabasews": service("/ck"),
                "drivews": service("/drivews"),
                "docws": service("/docws"),
            },
            "pcsEnabled": True,
            "hsaTrustedBrowser": trusted,
            "appsOrder": ["photos", "iclouddrive"],
            "version": 2,
            "isExtendedLogin": True,
            "pcsServiceIdentitiesIncluded": trusted,
            "hsaChallengeRequired": account.two_factor and not trusted,
            "requestInfo": {"country": account.country[:2], "timeZone": "GMT", "region": ""},
            "pcsDeleted": False,
            "iCloudInfo": {"SafariBookmarksHasMigratedToCloudKit": True},
            "apps": {"photos": {}, "iclouddrive": {}},
        }

    def account_login(self, request: Request, match: Any) -> Response:
        body = json_object(request)
        with self.auth.lock:
            idmsa = self.auth.idmsa_sessions.get(str(body.get("dsWebAuthToken")))
            if idmsa is None or idmsa.revoked:
                return setup_error(421, "Invalid global session")
            account = self.accounts[idmsa.account]
            trusted = idmsa.verified or not account.two_factor
            web = WebSession(
                token="v=2:t=AQ==BST_IAAAAAAABLwIAAAAAG" + secrets.token_urlsafe(72),
                account=account.name,
                trusted=trusted,
                idmsa_token=idmsa.token,
                created=self.clock(),
            )
            self.auth.web_sessions[web.token] = web
            cookies = [
                (WEBAUTH_COOKIE, f'"{web.token}"'),
                ("X-APPLE-WEBAUTH-USER", f'"v=1:s=0:d={account.dsid}"'),
                ("X-APPLE-WEBAUTH-VALIDATE", f'"v=1:t=AQ==BST_{secrets.token_urlsafe(48)}"'),
                ("X-APPLE-DS-WEB-SESSION-TOKEN", f'"{secrets.token_urlsafe(96)}"'),
            ]
            if trusted and idmsa.trust_token:
                cookies.append(("X-APPLE-WEBAUTH-HSA-TRUST", f'"{idmsa.trust_token}"'))
            document = self.login_document(account, trusted)
            return json_response(document, 200, cookie_headers(cookies))

    def validate(self, request: Request, match: Any) -> Response:
        session = self.web_session(request)
        if session is None:
            return setup_error(421, "Missing X-APPLE-WEBAUTH-TOKEN cookie")
        with self.auth.lock:
            document = self.login_document(self.accounts[session.account], session.trusted)
        return json_response(document)

    def logout(self, request: Request, match: Any) -> Response:
        session = self.web_session(request)
        if session is None:
            return setup_error(421, "Missing X-APPLE-WEBAUTH-TOKEN cookie")
        body = json_object(request)
        with self.auth.lock:
            session.revoked = True
            idmsa = self.auth.idmsa_sessions.get(session.idmsa_token)
            if idmsa is not None:
                idmsa.revoked = True
                if not body.get("trustBrowser") and idmsa.trust_token:
                    self.accounts[session.account].trust_tokens.pop(idmsa.trust_token, None)
        return json_response({"success": True})

    def _state(self, account: Account) -> dict[str, Any]:
        now = self.clock()
        state: dict[str, Any] = {
            "dsid": int(account.dsid),
            "isWebAccessAllowed": account.web_access_allowed,
            "isICDRSDisabled": account.adp,
            "isDeviceConsentedForPCS": account.consented(now) if account.adp else True,
        }
        if account.adp:
            until = account.device_consent_until
            state["deviceConsentForPCSExpiry"] = (
                int(until.timestamp() * 1000) if until and until > now else 0
            )
        return state

    def web_access_state(self, request: Request, match: Any) -> Response:
        session = self.web_session(request)
        if session is None:
            return setup_error(421, "Missing X-APPLE-WEBAUTH-TOKEN cookie")
        with self.auth.lock:
            return json_response(self._state(self.accounts[session.account]))

    def enable_consent(self, request: Request, match: Any) -> Response:
        session = self.web_session(request)
        if session is None:
            return setup_error(421, "Missing X-APPLE-WEBAUTH-TOKEN cookie")
        with self.auth.lock:
            account = self.accounts[session.account]
            account.consent_requests += 1
            if account.adp and account.device_approves:
                account.device_consent_until = self.clock() + CONSENT_WINDOW
            answer = {
                **self._state(account),
                "isDeviceConsentNotificationSent": account.adp and account.web_access_allowed,
                "deviceNotSupported": False,
            }
            return json_response(answer)

    def request_pcs(self, request: Request, match: Any) -> Response:
        session = self.web_session(request)
        if session is None:
            return setup_error(421, "Missing X-APPLE-WEBAUTH-TOKEN cookie")
        body = json_object(request)
        app = str(body.get("appName") or "")
        with self.auth.lock:
            account = self.accounts[session.account]
            state = self._state(account)
            if not account.adp:
                return json_response(
                    {**state, "status": "failure", "message": "ICDRS is not disabled."}
                )
            if not account.web_access_allowed or not account.consented(self.clock()):
                return json_response(
                    {
                        **state,
                        "status": "failure",
                        "message": "Requested a new device arming to upload cookies.",
                    }
                )
            calls = session.pcs_requests.get(app, 0)
            session.pcs_requests[app] = calls + 1
            if calls == 0:
                return json_response(
                    {
                        **state,
                        "status": "failure",
                        "message": "Requested the device to upload cookies.",
                    }
                )
            names = PCS_COOKIES.get(app, (f"X-APPLE-WEBAUTH-PCS-{app.capitalize()}",))
            fresh = [name for name in names if name not in session.pcs_cookies]
            for name in fresh:
                session.pcs_cookies[name] = "TGlzdEFwcGw6MTpBcHBsOjE6" + secrets.token_hex(24)
            message = "Cookies attached." if fresh else "Cookies already present."
            headers = cookie_headers((name, f'"{session.pcs_cookies[name]}"') for name in names)
            return json_response({**state, "status": "success", "message": message}, 200, headers)


def derive_dsid(apple_id: str) -> str:
    """A stable 11-digit DSID for ``apple_id`` (real ones look like ``21248602866``)."""
    number = int(hashlib.sha256(apple_id.casefold().encode()).hexdigest(), 16)
    return str(10**10 + number % (9 * 10**10))
