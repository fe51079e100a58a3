"""iCloud Drive (DriveWS) for the fake: folder listings, the trash, put-back, downloads.

Routes (``{base}/drivews`` and ``{base}/docws`` are the ``drivews``/``docws`` URLs the fake's
``accountLogin`` advertises; paths from pyicloud ``services/drive.py``):

``POST /drivews/retrieveItemDetailsInFolders``
    ``[{"drivewsid": ..., "partialData": false}]`` -> one details object per id. The trash is
    ``FOLDER::com.apple.CloudDocs::TRASH_ROOT`` (pyicloud ``CLOUD_DOCS_ZONE_ID_TRASH``; the bare
    ``TRASH_ROOT`` that iCloud's web app sends works too) and answers
    ``{"items": [...], "numberOfItems": n, "drivewsid": "TRASH_ROOT"}``; trashed items carry
    ``parentId: "TRASH_ROOT"``, ``dateChanged`` (the deletion), ``dateExpiration`` (+30 days),
    ``restorePath`` and ``isChainedToParent`` (``DRIVE_TRASH_WORKING``). Unknown ids answer
    ``{"drivewsid": ..., "status": "ID_INVALID"}`` (``DRIVE_ROOT_INVALID``).
``POST /drivews/putBackItemsFromTrash``
    ``{"items": [{"drivewsid", "etag"}]}`` -> ``{"items": [{..., "parentId": <restored parent>,
    "status": "OK"}]}`` with a new etag (``DRIVE_TRASH_RECOVER_WORKING``). A stale etag answers
    the item with ``status: "ETAG_CONFLICT"`` (the status rclone's reverse-engineered DriveWS spec
    reports for stale etags on moves). What iCloud does when ``restorePath`` is taken is
    UNVERIFIED (icloud.md §3); by default the fake restores beside it under Finder's collision
    name ``"<name> 2.<ext>"`` (:attr:`ICloudDrive.conflict_policy` ``"rename"``); with
    ``"error"`` it answers the item with the invented status ``"NAME_CONFLICT"`` and restores
    nothing. Missing parent folders of the restore path are recreated.
``POST /drivews/deleteItems`` and ``/drivews/moveItemsToTrash``
    refused (400, recorded in ``refused_calls``): ``deleteItems`` on a trashed item deletes it for
    good (pyicloud ``delete_forever``, commit f62d25e), and trashscan never trashes anything.
``GET /docws/ws/<zone>/download/by_id?document_id=...``
    ``{"document_id", "data_token": {"url", ...}, "double_etag"}`` (``DRIVE_FILE_DOWNLOAD_WORKING``)
    whose URL serves the file's bytes.

The Recently Deleted listing alone (a ``retrieveItemDetailsInFolders`` that names the trash) can
be made to fail, throttled (429) or broken (5xx), in drivews' error shape, while Photos (CloudKit)
and every other Drive call keep working: :meth:`ICloudFake.fail_drive_trash`. The two listings are
separate services (icloud.md §2 CloudKit ``ckdatabasews``, §3 ``drivews``), so one can fail alone;
no Apple source says how often it does.

With Advanced Data Protection on, drivews/docws answer 423 ``Missing PCS cookies from the
request`` unless the ``X-APPLE-WEBAUTH-PCS-Documents`` cookie from ``requestPCS`` is sent
(rclone/rclone#9408, #9448). Trashed items past ``dateExpiration`` are purged before each request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from trashscan.sandbox.server import Request, Response, Router
from trashscan_icloud.sandbox.auth import ICloudAuth
from trashscan_icloud.sandbox.model import (
    CLOUD_DOCS_ZONE,
    Account,
    ContentStore,
    DriveItem,
    DriveRestore,
    DriveTree,
    RefusedCall,
    WebSession,
)
from trashscan_icloud.sandbox.wire import b64, drive_error, iso_z, json_body, json_response

__all__ = ["DOCS_ROOT", "DRIVE_ROOT", "ICloudDrive"]

DRIVE_ROOT = "/drivews"
DOCS_ROOT = "/docws"
TRASH_IDS = {f"FOLDER::{CLOUD_DOCS_ZONE}::TRASH_ROOT", "TRASH_ROOT"}
PCS_DOCUMENTS = "X-APPLE-WEBAUTH-PCS-Documents"
REFUSED = {
    "deleteItems": "deleteItems deletes items (from the trash: for good)",
    "moveItemsToTrash": "moveItemsToTrash trashes items",
}


class ICloudDrive:
    """The DriveWS routes over the fake's accounts (see the module docstring)."""

    def __init__(
        self,
        accounts: dict[str, Account],
        auth: ICloudAuth,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
        content: ContentStore,
        refused: list[RefusedCall],
        unmodelled: list[RefusedCall],
        restores: list[DriveRestore],
    ) -> None:
        self.accounts = accounts
        self.auth = auth
        self.clock = clock
        self.base_url = base_url
        self.content = content
        self.refused = refused
        self.unmodelled = unmodelled
        self.restores = restores
        self.conflict_policy = "rename"  # or "error"; see the module docstring
        # The Recently Deleted listing fails on its own (ICloudFake.fail_drive_trash): the
        # answer to send, and how many more times (None: until cleared).
        self.trash_fault: Response | None = None
        self.trash_fault_times: int | None = 0

    def register(self, router: Router) -> None:
        router.add("POST", DRIVE_ROOT + "/retrieveItemDetailsInFolders", self.retrieve)
        router.add("POST", DRIVE_ROOT + "/putBackItemsFromTrash", self.put_back)
        router.add("GET", DRIVE_ROOT + "/retrieveAppLibraries", self.app_libraries)
        router.add("POST", DRIVE_ROOT + r"/(\w+)", self.other_write)
        router.add("GET", DOCS_ROOT + r"/ws/([^/]+)/download/by_id", self.download)

    # -- sessions ---------------------------------------------------------------------------------

    def _open(self, request: Request) -> tuple[Account, WebSession] | Response:
        session = self.auth.web_session(request)
        if session is None or not session.trusted:
            return drive_error(401, "Authentication required for Account.", 401)
        account = self.accounts[session.account]
        if not account.web_access_allowed or (
            account.adp and not self.auth.has_pcs(request, session, PCS_DOCUMENTS)
        ):
            return drive_error(423, "Missing PCS cookies from the request", 423)
        with self.auth.auth.lock:
            account.drive.purge_expired(self.clock())
        return account, session

    # -- rendering --------------------------------------------------------------------------------

    @staticmethod
    def item_json(tree: DriveTree, item: DriveItem) -> dict[str, Any]:
        """One node as listings and put-back show it (fields of ``DRIVE_*_WORKING``)."""
        data: dict[str, Any] = {
            "dateCreated": iso_z(item.date_created),
            "drivewsid": item.drivewsid,
            "docwsid": item.docwsid,
            "zone": CLOUD_DOCS_ZONE,
            "name": item.name,
        }
        if item.extension:
            data["extension"] = item.extension
        if item.in_trash:
            data["parentId"] = "TRASH_ROOT"
            assert item.expires_at is not None
            data["dateExpiration"] = iso_z(item.expires_at)
            data["isChainedToParent"] = True
        elif item.parent is not None:
            data["parentId"] = tree.items[item.parent].drivewsid
        if item.kind == "FILE":
            if item.date_modified is not None:
                data["dateModified"] = iso_z(item.date_modified)
            if item.date_changed is not None:
                data["dateChanged"] = iso_z(item.date_changed)
            data["size"] = item.size or 0
        data["etag"] = item.etag
        if item.in_trash:
            data["restorePath"] = item.restore_path
        if item.kind == "FILE" and item.last_open is not None:
            data["lastOpenTime"] = iso_z(item.last_open)
        data["type"] = item.kind
        if item.kind == "FOLDER":
            files = ICloudDrive._files_under(tree, item)
            data.update(
                {
                    "assetQuota": sum(f.size or 0 for f in files),
                    "fileCount": len(files),
                    "shareCount": 0,
                    "shareAliasCount": 0,
                    "directChildrenCount": len(tree.children(item)),
                }
            )
        return data

    @staticmethod
    def _files_under(tree: DriveTree, folder: DriveItem) -> list[DriveItem]:
        files: list[DriveItem] = []
        for child in tree.children(folder):
            if child.kind == "FILE":
                files.append(child)
            else:
                files.extend(ICloudDrive._files_under(tree, child))
        return files

    def _details(self, tree: DriveTree, drivewsid: str) -> dict[str, Any]:
        if drivewsid in TRASH_IDS:
            items = [self.item_json(tree, item) for item in tree.trash()]
            return {"items": items, "numberOfItems": len(items), "drivewsid": "TRASH_ROOT"}
        item = tree.by_drivewsid(drivewsid)
        if item is None or item.in_trash:
            return {"drivewsid": drivewsid, "status": "ID_INVALID"}
        data = self.item_json(tree, item)
        if item.kind == "FOLDER":
            children = [self.item_json(tree, child) for child in tree.children(item)]
            data["items"] = children
            data["numberOfItems"] = len(children)
        return data

    # -- routes -----------------------------------------------------------------------------------

    def retrieve(self, request: Request, match: Any) -> Response:
        opened = self._open(request)
        if isinstance(opened, Response):
            return opened
        account, _session = opened
        try:
            body = json_body(request)
        except ValueError:
            return drive_error(400, "Bad Request")
        if not isinstance(body, list):
            return drive_error(400, "Bad Request")
        wants_trash = any(str((e or {}).get("drivewsid")) in TRASH_IDS for e in body)
        if wants_trash and (fault := self._take_trash_fault()) is not None:
            return fault
        with self.auth.auth.lock:
            details = [
                self._details(account.drive, str((entry or {}).get("drivewsid"))) for entry in body
            ]
        return json_response(details)

    def _take_trash_fault(self) -> Response | None:
        """The armed Recently Deleted fault, if any, counting one use of it."""
        with self.auth.auth.lock:
            if self.trash_fault is None or self.trash_fault_times == 0:
                return None
            if self.trash_fault_times is not None:
                self.trash_fault_times -= 1
            return self.trash_fault

    def put_back(self, request: Request, match: Any) -> Response:
        opened = self._open(request)
        if isinstance(opened, Response):
            return opened
        account, _session = opened
        try:
            body = json_body(request) or {}
        except ValueError:
            return drive_error(400, "Bad Request")
        entries = body.get("items") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            return drive_error(400, "Bad Request")
        with self.auth.auth.lock:
            results = [self._put_back_one(account, entry or {}) for entry in entries]
        return json_response({"items": results})

    def _put_back_one(self, account: Account, entry: dict[str, Any]) -> dict[str, Any]:
        tree = account.drive
        now = self.clock()
        drivewsid = str(entry.get("drivewsid"))
        item = tree.by_drivewsid(drivewsid)
        # Read now: a successful put-back clears the item's restore path before it is logged.
        restore_path = item.restore_path if item is not None else None

        def log(status: str, restored_as: str | None = None) -> None:
            self.restores.append(
                DriveRestore(account.name, now, drivewsid, status, restore_path, restored_as)
            )

        if item is None:
            log("ID_INVALID")
            return {"drivewsid": drivewsid, "status": "ID_INVALID"}
        if not item.in_trash:
            log("NOT_IN_TRASH")
            return {"drivewsid": drivewsid, "etag": item.etag, "status": "NOT_IN_TRASH"}
        if entry.get("etag") != item.etag:
            log("ETAG_CONFLICT")
            return {"drivewsid": drivewsid, "etag": item.etag, "status": "ETAG_CONFLICT"}
        folder_path, _, full_name = (item.restore_path or item.full_name).rpartition("/")
        folder = tree.folder_at(folder_path, now, create=True)
        assert folder is not None
        name, extension = item.name, item.extension
        if tree.child_named(folder, full_name) is not None:
            if self.conflict_policy == "error":
                log("NAME_CONFLICT")
                return {"drivewsid": drivewsid, "etag": item.etag, "status": "NAME_CONFLICT"}
            name = self._free_name(tree, folder, item)
        item.name, item.extension = name, extension
        item.parent = folder.docwsid
        item.trashed_at = item.expires_at = None
        item.restore_path = None
        item.date_changed = now
        item.etag = tree.new_etag(item.kind == "FILE")
        log("OK", tree.path_of(item))
        return {**self.item_json(tree, item), "item_id": b64(item.docwsid)[:34], "status": "OK"}

    @staticmethod
    def _free_name(tree: DriveTree, folder: DriveItem, item: DriveItem) -> str:
        """Finder's "keep both" name: ``IMG_0420 2.JPG``, ``IMG_0420 3.JPG``, ..."""
        number = 2
        while True:
            candidate = f"{item.name} {number}"
            full = f"{candidate}.{item.extension}" if item.extension else candidate
            if tree.child_named(folder, full) is None:
                return candidate
            number += 1

    def app_libraries(self, request: Request, match: Any) -> Response:
        opened = self._open(request)
        if isinstance(opened, Response):
            return opened
        return json_response({"items": []})

    def other_write(self, request: Request, match: Any) -> Response:
        opened = self._open(request)
        if isinstance(opened, Response):
            return opened
        account, _session = opened
        route = match.group(1)
        try:
            arg = json_body(request)
        except ValueError:
            arg = request.body.decode("utf-8", "replace")
        now = self.clock()
        with self.auth.auth.lock:
            if route in REFUSED:
                self.refused.append(RefusedCall(route, account.name, now, REFUSED[route], arg))
                return drive_error(400, "the trashscan sandbox refuses " + REFUSED[route])
            self.unmodelled.append(
                RefusedCall(route, account.name, now, "not modelled by the sandbox", arg)
            )
        return drive_error(400, f"the trashscan sandbox does not model {route}")

    def download(self, request: Request, match: Any) -> Response:
        opened = self._open(request)
        if isinstance(opened, Response):
            return opened
        account, _session = opened
        document_id = (request.query.get("document_id") or [""])[0]
        with self.auth.auth.lock:
            item = account.drive.items.get(document_id)
            if item is None or item.kind != "FILE":
                return drive_error(404, "Not Found")
            token = "D" + b64(f"{account.dsid}:{item.docwsid}:{item.etag}").rstrip("=")
            token = token.replace("+", "-").replace("/", "_")
            self.content.register(token, item.size or 0, item.full_name)
            url = f"{self.base_url()}/cvws/B/{token}/{quote(item.full_name)}?o=A{token[:16]}&v=1"
            answer = {
                "document_id": item.docwsid,
                "data_token": {
                    "url": url,
                    "token": token[:24],
                    "signature": token[1:29],
                    "wrapping_key": b64(token[:16]),
                    "reference_signature": token[2:30],
                },
                "double_etag": item.etag,
            }
        return json_response(answer)
