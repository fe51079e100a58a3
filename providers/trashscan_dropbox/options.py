"""An account's Dropbox options, checked once, and the plan-based retention guess.

Dropbox keeps deleted files 30, 180 or 365 days depending on the plan, and the API does not say
which plan an account has: ``users/get_current_account`` gives only ``account_type`` (``basic``,
``pro`` or ``business``), and ``pro`` covers both Plus/Family (30 days) and Professional/Essentials
(180 days). The guess therefore takes the lower value of each type, so a purge date is never later
than the real one; ``retention_days`` in the config replaces the guess with what the user knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from trashscan.errors import AccountError
from trashscan.kinds import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS
from trashscan.models import Account

PROVIDER = "dropbox"
DEFAULT_EXTENSIONS = PHOTO_EXTENSIONS | VIDEO_EXTENSIONS
DEFAULT_REVISION_WORKERS = 8
MAX_REVISION_WORKERS = 32  # Dropbox publishes no limit; more than this only earns 429s

# Days a deleted file is kept, by ``account_type``; the lowest plan of each type (see above).
PLAN_DAYS: Mapping[str, int] = {"basic": 30, "pro": 30, "business": 180}
UNKNOWN_PLAN_DAYS = 30


def login_hint(account: Account) -> str:
    """The command that signs an account in again (it keeps the account's other options)."""
    key = account.options.get("app_key")
    app_key = key if isinstance(key, str) and key else "KEY"
    return f"run `trashscan accounts add {PROVIDER} {account.name} --option app_key={app_key}`"


@dataclass(frozen=True, slots=True)
class Settings:
    app_key: str
    extensions: frozenset[str]
    revision_workers: int

    @classmethod
    def from_account(cls, account: Account) -> Settings:
        options = account.options
        app_key = options.get("app_key")
        if not isinstance(app_key, str) or not app_key.strip():
            raise AccountError(
                f"Dropbox account {account.name!r} has no app_key",
                hint=login_hint(account),
            )
        return cls(
            app_key=app_key.strip(),
            extensions=parse_extensions(options.get("extensions"), account),
            revision_workers=parse_workers(options.get("revision_workers"), account),
        )

    def is_media(self, name: str | None) -> bool:
        return PurePosixPath(name or "").suffix.lower() in self.extensions


def parse_extensions(value: Any, account: Account) -> frozenset[str]:
    """A list (or a comma/space separated string) of extensions, with or without the dot."""
    if value is None:
        return DEFAULT_EXTENSIONS
    raw = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
        raise AccountError(
            f"extensions of account {account.name!r} must be a list of file extensions",
            hint='e.g. extensions = [".jpg", ".heic", ".mov"]',
        )
    found = {("." + v.strip().lstrip(".")).lower() for v in raw if v.strip().lstrip(".")}
    if not found:
        raise AccountError(f"extensions of account {account.name!r} is empty")
    return frozenset(found)


def parse_workers(value: Any, account: Account) -> int:
    if value is None:
        return DEFAULT_REVISION_WORKERS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AccountError(
            f"revision_workers of account {account.name!r} must be a whole number from 1 "
            f"to {MAX_REVISION_WORKERS}, not {value!r}"
        )
    return min(value, MAX_REVISION_WORKERS)


def retention_for(account: Account, account_type: str | None) -> tuple[int, bool]:
    """Days deleted files are kept, and whether that number is a guess (a purge estimate).

    A configured ``retention_days`` is the user's statement of their plan, so the purge date it
    gives is not marked as an estimate (the deletion time itself is exact).
    """
    if account.retention_days is not None:
        return account.retention_days, False
    return PLAN_DAYS.get(account_type or "", UNKNOWN_PLAN_DAYS), True
