"""The one retry policy every provider shares.

Each cloud throttles differently (Graph and Dropbox send ``Retry-After``, Google mostly does not),
but a user running ``trashscan scan`` over many accounts needs the same promise from all of them:
a throttled account waits as long as the server asks, never longer than a bounded budget, and then
fails as one :class:`~trashscan.errors.ProviderUnavailableError` line while other accounts carry
on. Keeping that logic here, rather than in each plugin, is what makes the promise hold.

Decisions:

* A ``Retry-After`` longer than ``max_delay`` is not shortened (the server would only throttle us
  again) and not slept through (an hour-long block would stall every other account): the policy
  gives up at once with a message saying what the server asked for.
* A wait that would overrun ``max_total_wait`` is not truncated either: the policy gives up.
* Only requests that are safe to repeat are retried. GET/HEAD/PUT/DELETE/OPTIONS are idempotent.
  Any other method (POST, PATCH) is retried only when the server provably did not act on it: a 429,
  or a 503 carrying ``Retry-After``, or a connection that failed before the request was sent.
* Connection failures are named by :mod:`trashscan.net_errors` before anything else, the same for
  every provider: a name that does not resolve, an untrusted certificate, a server that does not
  speak TLS and a missing CA bundle are never retried (configuration problems, not outages); a
  refused or reset connection is tried ``connection_attempts`` times (3), a timeout
  ``timeout_attempts`` times (2: each attempt costs a whole timeout). The error names the cause and
  the host, never "throttling". A failure before anything was sent (DNS, connect, TLS handshake)
  is safe to repeat for any method; after that, only the caller's ``classify`` (or, in
  :meth:`RetryPolicy.request`, an idempotent method) allows it.

This module imports nothing heavy at import time (``requests`` is imported inside
:meth:`RetryPolicy.request`) so that ``trashscan --help`` stays fast.
"""

from __future__ import annotations

import logging
import math
import random as _random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from trashscan.errors import ProviderUnavailableError
from trashscan.net_errors import Cause, Diagnosis, diagnose

if TYPE_CHECKING:
    import requests

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRYABLE_STATUSES",
    "Classification",
    "RetryPolicy",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Classification = float | None | Literal[False]
