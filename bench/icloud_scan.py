"""How a big iCloud Recently Deleted scans: requests by kind, wall time and peak memory.

Usage: python bench/icloud_scan.py [--photos 5000] [--latency-ms 50]   (from the project's venv)

Starts the sandbox's iCloud fake alone (every response delayed by --latency-ms), adds --photos
deleted photos/videos to the seeded account grace with ``ICloudFake.bulk_deleted`` (on top of
her 25 deleted assets and 3 photos/videos in iCloud Drive's trash), then runs the real
``trashscan list --account grace --format json`` in-process twice: a first scan (no session
files: a password sign-in) and a second one with the cached session. For each it prints the wall
time, the requests the fake received by kind, and the process's peak RSS, and checks the request
counts against what the plugin and pyicloud promise (exit status 1 if one is off).

Recently Deleted is read the way pyicloud's own album iterator reads it, one ``records/query``
per page of ``CPLAssetAndMasterDeletedByExpungedDate`` with ``startRank`` = the assets read so
far. pyicloud's album ``page_size`` is 100 (capped there, ``BasePhotoAlbum.page_size``) and a
page asks ``resultsLimit = 2 x page_size`` = 200 records, since every photo is a CPLAsset plus
its CPLMaster (CloudKit answers at most 200 records a request, so 100 assets is also the most a
page can hold). The plugin stops at the first page that holds fewer records than asked and no
``continuationMarker`` (CloudKit returns fewer only when no more match), or fewer than 50 assets
(pyicloud's own rule). So for M deleted assets, M = 100 q + r: q full pages, then the page at
startRank 100 q with r assets, the last: q + 1 pages (a last page of exactly 100 cannot tell it
is the last: the next, empty, page does). For M = 5025 (5000 + the 25 seeded): 51 pages. The
album's size is never asked (``len()`` would cost a count query, as much as that empty page).
pyicloud's rule alone read one more, empty, page after a last page of 50 to 99 assets too.

The other requests are fixed per scan:

* sign-in: first scan ``authorize/signin``, ``signin/init``, ``signin/complete`` (SRP; grace's
  browser counts as trusted earlier, so no 2FA) and ``accountLogin``: 4; no ``validate``, there
  is no cookie to validate yet. Second scan: one ``validate`` and nothing else;
* web access: one ``requestWebAccessState``, the account's state, shared by Photos and Drive
  (pyicloud alone asks it again for each service it opens);
* CloudKit, not pages: ``CheckIndexingState`` (pyicloud's Photos refuses a library still
  indexing): 1. Not the album list (``CPLAlbumByPositionLive``, and one query per folder): the
  plugin builds the Recently Deleted smart album without it;
* Drive: one ``retrieveItemDetailsInFolders`` of ``TRASH_ROOT`` (pyicloud does not page it): 1.

These are the floor of a scan that uses pyicloud's requests; the bench prints each scan's count
next to it (before this revision: one more web-access state, the album list, and the empty page
after a last page of 50 to 99 assets).

The request log keeps only method, path and status, and every CloudKit query shares one path,
so the bench stands a tap in for the server's fault injector (which sees each request's body) to
tell Recently Deleted pages from the other queries. Client and fake share one process (and its
GIL), so the measured time also holds both sides' CPU work, printed as the process CPU time; the
requests go one after the other, so their latency alone is requests x latency.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ACCOUNT = "grace"
PAGE_SIZE = 100  # pyicloud BasePhotoAlbum.page_size (capped at 100); resultsLimit is twice it
RECENTLY_DELETED = "CPLAssetAndMasterDeletedByExpungedDate"
CK_QUERY = "/ck/database/1/com.apple.photos.cloud/production/private/records/query"
KINDS = (
    "sign-in",
    "validate",
    "web access state",
    "CloudKit: Recently Deleted pages",
    "CloudKit: other queries",
    "Drive",
    "other",
)


class QueryTap:
    """Stands in for the server's fault injector, which sees each request's body, and records
    each CloudKit query's ``recordType`` in the order received; every request goes on to the
    real injector."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.record_types: list[str | None] = []

    def match(self, request: Any) -> Any:
        if request.path == CK_QUERY:
            try:
                query = json.loads(request.body).get("query") or {}
            except (ValueError, AttributeError):
                query = {}
            self.record_types.append(query.get("recordType"))
        return self.inner.match(request) if self.inner is not None else None

    def pending(self) -> int:
        return self.inner.pending() if self.inner is not None else 0


