"""The Dropbox fake, driven by the real ``dropbox`` SDK over HTTPS with the sandbox CA.

Every call goes through ``dropbox.Dropbox`` with a refresh token, so the SDK's own request
building, response assertions (exact ``Content-Type``), error decoding and refresh logic run
against the fake. The SDK takes its hosts from the environment at import time, so the clients
here get the fake's ``host:port`` through ``_host_map`` and a ``refresh_access_token`` bound to
it (dropbox.md §4); one test runs a subprocess with the ``DROPBOX_API_HOST`` variables instead,
the way the plugin's end-to-end runs do.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dropbox
import pytest
import requests
from dropbox import files
from dropbox.common import PathRoot
from dropbox.exceptions import ApiError, AuthError, BadInputError, PathRootError, RateLimitError
from dropbox.oauth import DropboxOAuth2FlowNoRedirect
from dropbox.session import HOST_API, HOST_CONTENT, HOST_NOTIFY

from trashscan.sandbox.server import FakeServer
from trashscan.sandbox.session import Sandbox
from trashscan_dropbox.sandbox.fake import DropboxFake


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, now: datetime, tmp_path: Path) -> DropboxFake:
    dropbox_fake = DropboxFake()
    dropbox_fake.seed(tmp_path / "dbx", now, server=server, ca_bundle=ca_bundle)
    return dropbox_fake


def _hostport(fake: DropboxFake) -> str:
    assert fake.server is not None
    return fake.server.base_url.removeprefix("https://")


def _session(bundle: Path) -> requests.Session:
    session = dropbox.create_session(ca_certs=str(bundle))
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides verify
    return session


def _point(dbx: dropbox.Dropbox, hostport: str) -> dropbox.Dropbox:
    """Aim a client (or a clone: clones lose ``_host_map``) at the fake."""
    dbx._host_map = {HOST_API: hostport, HOST_CONTENT: hostport, HOST_NOTIFY: hostport}
    # refresh_access_token's host default is bound at import (dropbox.md §4): bind the fake's.
    dbx.refresh_access_token = functools.partial(  # type: ignore[method-assign]
        dropbox.Dropbox.refresh_access_token, dbx, hostport
    )
    return dbx


def _client(
    fake: DropboxFake, bundle: Path, account: str = "carol", **kwargs: Any
) -> dropbox.Dropbox:
    """How the plugin builds its client: the stored refresh token and app key, no secret."""
    table = fake.account_table(account, bundle)
    options: dict[str, Any] = {"max_retries_on_rate_limit": 0, "max_retries_on_error": 0}
    options.update(kwargs)
    dbx = dropbox.Dropbox(
        oauth2_refresh_token=table["secrets"]["refresh_token"],
        app_key=table["app_key"],
        session=_session(bundle),
        **options,
    )
    return _point(dbx, _hostport(fake))


def _list_all(dbx: dropbox.Dropbox, **kwargs: Any) -> tuple[list[Any], str, int]:
    """Every entry of a full listing, the final cursor and the number of pages."""
    result = dbx.files_list_folder("", recursive=True, **kwargs)
    entries, pages = list(result.entries), 1
    while result.has_more:
        result = dbx.files_list_folder_continue(result.cursor)
        entries += result.entries
        pages += 1
    return entries, result.cursor, pages


def _utc(at: datetime) -> datetime:
    """A fake-side aware time as the SDK returns timestamps: naive UTC, whole seconds."""
    return at.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _raw(fake: DropboxFake, bundle: Path, route: str, body: Any, token: str | None) -> Any:
    """A raw POST, to look at what the SDK hides (headers, status)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    assert fake.server is not None
    return _session(bundle).post(
        fake.server.url(route), data=json.dumps(body), headers=headers, timeout=10
    )


# -- accounts and wire format ---------------------------------------------------------------------


def test_seed_tables_point_at_the_server(fake: DropboxFake, ca_bundle: Path) -> None:
    tables = [fake.account_table(name, ca_bundle) for name in ("carol", "dave")]
    assert fake.server is not None
    for table in tables:
        assert table["provider"] == "dropbox"
        assert table["endpoint"] == fake.server.base_url + "/"
        assert table["ca_bundle"] == str(ca_bundle)
        assert table["app_key"] == fake.auth.app_key
        assert len(table["secrets"]["refresh_token"]) == 64


