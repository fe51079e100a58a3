"""Restoring: untrash every explicitly trashed node on an item's way up, outermost first.

Drive keeps an item in the trash while it, or any folder above it, is trashed (``trashed``:
"either explicitly or from a trashed parent folder" [DISC]). So an item comes back when every
explicitly trashed node from its topmost trashed folder down to the item itself is untrashed
(``files.update {"trashed": false}``):

* trashed with its folder: the folder (the documented way; untrashing a folder restores what was
  trashed with it, google.md §1.4), which brings back the folder's other items too;
* trashed on its own in a folder trashed later: the folder, then the item. What untrashing an
  item under a trashed folder does is not documented (google.md open point 1: it may stay in the
  trash, or land in the root), so no item is untrashed while a folder above it is in the trash.

Because restoring a folder brings back more than was asked for, :func:`plan_notes` says so before
anything is asked ("also restores 2 other items of 'Holiday 2024'"), counting what is in the trash
with that folder, and :func:`restore` reports every item that came back with a folder, so that
the core records those too as restored.

Round trips (issue 16): a batched look (the items and the folders the scan saw above them, up
to the first one not in the trash; one more batch per level only where Drive changed since), one
batch of PATCH per depth of untrash (1, or 2 for a folder trashed after its item), whose answers
(``fields=id,trashed``) are the outcome, and, only when folders were untrashed, a batched listing
of what came back with them. Read back is only what is in doubt (a part that failed without an
answer, an answer without ``trashed``). Everything is batched by 100: 250 photos trashed one by
one cost 3 looks and 3 PATCH batches. Nothing here ever deletes: Drive keys files by id, so an
untrash cannot overwrite anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trashscan.errors import AccountError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_google_drive.batch import per_file
from trashscan_google_drive.client import BATCH_LIMIT, DriveApiError, DriveSession
from trashscan_google_drive.scan import (
    FOLDER_MIME,
    MAX_FOLDER_DEPTH,
    NOT_UNTRASHABLE,
    ROOT_ALIAS,
    folder_not_untrashable,
    is_media,
)

CHECK_FIELDS = "id,name,mimeType,parents,driveId,trashed,explicitlyTrashed,capabilities(canUntrash)"
VERIFY_FIELDS = "id,trashed"
CONTENT_FIELDS = "nextPageToken,files(id,name,mimeType,driveId,trashed,explicitlyTrashed)"
PAGE_SIZE = 1000
LISTING = "in:"  # batch key prefix of a folder's listing (file ids never contain ':')
SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")  # what may be quoted into a q string as it is

Node = dict[str, Any]


def _failure(error: AccountError) -> str:
    if isinstance(error, DriveApiError) and error.status == 404:
        return "no longer in Google Drive (purged or deleted for good)"
    return str(error)


def _name(node: Node) -> str:
    return str(node.get("name") or node.get("id"))


def _quoted(nodes: Sequence[Node]) -> str:
    names = [repr(_name(n)) for n in nodes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class Step:
    """One item's restore: the nodes to untrash, outermost first, or its outcome already."""

    item: IndexedItem
    untrash: list[Node] = field(default_factory=list)
    decided: RestoreResult | None = None

    @property
    def folders(self) -> list[Node]:
        """The trashed folders to untrash for it (its own untrash, if any, excluded)."""
        return [n for n in self.untrash if n.get("id") != self.item.item_id]

    @property
    def trashed_itself(self) -> bool:
        return bool(self.untrash) and self.untrash[-1].get("id") == self.item.item_id

    def decide(self, outcome: RestoreOutcome, detail: str | None) -> None:
        self.decided = RestoreResult(self.item.item_id, outcome, detail)


