"""Fixtures and helpers for the OneDrive fake's tests (no tests here): a seeded fake on its own
HTTPS server (the tests' conftest's ``server`` and ``ca_bundle``), and helpers that drive it with
the real ``msal`` and plain ``requests``. Test modules bind the fixtures they use from here (a
conftest would be shared with the plugin's tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msal
import pytest
import requests

from trashscan.sandbox.server import FakeServer
from trashscan_onedrive.sandbox.fake import OneDriveFake


@pytest.fixture
def seeded(server: FakeServer, ca_bundle: Path, tmp_path: Path) -> tuple[OneDriveFake, list]:
    fake = OneDriveFake()
    tables = fake.seed(tmp_path / "od", datetime.now(UTC), server=server, ca_bundle=ca_bundle)
    return fake, tables


@pytest.fixture
def fake(seeded: tuple[OneDriveFake, list]) -> OneDriveFake:
    return seeded[0]


@pytest.fixture
def tables(seeded: tuple[OneDriveFake, list]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in seeded[1]}


@pytest.fixture
def http(ca_bundle: Path) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = str(ca_bundle)
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override verify
    yield session
    session.close()


def new_app(
    fake: OneDriveFake,
    http: requests.Session,
    cache: msal.SerializableTokenCache | None = None,
    *,
    tenant: str = "common",
    **kwargs: Any,
) -> msal.PublicClientApplication:
    """A fresh msal app per scenario (msal caches failed token requests for ~60 s)."""
    assert fake.server is not None
    return msal.PublicClientApplication(
        fake.auth.client_id,
        authority=f"{fake.server.base_url}/{tenant}",
        instance_discovery=kwargs.pop("instance_discovery", False),
        http_client=http,
        token_cache=cache if cache is not None else msal.SerializableTokenCache(),
        **kwargs,
    )


def cache_from(table: dict[str, Any]) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    cache.deserialize(table["secret_blobs"]["msal_cache"].decode())
    return cache


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Graph:
    """Plain ``requests`` against the fake's Graph root with one account's token."""

    def __init__(self, fake: OneDriveFake, http: requests.Session, token: str) -> None:
        assert fake.server is not None
        self.base = fake.server.base_url
        self.http = http
        self.token = token

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.base}{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        headers = {**bearer(self.token), **kwargs.pop("headers", {})}
        return self.http.get(self.url(path), headers=headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        headers = {**bearer(self.token), **kwargs.pop("headers", {})}
        return self.http.post(self.url(path), headers=headers, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**bearer(self.token), **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def delta_all(
        self, start: str = "/v1.0/me/drive/root/delta", **kwargs: Any
    ) -> tuple[list[dict[str, Any]], str, int]:
        """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
        items: list[dict[str, Any]] = []
        url, pages = start, 0
        while True:
            response = self.get(url, **kwargs)
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            items += body["value"]
            if "@odata.nextLink" in body:
                assert "@odata.deltaLink" not in body
                url = body["@odata.nextLink"]
                kwargs.pop("params", None)
                continue
            return items, body["@odata.deltaLink"], pages


@pytest.fixture
def erin(fake: OneDriveFake, http: requests.Session) -> Graph:
    return Graph(fake, http, fake.access_token("erin"))


@pytest.fixture
def frank(fake: OneDriveFake, http: requests.Session) -> Graph:
    return Graph(fake, http, fake.access_token("frank"))
