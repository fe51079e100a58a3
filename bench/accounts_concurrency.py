"""Six accounts of six kinds scanned together: about the time of the slowest one alone.

Usage: python bench/accounts_concurrency.py [--n 1000] [--latency-ms 50]
       (run from the project's venv)

One sandbox with every provider's fake, every response delayed by --latency-ms, and a config of
six accounts, one per kind: local-trash (laptop), google-drive (alice), dropbox (carol), onedrive
personal (erin), onedrive business (frank), icloud (grace). Each gets --n more trashed
photos/videos from its fake's bulk seed (sandbox_kit.seed_trash; OneDrive personal is enrolled
first, as it must be, and that enrolled index is the starting point of every run below). Then,
each time from a copy of that same index (so every run is the same first scan of the same trash):

1. each account alone: ``trashscan scan --account A --no-thumbnails``;
2. all six at once: ``trashscan scan --all-accounts --no-thumbnails`` with ``[scan]
   concurrency`` 6 (one worker per account), 4 (the default) and 1 (one account after the other).

Printed: each run's wall time and requests, the slowest account alone and the sum of all six
alone, and each all-accounts run against them. The target (issue 16): with concurrency 6 the six
take about as long as the slowest alone; with 1 about the sum (the bound works); 4 lies between
(the two extra accounts wait for a free worker). Each CLI run also pays a fixed cost (starting
Python, importing the providers' SDKs, signing in), so at a small --n the all-accounts run is above
the slowest alone by the other providers' imports; the figures to read are at --n 1000 or more.
Requests per provider are printed where they differ between alone and together (they are
deterministic where the times are not: the CLI runs in its own process, the fakes share this one,
on a machine shared with other work).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sandbox_kit import ACCOUNTS, Bench, sandbox, seed_trash  # bench/, the script's folder

PROVIDERS = sorted({provider for _, provider, _ in ACCOUNTS})


def keep_only_six(bench: Bench) -> None:
    """The sandbox config, with only the six accounts of ACCOUNTS."""
    import tomlkit

    document = tomlkit.parse(bench.config.read_text(encoding="utf-8"))
    wanted = {(provider, name) for _, provider, name in ACCOUNTS}
    kept = tomlkit.aot()
    for table in document["accounts"]:
        if (table["provider"], table["name"]) in wanted:
            kept.append(table)
    document["accounts"] = kept
    bench.config.write_text(tomlkit.dumps(document), encoding="utf-8")


def index_path(bench: Bench) -> Path:
    import tomlkit

    url = tomlkit.parse(bench.config.read_text(encoding="utf-8"))["index"]["url"]
    return Path(str(url).removeprefix("sqlite:///"))


def fresh_index(bench: Bench, snapshot: Path, run: str) -> None:
    """Point the config at a new copy of the snapshot index (and its WAL, if any)."""
    target = snapshot.parent / f"index-{run}.db"
    for suffix in ("", "-wal"):
        if Path(f"{snapshot}{suffix}").exists():
            shutil.copyfile(f"{snapshot}{suffix}", f"{target}{suffix}")
    current = index_path(bench)
    bench.replace_config(f"sqlite:///{current}", f"sqlite:///{target}")


def scan(bench: Bench, snapshot: Path, run: str, *args: str) -> dict[str, Any]:
    fresh_index(bench, snapshot, run)
    result = bench.cli("scan", "--no-thumbnails", *args)
    return {
        "wall": result.wall,
        "exit": result.code,
        "requests": {p: result.total(p) for p in PROVIDERS if result.total(p)},
        "lines": result.stdout.strip().splitlines(),
        "stderr": result.stderr.strip().splitlines()[-2:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="more trashed items per account")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    with (
        tempfile.TemporaryDirectory(prefix="trashscan-bench-") as tmp,
        sandbox(Path(tmp), PROVIDERS, latency) as bench,
    ):
        keep_only_six(bench)
        bench.set_latency(0.0)
        for label, _, account in ACCOUNTS:
            seed_trash(bench, label, account, args.n)
        bench.set_latency(latency)
        snapshot = index_path(bench)
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        if not snapshot.exists():  # no enrolment scan ran: an empty index to start from
            bench.cli("accounts", "list")
        print(
            f"accounts_concurrency: {len(ACCOUNTS)} accounts, {args.n} more trashed items "
            f"each, latency {args.latency_ms:g} ms, {os.cpu_count()} cores"
        )
        alone: dict[str, dict[str, Any]] = {}
        for label, _, account in ACCOUNTS:
            alone[label] = scan(bench, snapshot, f"alone-{account}", "--account", account)
            figures = alone[label]
            print(
                f"  alone  {label:<18} {figures['wall']:6.2f} s  "
                f"requests {sum(figures['requests'].values()):>5}  exit {figures['exit']}"
            )
        slowest_label = max(alone, key=lambda label: alone[label]["wall"])
        slowest = alone[slowest_label]["wall"]
        total_alone = sum(figures["wall"] for figures in alone.values())
        print(
            f"  slowest alone: {slowest_label}, {slowest:.2f} s; "
            f"sum of the six alone: {total_alone:.2f} s"
        )
        for concurrency in (6, 4, 1):
            bench.set_scan_concurrency(concurrency)
            together = scan(bench, snapshot, f"all-{concurrency}", "--all-accounts")
            wall = together["wall"]
            requests = sum(together["requests"].values())
            print(
                f"  --all-accounts, [scan] concurrency {concurrency}: {wall:6.2f} s = "
                f"{wall / slowest:.2f}x the slowest alone, {wall / total_alone:.2f}x the sum; "
                f"requests {requests}, exit {together['exit']}"
            )
            alone_by_provider: dict[str, int] = {}
            for figures in alone.values():
                for provider, count in figures["requests"].items():
                    alone_by_provider[provider] = alone_by_provider.get(provider, 0) + count
            if together["requests"] != alone_by_provider:
                print(f"    requests by provider: together {together['requests']}, alone")
                print(f"    {alone_by_provider} (token and sign-in requests are per process)")
            if together["exit"] != 0:
                print(f"    stderr: {' | '.join(together['stderr'])}")


if __name__ == "__main__":
    main()
