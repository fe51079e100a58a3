"""The options of a Google Drive account, declared once (the core parses and checks them).

Kept apart from :mod:`.plugin` so that loading the config reads them without Google's SDK.
"""

from __future__ import annotations

from trashscan.options import BOOL, PATH, WORDS, OptionSpec

CLIENT_SECRETS = OptionSpec(
    "client_secrets", PATH, "your Desktop OAuth client JSON (read only by `accounts add`)"
)
# No default here: `accounts add` writes true for a new account (false: off); an account added
# before that lacks the key, and its grant the scope, so it stays off until it signs in again.
ACTIVITY = OptionSpec(
    "activity",
    BOOL,
    "date My Drive deletions with the Drive Activity API (extra scope; `accounts add` sets true "
    "unless given false)",
)
SCOPES = OptionSpec("scopes", WORDS, "override the OAuth scopes")

OPTIONS: tuple[OptionSpec, ...] = (CLIENT_SECRETS, ACTIVITY, SCOPES)
