"""Items their account cannot restore, in `trashscan check` (issue 12 §2, "Unrestorable items").

carol (Dropbox, basic: 30 days) deleted lost-dropbox.jpg 29.5 days ago, and Dropbox says it can
no longer be restored (``is_restorable: false``); alice (Google Drive, dated by Drive Activity)
trashed lost-drive.jpg 29.5 days ago, and Drive does not let her untrash it (``canUntrash:
false``). Both are purged within a day, which would be CRITICAL for an item she could restore.
Nothing done through trashscan saves them, so `check` reports each once as "cannot be restored
by this account" (grouped per account, with the reason), even under --quiet, and tells each
notification channel once; they never make the check WARNING or CRITICAL, and afterwards are
only listed under ``unrestorable`` in ``--format json``. Nothing else of the seed is due within
a day (carol's other deletions are at most 27 days old, alice's at most 28.5).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from trashscan.config import set_table
from trashscan.sandbox.session import Sandbox
from trashscan_dropbox.scan import NOT_RESTORABLE
from trashscan_google_drive.scan import NOT_UNTRASHABLE

CHECK = ("check", "--account", "carol", "--account", "alice", "--within", "1d")
SUMMARY = "OK: 2 trashed items that cannot be restored will be purged within 1d; 2 accounts checked"
CAROL = f"1 item cannot be restored by this account: {NOT_RESTORABLE}"
ALICE = f"1 item cannot be restored by this account: {NOT_UNTRASHABLE}"


pytestmark = pytest.mark.sandbox("dropbox", "google-drive")


@pytest.fixture
def webhook(sandbox: Sandbox) -> Iterator[list[dict[str, Any]]]:
    """A local webhook (Apprise's json://) configured under [alerts]; the bodies it received."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    assert sandbox.config_path is not None
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    # one threshold, so that only the two due within a day are news (the seed has more in 7d)
    set_table(sandbox.config_path, "alerts", {"webhook_url": url, "thresholds": ["1d"]})
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture
def seeded(sandbox: Sandbox) -> None:
    dropbox = sandbox.fakes["dropbox"]
    now = dropbox.clock()
    dropbox.add_file("carol", "/Photos/lost-dropbox.jpg", b"jpeg", at=now - timedelta(days=60))
    dropbox.delete("carol", "/Photos/lost-dropbox.jpg", at=now - timedelta(days=29.5))
    dropbox.set_restorable("carol", "/Photos/lost-dropbox.jpg", False)

    drive = sandbox.fakes["google-drive"]
    now = drive.clock()
    photo = drive.add_file(
        "alice", "lost-drive.jpg", "image/jpeg", created=now - timedelta(days=60), size=1000
    )
    drive.trash("alice", photo.id, at=now - timedelta(days=29.5))
    drive.deny_untrash(photo.id)


def _block(lines: list[str], header: str) -> list[str]:
    """The header line that contains ``header`` and the item lines below it."""
    start = next(n for n, line in enumerate(lines) if header in line)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        block.append(line)
    return block


def test_unrestorable_items_are_reported_once_and_never_alarm(cli, seeded, webhook):
    first = cli(*CHECK, "--quiet")  # cron's way: the news is printed all the same

    assert first.exit_code == 0, first.stdout + first.stderr  # not CRITICAL, not WARNING
    lines = first.stdout.splitlines()
    assert lines[0] == SUMMARY
    carol = _block(lines, "carol (dropbox): ")
    assert carol[0] == f"  cannot    carol (dropbox): {CAROL}"
    assert len(carol) == 2 and carol[1].endswith("lost-dropbox.jpg")
    alice = _block(lines, "alice (google-drive): ")
    assert alice[0] == f"  cannot    alice (google-drive): {ALICE}"
    assert len(alice) == 2 and alice[1].endswith("lost-drive.jpg")
    assert not [line for line in lines if line.startswith(("  crit", "  warn"))]
    assert "  notified  webhook (127.0.0.1): 2 items" in lines

    (message,) = webhook
    assert message["title"] == "trashscan: 2 trashed items cannot be restored by their account"
    assert message["type"] == "warning"  # no alarm: nothing is within --critical to act on
    text = message["message"].splitlines()
    assert f"1 item in carol (dropbox) {CAROL.removeprefix('1 item ')}" in text
    assert f"1 item in alice (google-drive) {ALICE.removeprefix('1 item ')}" in text
    assert [line for line in text if line.startswith("- lost-")] == [
        line for line in text if line.startswith("- ")
    ]
    assert {line.split(":")[0] for line in text if line.startswith("- ")} == {
        "- lost-dropbox.jpg",
        "- lost-drive.jpg",
    }
    assert "Restore them" not in message["message"]

    again = cli(*CHECK)  # said before: the summary stays true, the news is not repeated

    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == [SUMMARY]
    assert len(webhook) == 1  # no second message
    quiet = cli(*CHECK, "--quiet")
    assert (quiet.exit_code, quiet.stdout, len(webhook)) == (0, "", 1)

    report = json.loads(cli(*CHECK, "--format", "json").stdout)
    assert (report["status"], report["exit_code"], report["items"]) == ("ok", 0, [])
    listed = {i["name"]: i for i in report["unrestorable"]}
    assert set(listed) == {"lost-dropbox.jpg", "lost-drive.jpg"}
    assert listed["lost-dropbox.jpg"]["not_restorable_reason"] == NOT_RESTORABLE
    assert listed["lost-drive.jpg"]["not_restorable_reason"] == NOT_UNTRASHABLE
    assert all(i["restorable"] is False and i["new"] is False for i in listed.values())


def test_json_marks_the_run_that_first_reports_them(cli, seeded):
    first = json.loads(cli(*CHECK, "--format", "json", "--no-notify").stdout)
    assert first["exit_code"] == 0
    assert sorted((i["name"], i["new"]) for i in first["unrestorable"]) == [
        ("lost-drive.jpg", True),
        ("lost-dropbox.jpg", True),
    ]
    later = json.loads(cli(*CHECK, "--format", "json", "--no-notify").stdout)
    assert sorted((i["name"], i["new"]) for i in later["unrestorable"]) == [
        ("lost-drive.jpg", False),
        ("lost-dropbox.jpg", False),
    ]


def test_a_due_item_that_can_be_restored_still_alarms_beside_them(cli, sandbox, seeded, webhook):
    dropbox = sandbox.fakes["dropbox"]
    now = dropbox.clock()
    dropbox.add_file("carol", "/Photos/saveable.jpg", b"jpg2", at=now - timedelta(days=60))
    dropbox.delete("carol", "/Photos/saveable.jpg", at=now - timedelta(days=29.5))

    result = cli(*CHECK)

    assert result.exit_code == 2, result.stdout + result.stderr  # CRITICAL, for saveable.jpg
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "CRITICAL: 1 trashed item will be purged within 1d, all within 1d; 2 trashed items "
        "that cannot be restored will be purged within 1d; 2 accounts checked"
    )
    (critical,) = [line for line in lines if line.startswith("  crit")]
    assert critical.endswith("saveable.jpg (carol, dropbox)")
    assert _block(lines, "carol (dropbox): ")[0] == f"  cannot    carol (dropbox): {CAROL}"
    (message,) = webhook
    assert message["type"] == "failure"  # urgent: saveable.jpg is within --critical
    assert message["title"] == (
        "trashscan: 1 trashed item will be purged soon; 2 trashed items cannot be restored by "
        "their account"
    )
