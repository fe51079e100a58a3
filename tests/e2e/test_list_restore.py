"""The real CLI against the sandbox's local-trash accounts: list, filters, formats, restore."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from trashscan.config import add_account, load_config
from trashscan.index import Index
from trashscan.output import COLUMNS

LAPTOP_MEDIA = 10  # 8 photos/videos + 2 inside a trashed folder; 2 documents are not listed
USB_MEDIA = 3


def test_list_all_accounts_json_has_every_photo_and_video(cli, sandbox):
    result = cli("list", "--all-accounts", "--format", "json")
    assert result.exit_code == 0, result.stderr
    items = result.json()
    assert len(items) == LAPTOP_MEDIA + USB_MEDIA
    assert {item["account"] for item in items} == {"laptop", "usb-stick"}
    assert all(item["kind"] in {"photo", "video"} for item in items)
    assert not any(item["name"].endswith((".txt", ".pdf")) for item in items)
    assert set(items[0]) == set(COLUMNS)
    # soonest purge first; the usb stick has no purge rule, so its items come last
    purges = [item["purge_at"] for item in items if item["purge_at"]]
    assert purges == sorted(purges)
    assert [item["purge_at"] for item in items[-USB_MEDIA:]] == [None] * USB_MEDIA
    laptop = [item for item in items if item["account"] == "laptop"]
    assert all(item["deleted_at_source"] == "api" for item in laptop)
    assert all(item["purge_is_estimate"] for item in laptop)  # from purge_after_days
    assert all(item["deleted_at"].endswith("Z") for item in items)


def test_csv_has_the_json_columns_and_rows(cli):
    as_json = cli("list", "--format", "json").json()
    result = cli("list", "--cached", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == COLUMNS
    assert [row["ref"] for row in rows] == [item["ref"] for item in as_json]


def test_table_shows_refs_and_estimates(cli):
    result = cli("list")
    assert result.exit_code == 0
    assert "IMG_0004.heic" in result.stdout
    assert "~" in result.stdout  # estimated purge dates are marked
    assert "total: 13 items, " in result.stdout


def test_filters(cli):
    cli("scan")
    videos = cli("list", "--cached", "--kind", "video", "--format", "json").json()
    assert {v["name"] for v in videos} == {"VID_0003.mp4", "holiday clip.mov", "MVI_1236.MOV"}
    usb = cli("list", "--cached", "--account", "usb-stick", "--format", "json").json()
    assert len(usb) == USB_MEDIA
    named = cli("list", "--cached", "--name", "img_*", "--format", "json").json()
    assert {n["name"] for n in named} >= {"IMG_1234.JPG", "IMG_0004.heic"}
    soon = cli("list", "--cached", "--expiring-within", "10d", "--format", "json").json()
    assert soon and all(item["days_left"] <= 10 for item in soon)
    recent = cli("list", "--cached", "--deleted-since", "2000-01-01", "--format", "json").json()
    assert len(recent) == LAPTOP_MEDIA + USB_MEDIA
    none = cli("list", "--cached", "--deleted-until", "2000-01-01", "--format", "json").json()
    assert none == []
    everything = cli("list", "--cached", "--kind", "any", "--format", "json").json()
    assert len(everything) == LAPTOP_MEDIA + USB_MEDIA  # the plugin lists photos/videos only
    by_size = cli("list", "--cached", "--sort", "size", "--format", "json").json()
    sizes = [item["size"] for item in by_size]
    assert sizes == sorted(sizes, reverse=True)


def _find(items: list[dict], name: str) -> dict:
    return next(item for item in items if item["name"] == name)


def test_restore_by_ref_moves_the_file_back_and_it_leaves_the_list(cli, sandbox):
    items = cli("list", "--format", "json").json()
    video = _find(items, "VID_0003.mp4")
    original = Path(video["path"])
    assert not original.exists()
    result = cli("restore", video["ref"], "--yes")
    assert result.exit_code == 0, result.stderr
    assert "restored" in result.stdout
    assert original.read_bytes().startswith(b"\x00\x00\x00\x18ftyp")
    after = cli("list", "--format", "json").json()
    assert video["ref"] not in {item["ref"] for item in after}
    # a second restore of the same ref is reported, not retried
    again = cli("restore", video["ref"], "--yes")
    assert again.exit_code == 0
    assert "was already restored" in again.stdout
    index = Index.open(load_config(sandbox.config_path).index_url)
    log = index.restore_log()
    assert [entry["outcome"] for entry in log].count("restored") == 1


def test_restore_onto_a_taken_path_keeps_the_existing_file(cli, sandbox):
    items = cli("list", "--format", "json").json()
    cover = _find(items, "cover.jpg")
    taken = Path(cover["path"])
    before = taken.read_bytes()
    result = cli("restore", cover["ref"][:5], "--yes")
    assert result.exit_code == 0, result.stderr
    assert "restored under a new name" in result.stdout
    assert taken.read_bytes() == before
    restored = [p for p in taken.parent.iterdir() if p.name.startswith("cover") and p != taken]
    assert len(restored) == 1
    assert str(restored[0]) in result.stdout


def test_restore_by_filter_and_dry_run_changes_nothing(cli, sandbox):
    items = cli("list", "--format", "json").json()
    usb = [item for item in items if item["account"] == "usb-stick"]
    dry = cli("restore", "--account", "usb-stick", "--dry-run")
    assert dry.exit_code == 0
    assert "dry run" in dry.stdout
    assert not any(Path(item["path"]).exists() for item in usb)
    assert len(cli("list", "--format", "json").json()) == len(items)
    index = Index.open(load_config(sandbox.config_path).index_url)
    assert index.restore_log() == []
    done = cli("restore", "--account", "usb-stick", "--yes")
    assert done.exit_code == 0, done.stderr
    assert all(Path(item["path"]).exists() for item in usb)


def test_restore_without_yes_asks_and_no_answer_changes_nothing(cli, monkeypatch):
    items = cli("list", "--format", "json").json()
    target = _find(items, "IMG_1235.JPG")
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    result = cli("restore", target["ref"])
    assert result.exit_code == 4  # declined
    assert not Path(target["path"]).exists()


class Terminal(io.StringIO):
    """An answer typed on a terminal (without one, restore refuses before asking)."""

    def isatty(self) -> bool:
        return True


def test_one_failing_account_does_not_hide_the_others(cli, sandbox, tmp_path):
    add_account(
        sandbox.config_path,
        {
            "name": "broken-disk",
            "provider": "local-trash",
            "trash_dirs": [str(tmp_path / "no-such-trash")],
            "include_volumes": False,
        },
    )
    result = cli("list", "--all-accounts", "--format", "json")
    assert result.exit_code == 1
    assert len(result.json()) == LAPTOP_MEDIA + USB_MEDIA
    problems = [
        line for line in result.stderr.splitlines() if not line.startswith("trashscan: note:")
    ]
    assert len(problems) == 1 and "broken-disk" in problems[0]
    assert "Traceback" not in result.stderr
