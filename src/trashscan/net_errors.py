"""What a failed connection really was, said in one line with the host.

A person reading "after 5 attempts (the provider is throttling or unavailable)" waits and tries
again; a person reading "nowhere.invalid does not resolve" fixes the endpoint. The providers'
HTTP libraries raise different types for the same cause, wrapped differently:

* ``requests``/``urllib3`` (Dropbox, OneDrive, iCloud, the notifiers): ``ConnectionError`` or
  ``SSLError`` or ``ReadTimeout`` around ``MaxRetryError`` around ``NewConnectionError`` /
  ``NameResolutionError`` / ``urllib3.exceptions.SSLError`` around the ``OSError``/``ssl`` error;
  the failed request (and so its host) hangs off the outer exception;
* ``httplib2`` (Google Drive): the bare ``ConnectionRefusedError``, ``ssl.SSLError`` or
  ``TimeoutError``, or ``ServerNotFoundError`` for DNS, none of them naming the host;
* ``google-auth`` wraps some of those in ``TransportError``; pyicloud wraps requests' in
  ``PyiCloudConnectionException`` (``from`` the original).

:func:`diagnose` walks an exception's whole chain (causes, contexts, exceptions passed as
arguments, urllib3's ``reason``) and names the cause once, for every library. The retry policy
(:mod:`trashscan.retry`) asks it first, so that every provider retries the same causes the same
number of times, and the provider clients ask it where they map exceptions to messages.

Decisions:

* Never retried (they will not fix themselves): a name that does not resolve, a certificate the
  account does not trust, a server that does not speak TLS where HTTPS was asked for, another TLS
  handshake failure, a missing CA bundle file. A *temporary* resolver failure (``EAI_AGAIN``, as
  when the network is down) is retried like a refused connection.
* Retried briefly: a refused or unreachable connection, a connection closed without an answer,
  and a timeout (fewer times: each attempt costs a whole timeout). See :class:`RetryPolicy`.
* Failures that happened before anything was sent (DNS, connect, TLS handshake) are safe to repeat
  for any request, POST included; the others are repeated only when the caller says so.
* Messages name the cause and the host (with its port when it is not the scheme's default), never
  a URL path, header, body or secret; TLS verification adds OpenSSL's short reason.

Nothing heavy is imported here: library types are looked up only when their module is already
loaded (no exception of a library that was never imported can exist).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import socket
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from trashscan.errors import ProviderUnavailableError

if TYPE_CHECKING:
    from trashscan.models import Account

__all__ = [
    "Cause",
    "Diagnosis",
    "NetworkError",
    "checked_ca_bundle",
    "diagnose",
    "host_label",
    "remember_url",
]

_URL_ATTRIBUTE = "trashscan_url"
_DEFAULT_PORTS = {"https": 443, "http": 80}
# OpenSSL's reasons when the peer answered a ClientHello with something that is not TLS (a plain
# HTTP server answers "HTTP/1.1 400 ..."): the record header does not parse as TLS.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"}
)
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.ENETDOWN}
)
_CA_MISSING_TEXT = "Could not find a suitable TLS CA certificate bundle, invalid path: "


class Cause(enum.Enum):
    """Why a connection failed; ``retryable`` says whether trying again can help."""

    DNS = "dns"
    DNS_TEMPORARY = "dns-temporary"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS_UNTRUSTED = "tls-untrusted"
    NOT_TLS = "not-tls"
    TLS = "tls"
    CLOSED = "closed"
    CA_MISSING = "ca-missing"
    CONNECTION = "connection"

    @property
    def retryable(self) -> bool:
        return self not in _FINAL


_FINAL = frozenset({Cause.DNS, Cause.TLS_UNTRUSTED, Cause.NOT_TLS, Cause.TLS, Cause.CA_MISSING})


_TRY_LATER = "check the network connection; try again later"
# Each cause's message and hint. Fields: {host}; {tries}, " (N attempts)" after a retried cause;
# {reason}, " (detail)" (OpenSSL's reason, the exception type); {path}, " <the CA bundle's path>";
# {route}, the unreachable errno's text. The CLOSED hint differs for an http:// endpoint.
_SAYS: dict[Cause, tuple[str, str]] = {
    Cause.DNS: (
        "{host} does not resolve (DNS: no such host)",
        "check the host name (the account's endpoint, if set) and the network's DNS",
    ),
    Cause.DNS_TEMPORARY: ("DNS lookup of {host} failed{tries}", _TRY_LATER),
    Cause.REFUSED: (
        "{host} refused the connection{tries}",
        "nothing listens there: check the endpoint's host and port, or try again later",
    ),
    Cause.UNREACHABLE: ("{host} is unreachable ({route}){tries}", _TRY_LATER),
    Cause.TIMEOUT: (
        "{host} did not answer in time{tries}",
        "the server or the network is stuck or slow; try again later",
    ),
    Cause.TLS_UNTRUSTED: (
        "the TLS certificate of {host} is not trusted{reason}",
        "check the account's ca_bundle, or the system's certificates",
    ),
    Cause.NOT_TLS: (
        "{host} does not speak TLS (it answered like a plain-HTTP server)",
        "check the scheme and port of the account's endpoint",
    ),
    Cause.TLS: (
        "the TLS handshake with {host} failed{reason}",
        "check the account's endpoint and ca_bundle",
    ),
    Cause.CLOSED: ("{host} closed the connection without an answer{tries}", "try again later"),
    Cause.CA_MISSING: (
        "cannot verify {host}: the CA bundle{path} does not exist",
        "fix the account's ca_bundle path, or remove it to use the system's certificates",
    ),
    Cause.CONNECTION: ("the connection to {host} failed{reason}{tries}", _TRY_LATER),
}


class NetworkError(ProviderUnavailableError):
    """A connection failed for a named cause; other accounts carry on (exit 1).

    A :class:`ProviderUnavailableError`, so that code which already handles "the provider could
    not be reached" (a restore's read-back, the notifiers) handles these too.
    """

    def __init__(self, message: str, cause: Cause, host: str | None, hint: str | None) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause
        self.host = host


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One failed connection: its cause, the host it was to, and whether a request was sent."""

    cause: Cause
    host: str | None  # "host" or "host:port"; None when no layer said
    scheme: str | None = None
    detail: str | None = None  # OpenSSL's reason, the exception type, or the CA bundle path
    sent: bool = True  # False: failed before any byte of the request left (safe to repeat)

    @property
    def retryable(self) -> bool:
        return self.cause.retryable

    def with_url(self, url: str | None) -> Diagnosis:
        """Fill the host (and scheme) in from the URL the caller requested, if none was found."""
        if self.host is not None or not url:
            return self
        scheme, host = _split(url)
        return Diagnosis(self.cause, host, self.scheme or scheme, self.detail, self.sent)

    def error(self, attempts: int = 1) -> NetworkError:
        """The one-line error; ``attempts`` is shown for causes that are retried."""
        host = self.host or "the server"
        template, hint = _SAYS[self.cause]
        message = template.format(
            host=host,
            tries=f" ({attempts} attempts)" if attempts > 1 else "",
            reason=f" ({self.detail})" if self.detail else "",
            path=f" {self.detail}" if self.detail else "",
            route=self.detail or "no route",
        )
        if self.cause is Cause.CLOSED and self.scheme == "http":
            hint = "if it is an HTTPS server, the endpoint must start with https://"
        return NetworkError(message, self.cause, self.host, hint)


