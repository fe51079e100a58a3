"""A real HTTPS round trip: the account's ca_bundle is trusted even with REQUESTS_CA_BUNDLE set.

``responses`` replaces the transport, so it cannot show that certificates are really checked;
this test runs the SDK against a local server whose certificate only a throwaway CA signed.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import pytest
import trustme

from trashscan.models import Account
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan_dropbox.plugin import DropboxProvider

from .conftest import APP_KEY, NAME, NOW, SERVICE, DictSecrets, full_account


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/2/users/get_current_account":
            self.send_error(404)
            return
        body = json.dumps(full_account("business")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_pem = tmp_path / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/", ca_pem
    finally:
        httpd.shutdown()
        httpd.server_close()


def _provider(tmp_path: Path) -> DropboxProvider:
    secrets = DictSecrets()
    secrets.set(SERVICE, "refresh_token", "rt")
    secrets.set(
        SERVICE, "access_token", json.dumps({"token": "t", "expires_at": "2100-01-01T00:00:00"})
    )
    context = ProviderContext(secrets, RetryPolicy(sleep=lambda _: None), lambda: NOW, tmp_path)
    return DropboxProvider(context)


def test_ca_bundle_is_trusted_despite_requests_ca_bundle(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, ca_pem = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a bundle without the test CA
    acct = Account(NAME, "dropbox", {"app_key": APP_KEY}, endpoint, str(ca_pem))
    status = _provider(tmp_path).check_auth(acct)
    assert status.ok, status.detail
    assert status.detail.endswith("(Dropbox business)")


def test_without_the_ca_bundle_the_certificate_is_refused(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _ = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    acct = Account(NAME, "dropbox", {"app_key": APP_KEY}, endpoint)
    status = _provider(tmp_path).check_auth(acct)
    assert not status.ok
    port = endpoint.rstrip("/").rsplit(":", 1)[1]
    assert status.detail == (
        f"the TLS certificate of 127.0.0.1:{port} is not trusted "
        "(unable to get local issuer certificate)"
    )
