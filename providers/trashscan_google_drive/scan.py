"""Listing trashed photos and videos: one full listing, then only the changes feeds.

Drive keeps one change log per user and one per shared drive; seeing everything means replaying
the user's log and the log of every shared drive the user is a member of. So the state holds a
start page token for "user" and one per shared drive. A first scan takes all of them *before*
listing anything, so an item trashed while the listing runs shows up in the next feed read.
The shared drives' start tokens are taken in batches of 100, and a later scan reads every log,
their pages due sent together in batches of 100 (an unchanged re-scan with k shared drives:
ceil((k + 1) / 100) round trips).

Deletion times: shared drives state ``trashedTime`` (exact). My Drive states none, so the scan
uses, in order: the Drive Activity API's TRASH events (``activity=true``: the deletion itself),
the changes feed (an item first reported by it was trashed after the previous scan took its feed
position, and by the change's ``time`` at the latest), or nothing: the core then records the
first sighting as the latest the deletion can have been, with no lower bound (its purge may be
any day now). No file field bounds the deletion from below: ``createdTime``, ``modifiedTime`` and
``viewedByMeTime`` are all writable by clients, and ``modifiedTime`` does not change on trashing.

If the Drive Activity API is not enabled in the user's Cloud project, or the grant lacks its
scope, the scan says so once (the refusal is remembered in the scan state, and asked again each
scan, so that enabling it later just works) and falls back.

Paths: every item is listed under its folders (``Photos/Holiday 2025/x.jpg``; a shared drive's
name first). Folders are read once per scan and in batches, one batch per folder level of a page
(photos share folders: 1,000 photos in 300 folders three levels deep cost about 9 batched reads,
not 1,000 ``files.get``); the My Drive root (read once through its ``root`` alias) and shared
drive roots are not part of a path.

An item trashed only because its folder was trashed (``explicitlyTrashed`` false) is listed with
that folder named; its restore handle points at the folder, since untrashing the folder is the
documented way to bring its contents back. The handle also keeps, as hints for the restore, the
folders above the item up to the first one not in the trash, and which of them are trashed
themselves (``trashed_folders``), so that a restore can say what else it brings back.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from datetime import datetime, timedelta
from typing import Any

from trashscan.errors import AccountError
from trashscan.models import DeletedAtSource, Page, ScanOutcome, TrashItem
from trashscan.pagination import PageGuard
from trashscan_google_drive.auth import ACTIVITY_SCOPE
from trashscan_google_drive.client import (
    DriveApiError,
    DriveSession,
    GrantError,
    parse_time,
    rfc3339,
)
from trashscan_google_drive.thumbnails import LINK_FIELDS, source_of

log = logging.getLogger(__name__)

FOLDER_MIME = "application/vnd.google-apps.folder"
MEDIA_QUERY = "trashed = true and (mimeType contains 'image/' or mimeType contains 'video/')"
FILE_FIELDS = (
    "id,name,mimeType,size,parents,driveId,trashed,explicitlyTrashed,trashedTime,"
    "capabilities(canUntrash),md5Checksum,sha256Checksum," + LINK_FIELDS
)
FOLDER_FIELDS = (
    "id,name,parents,driveId,trashed,explicitlyTrashed,trashedTime,capabilities(canUntrash)"
)
LIST_FIELDS = f"nextPageToken,incompleteSearch,files({FILE_FIELDS})"
CHANGES_FIELDS = (
    "nextPageToken,newStartPageToken,"
    f"changes(changeType,removed,fileId,driveId,time,drive(id,name),file({FILE_FIELDS}))"
)
PAGE_SIZE = 1000  # the largest Drive accepts
# activity:query documents no maximum ("the server will attempt to return at least this quantity");
# without it the server's small default turns 10,000 trash events into ~200 round trips.
ACTIVITY_PAGE_SIZE = 1000
DRIVES_PAGE_SIZE = 100
ACTIVITY_WINDOW = timedelta(days=31)  # one day more than the retention: older items are gone
ACTIVITY_MARGIN = timedelta(minutes=5)  # overlap with the previous scan, against clock skew
ACTIVITY_CONSOLE = "https://console.cloud.google.com/apis/library/driveactivity.googleapis.com"
# Google's reasons for "this project has not enabled the API" (google.rpc.ErrorInfo, and the
# older errors[].reason) and for "the token lacks the method's scope".
DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured"})
SCOPE_REASONS = frozenset({"ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions"})
REFUSED_KEY = "activity_refused"  # in the scan state: why Drive Activity was refused last time
MAX_FOLDER_DEPTH = 64
STATE_VERSION = 1
NOT_UNTRASHABLE = (
    "Google Drive does not let this account restore it (only the owner, or a content manager "
    "of the shared drive, can)"
)


ROOT_ALIAS = "root"  # files.get's alias of the My Drive root folder [DISC]


def folder_not_untrashable(folder: dict[str, Any]) -> str:
    name = str(folder.get("name") or folder.get("id"))
    return (
        f"its folder {name!r} is in the trash and Google Drive does not let this account "
        "restore it (only the owner, or a content manager of the shared drive, can)"
    )


class Restart(Exception):
    """The stored state can no longer be trusted: do a full listing instead."""


class Feed:
    """One change log being read: the user's (``drive_id`` None) or a shared drive's."""

    def __init__(self, drive_id: str | None, token: str) -> None:
        self.drive_id = drive_id
        self.token = token  # the next page to read; at the end, the new start page token
        self.key = f"feed:{drive_id or ''}"  # its part in a batch (drive ids never hold ':')
        self.guard = PageGuard("Google Drive's changes feed")
        self.guard.start(token)
        self.drive_changes: list[dict[str, Any]] = []


def is_media(mime_type: object) -> bool:
    return isinstance(mime_type, str) and mime_type.split("/", 1)[0] in {"image", "video"}


def valid_state(state: object) -> bool:
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return False
    drives = state.get("drives")
    return (
        isinstance(state.get("user"), str)
        and isinstance(drives, dict)
        and all(isinstance(d, dict) and isinstance(d.get("token"), str) for d in drives.values())
        and parse_time(state.get("scanned_at")) is not None
    )


class DriveScan:
    """One scan of one account; built per call, like the session it uses."""

    def __init__(self, session: DriveSession, now: datetime, activity: bool) -> None:
        self.session = session
        self.files = session.drive.files()
        self.changes = session.drive.changes()
        self.now = now
        self.activity = activity
        self.activity_since = now - ACTIVITY_WINDOW
        # An item first reported by a changes feed was trashed after this (None: a full listing).
        self.changes_since: datetime | None = None
        self.refused_before: str | None = None  # why Drive Activity was refused by the last scan
        self.asked = False  # whether this scan got an answer (or a refusal) from Drive Activity
        self.refused: str | None = None  # this scan: "disabled" or "scope" when refused
        self.drive_names: dict[str, str] = {}
        self.incomplete = False
        self._folders: dict[str, dict[str, Any] | None] = {}  # this scan's folder reads
        self._root_id: str | None = None  # the My Drive root, which no path shows
        self._root_asked = False
        self._folder_change_times: dict[str, datetime] = {}
        self._relist: set[str | None] = set()  # corpora (None: My Drive) where a folder was trashed
        self._trash_times: dict[str, datetime] | None = None

    def run(self, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        refused = (state or {}).get(REFUSED_KEY)
        self.refused_before = refused if refused in ("disabled", "scope") else None
        if state is not None and valid_state(state):
            try:
                return (yield from self._incremental(state))
            except Restart as why:
                log.info("%s: full listing (%s)", self.session.account.name, why)
        return (yield from self._full())

    # ------------------------------------------------------------------ full listing

    def _full(self) -> Generator[Page, None, ScanOutcome]:
        self.activity_since = self.now - ACTIVITY_WINDOW
        user_token = self._start_token(None)
        self.drive_names = self._list_drives()
        tokens = self._start_tokens(list(self.drive_names))
        drives = {d: {"name": n, "token": tokens[d]} for d, n in self.drive_names.items()}
        yield from self._list_corpus(None)
        for drive_id in drives:
            yield from self._list_corpus(drive_id)
        return self._outcome(user_token, drives, complete=True)

    def _start_token(self, drive_id: str | None) -> str:
        params: dict[str, Any] = {"supportsAllDrives": True}
        if drive_id:
            params["driveId"] = drive_id
        answer = self.session.call(
            self.changes.getStartPageToken(**params), "changes.getStartPageToken"
        )
        token = answer.get("startPageToken")
        if not isinstance(token, str) or not token:
            raise AccountError("Google Drive gave no start page token for its changes feed")
        return token

    def _start_tokens(self, drive_ids: list[str]) -> dict[str, str]:
        """The shared drives' start page tokens: a batch per 100 drives (one alone: as it is)."""
        if len(drive_ids) <= 1:
            return {d: self._start_token(d) for d in drive_ids}
        answers = self.session.batch(
            drive_ids,
            lambda d: self.changes.getStartPageToken(supportsAllDrives=True, driveId=d),
            "changes.getStartPageToken",
        )
        tokens: dict[str, str] = {}
        for drive_id in drive_ids:
            answer = answers.get(drive_id)
            if isinstance(answer, AccountError):
                raise answer
            token = (answer or {}).get("startPageToken")
            if not isinstance(token, str) or not token:
                raise AccountError("Google Drive gave no start page token for its changes feed")
            tokens[drive_id] = token
        return tokens

    def _list_drives(self) -> dict[str, str]:
        drives: dict[str, str] = {}
        params: dict[str, Any] = {
            "pageSize": DRIVES_PAGE_SIZE,
            "fields": "nextPageToken,drives(id,name)",
        }
        guard = PageGuard("Google Drive's list of shared drives")
        while True:
            answer = self.session.call(self.session.drive.drives().list(**params), "drives.list")
            for drive in answer.get("drives") or ():
                if drive.get("id"):
                    drives[drive["id"]] = drive.get("name") or drive["id"]
            if not answer.get("nextPageToken"):
                return drives
            guard.follow(answer["nextPageToken"])
            params["pageToken"] = answer["nextPageToken"]

    def _list_corpus(self, drive_id: str | None) -> Generator[Page, None, None]:
        """Trashed media of My Drive (``corpora=user``) or of one shared drive."""
        params: dict[str, Any] = {
            "q": MEDIA_QUERY,
            "pageSize": PAGE_SIZE,
            "fields": LIST_FIELDS,
            "supportsAllDrives": True,
        }
        if drive_id:
            params.update(corpora="drive", driveId=drive_id, includeItemsFromAllDrives=True)
        else:
            params["corpora"] = "user"
        guard = PageGuard("Google Drive's trash listing")
        while True:
            answer = self.session.call(self.files.list(**params), "files.list")
            if answer.get("incompleteSearch"):
                self.incomplete = True
            self._read_folders(answer.get("files") or ())
            page = Page()
            for file in answer.get("files") or ():
                self._add(page, file, None)
            if page.items:
                yield page
            if not answer.get("nextPageToken"):
                return
            guard.follow(answer["nextPageToken"])
            params["pageToken"] = answer["nextPageToken"]

    # ------------------------------------------------------------------ changes feeds

    def _incremental(self, state: dict[str, Any]) -> Generator[Page, None, ScanOutcome]:
        since = parse_time(state["scanned_at"])
        assert since is not None  # checked by valid_state
        self.activity_since = max(since - ACTIVITY_MARGIN, self.now - ACTIVITY_WINDOW)
        self.changes_since = since - ACTIVITY_MARGIN  # the feed position was taken after it
        drives = {d: dict(info) for d, info in state["drives"].items()}
        self.drive_names = {d: str(info.get("name") or d) for d, info in drives.items()}
        user = Feed(None, state["user"])
        known = [Feed(d, info["token"]) for d, info in drives.items()]
        yield from self._read_feeds([user, *known])
        for drive_feed in known:
            drives[str(drive_feed.drive_id)]["token"] = drive_feed.token
        fresh: set[str] = set()
        for change in user.drive_changes:
            drive_id = change.get("driveId")
            if not isinstance(drive_id, str):
                continue
            if change.get("removed"):
                if drive_id in drives:  # left or deleted: a full listing sweeps its items
                    raise Restart(f"no longer a member of shared drive {drive_id}")
                continue
            name = (change.get("drive") or {}).get("name") or drive_id
            self.drive_names[drive_id] = name
            if drive_id in drives:
                drives[drive_id]["name"] = name
                continue
            drives[drive_id] = {"name": name, "token": self._start_token(drive_id)}
            fresh.add(drive_id)
            yield from self._list_corpus(drive_id)
        # A folder was trashed: list that trash so that every photo inside it is seen even if
        # Drive logged no change for the children themselves (one request per 1000 items).
        for corpus in (None, *drives):
            if corpus in self._relist and corpus not in fresh:
                yield from self._list_corpus(corpus)
        return self._outcome(user.token, drives, complete=False)

    def _read_feeds(self, feeds: list[Feed]) -> Generator[Page, None, None]:
        """Read every change log to its end; each feed's ``token`` becomes its new start token.

        Every log is read: "To track changes for all items visible to a user, both the user
        change log and the change logs for all shared drives the user is a member of need to be
        replayed", since "certain changes are only reflected in the shared drive change log and
        never in the user's change log ... you must replay the shared drive's change log to
        capture all changes" [DOC developers.google.com/drive/api/guides/about-changes]; the
        same guide says a member may see some of a shared drive's item changes in the user log,
        depending on use, and that apps are not to rely on them. No documented call says a log
        is unchanged more cheaply than its first page does (a start page token is opaque), so
        the pages due are sent together, as one batch of up to 100 (Drive's batch guide: "You're
        limited to 100 calls in a single batch request"): an unchanged re-scan with k shared
        drives costs ceil((k + 1) / 100) round trips, not k + 1; a lone page is sent as it is."""
        by_key = {f.key: f for f in feeds}
        pending = feeds
        while pending:
            if len(pending) == 1:
                try:
                    answers = {
                        pending[0].key: self.session.call(self._changes(pending[0]), "changes.list")
                    }
                except DriveApiError as exc:  # a bad token, or a shared drive gone: start afresh
                    raise Restart(f"changes feed refused (HTTP {exc.status})") from exc
            else:
                answers = self.session.batch(
                    [f.key for f in pending], lambda key: self._changes(by_key[key]), "changes.list"
                )
            following: list[Feed] = []
            for feed in pending:
                answer = answers.get(feed.key)
                if isinstance(answer, DriveApiError):
                    raise Restart(f"changes feed refused (HTTP {answer.status})") from answer
                if not isinstance(answer, dict):
                    raise answer or AccountError("Google Drive gave no answer for a changes feed")
                yield from self._feed_page(feed, answer)
                if answer.get("newStartPageToken"):
                    feed.token = answer["newStartPageToken"]
                    continue
                token = answer.get("nextPageToken")
                if not token:
                    raise Restart("changes feed ended without a new start page token")
                feed.guard.follow(token)
                feed.token = token
                following.append(feed)
            pending = following

    def _changes(self, feed: Feed) -> Any:
        params: dict[str, Any] = {
            "pageSize": PAGE_SIZE,
            "includeRemoved": True,
            "includeItemsFromAllDrives": True,
            "supportsAllDrives": True,
            "fields": CHANGES_FIELDS,
        }
        if feed.drive_id:
            params["driveId"] = feed.drive_id
        return self.changes.list(pageToken=feed.token, **params)

    def _feed_page(self, feed: Feed, answer: dict[str, Any]) -> Generator[Page, None, None]:
        """One page of a change log: its file changes as a page, its drive changes kept."""
        page = Page()
        files = [c["file"] for c in answer.get("changes") or () if isinstance(c.get("file"), dict)]
        for file in files:  # a folder's change is its current state: spares a read
            if file.get("mimeType") == FOLDER_MIME and isinstance(file.get("id"), str):
                self._folders[file["id"]] = file
        self._read_folders(files)
        for change in answer.get("changes") or ():
            if change.get("changeType") == "drive":
                feed.drive_changes.append(change)
                continue
            self._apply(change, page)
        if page.items or page.removed:
            yield page

    def _apply(self, change: dict[str, Any], page: Page) -> None:
        """Add one file change to ``page`` (or note a trashed folder for a relisting)."""
        file_id, file = change.get("fileId"), change.get("file")
        if change.get("removed") or not isinstance(file, dict):
            if isinstance(file_id, str):
                page.removed.append(file_id)  # purged, emptied, or access lost
            return
        changed_at = parse_time(change.get("time"))
        if file.get("mimeType") == FOLDER_MIME:
            self._folders[file["id"]] = file  # its current state: spares a files.get later
            if file.get("trashed") and file.get("explicitlyTrashed"):
                self._relist.add(file.get("driveId"))
                if changed_at is not None:
                    self._folder_change_times[file["id"]] = changed_at
        elif not is_media(file.get("mimeType")):
            return
        elif not file.get("trashed"):
            page.removed.append(file["id"])  # restored elsewhere
        else:
            self._add(page, file, changed_at)

    def _outcome(self, user_token: str, drives: dict[str, Any], complete: bool) -> ScanOutcome:
        if self.incomplete:
            # Drive said it did not search everything: claim nothing, and list in full next time.
            log.warning(
                "%s: Google Drive reported an incomplete search; listing everything again next "
                "scan",
                self.session.account.name,
            )
            return ScanOutcome(state=None, complete_listing=False)
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "user": user_token,
            "drives": drives,
            "scanned_at": rfc3339(self.now),
        }
        refused = self.refused if self.asked else self.refused_before
        if refused:
            state[REFUSED_KEY] = refused
        return ScanOutcome(state=state, complete_listing=complete, notice=self._activity_notice())

    def _activity_notice(self) -> str | None:
        """Said once: when Drive Activity is refused for a reason the last scan did not meet."""
        if not self.asked or self.refused is None or self.refused == self.refused_before:
            return None
        name = self.session.account.name
        if self.refused == "disabled":
            why = "the Drive Activity API is not enabled in your Google Cloud project"
            fix = f"enable it at {ACTIVITY_CONSOLE}"
        else:
            why = "this account's sign-in lacks the Drive Activity permission"
            fix = f"re-run `trashscan accounts add google-drive {name}` to grant it"
        return (
            f"{why}, so My Drive deletion times are estimates (an item already in the trash when "
            f"first seen may be purged any day, within 30 days at the latest); {fix}, or set "
            "activity = false to stop asking"
        )

    # ------------------------------------------------------------------ items

    def _add(self, page: Page, file: dict[str, Any], changed_at: datetime | None) -> None:
        """Add a trashed photo or video to ``page``, with what its picture is fetched from."""
        item = self._item(file, changed_at)
        if item is None:
            return
        page.items.append(item)
        source = source_of(file)
        if source is not None:
            page.thumbnail_sources[item.item_id] = source

    def _item(self, file: dict[str, Any], changed_at: datetime | None) -> TrashItem | None:
        mime_type, file_id = file.get("mimeType"), file.get("id")
        if not is_media(mime_type) or not file.get("trashed") or not isinstance(file_id, str):
            return None
        name = str(file.get("name") or file_id)
        folders = self._ancestors(file)  # nearest first
        trashed_folders = [f for f in folders if f.get("explicitlyTrashed")]
        via = (
            trashed_folders[0]
            if file.get("explicitlyTrashed") is False and trashed_folders
            else None
        )
        chain = [str(f.get("name") or f["id"]) for f in reversed(folders)]
        deleted_at, deleted_after, source = self._deletion_time(file, via, changed_at)
        handle: dict[str, Any] = {"untrash": (via or file)["id"]}
        if via is not None:
            handle["folder"] = via.get("name") or via["id"]
        handle.update(self._folder_hints(folders, trashed_folders))
        drive_name = self.drive_names.get(file.get("driveId") or "")
        parts = [*([drive_name] if drive_name else []), *chain, name]
        size = file.get("size")
        can_untrash = (file.get("capabilities") or {}).get("canUntrash") is not False
        reason = None if can_untrash else NOT_UNTRASHABLE
        for folder in trashed_folders:
            if can_untrash and (folder.get("capabilities") or {}).get("canUntrash") is False:
                can_untrash, reason = False, folder_not_untrashable(folder)
        sha256, md5 = file.get("sha256Checksum"), file.get("md5Checksum")
        content_hash = f"md5:{md5}" if isinstance(md5, str) and md5 else None
        if isinstance(sha256, str) and sha256:
            content_hash = f"sha256:{sha256}"
        return TrashItem(
            content_hash=content_hash,
            item_id=file_id,
            name=name,
            path="/".join(parts) if len(parts) > 1 else None,
            mime_type=str(mime_type),
            size=int(size) if isinstance(size, str) and size.isdigit() else None,
            deleted_at=deleted_at,
            deleted_after=deleted_after,
            deleted_at_source=source,
            purge_is_estimate=source is not DeletedAtSource.API,
            restorable=can_untrash,
            not_restorable_reason=reason,
            restore_handle=handle,
        )

    def _ancestors(self, file: dict[str, Any]) -> list[dict[str, Any]]:
        """The folders above ``file`` read in this scan, nearest first, roots excluded."""
        found: list[dict[str, Any]] = []
        parents = self._parents(file)
        while parents and len(found) < MAX_FOLDER_DEPTH:
            folder = self._folders.get(parents[0])
            if folder is None or any(f is folder for f in found):
                break
            found.append(folder)
            parents = self._parents(folder)
        return found

    def _parents(self, file: dict[str, Any]) -> list[str]:
        """The parent (Drive enforces one) unless it is a My Drive or shared drive root."""
        parents = [p for p in (file.get("parents") or [])[:1] if isinstance(p, str)]
        roots = {self._root_id, file.get("driveId")}
        return [p for p in parents if p not in roots and p not in self.drive_names]

    def _read_folders(self, files: Iterable[dict[str, Any]]) -> None:
        """Read the folders above these trashed photos that this scan has not read yet: one
        batch (of up to 100 folders) per level, plus the ``root`` alias with the first one."""
        media = [f for f in files if f.get("trashed") and is_media(f.get("mimeType"))]
        wanted = [parent for f in media for parent in self._parents(f)]
        for _ in range(MAX_FOLDER_DEPTH):
            unknown = self._unread_above(wanted)
            if not unknown:
                return
            if not self._root_asked:
                self._root_asked = True
                unknown.append(ROOT_ALIAS)
            answers = self.session.batch(unknown, self._get_folder, "files.get")
            wanted = []
            for folder_id in unknown:
                answer = answers.get(folder_id)
                if isinstance(answer, DriveApiError):  # gone or not readable: the path stops
                    self._folders.setdefault(folder_id, None)
                elif isinstance(answer, AccountError):
                    raise answer
                elif folder_id == ROOT_ALIAS:
                    if isinstance((answer or {}).get("id"), str):
                        self._root_id = answer["id"]
                        self._folders[self._root_id] = answer
                elif answer is not None:
                    self._folders[folder_id] = answer
                    wanted += self._parents(answer)

    def _unread_above(self, wanted: list[str]) -> list[str]:
        """The first folders not read yet on the way up from ``wanted`` (a folder a changes
        feed reported is known, but its own parents may not be)."""
        unknown: dict[str, None] = {}
        seen: set[str] = set()
        while wanted:
            folder_id = wanted.pop()
            if folder_id in seen or folder_id == self._root_id:
                continue
            seen.add(folder_id)
            if folder_id not in self._folders:
                unknown[folder_id] = None
            elif (folder := self._folders[folder_id]) is not None:
                wanted += self._parents(folder)
        return list(unknown)

    def _get_folder(self, folder_id: str) -> Any:
        return self.files.get(fileId=folder_id, fields=FOLDER_FIELDS, supportsAllDrives=True)

    @staticmethod
    def _folder_hints(
        folders: list[dict[str, Any]], trashed_folders: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """For the restore: the folders above up to the first live one, and the trashed ones."""
        hints: dict[str, Any] = {}
        above: list[str] = []
        for folder in folders:
            above.append(folder["id"])
            if not folder.get("trashed"):
                break
        if above:
            hints["above"] = above
        if trashed_folders:
            hints["trashed_folders"] = [
                [f["id"], str(f.get("name") or f["id"])] for f in reversed(trashed_folders)
            ]
        return hints

    def _deletion_time(
        self, file: dict[str, Any], via: dict[str, Any] | None, changed_at: datetime | None
    ) -> tuple[datetime | None, datetime | None, DeletedAtSource]:
        """(the latest the deletion can have been, the earliest, the source); see the module."""
        exact = parse_time(file.get("trashedTime")) or parse_time((via or {}).get("trashedTime"))
        if exact is not None:
            return exact, exact, DeletedAtSource.API
        trashed_id = (via or file)["id"]
        if self.activity:
            window = self._activity_trash_times().get(trashed_id)
            if window is not None:
                return window[1], window[0], DeletedAtSource.ACTIVITY
        changed_at = changed_at or self._folder_change_times.get(trashed_id)
        if changed_at is not None:
            after = self.changes_since
            return (
                changed_at,
                None if after is None else min(after, changed_at),
                (DeletedAtSource.CHANGES),
            )
        return None, None, DeletedAtSource.OBSERVED

    # ------------------------------------------------------------------ Drive Activity

    def _activity_trash_times(self) -> dict[str, tuple[datetime, datetime]]:
        """Item id -> (earliest, latest) time of its latest TRASH since ``activity_since``.

        Queried once per scan. A refusal (API disabled, scope missing) is recorded for the
        notice; any other failure only costs this scan its activity dates.
        """
        if self._trash_times is None:
            self._trash_times = {}
            granted = self.session.credentials.scopes
            if granted and not {ACTIVITY_SCOPE, ACTIVITY_SCOPE.removesuffix(".readonly")} & set(
                granted
            ):
                self.asked, self.refused = True, "scope"  # the token cannot carry the scope
                return self._trash_times
            try:
                self._trash_times = self._query_activity()
                self.asked = True
            except GrantError:
                raise
            except DriveApiError as exc:
                self.refused = refusal(exc)
                self.asked = self.refused is not None
                if not self.asked:
                    log.warning(
                        "%s: Drive Activity API unavailable (%s); using estimated deletion times",
                        self.session.account.name,
                        exc,
                    )
            except AccountError as exc:  # throttled beyond the budget, unreachable, ...
                log.warning(
                    "%s: Drive Activity API unavailable (%s); using estimated deletion times",
                    self.session.account.name,
                    exc,
                )
        return self._trash_times

    def _query_activity(self) -> dict[str, tuple[datetime, datetime]]:
        body: dict[str, Any] = {
            "ancestorName": "items/root",
            "pageSize": ACTIVITY_PAGE_SIZE,
            "filter": (
                f'time >= "{rfc3339(self.activity_since)}" AND detail.action_detail_case:DELETE'
            ),
        }
        times: dict[str, tuple[datetime, datetime]] = {}
        guard = PageGuard("the Drive Activity API")
        while True:
            request = self.session.activity.activity().query(body=body)
            answer = self.session.call(request, "activity:query")
            for activity in answer.get("activities") or ():
                details = [activity.get("primaryActionDetail") or {}]
                details += [a.get("detail") or {} for a in activity.get("actions") or ()]
                if not any((d.get("delete") or {}).get("type") == "TRASH" for d in details):
                    continue
                window = activity_window(activity, self.activity_since)
                if window is None:
                    continue
                for target in activity.get("targets") or ():
                    name = (target.get("driveItem") or {}).get("name")
                    if isinstance(name, str) and name.startswith("items/"):
                        item_id = name.removeprefix("items/")
                        # the item's latest trashing is the one its purge counts from
                        seen = times.get(item_id, window)
                        times[item_id] = (max(seen[0], window[0]), max(seen[1], window[1]))
            if not answer.get("nextPageToken"):
                return times
            guard.follow(answer["nextPageToken"])
            body = {**body, "pageToken": answer["nextPageToken"]}


def activity_window(activity: dict[str, Any], floor: datetime) -> tuple[datetime, datetime] | None:
    """When an activity happened: its ``timestamp``, or the ``timeRange`` a consolidated one
    spans (DriveActivity: "The activity occurred over this time range"); ``floor``, the query's
    ``time >=``, when a range gives no start."""
    when = parse_time(activity.get("timestamp"))
    if when is not None:
        return when, when
    span = activity.get("timeRange") or {}
    start, end = parse_time(span.get("startTime")), parse_time(span.get("endTime"))
    if end is None:
        return None
    return min(start or floor, end), end


def refusal(exc: DriveApiError) -> str | None:
    """ "disabled" or "scope" when Google refused Drive Activity for good, else None."""
    if exc.status != 403:
        return None
    if exc.reasons & DISABLED_REASONS:
        return "disabled"
    if exc.reasons & SCOPE_REASONS:
        return "scope"
    return None
