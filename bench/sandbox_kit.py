"""What the sandbox benches share: a sandbox with latency, bulk trash per provider, the real CLI.

The scan benches (dropbox_scan.py, google_drive_scan.py, ...) each grew their own copy of these
steps; the restore and many-accounts benches (restore_scale.py, accounts_concurrency.py) use this
module instead. The CLI runs as a separate process (``python -m trashscan``), as a user runs it:
its own interpreter and GIL, so what it costs is not mixed with the fakes' work, which runs in
the bench's process. Requests are counted from the fakes' request logs (deterministic, unlike
the times).

Run from the project's venv; ``bench/`` is the script's folder, so ``import sandbox_kit`` works.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# One account per kind of provider the sandbox serves: (label, provider, account name).
ACCOUNTS = (
    ("local-trash", "local-trash", "laptop"),
    ("google-drive", "google-drive", "alice"),
    ("dropbox", "dropbox", "carol"),
    ("onedrive personal", "onedrive", "erin"),
    ("onedrive business", "onedrive", "frank"),
    ("icloud", "icloud", "grace"),
)


@dataclass
class Run:
    """One CLI run: exit code, output, wall time, and the requests each fake got meanwhile."""

    code: int
    stdout: str
    stderr: str
    wall: float
    requests: dict[str, list[Any]]  # provider -> its fake's request records during the run

    def total(self, provider: str | None = None) -> int:
        if provider is not None:
            return len(self.requests.get(provider, ()))
        return sum(len(records) for records in self.requests.values())


class Bench:
    """A running sandbox (only the providers asked for), its config and a home of its own."""

    def __init__(self, box: Any, home: Path) -> None:
        self.box = box
        self.home = home

    @property
    def config(self) -> Path:
        assert self.box.config_path is not None
        return self.box.config_path

    def fake(self, provider: str) -> Any:
        return self.box.fakes[provider]

    def set_latency(self, seconds: float) -> None:
        """Latency of every fake from now on (the server reads it per request)."""
        for server in self.box.servers.values():
            server.latency = seconds

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> Run:
        """``trashscan --config CONFIG ARGS`` in a child process."""
        marks = {name: len(server.request_log) for name, server in self.box.servers.items()}
        env = {**os.environ, "TRASHSCAN_HOME": str(self.home), "COLUMNS": "200"}
        command = [sys.executable, "-m", "trashscan", "--config", str(self.config), *args]
        start = time.perf_counter()
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=env, check=False
        )
        wall = time.perf_counter() - start
        requests = {
            name: server.request_log[marks[name] :] for name, server in self.box.servers.items()
        }
        if check and done.returncode not in (0, 1):
            raise SystemExit(
                f"trashscan {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
            )
        return Run(done.returncode, done.stdout, done.stderr, wall, requests)

    def replace_config(self, old: str, new: str) -> None:
        text = self.config.read_text(encoding="utf-8")
        self.config.write_text(text.replace(old, new), encoding="utf-8")

    def set_scan_concurrency(self, concurrency: int) -> None:
        """``[scan] concurrency`` of the config (the sandbox writes none: the default 4)."""
        lines = self.config.read_text(encoding="utf-8").splitlines()
        start = next((n for n, line in enumerate(lines) if line.strip() == "[scan]"), None)
        if start is not None:  # drop the table written before
            end = start + 1
            while end < len(lines) and not lines[end].startswith("["):
                end += 1
            del lines[start:end]
        first = next(n for n, line in enumerate(lines) if line.startswith("["))
        lines[first:first] = ["[scan]", f"concurrency = {concurrency}", ""]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def sandbox(workdir: Path, providers: Sequence[str], latency: float) -> Iterator[Bench]:
    """The sandbox with only ``providers``' fakes, every response delayed by ``latency``."""
    os.environ["TRASHSCAN_HOME"] = str(workdir / "home")  # never the user's own lock files
    from trashscan.sandbox.session import Sandbox

    with Sandbox(workdir / "sandbox", only=frozenset(providers), latency=latency) as box:
        if box.broken:
            raise SystemExit(f"sandbox fake failed: {box.broken}")
        yield Bench(box, workdir / "home")


def dropbox_entries(n_deleted: int) -> int:
    """The smallest ``DropboxFake.bulk`` entry count that holds ``n_deleted`` deleted files
    (the bulk adds a root folder and one folder per 1,001 entries)."""
    entries = n_deleted + 2
    while entries - 1 - math.ceil(entries / 1001) < n_deleted:
        entries += 1
    return entries


def seed_trash(bench: Bench, label: str, account: str, n: int) -> None:
    """Put ``n`` more trashed photos/videos in ``account``, the fastest way each fake allows.

    OneDrive personal lists only what was deleted after its enrolment scan, so its files are
    added live, the account is scanned once (at no latency), then ``n`` of them are deleted.
    """
    if n <= 0:
        return
    if label == "local-trash":
        trash = next(
            Path(table["trash_dirs"][0])
            for table in bench.box.accounts
            if table["name"] == account and table["provider"] == "local-trash"
        )
        bench.fake("local-trash").bulk(trash, n)
    elif label == "google-drive":
        bench.fake("google-drive").trash_bulk(account, n)
    elif label == "dropbox":
        bench.fake("dropbox").bulk(account, dropbox_entries(n), n)
    elif label == "onedrive business":
        # 10% of bulk_recycle_bin's entries are documents, which trashscan lists as "other"
        bench.fake("onedrive").bulk_recycle_bin(account, math.ceil(n / 0.9) + 1)
    elif label == "onedrive personal":
        fake = bench.fake("onedrive")
        fake.bulk_personal(account, math.ceil(n / 0.9) + 50)
        latency = bench.box.latency
        bench.set_latency(0.0)
        bench.cli("scan", "--account", account, "--no-thumbnails")  # the enrolment scan
        bench.set_latency(latency)
        fake.delete_random(account, n)
    elif label == "icloud":
        bench.fake("icloud").bulk_deleted(account, n)
    else:
        raise ValueError(f"unknown provider label {label!r}")


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"
