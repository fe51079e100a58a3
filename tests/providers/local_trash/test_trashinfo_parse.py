"""``trashinfo.parse`` reads the usual shape with one match and anything else with the full
reader: both must answer exactly as the reader before them (kept here as the reference), for
every crafted input, malformed ones included."""

from __future__ import annotations

import itertools
import os
from urllib.parse import unquote_to_bytes

import pytest

from trashscan_local_trash import trashinfo
from trashscan_local_trash.trashinfo import MalformedTrashInfo, TrashInfo

TRASH_DIRS = [
    "/media/stick/.Trash-1000", "/media/stick/.Trash/1000", "/home/u/.local/share/Trash",
    "//media/stick/.Trash-1000", "/media//stick/.Trash-1000",
]  # fmt: skip


def reference_parse(data: bytes, trash_dir: str) -> TrashInfo:
    """trashinfo.parse as it was before the fast path (verbatim but for the names)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedTrashInfo("not UTF-8 text") from exc
    values: dict[str, str] = {}
    started = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if not started:
            if line != "[Trash Info]":
                break
            started = True
        elif line[0] == "[":
            break
        else:
            key, sep, value = line.partition("=")
            if sep:
                values.setdefault(key.strip(), value.strip())
    if not started:
        raise MalformedTrashInfo("does not start with [Trash Info]")
    raw_path = values.get("Path")
    if not raw_path:
        raise MalformedTrashInfo("no Path=")
    original = os.fsdecode(unquote_to_bytes(raw_path))
    if "\0" in original:
        raise MalformedTrashInfo("Path= contains a NUL byte")
    if not os.path.isabs(original):
        top = trashinfo.topdir_of(trash_dir)
        original = os.path.normpath(os.path.join(top, original))
        if original == top:
            raise MalformedTrashInfo(f"Path= names the top directory itself: {raw_path}")
    else:
        original = os.path.normpath("/" + original.lstrip("/"))
    return TrashInfo(
        original=original,
        deleted_at=trashinfo.parse_deletion_date(values.get("DeletionDate")),
    )


def answer(parse, data: bytes, trash_dir: str) -> object:
    try:
        return parse(data, trash_dir)
    except MalformedTrashInfo as exc:
        return ("malformed", str(exc))


PATHS = [
    "/home/u/Pictures/a.jpg", "DCIM/a.jpg", "album%20000/IMG_1.jpg", "../x.jpg", "/../x.jpg",
    "//x.jpg", "///x.jpg", "/a/./b.jpg", "/a//b.jpg", "/a/b/", "a/../../b.jpg", ".", "..", "./",
    "DCIM/..", "/", "%2Fetc%2Fpasswd", "a%00b.jpg", "%00", "%FF.jpg", "%e2%82.jpg", "%C3%A9.jpg",
    "%zz.jpg", "%", "a%2", "%%41", "a=b.jpg", "#x.jpg", "[x].jpg", "x;y&z?.jpg", "~/a.jpg",
    "\u00e9.jpg", "\U0001f600/a.jpg", "a b.jpg", " /a.jpg", "/a.jpg ", "\t/a.jpg", "",
    "a\u2028b.jpg", "a\x85b.jpg", "a\x0bb.jpg", "a\x1cb.jpg", "a\x7fb.jpg",
    # A folder decoded and normalised once for the entries it holds (trashinfo._folder):
    "../stick", "../../media/stick", "/media/stick", "a/../../stick", "../share", "%2e%2e/stick",
    "..%2Fstick", "a%2Fb/c.jpg", "a/b%2Fc.jpg", "a/%2e%2e/b.jpg", "%2e%2e/x.jpg", "a%00/x.jpg",
    "/a%00/x.jpg", "/a/b/../c/d.jpg", "x/.", "x/..", "//a/b.jpg", "///a/b.jpg", "/a%20b/c.jpg",
    "a/b/c/d/e.jpg", "a/b/c/d/f.jpg", "a/b/../../../../x.jpg", "/../../x.jpg", "a%2F/b.jpg",
    "%2F%2Fa/b.jpg", "%C3%A9/x.jpg", "%FF/x.jpg", "a/.b.jpg", "a/..b", "a/b..", "a/...",
]  # fmt: skip
DATES = [
    "2024-05-30T10:00:00", "", "2024-05-30", "2024-05-30T10:00:00Z", "2024-05-30T10:00:00+02:00",
    "2024-05-30T10:00:00.123456", "bogus", "2024-13-01T00:00:00", " 2024-05-30T10:00:00",
    "2024-05-30 10:00:00", "20240530T100000", "2024-05-30T25:00:00", "0000-01-01T00:00:00",
    "9999-12-31T23:59:59",
]  # fmt: skip


def shapes(path: str, date: str) -> dict[str, bytes]:
    """The .trashinfo shapes a path and a date can come in: the usual one, and others."""
    usual = f"[Trash Info]\nPath={path}\nDeletionDate={date}\n"
    text = {
        "usual": usual,
        "no final newline": usual[:-1],
        "two final newlines": usual + "\n",
        "CRLF": usual.replace("\n", "\r\n"),
        "CR": usual.replace("\n", "\r"),
        "mixed line ends": f"[Trash Info]\r\nPath={path}\nDeletionDate={date}\r\n",
        "form feed": usual.replace("\n", "\x0c"),
        "line separator": usual.replace("\n", "\u2028"),
        "BOM": "\ufeff" + usual,
        "blank lines": "\n\n[Trash Info]\n\nPath=" + path + "\n\nDeletionDate=" + date + "\n\n",
        "comments": f"# made by hand\n[Trash Info]\n# a\nPath={path}\n#DeletionDate=x\n"
        f"DeletionDate={date}\n",
        "spaces around =": f"[Trash Info]\nPath = {path}\nDeletionDate = {date}\n",
        "indented": f"  [Trash Info]\n\tPath={path}\n DeletionDate={date} \n",
        "date first": f"[Trash Info]\nDeletionDate={date}\nPath={path}\n",
        "no date": f"[Trash Info]\nPath={path}\n",
        "no path": f"[Trash Info]\nDeletionDate={date}\n",
        "empty path": f"[Trash Info]\nPath=\nDeletionDate={date}\n",
        "two paths": f"[Trash Info]\nPath={path}\nPath=/elsewhere.jpg\nDeletionDate={date}\n",
        "path second": f"[Trash Info]\nPath=/first.jpg\nPath={path}\nDeletionDate={date}\n",
        "two dates": f"[Trash Info]\nPath={path}\nDeletionDate=2001-01-01T00:00:00\n"
        f"DeletionDate={date}\n",
        "another key": f"[Trash Info]\nPath={path}\nX-Other=1\nDeletionDate={date}\n",
        "a line without =": f"[Trash Info]\nPath={path}\njunk\nDeletionDate={date}\n",
        "another group after": usual + "[Other]\nPath=/x.jpg\n",
        "another group first": f"[Other]\nPath=/x.jpg\n{usual}",
        "in another group": f"[Trash Info]\n[Other]\nPath={path}\nDeletionDate={date}\n",
        "lower-case keys": f"[Trash Info]\npath={path}\ndeletiondate={date}\n",
        "lower-case group": f"[trash info]\nPath={path}\nDeletionDate={date}\n",
        "group with spaces": f"[Trash Info] \nPath={path}\nDeletionDate={date}\n",
        "trailing junk": usual + "junk",
        "NUL after": usual + "\0",
        "empty": "",
    }
    out = {name: t.encode("utf-8", "surrogateescape") for name, t in text.items()}
    out["not UTF-8 after"] = usual.encode() + b"\xff"
    out["not UTF-8 path"] = usual.replace(path, path + "\udcff").encode("utf-8", "surrogateescape")
    out["NUL in path"] = usual.replace("Path=", "Path=\0").encode()
    return out


CASES = [
    (shape, path, date, data)
    for path, date in itertools.product(PATHS, DATES)
    for shape, data in shapes(path, date).items()
]


def test_every_crafted_input_is_read_as_before() -> None:
    fast = 0
    for shape, path, date, data in CASES:
        for trash_dir in TRASH_DIRS:
            expected = answer(reference_parse, data, trash_dir)
            assert answer(trashinfo.parse, data, trash_dir) == expected, (shape, path, date)
            assert answer(trashinfo._parse_any, data, trash_dir) == expected, (shape, path, date)
        fast += trashinfo._USUAL.fullmatch(data) is not None
    assert fast > 500  # the usual shape took the fast path (it is not dead code)


@pytest.mark.parametrize(
    "data",
    [
        b"[Trash Info]\nPath=DCIM/a%20b.jpg\nDeletionDate=2024-05-30T10:00:00\n",
        b"[Trash Info]\nPath=/home/u/a.jpg\nDeletionDate=2024-05-30T10:00:00",
        b"[Trash Info]\nPath=/home/u/a.jpg\nDeletionDate=\n",
    ],
)
def test_the_usual_shape_takes_the_fast_path(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_reader(data: bytes, trash_dir: str) -> TrashInfo:
        raise AssertionError("the usual shape went through the full reader")

    expected = reference_parse(data, TRASH_DIRS[0])
    monkeypatch.setattr(trashinfo, "_parse_any", full_reader)
    assert trashinfo.parse(data, TRASH_DIRS[0]) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"[Trash Info]\r\nPath=/a.jpg\r\nDeletionDate=2024-05-30T10:00:00\r\n",
        b"\xef\xbb\xbf[Trash Info]\nPath=/a.jpg\nDeletionDate=2024-05-30T10:00:00\n",
        b"[Trash Info]\nPath=/a b.jpg\nDeletionDate=2024-05-30T10:00:00\n",
        b"[Trash Info]\nPath=/\xc3\xa9.jpg\nDeletionDate=2024-05-30T10:00:00\n",
        b"[Trash Info]\nPath=/a.jpg\n",
    ],
)
def test_any_other_shape_goes_through_the_full_reader(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[bytes] = []
    full_reader = trashinfo._parse_any
    monkeypatch.setattr(
        trashinfo,
        "_parse_any",
        lambda data, trash_dir: read.append(data) or full_reader(data, trash_dir),
    )
    expected = answer(reference_parse, data, TRASH_DIRS[0])
    assert answer(trashinfo.parse, data, TRASH_DIRS[0]) == expected
    assert read == [data]
