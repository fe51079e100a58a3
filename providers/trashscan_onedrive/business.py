"""OneDrive for Business: the recycle bin of the user's OneDrive site, listed in full each scan.

``GET /sites/{site-id}/recycleBin/items`` has a v1.0 reference page, but the v1.0 metadata has no
``site.recycleBin``; the beta metadata has it (and the restore action). So these calls use the
API version :data:`RECYCLE_BIN_API_VERSION`, one constant to change when v1.0 serves them.

Each item states ``deletedDateTime`` (exact), so the purge date is that plus 93 days, Microsoft's
fixed retention for SharePoint and OneDrive for Business across both recycle-bin stages. It is
not marked as an estimate: only an explicit emptying, or a second stage over its quota, removes
items sooner. ``retention_days`` replaces the 93 days where a tenant differs.

A recycle-bin item has no driveItem id and no mime type: photos and videos are recognised by the
extension of ``name`` (or of ``title``, which real answers carry besides the schema). The path
shown is ``deletedFromLocation`` (a server-relative URL) relative to the drive's library, plus the
name. Every scan lists the whole bin, so items that left it are swept by the core.

Pages: the list's v1.0 reference documents ``$top``, but not the page size served without it nor
the largest accepted (onedrive.md §4, §7.1). The listing asks :data:`BIN_TOP`, 1,000: the most
Graph serves per page of a drive listing ("The maximum items per page limit is 1000",
OneDrive/onedrive-api-docs#170) and what rclone asks; a service whose limit is lower serves
fewer per page and links the rest (OData server-driven paging), so a bin of 5,000 takes 5 pages
instead of 25 of the default 200. Graph's support of query options varies per operation and
between v1.0 and beta, where this list is served: a first page refused with 400 is asked again
without ``$top``, and the listing goes on with the pages the service chooses.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from trashscan.errors import AccountError
from trashscan.kinds import guess_mime_type
from trashscan.models import Account, DeletedAtSource, Page, ScanOutcome, TrashItem
from trashscan.pagination import PageGuard
from trashscan_onedrive.client import GraphError, GraphSession, json_of, query
from trashscan_onedrive.drive import DriveInfo, read_drive
from trashscan_onedrive.options import Settings, login_hint
from trashscan_onedrive.times import parse_iso

log = logging.getLogger(__name__)

RECYCLE_BIN_API_VERSION = "beta"  # v1.0 metadata lacks site.recycleBin (see module docstring)
BIN_TOP = 1000  # the largest page asked of the recycle bin (see the module docstring)
RETENTION_DAYS = 93
LIST_PERMISSIONS = "Files.Read (or Files.ReadWrite.All, Sites.Read.All)"


def recycle_bin_url(settings: Settings, site_id: str, rest: str = "") -> str:
    """``{graph}beta/sites/{host,site,web}/recycleBin/items[/rest]``, commas kept as documented."""
    site = quote(site_id, safe=",")
    url = f"{settings.graph}{RECYCLE_BIN_API_VERSION}/sites/{site}/recycleBin/items"
    return f"{url}/{rest}" if rest else url


def valid_state(state: object) -> DriveInfo | None:
    if not isinstance(state, dict) or state.get("drive_type") != "business":
        return None
    site_id, library = state.get("site_id"), state.get("library_path")
    if not isinstance(site_id, str) or site_id.count(",") != 2:
        return None
    return DriveInfo("business", site_id, library if isinstance(library, str) else None)


def display_path(location: object, library: str | None, name: str) -> str:
    """``/Photos/a.jpg`` from ``personal/alice_contoso_com/Documents/Photos`` and the name.

    "Relative URL" is not pinned down by Graph: the server-relative form (as above) and the
    site-relative one (``Documents/Photos``, SharePoint's ``DirName`` wording) both lose the
    library, whose site-relative name is the last segment of its server-relative path.
    """
    folder = unquote(location).strip("/") if isinstance(location, str) else ""
    library = (library or "").strip("/")
    for prefix in (library, library.rsplit("/", 1)[-1]):
        if prefix and (folder == prefix or folder.startswith(prefix + "/")):
            folder = folder[len(prefix) :].strip("/")
            break
    return "/" + "/".join(part for part in (folder, name) if part)


class BusinessScan:
    def __init__(self, session: GraphSession, account: Account, now: datetime) -> None:
        self.session = session
        self.settings = session.settings
        self.account = account
        self.now = now
        self.days = account.retention_days or RETENTION_DAYS
        self.estimate = False

    def run(
        self, state: dict | None, known: DriveInfo | None = None
    ) -> Generator[Page, None, ScanOutcome]:
        info = valid_state(state) or known
        if info is None or info.site_id is None:
            info = read_drive(self.session)
        if info.drive_type != "business" or info.site_id is None:
            raise AccountError(
                f"cannot find the OneDrive for Business site of account {self.account.name!r} "
                "(Graph gave no sharePointIds for /me/drive)"
            )
        plain = recycle_bin_url(self.settings, info.site_id)
        url: str | None = f"{plain}?{query({'$top': BIN_TOP})}"
        guard = PageGuard("OneDrive's recycle bin", "next link")
        guard.start(url)
        first = True
        while url:
            try:
                data = self._list(url, info.site_id)
            except GraphError as exc:
                if not (first and exc.status == 400):
                    raise
                log.info("the recycle bin refused $top=%d (%s): asking without it", BIN_TOP, exc)
                url, first = plain, False
                guard.start(url)
                continue
            first = False
            items = [item for raw in data.get("value") or () if (item := self._item(raw, info))]
            if items:
                yield Page(items=items)
            link = data.get("@odata.nextLink")
            url = link if isinstance(link, str) and link else None
            if url is not None:
                guard.follow(url)
        state = {
            "drive_type": "business",
            "site_id": info.site_id,
            "library_path": info.library_path,
        }
        return ScanOutcome(state, complete_listing=True)

    def _list(self, url: str, site_id: str) -> dict[str, Any]:
        response = self.session.send("GET", url)
        what = f"listing the recycle bin of site {site_id}"
        try:
            self.session.check(response, what)
        except GraphError as exc:
            if exc.status == 403:
                raise AccountError(
                    f"OneDrive for Business refused {what} (HTTP 403 {exc.code or ''}): the "
                    f"sign-in needs {LIST_PERMISSIONS}",
                    hint=f"grant it to your app registration, then {login_hint(self.account)}",
                ) from None
            raise
        return json_of(response, what)

    def _item(self, raw: Any, info: DriveInfo) -> TrashItem | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return None
        name = raw.get("name") if isinstance(raw.get("name"), str) else ""
        title = raw.get("title") if isinstance(raw.get("title"), str) else ""
        if not self.settings.is_media(name) and not self.settings.is_media(title):
            return None
        name = name if self.settings.is_media(name) else title
        path = display_path(raw.get("deletedFromLocation"), info.library_path, name)
        deleted_at = parse_iso(raw.get("deletedDateTime"))
        size = raw.get("size") if isinstance(raw.get("size"), int) else None
        return TrashItem(
            item_id=raw["id"],
            name=name,
            path=path,
            mime_type=guess_mime_type(name),
            size=size,
            deleted_at=deleted_at,
            deleted_at_source=DeletedAtSource.API,
            purge_at=deleted_at + timedelta(days=self.days) if deleted_at else None,
            purge_is_estimate=self.estimate,
            restore_handle={"site_id": info.site_id, "id": raw["id"], "path": path},
        )
