"""How true are Google Drive purge dates for a big My Drive trash that was there before trashscan?

Usage: python bench/purge_truth.py [--items 2500] [--activity off|on]   (from the project's venv)

Starts the sandbox's Google Drive fake alone, trashes --items more photos/videos in alice's My
Drive with ``trash_bulk`` (spread over the 29 days before the first scan), sets alice's
``activity`` option, then runs the real ``trashscan list --account alice --format json`` and
``trashscan check --account alice --within 7d --format json`` in-process. It compares every
My Drive item with the fake's ground truth (its real trash time + 30 days) and prints:

* how many purge dates are later than the real purge (must be 0), by more than a day, and the
  worst one;
* how many items are really purged within 7 days, and how many of them ``check --within 7d``
  reported (recall; must be all);
* what the check's exit code and first line were.

Exit status 1 if a purge date is late or a due item is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACCOUNT = "alice"
DAY = timedelta(days=1)


def _run(args: list[str]) -> tuple[int, str]:
    from trashscan.cli import run

    out = io.StringIO()
    with redirect_stdout(out):
        code = run(args)
    return code, out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2500)
    parser.add_argument("--activity", choices=("off", "on"), default="off")
    options = parser.parse_args()

    import tomlkit

    from trashscan.sandbox.session import Sandbox
    from trashscan_google_drive.sandbox.model import TRASH_RETENTION

    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(Path(tmp), only=frozenset({"google-drive"})) as box,
    ):
        fake = box.fakes["google-drive"]
        fake.trash_bulk(ACCOUNT, options.items, seed=12)
        assert box.config_path is not None
        config = tomlkit.parse(box.config_path.read_text())
        for table in config["accounts"]:  # type: ignore[union-attr]
            if table["name"] == ACCOUNT:
                table["activity"] = options.activity == "on"
        box.config_path.write_text(tomlkit.dumps(config))
        base = ["--config", str(box.config_path)]

        code, out = _run([*base, "list", "--account", ACCOUNT, "--format", "json"])
        if code != 0:
            print(f"list failed with exit {code}", file=sys.stderr)
            return 1
        items: list[dict[str, Any]] = json.loads(out)
        code, out = _run(
            [*base, "check", "--account", ACCOUNT, "--within", "7d", "--format", "json"]
        )
        report = json.loads(out)
        now = datetime.now(UTC)

        def truth(item: dict[str, Any]) -> datetime:
            origin = fake.state.trash_origin(fake.state.files[item["item_id"]])
            return origin.trashed_time + TRASH_RETENTION

        my_drive = [i for i in items if fake.state.files[i["item_id"]].drive_id is None]
        late = []
        for item in my_drive:
            shown = datetime.fromisoformat(item["purge_at"])
            if shown > truth(item):
                late.append((shown - truth(item), item))
        due = {i["item_id"] for i in my_drive if truth(i) <= now + timedelta(days=7)}
        reported = {i["item_id"] for i in report["items"]} & due
        worst = max(late, key=lambda pair: pair[0], default=None)

    print(f"My Drive items listed: {len(my_drive)} (activity {options.activity})")
    print(f"purge date later than the real one: {len(late)}")
    print(f"  by more than a day: {sum(1 for gap, _ in late if gap > DAY)}")
    if worst is not None:
        gap, item = worst
        print(f"  worst: {gap.total_seconds() / 86400:.1f} days late ({item['name']})")
    print(f"really purged within 7 days: {len(due)}; check --within 7d reported {len(reported)}")
    print(f"check exit {code}: {report['status'].upper()}, {len(report['items'])} items reported")
    return 1 if late or reported != due else 0


if __name__ == "__main__":
    sys.exit(main())
