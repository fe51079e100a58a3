"""Unit tests of the Dropbox fake's parts: the path/revision model, the seeded manifests, the
wire envelopes and cursors (no server, no client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from dropbox import files, stone_serializers
from dropbox.auth import RateLimitError_validator
from dropbox.content_hash import DropboxContentHasher

from trashscan_dropbox.sandbox.api import DEFAULT_LIMIT, metadata
from trashscan_dropbox.sandbox.fake import DropboxFake
from trashscan_dropbox.sandbox.model import Namespace, PathConflict, PathNotFound, content_hash
from trashscan_dropbox.sandbox.wire import BadRequest, error_summary, rate_limit_body

T0 = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)


def _ns() -> Namespace:
    return Namespace(ns_id=123)


def _put(ns: Namespace, path: str, at: datetime = T0, size: int = 10) -> None:
    ns.put_file(path, size=size, digest="0" * 64, client_modified=at, at=at)


# -- seeded accounts ------------------------------------------------------------------------------


@pytest.fixture
def seeded() -> DropboxFake:
    fake = DropboxFake()
    from trashscan_dropbox.sandbox.seed import seed_accounts

    fake.manifest.update(seed_accounts(fake, T0))
    return fake


@pytest.mark.parametrize(
    ("account", "tombstones", "lost", "restorable", "deleted_entries", "retention"),
    [("carol", 9, 8, 7, 12, 30), ("dave", 10, 9, 8, 13, 180)],
)
def test_seeded_counts(
    seeded: DropboxFake,
    account: str,
    tombstones: int,
    lost: int,
    restorable: int,
    deleted_entries: int,
    retention: int,
) -> None:
    manifest = seeded.manifest[account]
    assert len(manifest.media_tombstones) == tombstones
    assert len(manifest.deleted_media) == lost
    assert len(manifest.restorable_media) == restorable
    assert len(manifest.in_deleted_folder) == 3
    assert manifest.moved == {"/Photos/a.jpg": "/Archive/a.jpg"}
    assert manifest.occupied == ["/Photos/beach.jpg"]
    ns = seeded.accounts[account].namespace
    deleted = [node for node in ns.nodes.values() if not node.live]
    assert len(deleted) == deleted_entries
    assert {n.path_display for n in deleted if not n.restorable} == set(manifest.not_restorable)
    ages = [T0 - at for at in manifest.deleted_at.values()]
    assert max(ages) < timedelta(days=retention) and min(ages) > timedelta(0)
    assert ns.node("/photos/beach.jpg").live  # type: ignore[union-attr]
    media_ext = (".jpg", ".heic", ".mp4", ".mov")
    assert all(path.endswith(media_ext) for path in manifest.media_tombstones)
    assert {p.rsplit(".", 1)[1] for p in manifest.media_tombstones} >= {"jpg", "heic", "mp4", "mov"}
    assert all(p.endswith((".pdf", ".docx")) for p in manifest.deleted_documents)


def test_seeded_accounts_have_the_right_types(seeded: DropboxFake) -> None:
    assert seeded.accounts["carol"].account_type == "basic"
    assert seeded.accounts["carol"].team_name is None
    assert seeded.accounts["dave"].account_type == "business"
    assert seeded.accounts["dave"].team_name == "Example Corp"
    ids = {a.namespace.ns_id for a in seeded.accounts.values()}
    assert len(ids) == 2


# -- model ---------------------------------------------------------------------------------------


def test_keys_sort_parents_first_and_list_direct_children() -> None:
    ns = _ns()
    for path in ("/A/b.jpg", "/A b/c.jpg", "/A/Sub/d.jpg", "/z.jpg"):
        _put(ns, path)
    assert list(ns.keys_under("", False)) == ["/a", "/a b", "/z.jpg"]
    assert list(ns.keys_under("/a", True)) == ["/a/b.jpg", "/a/sub", "/a/sub/d.jpg"]
    assert list(ns.keys_under("/a", False, after="/a/b.jpg")) == ["/a/sub"]


def test_display_path_keeps_existing_folder_casing() -> None:
    ns = _ns()
    _put(ns, "/Photos/x.jpg")
    revision = ns.put_file("/photos/Y.JPG", size=1, digest="0" * 64, client_modified=T0, at=T0)
    assert revision.path_display == "/Photos/Y.JPG"


def test_upload_over_a_file_is_a_new_version_and_over_a_tombstone_a_new_file() -> None:
    ns = _ns()
    _put(ns, "/a.jpg")
    first = ns.nodes["/a.jpg"].id
    _put(ns, "/a.jpg", T0 + timedelta(hours=1))
    assert ns.nodes["/a.jpg"].id == first
    ns.delete("/a.jpg", T0 + timedelta(hours=2))
    _put(ns, "/a.jpg", T0 + timedelta(hours=3))
    assert ns.nodes["/a.jpg"].live and ns.nodes["/a.jpg"].id != first


def test_delete_folder_tombstones_everything_inside() -> None:
    ns = _ns()
    _put(ns, "/F/a.jpg")
    _put(ns, "/F/G/b.jpg")
    gone = ns.delete("/F", T0 + timedelta(days=1))
    assert {n.path_lower for n in gone} == {"/f", "/f/a.jpg", "/f/g", "/f/g/b.jpg"}
    assert all(n.deleted_at == T0 + timedelta(days=1) for n in gone)
    with pytest.raises(PathNotFound):
        ns.delete("/F", T0)


def test_move_folder_keeps_ids_and_tombstones_old_paths() -> None:
    ns = _ns()
    _put(ns, "/Old/a.jpg")
    file_id, folder_id = ns.nodes["/old/a.jpg"].id, ns.nodes["/old"].id
    ns.move("/Old", "/New", T0 + timedelta(days=1))
    assert ns.nodes["/new/a.jpg"].id == file_id and ns.nodes["/new"].id == folder_id
    assert not ns.nodes["/old/a.jpg"].live and ns.nodes["/old/a.jpg"].moved_to == "/new/a.jpg"
    assert ns.live_ids[file_id] == "/new/a.jpg"
    with pytest.raises(PathConflict):
        _put(ns, "/Other.jpg")
        ns.move("/Other.jpg", "/New", T0 + timedelta(days=2))


def test_restore_conflicts_and_revisions() -> None:
    ns = _ns()
    _put(ns, "/a.jpg")
    rev = ns.nodes["/a.jpg"].revision.rev  # type: ignore[union-attr]
    ns.make_folder("/Dir", T0)
    with pytest.raises(PathConflict) as folder:
        ns.restore("/Dir", rev, T0)
    assert folder.value.kind == "folder"
    with pytest.raises(PathConflict) as ancestor:
        ns.restore("/a.jpg/b.jpg", rev, T0)
    assert ancestor.value.kind == "file_ancestor"
    with pytest.raises(KeyError):
        ns.restore("/a.jpg", "fffffffffff", T0)
    ns.set_restorable("/a.jpg", False)
    with pytest.raises(KeyError):
        ns.restore("/a.jpg", rev, T0)


def test_journal_records_every_change_in_order() -> None:
    ns = _ns()
    _put(ns, "/F/a.jpg")
    ns.delete("/F/a.jpg", T0)
    assert ns.journal == ["/f", "/f/a.jpg", "/f/a.jpg"]
    assert ns.seq == 3


def test_content_hash_matches_the_sdk_hasher() -> None:
    data = bytes(range(256)) * 40_000  # more than two 4 MiB blocks
    hasher = DropboxContentHasher()
    hasher.update(data)
    assert content_hash(data) == hasher.hexdigest()
    # files.stone's FileMetadata example: the hash of an empty file.
    assert content_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# -- wire ----------------------------------------------------------------------------------------


def test_error_summaries() -> None:
    assert error_summary({".tag": "path", "path": {".tag": "not_found"}}) == "path/not_found/.."
    assert error_summary({".tag": "reset"}) == "reset/.."
    body = rate_limit_body("too_many_write_operations", 4)
    assert body["error_summary"] == "too_many_write_operations/.."
    decoded = stone_serializers.json_compat_obj_decode(RateLimitError_validator, body["error"])
    assert decoded.reason.is_too_many_write_operations() and decoded.retry_after == 4


def test_http_fault_is_what_the_sdk_decodes() -> None:
    fault = DropboxFake.http_fault("too_many_requests", 9)
    assert fault.status == 429 and fault.headers["Retry-After"] == "9"
    assert fault.headers["Content-Type"] == "application/json"
    error = json.loads(fault.body)["error"]
    decoded = stone_serializers.json_compat_obj_decode(RateLimitError_validator, error)
    assert decoded.reason.is_too_many_requests() and decoded.retry_after == 9


def test_deleted_metadata_has_no_date_size_or_rev() -> None:
    ns = _ns()
    _put(ns, "/a.jpg")
    (node,) = ns.delete("/a.jpg", T0)
    wire = stone_serializers.json_compat_obj_encode(
        files.Metadata_validator, metadata(node, True, False)
    )
    assert wire == {
        ".tag": "deleted",
        "name": "a.jpg",
        "path_lower": "/a.jpg",
        "path_display": "/a.jpg",
        "is_restorable": True,
    }


def test_cursors_are_tamper_evident() -> None:
    fake = DropboxFake()
    carol = fake.add_account("carol")
    result = fake.api._list_folder(
        carol, files.ListFolderArg(path="", include_restorable_info=False)
    )
    cursor = result.value["cursor"]
    assert fake.api._decode_cursor(cursor, carol).account_id == carol.account_id
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(BadRequest):
        fake.api._decode_cursor(tampered, carol)
    assert DEFAULT_LIMIT == 2000


def test_account_validation() -> None:
    fake = DropboxFake()
    fake.add_account("x", account_type="pro")
    with pytest.raises(ValueError, match="exists"):
        fake.add_account("x")
    with pytest.raises(ValueError, match="account_type"):
        fake.add_account("y", account_type="plus")
    with pytest.raises(ValueError, match="too small"):
        fake.bulk("x", 10, 20)
