"""The Dropbox fake's /oauth2/authorize page, driven as a browser would, then the SDK's flow."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from dropbox.oauth import DropboxOAuth2FlowNoRedirect

from trashscan.sandbox.server import FakeServer
from trashscan_dropbox.sandbox.authorize import CODE_ELEMENT
from trashscan_dropbox.sandbox.fake import DropboxFake


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, tmp_path: Path) -> DropboxFake:
    dropbox_fake = DropboxFake()
    dropbox_fake.seed(tmp_path / "dbx", datetime.now(UTC), server=server, ca_bundle=ca_bundle)
    return dropbox_fake


def _flow(fake: DropboxFake, browser: requests.Session) -> tuple[DropboxOAuth2FlowNoRedirect, str]:
    assert fake.server is not None
    hostport = fake.server.base_url.removeprefix("https://")
    flow = DropboxOAuth2FlowNoRedirect(
        fake.auth.app_key, use_pkce=True, token_access_type="offline",
        scope=["account_info.read", "files.metadata.read"],
    )  # fmt: skip
    original = flow.build_url

    def build_url(target: str, params: dict | None = None, host: str | None = None) -> str:
        return original(target, params, hostport)  # every Dropbox host is the fake's

    flow.build_url = build_url  # type: ignore[method-assign]
    flow.requests_session = browser
    return flow, flow.start()


def _allow(browser: requests.Session, url: str, account: str, decision: str = "allow") -> str:
    page = browser.get(url)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form = {k: html.unescape(v) for k, v in hidden.items()}
    answer = browser.post(
        url.split("?")[0], data={**form, "account": account, "decision": decision}
    )
    assert answer.status_code == 200
    return answer.text


def test_allow_shows_a_code_the_sdk_exchanges_once_with_its_verifier(fake, browser) -> None:
    flow, url = _flow(fake, browser)
    assert urlsplit(url).path == "/oauth2/authorize"
    assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
    shown = _allow(browser, url, "dave")
    assert "Access code generated" in shown
    code = html.unescape(CODE_ELEMENT.search(shown).group(1))  # type: ignore[union-attr]
    result = flow.finish(code)
    assert result.account_id == fake.accounts["dave"].account_id
    assert result.refresh_token
    assert set(result.scope.split()) == {"account_info.read", "files.metadata.read"}
    with pytest.raises(requests.HTTPError):
        flow.finish(code)  # once only
    other, _ = _flow(fake, browser)  # its own verifier: the challenge on the page was not its
    second = html.unescape(CODE_ELEMENT.search(_allow(browser, url, "dave")).group(1))  # type: ignore[union-attr]
    with pytest.raises(requests.HTTPError):
        other.finish(second)


def test_cancel_gives_no_code(fake, browser) -> None:
    _, url = _flow(fake, browser)
    shown = _allow(browser, url, "carol", decision="deny")
    assert CODE_ELEMENT.search(shown) is None
    assert not [c for c in fake.auth.codes.values() if not c.reusable]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"client_id": "someoneelse"}, "Invalid client_id"),
        ({"response_type": "token"}, "Invalid response_type"),
        ({"redirect_uri": "https://example.com/back"}, "Invalid redirect_uri"),
        ({"code_challenge_method": "S512"}, "Invalid code_challenge_method"),
    ],
)
def test_a_bad_request_is_an_error_page_and_no_code(fake, browser, change, said) -> None:
    _, url = _flow(fake, browser)
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    page = browser.get(url.split("?")[0], params={**query, **change})
    assert page.status_code == 400
    assert said in page.text
    posted = browser.post(url.split("?")[0], data={**query, **change, "account": "carol",
                                                    "decision": "allow"})  # fmt: skip
    assert posted.status_code == 400
    assert CODE_ELEMENT.search(posted.text) is None


def test_an_unknown_user_gets_no_code(fake, browser) -> None:
    _, url = _flow(fake, browser)
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    posted = browser.post(url.split("?")[0], data={**query, "account": "mallory",
                                                    "decision": "allow"})  # fmt: skip
    assert posted.status_code == 400
