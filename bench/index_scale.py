"""How the index scales: ingest, every `list --cached` output and filtered queries at N items.

Usage: python bench/index_scale.py [N ...] [--pg] [--workdir DIR] [--no-rescan] [--keep-index]
                                   [--before SRC]
       (run from the project's venv; N defaults to 10000 100000; 1000000 takes a few minutes
       and about 1.1 GB of disk under --workdir, mostly the outputs, deleted as they are counted)

For each N it builds a freedesktop.org trash of N photos and videos (``.trashinfo`` files as the
specification writes them, the trashed files hard links to a few sparse files, so that a million
items cost a million inodes and no data), in two accounts: ``desk`` (all but N/1000) and
``usb`` (N/1000). Deletion times are spread evenly over the last 1000 days and the accounts
empty after ``purge_after_days = 1000``, so about N/1000 items are due within a day.

Then it runs the real ``trashscan`` CLI, one child process per figure, and measures each one's
wall time and peak RSS (``os.wait4``): the first scan into an empty index (the ingest rate, items
per second) and a re-scan with nothing changed, then ``list --cached`` as jsonl, json, csv, refs
(``-q``) and the default table, and three filtered tables (``--within 1d``, ``--account usb``,
``--name 'IMG_00004*'``). Every output goes to a file, whose records are counted and checked
against what the trash holds.

Each figure is printed next to what it is compared with:

* the floor of a listing is ``sqlite3 index.db "select * from items"`` writing the same table to
  a file (the ``sqlite3`` program; without one, Python's sqlite3 module running the same select
  and writing each row, which is said); with ``--pg``, ``psql -At -c "select * from items"``;
* the floors of the ingest, each alone: reading the trash (every ``.trashinfo`` opened, read
  and closed, every file lstat'ed, by a Python loop doing nothing else) and writing the rows
  (``sqlite3`` copying the scanned table into a new file: one transaction, no index); a scan
  does both, on two cores at best at once. Then a first scan's two halves, each alone: SQLite's
  (``sqlite3`` writing the scanned rows in key order into the table as the index declares it,
  then building its secondary indexes) and the index's (the scan's own commit, pages of 20,000
  ready-made items into an empty index and the indexes built, in one thread; the items are made
  untimed, so its peak memory is the program's, not a scan's);
* the targets of issue 16, at 1,000,000 items on this machine class: jsonl within 5x of the floor
  and under 150 MB peak; the default table (what fits on screens, totals over everything) under
  1 s; a filtered query under 0.5 s; ingest at 50,000 items/s or more. Smaller N are printed
  against the same targets, but at 10,000 items the ratios and rates measure start-up more than
  the work: ``trashscan --help`` alone takes about four times the whole dump (0.13 s / 0.03 s),
  so jsonl shows about x8 there and the scan about 10,000 items/s.

``--pg`` runs the same listings against a throwaway PostgreSQL cluster (tests/pg_cluster.py:
a unix socket only, fsync off, as the tests run it), scanned into by the same CLI.

The trash of each N is kept under --workdir (default: a folder in the system's temporary
directory, removed at the end) and reused when it is already there; with --keep-index, so is the
SQLite index the previous run scanned it into (no scan is timed then).

``--before SRC`` measures every listing twice in a row, first with the trashscan whose sources
are in SRC (a ``src`` folder, given first on ``PYTHONPATH``: ``git archive REV src | tar -x``),
then with this one, each line under the other: a before and after under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DAYS = 1000  # deletions spread over this many days, and purged this many days after
SMALL = "usb"  # the account holding N/1000 items
BIG = "desk"
GLOB = "IMG_00004*"  # IMG_0000400.jpg to IMG_0000499.jpg: 90 photos from N = 500 on
# Hard-link sources: a trashed file's size is one of these (sparse files, no data on disk).
SIZES = (0, 3_500, 2_400_000, 45_000_000)
LINKS = 100_000  # items a group of sources serves (25,000 links to each, under ext4's limit)

# Issue 16's targets (at 1,000,000 items).
JSONL_RATIO = 5.0
JSONL_RSS_MB = 150.0
TABLE_SECONDS = 1.0
FILTER_SECONDS = 0.5
# Not reached, and not reachable on this machine class (2 cores) with the index as it is: a
# first scan's two halves, each printed alone below, cost about 60 us of CPU an item at 1M
# (reading 10 + its Python 20, SQLite 16, the commit's Python 14), and 50,000 items/s on two
# cores leaves 40. See README, Performance.
INGEST_RATE = 50_000.0


@dataclass
class Run:
    label: str
    seconds: float
    cpu: float  # user + system seconds: what the wall time is when the machine is idle
    rss_mb: float
    exit: int
    out: Path
    err: str


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TZ="UTC",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        TRASHSCAN_HOME=str(home / "trashscan"),
    )
    env.pop("TRASHSCAN_CONFIG", None)
    # What a user runs has its bytecode compiled (pip compiles a wheel's; Python caches the rest
    # on first import): a PYTHONDONTWRITEBYTECODE left in the environment would make every child
    # compile trashscan's sources again, ~0.08 s of CPU counted as start-up.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


TIME = "/usr/bin/time"  # GNU time: the child's own peak RSS (see measure)


def measure(label: str, argv: list[str], out: Path, env: dict[str, str]) -> Run:
    """Run ``argv`` with stdout to ``out``: its wall time, CPU time (wait4) and peak RSS.

    A forked child's peak RSS counts the pages of this (bigger) process it ran with until its
    exec, so where GNU time is installed the child is started by it, a small process whose own
    measure of its child (``%M``) is the child's alone."""
    err = out.with_suffix(".err")
    rss_file = out.with_suffix(".rss")
    timed = os.access(TIME, os.X_OK)
    if timed:
        argv = [TIME, "-f", "%M", "-o", str(rss_file), *argv]
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime  # the child's and its children's
    rss_kb = int(rss_file.read_text().split()[-1]) if timed else usage.ru_maxrss
    rss_file.unlink(missing_ok=True)
    return Run(label, seconds, cpu, rss_kb / 1024, child.returncode, out, err.read_text())


