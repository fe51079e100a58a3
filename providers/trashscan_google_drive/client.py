"""One account's authorised Drive clients, with trashscan's retry policy and error mapping.

Why not the SDK's own machinery:

* ``execute(num_retries=N)`` ignores ``Retry-After``, so every request goes through the core
  :class:`~trashscan.retry.RetryPolicy` instead (429, 5xx and 403 rate-limit reasons are retried).
* Batches are written and read by :mod:`.batch`, not ``BatchHttpRequest`` (which spends about
  1 ms of CPU a call in the email package, issue 16), and sent to the batch endpoint of the
  account's endpoint (``service.new_batch_http_request()`` would ignore
  ``client_options.api_endpoint`` and target www.googleapis.com); the calls themselves are still
  built by the discovery client, and per-part failures are re-batched here (the SDK never retried
  them).
* httplib2 is not thread-safe: a :class:`DriveSession` is built per scan/restore call, which the
  core runs on one thread per account, and never shared.
* googleapiclient refreshes credentials through a bare ``httplib2.Http()`` in places (its batch
  did, before a batch whose token looked expired and after a part answered 401), which knows
  nothing of the account's ``ca_bundle``; :class:`PinnedCredentials` makes every refresh use the
  account's transport.

Every request this plugin sends is safe to repeat (reads, ``activity:query`` which only reads, and
``{"trashed": false}`` which is idempotent), so connection failures are retried too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import HttpRequest

from trashscan.errors import AccountError, AuthError
from trashscan.models import Account
from trashscan.net_errors import checked_ca_bundle, host_label, remember_url
from trashscan.retry import Classification, parse_retry_after
from trashscan_google_drive import batch

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

log = logging.getLogger(__name__)

PROVIDER = "google-drive"
SECRET_KEY = "authorized_user"
BATCH_LIMIT = 100  # Drive's documented maximum of calls per batch (the SDK allows 1000)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
HTTP_TIMEOUT = 120  # seconds; httplib2 has none by default and a dead peer would hang a scan

GOOGLE_ROOT = "https://www.googleapis.com/"
ACTIVITY_ROOT = "https://driveactivity.googleapis.com/"


def relogin_hint(account: Account) -> str:
    return f"re-run `trashscan accounts add {PROVIDER} {account.name}`"


class GrantError(AuthError):
    """The refresh token no longer works (``invalid_grant``): only a new sign-in helps."""


def grant_error(account: Account) -> GrantError:
    return GrantError(
        f"Google grant of account {account.name!r} expired or was revoked",
        hint=relogin_hint(account),
    )


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where requests go: Google's hosts, or everything under one ``account.endpoint``."""

    drive: str  # client_options.api_endpoint of drive v3 (it replaces rootUrl + servicePath)
    batch: str
    activity: str  # client_options.api_endpoint of driveactivity v2 (servicePath is empty)
    token: str | None  # None: keep google-auth's default token URI

    @classmethod
    def for_account(cls, account: Account) -> Endpoints:
        if not account.endpoint:
            root = GOOGLE_ROOT
            return cls(f"{root}drive/v3/", f"{root}batch/drive/v3", ACTIVITY_ROOT, None)
        root = account.endpoint if account.endpoint.endswith("/") else account.endpoint + "/"
        return cls(f"{root}drive/v3/", f"{root}batch/drive/v3", root, f"{root}token")


class DriveApiError(AccountError):
    """A request Drive refused for good (not a throttle); callers branch on ``status``."""

    def __init__(self, what: str, status: int, reasons: frozenset[str]) -> None:
        message = f"Google Drive refused {what}: HTTP {status}"
        if reasons:
            message += f" ({', '.join(sorted(reasons))})"
        super().__init__(message)
        self.status = status
        self.reasons = reasons


class _PartsFailed(Exception):
    """Some parts of a batch were throttled; carries the longest ``Retry-After`` they gave."""

    def __init__(self, count: int, retry_after: float | None) -> None:
        super().__init__(f"{count} batch parts throttled")
        self.retry_after = retry_after


