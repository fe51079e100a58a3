"""Drive thumbnails: the ``thumbnailLink`` URLs the fake hands out, and the host that serves them.

What Drive documents [DISC the Drive v3 discovery document, File]:

* ``thumbnailLink``: "A short-lived link to the file's thumbnail, if available. Typically lasts
  on the order of hours. ... Only populated when the requesting app can access the file's
  content. If the file isn't shared publicly, the URL returned in ``files.thumbnailLink`` must be
  fetched using a credentialed request." So the link is only rendered for tokens holding a
  content scope (``drive``, ``drive.readonly``, ...), never for ``drive.metadata*`` ones (the
  absence under ``drive.metadata`` is also reported by qiita.com/jommy [3P], next-wave.md §1).
* ``hasThumbnail``: "Whether this file has a thumbnail. This doesn't indicate whether the
  requesting app has access to the thumbnail. To check access, look for the presence of the
  thumbnailLink field."
* ``thumbnailVersion``: "The thumbnail version for use in thumbnail cache invalidation."

How the fake serves it (the URL stands for ``https://lh3.googleusercontent.com/drive-storage/
<opaque>=s220``, a separate host in reality, a separate path here):

* ``GET /drive-storage/<link token>=<options>``: the token is signed by the fake, names the file
  and the link's expiry (:data:`LINK_LIFETIME` after the listing that issued it: "on the order of
  hours"; the exact value is UNVERIFIED). The request must carry ``Authorization: Bearer`` with a
  valid access token of a user who can see the file and holds a content scope ("a credentialed
  request"); the file may be in the trash (a trashed file's content stays downloadable:
  "All users with access can copy, download, export, and share the file" [DISC File.trashed];
  that ``thumbnailLink`` is populated for trashed items is UNVERIFIED live, next-wave.md §1).
* Answers (status codes UNVERIFIED, googleusercontent documents none): 200 ``image/jpeg``; 403
  without valid credentials, for a user who cannot see the file, or once the link expired; 404
  for a forged link or a file deleted for good.
* Options after ``=`` (Google's image-serving syntax, seen in thumbnail links [3P], UNVERIFIED
  as a contract): ``sN`` longest side N, ``wN``/``hN`` width/height bound, ``-c`` crop to the
  box; none means ``s220``, the size Drive's links carry. Thumbnails are never enlarged.
* The picture is cut from the file's content when it holds one (seeded photos are real JPEGs,
  :mod:`trashscan.sandbox.pictures`; videos carry a poster), else drawn for the file's name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from trashscan.sandbox import pictures
from trashscan.sandbox.server import Request, Response, Router
from trashscan_google_drive.sandbox.auth import SCOPE_PREFIX, AccessToken, AuthState
from trashscan_google_drive.sandbox.model import DriveFile, DriveState
from trashscan_google_drive.sandbox.wire import ApiError

__all__ = ["CONTENT_SCOPES", "LINK_LIFETIME", "THUMBNAIL_PATH", "ThumbnailLinks"]

THUMBNAIL_PATH = "/drive-storage"
LINK_LIFETIME = timedelta(hours=4)  # "Typically lasts on the order of hours": value UNVERIFIED
DEFAULT_SIDE = 220
# Scopes under which an app "can access the file's content" [DOC about-auth scope table]:
# drive.metadata(.readonly) only see metadata; drive.file/appdata only the app's own files.
CONTENT_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in ("drive", "drive.readonly", "drive.file", "drive.appdata", "drive.photos.readonly")
)
_OPTIONS = re.compile(r"(?:^|-)(?P<kind>[swh])(?P<n>\d{1,4})|(?:^|-)(?P<crop>c)(?=-|$)")


def _html(status: int, text: str) -> Response:
    body = f"<html><body><p>{status}. {text}</p></body></html>".encode()
    return Response(status, body, {"Content-Type": "text/html; charset=UTF-8"})


def box_for(options: str | None) -> tuple[tuple[int, int], pictures.ThumbMode]:
    """The bounding box and mode an ``=options`` suffix asks for (see the module docstring)."""
    width = height = None
    crop = False
    for match in _OPTIONS.finditer(options or ""):
        if match["crop"]:
            crop = True
        elif match["kind"] == "s":
            width = height = int(match["n"])
        elif match["kind"] == "w":
            width = int(match["n"])
        else:
            height = int(match["n"])
    if width is None and height is None:
        width = height = DEFAULT_SIDE
    box = (max(1, width or 10_000), max(1, height or 10_000))
    return box, ("crop" if crop and width and height else "fit")


class ThumbnailLinks:
    """Issues signed ``thumbnailLink`` URLs and serves them (see the module docstring)."""

    def __init__(
        self,
        state: DriveState,
        auth: AuthState,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
        can_see: Callable[[AccessToken, DriveFile], bool],
    ) -> None:
        self.state = state
        self.auth = auth
        self.clock = clock
        self.base_url = base_url
        self.can_see = can_see
        self._key = secrets.token_bytes(16)

    def register(self, router: Router) -> None:
        router.add(
            "GET",
            THUMBNAIL_PATH + r"/(?P<token>[A-Za-z0-9_-]+)(?:=(?P<options>[^/]*))?",
            self.serve,
        )

    def link(self, item: DriveFile, now: datetime) -> str:
        """A fresh link to ``item``'s thumbnail, valid for :data:`LINK_LIFETIME`."""
        payload = json.dumps(
            [item.id, int((now + LINK_LIFETIME).timestamp())], separators=(",", ":")
        ).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        token = base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")
        return f"{self.base_url()}{THUMBNAIL_PATH}/{token}=s{DEFAULT_SIDE}"

    def _decode(self, token: str) -> tuple[str, int] | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:12], raw[12:]
            if not hmac.compare_digest(
                mac, hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
            ):
                return None
            file_id, expiry = json.loads(payload)
            return str(file_id), int(expiry)
        except (ValueError, TypeError):
            return None

    def serve(self, request: Request, match: re.Match[str]) -> Response:
        now = self.clock()
        decoded = self._decode(match["token"])
        if decoded is None:
            return _html(404, "That's an error. The requested URL was not found on this server.")
        file_id, expiry = decoded
        try:
            token = self.auth.authenticate(request, now)
        except ApiError:
            return _html(403, "That's an error. Your client does not have permission.")
        if now.timestamp() >= expiry:
            return _html(403, "That's an error. The link has expired.")
        with self.state.lock:
            self.state.auto_purge(now)
            item = self.state.files.get(file_id)
            if item is None:
                return _html(404, "That's an error. The requested URL was not found.")
            if not (token.scopes & CONTENT_SCOPES) or not self.can_see(token, item):
                return _html(403, "That's an error. Your client does not have permission.")
            name, key, data = item.name, item.id, item.content
        box, mode = box_for(match["options"])
        body = pictures.thumbnail(name, key, box=box, mode=mode, data=data)
        headers: dict[str, Any] = {"Content-Type": "image/jpeg", "Cache-Control": "private"}
        return Response(200, body, headers)