class Lookup:
    """Fresh reads (this restore's own) of the items and of the trashed folders above them."""

    def __init__(self, session: DriveSession) -> None:
        self.session = session
        self.files = session.drive.files()
        self.nodes: dict[str, Node | AccountError] = {}
        self.root_id: str | None = None  # the My Drive root
        self._get = per_file(
            lambda file_id: self.files.get(
                fileId=file_id, fields=CHECK_FIELDS, supportsAllDrives=True
            )
        )
        self.verify = per_file(  # a read-back: is it out of the trash now?
            lambda file_id: self.files.get(
                fileId=file_id, fields=VERIFY_FIELDS, supportsAllDrives=True
            )
        )

    # ------------------------------------------------------------------ reading

    def walk(self, items: Sequence[IndexedItem]) -> list[Step]:
        """Read the items and every folder above them while in the trash; one batch per level,
        the first holding the folders the scan saw (so usually one batch in all)."""
        wanted: list[str] = []
        for item in items:
            wanted.append(item.item_id)
            above = (item.restore_handle or {}).get("above")
            hint = (item.restore_handle or {}).get("untrash")
            wanted += [a for a in above if isinstance(a, str)] if isinstance(above, list) else []
            wanted += [hint] if isinstance(hint, str) else []
        wanted.append(ROOT_ALIAS)  # so that the My Drive root, never trashed, is not walked
        for _ in range(MAX_FOLDER_DEPTH + 1):
            unknown = [i for i in dict.fromkeys(wanted) if i not in self.nodes]
            if not unknown:
                break
            self.nodes.update(self.session.batch(unknown, self._get, "files.get"))
            root = self.nodes.get(ROOT_ALIAS)
            if isinstance(root, dict) and isinstance(root.get("id"), str):
                self.root_id = root["id"]
            wanted = [gap for item in items if (gap := self._trail(item.item_id)[1])]
        return [self._step(item) for item in items]

    def parent(self, node: Node) -> str | None:
        """The parent folder (Drive enforces one), None at a My Drive or shared drive root."""
        parents = node.get("parents") or []
        found = parents[0] if parents and isinstance(parents[0], str) else None
        return None if found in {node.get("driveId"), self.root_id} else found

    def _trail(self, item_id: str) -> tuple[list[Node | AccountError], str | None]:
        """The nodes from the item up while they are in the trash (nearest first; a failed read
        ends it), and the first one above not read yet."""
        trail: list[Node | AccountError] = []
        current: str | None = item_id
        while current is not None and len(trail) <= MAX_FOLDER_DEPTH:
            if current not in self.nodes:
                return trail, current
            node = self.nodes[current]
            if isinstance(node, AccountError) or not node.get("trashed"):
                if isinstance(node, AccountError):
                    trail.append(node)
                break
            trail.append(node)
            current = self.parent(node)
        return trail, None

    def _step(self, item: IndexedItem) -> Step:
        step = Step(item)
        node = self.nodes.get(item.item_id)
        if node is None:
            step.decide(RestoreOutcome.FAILED, "Google Drive gave no answer for it")
            return step
        if isinstance(node, AccountError):
            step.decide(RestoreOutcome.FAILED, _failure(node))
            return step
        if not node.get("trashed"):
            step.decide(RestoreOutcome.ALREADY_RESTORED, "not in the trash any more")
            return step
        if (node.get("capabilities") or {}).get("canUntrash") is False:
            step.decide(RestoreOutcome.SKIPPED, NOT_UNTRASHABLE)
            return step
        trail, _ = self._trail(item.item_id)
        end = trail[-1]
        if isinstance(end, AccountError):  # a folder above could not be read
            below = trail[-2]
            assert not isinstance(below, AccountError)
            if not below.get("explicitlyTrashed"):  # trashed through that folder: stuck
                parent = self.parent(below)
                detail = f"its folder {parent} could not be read: {_failure(end)}"
                step.decide(RestoreOutcome.FAILED, detail)
                return step
            trail = trail[:-1]
        step.untrash = [
            n for n in reversed(trail) if isinstance(n, dict) and n.get("explicitlyTrashed")
        ]
        if not step.untrash:
            detail = "Google Drive shows it in the trash, but neither it nor a folder above it"
            step.decide(RestoreOutcome.FAILED, detail)
            return step
        for folder in step.folders:
            if (folder.get("capabilities") or {}).get("canUntrash") is False:
                step.decide(RestoreOutcome.SKIPPED, folder_not_untrashable(folder))
                return step
        return step

    # ------------------------------------------------------------------ folder contents

    def contents(
        self,
        folders: Iterable[Node],
        trashed: bool,
        reads: Sequence[str] = (),
        fields: str = CHECK_FIELDS,
    ) -> tuple[dict[str, list[Node]], dict[str, Node | AccountError]]:
        """What each folder holds, its subfolders' contents included: with ``trashed`` true,
        what is in the trash only through it (what untrashing it brings back); with false, what
        is out of the trash. One batch per folder level, every page read. The first batch also
        reads the files ``reads`` (their answers are returned), sparing a round trip."""
        found: dict[str, list[Node]] = {}
        level: dict[str, tuple[str, Node]] = {}  # listed folder id -> (top folder id, its node)
        for folder in folders:
            if isinstance(folder.get("id"), str) and SAFE_ID.fullmatch(folder["id"]):
                found[folder["id"]] = []
                level[folder["id"]] = (folder["id"], folder)
        read: dict[str, Node | AccountError] = {}
        extra = list(reads)

        def make(key: str) -> Any:
            if key.startswith(LISTING):
                return self._list(level[key[len(LISTING) :]][1], trashed)
            return self.files.get(fileId=key, fields=fields, supportsAllDrives=True)

        for _ in range(MAX_FOLDER_DEPTH):
            if not level and not extra:
                break
            keys = extra + [LISTING + folder_id for folder_id in level]
            answers = self.session.batch(keys, make, "files.get/list")
            read.update({key: answers[key] for key in extra})
            extra = []
            below: dict[str, tuple[str, Node]] = {}
            for folder_id, (top, folder) in level.items():
                answer = answers[LISTING + folder_id]
                if isinstance(answer, AccountError):
                    if trashed:  # a plan must not undercount what comes back
                        raise answer
                    continue  # a read-back claims only what it saw come back: nothing here
                try:
                    children = list(self._pages(folder, trashed, answer))
                except AccountError:
                    if trashed:
                        raise
                    children = []
                for child in children:
                    if trashed and child.get("explicitlyTrashed"):
                        continue  # trashed on its own: untrashing the folder leaves it there
                    if child.get("mimeType") != FOLDER_MIME:
                        found[top].append(child)
                    elif (
                        isinstance(child.get("id"), str)
                        and SAFE_ID.fullmatch(child["id"])
                        and child["id"] not in found  # listed already, as an untrashed folder
                    ):
                        below[child["id"]] = (top, child)
            level = below
        return found, read

    def _list(self, folder: Node, trashed: bool, page_token: str | None = None) -> Any:
        params: dict[str, Any] = {
            "q": f"'{folder['id']}' in parents and trashed = {'true' if trashed else 'false'}",
            "pageSize": PAGE_SIZE,
            "fields": CONTENT_FIELDS,
            "supportsAllDrives": True,
        }
        if folder.get("driveId"):
            params.update(
                corpora="drive", driveId=folder["driveId"], includeItemsFromAllDrives=True
            )
        else:
            params["corpora"] = "user"
        if page_token:
            params["pageToken"] = page_token
        return self.files.list(**params)

    def _pages(self, folder: Node, trashed: bool, answer: dict[str, Any]) -> Iterator[Node]:
        seen: set[str] = set()
        while True:
            yield from (f for f in answer.get("files") or () if isinstance(f, dict))
            token = answer.get("nextPageToken")
            if not token or token in seen:
                return
            seen.add(token)
            answer = self.session.call(self._list(folder, trashed, token), "files.list")


