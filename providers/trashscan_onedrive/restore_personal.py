"""Restoring on OneDrive personal: ``POST /me/drive/items/{id}/restore``, never over anything.

The restore action puts an item back at its original place under its original name, or under the
folder named in ``parentReference`` [driveitem-restore]. Graph documents no conflict behaviour for
it, so each restore first looks, by id, deleted items included (``includeDeletedItems=true``,
documented for OneDrive personal "when targeting a driveItem by ID" [driveitem-get]):

* Every photo of the batch is looked at before anything is restored: live means it is back
  already (``already_restored``); otherwise its ``parentReference`` names its folder.
* Its folder, and the folders above it, are looked at the same way. A live folder is where it
  goes. A folder **in the recycle bin** (deleted after the photo, or with it) is restored first,
  top-down, so that the photo comes back where it was; the plan says so before asking, since a
  folder brings back whatever was deleted with it. Only a folder **gone for good** (404 even with
  deleted items included) sends the photo (or the top-most restorable folder) to the drive's root
  folder, named in ``parentReference``, and the plan and the result say so.
* A photo deleted *with* a folder comes back with it; one deleted before its folder is then
  restored into the restored folder. Since every photo was looked at first, which one a folder
  brought back does not depend on the order of the refs.
* Is the name free in the target folder? ``GET items/{parent}:/{name}``: 404 means free.
  Otherwise the item is restored as ``name (restored).ext`` (then ``(restored 2)``, ...), reported
  as a resolved conflict. Nothing is ever overwritten; a name taken between the check and the
  restore makes Graph refuse it (409), and the item is skipped with that reason.

Every restore is verified: the restore's 200 answer is the restored driveItem [driveitem-restore];
when it names the item, live (no ``deleted`` facet) with its folder's path, it is the outcome;
otherwise the photo is read back, and must be live.

Looking at the photos before restoring (and for the plan) are reads that do not depend on each
other: up to 20 go in one ``POST /v1.0/$batch`` (Graph's JSON batching [json-batching]; see
:meth:`~trashscan_onedrive.client.GraphSession.get_many`: answers paired by id, each part's
status read as the direct call's, a throttled part asked again after its ``Retry-After``), the
first batch alone (it signs in), then :data:`BATCH_WORKERS` batches at a time. Restores are
writes, one at a time, each sent directly (a restore's place depends on the answers before it).
While one is in flight, the names of the next photos (up to 20, one batch) are checked in their
folders, each when its folder is known to be there (reads). Such an answer is used only if no
restore of this run went to that folder under that name since the check began (names compared
ignoring case, as OneDrive does); otherwise the name is checked again. So a mass restore into
existing folders costs about one round trip per photo on its critical path, the restore itself,
and 1.15 in all (a look for the plan and one for the restore, and a name check, each a twentieth
of a batch).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from trashscan.errors import AccountError, AuthError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_onedrive.client import (
    BATCH_MAX,
    GraphSession,
    error_of,
    json_of,
    permission_refusal,
    query,
)

MAX_SIBLINGS = 20  # names probed before giving up on a free one
MAX_DEPTH = 64  # folders looked at above a photo; a cycle would be the server's bug
VERIFY_SELECT = "id,name,parentReference,deleted"
RESTORE_PERMISSION = "Files.ReadWrite.All"
LIVE, BINNED, GONE = "live", "in the recycle bin", "gone"
BATCH_WORKERS = 2  # batches of looks in flight at once (reads), after the first


def item_url(session: GraphSession, item_id: str, rest: str = "") -> str:
    """``{graph}v1.0/me/drive/items/{id}[rest]``; ``!`` stays literal in personal ids."""
    return session.settings.v1(f"me/drive/items/{quote(item_id, safe='!')}{rest}")


def sibling(name: str, attempt: int) -> str:
    """``a.jpg`` -> ``a (restored).jpg``, then ``a (restored 2).jpg``, ..."""
    pure = PurePosixPath(name)
    label = "restored" if attempt == 1 else f"restored {attempt}"
    return f"{pure.stem} ({label}){pure.suffix}"


def restored_path(data: dict[str, Any]) -> str | None:
    """``/Pictures/a.jpg`` from ``parentReference.path`` (``/drive/root:/Pictures``) and name."""
    parent = data.get("parentReference") if isinstance(data.get("parentReference"), dict) else {}
    folder, name = parent.get("path"), data.get("name")
    if not isinstance(folder, str) or not isinstance(name, str):
        return None
    inside = folder.split(":", 1)[1] if ":" in folder else ""
    return inside.rstrip("/") + "/" + name


@dataclass(frozen=True, slots=True)
class Look:
    """An item as Graph shows it by id, deleted items included."""

    state: str  # LIVE, BINNED or GONE
    name: str | None = None
    parent_id: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    parent_id: str
    name: str
    moved: bool  # to the root folder: the original folder is gone
    renamed: bool


@dataclass(frozen=True, slots=True)
class FolderRestore:
    """A folder this run restored so that a photo could go back into it."""

    name: str
    restored_as: str
    into_root: bool  # its own folder is gone


@dataclass(frozen=True, slots=True)
class Home:
    """Where a photo goes: a live folder (with the folders restored on the way), or the root."""

    folder_id: str | None  # None: the root folder, the original one being gone
    restored: tuple[FolderRestore, ...] = ()  # top-down


def folder_paths(item: IndexedItem) -> list[str]:
    """The item's folders as the index recorded them, nearest first (``/`` excluded)."""
    if not item.path:
        return []
    return [str(p) for p in PurePosixPath(item.path).parents if str(p) != "/"]


