"""A mass restore per provider: items/s and round trips, next to each provider's floor.

Usage: python bench/restore_scale.py [--n 10000] [--latency-ms 50] [--provider LABEL ...]
       (run from the project's venv; LABEL: local-trash, google-drive, dropbox,
       "onedrive personal", "onedrive business", icloud)

For each provider, in a sandbox of its own: N more trashed photos/videos are put in one seeded
account with the fake's bulk seed (see sandbox_kit.seed_trash), the account is scanned with no
latency (the scan is not what is measured here), then, with every fake response delayed by
--latency-ms, the real CLI restores every trashed photo/video of the account:

    trashscan list -q --cached --account A | trashscan restore - --yes --format jsonl

(N plus the few the sandbox seeded, some of which are meant not to come back: a taken name, a
purged revision, ...). Printed: the outcomes, the wall time of the restore command (plan
included), items/s, the CPU time of the CLI and of the fakes meanwhile (the fakes run in this
process, on the same cores: a fake's own cost shows there, not in the CLI's), the round trips the
fake received (by route), and the floor:

* floor round trips, what the provider's API makes necessary (issue 16):
  - google-drive: ceil(N / 100): ``files.update`` batched 100 calls per HTTP batch;
  - onedrive business: ceil(N / 20): the site recycle bin's ``restore`` takes a list of ids; no
    maximum is documented, and 20 a call is what CLI for Microsoft 365 sends
    (``RestoreByIds``), which the plugin follows;
  - dropbox: N: ``files/restore`` restores one file, and Dropbox documents no batch restore
    (its ``*_batch`` routes are copy, move, delete, create_folder and upload session finish);
    concurrent writes to one account answer ``too_many_write_operations``, so one at a time;
  - icloud: N: one ``records/modify`` of one record a request, the shape captured from the web
    client's delete (nothing captured or documented shows a restore of several at once);
  - onedrive personal (not named by the issue): N: ``driveItem: restore`` is one item a call;
  - local-trash: 0: the filesystem; its floor is measured here as the time to rename N small
    files and unlink N ``.trashinfo`` files in a scratch folder of the same filesystem.
* floor time = floor round trips x latency, one after the other (local-trash: the measured
  filesystem time); floor items/s = N / floor time.

Round trips are deterministic; times are noisy on a shared machine, so both are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sandbox_kit import ACCOUNTS, rate, sandbox, seed_trash  # bench/, the script's folder

CHILDREN = resource.RUSAGE_CHILDREN
LABELS = [label for label, _, _ in ACCOUNTS]
# The request that writes, per provider (what the floor counts); reads may overlap them.
WRITES = {
    "google-drive": "/batch/",
    "dropbox": "/2/files/restore",
    "onedrive personal": "/restore",
    "onedrive business": "/recycleBin/items/restore",
    "icloud": "/records/modify",
}


def route(record: Any) -> str:
    """A request's method and path with ids folded, e.g. ``POST /2/files/restore``."""
    path = re.sub(r"/[^/]*\d[^/]*", "/{id}", record.path)
    path = re.sub(r":/.*", ":/{path}", path)
    return f"{record.method} {path}"


def cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def floor_round_trips(label: str, n: int) -> int:
    if label == "google-drive":
        return math.ceil(n / 100)
    if label == "onedrive business":
        return math.ceil(n / 20)
    if label == "local-trash":
        return 0
    return n  # dropbox, icloud, onedrive personal: one write a request, one at a time


def filesystem_floor(workdir: Path, n: int) -> float:
    """Seconds to rename n small files and unlink n small info files on workdir's filesystem."""
    scratch = workdir / "fs-floor"
    (scratch / "trash").mkdir(parents=True)
    (scratch / "back").mkdir()
    for index in range(n):
        (scratch / "trash" / f"{index}.jpg").write_bytes(b"x" * 32)
        (scratch / "trash" / f"{index}.info").write_bytes(b"x" * 32)
    start = time.perf_counter()
    for index in range(n):
        os.rename(scratch / "trash" / f"{index}.jpg", scratch / "back" / f"{index}.jpg")
        os.unlink(scratch / "trash" / f"{index}.info")
    return time.perf_counter() - start


