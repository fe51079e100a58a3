"""The page guard every provider's paginating loop goes through."""

from __future__ import annotations

import pytest

from trashscan.errors import AccountError
from trashscan.pagination import MAX_PAGES, PageGuard, PaginationError


def test_new_tokens_pass_and_count_pages() -> None:
    guard = PageGuard("the feed", "next link", max_pages=5)
    for token in ("a", "b", "c", "d"):
        guard.follow(token)
    assert guard.pages == 5


def test_a_repeated_token_stops_the_listing() -> None:
    guard = PageGuard("OneDrive's delta feed", "next link")
    guard.follow("https://graph/delta?token=2")
    with pytest.raises(PaginationError) as raised:
        guard.follow("https://graph/delta?token=2")
    assert str(raised.value) == (
        "OneDrive's delta feed sent the same next link again after 2 page(s); stopped instead "
        "of looping"
    )
    assert isinstance(raised.value, AccountError)  # only that account fails


def test_a_link_back_to_the_first_request_is_a_repeat() -> None:
    guard = PageGuard("the feed", "cursor")
    guard.start("stored-cursor")
    with pytest.raises(PaginationError, match="same cursor again after 1 page"):
        guard.follow("stored-cursor")


def test_the_page_cap_stops_a_listing_of_ever_new_tokens() -> None:
    guard = PageGuard("the feed", max_pages=3)
    guard.follow(1)
    guard.follow(2)
    with pytest.raises(PaginationError, match="did not end after 3 pages; stopped at that cap"):
        guard.follow(3)


def test_the_default_cap_is_far_above_any_real_listing() -> None:
    assert PageGuard("the feed").max_pages == MAX_PAGES >= 10_000


def test_tokens_are_kept_as_digests_not_verbatim() -> None:
    guard = PageGuard("the feed")
    guard.follow("x" * 100_000)
    assert all(len(key) == 16 for key in guard._seen)
