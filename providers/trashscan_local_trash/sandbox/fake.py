"""Sandbox data for ``local-trash``: real trash directories on disk, no server.

``seed`` builds two accounts under ``workdir``:

* ``laptop``: a home-style trash ``laptop/Trash`` with 8 photos/videos deleted over the last 40
  days, 2 documents (never listed), a trashed folder holding 2 photos, originals under
  ``laptop/home/Pictures``. ``IMG_0001.jpg`` of 2023 was trashed as ``IMG_0001.2.jpg`` (a name
  collision inside the trash) and ``cover.jpg``'s original path holds a new file again, so
  restoring it must pick another name. ``purge_after_days`` is 30, so the oldest item is overdue.
* ``usb-stick``: a per-volume trash ``usb-stick/.Trash-1000`` with 3 items whose ``Path=`` is
  relative to the volume top directory ``usb-stick/``; no purge rule.

Thumbnails: a file in the trash is its own preview source (next-wave.md §1: "The file itself
sits in ``~/.local/share/Trash/files/``. Thumbnail it with Pillow"), so every trashed photo is a
real picture (:func:`trashscan.sandbox.pictures.content`, 320x240 with the file name drawn on
it; ``IMG_0004.heic`` is a real HEIF image when pillow-heif is installed, else a JPEG body) and
every video a tiny placeholder (an ISO-BMFF ``ftyp`` box and a poster JPEG; not playable).
Nothing is written to the freedesktop thumbnail cache (``$XDG_CACHE_HOME/thumbnails``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from trashscan.sandbox import pictures


def _trashinfo(original: str, deleted_local: datetime, topdir: str | None = None) -> str:
    """A ``.trashinfo`` body as the freedesktop.org Trash specification 1.0 writes it: ``Path=``
    percent-encoded (relative to ``topdir`` for a volume trash), ``DeletionDate=`` local time
    without a zone. Written here, from the specification, not by the plugin's code."""
    path = os.path.relpath(original, topdir) if topdir else original
    return (
        "[Trash Info]\n"
        f"Path={quote(os.fsencode(path), safe='/')}\n"
        f"DeletionDate={deleted_local.strftime('%Y-%m-%dT%H:%M:%S')}\n"
    )


def _content(name: str, key: str = "") -> bytes:
    """A trashed file's bytes: photos are real pictures (:mod:`trashscan.sandbox.pictures`:
    320x240 with the name drawn on it; ``.heic`` a real HEIF image when pillow-heif is
    installed, else a JPEG body), videos a tiny ISO-BMFF placeholder holding a poster (not
    playable), documents a few bytes of their kind."""
    if pictures.media_kind(name) is not None:
        return pictures.content(name, f"local-trash:{key}", real_heic=True)
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        return b"%PDF-1.4\n% trashscan sandbox " + name.encode() + b"\n%%EOF\n"
    return f"sandbox document {name}\n".encode()


# (original path relative to the account's home/volume, name inside files/, days ago)
LAPTOP_ITEMS = [
    ("home/Pictures/2024/IMG_0001.jpg", "IMG_0001.jpg", 1),
    ("home/Pictures/2023/IMG_0001.jpg", "IMG_0001.2.jpg", 3),
    ("home/Pictures/Strand Tag é.png", "Strand Tag é.png", 7),
    ("home/Videos/VID_0003.mp4", "VID_0003.mp4", 12),
    ("home/Videos/holiday clip.mov", "holiday clip.mov", 20),
    ("home/Pictures/IMG_0004.heic", "IMG_0004.heic", 25),
    ("home/Pictures/cover.jpg", "cover.jpg", 33),
    ("home/Pictures/old scan.png", "old scan.png", 40),
    ("home/Documents/notes.txt", "notes.txt", 2),
    ("home/Documents/report.pdf", "report.pdf", 9),
]
LAPTOP_FOLDER = ("home/Pictures/Album Paris", "Album Paris", 15, ["paris-1.jpg", "sub/paris-2.jpg"])
USB_ITEMS = [
    ("DCIM/100CANON/IMG_1234.JPG", "IMG_1234.JPG", 2),
    ("DCIM/100CANON/IMG_1235.JPG", "IMG_1235.JPG", 5),
    ("DCIM/100CANON/MVI_1236.MOV", "MVI_1236.MOV", 8),
]


