"""OneDrive personal's 10% rule: a recycle bin over 10% of the storage may be purged after 3 days.

OneDrive personal keeps a deleted item "for at least three days and a maximum of 30 days": 30
while the recycle bin is under 10% of the total storage, less once it "gets large enough to
exceed 10%" (onedrive.md §3: Microsoft's support text as quoted by third parties; which items go
first, and when, is not said). Graph states both sides on the drive's ``quota`` facet
[resources/quota.md]: ``deleted``, "Total space consumed by files in the recycle bin, in bytes",
and ``total``, "Total allowed storage space, in bytes" (on personal drives, the storage shared
across Microsoft services). One ``GET /me/drive?$select=quota`` reads them.

The rule is judged with a margin: a bin at 9% of the storage or more counts as over. The bin is
read once per scan, and it grows between two scans by whatever the person deletes; the 10% comes
from a paraphrase, not a specification (is it checked on these very byte counts, at once?). One
point below the threshold (a tenth of it) catches a bin that is about to cross it, at the cost of
early dates for a bin that stays at 9.x%, which the notice explains. A quota Graph does not state
counts as over too: the only purge date known to be never later than the real one is 3 days.
"""

from __future__ import annotations

from dataclasses import dataclass

from trashscan_onedrive.client import GraphSession, query

SHORT_DAYS = 3  # the least OneDrive keeps an item in the recycle bin
THRESHOLD_PERCENT = 10  # the bin's share of the storage over which items may go after 3 days
MARGIN_PERCENT = 1  # taken as over from 9% (see the module docstring)
QUOTA_SELECT = "quota"


def quota_url(session: GraphSession) -> str:
    return session.settings.v1("me/drive") + "?" + query({"$select": QUOTA_SELECT})


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True, slots=True)
class BinShare:
    """The recycle bin's size against the storage, as Graph stated them (None: not stated)."""

    deleted: int | None
    total: int | None

    def _sizes(self) -> tuple[int, int] | None:
        if self.deleted is None or self.total is None or self.total <= 0:
            return None
        return self.deleted, self.total

    @property
    def known(self) -> bool:
        return self._sizes() is not None

    @property
    def over(self) -> bool:
        """Over the threshold itself (``deleted`` exceeds 10% of ``total``)."""
        sizes = self._sizes()
        return sizes is not None and sizes[0] * 100 > sizes[1] * THRESHOLD_PERCENT

    @property
    def short(self) -> bool:
        """Items may be purged after 3 days: over, within the margin of it, or not known."""
        sizes = self._sizes()
        if sizes is None:
            return True
        return sizes[0] * 100 >= sizes[1] * (THRESHOLD_PERCENT - MARGIN_PERCENT)

    def percent(self) -> str:
        """The share, rounded down to a tenth of a percent (9.96% is never shown as 10.0%)."""
        sizes = self._sizes()
        if sizes is None:
            return "unknown"
        tenths = sizes[0] * 1000 // sizes[1]
        return f"{tenths // 10}.{tenths % 10}%"

    def notice(self) -> str:
        """Why purge dates are now 3 days after deletion, for the scan's one-line notice."""
        then = f"purge dates are now {SHORT_DAYS} days after deletion; restore what you need"
        if not self.known:
            return (
                "OneDrive did not state the sizes of the recycle bin and of your storage (quota), "
                f"and may purge items after {SHORT_DAYS} days when the bin exceeds "
                f"{THRESHOLD_PERCENT}% of the storage: {then}"
            )
        if self.over:
            return (
                f"the recycle bin is over {THRESHOLD_PERCENT}% of your storage: OneDrive may purge "
                f"items after {SHORT_DAYS} days (the bin is {self.percent()} of it); {then}"
            )
        return (
            f"the recycle bin is {self.percent()} of your storage, close to the "
            f"{THRESHOLD_PERCENT}% over which OneDrive may purge items after {SHORT_DAYS} days: "
            f"{then}"
        )


def read_bin_share(session: GraphSession) -> BinShare:
    """One ``GET /me/drive?$select=quota``; fields missing or of the wrong type are not stated."""
    data = session.get_json(quota_url(session), "reading your drive's quota (/me/drive)")
    quota = data.get("quota") if isinstance(data.get("quota"), dict) else {}
    return BinShare(_size(quota.get("deleted")), _size(quota.get("total")))