# ---------------------------------------------------------------------- the plan


def plan_notes(session: DriveSession, items: Sequence[IndexedItem]) -> dict[str, str]:
    """What the plan must say before asking: which folders a restore untrashes, how many other
    items come back with them, and why an item will not be restored. Reads only."""
    lookup = Lookup(session)
    steps = lookup.walk(items)
    chosen = {item.item_id for item in items}
    folders = {f["id"]: f for s in steps if s.decided is None for f in s.folders}
    brought = lookup.contents(folders.values(), trashed=True)[0] if folders else {}
    notes: dict[str, str] = {}
    for step in steps:
        if step.decided is not None:
            if step.decided.outcome is not RestoreOutcome.ALREADY_RESTORED:
                notes[step.item.item_id] = f"will not be restored: {step.decided.detail}"
            continue
        if not step.folders:
            continue
        names = _quoted(step.folders)
        others = {c["id"] for f in step.folders for c in brought.get(f["id"], ()) if c.get("id")}
        others -= chosen
        plural = "folders" if len(step.folders) > 1 else "folder"
        count = f"{len(others)} other item{'s' if len(others) != 1 else ''}"
        also = f", which also restores {count} of {names}" if others else ""
        if step.trashed_itself:
            note = (
                f"its {plural} {names} went to the trash after it: restoring it untrashes "
                f"that {plural} too{also}"
            )
        else:
            note = f"restored by untrashing its {plural} {names}{also}"
        notes[step.item.item_id] = note
    return notes


