"""Unit tests of the Google Drive fake's parts: query and fields syntax, activity filters, page
tokens, the trash model, the token endpoint and batch parsing (no server, no client)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest

from trashscan.sandbox.server import Request, Response, Router
from trashscan_google_drive.sandbox.activity import FilterError, parse_activity_filter
from trashscan_google_drive.sandbox.auth import AuthState
from trashscan_google_drive.sandbox.batch import MAX_BATCH_PARTS, BatchEndpoint
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.sandbox.fields import (
    FieldsError,
    apply_selection,
    parse_fields,
    validate_selection,
)
from trashscan_google_drive.sandbox.model import FOLDER_MIME, DriveState, rfc3339
from trashscan_google_drive.sandbox.query import (
    DRIVE_TERMS,
    And,
    Compare,
    Contains,
    Not,
    Or,
    QueryError,
    evaluate,
    parse_query,
)
from trashscan_google_drive.sandbox.wire import ApiError, PageToken

T0 = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)


# -- q -------------------------------------------------------------------------------------------


def test_query_precedence_and_parentheses() -> None:
    query = "trashed = true and (mimeType contains 'image/' or mimeType contains 'video/')"
    assert parse_query(query) == And(
        Compare("trashed", "=", True),
        Or(Compare("mimeType", "contains", "image/"), Compare("mimeType", "contains", "video/")),
    )
    terms = {"a": ("string", frozenset({"="})), "c": ("string", frozenset({"="}))}
    assert parse_query("a = 'b' or c = 'd'", terms) == Or(
        Compare("a", "=", "b"), Compare("c", "=", "d")
    )
    assert parse_query("not trashed = true and name = 'x'") == And(
        Not(Compare("trashed", "=", True)), Compare("name", "=", "x")
    )
    assert parse_query("'abc' in parents AND trashed != false") == And(
        Contains("abc", "parents"), Compare("trashed", "!=", False)
    )
    assert parse_query("  ") is None


def test_query_rejects_unknown_terms_before_evaluating() -> None:
    with pytest.raises(QueryError):
        parse_query("trashed = true and (mimeType contains 'image/' or name = 'a') or not x")


@pytest.mark.parametrize(
    "query",
    [
        "trashed",
        "trashed = true)",
        "(trashed = true",
        'name contains "x"',
        "name in 'x'",
        "'x' in name",
        "'x' in parents parents",
        "createdTime > 'yesterday'",
        "trashed = yes",
        "starred = true",
        "name has 'x'",
    ],
)
def test_query_errors(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)


def test_query_string_escapes() -> None:
    assert parse_query(r"name = 'it\'s a \\ test'") == Compare("name", "=", "it's a \\ test")


def test_name_contains_is_word_prefix_match() -> None:
    def matches(name: str, needle: str) -> bool:
        return evaluate(parse_query(f"name contains '{needle}'"), {"name": name}.__getitem__)

    assert matches("HelloWorld", "Hello")
    assert not matches("HelloWorld", "World")  # the reference's own example
    assert matches("IMG_20251003_141233.jpg", "2025")
    assert matches("Tax return 2024.pdf", "RETURN")
    assert not matches("Tax return 2024.pdf", "eturn")


def test_mime_contains_is_substring_and_times_compare() -> None:
    def get(field: str) -> object:
        return {"mimeType": "image/heic", "modifiedTime": T0}[field]

    assert evaluate(parse_query("mimeType contains 'image/'"), get)
    assert evaluate(parse_query(f"modifiedTime > '{rfc3339(T0 - timedelta(days=1))}'"), get)
    assert not evaluate(parse_query("modifiedTime >= '2025-10-06T00:00:00'"), get)


def test_drive_terms_are_a_separate_table() -> None:
    assert parse_query("hidden = false", DRIVE_TERMS) == Compare("hidden", "=", False)
    with pytest.raises(QueryError):
        parse_query("hidden = false")  # not a file term
    with pytest.raises(QueryError):
        parse_query("trashed = true", DRIVE_TERMS)


# -- fields -------------------------------------------------------------------------------------


def test_fields_syntax() -> None:
    assert parse_fields("nextPageToken, files(id,name,capabilities(canUntrash))") == {
        "nextPageToken": None,
        "files": {"id": None, "name": None, "capabilities": {"canUntrash": None}},
    }
    assert parse_fields("files/capabilities/canUntrash,files/id") == {
        "files": {"capabilities": {"canUntrash": None}, "id": None}
    }
    assert parse_fields("files,files(id)") == {"files": None}  # the whole value wins
    assert parse_fields("*") == {"*": None}
    assert parse_fields(None) is None and parse_fields(" ") is None
    for bad in ["files(id", "files(id))", "files()", ",id", "files(id)x", "a//b", "a-b"]:
        with pytest.raises(FieldsError):
            parse_fields(bad)


def test_fields_validated_against_the_discovery_schema() -> None:
    selection = parse_fields("files(id,trashingUser(emailAddress),exportLinks/x)")
    validate_selection(selection or {}, "FileList")
    for bad, culprit in [
        ("files(id,capabilities,canAddChildren)", "canAddChildren"),
        ("files(capabilities(canFly))", "canFly"),
        ("files(id(x))", "x"),
        ("items(id)", "items"),
    ]:
        with pytest.raises(FieldsError) as error:
            validate_selection(parse_fields(bad) or {}, "FileList")
        assert error.value.args[0] == culprit


def test_apply_selection_to_arrays_and_absent_fields() -> None:
    value = {
        "kind": "drive#fileList",
        "files": [
            {"id": "1", "name": "a", "capabilities": {"canUntrash": True, "canTrash": True}},
            {"id": "2", "name": "b"},
        ],
    }
    selection = parse_fields("files(id,capabilities/canUntrash,size)")
    assert apply_selection(value, selection) == {
        "files": [{"id": "1", "capabilities": {"canUntrash": True}}, {"id": "2"}]
    }
    assert apply_selection(value, parse_fields("files/*")) == {"files": value["files"]}


# -- Drive Activity filter -------------------------------------------------------------------


def test_activity_filter_documented_forms() -> None:
    both = parse_activity_filter("time > 1452409200000 AND time <= 1492812924310")
    assert [(c.field, c.op, c.values) for c in both] == [
        ("time", ">", (1452409200000,)),
        ("time", "<=", (1492812924310,)),
    ]
    dated = parse_activity_filter('time >= "2016-01-10T01:02:03-05:00"')
    assert dated[0].values == (int(datetime(2016, 1, 10, 6, 2, 3, tzinfo=UTC).timestamp() * 1000),)
    assert parse_activity_filter("detail.action_detail_case:RENAME")[0].values == ("RENAME",)
    pair = parse_activity_filter("detail.action_detail_case:(CREATE RESTORE)")
    assert pair[0].values == ("CREATE", "RESTORE")
    excluded = parse_activity_filter("-detail.action_detail_case:MOVE")
    assert excluded[0].negated
    implicit_and = parse_activity_filter("detail.action_detail_case:DELETE time > 1")
    assert len(implicit_and) == 2
    assert parse_activity_filter("") == []


@pytest.mark.parametrize(
    "text",
    [
        "detail.action_detail_case:TRASH",
        "detail.action_detail_case = DELETE",
        "time > yesterday",
        'time > "not a date"',
        "detail.action_detail_case:()",
        "title:DELETE",
    ],
)
def test_activity_filter_errors(text: str) -> None:
    with pytest.raises(FilterError):
        parse_activity_filter(text)


# -- page tokens ---------------------------------------------------------------------------------


def test_page_tokens_are_bound_to_their_query() -> None:
    mine = PageToken.fingerprint("alice", "trashed = true")
    token = PageToken.encode(100, mine)
    assert PageToken.decode(token, mine) == 100
    assert PageToken.decode(None, mine) == 0
    for bad_token, fingerprint in [
        (token, PageToken.fingerprint("alice", "trashed = false")),
        ("not-a-token", mine),
        (base64.urlsafe_b64encode(b'{"o": -1, "f": "x"}').decode(), "x"),
    ]:
        with pytest.raises(ApiError) as error:
            PageToken.decode(bad_token, fingerprint)
        assert error.value.response.status == 400


# -- the trash model -----------------------------------------------------------------------------


@pytest.fixture
def state() -> DriveState:
    model = DriveState()
    model.add_person("a@example.com", "A")
    model.add_my_drive("a@example.com", T0 - timedelta(days=900))
    return model


def _tree(state: DriveState) -> tuple[Any, Any, Any]:
    def make(name: str, mime: str, parent: str) -> Any:
        return state.create_file(
            name=name,
            mime_type=mime,
            parent_id=parent,
            created_by="a@example.com",
            at=T0 - timedelta(days=60),
            size=None if mime == FOLDER_MIME else 5,
        )

    folder = make("Trip", FOLDER_MIME, state.roots["a@example.com"])
    return (
        folder,
        make("IMG_1.jpg", "image/jpeg", folder.id),
        make("IMG_2.jpg", "image/jpeg", folder.id),
    )


def test_trashing_a_folder_trashes_its_children_implicitly(state: DriveState) -> None:
    folder, inner, loose = _tree(state)
    state.set_trashed(loose, True, "a@example.com", T0 - timedelta(days=3))
    before = state.next_seq()
    state.set_trashed(folder, True, "a@example.com", T0 - timedelta(days=2))
    assert state.is_trashed(inner) and not inner.explicitly_trashed
    assert state.trash_origin(inner) is folder
    # the folder and inner changed state; loose was already trashed, so it has no new change
    assert {c.file_id for c in state.changes[before - 1 :]} == {folder.id, inner.id}
    assert [a.kind for a in state.activities[-2:]] == ["trash", "trash"]

    state.set_trashed(inner, False, "a@example.com", T0)  # its folder is still in the trash
    assert state.is_trashed(inner)
    state.set_trashed(folder, False, "a@example.com", T0)
    assert not state.is_trashed(inner)
    assert state.is_trashed(loose)  # trashed on its own before the folder: stays trashed


def test_auto_purge_after_30_days_takes_descendants_along(state: DriveState) -> None:
    folder, inner, loose = _tree(state)
    state.set_trashed(folder, True, "a@example.com", T0)
    assert state.auto_purge(T0 + timedelta(days=29, hours=23)) == []
    purged = state.auto_purge(T0 + timedelta(days=30))
    assert set(purged) == {folder.id, inner.id, loose.id}
    removed = [c for c in state.changes if c.removed]
    assert {c.file_id for c in removed} == set(purged)
    assert all(c.time == T0 + timedelta(days=30) for c in removed)
    assert state.activities[-1].kind == "purge" and state.activities[-1].actor is None


class _CountingFiles(dict):
    """``DriveState.files`` that counts how often every file is walked."""

    walks = 0

    def values(self):  # type: ignore[override]
        self.walks += 1
        return super().values()


def test_an_untrash_does_not_make_the_next_call_walk_every_file(state: DriveState) -> None:
    """Only a trashing can bring the next purge forward: an untrash removes a candidate. (The
    fake looks for due purges before every call; walking every file after each untrash made a
    mass restore quadratic in the fake.)"""
    _, first, second = _tree(state)  # two photos of one folder
    state.set_trashed(first, True, "a@example.com", T0)
    state.set_trashed(second, True, "a@example.com", T0 + timedelta(days=1))
    assert state.auto_purge(T0 + timedelta(days=2)) == []
    state.files = files = _CountingFiles(state.files)
    state.set_trashed(first, False, "a@example.com", T0 + timedelta(days=2))
    assert state.auto_purge(T0 + timedelta(days=2)) == []
    assert files.walks == 0
    # The next purge date it knew (first's) is now void: reaching it costs one look, no purge.
    assert state.auto_purge(T0 + timedelta(days=30)) == []
    assert state.auto_purge(T0 + timedelta(days=31)) == [second.id]
    assert first.id in state.files


def test_modified_time_is_untouched_by_trash_but_version_moves(state: DriveState) -> None:
    _, inner, _ = _tree(state)
    modified, version = inner.modified_time, inner.version
    state.set_trashed(inner, True, "a@example.com", T0)
    assert inner.modified_time == modified and inner.version == version + 1


def test_rfc3339_has_milliseconds_and_z() -> None:
    assert rfc3339(T0.replace(microsecond=123456)) == "2025-10-05T12:00:00.123Z"


# -- the token endpoint --------------------------------------------------------------------------


def _form(fields: dict[str, str], headers: dict[str, str] | None = None) -> Request:
    message = Message()
    for name, value in (headers or {}).items():
        message[name] = value
    body = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    return Request("POST", "/token", {}, message, body)


def _answer(response: Response) -> tuple[int, dict[str, Any]]:
    return response.status, json.loads(response.body)


def test_token_endpoint_errors_and_scope_narrowing() -> None:
    auth = AuthState()
    client = auth.register_client({"drive.googleapis.com"})
    drive = "https://www.googleapis.com/auth/drive"
    activity = "https://www.googleapis.com/auth/drive.activity.readonly"
    grant = auth.grant(client, "a@example.com", frozenset({drive, activity}))
    good = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": grant.refresh_token,
    }

    status, body = _answer(auth.token_endpoint(_form(good), T0))
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert set(body["scope"].split()) == {drive, activity}
    status, body = _answer(auth.token_endpoint(_form({**good, "scope": drive}), T0))
    assert body["scope"] == drive
    assert auth.tokens[body["access_token"]].scopes == frozenset({drive})

    cases = [
        ({**good, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({**good, "client_id": "nobody"}, 401, "invalid_client"),
        ({**good, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**good, "refresh_token": "1//0unknown"}, 400, "invalid_grant"),
        ({**good, "scope": drive + "%20https://mail.google.com/"}, 400, "invalid_scope"),
    ]
    for fields, want_status, want_error in cases:
        assert _answer(auth.token_endpoint(_form(fields), T0))[0] == want_status
        assert _answer(auth.token_endpoint(_form(fields), T0))[1]["error"] == want_error

    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    only_token = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
    assert (
        auth.token_endpoint(_form(only_token, {"Authorization": f"Basic {basic}"}), T0).status
        == 200
    )

    auth.revoke("a@example.com")
    status, body = _answer(auth.token_endpoint(_form(good), T0))
    assert (status, body) == (
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )


def test_access_tokens_expire_after_3599_seconds() -> None:
    auth = AuthState()
    grant = auth.grant(auth.register_client(set()), "a@example.com", frozenset())
    token = auth.issue(grant, T0)
    assert token.valid(T0 + timedelta(seconds=3598))
    assert not token.valid(T0 + timedelta(seconds=3599))


# -- batch parsing ------------------------------------------------------------------------------


def _batch_request(parts: list[str], auth: str | None = None) -> Request:
    boundary = "===============7330845974216740156=="
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    headers = Message()
    headers["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
    if auth:
        headers["Authorization"] = auth
    return Request("POST", "/batch/drive/v3", {}, headers, body.encode())


def _echo_router() -> tuple[Router, list[Request]]:
    seen: list[Request] = []
    router = Router()

    def echo(request: Request, match: Any) -> Response:
        seen.append(request)
        return Response.json({"id": match["file_id"]})

    router.add("PATCH", r"/drive/v3/files/(?P<file_id>[^/]+)", echo)
    return router, seen


def test_batch_parses_lf_parts_folded_headers_and_echoes_content_ids() -> None:
    router, seen = _echo_router()
    endpoint = BatchEndpoint(router)
    part = (
        "Content-Type: application/http\nContent-Transfer-Encoding: binary\n"
        "Content-ID: <6a7f3c2e-0000-4000-8000-000000000000 +\n 1abc>\n\n"
        "PATCH /drive/v3/files/1abc?alt=json HTTP/1.1\nContent-Type: application/json\n"
        "X-Long: folded\n value\ncontent-length: 18\n\n"
        '{"trashed": false}'
    )
    response = endpoint.handle(_batch_request([part], auth="Bearer outer"), None)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batch_")
    text = response.body.decode()
    assert "Content-ID: <response-6a7f3c2e-0000-4000-8000-000000000000 + 1abc>" in text
    assert "HTTP/1.1 200 OK\r\n" in text and '\r\n\r\n{"id": "1abc"}' in text
    assert seen[0].body == b'{"trashed": false}'  # without the boundary's line break
    assert seen[0].headers["Authorization"] == "Bearer outer"  # falls back to the batch's
    assert seen[0].headers["X-Long"] == "folded value"
    assert seen[0].query == {"alt": ["json"]}


def test_batch_limits_and_malformed_input() -> None:
    router, _ = _echo_router()
    endpoint = BatchEndpoint(router)
    part = "Content-Type: application/http\n\nPATCH /drive/v3/files/1 HTTP/1.1\n\n{}"
    too_many = endpoint.handle(_batch_request([part] * (MAX_BATCH_PARTS + 1)), None)
    assert too_many.status == 400
    exactly = endpoint.handle(_batch_request([part] * MAX_BATCH_PARTS), None)
    assert exactly.status == 200 and exactly.body.count(b"HTTP/1.1 200 OK") == MAX_BATCH_PARTS

    plain = Request("POST", "/batch/drive/v3", {}, Message(), b"{}")
    assert endpoint.handle(plain, None).status == 400
    foreign = "Content-Type: application/http\n\nGET /gmail/v1/users/me HTTP/1.1\n\n"
    garbage = "Content-Type: application/http\n\nnot an http request\n\n"
    answer = endpoint.handle(_batch_request([foreign, garbage]), None).body.decode()
    assert answer.count("HTTP/1.1 400 Bad Request") == 2


def test_fake_seams_without_a_server() -> None:
    fake = GoogleDriveFake()
    fake.clock = lambda: T0
    fake.add_account("dana", activity=True)
    photo = fake.add_file(
        "dana", "IMG_1.jpg", "image/jpeg", size=1, created=T0 - timedelta(days=40)
    )
    fake.trash("dana", photo.id)
    assert photo.trashed_time == T0 and photo.trashing_user == "dana@example.com"
    fake.untrash("dana", photo.id, T0 + timedelta(hours=1))
    assert not fake.state.is_trashed(photo)
    assert fake.purge("dana", photo.id) == [photo.id]
    with pytest.raises(LookupError):
        fake.find("IMG_1.jpg", account="dana")
    with pytest.raises(RuntimeError):
        fake.fail_next_part()
    ids = fake.trash_bulk("dana", 50, T0)
    assert len(ids) == 50
    times = [fake.state.files[i].trashed_time for i in ids]
    assert times == sorted(times)  # type: ignore[type-var]