def test_current_account_is_the_sdk_full_account(fake: DropboxFake, ca_bundle: Path) -> None:
    carol = _client(fake, ca_bundle).users_get_current_account()
    assert carol.account_type.is_basic()
    assert carol.email == "carol@example.com"
    assert len(carol.account_id) == 40 and carol.account_id.startswith("dbid:")
    assert carol.team is None
    assert carol.root_info.root_namespace_id == carol.root_info.home_namespace_id
    dave = _client(fake, ca_bundle, "dave").users_get_current_account()
    assert dave.account_type.is_business()
    assert dave.team.name == "Example Corp"
    assert dave.team_member_id.startswith("dbmid:")
    usage = _client(fake, ca_bundle, "dave").users_get_space_usage()
    assert usage.allocation.is_team() and usage.used > 0


def test_responses_have_exact_content_type_and_request_id(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    token = fake.access_token("carol")
    ok = _raw(fake, ca_bundle, "/2/files/list_folder", {"path": ""}, token)
    missing = _raw(fake, ca_bundle, "/2/files/get_metadata", {"path": "/nope"}, token)
    bad_token = _raw(fake, ca_bundle, "/2/files/list_folder", {"path": ""}, "sl.nope")
    for response, status in ((ok, 200), (missing, 409), (bad_token, 401)):
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json"
        assert len(response.headers["X-Dropbox-Request-Id"]) == 32
    assert missing.json() == {
        "error_summary": "path/not_found/..",
        "error": {".tag": "path", "path": {".tag": "not_found"}},
    }
    assert bad_token.json()["error"] == {".tag": "invalid_access_token"}


def test_bad_input_is_a_plain_text_400(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    with pytest.raises(BadInputError, match="Specify the root folder as an empty string"):
        dbx.files_list_folder("/")
    token = fake.access_token("carol")
    root = _raw(fake, ca_bundle, "/2/files/get_metadata", {"path": ""}, token)
    assert root.status_code == 400  # "Metadata for the root folder is unsupported"
    assert root.headers["Content-Type"].startswith("text/plain")
    assert root.text.startswith('Error in call to API function "files/get_metadata"')
    unknown_field_ok = _raw(
        fake, ca_bundle, "/2/files/list_folder", {"path": "", "future_flag": True}, token
    )
    assert unknown_field_ok.status_code == 200  # the server ignores fields it does not know
    no_auth = _raw(fake, ca_bundle, "/2/files/list_folder", {"path": ""}, None)
    assert no_auth.status_code == 400 and "Authorization" in no_auth.text


# -- list_folder and cursors ----------------------------------------------------------------------


def test_paging_returns_the_same_entries_as_one_page(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    big, _, big_pages = _list_all(dbx, include_deleted=True, limit=2000)
    small, _, small_pages = _list_all(dbx, include_deleted=True, limit=3)
    assert big_pages == 1 and small_pages == -(-len(big) // 3)
    assert [e.path_lower for e in small] == [e.path_lower for e in big]
    paths = [e.path_lower for e in big]
    assert paths == sorted(paths)  # parents before children
    assert len(set(paths)) == len(paths)


def test_include_deleted_adds_tombstones_only_when_asked(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    plain, _, _ = _list_all(dbx)
    assert not any(isinstance(e, files.DeletedMetadata) for e in plain)
    entries, _, _ = _list_all(dbx, include_deleted=True, include_restorable_info=True)
    deleted = {e.path_display: e for e in entries if isinstance(e, files.DeletedMetadata)}
    manifest = fake.manifest["carol"]
    expected = {*manifest.media_tombstones, *manifest.deleted_folders, *manifest.deleted_documents}
    assert set(deleted) == expected
    assert len(deleted) == 12
    assert deleted["/Photos/old-scan.jpg"].is_restorable is False
    assert deleted["/Photos/dog.jpg"].is_restorable is True
    by_path = {e.path_display: e for e in entries}
    # Occupied again: the live file, never a tombstone. Moved: tombstone + live file.
    assert isinstance(by_path["/Photos/beach.jpg"], files.FileMetadata)
    assert isinstance(by_path["/Photos/a.jpg"], files.DeletedMetadata)
    assert isinstance(by_path["/Archive/a.jpg"], files.FileMetadata)
    without_info, _, _ = _list_all(dbx, include_deleted=True)
    assert all(
        e.is_restorable is None for e in without_info if isinstance(e, files.DeletedMetadata)
    )


def test_non_recursive_listing_and_folder_errors(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    top = dbx.files_list_folder("")
    assert {e.name for e in top.entries} == {
        "Archive",
        "Camera Uploads",
        "Documents",
        "Photos",
        "Videos",
    }
    photos = dbx.files_list_folder("/photos", include_deleted=True)
    assert all(e.path_lower.count("/") == 2 for e in photos.entries)
    assert "dog.jpg" in {e.name for e in photos.entries}
    with pytest.raises(ApiError) as missing:
        dbx.files_list_folder("/Nope")
    assert missing.value.error.get_path().is_not_found()
    with pytest.raises(ApiError) as file_path:
        dbx.files_list_folder("/Photos/sunset.jpg")
    assert file_path.value.error.get_path().is_not_folder()
    with pytest.raises(ApiError) as deleted_folder:
        dbx.files_list_folder("/Camera Uploads/2025 Trip")
    assert deleted_folder.value.error.get_path().is_not_found()


def test_continue_returns_only_changes_since_the_cursor(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    _, cursor, _ = _list_all(dbx, include_deleted=True, limit=4)
    quiet = dbx.files_list_folder_continue(cursor)
    assert quiet.entries == [] and quiet.has_more is False
    fake.delete("carol", "/Photos/sunset.jpg")
    fake.add_file("carol", "/Photos/new.jpg", b"new photo")
    rev = dbx.files_list_revisions("/Photos/cat.heic").entries[0].rev
    dbx.files_restore("/Photos/cat.heic", rev)
    fake.add_file("carol", "/Photos/new.jpg", b"edited photo")  # same path twice: one entry
    changes = dbx.files_list_folder_continue(quiet.cursor)
    kinds = {e.path_display: type(e).__name__ for e in changes.entries}
    assert kinds == {
        "/Photos/sunset.jpg": "DeletedMetadata",
        "/Photos/new.jpg": "FileMetadata",
        "/Photos/cat.heic": "FileMetadata",  # a restore shows as the file again
    }
    assert changes.entries[-1].path_display == "/Photos/new.jpg"  # ordered by last change
    assert dbx.files_list_folder_continue(changes.cursor).entries == []


def test_continue_reports_deletions_even_without_include_deleted(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    _, cursor, _ = _list_all(dbx)
    fake.delete("carol", "/Videos")  # a folder: the folder and its contents
    changes = dbx.files_list_folder_continue(cursor)
    deleted = {e.path_display for e in changes.entries if isinstance(e, files.DeletedMetadata)}
    assert deleted == {"/Videos", "/Videos/party.mp4"}


def test_changes_page_by_the_cursor_limit(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    cursor = dbx.files_list_folder_get_latest_cursor("", recursive=True, limit=2).cursor
    for index in range(5):
        fake.add_file("carol", f"/Inbox/{index}.jpg", b"x" * index)
    seen: list[str] = []
    page = dbx.files_list_folder_continue(cursor)
    seen += [e.path_display for e in page.entries]
    while page.has_more:
        assert len(page.entries) == 2
        page = dbx.files_list_folder_continue(page.cursor)
        seen += [e.path_display for e in page.entries]
    assert seen == ["/Inbox", *[f"/Inbox/{i}.jpg" for i in range(5)]]


def test_reset_and_foreign_cursors(fake: DropboxFake, ca_bundle: Path) -> None:
    carol, dave = _client(fake, ca_bundle), _client(fake, ca_bundle, "dave")
    cursor = carol.files_list_folder("").cursor
    fake.reset_cursors("carol")
    with pytest.raises(ApiError) as reset:
        carol.files_list_folder_continue(cursor)
    assert reset.value.error.is_reset()
    with pytest.raises(BadInputError, match="cursor"):
        dave.files_list_folder_continue(carol.files_list_folder("").cursor)
    with pytest.raises(BadInputError, match="cursor"):
        carol.files_list_folder_continue("not-a-real-cursor")


def test_longpoll_wakes_on_change(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    fake.api.longpoll_cap = 0.2
    cursor = dbx.files_list_folder_get_latest_cursor("", recursive=True).cursor
    assert dbx.files_list_folder_longpoll(cursor, timeout=30).changes is False
    fake.api.longpoll_cap = 5.0
    timer = threading.Timer(0.2, fake.add_file, ("carol", "/Photos/late.jpg", b"late"))
    timer.start()
    started = time.monotonic()
    assert dbx.files_list_folder_longpoll(cursor, timeout=30).changes is True
    assert time.monotonic() - started < 4
    timer.join()


# -- list_revisions -------------------------------------------------------------------------------


def test_revisions_of_a_deleted_file(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    result = dbx.files_list_revisions("/Photos/dog.jpg", include_restorable_info=True)
    assert result.is_deleted is True
    assert result.server_deleted == _utc(fake.manifest["carol"].deleted_at["/Photos/dog.jpg"])
    assert len(result.entries) == 2 and result.has_more is False
    newest, older = result.entries
    assert newest.server_modified > older.server_modified  # newest first
    assert newest.id == older.id and newest.is_restorable is True
    first = dbx.files_list_revisions("/Photos/dog.jpg", limit=1)
    assert first.has_more is True and first.entries[0].rev == newest.rev
    rest = dbx.files_list_revisions("/Photos/dog.jpg", limit=1, before_rev=newest.rev)
    assert [e.rev for e in rest.entries] == [older.rev]
    with pytest.raises(ApiError) as bad_before:
        dbx.files_list_revisions("/Photos/dog.jpg", before_rev="0123456789abcdef")
    assert bad_before.value.error.is_invalid_before_rev()


def test_revisions_of_live_and_never_existing_paths(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    live = dbx.files_list_revisions("/Photos/sunset.jpg")
    assert live.is_deleted is False and live.server_deleted is None
    for folder in ("/Camera Uploads/2025 Trip", "/Photos"):  # deleted and live folders
        with pytest.raises(ApiError) as not_file:
            dbx.files_list_revisions(folder)
        assert not_file.value.error.get_path().is_not_file()
    with pytest.raises(ApiError) as not_found:
        dbx.files_list_revisions("/Photos/never.jpg")
    assert not_found.value.error.get_path().is_not_found()
    in_folder = dbx.files_list_revisions("/Camera Uploads/2025 Trip/IMG_0001.jpg")
    assert in_folder.is_deleted is True
    assert in_folder.server_deleted == _utc(
        fake.manifest["carol"].deleted_at["/Camera Uploads/2025 Trip"]
    )


def test_moved_file_is_deleted_by_path_but_alive_by_id(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    by_path = dbx.files_list_revisions("/Photos/a.jpg")
    assert by_path.is_deleted is True and by_path.server_deleted is not None
    assert {e.path_lower for e in by_path.entries} == {"/photos/a.jpg"}
    by_id = dbx.files_list_revisions("/Photos/a.jpg", mode=files.ListRevisionsMode.id)
    assert by_id.is_deleted is False and by_id.server_deleted is None
    assert by_id.entries[0].path_display == "/Archive/a.jpg"
    assert by_id.entries[0].id == by_path.entries[0].id
    with pytest.raises(ApiError) as no_before_rev:
        dbx.files_list_revisions(
            "/Photos/a.jpg", mode=files.ListRevisionsMode.id, before_rev=by_id.entries[0].rev
        )
    assert no_before_rev.value.error.is_before_rev_not_supported()


def test_occupied_path_lists_both_files_by_path_and_one_by_id(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    by_path = dbx.files_list_revisions("/Photos/beach.jpg")
    assert by_path.is_deleted is False
    assert len(by_path.entries) == 2 and by_path.entries[0].id != by_path.entries[1].id
    by_id = dbx.files_list_revisions("/Photos/beach.jpg", mode=files.ListRevisionsMode.id)
    assert [e.rev for e in by_id.entries] == [by_path.entries[0].rev]
    older = dbx.files_list_revisions("/Photos/beach.jpg", before_rev=by_path.entries[0].rev)
    assert older.is_deleted is True  # "the latest revision older than before_rev" was deleted


# -- restore and get_metadata ---------------------------------------------------------------------


def test_restore_a_deleted_file(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    with pytest.raises(ApiError) as gone:
        dbx.files_get_metadata("/Photos/dog.jpg")
    assert gone.value.error.get_path().is_not_found()
    tombstone = dbx.files_get_metadata("/Photos/dog.jpg", include_deleted=True)
    assert isinstance(tombstone, files.DeletedMetadata)
    newest = dbx.files_list_revisions("/Photos/dog.jpg").entries[0]
    restored = dbx.files_restore("/Photos/dog.jpg", newest.rev)
    assert isinstance(restored, files.FileMetadata)
    assert restored.rev != newest.rev  # a restore writes a new revision
    assert (restored.content_hash, restored.size, restored.id) == (
        newest.content_hash,
        newest.size,
        newest.id,
    )
    live = dbx.files_get_metadata("/Photos/dog.jpg")
    assert isinstance(live, files.FileMetadata) and live.rev == restored.rev
    after = dbx.files_list_revisions("/Photos/dog.jpg")
    assert after.is_deleted is False and after.entries[0].rev == restored.rev
    assert fake.restores[-1].new_rev == restored.rev


def test_restore_into_a_deleted_folder_recreates_it(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    path = "/Camera Uploads/2025 Trip/IMG_0001.jpg"
    dbx.files_restore(path, dbx.files_list_revisions(path).entries[0].rev)
    folder = dbx.files_get_metadata("/Camera Uploads/2025 Trip")
    assert isinstance(folder, files.FolderMetadata)
    sibling = dbx.files_get_metadata(
        "/Camera Uploads/2025 Trip/IMG_0002.heic", include_deleted=True
    )
    assert isinstance(sibling, files.DeletedMetadata)


def test_restore_onto_an_occupied_path_overwrites(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    current, old = dbx.files_list_revisions("/Photos/beach.jpg").entries
    restored = dbx.files_restore("/Photos/beach.jpg", old.rev)
    assert restored.content_hash == old.content_hash
    assert restored.id == current.id  # a new version of the file that is there
    history = dbx.files_list_revisions("/Photos/beach.jpg").entries
    assert [e.rev for e in history] == [restored.rev, current.rev, old.rev]


def test_restore_errors(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    dave_rev = _client(fake, ca_bundle, "dave").files_list_revisions("/Photos/a.jpg").entries[0]
    unrestorable = dbx.files_list_revisions(
        "/Photos/old-scan.jpg", include_restorable_info=True
    ).entries[0]
    assert unrestorable.is_restorable is False
    for rev in ("0123456789abcdef", dave_rev.rev, unrestorable.rev):
        with pytest.raises(ApiError) as invalid:
            dbx.files_restore("/Photos/old-scan.jpg", rev)
        assert invalid.value.error.is_invalid_revision()
    good = dbx.files_list_revisions("/Photos/cat.heic").entries[0].rev
    with pytest.raises(ApiError) as folder:
        dbx.files_restore("/Photos", good)
    assert folder.value.error.get_path_write().get_conflict().is_folder()
    with pytest.raises(ApiError) as ancestor:
        dbx.files_restore("/Photos/sunset.jpg/cat.heic", good)
    assert ancestor.value.error.get_path_write().get_conflict().is_file_ancestor()


def test_restore_to_another_path_is_a_copy(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    rev = dbx.files_list_revisions("/Photos/cat.heic").entries[0]
    copy = dbx.files_restore("/Recovered/cat.heic", rev.rev)
    assert copy.path_display == "/Recovered/cat.heic" and copy.content_hash == rev.content_hash
    assert copy.id == rev.id  # the deleted file comes back under its ID, at the new path
    assert dbx.files_list_revisions("/Photos/cat.heic").is_deleted is True


def test_restore_in_progress_still_completes(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    fake.force_restore_in_progress("carol")
    rev = dbx.files_list_revisions("/Videos/skate.mov").entries[0].rev
    with pytest.raises(ApiError) as pending:
        dbx.files_restore("/Videos/skate.mov", rev)
    assert pending.value.error.is_in_progress()
    assert isinstance(dbx.files_get_metadata("/Videos/skate.mov"), files.FileMetadata)


# -- throttling and write contention --------------------------------------------------------------


def test_rate_limit_fault_with_json_and_text_bodies(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    dbx.users_get_current_account()  # refresh first, so the faults hit API calls
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(fake.http_fault(retry_after=7), path="/2/files/list_folder$")
    with pytest.raises(RateLimitError) as json_429:
        dbx.files_list_folder("")
    assert json_429.value.backoff == 7
    assert json_429.value.error.reason.is_too_many_requests()
    fake.server.faults.add(
        fake.http_fault(retry_after=3, json_body=False), path="/2/files/list_folder$"
    )
    with pytest.raises(RateLimitError) as text_429:
        dbx.files_list_folder("")
    assert text_429.value.backoff == 3 and text_429.value.error is None


def test_sdk_retries_after_a_rate_limit(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle, max_retries_on_rate_limit=1)
    dbx.users_get_current_account()
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(fake.http_fault(retry_after=0), path="/2/files/list_folder$")
    assert dbx.files_list_folder("").entries
    statuses = [r.status for r in fake.server.request_log if r.path == "/2/files/list_folder"]
    assert statuses == [429, 200]


def test_forced_write_conflicts_in_both_shapes(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    rev = dbx.files_list_revisions("/Photos/cat.heic").entries[0].rev
    fake.force_write_conflict("carol", retry_after=2)
    with pytest.raises(RateLimitError) as contention:
        dbx.files_restore("/Photos/cat.heic", rev)
    assert contention.value.error.reason.is_too_many_write_operations()
    assert contention.value.backoff == 2
    fake.force_write_conflict("carol", style="path_write")
    with pytest.raises(ApiError) as write_error:
        dbx.files_restore("/Photos/cat.heic", rev)
    assert write_error.value.error.get_path_write().is_too_many_write_operations()
    assert dbx.files_restore("/Photos/cat.heic", rev).name == "cat.heic"
    assert fake.server is not None
    log = [r for r in fake.server.request_log if r.path == "/2/files/restore"]
    assert [r.status for r in log] == [429, 409, 200]


def test_overlapping_restores_of_one_account_collide(fake: DropboxFake, ca_bundle: Path) -> None:
    fake.write_latency = 1.0  # the first restore holds carol's namespace lock this long
    clients = [_client(fake, ca_bundle), _client(fake, ca_bundle)]
    clients[1].users_get_current_account()  # both refreshed: restores start right away
    revs = {
        path: clients[0].files_list_revisions(path).entries[0].rev
        for path in ("/Photos/cat.heic", "/Videos/birthday.mp4")
    }
    outcomes: list[str] = []

    def restore(dbx: dropbox.Dropbox, path: str) -> None:
        try:
            dbx.files_restore(path, revs[path])
            outcomes.append("ok")
        except RateLimitError as exc:
            assert exc.error.reason.is_too_many_write_operations()
            outcomes.append("429")

    threads = [
        threading.Thread(target=restore, args=(dbx, path))
        for dbx, path in zip(clients, revs, strict=True)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["429", "ok"]
    dave = _client(fake, ca_bundle, "dave")  # another account's namespace: no contention
    assert (
        dave.files_restore(
            "/Photos/IMG_2001.jpg", dave.files_list_revisions("/Photos/IMG_2001.jpg").entries[0].rev
        ).name
        == "IMG_2001.jpg"
    )


# -- auth -----------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_and_the_call_retried(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    dbx.users_get_current_account()
    assert fake.expire_tokens("carol") == 1
    assert fake.server is not None
    before = len(fake.server.request_log)
    assert dbx.files_list_folder("").entries
    calls = [(r.path, r.status) for r in fake.server.request_log[before:]]
    assert calls == [
        ("/2/files/list_folder", 401),
        ("/oauth2/token", 200),
        ("/2/files/list_folder", 200),
    ]


def test_revoked_grant_fails_refresh_with_invalid_grant(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    dbx.users_get_current_account()
    fake.revoke("carol")
    with pytest.raises(AuthError) as live_token:
        dbx.files_list_folder("")
    assert live_token.value.error.is_invalid_access_token()
    with pytest.raises(AuthError) as refresh:
        _client(fake, ca_bundle).files_list_folder("")
    assert refresh.value.error.is_invalid_access_token()  # how the SDK maps invalid_grant
    assert fake.server is not None
    token_calls = [r for r in fake.server.request_log if r.path == "/oauth2/token"]
    assert token_calls[-1].status == 400


def test_token_endpoint_errors(fake: DropboxFake, ca_bundle: Path) -> None:
    assert fake.server is not None
    url = fake.server.url("/oauth2/token")
    session = _session(ca_bundle)
    refresh = fake.accounts["carol"].refresh_token

    def post(**form: str) -> requests.Response:
        return session.post(url, data=form, timeout=10)

    ok = post(grant_type="refresh_token", refresh_token=refresh, client_id=fake.auth.app_key)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/json"
    assert set(ok.json()) == {"access_token", "token_type", "expires_in"}
    assert ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 14400
    fake.revoke("carol")
    revoked = post(grant_type="refresh_token", refresh_token=refresh, client_id=fake.auth.app_key)
    assert revoked.status_code == 400
    assert revoked.json() == {
        "error": "invalid_grant",
        "error_description": "refresh token is invalid or revoked",
    }
    garbled = post(grant_type="refresh_token", refresh_token="x!", client_id=fake.auth.app_key)
    assert garbled.json()["error_description"] == "refresh token is malformed"
    wrong_app = post(grant_type="refresh_token", refresh_token=refresh, client_id="someoneelse")
    assert wrong_app.json()["error"] == "invalid_client"
    assert post(grant_type="password").json()["error"] == "unsupported_grant_type"


def test_pkce_login_through_the_sdk_flow(fake: DropboxFake, ca_bundle: Path) -> None:
    hostport = _hostport(fake)
    flow = DropboxOAuth2FlowNoRedirect(
        fake.auth.app_key, use_pkce=True, token_access_type="offline"
    )
    assert "code_challenge=" in flow.start()
    flow.requests_session = _session(ca_bundle)
    flow.build_url = functools.partial(flow.build_url, host=hostport)  # type: ignore[method-assign]
    code = fake.authorization_code("carol", code_challenge=flow.code_challenge)
    result = flow.finish(code)
    assert result.account_id == fake.accounts["carol"].account_id
    assert result.refresh_token and result.expires_at > datetime.now(UTC).replace(tzinfo=None)
    dbx = _point(
        dropbox.Dropbox(
            oauth2_refresh_token=result.refresh_token,
            app_key=fake.auth.app_key,
            session=_session(ca_bundle),
            max_retries_on_error=0,
        ),
        hostport,
    )
    assert dbx.users_get_current_account().email == "carol@example.com"
    with pytest.raises(requests.HTTPError):
        flow.finish(code)  # codes are single-use
    other = DropboxOAuth2FlowNoRedirect(fake.auth.app_key, use_pkce=True)
    other.requests_session = flow.requests_session
    other.build_url = flow.build_url  # type: ignore[method-assign]
    with pytest.raises(requests.HTTPError):  # a verifier that does not match the challenge
        other.finish(fake.authorization_code("carol", code_challenge=flow.code_challenge))
    assert other.finish(fake.login_code("dave")).account_id == fake.accounts["dave"].account_id


def test_missing_scope_and_token_revoke(fake: DropboxFake, ca_bundle: Path) -> None:
    fake.add_account("eve", scopes=frozenset({"account_info.read", "files.metadata.read"}))
    fake.add_file("eve", "/x.jpg", b"x")
    fake.delete("eve", "/x.jpg")
    eve = _client(fake, ca_bundle, "eve")
    rev = eve.files_list_revisions("/x.jpg").entries[0].rev
    with pytest.raises(AuthError) as scope:
        eve.files_restore("/x.jpg", rev)
    assert scope.value.error.get_missing_scope().required_scope == "files.content.write"
    eve.auth_token_revoke()
    with pytest.raises(AuthError):
        _client(fake, ca_bundle, "eve").users_get_current_account()


def test_path_root_header(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    home = dbx.users_get_current_account().root_info.home_namespace_id
    rooted = _point(dbx.with_path_root(PathRoot.root(home)), _hostport(fake))
    assert rooted.files_list_folder("").entries
    wrong = _point(dbx.with_path_root(PathRoot.root("12345")), _hostport(fake))
    with pytest.raises(PathRootError) as invalid:
        wrong.files_list_folder("")
    assert invalid.value.error.get_invalid_root().root_namespace_id == home


# -- refusals -------------------------------------------------------------------------------------


def test_destructive_calls_are_refused_and_recorded(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    attempts = [
        lambda: dbx.files_delete_v2("/Photos/sunset.jpg"),
        lambda: dbx.files_permanently_delete("/Photos/dog.jpg"),
        lambda: dbx.files_move_v2("/Photos/sunset.jpg", "/x.jpg"),
        lambda: dbx.files_delete_batch([files.DeleteArg("/Photos/sunset.jpg")]),
        lambda: dbx.files_upload(b"data", "/Photos/sunset.jpg"),
    ]
    for attempt in attempts:
        with pytest.raises(BadInputError, match="refuses destructive calls"):
            attempt()
    routes = [call.route for call in fake.refused_calls]
    assert routes == [
        "files/delete_v2",
        "files/permanently_delete",
        "files/move_v2",
        "files/delete_batch",
        "files/upload",
    ]
    assert fake.refused_calls[0].account == "carol"
    assert fake.refused_calls[0].arg == {"path": "/Photos/sunset.jpg"}
    assert fake.refused_calls[-1].arg["path"] == "/Photos/sunset.jpg"  # from Dropbox-API-Arg
    assert isinstance(dbx.files_get_metadata("/Photos/sunset.jpg"), files.FileMetadata)
    with pytest.raises(BadInputError, match="not modelled"):
        dbx.files_search_v2("dog")
    assert [call.route for call in fake.unmodelled_calls] == ["files/search_v2"]


# -- scale, sandbox, subprocess -------------------------------------------------------------------


def test_bulk_seed_is_listed_through_the_sdk(fake: DropboxFake, ca_bundle: Path) -> None:
    deleted = fake.bulk("dave", 3000, 400)
    assert len(deleted) == 400
    dbx = _client(fake, ca_bundle, "dave")
    entries, _, pages = _list_all(dbx, include_deleted=True, limit=500)
    assert pages == -(-len(entries) // 500)
    bulk_entries = [e for e in entries if e.path_lower.startswith("/bulk")]
    assert len(bulk_entries) == 3000
    assert {e.path_display for e in bulk_entries if isinstance(e, files.DeletedMetadata)} == set(
        deleted
    )
    oldest = dbx.files_list_revisions(deleted[0]).server_deleted
    newest = dbx.files_list_revisions(deleted[-1]).server_deleted
    assert oldest < newest
    assert _utc(fake.clock()) - oldest < timedelta(days=180)


def test_bulk_fifty_thousand_entries_is_quick(fake: DropboxFake) -> None:
    started = time.monotonic()
    deleted = fake.bulk("carol", 50_000, 5_000)
    assert time.monotonic() - started < 10
    ns = fake.accounts["carol"].namespace
    under = [ns.nodes[k] for k in ns.keys_under("/bulk", True)]
    assert len(under) + 1 == 50_000
    assert sum(not node.live for node in under) == len(deleted) == 5_000


def test_sandbox_session_starts_the_fake(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "box", only=frozenset({"dropbox"})) as box:
        assert box.broken == {}
        assert [a["name"] for a in box.accounts] == ["carol", "dave"]
        assert all("secrets" not in a for a in box.accounts)  # moved to the secret store
        assert isinstance(box.fakes["dropbox"], DropboxFake)
        assert box.config_path is not None and "dropbox" in box.config_path.read_text()


_SUBPROCESS = """
import json, sys
import dropbox
from dropbox import files
table = json.loads(sys.argv[1])
dbx = dropbox.Dropbox(oauth2_refresh_token=table["secrets"]["refresh_token"],
                      app_key=table["app_key"], max_retries_on_error=0,
                      max_retries_on_rate_limit=0)
result = dbx.files_list_folder("", recursive=True, include_deleted=True, limit=7)
entries = list(result.entries)
while result.has_more:
    result = dbx.files_list_folder_continue(result.cursor)
    entries += result.entries
deleted = [e.path_lower for e in entries if isinstance(e, files.DeletedMetadata)]
rev = dbx.files_list_revisions("/Photos/dog.jpg", limit=1).entries[0].rev
restored = dbx.files_restore("/Photos/dog.jpg", rev)
print(json.dumps({"deleted": len(deleted), "restored": restored.path_lower}))
"""


def test_sdk_configured_by_environment_in_a_subprocess(fake: DropboxFake, ca_bundle: Path) -> None:
    """The way trashscan runs against the sandbox: hosts and CA from the environment."""
    hostport = _hostport(fake)
    env = {
        **os.environ,
        "DROPBOX_API_HOST": hostport,
        "DROPBOX_API_CONTENT_HOST": hostport,
        "DROPBOX_API_NOTIFY_HOST": hostport,
        "REQUESTS_CA_BUNDLE": str(ca_bundle),
    }
    table = fake.account_table("carol", ca_bundle)
    done = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS, json.dumps(table)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"deleted": 12, "restored": "/photos/dog.jpg"}
