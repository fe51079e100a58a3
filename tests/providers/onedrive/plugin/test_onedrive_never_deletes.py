"""The plugin's code names no Graph call that deletes, purges, empties or overwrites anything."""

from __future__ import annotations

import re
from pathlib import Path

import trashscan_onedrive

PACKAGE = Path(trashscan_onedrive.__file__).parent
# Graph's permanentDelete and recycle-bin delete actions, HTTP DELETE (also via session.delete),
# uploads and overwrites (PUT .../content, conflictBehavior=replace), and PATCH/PUT in general.
# The one /content allowed is a thumbnail's (GET .../thumbnails/0/medium/content, read-only:
# thumbnails cannot be written through it).
FORBIDDEN = re.compile(
    r"permanentDelete"
    r"|recycleBin/items/delete"
    r"|/delete\b"
    r"|['\"](DELETE|PUT|PATCH)['\"]"
    r"|\.(delete|put|patch)\("
    r"|conflictBehavior"
    r"|(?<!thumbnails/0/medium)/content\b"
    r"|createUploadSession",
    re.IGNORECASE,
)


def plugin_sources() -> list[Path]:
    # fake*.py are the sandbox server (it plays Microsoft's side), not plugin code.
    return [p for p in sorted(PACKAGE.glob("*.py")) if not p.name.startswith("fake")]


def test_no_plugin_module_can_delete_or_overwrite() -> None:
    sources = plugin_sources()
    assert {p.name for p in sources} >= {
        "plugin.py",
        "client.py",
        "personal.py",
        "business.py",
        "restore_personal.py",
        "restore_business.py",
    }
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = FORBIDDEN.search(line)
            assert found is None, f"{path.name}:{number} names {found.group(0)!r}"


def test_the_pattern_catches_what_it_must() -> None:
    for text in (
        'session.send("POST", item_url(s, item_id, "/permanentDelete"))',
        'url = f"{base}/recycleBin/items/delete"',
        "self.http.delete(url)",
        'session.send("DELETE", url)',
        "requests.put(url, data=blob)",
        'session.send("PATCH", url, body={"name": "x"})',
        '{"@microsoft.graph.conflictBehavior": "replace"}',
        'item_url(s, parent, ":/cat.jpg:/content")',
        'f"{base}/items/{item_id}/content"',
        'f"{base}/items/{item_id}/thumbnails/0/large/content"',  # not the one read allowed
        "createUploadSession",
    ):
        assert FORBIDDEN.search(text), text
    for text in (
        'session.send("POST", item_url(s, item_id, "/restore"), body=body)',
        "deleted_at = NULL",
        'raw.get("deleted")',
        "DELETE FROM items WHERE id = ?",  # the local mirror, not the cloud
        "text.replace('Z', '+00:00')",
        'f"{base}/items/{item_id}/thumbnails/0/medium/content"',  # reading a thumbnail
    ):
        assert not FORBIDDEN.search(text), text
