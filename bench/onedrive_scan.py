"""How big OneDrive accounts scan: requests by kind, wall time and peak memory.

Usage: python bench/onedrive_scan.py [--files 20000] [--deletions 100] [--bin 5000]
       [--latency-ms 50]   (run from the project's venv)

Starts the sandbox's OneDrive fake alone (every response delayed by --latency-ms) and runs the
real CLI in-process against its two seeded accounts:

* personal (erin): ``bulk_personal`` adds --files live files (80% photos, 10% videos, 10%
  documents, 200 per folder), then ``trashscan scan --account erin`` enrols her: one full delta
  enumeration (``GET /me/drive/root/delta``, ``$top=1000``, the largest page OneDrive serves)
  into the local mirror. Expected: ceil(L / 1000) delta pages, L being every live item of the
  drive (files, folders and the root: a full enumeration lists them all). Then
  ``delete_random`` deletes --deletions photos/videos and ``trashscan list --account erin
  --format json`` follows the stored delta link: ceil(C / 1000) pages, C being the changed items
  the fake reports (the deleted ones plus their live ancestors, which Graph adds unless
  ``deltaExcludeParent`` is sent), read from the fake, and one ``GET /me/drive?$select=quota``
  (with photos deleted in the last 30 days: the recycle bin's share of the storage, for the 10%
  rule). The deleted photos/videos must be listed, exactly, each dated by the enrolment scan
  (source "changes").
* personal (erin), resync: ``expire_delta_tokens`` voids her delta link, and ``trashscan scan
  --account erin`` gets 410 with a ``Location`` (the bare delta URL, as Graph's observed one
  carries none of the request's options) and reads the whole drive again from it, with
  ``$select`` and ``$top=1000`` re-applied: 1 + ceil(L / 1000) requests, the floor (without the
  options again it took 1 + ceil(L / 200), the service's default page), and the quota read (the
  re-scan's deletions are in the bin).
* business (frank): ``bulk_recycle_bin`` adds --bin recycle-bin entries (80% photos, 10% videos,
  10% documents), then ``trashscan list --account frank --format json`` lists the whole site
  recycle bin: ceil(B / 1000) pages, B being every entry of the bin (the seeded ones too) and
  1000 the ``$top`` the plugin asks (the largest page Graph serves of a drive listing; the
  bin's own limit is undocumented, and the fake caps ``$top`` there too; without ``$top`` the
  fake serves 200 per page, as before: ceil(B / 200)), plus one ``GET /me/drive`` (frank's
  first scan: it finds his OneDrive site). Every photo/video entry must be listed, exactly.

Each step's floor (the fewest requests its listing can take) is printed beside its count.

Fixed extras per run: one ``GET .../.well-known/openid-configuration`` (msal reads the
authority's OpenID configuration when the plugin builds its app, once per account per run) and
no token request (the seeded sign-in's access token is still valid).

Requests go one after the other (delta and recycle-bin pages are chained by their links), so a
run's floor is its requests x the latency; both are printed next to the measured wall time.
Client and fake share one process (and its GIL): the wall and CPU times hold both sides' work,
and the peak RSS (the process's high-water mark, read after each step) includes the fake's own
model of the drive. The exit status is 1 if a request count or a listing is off.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path, PurePosixPath
from typing import Any

STEPS = {"enrol": "enrolment", "rescan": "re-scan", "resync": "resync", "business": "business"}
KINDS = ("delta", "recycle-bin", "drive", "token", "openid-config", "other")
OPENID = "/common/v2.0/.well-known/openid-configuration"
TOKEN = "/common/oauth2/v2.0/token"
DELTA = "/v1.0/me/drive/root/delta"
DRIVE = "/v1.0/me/drive"
BIN = re.compile(r"^/beta/sites/[^/]+/recycleBin/items$")


def kind_of(record: Any) -> str:
    path = record.path
    if path == DELTA:
        return "delta"
    if BIN.match(path):
        return "recycle-bin"
    if path == DRIVE:
        return "drive"
    if path == TOKEN:
        return "token"
    if path == OPENID:
        return "openid-config"
    return "other"


def is_media(name: str) -> bool:
    """A photo or video by the plugin's default extensions (what it lists without options)."""
    from trashscan_onedrive.options import DEFAULT_EXTENSIONS

    return PurePosixPath(name).suffix.lower() in DEFAULT_EXTENSIONS


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_cli(run: Any, config: Path, server: Any, *args: str) -> dict[str, Any]:
    """One `trashscan ARGS` in-process: its figures and its stdout."""
    mark = len(server.request_log)
    buffer = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with redirect_stdout(buffer):
        code = run(["--config", str(config), *args])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    records = server.request_log[mark:]
    return {
        "args": " ".join(args),
        "exit": code,
        "stdout": buffer.getvalue(),
        "wall": wall,
        "cpu": cpu,
        "requests": dict(Counter(kind_of(r) for r in records)),
        "statuses": dict(Counter(r.status for r in records)),
        "total": len(records),
        "rss_mb": peak_rss_mb(),
    }


