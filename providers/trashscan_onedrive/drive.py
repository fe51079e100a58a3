"""Which kind of OneDrive an account has, and where a business drive's recycle bin lives.

One ``GET /me/drive?$select=driveType,webUrl,sharePointIds`` answers both: ``driveType`` is
``personal`` or ``business``, and a business drive's ``sharePointIds`` (returned only on
``$select``) name its SharePoint site. Graph addresses that site as ``host,siteId,webId``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from trashscan.errors import AccountError
from trashscan_onedrive.client import GraphSession, query

DRIVE_SELECT = "driveType,webUrl,sharePointIds"


@dataclass(frozen=True, slots=True)
class DriveInfo:
    drive_type: str  # "personal" or "business"
    site_id: str | None = None  # business: "host,siteGuid,webGuid"
    library_path: str | None = None  # business: "personal/alice_contoso_com/Documents"


def drive_url(session: GraphSession) -> str:
    return session.settings.v1("me/drive") + "?" + query({"$select": DRIVE_SELECT})


def read_drive(session: GraphSession) -> DriveInfo:
    data = session.get_json(drive_url(session), "reading your drive (/me/drive)")
    return parse_drive(data)


def parse_drive(data: dict[str, Any]) -> DriveInfo:
    kind = data.get("driveType")
    if kind == "personal":
        return DriveInfo("personal")
    if kind != "business":
        raise AccountError(
            f"this sign-in's drive is of type {kind!r}; trashscan knows personal and business"
        )
    web_url = data.get("webUrl") if isinstance(data.get("webUrl"), str) else ""
    ids = data.get("sharePointIds") if isinstance(data.get("sharePointIds"), dict) else {}
    site, web = ids.get("siteId"), ids.get("webId")
    site_url = ids.get("siteUrl") if isinstance(ids.get("siteUrl"), str) else web_url
    host = urlsplit(site_url or web_url).hostname
    site_id = f"{host},{site},{web}" if host and site and web else None
    library = unquote(urlsplit(web_url).path).strip("/") or None
    return DriveInfo("business", site_id, library)
