"""OAuth 2.0 for the Google fake: the token endpoint, bearer checks, scopes, enabled APIs.

The real clients authenticate unmodified: google-auth's ``Credentials.refresh`` POSTs
``grant_type=refresh_token`` with ``client_id``, ``client_secret``, ``refresh_token`` and, when the
credentials carry scopes, ``scope`` (google/oauth2/_client.py ``refresh_grant``: "all scopes must
be authorized for the refresh token"); ``google_auth_httplib2.AuthorizedHttp`` refreshes and
retries once on a 401. So the fake must (1) reject unknown or expired access tokens with Google's
401, (2) mint tokens at ``POST /token``, (3) refuse revoked refresh tokens with ``invalid_grant``
(google-auth turns that into ``google.auth.exceptions.RefreshError``).

Each account has its own OAuth client (bring-your-own client, google.md §1.6) in its own Cloud
project; a project lists the APIs it has enabled, which is how an account without Drive Activity
gets the 403 "API has not been used in project" answer real projects get.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trashscan.sandbox.server import Request, Response
from trashscan_google_drive.sandbox.fields import discovery
from trashscan_google_drive.sandbox.wire import ApiError, json_reply, rpc_error

__all__ = [
    "ACTIVITY_SERVICE",
    "DEFAULT_SCOPES",
    "DRIVE_SERVICE",
    "AccessToken",
    "AuthCode",
    "AuthState",
    "Grant",
    "OAuthClient",
    "insufficient_scopes",
]

DRIVE_SERVICE = "drive.googleapis.com"
ACTIVITY_SERVICE = "driveactivity.googleapis.com"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
# What a user who went through trashscan's consent screen would have granted: full Drive (list
# and untrash need a restricted scope, google.md §1.6) plus read access to Drive Activity.
DEFAULT_SCOPES = frozenset({SCOPE_PREFIX + "drive", SCOPE_PREFIX + "drive.activity.readonly"})
TOKEN_LIFETIME = timedelta(seconds=3599)  # Google's "expires_in": 3599

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_ALNUM = string.ascii_letters + string.digits


def _random(n: int, alphabet: str = _ALNUM + "-_") -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    project_number: str
    enabled_services: set[str]


@dataclass
class Grant:
    """A refresh token: the consent ``email`` gave ``client_id`` for ``scopes``."""

    refresh_token: str
    client_id: str
    email: str
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class AccessToken:
    value: str
    email: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime
    revoked: bool = False

    def valid(self, now: datetime) -> bool:
        return not self.revoked and now < self.expires_at


@dataclass
class AuthCode:
    """What the consent page hands the app's loopback redirect after "Allow"."""

    code: str
    client_id: str
    email: str
    scopes: frozenset[str]
    redirect_uri: str
    code_challenge: str | None  # S256 form (a plain challenge is hashed when stored)


