"""OneDrive thumbnails for the fake: thumbnailSets, their pre-authenticated URLs, and the host
that serves them.

Sources: [DOC driveitem-list-thumbnails.md] (microsoftgraph/microsoft-graph-docs-contrib, v1.0)
and [DOC resources/thumbnailset.md]:

* ``GET .../items/{id}/thumbnails`` answers ``{"value": [thumbnailSet]}``, each set
  ``{"id": "0", "small": {...}, "medium": {...}, "large": {...}}`` and each thumbnail
  ``{"width", "height", "url"}``; "Any item in a drive can have zero or more thumbnails" (here:
  photos and videos have one set, other files none, an UNVERIFIED simplification: OneDrive also
  renders documents). ``$select`` (or ``select``) picks sizes, custom ones included.
* ``GET .../thumbnails/{thumb-id}/{size}`` answers one thumbnail; ``.../{size}/content``
  answers "302 Found" with ``Location:`` the thumbnail URL.
* Sizes: ``small`` 96 longest, ``medium`` 176 longest, ``large`` 800 longest (original aspect
  ratio, as in the doc's example response 96x64 / 176x117 / 800x533), ``smallSquare`` 96x96,
  ``mediumSquare`` 176x176, ``largeSquare`` 800x800 (square crops), ``c{W}x{H}`` "fits inside
  a WxH pixel box, maintaining aspect ratio", ``c{W}x{H}_crop`` "resizing the image to fill
  the box and cropping whatever spills outside"; "The thumbnail returned may not exactly match
  the pixel dimensions that was requested, but will match the aspect ratio": the fake never
  enlarges its 320x240 pictures, so ``large`` is 320x240.
* ``$expand=thumbnails`` while listing ("retrieve thumbnails and items in a single request"),
  also on ``delta`` (the delta page lists ``$expand`` among its query parameters; JeremyKelley
  in OneDrive/onedrive-api-docs#890 confirms ``delta?$expand=thumbnails``), with an optional
  inner ``($select=medium)``. OneDrive for Business: "Using these calls to expand the
  thumbnails collection will not work: ... children?expand=thumbnails": business listings
  (children, and delta, UNVERIFIED) come without thumbnails; the per-item calls work there.
* URLs: the thumbnail ``url`` works without an ``Authorization`` header (pre-authenticated:
  "the expected behavior is that you can use the returned URL directly in an img tag", rgregg
  in OneDrive/onedrive-api-docs#396; "We should be returning pre-authenticated URLs",
  JeremyKelley in #890). They live on ``/1drv-thumbs/<signed token>`` (``*.files.1drv.com`` in
  reality), expire after :data:`URL_LIFETIME` ("the URLs seem to expire after a bit", #890; the
  value is UNVERIFIED), and stop working once the item changes version ("The URL will change, if
  the item changes") or is deleted (UNVERIFIED; the safe assumption).
* Deleted items: no API gives a thumbnail of an item in the recycle bin (next-wave.md §1: "No
  documented way"): ``/thumbnails`` of a deleted item is 404 ``itemNotFound`` like any other
  read of it, ``includeDeletedItems=true`` included (documented for metadata only), and delta
  tombstones carry no thumbnails. Capture them while the photo is alive.
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
from trashscan_onedrive.sandbox.model import Drive, Item

__all__ = [
    "STANDARD_SIZES",
    "THUMBNAIL_PATH",
    "URL_LIFETIME",
    "Thumbnails",
    "parse_expand",
]

THUMBNAIL_PATH = "/1drv-thumbs"
URL_LIFETIME = timedelta(hours=1)  # UNVERIFIED: "seem to expire after a bit"
STANDARD_SIZES: dict[str, tuple[tuple[int, int], pictures.ThumbMode]] = {
    "small": ((96, 96), "fit"),
    "medium": ((176, 176), "fit"),
    "large": ((800, 800), "fit"),
    "smallSquare": ((96, 96), "crop"),
    "mediumSquare": ((176, 176), "crop"),
    "largeSquare": ((800, 800), "crop"),
}
DEFAULT_SIZES = ("small", "medium", "large")
_CUSTOM = re.compile(r"c(?P<w>\d{1,4})x(?P<h>\d{1,4})(?P<crop>_crop)?")


def size_spec(name: str) -> tuple[tuple[int, int], pictures.ThumbMode] | None:
    """The box and mode of a size name (standard or ``c300x400[_crop]``), None if unknown."""
    if name in STANDARD_SIZES:
        return STANDARD_SIZES[name]
    custom = _CUSTOM.fullmatch(name)
    if custom is None:
        return None
    box = (max(1, int(custom["w"])), max(1, int(custom["h"])))
    return box, ("crop" if custom["crop"] else "fit")


def _split_top(text: str) -> list[str]:
    """``a,b(c,d),e`` -> ``["a", "b(c,d)", "e"]``."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_expand(expand: str | None) -> dict[str, list[str] | None]:
    """``$expand`` as {navigation property (lower case): its inner ``$select`` or None}."""
    out: dict[str, list[str] | None] = {}
    for part in _split_top(expand or ""):
        name, _, inner = part.partition("(")
        select = None
        for option in inner.rstrip(")").split(";"):
            key, _, value = option.partition("=")
            if key.strip().lstrip("$").lower() == "select" and value.strip():
                select = [v.strip() for v in value.split(",") if v.strip()]
        out[name.strip().lower()] = select
    return out


