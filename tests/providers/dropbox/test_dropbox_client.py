"""The client: endpoint override (token refresh included), TLS trust, tokens, throttling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trashscan.errors import AuthError, ProviderUnavailableError
from trashscan_dropbox.client import DropboxSession
from trashscan_dropbox.options import Settings

from .conftest import (
    APP_KEY,
    SERVICE,
    Harness,
    account,
    deleted,
    full_account,
    listing,
    revisions_body,
)

ENDPOINT = "https://127.0.0.1:8443/"
LOCAL = "https://127.0.0.1:8443"
HINT = f"run `trashscan accounts add dropbox alice --option app_key={APP_KEY}`"
FRESH = {"access_token": "sl.new", "expires_in": 14400, "token_type": "bearer"}
UNCHANGED = ("files/list_folder/continue", {"cursor": "c1"}, listing([], cursor="c2"))
STATE = {"cursor": "c1", "account_type": "basic"}


def test_endpoint_sends_every_host_and_the_token_refresh_there(dbx: Harness) -> None:
    dbx.cache_token(None)  # no access token yet: the SDK refreshes before the first call
    dbx.token_endpoint(FRESH, base=LOCAL)
    dbx.rpc(*UNCHANGED, base=LOCAL, token="sl.new")
    _, outcome = dbx.scan(account(endpoint=ENDPOINT), STATE)
    assert [(s.host, s.route) for s in dbx.sent] == [
        ("127.0.0.1:8443", "/oauth2/token"),
        ("127.0.0.1:8443", "files/list_folder/continue"),
    ]
    assert outcome.state == {"cursor": "c2", "account_type": "basic"}


def test_endpoint_host_map_covers_all_hosts_and_survives_clone(dbx: Harness) -> None:
    session = DropboxSession(
        dbx.context, account(endpoint=ENDPOINT), Settings.from_account(account())
    )
    expected = {"api": "127.0.0.1:8443", "content": "127.0.0.1:8443", "notify": "127.0.0.1:8443"}
    assert session.client._host_map == expected
    assert session.client.clone()._host_map == expected


def test_bad_endpoint_is_refused_before_any_request(dbx: Harness) -> None:
    with pytest.raises(Exception, match="must be https://HOST"):
        dbx.scan(account(endpoint="http://127.0.0.1:8080/"), STATE)
    assert dbx.sent == []


def test_expired_access_token_is_refreshed_and_the_call_retried(dbx: Harness) -> None:
    expired = {
        "error_summary": "expired_access_token/..",
        "error": {".tag": "expired_access_token"},
    }
    dbx.rpc(*UNCHANGED[:2], expired, status=401)
    dbx.token_endpoint(FRESH)
    dbx.rpc(*UNCHANGED, token="sl.new")
    _, outcome = dbx.scan(state=STATE)
    assert dbx.routes == [
        "files/list_folder/continue",
        "/oauth2/token",
        "files/list_folder/continue",
    ]
    assert dbx.sent[1].body == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-abc",
        "client_id": APP_KEY,
    }
    assert outcome.state is not None
    cached = json.loads(dbx.secrets.get(SERVICE, "access_token") or "{}")
    assert cached["token"] == "sl.new"  # the next run need not refresh


def test_revoked_cached_access_token_is_replaced_once(dbx: Harness) -> None:
    invalid = {
        "error_summary": "invalid_access_token/..",
        "error": {".tag": "invalid_access_token"},
    }
    dbx.rpc(*UNCHANGED[:2], invalid, status=401)
    dbx.token_endpoint(FRESH)
    dbx.rpc(*UNCHANGED, token="sl.new")
    dbx.scan(state=STATE)
    assert len(dbx.sent) == 3


def test_invalid_refresh_token_is_an_auth_error_with_the_login_hint(dbx: Harness) -> None:
    dbx.cache_token(None)
    answer = {"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"}
    dbx.token_endpoint(answer, status=400)
    with pytest.raises(AuthError) as raised:
        dbx.scan(state=STATE)
    assert raised.value.hint == HINT
    assert "refused the stored sign-in" in str(raised.value)
    assert dbx.routes == ["/oauth2/token"]


def test_missing_refresh_token_is_an_auth_error_before_any_request(dbx: Harness) -> None:
    dbx.secrets.delete(SERVICE, "refresh_token")
    with pytest.raises(AuthError) as raised:
        dbx.scan(state=STATE)
    assert raised.value.hint == HINT
    assert dbx.sent == []


def test_missing_permission_names_the_scope(dbx: Harness) -> None:
    error = {".tag": "missing_scope", "required_scope": "files.metadata.read"}
    dbx.rpc(*UNCHANGED[:2], {"error_summary": "missing_scope/..", "error": error}, status=401)
    with pytest.raises(AuthError, match=r"lacks the permission files\.metadata\.read"):
        dbx.scan(state=STATE)


def test_429_json_retry_after_is_honoured_through_the_core_policy(dbx: Harness) -> None:
    throttled = {
        "error_summary": "too_many_requests/..",
        "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 7},
    }
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([deleted("/a.jpg")], "c2"))
    dbx.rpc("files/list_revisions", revisions_body("/a.jpg"), throttled, status=429)
    dbx.lost("/a.jpg")  # the path's call again, then the id's
    dbx.scan(state=STATE)
    assert dbx.sleeps == [7.0]  # exactly what Dropbox asked, through RetryPolicy(sleep=...)
    assert dbx.routes.count("files/list_revisions") == 3


def test_429_plain_text_retry_after_header_is_honoured(dbx: Harness) -> None:
    dbx.rpc(
        *UNCHANGED[:2],
        "too many requests",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "3"},
    )
    dbx.rpc(*UNCHANGED)
    dbx.scan(state=STATE)
    assert dbx.sleeps == [3.0]


def test_throttling_beyond_the_budget_fails_the_account_with_one_line(dbx: Harness) -> None:
    dbx.rpc(
        *UNCHANGED[:2],
        "slow down",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "900"},
    )
    with pytest.raises(ProviderUnavailableError, match="asked to retry after 900 s"):
        dbx.scan(state=STATE)
    assert dbx.sleeps == []


def test_server_errors_on_reads_are_retried_by_the_core_policy(dbx: Harness) -> None:
    dbx.rpc(*UNCHANGED[:2], "oops", status=503, content_type="text/plain")
    dbx.rpc(*UNCHANGED)
    dbx.scan(state=STATE)
    assert dbx.sleeps == [0.375]  # the policy's own backoff (random fixed at 0.5)


def test_ca_bundle_wins_over_requests_ca_bundle(
    dbx: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.pem"
    other.write_text("not the one\n")
    mine = tmp_path / "mine.pem"
    mine.write_text("the account's CA\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    dbx.rpc(*UNCHANGED)
    acct = account()
    acct = type(acct)(acct.name, acct.provider, acct.options, None, str(mine))
    dbx.scan(acct, STATE)
    assert dbx.rsps.calls[0].request.req_kwargs["verify"] == str(mine)


def test_without_ca_bundle_the_environment_still_decides(
    dbx: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "system.pem"
    system.write_text("system\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(system))
    dbx.rpc(*UNCHANGED)
    dbx.scan(state=STATE)
    assert dbx.rsps.calls[0].request.req_kwargs["verify"] == str(system)


def test_check_auth_is_one_cheap_call(dbx: Harness) -> None:
    dbx.rpc("users/get_current_account", None, full_account("pro"))
    status = dbx.provider.check_auth(account())
    assert status.ok
    assert status.detail == "signed in as alice@example.org (Dropbox pro)"
    assert dbx.routes == ["users/get_current_account"]


def test_check_auth_reports_a_revoked_grant_without_raising(dbx: Harness) -> None:
    dbx.cache_token(None)
    dbx.token_endpoint({"error": "invalid_grant"}, status=400)
    status = dbx.provider.check_auth(account())
    assert not status.ok
    assert status.hint == HINT


def test_account_without_app_key_fails_with_the_login_hint(dbx: Harness) -> None:
    acct = account()
    acct = type(acct)(acct.name, acct.provider, {})
    with pytest.raises(Exception, match="has no app_key") as raised:
        dbx.scan(acct, STATE)
    assert "trashscan accounts add dropbox alice" in (raised.value.hint or "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", [0, -1, "8", True])
def test_bad_revision_workers_is_refused(dbx: Harness, workers: object) -> None:
    with pytest.raises(Exception, match="revision_workers"):
        dbx.scan(account(revision_workers=workers), STATE)
