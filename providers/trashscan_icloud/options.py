"""An iCloud account's options, declared once (the core parses and checks them), and the
commands that fix a broken sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from trashscan.errors import AccountError, UsageError
from trashscan.models import Account
from trashscan.options import BOOL, NUMBER, TEXT, OptionSpec, between, resolve

PROVIDER = "icloud"
PASSWORD_KEY = "password"  # the keyring entry under account.secret_service
DEFAULT_PCS_WAIT = 10.0  # seconds an Advanced Data Protection handshake may take per scan
MAX_PCS_WAIT = 300.0
RETENTION_DAYS = 30  # Photos and iCloud Drive "Recently Deleted" both keep items 30 days

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "apple_id", TEXT, "the Apple ID (e-mail address or phone number) to sign in with (required)"
    ),
    OptionSpec(
        "china_mainland",
        BOOL,
        "true for an Apple ID whose country or region is China mainland",
        default=False,
    ),
    OptionSpec(
        "include_drive",
        BOOL,
        "also list photos and videos in iCloud Drive's Recently Deleted",
        default=True,
    ),
    OptionSpec(
        "pcs_wait_seconds",
        NUMBER,
        "how long a scan waits for Advanced Data Protection web access to be granted",
        default=DEFAULT_PCS_WAIT,
        check=between(0, MAX_PCS_WAIT),
    ),
)


def relogin_hint(account: Account) -> str:
    """Re-adding an account signs in again and keeps its options."""
    return f"run `trashscan accounts add {PROVIDER} {account.name}`"


def setup_hint(account: Account) -> str:
    apple_id = account.options.get("apple_id")
    shown = apple_id if isinstance(apple_id, str) and apple_id.strip() else "APPLE_ID"
    return f"run `trashscan accounts add {PROVIDER} {account.name} --option apple_id={shown}`"


def needs_2fa_message(account: Account) -> str:
    return f"iCloud account {account.name} needs a new 2FA sign-in"


@dataclass(frozen=True, slots=True)
class Settings:
    apple_id: str
    china_mainland: bool
    include_drive: bool
    pcs_wait_seconds: float

    @classmethod
    def from_account(cls, account: Account, *, for_login: bool = False) -> Settings:
        values = resolve(OPTIONS, account)
        apple_id = values["apple_id"]
        if apple_id is None:
            message = f"iCloud account {account.name!r} has no apple_id"
            if for_login:
                raise UsageError(
                    f"{PROVIDER} needs the Apple ID to sign in with", hint=setup_hint(account)
                )
            raise AccountError(message, hint=setup_hint(account))
        return cls(
            apple_id=apple_id.strip(),
            china_mainland=values["china_mainland"],
            include_drive=values["include_drive"],
            pcs_wait_seconds=values["pcs_wait_seconds"],
        )
