"""Standing reminders shown to a person at most once a day each (the Google Photos trash note).

An account trashscan cannot list (Google Photos) gets the same note on every ``list`` and
``scan``; said every time, it is noise that hides the warnings that matter. So an interactive
command shows it when it was last shown 24 hours ago or more, remembered per key in a small
private file of the data dir (0600, written whole). ``check`` does not come here: an unattended
run's report always carries it.

A file that cannot be read or written never hides a reminder: it is then shown, as if due.
Two runs at the same moment may both show one; that costs a line, never a warning.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from trashscan.files import atomic_write
from trashscan.timeparse import iso

FILE_NAME = "reminders.json"
EVERY = timedelta(days=1)


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _last_shown(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def due(data_dir: Path, keys: Iterable[str], now: datetime) -> set[str]:
    """The keys whose reminder is due now, recorded as shown at ``now``."""
    path = Path(data_dir) / FILE_NAME
    shown = _read(path)
    chosen = set()
    for key in keys:
        last = _last_shown(shown.get(key))
        if last is None or now - last >= EVERY or last > now:  # a clock set back: show it
            chosen.add(key)
            shown[key] = iso(now) or ""
    if chosen:
        with contextlib.suppress(OSError):
            atomic_write(path, json.dumps(shown, sort_keys=True, indent=1).encode())
    return chosen