def _trash(
    trash: Path, root: Path, original_rel: str, stored: str, deleted: datetime, *, relative: bool
) -> Path:
    for sub in ("info", "files"):
        (trash / sub).mkdir(parents=True, exist_ok=True)
    local = deleted.astimezone().replace(tzinfo=None)  # the spec: local time, no zone
    info = _trashinfo(str(root / original_rel), local, topdir=str(root) if relative else None)
    (trash / "info" / f"{stored}.trashinfo").write_text(info, encoding="utf-8")
    return trash / "files" / stored


class LocalTrashFake:
    name = "local-trash"
    needs_server = False

    def bulk(self, trash: Path, n: int, now: datetime | None = None, folder: str = "Bulk") -> None:
        """Benchmark data: ``n`` more trashed photos in the home trash ``trash`` (a seeded
        ``Trash`` folder), deleted over the last 29 days from ``<home>/<folder>/NNN/`` (500 a
        folder, which exist, so a restore puts each back). Their bytes are a few of their own,
        not pictures (10,000 take about a second)."""
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        home = trash.parent / "home"
        for sub in ("info", "files"):
            (trash / sub).mkdir(parents=True, exist_ok=True)
        for index in range(n):
            original = home / folder / f"{index // 500:03d}" / f"BULK_{index:06d}.jpg"
            original.parent.mkdir(parents=True, exist_ok=True)
            stored = f"BULK_{index:06d}.jpg"
            deleted = now - timedelta(seconds=60 + (index * 2_500_000) // max(n, 1))
            local = deleted.astimezone().replace(tzinfo=None)
            info = _trashinfo(str(original), local)
            (trash / "info" / f"{stored}.trashinfo").write_text(info, encoding="utf-8")
            (trash / "files" / stored).write_bytes(b"\xff\xd8 sandbox bulk " + stored.encode())

    def seed(self, workdir: Path, now: datetime) -> list[dict]:
        """Create real trash folders under workdir with seeded data; return account config dicts."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        now = now.replace(microsecond=0)

        laptop = workdir / "laptop"
        laptop_trash = laptop / "Trash"
        (laptop / "home" / "Pictures").mkdir(parents=True, exist_ok=True)
        for original, stored, days in LAPTOP_ITEMS:
            when = now - timedelta(days=days)
            target = _trash(laptop_trash, laptop, original, stored, when, relative=False)
            target.write_bytes(_content(Path(original).name, original))
        # cover.jpg's place was taken by a new file since: restore must not overwrite it.
        (laptop / "home/Pictures/cover.jpg").write_bytes(_content("cover.jpg", "the new cover"))

        folder_rel, stored, days, inner = LAPTOP_FOLDER
        when = now - timedelta(days=days)
        folder = _trash(laptop_trash, laptop, folder_rel, stored, when, relative=False)
        for rel in inner:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(_content(Path(rel).name, f"{folder_rel}/{rel}"))

        usb = workdir / "usb-stick"
        usb_trash = usb / ".Trash-1000"
        for original, stored, days in USB_ITEMS:
            when = now - timedelta(days=days)
            target = _trash(usb_trash, usb, original, stored, when, relative=True)
            target.write_bytes(_content(Path(original).name, f"usb:{original}"))

        return [
            {
                "name": "laptop",
                "provider": self.name,
                "trash_dirs": [str(laptop_trash)],
                "include_volumes": False,
                "purge_after_days": 30,
            },
            {
                "name": "usb-stick",
                "provider": self.name,
                "trash_dirs": [str(usb_trash)],
                "include_volumes": False,
            },
        ]
