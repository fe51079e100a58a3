"""Restoring: ``files/restore(path, rev)``, one file at a time, never over an existing file.

``files/restore`` writes the revision to the path it is given and has no conflict mode: on a path
that holds a file it would make the old revision the newest version of that file, replacing what
the user sees. So every restore first reads the path (``get_metadata``):

* free: restore there;
* holding the same content (same rev or content hash): already restored, nothing sent;
* taken by anything else: restore to the first free sibling name, ``name (restored).ext``,
  ``name (restored 2).ext``, ... The spec calls ``path`` "the path to save the restored file" and
  accepts any write path, so a revision may be saved elsewhere. If Dropbox refuses that, the item
  is skipped with the reason: nothing is ever overwritten.

A small window remains between the read and the restore in which another client could create the
file; the API offers no atomic "restore unless it exists".

Restores are writes, and Dropbox answers concurrent writes to one account with
``too_many_write_operations``, so this module sends one restore at a time (the core runs accounts
concurrently); Dropbox documents no batch restore (its ``*_batch`` routes copy, move, delete,
create folders and finish uploads). Reads are not writes: the next item's path is read while the
current item's restore is in flight, so a mass restore costs one round trip per item, the
floor. That read is taken again, after the write, when the write went to that very path (two
deleted versions of one path, or a sibling name that is another item's path).

The restore's answer is the restored file's metadata: when it came, with the deleted revision's
content hash (when known), it is the outcome, and nothing is read back. What is in doubt is read
back: a lost answer (5xx, dropped connection), where repeating the restore could now overwrite
the restored file, ``in_progress`` (polled until the file appears), or an answer whose content
hash is not the deleted revision's. A read-back must show a file with the rev the restore
returned (without an answer: the deleted revision's content hash).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath

from dropbox import exceptions as dbx
from dropbox import files

from trashscan.errors import ProviderUnavailableError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan.retry import Classification
from trashscan_dropbox.client import DropboxSession, MaybeApplied, classify_read, error_tag

log = logging.getLogger(__name__)

MAX_SIBLINGS = 20  # get_metadata probes before giving up on finding a free name


class _NotThereYet(Exception):
    """The restored file is not visible yet (``in_progress``): poll again."""


def sibling(path: str, attempt: int) -> str:
    """``/a/b.jpg`` → ``/a/b (restored).jpg``, then ``/a/b (restored 2).jpg``, ..."""
    pure = PurePosixPath(path)
    label = "restored" if attempt == 1 else f"restored {attempt}"
    return str(pure.with_name(f"{pure.stem} ({label}){pure.suffix}"))


@dataclass(frozen=True, slots=True)
class _Look:
    """An item's restore handle, and what was at its path when it was read."""

    path: str
    rev: str
    content_hash: str | None
    occupant: files.Metadata | None


