"""Concurrent Graph calls that meet an expired access token refresh it once, against the fake.

A personal restore looks items up on a pool of threads. When the token expires under it, every
call in flight is refused with 401 at once, and each would ask the token endpoint for a new one
(a refresh rotates the refresh token: eight refreshes, eight rotations racing to be saved). One
refresh is enough: the others wait for it and retry with its token.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from trashscan.config import load_config
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.sandbox.session import Sandbox
from trashscan.secrets import open_secret_store
from trashscan.testing import RequestLog
from trashscan_onedrive.client import GraphSession
from trashscan_onedrive.options import Settings

THREADS = 8
DRIVE = "/v1.0/me/drive"


def test_eight_calls_refused_with_an_expired_token_refresh_it_once(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"onedrive"})) as box:
        assert box.config_path is not None and box.broken == {}
        fake, server = box.fakes["onedrive"], box.servers["onedrive"]
        config = load_config(box.config_path)
        name = next(n for n, m in fake.manifest.items() if m.drive_type == "personal")
        account = config.account(name)
        sleeps: list[float] = []
        context = ProviderContext(
            secrets=open_secret_store(config.secrets, tmp_path / "data"),
            retry=RetryPolicy(sleep=sleeps.append),
            clock=lambda: datetime.now(UTC),
            data_dir=tmp_path / "data",
        )
        session = GraphSession(context, account, Settings.from_account(account))
        url = session.settings.graph + "v1.0/me/drive?$select=id"
        log = RequestLog(server)
        try:
            assert session.get_json(url, "the drive")["id"]
            assert fake.expire_tokens(name) >= 1
            # Hold the next eight requests at the server until all eight have arrived, so each
            # of them is refused with the expired token before any refresh can happen.
            barrier = threading.Barrier(THREADS, timeout=20)
            held = itertools.count()
            server.sleep = lambda _: barrier.wait() if next(held) < THREADS else None
            server.latency = 1e-6
            log.mark()
            with ThreadPoolExecutor(THREADS) as pool:
                results = list(pool.map(lambda _: session.get_json(url, "the drive"), range(8)))
        finally:
            session.close()

        assert all(result["id"] for result in results)
        calls = Counter((method, path, status) for method, path, status in log.calls())
        token_calls = {key: n for key, n in calls.items() if key[1].endswith("/oauth2/v2.0/token")}
        assert list(token_calls.values()) == [1], calls  # one refresh; the others waited for it
        assert calls[("GET", DRIVE, 401)] == THREADS, calls  # each refused once, all at once
        assert calls[("GET", DRIVE, 200)] == THREADS, calls  # then each again, new token
        assert sleeps == []
