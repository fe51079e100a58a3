"""Sign-in: msal's exact requests, the token cache in the blob store, and AuthError hints."""

from __future__ import annotations

import json

import pytest
import responses

from trashscan.errors import AuthError, UsageError

from .harness import (
    BETA,
    CLIENT_ID,
    DEVICE_GRANT,
    HINT,
    LOGIN,
    NAME,
    REFRESH,
    SANDBOX,
    SERVICE,
    SITE,
    V1,
    Harness,
    account,
    openid_configuration,
    token_answer,
)

BUSINESS_STATE = {"drive_type": "business", "site_id": SITE, "library_path": None}
DRIVE_PATH = "me/drive?$select=driveType,webUrl,sharePointIds"
DRIVE = f"{V1}{DRIVE_PATH}"
PERSONAL_DRIVE = {"driveType": "personal", "webUrl": "https://onedrive.live.com/"}
BUSINESS_DRIVE = {
    "driveType": "business",
    "webUrl": "https://contoso-my.sharepoint.com/personal/alice_contoso_com/Documents",
    "sharePointIds": {
        "siteId": "0f0f0f0f-0000-4000-8000-000000000001",
        "siteUrl": "https://contoso-my.sharepoint.com/personal/alice_contoso_com",
        "webId": "0f0f0f0f-0000-4000-8000-000000000002",
    },
}
OPENID = f"{LOGIN}/v2.0/.well-known/openid-configuration"
SANDBOX_AUTHORITY = SANDBOX + "common"
DEVICE_MESSAGE = (
    "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter "
    "the code ABCD-EFGH to authenticate."
)


def test_check_auth_sends_the_cached_token_to_graph_once(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", DRIVE, BUSINESS_DRIVE)
    status = od.provider.check_auth(account(drive_type="business"))
    assert status.ok, status.detail
    assert status.detail == "signed in as alice@outlook.com (OneDrive business)"
    assert status.hint is None
    # msal reads the authority's configuration; the token comes from the cache, and Graph is
    # asked whether it still takes it (a cached token proves nothing).
    assert od.sent == [("GET", OPENID), ("GET", DRIVE)]
    assert od.secrets.writes == []  # nothing changed, nothing rewritten


def test_check_auth_fails_when_graph_rejects_the_cached_token(od: Harness) -> None:
    """The token has not expired, but Graph refuses it and the refresh is refused too."""
    od.sign_in(SANDBOX_AUTHORITY)  # a cached access token that has not expired
    od.discovery(SANDBOX_AUTHORITY)
    rejected = {"error": {"code": "InvalidAuthenticationToken"}}
    od.graph("GET", f"{SANDBOX}v1.0/{DRIVE_PATH}", rejected, status=401)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        json={"error": "invalid_grant", "error_description": "AADSTS50173: revoked"},
        status=400,
    )
    status = od.provider.check_auth(account(endpoint=SANDBOX, drive_type="business"))
    assert [method for method, _ in od.sent] == ["GET", "GET", "POST"]
    assert not status.ok
    assert status.detail == (
        f"Microsoft refused the stored sign-in of OneDrive account {NAME!r} "
        "(invalid_grant, AADSTS50173)"
    )
    assert status.hint == HINT


def test_the_cached_token_is_sent_to_graph(od: Harness) -> None:
    od.signed_in()
    url = f"{BETA}sites/{SITE}/recycleBin/items?$top=1000"
    od.graph("GET", url, {"value": []})
    pages, outcome = od.scan(account(drive_type="business"), BUSINESS_STATE)
    assert pages == []
    assert outcome.complete_listing
    assert od.sent_to() == [("GET", url)]
    sent = od.rsps.calls[-1].request.headers
    assert sent["Authorization"] == "Bearer at-cached"
    assert sent["User-Agent"].startswith("ISV|trashscan|trashscan/")


