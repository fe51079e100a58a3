"""The sandbox server: real TLS, loopback only, routing, faults and round-trip accounting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from pathlib import Path

import pytest
import requests

from trashscan.retry import RetryPolicy
from trashscan.sandbox.faults import DropConnection, FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer, Request, Response, Router
from trashscan.sandbox.tls import SandboxCA


def echo(request: Request, match: re.Match[str]) -> Response:
    return Response.json(
        {
            "method": request.method,
            "groups": match.groupdict(),
            "query": request.query,
            "body": request.body.decode(),
            "auth": request.headers.get("authorization"),
        }
    )


@pytest.fixture
def router() -> Router:
    router = Router()
    router.add("GET", r"/items/(?P<item_id>[A-Za-z0-9]+)", echo)
    router.add("POST", r"/items/(?P<item_id>[A-Za-z0-9]+)", echo)
    router.add("POST", r"/token", lambda req, m: Response.json(req.form()))
    router.add("GET", r"/text", lambda req, m: Response.text("hi"))

    @router.route("GET", r"/boom")
    def boom(request: Request, match: re.Match[str]) -> Response:
        raise RuntimeError("handler bug")

    return router


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector()


@pytest.fixture
def server(router: Router, faults: FaultInjector) -> Iterator[FakeServer]:
    with FakeServer(router, faults=faults) as server:
        yield server


@pytest.fixture
def tls_server(router: Router, ca: SandboxCA) -> Iterator[FakeServer]:
    with FakeServer(router, tls=ca.issue_server_context()) as server:
        yield server


def test_https_with_sandbox_ca(tls_server: FakeServer, ca_bundle: Path) -> None:
    assert tls_server.base_url.startswith("https://127.0.0.1:")
    response = requests.get(tls_server.url("/items/abc"), verify=str(ca_bundle), timeout=10)
    assert response.status_code == 200
    assert response.json()["groups"] == {"item_id": "abc"}


def test_https_without_sandbox_ca_fails(tls_server: FakeServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url("/items/abc"), timeout=10)
    # A rejected handshake must not take the server down.
    assert tls_server.request_log == []


def test_binds_loopback_only(server: FakeServer, router: Router) -> None:
    assert server.address[0] == "127.0.0.1"
    assert server.base_url == f"http://127.0.0.1:{server.address[1]}"
    for host in ("0.0.0.0", "", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            FakeServer(router, host=host)


def test_routing_404_405_and_groups(server: FakeServer) -> None:
    missing = requests.get(server.url("/nope"), timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    wrong_method = requests.delete(server.url("/items/abc"), timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, POST"
    # Patterns are full-matched: a prefix or suffix is not a match.
    assert requests.get(server.url("/items/abc/extra"), timeout=10).status_code == 404
    ok = requests.get(server.url("/items/x1"), params={"a": ["1", "2"], "b": ""}, timeout=10)
    assert ok.json()["query"] == {"a": ["1", "2"], "b": [""]}


def test_request_body_headers_and_form(server: FakeServer) -> None:
    posted = requests.post(
        server.url("/items/abc"), data=b"payload", headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert posted.json()["body"] == "payload" and posted.json()["auth"] == "Bearer t"
    chunked = requests.post(server.url("/items/abc"), data=iter([b"ab", b"cd"]), timeout=10)
    assert chunked.json()["body"] == "abcd"
    form = requests.post(server.url("/token"), data={"grant_type": "refresh_token"}, timeout=10)
    assert form.json() == {"grant_type": "refresh_token"}


def test_content_types_exact(server: FakeServer) -> None:
    assert requests.get(server.url("/items/a"), timeout=10).headers["Content-Type"] == (
        "application/json"
    )
    text = requests.get(server.url("/text"), timeout=10)
    assert text.text == "hi" and text.headers["Content-Length"] == "2"


def test_keep_alive_reuses_connection(server: FakeServer) -> None:
    with requests.Session() as session:
        first = session.get(server.url("/items/a"), timeout=10, stream=True)
        first_socket = first.raw.connection.sock
        first.content  # noqa: B018 - release the connection back to the pool
        second = session.get(server.url("/items/b"), timeout=10, stream=True)
        assert second.raw.connection.sock is first_socket
        assert second.headers.get("Connection", "").lower() != "close"
        second.content  # noqa: B018


def test_handler_exception_gives_500_and_server_survives(server: FakeServer) -> None:
    failed = requests.get(server.url("/boom"), timeout=10)
    assert failed.status_code == 500
    assert failed.json() == {"error": "internal error", "detail": "RuntimeError"}
    assert requests.get(server.url("/items/a"), timeout=10).status_code == 200


def test_injected_429_then_success_via_retry_policy(
    server: FakeServer, faults: FaultInjector
) -> None:
    sleeps: list[float] = []
    faults.add(HttpFault.too_many_requests(retry_after=3), path=r"^/items/", method="GET")
    policy = RetryPolicy(sleep=sleeps.append)
    with requests.Session() as session:
        response = policy.request(session, "GET", server.url("/items/a"))
    assert response.status_code == 200
    assert sleeps == [3.0]
    assert [r.status for r in server.request_log] == [429, 200]


def test_fault_helpers_and_matching(server: FakeServer, faults: FaultInjector) -> None:
    graph_error = b'{"error": {"code": "activityLimitReached"}}'
    faults.add(HttpFault.too_many_requests(retry_after=5, body=graph_error), path="/a$")
    faults.add(HttpFault.unavailable(retry_after=2), method="POST", times=2)
    faults.add(HttpFault.unauthorized(), path="/b$")
    faults.add(HttpFault.server_error(502), path="/c$", times=None)
    throttled = requests.get(server.url("/items/a"), timeout=10)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "5"
    assert throttled.content == graph_error
    assert requests.get(server.url("/items/a"), timeout=10).status_code == 200  # consumed
    assert [requests.post(server.url("/items/x"), timeout=10).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    assert requests.get(server.url("/items/b"), timeout=10).status_code == 401
    assert [requests.get(server.url("/items/c"), timeout=10).status_code for _ in range(3)] == [
        502
    ] * 3
    assert faults.pending() == 1  # the unlimited rule stays


def test_drop_connection_is_retried(server: FakeServer, faults: FaultInjector) -> None:
    faults.add(DropConnection())
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            session.get(server.url("/items/a"), timeout=10)
        faults.add(DropConnection())
        sleeps: list[float] = []
        response = RetryPolicy(sleep=sleeps.append).request(session, "GET", server.url("/items/a"))
    assert response.status_code == 200 and len(sleeps) == 1
    assert [r.status for r in server.request_log] == [None, None, 200]


def test_latency_applied_per_request(router: Router) -> None:
    slept: list[float] = []
    with FakeServer(router, latency=0.25, sleep=slept.append) as server:
        requests.get(server.url("/items/a"), timeout=10)
        server.latency = 0.0
        requests.get(server.url("/items/a"), timeout=10)
        server.latency = 1.5
        requests.get(server.url("/nope"), timeout=10)
    assert slept == [0.25, 1.5]
    assert [r.latency for r in server.request_log] == [0.25, 0.0, 1.5]


def test_request_log_counts_round_trips(server: FakeServer) -> None:
    with requests.Session() as session:
        for item in ("a", "b", "c"):
            session.get(server.url(f"/items/{item}"), params={"q": item}, timeout=10)
    log = server.request_log
    assert len(log) == 3
    first = log[0]
    assert (first.method, first.path, first.query, first.status) == (
        "GET",
        "/items/a",
        {"q": ["a"]},
        200,
    )
    assert log[0].at <= log[1].at <= log[2].at


def test_batch_parts_are_logged_with_their_round_trip(router: Router) -> None:
    """A batch endpoint answers with ``Response.parts``: the log keeps one record per round
    trip (counts unchanged) and its parts; ``RequestLog.parts``/``operations`` list them."""
    from datetime import UTC, datetime

    from trashscan.sandbox.server import RequestRecord
    from trashscan.testing import RequestLog

    def batch(request: Request, match: re.Match[str]) -> Response:
        now = datetime.now(UTC)
        parts = (
            RequestRecord("GET", "/items/a", {}, 200, now, 0.0),
            RequestRecord("GET", "/items/b", {}, 429, now, 0.0),
        )
        return Response(200, b"{}", {"Content-Type": "application/json"}, parts)

    router.add("POST", r"/batch", batch)
    with FakeServer(router) as server:
        log = RequestLog(server)
        requests.get(server.url("/items/x"), timeout=10)
        log.mark()
        requests.post(server.url("/batch"), timeout=10)
        requests.get(server.url("/items/y"), timeout=10)
    assert log.calls() == [("POST", "/batch", 200), ("GET", "/items/y", 200)]
    assert log.parts() == [("GET", "/items/a", 200), ("GET", "/items/b", 429)]
    assert log.operations() == [*log.parts(), ("GET", "/items/y", 200)]
    assert [len(r.parts) for r in server.request_log] == [0, 2, 0]


def test_match_http_skips_connection_faults() -> None:
    faults = FaultInjector()
    faults.add(DropConnection(), path="/a")
    faults.add(HttpFault.too_many_requests(3), path="/a")
    request = Request("GET", "/items/a", {}, Message())
    fault = faults.match_http(request)
    assert isinstance(fault, HttpFault) and fault.status == 429
    assert faults.match_http(request) is None and faults.pending() == 1
    assert isinstance(faults.match(request), DropConnection)


def test_concurrent_requests(tls_server: FakeServer, ca_bundle: Path) -> None:
    def worker(n: int) -> list[str]:
        # verify per request: REQUESTS_CA_BUNDLE in the environment overrides session.verify.
        with requests.Session() as session:
            return [
                session.get(
                    tls_server.url(f"/items/w{n}r{i}"), verify=str(ca_bundle), timeout=10
                ).json()["groups"]["item_id"]
                for i in range(5)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    assert results == [[f"w{n}r{i}" for i in range(5)] for n in range(8)]
    assert len(tls_server.request_log) == 40


def test_stop_is_idempotent_and_closes_keep_alive(router: Router) -> None:
    server = FakeServer(router).start()
    url = server.url("/items/a")
    with requests.Session() as session:
        assert session.get(url, timeout=10).status_code == 200
        server.stop()
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=5)
