"""pyicloud's two session files: rewritten only when their content changes, never later.

pyicloud saves its session data (``NAME.session``) and its whole cookie jar (``NAME.cookiejar``)
after every request. The service skips a save that would write what the last one wrote; a
request that changes a cookie or a session token still has it on disk as soon as it returns, so
a run killed right then needs no new sign-in (nor 2FA) next time.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
from pathlib import Path
from typing import Any

import pytest
import responses

from trashscan_icloud.service import TrashscanICloudService

URL = "https://p42-ckdatabasews.icloud.com:443/database/1/x/records/modify"


@pytest.fixture
def service(tmp_path: Path) -> TrashscanICloudService:
    return TrashscanICloudService(
        "alice@example.org", "pw", cookie_directory=tmp_path, china_mainland=False
    )


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each cookie-jar file write (LWPCookieJar.save, as pyicloud's jar calls it)."""
    recorded: list[str] = []
    real = http.cookiejar.LWPCookieJar.save

    def counting(self: Any, filename: Any = None, *args: Any, **kwargs: Any) -> None:
        recorded.append(str(filename))
        real(self, filename, *args, **kwargs)

    monkeypatch.setattr(http.cookiejar.LWPCookieJar, "save", counting)
    return recorded


def _answer(headers: dict[str, str] | None = None) -> None:
    responses.add(responses.POST, URL, json={"records": []}, headers=headers or {})


def _cookie_file(service: TrashscanICloudService) -> str:
    return Path(service.session.cookiejar_path).read_text(encoding="utf-8")


def _session_file(service: TrashscanICloudService) -> dict[str, Any]:
    return json.loads(Path(service.session.session_path).read_text(encoding="utf-8"))


@responses.activate
def test_requests_that_change_nothing_write_nothing(
    service: TrashscanICloudService, saves: list[str]
) -> None:
    _answer({"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t1; Path=/; Secure; HttpOnly"})
    service.session.post(URL, json={})
    assert len(saves) == 1  # the first save of a session always writes
    for _ in range(10):  # the same cookie again, and no cookie at all
        service.session.post(URL, json={})
    _answer()
    for _ in range(10):
        service.session.post(URL, json={})
    assert len(saves) == 1
    assert "X-APPLE-WEBAUTH-TOKEN=t1" in _cookie_file(service)


@responses.activate
def test_a_changed_cookie_is_on_disk_when_the_request_returns(
    service: TrashscanICloudService, saves: list[str]
) -> None:
    _answer({"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t1; Path=/; Secure; HttpOnly"})
    service.session.post(URL, json={})
    service.session.post(URL, json={})
    responses.replace(
        responses.POST,
        URL,
        json={"records": []},
        headers={"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t2; Path=/; Secure; HttpOnly"},
    )
    service.session.post(URL, json={})
    assert len(saves) == 2
    text = _cookie_file(service)
    assert "X-APPLE-WEBAUTH-TOKEN=t2" in text and "t1" not in text
    assert os.stat(service.session.cookiejar_path).st_mode & 0o777 == 0o600
    # a new cookie next to it, and an attribute alone changing, are changes too
    responses.replace(
        responses.POST,
        URL,
        json={"records": []},
        headers={"Set-Cookie": "X-APPLE-DS-WEB-SESSION-TOKEN=s1; Path=/; Secure"},
    )
    service.session.post(URL, json={})
    assert len(saves) == 3 and "X-APPLE-DS-WEB-SESSION-TOKEN=s1" in _cookie_file(service)
    responses.replace(
        responses.POST,
        URL,
        json={"records": []},
        headers={"Set-Cookie": "X-APPLE-DS-WEB-SESSION-TOKEN=s1; Path=/; Secure; HttpOnly"},
    )
    service.session.post(URL, json={})
    assert len(saves) == 4 and "HttpOnly" in _cookie_file(service).split("SESSION-TOKEN")[1]


@responses.activate
def test_a_changed_session_token_is_on_disk_when_the_request_returns(
    service: TrashscanICloudService, saves: list[str]
) -> None:
    _answer({"X-Apple-Session-Token": "token-1"})
    service.session.post(URL, json={})
    assert _session_file(service)["session_token"] == "token-1"
    service.session.post(URL, json={})
    assert len(saves) == 1
    responses.replace(
        responses.POST, URL, json={"records": []}, headers={"X-Apple-Session-Token": "token-2"}
    )
    service.session.post(URL, json={})
    assert _session_file(service)["session_token"] == "token-2"
    assert len(saves) == 2
    # a value changed in place by pyicloud (session.data is a plain dict) is seen too
    service.session.data["trust_token"] = "trust-1"
    _answer()
    service.session.post(URL, json={})
    assert _session_file(service)["trust_token"] == "trust-1"


@responses.activate
def test_a_failed_cookie_save_is_tried_again_after_the_next_request(
    service: TrashscanICloudService, saves: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = http.cookiejar.LWPCookieJar.save
    failing = [True]

    def flaky(self: Any, *args: Any, **kwargs: Any) -> None:
        if failing[0]:
            raise OSError("disk full")
        real(self, *args, **kwargs)

    monkeypatch.setattr(http.cookiejar.LWPCookieJar, "save", flaky)
    _answer({"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t1; Path=/; Secure; HttpOnly"})
    service.session.post(URL, json={})  # pyicloud logs the failure and goes on
    assert not Path(service.session.cookiejar_path).exists()
    failing[0] = False
    service.session.post(URL, json={})
    assert "X-APPLE-WEBAUTH-TOKEN=t1" in _cookie_file(service)


@responses.activate
def test_cleared_persistence_is_written_again(service: TrashscanICloudService) -> None:
    _answer({"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t1; Path=/; Secure; HttpOnly"})
    service.session.post(URL, json={})
    service.session.clear_persistence(remove_files=True)
    assert not Path(service.session.cookiejar_path).exists()
    service.session.post(URL, json={})
    assert "X-APPLE-WEBAUTH-TOKEN=t1" in _cookie_file(service)
