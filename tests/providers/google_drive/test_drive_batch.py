"""Drive's HTTP batch as the plugin writes and reads it (:mod:`trashscan_google_drive.batch`).

The batch format is Google's [DOC developers.google.com/drive/api/guides/performance
#batch-requests]: a multipart/mixed body, each part ``Content-Type: application/http`` with a
``Content-ID`` and a whole inner request; the answer's parts carry ``Content-ID: <response-...>``.
The plugin writes and reads it itself rather than through googleapiclient's BatchHttpRequest,
whose email-package serialisation cost about 1 ms of CPU a call (issue 16); these tests pin that
the requests stay the discovery client's own, part for part, and that odd answers are read as
googleapiclient read them, or more carefully (a part without a JSON object is no answer).
"""

from __future__ import annotations

import email.feedparser
import email.generator
import json
from types import SimpleNamespace
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import BatchError

from trashscan.models import RestoreOutcome, RestoreResult
from trashscan_google_drive import batch

from .conftest import (
    BOUNDARY,
    Harness,
    batch_answer,
    batch_parts,
    indexed,
    part_ok,
)
from .test_drive_restore import ROOT, VERIFY, inner, results, trashed, untrashed

FIELDS = "id,name,mimeType,parents,driveId,trashed,explicitlyTrashed,capabilities(canUntrash)"


def _files() -> Any:
    drive = build(
        "drive",
        "v3",
        http=httplib2.Http(),
        client_options={"api_endpoint": "https://drive.example/drive/v3/"},
        static_discovery=True,
    )
    return drive.files()


@pytest.mark.parametrize(
    "file_id", ["a", "root", "1AbC-_xyz09", "has space", "sl/ash", "q?&=#", "caf\u00e9", "%41"]
)
def test_per_file_requests_are_the_ones_the_discovery_client_builds(file_id: str) -> None:
    files = _files()

    def get(i: str) -> Any:
        return files.get(fileId=i, fields=FIELDS, supportsAllDrives=True)

    def update(i: str) -> Any:
        return files.update(
            fileId=i, body={"trashed": False}, supportsAllDrives=True, fields="id,trashed"
        )

    for make in (get, update):
        made, built = batch.per_file(make)(file_id), make(file_id)
        assert (made.method, made.uri, made.body, dict(made.headers)) == (
            built.method,
            built.uri,
            built.body,
            dict(built.headers),
        )


def test_a_restore_writes_and_reads_its_batches_without_the_email_package(
    gd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """googleapiclient's batch wrote every part with email.generator and read the answer with
    email.feedparser; the plugin's own codec uses neither (and keeps the floor: 2 looks, 2 PATCH
    batches for 150 photos)."""
    ids = [f"f{n:03}" for n in range(150)]
    gd.respond(batch_answer(*(part_ok(i, trashed(i)) for i in ids[:100])))
    gd.respond(batch_answer(*(part_ok(i, trashed(i)) for i in ids[100:]), ROOT))
    gd.respond(batch_answer(*(part_ok(i, untrashed(i)) for i in ids[:100])))
    gd.respond(batch_answer(*(part_ok(i, untrashed(i)) for i in ids[100:])))

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the email package was used for a batch")

    monkeypatch.setattr(email.generator.Generator, "flatten", refused)
    monkeypatch.setattr(email.feedparser.FeedParser, "feed", refused)
    done = results(gd, *(indexed(i) for i in ids))
    monkeypatch.undo()  # batch_parts below reads the requests with the email package

    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}
    assert len(done) == 150
    assert [len(batch_parts(r)) for r in gd.requests] == [100, 51, 100, 50]
    assert batch_parts(gd.requests[2])[0] == inner("f000", "PATCH", VERIFY)
    assert batch_parts(gd.requests[2])[0].headers["authorization"] == "Bearer ya29.valid"


def test_a_look_answered_without_a_json_object_is_no_answer_not_a_file_out_of_the_trash(
    gd: Harness,
) -> None:
    """A part that answers 200 with something other than a JSON object (a proxy's page, a
    truncated body) says nothing of the file. googleapiclient's batch handed such a body over as
    it was, which the plugin took for an empty file, one not in the trash: "already restored"."""
    gd.respond(batch_answer(part_ok("a", "<html>busy</html>"), ROOT))  # type: ignore[arg-type]

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    assert "no JSON object" in (done["a"].detail or "")
    assert len(gd.requests) == 1  # nothing was sent to a file nobody could read