class Restorer:
    def __init__(self, session: DropboxSession) -> None:
        self.session = session
        self.client = session.client
        self._sent_to: str | None = None  # where the last restore was sent, if one was

    def restore(self, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        """One restore at a time (see the module docstring); the next item's path is read
        meanwhile, on one helper thread."""
        if not items:
            return
        with ThreadPoolExecutor(1, thread_name_prefix="dropbox-look") as pool:
            ahead: Future[_Look | RestoreResult] = pool.submit(self._look, items[0])
            for index, item in enumerate(items):
                look = ahead.result()
                if index + 1 < len(items):
                    ahead = pool.submit(self._look, items[index + 1])
                self._sent_to = None
                result = self._finish(item, look)
                if index + 1 < len(items) and self._sent_to is not None:
                    ahead = self._fresh(ahead, items[index + 1], self._sent_to)
                yield result

    def _fresh(
        self, ahead: Future[_Look | RestoreResult], item: IndexedItem, written: str
    ) -> Future[_Look | RestoreResult]:
        """The next item's read, taken again if this restore was sent to its path meanwhile
        (whatever its outcome: a lost answer may still have written there)."""
        look = ahead.result()
        if isinstance(look, _Look) and look.path.lower() == written.lower():
            again: Future[_Look | RestoreResult] = Future()
            again.set_result(self._look(item))
            return again
        return ahead

    # ------------------------------------------------------------------------------ one item

    def _look(self, item: IndexedItem) -> _Look | RestoreResult:
        handle = item.restore_handle or {}
        path = handle.get("path") or item.path
        rev = handle.get("rev")
        content_hash = handle.get("content_hash")
        if not isinstance(path, str) or not isinstance(rev, str):
            return self._result(item, RestoreOutcome.SKIPPED, "no revision known; scan again")
        try:
            occupant = self._metadata(path)
        except dbx.ApiError as exc:
            return self._result(
                item, RestoreOutcome.FAILED, f"cannot read {path}: {error_tag(exc)}"
            )
        return _Look(path, rev, content_hash, occupant)

    def _finish(self, item: IndexedItem, look: _Look | RestoreResult) -> RestoreResult:
        if isinstance(look, RestoreResult):
            return look
        path, rev, content_hash, occupant = look.path, look.rev, look.content_hash, look.occupant
        target = path
        if occupant is not None:
            if _same_content(occupant, rev, content_hash):
                return self._result(
                    item, RestoreOutcome.ALREADY_RESTORED, f"{path} already holds this file"
                )
            found = self._free_sibling(path)
            if found is None:
                detail = (
                    f"{path} is taken and no free name was found next to it; "
                    "nothing was overwritten"
                )
                return self._result(item, RestoreOutcome.SKIPPED, detail)
            target = found
        return self._restore(item, path, target, rev, content_hash)

    def _restore(
        self, item: IndexedItem, path: str, target: str, rev: str, content_hash: str | None
    ) -> RestoreResult:
        poll = False
        restored: files.FileMetadata | None = None
        self._sent_to = target
        try:
            restored = self.session.write(
                lambda: self.client.files_restore(target, rev), "files/restore"
            )
        except MaybeApplied as exc:
            log.info("restore of %s ended with %s: reading it back", target, exc)
        except dbx.ApiError as exc:
            error = exc.error
            if isinstance(error, files.RestoreError) and error.is_in_progress():
                poll = True
            else:
                return self._refused(item, path, target, exc)
        if restored is not None and _answer_confirms(restored, content_hash):
            return self._done(item, path, target, restored)
        return self._verify(item, path, target, restored, content_hash, poll)

    def _done(
        self, item: IndexedItem, path: str, target: str, found: files.FileMetadata
    ) -> RestoreResult:
        shown = found.path_display or target
        if target == path:
            return self._result(item, RestoreOutcome.RESTORED, None, shown)
        detail = f"{path} was taken: restored as {shown}"
        return self._result(item, RestoreOutcome.CONFLICT_RESOLVED, detail, shown)

    def _refused(
        self, item: IndexedItem, path: str, target: str, exc: dbx.ApiError
    ) -> RestoreResult:
        tag = error_tag(exc)
        error = exc.error
        if target != path:
            detail = (
                f"{path} is taken, and Dropbox refused to restore to {target} ({tag}); "
                "nothing was overwritten"
            )
            return self._result(item, RestoreOutcome.SKIPPED, detail)
        if isinstance(error, files.RestoreError):
            if error.is_path_write() and error.get_path_write().is_conflict():
                detail = f"{path} is taken ({tag}); nothing was overwritten"
                return self._result(item, RestoreOutcome.SKIPPED, detail)
            if error.is_invalid_revision():
                detail = "Dropbox no longer has this version (purged?); scan again"
                return self._result(item, RestoreOutcome.FAILED, detail)
        return self._result(item, RestoreOutcome.FAILED, f"Dropbox refused the restore ({tag})")

    def _verify(
        self,
        item: IndexedItem,
        path: str,
        target: str,
        restored: files.FileMetadata | None,
        content_hash: str | None,
        poll: bool,
    ) -> RestoreResult:
        def read_back() -> files.Metadata | None:
            found = self._lookup(target)
            if found is None and poll:
                raise _NotThereYet
            return found

        def classify(exc: BaseException) -> Classification:
            return None if isinstance(exc, _NotThereYet) else classify_read(exc)

        try:
            found = self.session.read(read_back, "files/get_metadata", classify)
        except (ProviderUnavailableError, dbx.ApiError) as exc:
            detail = f"restore sent, but reading {target} back failed ({type(exc).__name__})"
            return self._result(item, RestoreOutcome.FAILED, detail)
        if not isinstance(found, files.FileMetadata) or not _confirmed(
            found, restored, content_hash
        ):
            detail = f"Dropbox does not show the restored file at {target}; try again"
            return self._result(item, RestoreOutcome.FAILED, detail)
        return self._done(item, path, target, found)

    # ------------------------------------------------------------------------------ helpers

    def _metadata(self, path: str) -> files.Metadata | None:
        return self.session.read(lambda: self._lookup(path), "files/get_metadata")

    def _lookup(self, path: str) -> files.Metadata | None:
        """What is at ``path`` now, or None when nothing is (``not_found``)."""
        try:
            return self.client.files_get_metadata(path)
        except dbx.ApiError as exc:
            error = exc.error
            if (
                isinstance(error, files.GetMetadataError)
                and error.is_path()
                and error.get_path().is_not_found()
            ):
                return None
            raise

    def _free_sibling(self, path: str) -> str | None:
        for attempt in range(1, MAX_SIBLINGS + 1):
            candidate = sibling(path, attempt)
            try:
                if self._metadata(candidate) is None:
                    return candidate
            except dbx.ApiError:
                return None
        return None

    @staticmethod
    def _result(
        item: IndexedItem,
        outcome: RestoreOutcome,
        detail: str | None,
        restored_path: str | None = None,
    ) -> RestoreResult:
        return RestoreResult(item.item_id, outcome, detail=detail, restored_path=restored_path)


def _answer_confirms(restored: files.FileMetadata, content_hash: str | None) -> bool:
    """Whether the restore's own answer settles it: the file it names is the deleted revision
    (its content hash, when the scan recorded one; the answer is for that rev otherwise)."""
    if not isinstance(restored, files.FileMetadata):
        return False
    return content_hash is None or restored.content_hash == content_hash


def _confirmed(
    found: files.FileMetadata, restored: files.FileMetadata | None, content_hash: str | None
) -> bool:
    """Whether the file read back is the one this restore wrote.

    With the restore's answer, its rev must match; without it (5xx, lost connection, in
    progress) only the deleted revision's content hash can tell our file from another one.
    """
    if restored is not None:
        if found.rev != restored.rev:
            return False
    elif content_hash is None or found.content_hash != content_hash:
        return False
    return content_hash is None or found.content_hash in {None, content_hash}


def _same_content(occupant: files.Metadata, rev: str, content_hash: str | None) -> bool:
    """Whether the file at the path already is the deleted one (restored some other way)."""
    if not isinstance(occupant, files.FileMetadata):
        return False
    return occupant.rev == rev or (
        content_hash is not None and occupant.content_hash == content_hash
    )
