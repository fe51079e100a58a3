"""Listing deleted photos and videos: one recursive listing, then only the changes since.

Dropbox has no trash listing. A recursive ``list_folder`` with ``include_deleted`` returns live and
deleted entries together, and a deleted entry (``DeletedMetadata``) has no id, no time, no size and
no revision. So each deleted photo or video costs a ``list_revisions(path, mode=path, limit=1)``,
which gives the deletion time (``server_deleted``) and the revision to restore (``entries[0]``,
a full ``FileMetadata`` with the file's ``id``). There is no batch form; the calls of a page run on
a small pool (``revision_workers``).

The listing's cursor is the state: a later scan calls ``list_folder/continue`` and gets only what
changed. An unchanged account costs that one request, and only new deleted entries cost
``list_revisions``. A live file at a path the index holds as deleted (restored, or re-created)
goes to ``Page.removed``. A ``reset`` answer starts a full listing again.

Not every deleted entry is a lost file:

* A moved or renamed file leaves a ``DeletedMetadata`` at its old path, and ``list_revisions`` of
  that path reports ``is_deleted`` (the spec: "If the file identified by the latest revision in
  the response is either deleted or moved"), possibly with a ``server_deleted`` date too. So the
  path's answer cannot prove a loss by itself. Two signs in it already show a move: no
  ``server_deleted`` ("the time of deletion if the file was deleted"), or a newest revision that
  lives at another path. Otherwise the file's id (``entries[0].id``) tells, with what the listing
  already shows: a file keeps its id across moves and renames, and the listing names every live
  file with its id. An id that a live file of the same listing (or change feed) carries was
  moved; the entry is skipped. Deleted entries can come pages before their file's new path, so
  that decision waits for the end of the listing; only a set of the live files' ids is kept
  (about 120 bytes per file), and the deleted entries still undecided.
* An id no live file of a *complete* listing carries is a real deletion: the full listing of a
  user whose root is their home namespace (``root_info``) shows every file they can reach. A
  change feed shows only what changed, and a team-space user can move files to team folders the
  home listing does not show, so there the id is asked: ``list_revisions`` in ``id`` mode
  follows a file "across moves or renames", and ``is_deleted`` false there means the file lives
  on. An id Dropbox does not know (``not_found``), or one whose file is deleted too, is a real
  deletion. So is an id call that fails with another route error: the entry is listed, dated by
  the path's answer, rather than hidden, since hiding a lost photo costs more than listing a
  moved one (whose restore would only put a copy back at the old path). A file moved and then
  deleted at its new path is listed at both paths.
* ``is_deleted`` false means a file is back at that path: nothing is lost.
* A deleted folder answers ``not_file``. A full listing shows the files that were inside it as
  deleted entries of their own, so the folder entry itself is skipped. The change feed, though,
  may report only the folder; see :meth:`DropboxScan._deleted_folders`.

A first scan therefore costs its floor: the listing's pages, one ``list_revisions`` per deleted
photo or video, ``get_current_account`` (the account type, and its ``root_info``) and, without a
cached access token, one refresh.

Items are keyed by ``path_lower``: deleted entries carry no file id, and the path is what
``restore`` needs anyway.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from dropbox import exceptions as dbx
from dropbox import files

from trashscan.errors import AccountError
from trashscan.kinds import guess_mime_type
from trashscan.models import Account, DeletedAtSource, Page, ScanOutcome, TrashItem
from trashscan.pagination import PageGuard
from trashscan_dropbox.client import DropboxSession, error_tag
from trashscan_dropbox.options import Settings, retention_for

log = logging.getLogger(__name__)

LIST_LIMIT = 2000  # the most list_folder accepts ("an approximate number")
NOT_RESTORABLE = (
    "Dropbox says it can no longer be restored (its recovery period ended, or a retention "
    "policy removed it)"
)
NO_REVISION = "Dropbox lists no earlier version of it to restore"


class _Reset(Exception):
    """``list_folder/continue`` answered ``reset``: the cursor is void, list everything again."""


@dataclass(frozen=True, slots=True)
class Revision:
    """What ``list_revisions`` of a deleted entry's path said."""

    kind: str  # "ok", "folder" (not_file), "gone" (not_found), "error"
    result: files.ListRevisionsResult | None = None
    detail: str | None = None