def test_a_patch_answered_without_a_json_object_is_read_back(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(part_ok("a", ["not", "a", "file"])),  # type: ignore[arg-type]
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"))

    assert batch_parts(gd.requests[2]) == [inner("a", "GET", VERIFY)]
    assert done["a"] == RestoreResult("a", RestoreOutcome.RESTORED, None)


def test_an_answer_lacking_a_part_is_sent_again_whole(gd: Harness) -> None:
    """A lost part is a ``BatchError``, retried by the policy (it is an ``HttpError`` without a
    response: classifying it by its status raised AttributeError, which ended the restore)."""
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b")), ROOT),
        batch_answer(part_ok("a", untrashed("a"))),  # b's answer is missing
        batch_answer(part_ok("a", untrashed("a")), part_ok("b", untrashed("b"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert [len(batch_parts(r)) for r in gd.requests] == [3, 2, 2]
    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}


def test_a_batch_refused_whole_is_retried_after_its_retry_after(gd: Harness) -> None:
    throttled = (
        {"status": "429", "content-type": "application/json", "retry-after": "3"},
        json.dumps({"error": {"code": 429, "errors": [{"reason": "rateLimitExceeded"}]}}),
    )
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        throttled,
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"))

    assert gd.sleeps == [3.0]
    assert done["a"].outcome is RestoreOutcome.RESTORED


def test_the_plugin_reads_answers_with_bare_line_feeds_a_quoted_boundary_and_a_preamble() -> None:
    body = (
        "This is a preamble.\n"
        f"--{BOUNDARY}\n"
        "Content-Type: application/http\n"
        "Content-ID: <response-x +\n b%3Ac>\n"  # folded, and a quoted id
        "\n"
        "HTTP/1.1 403 Forbidden\n"
        "Retry-After: 5\n"
        "\n"
        '{"error": {"code": 403}}\n'
        f"--{BOUNDARY}  \n"  # transport padding
        "Content-Type: application/http\n"
        "Content-ID: <response-x + a>\n"
        "\n"
        "HTTP/1.1 200 OK\n"
        "Content-Type: application/json; charset=UTF-8\n"
        "\n"
        '{"id": "a"}\n'
        f"--{BOUNDARY}--\n"
        "epilogue\n"
    ).encode()

    answers = batch.decode(f'multipart/mixed; boundary="{BOUNDARY}"', body)

    assert list(answers) == ["b:c", "a"]
    assert (answers["b:c"].status, answers["b:c"].reason) == (403, "Forbidden")
    assert answers["b:c"].headers == {"retry-after": "5"}
    assert answers["b:c"].body == b'{"error": {"code": 403}}'
    assert (answers["a"].status, answers["a"].reason, answers["a"].body) == (
        200,
        "OK",
        b'{"id": "a"}',
    )
    assert answers["a"].headers == {"content-type": "application/json; charset=UTF-8"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        (f"multipart/mixed; boundary={BOUNDARY}", f"--{BOUNDARY}\r\n\r\nHTTP/1.1 200 OK".encode()),
        (
            f"multipart/mixed; boundary={BOUNDARY}",
            f"--{BOUNDARY}\r\nContent-ID: <response-x>\r\n\r\nHTTP/1.1 200 OK\r\n".encode(),
        ),
        (
            f"multipart/mixed; boundary={BOUNDARY}",
            f"--{BOUNDARY}\r\nContent-ID: <response-x + a>\r\n\r\nnonsense\r\n".encode(),
        ),
    ],
)
def test_an_unreadable_batch_answer_is_a_batch_error(content_type: str, body: bytes) -> None:
    with pytest.raises(BatchError):
        batch.decode(content_type, body)


def test_a_header_with_a_line_break_is_never_written() -> None:
    call = SimpleNamespace(
        method="GET", uri="https://h/drive/v3/files/a", body=None, headers={"x-evil": "1\nHost: b"}
    )
    with pytest.raises(ValueError, match="line break"):
        batch.encode([("a", call)], {"authorization": "Bearer t"})


def test_written_parts_are_read_by_a_mime_parser_as_the_inner_requests() -> None:
    files = _files()
    calls = [
        ("a", files.get(fileId="a", fields="id", supportsAllDrives=True)),
        ("in:F", files.update(fileId="F", body={"name": "caf\u00e9"}, fields="id")),
    ]

    content_type, body = batch.encode(calls, {"authorization": "Bearer t"})

    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = message.get_payload()
    assert [p["Content-ID"].split(" + ")[1] for p in parts] == ["a>", "in%3AF>"]
    assert [p.get_content_type() for p in parts] == ["application/http", "application/http"]
    get_text, patch_text = (p.get_payload() for p in parts)
    assert get_text.startswith("GET /drive/v3/files/a?fields=id&supportsAllDrives=true&alt=json ")
    assert "\r\nauthorization: Bearer t\r\nHost: drive.example\r\n\r\n" in get_text
    head, _, payload = patch_text.partition("\r\n\r\n")
    sent = json.dumps({"name": "caf\u00e9"}).encode()
    assert f"content-length: {len(sent)}" in head
    assert payload.encode() == sent
