"""Drive Activity API v2: ``POST /v2/activity:query`` over the fake's activity log.

Request and response shapes follow the driveactivity v2 discovery document [DISC-A]:
``QueryDriveActivityRequest`` {ancestorName | itemName, filter, pageSize, pageToken,
consolidationStrategy} and ``QueryDriveActivityResponse`` {activities, nextPageToken}; each
``DriveActivity`` has ``primaryActionDetail``, ``actors``, ``actions``, ``targets`` and
``timestamp``. ``Delete.type`` is ``TRASH`` or ``PERMANENT_DELETE``, ``Restore.type`` is
``UNTRASH``, and the auto-purge of the trash is a ``SystemEvent`` of type ``TRASH_AUTO_PURGE``.

The filter grammar is the one ``QueryDriveActivityRequest.filter`` documents: expressions
``field operator value`` joined by an optional ``AND``; ``time`` with ``< <= = > >=`` on epoch
milliseconds or a quoted RFC 3339 date; ``detail.action_detail_case`` with ``:`` and one value
or a parenthesised, space-separated list; a leading ``-`` excludes.

An activity targets the item acted on only: trashing a folder is one activity on the folder, not
one per child (Drive records the user's action). Activities are returned newest first. Errors use
the google.rpc shape (this is a One Platform API, unlike Drive v3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trashscan.sandbox.server import Request, Response, Router
from trashscan_google_drive.sandbox.auth import ACTIVITY_SERVICE, AuthState
from trashscan_google_drive.sandbox.model import (
    FOLDER_MIME,
    ActivityEvent,
    DriveState,
    parse_rfc3339,
    rfc3339,
)
from trashscan_google_drive.sandbox.wire import ApiError, PageToken, json_reply, rpc_error

__all__ = ["ActivityApi", "FilterError", "parse_activity_filter"]

DEFAULT_PAGE_SIZE = 50  # [DISC-A] pageSize: "If not set, a default value is used."

# kind -> the ActionDetail case it appears under
_DETAIL_CASE = {
    "create": "CREATE",
    "trash": "DELETE",
    "purge": "DELETE",
    "untrash": "RESTORE",
    "rename": "RENAME",
    "move": "MOVE",
}
_CASES = frozenset(
    {
        "CREATE", "EDIT", "MOVE", "RENAME", "DELETE", "RESTORE", "PERMISSION_CHANGE", "COMMENT",
        "DLP_CHANGE", "REFERENCE", "SETTINGS_CHANGE", "APPLIED_LABEL_CHANGE",
    }
)  # fmt: skip


class FilterError(ValueError):
    """The ``filter`` string does not follow the documented grammar."""


@dataclass(frozen=True)
class _Clause:
    negated: bool
    field: str  # "time" or "detail.action_detail_case"
    op: str
    values: tuple[Any, ...]

    def matches(self, event: ActivityEvent) -> bool:
        if self.field == "time":
            ops: dict[str, Callable[[int, int], bool]] = {
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
                "=": lambda a, b: a == b,
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
            }
            result = ops[self.op](_millis(event.time), self.values[0])
        else:
            result = _DETAIL_CASE[event.kind] in self.values
        return result != self.negated


_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?\s*
    (?:
        (?P<time>time)\s*(?P<op><=|>=|<|>|=)\s*(?:(?P<ms>\d+)|"(?P<date>[^"]+)")
      | detail\.action_detail_case\s*:\s*(?:\((?P<list>[A-Z_\s]+)\)|(?P<one>[A-Z_]+))
    )\s*""",
    re.VERBOSE,
)


_JOINER = re.compile(r"\s*(?:AND\b\s*)?")


def _millis(moment: datetime) -> int:
    """Compare at millisecond precision, the resolution of the ``time`` filter's numbers."""
    return int(moment.timestamp() * 1000)


def parse_activity_filter(text: str | None) -> list[_Clause]:
    """Parse a ``filter``; every clause must hold (clauses are ANDed)."""
    clauses: list[_Clause] = []
    if not text or not text.strip():
        return clauses
    pos = 0
    while pos < len(text):
        if clauses:
            joiner = _JOINER.match(text, pos)  # "AND" is optional, so this always matches
            pos = joiner.end() if joiner else pos
        match = _CLAUSE.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(text[pos:])
        pos = match.end()
        negated = match["neg"] is not None
        if match["time"]:
            if match["ms"]:
                moment = datetime.fromtimestamp(int(match["ms"]) / 1000, UTC)
            else:
                try:
                    moment = parse_rfc3339(match["date"])
                except ValueError as exc:
                    raise FilterError(match["date"]) from exc
            clauses.append(_Clause(negated, "time", match["op"], (_millis(moment),)))
        else:
            values = tuple((match["list"] or match["one"]).split())
            if not values or any(v not in _CASES for v in values):
                raise FilterError(text)
            clauses.append(_Clause(negated, "detail.action_detail_case", ":", values))
    return clauses


def _invalid_argument() -> ApiError:
    return ApiError(rpc_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))


