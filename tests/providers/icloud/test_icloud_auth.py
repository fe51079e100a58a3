"""Signing in: SRP, 2FA and trust, cached sessions, password-only re-login, check_auth."""

from __future__ import annotations

import base64
import stat
from typing import Any

import pytest
import responses

from trashscan.errors import AuthError, UsageError
from trashscan.models import Account
from trashscan.testing import MemoryKeyring

from .conftest import (
    APPLE_ID,
    AUTH,
    CLIENT_ID,
    IDMSA,
    OLD_SESSION_TOKEN,
    PASSWORD,
    PHOTOS_DB,
    SERVICE,
    SESSION_TOKEN,
    SETUP,
    SRP_C,
    TRUST_TOKEN,
    WEB_ACCESS_OK,
    Apple,
    account,
    b64,
)

CHINA_SETUP = "https://setup.icloud.com.cn/setup/ws/1"
# What a scan opens first, and `accounts test` checks: the web-access state, then Photos.
PHOTOS_SERVICE_CALLS = [
    ("POST", f"{SETUP}/requestWebAccessState"),
    ("POST", f"{PHOTOS_DB}/records/query"),
]


def _srp_calls() -> list[tuple[str, str]]:
    return [
        ("GET", f"{AUTH}/authorize/signin"),
        ("POST", f"{AUTH}/signin/init"),
        ("POST", f"{AUTH}/signin/complete"),
    ]


def _assert_srp_bodies(apple: Apple, trust_tokens: list[str]) -> None:
    init = next(s for s in apple.sent if s.url.endswith("/signin/init"))
    complete = next(s for s in apple.sent if s.url.endswith("/signin/complete"))
    assert set(init.body) == {"a", "accountName", "protocols"}
    assert init.body["accountName"] == APPLE_ID
    assert init.body["protocols"] == ["s2k", "s2k_fo"]
    # A of the 2048-bit group: up to 256 bytes, fewer when its leading bytes are zero (one run
    # in 256 has 255), and longer than any value of the next smaller group (1536 bits)
    assert len(apple.srp.a_sizes) == 1 and 192 < apple.srp.a_sizes[0] <= 256, apple.srp.a_sizes
    assert apple.srp.proof_ok  # m1 proves the password to Apple's verifier, m2 = H(A, M, K)
    assert complete.body == {
        "accountName": APPLE_ID,
        "c": SRP_C,
        "m1": complete.body["m1"],
        "m2": b64(apple.srp.hamk or b""),
        "rememberMe": True,
        "trustTokens": trust_tokens,
    }
    assert len(base64.b64decode(complete.body["m1"])) == 32
    assert complete.query == {"isRememberMeEnabled": "true"}
    for sent in (init, complete):
        assert sent.headers["X-Apple-Widget-Key"] == sent.headers["X-Apple-OAuth-Client-Id"]
        assert sent.headers["Referer"] == IDMSA


# ------------------------------------------------------------------------------ accounts add


def test_first_login_srp_2fa_trust_then_password_to_keyring(
    apple: Apple, isolated_environment: MemoryKeyring
) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.codes.append(" 123456 ")
    apple.srp_sign_in(outcome="2fa")
    apple.add(responses.GET, AUTH, {})  # auth options (HTML shell asked, JSON answered)
    apple.add(responses.GET, AUTH, {})  # WebAuthn probe: no security key
    apple.add(
        responses.POST,
        f"{AUTH}/verify/trusteddevice/securitycode",
        {},
        body={"securityCode": {"code": "123456"}},
    )
    apple.add(
        responses.GET,
        f"{AUTH}/2sv/trust",
        {},
        headers={"X-Apple-TwoSV-Trust-Token": TRUST_TOKEN, "X-Apple-Session-Token": "s2"},
    )
    apple.account_login(trust_token=TRUST_TOKEN, session_token="s2")
    apple.web_access()

    saved = apple.provider.login(account(), interactive=True)

    assert saved == {"apple_id": APPLE_ID, "china_mainland": False}
    assert apple.calls == [
        *_srp_calls(),
        ("GET", AUTH),
        ("GET", AUTH),
        ("POST", f"{AUTH}/verify/trusteddevice/securitycode"),
        ("GET", f"{AUTH}/2sv/trust"),
        ("POST", f"{SETUP}/accountLogin"),
        ("POST", f"{SETUP}/requestWebAccessState"),
    ]
    _assert_srp_bodies(apple, trust_tokens=[])
    assert apple.prompts[0].startswith(f"Apple ID password for {APPLE_ID}")
    assert apple.prompts[1] == "Two-factor code: "
    # trashscan's own keyring entry; pyicloud's keyring is never read or written.
    assert apple.secrets.get(SERVICE, "password") == PASSWORD
    assert isolated_environment.entries == {}
    # pyicloud's session lives in the account's private directory, not the temp dir.
    folder = apple.account_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert str(folder).startswith(str(apple.context.data_dir))
    data = apple.session_data()
    assert data["trust_token"] == TRUST_TOKEN
    assert stat.S_IMODE(apple.session_file().stat().st_mode) == 0o600
    assert "X-APPLE-WEBAUTH-TOKEN" in apple.cookie_file().read_text()


