"""A loopback Entra ID authority that the real ``msal`` library accepts, and Graph's bearer check.

What msal (1.39, read in its source) needs from an authority, and therefore what is served
(onedrive.md §5.3 lists the same from an experiment):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (``authority.tenant_discovery``):
  a 200 JSON with ``authorization_endpoint`` and ``token_endpoint`` (required) and
  ``device_authorization_endpoint``; msal takes its cache "realm" from the token endpoint's first
  path segment, so the endpoints keep the tenant the client asked for (``common`` stays
  ``common``), as Entra's own discovery documents do. An unknown tenant is a 400, which msal
  turns into ``ValueError`` [msal authority.py]. Tenants: ``common``, ``consumers``,
  ``organizations``, the consumer tenant GUID and each seeded business tenant (GUID or domain).
* ``GET /common/discovery/instance`` for clients that pass it as ``instance_discovery=<url>``
  (``tenant_discovery_endpoint`` + ``metadata[].aliases``).
* ``POST /{tenant}/oauth2/v2.0/devicecode`` with ``client_id`` and ``scope`` (msal adds
  ``offline_access openid profile``) → ``device_code``, ``user_code``, ``verification_uri``,
  ``expires_in`` (900), ``interval`` (5), ``message`` [DOC entra-docs
  v2-oauth2-device-code.md; Entra sends no ``verification_uri_complete``].
* ``POST /{tenant}/oauth2/v2.0/token``:

  - ``urn:ietf:params:oauth:grant-type:device_code``: msal sends ``device_code`` (and ``code``),
    ``client_info=1`` and *no scope*, so the answer must carry the scope of the device code
    request, or msal files the access token under an empty target and silent calls miss it
    (onedrive.md §5.3). Polling errors [DOC device-code page, "Expected errors"]:
    ``authorization_pending`` (AADSTS70016), ``authorization_declined``,
    ``bad_verification_code``, ``expired_token`` (AADSTS70019);
  - ``refresh_token`` with ``scope``: a new access token *and a new refresh token* (rotation;
    the old refresh token stays valid, as Entra's do until they expire). Failures are
    ``invalid_grant`` with ``suberror: bad_token``: AADSTS50173 for a revoked grant,
    AADSTS700082 for one expired by inactivity (wording from public reports, see
    :mod:`.wire`); a scope the user never consented to is ``invalid_grant`` AADSTS65001
    with ``suberror: consent_required``;
  - ``authorization_code`` (PKCE S256) for interactive logins through ``/authorize``.

  A success is ``token_type`` Bearer, ``scope`` (the requested scopes echoed as sent, minus
  ``offline_access``; msal matches cached tokens by case-sensitive subset), ``expires_in``,
  ``ext_expires_in``, ``access_token``, ``refresh_token``, ``id_token`` (an unsigned
  ``alg: none`` JWT: msal decodes but never validates it, oauth2cli/oidc.py) with ``oid``,
  ``tid``, ``sub``, ``preferred_username``, ``name``, ``iss``, ``aud``, ``iat``, ``nbf``,
  ``exp``, and ``client_info`` (base64url ``{"uid", "utid"}``, msal's ``home_account_id``) when
  the request asked for it with ``client_info=1``.

Personal (MSA) accounts live in the consumer tenant ``9188040d-6c67-4c5b-b112-36a304b66dad``
with an ``oid`` of the form ``00000000-0000-0000-<cid>`` (onedrive.md §2.3, §5.1).

Graph side: an access token is accepted until it expires (fake clock); revoking an account
revokes its refresh *and* access tokens at once (as continuous access evaluation would: the
sandbox wants the revocation to be visible immediately). A missing, unknown or expired token is
401 ``InvalidAuthenticationToken`` with ``WWW-Authenticate`` [DOC concepts/errors.md].
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from trashscan.sandbox.server import Request, Response, Router
from trashscan_onedrive.sandbox.model import Identity
from trashscan_onedrive.sandbox.wire import (
    GRAPH_APP_ID,
    GraphError,
    entra_error,
    entra_json,
)

__all__ = [
    "DEFAULT_CONSENT",
    "MSA_TENANT",
    "AccessToken",
    "AuthAccount",
    "AuthState",
    "DeviceCode",
    "RefreshToken",
]

MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_LIFETIME = timedelta(seconds=900)
REFRESH_INACTIVITY = timedelta(days=90)
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
GRAPH_PREFIXES = ("https://graph.microsoft.com/", f"{GRAPH_APP_ID}/")
# Delegated Graph permissions this fake knows (the ones a OneDrive app could ask for).
KNOWN_GRAPH_SCOPES = frozenset(
    {
        "files.read",
        "files.read.all",
        "files.readwrite",
        "files.readwrite.all",
        "files.readwrite.appfolder",
        "sites.read.all",
        "sites.readwrite.all",
        "sites.manage.all",
        "sites.fullcontrol.all",
        "user.read",
        "user.readbasic.all",
    }
)
# What the seeded users consented to on the app's consent screen (canonical casing).
DEFAULT_CONSENT = {
    "personal": frozenset(
        {"Files.Read", "Files.Read.All", "Files.ReadWrite", "Files.ReadWrite.All", "User.Read"}
    ),
    "business": frozenset(
        {
            "Files.Read",
            "Files.Read.All",
            "Files.ReadWrite",
            "Files.ReadWrite.All",
            "Sites.Read.All",
            "Sites.ReadWrite.All",
            "User.Read",
        }
    ),
}
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _random(n: int, alphabet: str = _TOKEN_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT (``alg: none``, empty signature), which msal only decodes."""
    header = _b64url(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}."


