"""The plugin's code names nothing that deletes, trashes or purges in iCloud."""

from __future__ import annotations

import re
from pathlib import Path

import trashscan_icloud

PACKAGE = Path(trashscan_icloud.__file__).parent
# pyicloud's deleting calls (DriveNode.delete/delete_forever/move_to_trash, PhotoAsset.delete,
# DriveService.delete_items/move_items_to_trash/delete_forever_from_trash), Drive's endpoints
# behind them, and a Photos write of the delete or expunge flag set to 1.
FORBIDDEN = re.compile(
    r"\.delete\s*\("
    r"|delete_forever|move_to_trash|delete_items|move_items_to_trash"
    r"|deleteItems|moveItemsToTrash"
    r"|\bisDeleted\b[^}\n]{0,40}?\b1\b"
    r"|isExpunged"
)


def plugin_sources() -> list[Path]:
    # fake*.py are the sandbox server (Apple's side), not plugin code.
    return [p for p in sorted(PACKAGE.glob("*.py")) if not p.name.startswith("fake")]


def test_no_plugin_module_can_delete_trash_or_purge() -> None:
    sources = plugin_sources()
    assert {p.name for p in sources} >= {
        "plugin.py",
        "service.py",
        "client.py",
        "photos.py",
        "drive.py",
        "auth.py",
    }
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = FORBIDDEN.search(line)
            assert found is None, f"{path.name}:{number} names {found.group(0)!r}"


def test_the_pattern_catches_what_it_must() -> None:
    for text in (
        "asset.delete()",
        "node.delete ()",
        "node.delete_forever()",
        "node.move_to_trash()",
        "drive.delete_items(node_id, etag)",
        "drive.move_items_to_trash(node_id, etag)",
        "drive.delete_forever_from_trash(node_id, etag)",
        'url = f"{root}/deleteItems"',
        'url = f"{root}/moveItemsToTrash"',
        '"fields": {"isDeleted": {"value": 1}}',
        "fields={'isDeleted': {'type': 'INT64', 'value': 1}}",
        '{"isExpunged": {"value": 1}}',
        "isDeleted: 1",
    ):
        assert FORBIDDEN.search(text), text
    for text in (
        '"fields": {"isDeleted": {"value": 0}}',
        'in_trash=bool(_field(entry, "isDeleted"))',
        "node.recover()",
        "marker.unlink(missing_ok=True)",
    ):
        assert not FORBIDDEN.search(text), text
