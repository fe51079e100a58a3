"""Microsoft Graph routes of the OneDrive fake (``/v1.0/...`` and ``/beta/...``).

Each handler cites the page it follows (microsoftgraph/microsoft-graph-docs-contrib, as
published on learn.microsoft.com/graph):

* ``GET /me/drive`` [drive-get.md, resources/drive.md]: ``driveType`` personal | business,
  ``owner``, ``quota`` (``deleted`` = bytes in the recycle bin), ``webUrl``; ``sharePointIds``
  only when ``$select``-ed (onedrive.md §2.3 "not returned by default"), never on personal
  drives [DOC sharepointids.md]. ``$select`` is honoured everywhere it is documented.
* ``GET /me/drive/root``, ``/items/{id}``, ``/root:/{path}``, ``/items/{id}:/{path}``
  [driveitem-get.md; concepts addressing-driveitems]: 404 ``itemNotFound`` for unknown or
  deleted items; ``includeDeletedItems=true`` returns a deleted item with its ``deleted`` facet
  when addressed by id on OneDrive Personal ("only valid when targeting a driveItem by ID ...
  currently only supported on OneDrive Personal"), and is ignored otherwise.
* ``GET .../children`` [driveitem-list-children.md]: live children by name, ``$top``, paged with
  ``@odata.nextLink`` (``$skiptoken``); ``$expand=children`` on an item GET.
* ``GET /me/drive/special/{documents|photos|cameraroll}`` [drive-get-specialfolder.md] on
  personal drives (``specialFolder`` facet); a missing one is 404 (the service would create it).
* ``GET /me/drive/root/delta`` [driveitem-delta.md]: without a token, the current hierarchy
  (root first, parents before children, no deleted items: JeremyKelley in
  OneDrive/onedrive-api-docs#1412); with a deltaLink token, the latest state of every item
  changed since, *plus its ancestors* unless the ``deltaExcludeParent`` header is sent;
  ``token=latest`` gives no items and a fresh ``@odata.deltaLink``; a timestamp token works on
  business drives only; pages end in ``@odata.nextLink`` until the last, which carries
  ``@odata.deltaLink``. Deleted items carry ``"deleted": {"state": "deleted"}`` (the facet's
  only property is ``state``, whose values are undocumented [resources/deleted.md]) and omit
  ``cTag`` and ``size`` (personal) or ``cTag`` and ``name`` (business, whose ``size`` is 0:
  microsoftgraph/microsoft-graph-docs#2818) ["Remarks" tables]; ``parentReference`` never has
  ``path`` in delta. A ``$select`` without ``deleted`` strips the facet. An expired, foreign or
  garbled token is ``410 Gone`` with code ``resyncRequired`` (detailed code
  ``resyncChangesApplyDifferences``) and a ``Location`` that restarts a full enumeration (body
  as observed in OneDrive/onedrive-api-docs#1356). That ``Location`` is "a new nextLink that
  starts a fresh delta enumeration from scratch" (the old OneDrive reference quoted in
  OneDrive/onedrive-api-docs#702); the one observed in OneDrive/onedrive-api-docs#249 is the
  delta URL with a token and nothing else, none of the refused request's query options. So the
  fake's is the bare delta URL (a fresh enumeration: no token, no ``$select``, no ``$top``);
  seam ``resync_location_keeps_options`` repeats the refused request's ``$select``/``$top`` in
  it instead (what the fake did before).
* ``GET .../items/{id}/thumbnails`` (+ ``/{set}/{size}`` and ``/{set}/{size}/content``, a 302
  to a pre-authenticated URL) and ``$expand=thumbnails`` on item GETs, children and delta
  (personal) [driveitem-list-thumbnails.md]: see :mod:`~trashscan_onedrive.sandbox.thumbnails`;
  deleted items have none.
* ``POST /me/drive/items/{id}/restore`` [driveitem-restore.md]: OneDrive Personal only ("Not
  supported" for work or school accounts: here 400 ``notSupported``, an [UNVERIFIED] guess),
  needs ``Files.ReadWrite.All``; optional body ``parentReference.id`` and ``name``; 200 with the
  restored driveItem. Errors use the generic codes [concepts/errors.md]: 404 ``itemNotFound``
  (unknown or purged), 409 ``nameAlreadyExists`` (name taken), 409 ``invalidRequest`` with
  detailed code ``parentItemNotFound`` when the original parent is itself deleted and no
  ``parentReference`` is given (409 is the documented status for "the specified parent folder
  might not exist"; the detailed code is this fake's), 400 ``invalidRequest`` for an item that is
  not in the recycle bin. A photo whose folder was deleted *later* (two separate deletions, both
  in the recycle bin) gets that 409 when restored alone, or into the deleted folder by
  ``parentReference``: what OneDrive does there is UNVERIFIED (onedrive.md §1.2 and §7.3), so
  the fake fails loudly with a Graph error rather than restoring to the root. Restoring the
  folder first (which brings back what was deleted *with* it, not the earlier deletion), then
  the photo, works; so does ``parentReference`` to a live folder. Every restore is a change, so
  the next delta reports the restored items (and the folder's restored subtree).
* ``GET /sites/{site-id}/recycleBin/items`` [recyclebin-list-items.md, v1.0 and beta pages both
  exist, so both versions are served]: recycleBinItem objects [resources/recyclebinitem.md:
  ``id``, ``name``, ``size``, ``deletedDateTime``, ``deletedFromLocation``; the beta example adds
  ``title`` and ``deletedBy.user``], most recent first, ``$top`` and ``$select``, paged with
  ``@odata.nextLink``. Both stages are listed (undocumented, onedrive.md §2.1; seam
  ``list_second_stage``). The bin's page size and ``$top`` maximum are undocumented
  (onedrive.md §4, §7.1): the fake serves the drive listings' default of 200 and caps ``$top``
  at their 1,000. Graph's query-parameter support "varies from one API operation to another
  and ... can differ between the v1.0 and beta endpoints" [graph/query-parameters]; the ``$top``
  is documented on the v1.0 page while the list is served from beta. Seam
  ``bin_top_supported`` (True by default, as documented) set to False answers a ``$top`` on
  the bin list with 400 ``invalidRequest``, Graph's code for a request "malformed or
  incorrect" [concepts/errors.md], as an endpoint that does not support the option would.
* ``GET /sites/{site-id}/recycleBin/items/{id}`` is NOT documented (only the list is;
  onedrive.md §2.1). Every call is recorded in ``undocumented``. By default
  (``serve_bin_item_get`` False) it answers 400 ``BadRequest`` "Resource not found for the
  segment '<id>'." in Graph's error envelope [DOC concepts/errors.md], as a server refusing
  the route would: a client built from the documentation never depends on it. Set True, it
  answers the recycleBinItem or 404, for a test of a server that serves it anyway.
* ``POST /beta/sites/{site-id}/recycleBin/items/restore`` ``{"ids": [...]}`` (beta metadata
  only; v1.0 answers 400 "Resource not found for the segment"): modelled on the documented
  fileStorageContainer variant [filestoragecontainer-restore-recyclebinitem.md]: ``207
  Multi-Status`` with ``value`` = the restored recycleBinItems; ids that could not be restored
  are simply absent (the answer never says why; :class:`RestoreRecord` ``not_restored`` holds
  the fake's truth): ``not_in_bin`` (unknown, purged, or already restored, e.g. by a racing
  run: the item is then live at its place), ``parent_missing`` (the original folder is not
  live: SharePoint CSOM RecycleBinItem.Restore documents "Recycle Bin item is the child of a
  list, list item, or document that does not exist"), ``name_taken`` (CSOM: "Another file or
  folder with the same name already exists in the original location"; SharePoint REST
  ``RestoreByIds`` has ``bRenameExistingItems``, but what the Graph beta call does is
  UNVERIFIED, so the conservative answer: not restored, nothing renamed). Seams:
  ``site_restore_ok_status`` (207 by default, even when every id was restored, as the
  documented variant answers; 200 emulates the 200 public scripts also accept; a partial
  restore is always 207), ``bin_restore_recreates_folders`` (UNVERIFIED: recreate a missing
  original folder path, then restore into it, as a 3P write-up of the SharePoint web UI
  reports: sharepointmaven.com "How the SharePoint Online Recycle Bin Restore process works"),
  ``max_restore_ids`` (20, undocumented: the chunk size CLI for Microsoft 365 uses),
  ``deny_restore``.
* Destructive calls (``DELETE`` of items, ``permanentDelete``, content ``PUT``, uploads, creates,
  moves, the recycle bin's ``delete``) are refused with 403 ``accessDenied`` and recorded:
  trashscan must never make them.
* ``POST /{version}/$batch`` (JSON batching) is :mod:`~trashscan_onedrive.sandbox.batch`, routed
  ahead of these handlers, which run each of its parts.
* Anything else is 400 ``BadRequest`` "Resource not found for the segment ..." (Graph's answer
  for unknown paths) and recorded in ``unmodelled``.
* Personal (MSA) tokens on ``/sites/...`` get 400 "Tenant does not have a SPO license."
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

from trashscan.sandbox.server import Request, Response, Router
from trashscan_onedrive.sandbox.auth import AccessToken, AuthState
from trashscan_onedrive.sandbox.model import (
    Drive,
    Item,
    NameConflict,
    ParentMissing,
    RecycleBinEntry,
    Site,
    ctag,
    etag,
    hashes,
)
from trashscan_onedrive.sandbox.thumbnails import Thumbnails, parse_expand
from trashscan_onedrive.sandbox.wire import (
    GraphError,
    graph_error_response,
    graph_json,
    iso,
    parse_iso,
)

__all__ = ["GraphApi", "RecordedCall", "RestoreRecord"]

READ_SCOPES = frozenset(
    {
        "files.read",
        "files.read.all",
        "files.readwrite",
        "files.readwrite.all",
        "sites.read.all",
        "sites.readwrite.all",
        "sites.manage.all",
        "sites.fullcontrol.all",
    }
)
SITE_WRITE_SCOPES = frozenset(
    {
        "files.readwrite",
        "files.readwrite.all",
        "sites.readwrite.all",
        "sites.manage.all",
        "sites.fullcontrol.all",
    }
)
MAX_TOP = 1000  # "The maximum items per page limit is 1000" (rgregg, onedrive-api-docs#170)
_INVALID_NAME = re.compile(r'[\\/:*?"<>|]')
# drive/special/{name} [DOC drive-get-specialfolder.md] -> where the seeded drives keep them.
# A missing special folder is 404 here (the real service would create it: a write).
_SPECIAL_FOLDERS = {
    "documents": "/Documents",
    "photos": "/Pictures",
    "cameraroll": "/Pictures/Camera Roll",
}
_SPECIAL_NAMES = {
    "/Documents": "documents",
    "/Pictures": "photos",
    "/Pictures/Camera Roll": "cameraRoll",
}
_THUMBNAILS = re.compile(
    r"/thumbnails(?:/(?P<set>[^/]+)(?:/(?P<size>[^/]+)(?P<content>/content)?)?)?"
)
_DELTA_FN = re.compile(r"^/delta(?:\(token='?(?P<token>[^')]*)'?\))?$")
_WRITE_SUFFIXES = (
    "/permanentDelete",
    "/content",
    "/copy",
    "/createUploadSession",
    "/createLink",
    "/invite",
    "/checkin",
    "/checkout",
    "/follow",
    "/unfollow",
)


@dataclass(frozen=True)
class RecordedCall:
    """A refused (destructive) or unmodelled call, for tests to assert on."""

    method: str
    path: str
    account: str | None
    at: datetime


@dataclass(frozen=True)
class RestoreRecord:
    """One restore request as the fake saw it (personal item or business bin ids)."""

    account: str
    kind: str  # "driveItem" | "recycleBin"
    ids: tuple[str, ...]
    restored: tuple[str, ...]
    status: int
    name: str | None = None
    parent_id: str | None = None
    # business bin restores: (id, why) for each id the answer left out: "not_in_bin" (unknown,
    # purged, or already restored), "parent_missing" (the original folder is not live) or
    # "name_taken" (a live item holds the name at the original place). Graph's answer does not
    # say why; this is the fake's ground truth for tests of a client's diagnosis.
    not_restored: tuple[tuple[str, str], ...] = ()


@dataclass
class _Cursor:
    drive_id: str
    generation: int
    ids: list[str]
    upto: int  # the sequence number the final deltaLink encodes
    key: str | None = None  # set once a nextLink refers to it


@dataclass
class _Ctx:
    """What a Graph handler needs about the request."""

    request: Request
    version: str
    token: AccessToken
    account: str
    query: dict[str, str]
    select: list[str] | None = None
    base_path: str = ""  # e.g. "/me/drive", for links


@dataclass
class GraphApi:
    """The Graph surface over the fake's drives (see the module docstring)."""

    auth: AuthState
    clock: Callable[[], datetime]
    base_url: Callable[[], str]
    drives: dict[str, Drive] = field(default_factory=dict)  # account -> drive
    sites: dict[str, Site] = field(default_factory=dict)  # business account -> site
    refused: list[RecordedCall] = field(default_factory=list)
    unmodelled: list[RecordedCall] = field(default_factory=list)
    undocumented: list[RecordedCall] = field(default_factory=list)
    restores: list[RestoreRecord] = field(default_factory=list)
    denied_restore: dict[str, str] = field(default_factory=dict)  # account -> permission
    list_second_stage: bool = True
    # GET /sites/{id}/recycleBin/items/{id} is not documented (only the list is): False
    # (default) answers Graph's 400 for an unknown segment, True serves it anyway.
    serve_bin_item_get: bool = False
    # The original folder of a bin entry is not live: False (default) leaves the entry in the
    # bin, as SharePoint's CSOM documents; True recreates the folder path first, as the
    # SharePoint web UI is reported to do (3P, UNVERIFIED for Graph's beta restore).
    bin_restore_recreates_folders: bool = False
    site_restore_ok_status: int = 207
    max_restore_ids: int = 20
    page_size: int = 200
    # See the module docstring: the bin list's $top is documented (True); False refuses it.
    bin_top_supported: bool = True
    # A 410's Location: the bare delta URL (False, as observed); True repeats $select/$top.
    resync_location_keeps_options: bool = False
    _cursors: OrderedDict[str, _Cursor] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.thumbnails = Thumbnails(self.drives, self.clock, self.base_url)

    def register(self, router: Router) -> None:
        self.thumbnails.register(router)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            router.add(method, r"/(?P<version>v1\.0|beta)(?P<rest>/.*)", self._dispatch)

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, request: Request, match: re.Match[str]) -> Response:
        try:
            token = self.auth.check(request.headers.get("Authorization"))
            ctx = _Ctx(
                request,
                match["version"],
                token,
                token.account,
                {k.lstrip("$").lower(): v[-1] for k, v in request.query.items()},
            )
            if "select" in ctx.query:
                ctx.select = [s.strip() for s in ctx.query["select"].split(",") if s.strip()]
            return self._route(ctx, unquote(match["rest"]).rstrip("/") or "/")
        except GraphError as error:
            return graph_error_response(request, error)

    def _route(self, ctx: _Ctx, rest: str) -> Response:
        method = ctx.request.method
        if rest == "/me" and method == "GET":
            return self._me(ctx)
        drive_match = re.match(
            r"^/(?:me/drive|drives/(?P<drive>[^/]+)|users/(?P<user>[^/]+)/drive)(?P<tail>/.*)?$",
            rest,
        )
        if drive_match is not None:
            drive = self._drive_for(ctx, drive_match["drive"], drive_match["user"])
            ctx.base_path = rest[: len(rest) - len(drive_match["tail"] or "")]
            return self._drive_route(ctx, drive, drive_match["tail"] or "")
        if rest.startswith("/sites/"):
            return self._sites_route(ctx, rest)
        return self._unknown(ctx, rest)

    def _unknown(self, ctx: _Ctx, rest: str) -> Response:
        if ctx.request.method != "GET":
            return self._refuse(ctx, rest)
        self.unmodelled.append(
            RecordedCall(ctx.request.method, ctx.request.path, ctx.account, self.clock())
        )
        segment = rest.rstrip("/").rsplit("/", 1)[-1] or rest
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    def _refuse(self, ctx: _Ctx, rest: str) -> Response:
        self.refused.append(
            RecordedCall(ctx.request.method, ctx.request.path, ctx.account, self.clock())
        )
        raise GraphError(
            403,
            "accessDenied",
            "The trashscan sandbox refuses destructive calls (delete, overwrite, upload, move).",
        )

    # -- helpers ------------------------------------------------------------------------------

    def _drive_for(self, ctx: _Ctx, drive_id: str | None, user: str | None) -> Drive:
        drive = self.drives.get(ctx.account)
        if drive is None:
            raise GraphError(404, "itemNotFound", "The user's drive cannot be found.")
        if drive_id is not None and drive_id.lower() != drive.id.lower():
            raise GraphError(404, "itemNotFound", "The drive cannot be found.")
        if user is not None and user.lower() not in (
            ctx.account,
            drive.owner.email.lower(),
            drive.owner.user_id.lower(),
            drive.owner.oid.lower(),
        ):
            raise GraphError(403, "accessDenied", "Access denied")
        return drive

    @staticmethod
    def _need(ctx: _Ctx, scopes: frozenset[str], what: str) -> None:
        if not (ctx.token.scopes & scopes):
            raise GraphError(
                403,
                "accessDenied",
                f"Access denied. The access token lacks a permission that allows {what}.",
            )

    def _top(self, ctx: _Ctx) -> int:
        raw = ctx.query.get("top")
        if raw is None:
            return self.page_size
        try:
            top = int(raw)
        except ValueError:
            raise GraphError(
                400,
                "invalidRequest",
                f"Invalid $top value '{raw}'.",
                inner_code="invalidQueryOption",
            ) from None
        if top < 1:
            raise GraphError(
                400,
                "invalidRequest",
                "Zero or fewer results requested.",
                inner_code="zeroOrFewerResultsRequested",
            )
        return min(top, MAX_TOP)

    def _with_thumbnails(
        self, ctx: _Ctx, drive: Drive, item: Item, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``$expand=thumbnails`` on a listing (children, delta): live items get their sets on
        OneDrive Personal; business listings do not expand them ("will not work" on OneDrive
        for Business [DOC driveitem-list-thumbnails.md, Remarks]; for delta UNVERIFIED)."""
        expand = parse_expand(ctx.query.get("expand"))
        if "thumbnails" in expand and item.live and drive.personal:
            body["thumbnails"] = self.thumbnails.sets(drive, item, expand["thumbnails"])
        return body

    def _link(self, ctx: _Ctx, path: str, params: dict[str, str]) -> str:
        extra = {}
        if ctx.select is not None:
            extra["$select"] = ",".join(ctx.select)
        if "expand" in ctx.query:  # nextLink/deltaLink keep the request's query options
            extra["$expand"] = ctx.query["expand"]
        if "top" in ctx.query:
            extra["$top"] = ctx.query["top"]
        query = urlencode({**params, **extra}, quote_via=quote, safe="$,!")
        url = f"{self.base_url()}/{ctx.version}{quote(path, safe='/,:!')}"
        return f"{url}?{query}" if query else url

    def _context(self, ctx: _Ctx, fragment: str) -> str:
        return f"{self.base_url()}/{ctx.version}/$metadata#{fragment}"

    @staticmethod
    def _select(obj: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
        if select is None:
            return obj
        wanted = {s.lower() for s in select}
        return {k: v for k, v in obj.items() if k.lower() in wanted or k.startswith("@odata.")}

    # -- /me ----------------------------------------------------------------------------------

    def _me(self, ctx: _Ctx) -> Response:
        if not ctx.token.scopes & {"user.read", "user.readbasic.all"}:
            raise GraphError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        owner = self.drives[ctx.account].owner
        given, _, surname = owner.display_name.partition(" ")
        body = {
            "@odata.context": self._context(ctx, "users/$entity"),
            "businessPhones": [],
            "displayName": owner.display_name,
            "givenName": given,
            "jobTitle": None,
            "mail": owner.email,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "surname": surname,
            "userPrincipalName": owner.email,
            "id": owner.user_id,
        }
        return graph_json(ctx.request, self._select(body, ctx.select))

    # -- drives and items ---------------------------------------------------------------------

    def _drive_route(self, ctx: _Ctx, drive: Drive, tail: str) -> Response:
        method = ctx.request.method
        if tail == "":
            if method != "GET":
                return self._refuse(ctx, tail)
            self._need(ctx, READ_SCOPES, "reading the drive")
            return self._drive_get(ctx, drive)
        parsed = self._parse_item(drive, tail)
        if parsed is None:
            return self._unknown(ctx, tail)
        item, by_id, suffix = parsed
        if method == "GET":
            self._need(ctx, READ_SCOPES, "reading files")
            if suffix == "":
                return self._item_get(ctx, drive, item, by_id)
            if suffix == "/children":
                return self._children(ctx, drive, item)
            thumbs = _THUMBNAILS.fullmatch(suffix)
            if thumbs is not None:
                return self._thumbnails(ctx, drive, item, thumbs)
            delta = _DELTA_FN.match(suffix)
            if delta is not None:
                if item is None or not item.is_root:
                    return self._unknown(ctx, suffix)
                token = delta["token"] if delta["token"] is not None else ctx.query.get("token")
                return self._delta(ctx, drive, token)
            return self._unknown(ctx, suffix)
        if method == "POST" and suffix == "/restore":
            return self._restore_item(ctx, drive, item, tail)
        return self._refuse(ctx, tail)

    def _parse_item(self, drive: Drive, tail: str) -> tuple[Item | None, bool, str] | None:
        """(item or None if not found, addressed by id, suffix) for an item-addressing tail."""
        special = re.match(r"^/special/(?P<name>[^/:]+)(?P<rest>.*)$", tail)
        if tail.startswith("/root"):
            rest, start, by_id = tail[5:], drive.root, False
        elif special is not None:
            folder = _SPECIAL_FOLDERS.get(special["name"].lower())
            start = drive.resolve(folder) if folder is not None else None
            rest, by_id = special["rest"], False
        elif tail.startswith("/items/"):
            body = tail[7:]
            end = min((i for i in (body.find("/"), body.find(":")) if i >= 0), default=len(body))
            item_id, rest = body[:end], body[end:]
            start = drive.get(item_id)
            by_id = True
        else:
            return None
        if rest.startswith(":"):  # path addressing: root:/a/b[:suffix]
            rest = rest[1:]
            colon = rest.find(":")
            path, suffix = (rest, "") if colon < 0 else (rest[:colon], rest[colon + 1 :])
            if start is None or not start.live:
                return None, False, suffix
            return drive.resolve(path, start), False, suffix
        if rest and not rest.startswith("/"):
            return None
        return start, by_id, rest

    def _drive_get(self, ctx: _Ctx, drive: Drive) -> Response:
        now = self.clock()
        owner: dict[str, Any] = {"displayName": drive.owner.display_name, "id": drive.owner.user_id}
        body: dict[str, Any] = {
            "@odata.context": self._context(ctx, "drives/$entity"),
            "createdDateTime": iso(drive.created),
            "description": "",
            "id": drive.id,
            "lastModifiedDateTime": iso(drive.root.modified),
            "name": "OneDrive",
            "webUrl": self._drive_url(drive),
            "driveType": drive.drive_type,
            "owner": {"user": owner},
            "quota": drive.quota(now),
        }
        if drive.personal:
            body["createdBy"] = {"user": {"displayName": drive.owner.display_name}}
        else:
            owner["email"] = drive.owner.email
            body["createdBy"] = {"user": {"displayName": "System Account"}}
            body["lastModifiedBy"] = {"user": {"displayName": drive.owner.display_name}}
            wanted = {s.lower() for s in ctx.select or []}
            if "sharepointids" in wanted:
                body["sharePointIds"] = self._sharepoint_ids(ctx.account)
        return graph_json(ctx.request, self._select(body, ctx.select))

    def _drive_url(self, drive: Drive) -> str:
        if drive.personal:
            return f"https://onedrive.live.com/?cid={drive.id}"
        return self.sites[drive.owner.name].url + "/Documents"

    def _sharepoint_ids(self, account: str) -> dict[str, str]:
        site = self.sites[account]
        return {
            "listId": site.list_guid,
            "siteId": site.site_guid,
            "siteUrl": site.url,
            "tenantId": site.tenant_id,
            "webId": site.web_guid,
        }

    def _item_get(self, ctx: _Ctx, drive: Drive, item: Item | None, by_id: bool) -> Response:
        now = self.clock()
        with drive.lock:
            if item is None:
                raise GraphError(404, "itemNotFound", "Item not found")
            if not item.live:
                wants_deleted = ctx.query.get("includedeleteditems", "").lower() == "true"
                if not (drive.personal and by_id and wants_deleted) or drive.is_purged(item, now):
                    raise GraphError(404, "itemNotFound", "Item not found")
            body = self.render(drive, item)
            expand = parse_expand(ctx.query.get("expand"))
            if "children" in expand and item.live and item.folder:
                kids = sorted(
                    (drive.items[i] for i in item.children.values()), key=lambda i: i.name.lower()
                )
                body["children"] = [self.render(drive, k) for k in kids]
            body = {"@odata.context": self._context(ctx, "driveItem/$entity"), **body}
            body = self._select(body, ctx.select)
            if "thumbnails" in expand and item.live:  # expanded: kept whatever $select says
                body["thumbnails"] = self.thumbnails.sets(drive, item, expand["thumbnails"])
        return graph_json(ctx.request, body)

    def _thumbnails(
        self, ctx: _Ctx, drive: Drive, item: Item | None, match: re.Match[str]
    ) -> Response:
        """``/thumbnails``, ``/thumbnails/{set}/{size}`` and ``.../content`` (see
        :mod:`.thumbnails`): a deleted item has none (404, as any read of it)."""
        with drive.lock:
            if item is None or not item.live:
                raise GraphError(404, "itemNotFound", "Item not found")
            sets = self.thumbnails.sets(drive, item, ctx.select if match["set"] is None else None)
            if match["set"] is None:
                body = {
                    "@odata.context": self._context(ctx, "Collection(thumbnailSet)"),
                    "value": sets,
                }
                return graph_json(ctx.request, body)
            if match["set"] != "0" or not sets:
                raise GraphError(404, "itemNotFound", "Thumbnail set not found")
            if match["size"] is None:
                return graph_json(ctx.request, sets[0])
            thumb = self.thumbnails.thumbnail(drive, item, match["size"])
            if thumb is None:
                raise GraphError(404, "itemNotFound", f"Thumbnail size {match['size']} not found")
        if match["content"]:
            # "The service responds with a redirect to the thumbnail URL."
            return Response(302, b"", {"Location": thumb["url"]})
        body = {"@odata.context": self._context(ctx, "thumbnail/$entity"), **thumb}
        return graph_json(ctx.request, body)

    def _children(self, ctx: _Ctx, drive: Drive, item: Item | None) -> Response:
        top = self._top(ctx)
        with drive.lock:
            if item is None or not item.live:
                raise GraphError(404, "itemNotFound", "Item not found")
            kids = sorted(
                (drive.items[i] for i in item.children.values()), key=lambda i: i.name.lower()
            )
            offset = _decode_skip(ctx.query.get("skiptoken"))
            page = [
                self._with_thumbnails(
                    ctx, drive, k, self._select(self.render(drive, k), ctx.select)
                )
                for k in kids[offset : offset + top]
            ]
        body: dict[str, Any] = {
            "@odata.context": self._context(ctx, "Collection(driveItem)"),
            "value": page,
        }
        if offset + top < len(kids):
            path = f"{ctx.base_path}/items/{item.id}/children"
            body["@odata.nextLink"] = self._link(
                ctx, path, {"$skiptoken": _encode_skip(offset + top)}
            )
        return graph_json(ctx.request, body)

    # -- rendering ----------------------------------------------------------------------------

    def render(self, drive: Drive, item: Item, *, in_delta: bool = False) -> dict[str, Any]:
        """A driveItem [DOC resources/driveitem.md]; tombstones per the delta "Remarks"."""
        owner = drive.owner
        user: dict[str, Any] = {"displayName": owner.display_name, "id": owner.user_id}
        if not drive.personal:
            user["email"] = owner.email
        parent_ref: dict[str, Any] = {"driveId": drive.id, "driveType": drive.drive_type}
        if item.parent_id is not None:
            parent = drive.items[item.parent_id]
            parent_ref["id"] = parent.id
            if not in_delta:
                parent_ref["name"] = "root" if parent.is_root else parent.name
                prefix = "/drive/root:" if drive.personal else f"/drives/{drive.id}/root:"
                parent_path = drive.path_of(parent)
                parent_ref["path"] = prefix + ("" if parent_path == "/" else parent_path)
        body: dict[str, Any] = {
            "createdDateTime": iso(item.created),
            "eTag": etag(drive, item),
            "id": item.id,
            "lastModifiedDateTime": iso(item.modified),
            "name": item.name,
            "createdBy": {"user": user},
            "lastModifiedBy": {"user": user},
            "parentReference": parent_ref,
            "fileSystemInfo": {
                "createdDateTime": iso(item.created),
                "lastModifiedDateTime": iso(item.modified),
            },
        }
        if not item.live:
            body["deleted"] = {"state": "deleted"}
            if item.folder:
                body["folder"] = {"childCount": 0}
            else:
                body["file"] = {}  # facets of deleted items are bare (onedrive-api-docs#535)
            if in_delta:
                if drive.personal:
                    return body  # consumer delta omits cTag and size
                body.pop("name")  # business delta omits cTag and name; size is always 0
                body["size"] = 0
                return body
            body["size"] = item.size
            return body
        body["cTag"] = ctag(drive, item)
        body["webUrl"] = self._item_url(drive, item)
        if item.folder:
            size, count = drive.folder_stats().get(item.id, (0, 0))
            body["size"] = size
            body["folder"] = {"childCount": count}
            if drive.personal:
                body["folder"]["view"] = {
                    "viewType": "thumbnails",
                    "sortBy": "name",
                    "sortOrder": "ascending",
                }
            special = _SPECIAL_NAMES.get(drive.path_of(item)) if drive.personal else None
            if special is not None:
                body["specialFolder"] = {"name": special}
            if item.is_root:
                body["root"] = {}
                body["parentReference"] = {"driveId": drive.id, "driveType": drive.drive_type}
            return body
        body["size"] = item.size
        body["file"] = {"mimeType": item.mime_type, "hashes": hashes(drive, item)}
        body.update(_media_facets(item))
        return body

    def _item_url(self, drive: Drive, item: Item) -> str:
        if drive.personal:
            return f"https://onedrive.live.com/?cid={drive.id}&id={quote(item.id)}"
        path = drive.path_of(item)
        return self.sites[drive.owner.name].url + "/Documents" + quote(path if path != "/" else "")

    # -- delta --------------------------------------------------------------------------------

    def _delta(self, ctx: _Ctx, drive: Drive, token: str | None) -> Response:
        top = self._top(ctx)
        now = self.clock()
        exclude_parent = ctx.request.headers.get("deltaExcludeParent") is not None
        if not drive.personal:
            drive.purge_bin(now)
        with drive.lock:
            if token == "latest":
                return self._delta_page(ctx, drive, [], None, drive.seq)
            if token is None or token == "":
                cursor = _Cursor(
                    drive.id, drive.generation, [i.id for i in drive.walk()], drive.seq
                )
                return self._delta_from(ctx, drive, cursor, 0, top)
            decoded = _decode_token(token)
            if decoded is None and not drive.personal:
                try:
                    since = drive.seq_at(parse_iso(token))
                except ValueError:
                    since = None
                if since is not None:
                    decoded = {"k": "d", "d": drive.id, "g": drive.generation, "s": since}
            if decoded is None or decoded.get("d") != drive.id:
                raise self._resync(ctx)
            if decoded["k"] == "n":
                with self._lock:
                    cursor = self._cursors.get(decoded["c"])
                if cursor is None or cursor.generation != drive.generation:
                    raise self._resync(ctx)
                return self._delta_from(ctx, drive, cursor, int(decoded["o"]), top)
            if decoded.get("g") != drive.generation or int(decoded["s"]) > drive.seq:
                raise self._resync(ctx)
            changed = self._changes(drive, int(decoded["s"]), exclude_parent)
            cursor = _Cursor(drive.id, drive.generation, [i.id for i in changed], drive.seq)
            return self._delta_from(ctx, drive, cursor, 0, top)

    @staticmethod
    def _changes(drive: Drive, since: int, exclude_parent: bool) -> list[Item]:
        """The latest state of each item changed after ``since`` (see module docstring)."""
        changed: list[Item] = []
        for item in drive.items.values():
            own = item.seq > since
            as_parent = not exclude_parent and item.touched > since
            if item.live:
                if own or as_parent:
                    changed.append(item)
            elif own and (not drive.personal or item.deleted_with == item.id):
                changed.append(item)
        changed.sort(key=lambda i: (drive.depth(i), i.seq, i.id))
        return changed

    def _delta_from(
        self, ctx: _Ctx, drive: Drive, cursor: _Cursor, offset: int, top: int
    ) -> Response:
        ids = cursor.ids[offset : offset + top]
        items = [drive.items[i] for i in ids if i in drive.items]
        if offset + top < len(cursor.ids):
            with self._lock:
                if cursor.key is None:
                    cursor.key = secrets.token_urlsafe(12)
                    self._cursors[cursor.key] = cursor
                    while len(self._cursors) > 500:
                        self._cursors.popitem(last=False)
                key = cursor.key
            token = _encode_token({"k": "n", "d": drive.id, "c": key, "o": offset + top})
            return self._delta_page(ctx, drive, items, token, None)
        return self._delta_page(ctx, drive, items, None, cursor.upto)

    def _delta_page(
        self,
        ctx: _Ctx,
        drive: Drive,
        items: list[Item],
        next_token: str | None,
        upto: int | None,
    ) -> Response:
        value = [
            self._with_thumbnails(
                ctx, drive, i, self._select(self.render(drive, i, in_delta=True), ctx.select)
            )
            for i in items
        ]
        body: dict[str, Any] = {
            "@odata.context": self._context(ctx, "Collection(driveItem)"),
            "value": value,
        }
        path = f"{ctx.base_path}/root/delta"
        if next_token is not None:
            body["@odata.nextLink"] = self._link(ctx, path, {"token": next_token})
        else:
            token = _encode_token({"k": "d", "d": drive.id, "g": drive.generation, "s": upto})
            body["@odata.deltaLink"] = self._link(ctx, path, {"token": token})
        return graph_json(ctx.request, body)

    def _resync(self, ctx: _Ctx) -> GraphError:
        return GraphError(
            410,
            "resyncRequired",
            "Resync required. Replace any local items with the server's version (including "
            "deletes) if you're sure that the service was up to date with your local changes "
            "when you last sync'd. Upload any local changes that the server doesn't know about.",
            inner_code="resyncChangesApplyDifferences",
            headers={"Location": self._resync_location(ctx)},
        )

    def _resync_location(self, ctx: _Ctx) -> str:
        """A fresh enumeration of the drive (see the module docstring)."""
        path = f"{ctx.base_path}/root/delta"
        if self.resync_location_keeps_options:
            return self._link(ctx, path, {})
        return f"{self.base_url()}/{ctx.version}{quote(path, safe='/,:!')}"

    # -- personal restore ---------------------------------------------------------------------

    def _restore_item(self, ctx: _Ctx, drive: Drive, item: Item | None, tail: str) -> Response:
        if item is not None:
            item_id = item.id
        else:
            item_id = tail.split("/")[2] if tail.startswith("/items/") else tail
        if not drive.personal:
            self._record(ctx, "driveItem", (item_id,), (), 400)
            raise GraphError(
                400,
                "notSupported",
                "Restoring a driveItem is only supported on OneDrive Personal.",
            )
        if "files.readwrite.all" not in ctx.token.scopes:
            self._record(ctx, "driveItem", (item_id,), (), 403)
            raise GraphError(403, "accessDenied", "Access denied. Files.ReadWrite.All is required.")
        try:
            body = ctx.request.json() if ctx.request.body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "invalidRequest", "Invalid request body.") from None
        if not isinstance(body, dict):
            raise GraphError(400, "invalidRequest", "Invalid request body.")
        name = body.get("name")
        reference = body.get("parentReference")
        now = self.clock()
        with drive.lock:
            status = 500
            try:
                if name is not None and (
                    not isinstance(name, str) or not name.strip() or _INVALID_NAME.search(name)
                ):
                    raise GraphError(
                        400,
                        "invalidRequest",
                        "Name contains invalid characters.",
                        inner_code="invalidPath",
                    )
                parent = None
                if reference is not None:
                    if not isinstance(reference, dict) or not reference.get("id"):
                        raise GraphError(
                            400, "invalidRequest", "parentReference must give the parent's id."
                        )
                    parent = drive.get(str(reference["id"]))
                    if parent is None or drive.is_purged(parent, now):
                        raise GraphError(404, "itemNotFound", "Item not found")
                if item is None or drive.is_purged(item, now):
                    raise GraphError(404, "itemNotFound", "Item not found")
                if item.live:
                    raise GraphError(400, "invalidRequest", "The item is not in the recycle bin.")
                try:
                    drive.restore(item, now, parent=parent, name=name)
                except ParentMissing:
                    raise GraphError(
                        409,
                        "invalidRequest",
                        "The parent folder of the item no longer exists. Pass parentReference "
                        "to restore the item elsewhere.",
                        inner_code="parentItemNotFound",
                    ) from None
                except NameConflict:
                    raise GraphError(
                        409,
                        "nameAlreadyExists",
                        "An item with the same name already exists under the parent.",
                    ) from None
                rendered = self.render(drive, item)
                status = 200
            except GraphError as error:
                status = error.status
                raise
            finally:
                self._record(
                    ctx,
                    "driveItem",
                    (item_id,),
                    (item_id,) if status == 200 else (),
                    status,
                    name=name if isinstance(name, str) else None,
                    parent_id=(reference or {}).get("id") if isinstance(reference, dict) else None,
                )
        body_out = {"@odata.context": self._context(ctx, "driveItem/$entity"), **rendered}
        return graph_json(ctx.request, body_out)

    def _record(
        self,
        ctx: _Ctx,
        kind: str,
        ids: tuple[str, ...],
        restored: tuple[str, ...],
        status: int,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        not_restored: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.restores.append(
            RestoreRecord(ctx.account, kind, ids, restored, status, name, parent_id, not_restored)
        )

    # -- sites and the business recycle bin ---------------------------------------------------

    def _sites_route(self, ctx: _Ctx, rest: str) -> Response:
        if self.drives.get(ctx.account) is None or self.drives[ctx.account].personal:
            raise GraphError(400, "BadRequest", "Tenant does not have a SPO license.")
        by_path = re.match(
            r"^/sites/(?P<host>[^/,:]+):(?P<path>/[^:]*?)(?::(?P<tail>/.*)?)?$", rest
        )
        if by_path is not None:
            site = self._site(ctx, host=by_path["host"], path=by_path["path"])
            tail = by_path["tail"] or ""
        else:
            by_id = re.match(r"^/sites/(?P<id>[^/]+)(?P<tail>/.*)?$", rest)
            if by_id is None:
                return self._unknown(ctx, rest)
            site = self._site(ctx, selector=by_id["id"])
            tail = by_id["tail"] or ""
        drive = self.drives[site.account]
        if tail == "":
            if ctx.request.method != "GET":
                return self._refuse(ctx, rest)
            self._need(ctx, READ_SCOPES, "reading the site")
            return self._site_get(ctx, site)
        if tail.startswith("/drive"):
            ctx.base_path = f"/sites/{site.id}/drive"
            return self._drive_route(ctx, drive, tail[len("/drive") :])
        if tail == "/recycleBin/items":
            if ctx.request.method != "GET":
                return self._refuse(ctx, rest)
            self._need(ctx, READ_SCOPES, "reading the recycle bin")
            return self._bin_list(ctx, site, drive)
        if tail == "/recycleBin/items/restore" and ctx.request.method == "POST":
            if ctx.version != "beta":  # only the beta metadata has it (onedrive.md §2.2)
                raise GraphError(400, "BadRequest", "Resource not found for the segment 'restore'.")
            return self._bin_restore(ctx, site, drive)
        entry_match = re.match(r"^/recycleBin/items/(?P<id>[^/]+)$", tail)
        if entry_match is not None and ctx.request.method == "GET":
            return self._bin_entry(ctx, drive, entry_match["id"])
        if ctx.request.method != "GET":
            return self._refuse(ctx, rest)
        return self._unknown(ctx, tail)

    def _bin_entry(self, ctx: _Ctx, drive: Drive, entry_id: str) -> Response:
        """``GET .../recycleBin/items/{id}``: undocumented (only "list items" is), so recorded
        in ``undocumented``; answered like Graph answers an unknown segment unless
        ``serve_bin_item_get`` (see the module docstring)."""
        self.undocumented.append(
            RecordedCall(ctx.request.method, ctx.request.path, ctx.account, self.clock())
        )
        if not self.serve_bin_item_get:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{entry_id}'.")
        self._need(ctx, READ_SCOPES, "reading the recycle bin")
        entry = drive.bin.get(entry_id)
        drive.purge_bin(self.clock())
        if entry is None or entry.id not in drive.bin:
            raise GraphError(404, "itemNotFound", "Item not found")
        body = {
            "@odata.context": self._context(ctx, "recycleBinItem/$entity"),
            **self._render_entry(entry),
        }
        return graph_json(ctx.request, self._select(body, ctx.select))

    def _site(
        self,
        ctx: _Ctx,
        *,
        selector: str | None = None,
        host: str | None = None,
        path: str | None = None,
    ) -> Site:
        """The site named by a composite id or by ``{hostname}:{server-relative path}``."""
        for site in self.sites.values():
            if selector is not None:
                found = site.matches(selector)
            else:
                found = (host or "").lower() == site.hostname.lower() and (path or "").rstrip(
                    "/"
                ).lower() == site.path.lower()
            if found:
                if site.account != ctx.account:
                    raise GraphError(403, "accessDenied", "Access denied")
                return site
        raise GraphError(404, "itemNotFound", "Requested site could not be found")

    def _site_get(self, ctx: _Ctx, site: Site) -> Response:
        body = {
            "@odata.context": self._context(ctx, "sites/$entity"),
            "createdDateTime": iso(site.created),
            "description": "",
            "id": site.id,
            "lastModifiedDateTime": iso(self.drives[site.account].root.modified),
            "name": site.path.rsplit("/", 1)[-1],
            "webUrl": site.url,
            "displayName": site.display_name,
            "root": {},
            "siteCollection": {"hostname": site.hostname},
        }
        return graph_json(ctx.request, self._select(body, ctx.select))

    @staticmethod
    def _render_entry(entry: RecycleBinEntry) -> dict[str, Any]:
        stem = entry.name.rsplit(".", 1)[0] if "." in entry.name else entry.name
        return {
            "id": entry.id,
            "name": entry.name,
            "title": stem,
            "size": entry.size,
            "deletedDateTime": iso(entry.deleted_at),
            "deletedFromLocation": entry.deleted_from,
            "deletedBy": {
                "user": {
                    "displayName": entry.deleted_by.display_name,
                    "email": entry.deleted_by.email,
                    "id": "12",  # a SharePoint user id, as in the beta example
                    "userPrincipalName": entry.deleted_by.email,
                }
            },
        }

    def _bin_list(self, ctx: _Ctx, site: Site, drive: Drive) -> Response:
        if "top" in ctx.query and not self.bin_top_supported:
            raise GraphError(
                400,
                "invalidRequest",
                "The query specified in the URI is not valid. Query option 'Top' is not allowed.",
            )
        top = self._top(ctx)
        entries = drive.bin_entries(self.clock(), second_stage=self.list_second_stage)
        offset = _decode_skip(ctx.query.get("skiptoken"))
        page = entries[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": self._context(ctx, f"sites('{site.id}')/recycleBin/items"),
            "value": [self._select(self._render_entry(e), ctx.select) for e in page],
        }
        if offset + top < len(entries):
            body["@odata.nextLink"] = self._link(
                ctx,
                f"/sites/{site.id}/recycleBin/items",
                {"$skiptoken": _encode_skip(offset + top)},
            )
        return graph_json(ctx.request, body)

    def _bin_restore(self, ctx: _Ctx, site: Site, drive: Drive) -> Response:
        try:
            body = ctx.request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise GraphError(400, "invalidRequest", "The request body must contain 'ids'.")
        requested = tuple(ids)
        if len(ids) > self.max_restore_ids:
            self._record(ctx, "recycleBin", requested, (), 400)
            raise GraphError(
                400,
                "invalidRequest",
                f"Too many ids: at most {self.max_restore_ids} items can be restored per request.",
            )
        permission = self.denied_restore.get(ctx.account)
        if permission is not None:
            self._record(ctx, "recycleBin", requested, (), 403)
            raise GraphError(
                403,
                "accessDenied",
                f"Access denied. Restoring recycle bin items of this site requires the "
                f"{permission} permission.",
            )
        if not ctx.token.scopes & SITE_WRITE_SCOPES:
            self._record(ctx, "recycleBin", requested, (), 403)
            raise GraphError(403, "accessDenied", "Access denied. A write permission is required.")
        now = self.clock()
        restored: list[dict[str, Any]] = []
        missed: list[tuple[str, str]] = []
        with drive.lock:
            drive.purge_bin(now)
            for entry_id in dict.fromkeys(ids):
                entry = drive.bin.get(entry_id)
                if entry is None:
                    missed.append((entry_id, "not_in_bin"))
                elif (why := self._restore_entry(drive, entry, now)) is not None:
                    missed.append((entry_id, why))
                else:
                    restored.append(self._render_entry(entry))
        status = self.site_restore_ok_status if not missed else 207
        self._record(
            ctx,
            "recycleBin",
            requested,
            tuple(r["id"] for r in restored),
            status,
            not_restored=tuple(missed),
        )
        body_out = {
            "@odata.context": self._context(ctx, "Collection(recycleBinItem)"),
            "value": restored,
        }
        return graph_json(ctx.request, body_out, status)

    def _restore_entry(self, drive: Drive, entry: RecycleBinEntry, now: datetime) -> str | None:
        """Restore one bin entry to its original place; None, or why it stayed in the bin.

        Nothing is ever renamed: SharePoint's ``RestoreByIds`` can rename the item in the way
        (``bRenameExistingItems``), but what Graph's beta restore does on a taken name is
        UNVERIFIED, so the conservative answer is modelled: not restored, nothing renamed."""
        item = drive.items[entry.item_id]
        parent = drive.items.get(item.parent_id or "")
        target = None
        if (parent is None or not parent.live) and self.bin_restore_recreates_folders:
            original = drive.path_of(parent) if parent is not None else "/"
            try:
                target = drive.mkdirs(original, now)
            except NameConflict:  # a file holds a folder's name on the way
                return "name_taken"
        try:
            drive.restore(item, now, parent=target)
        except ParentMissing:
            return "parent_missing"
        except NameConflict:
            return "name_taken"
        return None


def _media_facets(item: Item) -> dict[str, Any]:
    """image/photo or video facets [DOC resources/image.md, photo.md, video.md], derived
    deterministically from the item so repeated reads agree."""
    mime = item.mime_type or ""
    seed = sum(item.id.encode())
    if mime.startswith("image/"):
        width, height = (4032, 3024) if seed % 2 else (3024, 4032)
        facets: dict[str, Any] = {"image": {"height": height, "width": width}}
        if item.taken is not None:
            facets["photo"] = {
                "takenDateTime": iso(item.taken),
                "cameraMake": "Apple" if seed % 3 else "Google",
                "cameraModel": "iPhone 15" if seed % 3 else "Pixel 8",
            }
        return facets
    if mime.startswith("video/"):
        return {
            "video": {
                "duration": 15_000 + (seed % 90) * 1000,
                "height": 1080,
                "width": 1920,
                "bitrate": 16_000_000,
            }
        }
    return {}


def _encode_token(obj: dict[str, Any]) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or obj.get("k") not in ("n", "d"):
        return None
    return obj


def _encode_skip(offset: int) -> str:
    return base64.urlsafe_b64encode(f"Paged=TRUE&p_ID={offset}".encode()).decode().rstrip("=")


def _decode_skip(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return max(int(raw.rsplit("=", 1)[-1]), 0)
    except (ValueError, UnicodeDecodeError):
        raise GraphError(
            400, "invalidRequest", "Invalid $skiptoken.", inner_code="invalidQueryOption"
        ) from None
