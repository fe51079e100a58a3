"""Sign-in: PKCE code paste, no app secret, the refresh token to the keyring only."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from trashscan.errors import AuthError, UsageError
from trashscan_dropbox.auth import SCOPES

from .conftest import APP_KEY, SERVICE, Harness, account

LOCAL = "https://127.0.0.1:8443"
GRANT = {
    "access_token": "sl.first",
    "expires_in": 14400,
    "token_type": "bearer",
    "refresh_token": "rt-new",
    "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
    "uid": "12345",
    "scope": " ".join(SCOPES),
}


def _authorize_url(prompt: str) -> str:
    return next(word for word in prompt.split() if word.startswith("https://"))


def test_login_uses_pkce_without_secret_and_stores_the_refresh_token(dbx: Harness) -> None:
    dbx.secrets.values.clear()
    dbx.codes.append("  pasted-code \n")
    dbx.rsps.add(responses.POST, f"{LOCAL}/oauth2/token", json=GRANT)
    saved = dbx.provider.login(account(endpoint=f"{LOCAL}/"), interactive=False)
    assert saved == {}

    url = urlsplit(_authorize_url(dbx.prompts[0]))
    assert (url.netloc, url.path) == ("127.0.0.1:8443", "/oauth2/authorize")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == APP_KEY
    assert query["response_type"] == "code"
    assert query["token_access_type"] == "offline"
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == (
        "account_info.read files.metadata.read files.content.write files.content.read"
    )

    (sent,) = dbx.sent
    assert sent.host == "127.0.0.1:8443"
    assert set(sent.body) == {"grant_type", "code", "client_id", "code_verifier"}  # no secret
    assert sent.body["grant_type"] == "authorization_code"
    assert sent.body["code"] == "pasted-code"
    assert sent.body["client_id"] == APP_KEY

    assert dbx.secrets.get(SERVICE, "refresh_token") == "rt-new"
    cached = json.loads(dbx.secrets.get(SERVICE, "access_token") or "{}")
    assert cached["token"] == "sl.first"


def test_login_without_endpoint_talks_to_dropbox(dbx: Harness) -> None:
    dbx.codes.append("code")
    dbx.rsps.add(responses.POST, "https://api.dropboxapi.com/oauth2/token", json=GRANT)
    dbx.provider.login(account(), interactive=True)
    assert _authorize_url(dbx.prompts[0]).startswith("https://www.dropbox.com/oauth2/authorize?")


def test_login_needs_an_app_key(dbx: Harness) -> None:
    acct = account()
    with pytest.raises(UsageError, match="app key") as raised:
        dbx.provider.login(type(acct)(acct.name, acct.provider, {}), interactive=True)
    assert "App Console" in (raised.value.hint or "")


@pytest.mark.parametrize("code", ["", "   "])
def test_login_without_a_code_stores_nothing(dbx: Harness, code: str) -> None:
    dbx.secrets.values.clear()
    dbx.codes.append(code)
    with pytest.raises(AuthError, match="no authorization code"):
        dbx.provider.login(account(), interactive=False)
    assert dbx.secrets.values == {}


def test_refused_code_is_an_auth_error(dbx: Harness) -> None:
    dbx.secrets.values.clear()
    dbx.codes.append("stale")
    answer: dict[str, Any] = {"error": "invalid_grant", "error_description": "code doesn't exist"}
    dbx.rsps.add(responses.POST, "https://api.dropboxapi.com/oauth2/token", json=answer, status=400)
    with pytest.raises(AuthError, match="HTTP 400"):
        dbx.provider.login(account(), interactive=True)
    assert dbx.secrets.values == {}
