"""An account's Dropbox options (declared once, checked by the core) and the retention guess.

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

from trashscan.errors import AccountError
from trashscan.kinds import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS
from trashscan.models import Account
from trashscan.options import INT, TEXT, WORDS, OptionSpec, at_least, extensions, resolve

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


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("app_key", TEXT, "the app key of your own Dropbox app (PKCE, no secret needed)"),
    OptionSpec(
        "extensions",
        WORDS,
        "file extensions to list, instead of the photo and video types",
        check=extensions,
    ),
    OptionSpec(
        "revision_workers",
        INT,
        f"concurrent list_revisions calls per account (at most {MAX_REVISION_WORKERS} are used)",
        default=DEFAULT_REVISION_WORKERS,
        check=at_least(1),
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    app_key: str
    extensions: frozenset[str]
    revision_workers: int

    @classmethod
    def from_account(cls, account: Account) -> Settings:
        values = resolve(OPTIONS, account)
        app_key = values["app_key"]
        if app_key is None:
            raise AccountError(
                f"Dropbox account {account.name!r} has no app_key",
                hint=login_hint(account),
            )
        return cls(
            app_key=app_key.strip(),
            extensions=as_extensions(values["extensions"]),
            revision_workers=min(values["revision_workers"], MAX_REVISION_WORKERS),
        )

    def is_media(self, name: str | None) -> bool:
        return PurePosixPath(name or "").suffix.lower() in self.extensions


def as_extensions(words: list[str] | None) -> frozenset[str]:
    """``.jpg`` form, lower case: ``["JPG", ".heic"]`` -> ``{".jpg", ".heic"}``."""
    if words is None:
        return DEFAULT_EXTENSIONS
    return frozenset(("." + word.lstrip(".")).lower() for word in words if word.lstrip("."))


def retention_for(account: Account, account_type: str | None) -> tuple[int, bool]:
    """Days deleted files are kept, and whether that number is a guess (a purge estimate).

    A configured ``retention_days`` is the user's statement of their plan, so the purge date it
    gives is not marked as an estimate (the deletion time itself is exact).
    """
    if account.retention_days is not None:
        return account.retention_days, False
    return PLAN_DAYS.get(account_type or "", UNKNOWN_PLAN_DAYS), True
