"""Random SIGKILLs during OneDrive scans: does any deletion get lost?

Usage: python bench/onedrive_kill_trial.py [--files 5000] [--enrol-kills 4] [--enrol-estimate 0.5]
       [--rounds 20]
       [--deletions 25] [--big-every 5] [--big 700] [--restores 2] [--latency-ms 5] [--seed 1]
       (run from the project's venv)

Starts the sandbox's OneDrive fake in this process and runs the real CLI, `trashscan scan
--account erin`, in subprocesses that it SIGKILLs at random moments:

1. ``bulk_personal`` adds --files files to erin (personal: her deletions are found only through
   trashscan's private mirror and the delta feed). --enrol-kills scans are killed during the
   enrolment, then one finishes it (its body timed).
2. --deletions, then --big photos are deleted, each followed by a clean delta scan whose body
   (the scan row's start to finish) is that size's kill window.
3. --rounds rounds: delete --deletions random photos/videos (every --big-every rounds, --big of
   them, so the report spans several pages of 500), restore --restores earlier deletions in the
   fake (as if on the web), start a scan and, once its row is in the index (lock taken, scan
   begun), SIGKILL it after a delay drawn uniformly from that size's window (--enrol-estimate for
   the enrolment). Every other round a clean scan follows (and updates the window); otherwise the
   next round's scan starts where the killed one died. A scan that ended first is counted apart.
4. A final, unkilled scan; then `list` must show exactly the deletions not restored: "lost" are
   deletions missing from it, "false" are listed items that are not deleted. Scan rows left
   `running` by the killed processes must all have been closed as `interrupted`.

Exit status 1 if anything was lost or falsely listed. With --pythonpath DIR[:DIR] the scans run
another checkout's code (e.g. an older commit's src:providers), for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

DELTA_PAGE_ROWS = 500  # the mirror's report chunk (trashscan_onedrive.mirror.CHUNK)


class Trial:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        from trashscan.index import Index
        from trashscan.sandbox.session import Sandbox

        self.args = args
        self.rng = random.Random(args.seed)
        self.home = tmp / "home"
        os.environ["TRASHSCAN_HOME"] = str(self.home)
        self.env = {**os.environ, "TRASHSCAN_HOME": str(self.home)}
        if args.pythonpath:
            self.env["PYTHONPATH"] = args.pythonpath
        self.sandbox = Sandbox(
            tmp / "sandbox", only=frozenset({"onedrive"}), latency=args.latency_ms / 1000
        )
        self.box = self.sandbox.__enter__()
        if self.box.broken or self.box.config_path is None:
            raise SystemExit(f"sandbox fake failed: {self.box.broken}")
        self.fake = self.box.fakes["onedrive"]
        Index.open(f"sqlite:///{self.box.workdir / 'index.db'}").close()  # the schema, up front
        self.drive = self.fake.graph.drives["erin"]
        self.deleted: set[str] = set()  # every photo/video ever deleted
        self.trashed: set[str] = set()  # those deleted now (a restored one may be deleted again)
        self.restores = 0
        self.kills: Counter[str] = Counter()
        self.longest = 0.0
        self.log: list[str] = []

    def close(self) -> None:
        self.sandbox.__exit__(None, None, None)

    # ------------------------------------------------------------------ running scans

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "trashscan", "--config", str(self.box.config_path), *args]

    def clean_scan(self) -> float:
        """One unkilled scan; returns its body time (the scan row's start to finish)."""
        done = subprocess.run(
            self._command("scan", "--account", "erin"),
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"a clean scan failed ({done.returncode}): {done.stderr.strip()}")
        return self._last_body()

    def _last_body(self) -> float:
        started, finished = self._db(
            "SELECT started, finished FROM scans WHERE account = 'erin' ORDER BY id DESC LIMIT 1"
        )[0]
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()

    def killed_scan(self, phase: str, window: float) -> float:
        """A scan SIGKILLed at a uniform random time in ``window`` seconds after its row appeared
        (lock taken, scan begun); returns the window for the next kill of this kind (widened if
        this scan ended first)."""
        last = self._db("SELECT COALESCE(MAX(id), 0) FROM scans")[0][0]
        proc = subprocess.Popen(
            self._command("scan", "--account", "erin"),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while proc.poll() is None and not self._db("SELECT id FROM scans WHERE id > ?", (last,)):
            time.sleep(0.002)
        delay = self.rng.uniform(0, window)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.kills[phase] += 1
            status = self._db("SELECT status FROM scans WHERE id > ? ORDER BY id", (last,))
            if status and status[0][0] != "running":  # too late: its last commit was done
                self.kills[phase + " (after its final commit)"] += 1
            self.log.append(f"{phase}: killed {delay:.3f} s into the scan (window {window:.3f})")
            return window
        self.kills[phase + " (ended first)"] += 1
        self.log.append(f"{phase}: ended before its kill at {delay:.3f} s")
        return max(window, self._last_body())

    def _db(self, sql: str, params: tuple = ()) -> list[tuple]:
        db = sqlite3.connect(self.box.workdir / "index.db", timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    # ------------------------------------------------------------------ changing the drive

    def delete(self, n: int) -> None:
        gone = set(self.fake.delete_random("erin", n, seed=self.rng.randrange(1 << 30)))
        self.deleted |= gone
        self.trashed |= gone

    def restore(self, n: int) -> None:
        for item_id in self.rng.sample(sorted(self.trashed), min(n, len(self.trashed))):
            item = self.drive.items[item_id]
            parent = self.drive.items.get(item.parent_id or "")
            if parent is None or not parent.live or self.drive.child(parent, item.name):
                continue
            self.drive.restore(item, self.fake.clock())
            self.trashed.discard(item_id)
            self.restores += 1

    # ------------------------------------------------------------------ the trial

    def run(self) -> dict[str, Any]:
        a = self.args
        self.fake.bulk_personal("erin", a.files, seed=a.seed)
        window = a.enrol_estimate
        for _ in range(a.enrol_kills):
            window = self.killed_scan("enrolment", window)
        enrol_time = self.clean_scan()
        # kill windows: a clean scan's body for each size of round, measured once, then kept
        # up to date by the clean scans that follow every other kill
        windows = {}
        for size in {a.deletions, a.big}:
            self.delete(size)
            windows[size] = self.clean_scan()
        for round_ in range(1, a.rounds + 1):
            size = a.big if a.big_every and round_ % a.big_every == 0 else a.deletions
            self.delete(size)
            self.restore(a.restores)
            windows[size] = self.killed_scan("delta", windows[size])
            if round_ % 2 == 0:  # else the next round's scan starts where this one died
                windows[size] = max(windows[size], self.clean_scan())
        self.clean_scan()
        listed = self.listed()
        expected = self.trashed
        rows = self.scan_rows()
        return {
            "enrol_time": enrol_time,
            "windows": windows,
            "kills": dict(self.kills),
            "deleted": len(self.deleted),
            "restored": self.restores,
            "expected": len(expected),
            "listed": len(listed),
            "lost": sorted(expected - listed),
            "false": sorted(listed - expected),
            "rows": dict(Counter(status for status in rows)),
            "log": self.log,
        }

    def listed(self) -> set[str]:
        done = subprocess.run(
            self._command("list", "--cached", "--account", "erin", "--format", "json"),
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"list failed: {done.stderr.strip()}")
        return {item["item_id"] for item in json.loads(done.stdout or "[]")}

    def scan_rows(self) -> list[str]:
        return [r[0] for r in self._db("SELECT status FROM scans WHERE account = 'erin'")]


def report(r: dict[str, Any], args: argparse.Namespace) -> bool:
    kills = r["kills"]
    real = kills.get("enrolment", 0) + kills.get("delta", 0)
    late = sum(n for k, n in kills.items() if k.endswith("(after its final commit)"))
    print(
        f"OneDrive kill trial: erin with {args.files} bulk files, latency {args.latency_ms:g} ms, "
        f"seed {args.seed}"
    )
    windows = ", ".join(f"{n} deletions {t:.3f} s" for n, t in sorted(r["windows"].items()))
    print(
        f"  first clean scan after the enrolment kills {r['enrol_time']:.2f} s; delta kill windows:"
        f" {windows}"
    )
    print(
        f"  SIGKILLs: {real} ({kills.get('enrolment', 0)} during enrolment, "
        f"{kills.get('delta', 0)} during delta scans), of which "
        f"{late} after the scan's final commit (in its exit); scans that ended before their "
        f"kill: {kills.get('enrolment (ended first)', 0) + kills.get('delta (ended first)', 0)}"
    )
    print(
        f"  deleted {r['deleted']} photos/videos, {r['restored']} restores on the 'web'; "
        f"{r['expected']} in the trash at the end, {r['listed']} listed"
    )
    print(f"  lost (deleted, not listed): {len(r['lost'])}")
    print(f"  false (listed, not deleted): {len(r['false'])}")
    print(f"  scan rows by status: {r['rows']}")
    ok = not r["lost"] and not r["false"] and "running" not in r["rows"]
    print("OK" if ok else "FAIL")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--enrol-kills", type=int, default=4)
    parser.add_argument("--enrol-estimate", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--deletions", type=int, default=25)
    parser.add_argument("--big-every", type=int, default=5)
    parser.add_argument("--big", type=int, default=700)
    parser.add_argument("--restores", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pythonpath", default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trashscan-kill-") as tmp:
        trial = Trial(args, Path(tmp))
        try:
            result = trial.run()
        finally:
            trial.close()
    if args.verbose:
        print("\n".join(result["log"]))
    sys.exit(0 if report(result, args) else 1)


if __name__ == "__main__":
    main()