def valid_state(state: object) -> dict[str, str] | None:
    if not isinstance(state, dict):
        return None
    cursor, account_type = state.get("cursor"), state.get("account_type")
    if isinstance(cursor, str) and cursor and isinstance(account_type, str):
        return {"cursor": cursor, "account_type": account_type}
    return None


def parent_of(path_lower: str) -> str:
    """The folder holding a path, as list_folder wants it (the root is ``""``)."""
    parent = str(PurePosixPath(path_lower).parent)
    return "" if parent == "/" else parent


def looks_deleted(result: files.ListRevisionsResult, path: str) -> bool:
    """A path's ``list_revisions`` that shows no move by itself: deleted, dated, and its newest
    revision at that path. Only its file's id can tell whether it was deleted or moved."""
    newest = result.entries[0] if result.entries else None
    return (
        result.is_deleted
        and result.server_deleted is not None
        and newest is not None
        and newest.path_lower == path
    )


def home_rooted(account: Any) -> bool:
    """Whether the user's root is their home namespace (``root_info``; dropbox.md §2): then a
    listing of ``""`` shows every file they can reach. A team-space user's root lies above home,
    with team folders a file can be moved to out of that listing's sight."""
    root = getattr(account, "root_info", None)
    root_ns, home_ns = (getattr(root, k, None) for k in ("root_namespace_id", "home_namespace_id"))
    return isinstance(root_ns, str) and root_ns != "" and root_ns == home_ns


def ids_size(ids: set[str]) -> int:
    """Bytes a set of ids takes: the set's table and its strings."""
    return sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids)