def graph_scope_name(scope: str) -> str | None:
    """``Files.Read`` for ``Files.Read`` or ``https://graph.microsoft.com/Files.Read``; None
    for another resource's scope (``https://contoso-my.sharepoint.com/AllSites.Write``)."""
    lowered = scope.lower()
    for prefix in GRAPH_PREFIXES:
        if lowered.startswith(prefix.lower()):
            return scope[len(prefix) :]
    if "://" in scope or "/" in scope:
        return None
    return scope


@dataclass
class AuthAccount:
    """A user of the sandbox's Entra: identity, kind, consent and revocation state."""

    identity: Identity
    kind: str  # personal | business
    tenant_domain: str | None  # business: contoso.onmicrosoft.com
    consented: set[str] = field(default_factory=set)  # canonical Graph scope names

    def consents_to(self, name: str) -> bool:
        return name.lower() in {c.lower() for c in self.consented}


@dataclass
class RefreshToken:
    value: str
    account: str
    client_id: str
    issued_at: datetime
    revoked: bool = False
    expired: bool = False


@dataclass
class AccessToken:
    value: str
    account: str
    scopes: frozenset[str]  # lower-case Graph scope names
    expires_at: datetime
    revoked: bool = False


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    tenant: str
    scopes: list[str]  # as requested (msal-decorated)
    expires_at: datetime
    account: str | None = None  # set when a user approved it
    declined: bool = False
    redeemed: bool = False


@dataclass
class AuthCode:
    code: str
    account: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    nonce: str | None
    expires_at: datetime
    redeemed: bool = False


