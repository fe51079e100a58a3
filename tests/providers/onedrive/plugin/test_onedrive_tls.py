"""A real HTTPS round trip: msal and Graph trust the account's ca_bundle, not REQUESTS_CA_BUNDLE.

``responses`` replaces the transport, so it cannot show that certificates are really checked;
here msal reads its OpenID configuration and Graph serves an empty recycle bin from a local
server whose certificate only a throwaway CA signed.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import certifi
import pytest
import trustme

from trashscan.models import Account
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan_onedrive.plugin import OneDriveProvider

from .harness import CLIENT_ID, NAME, NOW, SERVICE, MemorySecrets, cache_blob

SITE = "contoso-my.sharepoint.com,a,b"


class _Handler(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        root = f"https://{self.headers['Host']}/common"
        if self.path == "/common/v2.0/.well-known/openid-configuration":
            answer: dict = {
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            }
        elif self.path == f"/beta/sites/{SITE}/recycleBin/items?$top=1000":
            answer = {"value": []}
        elif self.path.startswith("/v1.0/me/drive?"):  # what `accounts test` asks Graph
            answer = {"driveType": "personal"}
        else:
            self.send_error(404)
            return
        body = json.dumps(answer).encode()
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
    _Handler.paths = []
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/", ca_pem
    finally:
        httpd.shutdown()
        httpd.server_close()


def _provider(tmp_path: Path, endpoint: str) -> OneDriveProvider:
    secrets = MemorySecrets()
    secrets.blobs[(SERVICE, "msal_cache")] = cache_blob(endpoint + "common")
    context = ProviderContext(secrets, RetryPolicy(sleep=lambda _: None), lambda: NOW, tmp_path)
    return OneDriveProvider(context)


def _account(endpoint: str, ca_bundle: str | None) -> Account:
    options = {"client_id": CLIENT_ID, "drive_type": "business"}
    return Account(NAME, "onedrive", options, endpoint, ca_bundle)


def test_ca_bundle_is_trusted_by_msal_and_graph_despite_requests_ca_bundle(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, ca_pem = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a bundle without the test CA
    provider = _provider(tmp_path, endpoint)
    acct = _account(endpoint, str(ca_pem))
    status = provider.check_auth(acct)
    assert status.ok, status.detail
    scan = provider.scan(acct, {"drive_type": "business", "site_id": SITE})
    with pytest.raises(StopIteration) as done:
        next(scan)
    assert done.value.value.complete_listing
    assert f"/beta/sites/{SITE}/recycleBin/items?$top=1000" in _Handler.paths


def test_without_the_ca_bundle_the_certificate_is_refused(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _ = server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    status = _provider(tmp_path, endpoint).check_auth(_account(endpoint, None))
    assert not status.ok
    port = endpoint.rstrip("/").rsplit(":", 1)[1]
    assert status.detail == (
        f"the TLS certificate of 127.0.0.1:{port} is not trusted "
        "(unable to get local issuer certificate)"
    )
