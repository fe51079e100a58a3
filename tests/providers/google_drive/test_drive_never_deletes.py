"""The plugin's code contains no call that removes data: no delete, no emptyTrash, no DELETE."""

from __future__ import annotations

from pathlib import Path

import trashscan_google_drive

PACKAGE = Path(trashscan_google_drive.__file__).parent
FORBIDDEN = (".delete(", "emptyTrash", '"DELETE"', "'DELETE'")


def test_no_plugin_module_can_delete() -> None:
    # fake*.py are the sandbox server (it plays Google's side, deletes included), not plugin code.
    sources = [p for p in sorted(PACKAGE.glob("*.py")) if not p.name.startswith("fake")]
    assert {p.name for p in sources} >= {"plugin.py", "client.py", "scan.py", "restore.py"}
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for needle in FORBIDDEN:
            assert needle not in text, f"{path.name} contains {needle}"
