"""Graph's times (ISO 8601, ``Z``) to aware UTC datetimes and back."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(when: datetime) -> str:
    """Second precision is enough, and sorts as text (the mirror compares them as strings)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 time as Graph writes it (``Z``, up to 7 fractional digits), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Python takes at most 6 fractional digits
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
