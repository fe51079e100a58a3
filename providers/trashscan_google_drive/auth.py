"""Signing in with the user's own Desktop OAuth client, and checking the grant later.

trashscan ships no OAuth client: a published app asking for the restricted ``drive`` scope would
need Google's verification and a security assessment. Like rclone and GAM, the user creates a
Desktop client in their own Google Cloud project; its JSON is read only here, at login.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from google_auth_oauthlib.flow import InstalledAppFlow
from requests_oauthlib import OAuth2Session

from trashscan.errors import AccountError, AuthError, UsageError
from trashscan.models import Account, AuthStatus
from trashscan.net_errors import checked_ca_bundle, diagnose, host_label
from trashscan.tls import PinnedVerifyMixin
from trashscan_google_drive.client import (
    PROVIDER,
    SECRET_KEY,
    DriveSession,
    GrantError,
    relogin_hint,
)

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
ACTIVITY_SCOPE = "https://www.googleapis.com/auth/drive.activity.readonly"
_PROMPT = "Open this URL to let trashscan read your Drive trash:\n{url}"
_CLIENT_HINT = (
    "create a Desktop app OAuth client in the Google Cloud console (APIs & Services > "
    "Credentials), download its JSON, then run "
    f"`trashscan accounts add {PROVIDER} NAME --option client_secrets=PATH`"
)


def activity_enabled(options: Mapping[str, Any], default: bool = False) -> bool:
    """The ``activity`` option. An account added before it became the default lacks it, and
    its grant lacks the scope: it stays off until the account signs in again."""
    value = options.get("activity", default)
    return value is True or (isinstance(value, str) and value.lower() in {"true", "yes", "1"})


def scopes_for(options: Mapping[str, Any]) -> list[str]:
    """The ``scopes`` option when given (a list, or a space/comma separated string)."""
    override = options.get("scopes")
    if override:
        items = override if isinstance(override, list) else str(override).replace(",", " ").split()
        return [str(scope) for scope in items]
    return [DRIVE_SCOPE, ACTIVITY_SCOPE] if activity_enabled(options) else [DRIVE_SCOPE]


def _client_config(account: Account) -> dict[str, Any]:
    path = account.options.get("client_secrets")
    if not path:
        raise UsageError(f"{PROVIDER} needs your own OAuth client to sign in", hint=_CLIENT_HINT)
    path = os.path.expanduser(str(path))
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except OSError as exc:
        raise UsageError(
            f"cannot read client_secrets {path}: {exc.strerror or type(exc).__name__}"
        ) from None
    except ValueError:
        raise UsageError(f"client_secrets {path} is not JSON", hint=_CLIENT_HINT) from None
    if not isinstance(config, dict) or "installed" not in config:
        # A "web" client's redirect URIs never match the loopback one the local server uses.
        raise UsageError(
            f"client_secrets {path} is not a Desktop app OAuth client", hint=_CLIENT_HINT
        )
    return config


class _PinnedOAuth2Session(PinnedVerifyMixin, OAuth2Session):
    """The consent flow's session: the code exchange trusts the account's ``ca_bundle`` (a
    private CA, the sandbox's) over REQUESTS_CA_BUNDLE, as every later request does."""


def _flow(account: Account, scopes: list[str]) -> InstalledAppFlow:
    config = _client_config(account)
    flow = InstalledAppFlow.from_client_config(config, scopes)  # validates the client file
    token_host = (
        host_label(str(config["installed"].get("token_uri", ""))) or "oauth2.googleapis.com"
    )
    session = _PinnedOAuth2Session(client_id=config["installed"]["client_id"], scope=scopes)
    session.verify = checked_ca_bundle(account, token_host) or True
    flow.oauth2session = session
    return flow


def login(context: ProviderContext, account: Account, interactive: bool) -> dict[str, object]:
    """Browser consent on a loopback redirect; the grant goes to the keyring.

    Drive Activity is on unless the account says ``activity = false``: it is the only way to
    date photos that were already in the My Drive trash when the account was added. The choice
    goes to the config, which is all that is written there.
    """
    activity = activity_enabled(account.options, default=True)
    scopes = scopes_for({**account.options, "activity": activity})
    flow = _flow(account, scopes)
    try:
        credentials = flow.run_local_server(
            host="localhost",
            port=0,
            open_browser=interactive,
            # Forces a refresh token even when this client was authorised before.
            prompt="consent",
            authorization_prompt_message=_PROMPT,
            success_message="trashscan is signed in. You can close this tab.",
        )
    except Warning:  # oauthlib: fewer scopes granted than asked (a box left unticked)
        raise AuthError(
            "Google sign-in did not grant every permission trashscan asked for",
            hint=f"{relogin_hint(account)} and tick every box on the consent screen",
        ) from None
    except Exception as exc:  # denied consent, state mismatch, token exchange failure
        network = diagnose(exc)  # the token exchange could not reach Google: not a sign-in fault
        if network is not None:
            raise network.error() from None
        raise AuthError(
            f"Google sign-in failed ({type(exc).__name__})", hint=relogin_hint(account)
        ) from None
    if not credentials.refresh_token:
        raise AuthError("Google returned no refresh token", hint=relogin_hint(account))
    context.secrets.set(account.secret_service, SECRET_KEY, credentials.to_json())
    return {"activity": activity}


def check_auth(session_factory: Callable[[Account], DriveSession], account: Account) -> AuthStatus:
    """One cheap call (refreshing the token if needed); never prompts, so cron can use it."""
    try:
        session = session_factory(account)
        about = session.call(session.drive.about().get(fields="user(emailAddress)"), "about.get")
    except GrantError as exc:
        return AuthStatus(False, "Google grant expired or revoked", hint=exc.hint)
    except AccountError as exc:
        return AuthStatus(False, str(exc), hint=exc.hint)
    email = (about.get("user") or {}).get("emailAddress")
    return AuthStatus(True, f"signed in as {email}" if email else "signed in")
