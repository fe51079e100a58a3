"""How a mass Google Drive restore costs in round trips, against its floor (issue 16).

Usage: python bench/google_drive_restore.py [--items 1000] [--folders 0] [--latency-ms 50]
(run from the project's venv)

Starts the sandbox's Google Drive fake alone (every response delayed by --latency-ms), trashes
--items photos/videos one by one in bob's My Drive (``trash_bulk``), scans them, then runs the
real ``trashscan restore REF... --yes`` in-process on all of them and prints the round trips
(HTTP requests: a batch of up to 100 calls is one), the calls inside the batches by kind, the
wall time and items/s, next to the floor:

* the plan's look and the restore's own look: ceil((N + 1) / 100) batches each (the items and the
  My Drive root alias; the restore looks again because the person may have waited at the prompt,
  and which folders come back is decided on Drive's state then);
* the PATCH {"trashed": false}: ceil(N / 100) batches; each answer (``fields=id,trashed``) is the
  outcome, so nothing is read back unless a part failed without an answer.

With --folders F, the N items are instead spread over F folders trashed whole (a sync mishap
that deletes albums): each item is trashed through its folder, the plan lists what comes back
with each folder, and the restore untrashes the F folders and lists what came back:
floor = 2 looks of ceil((N + F + 1) / 100) + the plan's listing ceil(F / 100) (one page of up to
1000 per folder) + ceil(F / 100) PATCH + the restore's listing ceil(F / 100).

Exit status 1 when the measured round trips exceed the floor.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

ACCOUNT = "bob"
BATCH = 100  # Drive's limit of calls per batch


def seed(fake: Any, n_items: int, n_folders: int) -> list[str]:
    """Trash N photos (one by one, or through F trashed folders); return the item ids."""
    if not n_folders:
        return fake.trash_bulk(ACCOUNT, n_items)
    folders = [fake.add_folder(ACCOUNT, f"Album {n:04}") for n in range(n_folders)]
    ids = []
    for n in range(n_items):
        item = fake.add_file(
            ACCOUNT, f"p{n:06}.jpg", "image/jpeg", parent=folders[n % n_folders].id
        )
        ids.append(item.id)
    for folder in folders:
        fake.trash(ACCOUNT, folder.id)
    return ids


def floor(n_items: int, n_folders: int) -> int:
    if not n_folders:
        return 2 * math.ceil((n_items + 1) / BATCH) + math.ceil(n_items / BATCH)
    looks = 2 * math.ceil((n_items + n_folders + 1) / BATCH)
    pages = math.ceil(max(1, math.ceil(n_items / n_folders)) / 1000)  # pages per folder listing
    return looks + 2 * math.ceil(n_folders / BATCH) * pages + math.ceil(n_folders / BATCH)


def bench(n_items: int, n_folders: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp:
        os.environ["TRASHSCAN_HOME"] = str(Path(tmp) / "home")
        from trashscan.cli import run
        from trashscan.sandbox.session import Sandbox

        sandbox = Sandbox(Path(tmp) / "sandbox", only=frozenset({"google-drive"}), latency=latency)
        with sandbox as box:
            if box.broken:
                raise SystemExit(f"sandbox fake failed: {box.broken}")
            fake, server = box.fakes["google-drive"], box.servers["google-drive"]
            wanted = set(seed(fake, n_items, n_folders))
            config = ["--config", str(box.config_path)]
            buffer = io.StringIO()
            with redirect_stdout(buffer):
                code = run([*config, "list", "--account", ACCOUNT, "--format", "jsonl"])
            if code != 0:
                raise SystemExit("the scan before the restore failed")
            import json

            refs = [
                row["ref"]
                for row in map(json.loads, buffer.getvalue().splitlines())
                if row["item_id"] in wanted
            ]
            if len(refs) != n_items:
                raise SystemExit(f"scanned {len(refs)} of the {n_items} items")
            mark, parts_mark = len(server.request_log), len(fake.batch_log)
            out = io.StringIO()
            start = time.perf_counter()
            with redirect_stdout(out), redirect_stderr(io.StringIO()):  # the plan's table
                code = run([*config, "restore", *refs, "--yes", "--format", "jsonl"])
            wall = time.perf_counter() - start
            records = server.request_log[mark:]
            parts = fake.batch_log[parts_mark:]
            restored = sum(1 for line in out.getvalue().splitlines() if '"restored"' in line)
            still = sum(1 for i in wanted if fake.state.is_trashed(fake.state.files[i]))
            return {
                "exit": code,
                "wall": wall,
                "round_trips": len(records),
                "by_path": Counter(f"{r.method} {r.path}" for r in records),
                "parts": Counter(
                    "files.list" if p.path == "/drive/v3/files" else f"{p.method} files/ID"
                    for p in parts
                ),
                "restored_lines": restored,
                "still_trashed": still,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--folders", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    result = bench(args.items, args.folders, args.latency_ms / 1000)
    best = floor(args.items, args.folders)
    how = f"through {args.folders} trashed folders" if args.folders else "trashed one by one"
    print(
        f"Google Drive restore: {args.items} photos {how}, latency {args.latency_ms:g} ms per "
        "request"
    )
    print(f"{'round trips (HTTP requests)':<34} {result['round_trips']:>8}")
    for what, count in sorted(result["by_path"].items()):
        print(f"  {what:<32} {count:>8}")
    print(f"{'calls inside the batches':<34} {sum(result['parts'].values()):>8}")
    for what, count in sorted(result["parts"].items()):
        print(f"  {what:<32} {count:>8}")
    rate = args.items / result["wall"] if result["wall"] else 0.0
    print(f"{'wall time (s)':<34} {result['wall']:>8.2f}   ({rate:.0f} items/s)")
    print(f"{'floor (round trips)':<34} {best:>8}   (see the module docstring)")
    print(f"{'ratio to the floor':<34} {result['round_trips'] / best:>8.2f}")
    ok = (
        result["exit"] == 0
        and result["round_trips"] <= best
        and result["still_trashed"] == 0
        and result["restored_lines"] >= args.items
    )
    verdict = "ok" if ok else "FAIL"
    print(f"{verdict}: exit {result['exit']}, {result['still_trashed']} still in the trash")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
