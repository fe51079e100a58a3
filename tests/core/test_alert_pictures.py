"""Pictures in the alerts: which cached thumbnails a message carries, under which file names, in
which private files, and what each channel is sent (on the wire, without a network)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from PIL import Image

from trashscan.alert_pictures import (
    MAX_PICTURE_BYTES,
    MAX_PICTURES,
    UI_LINE,
    Picture,
    attachment_files,
    choose,
)
from trashscan.models import DeletedAtSource, IndexedItem, ItemState, Kind, item_ref
from trashscan.notify import AlertItem, AppriseNotifier, Message, WebhookNotifier
from trashscan.safe_text import UNSAFE
from trashscan.thumbnails import ThumbnailCache

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CRAFTED = "../../x.jpg\n\x1b[2JOK: nothing\u202e.exe"


def indexed(name: str, days_left: float, kind: Kind = Kind.PHOTO) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("local-trash", "laptop", name), provider="local-trash", account="laptop",
        item_id=name, name=name, path=f"/home/me/Pictures/{name}", kind=kind,
        mime_type="image/jpeg", size=10, deleted_at=NOW - timedelta(days=30 - days_left),
        deleted_at_source=DeletedAtSource.API, purge_at=NOW + timedelta(days=days_left),
        purge_is_estimate=False, restorable=True, not_restorable_reason=None,
        restore_handle={}, first_seen=NOW, last_seen=NOW, state=ItemState.TRASHED,
    )  # fmt: skip


def jpeg(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 10)).save(out, "WEBP")
    return out.getvalue()


def cache_with(
    tmp_path: Path, items: list[IndexedItem], data: bytes | None = None
) -> ThumbnailCache:
    """A real cache holding a picture for each of ``items``, written through its own API."""
    cache = ThumbnailCache(tmp_path / "thumbs", 10 * 2**20)
    for item in items:
        picture = data if data is not None else jpeg()
        cache.store(item.provider, item.account, item.item_id, item.thumbnail_key, picture)
    return cache


def short(item: IndexedItem) -> str:
    return item.ref[:8]


# --- choosing ------------------------------------------------------------------------------------


def test_the_most_urgent_dozen_from_the_cache_and_how_many_more(tmp_path) -> None:
    items = [indexed(f"p{n:02}.jpg", days_left=n) for n in range(20, 0, -1)]  # latest first
    cache = cache_with(tmp_path, items)
    pictures, more = choose(items, cache.read)
    assert len(pictures) == MAX_PICTURES == 12
    assert [p.item.name for p in pictures] == [f"p{n:02}.jpg" for n in range(1, 13)]
    assert more == 8
    assert all(p.filename == f"{short(p.item)}.jpg" for p in pictures)
    assert all(p.mimetype == "image/jpeg" for p in pictures)


def test_a_picture_not_in_the_cache_is_left_out_never_fetched(tmp_path) -> None:
    items = [indexed(f"p{n}.jpg", days_left=n) for n in range(1, 5)]
    cache = cache_with(tmp_path, [items[0], items[2]])
    asked: list[str] = []

    def read(item: IndexedItem) -> bytes | None:
        asked.append(item.name)
        return cache.read(item)

    pictures, more = choose(items, read)
    assert [p.item.name for p in pictures] == ["p1.jpg", "p3.jpg"]
    assert more == 2
    assert asked == ["p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg"]  # the cache only, once each


def test_what_is_not_a_picture_is_not_attached(tmp_path) -> None:
    photo, other, strange, huge, tiled = (
        indexed("a.jpg", 1),
        indexed("notes.txt", 2, Kind.OTHER),
        indexed("b.jpg", 3),
        indexed("c.jpg", 4),
        indexed("d.jpg", 5),
    )
    data = {
        photo.ref: jpeg(),
        other.ref: jpeg(),  # never read: documents have no thumbnail
        strange.ref: b"<html>not a picture</html>",
        huge.ref: b"\xff\xd8\xff" + b"\0" * MAX_PICTURE_BYTES,
        tiled.ref: webp(),
    }
    pictures, more = choose([photo, other, strange, huge, tiled], lambda i: data[i.ref])
    assert [(p.item.name, p.filename.rsplit(".", 1)[1], p.mimetype) for p in pictures] == [
        ("a.jpg", "jpg", "image/jpeg"),
        ("d.jpg", "webp", "image/webp"),
    ]
    assert more == 2  # the two photos without a usable picture; the document is not counted


def test_crafted_names_never_reach_a_file_name(tmp_path) -> None:
    items = [indexed(CRAFTED, 1), indexed("/etc/passwd", 2), indexed("..", 3)]
    pictures, _ = choose(items, cache_with(tmp_path, items).read)
    assert len(pictures) == 3
    for picture in pictures:
        assert re.fullmatch(r"[0-9a-f]{8}\.jpg", picture.filename)


def test_two_refs_sharing_a_short_prefix_get_distinct_names() -> None:
    one = indexed("a.jpg", 1)
    two = replace(indexed("b.jpg", 2), ref=one.ref[:8] + "f" * 32)
    pictures, _ = choose([one, two], lambda _i: jpeg())
    assert [p.filename for p in pictures] == [f"{one.ref[:8]}.jpg", f"{two.ref}.jpg"]


# --- the private files ---------------------------------------------------------------------------


def test_attachment_files_are_private_and_removed_after(tmp_path) -> None:
    items = [indexed(CRAFTED, 1), indexed("b.jpg", 2)]
    pictures, _ = choose(items, cache_with(tmp_path, items).read)
    with attachment_files(pictures) as paths:
        folder = paths[0].parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert [p.name for p in paths] == [p.filename for p in pictures]
        for path, picture in zip(paths, pictures, strict=True):
            assert path.parent == folder
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert path.read_bytes() == picture.data
    assert not folder.exists()


def test_attachment_files_are_removed_when_sending_fails(tmp_path) -> None:
    items = [indexed("a.jpg", 1)]
    pictures, _ = choose(items, cache_with(tmp_path, items).read)
    with pytest.raises(RuntimeError), attachment_files(pictures) as paths:
        folder = paths[0].parent
        raise RuntimeError("the channel broke")
    assert not folder.exists()


# --- the message ---------------------------------------------------------------------------------


def message_with(pictures: tuple[Picture, ...], more: int, items: list[IndexedItem]) -> Message:
    alerts = tuple(AlertItem(item, "3d") for item in items)
    return Message(alerts, (), NOW, urgent=False, host="box", pictures=pictures, unpictured=more)


def test_the_text_lists_which_item_each_picture_shows(tmp_path) -> None:
    items = [indexed(f"p{n:02}.jpg", days_left=n) for n in range(1, 16)] + [indexed(CRAFTED, 0.5)]
    pictures, more = choose(items, cache_with(tmp_path, items).read)
    text = message_with(pictures, more, items).text_with_pictures
    assert not any(UNSAFE.search(line) for line in text.split("\n"))
    crafted = pictures[0]
    assert crafted.item.name == CRAFTED
    assert f"- {crafted.filename}: ../../x.jpg\\n\\x1b[2JOK: nothing\\u202e.exe (laptop, " in text
    for picture in pictures[1:]:
        assert f"- {picture.filename}: {picture.item.name} (laptop, local-trash)" in text
    assert "and 4 more" in text
    assert text.rstrip("\n").splitlines()[-1] == UI_LINE == "See them: trashscan ui"


def test_a_text_only_channel_gets_the_ui_line_but_no_picture_list(tmp_path) -> None:
    items = [indexed("a.jpg", 1)]
    pictures, more = choose(items, cache_with(tmp_path, items).read)
    message = message_with(pictures, more, items)
    assert UI_LINE in message.text
    assert pictures[0].filename not in message.text and "attached" not in message.text
    assert message.text_with_pictures != message.text


def test_no_more_line_when_every_item_is_pictured(tmp_path) -> None:
    items = [indexed("a.jpg", 1), indexed("b.jpg", 2)]
    pictures, more = choose(items, cache_with(tmp_path, items).read)
    assert more == 0
    assert " more" not in message_with(pictures, more, items).text_with_pictures


# --- on the wire ---------------------------------------------------------------------------------


def pictured_message(tmp_path: Path, count: int) -> Message:
    items = [indexed(f"p{n:02}.jpg", days_left=n) for n in range(1, count + 1)]
    pictures, more = choose(items, cache_with(tmp_path, items).read)
    return message_with(pictures, more, items)


def test_json_webhook_carries_the_pictures_base64_and_stays_bounded(tmp_path) -> None:
    message = pictured_message(tmp_path, 15)
    with responses.RequestsMock() as mock:
        mock.post("https://hooks.example.org/x", status=200)
        WebhookNotifier("https://hooks.example.org/x", "json").send(message)
        (call,) = mock.calls
    body = json.loads(call.request.body)
    attachments = body["attachments"]
    assert [a["filename"] for a in attachments] == [p.filename for p in message.pictures]
    assert {a["mimetype"] for a in attachments} == {"image/jpeg"}
    for attachment, picture in zip(attachments, message.pictures, strict=True):
        data = base64.b64decode(attachment["base64"])
        assert data == picture.data
        Image.open(io.BytesIO(data)).verify()
    assert len(call.request.body) < MAX_PICTURES * MAX_PICTURE_BYTES * 4 // 3 + 20_000
    assert "and 3 more" in body["message"] and UI_LINE in body["message"]


@pytest.mark.parametrize(
    ("fmt", "url", "text_of"),
    [
        (
            "slack",
            "https://hooks.slack.com/services/T0/B0/C0",
            lambda b: b["attachments"][0]["text"],
        ),
        ("ntfy", "https://ntfy.example.org/topic", lambda b: b["message"]),
        ("discord", "https://discord.com/api/webhooks/1/x", lambda b: b["content"]),
    ],
)
def test_channels_that_take_no_pictures_get_the_text_in_one_request(
    tmp_path, fmt: str, url: str, text_of: Callable[[dict], str]
) -> None:
    """Slack's incoming webhooks take no files; ntfy takes one per message (a dozen pushes);
    Apprise keeps one file for Discord, whose text it is told to cut (overflow=truncate): each
    gets the text alone, with the way to see the pictures."""
    message = pictured_message(tmp_path, 3)
    with responses.RequestsMock() as mock:
        mock.post(
            re.compile(r"https://(hooks\.slack\.com|ntfy\.example\.org|discord\.com)/.*"), body="ok"
        )
        WebhookNotifier(url, fmt).send(message)
        (call,) = mock.calls
    text = text_of(json.loads(call.request.body))
    assert UI_LINE.replace(":", "\\:") in text or UI_LINE in text
    assert "p01.jpg" in text and message.pictures[0].filename not in text


def test_an_apprise_service_without_attachments_gets_the_text(tmp_path) -> None:
    """Google Chat (gchat://) declares no attachment support: Apprise sends the text alone."""
    message = pictured_message(tmp_path, 2)
    with responses.RequestsMock() as mock:
        mock.post(re.compile(r"https://chat\.googleapis\.com/.*"), status=200)
        AppriseNotifier("gchat://WORKSPACE/KEY/TOKEN").send(message)
        (call,) = mock.calls
    text = json.loads(call.request.body)["text"]
    assert UI_LINE in text and message.pictures[0].filename not in text


@pytest.mark.parametrize("status", [200, 500])
def test_no_temp_file_outlives_a_delivery(tmp_path, monkeypatch, status: int) -> None:
    import tempfile

    from trashscan.notify import NotifyError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    message = pictured_message(tmp_path, 2)
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    with responses.RequestsMock() as mock:
        mock.post("https://hooks.example.org/x", status=status)
        try:
            WebhookNotifier("https://hooks.example.org/x", "json").send(message)
        except NotifyError:
            assert status == 500
        assert len(json.loads(mock.calls[0].request.body)["attachments"]) == 2
    assert len(made) == 1 and os.listdir(tmp_path / "tmp") == []