def kind_of(path: str) -> str:
    if path.startswith("/idmsa/") or path == "/setup/ws/1/accountLogin":
        return "sign-in"
    if path == "/setup/ws/1/validate":
        return "validate"
    if path == "/setup/ws/1/requestWebAccessState":
        return "web access state"
    if path.startswith("/drivews/"):
        return "Drive"
    return "other"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def expected_pages(assets: int) -> int:
    """Recently Deleted pages read for ``assets`` deleted assets (see the module docstring)."""
    return assets // PAGE_SIZE + 1


def run_list(run: Any, config: Path, server: Any, tap: QueryTap) -> dict[str, Any]:
    """One `trashscan list --account grace --format json`: its figures."""
    mark, queries = len(server.request_log), len(tap.record_types)
    buffer = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with redirect_stdout(buffer):
        code = run(["--config", str(config), "list", "--account", ACCOUNT, "--format", "json"])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    records = server.request_log[mark:]
    record_types = iter(tap.record_types[queries:])
    kinds: Counter[str] = Counter()
    for record in records:
        if record.path == CK_QUERY:
            page = next(record_types, None) == RECENTLY_DELETED
            kinds["CloudKit: Recently Deleted pages" if page else "CloudKit: other queries"] += 1
        else:
            kinds[kind_of(record.path)] += 1
    items = json.loads(buffer.getvalue() or "[]")
    return {
        "exit": code,
        "items": len(items),
        "photos": sum(1 for i in items if i["item_id"].startswith("photo:")),
        "drive": sum(1 for i in items if i["item_id"].startswith("drive:")),
        "wall": wall,
        "cpu": cpu,
        "requests": dict(kinds),
        "statuses": dict(Counter(r.status for r in records)),
        "total": len(records),
        "rss_mb": peak_rss_mb(),
    }


