"""The plugin through the core's Scanner and Index, its options, and pyicloud's keyring."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from trashscan.errors import AccountError
from trashscan.index import Index, ItemFilter
from trashscan.models import Account, DeletedAtSource, ItemState
from trashscan.options import from_command_line
from trashscan.scanner import Scanner
from trashscan_icloud.options import DEFAULT_PCS_WAIT, Settings
from trashscan_icloud.plugin import ICloudProvider

from .conftest import NOW, Apple, account, drive_file, pair


def test_full_listings_into_the_index_and_an_item_that_left(
    apple: Apple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyicloud.base

    def pyicloud_keyring(apple_id: str) -> str:
        raise AssertionError("pyicloud's own keyring entry was read")

    monkeypatch.setattr(pyicloud.base, "get_password_from_keyring", pyicloud_keyring)
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scanner = Scanner(index, apple.context, lock_wait=0)
    acct = account()
    expunged = NOW + timedelta(days=2)

    apple.write_session()
    apple.validate()
    apple.photos_service()
    apple.deleted_page(0, [*pair(1, expunged), *pair(2, expunged + timedelta(days=1))])
    apple.drive_trash([drive_file("beach", "jpg")])
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    rows = {i.item_id: i for i in index.items(ItemFilter(), NOW)}
    assert set(rows) == {"photo:A1", "photo:A2", "drive:FILE::com.apple.CloudDocs::C2AD01E4"}
    photo = rows["photo:A1"]
    assert photo.purge_at == expunged.replace(microsecond=0)
    assert not photo.purge_is_estimate
    assert photo.deleted_at_source is DeletedAtSource.API
    assert photo.restore_handle["record_change_tag"] == "tag-1"
    assert index.scan_state("icloud", acct.name) is None

    # Next scan: A1 was restored on an iPhone. No change feed: the full listing says so.
    apple.rsps.calls.reset()
    apple.validate()
    apple.photos_service()
    apple.deleted_page(0, pair(2, expunged + timedelta(days=1)))
    apple.drive_trash([drive_file("beach", "jpg")])
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    everything = ItemFilter(states=frozenset(ItemState))
    states = {i.item_id: i.state for i in index.items(everything, NOW)}
    assert states["photo:A1"] is ItemState.GONE
    assert states["photo:A2"] is ItemState.TRASHED


def test_capabilities_say_photo_restore_is_experimental() -> None:
    caps = ICloudProvider.capabilities
    assert (caps.list, caps.restore, caps.restore_experimental) == (True, True, True)
    assert (caps.exact_deletion_times, caps.incremental) == (True, False)
    assert caps.notes[0] == (
        "photo restore is modelled on the captured web delete; experimental until confirmed on "
        "a live account"
    )
    assert {spec.name for spec in ICloudProvider.options or ()} == {
        "apple_id",
        "china_mainland",
        "include_drive",
        "pcs_wait_seconds",
    }
    assert ICloudProvider.retention.default_days == 30


def test_options_accept_config_and_command_line_forms() -> None:
    """Command-line text is parsed by the core from the declaration; the config has types."""
    typed, _ = from_command_line(
        ["apple_id= a@b.c ", "china_mainland=yes", "include_drive=0", "pcs_wait_seconds=2.5"],
        ICloudProvider.options,
        "icloud",
    )
    assert Settings.from_account(Account("f", "icloud", typed)) == Settings(
        "a@b.c", True, False, 2.5
    )
    from_config = {"apple_id": "a@b.c", "china_mainland": True, "pcs_wait_seconds": 3}
    assert Settings.from_account(Account("f", "icloud", from_config)) == Settings(
        "a@b.c", True, True, 3.0
    )
    defaults = Settings.from_account(Account("f", "icloud", {"apple_id": "a@b.c"}))
    assert defaults == Settings("a@b.c", False, True, DEFAULT_PCS_WAIT)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "has no apple_id"),
        ({"apple_id": "a@b.c", "china_mainland": "maybe"}, "china_mainland .* true or false"),
        ({"apple_id": "a@b.c", "include_drive": "no"}, "include_drive .* true or false"),
        ({"apple_id": "a@b.c", "pcs_wait_seconds": -1}, "pcs_wait_seconds .* from 0 to 300"),
        ({"apple_id": "a@b.c", "pcs_wait_seconds": "soon"}, "pcs_wait_seconds"),
    ],
)
def test_bad_options_are_one_line(options: dict, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        Settings.from_account(Account("f", "icloud", options))