def test_refresh_grant_against_an_endpoint_authority(od: Harness) -> None:
    """instance_discovery is off for a non-Microsoft host: the configuration GET, then the POST."""
    od.sign_in(SANDBOX_AUTHORITY, expired=True)
    od.discovery(SANDBOX_AUTHORITY)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        json=token_answer("at-new", "rt-new"),
    )
    url = f"{SANDBOX}beta/sites/{SITE}/recycleBin/items?$top=1000"
    od.graph("GET", url, {"value": []}, token="at-new")
    od.scan(account(endpoint=SANDBOX, drive_type="business"), BUSINESS_STATE)
    assert od.sent == [
        ("GET", f"{SANDBOX_AUTHORITY}/v2.0/.well-known/openid-configuration"),
        ("POST", f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token"),
        ("GET", url),
    ]
    assert od.form(1) == {
        "client_id": CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "scope": "Files.ReadWrite.All Sites.ReadWrite.All offline_access openid profile",
        "client_info": "1",
    }
    # The rotated refresh token is kept, through the blob store only.
    assert od.secrets.writes == [("set_blob", "msal_cache")]
    saved = json.loads(od.secrets.blobs[(SERVICE, "msal_cache")])
    assert [rt["secret"] for rt in saved["RefreshToken"].values()] == ["rt-new"]
    assert "at-new" in {at["secret"] for at in saved["AccessToken"].values()}
    assert od.secrets.values == {}


def test_a_refused_refresh_token_is_an_auth_error_with_the_login_hint(od: Harness) -> None:
    od.sign_in(SANDBOX_AUTHORITY, expired=True)
    od.discovery(SANDBOX_AUTHORITY)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        status=400,
        json={
            "error": "invalid_grant",
            "error_description": "AADSTS70000: The provided grant has expired due to it being "
            "revoked. Trace ID: 1 Correlation ID: 2",
            "error_codes": [70000],
            "suberror": "bad_token",
        },
    )
    with pytest.raises(AuthError) as caught:
        od.scan(account(endpoint=SANDBOX, drive_type="business"), BUSINESS_STATE)
    assert str(caught.value) == (
        f"Microsoft refused the stored sign-in of OneDrive account {NAME!r} "
        "(invalid_grant, AADSTS70000)"
    )
    assert caught.value.hint == HINT
    assert od.sent_to("127.0.0.1:8443")[-1][0] == "POST"  # no Graph request was made


def test_check_auth_reports_a_refused_grant_without_prompting(od: Harness) -> None:
    od.sign_in(SANDBOX_AUTHORITY, expired=True)
    od.discovery(SANDBOX_AUTHORITY)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        status=400,
        json={"error": "invalid_grant", "error_description": "AADSTS700082: expired"},
    )
    status = od.provider.check_auth(account(endpoint=SANDBOX))
    assert not status.ok
    assert "invalid_grant, AADSTS700082" in status.detail
    assert status.hint == HINT


def test_no_stored_sign_in_fails_this_account_only_and_sends_nothing(od: Harness) -> None:
    with pytest.raises(AuthError) as caught:
        od.scan(account(drive_type="personal"))
    assert "no stored Microsoft sign-in" in str(caught.value)
    assert caught.value.hint == HINT
    assert od.sent == []


