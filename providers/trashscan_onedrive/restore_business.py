"""Restoring on OneDrive for Business: the site recycle bin's ``restore`` action, in chunks.

``POST {beta}/sites/{site-id}/recycleBin/items/restore {"ids": [...]}`` is in Graph's beta metadata
but has no reference page for sites; the documented twin (SharePoint Embedded containers) answers
``207 Multi-Status`` with the restored items in ``value``. The answer is trusted:

* an id named in ``value`` (its recycleBinItem, without an ``error``), in a 200 or a 207: restored.
  That is the cloud's own word on that item, so its result is handed on as soon as its chunk is
  answered, before the next chunk is sent: a mass restore shows its progress (and the index
  records it) chunk by chunk, not all at the end;
* ``200`` without naming an id (public scripts have seen 200s that echo only some ids): restored,
  as the status says, but the one listing below checks it (an answer that does not name an item
  is not that item's word);
* ``207``: an id it does not name (or names with an ``error``) was not restored;
* ``403``: the sign-in lacks a permission; the message names it (``Sites.ReadWrite.All`` unless the
  token already holds it). trashscan never retries with a token for another host (the SharePoint
  REST ``RestoreByIds`` fallback): the user should see what is missing;
* a 5xx (or a request that failed on the way) may or may not have been applied.

Chunks hold :data:`CHUNK` ids (no maximum is documented; CLI for Microsoft 365 restores 20 per
call). What the answers leave open is settled with documented calls only, never the undocumented
``GET .../recycleBin/items/{id}`` (a server may refuse it with 400): **one listing of the recycle
bin per restore batch** (recyclebin-list-items; pages of ``$top`` 1,000, as the scan asks),
however many ids, then, for each id not reported restored, a read of its original path and, if
need be, of its original folder (driveitem-get, ``/sites/{site-id}/drive/root:/{path}``):

* out of the bin and a file at its place: ``already_restored`` (by another run racing this one,
  or by hand); unless that file was created after the deletion: a newer file, not this one;
* out of the bin and nothing at its place: purged (or restored and moved since);
* still in the bin and a file at its place: the name is taken. SharePoint restores only to the
  original place and, as far as the answer shows, left it in the bin (it did not replace the file
  in the way); nothing is renamed here either (that is personal OneDrive's behaviour only);
* still in the bin and its folder missing: the folder is gone, or in the recycle bin itself (the
  listing shows a folder entry of that name and place): restore that folder first. trashscan does
  not restore it on its own: a folder entry brings back everything deleted with it, which the bin
  does not list.

Whatever is in doubt waits for that listing, taken once after the last chunk (when the bin is at its
smallest): no round trip is added for progress. With nothing in doubt, there is no listing. An id a
200 implied restored that the listing still shows is reported failed: the answer and the bin
disagree, and only a look at the bin can tell. If the listing fails, the answer alone decides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from trashscan.errors import AccountError, AuthError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan.pagination import PageGuard
from trashscan_onedrive.business import BIN_TOP, recycle_bin_url
from trashscan_onedrive.client import GraphSession, error_of, json_of, permission_refusal, query
from trashscan_onedrive.times import parse_iso

CHUNK = 20
RESTORE_PERMISSION = "Sites.ReadWrite.All"
LIST_SELECT = "id,name,deletedFromLocation"
PATH_SELECT = "id,name,createdDateTime"
# What the restore call said about an id: named in the answer as restored (final), restored
# by the status only (a 200 not naming it: the listing checks it), not restored, or unknown.
NAMED, RESTORED, NOT_RESTORED, UNKNOWN = "named", "restored", "not restored", "unknown"


def restored_ids(response: Any) -> tuple[set[str], dict[str, str]]:
    """Ids a 200/207 answer names as restored, and a reason for each id it names as failed."""
    try:
        values = response.json().get("value")
    except (ValueError, AttributeError):
        values = None
    done: set[str] = set()
    failed: dict[str, str] = {}
    for entry in values if isinstance(values, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        error = entry.get("error")
        if error:
            message = (
                error.get("message") or error.get("code") if isinstance(error, dict) else error
            )
            failed[entry["id"]] = str(message)[:200]
        else:
            done.add(entry["id"])
    return done, failed


@dataclass(frozen=True, slots=True)
class Answer:
    """What the restore call said about one item: restored, not restored, or unknown (why)."""

    item: IndexedItem
    verdict: str
    said: str | None = None  # OneDrive's own reason, or what went wrong with the call

    @property
    def bin_id(self) -> str:
        return self.item.restore_handle["id"]


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing of the recycle bin: entry ids, and the places of its entries (folders too)."""

    ids: frozenset[str]
    locations: dict[str, str]  # entry id -> deletedFromLocation, stripped of slashes
    places: frozenset[str]  # "location/name" of every entry: a folder entry's own location


