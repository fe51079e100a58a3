"""The Dropbox fake's issue-12 cases through the real SDK over HTTPS: a deleted photo made
unrestorable on demand (``is_restorable: false`` with ``include_restorable_info``), and a revoked
refresh token answered HTTP 400 ``{"error": "invalid_grant", ...}`` as Dropbox's OAuth guide says
(so a client can name the cause instead of reporting a 401)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dropbox import files
from dropbox.exceptions import ApiError, AuthError

from trashscan_dropbox.sandbox.fake import DropboxFake

from . import test_fake as base

# The fixtures and helpers of the fake's main test module, bound here so pytest finds them.
fake, now = base.fake, base.now
_client, _list_all, _session = base._client, base._list_all, base._session


def test_is_restorable_false_seeded_on_demand(fake: DropboxFake, ca_bundle: Path) -> None:
    at = fake.clock() - timedelta(days=3)
    fake.add_file("carol", "/Camera Uploads/locked.jpg", at=at - timedelta(days=90))
    fake.delete("carol", "/Camera Uploads/locked.jpg", at=at)
    fake.set_restorable("carol", "/Camera Uploads/locked.jpg", False)
    dbx = _client(fake, ca_bundle)
    entries, _, _ = _list_all(dbx, include_deleted=True, include_restorable_info=True)
    (tombstone,) = [e for e in entries if e.path_lower == "/camera uploads/locked.jpg"]
    assert isinstance(tombstone, files.DeletedMetadata) and tombstone.is_restorable is False
    plain, _, _ = _list_all(dbx, include_deleted=True)  # not asked: the field is absent
    (bare,) = [e for e in plain if e.path_lower == "/camera uploads/locked.jpg"]
    assert bare.is_restorable is None
    revisions = dbx.files_list_revisions("/Camera Uploads/locked.jpg", include_restorable_info=True)
    assert revisions.is_deleted and revisions.entries[0].is_restorable is False
    with pytest.raises(ApiError) as refused:
        dbx.files_restore("/Camera Uploads/locked.jpg", revisions.entries[0].rev)
    assert refused.value.error.is_invalid_revision()

    fake.set_restorable("carol", "/Camera Uploads/locked.jpg", True)
    entries, _, _ = _list_all(dbx, include_deleted=True, include_restorable_info=True)
    assert [e.is_restorable for e in entries if e.path_lower == "/camera uploads/locked.jpg"] == [
        True
    ]
    assert dbx.files_restore("/Camera Uploads/locked.jpg", revisions.entries[0].rev).name == (
        "locked.jpg"
    )


def test_revoked_refresh_token_is_http_400_invalid_grant(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    assert fake.server is not None
    refresh = fake.accounts["carol"].refresh_token
    fake.revoke("carol")
    answer = _session(ca_bundle).post(
        fake.server.url("/oauth2/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": fake.auth.app_key,
        },
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "refresh token is invalid or revoked",
    }
    with pytest.raises(AuthError):  # the SDK's mapping of that 400 (dropbox.md §1, §5)
        _client(fake, ca_bundle).files_list_folder("")
    assert [r.status for r in fake.server.request_log if r.path == "/oauth2/token"][-1] == 400
