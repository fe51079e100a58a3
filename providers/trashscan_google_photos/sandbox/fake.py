"""Sandbox entry for ``google-photos``: one account and no server, since there is no API to fake."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class GooglePhotosFake:
    name = "google-photos"
    needs_server = False

    def seed(self, workdir: Path, now: datetime) -> list[dict]:
        return [{"name": "photos-alice", "provider": "google-photos"}]