class PersonalRestorer:
    def __init__(self, session: GraphSession) -> None:
        self.session = session
        self._looks: dict[str, Look] = {}
        self._homes: dict[str, Home | AccountError] = {}
        self._visiting: set[str] = set()
        self._root: str | None = None
        self._answer: dict[str, Any] | None = None  # the last restore's 2xx answer
        self._writes: list[tuple[str, str]] = []  # (folder id, name) of every restore sent
        # name checks made ahead, while a restore was in flight, a batch of them at once:
        # (folder id, name) -> (the photo's place in the run, len(_writes) when the check began,
        # the batch's answers: free or not / None: it failed, this check's place in them)
        self._ahead: dict[tuple[str, str], tuple[int, int, Future[list[bool | None]], int]] = {}

    def _looks_of(self, ids: Sequence[str], *, fresh: bool) -> dict[str, Look | AccountError]:
        """Each item as :meth:`_look` sees it (an AccountError for one that failed), up to
        :data:`BATCH_MAX` a batch: the first batch alone, since it may sign in, then
        :data:`BATCH_WORKERS` batches at a time. Unless ``fresh``, a look already made is
        kept."""
        looks: dict[str, Look | AccountError] = {}
        wanted: list[str] = []
        for item_id in dict.fromkeys(ids):
            if not fresh and item_id in self._looks:
                looks[item_id] = self._looks[item_id]
            else:
                wanted.append(item_id)
        groups = [wanted[start : start + BATCH_MAX] for start in range(0, len(wanted), BATCH_MAX)]

        def one(group: list[str]) -> list[Look | AccountError]:
            answers = self.session.get_many([self._look_url(item_id) for item_id in group])
            return [self._look_from(i, a) for i, a in zip(group, answers, strict=True)]

        if groups:
            looks.update(zip(groups[0], one(groups[0]), strict=True))
        if len(groups) > 1:
            with ThreadPoolExecutor(BATCH_WORKERS, thread_name_prefix="onedrive-look") as pool:
                for group, found in zip(groups[1:], pool.map(one, groups[1:]), strict=True):
                    looks.update(zip(group, found, strict=True))
        return looks

    # ------------------------------------------------------------------ the plan (reads only)

    def plan(self, items: Sequence[IndexedItem]) -> dict[str, str]:
        """What the plan must say: a folder restored first, or the root folder instead."""
        notes: dict[str, str] = {}
        planned = [i for i in items if isinstance((i.restore_handle or {}).get("id"), str)]
        self._looks_of([item.item_id for item in planned], fresh=False)  # remembered for below
        for item in planned:
            note = self._plan_note(item)
            if note:
                notes[item.item_id] = note
        return notes

    def _plan_note(self, item: IndexedItem) -> str | None:
        look = self._look(item.item_id)
        if look.state != BINNED:
            return None
        binned: list[str] = []  # nearest first
        gone = False
        folder_id = look.parent_id
        for _ in range(MAX_DEPTH):
            if folder_id is None:
                break
            folder = self._look(folder_id)
            if folder.state == LIVE:
                break
            if folder.state == GONE:
                gone = True
                break
            binned.append(folder.name or folder_id)
            folder_id = folder.parent_id
        shown = folder_paths(item)
        names = [shown[i] if i < len(shown) else name for i, name in enumerate(binned)]
        if not binned:
            if not gone:
                return None
            where = shown[0] if shown else "folder"
            return (
                f"its original folder {where} is gone (deleted for good): it will be restored "
                "into the root folder"
            )
        names.reverse()  # top-down: the order they are restored in
        if len(names) == 1:
            note = (
                f"its folder {names[0]} is in the recycle bin: it is restored first (with "
                "whatever was deleted with it)"
            )
        else:
            note = (
                f"its folders {', '.join(names)} are in the recycle bin: they are restored "
                "first (with whatever was deleted with them)"
            )
        if gone:
            note += f"; the folder that held {names[0]} is gone: it goes into the root folder"
        return note

    # ------------------------------------------------------------------ the restore

    def restore(self, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        todo: list[IndexedItem] = []
        for item in items:
            if not isinstance((item.restore_handle or {}).get("id"), str):
                detail = "no restore information recorded; scan the account again"
                yield RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
            else:
                todo.append(item)
        # every photo as it is before anything is restored
        before = self._looks_of([item.item_id for item in todo], fresh=True)
        with ThreadPoolExecutor(1, thread_name_prefix="onedrive-name") as pool:
            for index, item in enumerate(todo):  # one at a time: restores are writes
                look = before[item.item_id]
                if isinstance(look, AccountError):
                    yield RestoreResult(item.item_id, RestoreOutcome.FAILED, str(look))
                    continue
                if index + 1 < len(todo):
                    self._check_ahead(pool, index + 1, todo, before)
                try:
                    yield self._restore(item, look)
                except AuthError:
                    raise  # the sign-in itself failed: every further item would fail alike
                except AccountError as exc:  # this item only (refused, throttled out)
                    yield RestoreResult(item.item_id, RestoreOutcome.FAILED, str(exc))

    def _check_ahead(
        self,
        pool: ThreadPoolExecutor,
        index: int,
        todo: Sequence[IndexedItem],
        before: Mapping[str, Look | AccountError],
    ) -> None:
        """When the next photo (``todo[index]``) can have its name checked now and is not being
        checked yet, check it, with the names of the photos after it (up to :data:`BATCH_MAX`
        in all, one batch) that can be checked and are not: a photo's name can be checked once
        its folder is known to be there (one in a folder of the recycle bin waits for that
        folder's restore). Checks for photos already restored are dropped."""
        self._ahead = {key: kept for key, kept in self._ahead.items() if kept[0] >= index - 1}
        window: dict[tuple[str, str], int] = {}
        for place in range(index, min(index + BATCH_MAX, len(todo))):
            key = self._ahead_key(todo[place], before[todo[place].item_id])
            if key is not None and key not in self._ahead and key not in window:
                window[key] = place
            elif place == index:
                return  # the next photo's name is being checked already, or cannot be yet
        checks = pool.submit(self._names_free, list(window))
        began = len(self._writes)
        for position, (key, place) in enumerate(window.items()):
            self._ahead[key] = (place, began, checks, position)

    def _ahead_key(self, item: IndexedItem, look: Look | AccountError) -> tuple[str, str] | None:
        """(folder id, name) of a photo whose name can be checked now, else None."""
        if not isinstance(look, Look) or look.state != BINNED or look.parent_id is None:
            return None
        home = self._homes.get(look.parent_id)
        if not isinstance(home, Home) or home.folder_id != look.parent_id or home.restored:
            return None
        return look.parent_id, self._name_of(item, look)

    def _names_free(self, keys: list[tuple[str, str]]) -> list[bool | None]:
        """Whether each name is free in its folder (None: the check failed; it is made again
        when it is needed, and fails then)."""
        try:
            answers = self.session.get_many([self._name_url(p, n) for p, n in keys])
        except AccountError:
            return [None] * len(keys)
        free: list[bool | None] = []
        for answer in answers:
            if isinstance(answer, AccountError):
                free.append(None)
            elif answer.status_code == 404:
                free.append(True)
            else:
                free.append(False if 200 <= answer.status_code < 300 else None)
        return free

    def _checked_ahead(self, parent: str, name: str) -> bool | None:
        """The answer of the name check made ahead for exactly this folder and name, unless a
        restore went there since it began; None when there is none to use."""
        ahead = self._ahead.pop((parent, name), None)
        if ahead is None:
            return None
        _, began, checks, position = ahead
        free = checks.result()[position]
        folded = name.casefold()
        if any(p == parent and n.casefold() == folded for p, n in self._writes[began:]):
            return None
        return free

    def _name_of(self, item: IndexedItem, look: Look) -> str:
        handle = item.restore_handle
        name = look.name or (handle.get("name") if isinstance(handle.get("name"), str) else None)
        return name or item.name

    def _restore(self, item: IndexedItem, look: Look) -> RestoreResult:
        if look.state == LIVE:
            data = look.data or {}
            path = restored_path(data)
            shown = path or str(data.get("name") or item.name)
            detail = f"already back at {shown}"
            return RestoreResult(item.item_id, RestoreOutcome.ALREADY_RESTORED, detail, path)
        handle = item.restore_handle
        name = self._name_of(item, look)
        if look.state == GONE:
            home = self._fallback_home(handle.get("parent_id"))
        else:
            home = self._home(look.parent_id) if look.parent_id else Home(None)
        if home.restored:  # a folder came back: the photo may have come back with it
            data = self._read(item.item_id)
            if data is not None:
                top = home.restored[0].restored_as
                notes = [f"restored with its folder {top}", *_folder_notes(home, skip_top=True)]
                return self._result(item, data, notes, changed=_changed(home))
        place = self._placement(home, name)
        if place is None:
            detail = (
                f"{name} and the next {MAX_SIBLINGS} '(restored)' names are taken; "
                "nothing was overwritten"
            )
            return RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
        sent = self._send(item.item_id, place)
        if isinstance(sent, tuple):
            return RestoreResult(item.item_id, sent[0], sent[1])
        answer = self._answer if sent < 300 else None
        data = answer if _shows_restored(answer, item.item_id) else self._read(item.item_id)
        if data is None:
            detail = "restore sent, but OneDrive does not show it back; scan again"
            return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
        notes = _folder_notes(home)
        if place.renamed:
            notes.append(f"{name} was taken: restored as {place.name}")
        if place.moved:
            notes.append("its original folder is gone: restored into the root folder")
        changed = _changed(home) or place.renamed or place.moved
        return self._result(item, data, notes, changed=changed)

    def _result(
        self, item: IndexedItem, data: dict[str, Any], notes: list[str], *, changed: bool
    ) -> RestoreResult:
        path = restored_path(data)
        shown = path or str(data.get("name") or item.name)
        outcome = RestoreOutcome.CONFLICT_RESOLVED if changed else RestoreOutcome.RESTORED
        # The restored path is reported by the core already; name the place only without one.
        detail = ("; ".join(notes) + ("" if path else f" ({shown})")) if notes else None
        return RestoreResult(item.item_id, outcome, detail, path)

    # ------------------------------------------------------------------ folders

    def _home(self, folder_id: str) -> Home:
        """Make ``folder_id`` live again if it is in the recycle bin (its own folders first);
        the root folder if it is gone for good. Remembered for the run, failures included."""
        known = self._homes.get(folder_id)
        if isinstance(known, AccountError):
            raise known
        if known is not None:
            return known
        if folder_id in self._visiting or len(self._visiting) >= MAX_DEPTH:
            raise AccountError("OneDrive shows no end to the folders above this item")
        self._visiting.add(folder_id)
        try:
            home = self._make_home(folder_id)
        except AuthError:
            raise
        except AccountError as exc:
            self._homes[folder_id] = exc
            raise
        finally:
            self._visiting.discard(folder_id)
        self._homes[folder_id] = home
        return home

    def _fallback_home(self, folder_id: object) -> Home:
        """For a photo Graph does not show even with deleted items included (purged, most
        likely): its recorded folder if live, else the root; never a folder restored for it.
        The restore call then gives the documented answer (404 ``itemNotFound`` if purged)."""
        if isinstance(folder_id, str) and self._look(folder_id).state == LIVE:
            return Home(folder_id)
        return Home(None)

    def _make_home(self, folder_id: str) -> Home:
        look = self._look(folder_id)
        if look.state == LIVE:
            return Home(folder_id)
        if look.state == GONE:
            return Home(None)
        if look.parent_id is None:
            raise AccountError("OneDrive shows a deleted folder without a parent folder")
        above = self._home(look.parent_id)
        if above.restored and self._read(folder_id) is not None:  # it came back with them
            return Home(folder_id, above.restored)
        name = look.name or folder_id
        place = self._placement(above, name)
        if place is None:
            raise AccountError(
                f"its folder {name} is in the recycle bin, but {name} and the next "
                f"{MAX_SIBLINGS} '(restored)' names are taken; nothing was overwritten"
            )
        sent = self._send(folder_id, place)
        if isinstance(sent, tuple):
            raise AccountError(
                f"its folder {name} is in the recycle bin, and restoring it failed: {sent[1]}"
            )
        if sent >= 500 and self._read(folder_id) is None:
            raise AccountError(
                f"its folder {name} is in the recycle bin, and restoring it failed: OneDrive "
                f"answered HTTP {sent}"
            )
        self._looks.pop(folder_id, None)
        restored = FolderRestore(name, place.name, place.moved)
        return Home(folder_id, (*above.restored, restored))

    # ------------------------------------------------------------------ Graph calls

    def _look_url(self, item_id: str) -> str:
        params = {"includeDeletedItems": "true", "$select": VERIFY_SELECT}
        return item_url(self.session, item_id) + "?" + query(params)

    def _look_from(self, item_id: str, answer: Any) -> Look | AccountError:
        """:meth:`_look`'s reading of an answer (a batch part's too), or why it failed."""
        if isinstance(answer, AccountError):
            return answer
        try:
            return self._seen(item_id, answer)
        except AuthError:
            raise
        except AccountError as exc:
            return exc

    def _look(self, item_id: str, *, fresh: bool = False) -> Look:
        """The item by id, deleted items included; remembered for the run unless ``fresh``."""
        if not fresh and item_id in self._looks:
            return self._looks[item_id]
        return self._seen(item_id, self.session.send("GET", self._look_url(item_id)))

    def _seen(self, item_id: str, response: Any) -> Look:
        if response.status_code == 404:
            look = Look(GONE)
        else:
            self.session.check(response, "reading the item")
            data = json_of(response, "reading the item")
            parent = data.get("parentReference")
            parent_id = parent.get("id") if isinstance(parent, dict) else None
            name = data.get("name") if isinstance(data.get("name"), str) else None
            look = Look(
                BINNED if data.get("deleted") is not None else LIVE,
                name,
                parent_id if isinstance(parent_id, str) else None,
                data,
            )
        self._looks[item_id] = look
        return look

    def _read(self, item_id: str) -> dict[str, Any] | None:
        """The live item, or None when Graph does not find it (in the bin, or purged)."""
        url = item_url(self.session, item_id) + "?" + query({"$select": VERIFY_SELECT})
        response = self.session.send("GET", url)
        if response.status_code == 404:
            return None
        self.session.check(response, "reading the item")
        data = json_of(response, "reading the item")
        return None if data.get("deleted") is not None else data

    def _root_id(self) -> str:
        if self._root is None:
            root = self.session.get_json(
                self.session.settings.v1("me/drive/root") + "?" + query({"$select": "id"}),
                "reading the drive's root folder",
            )
            if not isinstance(root.get("id"), str):
                raise AccountError("OneDrive did not say which folder is the drive's root")
            self._root = root["id"]
        return self._root

    def _placement(self, home: Home, name: str) -> Placement | None:
        parent, moved = home.folder_id, False
        if parent is None:
            parent, moved = self._root_id(), True
        for attempt in range(MAX_SIBLINGS + 1):
            candidate = name if attempt == 0 else sibling(name, attempt)
            free = self._checked_ahead(parent, candidate) if attempt == 0 else None
            if free is None:
                free = self._name_free(parent, candidate)
            if free:
                return Placement(parent, candidate, moved, renamed=attempt > 0)
        return None

    def _name_url(self, parent: str, name: str) -> str:
        return item_url(self.session, parent, f":/{quote(name, safe='')}")

    def _name_free(self, parent: str, name: str) -> bool:
        """``GET items/{parent}:/{name}``: 404 means nothing has that name there."""
        response = self.session.send("GET", self._name_url(parent, name))
        if response.status_code == 404:
            return True
        self.session.check(response, "checking whether the name is free")
        return False

    def _send(self, item_id: str, place: Placement) -> tuple[RestoreOutcome, str] | int:
        """POST the restore: its status when it went through (2xx) or may have (5xx: only a
        read-back can tell), else the outcome and why."""
        body: dict[str, Any] = {}
        if place.moved:
            body["parentReference"] = {"id": place.parent_id}
        if place.renamed:
            body["name"] = place.name
        self._answer = None
        self._writes.append((place.parent_id, place.name))
        response = self.session.send("POST", item_url(self.session, item_id, "/restore"), body=body)
        status = response.status_code
        if status < 300:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            self._answer = answer if isinstance(answer, dict) else None
            return status
        code, _ = error_of(response)
        if status == 507 or code in {"quotaLimitReached", "insufficientStorage"}:
            return RestoreOutcome.FAILED, "OneDrive is full: restoring needs free space"
        if status >= 500:
            return status
        if status == 409 and code == "nameAlreadyExists":
            detail = f"{place.name} was taken meanwhile; nothing was overwritten"
            return RestoreOutcome.SKIPPED, detail
        if status == 404:
            return RestoreOutcome.FAILED, "no longer in the OneDrive recycle bin (purged?)"
        if status == 403:
            what = "the restore"
            return RestoreOutcome.FAILED, permission_refusal(self.session, what, RESTORE_PERMISSION)
        suffix = f" ({code})" if code else ""
        return RestoreOutcome.FAILED, f"OneDrive refused the restore: HTTP {status}{suffix}"


def _shows_restored(answer: dict[str, Any] | None, item_id: str) -> bool:
    """Whether a restore's answer settles it: this item, live, in a folder it names."""
    return (
        answer is not None
        and answer.get("id") == item_id
        and answer.get("deleted") is None
        and restored_path(answer) is not None
    )


def _changed(home: Home) -> bool:
    """Whether a folder on the way came back under another name or in the root folder."""
    return any(f.into_root or f.restored_as != f.name for f in home.restored)


def _folder_notes(home: Home, *, skip_top: bool = False) -> list[str]:
    notes: list[str] = []
    for index, folder in enumerate(home.restored):
        if skip_top and index == 0:
            if folder.into_root:
                notes.append(f"{folder.name}'s own folder is gone: it is in the root folder")
            elif folder.restored_as != folder.name:
                notes.append(f"{folder.name} was taken: the folder is {folder.restored_as}")
            continue
        text = f"its folder {folder.name} was in the recycle bin: restored it first"
        if folder.restored_as != folder.name:
            text += f", as {folder.restored_as} ({folder.name} was taken)"
        if folder.into_root:
            text += ", into the root folder (its own folder is gone)"
        notes.append(text)
    return notes