"""What a ``classify`` callback says about an exception: ``False`` = give up and re-raise,
``None`` = retry after the policy's own backoff, a float = retry after that many seconds."""

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_HINT = "the provider is throttling or unavailable; try again later"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None if it says nothing usable.

    Accepts delta-seconds (also fractional, which some APIs send) and HTTP-dates. A negative or
    unparseable value is None, so callers fall back to their own backoff rather than trusting
    garbage. An HTTP-date already in the past means "retry now" and gives 0.0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    from email.utils import parsedate_to_datetime  # deferred: import cost matters for --help

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive for "-0000"
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with ``Retry-After`` support and "equal jitter" exponential backoff.

    ``sleep`` and ``random`` are injectable so tests (and the sandbox benchmarks) can run the full
    retry path without really waiting.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_total_wait: float = 120.0
    connection_attempts: int = 3  # refused, unreachable, closed without an answer
    timeout_attempts: int = 2  # each one costs a whole timeout
    sleep: Callable[[float], None] = field(default=_time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if min(self.max_attempts, self.connection_attempts, self.timeout_attempts) < 1:
            raise ValueError("max_attempts, connection_attempts, timeout_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total_wait < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """The wait before the retry that follows failed attempt number ``attempt`` (1-based).

        A server-given ``retry_after`` is used as is (capped at ``max_delay``; :meth:`call` and
        :meth:`request` refuse to retry when it is larger) and never jittered below, since
        retrying earlier than asked just earns another 429. Otherwise the wait is half the
        exponential step plus a random half, which spreads many clients out while keeping a floor.
        """
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_delay)
        step = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        return step * (0.5 + self.random() / 2)

    def call(
        self,
        fn: Callable[[], T],
        classify: Callable[[BaseException], Classification],
        *,
        what: str | None = None,
    ) -> T:
        """Run ``fn`` with retries, for SDKs that raise their own exceptions.

        ``classify`` maps an exception to a decision (see :data:`Classification`), e.g. Dropbox's
        ``RateLimitError.backoff`` or the ``Retry-After`` of a googleapiclient ``HttpError``.
        ``what`` names the operation in the error message (default: the exception's type name;
        the exception text is never used since SDK messages may echo request details).
        When retries run out, :class:`ProviderUnavailableError` is raised from the last exception.
        A connection failure is named first (see the module docstring): it raises
        :class:`~trashscan.net_errors.NetworkError`, unless it happened after the request was sent
        and ``classify`` says False, in which case the exception itself is re-raised.
        """
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except Exception as exc:
                network = diagnose(exc)
                if network is None:
                    verdict = classify(exc)
                    if verdict is False:
                        raise
                    failure = what or type(exc).__name__
                    delay = self.next_wait(attempt, verdict, waited, failure, exc)
                else:
                    if network.retryable and network.sent and classify(exc) is False:
                        raise
                    delay = self._network_wait(attempt, network, waited, exc)
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def request(
        self, session: requests.Session, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        """``session.request(method, url, **kwargs)`` with retries; see the module docstring.

        Returns the first response whose status is not retryable (the caller handles 4xx), or a
        retryable status that may not be retried for this method (a POST's 500). Raises
        :class:`ProviderUnavailableError` when attempts or budget run out, or when a connection
        drops mid-way through a request that is not safe to repeat, and
        :class:`~trashscan.net_errors.NetworkError` (naming the cause and host) for connection
        failures. Request bodies must be replayable (bytes, str, dict), not streams.
        """
        import requests  # deferred: keeps `trashscan --help` fast

        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        host = urlsplit(url).hostname or "the provider"
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                network = diagnose(exc) or Diagnosis(Cause.CONNECTION, None, None, None)
                network = network.with_url(url)
                if network.retryable and network.sent and not idempotent:
                    lost = network.error()
                    raise ProviderUnavailableError(
                        f"{lost} during {method}; not retried because the request may have "
                        "been applied",
                        hint=lost.hint,
                    ) from exc
                delay = self._network_wait(attempt, network, waited, exc)
            else:
                status = response.status_code
                if status not in RETRYABLE_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if not (idempotent or _post_retry_safe(status, retry_after)):
                    return response
                response.close()  # hand the connection back to the pool before waiting
                failure = f"HTTP {status} from {host}"
                delay = self.next_wait(attempt, retry_after, waited, failure, None)
            logger.debug("retrying %s %s in %.2f s (attempt %d)", method, host, delay, attempt)
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _network_wait(
        self, attempt: int, network: Diagnosis, waited: float, cause: BaseException
    ) -> float:
        """The wait before trying a failed connection again, or its named error.

        Never longer than the policy's own backoff, and within ``max_total_wait``.
        """
        if not network.retryable:
            raise network.error(attempt) from cause
        timeout = network.cause is Cause.TIMEOUT
        limit = self.timeout_attempts if timeout else self.connection_attempts
        if attempt >= min(limit, self.max_attempts):
            raise network.error(attempt) from cause
        delay = self.backoff(attempt, None)
        if waited + delay > self.max_total_wait:
            raise network.error(attempt) from cause
        return delay

    def next_wait(
        self,
        attempt: int,
        retry_after: float | None,
        waited: float,
        failure: str,
        cause: BaseException | None = None,
    ) -> float:
        """The wait before the next attempt, or raise :class:`ProviderUnavailableError` when no
        further attempt is allowed (also for a plugin retrying parts of a batch itself)."""
        if attempt >= self.max_attempts:
            message = f"{failure} after {attempt} attempts"
        elif retry_after is not None and retry_after > self.max_delay:
            message = (
                f"{failure}: asked to retry after {retry_after:g} s, "
                f"more than the {self.max_delay:g} s limit"
            )
        else:
            delay = self.backoff(attempt, retry_after)
            if waited + delay <= self.max_total_wait:
                return delay
            budget = f"retry budget of {self.max_total_wait:g} s spent"
            message = f"{failure} after {attempt} attempts ({budget})"
        raise ProviderUnavailableError(message, hint=_HINT) from cause


def _post_retry_safe(status: int, retry_after: float | None) -> bool:
    """Whether a non-idempotent request was provably rejected without being acted on."""
    return status == 429 or (status == 503 and retry_after is not None)
