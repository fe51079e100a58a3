"""Fixtures for the local-trash plugin tests: real trash directories under tmp_path."""

from __future__ import annotations

import functools
import os
import stat
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from trashscan.models import (
    Account,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    ScanOutcome,
    TrashItem,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan_local_trash import trashinfo
from trashscan_local_trash.plugin import LocalTrashProvider

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Trash:
    """A trash directory (``info/`` + ``files/``) that tests fill with real files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "info").mkdir(parents=True, exist_ok=True)
        (path / "files").mkdir(parents=True, exist_ok=True)

    def info(self, stored: str, text: str) -> Path:
        info = self.path / "info" / f"{stored}.trashinfo"
        info.write_text(text, encoding="utf-8")
        return info

    def add(
        self,
        path_value: str,
        stored: str | None = None,
        content: bytes | None = None,
        date: str = "2024-05-30T10:00:00",
    ) -> Path:
        """Trash a file: ``path_value`` is the (unencoded) Path= value, absolute or relative."""
        stored = stored or Path(path_value).name
        self.info(stored, f"[Trash Info]\nPath={quote(path_value)}\nDeletionDate={date}\n")
        target = self.path / "files" / stored
        target.write_bytes(content if content is not None else f"data of {stored}".encode())
        return target

    def folder(self, path_value: str, stored: str, files: dict[str, bytes]) -> Path:
        """Trash a folder holding ``files`` (relative path -> content)."""
        self.info(
            stored, f"[Trash Info]\nPath={quote(path_value)}\nDeletionDate=2024-05-30T10:00:00\n"
        )
        top = self.path / "files" / stored
        top.mkdir()
        for rel, content in files.items():
            (top / rel).parent.mkdir(parents=True, exist_ok=True)
            (top / rel).write_bytes(content)
        return top


class Volume:
    """A removable drive's top directory with a per-volume trash in one of the spec's layouts.

    ``private`` is ``$topdir/.Trash-$uid``; ``shared`` is ``$topdir/.Trash/$uid`` (``.Trash``
    sticky, as the spec demands).
    """

    def __init__(self, top: Path, layout: str) -> None:
        self.top = top
        uid = os.getuid()
        if layout == "private":
            path = top / f".Trash-{uid}"
        else:
            (top / ".Trash").mkdir(parents=True)
            (top / ".Trash").chmod(0o1777)
            path = top / ".Trash" / str(uid)
        self.trash = Trash(path)

    def mount(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
        """An account that finds this volume among the mounted ones (not named in trash_dirs)."""
        mounts = tmp_path / "mounts"
        mounts.write_text(f"/dev/sdz1 {self.top} vfat rw,nosuid,nodev 0 0\n")
        real = trashinfo.volume_trashes
        monkeypatch.setattr(
            trashinfo, "volume_trashes", functools.partial(real, mounts_file=str(mounts))
        )
        return account(xdg_data_home=str(tmp_path / "no-home-trash"), include_volumes=True)

    def named(self) -> Account:
        """An account that names this volume's trash in trash_dirs."""
        return account(trash_dirs=[str(self.trash.path)], include_volumes=False)


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root`` (symlinks not followed): type and content, by relative path."""
    found: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir",)
            elif stat.S_ISREG(st.st_mode):
                found[rel] = ("file", path.read_bytes())
            else:
                found[rel] = ("special", stat.S_IFMT(st.st_mode))
    return found


def changes(
    before: dict[str, tuple[object, ...]], after: dict[str, tuple[object, ...]]
) -> dict[str, str]:
    """What happened between two snapshots: path -> "added" | "removed" | "changed"."""
    out = {p: "removed" for p in before.keys() - after.keys()}
    out.update({p: "added" for p in after.keys() - before.keys()})
    out.update({p: "changed" for p in before.keys() & after.keys() if before[p] != after[p]})
    return out


def account(name: str = "a", **options: object) -> Account:
    return Account(name=name, provider="local-trash", options=options)


def scan_pages(provider: LocalTrashProvider, acct: Account) -> tuple[list[Page], ScanOutcome]:
    gen = provider.scan(acct, None)
    pages: list[Page] = []
    while True:
        try:
            pages.append(next(gen))
        except StopIteration as stop:
            return pages, stop.value


def scan_items(provider: LocalTrashProvider, acct: Account) -> dict[str, TrashItem]:
    pages, _ = scan_pages(provider, acct)
    return {item.name: item for page in pages for item in page.items}


def indexed(item: TrashItem, acct: str = "a") -> IndexedItem:
    return IndexedItem(
        ref=item_ref("local-trash", acct, item.item_id),
        provider="local-trash",
        account=acct,
        item_id=item.item_id,
        name=item.name,
        path=item.path,
        kind=item.kind or Kind.OTHER,
        mime_type=item.mime_type,
        size=item.size,
        deleted_at=item.deleted_at,
        deleted_at_source=item.deleted_at_source,
        purge_at=item.purge_at,
        purge_is_estimate=item.purge_is_estimate,
        restorable=item.restorable,
        not_restorable_reason=item.not_restorable_reason,
        restore_handle=item.restore_handle,
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
        content_hash=item.content_hash,
        version=item.version,
    )


@pytest.fixture
def provider(tmp_path: Path) -> LocalTrashProvider:
    context = ProviderContext(
        secrets=None,  # type: ignore[arg-type]  # unused by this plugin
        retry=None,  # type: ignore[arg-type]
        clock=lambda: NOW,
        data_dir=tmp_path / "data",
    )
    return LocalTrashProvider(context)


@pytest.fixture
def trash(tmp_path: Path) -> Trash:
    return Trash(tmp_path / "Trash")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Where the originals of the home trash lived."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def user_home() -> Path:
    """The test's $HOME (set by the suite's autouse fixture), with the files an attacker wants."""
    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "authorized_keys").write_bytes(b"ssh-ed25519 AAAA mine\n")
    (home / ".config" / "autostart").mkdir(parents=True)
    (home / "Pictures").mkdir()
    return home


@pytest.fixture
def tokyo() -> Generator[None, None, None]:
    """Local time is UTC+9 (a POSIX TZ string: no tzdata needed)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()
