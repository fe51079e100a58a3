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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from trashscan import __version__
from trashscan.errors import AccountError, AuthError
from trashscan.models import Account
from trashscan.net_errors import checked_ca_bundle, host_label
from trashscan.tls import PinnedVerifyMixin
from trashscan_onedrive.options import GRAPH_ROOT, Settings, login_hint
from trashscan_onedrive.tokens import TokenSource

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

log = logging.getLogger(__name__)

TIMEOUT = 100.0  # seconds without a packet before giving up
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


class GraphSession:
    """Graph requests of one account for one scan or restore (one thread)."""

    def __init__(self, context: ProviderContext, account: Account, settings: Settings) -> None:
        self.context = context
        self.account = account
        self.settings = settings
        self.http = make_http(account)
        self.tokens = TokenSource(context, account, settings, self.http)
        self._host = urlsplit(settings.graph).netloc

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
        for attempt in (1, 2):
            token = self.tokens.token(force_refresh=attempt == 2)
            sent = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, **(headers or {})}
            kwargs: dict[str, Any] = {"headers": sent, "allow_redirects": False}
            if body is not None:
                kwargs["json"] = dict(body)
            # Connection failures leave as NetworkError naming the cause and host (the policy).
            response = self.context.retry.request(self.http, method, url, **kwargs)
            if response.status_code != 401:
                return response
            log.debug("401 from Graph (attempt %d): refreshing the token", attempt)
        raise AuthError(
            f"Microsoft Graph refused the sign-in of OneDrive account {self.account.name!r} "
            "(HTTP 401)",
            hint=login_hint(self.account),
        )

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
