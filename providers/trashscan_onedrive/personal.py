"""OneDrive personal: enrolment (a full delta pass into the mirror), then only the delta.

No Graph endpoint lists a personal recycle bin. The delta feed reports items deleted *after* a
stored cursor, with a ``deleted`` facet and no time. So:

* The first scan enrols: ``GET /me/drive/root/delta`` page by page (``@odata.nextLink``) into the
  mirror, ending with an ``@odata.deltaLink``. Nothing deleted can be seen yet, so it reports no
  items; items deleted before enrolment can never be found.
* Each later scan follows the stored delta link. A photo or video that comes back with the
  ``deleted`` facet and is in the mirror becomes a trash item; a deleted folder takes every photo
  the mirror holds below it (the feed may report the folder alone). An item that is live again
  (restored elsewhere) goes to ``Page.removed``.
* Deletion time: the feed says only "since the cursor". The previous scan's start time is the
  earliest plausible deletion (less :data:`~trashscan.provider.CLOCK_MARGIN`, against a skewed
  clock), so it is stored (source ``changes``) and the purge date, 30 days later, is the earliest
  plausible purge: an estimate. This scan is the latest the deletion can have been.
* OneDrive purges sooner, after 3 days at the least, when the recycle bin exceeds 10% of the
  storage (:mod:`.quota`). A scan with photos deleted in the last 30 days reads the quota once;
  while the bin is over (or close to) the threshold, the earliest plausible purge is 3 days after
  the earliest plausible deletion. When it gets there, the photos reported before are reported
  again with that date (the index keeps the earlier of two estimates), and a notice says why,
  once. When the bin shrinks again, those dates stay: OneDrive may have started purging, and
  nothing shows which items it spared; only deletions seen from then on get 30 days again.
* ``410 Gone`` (the cursor is too old, or the service needs a resync) restarts a full pass from the
  ``Location`` Graph gives; the result is compared with the mirror, and photos that vanished are
  reported as deleted since the previous scan.

``$select`` keeps pages small; it must name ``deleted``, or Graph strips the facet. ``$top`` asks
the largest page. A 410's ``Location`` is a fresh enumeration whose URL need not carry the refused
request's options (the one observed in OneDrive/onedrive-api-docs#249 holds a token alone), so
both are added to it again (:func:`resync_url`): a resync of 20,000 items then takes 21 pages of
1,000, not 101 of the default 200.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from trashscan.errors import AccountError
from trashscan.kinds import guess_mime_type
from trashscan.models import Account, DeletedAtSource, Page, ScanOutcome, TrashItem
from trashscan.pagination import PageGuard
from trashscan.provider import CLOCK_MARGIN
from trashscan_onedrive.client import GraphSession, error_of, json_of, query
from trashscan_onedrive.mirror import Entry, Gone, Mirror
from trashscan_onedrive.quota import SHORT_DAYS, read_bin_share
from trashscan_onedrive.times import iso, parse_iso

log = logging.getLogger(__name__)

DELTA_SELECT = "id,name,size,eTag,file,folder,package,root,parentReference,deleted,remoteItem"
DELTA_TOP = 1000  # the largest page OneDrive serves (not in Graph's reference; see README)
MIRROR_VERSION = 1
RETENTION_DAYS = 30
FORGET_AFTER = timedelta(days=93)  # mirror rows of deletions older than any retention
SHORT_KEY = "short_purge"  # scan state: the last quota read put the bin over (or near) 10%


class Resync(Exception):
    """Graph answered 410: the cursor is void; ``location`` restarts the enumeration."""

    def __init__(self, location: str | None, code: str | None) -> None:
        super().__init__(code or "410 Gone")
        self.location = location


def delta_url(session: GraphSession) -> str:
    base = session.settings.v1("me/drive/root/delta")
    return base + "?" + query({"$select": DELTA_SELECT, "$top": DELTA_TOP})


def resync_url(session: GraphSession, location: str | None) -> str:
    """Where a resync starts: Graph's ``Location`` (its token, if any, kept), with the delta
    options it lacks; without a ``Location``, the drive's delta from scratch."""
    if not location:
        return delta_url(session)
    parts = urlsplit(location)
    asked = {key.lstrip("$").lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    options = {"$select": DELTA_SELECT, "$top": DELTA_TOP}
    missing = {key: value for key, value in options.items() if key[1:] not in asked}
    if not missing:
        return location
    joined = "&".join(part for part in (parts.query, query(missing)) if part)
    return urlunsplit(parts._replace(query=joined))


def entry_of(raw: Any, session: GraphSession) -> Entry | None:
    """A delta record as the mirror wants it; None for what the mirror never tracks."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    if raw.get("remoteItem") is not None:
        return None  # a shortcut to someone else's drive: not this drive's to restore
    name = raw.get("name") if isinstance(raw.get("name"), str) else ""
    parent = raw.get("parentReference") if isinstance(raw.get("parentReference"), dict) else {}
    parent_id = parent.get("id") if isinstance(parent.get("id"), str) else None
    is_root = raw.get("root") is not None
    folder = is_root or raw.get("folder") is not None or raw.get("package") is not None
    file = raw.get("file") if isinstance(raw.get("file"), dict) else None
    mime = file.get("mimeType") if file and isinstance(file.get("mimeType"), str) else None
    size = raw.get("size") if isinstance(raw.get("size"), int) else None
    etag = raw.get("eTag") if isinstance(raw.get("eTag"), str) else None
    hashes = file.get("hashes") if file and isinstance(file.get("hashes"), dict) else {}
    return Entry(
        id=raw["id"],
        name="" if is_root else name,
        parent_id=None if is_root else parent_id,
        folder=folder,
        media=file is not None and not folder and session.settings.is_media(name, mime),
        deleted=raw.get("deleted") is not None,
        size=size,
        mime=mime,
        etag=etag,
        hash=content_hash(hashes),
    )


def content_hash(hashes: dict[str, Any]) -> str | None:
    """The file facet's hash as "algorithm:value": sha256 or sha1 (hex, which other providers'
    hashes can match), else quickXorHash (base64) [DOC hashes resource]."""
    for key, name in (("sha256Hash", "sha256"), ("sha1Hash", "sha1")):
        value = hashes.get(key)
        if isinstance(value, str) and value:
            return f"{name}:{value.lower()}"
    quick = hashes.get("quickXorHash")
    return f"quickxor:{quick}" if isinstance(quick, str) and quick else None


def valid_state(state: object, mirror: Mirror) -> dict[str, Any] | None:
    """The previous state if it matches this mirror; otherwise the account must enrol again."""
    if not isinstance(state, dict) or state.get("drive_type") != "personal":
        return None
    if state.get("mirror_version") != MIRROR_VERSION or not isinstance(
        state.get("delta_link"), str
    ):
        return None
    if parse_iso(state.get("scanned_at")) is None:
        return None
    if state.get("mirror_id") != mirror.mirror_id or mirror.enrolled_at is None:
        log.warning("OneDrive mirror missing or replaced: enrolling the account again")
        return None
    return state


class PersonalScan:
    def __init__(
        self, session: GraphSession, mirror: Mirror, account: Account, now: datetime
    ) -> None:
        self.session = session
        self.mirror = mirror
        self.account = account
        self.now = now
        self.days = account.retention_days or RETENTION_DAYS
        self.keep = timedelta(days=self.days)  # from the earliest deletion to the earliest purge
        self.short: bool | None = None  # the bin's state as last read (None: never read)
        self.notices: list[str] = []

    def run(self, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        previous = valid_state(state, self.mirror)
        if previous is not None and isinstance(previous.get(SHORT_KEY), bool):
            self.short = previous[SHORT_KEY]
        if previous is None:
            link = yield from self._full(delta_url(self.session), compare=False, since=None)
            return self._outcome(
                link,
                notice="enrolled: OneDrive cannot list its recycle bin, so only deletions from "
                "now on are seen; restore older ones at https://onedrive.live.com/?v=recyclebin",
            )
        since = parse_iso(previous["scanned_at"])
        assert since is not None  # checked by valid_state
        try:
            link = yield from self._follow(previous["delta_link"], since)
        except Resync as why:
            log.warning(
                "%s: OneDrive needs a full resync (%s): listing the whole drive again and "
                "comparing it with the mirror",
                self.account.name,
                why,
            )
            start = resync_url(self.session, why.location)
            link = yield from self._full(start, compare=True, since=since)
            return self._outcome(link, notice=f"OneDrive asked for a full resync ({why})")
        return self._outcome(link)

    def _outcome(self, link: str, notice: str | None = None) -> ScanOutcome:
        state: dict[str, Any] = {
            "drive_type": "personal",
            "delta_link": link,
            "mirror_version": MIRROR_VERSION,
            "mirror_id": self.mirror.mirror_id,
            "scanned_at": iso(self.now),
        }
        if self.short is not None:
            state[SHORT_KEY] = self.short
        said = "; ".join(n for n in (notice, *self.notices) if n) or None
        return ScanOutcome(state, complete_listing=False, notice=said)

    # ------------------------------------------------------------------ reading the feed

    def _page(self, url: str) -> dict[str, Any]:
        response = self.session.send("GET", url)
        if response.status_code == 410:
            code, _ = error_of(response)
            location = response.headers.get("Location")
            raise Resync(urljoin(url, location) if location else None, code)
        self.session.check(response, "the drive's delta feed")
        return json_of(response, "the drive's delta feed")

    def _entries(self, data: dict[str, Any]) -> Iterable[Entry]:
        for raw in data.get("value") or ():
            entry = entry_of(raw, self.session)
            if entry is not None:
                yield entry

    def _walk(self, url: str) -> Generator[Page, None, str]:
        """Apply every page from ``url`` to the mirror; return the new delta link."""
        guard = PageGuard("OneDrive's delta feed", "next link")
        guard.start(url)  # a next link back to the stored delta link is a loop too
        while True:
            data = self._page(url)
            # The page's mirror changes commit once the core has committed what left the trash.
            with self.mirror.transaction():
                back = self.mirror.apply(self._entries(data))
                if back:
                    yield Page(removed=back)
            next_link, delta_link = data.get("@odata.nextLink"), data.get("@odata.deltaLink")
            if isinstance(next_link, str) and next_link:
                guard.follow(next_link)
                url = next_link
            elif isinstance(delta_link, str) and delta_link:
                return delta_link
            else:
                raise AccountError("OneDrive's delta feed ended without a next or delta link")

    def _full(
        self, start: str, *, compare: bool, since: datetime | None
    ) -> Generator[Page, None, str]:
        if compare:
            self.mirror.start_resync()
        else:
            self.mirror.start_enrolment()
            log.info("%s: enrolling: reading the whole drive once", self.account.name)
        try:
            link = yield from self._walk(start)
        except Resync as why:
            raise AccountError(
                f"OneDrive refused the full listing of the drive ({why}); the next scan tries again"
            ) from None
        self.mirror.finish_full_pass(iso(self.now), compare)
        if compare and since is not None:
            yield from self._report(since)
        return link

    def _follow(self, link: str, since: datetime) -> Generator[Page, None, str]:
        new_link = yield from self._walk(link)
        yield from self._report(since)
        return new_link

    # ------------------------------------------------------------------ reporting

    def _report(self, since: datetime) -> Generator[Page, None, None]:
        """Pending deletions as trash items, dated at the previous scan, then settled.

        A chunk is settled after its ``yield``, i.e. once the core has committed it (the core
        resumes a scan only then); until then it stays pending, and is reported again.
        """
        when = iso(since)
        self.mirror.expand_pending()
        yield from self._check_bin()
        for chunk in self.mirror.pending_media():
            yield Page(items=[self._item(gone, since) for gone in chunk])
            self.mirror.settle(chunk, when)
        self.mirror.settle_rest(when)
        self.mirror.prune(iso(self.now - FORGET_AFTER))

    def _check_bin(self) -> Generator[Page, None, None]:
        """Read the quota (once, only with recently deleted photos) and apply the 10% rule.

        When the bin gets over (or near) 10% of the storage, the photos already reported are
        reported again with the earlier purge date. They are settled rows, so this is safe to
        redo: a scan that fails before its end leaves the previous state, and the next one
        reports them again. Rows settled more than the retention ago are left out: their
        earliest plausible purge has passed whatever the rule.
        """
        recent = iso(self.now - timedelta(days=self.days))
        if not self.mirror.has_deleted_media(recent):
            return
        share = read_bin_share(self.session)
        was_short, self.short = self.short is True, share.short
        if not share.short:
            return
        self.keep = timedelta(days=min(SHORT_DAYS, self.days))
        if was_short:
            return
        self.notices.append(share.notice())
        for chunk in self.mirror.settled_media(recent):
            items = []
            for gone, deleted_at in chunk:
                since = parse_iso(deleted_at)
                if since is not None:
                    items.append(self._item(gone, since))
            if items:
                yield Page(items=items)

    def _item(self, gone: Gone, since: datetime) -> TrashItem:
        handle: dict[str, Any] = {"id": gone.id, "parent_id": gone.parent_id, "name": gone.name}
        if gone.via_id is not None:
            handle.update(
                folder_id=gone.via_id,
                folder_name=gone.via_name,
                folder_parent_id=gone.via_parent_id,
            )
        return TrashItem(
            item_id=gone.id,
            name=gone.name,
            path=gone.path,
            mime_type=gone.mime or guess_mime_type(gone.name),
            size=gone.size,
            deleted_at=since,
            deleted_at_source=DeletedAtSource.CHANGES,
            deleted_after=since - CLOCK_MARGIN,
            purge_at=since - CLOCK_MARGIN + self.keep,
            purge_latest=self.now + CLOCK_MARGIN + timedelta(days=self.days),
            purge_is_estimate=True,
            restore_handle=handle,
            content_hash=gone.hash,
            version=gone.etag,
        )
