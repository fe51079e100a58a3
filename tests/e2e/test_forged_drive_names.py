"""Drive names may hold any character, ``/`` included: `Party [/b] 2024.jpg` used to crash `list`
and every restore plan (rich MarkupError) for every account. Through the real CLI against the
sandbox's Google Drive fake."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from trashscan.sandbox.session import Sandbox
from trashscan_google_drive.sandbox.fake import GoogleDriveFake

FORGED = "OK: nothing will be purged within 3d; 1 account checked"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
CRAFTED = {
    "Party [/b] 2024.jpg": "Party [/b] 2024.jpg",
    "[red]not red[/red] [/].jpg": "[red]not red[/red] [/].jpg",
    f"x.jpg\n{FORGED}\x1b[2J.jpg": f"x.jpg\\n{FORGED}\\x1b[2J.jpg",
}


pytestmark = pytest.mark.sandbox("google-drive")


@pytest.fixture
def sandbox(sandbox: Sandbox) -> Sandbox:
    """The Drive fake, with a photo of each CRAFTED name trashed in alice's account."""
    fake: GoogleDriveFake = sandbox.fakes["google-drive"]
    at = fake.clock() - timedelta(days=29, hours=20)
    for name in CRAFTED:
        photo = fake.add_file("alice", name, "image/jpeg", size=1234)
        fake.trash("alice", photo.id, at)
    return sandbox


def assert_safe(text: str) -> None:
    assert not RAW.search(text), RAW.findall(text)
    assert not any(line.lstrip().startswith("OK:") for line in text.splitlines()), text


def test_markup_in_drive_names_is_shown_literally_in_list_plan_and_results(cli) -> None:
    table = cli("list", "--all-accounts")
    assert table.exit_code == 0, table.stderr
    assert "MarkupError" not in table.stderr
    assert_safe(table.stdout + table.stderr)
    for shown in CRAFTED.values():
        assert shown in table.stdout

    items = json.loads(cli("list", "--cached", "--account", "alice", "--format", "json").stdout)
    refs = {item["name"]: item["ref"] for item in items if item["name"] in CRAFTED}
    assert set(refs) == set(CRAFTED)  # exact names in JSON

    plan = cli("restore", *refs.values(), "--dry-run")
    assert plan.exit_code == 0, plan.stderr
    assert_safe(plan.stdout + plan.stderr)
    for shown in CRAFTED.values():
        assert shown in plan.stdout

    done = cli("restore", *refs.values(), "--yes")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert_safe(done.stdout + done.stderr)
    restored = [line for line in done.stdout.splitlines() if line.startswith("restored ")]
    assert len(restored) == len(CRAFTED)
    for shown in CRAFTED.values():
        assert any(line.endswith(f"alice: {shown}") for line in restored), (shown, restored)