@dataclass
class AuthState:
    """Clients, grants, tokens and pending codes; thread-safe through ``lock``."""

    clients: dict[str, OAuthClient] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- set-up (seeding and test seams) -----------------------------------------------------

    def register_client(self, enabled_services: set[str]) -> OAuthClient:
        project = str(secrets.randbelow(9 * 10**11) + 10**11)
        client = OAuthClient(
            client_id=f"{project}-{_random(32, string.ascii_lowercase + string.digits)}"
            ".apps.googleusercontent.com",
            client_secret="GOCSPX-" + _random(28),
            project_number=project,
            enabled_services=set(enabled_services),
        )
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def grant(self, client: OAuthClient, email: str, scopes: frozenset[str]) -> Grant:
        grant = Grant("1//0" + _random(100), client.client_id, email, frozenset(scopes))
        with self.lock:
            self.grants[grant.refresh_token] = grant
        return grant

    def issue(
        self, grant: Grant, now: datetime, scopes: frozenset[str] | None = None
    ) -> AccessToken:
        token = AccessToken(
            value="ya29.a0" + _random(150),
            email=grant.email,
            client_id=grant.client_id,
            scopes=scopes or grant.scopes,
            expires_at=now + TOKEN_LIFETIME,
        )
        with self.lock:
            self.tokens[token.value] = token
        return token

    def authorization_code(
        self,
        client_id: str,
        email: str,
        scopes: frozenset[str],
        *,
        redirect_uri: str,
        code_challenge: str | None = None,
        challenge_method: str = "S256",
    ) -> str:
        """A one-time code, as the consent page gives after "Allow" (``4/0`` + random, the
        shape of Google's)."""
        if code_challenge is not None and challenge_method == "plain":
            code_challenge = _s256(code_challenge)
        code = AuthCode(
            "4/0" + _random(70), client_id, email, frozenset(scopes), redirect_uri, code_challenge
        )
        with self.lock:
            self.codes[code.code] = code
        return code.code

    def expire_tokens(self, email: str, now: datetime) -> int:
        """Make every access token of ``email`` expired; returns how many were live."""
        with self.lock:
            live = [t for t in self.tokens.values() if t.email == email and t.valid(now)]
            for token in live:
                token.expires_at = now - timedelta(seconds=1)
            return len(live)

    def reject_tokens(self, email: str) -> int:
        """Invalidate every live access token of ``email`` before its expiry (refresh tokens
        stay good); returns how many were live."""
        with self.lock:
            live = [t for t in self.tokens.values() if t.email == email and not t.revoked]
            for token in live:
                token.revoked = True
            return len(live)

    def set_scopes(self, email: str, scopes: frozenset[str]) -> None:
        """What ``email`` consented to is now exactly ``scopes``: for every grant and every
        access token (refreshing for more then fails with ``invalid_scope``)."""
        with self.lock:
            for grant in self.grants.values():
                if grant.email == email:
                    grant.scopes = frozenset(scopes)
            for token in self.tokens.values():
                if token.email == email:
                    token.scopes = frozenset(scopes)

    def revoke(self, email: str) -> None:
        """Revoke refresh and access tokens, as a user removing the app's access would."""
        with self.lock:
            for grant in self.grants.values():
                if grant.email == email:
                    grant.revoked = True
            for token in self.tokens.values():
                if token.email == email:
                    token.revoked = True

    # -- the token endpoint --------------------------------------------------------------------

    def token_endpoint(self, request: Request, now: datetime) -> Response:
        """``POST /token``: ``refresh_token`` (RFC 6749 §6) and ``authorization_code`` (§4.1.3,
        with PKCE, RFC 7636), with Google's error bodies."""
        form = request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization") or ""
        if basic.lower().startswith("basic "):  # RFC 6749 §2.3.1 also allows HTTP Basic
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                return _oauth_error(401, "invalid_client", "Unauthorized")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id, client_secret, now)
        if grant_type != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        with self.lock:
            client = self._client(client_id, client_secret)
            if isinstance(client, Response):
                return client
            if not form.get("refresh_token"):
                return _oauth_error(
                    400, "invalid_request", "Missing required parameter: refresh_token"
                )
            grant = self.grants.get(form["refresh_token"])
            if grant is None or grant.revoked or grant.client_id != client.client_id:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            scopes = grant.scopes
            if form.get("scope"):
                requested = frozenset(form["scope"].split())
                if not requested <= grant.scopes:
                    return _oauth_error(400, "invalid_scope", "Bad Request")
                scopes = requested
            token = self.issue(grant, now, scopes)
        return json_reply(
            {
                "access_token": token.value,
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "scope": " ".join(sorted(token.scopes)),
                "token_type": "Bearer",
            }
        )

    def _client(self, client_id: str | None, client_secret: str | None) -> OAuthClient | Response:
        """The client a token request authenticates as, or Google's 401 ``invalid_client``."""
        client = self.clients.get(client_id or "")
        if client is None:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(client.client_secret, client_secret or ""):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        return client

    def _exchange_code(
        self, form: dict[str, str], client_id: str | None, client_secret: str | None, now: datetime
    ) -> Response:
        """The installed-app flow's last step: a code for a refresh and an access token. The
        error bodies are those seen from oauth2.googleapis.com in public reports
        (``invalid_grant`` "Bad Request" / "Malformed auth code." / "Invalid code verifier.",
        ``redirect_uri_mismatch`` "Bad Request")."""
        with self.lock:
            client = self._client(client_id, client_secret)
            if isinstance(client, Response):
                return client
            value = form.get("code") or ""
            if not value:
                return _oauth_error(400, "invalid_request", "Missing required parameter: code")
            code = self.codes.get(value)
            if code is None or code.client_id != client.client_id:
                return _oauth_error(400, "invalid_grant", "Malformed auth code.")
            if form.get("redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            verifier = form.get("code_verifier")
            if code.code_challenge is not None and (
                not verifier or _s256(verifier) != code.code_challenge
            ):
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
            del self.codes[value]  # a code works once
            grant = self.grant(client, code.email, code.scopes)
            token = self.issue(grant, now)
        return json_reply(
            {
                "access_token": token.value,
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "refresh_token": grant.refresh_token,
                "scope": " ".join(sorted(token.scopes)),
                "token_type": "Bearer",
            }
        )

    # -- checks on API calls -----------------------------------------------------------------

    def authenticate(self, request: Request, now: datetime) -> AccessToken:
        """The caller's valid access token, or :class:`ApiError` with Google's 401."""
        header = request.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        with self.lock:
            token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is not None and token.valid(now):
                return token
        challenge = 'Bearer realm="https://accounts.google.com/"'
        if header:
            challenge += ', error="invalid_token"'
        raise ApiError(
            rpc_error(
                401,
                "UNAUTHENTICATED",
                UNAUTHENTICATED_MESSAGE,
                errors=[
                    {
                        "message": "Invalid Credentials",
                        "domain": "global",
                        "reason": "authError",
                        "location": "Authorization",
                        "locationType": "header",
                    }
                ],
                headers={"WWW-Authenticate": challenge},
            )
        )

    def authorize(
        self, request: Request, now: datetime, service: str, method_id: str
    ) -> AccessToken:
        """Authenticate, then check the client's project enables ``service`` and the token
        holds one of the scopes the discovery document lists for ``method_id``."""
        token = self.authenticate(request, now)
        client = self.clients[token.client_id]
        if service not in client.enabled_services:
            raise ApiError(_service_disabled(service, client.project_number))
        allowed = _method_scopes(method_id)
        if allowed and not (token.scopes & allowed):
            raise ApiError(insufficient_scopes(service, method_id, allowed))
        return token


def _s256(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_reply({"error": error, "error_description": description}, status)


def _method_scopes(method_id: str) -> frozenset[str]:
    api, version = (
        ("driveactivity", "v2")
        if method_id.startswith("driveactivity.")
        else (
            "drive",
            "v3",
        )
    )
    stack: list[dict[str, Any]] = [discovery(api, version)]
    while stack:
        node = stack.pop()
        for method in node.get("methods", {}).values():
            if method.get("id") == method_id:
                return frozenset(method.get("scopes", ()))
        stack.extend(node.get("resources", {}).values())
    return frozenset()


def _service_disabled(service: str, project: str) -> Response:
    """What Google answers when the caller's Cloud project has not enabled ``service``."""
    title = {ACTIVITY_SERVICE: "Drive Activity API", DRIVE_SERVICE: "Google Drive API"}[service]
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project}"
    message = (
        f"{title} has not been used in project {project} before or it is disabled. Enable it "
        f"by visiting {url} then retry. If you enabled this API recently, wait a few minutes for "
        "the action to propagate to our systems and retry."
    )
    return rpc_error(
        403,
        "PERMISSION_DENIED",
        message,
        errors=[
            {
                "message": message,
                "domain": "usageLimits",
                "reason": "accessNotConfigured",
                "extendedHelp": "https://console.developers.google.com",
            }
        ],
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": service, "consumer": f"projects/{project}"},
            }
        ],
    )


def insufficient_scopes(service: str, method_id: str, allowed: frozenset[str]) -> Response:
    return rpc_error(
        403,
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
        errors=[
            {
                "message": "Insufficient Permission",
                "domain": "global",
                "reason": "insufficientPermissions",
            }
        ],
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {"service": service, "method": method_id},
            }
        ],
        headers={
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
            f'error="insufficient_scope", scope="{" ".join(sorted(allowed))}"'
        },
    )
