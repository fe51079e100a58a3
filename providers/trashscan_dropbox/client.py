"""One account's Dropbox client: its hosts, TLS trust, tokens, retries and error mapping.

Why not the SDK as it comes:

* Hosts come from environment variables read once at ``import dropbox``, and token refresh binds
  its host as a default argument, so neither can point one account at another server.
  :class:`TrashscanDropbox` sets the host map per client (kept across ``clone()``) and sends
  refreshes to the same API host.
* ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's ``verify`` when a
  request passes none (the SDK never passes one), which would silently swap an account's
  ``ca_bundle`` for another bundle. :class:`_PinnedSession` makes its own ``verify`` win; unlike
  ``trust_env = False`` it keeps proxies from the environment working.
* The SDK retries 429 forever and sleeps on 5xx itself. The client is built with both retry counts
  at 0 and every call goes through the core :class:`~trashscan.retry.RetryPolicy`, which honours
  ``Retry-After`` within a bounded budget and never really sleeps in tests.
* The access token (4 hours) is cached in the keyring next to the refresh token, so a scan of an
  unchanged account within that time costs one request instead of a refresh plus one.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import dropbox
import requests
from dropbox import exceptions as dbx
from dropbox.session import (
    API_CONTENT_HOST,
    API_HOST,
    API_NOTIFICATION_HOST,
    HOST_API,
    HOST_CONTENT,
    HOST_NOTIFY,
    WEB_HOST,
)

from trashscan import __version__
from trashscan.errors import AccountError, AuthError
from trashscan.models import Account
from trashscan.net_errors import checked_ca_bundle
from trashscan.retry import Classification
from trashscan.tls import PinnedVerifyMixin
from trashscan_dropbox.options import Settings, login_hint

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext

log = logging.getLogger(__name__)

T = TypeVar("T")

REFRESH_KEY = "refresh_token"
ACCESS_KEY = "access_token"  # cache: {"token": ..., "expires_at": naive UTC ISO time}
USER_AGENT = f"trashscan/{__version__}"
TIMEOUT = 100.0  # seconds without a packet before giving up (the SDK's default)
_OAUTH_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class Hosts:
    """Where requests go: Dropbox's hosts, or all of them on one ``account.endpoint``."""

    api: str
    content: str
    notify: str
    web: str

    @classmethod
    def for_account(cls, account: Account) -> Hosts:
        if not account.endpoint:
            return cls(API_HOST, API_CONTENT_HOST, API_NOTIFICATION_HOST, WEB_HOST)
        parts = urlsplit(account.endpoint)
        if parts.scheme != "https" or not parts.netloc or parts.path not in {"", "/"}:
            raise AccountError(
                f"endpoint {account.endpoint!r} of account {account.name!r} must be "
                "https://HOST[:PORT]/ (the Dropbox SDK speaks HTTPS only, at the server root)"
            )
        return cls(parts.netloc, parts.netloc, parts.netloc, parts.netloc)


class GrantRejected(Exception):
    """The token endpoint refused the refresh token (revoked, expired, or a wrong app key)."""


class MaybeApplied(Exception):
    """A write failed in a way that leaves open whether Dropbox applied it (5xx, lost link)."""


