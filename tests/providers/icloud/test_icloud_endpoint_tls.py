"""The sandbox endpoint layout and TLS trust, over a real HTTPS round trip.

``responses`` replaces the transport, so it can show neither which certificate is trusted nor
that the URL layout works against a server; this runs the real pyicloud sign-in (SRP included)
against a local server whose certificate only a throwaway CA signed, at ``account.endpoint``.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import certifi
import pytest
import trustme

from trashscan.errors import AccountError
from trashscan_icloud.service import SANDBOX_ROOTS, TrashscanICloudService, sandbox_roots

from .conftest import SESSION_TOKEN, WEB_ACCESS_OK, Apple, SrpServer, account, login_data


class _Apple(BaseHTTPRequestHandler):
    srp: SrpServer
    paths: list[str]

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.paths.append("GET " + self.path.split("?")[0])
        self._reply(200, {})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        self.paths.append("POST " + path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        if path == "/idmsa/appleauth/auth/signin/init":
            self._reply(200, self.srp.init(body))
        elif path == "/idmsa/appleauth/auth/signin/complete":
            ok = self.srp.complete(body)
            self._reply(200 if ok else 401, {}, {"X-Apple-Session-Token": SESSION_TOKEN})
        elif path == "/setup/ws/1/accountLogin":
            data = login_data()  # CloudKit served here too, never at Apple's real host
            here = f"https://127.0.0.1:{self.server.server_address[1]}"
            data["webservices"] = {"ckdatabasews": {"url": here, "status": "active"}}
            self._reply(200, data, {"Set-Cookie": "X-APPLE-WEBAUTH-TOKEN=t; Path=/"})
        elif path == "/setup/ws/1/requestWebAccessState":
            self._reply(200, WEB_ACCESS_OK)
        elif path.endswith("/private/records/query"):
            state = {"state": {"value": "FINISHED", "type": "STRING"}}
            record = {"recordName": "_ck", "recordType": "CheckIndexingState", "fields": state}
            self._reply(200, {"records": [record]})
        else:
            self._reply(404, {"error": path})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_pem = tmp_path / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    paths: list[str] = []
    handler = type("Handler", (_Apple,), {"srp": SrpServer(), "paths": paths})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/", ca_pem, paths
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def offline_apple(tmp_path: Path) -> Apple:
    """The harness without ``responses``: real sockets."""
    import responses

    return Apple(tmp_path, responses.RequestsMock())


def test_sandbox_roots_are_the_real_paths_under_the_endpoint() -> None:
    assert dict(SANDBOX_ROOTS) == {
        "_idmsa_endpoint": "idmsa",
        "_auth_endpoint": "idmsa/appleauth/auth",
        "_home_endpoint": "home",
        "_setup_endpoint": "setup/ws/1",
    }
    assert sandbox_roots("https://127.0.0.1:8443", "x") == {
        "_idmsa_endpoint": "https://127.0.0.1:8443/idmsa",
        "_auth_endpoint": "https://127.0.0.1:8443/idmsa/appleauth/auth",
        "_home_endpoint": "https://127.0.0.1:8443/home",
        "_setup_endpoint": "https://127.0.0.1:8443/setup/ws/1",
    }


def test_the_service_takes_the_roots_even_for_china(tmp_path: Path) -> None:
    roots = sandbox_roots("https://127.0.0.1:8443/", "x")
    service = TrashscanICloudService(
        "a@b.c", "pw", cookie_directory=tmp_path, china_mainland=True, roots=roots
    )
    assert service.roots == roots
    assert service.session.headers["Origin"] == "https://127.0.0.1:8443/home"
    plain = TrashscanICloudService("a@b.c", "pw", cookie_directory=tmp_path, china_mainland=True)
    assert plain.roots == {
        "_idmsa_endpoint": "https://idmsa.apple.com",
        "_auth_endpoint": "https://idmsa.apple.com/appleauth/auth",
        "_home_endpoint": "https://www.icloud.com.cn",
        "_setup_endpoint": "https://setup.icloud.com.cn/setup/ws/1",
    }


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080/", "127.0.0.1:8443", "https:///x"])
def test_a_non_https_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(AccountError, match="must be https://HOST"):
        sandbox_roots(endpoint, "family")


def test_ca_bundle_is_trusted_despite_requests_ca_bundle(
    server: tuple[str, Path, list[str]], offline_apple: Apple, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, ca_pem, paths = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a bundle without the test CA
    status = offline_apple.provider.check_auth(account(endpoint, str(ca_pem)))
    assert status.ok, status.detail
    assert paths == [
        "GET /idmsa/appleauth/auth/authorize/signin",
        "POST /idmsa/appleauth/auth/signin/init",
        "POST /idmsa/appleauth/auth/signin/complete",
        "POST /setup/ws/1/accountLogin",
        "POST /setup/ws/1/requestWebAccessState",  # what a scan opens first: the Photos service
        "POST /database/1/com.apple.photos.cloud/production/private/records/query",
    ]


def test_without_the_ca_bundle_the_certificate_is_refused(
    server: tuple[str, Path, list[str]], offline_apple: Apple, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _, paths = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    status = offline_apple.provider.check_auth(account(endpoint))
    assert not status.ok
    port = endpoint.rstrip("/").rsplit(":", 1)[1]
    assert status.detail == (
        f"the TLS certificate of 127.0.0.1:{port} is not trusted "
        "(unable to get local issuer certificate)"
    )
    assert offline_apple.sleeps == []  # a TLS failure is not retried
    assert paths == []
