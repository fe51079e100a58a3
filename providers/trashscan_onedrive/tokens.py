"""Access tokens from msal, with its token cache kept in the core's encrypted blob store.

Why these choices:

* The msal cache (``SerializableTokenCache``) of one account is several KB: access tokens of
  1.5-3 KB each plus a refresh token. Windows Credential Manager caps a value at 2,560 bytes, so
  the cache goes through ``SecretStore.set_blob`` (a Fernet-encrypted private file whose key is in
  the keyring), never through ``set`` or the config. It is written only when msal changed it.
* msal gets the account's own ``requests`` session as ``http_client``, so the sign-in traffic
  trusts exactly the account's ``ca_bundle`` (REQUESTS_CA_BUNDLE cannot override it) and goes to
  the account's authority (national clouds, the sandbox).
* Instance discovery (a GET to login.microsoftonline.com that msal makes for unknown hosts and,
  for aliases, on first token use) is turned off when the authority is not a Microsoft login host
  or the Graph endpoint is overridden: a sandbox or national cloud must not talk to the global
  login host.
* msal caches HTTP failures per app instance (an identical refused refresh is answered from memory
  for 60 s), so one app is built per session and never shared between accounts or runs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msal
import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
from msal.exceptions import MsalServiceError

from trashscan.errors import AccountError, AuthError, ProviderUnavailableError
from trashscan.models import Account
from trashscan.net_errors import diagnose
from trashscan_onedrive.options import RESERVED_SCOPES, Settings, login_hint

if TYPE_CHECKING:
    from trashscan.provider import ProviderContext
    from trashscan.retry import Classification, RetryPolicy

CACHE_KEY = "msal_cache"
_AADSTS = re.compile(r"AADSTS\d+")


def instance_discovery(settings: Settings) -> bool | None:
    """False where msal must not ask login.microsoftonline.com about the authority."""
    host = urlsplit(settings.authority).hostname or ""
    if settings.endpoint_overridden or host not in WELL_KNOWN_AUTHORITY_HOSTS:
        return False
    return None  # msal's default: discovery of the authority's aliases


def build_app(
    settings: Settings,
    cache: msal.SerializableTokenCache,
    http: requests.Session,
    retry: RetryPolicy | None = None,
) -> msal.PublicClientApplication:
    """The msal app of one account; constructing it reads the authority's OpenID configuration."""
    return guarded(
        "the sign-in server",
        lambda: msal.PublicClientApplication(
            settings.client_id,
            authority=settings.authority,
            token_cache=cache,
            http_client=http,
            instance_discovery=instance_discovery(settings),
        ),
        retry,
    )


def _never(exc: BaseException) -> Classification:
    return False


def guarded(what: str, fn: Callable[[], Any], retry: RetryPolicy | None = None) -> Any:
    """Run an msal call; transport failures become one-line account errors naming the cause.

    msal has no retries of its own worth the name. Under ``retry`` (the core policy), only a
    connection that failed before anything was sent (refused, connect timeout) is tried again: a
    token request may have been acted on once it left.
    """
    try:
        if retry is None:
            return fn()
        return retry.call(fn, _never, what=what)
    except (requests.ConnectionError, requests.Timeout) as exc:
        network = diagnose(exc)
        if network is not None:
            raise network.error() from None
        raise ProviderUnavailableError(
            f"cannot reach {what} ({type(exc).__name__})",
            hint="check the network, or try again later",
        ) from None
    except MsalServiceError as exc:  # msal: a 5xx from a discovery GET (raise_for_status)
        raise ProviderUnavailableError(
            f"{what} failed ({str(exc).splitlines()[0][:120]})",
            hint="try again later",
        ) from None
    except ValueError as exc:  # msal: a bad authority, or its discovery refused (4xx)
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise AccountError(
            f"the Microsoft sign-in could not start: {first}",
            hint="check the account's authority and client_id options",
        ) from None


def describe_failure(result: dict[str, Any] | None) -> str:
    """``invalid_grant, AADSTS700082`` from an msal error dict; never the token or description."""
    if not result:
        return "no usable sign-in in the token cache"
    parts = [str(result.get("error") or "error")]
    found = _AADSTS.search(str(result.get("error_description") or ""))
    if found:
        parts.append(found.group(0))
    return ", ".join(parts)


def consented_scopes(cache: msal.TokenCache, client_id: str) -> list[str]:
    """The scopes the stored refresh token was granted, without the ones msal adds itself.

    Silent requests ask for exactly these. A personal Microsoft account is not offered the
    SharePoint scope (Sites.ReadWrite.All) and its grant omits it; asking a refresh for a scope
    that was never granted would be refused (``invalid_grant``, consent required).
    """
    for entry in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN):
        if entry.get("client_id") != client_id:
            continue
        words = str(entry.get("target") or "").split()
        kept = [w for w in words if w.rsplit("/", 1)[-1].lower() not in RESERVED_SCOPES]
        if kept:
            return kept
    return []