def as_utc(when: datetime) -> datetime:
    """The SDK gives naive datetimes in UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class DropboxScan:
    def __init__(self, session: DropboxSession, settings: Settings, account: Account) -> None:
        self.session = session
        self.client = session.client
        self.settings = settings
        self.account = account
        self.days = 30
        self.estimate = True
        self._pool: ThreadPoolExecutor | None = None
        self._live_ids: set[str] = set()  # every live file's id seen in this listing or feed
        # deleted photos whose path answer looks like a deletion, by path: told at the end
        self._undecided: dict[str, tuple[files.DeletedMetadata, files.ListRevisionsResult]] = {}
        self._listing_decides = False  # an id absent from a complete listing is a deletion

    # ------------------------------------------------------------------------------ driver

    def run(self, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        previous = valid_state(state)
        with ThreadPoolExecutor(
            max_workers=self.settings.revision_workers, thread_name_prefix="dropbox-revisions"
        ) as pool:
            self._pool = pool
            if previous is not None:
                self._use_plan(previous["account_type"])
                try:
                    cursor = yield from self._incremental(previous["cursor"])
                except _Reset:
                    log.info(
                        "Dropbox reset the cursor of %s: listing everything", self.account.name
                    )
                    self._live_ids.clear()
                    self._undecided.clear()
                else:
                    return ScanOutcome(
                        {"cursor": cursor, "account_type": previous["account_type"]},
                        complete_listing=False,
                    )
            account_type, self._listing_decides = self._account_type()
            self._use_plan(account_type)
            cursor = yield from self._full()
            return ScanOutcome(
                {"cursor": cursor, "account_type": account_type}, complete_listing=True
            )

    def _use_plan(self, account_type: str) -> None:
        self.days, self.estimate = retention_for(self.account, account_type)

    def _account_type(self) -> tuple[str, bool]:
        """``basic``, ``pro`` or ``business`` (all the API says about the plan), and whether a
        full listing shows every file the user can reach (:func:`home_rooted`)."""
        account = self.session.read(self.client.users_get_current_account, "get_current_account")
        tag = getattr(account.account_type, "_tag", None)
        return (tag if isinstance(tag, str) else "unknown"), home_rooted(account)

    # ------------------------------------------------------------------------------ listings

    def _list(self, path: str) -> files.ListFolderResult:
        return self.session.read(
            lambda: self.client.files_list_folder(
                path,
                recursive=True,
                include_deleted=True,
                limit=LIST_LIMIT,
                include_restorable_info=True,
            ),
            "files/list_folder",
        )

    def _continue(self, cursor: str) -> files.ListFolderResult:
        return self.session.read(
            lambda: self.client.files_list_folder_continue(cursor), "files/list_folder/continue"
        )

    def _full(self) -> Generator[Page, None, str]:
        result = self._list("")
        guard = PageGuard("Dropbox's listing", "cursor")
        while True:
            page = self._page(result.entries)
            if page.items:
                yield page
            if not result.has_more:
                break
            guard.follow(result.cursor)
            result = self._continue_full(result.cursor)
        yield from self._settle(feed=False)
        return result.cursor

    def _continue_full(self, cursor: str) -> files.ListFolderResult:
        try:
            return self._continue(cursor)
        except dbx.ApiError as exc:
            raise AccountError(
                f"Dropbox broke off the listing ({error_tag(exc)}); the next scan starts again"
            ) from None

    def _incremental(self, cursor: str) -> Generator[Page, None, str]:
        parents: set[str] = set()  # folders that held a deleted entry of this feed
        pending: list[files.DeletedMetadata] = []  # deleted entries that may be folders
        guard = PageGuard("Dropbox's change feed", "cursor")
        guard.start(cursor)
        while True:
            try:
                result = self._continue(cursor)
            except dbx.ApiError as exc:
                error = exc.error
                if isinstance(error, files.ListFolderContinueError) and error.is_reset():
                    raise _Reset from None
                raise AccountError(f"Dropbox refused the change feed ({error_tag(exc)})") from None
            page = self._page(result.entries, parents=parents, pending=pending)
            if page.items or page.removed:
                yield page
            cursor = result.cursor
            if not result.has_more:
                break
            guard.follow(cursor)
        yield from self._deleted_folders(pending, parents)
        yield from self._settle(feed=True)
        return cursor

    # ------------------------------------------------------------------------------ one page

    def _page(
        self,
        entries: Iterable[Any],
        parents: set[str] | None = None,
        pending: list[files.DeletedMetadata] | None = None,
    ) -> Page:
        """Items of one listing page; with ``parents`` it is a change-feed page.

        In a change feed, live media files are reported as removed (they may be restorations of
        indexed items), and deleted entries that are not media are kept in ``pending`` to be
        checked for folders once the feed is read. Every live file's id is remembered, and a
        deleted photo whose path answer looks like a deletion waits in ``_undecided`` unless its
        id is already known to live on.
        """
        feed = parents is not None
        deleted: list[files.DeletedMetadata] = []
        removed: list[str] = []
        for entry in entries:
            path = getattr(entry, "path_lower", None)
            if isinstance(entry, files.FileMetadata):
                self._live_ids.add(entry.id)  # mounted or not, the file lives on
            if not path:
                continue  # not mounted: nothing to restore to
            if isinstance(entry, files.DeletedMetadata):
                if feed:
                    parents.add(parent_of(path))
                if self.settings.is_media(entry.name):
                    deleted.append(entry)
                elif pending is not None:
                    pending.append(entry)
                continue
            self._see_live(entry)
            if (
                feed
                and isinstance(entry, files.FileMetadata)
                and self.settings.is_media(entry.name)
            ):
                removed.append(path)
        items: list[TrashItem] = []
        for entry, revision in zip(deleted, self._revisions(deleted), strict=True):
            if revision.kind == "folder" and pending is not None:
                pending.append(entry)  # a folder named like a photo
                continue
            result = revision.result
            if (
                revision.kind == "ok"
                and result is not None
                and looks_deleted(result, entry.path_lower)
            ):
                if result.entries[0].id not in self._live_ids:
                    self._undecided[entry.path_lower] = (entry, result)
                    continue
                log.debug("skipping %s: moved, its id lives on in the listing", entry.path_lower)
                item = None
            else:
                item = self._item(entry, revision)
            if item is not None:
                items.append(item)
            elif feed:
                removed.append(entry.path_lower)
        return Page(items=items, removed=removed)

    def _see_live(self, entry: Any) -> None:
        """A live entry: nothing is deleted at its path any more, and a file's id lives on."""
        self._undecided.pop(entry.path_lower, None)
        if isinstance(entry, files.FileMetadata):
            self._live_ids.add(entry.id)

    def _settle(self, feed: bool) -> Generator[Page, None, None]:
        """The deleted photos still undecided once the listing (or feed) is read.

        An id a live file of the listing carries was moved. Any other is a deletion if the
        listing was complete (``_listing_decides``), else its ``list_revisions`` in id mode says.
        """
        undecided, self._undecided = self._undecided, {}
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%d live file ids held (%d bytes), %d deleted entries to tell",
                len(self._live_ids),
                ids_size(self._live_ids),
                len(undecided),
            )
        told: list[tuple[files.DeletedMetadata, files.ListRevisionsResult, bool]] = []
        unknown: list[tuple[files.DeletedMetadata, files.ListRevisionsResult]] = []
        for entry, result in undecided.values():
            if result.entries[0].id in self._live_ids:
                told.append((entry, result, True))
            elif self._listing_decides:
                told.append((entry, result, False))
            else:
                unknown.append((entry, result))
        if unknown:
            assert self._pool is not None
            lives = self._pool.map(
                lambda pair: self._lives_on(pair[0].path_lower, pair[1].entries[0].id), unknown
            )
            for (entry, result), moved_to in zip(unknown, lives, strict=True):
                if moved_to is not None:
                    log.debug(
                        "skipping %s: moved, the file lives on at %s", entry.path_lower, moved_to
                    )
                told.append((entry, result, moved_to is not None))
        self._live_ids.clear()
        for start in range(0, len(told), LIST_LIMIT):
            items: list[TrashItem] = []
            removed: list[str] = []
            for entry, result, moved in told[start : start + LIST_LIMIT]:
                item = None if moved else self._item(entry, Revision("ok", result))
                if item is not None:
                    items.append(item)
                elif feed:
                    removed.append(entry.path_lower)
            if items or removed:
                yield Page(items=items, removed=removed)

    def _revisions(self, entries: Sequence[files.DeletedMetadata]) -> list[Revision]:
        """``list_revisions`` of each entry's path, on the pool."""
        if not entries:
            return []
        assert self._pool is not None
        return list(self._pool.map(self._revision, entries))

    def _revision(self, entry: files.DeletedMetadata) -> Revision:
        """The path's ``list_revisions``: a date, the revision to restore, the file's id."""
        path = entry.path_lower
        try:
            result = self.session.read(
                lambda: self.client.files_list_revisions(
                    path, mode=files.ListRevisionsMode.path, limit=1
                ),
                "files/list_revisions",
            )
        except dbx.ApiError as exc:
            error = exc.error
            if isinstance(error, files.ListRevisionsError) and error.is_path():
                lookup = error.get_path()
                if lookup.is_not_file():
                    return Revision("folder")
                if lookup.is_not_found():
                    return Revision("gone")
            return Revision("error", detail=error_tag(exc))
        return Revision("ok", result)

    def _lives_on(self, path: str, file_id: str) -> str | None:
        """Where the file last at ``path`` lives now, if ``list_revisions`` of its id says it is
        not deleted; None for a real deletion, or when Dropbox will not say (listed, see above)."""
        try:
            result = self.session.read(
                lambda: self.client.files_list_revisions(
                    file_id, mode=files.ListRevisionsMode.id, limit=1
                ),
                "files/list_revisions",
            )
        except dbx.ApiError as exc:
            error = exc.error
            not_found = (
                isinstance(error, files.ListRevisionsError)
                and error.is_path()
                and error.get_path().is_not_found()
            )
            if not not_found:
                log.info(
                    "could not tell whether %s was moved (%s): listing it as deleted",
                    path,
                    error_tag(exc),
                )
            return None
        if result.is_deleted:
            return None
        newest = result.entries[0] if result.entries else None
        return (newest and (newest.path_display or newest.path_lower)) or "an unnamed path"

    def _item(self, entry: files.DeletedMetadata, revision: Revision) -> TrashItem | None:
        """The trash item of a deleted entry, or None when nothing is lost (or nothing is left)."""
        path = entry.path_lower
        shown = entry.path_display or path
        if revision.kind in {"folder", "gone"}:
            log.debug("skipping %s: %s", path, revision.kind)
            return None
        if revision.kind == "error" or revision.result is None:
            # Listed without a date (the core records when it was first seen) rather than hidden.
            return TrashItem(
                item_id=path,
                name=entry.name,
                path=shown,
                mime_type=guess_mime_type(entry.name),
                restorable=False,
                not_restorable_reason=f"Dropbox refused to list its versions ({revision.detail})",
                restore_handle={"path": shown},
            )
        result = revision.result
        newest = result.entries[0] if result.entries else None
        if not result.is_deleted:
            return None  # a file is at this path again
        if result.server_deleted is None or (newest is not None and newest.path_lower != path):
            log.debug("skipping %s: moved, its content lives elsewhere", path)
            return None
        deleted_at = as_utc(result.server_deleted)
        restorable, reason = True, None
        if entry.is_restorable is False:
            restorable, reason = False, NOT_RESTORABLE
        elif newest is None:
            restorable, reason = False, NO_REVISION
        handle: dict[str, Any] = {"path": shown}
        if newest is not None:
            handle.update(rev=newest.rev, content_hash=newest.content_hash)
        content_hash = getattr(newest, "content_hash", None)
        return TrashItem(
            item_id=path,
            name=entry.name,
            path=shown,
            mime_type=guess_mime_type(entry.name),
            size=newest.size if newest is not None else None,
            deleted_at=deleted_at,
            deleted_at_source=DeletedAtSource.API,
            purge_at=deleted_at + timedelta(days=self.days),
            purge_is_estimate=self.estimate,
            restorable=restorable,
            not_restorable_reason=reason,
            restore_handle=handle,
            content_hash=f"dropbox:{content_hash}" if content_hash else None,
            version=newest.rev if newest is not None else None,
        )

    # ------------------------------------------------------------------------------ folders

    def _deleted_folders(
        self, pending: list[files.DeletedMetadata], parents: set[str]
    ) -> Generator[Page, None, None]:
        """Photos inside folders the change feed reported deleted as a whole.

        Dropbox's sync rules ("for each DeletedMetadata ... remove it and all its children") allow
        a feed to report a deleted folder without its files. A folder none of whose children
        appeared in the feed is therefore looked at: ``list_revisions`` tells a folder
        (``not_file``) from a deleted document, and a recursive listing of the folder's parent
        (a deleted folder itself cannot be listed) shows the deleted files under it. A document
        costs one read; a feed that lists children, or no deletion at all, costs nothing.
        """
        unchecked = [e for e in pending if e.path_lower not in parents]
        if not unchecked:
            return
        media = [e for e in unchecked if self.settings.is_media(e.name)]  # already known folders
        others = [e for e in unchecked if not self.settings.is_media(e.name)]
        folders = {e.path_lower for e in media}
        checked = self._revisions(others)  # only folder or not
        for entry, revision in zip(others, checked, strict=True):
            if revision.kind == "folder":
                folders.add(entry.path_lower)
        by_parent: dict[str, list[str]] = {}
        for folder in sorted(folders):
            by_parent.setdefault(parent_of(folder), []).append(folder)
        for parent, inside in by_parent.items():
            yield from self._relist(parent, tuple(f"{folder}/" for folder in inside))

    def _relist(self, parent: str, prefixes: tuple[str, ...]) -> Generator[Page, None, None]:
        try:
            result = self._list(parent)
        except dbx.ApiError as exc:
            log.warning("could not list %s for deleted folders: %s", parent or "/", error_tag(exc))
            return
        guard = PageGuard("Dropbox's listing of a deleted folder", "cursor")
        while True:
            for entry in result.entries:
                if entry.path_lower and not isinstance(entry, files.DeletedMetadata):
                    self._see_live(entry)
            inside = [
                e
                for e in result.entries
                if isinstance(e, files.DeletedMetadata)
                and (e.path_lower or "").startswith(prefixes)
            ]
            page = self._page(inside)
            if page.items:
                yield page
            if not result.has_more:
                return
            guard.follow(result.cursor)
            result = self._continue_full(result.cursor)
