"""``trashscan sandbox serve``: its options, its isolation from real accounts, its sign-in help.

The serve loop is replaced (``session.wait_until_interrupted``) by a function that does the
test's work while the fakes are up, then returns as Ctrl-C would; everything else is the real
command. Latency is checked by counting the sleeps the servers ask for, never by timing.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from trashscan.sandbox import session


def _get(server: Any, ca_bundle: Path, path: str) -> int:
    context = ssl.create_default_context(cafile=str(ca_bundle))
    try:
        with urllib.request.urlopen(server.url(path), context=context, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_latency_delays_every_request_of_every_fake(bare_cli, tmp_path, monkeypatch):
    slept: list[float] = []
    seen: dict[str, Any] = {}

    def while_serving(box: session.Sandbox) -> None:
        seen["servers"] = dict(box.servers)
        for server in box.servers.values():
            server.sleep = slept.append
            _get(server, box.ca_bundle, "/no-such-route")
            _get(server, box.ca_bundle, "/no-such-route")

    monkeypatch.setattr(session, "wait_until_interrupted", while_serving)
    result = bare_cli("sandbox", "serve", "--latency", "250", "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 0, result.stderr
    assert len(seen["servers"]) >= 4  # every HTTPS fake, not just one
    assert slept == [0.25] * (2 * len(seen["servers"]))
    assert "latency: 250 ms per request" in result.stdout


def test_no_latency_by_default(bare_cli, tmp_path, monkeypatch):
    slept: list[float] = []

    def while_serving(box: session.Sandbox) -> None:
        for server in box.servers.values():
            server.sleep = slept.append
            _get(server, box.ca_bundle, "/no-such-route")

    monkeypatch.setattr(session, "wait_until_interrupted", while_serving)
    result = bare_cli("sandbox", "serve", "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 0, result.stderr
    assert slept == []
    assert "latency:" not in result.stdout


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "60001", ""])
def test_a_bad_latency_is_one_line_and_exit_2(bare_cli, tmp_path, value, monkeypatch):
    started: list[Any] = []
    monkeypatch.setattr(session, "wait_until_interrupted", started.append)
    result = bare_cli("sandbox", "serve", "--latency", value, "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--latency" in result.stderr
    assert "Traceback" not in result.stderr
    assert started == []
    assert not (tmp_path / "box").exists()  # refused before anything was seeded
