"""The RPC routes of the Dropbox fake (``POST /2/<namespace>/<route>``).

Arguments are decoded and results encoded with the SDK's own route definitions
(``dropbox.files.list_folder`` etc.: arg, result and error validators generated from the
dropbox-api-spec ``.stone`` files), so unknown request fields are ignored exactly as the
server's stone decoder ignores them (``strict=False``: the SDK sends every field, defaults
included, e.g. ``"include_restorable_info": false``) and responses have the exact shapes the
SDK parses. Behaviour cites files.stone / users.stone / auth.stone of dropbox/dropbox-api-spec
(the reference behind www.dropbox.com/developers/documentation/http/documentation), the SDK
docstrings generated from them, and dropbox.md.

Modelled: ``users/get_current_account``, ``users/get_space_usage``, ``files/list_folder``
(+ ``/continue``, ``/get_latest_cursor``, ``/longpoll``), ``files/list_revisions``,
``files/restore``, ``files/get_metadata``, ``auth/token/revoke``, and the content reads of
:mod:`~trashscan_dropbox.sandbox.content` (``files/get_thumbnail_v2``, ``files/get_thumbnail``,
``files/get_thumbnail_batch``, ``files/download``). Every route whose name says
it writes (delete, move, copy, upload, create, ...) is refused with a 400 and recorded in
``refused``; other unmodelled routes get a 400 too and land in ``unmodelled``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dropbox import auth as db_auth
from dropbox import (
    common,
    files,
    stone_serializers,
    team_common,
    team_policies,
    users,
    users_common,
)
from stone.backends.python_rsrc.stone_base import Route
from stone.backends.python_rsrc.stone_validators import ValidationError

from trashscan.sandbox.server import Request, Response, Router
from trashscan_dropbox.sandbox.auth import AuthState, TokenProblem
from trashscan_dropbox.sandbox.content import ContentReads
from trashscan_dropbox.sandbox.model import (
    Account,
    Deletion,
    Namespace,
    Node,
    PathConflict,
    Revision,
    lower,
)
from trashscan_dropbox.sandbox.wire import (
    BadRequest,
    RateLimited,
    RouteError,
    auth_error,
    bad_request,
    download_reply,
    encode,
    json_reply,
    rate_limited,
    route_error,
)

__all__ = ["DEFAULT_LIMIT", "DropboxApi", "RefusedCall", "RestoreRecord"]

DEFAULT_LIMIT = 2000  # list_folder without ``limit``: a full page (the documented maximum)
# A route writes when one of its path components starts with one of these verbs
# ("files/delete_v2", "files/upload_session/start", "sharing/add_folder_member"); reads such as
# "files/get_file_lock_batch" or "files/download" do not match.
_WRITE_VERB = re.compile(
    r"(^|/)(delete|permanently|move|copy|upload|create|save|remove|update|add|overwrite|lock|"
    r"unlock|revoke|relinquish|unshare|share|transfer|archive|set|mount|unmount|change|"
    r"suspend|wipe|restore)(_|/|$)"
)


@dataclass(frozen=True)
class RefusedCall:
    """A write call the sandbox refused; tests assert this stays empty for read-only flows."""

    route: str
    account: str | None  # None when the token did not resolve
    at: datetime
    arg: Any


@dataclass(frozen=True)
class RestoreRecord:
    """One restore the fake performed (or answered ``in_progress`` for)."""

    account: str
    path: str
    rev: str
    new_rev: str | None
    at: datetime


@dataclass
class _Cursor:
    """What a ``list_folder`` cursor stands for. In the snapshot phase (``after`` set or the
    first page) it pages through the folder's current entries in path order; afterwards it
    replays the journal from ``seq``, the position when the listing *started*, so changes made
    while paging are reported again rather than lost."""

    account_id: str
    path: str
    recursive: bool
    include_deleted: bool
    restorable_info: bool
    explicit_members: bool
    limit: int | None
    generation: int
    seq: int
    snapshot: bool
    after: str | None = None


@dataclass(frozen=True)
class _Raw:
    """A result already in wire form (list_folder pages, whose entries are cached per node)."""

    value: Any


@dataclass
class _Spec:
    route: Route
    scope: str | None  # required OAuth scope; None: no auth (longpoll) or any token
    handler: Callable[..., Any]
    auth: bool = True
    # "download": the argument comes in the Dropbox-API-Arg header (or the "arg" URL
    # parameter), the handler returns (result, bytes): bytes as the body, the result JSON in
    # the Dropbox-API-Result header [www.dropbox.com/developers/documentation/http/documentation,
    # "Content-download endpoints"].
    style: str = "rpc"


@dataclass
class _Forced:
    """Faults queued by seams for one account's restores."""

    write_conflicts: list[tuple[str, int]] = field(default_factory=list)  # (style, retry_after)
    in_progress: int = 0


