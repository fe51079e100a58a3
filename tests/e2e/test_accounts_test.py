"""`trashscan accounts test NAME` makes one request a scan would make, and fails when a scan would.

Against each provider's sandbox fake: a healthy account answers ``ok`` after the request that
proves it (Google ``about.get``, Dropbox ``get_current_account``, OneDrive Graph ``/me/drive``,
iCloud the web-access state and Photos); an account whose grant the server revoked, or whose web
access Advanced Data Protection withholds, fails with one line and exit 1, even though a local
cache (msal's tokens, pyicloud's session) still looks valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog, started_sandbox


@pytest.fixture
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    provider = request.param  # each test names its provider: parametrize("sandbox", ..., indirect)
    with started_sandbox(tmp_path / "sandbox", provider) as box:
        yield box


def _provider(sandbox: Sandbox) -> str:
    (provider,) = sandbox.fakes
    return str(provider)


@pytest.fixture
def fake(sandbox: Sandbox) -> Any:
    return sandbox.fakes[_provider(sandbox)]


@pytest.fixture
def log(sandbox: Sandbox) -> RequestLog:
    log = RequestLog(sandbox.servers[_provider(sandbox)])
    log.mark()
    return log


def _paths(log: RequestLog) -> list[tuple[str, str, int | None]]:
    return [(method, path.split("?")[0], status) for method, path, status in log.calls()]


def _failed(result: Any, name: str) -> str:
    assert result.exit_code == 1, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"trashscan: {name}: ")
    assert "Traceback" not in result.stderr
    return lines[0]


# ----------------------------------------------------------------------------------- Dropbox


@pytest.mark.parametrize("sandbox", ["dropbox"], indirect=True)
def test_dropbox_asks_for_the_current_account(cli, log):
    result = cli("accounts", "test", "carol")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("carol: ok (signed in as ")
    assert ("POST", "/2/users/get_current_account", 200) in _paths(log)


@pytest.mark.parametrize("sandbox", ["dropbox"], indirect=True)
def test_dropbox_with_a_revoked_grant_fails_with_what_the_server_said(cli, fake, log):
    fake.revoke("carol")

    line = _failed(cli("accounts", "test", "carol"), "carol")

    assert "(HTTP 400 invalid_grant)" in line
    assert "run `trashscan accounts add dropbox carol --option app_key=" in line
    assert ("POST", "/oauth2/token", 400) in _paths(log)


# ----------------------------------------------------------------------------------- Google


@pytest.mark.parametrize("sandbox", ["google-drive"], indirect=True)
def test_google_drive_asks_about_get(cli, log):
    result = cli("accounts", "test", "bob")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("bob: ok (signed in as ")
    assert ("GET", "/drive/v3/about", 200) in _paths(log)


@pytest.mark.parametrize("sandbox", ["google-drive"], indirect=True)
def test_google_drive_with_a_token_rejected_before_expiry_refreshes_and_passes(cli, fake, log):
    assert cli("accounts", "test", "bob").exit_code == 0  # a fresh token is stored
    fake.reject_tokens("bob")
    log.mark()

    result = cli("accounts", "test", "bob")

    assert result.exit_code == 0, result.stderr
    assert [c for c in _paths(log) if c[1] in ("/drive/v3/about", "/token")] == [
        ("GET", "/drive/v3/about", 401),
        ("POST", "/token", 200),
        ("GET", "/drive/v3/about", 200),
    ]


@pytest.mark.parametrize("sandbox", ["google-drive"], indirect=True)
def test_google_drive_with_a_revoked_grant_fails(cli, fake):
    fake.reject_tokens("bob")
    fake.revoke("bob")

    line = _failed(cli("accounts", "test", "bob"), "bob")

    assert line == (
        "trashscan: bob: Google grant expired or revoked "
        "(re-run `trashscan accounts add google-drive bob`)"
    )


@pytest.mark.parametrize("sandbox", ["google-drive"], indirect=True)
def test_google_drive_with_the_drive_api_disabled_fails_as_a_scan_would(cli, fake):
    fake.set_api_enabled("bob", "drive.googleapis.com", enabled=False)

    line = _failed(cli("accounts", "test", "bob"), "bob")

    assert line.startswith("trashscan: bob: Google Drive refused about.get: HTTP 403")


# ----------------------------------------------------------------------------------- OneDrive


@pytest.mark.parametrize("sandbox", ["onedrive"], indirect=True)
def test_onedrive_asks_graph(cli, log):
    result = cli("accounts", "test", "erin")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("erin: ok (signed in as ")
    assert ("GET", "/v1.0/me/drive", 200) in _paths(log)


@pytest.mark.parametrize("sandbox", ["onedrive"], indirect=True)
def test_onedrive_is_not_ok_right_after_graph_rejected_the_cached_token(cli, fake, log):
    """msal's cache still holds an access token that has not expired; Graph no longer takes it
    and the refresh is refused. Before, `accounts test` answered ok from that cache."""
    fake.revoke("erin")

    line = _failed(cli("accounts", "test", "erin"), "erin")

    assert line.startswith(
        "trashscan: erin: Microsoft refused the stored sign-in of OneDrive account 'erin' "
        "(invalid_grant"
    )
    assert line.endswith("(re-run `trashscan accounts add onedrive erin`)")
    graph_and_token = [
        c for c in _paths(log) if c[1] in ("/v1.0/me/drive", "/common/oauth2/v2.0/token")
    ]
    assert graph_and_token == [
        ("GET", "/v1.0/me/drive", 401),
        ("POST", "/common/oauth2/v2.0/token", 400),
    ]


# ----------------------------------------------------------------------------------- iCloud


@pytest.mark.parametrize("sandbox", ["icloud"], indirect=True)
def test_icloud_reads_the_web_access_state_and_opens_photos(cli, log):
    result = cli("accounts", "test", "grace")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("grace: ok (signed in ")
    paths = [path for _, path, _ in _paths(log)]
    assert paths.count("/setup/ws/1/requestWebAccessState") == 1


@pytest.mark.parametrize("sandbox", ["icloud"], indirect=True)
def test_icloud_with_advanced_data_protection_and_no_approval_fails_as_every_scan(cli, fake, log):
    fake.enable_adp("grace", device_approves=False)

    line = _failed(cli("accounts", "test", "grace"), "grace")

    assert line.startswith(
        "trashscan: grace: iCloud Advanced Data Protection is on and web access was not granted"
    )
    paths = [path for _, path, _ in _paths(log)]
    assert "/setup/ws/1/enableDeviceConsentForPCS" not in paths  # no prompt on her devices
    assert fake.state.accounts["grace"].consent_requests == 0


@pytest.mark.parametrize("sandbox", ["icloud"], indirect=True)
def test_icloud_with_web_access_off_fails(cli, fake):
    fake.disable_web_access("grace")

    line = _failed(cli("accounts", "test", "grace"), "grace")

    assert line.startswith("trashscan: grace: iCloud web access is off (Advanced Data Protection)")
