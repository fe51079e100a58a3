"""The plugin's code names no Dropbox call that deletes, moves or uploads anything."""

from __future__ import annotations

import re
from pathlib import Path

import trashscan_dropbox

PACKAGE = Path(trashscan_dropbox.__file__).parent
# SDK methods (files_delete_v2, files_move_batch, ...), route objects (files.upload) and URL
# paths (files/permanently_delete), plus the batch and session variants and raw HTTP DELETE.
FORBIDDEN = re.compile(
    r"files[._/](delete|permanently_delete|move|upload)"
    r"|\b(delete|move|upload)_(v2|batch)"
    r"|upload_session"
    r"|['\"]DELETE['\"]"
)  # case-sensitive: the SDK's names are lower case, and files.DeletedMetadata is fine


def plugin_sources() -> list[Path]:
    # fake*.py are the sandbox server (it plays Dropbox's side), not plugin code.
    return [p for p in sorted(PACKAGE.glob("*.py")) if not p.name.startswith("fake")]


def test_no_plugin_module_can_delete_move_or_upload() -> None:
    sources = plugin_sources()
    assert {p.name for p in sources} >= {"plugin.py", "client.py", "scan.py", "restore.py"}
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = FORBIDDEN.search(line)
            assert found is None, f"{path.name}:{number} names {found.group(0)!r}"


def test_the_pattern_catches_what_it_must() -> None:
    for text in (
        "dbx.files_delete_v2(path)",
        "dbx.files_permanently_delete(path)",
        "dbx.files_move_v2(a, b)",
        "dbx.files_upload(data, path)",
        "dbx.files_upload_session_start(b'')",
        "client.request(files.delete_batch, 'files', arg, None)",
        "url = '/2/files/move_batch_v2'",
        'session.request("DELETE", url)',
    ):
        assert FORBIDDEN.search(text), text
    for text in ("files_restore(path, rev)", "is_deleted", "files.DeletedMetadata", "moved away"):
        assert not FORBIDDEN.search(text), text
