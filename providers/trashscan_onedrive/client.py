"""One account's Graph client: TLS trust, bearer tokens, retries, paging and error mapping.

* Plain ``requests`` through the core :class:`~trashscan.retry.RetryPolicy`: Graph throttles with
  429 (and SharePoint-backed drives with 503) plus ``Retry-After``, which the policy honours within
  a bounded budget. A POST is retried only when Graph provably did not act on it.
* :class:`PinnedSession` makes the session's own ``verify`` (the account's ``ca_bundle``) win over
  REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE, which ``requests`` would otherwise let replace it. The same
  session serves msal, so sign-in and Graph trust the same certificates.
* A 401 gets one forced token refresh and one more try; a second 401 is an :class:`AuthError`.
* Paging follows ``@odata.nextLink`` verbatim, as Graph asks, but only on the account's own Graph
  host: a link elsewhere would carry the bearer token to a stranger.
* Reads that do not depend on each other go up to :data:`BATCH_MAX` in one ``POST /v1.0/$batch``
  (:meth:`GraphSession.get_many`), as Graph's JSON batching documents [concepts/json-batching]:
  parts carry relative urls; "individual responses might appear in a different order than the
  requests", so answers are paired by ``id``, never by position; "a 200 status code on the batch
  response headers doesn't indicate that the individual requests inside the batch succeeded":
  each part's own status is read, as the direct call's would be. "Requests in a batch are
  evaluated individually against the applicable throttling limits": a part answered 429 (or
  another status the retry policy retries for a GET: 500, 502, 503, 504) is sent again, with the
  others that need it, in a new batch "after the longest retry-after value" [throttling,
  "Throttling and batching"], within the retry policy's attempts and budget; past them, that
  part fails as its direct call would. A part answered 401 is sent directly (the direct call
  refreshes the token once). Writes are never batched here: a restore must follow the answer of
  the one before it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from trashscan import __version__
from trashscan.errors import AccountError, AuthError, ProviderUnavailableError
from trashscan.models import Account
from trashscan.net_errors import checked_ca_bundle, host_label
from trashscan.retry import RETRYABLE_STATUSES, parse_retry_after
from trashscan.tls import PinnedVerifyMixin
from trashscan_onedrive.options import GRAPH_ROOT, Settings, login_hint
from trashscan_onedrive.tokens import TokenSource

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

log = logging.getLogger(__name__)

TIMEOUT = 100.0  # seconds without a packet before giving up
BATCH_MAX = 20  # "JSON batch requests are currently limited to 20 individual requests"
# A batch answered with one of these is not taken by this service (the batch route or its
# payload refused): its reads go the documented direct way, for the rest of the session.
BATCH_REFUSED = frozenset({400, 404, 405, 501})
# SharePoint asks ISVs to decorate traffic like this, so throttling can tell apps apart.
USER_AGENT = f"ISV|trashscan|trashscan/{__version__}"


class PinnedSession(PinnedVerifyMixin, requests.Session):
    """A session whose own ``verify`` beats REQUESTS_CA_BUNDLE, with a default timeout."""

    timeout: float = TIMEOUT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)  # msal passes none; a dead peer would hang
        return super().request(method, url, *args, **kwargs)


def make_http(account: Account) -> PinnedSession:
    session = PinnedSession()
    host = host_label(account.endpoint or GRAPH_ROOT) or "graph.microsoft.com"
    session.verify = checked_ca_bundle(account, host) or True
    session.timeout = account.timeout or TIMEOUT
    return session


_QUERY_SAFE = "$,()':"


def query(pairs: Mapping[str, object]) -> str:
    """A query string as Graph's docs write it (``$select=a,b``): ``$ , ( ) ' :`` stay literal."""
    return "&".join(f"{key}={quote(str(value), safe=_QUERY_SAFE)}" for key, value in pairs.items())


class GraphError(AccountError):
    """Graph refused a request for good (not a throttle); callers branch on ``status``/``code``."""

    def __init__(self, what: str, status: int, code: str | None, message: str | None) -> None:
        text = f"OneDrive refused {what}: HTTP {status}" + (f" ({code})" if code else "")
        super().__init__(text)
        self.status = status
        self.code = code
        self.detail = message


def error_of(response: requests.Response) -> tuple[str | None, str | None]:
    """``error.code`` and ``error.message`` of a Graph error body, when it has them."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)