# --------------------------------------------------------------------------------- diagnosis


def diagnose(exc: BaseException) -> Diagnosis | None:
    """The network cause of ``exc``, or None when it is not a connection failure."""
    chain = list(_chain(exc))
    found = _cause(chain)
    if found is None:
        return None
    cause, detail, sent = found
    scheme, host = _where(chain)
    return Diagnosis(cause, host, scheme, detail, sent)


def remember_url(exc: BaseException, url: str) -> None:
    """Record on ``exc`` the URL it failed on, for libraries whose errors do not say (httplib2).

    Only the scheme and host are ever read back.
    """
    with contextlib.suppress(AttributeError, TypeError):  # an exception type with __slots__
        setattr(exc, _URL_ATTRIBUTE, url)


def host_label(url: str) -> str | None:
    """``host`` or ``host:port`` (the port only when it is not the scheme's default)."""
    return _split(url)[1]


def checked_ca_bundle(account: Account, host: str) -> str | None:
    """The account's ``ca_bundle``, or a :class:`NetworkError` now if the file is not there.

    Checked before the first connection because each library fails differently on a missing file
    (requests with an ``OSError`` that no SDK maps, httplib2 with a bare ``FileNotFoundError``
    that looks like any other, pyicloud by reporting a wrong password). ``host`` is the host the
    account talks to first (its endpoint's when it has one), to name in the message.
    """
    path = account.ca_bundle
    if not path:
        return None
    if os.path.isfile(path) and os.access(path, os.R_OK):
        return path
    shown = (host_label(account.endpoint) if account.endpoint else None) or host
    error = Diagnosis(Cause.CA_MISSING, shown, "https", path, sent=False).error()
    if os.path.exists(path):  # a directory, or a file this user may not read
        raise NetworkError(
            f"cannot verify {shown}: the CA bundle {path} is not a readable file",
            Cause.CA_MISSING,
            shown,
            error.hint,
        )
    raise error


# --------------------------------------------------------------------------------- internals


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, exception arguments and urllib3's ``reason``."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        pending.extend(current.args)


def _loaded(*names: str) -> tuple[type, ...]:
    """Library classes named ``module:Class``, for ``isinstance``; those of a library that was
    never imported are left out (no exception of theirs can exist)."""
    found: list[type] = []
    for name in names:
        module, _, attribute = name.partition(":")
        value = getattr(sys.modules.get(module), attribute, None)
        if isinstance(value, type):
            found.append(value)
    return tuple(found)