def has_thumbnails(item: Item) -> bool:
    return not item.folder and pictures.media_kind(item.name) is not None


class Thumbnails:
    """Renders thumbnailSets with signed URLs and serves those URLs."""

    def __init__(
        self,
        drives: dict[str, Drive],
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
    ) -> None:
        self.drives = drives
        self.clock = clock
        self.base_url = base_url
        self._key = secrets.token_bytes(16)

    def register(self, router: Router) -> None:
        router.add("GET", THUMBNAIL_PATH + r"/(?P<token>[A-Za-z0-9_-]+)", self.serve)

    # -- rendering ----------------------------------------------------------------------------

    def _url(self, drive: Drive, item: Item, size: str) -> str:
        expiry = int((self.clock() + URL_LIFETIME).timestamp())
        payload = json.dumps(
            [drive.id, item.id, item.version, size, expiry], separators=(",", ":")
        ).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return f"{self.base_url()}{THUMBNAIL_PATH}/" + base64.urlsafe_b64encode(
            mac + payload
        ).decode().rstrip("=")

    def thumbnail(self, drive: Drive, item: Item, size: str) -> dict[str, Any] | None:
        """One thumbnail object, None for an unknown size name."""
        spec = size_spec(size)
        if spec is None:
            return None
        box, mode = spec
        width, height = pictures.fitted_size(pictures.source_size(), box, mode)
        return {"height": height, "width": width, "url": self._url(drive, item, size)}

    def sets(self, drive: Drive, item: Item, select: list[str] | None) -> list[dict[str, Any]]:
        """The item's thumbnailSets (``[]`` when it has none)."""
        if not has_thumbnails(item):
            return []
        sizes = [s for s in (select or DEFAULT_SIZES) if s.lower() != "id"]
        thumbnail_set: dict[str, Any] = {"id": "0"}
        for size in sizes:
            thumb = self.thumbnail(drive, item, size)
            if thumb is not None:
                thumbnail_set[size] = thumb
        return [thumbnail_set]

    # -- serving ------------------------------------------------------------------------------

    def _decode(self, token: str) -> list[Any] | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:12], raw[12:]
            good = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
            return json.loads(payload) if hmac.compare_digest(mac, good) else None
        except (ValueError, TypeError):
            return None

    def serve(self, request: Request, match: re.Match[str]) -> Response:
        """A thumbnail URL: no credentials needed; 404 once expired, changed or deleted."""
        decoded = self._decode(match["token"])
        gone = Response(404, b"", {"Content-Type": "text/plain"})
        if decoded is None:
            return gone
        drive_id, item_id, version, size, expiry = decoded
        if self.clock().timestamp() >= expiry:
            return Response(403, b"", {"Content-Type": "text/plain"})
        drive = next((d for d in self.drives.values() if d.id == drive_id), None)
        if drive is None:
            return gone
        with drive.lock:
            item = drive.items.get(item_id)
            if item is None or not item.live or item.version != version:
                return gone
            name, key, data = item.name, item.id, item.content
        spec = size_spec(size)
        if spec is None:
            return gone
        box, mode = spec
        body = pictures.thumbnail(name, key, box=box, mode=mode, data=data)
        return Response(200, body, {"Content-Type": "image/jpeg"})