def bench(n_photos: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp:
        os.environ["TRASHSCAN_HOME"] = str(Path(tmp) / "home")  # pyicloud's files, locks
        from trashscan.cli import run
        from trashscan.sandbox.session import Sandbox

        sandbox = Sandbox(Path(tmp) / "sandbox", only=frozenset({"icloud"}), latency=latency)
        with sandbox as box:
            if box.broken:
                raise SystemExit(f"sandbox fake failed: {box.broken}")
            if box.config_path is None:
                raise SystemExit("the sandbox wrote no config")
            fake, server = box.fakes["icloud"], box.servers["icloud"]
            seeded = len(fake.deleted_assets(ACCOUNT))
            start = time.perf_counter()
            fake.bulk_deleted(ACCOUNT, n_photos)
            seed_seconds = time.perf_counter() - start
            deleted = len(fake.deleted_assets(ACCOUNT))
            drive_media = sum(
                1
                for item in fake.drive_trash(ACCOUNT)
                if (item.extension or "").lower() in {"jpg", "heic", "mov"}
            )
            rss_seeded = peak_rss_mb()
            if server.request_log:
                raise SystemExit("the fake was called before the scan")
            tap = QueryTap(server.faults)
            server.faults = tap
            first = run_list(run, box.config_path, server, tap)
            second = run_list(run, box.config_path, server, tap)
            return {
                "n_photos": n_photos,
                "seeded": seeded,
                "deleted": deleted,
                "drive_media": drive_media,
                "latency": latency,
                "seed_seconds": seed_seconds,
                "rss_seeded": rss_seeded,
                "refused": len(fake.refused_calls) + len(fake.unmodelled_calls),
                "first": first,
                "second": second,
            }


def expected_requests(result: dict[str, Any], cached: bool) -> dict[str, int]:
    return {
        "sign-in": 0 if cached else 4,
        "validate": 1 if cached else 0,
        "web access state": 1,
        "CloudKit: Recently Deleted pages": expected_pages(result["deleted"]),
        "CloudKit: other queries": 1,
        "Drive": 1,
        "other": 0,
    }


def expectations(result: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(what, expected, measured) for every count the plugin promises."""
    checks: list[tuple[str, int, int]] = []
    for label, run, cached in (
        ("first", result["first"], False),
        ("cached", result["second"], True),
    ):
        expected = expected_requests(result, cached)
        for kind in KINDS:
            checks.append((f"{label}: {kind}", expected[kind], run["requests"].get(kind, 0)))
        checks.append((f"{label}: total requests = floor", sum(expected.values()), run["total"]))
        non_200 = sum(v for k, v in run["statuses"].items() if k != 200)
        checks.append((f"{label}: non-200 answers", 0, non_200))
        checks.append((f"{label}: exit code", 0, run["exit"]))
        checks.append((f"{label}: photos/videos listed", result["deleted"], run["photos"]))
        checks.append((f"{label}: Drive items listed", result["drive_media"], run["drive"]))
    checks.append(("refused or unmodelled calls", 0, result["refused"]))
    return checks


def report(result: dict[str, Any]) -> bool:
    first, second = result["first"], result["second"]
    latency, deleted = result["latency"], result["deleted"]
    pages = expected_pages(deleted)
    print(
        f"iCloud scan of {ACCOUNT}: {result['n_photos']} deleted photos/videos added with "
        f"bulk_deleted ({result['seed_seconds']:.1f} s) to the {result['seeded']} seeded: "
        f"{deleted} in Recently Deleted, {result['drive_media']} in iCloud Drive's trash; "
        f"latency {latency * 1000:g} ms per request"
    )
    print(
        f"Recently Deleted: page size {PAGE_SIZE} assets (resultsLimit {2 * PAGE_SIZE} records: "
        f"CPLAsset + CPLMaster); ceil({deleted} / {PAGE_SIZE}) = "
        f"{math.ceil(deleted / PAGE_SIZE)}, pages read {pages} (a last page short of "
        f"resultsLimit ends the listing; a full one is followed by one more, empty, page)"
    )
    print()
    print(f"{'requests by kind':<34} {'first scan':>11} {'cached':>9}")
    for kind in KINDS:
        print(
            f"{kind:<34} {first['requests'].get(kind, 0):>11} {second['requests'].get(kind, 0):>9}"
        )
    print(f"{'total':<34} {first['total']:>11} {second['total']:>9}")
    print(f"{'items listed':<34} {first['items']:>11} {second['items']:>9}")
    print(f"{'wall time (s)':<34} {first['wall']:>11.2f} {second['wall']:>9.2f}")
    print(f"{'process CPU time (s)':<34} {first['cpu']:>11.2f} {second['cpu']:>9.2f}")
    print(f"{'peak RSS after (MiB)':<34} {first['rss_mb']:>11.1f} {second['rss_mb']:>9.1f}")
    print(f"{'peak RSS after seeding (MiB)':<34} {result['rss_seeded']:>11.1f}")
    print()
    for label, run, cached in (("first scan", first, False), ("cached", second, True)):
        fewest = sum(expected_requests(result, cached).values())
        print(
            f"{label}: {run['total']} requests; floor {fewest} "
            f"({run['total'] / fewest:.2f}x the floor)"
        )
    for label, run in (("first scan", first), ("cached", second)):
        floor = run["total"] * latency
        print(
            f"{label}: {run['total']} requests one after the other x {latency * 1000:g} ms = "
            f"{floor:.2f} s of latency; measured {run['wall']:.2f} s "
            f"(the rest: {run['wall'] - floor:.2f} s, both sides' work in one process)"
        )
    print()
    ok = True
    for what, expected, measured in expectations(result):
        good = measured == expected
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {what}: expected {expected}, measured {measured}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    result = bench(args.photos, args.latency_ms / 1000)
    sys.exit(0 if report(result) else 1)


if __name__ == "__main__":
    main()
