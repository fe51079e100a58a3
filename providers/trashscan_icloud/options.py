"""An iCloud account's options, checked once, and the commands that fix a broken sign-in.

Options come from the config (TOML booleans and numbers) or from ``--option KEY=VALUE`` (strings),
so booleans and numbers accept both forms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trashscan.errors import AccountError, UsageError
from trashscan.models import Account

PROVIDER = "icloud"
PASSWORD_KEY = "password"  # the keyring entry under account.secret_service
DEFAULT_PCS_WAIT = 10.0  # seconds an Advanced Data Protection handshake may take per scan
MAX_PCS_WAIT = 300.0
RETENTION_DAYS = 30  # Photos and iCloud Drive "Recently Deleted" both keep items 30 days

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

OPTIONS_HELP: Mapping[str, str] = {
    "apple_id": "the Apple ID (e-mail address or phone number) to sign in with (required)",
    "china_mainland": "true for an Apple ID whose country or region is China mainland",
    "include_drive": (
        "also list photos and videos in iCloud Drive's Recently Deleted (default true)"
    ),
    "pcs_wait_seconds": (
        "how long a scan waits for Advanced Data Protection web access to be granted "
        f"(default {DEFAULT_PCS_WAIT:g})"
    ),
}


def relogin_hint(account: Account) -> str:
    """Re-adding an account signs in again and keeps its options."""
    return f"run `trashscan accounts add {PROVIDER} {account.name}`"


def setup_hint(account: Account) -> str:
    apple_id = account.options.get("apple_id")
    shown = apple_id if isinstance(apple_id, str) and apple_id.strip() else "APPLE_ID"
    return f"run `trashscan accounts add {PROVIDER} {account.name} --option apple_id={shown}`"


def needs_2fa_message(account: Account) -> str:
    return f"iCloud account {account.name} needs a new 2FA sign-in"


def parse_bool(value: Any, key: str, account: Account, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise AccountError(f"{key} of iCloud account {account.name!r} must be true or false")


def parse_seconds(value: Any, key: str, account: Account, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_PCS_WAIT:
        raise AccountError(
            f"{key} of iCloud account {account.name!r} must be a number of seconds "
            f"from 0 to {MAX_PCS_WAIT:g}, not {value!r}"
        )
    return seconds


@dataclass(frozen=True, slots=True)
class Settings:
    apple_id: str
    china_mainland: bool
    include_drive: bool
    pcs_wait_seconds: float

    @classmethod
    def from_account(cls, account: Account, *, for_login: bool = False) -> Settings:
        options = account.options
        apple_id = options.get("apple_id")
        if not isinstance(apple_id, str) or not apple_id.strip():
            message = f"iCloud account {account.name!r} has no apple_id"
            if for_login:
                raise UsageError(
                    f"{PROVIDER} needs the Apple ID to sign in with", hint=setup_hint(account)
                )
            raise AccountError(message, hint=setup_hint(account))
        return cls(
            apple_id=apple_id.strip(),
            china_mainland=parse_bool(
                options.get("china_mainland"), "china_mainland", account, False
            ),
            include_drive=parse_bool(options.get("include_drive"), "include_drive", account, True),
            pcs_wait_seconds=parse_seconds(
                options.get("pcs_wait_seconds"), "pcs_wait_seconds", account, DEFAULT_PCS_WAIT
            ),
        )