def listed(result: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        items = json.loads(result["stdout"] or "[]")
    except ValueError:
        return []
    return items if isinstance(items, list) else []


def bench(n_files: int, n_deletions: int, n_bin: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp:
        os.environ["TRASHSCAN_HOME"] = str(Path(tmp) / "home")  # no mirror in the real one
        from trashscan.cli import run
        from trashscan.sandbox.session import Sandbox
        from trashscan_onedrive.business import BIN_TOP
        from trashscan_onedrive.mirror import MIRROR_FILE
        from trashscan_onedrive.personal import DELTA_TOP
        from trashscan_onedrive.sandbox.graph import MAX_TOP

        sandbox = Sandbox(Path(tmp) / "sandbox", only=frozenset({"onedrive"}), latency=latency)
        with sandbox as box:
            if box.broken:
                raise SystemExit(f"sandbox fake failed: {box.broken}")
            if box.config_path is None:
                raise SystemExit("the sandbox wrote no config")
            config = box.config_path
            fake, server = box.fakes["onedrive"], box.servers["onedrive"]
            erin, frank = fake.graph.drives["erin"], fake.graph.drives["frank"]
            delta_page = min(DELTA_TOP, MAX_TOP)

            # -- personal: enrolment --------------------------------------------------------
            start = time.perf_counter()
            fake.bulk_personal("erin", n_files)
            seed_personal = time.perf_counter() - start
            live = len(erin.walk())
            live_media = sum(1 for i in erin.walk() if not i.folder and is_media(i.name))
            rss_seeded = peak_rss_mb()
            enrol = run_cli(run, config, server, "scan", "--account", "erin")
            state = box_state(config, "erin")
            mirror = Path(tmp) / "home" / "accounts" / "onedrive" / "erin" / MIRROR_FILE
            mirror_bytes = mirror.stat().st_size if mirror.exists() else 0

            # -- personal: deletions, then a delta re-scan ----------------------------------
            seq_before = erin.seq
            deleted = fake.delete_random("erin", n_deletions)
            changed = len(fake.graph._changes(erin, seq_before, False))
            rescan = run_cli(run, config, server, "list", "--account", "erin", "--format", "json")
            erin_items = listed(rescan)
            listed_ids = {i["item_id"] for i in erin_items}
            deleted_media = [i for i in deleted if is_media(erin.items[i].name)]
            wrong_dates = [
                i["item_id"]
                for i in erin_items
                if i["deleted_at_source"] != "changes" or i["deleted_at"] != state["scanned_at"]
            ]

            # -- personal: a 410 resync -----------------------------------------------------
            fake.expire_delta_tokens("erin")
            live_after = len(erin.walk())
            resync = run_cli(run, config, server, "scan", "--account", "erin")

            # -- business: a big recycle bin ------------------------------------------------
            start = time.perf_counter()
            fake.bulk_recycle_bin("frank", n_bin)
            seed_business = time.perf_counter() - start
            entries = frank.bin_entries(fake.clock(), second_stage=fake.graph.list_second_stage)
            media_entries = {e.id for e in entries if not e.folder and is_media(e.name)}
            business = run_cli(
                run, config, server, "list", "--account", "frank", "--format", "json"
            )
            bin_page = min(BIN_TOP, MAX_TOP)
            frank_ids = {i["item_id"] for i in listed(business)}

            return {
                "n_files": n_files,
                "n_deletions": n_deletions,
                "n_bin": n_bin,
                "latency": latency,
                "seed_personal": seed_personal,
                "seed_business": seed_business,
                "live": live,
                "live_media": live_media,
                "delta_page": delta_page,
                "changed": changed,
                "bin_entries": len(entries),
                "bin_page": bin_page,
                "live_after": live_after,
                "resync": resync,
                "media_entries": len(media_entries),
                "rss_seeded": rss_seeded,
                "mirror_bytes": mirror_bytes,
                "enrol": enrol,
                "rescan": rescan,
                "business": business,
                "deleted": len(deleted),
                "deleted_media": len(deleted_media),
                "missing": sorted(set(deleted) - listed_ids),
                "extra": sorted(listed_ids - set(deleted)),
                "wrong_dates": wrong_dates,
                "frank_missing": sorted(media_entries - frank_ids),
                "frank_extra": sorted(frank_ids - media_entries),
                "frank_listed": len(frank_ids),
            }


def box_state(config: Path, account: str) -> dict[str, Any]:
    from trashscan.config import load_config
    from trashscan.index import Index

    index = Index.open(load_config(config).index_url)
    try:
        state = index.scan_state("onedrive", account)
    finally:
        index.close()
    if not isinstance(state, dict):
        raise SystemExit(f"no scan state for {account} after its scan")
    return state


def expected_requests(r: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Requests by kind each step should make (see the module docstring)."""
    none = dict.fromkeys(KINDS, 0)
    return {
        "enrol": {**none, "delta": math.ceil(r["live"] / r["delta_page"]), "openid-config": 1},
        "rescan": {
            **none,
            "delta": max(1, math.ceil(r["changed"] / r["delta_page"])),
            "drive": 1,
            "openid-config": 1,
        },
        "resync": {
            **none,
            "delta": 1 + math.ceil(r["live_after"] / r["delta_page"]),
            "drive": 1,
            "openid-config": 1,
        },
        "business": {
            **none,
            "recycle-bin": max(1, math.ceil(r["bin_entries"] / r["bin_page"])),
            "drive": 1,
            "openid-config": 1,
        },
    }


def expectations(r: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(what, expected, measured) for every count the plugin promises."""
    why = {
        ("enrol", "delta"): f"ceil({r['live']} live items / {r['delta_page']})",
        ("rescan", "delta"): f"ceil({r['changed']} changed items / {r['delta_page']})",
        ("resync", "delta"): f"1 (the 410) + ceil({r['live_after']} live items / "
        f"{r['delta_page']})",
        ("business", "recycle-bin"): f"ceil({r['bin_entries']} entries / {r['bin_page']})",
        ("rescan", "drive"): "the quota (recently deleted photos)",
        ("business", "drive"): "finding the site on a first scan",
    }
    checks: list[tuple[str, int, int]] = []
    for step, expected in expected_requests(r).items():
        for kind in KINDS:
            label = f"{STEPS[step]}: {kind}"
            if (step, kind) in why:
                label += f" = {why[step, kind]}"
            checks.append((label, expected[kind], r[step]["requests"].get(kind, 0)))
        non_200 = sum(v for k, v in r[step]["statuses"].items() if k != 200)
        refused = 1 if step == "resync" else 0  # the 410 that asks for the resync
        checks.append((f"{STEPS[step]}: non-200 answers", refused, non_200))
        checks.append((f"{STEPS[step]}: exit code", 0, r[step]["exit"]))
    checks += [
        ("re-scan: photos/videos among the deletions", r["deleted"], r["deleted_media"]),
        ("re-scan: deletions listed", r["deleted"], r["deleted"] - len(r["missing"])),
        ("re-scan: listed but not deleted", 0, len(r["extra"])),
        ("re-scan: not dated by the enrolment scan (changes)", 0, len(r["wrong_dates"])),
        ("business: photos/videos listed", r["media_entries"], r["frank_listed"]),
        ("business: media entries not listed", 0, len(r["frank_missing"])),
        ("business: listed but not media entries", 0, len(r["frank_extra"])),
    ]
    return checks


def report(r: dict[str, Any]) -> bool:
    latency = r["latency"]
    steps = tuple(STEPS.items())
    print(
        f"OneDrive scans, latency {latency * 1000:g} ms per request. personal (erin): "
        f"{r['n_files']} files added with bulk_personal ({r['seed_personal']:.1f} s), "
        f"{r['live']} live items ({r['live_media']} photos/videos), then {r['deleted']} deleted; "
        f"business (frank): {r['n_bin']} recycle-bin entries added ({r['seed_business']:.1f} s), "
        f"{r['bin_entries']} in the bin ({r['media_entries']} photos/videos)"
    )
    print(
        f"  enrolment: `trashscan {r['enrol']['args']}`; re-scan: `trashscan "
        f"{r['rescan']['args']}`; business: `trashscan {r['business']['args']}`"
    )
    print()
    print(f"{'requests by kind':<30}" + "".join(f"{label:>12}" for _, label in steps))
    for kind in KINDS:
        print(f"{kind:<30}" + "".join(f"{r[s]['requests'].get(kind, 0):>12}" for s, _ in steps))
    print(f"{'total':<30}" + "".join(f"{r[s]['total']:>12}" for s, _ in steps))
    scanned = re.search(r"^erin: (\d+) items scanned", r["enrol"]["stdout"], re.M)
    rescanned = re.search(r"^erin: (\d+) items scanned", r["resync"]["stdout"], re.M)
    items = {
        "enrol": int(scanned.group(1)) if scanned else -1,
        "rescan": len(listed(r["rescan"])),
        "resync": int(rescanned.group(1)) if rescanned else -1,
        "business": r["frank_listed"],
    }
    print(f"{'items listed':<30}" + "".join(f"{items[s]:>12}" for s, _ in steps))
    print(f"{'wall time (s)':<30}" + "".join(f"{r[s]['wall']:>12.2f}" for s, _ in steps))
    floor = {s: sum(n.values()) for s, n in expected_requests(r).items()}
    print(f"{'floor: fewest requests':<30}" + "".join(f"{floor[s]:>12}" for s, _ in steps))
    print(
        f"{'requests / floor':<30}"
        + "".join(f"{r[s]['total'] / floor[s]:>12.2f}" for s, _ in steps)
    )
    print(
        f"{'requests x latency (s)':<30}"
        + "".join(f"{r[s]['total'] * latency:>12.2f}" for s, _ in steps)
    )
    print(f"{'process CPU time (s)':<30}" + "".join(f"{r[s]['cpu']:>12.2f}" for s, _ in steps))
    print(f"{'peak RSS after (MiB)':<30}" + "".join(f"{r[s]['rss_mb']:>12.1f}" for s, _ in steps))
    print(f"{'peak RSS after seeding erin':<30}{r['rss_seeded']:>12.1f}")
    print(f"{'mirror.sqlite after enrolment':<30}{r['mirror_bytes'] / 1024:>10.0f} KiB")
    print()
    ok = True
    for what, expected, measured in expectations(r):
        good = measured == expected
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {what}: expected {expected}, measured {measured}")
    for label, ids in (
        ("deleted but not listed", r["missing"]),
        ("listed but not deleted", r["extra"]),
        ("business entries not listed", r["frank_missing"]),
        ("business listed, not media", r["frank_extra"]),
    ):
        if ids:
            print(f"{label}: {', '.join(ids[:10])}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--deletions", type=int, default=100)
    parser.add_argument("--bin", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    result = bench(args.files, args.deletions, args.bin, args.latency_ms / 1000)
    sys.exit(0 if report(result) else 1)


if __name__ == "__main__":
    main()