class ActivityApi:
    """The ``activity.query`` method over :class:`DriveState`'s activity log."""

    def __init__(self, state: DriveState, auth: AuthState, clock: Callable[[], datetime]) -> None:
        self.state = state
        self.auth = auth
        self.clock = clock

    def register(self, router: Router) -> None:
        router.add("POST", r"/v2/activity:query", self.query)

    def query(self, request: Request, match: object) -> Response:
        now = self.clock()
        try:
            token = self.auth.authorize(
                request, now, ACTIVITY_SERVICE, "driveactivity.activity.query"
            )
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                raise _invalid_argument() from None
            if not isinstance(body, dict):
                raise _invalid_argument()
            with self.state.lock:
                self.state.auto_purge(now)
                return self._answer(token.email, body)
        except ApiError as exc:
            return exc.response

    def _answer(self, email: str, body: dict[str, Any]) -> Response:
        ancestor, item = body.get("ancestorName"), body.get("itemName")
        if ancestor is not None and item is not None:
            raise _invalid_argument()  # the two are alternatives [DISC-A]
        try:
            clauses = parse_activity_filter(body.get("filter"))
        except FilterError:
            raise _invalid_argument() from None
        page_size = body.get("pageSize") or DEFAULT_PAGE_SIZE
        if not isinstance(page_size, int) or page_size < 0:
            raise _invalid_argument()
        target = self._item_id(email, ancestor or item)
        member_of = {d.id for d in self.state.member_drives(email)}
        events = [
            e
            for e in self.state.activities
            if (e.owner == email if e.drive_id is None else e.drive_id in member_of)
            and (target is None or e.file_id == target or (ancestor and target in e.ancestors))
            and all(c.matches(e) for c in clauses)
        ]
        events.sort(key=lambda e: e.time, reverse=True)  # newest first
        fingerprint = PageToken.fingerprint(email, ancestor, item, body.get("filter"))
        try:
            offset = PageToken.decode(body.get("pageToken") or None, fingerprint)
        except ApiError:
            raise _invalid_argument() from None
        page = events[offset : offset + page_size]
        out: dict[str, Any] = {"activities": [self._render(e, email) for e in page]}
        if offset + page_size < len(events):
            out["nextPageToken"] = PageToken.encode(offset + page_size, fingerprint)
        return json_reply(out)

    def _item_id(self, email: str, name: object) -> str | None:
        if name is None:
            return None
        if not isinstance(name, str) or not name.startswith("items/") or len(name) <= 6:
            raise _invalid_argument()
        item_id = name.removeprefix("items/")
        # "root" is accepted as the caller's My Drive root, as in google.md §1.5(a).
        return self.state.roots.get(email, item_id) if item_id == "root" else item_id

    def _person(self, email: str | None, viewer: str) -> dict[str, Any]:
        person = self.state.people.get(email or "")
        if person is None:
            return {"user": {"unknownUser": {}}}
        return {
            "user": {
                "knownUser": {"personName": person.person_name, "isCurrentUser": email == viewer}
            }
        }

    def _render(self, event: ActivityEvent, viewer: str) -> dict[str, Any]:
        detail: dict[str, Any]
        if event.kind == "create":
            is_blob = not event.mime_type.startswith("application/vnd.google-apps.")
            detail = {"create": {"upload": {}}} if is_blob else {"create": {"new": {}}}
        elif event.kind == "trash":
            detail = {"delete": {"type": "TRASH"}}
        elif event.kind == "purge":
            detail = {"delete": {"type": "PERMANENT_DELETE"}}
        elif event.kind == "untrash":
            detail = {"restore": {"type": "UNTRASH"}}
        elif event.kind == "rename":
            detail = {"rename": {"oldTitle": event.old_title, "newTitle": event.title}}
        else:
            detail = {
                "move": {
                    "addedParents": [{"driveItem": self._reference(event.added_parent)}],
                    "removedParents": [{"driveItem": self._reference(event.removed_parent)}],
                }
            }
        actor = (
            {"system": {"type": "TRASH_AUTO_PURGE"}}
            if event.actor is None
            else self._person(event.actor, viewer)
        )
        drive_item: dict[str, Any] = {
            "name": f"items/{event.file_id}",
            "title": event.title,
            "mimeType": event.mime_type,
        }
        if event.drive_id is not None:
            drive = self.state.drives.get(event.drive_id)
            title = drive.name if drive else ""
            drive_item["owner"] = {"drive": {"name": f"drives/{event.drive_id}", "title": title}}
        else:
            drive_item["owner"] = self._person(event.owner, viewer)
        if event.mime_type == FOLDER_MIME:
            drive_item["driveFolder"] = {"type": "STANDARD_FOLDER"}
        else:
            drive_item["driveFile"] = {}
        return {
            "primaryActionDetail": detail,
            "actors": [actor],
            "actions": [{"detail": detail}],
            "targets": [{"driveItem": drive_item}],
            "timestamp": rfc3339(event.time),
        }

    def _reference(self, item_id: str | None) -> dict[str, Any]:
        item = self.state.files.get(item_id or "")
        reference: dict[str, Any] = {"name": f"items/{item_id}"}
        if item is not None:
            reference["title"] = item.name
            reference["driveFolder"] = {
                "type": "MY_DRIVE_ROOT" if item.is_root and not item.drive_id else
                "SHARED_DRIVE_ROOT" if item.is_root else "STANDARD_FOLDER"
            }  # fmt: skip
        return reference
