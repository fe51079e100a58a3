"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a unix socket only.

The index must work on PostgreSQL as well as SQLite, and tests that run only when someone points
a variable at a server prove nothing where it matters. So wherever PostgreSQL's server programs
are installed (Debian keeps them off PATH, in /usr/lib/postgresql/N/bin), the tests start a
cluster of their own: no TCP port (so parallel runs never collide), trust authentication on a
socket in a 0700 folder, durability off (a test database need not survive a crash), and each test
starts from an empty database. As root, the server runs as the unprivileged ``postgres`` user, since
PostgreSQL refuses to run as root. The server dies with the process that started it, even when
that one is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL_VAR = "TRASHSCAN_TEST_PG_URL"  # an existing scratch database to use instead
BINDIR_VAR = "TRASHSCAN_TEST_PG_BINDIR"  # the server programs to use, when not found alone
REQUIRE_VAR = "TRASHSCAN_REQUIRE_PG"  # "1": no PostgreSQL is a test failure, not a skip (CI)
SUPERUSER = "postgres"
DATABASE = "trashscan_test"
_STARTUP_LIMIT = 60.0  # seconds; a healthy cluster starts in well under one
_SETTINGS = {
    "listen_addresses": "",  # the socket alone
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "16MB",
    # Not UTC, and not a whole hour off it: SQL that mixes zoned and naive times shows up.
    "timezone": "America/St_Johns",
}


class ClusterUnavailable(Exception):
    """Why no cluster could be started here (the message becomes the skip reason)."""


def server_bindir() -> Path | None:
    """The folder of ``initdb`` and ``postgres``: as set, else PATH, else Debian's folders."""
    if os.environ.get(BINDIR_VAR):
        chosen = Path(os.environ[BINDIR_VAR])
        return chosen if (chosen / "initdb").is_file() else None
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not versions:
        return None
    newest = max(versions, key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
    return Path(newest).parent


# Looked up here: the child of a fork may call a function but should not load a library.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGQUIT (immediate shutdown) if the test process dies first."""
    _PRCTL(1, signal.SIGQUIT)  # type: ignore[misc]  # 1 = PR_SET_PDEATHSIG


class Cluster:
    """One running server; :meth:`empty_database` gives each test an empty database."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="trashscan-pg-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._as: dict[str, object] = {}
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                self.stop()
                raise ClusterUnavailable(
                    f"running as root and there is no {SUPERUSER!r} user to run PostgreSQL as"
                ) from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}"

    def start(self) -> Cluster:
        data = self.folder / "data"
        initdb = [str(self.bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust"]
        initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(initdb, cwd=self.folder, capture_output=True, check=False, **self._as)
        if done.returncode != 0:
            raise ClusterUnavailable(f"initdb failed: {_last_line(done.stderr)}")
        server = [str(self.bindir / "postgres"), "-D", str(data), "-k", str(self.folder)]
        for name, value in _SETTINGS.items():
            server += ["-c", f"{name}={value}"]
        log = self.folder / "server.log"
        with open(log, "wb") as out:
            self._process = subprocess.Popen(
                server, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if _PRCTL else None, **self._as,
            )  # fmt: skip
        self._wait_ready(log)
        with self._connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        return self

    def _wait_ready(self, log: Path) -> None:
        import psycopg

        deadline = time.monotonic() + _STARTUP_LIMIT
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ClusterUnavailable(f"postgres exited: {_last_line(log.read_bytes())}")
            try:
                self._connect("postgres").close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise ClusterUnavailable(
                        f"postgres did not start in {_STARTUP_LIMIT:.0f} s"
                    ) from None
                time.sleep(0.05)

    def empty_database(self) -> str:
        """The URL of the test database, emptied: a new ``public`` schema, as initdb makes it.

        Much faster than a new database per test (10 ms, not 300); the lock timeout turns a
        connection some earlier test left inside a transaction into an error instead of a hang.
        """
        with self._connect(DATABASE) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return self.url(DATABASE)

    def _connect(self, database: str):  # -> psycopg.Connection
        import psycopg

        folder, user = str(self.folder), SUPERUSER
        return psycopg.connect(host=folder, user=user, dbname=database, autocommit=True)

    def stop(self) -> None:
        """Fast shutdown (SIGINT ends open sessions), then the folder goes, data and socket."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """A running cluster, or ClusterUnavailable saying why there cannot be one here."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ClusterUnavailable("psycopg is not installed (pip install -e '.[test]')") from None
    bindir = server_bindir()
    if bindir is None:
        raise ClusterUnavailable(
            f"no PostgreSQL server programs (initdb) in ${BINDIR_VAR}, on PATH or in"
            " /usr/lib/postgresql/*/bin"
        )
    cluster = Cluster(bindir)
    try:
        return cluster.start()
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.stop()
        raise


def _last_line(output: bytes) -> str:
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
