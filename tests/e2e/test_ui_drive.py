"""`trashscan ui`'s "Restore selected" against the Drive fake: the plan page says what a folder
restore brings back (the provider's plan notes, as `trashscan restore --dry-run` prints them),
and the results name the folder's other items, which leave the grid with the one chosen."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from trashscan.cli.app import App
from trashscan.models import ItemState
from trashscan.ui.app import create_app
from trashscan.ui.guards import Secrets

HOLIDAY = "Holiday 2025"
IN_HOLIDAY = f"Photos/{HOLIDAY}/"

pytestmark = pytest.mark.sandbox("google-drive")


def test_the_plan_says_what_a_folder_restore_brings_back_and_all_of_it_leaves_the_grid(
    cli, sandbox, fake
) -> None:
    listed = cli("list", "--account", "alice", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    in_folder = [i for i in listed.json() if (i["path"] or "").startswith(IN_HOLIDAY)]
    chosen, siblings = in_folder[0], in_folder[1:]
    assert len(siblings) == 2
    app = App(str(sandbox.config_path), False)
    full = app.index.resolve_ref(chosen["ref"]).ref
    keys = Secrets(8765)
    client = TestClient(create_app(app, keys), base_url="http://127.0.0.1:8765")
    client.get(f"/?token={keys.token}")

    plan = client.post("/restore/plan", data={"csrf": keys.csrf, "ref": full}).text
    note = (
        f"restored by untrashing its folder &#39;{HOLIDAY}&#39;, "
        f"which also restores 2 other items of &#39;{HOLIDAY}&#39;"
    )
    assert note in plan  # the CLI's plan note, escaped
    assert all(fake.state.is_trashed(fake.state.files[i["item_id"]]) for i in in_folder)

    started = client.post(
        "/restore/run", data={"csrf": keys.csrf, "ref": full}, headers={"hx-request": "true"}
    )
    address = re.search(r'hx-get="(/restore/jobs/[^"?]+)', started.text)
    page = started.text
    for _ in range(400):
        if 'data-finished="true"' in page or address is None:
            break
        time.sleep(0.05)
        page = client.get(address.group(1), headers={"hx-request": "true"}).text
    assert 'data-finished="true"' in page
    assert "3 restored, 0 not restored" in page
    refs = [app.index.resolve_ref(i["ref"]).ref for i in in_folder]
    for ref in refs:
        assert app.index.by_ref(ref).state is ItemState.RESTORED  # type: ignore[union-attr]
    gallery = client.get("/").text
    assert not any(f'id="tile-{ref}"' in gallery for ref in refs)
