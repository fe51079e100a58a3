"""OAuth 2 for the Dropbox fake: ``POST /oauth2/token``, bearer checks, scopes, revocation.

What the real client does, and so what this must answer [SDK dropbox_client.py, oauth.py;
DOC www.dropbox.com/developers/documentation/http/documentation#oauth2-token;
dropbox.tech "Using OAuth 2.0 with offline access"]:

* refresh: ``grant_type=refresh_token&refresh_token=...&client_id=<app key>`` (no secret with
  PKCE, optional ``scope``) → ``{"access_token": "sl...", "token_type": "bearer",
  "expires_in": 14400}``. Short-lived tokens last four hours;
* PKCE login (``DropboxOAuth2FlowNoRedirect(..., use_pkce=True).finish(code)``):
  ``grant_type=authorization_code&code=...&client_id=...&code_verifier=...`` → the same plus
  ``refresh_token`` (offline access), ``scope``, ``account_id`` and ``uid`` (the SDK reads both);
* failures are HTTP 400 with an RFC 6749 body: a revoked or unknown refresh token gives
  ``{"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}``
  (seen verbatim from api.dropboxapi.com in nextcloud/integration_dropbox#34), a garbled one
  ``"refresh token is malformed"`` (boly38/node-mongotools#94), an unknown code
  ``"code doesn't exist or has expired"``. The SDK maps ``invalid_grant`` to
  ``AuthError(invalid_access_token)`` and any other 400 to ``BadInputError``;
* API calls with a bad token get 401 ``invalid_access_token``, with an expired one
  ``expired_access_token`` (then the SDK refreshes once and retries), and with a token lacking
  the route's scope ``missing_scope`` carrying ``required_scope`` [auth.stone AuthError].
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trashscan.sandbox.server import Request, Response
from trashscan_dropbox.sandbox.wire import json_reply

__all__ = [
    "DEFAULT_SCOPES",
    "TOKEN_LIFETIME",
    "AccessToken",
    "AuthState",
    "Grant",
    "TokenProblem",
    "s256",
]

TOKEN_LIFETIME = timedelta(seconds=14400)  # "expires_in": 14400
# What trashscan's app asks for (dropbox.md §5 "Scopes"): read the account, list metadata,
# restore (a content write) and read old revisions for previews.
DEFAULT_SCOPES = frozenset(
    {"account_info.read", "files.metadata.read", "files.content.read", "files.content.write"}
)
_REFRESH_SHAPE = re.compile(r"[A-Za-z0-9_-]{64}")
_ALNUM = string.ascii_letters + string.digits


def _random(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class TokenProblem(Exception):
    """Why a bearer token was refused: the 401 ``AuthError`` tag (and its extra fields)."""

    def __init__(self, tag: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(tag)
        self.tag = tag
        self.extra = extra or {}


@dataclass
class Grant:
    """A refresh token: what ``account`` consented to give app ``app_key``."""

    refresh_token: str
    app_key: str
    account: str
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class AccessToken:
    value: str
    grant: Grant
    scopes: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class AuthCode:
    """An authorization code as /oauth2/authorize would hand out after "Allow"."""

    code: str
    account: str
    app_key: str
    scopes: frozenset[str]
    code_challenge: str | None  # S256 of the verifier; None: any verifier is accepted
    reusable: bool = False  # the sandbox's well-known login code


@dataclass
class AuthState:
    """The app, its grants, tokens and pending codes; thread-safe through ``lock``."""

    app_key: str = field(default_factory=lambda: _random(15, string.ascii_lowercase + "0123456789"))
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)  # account name -> numeric uid
    account_ids: dict[str, str] = field(default_factory=dict)  # account name -> dbid:...
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- issuing (seeding, seams) ----------------------------------------------------------------

    def grant(self, account: str, scopes: frozenset[str] = DEFAULT_SCOPES) -> Grant:
        grant = Grant(_random(64, _ALNUM + "-_"), self.app_key, account, frozenset(scopes))
        with self.lock:
            self.grants[grant.refresh_token] = grant
        return grant

    def issue(
        self, grant: Grant, now: datetime, scopes: frozenset[str] | None = None
    ) -> AccessToken:
        token = AccessToken(
            "sl.u." + _random(120, _ALNUM + "-_"),
            grant,
            frozenset(scopes or grant.scopes),
            now + TOKEN_LIFETIME,
        )
        with self.lock:
            self.tokens[token.value] = token
        return token

    def authorization_code(
        self,
        account: str,
        *,
        code_challenge: str | None = None,
        scopes: frozenset[str] = DEFAULT_SCOPES,
        code: str | None = None,
        reusable: bool = False,
    ) -> str:
        """The code the user would paste after allowing the app (PKCE: bound to the S256
        ``code_challenge`` the client put in the authorize URL)."""
        value = code or _random(43, _ALNUM + "-_")
        with self.lock:
            self.codes[value] = AuthCode(
                value, account, self.app_key, frozenset(scopes), code_challenge, reusable
            )
        return value

    def expire(self, account: str, now: datetime) -> int:
        """Expire every live access token of ``account``; returns how many there were."""
        count = 0
        with self.lock:
            for token in self.tokens.values():
                if token.grant.account == account and not token.revoked and token.expires_at > now:
                    token.expires_at = now - timedelta(seconds=1)
                    count += 1
        return count

    def revoke(self, account: str) -> None:
        """Revoke every grant and token of ``account`` (the user unlinked the app)."""
        with self.lock:
            for grant in self.grants.values():
                if grant.account == account:
                    grant.revoked = True
            for token in self.tokens.values():
                if token.grant.account == account:
                    token.revoked = True

    def revoke_token(self, value: str) -> None:
        """``auth/token/revoke``: "If there is a corresponding refresh token for the access
        token, this disables that refresh token, as well as any other access tokens for that
        refresh token" [auth.stone route token/revoke]."""
        with self.lock:
            grant = self.tokens[value].grant
            grant.revoked = True
            for token in self.tokens.values():
                if token.grant is grant:
                    token.revoked = True

    # -- checking -----------------------------------------------------------------------------

    def check(self, header: str | None, now: datetime, scope: str | None) -> AccessToken:
        """The token behind an ``Authorization: Bearer`` header, or :class:`TokenProblem`."""
        value = header[7:].strip() if header and header[:7].lower() == "bearer " else ""
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.revoked or token.grant.revoked:
                raise TokenProblem("invalid_access_token")
            if now >= token.expires_at:
                raise TokenProblem("expired_access_token")
            if scope is not None and scope not in token.scopes:
                raise TokenProblem("missing_scope", {"required_scope": scope})
            return token

    # -- POST /oauth2/token --------------------------------------------------------------------

    def token_endpoint(self, request: Request, now: datetime) -> Response:
        try:
            form = request.form()
        except UnicodeDecodeError:
            return _oauth_error("invalid_request", "request body is not form-encoded")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh(form, now)
        if grant_type == "authorization_code":
            return self._exchange_code(form, now)
        if not grant_type:
            return _oauth_error("invalid_request", 'missing required field "grant_type"')
        return _oauth_error("unsupported_grant_type", f'unknown grant_type "{grant_type}"')

    def _client_ok(self, client_id: str | None) -> bool:
        return client_id == self.app_key

    def _refresh(self, form: dict[str, str], now: datetime) -> Response:
        value = form.get("refresh_token")
        if not value:
            return _oauth_error("invalid_request", 'missing required field "refresh_token"')
        if not self._client_ok(form.get("client_id")):
            return _oauth_error("invalid_client", "Invalid client_id or client_secret")
        with self.lock:
            grant = self.grants.get(value)
            if grant is None and not _REFRESH_SHAPE.fullmatch(value):
                return _oauth_error("invalid_grant", "refresh token is malformed")
            if grant is None or grant.revoked or grant.app_key != form.get("client_id"):
                return _oauth_error("invalid_grant", "refresh token is invalid or revoked")
            scopes = grant.scopes
            if form.get("scope"):
                asked = frozenset(form["scope"].split())
                if not asked <= grant.scopes:
                    return _oauth_error("invalid_scope", "the requested scope is not granted")
                scopes = asked
            token = self.issue(grant, now, scopes)
        return json_reply(
            {"access_token": token.value, "token_type": "bearer", "expires_in": _seconds()}
        )

    def _exchange_code(self, form: dict[str, str], now: datetime) -> Response:
        value = form.get("code")
        if not value:
            return _oauth_error("invalid_request", 'missing required field "code"')
        if not self._client_ok(form.get("client_id")):
            return _oauth_error("invalid_client", "Invalid client_id or client_secret")
        with self.lock:
            code = self.codes.get(value)
            if code is None or code.app_key != form.get("client_id"):
                return _oauth_error("invalid_grant", "code doesn't exist or has expired")
            verifier = form.get("code_verifier")
            if code.code_challenge is not None and (
                verifier is None or s256(verifier) != code.code_challenge
            ):
                return _oauth_error("invalid_grant", "invalid code verifier")
            if not code.reusable:
                del self.codes[value]
            grant = self.grant(code.account, code.scopes)
            token = self.issue(grant, now)
            account_id = self.account_ids.get(code.account, "")
            uid = self.uids.get(code.account, "0")
        return json_reply(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": _seconds(),
                "refresh_token": grant.refresh_token,
                "scope": " ".join(sorted(grant.scopes)),
                "uid": uid,
                "account_id": account_id,
            }
        )


def _seconds() -> int:
    return int(TOKEN_LIFETIME.total_seconds())


def s256(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _oauth_error(error: str, description: str) -> Response:
    return json_reply({"error": error, "error_description": description}, 400)