def test_first_login_without_2fa_needs_only_srp_and_account_login(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in()
    apple.account_login()
    apple.web_access()
    apple.provider.login(account(), interactive=False)
    assert apple.calls == [
        *_srp_calls(),
        ("POST", f"{SETUP}/accountLogin"),
        ("POST", f"{SETUP}/requestWebAccessState"),
    ]
    assert apple.sent[3].body == {
        "accountCountryCode": "USA",
        "dsWebAuthToken": SESSION_TOKEN,
        "extended_login": True,
        "trustToken": "",
    }
    assert apple.secrets.get(SERVICE, "password") == PASSWORD


def test_wrong_code_is_asked_again(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.codes.extend(["000000", "654321"])
    apple.srp_sign_in(outcome="2fa")
    apple.add(responses.GET, AUTH, {})
    apple.add(responses.GET, AUTH, {})
    apple.add(
        responses.POST,
        f"{AUTH}/verify/trusteddevice/securitycode",
        {"service_errors": [{"code": "-21669"}]},
        status=400,
        body={"securityCode": {"code": "000000"}},
    )
    apple.add(
        responses.POST,
        f"{AUTH}/verify/trusteddevice/securitycode",
        {},
        body={"securityCode": {"code": "654321"}},
    )
    apple.add(responses.GET, f"{AUTH}/2sv/trust", {}, headers={"X-Apple-TwoSV-Trust-Token": "t"})
    apple.account_login(trust_token="t")
    apple.web_access()
    apple.provider.login(account(), interactive=True)
    assert "Apple did not accept that code; try again." in apple.notices
    assert apple.secrets.get(SERVICE, "password") == PASSWORD


def test_wrong_password_is_not_stored(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append("app-specific-pass")
    apple.srp_sign_in()
    with pytest.raises(AuthError, match="app-specific passwords do not work") as raised:
        apple.provider.login(account(), interactive=True)
    assert raised.value.hint == "run `trashscan accounts add icloud family`"
    assert apple.secrets.values == {}


def test_a_stale_stored_password_is_asked_for_once(apple: Apple) -> None:
    apple.secrets.set(SERVICE, "password", "old password")
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in()  # refused: the stored password is old
    apple.srp_sign_in()
    apple.account_login()
    apple.web_access()
    apple.provider.login(account(), interactive=True)
    assert "Apple refused the stored password." in apple.notices
    assert apple.secrets.get(SERVICE, "password") == PASSWORD


def test_security_key_without_a_key_connected_says_so(
    apple: Apple, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fido2.hid import CtapHidDevice

    monkeypatch.setattr(CtapHidDevice, "list_devices", staticmethod(lambda: iter(())))
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in(outcome="2fa")
    challenge = {"challenge": "Y2g", "keyHandles": ["a2V5"], "rpId": "apple.com"}
    apple.add(responses.GET, AUTH, {"fsaChallenge": challenge, "keyNames": ["YubiKey 5C"]})
    with pytest.raises(AuthError, match=r"security key \(YubiKey 5C\)") as raised:
        apple.provider.login(account(), interactive=True)
    assert "connect it by USB" in (raised.value.hint or "")
    assert apple.secrets.values == {}


def test_login_needs_an_apple_id(apple: Apple) -> None:
    with pytest.raises(UsageError, match="Apple ID") as raised:
        apple.provider.login(Account("family", "icloud", {}), interactive=True)
    assert (
        raised.value.hint == "run `trashscan accounts add icloud family --option apple_id=APPLE_ID`"
    )


def test_china_mainland_uses_the_cn_hosts_but_apple_idmsa(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in()
    apple.account_login(setup=CHINA_SETUP)
    apple.add(responses.POST, f"{CHINA_SETUP}/requestWebAccessState", WEB_ACCESS_OK)
    saved = apple.provider.login(account(china_mainland=True), interactive=False)
    assert saved == {"apple_id": APPLE_ID, "china_mainland": True}
    assert apple.calls[-2:] == [
        ("POST", f"{CHINA_SETUP}/accountLogin"),
        ("POST", f"{CHINA_SETUP}/requestWebAccessState"),
    ]
    assert apple.sent[1].headers["Origin"] == "https://www.icloud.com.cn"


def test_login_warns_when_web_access_is_off(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in()
    apple.account_login()
    apple.web_access({**WEB_ACCESS_OK, "isWebAccessAllowed": False, "isICDRSDisabled": True})
    apple.provider.login(account(), interactive=True)
    assert apple.notices[-1] == (
        "warning: iCloud web access is off (Advanced Data Protection): trashscan cannot read "
        "this account; turn on 'Access iCloud Data on the Web' to use it"
    )


def test_login_under_adp_asks_a_device_and_waits_a_bounded_time(apple: Apple) -> None:
    apple.secrets.values.clear()
    apple.passwords.append(PASSWORD)
    apple.srp_sign_in()
    apple.account_login()
    adp = {**WEB_ACCESS_OK, "isICDRSDisabled": True, "isDeviceConsentedForPCS": False}
    apple.web_access(adp)  # the login check; the PCS handshake starts from this answer
    apple.add(
        responses.POST,
        f"{SETUP}/enableDeviceConsentForPCS",
        {"isDeviceConsentNotificationSent": True},
    )
    apple.web_access(adp)  # still not approved after 5 s
    apple.web_access({**adp, "isDeviceConsentedForPCS": True})
    apple.add(
        responses.POST,
        f"{SETUP}/requestPCS",
        {"status": "success"},
        body={"appName": "photos", "derivedFromUserAction": True},
    )
    apple.provider.login(account(), interactive=True)
    assert apple.sleeps == [5.0, 5.0]
    assert "Approve the web access request on one of your Apple devices now." in apple.notices
    assert apple.notices[-1] == "Web access was approved: scans work for about an hour."


# ------------------------------------------------------------------------------ check_auth


def test_check_auth_with_a_valid_session_validates_then_opens_photos(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.photos_service()
    status = apple.provider.check_auth(account())
    assert status.ok, status.detail
    assert status.detail == f"signed in as {APPLE_ID}"
    assert apple.calls == [("POST", f"{SETUP}/validate"), *PHOTOS_SERVICE_CALLS]
    assert apple.prompts == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {**WEB_ACCESS_OK, "isWebAccessAllowed": False},
            "iCloud web access is off (Advanced Data Protection)",
        ),
        (
            {**WEB_ACCESS_OK, "isICDRSDisabled": True, "isDeviceConsentedForPCS": False},
            "iCloud Advanced Data Protection is on and web access was not granted",
        ),
    ],
    ids=["web-access-off", "adp-not-approved"],
)
def test_check_auth_fails_when_a_scan_would(
    apple: Apple, state: dict[str, Any], expected: str
) -> None:
    """A valid session is not enough: the web-access state decides whether a scan can work."""
    apple.write_session()
    apple.validate()
    apple.web_access(state)
    status = apple.provider.check_auth(account())
    assert not status.ok
    assert status.detail.startswith(expected)
    assert apple.calls == [
        ("POST", f"{SETUP}/validate"),
        ("POST", f"{SETUP}/requestWebAccessState"),
    ]
    assert apple.prompts == []


def test_check_auth_signs_in_again_with_the_password_when_the_trust_token_is_valid(
    apple: Apple,
) -> None:
    apple.write_session()
    apple.validate(ok=False)  # the session expired
    apple.account_login(session_token=OLD_SESSION_TOKEN, trust_token=TRUST_TOKEN, status=421)
    apple.srp_sign_in(trust_tokens=[TRUST_TOKEN])
    apple.account_login(trust_token=TRUST_TOKEN)
    apple.photos_service()
    status = apple.provider.check_auth(account())
    assert status.ok, status.detail
    assert status.detail == f"signed in again as {APPLE_ID} (password only)"
    assert apple.calls == [
        ("POST", f"{SETUP}/validate"),
        ("POST", f"{SETUP}/accountLogin"),
        *_srp_calls(),
        ("POST", f"{SETUP}/accountLogin"),
        *PHOTOS_SERVICE_CALLS,
    ]
    _assert_srp_bodies(apple, trust_tokens=[TRUST_TOKEN])
    assert apple.prompts == []  # no password prompt, no code prompt


def test_check_auth_reports_2fa_without_prompting_or_sending_codes(apple: Apple) -> None:
    apple.write_session()
    apple.validate(ok=False)
    apple.account_login(session_token=OLD_SESSION_TOKEN, trust_token=TRUST_TOKEN, status=421)
    apple.srp_sign_in(trust_tokens=[TRUST_TOKEN], outcome="2fa")
    apple.add(responses.GET, AUTH, {"trustedPhoneNumber": {"id": 1, "pushMode": "sms"}})
    apple.add(responses.GET, AUTH, {"mode": "sms", "trustedPhoneNumber": {"id": 1}})
    status = apple.provider.check_auth(account())
    assert not status.ok
    assert status.detail == "needs a new 2FA sign-in"
    assert status.hint == "run `trashscan accounts add icloud family`"
    assert apple.prompts == []
    # No SMS (PUT verify/phone) and no trusted-device prompt were asked for.
    assert ("PUT", f"{AUTH}/verify/phone") not in apple.calls
    assert apple.calls[-2:] == [("GET", AUTH), ("GET", AUTH)]

    # From now on unattended runs do not sign in (and so cannot make Apple prompt) at all.
    apple.rsps.calls.reset()
    again = apple.provider.check_auth(account())
    assert (again.ok, again.detail) == (False, "needs a new 2FA sign-in")
    assert apple.calls == []


def test_check_auth_without_a_password_says_how_to_add_one(apple: Apple) -> None:
    apple.secrets.values.clear()  # no session files either
    status = apple.provider.check_auth(account())
    assert not status.ok
    assert status.detail == "no stored password for iCloud account 'family'"
    assert status.hint == (
        f"run `trashscan accounts add icloud family --option apple_id={APPLE_ID}`"
    )
    assert apple.calls == []


def test_a_valid_session_needs_no_keyring(apple: Apple) -> None:
    """A locked keyring under cron does not matter while the session is valid."""

    class Locked:
        description = "locked"

        def get(self, service: str, key: str) -> Any:
            raise AssertionError("the keyring was read")

    apple.write_session()
    apple.validate()
    apple.photos_service()
    context = apple.context
    provider = type(apple.provider)(
        type(context)(Locked(), context.retry, context.clock, context.data_dir)  # type: ignore[arg-type]
    )
    assert provider.check_auth(account()).ok


def test_session_files_are_keyed_to_the_client(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.provider.check_auth(account())
    assert apple.session_data()["client_id"] == CLIENT_ID


def test_adding_again_with_a_valid_session_only_validates(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access()
    saved = apple.provider.login(account(), interactive=True)
    assert saved == {"apple_id": APPLE_ID, "china_mainland": False}
    assert apple.calls == [
        ("POST", f"{SETUP}/validate"),
        ("POST", f"{SETUP}/requestWebAccessState"),
    ]
    assert apple.prompts == []  # the stored password was kept, no code was needed


def test_adding_again_clears_the_needs_2fa_mark(apple: Apple) -> None:
    (apple.account_dir() / "needs-2fa").write_text("x")
    apple.write_session()
    apple.validate()
    apple.web_access()
    apple.provider.login(account(), interactive=True)
    assert not (apple.account_dir() / "needs-2fa").exists()
