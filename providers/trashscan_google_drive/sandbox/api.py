"""Drive v3 endpoints of the fake: files, drives, changes, about, and refused destructive calls.

Paths are Google's under one loopback server; the client is configured with ``api_endpoint``
``{base}/drive/v3/``, which *replaces* rootUrl+servicePath (google.md §3.2), so requests arrive as
``/drive/v3/files`` etc. Each handler authenticates (401), checks the project and scopes (403),
applies Drive's auto-purge of 30-day-old trash, then answers from :class:`DriveState`.

Nothing here deletes data for real: ``files.delete`` and ``files.emptyTrash`` answer 403 so that
a plugin calling them fails loudly (trashscan must never call them, google.md §5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trashscan.sandbox import pictures
from trashscan.sandbox.server import Request, Response, Router
from trashscan_google_drive.sandbox.auth import (
    DRIVE_SERVICE,
    SCOPE_PREFIX,
    AccessToken,
    AuthState,
    insufficient_scopes,
)
from trashscan_google_drive.sandbox.fields import (
    FieldsError,
    Selection,
    apply_selection,
    discovery,
    parse_fields,
    validate_selection,
)
from trashscan_google_drive.sandbox.model import (
    ChangeEntry,
    DriveFile,
    DriveState,
    SharedDrive,
    rfc3339,
)
from trashscan_google_drive.sandbox.query import (
    DRIVE_TERMS,
    FILE_TERMS,
    Node,
    QueryError,
    evaluate,
    parse_query,
)
from trashscan_google_drive.sandbox.resources import (
    DEFAULT_DRIVE_FIELDS,
    DEFAULT_FILE_FIELDS,
    capabilities,
    render_drive,
    render_file,
    render_user,
)
from trashscan_google_drive.sandbox.thumbnails import CONTENT_SCOPES, ThumbnailLinks
from trashscan_google_drive.sandbox.wire import (
    ApiError,
    PageToken,
    bool_param,
    drive_error,
    int_param,
    invalid_value,
    json_reply,
    param,
)

__all__ = ["DriveApi", "RefusedCall"]

# Scopes that see every file; drive.file/drive.appdata only see what the app created [DOC
# about-auth], which in the sandbox is nothing.
_ALL_FILES_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in ("drive", "drive.readonly", "drive.metadata", "drive.metadata.readonly")
)
_CORPORA = frozenset({"user", "domain", "drive", "allDrives"})
_SPACES = frozenset({"drive", "appDataFolder"})
# [DISC files.list orderBy] "Valid keys are: ..."
_ORDER_KEYS = frozenset(
    {
        "createdTime", "folder", "modifiedByMeTime", "modifiedTime", "name", "name_natural",
        "quotaBytesUsed", "recency", "sharedWithMeTime", "starred", "viewedByMeTime",
    }
)  # fmt: skip
_WRITABLE = frozenset({"trashed", "name"})


def _defaults(*names: str) -> Selection:
    return dict.fromkeys(names)


_FILE_DEFAULT = _defaults(*DEFAULT_FILE_FIELDS)
_DRIVE_DEFAULT = _defaults(*DEFAULT_DRIVE_FIELDS)
_FILE_LIST_DEFAULT: Selection = {
    **_defaults("kind", "nextPageToken", "incompleteSearch"),
    "files": _FILE_DEFAULT,
}
_DRIVE_LIST_DEFAULT: Selection = {**_defaults("kind", "nextPageToken"), "drives": _DRIVE_DEFAULT}
_CHANGE_LIST_DEFAULT: Selection = {
    **_defaults("kind", "nextPageToken", "newStartPageToken"),
    "changes": {
        **_defaults("kind", "changeType", "time", "removed", "fileId", "driveId"),
        "file": _FILE_DEFAULT,
    },
}


@dataclass(frozen=True)
class RefusedCall:
    """A destructive call the sandbox refused, kept so tests can assert none was attempted."""

    method: str
    path: str
    at: datetime


@dataclass
class _Call:
    request: Request
    match: re.Match[str]
    token: AccessToken
    now: datetime

    @property
    def email(self) -> str:
        return self.token.email

    @property
    def sees_all(self) -> bool:
        return bool(self.token.scopes & _ALL_FILES_SCOPES)


def _not_found(file_id: str) -> ApiError:
    # [DOC handle-errors] notFound: "File not found: {fileId}".
    message = f"File not found: {file_id}."
    return ApiError(drive_error(404, "notFound", message, location="fileId"))


def _drive_not_found(drive_id: str) -> ApiError:
    message = f"Shared drive not found: {drive_id}"
    return ApiError(drive_error(404, "notFound", message, location="driveId"))


def _no_permission(file_id: str) -> ApiError:
    # [DOC handle-errors] insufficientFilePermissions.
    message = f"The user does not have sufficient permissions for file {file_id}."
    return ApiError(drive_error(403, "insufficientFilePermissions", message))


def _selection(request: Request, schema: str, default: Selection) -> Selection:
    """The parsed and validated ``fields`` of ``request``, or the method's default."""
    try:
        selection = parse_fields(param(request, "fields"))
        if selection is not None:
            validate_selection(selection, schema)
    except FieldsError as exc:
        message = f"Invalid field selection {exc.args[0]}"
        raise ApiError(drive_error(400, "invalidParameter", message, location="fields")) from None
    return default if selection is None else selection


