"""Concurrent calls that meet an expired access token refresh it once, against the sandbox fake.

The scan reads ``list_revisions`` on a pool. When the token expires under it, every call in
flight is refused with 401 ``expired_access_token`` at once, and the SDK lets each of them refresh.
One refresh is enough: the others wait for it and retry with its token.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from dropbox import files

from trashscan.config import load_config
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.sandbox.session import Sandbox
from trashscan.secrets import open_secret_store
from trashscan.testing import RequestLog
from trashscan_dropbox.client import DropboxSession
from trashscan_dropbox.options import Settings

THREADS = 7
TOKEN = "/oauth2/token"
REVISIONS = "/2/files/list_revisions"


def test_seven_calls_refused_with_an_expired_token_refresh_it_once(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"dropbox"})) as box:
        assert box.config_path is not None and box.broken == {}
        fake, server = box.fakes["dropbox"], box.servers["dropbox"]
        config = load_config(box.config_path)
        account = config.account("carol")
        sleeps: list[float] = []
        context = ProviderContext(
            secrets=open_secret_store(config.secrets, tmp_path / "data"),
            retry=RetryPolicy(sleep=sleeps.append),
            clock=lambda: datetime.now(UTC),
            data_dir=tmp_path / "data",
        )
        session = DropboxSession(context, account, Settings.from_account(account))
        paths = fake.manifest["carol"].media_tombstones[:THREADS]
        assert len(paths) == THREADS
        log = RequestLog(server)
        try:
            session.read(session.client.users_get_current_account, "get_current_account")
            assert fake.expire_tokens("carol") >= 1
            # Hold the next seven requests at the server until all seven have arrived, so each
            # of them is refused with the expired token before any refresh can happen.
            barrier = threading.Barrier(THREADS, timeout=20)
            held = itertools.count()
            server.sleep = lambda _: barrier.wait() if next(held) < THREADS else None
            server.latency = 1e-6
            log.mark()

            def revisions(path: str) -> files.ListRevisionsResult:
                return session.read(
                    lambda: session.client.files_list_revisions(
                        path, mode=files.ListRevisionsMode.path, limit=1
                    ),
                    "files/list_revisions",
                )

            with ThreadPoolExecutor(THREADS) as pool:
                results = list(pool.map(revisions, paths))
        finally:
            session.close()

        assert all(result.entries for result in results)
        assert Counter(log.calls()) == {
            ("POST", REVISIONS, 401): THREADS,  # each refused once, all in flight at once
            ("POST", TOKEN, 200): 1,  # one refresh; the others waited for it
            ("POST", REVISIONS, 200): THREADS,  # then each call again, with the new token
        }
        assert sleeps == []