def granted_scopes(app: msal.PublicClientApplication, token: str) -> frozenset[str]:
    """The scopes the cached access token ``token`` was issued for (short names, lower case)."""
    for entry in app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN):
        if entry.get("secret") == token:
            words = str(entry.get("target") or "").split()
            return frozenset(w.rsplit("/", 1)[-1].lower() for w in words)
    return frozenset()


class TokenSource:
    """Silent tokens for one account, for one session; never prompts.

    A session's calls may run on several threads (a restore's lookups): when the token expires
    under them, each is refused with 401 at once. The first to ask refreshes it; the others,
    naming the token they were refused with, get the new one (one refresh, not one each: each
    refresh also rotates the refresh token, and concurrent rotations race to be saved).
    """

    def __init__(self, context: ProviderContext, account: Account, settings: Settings, http: Any):
        self.context = context
        self.account = account
        self.settings = settings
        self.http = http
        self._app: msal.PublicClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        self._token: str | None = None
        self._lock = threading.Lock()
        self.username: str | None = None

    def _load(self) -> msal.PublicClientApplication:
        if self._app is not None:
            return self._app
        blob = self.context.secrets.get_blob(self.account.secret_service, CACHE_KEY)
        if not blob:
            raise AuthError(
                f"no stored Microsoft sign-in for OneDrive account {self.account.name!r}",
                hint=login_hint(self.account),
            )
        cache = msal.SerializableTokenCache()
        try:
            cache.deserialize(blob.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise AuthError(
                f"the stored Microsoft sign-in of {self.account.name!r} is unreadable",
                hint=login_hint(self.account),
            ) from None
        self._cache = cache
        self._app = build_app(self.settings, cache, self.http, self.context.retry)
        return self._app

    def token(self, *, refused: str | None = None) -> str:
        """A valid access token (from the cache, or refreshed with the refresh token).

        ``refused``: the token Graph just refused; it is refreshed unless another thread did so
        meanwhile."""
        with self._lock:
            if refused is None and self._token is not None:
                return self._token
            if refused is not None and self._token not in (None, refused):
                return self._token
            return self._acquire(force_refresh=refused is not None)

    def _acquire(self, *, force_refresh: bool) -> str:
        app = self._load()
        accounts = guarded("the sign-in server", app.get_accounts, self.context.retry)
        if not accounts:
            raise AuthError(
                f"the stored Microsoft sign-in of {self.account.name!r} holds no account",
                hint=login_hint(self.account),
            )
        chosen = accounts[0]
        try:
            result = guarded(
                "the sign-in server",
                lambda: app.acquire_token_silent_with_error(
                    self._scopes(), account=chosen, force_refresh=force_refresh
                ),
                self.context.retry,
            )
        finally:
            self.save()
        if not result or "access_token" not in result:
            raise AuthError(
                f"Microsoft refused the stored sign-in of OneDrive account {self.account.name!r} "
                f"({describe_failure(result)})",
                hint=login_hint(self.account),
            )
        self.username = chosen.get("username") or None
        self._token = str(result["access_token"])
        return self._token

    def _scopes(self) -> list[str]:
        """What the sign-in was granted (see :func:`consented_scopes`), else what is configured."""
        assert self._cache is not None
        return consented_scopes(self._cache, self.settings.client_id) or list(self.settings.scopes)

    def adopt(
        self, app: msal.PublicClientApplication, cache: msal.SerializableTokenCache, token: str
    ) -> None:
        """Use the app and token of a sign-in that just happened (no second discovery)."""
        self._app, self._cache, self._token = app, cache, token

    def granted(self) -> frozenset[str]:
        """Scopes of the current token, for "which permission is missing" messages."""
        if self._app is None or self._token is None:
            return frozenset()
        return granted_scopes(self._app, self._token)

    def save(self) -> None:
        """Persist the msal cache when msal changed it (a refresh rotates the refresh token)."""
        cache = self._cache
        if cache is not None and cache.has_state_changed:
            data = cache.serialize().encode("utf-8")
            self.context.secrets.set_blob(self.account.secret_service, CACHE_KEY, data)
            cache.has_state_changed = False


def save_cache(
    context: ProviderContext, account: Account, cache: msal.SerializableTokenCache
) -> None:
    """Store a fresh cache after sign-in (always: it replaces whatever was there)."""
    data = cache.serialize().encode("utf-8")
    context.secrets.set_blob(account.secret_service, CACHE_KEY, data)
    cache.has_state_changed = False
