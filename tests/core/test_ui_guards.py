"""The guard of `trashscan ui` (trashscan.ui.guards), through Starlette's TestClient: every
refusal it promises, and the happy path, around a tiny app that records what reached it."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from trashscan.ui.guards import COOKIE, CSRF_HEADER, Guard, Secrets

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def keys() -> Secrets:
    return Secrets(PORT)


@pytest.fixture
def reached() -> list[tuple[str, bytes]]:
    return []


@pytest.fixture
def client(keys: Secrets, reached: list[tuple[str, bytes]]) -> TestClient:
    async def page(request: Request) -> PlainTextResponse:
        reached.append((request.method, await request.body()))
        return PlainTextResponse("inside")

    app = Starlette(
        routes=[Route("/", page, methods=["GET", "POST"]), Route("/x", page)],
        middleware=[Middleware(Guard, keys=keys)],
    )
    return TestClient(app, base_url=BASE, follow_redirects=False)


def login(client: TestClient, keys: Secrets) -> None:
    token = keys.token
    answer = client.get(f"/?token={token}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert client.cookies.get(COOKIE) == keys.session


def test_the_login_address_is_the_one_printed(keys: Secrets) -> None:
    assert keys.login_url == f"http://127.0.0.1:{PORT}/?token={keys.token}"
    assert len(keys.token or "") >= 40  # 32 random bytes


def test_no_token_and_no_cookie_is_refused(client: TestClient, reached: list) -> None:
    for path in ("/", "/x", "/static/htmx.min.js", "/thumb/abc"):
        assert client.get(path).status_code == 401
    assert reached == []


def test_a_wrong_token_is_refused_and_sets_no_cookie(client: TestClient, reached: list) -> None:
    answer = client.get("/?token=not-the-token")
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert client.get("/").status_code == 401
    assert reached == []


def test_the_token_becomes_an_httponly_strict_cookie_and_leaves_the_address(
    client: TestClient, keys: Secrets, reached: list
) -> None:
    answer = client.get(f"/x?token={keys.token}&keep=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/x?keep=1"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={keys.session};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert reached == []  # the login itself shows nothing
    assert client.get("/x").text == "inside"


def test_the_token_works_once(client: TestClient, keys: Secrets) -> None:
    token = keys.token
    login(client, keys)
    other = TestClient(client.app, base_url=BASE, follow_redirects=False)
    assert other.get(f"/?token={token}").status_code == 403  # copied from the history: no
    assert client.get(f"/?token={token}").status_code == 303  # the logged-in browser: fine


def test_a_wrong_cookie_is_refused(client: TestClient, keys: Secrets) -> None:
    client.cookies.set(COOKIE, "guessed")
    assert client.get("/").status_code == 401


@pytest.mark.parametrize(
    "host", ["evil.example:8765", "127.0.0.1:9999", "127.0.0.1", "localhost", "0.0.0.0:8765", ""]
)
def test_a_foreign_host_is_refused_even_logged_in(
    client: TestClient, keys: Secrets, reached: list, host: str
) -> None:
    login(client, keys)
    answer = client.get("/", headers={"host": host})
    assert answer.status_code == 403
    assert reached == []


def test_a_rebound_name_cannot_log_in(client: TestClient, keys: Secrets) -> None:
    answer = client.get(f"/?token={keys.token}", headers={"host": "evil.example:8765"})
    assert answer.status_code == 403
    assert keys.token is not None  # not spent by the refused request


def test_localhost_is_accepted(client: TestClient, keys: Secrets) -> None:
    login(client, keys)
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).text == "inside"


def test_post_with_the_csrf_token_passes_and_the_body_reaches_the_app(
    client: TestClient, keys: Secrets, reached: list
) -> None:
    login(client, keys)
    answer = client.post("/", data={"csrf": keys.csrf, "ref": "abc"})
    assert answer.status_code == 200
    assert reached == [("POST", f"csrf={keys.csrf}&ref=abc".encode())]
    answer = client.post("/", content=b"{}", headers={CSRF_HEADER: keys.csrf})
    assert answer.status_code == 200


def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, keys: Secrets, reached: list
) -> None:
    login(client, keys)
    assert client.post("/", data={"ref": "abc"}).status_code == 403
    assert client.post("/", data={"csrf": "wrong", "ref": "abc"}).status_code == 403
    assert client.post("/", headers={CSRF_HEADER: "wrong"}).status_code == 403
    assert client.post("/", content=b"csrf=" + keys.csrf.encode()).status_code == 403  # not a form
    assert reached == []


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": f"http://127.0.0.1:{PORT + 1}"},
        {"sec-fetch-site": "same-origin", "origin": "https://evil.example"},
    ],
)
def test_post_from_another_origin_is_refused_even_with_the_csrf_token(
    client: TestClient, keys: Secrets, reached: list, headers: dict[str, str]
) -> None:
    login(client, keys)
    answer = client.post("/", data={"csrf": keys.csrf}, headers=headers)
    assert answer.status_code == 403
    assert reached == []


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": BASE},
        {"origin": f"http://localhost:{PORT}"},
        {"sec-fetch-site": "none"},
    ],
)
def test_post_from_this_origin_passes(
    client: TestClient, keys: Secrets, headers: dict[str, str]
) -> None:
    login(client, keys)
    assert client.post("/", data={"csrf": keys.csrf}, headers=headers).status_code == 200


def test_post_without_a_session_is_refused_before_any_check(
    client: TestClient, keys: Secrets, reached: list
) -> None:
    assert client.post("/", data={"csrf": keys.csrf}).status_code == 401
    assert client.post(f"/?token={keys.token}", data={"csrf": keys.csrf}).status_code == 403
    assert client.head(f"/?token={keys.token}").status_code == 403  # a link preview, say
    assert keys.token is not None  # none of them spent it
    assert reached == []


def test_every_answer_has_the_security_headers_and_no_cors(
    client: TestClient, keys: Secrets
) -> None:
    answers: list[Any] = [client.get("/")]  # a refusal
    login(client, keys)
    answers.append(client.get("/"))
    answers.append(client.get("/", headers={"origin": "https://evil.example"}))
    for answer in answers:
        headers = answer.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        assert not any(name.lower().startswith("access-control-") for name in headers)


def test_an_oversized_body_is_refused(client: TestClient, keys: Secrets) -> None:
    login(client, keys)
    body = b"csrf=" + keys.csrf.encode() + b"&ref=" + b"a" * (9 * 1024 * 1024)
    answer = client.post(
        "/", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
