"""Signing in with the user's own Dropbox app (PKCE, no app secret), and checking it later.

trashscan ships no Dropbox app: an app needs Dropbox's production approval before more than 500
users may link it, and a shipped secret would not stay secret. Like rclone users, the user
creates an app in the App Console and passes its key; PKCE needs no secret. The code-paste flow
(no redirect) works on headless machines and over SSH.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests
from dropbox.oauth import DropboxOAuth2FlowNoRedirect
from dropbox.session import API_HOST, WEB_HOST

from trashscan.errors import AccountError, AuthError, UsageError
from trashscan.models import Account, AuthStatus
from trashscan.net_errors import diagnose
from trashscan_dropbox.client import (
    ACCESS_KEY,
    REFRESH_KEY,
    TIMEOUT,
    DropboxSession,
    Hosts,
    make_http,
)
from trashscan_dropbox.options import PROVIDER, Settings, login_hint

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

# What trashscan needs, and nothing more: who the account is (and its type, for retention),
# listing and revisions, restoring, and the thumbnails of deleted photos' last revisions. The
# app must have all four ticked under Permissions.
SCOPES = ["account_info.read", "files.metadata.read", "files.content.write", "files.content.read"]
_APP_HINT = (
    "create an app in the Dropbox App Console (Scoped access, Full Dropbox), tick "
    f"{', '.join(SCOPES)} under Permissions, then run "
    f"`trashscan accounts add {PROVIDER} NAME --option app_key=KEY`"
)


class _Flow(DropboxOAuth2FlowNoRedirect):
    """The SDK's code-paste flow, with its hosts and HTTPS session set per account.

    ``build_url`` binds the token host as a default argument, so an endpoint override has to
    replace the method rather than a module variable.
    """

    def __init__(
        self, app_key: str, hosts: Hosts, session: requests.Session, timeout: float
    ) -> None:
        super().__init__(
            app_key,
            use_pkce=True,
            token_access_type="offline",
            scope=SCOPES,
            timeout=timeout,
        )
        self.requests_session = session
        self._hosts = hosts

    def build_url(self, target: str, params: dict | None = None, host: str | None = None) -> str:
        if host is None or host == API_HOST:
            host = self._hosts.api
        elif host == WEB_HOST:
            host = self._hosts.web
        return super().build_url(target, params, host)


def read_code(prompt: str) -> str:
    """Instructions go to stderr (stdout is for data); the code is read from stdin."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()


def login(
    context: ProviderContext,
    account: Account,
    reader: Callable[[str], str] = read_code,
) -> dict[str, object]:
    """Authorise in the browser, paste the code; the refresh token goes to the keyring."""
    key = account.options.get("app_key")
    if not isinstance(key, str) or not key.strip():
        raise UsageError(f"{PROVIDER} needs the app key of your own Dropbox app", hint=_APP_HINT)
    app_key = key.strip()
    hosts = Hosts.for_account(account)
    flow = _Flow(app_key, hosts, make_http(account, 1), account.timeout or TIMEOUT)
    url = flow.start()
    code = reader(
        "To let trashscan read and restore your deleted Dropbox files:\n"
        f"1. Open {url}\n"
        '2. Click "Allow" (sign in first if asked).\n'
        "3. Copy the authorization code and paste it here: "
    ).strip()
    if not code:
        raise AuthError("no authorization code was entered", hint=login_hint(account))
    try:
        result = flow.finish(code)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise AuthError(
            f"Dropbox did not accept the authorization code (HTTP {status}); codes work once "
            "and expire after a few minutes",
            hint=login_hint(account),
        ) from None
    except requests.RequestException as exc:
        network = diagnose(exc)
        if network is not None:
            raise network.error() from None
        raise AccountError(f"could not reach Dropbox to sign in ({type(exc).__name__})") from None
    except (KeyError, ValueError):
        raise AuthError("Dropbox's answer to the sign-in was incomplete") from None
    if not result.refresh_token:
        raise AuthError("Dropbox returned no refresh token", hint=login_hint(account))
    service = account.secret_service
    context.secrets.set(service, REFRESH_KEY, result.refresh_token)
    if result.access_token and result.expires_at is not None:
        cached = {"token": result.access_token, "expires_at": result.expires_at.isoformat()}
        context.secrets.set(service, ACCESS_KEY, json.dumps(cached))
    return {}


def check_auth(context: ProviderContext, account: Account) -> AuthStatus:
    """One cheap call (refreshing the token if needed); never prompts, so cron can use it."""
    try:
        session = DropboxSession(context, account, Settings.from_account(account))
        try:
            me = session.read(session.client.users_get_current_account, "get_current_account")
        finally:
            session.close()
    except AccountError as exc:
        return AuthStatus(False, str(exc), hint=exc.hint)
    kind = getattr(me.account_type, "_tag", "unknown")
    return AuthStatus(True, f"signed in as {me.email} (Dropbox {kind})")
