"""The options of a local-trash account, declared once (the core parses and checks them).

Kept apart from :mod:`.plugin` so that loading the config reads them without the plugin.
"""

from __future__ import annotations

from trashscan.options import BOOL, INT, PATH, PATHS, OptionSpec, between, existing_dirs
from trashscan.timeparse import MAX_DURATION

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "trash_dirs",
        PATHS,
        "a trash directory with info/ and files/; only these are read",
        check_on_add=existing_dirs,
    ),
    OptionSpec("xdg_data_home", PATH, "use this instead of $XDG_DATA_HOME to find the home trash"),
    OptionSpec(
        "include_volumes",
        BOOL,
        "also read .Trash-$uid / .Trash/$uid of mounted volumes",
        default=True,
    ),
    OptionSpec(
        "purge_after_days",
        INT,
        "days after which the desktop empties the trash (GNOME: 30)",
        check=between(0, MAX_DURATION.days),  # beyond it, a purge date passes the year 9999
    ),
)