def deletion_line(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")  # local time (TZ=UTC in the children)


def build_trash(base: Path, n: int, now: datetime) -> tuple[dict[str, int], datetime]:
    """The two accounts' trashes of ``n`` items in all (reused if complete): the counts per
    account, and the time their deletion dates count back from."""
    small = max(1, n // 1000)
    counts = {BIG: n - small, SMALL: small}
    done = base / "complete"  # N and the time the deletion dates count back from
    marker = done.read_text().split() if done.exists() else []
    if len(marker) == 2 and marker[0] == str(n):
        return counts, datetime.fromisoformat(marker[1])
    shutil.rmtree(base, ignore_errors=True)
    start = time.perf_counter()
    number = 0
    for account, count in counts.items():
        top = base / f"vol-{account}"
        trash = top / f".Trash-{os.getuid()}"
        (trash / "info").mkdir(parents=True)
        (trash / "files").mkdir()
        blobs: dict[tuple[int, int], str] = {}  # ext4 allows 65,000 links to one file
        info, files = str(trash / "info"), str(trash / "files")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        for _ in range(count):
            i = number
            number += 1
            name = f"VID_{i:07d}.mp4" if i % 10 == 9 else f"IMG_{i:07d}.jpg"
            folder = f"Pictures/{2015 + i % 10}/album {i % 500:03d}"
            age = timedelta(days=DAYS * (i + 0.5) / n)
            text = (
                f"[Trash Info]\nPath={quote(f'{folder}/{name}')}\n"
                f"DeletionDate={deletion_line(now - age)}\n"
            )
            fd = os.open(f"{info}/{name}.trashinfo", flags, 0o600)
            os.write(fd, text.encode())
            os.close(fd)
            key = (i // LINKS, i % len(SIZES))
            if key not in blobs:
                blobs[key] = str(top / f"blob-{key[0]}-{key[1]}")
                with open(blobs[key], "wb") as fh:
                    fh.truncate(SIZES[key[1]])
            os.link(blobs[key], f"{files}/{name}")
    done.write_text(f"{n} {now.isoformat()}\n")
    seconds = time.perf_counter() - start
    print(f"  built a trash of {n:,} items in {seconds:.1f} s ({n / seconds:,.0f} items/s)")
    return counts, now


def write_config(path: Path, base: Path, url: str) -> None:
    accounts = ""
    for account in (BIG, SMALL):
        trash = base / f"vol-{account}" / f".Trash-{os.getuid()}"
        accounts += (
            f'\n[[accounts]]\nname = "{account}"\nprovider = "local-trash"\n'
            f'trash_dirs = ["{trash}"]\ninclude_volumes = false\npurge_after_days = {DAYS}\n'
        )
    path.write_text(
        f'[index]\nurl = "{url}"\n\n[scan]\ndeadline = "3h"\n\n'
        f"[thumbnails]\nenabled = false\n{accounts}"
    )


def count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def floor_sqlite(db: Path, out: Path, env: dict[str, str]) -> tuple[Run, str]:
    """``sqlite3 index.db "select * from items"`` to a file, or its Python stand-in."""
    program = shutil.which("sqlite3")
    if program:
        argv = [program, str(db), "select * from items"]
        return measure("floor", argv, out, env), "sqlite3 index.db 'select * from items'"
    code = (
        "import sqlite3, sys\n"
        "w = sys.stdout.write\n"
        f"for row in sqlite3.connect({str(db)!r}).execute('select * from items'):\n"
        "    w('|'.join('' if v is None else str(v) for v in row) + '\\n')\n"
    )
    floor = measure("floor", [sys.executable, "-c", code], out, env)
    return floor, "no sqlite3 program: python's sqlite3 module, same select, rows written"


def floor_pg(cluster: object, out: Path, env: dict[str, str]) -> tuple[Run, str]:
    from pg_cluster import DATABASE, SUPERUSER

    folder = str(cluster.folder)  # type: ignore[attr-defined]
    psql = shutil.which("psql") or str(cluster.bindir / "psql")  # type: ignore[attr-defined]
    argv = [psql, "-h", folder, "-U", SUPERUSER, "-d", DATABASE, "-At", "-c"]
    argv.append("select * from items")
    return measure("floor", argv, out, env), "psql -At -c 'select * from items'"


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def line(label: str, run: Run, figure: str, compare: str) -> None:
    print(
        f"  {label:<26} {run.seconds:7.2f} s {run.cpu:7.2f} s {run.rss_mb:7.1f} MB"
        f"   {figure:<18} {compare}"
    )


# What the least a scan must do costs, each alone: read every entry of the trash (its
# .trashinfo opened, read and closed, its file lstat'ed; a Python loop doing nothing else), and
# write the rows it made (SQLite copying the scanned table into a new file: one transaction,
# sequential pages, no index, no Python).
READ_FLOOR = """
import os, sys
flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
folder = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
items = 0
for trash in sys.argv[1:]:
    info, files = os.open(trash + "/info", folder), os.open(trash + "/files", folder)
    for entry in os.scandir(trash + "/info"):
        fd = os.open(entry.name, flags, dir_fd=info)
        os.read(fd, 65536)
        os.close(fd)
        os.stat(entry.name[: -len(".trashinfo")], dir_fd=files, follow_symlinks=False)
        items += 1
print(items)
"""
WRITE_FLOOR = (
    "PRAGMA journal_mode=WAL; ATTACH '{db}' AS scanned;"
    " CREATE TABLE items AS SELECT * FROM scanned.items;"
)


# SQLite's part of a first scan, alone: the scanned rows written in key order into the items
# table as the index declares it, then its secondary indexes built (what a first scan ends with).
WRITE_INDEXED_FLOOR = (
    "PRAGMA journal_mode=WAL; ATTACH '{db}' AS scanned; BEGIN; {table};"
    " INSERT INTO items SELECT * FROM scanned.items ORDER BY provider, account, item_id;"
    " {indexes}; COMMIT;"
)

# The index's part of a first scan, alone: the scanned rows, made into items again a page at a
# time (untimed), committed by the scan's own code (pages of 20,000 into an empty index, its
# secondary indexes built at the end), in one thread with nothing else running. Prints the wall
# and CPU seconds of that part alone (its peak memory is the program's, items made included).
COMMIT_ALONE = """
import json, sqlite3, sys, time
from datetime import UTC, datetime
from itertools import groupby
from trashscan.index import Index
from trashscan.models import Account, DeletedAtSource, Kind, Page, ScanOutcome, TrashItem
from trashscan.provider import Retention
from trashscan.scanner import complete_item_fields

def when(text):
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)

class Plugin:  # what complete_item_fields asks of a provider
    retention = Retention(default_days=None)

rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT account, item_id, name, path, mime_type, size, deleted_at, purge_at, restorable,"
    " not_restorable_reason, restore_handle, kind, version FROM items"
    " ORDER BY account, item_id"
)
now = datetime.now(UTC)
wall = cpu = 0.0

def timed(work, *args):
    global wall, cpu
    started, used = time.perf_counter(), time.process_time()
    result = work(*args)
    wall, cpu = wall + time.perf_counter() - started, cpu + time.process_time() - used
    return result

def commit(scan, account, page):
    complete_item_fields(Plugin(), Account(account, "local-trash"), page, now)
    index.write_page(scan, "local-trash", account, page, now)

index = timed(Index.open, "sqlite:///" + sys.argv[2])
timed(index.defer_secondary_indexes)
for account, group in groupby(rows, key=lambda row: row[0]):
    scan = timed(index.begin_scan, "local-trash", account, now)
    while True:
        chunk = [row for _, row in zip(range(20_000), group)]
        if not chunk:
            break
        page = Page(items=[TrashItem(
            item_id, name, path, mime, size, when(deleted), DeletedAtSource.API, when(purge),
            True, bool(ok), why, json.loads(handle), Kind(kind), None, None, None, version)
            for (_, item_id, name, path, mime, size, deleted, purge, ok, why, handle, kind,
                 version) in chunk])  # made untimed: the reading's part
        timed(commit, scan, account, page)
    outcome = ScanOutcome(state=None, complete_listing=True)
    timed(index.finish_scan, scan, outcome, now)
timed(index.build_secondary_indexes)
print(f"{wall} {cpu}")
"""


def ingest_floors(n: int, trash: Path, db: Path, run_dir: Path, env: dict[str, str]) -> None:
    """Print what reading the trash and writing its rows cost, each alone (see READ_FLOOR),
    then the two parts of a first scan each alone: SQLite's, and the index's (Python)."""
    trashes = [str(trash / f"vol-{a}" / f".Trash-{os.getuid()}") for a in (BIG, SMALL)]
    out = run_dir / "floor-read.out"
    read = measure("read floor", [sys.executable, "-c", READ_FLOOR, *trashes], out, env)
    how = "each .trashinfo opened, read, closed; each file lstat'ed (python, nothing else)"
    line("  floor: read the trash", read, f"{n / read.seconds:,.0f} items/s", how)
    out.unlink(missing_ok=True)
    copy = run_dir / "floor-write.db"
    argv, tool = sqlite_script(copy, WRITE_FLOOR.format(db=str(db).replace("'", "''")))
    write = measure("write floor", argv, run_dir / "floor-write.out", env)
    how = f"{tool}: the scanned rows copied, no index"
    line("  floor: write the rows", write, f"{n / write.seconds:,.0f} items/s", how)
    (run_dir / "floor-write.out").unlink(missing_ok=True)
    remove_database(copy)
    query = "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'items' AND sql IS NOT NULL"
    with contextlib.closing(sqlite3.connect(db)) as scanned:
        schema = dict(scanned.execute(query))
    indexes = "; ".join(sql for name, sql in schema.items() if name != "items")
    sql = WRITE_INDEXED_FLOOR.format(
        db=str(db).replace("'", "''"), table=schema["items"], indexes=indexes
    )
    argv, tool = sqlite_script(copy, sql)
    indexed = measure("sqlite half", argv, run_dir / "floor-write.out", env)
    how = f"{tool}: rows in key order, then the indexes"
    line("  SQLite's part alone", indexed, f"{n / indexed.seconds:,.0f} items/s", how)
    (run_dir / "floor-write.out").unlink(missing_ok=True)
    remove_database(copy)
    out = run_dir / "commit-alone.out"
    alone = measure("commit alone", [sys.executable, "-c", COMMIT_ALONE, str(db), str(copy)],
                    out, env)  # fmt: skip
    if alone.exit == 0:
        seconds, cpu = (float(x) for x in out.read_text().split())
        timed = Run(alone.label, seconds, cpu, alone.rss_mb, 0, out, "")
        line("  the index's part alone", timed, f"{n / seconds:,.0f} items/s",
             "the scan's commit of ready items, one thread, timed inside")  # fmt: skip
    else:
        print(f"  !! the index's part alone: exit {alone.exit} {alone.err.strip()[-300:]}")
    out.unlink(missing_ok=True)
    remove_database(copy)


def sqlite_script(database: Path, sql: str) -> tuple[list[str], str]:
    """The command running ``sql`` on ``database`` (the ``sqlite3`` program, else Python's
    sqlite3 module), and which of the two it is."""
    program = shutil.which("sqlite3")
    if program:
        return [program, str(database), sql], "sqlite3"
    code = f"import sqlite3; sqlite3.connect({str(database)!r}).executescript({sql!r})"
    return [sys.executable, "-c", code], "python's sqlite3"


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def bench_one(
    n: int,
    base: Path,
    pg: object | None,
    rescan: bool,
    keep: bool = False,
    before: Path | None = None,
) -> bool:
    """Build, scan and list ``n`` items; print the figures; False when an output is wrong."""
    now = datetime.now(UTC)
    backend = "postgresql" if pg is not None else "sqlite"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nN = {n:,} ({backend}); load average {load} (wall = cpu only on an idle machine)")
    counts, now = build_trash(base / "trash", n, now)
    run_dir = base / f"run-{backend}"
    kept = keep and pg is None and (run_dir / "scanned").exists()
    if not kept:
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
    env = child_env(run_dir / "home")
    old_env = None
    if before is not None:
        old_env = {**env, "PYTHONPATH": os.pathsep.join([str(before), env.get("PYTHONPATH", "")])}
    db = run_dir / "index.db"
    url = pg.empty_database() if pg is not None else f"sqlite:///{db}"  # type: ignore[attr-defined]
    config = run_dir / "config.toml"
    write_config(config, base / "trash", url)
    cli = [sys.executable, "-m", "trashscan", "--config", str(config)]
    good = True

    def out(name: str) -> Path:
        return run_dir / f"{name}.out"

    def check(run: Run, expected: int, extra: int = 0) -> None:
        nonlocal good
        got = count_lines(run.out) - extra
        if run.exit != 0 or got != expected:
            good = False
            why = run.err.strip().splitlines()[-1:] if run.exit else []
            print(f"  !! {run.label}: exit {run.exit}, {got:,} records, expected {expected:,}"
                  f" {' '.join(why)}")  # fmt: skip
        run.out.unlink(missing_ok=True)

    print(f"  {'':<26} {'wall':>9} {'cpu':>9} {'peak RSS':>10}   {'figure':<18} compared with")
    startup = measure("startup", [*cli, "--help"], out("startup"), env)
    line("start-up: trashscan --help", startup, "", "what every command below pays first")
    startup.out.unlink(missing_ok=True)
    if kept:
        print("  (the index the previous run scanned, kept: --keep-index; no scan timed)")
    else:
        scan = measure("scan", [*cli, "scan", "--no-thumbnails"], out("scan"), env)
        rate = n / scan.seconds
        line(
            "scan, empty index", scan, f"{rate:,.0f} items/s",
            f"target >= {INGEST_RATE:,.0f} items/s: {verdict(rate >= INGEST_RATE)}"
            f" (of CPU: {n / max(scan.cpu, 1e-3):,.0f} items/s)",
        )  # fmt: skip
        check(scan, 2)  # one line per account
        if scan.exit == 0:
            (run_dir / "scanned").write_text(f"{n}\n")
            if pg is None:
                ingest_floors(n, base / "trash", db, run_dir, env)
    if rescan and not kept:
        again = measure("rescan", [*cli, "scan", "--no-thumbnails"], out("rescan"), env)
        rate = n / again.seconds
        line(
            "scan again, no change", again, f"{rate:,.0f} items/s",
            f"target >= {INGEST_RATE:,.0f} items/s: {verdict(rate >= INGEST_RATE)}",
        )  # fmt: skip
        check(again, 2)
    if pg is not None:
        floor, how = floor_pg(pg, out("floor"), env)
    else:
        floor, how = floor_sqlite(db, out("floor"), env)
    line("floor: dump the table", floor, f"{n / floor.seconds:,.0f} rows/s", how)
    check(floor, n)
    ratio_of = floor.seconds
    listings = [
        ("list --format jsonl", ["--format", "jsonl"], n, 0),
        ("list --format json", ["--format", "json"], n, 2),  # "[" and "]" lines
        ("list --format csv", ["--format", "csv"], n, 1),  # the header
        ("list -q (refs)", ["-q"], n, 0),
    ]

    def earlier(label: str, args: list[str], name: str, expected: int, extra: int = 0) -> None:
        """With --before: the same listing by the earlier trashscan, its line first."""
        if old_env is None:
            return
        run = measure(label, [*cli, "list", "--cached", *args], out(name), old_env)
        ratio = run.seconds / ratio_of
        line(f"  before: {label}", run, f"cpu {run.cpu / max(floor.cpu, 1e-3):.1f}x floor's",
             f"floor x{ratio:.1f}")  # fmt: skip
        check(run, expected, extra)

    for label, args, expected, extra in listings:
        earlier(label, args, "list", expected, extra)
        run = measure(label, [*cli, "list", "--cached", *args], out("list"), env)
        ratio = run.seconds / ratio_of
        compare = f"floor x{ratio:.1f} (cpu x{run.cpu / max(floor.cpu, 1e-3):.1f})"
        if "jsonl" in label:
            ok = ratio <= JSONL_RATIO and run.rss_mb < JSONL_RSS_MB
            compare += f" (target <= x{JSONL_RATIO:.0f}, < {JSONL_RSS_MB:.0f} MB: {verdict(ok)})"
        line(label, run, f"{n / run.seconds:,.0f} items/s", compare)
        check(run, expected, extra)
    if old_env is not None:
        old = measure("list (table)", [*cli, "list", "--cached"], out("table"), old_env)
        line("  before: the table", old, f"{count_lines(old.out):,} lines", "")
        good &= old.exit == 0
        old.out.unlink(missing_ok=True)
    table = measure("list (table)", [*cli, "list", "--cached"], out("table"), env)
    shown = count_lines(table.out)
    ok = table.seconds < TABLE_SECONDS
    line(
        "list (the default table)", table, f"{shown:,} lines",
        f"target < {TABLE_SECONDS:.0f} s: {verdict(ok)}",
    )  # fmt: skip
    good &= table.exit == 0
    table.out.unlink(missing_ok=True)
    small = counts[SMALL]
    soon = datetime.now(UTC) + timedelta(days=1)  # what --within 1d means a moment from now
    due = sum(
        1
        for i in range(n)
        if (now - timedelta(days=DAYS * (i + 0.5) / n)).replace(microsecond=0)
        + timedelta(days=DAYS)
        <= soon
    )
    glob = sum(1 for i in range(n) if i % 10 != 9 and f"IMG_{i:07d}.jpg".startswith("IMG_00004"))
    filters = [
        ("--within 1d", ["--within", "1d"], due),
        ("--account usb", ["--account", SMALL], small),
        (f"--name '{GLOB}'", ["--name", GLOB], glob),
    ]
    for label, args, expected in filters:
        if old_env is not None:
            old = measure(label, [*cli, "list", "--cached", *args], out("filter"), old_env)
            line(f"  before: {label}", old, "", "")
            good &= old.exit == 0
            old.out.unlink(missing_ok=True)
        run = measure(label, [*cli, "list", "--cached", *args], out("filter"), env)
        ok = run.seconds < FILTER_SECONDS
        rows = f"{expected:,} items"
        line(f"list {label}", run, rows, f"target < {FILTER_SECONDS} s: {verdict(ok)}")
        good &= run.exit == 0
        jsonl = measure(label, [*cli, "list", "--cached", *args, "--format", "jsonl"],
                        out("filter"), env)  # fmt: skip
        check(jsonl, expected)
    return good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--pg", action="store_true", help="also list from a PostgreSQL index")
    parser.add_argument("--workdir", type=Path, help="keep the trashes here (reused)")
    parser.add_argument("--no-rescan", action="store_true", help="skip the second scan")
    parser.add_argument("--pg-only", action="store_true", help="with --pg: PostgreSQL alone")
    parser.add_argument(
        "--keep-index", action="store_true", help="reuse the SQLite index a previous run scanned"
    )
    parser.add_argument(
        "--before", type=Path, metavar="SRC", help="also list with the trashscan in SRC, first"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]};"
          f" sqlite {sqlite3.sqlite_version}")  # fmt: skip
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="index-scale-")))
        else:
            work = args.workdir.resolve()
            work.mkdir(parents=True, exist_ok=True)
        cluster = None
        if args.pg:
            sys.path.insert(0, str(ROOT / "tests"))
            from pg_cluster import start_cluster

            cluster = start_cluster()
            stack.callback(cluster.stop)
        good = True
        for n in args.sizes:
            base = work / f"n{n}"
            if not (args.pg and args.pg_only):
                before = args.before.resolve() if args.before else None
                good &= bench_one(n, base, None, not args.no_rescan, args.keep_index, before)
            if cluster is not None:
                good &= bench_one(n, base, cluster, not args.no_rescan)
    if not good:
        print("\nsome output was wrong (see !! lines)")
        sys.exit(1)


if __name__ == "__main__":
    main()