class AuthState:
    """Apps, users, grants and tokens of the loopback authority (thread-safe via ``lock``)."""

    def __init__(self, clock: Callable[[], datetime], base_url: Callable[[], str]) -> None:
        self.clock = clock
        self.base_url = base_url
        self.client_id = "5f1c0c2e-7b3a-4c8e-9d41-7a0f2b6c9e13"  # the sandbox "app registration"
        self.accounts: dict[str, AuthAccount] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.device_codes: dict[str, DeviceCode] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.device_interval = 5  # seconds; Entra's value (tests may lower it)
        self.auto_approve: str | None = None  # account that approves every new device code
        self.interactive_account: str | None = None  # who "signs in" at /authorize
        self.lock = threading.RLock()

    # -- routes -------------------------------------------------------------------------------

    def register(self, router: Router) -> None:
        tenant = r"/(?P<tenant>[A-Za-z0-9.\-]+)"
        router.add("GET", tenant + r"/v2\.0/\.well-known/openid-configuration", self._discovery)
        router.add("GET", tenant + r"/discovery/instance", self._instance)
        router.add("GET", tenant + r"/discovery/v2\.0/keys", self._keys)
        router.add("POST", tenant + r"/oauth2/v2\.0/devicecode", self._devicecode)
        router.add("POST", tenant + r"/oauth2/v2\.0/token", self._token)
        router.add("GET", tenant + r"/oauth2/v2\.0/authorize", self._authorize)
        router.add("GET", r"/devicelogin", self._devicelogin_page)
        router.add("POST", r"/devicelogin", self._devicelogin_submit)

    # -- seams --------------------------------------------------------------------------------

    def add_account(self, account: AuthAccount) -> None:
        with self.lock:
            self.accounts[account.identity.name] = account

    def approve(self, code_or_account: str, account: str | None = None) -> DeviceCode:
        """Approve a pending device code, as the user entering it and consenting would.

        ``approve(user_code, account)`` approves that code for ``account``;
        ``approve(account)`` approves the newest pending code for ``account``."""
        with self.lock:
            if account is None and code_or_account in self.accounts:
                account = code_or_account
                pending = [d for d in self.device_codes.values() if d.account is None]
                if not pending:
                    raise KeyError("no pending device code")
                flow = pending[-1]
            else:
                flow = self._by_user_code(code_or_account)
                if account is None:
                    raise ValueError("name the account that approves this code")
            if account not in self.accounts:
                raise KeyError(account)
            if not self._tenant_allows(flow.tenant, self.accounts[account]):
                raise ValueError(f"{account} cannot sign in through tenant {flow.tenant!r}")
            flow.account = account
            user = self.accounts[account]
            for scope in flow.scopes:
                name = graph_scope_name(scope)
                if name is not None and name.lower() not in OIDC_SCOPES:
                    user.consented.add(name)
            return flow

    def decline(self, user_code: str) -> None:
        with self.lock:
            self._by_user_code(user_code).declined = True

    def expire_device_codes(self) -> None:
        with self.lock:
            for flow in self.device_codes.values():
                flow.expires_at = self.clock() - timedelta(seconds=1)

    def expire_access_tokens(self, account: str) -> int:
        now = self.clock()
        with self.lock:
            live = [
                t
                for t in self.access_tokens.values()
                if t.account == account and t.expires_at > now and not t.revoked
            ]
            for token in live:
                token.expires_at = now - timedelta(seconds=1)
            return len(live)

    def expire_refresh_tokens(self, account: str) -> None:
        with self.lock:
            for token in self.refresh_tokens.values():
                if token.account == account:
                    token.expired = True

    def revoke(self, account: str) -> None:
        with self.lock:
            for token in self.refresh_tokens.values():
                if token.account == account:
                    token.revoked = True
            for access in self.access_tokens.values():
                if access.account == account:
                    access.revoked = True

    def access_token(self, account: str, scopes: frozenset[str] | None = None) -> str:
        """A fresh access token for ``account`` without any OAuth round trip (tests)."""
        user = self.accounts[account]
        names = scopes if scopes is not None else frozenset(user.consented)
        return self._issue_access(account, frozenset(n.lower() for n in names)).value

    def _by_user_code(self, user_code: str) -> DeviceCode:
        for flow in self.device_codes.values():
            if flow.user_code == user_code.strip().upper():
                return flow
        raise KeyError(f"unknown user code {user_code!r}")

    # -- Graph's bearer check -----------------------------------------------------------------

    def check(self, header: str | None) -> AccessToken:
        """The access token behind ``Authorization: Bearer ...``; GraphError 401 otherwise."""
        value = header[7:].strip() if header and header[:7].lower() == "bearer " else ""
        if not value:
            raise self._unauthorized("Access token is empty.")
        with self.lock:
            token = self.access_tokens.get(value)
            if token is None:
                raise self._unauthorized("IDX14100: JWT is not well formed, there are no dots.")
            if token.revoked:
                raise self._unauthorized("Access token has been revoked.")
            if self.clock() >= token.expires_at:
                raise self._unauthorized("Lifetime validation failed, the token is expired.")
            return token

    def _unauthorized(self, message: str) -> GraphError:
        challenge = (
            f'Bearer realm="", authorization_uri="{self.base_url()}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )
        return GraphError(
            401,
            "InvalidAuthenticationToken",
            message,
            headers={"WWW-Authenticate": challenge},
        )

    # -- tenants ------------------------------------------------------------------------------

    def _tenant_known(self, tenant: str) -> bool:
        lowered = tenant.lower()
        if lowered in ("common", "consumers", "organizations", MSA_TENANT):
            return True
        return any(
            lowered in (a.identity.tid.lower(), (a.tenant_domain or "").lower())
            for a in self.accounts.values()
            if a.kind == "business"
        )

    @staticmethod
    def _tenant_allows(tenant: str, account: AuthAccount) -> bool:
        lowered = tenant.lower()
        if lowered == "common":
            return True
        if lowered == "consumers":
            return account.kind == "personal"
        if lowered == "organizations":
            return account.kind == "business"
        return lowered in (account.identity.tid.lower(), (account.tenant_domain or "").lower())

    def _issuer_tenant(self, tenant: str) -> str:
        lowered = tenant.lower()
        if lowered == "consumers":
            return MSA_TENANT
        if lowered in ("common", "organizations"):
            return "{tenantid}"
        for account in self.accounts.values():
            if lowered == (account.tenant_domain or "").lower():
                return account.identity.tid
        return lowered

    # -- discovery ----------------------------------------------------------------------------

    def _discovery(self, request: Request, match: re.Match[str]) -> Response:
        tenant = match["tenant"]
        if not self._tenant_known(tenant):
            return self._invalid_tenant(tenant)
        base = self.base_url()
        prefix = f"{base}/{tenant}"
        issuer_tenant = self._issuer_tenant(tenant)
        return entra_json(
            {
                "token_endpoint": f"{prefix}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{prefix}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{issuer_tenant}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/oidc/userinfo",
                "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{prefix}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{prefix}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "email",
                ],
                "tenant_region_scope": None,
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        )

    def _instance(self, request: Request, match: re.Match[str]) -> Response:
        endpoint = (request.query.get("authorization_endpoint") or [""])[0]
        parts = urlsplit(endpoint)
        segments = [p for p in parts.path.split("/") if p]
        tenant = segments[0] if segments else "common"
        if not self._tenant_known(tenant):
            return entra_error(
                400, "invalid_instance", 50049, "Unknown or invalid instance.", now=self.clock()
            )
        host = urlsplit(self.base_url()).netloc
        hostname = host.split(":")[0]
        return entra_json(
            {
                "tenant_discovery_endpoint": (
                    f"{self.base_url()}/{tenant}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": hostname, "aliases": [hostname]}
                ],
            }
        )

    def _keys(self, request: Request, match: re.Match[str]) -> Response:
        return entra_json({"keys": []})  # tokens here are unsigned: nothing to publish

    def _invalid_tenant(self, tenant: str) -> Response:
        return entra_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
            now=self.clock(),
        )

    def _invalid_client(self, client_id: str | None, tenant: str) -> Response:
        return entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
            now=self.clock(),
        )

    # -- device code --------------------------------------------------------------------------

    def _devicecode(self, request: Request, match: re.Match[str]) -> Response:
        tenant = match["tenant"]
        if not self._tenant_known(tenant):
            return self._invalid_tenant(tenant)
        form = request.form()
        if form.get("client_id") != self.client_id:
            return self._invalid_client(form.get("client_id"), tenant)
        scopes = form.get("scope", "").split()
        if not scopes:
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
                now=self.clock(),
            )
        problem = self._scope_problem(scopes)
        if problem is not None:
            return problem
        now = self.clock()
        flow = DeviceCode(
            device_code=_random(120),
            user_code=_random(9, _USER_CODE_ALPHABET),
            client_id=self.client_id,
            tenant=tenant,
            scopes=scopes,
            expires_at=now + DEVICE_CODE_LIFETIME,
        )
        with self.lock:
            self.device_codes[flow.device_code] = flow
            if self.auto_approve is not None:
                self.approve(flow.user_code, self.auto_approve)
        uri = f"{self.base_url()}/devicelogin"
        return entra_json(
            {
                "user_code": flow.user_code,
                "device_code": flow.device_code,
                "verification_uri": uri,
                "expires_in": int(DEVICE_CODE_LIFETIME.total_seconds()),
                "interval": self.device_interval,
                "message": (
                    f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{flow.user_code} to authenticate."
                ),
            }
        )

    def _scope_problem(self, scopes: list[str]) -> Response | None:
        resources = set()
        for scope in scopes:
            if scope.lower() in OIDC_SCOPES:
                continue
            name = graph_scope_name(scope)
            if name is None:
                resources.add(scope.rsplit("/", 1)[0].lower())
                continue
            resources.add("graph")
            if name.lower() != ".default" and name.lower() not in KNOWN_GRAPH_SCOPES:
                return entra_error(
                    400,
                    "invalid_scope",
                    70011,
                    f"The provided request must include a 'scope' input parameter. The provided "
                    f"value for the input parameter 'scope' is not valid. The scope '{scope}' "
                    "does not exist.",
                    now=self.clock(),
                )
        if len(resources) > 1:
            return entra_error(
                400,
                "invalid_request",
                28000,
                "Provided value for the input parameter scope is not valid because it contains "
                "more than one resource. Scope " + " ".join(scopes) + " is not valid.",
                now=self.clock(),
            )
        return None

    # -- token endpoint -----------------------------------------------------------------------

    def _token(self, request: Request, match: re.Match[str]) -> Response:
        tenant = match["tenant"]
        if not self._tenant_known(tenant):
            return self._invalid_tenant(tenant)
        form = request.form()
        if form.get("client_id") != self.client_id:
            return self._invalid_client(form.get("client_id"), tenant)
        grant = form.get("grant_type")
        with self.lock:
            if grant == DEVICE_GRANT:
                return self._device_grant(form, tenant)
            if grant == "refresh_token":
                return self._refresh_grant(form, tenant)
            if grant == "authorization_code":
                return self._code_grant(form, tenant)
        if not grant:
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
                now=self.clock(),
            )
        return entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
            now=self.clock(),
        )

    def _device_grant(self, form: dict[str, str], tenant: str) -> Response:
        now = self.clock()
        flow = self.device_codes.get(form.get("device_code", ""))
        if flow is None:
            return entra_error(
                400,
                "bad_verification_code",
                70000,
                "Provided grant is invalid or malformed.",
                now=now,
            )
        if flow.redeemed:
            return entra_error(
                400,
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, "
                "please retry with a new valid code or use an existing refresh token.",
                now=now,
            )
        if flow.declined:
            return entra_error(
                400,
                "authorization_declined",
                65004,
                "User declined to consent to access the app.",
                now=now,
            )
        if now >= flow.expires_at:
            return entra_error(
                400,
                "expired_token",
                70019,
                "Verification code expired. Have the user retry the sign-in.",
                now=now,
            )
        if flow.account is None:
            return entra_error(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                now=now,
            )
        flow.redeemed = True
        return self._tokens(flow.account, flow.scopes, form, tenant)

    def _refresh_grant(self, form: dict[str, str], tenant: str) -> Response:
        now = self.clock()
        token = self.refresh_tokens.get(form.get("refresh_token", ""))
        if token is None or token.client_id != form.get("client_id"):
            return entra_error(
                400,
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid.",
                now=now,
            )
        if token.revoked:
            return entra_error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is "
                "needed. The user might have changed or reset their password. The grant was "
                f"issued on '{token.issued_at:%Y-%m-%dT%H:%M:%S.%fZ}' and the TokensValidFrom "
                f"date (before which tokens are not valid) for this user is "
                f"'{now:%Y-%m-%dT%H:%M:%S.0000000Z}'.",
                suberror="bad_token",
                now=now,
            )
        if token.expired:
            return entra_error(
                400,
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. The token was issued on "
                f"{token.issued_at:%Y-%m-%dT%H:%M:%S.%fZ} and was inactive for 90.00:00:00.",
                suberror="bad_token",
                now=now,
            )
        account = self.accounts[token.account]
        if not self._tenant_allows(tenant, account):
            return self._wrong_tenant(account, tenant)
        scopes = form.get("scope", "").split() or sorted(account.consented)
        problem = self._scope_problem(scopes)
        if problem is not None:
            return problem
        for scope in scopes:
            name = graph_scope_name(scope)
            if scope.lower() in OIDC_SCOPES or (name is not None and name == ".default"):
                continue
            if name is None or not account.consents_to(name):
                return entra_error(
                    400,
                    "invalid_grant",
                    65001,
                    f"The user or administrator has not consented to use the application with "
                    f"ID '{self.client_id}' named 'trashscan sandbox'. Send an interactive "
                    "authorization request for this user and resource.",
                    suberror="consent_required",
                    now=now,
                )
        return self._tokens(token.account, scopes, form, tenant)

    def _code_grant(self, form: dict[str, str], tenant: str) -> Response:
        now = self.clock()
        code = self.auth_codes.get(form.get("code", ""))
        if code is None or code.redeemed or now >= code.expires_at:
            return entra_error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this user and "
                "resource.",
                now=now,
            )
        if form.get("redirect_uri") != code.redirect_uri:
            return entra_error(
                400,
                "invalid_grant",
                50011,
                "The redirect URI specified in the request does not match the redirect URIs "
                "configured for the application.",
                now=now,
            )
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
            if digest != code.challenge:
                return entra_error(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request.",
                    now=now,
                )
        code.redeemed = True
        scopes = form.get("scope", "").split() or code.scopes
        return self._tokens(code.account, scopes, form, tenant, nonce=code.nonce)

    def _wrong_tenant(self, account: AuthAccount, tenant: str) -> Response:
        return entra_error(
            400,
            "invalid_grant",
            50020,
            f"User account '{account.identity.email}' from identity provider does not exist "
            f"in tenant '{tenant}' and cannot access the application '{self.client_id}' in "
            "that tenant.",
            now=self.clock(),
        )

    def _issue_access(self, account: str, scopes: frozenset[str]) -> AccessToken:
        user = self.accounts[account]
        now = self.clock()
        lifetime = timedelta(seconds=3600 if user.kind == "personal" else 3599)
        if user.kind == "personal":
            value = "EwB" + _random(600)
        else:
            value = _jwt(
                {
                    "aud": "https://graph.microsoft.com",
                    "iss": f"https://sts.windows.net/{user.identity.tid}/",
                    "iat": int(now.timestamp()),
                    "nbf": int(now.timestamp()),
                    "exp": int((now + lifetime).timestamp()),
                    "appid": self.client_id,
                    "oid": user.identity.oid,
                    "tid": user.identity.tid,
                    "scp": " ".join(sorted(scopes)),
                    "upn": user.identity.email,
                    "uti": _random(22),
                }
            )
        token = AccessToken(value, account, scopes, now + lifetime)
        with self.lock:
            self.access_tokens[value] = token
        return token

    def _tokens(
        self,
        account: str,
        scopes: list[str],
        form: dict[str, str],
        tenant: str,
        *,
        nonce: str | None = None,
    ) -> Response:
        user = self.accounts[account]
        if not self._tenant_allows(tenant, user):
            return self._wrong_tenant(user, tenant)
        now = self.clock()
        graph: set[str] = set()
        echoed: list[str] = []
        for scope in scopes:
            if scope.lower() == "offline_access":
                continue
            name = graph_scope_name(scope)
            if name is not None and name.lower() == ".default":
                graph.update(c.lower() for c in user.consented)
                echoed.extend(sorted(user.consented))
                continue
            if name is not None and scope.lower() not in OIDC_SCOPES:
                graph.add(name.lower())
            echoed.append(scope)
        access = self._issue_access(account, frozenset(graph))
        refresh = RefreshToken(
            ("M.C5" if user.kind == "personal" else "0.A") + _random(300),
            account,
            self.client_id,
            now,
        )
        self.refresh_tokens[refresh.value] = refresh
        lifetime = int((access.expires_at - now).total_seconds())
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(dict.fromkeys(echoed)),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access.value,
            "refresh_token": refresh.value,
        }
        if any(s.lower() == "openid" for s in scopes):
            body["id_token"] = self._id_token(user, now, nonce)
        if form.get("client_info") == "1":
            body["client_info"] = _b64url(
                json.dumps({"uid": user.identity.oid, "utid": user.identity.tid}).encode()
            )
        return entra_json(body)

    def _id_token(self, user: AuthAccount, now: datetime, nonce: str | None) -> str:
        identity = user.identity
        claims: dict[str, Any] = {
            "ver": "2.0",
            "iss": f"{self.base_url()}/{identity.tid}/v2.0",
            "sub": _b64url(hashlib.sha256(f"{identity.oid}:{self.client_id}".encode()).digest()),
            "aud": self.client_id,
            "exp": int((now + timedelta(hours=1)).timestamp()),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "name": identity.display_name,
            "preferred_username": identity.email,
            "oid": identity.oid,
            "tid": identity.tid,
            "aio": _random(40),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return _jwt(claims)

    # -- interactive (authorization code) ------------------------------------------------------

    def _authorize(self, request: Request, match: re.Match[str]) -> Response:
        tenant = match["tenant"]
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("client_id") != self.client_id:
            return self._invalid_client(query.get("client_id"), tenant)
        redirect = query.get("redirect_uri", "")
        if not redirect or query.get("response_type") != "code":
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request must contain redirect_uri and response_type=code.",
                now=self.clock(),
            )
        hint = (query.get("login_hint") or "").lower()
        account = next(
            (
                name
                for name, a in self.accounts.items()
                if hint in (name.lower(), a.identity.email.lower())
            ),
            self.interactive_account,
        )
        if account is None or not self._tenant_allows(tenant, self.accounts[account]):
            links = "".join(
                f'<li><a href="?{html.escape(urlencode({**query, "login_hint": a.identity.email}))}'
                f'">{html.escape(a.identity.display_name)} ({html.escape(a.identity.email)})'
                "</a></li>"
                for a in self.accounts.values()
                if self._tenant_allows(tenant, a)
            )
            page = f"<html><body><h1>Sandbox sign-in</h1><ul>{links}</ul></body></html>"
            return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method", "plain") != "S256":
            challenge = None  # only S256 is modelled (msal always sends S256)
        code = AuthCode(
            code="0.A" + _random(200),
            account=account,
            client_id=self.client_id,
            redirect_uri=redirect,
            scopes=query.get("scope", "").split(),
            challenge=challenge,
            nonce=query.get("nonce"),
            expires_at=self.clock() + timedelta(minutes=10),
        )
        with self.lock:
            self.auth_codes[code.code] = code
            user = self.accounts[account]
            for scope in code.scopes:
                name = graph_scope_name(scope)
                if name is not None and name.lower() not in OIDC_SCOPES and name != ".default":
                    user.consented.add(name)
        params = {"code": code.code, "session_state": _random(36)}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect else "?"
        return Response(302, b"", {"Location": f"{redirect}{separator}{urlencode(params)}"})

    def _devicelogin_page(self, request: Request, match: re.Match[str]) -> Response:
        options = "".join(
            f'<option value="{html.escape(n)}">{html.escape(a.identity.email)}</option>'
            for n, a in self.accounts.items()
        )
        page = (
            "<html><body><h1>Sandbox device login</h1><form method='post'>"
            "Code: <input name='code'> Account: <select name='account'>"
            f"{options}</select> <button>Sign in</button></form></body></html>"
        )
        return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _devicelogin_submit(self, request: Request, match: re.Match[str]) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        try:
            self.approve(form.get("code", ""), form.get("account"))
        except (KeyError, ValueError) as exc:
            return Response(400, html.escape(str(exc)).encode(), {"Content-Type": "text/plain"})
        text = (
            "You have signed in to the sandbox app on your device. You may now close this window."
        )
        return Response(200, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
