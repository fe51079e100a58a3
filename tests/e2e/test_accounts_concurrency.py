"""Accounts of different providers scan at the same time, up to ``[scan] concurrency``.

Shown without timing anything: each fake's first request waits (in the server, before it is
answered) at a barrier for the other provider's first request. Two scans in flight together meet
there; one after the other never do. bench/accounts_concurrency.py measures what this buys.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytestmark = pytest.mark.sandbox("dropbox", "icloud")


def meet_at_first_request(sandbox: Any, timeout: float) -> dict[str, bool]:
    """Make each fake's first request wait at one barrier; returns provider -> met."""
    barrier = threading.Barrier(2, timeout=timeout)
    met: dict[str, bool] = {}
    guard = threading.Lock()

    def hook(provider: str) -> Any:
        def sleep(_seconds: float) -> None:
            with guard:
                first = provider not in met
                met.setdefault(provider, False)
            if first:
                try:
                    barrier.wait()
                    met[provider] = True
                except threading.BrokenBarrierError:
                    pass

        return sleep

    for provider, server in sandbox.servers.items():
        server.latency = 1e-6  # the sleep hook is called only for a latency above 0
        server.sleep = hook(provider)
    return met


def test_two_providers_accounts_are_scanned_at_the_same_time(cli, sandbox) -> None:
    met = meet_at_first_request(sandbox, timeout=30)

    result = cli("scan", "--account", "carol", "--account", "grace", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    assert met == {"dropbox": True, "icloud": True}


def test_concurrency_one_scans_one_account_after_the_other(cli, sandbox) -> None:
    assert sandbox.config_path is not None
    with sandbox.config_path.open("a") as config:
        config.write("\n[scan]\nconcurrency = 1\n")
    met = meet_at_first_request(sandbox, timeout=2)

    result = cli("scan", "--account", "carol", "--account", "grace", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    assert met == {"dropbox": False, "icloud": False}
