"""`list --cached` for programs, byte for byte: json, jsonl, csv and -q of a crafted index are
compared with what trashscan printed for them before the read path was rewritten (issue 16:
a faster listing must print exactly the same bytes).

The golden outputs (tests/core/golden/listing.json) were written by the SQLAlchemy read path;
the items hold what breaks outputs: quotes, backslashes, controls, bidi and separator
characters, wildcards of LIKE and globs, non-ASCII, sizes and dates of every kind. To see a
difference: ``python tests/core/test_listing_golden.py DIR`` writes each output to DIR.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.index import Index
from trashscan.models import DeletedAtSource, Kind, Page, ScanOutcome, TrashItem

GOLDEN = Path(__file__).parent / "golden" / "listing.json"
NOW = datetime(2026, 12, 6, 12, 0, 0, 250_000, tzinfo=UTC)  # a fraction of a second: rounding
PROVIDER = "local-trash"
NAMES = [
    'quote"back\\slash.jpg', "tab\tnew\nline\r.jpg", "cr\ronly.jpg", "esc\x1b[31mred.jpg",
    "del\x7f.jpg", "bidi\u202egpj.exe.jpg", "sep\u2028\u2029.jpg", "nel\x85.jpg", "nul\x00.jpg",
    "Été 日本.jpg", "emoji 🎉.jpg", "100%_done.png", "a_b.jpg", "a*b?.jpg", "[x].jpg",
    "IMG_0001.JPG", "img_0002.jpg", "IMG_0003.jpg", "it's.jpg", "comma, \"quoted\".jpg",
    "=cmd.jpg", " lead and trail .jpg", "clip.mov", "film.MP4", "notes.txt", "zero.jpg",
    "ZWJ 👩\u200d👩\u200d👧.jpg", "lrm\u200eword.jpg", "\U0010fffdplane.jpg", "long " * 40 + ".jpg",
]  # fmt: skip
CASES: dict[str, list[str]] = {
    "json": ["--format", "json"],
    "jsonl": ["--format", "jsonl"],
    "csv": ["--format", "csv"],
    "refs": ["-q"],
    "jsonl any kind": ["--format", "jsonl", "--kind", "any"],
    "jsonl by name": ["--format", "jsonl", "--sort", "name"],
    "csv by size": ["--format", "csv", "--sort", "size"],
    "json by deletion": ["--format", "json", "--sort", "deleted"],
    "jsonl within 3d": ["--format", "jsonl", "--within", "3d"],
    "json deleted since": ["--format", "json", "--deleted-since", "5d", "--kind", "any"],
    "jsonl one account": ["--format", "jsonl", "--account", "usb"],
    "csv glob": ["--format", "csv", "--name", "img_*"],
    "jsonl glob wildcards": ["--format", "jsonl", "--name", "a?b*"],
    "jsonl glob percent": ["--format", "jsonl", "--name", "100%*"],
    "jsonl limit": ["--format", "jsonl", "--limit", "4"],
    "json limit 0 matches": ["--format", "json", "--name", "no such*"],
    "csv limit": ["--format", "csv", "--limit", "7", "--sort", "deleted"],
}


def _items(account: str, start: int) -> list[TrashItem]:
    day = timedelta(days=1)
    sources = list(DeletedAtSource)
    made = []
    for n, name in enumerate(NAMES):
        at = start + n
        deleted = None if at % 7 == 3 else NOW - at * day / 3 - timedelta(microseconds=at * 1001)
        purge = None if at % 5 == 4 else NOW + (at - 8) * day / 2 + timedelta(seconds=at)
        made.append(
            TrashItem(
                item_id=f"{account}-{n}",
                name=name,
                path=None if at % 4 == 1 else f"/photos/{account}/{name}",
                mime_type=None if at % 3 else "image/jpeg",
                size=None if at % 6 == 2 else (0 if at % 6 == 5 else at * 1_048_583),
                deleted_at=deleted,
                deleted_at_source=sources[at % len(sources)],
                purge_at=purge,
                purge_is_estimate=bool(at % 2),
                restorable=at % 5 != 1,
                not_restorable_reason=None if at % 5 != 1 else f"reason {name}",
                kind=Kind.OTHER if name == "notes.txt" else None,
                deleted_after=None if at % 3 == 0 or deleted is None else deleted - day,
                purge_latest=None if purge is None or at % 2 == 0 else purge + at * day / 4,
                restore_handle={"n": at},
            )
        )
    return made


def build(folder: Path) -> Path:
    """The index and config of the crafted listing; returns the config."""
    db = folder / "index.db"
    with Index.open(f"sqlite:///{db}") as ix:
        for account, start in (("desk", 0), ("usb", 11)):
            scan_id = ix.begin_scan(PROVIDER, account, NOW)
            ix.write_page(scan_id, PROVIDER, account, Page(items=_items(account, start)), NOW)
            ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)
    (folder / "trash").mkdir()
    config = folder / "config.toml"
    accounts = "".join(
        f'\n[[accounts]]\nname = "{name}"\nprovider = "{PROVIDER}"\n'
        f'trash_dirs = ["{folder / "trash"}"]\ninclude_volumes = false\n'
        for name in ("desk", "usb")
    )
    config.write_text(
        f'[index]\nurl = "sqlite:///{db}"\n\n[thumbnails]\nenabled = false\n{accounts}'
    )
    return config


def outputs(folder: Path, capsys: pytest.CaptureFixture[str] | None = None) -> dict[str, str]:
    """Every case's stdout, from the CLI run in this process with its clock at NOW."""
    import io
    from contextlib import redirect_stdout
    from unittest import mock

    from trashscan.cli import run

    config = build(folder)
    found = {}
    with mock.patch("trashscan.cli.app.utcnow", return_value=NOW):
        for case, args in CASES.items():
            out = io.StringIO()
            with redirect_stdout(out):
                code = run(["--config", str(config), "list", "--cached", *args])
            assert code == 0, (case, out.getvalue())
            found[case] = out.getvalue()
    return found


def test_every_listing_for_programs_prints_the_golden_bytes(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = outputs(tmp_path)
    assert set(got) == set(golden)
    for case in CASES:
        assert got[case] == golden[case], case
    jsonl = got["jsonl any kind"].splitlines()
    assert len(jsonl) == 2 * len(NAMES)  # the crafted index is all there, one line each
    for line in jsonl:  # and every line is JSON with no raw control or separator character
        json.loads(line)
        assert line.isprintable() or "\u200d" in line or "\U0010fffd" in line, line


if __name__ == "__main__":  # python tests/core/test_listing_golden.py DIR [--write-golden]
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        printed = outputs(Path(work))
    if "--write-golden" in sys.argv:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(printed, indent=1, ensure_ascii=True) + "\n", "utf-8")
    else:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        for case, text in printed.items():
            (target / case.replace(" ", "-")).write_text(text, encoding="utf-8", newline="")
