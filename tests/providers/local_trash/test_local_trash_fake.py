"""The sandbox fake seeds real trash directories that the plugin reads and restores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from trashscan.models import Account, Kind, RestoreOutcome
from trashscan_local_trash.plugin import LocalTrashProvider
from trashscan_local_trash.sandbox.fake import LocalTrashFake

from .conftest import NOW, indexed, scan_pages


@pytest.fixture
def seeded(tmp_path: Path) -> dict[str, Account]:
    configs = LocalTrashFake().seed(tmp_path / "sandbox", NOW)
    return {
        c["name"]: Account(
            name=c["name"],
            provider=c["provider"],
            options={k: v for k, v in c.items() if k not in {"name", "provider"}},
        )
        for c in configs
    }


def test_seeded_accounts_list_as_described(
    provider: LocalTrashProvider, seeded: dict[str, Account], tmp_path: Path
) -> None:
    assert set(seeded) == {"laptop", "usb-stick"}
    assert seeded["laptop"].options["purge_after_days"] == 30
    assert "purge_after_days" not in seeded["usb-stick"].options

    laptop = [i for p in scan_pages(provider, seeded["laptop"])[0] for i in p.items]
    names = sorted(i.name for i in laptop)
    assert names == sorted(
        ["IMG_0001.jpg", "IMG_0001.jpg", "Strand Tag é.png", "VID_0003.mp4", "holiday clip.mov",
         "IMG_0004.heic", "cover.jpg", "old scan.png", "paris-1.jpg", "paris-2.jpg"]
    )  # fmt: skip
    assert {i.kind for i in laptop} == {Kind.PHOTO, Kind.VIDEO}
    for item in laptop:
        assert item.path.startswith(str(tmp_path / "sandbox" / "laptop" / "home"))
        assert item.deleted_at is not None
        assert NOW - timedelta(days=40) <= item.deleted_at < NOW
        assert item.purge_at == item.deleted_at + timedelta(days=30)
        assert item.size and item.size > 100
    oldest = min(laptop, key=lambda i: i.deleted_at)
    assert oldest.deleted_at == NOW - timedelta(days=40)
    assert oldest.purge_at < NOW  # overdue: the desktop may empty it any time

    usb = [i for p in scan_pages(provider, seeded["usb-stick"])[0] for i in p.items]
    assert sorted(i.path for i in usb) == [
        str(tmp_path / "sandbox" / "usb-stick" / "DCIM" / "100CANON" / n)
        for n in ("IMG_1234.JPG", "IMG_1235.JPG", "MVI_1236.MOV")
    ]
    assert all(i.purge_at is None for i in usb)


def test_seeded_data_restores_without_overwriting(
    provider: LocalTrashProvider, seeded: dict[str, Account], tmp_path: Path
) -> None:
    laptop = seeded["laptop"]
    items = [indexed(i, "laptop") for p in scan_pages(provider, laptop)[0] for i in p.items]
    cover = tmp_path / "sandbox" / "laptop" / "home" / "Pictures" / "cover.jpg"
    new_cover = cover.read_bytes()

    results = {r.item_id: r for r in provider.restore(laptop, items)}

    assert all(r.ok for r in results.values()), results
    conflicts = [r for r in results.values() if r.outcome is RestoreOutcome.CONFLICT_RESOLVED]
    assert [Path(r.restored_path).name for r in conflicts] == ["cover (restored).jpg"]
    assert cover.read_bytes() == new_cover
    assert (cover.parent / "cover (restored).jpg").read_bytes()[:2] == b"\xff\xd8"
    assert (cover.parent / "Album Paris" / "sub" / "paris-2.jpg").is_file()
    assert scan_pages(provider, laptop)[0] == []
    trash = Path(laptop.options["trash_dirs"][0])
    # The trashed folder stays in the trash, without its photos (each came back on its own).
    files = trash / "files"
    assert sorted(p.name for p in files.iterdir()) == ["Album Paris", "notes.txt", "report.pdf"]
    assert [str(p.relative_to(files)) for p in (files / "Album Paris").rglob("*")] == [
        "Album Paris/sub"
    ]


def test_bulk_adds_trashed_photos_the_plugin_lists(
    provider: LocalTrashProvider, seeded: dict[str, Account], tmp_path: Path
) -> None:
    trash = Path(seeded["laptop"].options["trash_dirs"][0])
    LocalTrashFake().bulk(trash, 1200, NOW)
    laptop = [i for p in scan_pages(provider, seeded["laptop"])[0] for i in p.items]
    bulk = [i for i in laptop if i.name.startswith("BULK_")]
    assert len(bulk) == 1200 and len(laptop) == 1210
    home = tmp_path / "sandbox" / "laptop" / "home" / "Bulk"
    assert {Path(i.path).parent for i in bulk} == {home / "000", home / "001", home / "002"}
    assert all(Path(i.path).parent.is_dir() for i in bulk)  # a restore puts each back
    assert all(NOW - timedelta(days=30) < i.deleted_at < NOW for i in bulk)
