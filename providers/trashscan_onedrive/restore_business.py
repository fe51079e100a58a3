"""Restoring on OneDrive for Business: the site recycle bin's ``restore`` action, in chunks.

``POST {beta}/sites/{site-id}/recycleBin/items/restore {"ids": [...]}`` is in Graph's beta metadata
but has no reference page for sites; the documented twin (SharePoint Embedded containers) answers
``207 Multi-Status`` with the restored items in ``value``. So:

* ``200``: every id of the chunk was restored;
* ``207``: the ids listed in ``value`` (without an ``error``) were restored, the others were not;
* ``403``: the sign-in lacks a permission; the message names it (``Sites.ReadWrite.All`` unless the
  token already holds it). trashscan never retries with a token for another host (the SharePoint
  REST ``RestoreByIds`` fallback): the user should see what is missing;
* a 5xx may or may not have been applied: the read-back decides.

Chunks hold :data:`CHUNK` ids (no maximum is documented; CLI for Microsoft 365 restores 20 per
call). Each id reported restored is verified by asking for it in the recycle bin: 404 means it
left the bin. SharePoint restores to the original location and refuses (rather than overwrites)
when the name is taken there; such an id is reported as not restored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from trashscan.errors import AccountError, AuthError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_onedrive.business import recycle_bin_url
from trashscan_onedrive.client import GraphSession, error_of, permission_refusal

CHUNK = 20
RESTORE_PERMISSION = "Sites.ReadWrite.All"


def restored_ids(response: Any, sent: list[str]) -> tuple[set[str], dict[str, str]]:
    """Ids a 200/207 answer reports restored, and a reason for each id it reports failed."""
    if response.status_code == 200:
        return set(sent), {}
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
            for start in range(0, len(members), CHUNK):
                chunk = members[start : start + CHUNK]
                reported: set[str] = set()
                try:
                    for result in self._chunk(site_id, chunk):
                        reported.add(result.item_id)
                        yield result
                except AuthError:
                    raise
                except AccountError as exc:  # throttled out, or the connection failed
                    for item in chunk:
                        if item.item_id not in reported:
                            yield RestoreResult(item.item_id, RestoreOutcome.FAILED, str(exc))

    def _chunk(self, site_id: str, chunk: list[IndexedItem]) -> Iterator[RestoreResult]:
        ids = [item.restore_handle["id"] for item in chunk]
        url = recycle_bin_url(self.session.settings, site_id, "restore")
        response = self.session.send("POST", url, body={"ids": ids})
        status = response.status_code
        if status in (200, 207):
            done, failed = restored_ids(response, ids)
        elif status >= 500:
            done, failed = set(ids), {}  # maybe applied: the read-back decides
        else:
            detail = self._refusal(response)
            for item in chunk:
                yield RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
            return
        for item in chunk:
            bin_id = item.restore_handle["id"]
            if bin_id in done:
                yield self._verify(site_id, item)
            else:
                reason = failed.get(bin_id) or "OneDrive did not report it restored"
                detail = f"not restored: {reason} (a file of that name may be in the way)"
                yield RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)

    def _refusal(self, response: Any) -> str:
        status = response.status_code
        code, _ = error_of(response)
        if status == 403:
            return permission_refusal(self.session, "the recycle-bin restore", RESTORE_PERMISSION)
        if status == 404:
            return "no longer in the recycle bin (purged, or restored by other means)"
        suffix = f" ({code})" if code else ""
        return f"OneDrive for Business refused the restore: HTTP {status}{suffix}"

    def _verify(self, site_id: str, item: IndexedItem) -> RestoreResult:
        bin_id = item.restore_handle["id"]
        path = item.restore_handle.get("path")
        url = recycle_bin_url(self.session.settings, site_id, quote(bin_id, safe=""))
        response = self.session.send("GET", url)
        if response.status_code == 404:
            return RestoreResult(item.item_id, RestoreOutcome.RESTORED, None, path)
        if response.status_code == 200:
            detail = "OneDrive reported it restored, but it is still in the recycle bin"
        else:
            detail = (
                f"restore sent, but checking the recycle bin failed (HTTP {response.status_code})"
            )
        return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
