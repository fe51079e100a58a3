"""The OneDrive fake's Entra authority, driven by the real ``msal.PublicClientApplication``.

Every scenario builds a fresh msal app (msal answers an identical failed token request from its
own cache for ~60 s), points it at ``<fake>/common`` with ``instance_discovery=False`` and a
``requests`` session that trusts the sandbox CA and ignores the environment.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from trashscan_onedrive.sandbox.auth import MSA_TENANT
from trashscan_onedrive.sandbox.fake import LOGIN_SCOPES, OneDriveFake

from . import test_fake_support as support
from .test_fake_support import Graph, bearer, cache_from, new_app

# The shared fixtures (see test_fake_support), bound here so pytest finds them.
fake, http, seeded, tables = support.fake, support.http, support.seeded, support.tables


def _token_posts(fake: OneDriveFake) -> int:
    assert fake.server is not None
    return sum(1 for r in fake.server.request_log if r.path.endswith("/oauth2/v2.0/token"))


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_discovery_documents_per_tenant(fake: OneDriveFake, http: requests.Session) -> None:
    assert fake.server is not None
    base = fake.server.base_url
    for tenant in ("common", "consumers", "organizations", MSA_TENANT, "contoso.onmicrosoft.com"):
        response = http.get(f"{base}/{tenant}/v2.0/.well-known/openid-configuration")
        assert response.status_code == 200
        config = response.json()
        assert config["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
        assert config["device_authorization_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/devicecode"
        assert config["authorization_endpoint"].endswith(f"/{tenant}/oauth2/v2.0/authorize")
        assert config["issuer"].endswith("/v2.0")
    unknown = http.get(f"{base}/nosuchtenant/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant"
    assert unknown.json()["error_codes"] == [90002]
    with pytest.raises(ValueError):
        new_app(fake, http, tenant="nosuchtenant")


def test_device_flow_pending_then_approved(fake: OneDriveFake, http: requests.Session) -> None:
    fake.auth.device_interval = 1
    app = new_app(fake, http)
    flow = app.initiate_device_flow(scopes=["Files.ReadWrite.All"])
    assert flow["interval"] == 1 and flow["expires_in"] == 900
    assert flow["user_code"] in flow["message"] and "verification_uri" in flow
    assert "verification_uri_complete" not in flow  # Entra does not send it
    pending = app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)
    assert pending["error"] == "authorization_pending"
    assert pending["error_codes"] == [70016]

    # The user approves while msal's own polling loop waits ``interval`` seconds.
    timer = threading.Timer(0.3, fake.approve_device_code, args=(flow["user_code"], "erin"))
    timer.start()
    result = app.acquire_token_by_device_flow(flow)
    timer.join()
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert result["token_source"] == "identity_provider"
    assert "Files.ReadWrite.All" in result["scope"].split()  # echoed: msal needs it (§5.3)
    assert "offline_access" not in result["scope"].split()
    assert result["expires_in"] > 3000 and result["ext_expires_in"] > 3000
    claims = result["id_token_claims"]
    assert claims["tid"] == MSA_TENANT
    assert claims["preferred_username"] == "erin@outlook.com"
    assert claims["aud"] == fake.auth.client_id
    assert claims["oid"].startswith("00000000-0000-0000-")
    assert {"iss", "exp", "name", "iat"} <= claims.keys()
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": claims["oid"], "utid": MSA_TENANT}
    (account,) = app.get_accounts()
    assert account["username"] == "erin@outlook.com"
    assert account["home_account_id"] == f"{claims['oid']}.{MSA_TENANT}"

    before = _token_posts(fake)
    silent = app.acquire_token_silent(["Files.ReadWrite.All"], account=account)
    assert silent is not None and silent["token_source"] == "cache"
    assert silent["access_token"] == result["access_token"]
    assert _token_posts(fake) == before
    graph = Graph(fake, http, silent["access_token"])
    assert graph.get("/v1.0/me/drive").json()["driveType"] == "personal"


def test_device_flow_declined_and_expired(fake: OneDriveFake, http: requests.Session) -> None:
    fake.auth.device_interval = 1
    app = new_app(fake, http)
    flow = app.initiate_device_flow(scopes=["Files.Read"])
    fake.decline_device_code(flow["user_code"])
    declined = app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)
    assert declined["error"] == "authorization_declined"

    app = new_app(fake, http)
    flow = app.initiate_device_flow(scopes=["Files.Read"])
    fake.expire_device_codes()
    expired = app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)
    assert expired["error"] == "expired_token"
    assert expired["error_codes"] == [70019]


def test_device_code_errors(fake: OneDriveFake, http: requests.Session) -> None:
    assert fake.server is not None
    base = fake.server.base_url
    unknown_app = http.post(
        f"{base}/common/oauth2/v2.0/devicecode", data={"client_id": "nope", "scope": "openid"}
    )
    assert unknown_app.status_code == 400
    assert unknown_app.json()["error"] == "unauthorized_client"
    bad_scope = http.post(
        f"{base}/common/oauth2/v2.0/devicecode",
        data={"client_id": fake.auth.client_id, "scope": "Mail.Send openid"},
    )
    assert bad_scope.json()["error"] == "invalid_scope"
    bad_code = http.post(
        f"{base}/common/oauth2/v2.0/token",
        data={
            "client_id": fake.auth.client_id,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": "garbage",
        },
    )
    assert bad_code.json()["error"] == "bad_verification_code"
    # A personal account cannot approve a code requested through /organizations.
    app = new_app(fake, http, tenant="organizations")
    flow = app.initiate_device_flow(scopes=["Files.Read"])
    with pytest.raises(ValueError):
        fake.approve_device_code(flow["user_code"], "erin")
    fake.approve_device_code(flow["user_code"], "frank")
    assert "access_token" in app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)


def test_seeded_blob_is_msal_cache_used_without_network(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    for name, tid in (("erin", MSA_TENANT), ("frank", None)):
        table = tables[name]
        assert table["client_id"] == fake.auth.client_id
        assert table["authority"].endswith("/common")
        blob = json.loads(table["secret_blobs"]["msal_cache"])
        assert set(blob) == {"AccessToken", "Account", "AppMetadata", "IdToken", "RefreshToken"}
        app = new_app(fake, http, cache_from(table))
        before = _token_posts(fake)
        (account,) = app.get_accounts()
        result = app.acquire_token_silent(list(LOGIN_SCOPES), account=account)
        assert result is not None and result["token_source"] == "cache"
        assert _token_posts(fake) == before  # no network for a cached access token
        drive = Graph(fake, http, result["access_token"]).get("/v1.0/me/drive").json()
        assert drive["driveType"] == table["drive_type"]
        if tid is not None:
            assert account["home_account_id"].endswith(tid)


def test_refresh_rotates_refresh_tokens(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    cache = cache_from(tables["erin"])
    app = new_app(fake, http, cache)
    (account,) = app.get_accounts()
    old_rt = next(iter(json.loads(cache.serialize())["RefreshToken"].values()))["secret"]
    before = _token_posts(fake)
    result = app.acquire_token_silent(["Files.ReadWrite.All"], account=account, force_refresh=True)
    assert result is not None and result["token_source"] == "identity_provider"
    assert _token_posts(fake) == before + 1
    new_rt = next(iter(json.loads(cache.serialize())["RefreshToken"].values()))["secret"]
    assert new_rt != old_rt  # rotated
    # A scope the user consented to but the cache lacks: msal refreshes for it.
    other = app.acquire_token_silent(["Files.Read"], account=account)
    assert other is not None and other["token_source"] == "identity_provider"
    assert other["scope"].split()[0] == "Files.Read"
    # The old refresh token stays valid until it expires, as Entra's do.
    assert fake.server is not None
    raw = http.post(
        f"{fake.server.base_url}/common/oauth2/v2.0/token",
        data={
            "client_id": fake.auth.client_id,
            "grant_type": "refresh_token",
            "refresh_token": old_rt,
            "scope": "Files.ReadWrite.All offline_access openid profile",
            "client_info": "1",
        },
    )
    assert raw.status_code == 200
    assert raw.headers["Content-Type"].startswith("application/json")
    body = raw.json()
    assert {"access_token", "refresh_token", "id_token", "client_info", "scope"} <= body.keys()
    assert body["scope"] == "Files.ReadWrite.All openid profile"


def test_invalid_grant_after_revoke(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    app = new_app(fake, http, cache_from(tables["erin"]))
    (account,) = app.get_accounts()
    cached = app.acquire_token_silent(["Files.ReadWrite.All"], account=account)
    assert cached is not None
    fake.revoke("erin")
    unauthorized = Graph(fake, http, cached["access_token"]).get("/v1.0/me/drive")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == "InvalidAuthenticationToken"
    error = app.acquire_token_silent_with_error(
        ["Files.ReadWrite.All"], account=account, force_refresh=True
    )
    assert error is not None
    assert error["error"] == "invalid_grant"
    assert error["error_codes"] == [50173]
    assert error["suberror"] == "bad_token"
    assert error["error_description"].startswith("AADSTS50173: ")
    assert "Trace ID:" in error["error_description"]


def test_invalid_grant_after_inactivity(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    app = new_app(fake, http, cache_from(tables["frank"]))
    (account,) = app.get_accounts()
    fake.expire_refresh_tokens("frank")
    error = app.acquire_token_silent_with_error(
        ["Files.ReadWrite.All"], account=account, force_refresh=True
    )
    assert error is not None and error["error"] == "invalid_grant"
    assert error["error_codes"] == [700082]
    assert "inactive for 90.00:00:00" in error["error_description"]


def test_unconsented_scope_needs_interaction(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    app = new_app(fake, http, cache_from(tables["erin"]))
    (account,) = app.get_accounts()
    error = app.acquire_token_silent_with_error(["Sites.ReadWrite.All"], account=account)
    assert error is not None and error["error"] == "invalid_grant"
    assert error["suberror"] == "consent_required"
    fake.grant_consent("erin", "Sites.ReadWrite.All")
    app = new_app(fake, http, cache_from(tables["erin"]))
    (account,) = app.get_accounts()
    assert "access_token" in (
        app.acquire_token_silent(["Sites.ReadWrite.All"], account=account) or {}
    )


def test_expired_access_token_gets_401_then_refresh(
    fake: OneDriveFake, http: requests.Session, tables: dict[str, dict[str, Any]]
) -> None:
    app = new_app(fake, http, cache_from(tables["erin"]))
    (account,) = app.get_accounts()
    cached = app.acquire_token_silent(["Files.ReadWrite.All"], account=account)
    assert cached is not None
    assert fake.expire_tokens("erin") >= 1
    response = Graph(fake, http, cached["access_token"]).get("/v1.0/me/drive")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Lifetime validation failed, the token is expired."
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm=""')
    still_cached = app.acquire_token_silent(["Files.ReadWrite.All"], account=account)
    assert still_cached is not None and still_cached["token_source"] == "cache"
    fresh = app.acquire_token_silent(["Files.ReadWrite.All"], account=account, force_refresh=True)
    assert fresh is not None
    assert Graph(fake, http, fresh["access_token"]).get("/v1.0/me/drive").status_code == 200
    missing = http.get(f"{Graph(fake, http, '').base}/v1.0/me/drive")
    assert missing.status_code == 401
    assert missing.json()["error"]["message"] == "Access token is empty."


def test_instance_discovery_url_and_business_tokens(
    fake: OneDriveFake, http: requests.Session
) -> None:
    assert fake.server is not None
    app = new_app(
        fake, http, instance_discovery=f"{fake.server.base_url}/common/discovery/instance"
    )
    flow = app.initiate_device_flow(scopes=["Files.ReadWrite.All", "Sites.ReadWrite.All"])
    fake.approve_device_code("frank")  # the newest pending code
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _: True)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["tid"] != MSA_TENANT and claims["preferred_username"] == "frank@contoso.com"
    access = _claims(result["access_token"])  # business access tokens are JWTs
    assert access["aud"] == "https://graph.microsoft.com"
    assert set(access["scp"].split()) == {"files.readwrite.all", "sites.readwrite.all"}


@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")
def test_authorization_code_flow_with_pkce(fake: OneDriveFake, http: requests.Session) -> None:
    app = new_app(fake, http)
    flow = app.initiate_auth_code_flow(
        ["Files.ReadWrite.All"], redirect_uri="http://localhost:8400", login_hint="erin@outlook.com"
    )
    redirect = http.get(flow["auth_uri"], allow_redirects=False)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == "http://localhost:8400"
    response = {k: v[0] for k, v in parse_qs(location.query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "erin@outlook.com"
    replay = http.post(
        flow["auth_uri"].split("/authorize")[0] + "/token",
        data={
            "client_id": fake.auth.client_id,
            "grant_type": "authorization_code",
            "code": response["code"],
            "redirect_uri": "http://localhost:8400",
        },
    )
    assert replay.json()["error"] == "invalid_grant"


def test_access_token_seam_and_bearer_helper(fake: OneDriveFake, http: requests.Session) -> None:
    token = fake.access_token("erin", ["Files.Read"])
    graph = Graph(fake, http, token)
    assert graph.get("/v1.0/me/drive").status_code == 200
    me = http.get(graph.url("/v1.0/me"), headers=bearer(token))
    assert me.status_code == 403  # /me needs User.Read
    assert me.json()["error"]["code"] == "Authorization_RequestDenied"
