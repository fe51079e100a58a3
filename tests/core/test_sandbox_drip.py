"""The sandbox's drip-feeding fault: a TLS response whose body never ends, one byte at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from trashscan.sandbox.faults import Drip, FaultInjector
from trashscan.sandbox.server import FakeServer, Response, Router
from trashscan.sandbox.tls import SandboxCA


@pytest.fixture
def server(tmp_path: Path):
    ca = SandboxCA()
    bundle = ca.write_ca_bundle(tmp_path / "ca.pem")
    router = Router()
    router.add("GET", r"/ok", lambda request, match: Response.json({"ok": True}))
    fake = FakeServer(router, tls=ca.issue_server_context(), faults=FaultInjector()).start()
    yield fake, str(bundle)
    fake.stop()


def test_a_drip_defeats_per_read_timeouts_until_the_server_stops(server) -> None:
    fake, bundle = server
    fake.faults.add(Drip(interval=0.05), path="/ok")
    # Each read may wait 2 s, far longer than the drip's interval: no read ever times out.
    response = requests.get(fake.url("/ok"), verify=bundle, timeout=(2, 2), stream=True)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == 1 << 30
    chunks = response.iter_content(chunk_size=1)
    assert [next(chunks) for _ in range(5)] == [b" "] * 5
    assert [(r.path, r.status) for r in fake.request_log] == [("/ok", 200)]

    fake.stop()  # ends the drip: the client sees the connection end, not another byte forever
    with pytest.raises(requests.exceptions.RequestException):
        for _ in range(1000):
            next(chunks)
    response.close()


def test_requests_after_the_drip_are_answered(server) -> None:
    fake, bundle = server
    fake.faults.add(Drip(interval=0.05), path="/ok", times=1)
    with requests.get(fake.url("/ok"), verify=bundle, timeout=2, stream=True) as dripping:
        assert next(dripping.iter_content(chunk_size=1)) == b" "
    assert requests.get(fake.url("/ok"), verify=bundle, timeout=2).json() == {"ok": True}


def test_a_counted_drip_delivers_the_real_answer_late(server) -> None:
    fake, bundle = server
    fake.faults.add(Drip(interval=0.01, count=20), path="/ok", times=1)
    response = requests.get(fake.url("/ok"), verify=bundle, timeout=2)
    assert response.status_code == 200
    assert response.content == b" " * 20 + b'{"ok": true}'
    assert response.json() == {"ok": True}