class Part:
    """One part of a JSON batch's answer, read like the direct call's response: ``status_code``,
    ``headers`` (case-insensitive) and ``json()`` (its JSON body; ValueError when it has none)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        self.status_code = status
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers)
        self._body = body

    def json(self) -> Any:
        if self._body is None or isinstance(self._body, str):  # absent, or base64 content
            raise ValueError("no JSON body")
        return self._body

    def close(self) -> None:
        """Nothing to hand back: the batch's connection was released with its answer."""


class GraphSession:
    """Graph requests of one account for one scan or restore (from one thread or several: its
    token source refreshes an expired token once for all of them)."""

    def __init__(self, context: ProviderContext, account: Account, settings: Settings) -> None:
        self.context = context
        self.account = account
        self.settings = settings
        self.http = make_http(account)
        self.tokens = TokenSource(context, account, settings, self.http)
        self._host = urlsplit(settings.graph).netloc
        self.batching = True  # False once the service refused a batch (see BATCH_REFUSED)

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One request with a bearer token, under the retry policy; the caller reads the status."""
        if urlsplit(url).netloc != self._host:
            raise AccountError(
                f"OneDrive sent a link to another host ({urlsplit(url).netloc}); not followed"
            )
        refused: str | None = None
        for attempt in (1, 2):
            token = self.tokens.token(refused=refused)
            sent = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, **(headers or {})}
            kwargs: dict[str, Any] = {"headers": sent, "allow_redirects": False}
            if body is not None:
                kwargs["json"] = dict(body)
            # Connection failures leave as NetworkError naming the cause and host (the policy).
            response = self.context.retry.request(self.http, method, url, **kwargs)
            if response.status_code != 401:
                return response
            log.debug("401 from Graph (attempt %d): refreshing the token", attempt)
            refused = token
        raise AuthError(
            f"Microsoft Graph refused the sign-in of OneDrive account {self.account.name!r} "
            "(HTTP 401)",
            hint=login_hint(self.account),
        )

    def get_many(self, urls: Sequence[str]) -> list[requests.Response | Part | AccountError]:
        """``GET`` each url (all under ``{graph}v1.0/``), :data:`BATCH_MAX` to a ``$batch``;
        for each, in order, its answer (a response or a batch :class:`Part`, read alike) or the
        :class:`AccountError` its direct call would have raised. A single url goes directly
        (a batch of one saves nothing). :class:`AuthError` is raised, as by :meth:`send`."""
        results: list[requests.Response | Part | AccountError | None] = [None] * len(urls)
        for start in range(0, len(urls), BATCH_MAX):
            self._batch(urls, list(range(start, min(start + BATCH_MAX, len(urls)))), results)
        return [r if r is not None else AccountError("OneDrive gave no answer") for r in results]

    def _direct(self, url: str) -> requests.Response | AccountError:
        try:
            return self.send("GET", url)
        except AuthError:
            raise
        except AccountError as exc:
            return exc

    def _batch(
        self,
        urls: Sequence[str],
        pending: list[int],
        results: list[requests.Response | Part | AccountError | None],
    ) -> None:
        root = self.settings.v1("")
        policy = self.context.retry
        host = urlsplit(root).hostname or "graph.microsoft.com"
        waited, attempt = 0.0, 0
        while pending:
            single = attempt == 0 and len(pending) == 1  # parts asked again stay in a batch
            if not self.batching or single or not all(urls[i].startswith(root) for i in pending):
                for index in pending:
                    results[index] = self._direct(urls[index])
                return
            attempt += 1
            parts = [
                {"id": str(i), "method": "GET", "url": "/" + urls[i][len(root) :]} for i in pending
            ]
            try:
                response = self.send("POST", self.settings.v1("$batch"), body={"requests": parts})
            except AuthError:
                raise
            except AccountError as exc:  # throttled out, or the connection failed
                for index in pending:
                    results[index] = exc
                return
            again: list[tuple[int, int, float | None]] = []  # (index, status, retry-after)
            if response.status_code in BATCH_REFUSED:
                code, _ = error_of(response)
                log.info(
                    "Graph refused a JSON batch (HTTP %d %s): direct calls from now on",
                    response.status_code,
                    code or "",
                )
                self.batching = False
                continue
            if response.status_code != 200:  # a 5xx the policy does not retry for a POST
                delay = parse_retry_after(response.headers.get("Retry-After"))
                again = [(i, response.status_code, delay) for i in pending]
            else:
                answers = _batch_answers(response)
                for index in pending:
                    answer = answers.get(str(index))
                    if answer is None:  # the part is missing from the answer: ask again
                        again.append((index, 0, None))
                    elif answer.status_code in RETRYABLE_STATUSES:
                        delay = parse_retry_after(answer.headers.get("Retry-After"))
                        again.append((index, answer.status_code, delay))
                    elif answer.status_code == 401:  # the direct call refreshes the token
                        results[index] = self._direct(urls[index])
                    else:
                        results[index] = answer
            pending = [index for index, _, _ in again]
            if not pending:
                return
            asked = [delay for _, _, delay in again if delay is not None]
            longest = max(asked) if asked else None
            status = max(code for _, code, _ in again)
            failure = f"HTTP {status} from {host}" if status else f"no answer from {host}"
            try:
                delay = policy.next_wait(attempt, longest, waited, failure)
            except ProviderUnavailableError as error:
                for index in pending:
                    results[index] = error
                return
            log.debug("retrying %d parts of a batch in %.2f s", len(pending), delay)
            policy.sleep(delay)
            waited += delay

    def check(self, response: requests.Response, what: str) -> requests.Response:
        """Raise :class:`GraphError` unless the status is 2xx."""
        if 200 <= response.status_code < 300:
            return response
        code, message = error_of(response)
        raise GraphError(what, response.status_code, code, message)

    def get_json(self, url: str, what: str) -> dict[str, Any]:
        response = self.check(self.send("GET", url), what)
        return json_of(response, what)

    def close(self) -> None:
        self.tokens.save()
        self.http.close()


def _batch_answers(response: requests.Response) -> dict[str, Part]:
    """A batch's answers by id (ids are "Not case-sensitive": compared lower-cased; ours are
    digits), whatever their order; answers without a usable id or status are left out."""
    try:
        entries = response.json().get("responses")
    except (ValueError, AttributeError):
        entries = None
    answers: dict[str, Part] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        status, headers = entry.get("status"), entry.get("headers")
        if not isinstance(status, int) or isinstance(status, bool):
            continue
        if not isinstance(headers, dict):
            headers = {}
        clean = {str(k): str(v) for k, v in headers.items()}
        answers[entry["id"].lower()] = Part(status, clean, entry.get("body"))
    return answers


def json_of(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise AccountError(f"OneDrive answered {what} with something that is not JSON") from None
    if not isinstance(data, dict):
        raise AccountError(f"OneDrive answered {what} with unexpected JSON")
    return data


def permission_refusal(session: GraphSession, what: str, needed: str) -> str:
    """Name the delegated permission a 403 points at, from the scopes the token holds."""
    if needed.lower() in session.tokens.granted():
        return (
            f"OneDrive refused {what} (HTTP 403) although the sign-in holds {needed}: your "
            "account itself may not be allowed to restore there"
        )
    return (
        f"OneDrive refused {what} (HTTP 403): it needs the delegated permission {needed}, which "
        f"this sign-in does not hold; add it to your app registration, then "
        f"{login_hint(session.account)}"
    )