class DropboxApi:
    """Route handlers over the accounts; ``clock`` is the fake's current time."""

    def __init__(
        self,
        accounts: dict[str, Account],
        auth: AuthState,
        clock: Callable[[], datetime],
    ) -> None:
        self.accounts = accounts
        self.auth = auth
        self.clock = clock
        self.refused: list[RefusedCall] = []
        self.unmodelled: list[RefusedCall] = []
        self.restores: list[RestoreRecord] = []
        self.write_latency = 0.0  # seconds a restore holds the account's write lock
        self.write_retry_after = 1  # Retry-After of a too_many_write_operations 429
        self.longpoll_cap: float | None = None  # cap on longpoll waits (tests); None: real
        self._forced: dict[str, _Forced] = {}
        self._lock = threading.Lock()
        self._cursor_key = secrets.token_bytes(16)
        self.content = ContentReads()  # thumbnails and downloads (see .content)
        self._wire: dict[tuple[Any, ...], Any] = {}  # encoded list_folder entries
        self._specs: dict[str, _Spec] = {
            "users/get_current_account": _Spec(
                users.get_current_account, "account_info.read", self._get_current_account
            ),
            "users/get_space_usage": _Spec(
                users.get_space_usage, "account_info.read", self._get_space_usage
            ),
            "files/list_folder": _Spec(files.list_folder, "files.metadata.read", self._list_folder),
            "files/list_folder/continue": _Spec(
                files.list_folder_continue, "files.metadata.read", self._continue
            ),
            "files/list_folder/get_latest_cursor": _Spec(
                files.list_folder_get_latest_cursor, "files.metadata.read", self._latest_cursor
            ),
            "files/list_folder/longpoll": _Spec(
                files.list_folder_longpoll, None, self._longpoll, auth=False
            ),
            "files/list_revisions": _Spec(
                files.list_revisions, "files.metadata.read", self._list_revisions
            ),
            "files/restore": _Spec(files.restore, "files.content.write", self._restore),
            "files/get_metadata": _Spec(
                files.get_metadata, "files.metadata.read", self._get_metadata
            ),
            "auth/token/revoke": _Spec(db_auth.token_revoke, None, self._token_revoke),
            "files/get_thumbnail_v2": _Spec(
                files.get_thumbnail_v2,
                "files.content.read",
                lambda account, arg: self.content.get_thumbnail_v2(account, arg, file_metadata),
                style="download",
            ),
            "files/get_thumbnail": _Spec(
                files.get_thumbnail,
                "files.content.read",
                lambda account, arg: self.content.get_thumbnail(account, arg, file_metadata),
                style="download",
            ),
            "files/get_thumbnail_batch": _Spec(
                files.get_thumbnail_batch,
                "files.content.read",
                lambda account, arg: self.content.get_thumbnail_batch(account, arg, file_metadata),
            ),
            "files/download": _Spec(
                files.download,
                "files.content.read",
                lambda account, arg: self.content.download(account, arg, file_metadata),
                style="download",
            ),
        }

    def register(self, router: Router) -> None:
        router.add("POST", r"/2/(?P<route>[a-z_]+(?:/[a-z0-9_]+)+)", self.handle)

    # -- seams -----------------------------------------------------------------------------------

    def force_write_conflict(
        self, account: str, times: int = 1, *, style: str = "rate_limit", retry_after: int = 1
    ) -> None:
        """Make the next ``times`` restores of ``account`` fail with lock contention.

        ``style="rate_limit"``: HTTP 429 ``RateLimitError(reason=too_many_write_operations)``
        with ``Retry-After`` (data-ingress guide: lock contention is a 429 reason).
        ``style="path_write"``: HTTP 409 ``RestoreError.path_write(too_many_write_operations)``
        (files.stone WriteError: "There are too many write operations in user's Dropbox.
        Please retry this request."). Both exist in the spec; which one restore returns under
        contention is not documented, so clients must handle both."""
        if style not in {"rate_limit", "path_write"}:
            raise ValueError(style)
        with self._lock:
            forced = self._forced.setdefault(account, _Forced())
            forced.write_conflicts.extend([(style, retry_after)] * times)

    def force_restore_in_progress(self, account: str, times: int = 1) -> None:
        """The next ``times`` restores of ``account`` succeed server-side but answer 409
        ``RestoreError.in_progress`` ("The restore is currently executing, but has not yet
        completed"), so the client must confirm with ``get_metadata``."""
        with self._lock:
            self._forced.setdefault(account, _Forced()).in_progress += times

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: Request, match: re.Match[str]) -> Response:
        name = match["route"]
        try:
            return self._handle(name, request)
        except BadRequest as exc:
            return bad_request(f'Error in call to API function "{name}": {exc.message}')
        except RateLimited as exc:
            return rate_limited(exc.reason, exc.retry_after)

    def _handle(self, name: str, request: Request) -> Response:
        spec = self._specs.get(name)
        if spec is None:
            return self._unmodelled(name, request)
        now = self.clock()
        account: Account | None = None
        token_value: str | None = None
        if spec.auth:
            try:
                token = self.auth.check(request.headers.get("Authorization"), now, spec.scope)
            except TokenProblem as problem:
                if not request.headers.get("Authorization"):
                    raise BadRequest(
                        'Must provide HTTP header "Authorization" or URL parameter "authorization".'
                    ) from None
                return auth_error(problem.tag, problem.extra)
            account = self.accounts[token.grant.account]
            token_value = token.value
        if spec.style == "download":
            raw = request.headers.get("Dropbox-API-Arg") or (request.query.get("arg") or [""])[-1]
            if not raw:
                raise BadRequest(
                    'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".'
                )
            arg = self._decode(spec.route, raw.encode("utf-8"))
        else:
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type != "application/json":
                raise BadRequest(
                    f'Bad HTTP "Content-Type" header: "{request.headers.get("Content-Type")}". '
                    'Expecting one of "application/json", "application/json; charset=utf-8", '
                    '"text/plain; charset=dropbox-cors-hack".'
                )
            arg = self._decode(spec.route, request.body)
        if account is not None:
            problem = self._path_root_problem(account, request)
            if problem is not None:
                return problem
        try:
            if name == "auth/token/revoke":
                result = spec.handler(token_value)
            elif spec.auth:
                result = spec.handler(account, arg)
            else:
                result = spec.handler(arg)
        except RouteError as exc:
            return route_error(spec.route.error_type, exc.value)
        if isinstance(result, _Raw):
            return json_reply(result.value)
        if spec.style == "download":
            value, data = result
            return download_reply(encode(spec.route.result_type, value), data)
        return json_reply(encode(spec.route.result_type, result))

    def _decode(self, route: Route, body: bytes) -> Any:
        """The route argument, validated like the server does; unknown fields are ignored."""
        try:
            raw = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"request body: could not decode input as JSON ({exc})") from None
        try:
            return stone_serializers.json_compat_obj_decode(route.arg_type, raw, strict=False)
        except ValidationError as exc:
            raise BadRequest(f"request body: {exc}") from None

    def _path_root_problem(self, account: Account, request: Request) -> Response | None:
        """``Dropbox-API-Path-Root`` [www.dropbox.com/developers/reference/path-root-header-modes]:
        ``home`` and this account's own root namespace work (they are the same here); another
        ``root`` is HTTP 422 ``PathRootError.invalid_root`` carrying the current root info, which
        the SDK raises as ``PathRootError``; another ``namespace_id`` is ``no_permission``."""
        header = request.headers.get("Dropbox-API-Path-Root")
        if not header:
            return None
        try:
            value = stone_serializers.json_compat_obj_decode(
                common.PathRoot_validator, json.loads(header), strict=False
            )
        except (ValueError, ValidationError) as exc:
            raise BadRequest(f'Invalid "Dropbox-API-Path-Root" header: {exc}') from None
        home = str(account.namespace.ns_id)
        if value.is_root() and value.get_root() != home:
            error = common.PathRootError.invalid_root(_root_info(account))
        elif value.is_namespace_id() and value.get_namespace_id() != home:
            error = common.PathRootError.no_permission
        else:
            return None
        body = encode(common.PathRootError_validator, error)
        return json_reply({"error_summary": f"{body['.tag']}/..", "error": body}, 422)

    def _unmodelled(self, name: str, request: Request) -> Response:
        # Upload/download routes carry their argument in the Dropbox-API-Arg header.
        raw = request.headers.get("Dropbox-API-Arg") or request.body
        try:
            arg = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            arg = None
        account = None
        try:
            token = self.auth.check(request.headers.get("Authorization"), self.clock(), None)
            account = token.grant.account
        except TokenProblem:
            pass
        call = RefusedCall(name, account, self.clock(), arg)
        if _WRITE_VERB.search(name):
            with self._lock:
                self.refused.append(call)
            raise BadRequest(
                "the trashscan sandbox refuses destructive calls: it only lists and restores "
                "(refused and recorded in DropboxFake.refused_calls)"
            )
        with self._lock:
            self.unmodelled.append(call)
        raise BadRequest("this route is not modelled by the trashscan sandbox's Dropbox fake")

    # -- users -----------------------------------------------------------------------------------

    def _get_current_account(self, account: Account, arg: None) -> users.FullAccount:
        return full_account(account)

    def _get_space_usage(self, account: Account, arg: None) -> users.SpaceUsage:
        with account.namespace.lock:
            used = account.namespace.used_bytes()
        if account.team_name is not None:
            allocation = users.SpaceAllocation.team(
                users.TeamSpaceAllocation(
                    used=used,
                    allocated=account.allocated,
                    user_within_team_space_allocated=0,
                    user_within_team_space_limit_type=team_common.MemberSpaceLimitType.off,
                    user_within_team_space_used_cached=used,
                )
            )
        else:
            allocation = users.SpaceAllocation.individual(
                users.IndividualSpaceAllocation(allocated=account.allocated)
            )
        return users.SpaceUsage(used=used, allocation=allocation)

    # -- list_folder -----------------------------------------------------------------------------

    def _folder_key(self, account: Account, path: str, error: Callable[[Any], Any]) -> str:
        """The ``path_lower`` of a folder argument ("" for the root); 409 if it is not a live
        folder. The root is "" and "/" is refused like the server refuses it (dropbox.md §1)."""
        ns = account.namespace
        key = self._key(account, path, error)
        if key == "":
            return key
        node = ns.live_node(key)
        if node is None:
            raise RouteError(error(files.LookupError.not_found))
        if not node.is_folder:
            raise RouteError(error(files.LookupError.not_folder))
        return key

    def _key(self, account: Account, path: str, error: Callable[[Any], Any]) -> str:
        """Resolve ``""``, ``/path``, ``id:...`` and ``ns:<id>/path`` to a ``path_lower``."""
        ns = account.namespace
        if path == "/":
            raise BadRequest(
                'request body: path: Specify the root folder as an empty string rather than as "/".'
            )
        if path.startswith("ns:"):
            ns_id, _, rest = path[3:].partition("/")
            if ns_id != str(ns.ns_id):
                raise RouteError(error(files.LookupError.not_found))
            path = "/" + rest if rest else ""
        if path.startswith("id:"):
            key = ns.live_ids.get(path)
            if key is None:
                raise RouteError(error(files.LookupError.not_found))
            return key
        return lower(path.rstrip("/"))

    def _list_folder(self, account: Account, arg: files.ListFolderArg) -> files.ListFolderResult:
        """``list_folder``: live entries, plus tombstones with ``include_deleted`` ("the results
        will include entries for files and folders that used to exist but were deleted"),
        ``limit`` entries a page (UInt32 1..2000, checked by the SDK), a cursor to continue."""
        if arg.shared_link is not None:
            raise BadRequest("shared_link listings are not modelled by the sandbox")
        ns = account.namespace
        with ns.lock:
            key = self._folder_key(account, arg.path, files.ListFolderError.path)
            cursor = _Cursor(
                account.account_id,
                key,
                arg.recursive,
                arg.include_deleted,
                arg.include_restorable_info,
                arg.include_has_explicit_shared_members,
                arg.limit,
                ns.generation,
                ns.seq,
                snapshot=True,
            )
            return self._page(ns, cursor)

    def _latest_cursor(
        self, account: Account, arg: files.ListFolderArg
    ) -> files.ListFolderGetLatestCursorResult:
        ns = account.namespace
        with ns.lock:
            key = self._folder_key(account, arg.path, files.ListFolderError.path)
            cursor = _Cursor(
                account.account_id,
                key,
                arg.recursive,
                arg.include_deleted,
                arg.include_restorable_info,
                arg.include_has_explicit_shared_members,
                arg.limit,
                ns.generation,
                ns.seq,
                snapshot=False,
            )
            return files.ListFolderGetLatestCursorResult(cursor=self._encode_cursor(cursor))

    def _continue(
        self, account: Account, arg: files.ListFolderContinueArg
    ) -> files.ListFolderResult:
        cursor = self._decode_cursor(arg.cursor, account)
        ns = account.namespace
        with ns.lock:
            if cursor.generation != ns.generation:
                raise RouteError(files.ListFolderContinueError.reset)
            if cursor.path and ns.live_node(cursor.path) is None:
                lookup = files.LookupError.not_found
                raise RouteError(files.ListFolderContinueError.path(lookup))
            return self._page(ns, cursor)

    def _longpoll(self, arg: files.ListFolderLongpollArg) -> files.ListFolderLongpollResult:
        """``list_folder/longpoll`` (host notify, no auth): block up to ``timeout`` seconds
        until something changes under the cursor's folder."""
        cursor = self._decode_cursor(arg.cursor, None)
        account = next(
            (a for a in self.accounts.values() if a.account_id == cursor.account_id), None
        )
        if account is None:
            raise BadRequest('Invalid "cursor" parameter: unknown user')
        ns = account.namespace
        wait = float(arg.timeout)
        if self.longpoll_cap is not None:
            wait = min(wait, self.longpoll_cap)
        deadline = time.monotonic() + wait
        with ns.lock:
            while True:
                if cursor.generation != ns.generation:
                    raise RouteError(files.ListFolderLongpollError.reset)
                if cursor.snapshot or self._changed_keys(ns, cursor):
                    return files.ListFolderLongpollResult(changes=True)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return files.ListFolderLongpollResult(changes=False)
                ns.changed.wait(remaining)

    def _page(self, ns: Namespace, cursor: _Cursor) -> _Raw:
        """One ``ListFolderResult``. Entries are encoded with the SDK's ``Metadata`` validator
        and cached per path state, so paging through 50,000 entries stays cheap."""
        limit = cursor.limit or DEFAULT_LIMIT
        entries: list[Any] = []
        has_more = False
        if cursor.snapshot:
            last: str | None = None
            for key in ns.keys_under(cursor.path, cursor.recursive, cursor.after):
                node = ns.nodes[key]
                if not node.live and not cursor.include_deleted:
                    continue
                if len(entries) == limit:
                    has_more = True
                    break
                entries.append(self._entry(node, cursor))
                last = key
            if has_more:
                cursor.after = last
            else:  # the listing is complete: from now on, report changes since it started
                cursor.snapshot, cursor.after = False, None
        else:
            changed = self._changed_keys(ns, cursor)
            entries = [self._entry(ns.nodes[key], cursor) for _, key in changed[:limit]]
            has_more = len(changed) > limit
            cursor.seq = changed[limit - 1][0] if has_more else ns.seq
        return _Raw(
            {"entries": entries, "cursor": self._encode_cursor(cursor), "has_more": has_more}
        )

    def _entry(self, node: Node, cursor: _Cursor) -> Any:
        if not node.live:
            state: tuple[Any, ...] = ("deleted", node.path_display, node.restorable)
        elif node.is_folder:
            state = ("folder", node.path_display, node.id)
        else:
            assert node.revision is not None
            state = ("file", node.revision.rev)
        key = (*state, cursor.restorable_info, cursor.explicit_members)
        cached = self._wire.get(key)
        if cached is None:
            if len(self._wire) > 500_000:
                self._wire.clear()
            value = metadata(node, cursor.restorable_info, cursor.explicit_members)
            cached = self._wire[key] = encode(files.Metadata_validator, value)
        return cached

    @staticmethod
    def _changed_keys(ns: Namespace, cursor: _Cursor) -> list[tuple[int, str]]:
        """Paths in scope changed after ``cursor.seq``, each once, ordered by its *last* change,
        as (that seq, key). Deletions are reported whatever ``include_deleted`` was: the
        documented sync procedure ("For each DeletedMetadata, ... remove it and all its
        children") only works if they are."""
        prefix = cursor.path + "/"
        latest: dict[str, int] = {}
        for offset, key in enumerate(ns.journal[cursor.seq :]):
            if not key.startswith(prefix):
                continue
            if not cursor.recursive and "/" in key[len(prefix) :]:
                continue
            latest[key] = cursor.seq + offset + 1
        return sorted(((seq, key) for key, seq in latest.items()))

    def _encode_cursor(self, cursor: _Cursor) -> str:
        payload = json.dumps(
            [
                cursor.account_id,
                cursor.path,
                cursor.recursive,
                cursor.include_deleted,
                cursor.restorable_info,
                cursor.explicit_members,
                cursor.limit,
                cursor.generation,
                cursor.seq,
                cursor.snapshot,
                cursor.after,
            ],
            separators=(",", ":"),
        ).encode()
        mac = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def _decode_cursor(self, value: str, account: Account | None) -> _Cursor:
        """An opaque cursor back; a forged, garbled or other user's cursor is a 400."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            mac, payload = raw[:12], raw[12:]
            expected = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad cursor signature")
            cursor = _Cursor(*json.loads(payload))
        except (ValueError, TypeError) as exc:
            raise BadRequest(f'Invalid "cursor" parameter: {exc}') from None
        if account is not None and cursor.account_id != account.account_id:
            raise BadRequest('Invalid "cursor" parameter: cursor belongs to another user')
        return cursor

    # -- list_revisions ------------------------------------------------------------------------

    def _list_revisions(
        self, account: Account, arg: files.ListRevisionsArg
    ) -> files.ListRevisionsResult:
        """``list_revisions`` in ``path`` or ``id`` mode (see module model): a folder, live
        or deleted, is ``path/not_file`` ("the only way to tell a folder tombstone from a file
        tombstone", dropbox.md §1); ``before_rev`` only in path mode."""
        ns = account.namespace
        error = files.ListRevisionsError.path
        id_mode = arg.mode.is_id()
        if id_mode and arg.before_rev is not None:
            raise RouteError(files.ListRevisionsError.before_rev_not_supported)
        with ns.lock:
            live_key = ns.live_ids.get(arg.path)
            if live_key is not None and ns.nodes[live_key].is_folder:
                raise RouteError(error(files.LookupError.not_file))
            if arg.path.startswith("id:"):
                revision = ns.latest_revision_of_id(arg.path)
                if revision is None:
                    raise RouteError(error(files.LookupError.not_found))
                key, file_id = revision.path_lower, revision.file_id
            else:
                key = self._key(account, arg.path, error)
                node = ns.node(key)
                if node is None or key == "":
                    raise RouteError(error(files.LookupError.not_found))
                if node.is_folder:
                    raise RouteError(error(files.LookupError.not_file))
                file_id = node.id
            events = ns.id_events[file_id] if id_mode else ns.path_events.get(key, [])
            revisions = [e for e in reversed(events) if isinstance(e, Revision)]
            if arg.before_rev is not None:
                index = next((i for i, r in enumerate(revisions) if r.rev == arg.before_rev), None)
                if index is None:
                    raise RouteError(files.ListRevisionsError.invalid_before_rev)
                revisions = revisions[index + 1 :]
            deletion = _deletion_after(events, revisions[0]) if revisions else None
            entries = [
                file_metadata(r, restorable_info=arg.include_restorable_info)
                for r in revisions[: arg.limit]
            ]
            return files.ListRevisionsResult(
                is_deleted=deletion is not None,
                server_deleted=_naive(deletion.at) if deletion is not None else None,
                entries=entries,
                has_more=len(revisions) > arg.limit,
            )

    # -- restore ---------------------------------------------------------------------------------

    def _restore(self, account: Account, arg: files.RestoreArg) -> files.FileMetadata:
        """``restore``: "Restore a specific revision of a file to the given path"
        [files.stone]. A live file at the path is overwritten (the restored content becomes its
        newest revision), a folder there is ``path_write/conflict/folder``, a file at an
        ancestor ``path_write/conflict/file_ancestor``; an unknown, foreign or unrestorable rev
        is ``invalid_revision`` ("It may not exist or may point to a deleted file"). Missing
        parent folders are re-created. Restores are writes: two at once in one account collide
        on the namespace lock (``too_many_write_operations``, data-ingress guide)."""
        with self._lock:
            forced = self._forced.setdefault(account.name, _Forced())
            conflict = forced.write_conflicts.pop(0) if forced.write_conflicts else None
        if conflict is not None:
            self._write_contention(*conflict)
        if not account.write_lock.acquire(blocking=False):
            self._write_contention("rate_limit", self.write_retry_after)
        try:
            if self.write_latency > 0:
                time.sleep(self.write_latency)
            return self._do_restore(account, arg)
        finally:
            account.write_lock.release()

    @staticmethod
    def _write_contention(style: str, retry_after: int) -> None:
        if style == "rate_limit":
            raise RateLimited("too_many_write_operations", retry_after)
        write_error = files.WriteError.too_many_write_operations
        raise RouteError(files.RestoreError.path_write(write_error))

    def _do_restore(self, account: Account, arg: files.RestoreArg) -> files.FileMetadata:
        ns = account.namespace
        now = self.clock()
        with ns.lock:
            key = self._key(account, arg.path, files.RestoreError.path_lookup)
            if key == "":
                raise RouteError(
                    files.RestoreError.path_write(
                        files.WriteError.conflict(files.WriteConflictError.folder)
                    )
                )
            try:
                revision = ns.restore(arg.path, arg.rev, now)
            except KeyError:
                raise RouteError(files.RestoreError.invalid_revision) from None
            except PathConflict as conflict:
                kind = getattr(files.WriteConflictError, conflict.kind)
                raise RouteError(
                    files.RestoreError.path_write(files.WriteError.conflict(kind))
                ) from None
            with self._lock:
                forced = self._forced.setdefault(account.name, _Forced())
                in_progress = forced.in_progress > 0
                forced.in_progress -= 1 if in_progress else 0
                self.restores.append(
                    RestoreRecord(account.name, arg.path, arg.rev, revision.rev, now)
                )
            if in_progress:
                raise RouteError(files.RestoreError.in_progress)
            return file_metadata(revision)

    # -- get_metadata ----------------------------------------------------------------------------

    def _get_metadata(self, account: Account, arg: files.GetMetadataArg) -> Any:
        """``get_metadata``: a live entry's metadata; a deleted one is ``DeletedMetadata`` only
        with ``include_deleted`` ("otherwise LookupError.not_found will be returned"); the root
        is unsupported ("Metadata for the root folder is unsupported")."""
        ns = account.namespace
        error = files.GetMetadataError.path  # "" never gets here: ReadPath rejects it
        with ns.lock:
            if arg.path.startswith("id:") and arg.path not in ns.live_ids:
                # A deleted file's ID: its last path, unless that path holds something else now.
                revision = ns.latest_revision_of_id(arg.path)
                if revision is None or not arg.include_deleted:
                    raise RouteError(error(files.LookupError.not_found))
                return files.DeletedMetadata(
                    name=revision.name,
                    path_lower=revision.path_lower,
                    path_display=revision.path_display,
                )
            key = self._key(account, arg.path, error)
            node = ns.node(key)
            if node is None or key == "":
                raise RouteError(error(files.LookupError.not_found))
            if not node.live and not arg.include_deleted:
                raise RouteError(error(files.LookupError.not_found))
            return metadata(node, False, arg.include_has_explicit_shared_members, in_listing=False)

    # -- auth ------------------------------------------------------------------------------------

    def _token_revoke(self, token_value: str | None) -> None:
        if token_value is not None:
            self.auth.revoke_token(token_value)


# -- metadata builders ---------------------------------------------------------------------------


def _naive(at: datetime) -> datetime:
    """Stone timestamps are naive UTC with whole seconds (``%Y-%m-%dT%H:%M:%SZ``)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None, microsecond=0)


def _deletion_after(events: list[Any], revision: Revision) -> Deletion | None:
    """The deletion (or move away) right after ``revision`` in a history, if that is what
    followed it: "is_deleted: If the file identified by the latest revision in the response is
    either deleted or moved" [files.stone ListRevisionsResult]."""
    index = next(i for i, event in enumerate(events) if event is revision)
    for event in events[index + 1 :]:
        return event if isinstance(event, Deletion) else None
    return None


def file_metadata(
    revision: Revision, *, restorable_info: bool = False, explicit_members: bool = False
) -> files.FileMetadata:
    """A revision as ``FileMetadata`` (no ``sharing_info``: nothing in the fake is shared)."""
    value = files.FileMetadata(
        name=revision.name,
        id=revision.file_id,
        client_modified=_naive(revision.client_modified),
        server_modified=_naive(revision.server_modified),
        rev=revision.rev,
        size=revision.size,
        path_lower=revision.path_lower,
        path_display=revision.path_display,
        is_downloadable=True,
        content_hash=revision.content_hash,
    )
    if explicit_members:
        value.has_explicit_shared_members = False
    if restorable_info:
        value.is_restorable = revision.restorable
    return value


def metadata(
    node: Node, restorable_info: bool, explicit_members: bool, *, in_listing: bool = True
) -> files.Metadata:
    """A path's entry: ``FileMetadata``/``FolderMetadata`` when live, ``DeletedMetadata``
    (name and paths only: "no timestamp, no id, no rev, no size", dropbox.md §1) when not.
    ``is_restorable`` is set on deleted entries only when the listing asked for
    ``include_restorable_info`` ("each returned deleted entry will include whether that
    entry can be restored" [files.stone ListFolderArg])."""
    if not node.live:
        deleted = files.DeletedMetadata(
            name=node.name, path_lower=node.path_lower, path_display=node.path_display
        )
        if restorable_info and in_listing:
            deleted.is_restorable = node.restorable
        return deleted
    if node.is_folder:
        return files.FolderMetadata(
            name=node.name, id=node.id, path_lower=node.path_lower, path_display=node.path_display
        )
    assert node.revision is not None
    return file_metadata(node.revision, explicit_members=explicit_members)


def _root_info(account: Account) -> common.UserRootInfo:
    ns = str(account.namespace.ns_id)
    return common.UserRootInfo(root_namespace_id=ns, home_namespace_id=ns)


def full_account(account: Account) -> users.FullAccount:
    """``users/get_current_account``: a ``FullAccount`` [users.stone]."""
    initials = (account.given_name[:1] + account.surname[:1]).upper()
    team = None
    if account.team_name is not None:
        team = users.FullTeam(
            id=account.team_id,
            name=account.team_name,
            sharing_policies=team_policies.TeamSharingPolicies(
                shared_folder_member_policy=team_policies.SharedFolderMemberPolicy.anyone,
                shared_folder_join_policy=team_policies.SharedFolderJoinPolicy.from_anyone,
                shared_link_create_policy=team_policies.SharedLinkCreatePolicy.default_public,
                group_creation_policy=team_policies.GroupCreation.admins_only,
                shared_folder_link_restriction_policy=(
                    team_policies.SharedFolderBlanketLinkRestrictionPolicy.anyone
                ),
                enforce_link_password_policy=team_policies.EnforceLinkPasswordPolicy.optional,
                default_link_expiration_days_policy=(
                    team_policies.DefaultLinkExpirationDaysPolicy.none
                ),
                shared_link_default_permissions_policy=(
                    team_policies.SharedLinkDefaultPermissionsPolicy.default
                ),
            ),
            office_addin_policy=team_policies.OfficeAddInPolicy.disabled,
            top_level_content_policy=team_policies.TopLevelContentPolicy.admin_only,
        )
    return users.FullAccount(
        account_id=account.account_id,
        name=users.Name(
            given_name=account.given_name,
            surname=account.surname,
            familiar_name=account.given_name,
            display_name=account.display_name,
            abbreviated_name=initials,
        ),
        email=account.email,
        email_verified=True,
        disabled=False,
        country=account.country,
        locale=account.locale,
        referral_link=f"https://www.dropbox.com/referrals/{account.account_id[5:17]}?src=global9",
        team=team,
        team_member_id=account.team_member_id,
        is_paired=False,
        account_type=users_common.AccountType(account.account_type),
        root_info=_root_info(account),
    )