def test_check_auth_of_a_personal_account_not_enrolled_yet(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", DRIVE, PERSONAL_DRIVE)
    status = od.provider.check_auth(account(drive_type="personal"))
    assert status.ok
    assert status.hint == f"not enrolled yet: run `trashscan scan --account {NAME}`"


# ------------------------------------------------------------------------------ device code login


def _device_code_answers(od: Harness, drive: dict) -> None:
    od.rsps.add(responses.GET, OPENID, json=openid_configuration(LOGIN))
    od.rsps.add(
        responses.POST,
        f"{LOGIN}/oauth2/v2.0/devicecode",
        json={
            "device_code": "dc-123",
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": DEVICE_MESSAGE,
        },
    )
    token_url = f"{LOGIN}/oauth2/v2.0/token"
    od.rsps.add(
        responses.POST,
        token_url,
        status=400,
        json={"error": "authorization_pending", "error_description": "AADSTS70016: pending"},
    )
    od.rsps.add(responses.POST, token_url, json=token_answer("at-login", "rt-login"))
    od.graph(
        "GET",
        f"{V1}me/drive?$select=driveType,webUrl,sharePointIds",
        drive,
        token="at-login",
    )


def test_device_code_login_detects_a_personal_drive(od: Harness) -> None:
    _device_code_answers(od, {"driveType": "personal", "webUrl": "https://onedrive.live.com/"})
    saved = od.provider.login(account(), interactive=False)
    assert saved == {
        "client_id": CLIENT_ID,
        "authority": LOGIN,
        "drive_type": "personal",
    }
    assert od.sent == [
        ("GET", OPENID),
        ("POST", f"{LOGIN}/oauth2/v2.0/devicecode"),
        ("POST", f"{LOGIN}/oauth2/v2.0/token"),
        ("POST", f"{LOGIN}/oauth2/v2.0/token"),
        ("GET", f"{V1}me/drive?$select=driveType,webUrl,sharePointIds"),
    ]
    assert od.form(1) == {
        "client_id": CLIENT_ID,
        "scope": "Files.ReadWrite.All Sites.ReadWrite.All offline_access openid profile",
    }
    poll = {
        "client_id": CLIENT_ID,
        "grant_type": DEVICE_GRANT,
        "device_code": "dc-123",
        "code": "dc-123",
        "client_info": "1",
    }
    assert od.form(2) == poll
    assert od.form(3) == poll
    assert od.echoed[0] == DEVICE_MESSAGE
    assert od.echoed[1].startswith(
        "OneDrive personal cannot list its recycle bin: trashscan enrols the account now; items "
        "deleted before today cannot be found."
    )
    # The cache went to the blob store only, and nothing secret is in the saved options.
    assert od.secrets.writes == [("set_blob", "msal_cache")]
    blob = json.loads(od.secrets.blobs[(SERVICE, "msal_cache")])
    assert [rt["secret"] for rt in blob["RefreshToken"].values()] == ["rt-login"]
    assert not any("login" in str(v) and "rt-" in str(v) for v in saved.values())


def test_device_code_login_detects_a_business_drive(od: Harness) -> None:
    _device_code_answers(
        od,
        {
            "driveType": "business",
            "webUrl": "https://contoso-my.sharepoint.com/personal/alice_contoso_com/Documents",
            "sharePointIds": {
                "siteId": "5a4f2b8c-0000-4000-8000-000000000001",
                "webId": "9e1d3c7a-0000-4000-8000-000000000002",
                "siteUrl": "https://contoso-my.sharepoint.com/personal/alice_contoso_com",
            },
        },
    )
    saved = od.provider.login(account(), interactive=True)
    assert saved["drive_type"] == "business"
    assert "93 days" in od.echoed[-1]


def test_a_refused_device_code_start_names_public_client_flows(od: Harness) -> None:
    od.rsps.add(responses.GET, OPENID, json=openid_configuration(LOGIN))
    od.rsps.add(
        responses.POST,
        f"{LOGIN}/oauth2/v2.0/devicecode",
        status=400,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000218: The request body must contain "
            "'client_assertion' or 'client_secret'.",
        },
    )
    with pytest.raises(AuthError) as caught:
        od.provider.login(account(), interactive=False)
    assert "invalid_client, AADSTS7000218" in str(caught.value)
    assert "Allow public client flows" in (caught.value.hint or "")
    assert od.secrets.writes == []


def test_login_without_client_id_explains_the_app_registration(od: Harness) -> None:
    acct = account()
    acct = type(acct)(acct.name, acct.provider, {})
    with pytest.raises(UsageError) as caught:
        od.provider.login(acct, interactive=False)
    hint = caught.value.hint or ""
    assert "Allow public client flows" in hint
    assert "Files.ReadWrite.All" in hint and "Sites.ReadWrite.All" in hint
    assert od.sent == []


def test_the_device_code_request_has_exactly_msal_form(od: Harness) -> None:
    """The devicecode POST carries no secret: a public client."""
    _device_code_answers(od, {"driveType": "personal"})
    od.provider.login(account(), interactive=False)
    devicecode = od.rsps.calls[1].request
    assert devicecode.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "client_secret" not in od.form(1)


