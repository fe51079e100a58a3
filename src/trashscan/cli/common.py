"""Options several commands share (account selection, filters, deadline, format), and the filter
built from them."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from trashscan.errors import UsageError

if TYPE_CHECKING:
    from trashscan.index_read import ItemFilter
    from trashscan.models import Account

KIND_CHOICES = ("photo", "video", "other", "any")
FOR_PEOPLE = ("table", "text")
"""One format for people, by either name, wherever one of them is accepted (``list`` said table,
``check`` text: a script or a finger that knows one must not fail on the other)."""


def format_option(default: str, *machine: str) -> Any:
    """``--format``: ``table``/``text`` (the same), and the machine formats ``machine``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice((*FOR_PEOPLE, *machine)),
        default=default,
        show_default=True,
        help=f"{default} for people (table and text are the same); "
        + ", ".join(machine)
        + " for programs.",
    )


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

    def as_typed(self) -> list[str]:
        """The filters given, as options (``--kind video``), for messages about them."""
        names = {"expiring_within": "within", "name_glob": "name"}
        return [
            f"--{names.get(f.name, f.name).replace('_', '-')} {value}"
            for f in fields(self)
            if (value := getattr(self, f.name))
        ]


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
        click.option(
            "--within",
            "--expiring-within",
            "expiring_within",
            metavar="DURATION",
            help="Purged within, e.g. 7d, 36h (--expiring-within is the same).",
        ),
        click.option(
            "--deleted-since",
            metavar="WHEN",
            help="Deleted on or after WHEN: a date (2026-11-01) or a time ago (3d: 3 days ago).",
        ),
        click.option(
            "--deleted-until",
            metavar="WHEN",
            help="Deleted before WHEN: a date, or a time ago (3d).",
        ),
        click.option("--name", "name_glob", metavar="GLOB", help="Name matches GLOB (*, ?)."),
    ]
    for option in reversed(options):
        packed = option(packed)
    return account_options(packed)


def check_provider(accounts: Sequence[Account], provider: str | None) -> list[Account]:
    """The chosen accounts of ``provider`` (all of them without one); a provider that is not
    installed, or that none of the chosen accounts uses, is an error instead of an empty list."""
    if provider is None:
        return list(accounts)
    from trashscan.plugins import provider_entries

    known = sorted(provider_entries())
    if provider not in known:
        hint = "known providers: " + (", ".join(known) or "none installed")
        raise UsageError(f"unknown provider {provider!r}", hint=hint)
    chosen = [a for a in accounts if a.provider == provider]
    if not chosen:
        used = ", ".join(sorted({f"{a.name} ({a.provider})" for a in accounts})) or "none"
        raise UsageError(
            f"no account of provider {provider!r} among the accounts chosen",
            hint=f"those are: {used}",
        )
    return chosen


def build_filter(
    accounts: Sequence[Account], filters: FilterArgs, now: datetime, sort: str = "purge"
) -> ItemFilter:
    """The index filter; ``--deleted-since/--until`` durations count back from ``now``."""
    from trashscan.index_read import ItemFilter
    from trashscan.models import Kind
    from trashscan.timeparse import parse_duration, parse_moment

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
        deleted_since=parse_moment(deleted_since, now) if deleted_since is not None else None,
        deleted_until=parse_moment(deleted_until, now) if deleted_until is not None else None,
        name_glob=filters.name_glob,
        sort=sort,
    )
