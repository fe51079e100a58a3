"""A guard every paginating loop of every provider runs through, so that no listing is endless.

A cloud API pages with a link, token or cursor that the client sends back to get the next page.
A server that hands out the same one again (a OneDrive ``@odata.nextLink`` pointing at itself was
seen answering 34,000 page requests in 90 seconds), or one that never stops handing out new ones,
would keep a scan, and so a cron ``trashscan check``, running forever. Per-request timeouts and the
retry budget cannot catch that: every single request succeeds.

:class:`PageGuard` is told each token before the loop follows it, and stops the loop with a
:class:`PaginationError` (an :class:`~trashscan.errors.AccountError`: only that account fails,
naming the cause) when a token comes back, or when the loop has fetched more pages than any real
account needs (:data:`MAX_PAGES`). The first, unrepeatable, request (the stored delta link, the
start token) can be registered too, so that a link back to it counts as a repeat.

Tokens are remembered as short digests: Dropbox cursors and Graph links run to kilobytes, and a
long listing must not keep them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

from trashscan.errors import AccountError

__all__ = ["MAX_PAGES", "PageGuard", "PaginationError"]

# Pages one listing loop may fetch. Real pages hold 200 to 2,000 entries, so this is 10 to 100
# million entries: more than any account has, yet reached in minutes by a server that loops.
MAX_PAGES = 50_000

_HINT = "the next scan tries again; if this persists, the provider's service is misbehaving"


class PaginationError(AccountError):
    """A listing repeated a page token, or ran past :data:`MAX_PAGES`; that account fails."""


class PageGuard:
    """Counts the pages of one listing and refuses a token it has already followed.

    ``what`` names the listing and the kind of token in messages, e.g. ``"OneDrive's delta feed"``
    and ``"next link"``. Call :meth:`follow` with each token before requesting the page it names;
    :meth:`start` registers the first request's token without counting a page.
    """

    def __init__(
        self, what: str, token_name: str = "page token", max_pages: int | None = None
    ) -> None:
        self.what = what
        self.token_name = token_name
        self.max_pages = MAX_PAGES if max_pages is None else max_pages
        self.pages = 1  # the first page needs no token
        self._seen: set[bytes] = set()

    def start(self, token: Hashable) -> None:
        """Remember the token of the first request (it may not come back as a later page)."""
        self._seen.add(_digest(token))

    def follow(self, token: Hashable) -> None:
        """Check ``token`` before its page is requested; raise :class:`PaginationError` if it
        was followed before or if the listing has reached its page cap."""
        key = _digest(token)
        if key in self._seen:
            raise self.repeated()
        if self.pages >= self.max_pages:
            raise PaginationError(
                f"{self.what} did not end after {self.pages} pages; stopped at that cap",
                hint=_HINT,
            )
        self._seen.add(key)
        self.pages += 1

    def repeated(self) -> PaginationError:
        """The error for a repeat that the loop detects itself (a page of records already read,
        where the API pages by offset and the offset itself cannot repeat)."""
        return PaginationError(
            f"{self.what} sent the same {self.token_name} again after {self.pages} page(s); "
            "stopped instead of looping",
            hint=_HINT,
        )


def _digest(token: Hashable) -> bytes:
    if isinstance(token, bytes):
        data = token
    elif isinstance(token, str):
        data = token.encode("utf-8", "surrogatepass")
    else:
        data = repr(token).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(data, digest_size=16).digest()