def _location(value: object) -> str:
    return value.strip("/") if isinstance(value, str) else ""


class BusinessRestorer:
    def __init__(self, session: GraphSession) -> None:
        self.session = session

    def restore(self, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        by_site: dict[str, list[IndexedItem]] = {}
        for item in items:
            handle = item.restore_handle or {}
            if not isinstance(handle.get("site_id"), str) or not isinstance(handle.get("id"), str):
                detail = "no restore information recorded; scan the account again"
                yield RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
                continue
            by_site.setdefault(handle["site_id"], []).append(item)
        for site_id, members in by_site.items():
            yield from SiteRestore(self.session, site_id).run(members)


class SiteRestore:
    """One batch of restores on one site: the restore calls, one bin listing, the why of each."""

    def __init__(self, session: GraphSession, site_id: str) -> None:
        self.session = session
        self.site_id = site_id

    def run(self, members: list[IndexedItem]) -> Iterator[RestoreResult]:
        """Each chunk's settled results are yielded before the next chunk is sent (the caller
        records them meanwhile); what a chunk's answer leaves in doubt waits for the listing."""
        answers: list[Answer] = []  # in doubt: settled after the last chunk
        for start in range(0, len(members), CHUNK):
            chunk = members[start : start + CHUNK]
            try:
                answered = self._post(chunk)
            except AuthError:
                raise
            except AccountError as exc:  # throttled out, or the connection failed: maybe applied
                answered = [Answer(item, UNKNOWN, str(exc)) for item in chunk]
            for answer in answered:
                if isinstance(answer, RestoreResult):
                    yield answer
                elif answer.verdict == NAMED:
                    yield _restored(answer.item)
                else:
                    answers.append(answer)
        if not answers:
            return
        try:
            listing: Listing | str = self._list()
        except AuthError:
            raise
        except AccountError as exc:
            listing = str(exc)
        for answer in answers:
            try:
                yield self._outcome(answer, listing)
            except AuthError:
                raise
            except AccountError as exc:
                yield self._unexplained(answer, f"checking its original place failed: {exc}")

    # ------------------------------------------------------------------ the restore call

    def _post(self, chunk: list[IndexedItem]) -> list[Answer | RestoreResult]:
        ids = [item.restore_handle["id"] for item in chunk]
        url = recycle_bin_url(self.session.settings, self.site_id, "restore")
        response = self.session.send("POST", url, body={"ids": ids})
        status = response.status_code
        if status in (200, 207):
            named, failed = restored_ids(response)
            answers: list[Answer | RestoreResult] = []
            for item in chunk:
                bin_id = item.restore_handle["id"]
                if bin_id in named:
                    answers.append(Answer(item, NAMED))
                elif status == 200 and bin_id not in failed:
                    answers.append(Answer(item, RESTORED))
                else:
                    answers.append(Answer(item, NOT_RESTORED, failed.get(bin_id)))
            return answers
        if status >= 500:
            said = f"OneDrive answered HTTP {status}"
            return [Answer(item, UNKNOWN, said) for item in chunk]
        detail = self._refusal(response)
        return [RestoreResult(item.item_id, RestoreOutcome.FAILED, detail) for item in chunk]

    def _refusal(self, response: Any) -> str:
        status = response.status_code
        code, _ = error_of(response)
        if status == 403:
            return permission_refusal(self.session, "the recycle-bin restore", RESTORE_PERMISSION)
        if status == 404:
            return "no longer in the recycle bin (purged, or restored by other means)"
        suffix = f" ({code})" if code else ""
        return f"OneDrive for Business refused the restore: HTTP {status}{suffix}"

    # ------------------------------------------------------------------ documented look-ups

    def _list(self) -> Listing:
        """The whole recycle bin, once (the documented list call, followed to its end), the
        largest page asked (``$top``, :data:`~trashscan_onedrive.business.BIN_TOP`), and asked
        again without it when the first page is refused with 400, as the scan does."""
        what = f"listing the recycle bin of site {self.site_id}"
        plain = recycle_bin_url(self.session.settings, self.site_id)
        url: str | None = plain + "?" + query({"$select": LIST_SELECT, "$top": BIN_TOP})
        guard = PageGuard("OneDrive's recycle bin", "next link")
        guard.start(url)
        ids: set[str] = set()
        locations: dict[str, str] = {}
        places: set[str] = set()
        first = True
        while url:
            response = self.session.send("GET", url)
            if first and response.status_code == 400 and "top" in url:
                url = plain + "?" + query({"$select": LIST_SELECT})
                guard.start(url)
                first = False
                continue
            first = False
            data = json_of(self.session.check(response, what), what)
            for entry in data.get("value") or ():
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    continue
                location = _location(entry.get("deletedFromLocation"))
                ids.add(entry["id"])
                locations[entry["id"]] = location
                if isinstance(entry.get("name"), str):
                    places.add(f"{location}/{entry['name']}".strip("/"))
            link = data.get("@odata.nextLink")
            url = link if isinstance(link, str) and link else None
            if url is not None:
                guard.follow(url)
        return Listing(frozenset(ids), locations, frozenset(places))

    def _read(self, path: str) -> dict[str, Any] | None:
        """The live item at ``path`` in the site's drive, or None (404)."""
        site = quote(self.site_id, safe=",")
        url = self.session.settings.v1(f"sites/{site}/drive/root:{quote(path, safe='/')}")
        response = self.session.send("GET", url + "?" + query({"$select": PATH_SELECT}))
        if response.status_code == 404:
            return None
        self.session.check(response, f"reading {path}")
        return json_of(response, f"reading {path}")

    # ------------------------------------------------------------------ the outcome of one id

    def _outcome(self, answer: Answer, listing: Listing | str) -> RestoreResult:
        item = answer.item
        path = item.restore_handle.get("path")
        path = path if isinstance(path, str) and path.startswith("/") else None
        if isinstance(listing, str):  # no listing: the answer alone decides
            if answer.verdict == RESTORED:
                return _restored(item)
            return self._unexplained(answer, f"listing the recycle bin failed: {listing}")
        in_bin = answer.bin_id in listing.ids
        if answer.verdict == RESTORED:
            if not in_bin:
                return _restored(item)
            detail = (
                "OneDrive answered that it restored it, but its recycle bin still lists it: "
                "look there, and restore it by hand if it is still in the bin"
            )
            return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
        if path is None:
            return self._unexplained(answer, "its original path is not known")
        if not in_bin:
            return self._left_the_bin(answer, path)
        return self._still_in_bin(answer, path, listing)

    def _left_the_bin(self, answer: Answer, path: str) -> RestoreResult:
        item = answer.item
        found = self._read(path)
        if found is None:
            detail = (
                "no longer in the recycle bin, and not at its original place: purged, or "
                "restored and moved since"
            )
            return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
        created = parse_iso(found.get("createdDateTime"))
        if _newer(created, item.deleted_at):
            detail = (
                f"no longer in the recycle bin; the file now at {path} is a newer one (created "
                "after the deletion): the deleted one was purged, or restored and moved"
            )
            return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
        if answer.verdict == UNKNOWN:  # our call went through after all
            detail = f"{answer.said}, but it left the recycle bin and is back at its original place"
            return RestoreResult(item.item_id, RestoreOutcome.RESTORED, detail, path)
        detail = "no longer in the recycle bin, and back at its original place"
        return RestoreResult(item.item_id, RestoreOutcome.ALREADY_RESTORED, detail, path)

    def _still_in_bin(self, answer: Answer, path: str, listing: Listing) -> RestoreResult:
        pure = PurePosixPath(path)
        folder = str(pure.parent)
        said = f" (OneDrive said: {answer.said})" if answer.said else ""
        if answer.verdict == UNKNOWN:
            why = f"{answer.said}; it is still in the recycle bin"
        elif self._read(path) is not None:
            why = (
                f"a file named {pure.name} is in the way at its original place {folder}, and "
                "OneDrive for Business restores only to the original place: move or rename that "
                "file, then restore again"
            )
        elif folder != "/" and self._read(folder) is None:
            binned = _binned_folder(folder, listing.locations.get(answer.bin_id, ""), listing)
            if binned is not None:
                why = (
                    f"its original folder {binned} is in the recycle bin: restore that folder "
                    "first, then this item"
                )
            else:
                why = (
                    f"its original folder {folder} is no longer there (deleted for good, moved "
                    "or renamed), and OneDrive for Business restores only to the original place: "
                    "restore it by hand from the OneDrive recycle bin"
                )
        else:
            why = "OneDrive gave no reason (its folder is there and its name is free); try again"
        detail = f"not restored: {why}{said if answer.verdict != UNKNOWN else ''}"
        return RestoreResult(answer.item.item_id, RestoreOutcome.FAILED, detail)

    @staticmethod
    def _unexplained(answer: Answer, why: str) -> RestoreResult:
        if answer.verdict == RESTORED:  # the documented answer said so: trusted
            return _restored(answer.item)
        said = answer.said or "OneDrive did not report it restored"
        detail = f"not restored: {said}; {why}"
        return RestoreResult(answer.item.item_id, RestoreOutcome.FAILED, detail)


def _restored(item: IndexedItem) -> RestoreResult:
    """Restored, at its original place (the only place OneDrive for Business restores to)."""
    path = item.restore_handle.get("path")
    path = path if isinstance(path, str) and path.startswith("/") else None
    return RestoreResult(item.item_id, RestoreOutcome.RESTORED, None, path)


def _newer(created: datetime | None, deleted_at: datetime | None) -> bool:
    """Whether a file was created after the deletion (so it is not the deleted one)."""
    if created is None or deleted_at is None:
        return False
    if deleted_at.tzinfo is None or created.tzinfo is None:
        created, deleted_at = created.replace(tzinfo=None), deleted_at.replace(tzinfo=None)
    return created > deleted_at


def _binned_folder(folder: str, location: str, listing: Listing) -> str | None:
    """The top-most folder on the way to ``folder`` that the recycle bin holds, if any.

    ``location`` is the item's ``deletedFromLocation`` (the server-relative form of ``folder``):
    a folder deleted as a whole is an entry whose location plus name is one of its prefixes."""
    shown = [part for part in folder.split("/") if part]
    parts = [part for part in location.split("/") if part]
    found = None
    for up in range(len(shown)):  # 0: the folder itself, then its parents
        if len(parts) - up <= 0:
            break
        if "/".join(parts[: len(parts) - up]) in listing.places:
            found = "/" + "/".join(shown[: len(shown) - up])
    return found