def _query(
    request: Request, terms: dict[str, tuple[str, frozenset[str]]] = FILE_TERMS
) -> Node | None:
    try:
        return parse_query(param(request, "q"), terms)
    except QueryError:
        raise invalid_value("q") from None


def _natural(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


class DriveApi:
    """Drive v3 handlers over one :class:`DriveState`."""

    def __init__(
        self,
        state: DriveState,
        auth: AuthState,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
    ) -> None:
        self.state = state
        self.auth = auth
        self.clock = clock
        self.base_url = base_url
        self.refused: list[RefusedCall] = []
        self.thumbnails = ThumbnailLinks(state, auth, clock, base_url, self.can_see)

    def register(self, router: Router) -> None:
        self.thumbnails.register(router)
        files = r"/drive/v3/files/(?P<file_id>[^/]+)"
        router.add("GET", r"/drive/v3/files", self._endpoint("drive.files.list", self.files_list))
        router.add("DELETE", r"/drive/v3/files/trash", self._refuse)  # files.emptyTrash
        router.add("GET", files, self._endpoint("drive.files.get", self.files_get))
        router.add("PATCH", files, self._endpoint("drive.files.update", self.files_update))
        router.add("DELETE", files, self._refuse)  # files.delete
        router.add(
            "GET", r"/drive/v3/drives", self._endpoint("drive.drives.list", self.drives_list)
        )
        router.add(
            "GET",
            r"/drive/v3/drives/(?P<drive_id>[^/]+)",
            self._endpoint("drive.drives.get", self.drives_get),
        )
        router.add(
            "GET",
            r"/drive/v3/changes/startPageToken",
            self._endpoint("drive.changes.getStartPageToken", self.start_page_token),
        )
        router.add("GET", r"/drive/v3/changes", self._endpoint("drive.changes.list", self.changes))
        router.add("GET", r"/drive/v3/about", self._endpoint("drive.about.get", self.about))

    # -- plumbing ------------------------------------------------------------------------------

    def _endpoint(
        self, method_id: str, handler: Callable[[_Call], Response]
    ) -> Callable[[Request, re.Match[str]], Response]:
        def run(request: Request, match: re.Match[str]) -> Response:
            now = self.clock()
            try:
                token = self.auth.authorize(request, now, DRIVE_SERVICE, method_id)
                with self.state.lock:
                    self.state.auto_purge(now)
                    return handler(_Call(request, match, token, now))
            except ApiError as exc:
                return exc.response

        return run

    def _refuse(self, request: Request, match: re.Match[str]) -> Response:
        self.refused.append(RefusedCall(request.method, request.path, self.clock()))
        message = (
            "The trashscan sandbox refuses destructive calls: files.delete and files.emptyTrash "
            "would permanently delete data, which trashscan must never do."
        )
        return drive_error(403, "forbidden", message)

    def can_see(self, token: AccessToken, item: DriveFile) -> bool:
        """Whether ``token``'s user may read ``item`` at all (owner, or shared-drive member)."""
        if not token.scopes & _ALL_FILES_SCOPES or item.id not in self.state.files:
            return False
        if item.drive_id is not None:
            drive = self.state.drives.get(item.drive_id)
            return drive is not None and token.email in drive.members
        return item.owner == token.email

    def _visible(self, call: _Call, item: DriveFile, supports_all_drives: bool) -> bool:
        if not call.sees_all or item.id not in self.state.files:
            return False
        if item.drive_id is not None:
            # Shared-drive items need supportsAllDrives=true on get/update, or they are "not
            # found" (enable-shareddrives guide; google.md §1.3).
            drive = self.state.drives.get(item.drive_id)
            return supports_all_drives and drive is not None and call.email in drive.members
        return item.owner == call.email

    def _file(self, call: _Call, supports_all_drives: bool) -> DriveFile:
        file_id = call.match["file_id"]
        if file_id == "root":  # Drive's alias for the My Drive root folder
            file_id = self.state.roots.get(call.email, file_id)
        item = self.state.files.get(file_id)
        if item is None or not self._visible(call, item, supports_all_drives):
            raise _not_found(file_id)
        return item

    def _member_drive(self, call: _Call, drive_id: str, supports_all_drives: bool) -> SharedDrive:
        drive = self.state.drives.get(drive_id)
        if drive is None or not supports_all_drives or call.email not in drive.members:
            raise _drive_not_found(drive_id)
        return drive

    def _render(self, call: _Call, item: DriveFile) -> dict[str, Any]:
        # thumbnailLink: "Only populated when the requesting app can access the file's content"
        link = None
        if call.token.scopes & CONTENT_SCOPES and (
            item.image is not None or item.video is not None
        ):
            link = self.thumbnails.link(item, call.now)
        return render_file(self.state, item, call.email, link)

    def _matches(self, call: _Call, item: DriveFile, query: Node | None) -> bool:
        state, root = self.state, self.state.roots.get(call.email)

        def get(field: str) -> object:
            if field == "name":
                return item.name
            if field == "mimeType":
                return item.mime_type
            if field == "trashed":
                return state.is_trashed(item)
            if field == "createdTime":
                return item.created_time
            if field == "modifiedTime":
                return item.modified_time
            if field == "parents":
                parents = {item.parent_id} if item.parent_id else set()
                return parents | ({"root"} if item.parent_id == root else set())
            if field == "owners":
                return {item.owner, "me"} if item.owner == call.email else {item.owner}
            raise AssertionError(field)

        return evaluate(query, get)

    # -- files ----------------------------------------------------------------------------------

    def _shared_drive_params(self, call: _Call) -> tuple[str, str | None, bool, bool]:
        """corpora, driveId, includeItemsFromAllDrives, supportsAllDrives (with their deprecated
        Team Drive twins), checked the way Drive checks them."""
        request = call.request
        corpora = param(request, "corpora") or "user"
        drive_id = param(request, "driveId") or param(request, "teamDriveId")
        include = bool_param(request, "includeItemsFromAllDrives") or bool_param(
            request, "includeTeamDriveItems"
        )
        supports = bool_param(request, "supportsAllDrives") or bool_param(
            request, "supportsTeamDrives"
        )
        if any(c not in _CORPORA for c in corpora.split(",")):
            raise invalid_value("corpora")
        if (corpora == "drive") != (drive_id is not None):
            # Live error text and reason (googleapis/google-api-php-client#1825).
            raise ApiError(
                drive_error(
                    403,
                    "teamDriveIdRequiresTeamDriveCorpora",
                    "The driveId parameter must be specified if and only if corpora is set to "
                    "drive.",
                )
            )
        if (drive_id is not None or corpora in {"drive", "allDrives"}) and not include:
            # Live error text, returned with 403 (nithinmurali/pygsheets#437).
            raise ApiError(
                drive_error(
                    403,
                    "teamDriveIncludeItemsRequired",
                    "The includeItemsFromAllDrives parameter must be set to true when driveId is "
                    "specified or corpora contains drive or allDrives.",
                )
            )
        if include and not supports:
            # The enable-shareddrives guide requires supportsAllDrives=true on files.list for
            # shared-drive support; the exact live answer is unverified (see the report).
            raise ApiError(
                drive_error(
                    403,
                    "teamDriveSupportRequired",
                    "The includeItemsFromAllDrives parameter can only be set to true when "
                    "supportsAllDrives is set to true.",
                    location="supportsAllDrives",
                )
            )
        return corpora, drive_id, include, supports

    def _candidates(
        self, call: _Call, corpora: str, drive_id: str | None, include: bool
    ) -> list[DriveFile]:
        state, email = self.state, call.email
        if not call.sees_all:
            return []
        if drive_id is not None:
            self._member_drive(call, drive_id, True)
            return [f for f in state.files.values() if f.drive_id == drive_id and not f.is_root]
        member_of = {d.id for d in state.member_drives(email)} if include else set()
        out: list[DriveFile] = []
        for f in state.files.values():
            if f.is_root:
                continue
            if f.drive_id is None:
                if f.owner == email:
                    out.append(f)
            elif f.drive_id in member_of and (corpora == "allDrives" or email in f.touched_by):
                # corpora=user: shared-drive files only if the user "has created, opened, or
                # shared" them [Drive's corpus=user description].
                out.append(f)
        return out

    def _order(self, request: Request, items: list[DriveFile]) -> list[DriveFile]:
        order_by = param(request, "orderBy")
        result = sorted(items, key=lambda f: (f.created_time, f.id))
        if not order_by:
            return result
        keys: list[tuple[str, bool]] = []
        for part in order_by.split(","):
            words = part.split()
            if not words or words[0] not in _ORDER_KEYS or words[1:] not in ([], ["desc"]):
                raise invalid_value("orderBy")
            keys.append((words[0], words[1:] == ["desc"]))
        getters: dict[str, Callable[[DriveFile], Any]] = {
            "createdTime": lambda f: f.created_time,
            "folder": lambda f: not f.is_folder,
            "modifiedTime": lambda f: f.modified_time,
            "modifiedByMeTime": lambda f: f.modified_time,
            "recency": lambda f: f.modified_time,
            "viewedByMeTime": lambda f: f.modified_time,
            "name": lambda f: f.name.casefold(),
            "name_natural": lambda f: _natural(f.name),
            "quotaBytesUsed": lambda f: f.size or 0,
            "sharedWithMeTime": lambda f: 0,
            "starred": lambda f: 0,
        }
        for key, descending in reversed(keys):
            result.sort(key=getters[key], reverse=descending)
        return result

    def files_list(self, call: _Call) -> Response:
        request = call.request
        selection = _selection(request, "FileList", _FILE_LIST_DEFAULT)
        query = _query(request)
        corpora, drive_id, include, _ = self._shared_drive_params(call)
        spaces = (param(request, "spaces") or "drive").split(",")
        if any(s.strip() not in _SPACES for s in spaces):
            raise invalid_value("spaces")
        # [DISC] pageSize 1..1000, "values above 1000 will be coerced to 1000"; default 100.
        page_size = int_param(request, "pageSize", 100, minimum=1, maximum=1000)
        items = self._candidates(call, corpora, drive_id, include)
        if "drive" not in {s.strip() for s in spaces}:
            items = []  # the appDataFolder space holds nothing in the sandbox
        items = self._order(request, [f for f in items if self._matches(call, f, query)])
        fingerprint = PageToken.fingerprint(
            call.email, param(request, "q"), corpora, drive_id, include, spaces,
            param(request, "orderBy"),
        )  # fmt: skip
        offset = PageToken.decode(param(request, "pageToken"), fingerprint)
        page = items[offset : offset + page_size]
        body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
        if offset + page_size < len(items):
            body["nextPageToken"] = PageToken.encode(offset + page_size, fingerprint)
        body["files"] = [self._render(call, f) for f in page]
        return json_reply(apply_selection(body, selection))

    def files_get(self, call: _Call) -> Response:
        request = call.request
        selection = _selection(request, "File", _FILE_DEFAULT)
        item = self._file(call, bool_param(request, "supportsAllDrives"))
        if param(request, "alt") == "media":
            return self._media(call, item)
        return json_reply(apply_selection(self._render(call, item), selection))

    def _media(self, call: _Call, item: DriveFile) -> Response:
        """``files.get?alt=media``: "the response includes the file contents in the response
        body. Downloading content with alt=media only works if the file is stored in Drive. To
        download Google Docs, Sheets, and Slides use files.export instead" [DISC files.get].
        A trashed file stays downloadable [DISC File.trashed]. Metadata-only scopes cannot read
        content (403 insufficient scopes; the exact answer is UNVERIFIED). ``Range: bytes=a-b``
        (what googleapiclient's MediaIoBaseDownload sends) gets a 206 with ``Content-Range``.
        Items created without content serve :func:`pictures.padded` bytes of their ``size``."""
        if not call.token.scopes & CONTENT_SCOPES:
            raise ApiError(insufficient_scopes(DRIVE_SERVICE, "drive.files.get", CONTENT_SCOPES))
        if not item.has_binary_content:
            # The answer Drive gives for Docs Editors files (fileNotDownloadable).
            raise ApiError(
                drive_error(
                    403,
                    "fileNotDownloadable",
                    "Only files with binary content can be downloaded. Use Export with Docs "
                    "Editors files.",
                    location="alt",
                )
            )
        data = item.content
        if data is None:
            data = pictures.padded(pictures.content(item.name, item.id), item.size or 0)
        headers = {"Content-Type": item.mime_type}
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", call.request.headers.get("Range") or "")
        if ranged is None:
            return Response(200, data, headers)
        start = int(ranged[1])
        end = min(int(ranged[2]) if ranged[2] else len(data) - 1, len(data) - 1)
        if start >= len(data) or start > end:
            return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(206, data[start : end + 1], headers)

    def files_update(self, call: _Call) -> Response:
        request = call.request
        selection = _selection(request, "File", _FILE_DEFAULT)
        item = self._file(call, bool_param(request, "supportsAllDrives"))
        body = self._update_body(request)
        caps = capabilities(self.state, item, call.email)
        wanted = body.get("trashed")
        changes_state = wanted is not None and (
            wanted != item.explicitly_trashed or wanted != self.state.is_trashed(item)
        )
        if changes_state and not caps["canTrash" if wanted else "canUntrash"]:
            raise _no_permission(item.id)
        if "name" in body and body["name"] != item.name and not caps["canRename"]:
            raise _no_permission(item.id)
        new_parent = self._move_target(call, item, caps)
        if "trashed" in body:
            self.state.set_trashed(item, body["trashed"], call.email, call.now)
        if "name" in body and body["name"] != item.name:
            self.state.rename(item, body["name"], call.email, call.now)
        if new_parent is not None:
            self.state.move(item, new_parent, call.email, call.now)
        return json_reply(apply_selection(self._render(call, item), selection))

    def _update_body(self, request: Request) -> dict[str, Any]:
        """The PATCH body, limited to what the fake models (``trashed``, ``name``)."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise ApiError(drive_error(400, "parseError", "Parse Error")) from None
        if not isinstance(body, dict):
            raise ApiError(drive_error(400, "parseError", "Parse Error"))
        properties = discovery("drive", "v3")["schemas"]["File"]["properties"]
        for key, value in body.items():
            if key in _WRITABLE:
                continue
            description = properties.get(key, {}).get("description", "")
            if key not in properties:
                raise ApiError(
                    drive_error(400, "badRequest", f"Invalid JSON payload: unknown field {key}.")
                )
            if description.startswith("Output only."):
                raise ApiError(
                    drive_error(
                        403,
                        "fieldNotWritable",
                        "The resource body includes fields which are not directly writable.",
                    )
                )
            raise ApiError(
                drive_error(
                    400,
                    "badRequest",
                    f"The trashscan sandbox does not model updating {key} (value {value!r}).",
                )
            )
        if "trashed" in body and not isinstance(body["trashed"], bool):
            raise invalid_value("trashed")
        if "name" in body and (not isinstance(body["name"], str) or not body["name"]):
            raise invalid_value("name")
        return body

    def _move_target(self, call: _Call, item: DriveFile, caps: dict[str, bool]) -> DriveFile | None:
        """addParents/removeParents: a move within the same drive (one parent per item)."""
        add = [p for p in (param(call.request, "addParents") or "").split(",") if p]
        remove = [p for p in (param(call.request, "removeParents") or "").split(",") if p]
        if not add and not remove:
            return None
        if len(add) != 1 or remove != [item.parent_id]:
            raise ApiError(
                drive_error(
                    403, "cannotAddParent", "Increasing the number of parents is not allowed."
                )
            )
        target_id = self.state.roots.get(call.email, add[0]) if add[0] == "root" else add[0]
        target = self.state.files.get(target_id)
        supports = bool_param(call.request, "supportsAllDrives")
        if target is None or not self._visible(call, target, supports) or not target.is_folder:
            raise _not_found(add[0])
        if target.drive_id != item.drive_id or target.owner != item.owner:
            raise ApiError(
                drive_error(400, "badRequest", "The trashscan sandbox moves within a drive only.")
            )
        if not caps["canEdit"] or target.id == item.id or item.id in self.state.ancestors(target):
            raise _no_permission(item.id)
        return target

    # -- shared drives ---------------------------------------------------------------------------

    def drives_list(self, call: _Call) -> Response:
        request = call.request
        selection = _selection(request, "DriveList", _DRIVE_LIST_DEFAULT)
        query = _query(request, DRIVE_TERMS)
        # [DISC drives.list] pageSize default 10, "values above 100 will be coerced to 100".
        page_size = int_param(request, "pageSize", 10, minimum=1, maximum=100)

        def matches(drive: SharedDrive) -> bool:
            values = {"name": drive.name, "hidden": False, "createdTime": drive.created_time}
            return evaluate(query, values.__getitem__)

        drives = [d for d in self.state.member_drives(call.email) if matches(d)]
        fingerprint = PageToken.fingerprint(call.email, param(request, "q"))
        offset = PageToken.decode(param(request, "pageToken"), fingerprint)
        body: dict[str, Any] = {"kind": "drive#driveList"}
        if offset + page_size < len(drives):
            body["nextPageToken"] = PageToken.encode(offset + page_size, fingerprint)
        body["drives"] = [render_drive(d, call.email) for d in drives[offset : offset + page_size]]
        return json_reply(apply_selection(body, selection))

    def drives_get(self, call: _Call) -> Response:
        selection = _selection(call.request, "Drive", _DRIVE_DEFAULT)
        drive = self._member_drive(call, call.match["drive_id"], True)
        return json_reply(apply_selection(render_drive(drive, call.email), selection))

    # -- changes ---------------------------------------------------------------------------------

    def start_page_token(self, call: _Call) -> Response:
        request = call.request
        selection = _selection(request, "StartPageToken", {"kind": None, "startPageToken": None})
        drive_id = param(request, "driveId") or param(request, "teamDriveId")
        if drive_id is not None:
            self._member_drive(call, drive_id, bool_param(request, "supportsAllDrives"))
        body = {"kind": "drive#startPageToken", "startPageToken": str(self.state.next_seq())}
        return json_reply(apply_selection(body, selection))

    def changes(self, call: _Call) -> Response:
        """changes.list: the latest change per file since ``pageToken`` [DOC manage-changes].

        With ``driveId``: that shared drive's own log (its items' changes). Without: the user
        log: their My Drive items, their shared drives' items as
        :attr:`DriveState.user_log_shared_items` says, and ``changeType: "drive"`` entries for
        the drives they joined, left, or that were renamed [DOC guides/about-changes]. Those
        come only to apps with ``supportsAllDrives=true`` ("Whether the requesting application
        supports both My Drives and shared drives" [DISC]) and not with ``restrictToMyDrive``;
        whether Drive gates them so is UNVERIFIED."""
        request, state = call.request, self.state
        selection = _selection(request, "ChangeList", _CHANGE_LIST_DEFAULT)
        token = param(request, "pageToken")
        if token is None:
            message = "Required parameter: pageToken"
            raise ApiError(drive_error(400, "required", message, location="pageToken"))
        if not token.isdigit() or not 1 <= int(token) <= state.next_seq():
            raise invalid_value("pageToken")
        page_size = int_param(request, "pageSize", 100, minimum=1, maximum=1000)
        include_removed = bool_param(request, "includeRemoved", default=True)
        include = bool_param(request, "includeItemsFromAllDrives")
        supports = bool_param(request, "supportsAllDrives")
        my_drive_only = bool_param(request, "restrictToMyDrive")
        drive_id = param(request, "driveId") or param(request, "teamDriveId")
        if drive_id is not None:
            self._member_drive(call, drive_id, supports)
        # shared drive ID -> first change number the user log may show of its items
        member_since = (
            {d.id: d.joined.get(call.email, 0) for d in state.member_drives(call.email)}
            if include and supports and not my_drive_only and state.user_log_shared_items == "all"
            else {}
        )
        drive_changes = drive_id is None and supports and not my_drive_only
        latest: dict[str, Any] = {}
        for entry in state.changes[int(token) - 1 :]:
            if entry.change_type == "drive":
                if not drive_changes or call.email not in entry.audience:
                    continue
                key = "drive:" + (entry.drive_id or "")
            else:
                if drive_id is not None:
                    if entry.drive_id != drive_id:
                        continue
                elif entry.drive_id is None:
                    if entry.owner != call.email:
                        continue
                elif entry.seq < member_since.get(entry.drive_id, state.next_seq()):
                    continue
                key = entry.file_id
            latest.pop(key, None)  # re-insert: dict order = order of latest change
            latest[key] = entry
        entries = [e for e in latest.values() if include_removed or not e.removed]
        if not call.sees_all:
            entries = []
        page = entries[:page_size]
        body: dict[str, Any] = {"kind": "drive#changeList"}
        if len(entries) > page_size:
            body["nextPageToken"] = str(page[-1].seq + 1)
        else:
            body["newStartPageToken"] = str(state.next_seq())
        body["changes"] = [self._render_change(call, entry) for entry in page]
        return json_reply(apply_selection(body, selection))

    def _render_change(self, call: _Call, entry: ChangeEntry) -> dict[str, Any]:
        """A ``drive#change`` [DISC Change]: ``file`` "Present if the type is file and the file
        has not been removed"; ``drive`` "Present if the changeType is drive, the user is still
        a member of the shared drive, and the shared drive has not been deleted"."""
        state = self.state
        change: dict[str, Any] = {
            "kind": "drive#change",
            "changeType": entry.change_type,
            "time": rfc3339(entry.time),
            "removed": entry.removed,
        }
        if entry.change_type == "drive":
            change["driveId"] = change["teamDriveId"] = entry.drive_id
            drive = state.drives.get(entry.drive_id or "")
            if not entry.removed and drive is not None and call.email in drive.members:
                change["drive"] = render_drive(drive, call.email)
            return change
        change["type"] = "file"
        change["fileId"] = entry.file_id
        if entry.drive_id is not None:
            change["driveId"] = entry.drive_id
            change["teamDriveId"] = entry.drive_id
        item = state.files.get(entry.file_id)
        if not entry.removed and item is not None:
            change["file"] = self._render(call, item)  # the file's state now, as Drive does
        return change

    # -- about ----------------------------------------------------------------------------------

    def about(self, call: _Call) -> Response:
        """about.get; the cheap "anything in the trash?" probe of google.md §1.5."""
        if param(call.request, "fields") is None:
            # [DOC fields-parameter] "For all methods of the about ... resources you must set
            # the fields parameter."
            message = "The 'fields' parameter is required for this method."
            raise ApiError(drive_error(400, "required", message, location="fields"))
        selection = _selection(call.request, "About", {})
        state, email = self.state, call.email
        owned = [f for f in state.files.values() if f.owner == email and f.size is not None]
        in_trash = sum(f.size or 0 for f in owned if state.is_trashed(f))
        total = sum(f.size or 0 for f in owned)
        body = {
            "kind": "drive#about",
            "user": render_user(state.people[email], email),
            "storageQuota": {
                "limit": str(15 * 1024**3),
                "usage": str(total),
                "usageInDrive": str(total),
                "usageInDriveTrash": str(in_trash),
            },
            "canCreateDrives": False,
            "maxUploadSize": str(5 * 1024**4),
            "appInstalled": False,
        }
        return json_reply(apply_selection(body, selection))