# ---------------------------------------------------------------------- the restore

# What one PATCH (or read-back) says of a node: whether it is in the trash now (None: unknown),
# and, when unknown, why.
Verdict = tuple[bool | None, str | None]


def restore(session: DriveSession, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
    """Untrash, depth by depth, in batches of 100; each PATCH answer is the outcome.

    files.update answers with the updated file: "If successful, the response body contains an
    instance of File" [DOC developers.google.com/drive/api/reference/rest/v3/files/update], with
    the fields asked ("fields: Selector specifying which fields to include in a partial
    response" [DISC]), so ``fields=id,trashed`` tells whether the node left the trash. Read
    back (batched) is only what is in doubt: a part that failed with no answer (a 5xx, a lost
    connection, throttled past the retries: Drive may have applied it), an answer without
    ``trashed``, and an item that came back through a folder but is not in that folder's
    listing. The result of an item untrashed itself is yielded as soon as its batch answers."""
    lookup = Lookup(session)
    steps = lookup.walk(items)
    for step in steps:
        if step.decided is not None:
            yield step.decided
    live = [s for s in steps if s.decided is None]
    files = session.drive.files()

    untrash = per_file(
        lambda file_id: files.update(
            fileId=file_id, body={"trashed": False}, supportsAllDrives=True, fields=VERIFY_FIELDS
        )
    )

    out: dict[str, Node] = {}  # the nodes Drive answered are out of the trash
    depth = 0
    while any(len(s.untrash) > depth for s in live):
        nodes: dict[str, Node] = {}
        waiting: dict[str, list[int]] = {}  # node id -> the live steps (indexes) it untrashes
        for index, step in enumerate(live):
            if len(step.untrash) > depth:
                node = step.untrash[depth]
                nodes.setdefault(node["id"], node)
                waiting.setdefault(node["id"], []).append(index)
        order = list(nodes)
        for start in range(0, len(order), BATCH_LIMIT):  # a batch at a time: results stream
            chunk = order[start : start + BATCH_LIMIT]
            verdicts = _verdicts(session, lookup, session.batch(chunk, untrash, "files.update"))
            out.update({i: nodes[i] for i in chunk if verdicts[i][0] is False})
            for index in sorted(i for node_id in chunk for i in waiting[node_id]):
                step = live[index]
                if step.decided is not None:
                    continue
                node = step.untrash[depth]
                trashed, why = verdicts[node["id"]]
                if trashed is False:
                    if depth == len(step.untrash) - 1 and step.trashed_itself:
                        step.decided = _restored(step)  # its own answer says so
                        yield step.decided
                    continue
                itself = node["id"] == step.item.item_id
                if trashed and itself:
                    why = "Google Drive still shows it in the trash after the restore"
                elif trashed:  # the item is not untrashed under a folder still in the trash
                    why = f"its folder {_name(node)!r} is still in the trash after the restore"
                elif not itself:
                    why = f"its folder {_name(node)!r} could not be restored: {why}"
                step.decide(RestoreOutcome.FAILED, why)
                yield step.decided
        live = [s for s in live if s.decided is None]
        depth += 1

    yield from _came_back(session, lookup, live, out, {i.item_id for i in items})


def _verdicts(
    session: DriveSession, lookup: Lookup, answers: dict[str, Node | AccountError]
) -> dict[str, Verdict]:
    """Each PATCH answer's verdict; the parts in doubt are read back, in one batch."""
    verdicts: dict[str, Verdict] = {}
    doubt: dict[str, str] = {}  # id -> what is known of it so far
    for node_id, answer in answers.items():
        if isinstance(answer, dict) and isinstance(answer.get("trashed"), bool):
            verdicts[node_id] = (answer["trashed"], None)
        elif isinstance(answer, DriveApiError) and answer.status < 500:
            verdicts[node_id] = (None, _failure(answer))  # refused: nothing was changed
        elif isinstance(answer, AccountError):  # no answer: it may have been applied
            doubt[node_id] = _failure(answer)
        else:
            doubt[node_id] = ""  # answered, without saying whether it left the trash
    if not doubt:
        return verdicts
    reads = session.batch(doubt, lookup.verify, "files.get")
    for node_id, cause in doubt.items():
        trashed = _trashed(reads.get(node_id))
        if trashed is False:
            verdicts[node_id] = (False, None)
        elif trashed and cause:
            verdicts[node_id] = (None, cause)
        elif trashed:
            verdicts[node_id] = (True, None)
        else:
            read = reads.get(node_id)
            failed = _failure(read) if isinstance(read, AccountError) else "no answer"
            sent = (
                f"{cause}; the restore may have been applied" if cause else "the restore was sent"
            )
            verdicts[node_id] = (None, f"{sent}, but reading it back failed: {failed}")
    return verdicts


def _restored(step: Step) -> RestoreResult:
    item_id = step.item.item_id
    if not step.folders:
        return RestoreResult(item_id, RestoreOutcome.RESTORED, None)
    names = ", ".join(_name(f) for f in step.folders)
    plural = "folders" if len(step.folders) > 1 else "folder"
    detail = (
        f"restored, and its {plural} {names} (trashed after it) too"
        if step.trashed_itself
        else f"restored with its {plural} {names}"
    )
    return RestoreResult(item_id, RestoreOutcome.RESTORED, detail)


def _came_back(
    session: DriveSession,
    lookup: Lookup,
    live: list[Step],
    out: dict[str, Node],
    asked: set[str],
) -> Iterator[RestoreResult]:
    """What came back with the untrashed folders: the items trashed through them (every node
    of their chain answered out of the trash) and the folders' other photos, from a batched
    listing of what is out of the trash in them (one batch per level of subfolders). An item
    the listings do not show is read back."""
    folders = [n for n in out.values() if n.get("mimeType") == FOLDER_MIME]
    came_back = lookup.contents(folders, trashed=False)[0] if folders else {}
    seen = {c.get("id") for children in came_back.values() for c in children}
    unseen = [s for s in live if s.item.item_id not in seen]
    reads = session.batch([s.item.item_id for s in unseen], lookup.verify, "files.get")
    for step in live:
        answer = reads.get(step.item.item_id) if step in unseen else {"trashed": False}
        if isinstance(answer, AccountError) or answer is None:
            why = _failure(answer) if answer is not None else "no answer"
            detail = f"restore sent, but reading it back failed: {why}"
            yield RestoreResult(step.item.item_id, RestoreOutcome.FAILED, detail)
        elif answer.get("trashed") is not False:
            detail = "Google Drive still shows it in the trash after the restore"
            yield RestoreResult(step.item.item_id, RestoreOutcome.FAILED, detail)
        else:
            yield _restored(step)
    # What came back with the folders: reported, so that the index records it as restored.
    for folder in folders:
        for child in came_back.get(folder["id"], ()):
            child_id = child.get("id")
            if (
                isinstance(child_id, str)
                and child_id not in asked
                and is_media(child.get("mimeType"))
            ):
                asked.add(child_id)
                detail = f"restored with its folder {_name(folder)}"
                yield RestoreResult(child_id, RestoreOutcome.RESTORED, detail)


def _trashed(answer: Node | AccountError | None) -> bool | None:
    """A read-back's ``trashed``, None when the read failed."""
    if isinstance(answer, dict) and isinstance(answer.get("trashed"), bool):
        return answer["trashed"]
    return None