def _cause(chain: list[BaseException]) -> tuple[Cause, str | None, bool] | None:
    """The most specific cause in the chain: (cause, detail, whether the request may have been
    sent); a failure while connecting or in the TLS handshake sent nothing."""
    # urllib3's NewConnectionError (refused, DNS) subclasses its ConnectTimeoutError.
    connecting = _loaded(
        "urllib3.exceptions:ConnectTimeoutError", "requests.exceptions:ConnectTimeout"
    )
    before_sending = any(isinstance(e, connecting) for e in chain)
    for item in chain:
        if isinstance(item, OSError) and str(item).startswith(_CA_MISSING_TEXT):
            return Cause.CA_MISSING, str(item)[len(_CA_MISSING_TEXT) :].strip() or None, False
    for item in chain:
        if isinstance(item, socket.gaierror):
            temporary = item.errno == socket.EAI_AGAIN
            return (Cause.DNS_TEMPORARY if temporary else Cause.DNS), None, False
        if isinstance(item, _loaded("httplib2:ServerNotFoundError")):
            return Cause.DNS, None, False
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return Cause.TLS_UNTRUSTED, _verify_reason(item), False
        if isinstance(item, ssl.SSLError) and getattr(item, "reason", None) in _NOT_TLS_REASONS:
            return Cause.NOT_TLS, None, False
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return Cause.REFUSED, None, False
        if isinstance(item, OSError) and item.errno in _UNREACHABLE_ERRNOS:
            return Cause.UNREACHABLE, os.strerror(item.errno).lower(), False
    if any(_is_timeout(item) for item in chain):
        # A TLS handshake that timed out had not sent the request yet.
        handshake = any("handshake operation timed out" in str(item) for item in chain)
        return Cause.TIMEOUT, None, not (before_sending or handshake)
    tls_wrappers = (
        ssl.SSLError,
        *_loaded("requests.exceptions:SSLError", "urllib3.exceptions:SSLError"),
    )
    for item in chain:
        if isinstance(item, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return Cause.CLOSED, None, not before_sending
        if isinstance(item, tls_wrappers):
            text = str(item)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                return Cause.TLS_UNTRUSTED, None, False
            reason = getattr(item, "reason", None)
            return Cause.TLS, reason if isinstance(reason, str) else type(item).__name__, False
    for item in chain:
        if _is_closed(item):
            return Cause.CLOSED, None, not before_sending
    for item in chain:
        if _is_generic_transport(item):
            return Cause.CONNECTION, type(item).__name__, not before_sending
    return None


def _verify_reason(exc: ssl.SSLCertVerificationError) -> str | None:
    """OpenSSL's short reason ("unable to get local issuer certificate", "Hostname mismatch")."""
    reason = getattr(exc, "verify_message", None)
    if isinstance(reason, str) and reason:
        return reason.split(",")[0].strip()
    return None


def _is_timeout(exc: BaseException) -> bool:
    timeouts = (
        TimeoutError,
        *_loaded("requests.exceptions:Timeout", "urllib3.exceptions:TimeoutError"),
    )
    return isinstance(exc, timeouts) and not isinstance(
        exc, _loaded("urllib3.exceptions:NewConnectionError")
    )


def _is_closed(exc: BaseException) -> bool:
    """The peer closed or reset the connection, or answered with something that is not HTTP."""
    import http.client  # stdlib and small; deferred only to keep this module's imports minimal

    closed = (
        ConnectionResetError,
        ConnectionAbortedError,
        BrokenPipeError,
        http.client.RemoteDisconnected,
        http.client.BadStatusLine,
        *_loaded("urllib3.exceptions:ProtocolError"),
    )
    return isinstance(exc, closed)


def _is_generic_transport(exc: BaseException) -> bool:
    """A transport failure of a known library whose inner cause is not one named above."""
    transport = _loaded(
        "requests.exceptions:ConnectionError",
        "requests.exceptions:Timeout",
        "google.auth.exceptions:TransportError",
    )
    return isinstance(exc, transport)


def _where(chain: list[BaseException]) -> tuple[str | None, str | None]:
    """(scheme, host label) of the failed request, from whichever layer recorded it."""
    for item in chain:
        url = getattr(item, _URL_ATTRIBUTE, None)
        if isinstance(url, str):
            return _split(url)
        request = getattr(item, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str) and url:
            return _split(url)
    for item in chain:  # urllib3 without requests: the pool or connection knows host and port
        for holder in ("pool", "conn"):
            try:
                target = getattr(item, holder, None)
            except Exception:  # NewConnectionError.pool warns, other objects may raise
                continue
            host = getattr(target, "host", None)
            if isinstance(host, str) and host:
                scheme = getattr(target, "scheme", None)
                port = getattr(target, "port", None)
                return scheme, _label(host, port if isinstance(port, int) else None, scheme)
    for item in chain:
        if isinstance(item, _loaded("httplib2:ServerNotFoundError")):
            text = str(item)
            marker = "Unable to find the server at "
            if text.startswith(marker):
                return None, text[len(marker) :].strip() or None
    return None, None


def _split(url: str) -> tuple[str | None, str | None]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, None
    if not parts.hostname:
        return parts.scheme or None, None
    return parts.scheme or None, _label(parts.hostname, port, parts.scheme)


def _label(host: str, port: int | None, scheme: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is None or _DEFAULT_PORTS.get(scheme or "") == port:
        return shown
    return f"{shown}:{port}"
