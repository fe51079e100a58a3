"""How a big Google Drive trash scans: requests by kind, wall time and peak memory.

Usage: python bench/google_drive_scan.py [--items 10000] [--latency-ms 50] [--compare 1000]
                                         [--command list|scan] [--shared-drives K]
                                         (run from the project's venv)

Starts the sandbox's Google Drive fake alone (every response delayed by --latency-ms), trashes
--items more photos/videos in alice's My Drive with ``trash_bulk``, then runs the real
``trashscan list --account alice --format json`` in-process twice: a first (full) scan, and a
re-scan with nothing changed. For each it prints the wall time, the requests the fake received
by kind, and the process's peak RSS, then checks the request counts against what the plugin
promises (exit status 1 if one is off):

* first scan: ceil(M / 1000) ``files.list`` pages for My Drive, M being its trashed media
  (--items plus alice's 8 seeded ones), plus fixed extras, each itemised: one
  ``changes.getStartPageToken`` for the user and one per shared drive, one ``drives.list``, one
  ``files.list`` page per (small) shared drive, batched folder reads to name the seeded
  photos' folders ("Photos", "Photos/Holiday 2025") in their paths and learn the My Drive root
  (one batch per folder level of a page: at most 2 here, none for the --items photos, which are
  at the top of My Drive), and ``activity:query`` pages (alice has Drive Activity on) for dating
  My Drive deletions;
* re-scan: only the changes feeds (the user's, and one per shared drive: Google's guide says all
  of them must be replayed): with nothing changed each feed answers ``newStartPageToken`` on its
  first page, and the pages are sent together in batches of 100, so the floor is
  ceil((1 + k) / 100) round trips for k shared drives (one plain request when k = 0; before
  issue 16: 1 + k); no listing, no activity, no token refresh.

--shared-drives K makes alice a member of K more (empty) shared drives besides the seed's 2.

--compare N runs the same steps for N items in a fresh process and compares the peak RSS growth
over a warm-up (a list of bob's 5 items, which pays the imports and first connections). ``list``
loads and prints every row of the account, so its output grows with the trash; ``--command scan``
leaves the output out and shows the scan's own memory (pages of 1000, streamed to the index).
The fake runs in the same process, so the "seeded" figure includes its copy of the files.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ACCOUNT = "alice"
PAGE_SIZE = 1000  # what the plugin asks files.list for (Drive's maximum)
KINDS = (
    "files.list My Drive",
    "files.list shared drives",
    "files.get",
    "batches",
    "  files.get (in batches)",
    "  changes.list (in batches)",
    "  changes.getStartPageToken (in batches)",
    "changes.getStartPageToken",
    "changes.list",
    "drives.list",
    "token",
    "activity:query",
    "other",
)


def kind_of(record: Any) -> str:
    path, query = record.path, record.query
    if path == "/drive/v3/files":
        corpus = "My Drive" if query.get("corpora") == ["user"] else "shared drives"
        return f"files.list {corpus}"
    if path.startswith("/drive/v3/files/"):
        return "files.get"
    if path == "/batch/drive/v3":
        return "batches"
    if path == "/drive/v3/changes/startPageToken":
        return "changes.getStartPageToken"
    if path == "/drive/v3/changes":
        return "changes.list"
    if path == "/drive/v3/drives":
        return "drives.list"
    if path == "/token":
        return "token"
    if path == "/v2/activity:query":
        return "activity:query"
    return "other"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def part_kind(part: Any) -> str:
    """A call inside a batch (the fake's batch log)."""
    if part.path == "/drive/v3/changes":
        return "  changes.list (in batches)"
    if part.path == "/drive/v3/changes/startPageToken":
        return "  changes.getStartPageToken (in batches)"
    if part.path.startswith("/drive/v3/files/"):
        return "  files.get (in batches)"
    return "other"


def run_cli(
    run: Any, config: Path, fake: Any, server: Any, command: str, account: str = ACCOUNT
) -> dict[str, Any]:
    """One `trashscan list --account ACCOUNT --format json` (or `scan`): its figures."""
    # The scan's own cost: pictures (thumbnails, issue 15) have a bench and a budget of their own.
    args = ["list", "--format", "json"] if command == "list" else ["scan"]
    args.append("--no-thumbnails")
    mark, parts_mark = len(server.request_log), len(fake.batch_log)
    buffer = io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(buffer):
        code = run(["--config", str(config), *args, "--account", account])
    wall = time.perf_counter() - start
    records = server.request_log[mark:]
    parts = fake.batch_log[parts_mark:]
    if command == "list":
        # One object per line ({"ref": ...}); counted, not parsed, so as not to add 10,000
        # dicts of the benchmark's own to the peak RSS it reports.
        items = buffer.getvalue().count('{"ref": ')
    else:  # "alice: 10013 items scanned": what the scan's pages carried
        found = re.search(r": (\d+) items scanned", buffer.getvalue())
        items = int(found.group(1)) if found else -1
    buffer.close()
    return {
        "exit": code,
        "items": items,
        "wall": wall,
        "requests": dict(Counter(kind_of(r) for r in records) + Counter(map(part_kind, parts))),
        "statuses": dict(Counter(r.status for r in records)),
        "total": len(records),
        "rss_mb": peak_rss_mb(),
        "shared_drive_feeds": Counter(
            r.query["driveId"][0]
            for r in [*records, *parts]
            if r.path == "/drive/v3/changes" and "driveId" in r.query
        ),
    }


def bench(
    n_items: int, latency: float, command: str = "list", shared_drives: int = 0
) -> dict[str, Any]:
    """Seed, bulk-trash, scan twice; every figure the report needs."""
    with tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp:
        os.environ["TRASHSCAN_HOME"] = str(Path(tmp) / "home")  # no lock files in the real one
        from trashscan.cli import run
        from trashscan.sandbox.session import Sandbox

        sandbox = Sandbox(Path(tmp) / "sandbox", only=frozenset({"google-drive"}), latency=latency)
        with sandbox as box:
            if box.broken:
                raise SystemExit(f"sandbox fake failed: {box.broken}")
            fake, server = box.fakes["google-drive"], box.servers["google-drive"]
            start = time.perf_counter()
            fake.trash_bulk(ACCOUNT, n_items)
            for n in range(shared_drives):
                fake.add_shared_drive(f"Club {n:04}", {ACCOUNT: "reader"})
            seed_seconds = time.perf_counter() - start
            state = fake.state
            email = fake.accounts[ACCOUNT].email
            my_drive = sum(
                1
                for f in state.files.values()
                if f.owner == email
                and f.mime_type.split("/")[0] in {"image", "video"}
                and state.is_trashed(f)
            )
            drives = [d for d in state.drives.values() if email in d.members]
            shared = sum(
                1
                for f in state.files.values()
                if f.drive_id in {d.id for d in drives}
                and f.mime_type.split("/")[0] in {"image", "video"}
                and state.is_trashed(f)
            )
            rss_seeded = peak_rss_mb()  # trash_bulk runs in-process: no request so far
            assert not server.request_log
            # Warm-up on bob's 5 items: imports the Google client, opens the index, first TLS
            # handshakes, so that the figures below are alice's scan and not one-off costs.
            warm_up = run_cli(run, box.config_path, fake, server, command, "bob")
            if warm_up["exit"] != 0:
                raise SystemExit("the warm-up list of bob failed")
            rss_warm = peak_rss_mb()
            first = run_cli(run, box.config_path, fake, server, command)
            second = run_cli(run, box.config_path, fake, server, command)
            return {
                "n_items": n_items,
                "command": command,
                "latency": latency,
                "seed_seconds": seed_seconds,
                "my_drive_trashed": my_drive,
                "shared_trashed": shared,
                "shared_drives": {d.id: d.name for d in drives},
                "rss_seeded": rss_seeded,
                "rss_warm": rss_warm,
                "first": first,
                "second": second,
            }


def expectations(result: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(what, expected, measured) for every count the plugin promises; a negative expected
    value -N means "at most N"."""
    first, second = result["first"]["requests"], result["second"]["requests"]
    listing = result["command"] == "list"
    drives = len(result["shared_drives"])
    pages = math.ceil(result["my_drive_trashed"] / PAGE_SIZE)
    checks = [
        (
            f"first: files.list My Drive = ceil({result['my_drive_trashed']}/{PAGE_SIZE})",
            pages,
            first.get("files.list My Drive", 0),
        ),
        (
            f"first: changes.getStartPageToken = 1 user + {drives} shared drives",
            1 + drives,
            first.get("changes.getStartPageToken", 0)
            + first.get("  changes.getStartPageToken (in batches)", 0),
        ),
        (
            f"first: drives.list = ceil({drives} / 100) pages",
            max(1, math.ceil(drives / 100)),
            first.get("drives.list", 0),
        ),
        (
            f"first: files.list shared drives = 1 page x {drives}",
            drives,
            first.get("files.list shared drives", 0),
        ),
        ("first: files.get (folders are read in batches)", 0, first.get("files.get", 0)),
        (
            "first: batches (folder reads, one per folder level of a page), at most 2, + "
            f"the shared drives' start tokens, ceil({drives} / 100) if more than one",
            -(2 + (math.ceil(drives / 100) if drives > 1 else 0)),  # negative: an upper bound
            first.get("batches", 0),
        ),
        ("first: token refresh (stored token still valid)", 0, first.get("token", 0)),
        ("first: other", 0, first.get("other", 0)),
        (
            "first: non-200 answers",
            0,
            sum(v for k, v in result["first"]["statuses"].items() if k != 200),
        ),
        (
            f"re-scan: change logs read = 1 user + {drives} shared drives",
            1 + drives,
            second.get("changes.list", 0) + second.get("  changes.list (in batches)", 0),
        ),
        (
            f"re-scan: round trips = ceil((1 + {drives}) / 100) (the floor; before: {1 + drives})",
            math.ceil((1 + drives) / 100),
            result["second"]["total"],
        ),
        (
            "re-scan: calls besides changes.list",
            0,
            sum(
                v
                for k, v in second.items()
                if k not in ("changes.list", "batches", "  changes.list (in batches)")
            ),
        ),
    ]
    feeds = result["second"]["shared_drive_feeds"]
    checks.append(
        (
            f"re-scan: shared drives whose log was read exactly once (of {drives})",
            drives,
            sum(1 for drive_id in result["shared_drives"] if feeds.get(drive_id, 0) == 1),
        )
    )
    checks += [
        ("first: exit code", 0, result["first"]["exit"]),
        ("re-scan: exit code", 0, result["second"]["exit"]),
        (
            f"first: items {'listed' if listing else 'scanned'} (My Drive + shared drives)",
            result["my_drive_trashed"] + result["shared_trashed"],
            result["first"]["items"],
        ),
        (
            f"re-scan: items {'listed' if listing else 'in its pages (nothing changed)'}",
            result["first"]["items"] if listing else 0,
            result["second"]["items"],
        ),
    ]
    return checks


def report(result: dict[str, Any]) -> bool:
    first, second = result["first"], result["second"]
    print(
        f"Google Drive scan: {result['n_items']} items trashed with trash_bulk "
        f"({result['seed_seconds']:.1f} s) + alice's seeded trash; "
        f"latency {result['latency'] * 1000:g} ms per request"
    )
    names = ", ".join(result["shared_drives"].values())
    print(
        f"alice: {result['my_drive_trashed']} trashed photos/videos in My Drive, "
        f"{result['shared_trashed']} in {len(result['shared_drives'])} shared drives ({names})"
    )
    print()
    print(f"{'requests by kind':<40} {'first scan':>11} {'re-scan':>9}")
    for kind in KINDS:
        print(
            f"{kind:<40} {first['requests'].get(kind, 0):>11} {second['requests'].get(kind, 0):>9}"
        )
    print(f"{'total':<40} {first['total']:>11} {second['total']:>9}")
    label = "items listed" if result["command"] == "list" else "items in the scan's pages"
    print(f"{label:<40} {first['items']:>11} {second['items']:>9}")
    print(f"{'wall time (s)':<40} {first['wall']:>11.2f} {second['wall']:>9.2f}")
    print(f"{'peak RSS after (MiB)':<40} {first['rss_mb']:>11.1f} {second['rss_mb']:>9.1f}")
    print(
        f"{'peak RSS before (MiB)':<40} {result['rss_warm']:>11.1f}   (seeded "
        f"{result['rss_seeded']:.1f}, then a warm-up list of bob)"
    )
    activity = first["requests"].get("activity:query", 0)
    print()
    print(
        f"activity:query: {activity} page(s) to date alice's My Drive deletions (the plugin asks "
        "for pageSize=1000; the API documents no maximum, so a real server may send fewer)"
    )
    print()
    ok = True
    for what, expected, measured in expectations(result):
        good = measured <= -expected if expected < 0 else measured == expected
        ok &= good
        wanted = f"at most {-expected}" if expected < 0 else str(expected)
        print(f"{'ok  ' if good else 'FAIL'} {what}: expected {wanted}, measured {measured}")
    return ok


def child(n_items: int, latency: float, command: str, shared_drives: int) -> dict[str, Any]:
    """The same bench in a fresh process (peak RSS is per process)."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--items",
            str(n_items),
            "--latency-ms",
            str(latency * 1000),
            "--compare",
            "0",
            "--command",
            command,
            "--shared-drives",
            str(shared_drives),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--compare",
        type=int,
        default=1000,
        metavar="N",
        help="also run N items in a fresh process and compare peak RSS (0: skip)",
    )
    parser.add_argument(
        "--command",
        choices=("list", "scan"),
        default="list",
        help="list (the default) prints every row; scan only fills the index, which shows the "
        "scan's own memory",
    )
    parser.add_argument(
        "--shared-drives",
        type=int,
        default=0,
        metavar="K",
        help="make alice a member of K more (empty) shared drives",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    # The other size runs first, while this process is still small: Linux carries a process's
    # peak RSS over fork/exec into the child's ru_maxrss, which would mask the child's own.
    other = None
    if args.compare and args.compare != args.items:
        other = child(args.compare, latency, args.command, args.shared_drives)
    result = bench(args.items, latency, args.command, args.shared_drives)
    if args.json:
        result["first"]["shared_drive_feeds"] = dict(result["first"]["shared_drive_feeds"])
        result["second"]["shared_drive_feeds"] = dict(result["second"]["shared_drive_feeds"])
        print(json.dumps(result))
        return
    ok = report(result)
    if other is not None:
        print()
        print(
            f"{'peak RSS (MiB), own process':<40} {'seeded':>7} {'warm':>7} {'1st scan':>9} "
            f"{'re-scan':>8} {'growth':>7}"
        )
        for run_ in sorted((other, result), key=lambda r: r["n_items"]):
            print(
                f"{run_['n_items']:>8} items{'':<14} {run_['rss_seeded']:>7.1f} "
                f"{run_['rss_warm']:>7.1f} {run_['first']['rss_mb']:>9.1f} "
                f"{run_['second']['rss_mb']:>8.1f} "
                f"{run_['second']['rss_mb'] - run_['rss_warm']:>+7.1f}"
            )
        held = (
            "the pages in flight and the list output (every row of the account, as JSON)"
            if args.command == "list"
            else "the pages in flight (at most 2 x concurrency queued) and the index writes"
        )
        print(
            "growth = peak after both scans - peak after the warm-up: "
            f"{held};\nthe seeded peak holds the fake's own copy of the files (same process)"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
