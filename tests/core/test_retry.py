"""The shared retry policy: waits as asked, bounded, and only repeats what is safe to repeat."""

from __future__ import annotations

import email.utils
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from trashscan.errors import ProviderUnavailableError
from trashscan.net_errors import NetworkError
from trashscan.retry import RetryPolicy, parse_retry_after
from trashscan.sandbox.faults import DropConnection, FaultInjector, HttpFault
from trashscan.sandbox.server import FakeServer, Response, Router

URL = "https://api.example.test/v1/items"


class Sleeps(list[float]):
    """A fake ``sleep`` that records waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, random=lambda: 0.5)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# -- parse_retry_after ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), (" 120 ", 120.0), ("1.5", 1.5), ("0", 0.0), (None, None), ("", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "Mon, 99 Foo 2020"])
def test_parse_retry_after_rejects_negative_and_garbage(value: str) -> None:
    assert parse_retry_after(value) is None


def test_parse_retry_after_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0  # past: retry now


# -- backoff -------------------------------------------------------------------------------------


def test_backoff_equal_jitter_bounds() -> None:
    low = RetryPolicy(random=lambda: 0.0, base_delay=1.0)
    high = RetryPolicy(random=lambda: 0.999999, base_delay=1.0)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)]:
        assert low.backoff(attempt, None) == step / 2
        assert step / 2 <= high.backoff(attempt, None) < step
    capped = RetryPolicy(random=lambda: 0.999999, base_delay=1.0, max_delay=5.0)
    assert capped.backoff(30, None) <= 5.0


def test_backoff_uses_retry_after_unjittered_but_capped() -> None:
    policy = RetryPolicy(random=lambda: 0.0, max_delay=10.0)
    assert policy.backoff(1, 7.0) == 7.0
    assert policy.backoff(1, 99.0) == 10.0


def test_invalid_policy_rejected() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# -- request -------------------------------------------------------------------------------------


def test_retry_after_seconds_honoured(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, status=429, headers={"Retry-After": "3"})
    mocked.get(URL, json={"ok": True})
    response = policy.request(requests.Session(), "GET", URL)
    assert response.json() == {"ok": True}
    assert sleeps == [3.0]


def test_retry_after_http_date_honoured(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    mocked.get(URL, status=503, headers={"Retry-After": when})
    mocked.get(URL, status=200)
    assert policy.request(requests.Session(), "GET", URL).status_code == 200
    assert len(sleeps) == 1 and 27.0 <= sleeps[0] <= 30.0


def test_retry_after_beyond_max_delay_gives_up(sleeps: Sleeps, mocked) -> None:
    policy = RetryPolicy(sleep=sleeps, max_delay=60.0)
    mocked.get(URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(ProviderUnavailableError, match="asked to retry after 3600 s"):
        policy.request(requests.Session(), "GET", URL)
    assert sleeps == []


def test_backoff_without_retry_after_bounded_by_max_delay(sleeps: Sleeps, mocked) -> None:
    policy = RetryPolicy(
        sleep=sleeps, random=lambda: 0.999, base_delay=4.0, max_delay=5.0, max_total_wait=1e6
    )
    mocked.get(URL, status=502)
    with pytest.raises(ProviderUnavailableError):
        policy.request(requests.Session(), "GET", URL)
    assert len(sleeps) == 4 and all(0 < s <= 5.0 for s in sleeps)


def test_exhausted_attempts_raise(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, status=503)
    with pytest.raises(ProviderUnavailableError) as info:
        policy.request(requests.Session(), "GET", URL)
    assert str(info.value) == "HTTP 503 from api.example.test after 5 attempts"
    assert len(mocked.calls) == 5
    assert len(sleeps) == 4


def test_total_budget_bounded(sleeps: Sleeps, mocked) -> None:
    policy = RetryPolicy(sleep=sleeps, max_attempts=10, max_total_wait=10.0)
    mocked.get(URL, status=429, headers={"Retry-After": "4"})
    with pytest.raises(ProviderUnavailableError, match="budget of 10 s"):
        policy.request(requests.Session(), "GET", URL)
    assert sleeps == [4.0, 4.0]
    assert len(mocked.calls) == 3


def test_message_never_leaks_credentials(policy: RetryPolicy, mocked) -> None:
    mocked.get(URL, status=500)
    with pytest.raises(ProviderUnavailableError) as info:
        policy.request(
            requests.Session(),
            "GET",
            URL,
            params={"access_token": "s3cret-query"},
            headers={"Authorization": "Bearer s3cret-header"},
        )
    assert "s3cret" not in info.value.one_line()


def test_connection_error_retried(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, body=requests.ConnectionError(ProtocolError("Connection aborted.")))
    mocked.get(URL, json=[])
    assert policy.request(requests.Session(), "GET", URL).json() == []
    assert sleeps == [0.5 * 0.75]  # base 0.5, equal jitter with random() = 0.5


def test_connection_errors_exhausted(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, body=requests.ConnectionError(ProtocolError("Connection aborted.")))
    with pytest.raises(NetworkError) as info:
        policy.request(requests.Session(), "GET", URL)
    assert str(info.value) == (
        "api.example.test closed the connection without an answer (3 attempts)"
    )
    assert len(mocked.calls) == 3 and len(sleeps) == 2


def test_timeouts_are_tried_twice_and_named(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(NetworkError) as info:
        policy.request(requests.Session(), "GET", URL)
    assert str(info.value) == "api.example.test did not answer in time (2 attempts)"
    assert "throttling" not in info.value.one_line()
    assert len(mocked.calls) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_not_retried(
    policy: RetryPolicy, sleeps: Sleeps, mocked, status: int
) -> None:
    mocked.get(URL, status=status)
    assert policy.request(requests.Session(), "GET", URL).status_code == status
    assert len(mocked.calls) == 1 and sleeps == []


def test_tls_errors_not_retried(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.get(URL, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(NetworkError) as info:
        policy.request(requests.Session(), "GET", URL)
    assert str(info.value) == "the TLS certificate of api.example.test is not trusted"
    assert len(mocked.calls) == 1 and sleeps == []


def test_post_retried_only_when_rejected(policy: RetryPolicy, sleeps: Sleeps, mocked) -> None:
    mocked.post(URL, status=429)
    mocked.post(URL, status=503, headers={"Retry-After": "2"})
    mocked.post(URL, status=500)
    assert policy.request(requests.Session(), "POST", URL, json={}).status_code == 500
    assert len(mocked.calls) == 3 and len(sleeps) == 2


def test_post_503_without_retry_after_returned(policy: RetryPolicy, mocked) -> None:
    mocked.post(URL, status=503)
    assert policy.request(requests.Session(), "POST", URL).status_code == 503
    assert len(mocked.calls) == 1


def test_post_connection_drop_not_retried(policy: RetryPolicy, mocked) -> None:
    mocked.post(URL, body=requests.ConnectionError(ProtocolError("Connection aborted.")))
    with pytest.raises(ProviderUnavailableError) as info:
        policy.request(requests.Session(), "POST", URL)
    assert str(info.value) == (
        "api.example.test closed the connection without an answer during POST; not retried "
        "because the request may have been applied"
    )
    assert len(mocked.calls) == 1


def test_post_connect_failure_retried(policy: RetryPolicy, mocked) -> None:
    refused = MaxRetryError(None, URL, NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]
    mocked.post(URL, body=requests.ConnectionError(refused))
    mocked.post(URL, status=201)
    assert policy.request(requests.Session(), "post", URL).status_code == 201


def test_call_names_a_connection_failure_and_bounds_it(policy: RetryPolicy, sleeps: Sleeps) -> None:
    """An SDK's own classify may say "retry" (or even "give up") for any transport error: a
    refused connection is tried connection_attempts times and named, never "throttling"."""
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(NetworkError) as info:
        policy.call(fn, lambda exc: None, what="Dropbox list_folder")
    assert str(info.value) == "the server refused the connection (3 attempts)"
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert len(calls) == 3 and len(sleeps) == 2


def test_call_does_not_retry_a_name_that_does_not_resolve(
    policy: RetryPolicy, sleeps: Sleeps
) -> None:
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(NetworkError):
        policy.call(fn, lambda exc: None)
    assert len(calls) == 1 and sleeps == []


def test_call_leaves_a_timeout_after_sending_to_the_caller(
    policy: RetryPolicy, sleeps: Sleeps
) -> None:
    """A write that timed out may have been applied: when classify says False, the exception
    itself reaches the caller (which reads back), untouched."""

    def fn() -> None:
        raise TimeoutError("timed out")

    with pytest.raises(TimeoutError):
        policy.call(fn, lambda exc: False)
    assert sleeps == []


# -- call ----------------------------------------------------------------------------------------


class Throttled(Exception):
    def __init__(self, backoff: float | None) -> None:
        super().__init__("token=s3cret")
        self.backoff = backoff


def test_call_uses_classification(policy: RetryPolicy, sleeps: Sleeps) -> None:
    errors = [Throttled(7.0), Throttled(None)]

    def fn() -> str:
        if errors:
            raise errors.pop(0)
        return "done"

    assert policy.call(fn, lambda exc: exc.backoff if isinstance(exc, Throttled) else False) == (
        "done"
    )
    assert sleeps == [7.0, 0.5 * 0.75 * 2]


def test_call_false_reraises(policy: RetryPolicy, sleeps: Sleeps) -> None:
    def fn() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        policy.call(fn, lambda exc: False)
    assert sleeps == []


def test_call_exhausted(policy: RetryPolicy, sleeps: Sleeps) -> None:
    def fn() -> None:
        raise Throttled(1.0)

    with pytest.raises(ProviderUnavailableError) as info:
        policy.call(fn, lambda exc: 1.0, what="Dropbox list_folder")
    assert str(info.value) == "Dropbox list_folder after 5 attempts"
    assert isinstance(info.value.__cause__, Throttled)
    assert "s3cret" not in info.value.one_line()
    assert sleeps == [1.0] * 4


# -- against the real sandbox server --------------------------------------------------------------


def test_request_against_sandbox_429_and_dropped_connection(
    policy: RetryPolicy, sleeps: Sleeps
) -> None:
    router = Router()
    router.add("GET", r"/items", lambda req, m: Response.json({"items": []}))
    faults = FaultInjector()
    faults.add(HttpFault.too_many_requests(retry_after=2), path="/items")
    faults.add(DropConnection(), path="/items")
    with FakeServer(router, faults=faults) as server, requests.Session() as session:
        response = policy.request(session, "GET", server.url("/items"))
        statuses = [record.status for record in server.request_log]
    assert response.json() == {"items": []}
    assert statuses == [429, None, 200]
    assert sleeps[0] == 2.0 and len(sleeps) == 2
    assert faults.pending() == 0


def test_module_import_stays_light() -> None:
    code = "import sys, trashscan.retry; assert 'requests' not in sys.modules, 'requests imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
