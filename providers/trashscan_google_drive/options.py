"""The options of a Google Drive account, declared once (the core parses and checks them).

Kept apart from :mod:`.plugin` so that loading the config reads them without Google's SDK.
"""

from __future__ import annotations

from trashscan.options import BOOL, PATH, WORDS, OptionSpec

CLIENT_SECRETS = OptionSpec(
    "client_secrets", PATH, "your Desktop OAuth client JSON (read only by `accounts add`)"
)
ACTIVITY = OptionSpec(
    "activity",
    BOOL,
    "date My Drive deletions with the Drive Activity API (extra scope)",
    default=False,
)
SCOPES = OptionSpec("scopes", WORDS, "override the OAuth scopes")

OPTIONS: tuple[OptionSpec, ...] = (CLIENT_SECRETS, ACTIVITY, SCOPES)
