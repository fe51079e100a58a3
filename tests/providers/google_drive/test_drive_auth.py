"""Credentials, token refresh, sign-in, retries and the endpoint contract."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httplib2
import pytest
import requests
from google.oauth2.credentials import Credentials

from trashscan.errors import AccountError, AuthError, ProviderUnavailableError, UsageError
from trashscan.models import AuthStatus
from trashscan.net_errors import NetworkError
from trashscan_google_drive import auth
from trashscan_google_drive.client import DriveSession, Endpoints, make_http

from .conftest import CREDENTIALS, NAME, SERVICE, Harness, account, error, ok

HINT = f"re-run `trashscan accounts add google-drive {NAME}`"
ABOUT = ok({"user": {"emailAddress": "alice@example.com"}})


def _expired(gd: Harness) -> None:
    stale = {k: v for k, v in CREDENTIALS.items() if k not in {"token", "expiry"}}
    gd.secrets.set(SERVICE, "authorized_user", json.dumps(stale))


def _scan_first_request(gd: Harness, endpoint: str | None = None) -> None:
    next(gd.provider.scan(account(endpoint), None), None)


# ----------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize("endpoint", ["https://127.0.0.1:8443", "https://127.0.0.1:8443/"])
def test_every_url_derives_from_the_account_endpoint(endpoint: str) -> None:
    assert Endpoints.for_account(account(endpoint)) == Endpoints(
        drive="https://127.0.0.1:8443/drive/v3/",
        batch="https://127.0.0.1:8443/batch/drive/v3",
        activity="https://127.0.0.1:8443/",
        token="https://127.0.0.1:8443/token",
    )


def test_default_urls_are_googles() -> None:
    assert Endpoints.for_account(account()) == Endpoints(
        drive="https://www.googleapis.com/drive/v3/",
        batch="https://www.googleapis.com/batch/drive/v3",
        activity="https://driveactivity.googleapis.com/",
        token=None,
    )


def test_ca_bundle_is_used_by_api_calls_and_token_refresh(gd: Harness, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")  # checked to exist, before any request
    acct = replace(account("https://127.0.0.1:8443"), ca_bundle=str(bundle))

    http = make_http(acct)
    session = DriveSession(gd.provider.context, acct, http)

    assert isinstance(http, httplib2.Http) and http.ca_certs == str(bundle)
    assert session.http.http is http
    assert session.http._request.http is http  # the refresh transport is the same object


# ----------------------------------------------------------------------------- credentials


def test_missing_credentials_say_how_to_sign_in(gd: Harness) -> None:
    gd.secrets.values.clear()

    with pytest.raises(AuthError) as raised:
        _scan_first_request(gd)

    assert str(raised.value) == f"no stored Google credentials for {NAME}"
    assert raised.value.hint == (
        f"run `trashscan accounts add google-drive {NAME} --option client_secrets=PATH`"
    )


def test_an_expired_token_is_refreshed_through_the_endpoint_and_stored(gd: Harness) -> None:
    _expired(gd)
    gd.respond(ok({"access_token": "ya29.fresh", "expires_in": 3599}), ABOUT)

    status = gd.provider.check_auth(account("https://127.0.0.1:8443"))

    assert status == AuthStatus(True, "signed in as alice@example.com")
    refresh, about = gd.requests
    assert (refresh.method, refresh.host, refresh.path) == ("POST", "127.0.0.1:8443", "/token")
    form = dict(parse_qsl(refresh.body))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == CREDENTIALS["refresh_token"]
    assert about.path == "/drive/v3/about"
    assert about.query == {"fields": "user(emailAddress)", "alt": "json"}
    assert about.headers["authorization"] == "Bearer ya29.fresh"
    stored = json.loads(gd.secrets.get(SERVICE, "authorized_user") or "{}")
    assert stored["token"] == "ya29.fresh"
    assert stored["refresh_token"] == CREDENTIALS["refresh_token"]


def test_a_valid_token_is_not_refreshed_nor_rewritten(gd: Harness) -> None:
    before = gd.secrets.get(SERVICE, "authorized_user")
    gd.respond(ABOUT)

    assert gd.provider.check_auth(account()).ok
    assert len(gd.requests) == 1
    assert gd.secrets.get(SERVICE, "authorized_user") == before


def test_a_revoked_grant_is_an_auth_error_naming_the_fix(gd: Harness) -> None:
    _expired(gd)
    revoked = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    gd.respond(({"status": "400", "content-type": "application/json"}, json.dumps(revoked)))

    with pytest.raises(AuthError) as raised:
        _scan_first_request(gd)

    assert raised.value.hint == HINT
    assert "expired or was revoked" in str(raised.value)
    assert raised.value.exit_code == 1  # this account fails; the others carry on


def test_check_auth_reports_a_revoked_grant_without_raising(gd: Harness) -> None:
    _expired(gd)
    gd.respond(({"status": "400"}, json.dumps({"error": "invalid_grant"})))

    status = gd.provider.check_auth(account())

    assert status == AuthStatus(False, "Google grant expired or revoked", HINT)


def test_check_auth_without_credentials_says_how_to_sign_in(gd: Harness) -> None:
    gd.secrets.values.clear()

    status = gd.provider.check_auth(account())

    assert not status.ok and "client_secrets=PATH" in (status.hint or "")


# ----------------------------------------------------------------------------- retries


def test_429_waits_as_long_as_retry_after_says(gd: Harness) -> None:
    gd.respond(error(429, "rateLimitExceeded", **{"retry-after": "7"}), ABOUT)

    assert gd.provider.check_auth(account()).ok
    assert gd.sleeps == [7.0]
    assert len(gd.requests) == 2


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "rateLimitExceeded"])
def test_403_rate_limits_are_retried_with_backoff(gd: Harness, reason: str) -> None:
    gd.respond(error(403, reason), ABOUT)

    assert gd.provider.check_auth(account()).ok
    assert gd.sleeps == [0.375]  # base 0.5 s, "equal jitter" with random() = 0.5


def test_5xx_are_retried(gd: Harness) -> None:
    gd.respond(({"status": "502"}, "bad gateway"), ({"status": "500"}, "oops"), ABOUT)

    assert gd.provider.check_auth(account()).ok
    assert len(gd.sleeps) == 2


def test_other_403s_are_not_retried(gd: Harness) -> None:
    gd.respond(error(403, "insufficientFilePermissions"))

    with pytest.raises(AccountError) as raised:
        _scan_first_request(gd)

    assert gd.sleeps == []
    assert str(raised.value) == (
        "Google Drive refused changes.getStartPageToken: HTTP 403 (insufficientFilePermissions)"
    )


def test_retries_are_bounded(gd: Harness) -> None:
    gd.respond(*[({"status": "503"}, "down")] * 5)

    with pytest.raises(ProviderUnavailableError):
        _scan_first_request(gd)

    assert len(gd.sleeps) == 4


# ----------------------------------------------------------------------------- login


class _Flow:
    created: list[tuple[dict, list[str]]] = []  # noqa: RUF012
    ran: list[dict[str, Any]] = []  # noqa: RUF012

    @classmethod
    def from_client_config(cls, config: dict, scopes: list[str]) -> _Flow:
        cls.created.append((config, scopes))
        return cls()

    def run_local_server(self, **kwargs: Any) -> Credentials:
        self.ran.append(kwargs)
        return Credentials(
            token="ya29.new",
            refresh_token="1//new",
            client_id="cid",
            client_secret="csecret",
            token_uri="https://oauth2.googleapis.com/token",
            scopes=self.created[-1][1],
        )


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> type[_Flow]:
    _Flow.created, _Flow.ran = [], []
    monkeypatch.setattr(auth, "InstalledAppFlow", _Flow)
    return _Flow


def _client_file(tmp_path: Path, kind: str = "installed") -> str:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({kind: {"client_id": "cid", "client_secret": "csecret"}}))
    return str(path)


def test_login_runs_the_loopback_flow_and_keeps_the_grant_in_the_keyring(
    gd: Harness, flow: type[_Flow], tmp_path: Path
) -> None:
    gd.secrets.values.clear()
    acct = account(client_secrets=_client_file(tmp_path), activity=True)

    saved = gd.provider.login(acct, interactive=True)

    assert saved == {"activity": True}
    assert flow.created[0][1] == [
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/drive.activity.readonly",
    ]
    run = flow.ran[0]
    assert (run["host"], run["port"], run["prompt"], run["open_browser"]) == (
        "localhost",
        0,
        "consent",
        True,
    )
    stored = json.loads(gd.secrets.get(SERVICE, "authorized_user") or "{}")
    assert (stored["refresh_token"], stored["client_secret"]) == ("1//new", "csecret")


def test_a_new_account_uses_drive_activity_unless_told_not_to(
    gd: Harness, flow: type[_Flow], tmp_path: Path
) -> None:
    """Without it, photos already in the trash when the account is added are of unknown age."""
    activity = "https://www.googleapis.com/auth/drive.activity.readonly"
    saved = gd.provider.login(account(client_secrets=_client_file(tmp_path)), interactive=True)
    assert saved == {"activity": True}  # written to the config by `accounts add`
    assert activity in flow.created[0][1]
    off = account(client_secrets=_client_file(tmp_path), activity=False)
    assert gd.provider.login(off, interactive=True) == {"activity": False}
    assert flow.created[1][1] == ["https://www.googleapis.com/auth/drive"]


def test_a_token_exchange_that_cannot_reach_google_names_the_cause(
    gd: Harness, flow: type[_Flow], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(self: _Flow, **kwargs: Any) -> Credentials:
        requests.post("https://nowhere.invalid/token", timeout=5)  # what fetch_token would send
        raise AssertionError("unreachable")

    monkeypatch.setattr(_Flow, "run_local_server", unreachable)
    with pytest.raises(NetworkError) as raised:
        gd.provider.login(account(client_secrets=_client_file(tmp_path)), interactive=True)
    assert str(raised.value) == "nowhere.invalid does not resolve (DNS: no such host)"


def test_login_needs_a_desktop_client(gd: Harness, flow: type[_Flow], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs your own OAuth client"):
        gd.provider.login(account(), interactive=True)
    with pytest.raises(UsageError, match="not a Desktop app OAuth client"):
        gd.provider.login(account(client_secrets=_client_file(tmp_path, "web")), True)
    assert flow.ran == []


def test_scopes_option_overrides_the_defaults() -> None:
    assert auth.scopes_for({"scopes": "a, b"}) == ["a", "b"]
    assert auth.scopes_for({"scopes": ["x"]}) == ["x"]
    assert auth.scopes_for({}) == ["https://www.googleapis.com/auth/drive"]
