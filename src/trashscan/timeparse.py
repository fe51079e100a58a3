"""Parsing the durations and dates users type (``7d``, ``36h``, ``2026-11-01``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from trashscan.errors import UsageError

_DURATION = re.compile(r"([0-9]+)\s*([smhdw])")
_WITH_UNITS = re.compile(r"(?:[0-9]+[smhdw])+")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION = timedelta(days=36500)
"""100 years: longer than any retention or schedule, and ``now`` plus it is still a date (dates
end at year 9999; ``99999999d`` made every comparison with ``now`` raise OverflowError)."""


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``1w2d``, or a bare number of days; at most :data:`MAX_DURATION`."""
    value = text.strip().lower()
    if value.isascii() and value.isdigit():
        value += "d"
    matches = list(_DURATION.finditer(value))
    if not value or not matches or "".join(m.group(0) for m in matches) != value.replace(" ", ""):
        raise UsageError(
            f"bad duration {text!r}", hint="use a number and a unit: 30m, 12h, 7d, 2w, or 1w2d"
        )
    # Whole seconds in Python ints first: timedelta itself overflows on large numbers.
    seconds = sum(int(m.group(1)) * _SECONDS[m.group(2)] for m in matches)
    if seconds > MAX_DURATION.total_seconds():
        raise UsageError(f"bad duration {text!r}: longer than 100 years")
    return timedelta(seconds=seconds)


def parse_date(text: str) -> datetime:
    """An ISO date or datetime; a date means its start, a naive time is taken as UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"bad date {text!r}", hint="use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_moment(text: str, now: datetime) -> datetime:
    """A date (:func:`parse_date`) or a duration back from ``now``: ``3d`` is three days ago.

    As rclone's ``--max-age`` takes either. A duration needs its unit here: a bare number could
    as well be a year (``2026``) as a count of days, so it is refused rather than guessed.
    """
    if _WITH_UNITS.fullmatch(text.strip().lower()):
        return now - parse_duration(text)  # bounded there, like every duration
    try:
        return parse_date(text)
    except UsageError:
        raise UsageError(
            f"bad date or duration {text!r}",
            hint="use YYYY-MM-DD[THH:MM[:SS][+HH:MM]], or a duration back from now: 3d, 12h, 2w",
        ) from None


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, the form every machine-readable output uses."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