def error_reasons(exc: HttpError) -> frozenset[str]:
    """The ``reason`` strings of a Google error body.

    Read from the body rather than ``exc.error_details``, which holds ``details`` instead of
    ``errors`` whenever Google sends both.
    """
    try:
        error = json.loads(exc.content.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return frozenset()
    if not isinstance(error, dict):
        return frozenset()
    found = set()
    for key in ("errors", "details"):
        for entry in error.get(key) or ():
            if isinstance(entry, dict) and isinstance(entry.get("reason"), str):
                found.add(entry["reason"])
    return frozenset(found)


def classify(exc: BaseException) -> Classification:
    """The retry decision for one failure (see :data:`trashscan.retry.Classification`)."""
    if isinstance(exc, _PartsFailed):
        return exc.retry_after
    if isinstance(exc, BatchError):  # an HttpError without a status: an unreadable batch answer
        return None
    if isinstance(exc, HttpError):
        status = exc.status_code
        throttled = status == 403 and bool(error_reasons(exc) & RATE_LIMIT_REASONS)
        if status == 429 or status >= 500 or throttled:
            return parse_retry_after(exc.resp.get("retry-after"))
        return False
    if isinstance(exc, RefreshError):
        return None if exc.retryable else False
    # Connection failures are named (and their retries bounded) by the policy before this runs.
    if isinstance(exc, TransportError | httplib2.HttpLib2Error | OSError):
        return None
    return False


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time as Google writes it (``Z``, up to nanoseconds) in UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PinnedCredentials(Credentials):
    """User credentials that refresh through one transport, whatever transport a caller passes.

    googleapiclient's batch calls ``credentials.refresh(Request(httplib2.Http()))`` with a
    transport of its own (``_auth.refresh_credentials``): with an account ``ca_bundle`` (a private
    CA, a TLS-inspecting proxy) that refresh fails verification, and a token Google rejected
    before its expiry turns a restore into a TLS error. :meth:`pin` names the transport to use.
    """

    _pinned: google_auth_httplib2.Request | None = None

    def pin(self, http: httplib2.Http) -> None:
        """Refresh through ``http`` (the raw transport, not the authorised one: no recursion)."""
        self._pinned = google_auth_httplib2.Request(http)

    def refresh(self, request: Any) -> None:
        super().refresh(self._pinned or request)


def load_credentials(context: ProviderContext, account: Account) -> PinnedCredentials:
    raw = context.secrets.get(account.secret_service, SECRET_KEY)
    if raw is None:
        raise AuthError(
            f"no stored Google credentials for {account.name}",
            hint=f"run `trashscan accounts add {PROVIDER} {account.name} "
            "--option client_secrets=PATH`",
        )
    try:
        credentials = PinnedCredentials.from_authorized_user_info(json.loads(raw))
    except (ValueError, TypeError):
        raise AuthError(
            f"the stored Google credentials of {account.name} are unreadable",
            hint=relogin_hint(account),
        ) from None
    token_uri = Endpoints.for_account(account).token
    if not token_uri:
        return credentials
    # from_authorized_user_info always resets token_uri to Google's, and with_token_uri's copy
    # drops the expiry (the token would look valid forever and every run would start with a 401).
    moved = credentials.with_token_uri(token_uri)
    assert isinstance(moved, PinnedCredentials)  # google-auth copies with self.__class__
    moved.expiry = credentials.expiry
    return moved


class _Http(httplib2.Http):
    """httplib2's transport, whose connection errors remember the URL they failed on.

    httplib2 raises the bare ``ConnectionRefusedError`` or ``ssl.SSLError``, which do not say
    which host (Drive, the batch endpoint, Drive Activity or the token endpoint) failed.
    """

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(uri, *args, **kwargs)
        except Exception as exc:
            remember_url(exc, uri)
            raise


def make_http(account: Account) -> httplib2.Http:
    """The transport; token refreshes use it too (AuthorizedHttp refreshes through it)."""
    host = host_label(Endpoints.for_account(account).drive) or "www.googleapis.com"
    ca_certs = checked_ca_bundle(account, host)
    return _Http(ca_certs=ca_certs, timeout=account.timeout or HTTP_TIMEOUT)


class DriveSession:
    """Drive (and, on demand, Drive Activity) clients of one account, for one thread."""

    def __init__(self, context: ProviderContext, account: Account, http: Any) -> None:
        self.context = context
        self.account = account
        self.endpoints = Endpoints.for_account(account)
        self.credentials = load_credentials(context, account)
        self.credentials.pin(http)
        self._saved_token = self.credentials.token
        self.http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=http)
        self._refresh_request = google_auth_httplib2.Request(http)
        self.drive = build(
            "drive",
            "v3",
            http=self.http,
            client_options={"api_endpoint": self.endpoints.drive},
            static_discovery=True,
        )
        self._activity: Any = None

    @property
    def activity(self) -> Any:
        if self._activity is None:
            self._activity = build(
                "driveactivity",
                "v2",
                http=self.http,
                client_options={"api_endpoint": self.endpoints.activity},
                static_discovery=True,
            )
        return self._activity

    def call(self, request: HttpRequest, what: str) -> dict[str, Any]:
        """Execute one request under the retry policy; failures become trashscan errors."""
        return self._guarded(lambda: request.execute(), what)

    def batch(
        self, ids: Iterable[str], make: Callable[[str], batch.Call], what: str
    ) -> dict[str, dict[str, Any] | AccountError]:
        """Run ``make(id)`` for every id in batches of 100; one answer or error per id.

        Throttled parts are re-sent (only they) after the wait the policy picks, honouring the
        longest ``Retry-After`` among them; parts that fail for good get a :class:`DriveApiError`.
        """
        results: dict[str, dict[str, Any] | AccountError] = {}
        ordered = list(dict.fromkeys(ids))
        for start in range(0, len(ordered), BATCH_LIMIT):
            pending = ordered[start : start + BATCH_LIMIT]

            def attempt(pending: list[str] = pending) -> None:
                pending[:], wait = self._send_batch(pending, make, what, results)
                if pending:
                    raise _PartsFailed(len(pending), wait)

            try:
                self._guarded(attempt, what)
            except AuthError:
                raise
            except AccountError as exc:  # throttled beyond the budget, or the batch refused
                for file_id in pending:
                    results.setdefault(file_id, exc)
        return results

    def _send_batch(
        self,
        ids: list[str],
        make: Callable[[str], batch.Call],
        what: str,
        results: dict[str, dict[str, Any] | AccountError],
    ) -> tuple[list[str], float | None]:
        """Send one batch and record final answers; return the throttled ids and their wait.

        As googleapiclient's ``BatchHttpRequest.execute`` did: a token that looks expired is
        refreshed first; parts that answer 401 are sent again once, in one more batch, after a
        refresh; a batch refused as a whole raises ``HttpError``, an answer lacking a part
        ``BatchError`` (both retried by the policy)."""
        requests = {file_id: make(file_id) for file_id in ids}
        answers = self._post_batch(requests)
        unauthorised = [i for i in ids if answers[i].status == 401]
        if unauthorised:
            self.credentials.refresh(self._refresh_request)
            answers.update(self._post_batch({i: requests[i] for i in unauthorised}))
        retry: list[str] = []
        waits: list[float] = []
        for file_id in ids:
            answer = answers[file_id]
            if answer.status < 300:
                results[file_id] = _json_answer(answer, what)
                continue
            exc = HttpError(_response(answer), answer.body, uri=requests[file_id].uri)
            verdict = classify(exc)
            if verdict is False:
                if exc.status_code == 401:
                    raise grant_error(self.account)
                results[file_id] = DriveApiError(what, exc.status_code, error_reasons(exc))
                continue
            retry.append(file_id)
            if verdict is not None:
                waits.append(verdict)
        return retry, max(waits) if waits else None

    def _post_batch(self, requests: dict[str, batch.Call]) -> dict[str, batch.Answer]:
        """One POST of a batch; its answers by id (every id answered, or ``BatchError``)."""
        if not self.credentials.valid:
            self.credentials.refresh(self._refresh_request)
        auth: dict[str, str] = {}
        self.credentials.apply(auth)
        content_type, body = batch.encode(list(requests.items()), auth)
        uri = self.endpoints.batch
        response, content = self.http.request(
            uri, method="POST", body=body, headers={"content-type": content_type}
        )
        if response.status >= 300:
            raise HttpError(response, content, uri=uri)
        answers = batch.decode(response.get("content-type", ""), content)
        missing = [request_id for request_id in requests if request_id not in answers]
        if missing:
            raise BatchError(f"batch answer lacks part {missing[0]!r}")
        return answers

    def _guarded(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return self.context.retry.call(fn, classify, what=what)
        except RefreshError:
            raise grant_error(self.account) from None
        except HttpError as exc:
            if exc.status_code == 401:
                raise grant_error(self.account) from None
            raise DriveApiError(what, exc.status_code, error_reasons(exc)) from None
        finally:
            self._save_refreshed_token()

    def _save_refreshed_token(self) -> None:
        """Store a refreshed access token so that the next run need not refresh again."""
        if self.credentials.token and self.credentials.token != self._saved_token:
            self.context.secrets.set(
                self.account.secret_service, SECRET_KEY, self.credentials.to_json()
            )
            self._saved_token = self.credentials.token


def _response(answer: batch.Answer) -> httplib2.Response:
    """A part's status and headers as httplib2 gives a whole response's (for ``HttpError``)."""
    response = httplib2.Response({**answer.headers, "status": str(answer.status)})
    response.reason = answer.reason
    return response


def _json_answer(answer: batch.Answer, what: str) -> dict[str, Any] | AccountError:
    """A successful part's JSON object; a body that is not one is no answer (an error, so that
    no caller takes an empty object for what Drive said)."""
    if answer.status == 204:  # "No Content": what googleapiclient gave too
        return {}
    try:
        found = json.loads(answer.body)
    except ValueError:
        found = None
    if isinstance(found, dict):
        return found
    return AccountError(f"Google Drive answered {what} with no JSON object (HTTP {answer.status})")
