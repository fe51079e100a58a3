"""The Google fake's consent page and code exchange, driven by google-auth-oauthlib's own Flow
(what the plugin's loopback sign-in uses) and a browser that follows nothing by itself."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from trashscan.sandbox.server import FakeServer
from trashscan_google_drive.sandbox.fake import GoogleDriveFake

DRIVE = "https://www.googleapis.com/auth/drive"
REDIRECT = "http://localhost:8765/"


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, tmp_path: Path) -> GoogleDriveFake:
    drive_fake = GoogleDriveFake()
    drive_fake.seed(tmp_path / "gd", datetime.now(UTC), server=server, ca_bundle=ca_bundle)
    return drive_fake


def _flow(fake: GoogleDriveFake, ca_bundle: Path, account: str = "alice") -> Flow:
    config = json.loads(fake.client_files[account].read_text())
    flow = Flow.from_client_config(config, scopes=[DRIVE], redirect_uri=REDIRECT)
    flow.oauth2session.verify = str(ca_bundle)
    flow.oauth2session.trust_env = False
    return flow


def _consent(browser: requests.Session, url: str, email: str, decision: str = "allow") -> str:
    """The page, then its form sent back; the redirect's Location (not followed)."""
    page = browser.get(url)
    assert page.status_code == 200, page.text
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
    form = {name: html.unescape(value) for name, value in hidden}
    answer = browser.post(
        url.split("?")[0],
        data={**form, "account": email, "decision": decision},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def test_the_client_file_points_at_the_fake_and_is_private(fake: GoogleDriveFake) -> None:
    path = fake.client_files["alice"]
    assert path.stat().st_mode & 0o077 == 0
    installed = json.loads(path.read_text())["installed"]
    assert installed["client_id"] == fake.accounts["alice"].client.client_id
    assert urlsplit(installed["auth_uri"]).path == "/o/oauth2/auth"
    assert urlsplit(installed["token_uri"]).path == "/token"


def test_allow_redirects_back_with_a_code_exchanged_once_with_pkce(
    fake: GoogleDriveFake, ca_bundle: Path, browser: requests.Session
) -> None:
    flow = _flow(fake, ca_bundle)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    assert "code_challenge=" in url
    back = _consent(browser, url, fake.accounts["alice"].email)
    query = parse_qs(urlsplit(back).query)
    assert back.startswith(REDIRECT) and query["state"] == [state] and query["scope"] == [DRIVE]
    flow.fetch_token(authorization_response=back.replace("http://", "https://"))
    credentials = flow.credentials
    assert credentials.refresh_token and credentials.token
    issued = fake.auth.tokens[credentials.token]
    assert (issued.email, issued.scopes) == (fake.accounts["alice"].email, frozenset({DRIVE}))
    with pytest.raises(OAuth2Error, match="invalid_grant"):  # a code works once
        flow.fetch_token(authorization_response=back.replace("http://", "https://"))
    again = _flow(fake, ca_bundle)
    url, _ = again.authorization_url(access_type="offline", prompt="consent")
    back = _consent(browser, url, fake.accounts["alice"].email)
    with pytest.raises(
        OAuth2Error, match="invalid_grant"
    ):  # another flow's verifier does not match the challenge
        again.fetch_token(
            authorization_response=back.replace("http://", "https://"),
            code_verifier=flow.code_verifier,
        )


def test_cancel_redirects_with_access_denied_and_no_code(
    fake: GoogleDriveFake, ca_bundle: Path, browser: requests.Session
) -> None:
    url, _ = _flow(fake, ca_bundle).authorization_url()
    back = _consent(browser, url, fake.accounts["alice"].email, decision="deny")
    query = parse_qs(urlsplit(back).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    assert fake.auth.codes == {}


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"client_id": "nobody.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"redirect_uri": "https://example.com/back"}, 400, "redirect_uri_mismatch"),
        ({"response_type": "token"}, 400, "invalid_request"),
    ],
)
def test_a_bad_request_is_an_error_page_without_a_redirect(
    fake: GoogleDriveFake, ca_bundle: Path, browser: requests.Session, change, status, said
) -> None:
    url, _ = _flow(fake, ca_bundle).authorization_url()
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    page = browser.get(url.split("?")[0], params={**query, **change}, allow_redirects=False)
    assert page.status_code == status and said in page.text
    posted = browser.post(
        url.split("?")[0],
        data={**query, **change, "account": fake.accounts["alice"].email, "decision": "allow"},
        allow_redirects=False,
    )
    assert posted.status_code == status and "Location" not in posted.headers
    assert fake.auth.codes == {}