class TrashscanDropbox(dropbox.Dropbox):
    """``dropbox.Dropbox`` whose hosts, token refresh included, are set per client.

    Refreshes happen once: the scan calls ``list_revisions`` from several threads, and when the
    token expires under them every call in flight is refused (401 ``expired_access_token``) and
    the SDK has each of them refresh. Refreshes are serialised by a lock, and each thread
    remembers the token its last request carried: a thread that was refused with a token another
    thread has since replaced takes the new one instead of refreshing again.
    """

    def __init__(self, *args: Any, hosts: Hosts | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refresh_lock = threading.RLock()
        self._sent = threading.local()  # .token: what this thread's last request carried
        if hosts is not None:
            self._host_map = {
                HOST_API: hosts.api,
                HOST_CONTENT: hosts.content,
                HOST_NOTIFY: hosts.notify,
            }

    def clone(self, *args: Any, **kwargs: Any) -> TrashscanDropbox:
        # The SDK's clone() rebuilds from constructor arguments only, which lose the host map.
        copy = super().clone(*args, **kwargs)
        copy._host_map = dict(self._host_map)
        return copy

    def request_json_string(self, *args: Any, **kwargs: Any) -> Any:
        self._sent.token = self._oauth2_access_token
        return super().request_json_string(*args, **kwargs)

    def check_and_refresh_access_token(self) -> None:
        self._sent.token = None  # an expiring token is refreshed whoever last sent it
        with self._refresh_lock:  # a thread that waited here sees the new token and skips
            super().check_and_refresh_access_token()

    def refresh_access_token(self, host: str | None = None, scope: list[str] | None = None) -> None:
        refused, self._sent.token = getattr(self._sent, "token", None), None
        with self._refresh_lock:
            current = self._oauth2_access_token
            if refused is not None and current is not None and current != refused:
                return  # another thread refreshed it while this one waited: retry with that
            try:
                super().refresh_access_token(host=host or self._host_map[HOST_API], scope=scope)
            except (dbx.AuthError, dbx.BadInputError) as exc:  # see raise_dropbox_error_for_resp
                raise GrantRejected(f"HTTP {exc.status_code}") from None
            except AssertionError:  # the SDK asserts a JSON body on a token endpoint's 401
                raise GrantRejected("HTTP 401") from None

    def raise_dropbox_error_for_resp(self, res: requests.Response) -> None:
        """A refused refresh says what the token endpoint said (``HTTP 400 invalid_grant``).

        The SDK turns a 400 ``invalid_grant`` into ``AuthError(invalid_access_token)``, whose
        status reads 401, the same as a bad access token on an API call.
        """
        if res.status_code in (400, 401) and urlsplit(res.url).path == "/oauth2/token":
            raise GrantRejected(token_refusal(res))
        super().raise_dropbox_error_for_resp(res)

    @property
    def access_token(self) -> tuple[str | None, datetime | None]:
        return self._oauth2_access_token, self._oauth2_access_token_expiration


def token_refusal(res: requests.Response) -> str:
    """``HTTP 400 invalid_grant``: the status and the RFC 6749 ``error`` code, nothing else (the
    description is free text)."""
    try:
        code = res.json().get("error")
    except (ValueError, AttributeError):
        code = None
    shown = f" {code}" if isinstance(code, str) and _OAUTH_CODE.fullmatch(code) else ""
    return f"HTTP {res.status_code}{shown}"


class _PinnedSession(PinnedVerifyMixin, requests.Session):
    """A session whose own ``verify`` beats REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE."""


def make_http(account: Account, pool_size: int) -> requests.Session:
    """The HTTPS session of one account, trusting only its ``ca_bundle`` when it has one."""
    session = _PinnedSession()
    session.verify = checked_ca_bundle(account, Hosts.for_account(account).api) or True
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4))
    session.mount("https://", adapter)
    return session


def classify_read(exc: BaseException) -> Classification:
    """Retry decision for calls that only read: throttling, 5xx and lost connections retry."""
    if isinstance(exc, dbx.RateLimitError):
        return float(exc.backoff) if exc.backoff is not None else None
    if isinstance(exc, dbx.InternalServerError):
        return None
    if isinstance(exc, requests.ConnectionError | requests.Timeout):  # named by the policy
        return None
    return False


def classify_write(exc: BaseException) -> Classification:
    """Retry decision for writes: only a 429, which Dropbox answers before acting."""
    if isinstance(exc, dbx.RateLimitError):
        return float(exc.backoff) if exc.backoff is not None else None
    return False


def error_tag(exc: dbx.ApiError) -> str:
    """A route error as ``tag/subtag/...``, the start of Dropbox's ``error_summary``."""
    parts: list[str] = []
    value: Any = exc.error
    while hasattr(value, "_tag") and len(parts) < 4:
        parts.append(str(value._tag))
        value = getattr(value, "_value", None)
    return "/".join(parts) or "unknown"


def _load_cached_token(raw: str | None) -> tuple[str | None, datetime | None]:
    if not raw:
        return None, None
    try:
        data = json.loads(raw)
        token, expires = data["token"], datetime.fromisoformat(data["expires_at"])
    except (ValueError, KeyError, TypeError):
        return None, None
    if not isinstance(token, str):
        return None, None
    if expires.tzinfo is not None:  # the SDK compares with naive UTC
        expires = expires.astimezone(UTC).replace(tzinfo=None)
    return token, expires


