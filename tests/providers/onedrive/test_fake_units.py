"""Unit tests of the OneDrive fake's model, wire helpers and seeding, without HTTP; and one run
of the whole sandbox session with only this fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.sandbox.session import Sandbox
from trashscan.secrets import FileSecretStore
from trashscan_onedrive.sandbox.auth import graph_scope_name
from trashscan_onedrive.sandbox.fake import OneDriveFake
from trashscan_onedrive.sandbox.graph import GraphApi
from trashscan_onedrive.sandbox.model import (
    Drive,
    Identity,
    NameConflict,
    ParentMissing,
    mime_type,
)
from trashscan_onedrive.sandbox.wire import entra_error, throttle_body

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OWNER = Identity("u", "U Example", "u@example.com", "oid", "tid", "uid")


def _drive(kind: str) -> Drive:
    drive_id = "0123456789abcdef" if kind == "personal" else "b!abc"
    return Drive(drive_id, kind, OWNER, NOW - timedelta(days=100), quota_total=10**12)


def _changes(drive: Drive, since: int, exclude_parent: bool = True) -> list[str]:
    return [i.name for i in GraphApi._changes(drive, since, exclude_parent)]


def test_paths_are_case_insensitive_and_uploads_version() -> None:
    drive = _drive("personal")
    photo = drive.put_file("/Pictures/A.jpg", 10, NOW)
    assert photo.id == "0123456789ABCDEF!103"  # root !101, Pictures !102
    assert drive.resolve("/pictures/a.JPG") is photo
    again = drive.put_file("/PICTURES/a.jpg", 20, NOW)
    assert again is photo and photo.version == 2 and photo.size == 20
    with pytest.raises(NameConflict):
        drive.put_file("/Pictures/A.jpg/x.jpg", 1, NOW)
    assert mime_type("x.HEIC") == "image/heic" and mime_type("noext") == "application/octet-stream"


def test_personal_folder_delete_reports_only_the_folder() -> None:
    drive = _drive("personal")
    for name in ("a.jpg", "b.jpg"):
        drive.put_file(f"/Trip/{name}", 5, NOW)
    since = drive.seq
    drive.delete(drive.resolve("/Trip"), NOW)  # type: ignore[arg-type]
    assert _changes(drive, since) == ["Trip"]
    assert _changes(drive, since, exclude_parent=False) == ["root", "Trip"]
    assert drive.quota(NOW)["deleted"] == 10


def test_business_folder_delete_reports_every_item_and_one_bin_entry() -> None:
    drive = _drive("business")
    for name in ("a.jpg", "b.jpg"):
        drive.put_file(f"/Trip/{name}", 5, NOW)
    since = drive.seq
    entry = drive.delete(drive.resolve("/Trip"), NOW)  # type: ignore[arg-type]
    assert entry is not None and entry.size == 10 and entry.deleted_from == "Documents"
    assert sorted(_changes(drive, since)) == ["Trip", "a.jpg", "b.jpg"]
    assert [e.name for e in drive.bin_entries(NOW)] == ["Trip"]
    assert drive.bin_entries(NOW + timedelta(days=94)) == []
    assert drive.items[entry.item_id].purged


def test_restore_rules() -> None:
    drive = _drive("personal")
    photo = drive.put_file("/Trip/a.jpg", 5, NOW)
    other = drive.put_file("/Trip/b.jpg", 5, NOW)
    folder = drive.resolve("/Trip")
    assert folder is not None
    drive.delete(folder, NOW)
    with pytest.raises(ParentMissing):
        drive.restore(photo, NOW)
    drive.restore(photo, NOW, parent=drive.root)  # taken out of the deleted folder
    assert drive.resolve("/a.jpg") is photo
    drive.restore(folder, NOW)
    assert drive.resolve("/Trip/b.jpg") is other and drive.resolve("/Trip/a.jpg") is None
    drive.delete(other, NOW)
    drive.put_file("/Trip/b.jpg", 7, NOW)
    with pytest.raises(NameConflict):
        drive.restore(other, NOW)
    drive.restore(other, NOW, name="b (1).jpg")
    assert drive.resolve("/Trip/b (1).jpg") is other


def test_personal_retention_is_30_days() -> None:
    drive = _drive("personal")
    photo = drive.put_file("/a.jpg", 5, NOW)
    drive.delete(photo, NOW)
    assert not drive.is_purged(photo, NOW + timedelta(days=29))
    assert drive.is_purged(photo, NOW + timedelta(days=31))
    assert drive.quota(NOW + timedelta(days=31))["deleted"] == 0


def test_timestamp_tokens_replay_from_the_first_later_change() -> None:
    drive = _drive("business")
    drive.put_file("/old.jpg", 1, NOW - timedelta(days=2))
    mark = drive.seq
    drive.put_file("/new.jpg", 1, NOW)
    assert drive.seq_at(NOW - timedelta(days=1)) == mark
    assert drive.seq_at(NOW + timedelta(days=1)) == drive.seq


def test_tombstone_shapes_follow_the_delta_remarks() -> None:
    fake = OneDriveFake()
    for kind in ("personal", "business"):
        fake.add_account(kind, kind)
        fake.add_file(kind, "/a.jpg", 100, NOW)
        fake.delete(kind, "/a.jpg", NOW)
        drive = fake.graph.drives[kind]
        (tombstone,) = [i for i in drive.items.values() if not i.live]
        body = fake.graph.render(drive, tombstone, in_delta=True)
        assert body["deleted"] == {"state": "deleted"} and "cTag" not in body
        assert "path" not in body["parentReference"]
        if kind == "personal":
            assert body["name"] == "a.jpg" and "size" not in body
        else:
            assert "name" not in body and body["size"] == 0


def test_wire_bodies() -> None:
    assert throttle_body(429)["error"]["code"] == "activityLimitReached"
    assert throttle_body(503)["error"]["code"] == "serviceNotAvailable"
    fault = OneDriveFake.http_fault(503, 2.5)
    assert fault.status == 503 and fault.headers["Retry-After"] == "2.5"
    assert json.loads(fault.body)["error"]["innerError"]["request-id"]
    response = entra_error(400, "invalid_grant", 700082, "expired", suberror="bad_token")
    body = json.loads(response.body)
    assert body["error_codes"] == [700082] and body["suberror"] == "bad_token"
    assert body["error_description"].startswith("AADSTS700082: expired\r\nTrace ID: ")
    assert graph_scope_name("https://graph.microsoft.com/Files.Read") == "Files.Read"
    assert graph_scope_name("https://contoso-my.sharepoint.com/AllSites.Write") is None


def test_seed_manifests_match_the_documented_counts() -> None:
    fake = OneDriveFake()
    fake.clock = lambda: NOW
    from trashscan_onedrive.sandbox import seed as fake_seed

    manifests = fake_seed.seed_accounts(fake, NOW)
    erin, frank = manifests["erin"], manifests["frank"]
    assert len(erin.live) == 35 and len(erin.pre_enrolment_deleted) == 2
    assert len(erin.scan_deleted_media) == 4 and len(erin.scan_folder_photos) == 4
    assert len(frank.live) == 14
    assert len(frank.bin_media) == 7 and len(frank.bin_documents) == 2
    bin_entries = fake.graph.drives["frank"].bin_entries(NOW)
    assert len(bin_entries) == 10
    assert [e.name for e in bin_entries if e.stage == 2] == ["IMG_2005.jpg"]
    assert min(e.deleted_at for e in bin_entries) >= NOW - timedelta(days=93)


def test_sandbox_session_with_only_this_fake(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "box", only=frozenset({"onedrive"})) as box:
        assert box.broken == {}
        names = {a["name"]: a for a in box.accounts}
        assert set(names) == {"erin", "frank"}
        assert names["erin"]["drive_type"] == "personal"
        assert "secret_blobs" not in names["erin"]  # moved to the secret store
        store = FileSecretStore(
            tmp_path / "box" / "sandbox-secrets.json", insecure_for_testing=True
        )
        blob = store.get_blob("trashscan:onedrive:erin", "msal_cache")
        assert blob is not None and "RefreshToken" in json.loads(blob)
        box.between_scans()
        fake = box.fakes["onedrive"]
        assert not fake.find(
            "erin", fake.manifest["erin"].ids["/Documents/Tax return 2023.pdf"]
        ).live