def bench_one(label: str, provider: str, account: str, n: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp:
        with sandbox(Path(tmp), [provider], 0.0) as box:
            start = time.perf_counter()
            seed_trash(box, label, account, n)
            seeded = time.perf_counter() - start
            scan = box.cli("scan", "--account", account, "--no-thumbnails")
            refs = box.cli("list", "-q", "--cached", "--account", account).stdout
            planned = len(refs.split())
            box.set_latency(latency)
            before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(CHILDREN)
            run = box.cli("restore", "-", "--yes", "--format", "jsonl", stdin=refs, check=False)
            after_cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(CHILDREN)
            box.set_latency(0.0)
            after = box.cli("list", "-q", "--cached", "--account", account).stdout
            fs_floor = filesystem_floor(Path(tmp), planned) if label == "local-trash" else None
        outcomes = Counter(json.loads(line)["outcome"] for line in run.stdout.splitlines() if line)
        records = run.requests.get(provider, [])
        return {
            "label": label,
            "account": account,
            "n": n,
            "latency": latency,
            "seed_s": seeded,
            "scan_s": scan.wall,
            "planned": planned,
            "left": len(after.split()),
            "exit": run.code,
            "stderr_tail": run.stderr.strip().splitlines()[-3:],
            "outcomes": dict(outcomes),
            "wall": run.wall,
            # CPU seconds of the CLI (the child) and of the fakes (this process) meanwhile
            "cli_cpu": cpu(after_cpu[1]) - cpu(before[1]),
            "fake_cpu": cpu(after_cpu[0]) - cpu(before[0]),
            "round_trips": len(records),
            "writes": sum(
                1
                for r in records
                if label in WRITES and r.method == "POST" and WRITES[label] in r.path
            ),
            "routes": dict(Counter(route(r) for r in records).most_common()),
            "floor_round_trips": floor_round_trips(label, planned),
            "fs_floor_s": fs_floor,
        }


def report(result: dict[str, Any]) -> None:
    planned, wall, latency = result["planned"], result["wall"], result["latency"]
    floor_trips = result["floor_round_trips"]
    floor_s = result["fs_floor_s"] if result["fs_floor_s"] is not None else floor_trips * latency
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items()))
    print(
        f"== {result['label']} ({result['account']}): {planned} items planned "
        f"({result['n']} bulk + seeded), latency {latency * 1000:g} ms; "
        f"seeded in {result['seed_s']:.1f} s, scanned in {result['scan_s']:.1f} s"
    )
    print(f"   outcomes: {outcomes}; exit {result['exit']}; left in the trash: {result['left']}")
    print(
        f"   restore: {wall:.1f} s, {rate(planned, wall)}; round trips {result['round_trips']} "
        f"({result['round_trips'] / max(planned, 1):.2f} per item)"
    )
    print(
        f"   CPU meanwhile: the CLI {result['cli_cpu']:.1f} s, the sandbox's fakes (the bench's "
        f"own process, on the same cores) {result['fake_cpu']:.1f} s; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    if result["fs_floor_s"] is not None:
        print(
            f"   floor: the filesystem, {planned} renames + unlinks in {floor_s:.2f} s "
            f"({rate(planned, floor_s)}): restore at {wall / max(floor_s, 1e-9):.0f}x that"
        )
    else:
        print(
            f"   floor: {floor_trips} round trips x {latency * 1000:g} ms = {floor_s:.1f} s "
            f"({rate(planned, floor_s)}); measured "
            f"{result['round_trips'] / max(floor_trips, 1):.2f}x the floor's round trips, "
            f"{wall / max(floor_s, 1e-9):.2f}x its time"
        )
    if result["label"] in WRITES:
        print(
            f"   writes (the requests the floor counts; reads may run alongside them): "
            f"{result['writes']}, floor {floor_trips}"
        )
    for name, count in list(result["routes"].items())[:8]:
        print(f"     {count:>7}  {name}")
    if result["exit"] not in (0, 1):
        print(f"   stderr: {' | '.join(result['stderr_tail'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="bulk items per provider")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--provider", action="append", choices=LABELS, help="repeatable")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    chosen = args.provider or LABELS
    print(f"restore_scale: N={args.n}, latency {args.latency_ms:g} ms, {os.cpu_count()} cores")
    results = []
    for label, provider, account in ACCOUNTS:
        if label in chosen:
            result = bench_one(label, provider, account, args.n, args.latency_ms / 1000)
            report(result)
            results.append(result)
            sys.stdout.flush()
    if args.json:
        print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
