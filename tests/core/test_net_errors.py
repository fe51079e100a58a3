"""Each cause of a failed connection is named the same for requests, httplib2 and google-auth.

Real sockets only: a port nothing listens on, a name under ``.invalid`` (RFC 2606: it never
resolves, with or without a network), a plain-HTTP server, a TLS server signed by another CA, a
server that never answers, a CA bundle that is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import google_auth_httplib2
import httplib2
import pytest
import requests

from trashscan.models import Account
from trashscan.net_errors import Cause, NetworkError, checked_ca_bundle, diagnose, host_label
from trashscan.sandbox.net_faults import PlainHttpServer, SilentServer, closed_port
from trashscan.sandbox.server import FakeServer, Response, Router
from trashscan.sandbox.tls import SandboxCA
from trashscan.tls import PinnedVerifyMixin


class _Session(PinnedVerifyMixin, requests.Session):
    pass


def _requests(url: str, ca: str) -> None:
    with _Session() as session:
        session.verify = ca
        session.get(url, timeout=0.5)


def _httplib2(url: str, ca: str) -> None:
    httplib2.Http(ca_certs=ca, timeout=0.5).request(url)


def _google_auth(url: str, ca: str) -> None:
    google_auth_httplib2.Request(httplib2.Http(ca_certs=ca, timeout=0.5))(url)


LIBRARIES: dict[str, Callable[[str, str], None]] = {
    "requests": _requests,
    "httplib2": _httplib2,
    "google-auth": _google_auth,
}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxCA, str, str]]:
    folder = tmp_path_factory.mktemp("cas")
    authority = SandboxCA()
    trusted = str(authority.write_ca_bundle(folder / "trusted.pem"))
    other = str(SandboxCA().write_ca_bundle(folder / "other.pem"))
    yield authority, trusted, other


@pytest.fixture(scope="module")
def tls_server(ca: tuple[SandboxCA, str, str]) -> Iterator[FakeServer]:
    router = Router()
    router.add("GET", r"/x", lambda request, match: Response.json({}))
    with FakeServer(router, tls=ca[0].issue_server_context()) as server:
        yield server


def _failure(library: str, url: str, ca: str) -> BaseException:
    with pytest.raises(Exception) as info:  # each library raises its own type
        LIBRARIES[library](url, ca)
    return info.value


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_refused_connection(library: str, ca) -> None:
    port = closed_port()
    found = diagnose(_failure(library, f"https://127.0.0.1:{port}/x", ca[1]))
    assert found is not None and found.cause is Cause.REFUSED
    assert found.retryable and not found.sent
    if library == "requests":  # httplib2 does not say where; its callers record the URL
        assert found.host == f"127.0.0.1:{port}"


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_name_that_does_not_resolve(library: str, ca) -> None:
    found = diagnose(_failure(library, "https://nowhere.invalid/x", ca[1]))
    assert found is not None and found.cause is Cause.DNS
    assert found.host == "nowhere.invalid"  # httplib2 names it in ServerNotFoundError
    assert not found.retryable
    assert found.error().one_line() == (
        "nowhere.invalid does not resolve (DNS: no such host) (check the host name (the "
        "account's endpoint, if set) and the network's DNS)"
    )


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_plain_http_server_behind_an_https_url(library: str, ca) -> None:
    with PlainHttpServer() as server:
        found = diagnose(_failure(library, server.url("https") + "x", ca[1]))
    assert found is not None and found.cause is Cause.NOT_TLS
    assert not found.retryable


@pytest.mark.parametrize("library", LIBRARIES)
def test_an_https_server_behind_an_http_url(library: str, ca, tls_server: FakeServer) -> None:
    url = tls_server.url("/x").replace("https://", "http://")
    found = diagnose(_failure(library, url, ca[1]))
    assert found is not None and found.cause is Cause.CLOSED
    if library == "requests":
        assert found.scheme == "http"
        assert (
            found.error(3)
            .one_line()
            .endswith(
                "closed the connection without an answer (3 attempts) (if it is an HTTPS server, "
                "the endpoint must start with https://)"
            )
        )


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_certificate_the_ca_bundle_does_not_trust(library: str, ca, tls_server) -> None:
    found = diagnose(_failure(library, tls_server.url("/x"), ca[2]))
    assert found is not None and found.cause is Cause.TLS_UNTRUSTED
    assert found.detail == "unable to get local issuer certificate"
    assert not found.retryable


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_server_that_never_answers(library: str, ca) -> None:
    with SilentServer() as server:
        found = diagnose(_failure(library, server.url("https") + "x", ca[1]))
    assert found is not None and found.cause is Cause.TIMEOUT
    assert found.retryable
    assert not found.sent  # the TLS handshake never finished: nothing was sent


def test_requests_names_a_missing_ca_bundle(ca, tls_server, tmp_path: Path) -> None:
    found = diagnose(_failure("requests", tls_server.url("/x"), str(tmp_path / "gone.pem")))
    assert found is not None and found.cause is Cause.CA_MISSING
    assert found.detail == str(tmp_path / "gone.pem")


def test_what_is_not_a_connection_failure_is_not_diagnosed() -> None:
    assert diagnose(KeyError("x")) is None
    assert diagnose(ValueError("certificate verify failed")) is None
    assert diagnose(FileNotFoundError(2, "No such file or directory")) is None


def test_checked_ca_bundle(tmp_path: Path) -> None:
    present = tmp_path / "ca.pem"
    present.write_text("-----BEGIN CERTIFICATE-----\n")
    account = Account("acme", "dropbox", endpoint="https://127.0.0.1:8443/")
    assert checked_ca_bundle(account, "api.dropboxapi.com") is None
    with_ca = Account("acme", "dropbox", endpoint="https://127.0.0.1:8443/", ca_bundle=str(present))
    assert checked_ca_bundle(with_ca, "api.dropboxapi.com") == str(present)
    gone = Account("acme", "dropbox", ca_bundle=str(tmp_path / "gone.pem"))
    with pytest.raises(NetworkError) as info:
        checked_ca_bundle(gone, "api.dropboxapi.com")
    assert str(info.value) == (
        f"cannot verify api.dropboxapi.com: the CA bundle {tmp_path / 'gone.pem'} does not exist"
    )
    folder = Account("acme", "dropbox", endpoint="https://h.test:8443/", ca_bundle=str(tmp_path))
    with pytest.raises(NetworkError, match=r"cannot verify h\.test:8443: .* not a readable file"):
        checked_ca_bundle(folder, "api.dropboxapi.com")


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://api.dropboxapi.com/2/files/list_folder?x=1", "api.dropboxapi.com"),
        ("https://127.0.0.1:8443/idmsa/appleauth", "127.0.0.1:8443"),
        ("http://example.test:80/", "example.test"),
        ("https://[::1]:9/", "[::1]:9"),
    ],
)
def test_host_label_never_carries_a_path(url: str, label: str) -> None:
    assert host_label(url) == label
