"""Options several commands share (account selection, filters, deadline), and the filter built."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from trashscan.index import ItemFilter
    from trashscan.models import Account

KIND_CHOICES = ("photo", "video", "other", "any")


def account_options(func: Any) -> Any:
    func = click.option(
        "--account",
        "accounts",
        multiple=True,
        metavar="NAME",
        help="Only this account (repeatable).",
    )(func)
    return click.option(
        "--all-accounts", is_flag=True, help="Every configured account (the default)."
    )(func)


def deadline_option(func: Any) -> Any:
    return click.option(
        "--deadline",
        metavar="DURATION",
        help="Give up on accounts not done within it, e.g. 10m (default: [scan] deadline, 30m).",
    )(func)


@dataclass(frozen=True)
class FilterArgs:
    """The filter options as typed, handed to a command as one ``filters`` argument."""

    provider: str | None
    kind: str | None
    expiring_within: str | None
    deleted_since: str | None
    deleted_until: str | None
    name_glob: str | None

    def given(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def filter_options(func: Any) -> Any:
    """``--account``/``--all-accounts`` and the filters, the latter packed into ``filters``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        filters = FilterArgs(**{f.name: kwargs.pop(f.name) for f in fields(FilterArgs)})
        return func(*args, filters=filters, **kwargs)

    options = [
        click.option("--provider", help="Only this provider."),
        click.option(
            "--kind",
            type=click.Choice(KIND_CHOICES),
            default=None,
            help="photo, video, other or any (default: photo and video).",
        ),
        click.option("--expiring-within", metavar="DURATION", help="Purged within, e.g. 7d, 36h."),
        click.option("--deleted-since", metavar="DATE", help="Deleted on or after DATE."),
        click.option("--deleted-until", metavar="DATE", help="Deleted before DATE."),
        click.option("--name", "name_glob", metavar="GLOB", help="Name matches GLOB (*, ?)."),
    ]
    for option in reversed(options):
        packed = option(packed)
    return account_options(packed)


def build_filter(
    accounts: Sequence[Account], filters: FilterArgs, sort: str = "purge"
) -> ItemFilter:
    from trashscan.index import ItemFilter
    from trashscan.models import Kind
    from trashscan.timeparse import parse_date, parse_duration

    kind, expiring_within = filters.kind, filters.expiring_within
    deleted_since, deleted_until = filters.deleted_since, filters.deleted_until
    if kind is None:
        kinds = frozenset({Kind.PHOTO, Kind.VIDEO})
    elif kind == "any":
        kinds = frozenset(Kind)
    else:
        kinds = frozenset({Kind(kind)})
    return ItemFilter(
        accounts=tuple((a.provider, a.name) for a in accounts),
        provider=filters.provider,
        kinds=kinds,
        expiring_within=parse_duration(expiring_within) if expiring_within is not None else None,
        deleted_since=parse_date(deleted_since) if deleted_since is not None else None,
        deleted_until=parse_date(deleted_until) if deleted_until is not None else None,
        name_glob=filters.name_glob,
        sort=sort,
    )