@pytest.mark.parametrize(
    ("endpoint", "authority"),
    [
        (None, "https://login.microsoftonline.com/common"),
        ("https://graph.microsoft.us/", "https://login.microsoftonline.us/common"),
        ("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn/common"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443/common"),
    ],
)
def test_authority_follows_the_endpoint(endpoint: str | None, authority: str) -> None:
    from trashscan_onedrive.options import Settings

    settings = Settings.from_account(account(endpoint=endpoint))
    assert settings.authority == authority
    explicit = Settings.from_account(account(endpoint=endpoint, authority="https://x.example/t"))
    assert explicit.authority == "https://x.example/t"


def test_instance_discovery_is_off_for_overridden_or_unknown_hosts() -> None:
    from trashscan_onedrive.options import Settings
    from trashscan_onedrive.tokens import instance_discovery

    assert instance_discovery(Settings.from_account(account())) is None
    assert instance_discovery(Settings.from_account(account(endpoint=SANDBOX))) is False
    us = Settings.from_account(account(endpoint="https://graph.microsoft.us/"))
    assert instance_discovery(us) is False
    odd = Settings.from_account(account(authority="https://login.example.org/tenant"))
    assert instance_discovery(odd) is False


def test_a_401_from_graph_refreshes_the_token_once_and_retries(od: Harness) -> None:
    od.sign_in(SANDBOX_AUTHORITY)
    od.discovery(SANDBOX_AUTHORITY)
    url = f"{SANDBOX}beta/sites/{SITE}/recycleBin/items?$top=1000"
    od.graph("GET", url, {"error": {"code": "InvalidAuthenticationToken"}}, status=401)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        json=token_answer("at-new", "rt-new"),
    )
    od.graph("GET", url, {"value": []}, token="at-new")
    _, outcome = od.scan(account(endpoint=SANDBOX, drive_type="business"), BUSINESS_STATE)
    assert outcome.complete_listing
    assert od.sent == [
        ("GET", f"{SANDBOX_AUTHORITY}/v2.0/.well-known/openid-configuration"),
        ("GET", url),
        ("POST", f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token"),
        ("GET", url),
    ]
    assert od.form(2)["grant_type"] == "refresh_token"


def test_a_second_401_is_an_auth_error(od: Harness) -> None:
    od.sign_in(SANDBOX_AUTHORITY)
    od.discovery(SANDBOX_AUTHORITY)
    url = f"{SANDBOX}beta/sites/{SITE}/recycleBin/items?$top=1000"
    od.graph("GET", url, {}, status=401)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        json=token_answer("at-new", "rt-new"),
    )
    od.graph("GET", url, {}, status=401, token="at-new")
    with pytest.raises(AuthError) as caught:
        od.scan(account(endpoint=SANDBOX, drive_type="business"), BUSINESS_STATE)
    assert "HTTP 401" in str(caught.value)
    assert caught.value.hint == HINT


def test_reserved_scopes_are_left_to_msal() -> None:
    from trashscan_onedrive.options import Settings

    settings = Settings.from_account(account(scopes="Files.ReadWrite.All offline_access openid"))
    assert settings.scopes == ("Files.ReadWrite.All",)
    assert Settings.from_account(account()).scopes == ("Files.ReadWrite.All", "Sites.ReadWrite.All")


def test_a_refresh_asks_only_for_what_the_sign_in_was_granted(od: Harness) -> None:
    """A personal account's grant lacks Sites.ReadWrite.All; asking for it would be refused."""
    od.sign_in(SANDBOX_AUTHORITY, expired=True, scopes=["Files.ReadWrite.All"])
    od.discovery(SANDBOX_AUTHORITY)
    od.rsps.add(
        responses.POST,
        f"{SANDBOX_AUTHORITY}/oauth2/v2.0/token",
        json=token_answer("at-new", "rt-new", scope="Files.ReadWrite.All"),
    )
    od.graph("GET", f"{SANDBOX}v1.0/{DRIVE_PATH}", BUSINESS_DRIVE, token="at-new")
    status = od.provider.check_auth(account(endpoint=SANDBOX, drive_type="business"))
    assert status.ok, status.detail
    assert od.form(1)["scope"] == "Files.ReadWrite.All offline_access openid profile"