class DropboxSession:
    """The client of one account for one scan or restore, with trashscan's error mapping."""

    def __init__(self, context: ProviderContext, account: Account, settings: Settings) -> None:
        self.context = context
        self.account = account
        self.settings = settings
        hosts = Hosts.for_account(account)
        service = account.secret_service
        refresh_token = context.secrets.get(service, REFRESH_KEY)
        if not refresh_token:
            raise AuthError(
                f"no stored Dropbox sign-in for account {account.name!r}",
                hint=login_hint(account),
            )
        token, expires = _load_cached_token(context.secrets.get(service, ACCESS_KEY))
        self.http = make_http(account, settings.revision_workers)
        self.client = TrashscanDropbox(
            oauth2_access_token=token,
            oauth2_access_token_expiration=expires,
            oauth2_refresh_token=refresh_token,
            app_key=settings.app_key,
            max_retries_on_error=0,
            max_retries_on_rate_limit=0,
            user_agent=USER_AGENT,
            session=self.http,
            timeout=account.timeout or TIMEOUT,
            hosts=hosts,
        )
        self._saved_token = token
        self._forced_refresh = False
        self._lock = threading.Lock()

    def read(
        self,
        fn: Callable[[], T],
        what: str,
        classify: Callable[[BaseException], Classification] = classify_read,
    ) -> T:
        """Run a read under the retry policy; ``ApiError`` (route errors) reaches the caller."""
        return self._guarded(fn, what, classify)

    def write(self, fn: Callable[[], T], what: str) -> T:
        """Run a write; only 429s are retried, an unknown outcome raises :class:`MaybeApplied`."""
        try:
            return self._guarded(fn, what, classify_write)
        except (dbx.InternalServerError, requests.ConnectionError, requests.Timeout) as exc:
            raise MaybeApplied(type(exc).__name__) from None

    def _guarded(
        self, fn: Callable[[], T], what: str, classify: Callable[[BaseException], Classification]
    ) -> T:
        try:
            try:
                return self.context.retry.call(fn, classify, what=f"Dropbox {what}")
            except dbx.AuthError as exc:
                if not self._retry_with_new_token(exc):
                    raise
                refresh = self.client.refresh_access_token
                self.context.retry.call(refresh, classify_read, what="Dropbox token refresh")
                return self.context.retry.call(fn, classify, what=f"Dropbox {what}")
        except GrantRejected as exc:
            raise AuthError(
                f"Dropbox refused the stored sign-in of account {self.account.name!r} ({exc}); "
                "it was revoked, expired, or belongs to another app key",
                hint=login_hint(self.account),
            ) from None
        except dbx.AuthError as exc:
            raise self._auth_error(exc) from None
        except dbx.ApiError:
            raise
        except dbx.HttpError as exc:  # 400 (a bad request), 422 (path root), other statuses
            if isinstance(exc, dbx.InternalServerError | dbx.RateLimitError):
                raise
            raise AccountError(f"Dropbox refused {what}: HTTP {exc.status_code}") from None
        finally:
            self._save_token()

    def _retry_with_new_token(self, exc: dbx.AuthError) -> bool:
        """An access token Dropbox no longer takes (a stale cached one) is refreshed, once.

        The SDK refreshes by itself only on ``expired_access_token``.
        """
        error = exc.error
        if self._forced_refresh or error is None or not error.is_invalid_access_token():
            return False
        self._forced_refresh = True
        return True

    def _auth_error(self, exc: dbx.AuthError) -> AuthError:
        error = exc.error
        if error is not None and error.is_missing_scope():
            scope = error.get_missing_scope().required_scope
            return AuthError(
                f"the Dropbox app of account {self.account.name!r} lacks the permission {scope}",
                hint="tick it under Permissions in the Dropbox App Console, then "
                + login_hint(self.account),
            )
        tag = getattr(error, "_tag", None) or "unauthorized"
        return AuthError(
            f"Dropbox refused the sign-in of account {self.account.name!r} ({tag})",
            hint=login_hint(self.account),
        )

    def _save_token(self) -> None:
        """Keep a refreshed access token so the next run need not refresh (4 hours)."""
        token, expires = self.client.access_token
        if not token or token == self._saved_token or expires is None:
            return
        with self._lock:
            if token == self._saved_token:
                return
            value = json.dumps({"token": token, "expires_at": expires.isoformat()})
            self.context.secrets.set(self.account.secret_service, ACCESS_KEY, value)
            self._saved_token = token

    def close(self) -> None:
        self.http.close()
