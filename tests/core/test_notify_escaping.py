"""Notification bodies: names and provider messages are shown escaped, never acted on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trashscan.models import DeletedAtSource, IndexedItem, ItemState, Kind, item_ref
from trashscan.notify import (
    AlertItem,
    AlertProblem,
    AppriseNotifier,
    EmailNotifier,
    Message,
    WebhookNotifier,
    parse_alerts,
)
from trashscan.safe_text import UNSAFE
from trashscan.secrets import FileSecretStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FORGED = "OK: nothing will be purged"
HOSTILE = f"a.jpg\n{FORGED}\x1b[2J\u202e\u2028 [/b] <!channel> @everyone [x](https://e.example)"
SHOWN = f"a.jpg\\n{FORGED}\\x1b[2J\\u202e\\u2028 [/b] <!channel> @everyone [x](https://e.example)"


def hostile_message() -> Message:
    item = IndexedItem(
        ref=item_ref("local-trash", "laptop", HOSTILE), provider="local-trash", account="laptop",
        item_id=HOSTILE, name=HOSTILE, path=f"/home/me/{HOSTILE}", kind=Kind.PHOTO,
        mime_type="image/jpeg", size=10, deleted_at=NOW - timedelta(days=29),
        deleted_at_source=DeletedAtSource.API, purge_at=NOW + timedelta(hours=5),
        purge_is_estimate=False, restorable=True, not_restorable_reason=None,
        restore_handle={}, thumbnail_url=None, first_seen=NOW, last_seen=NOW,
        state=ItemState.TRASHED,
    )  # fmt: skip
    problem = AlertProblem("local-trash", "usb", f"scan failed: {HOSTILE}", f"fix {HOSTILE}")
    return Message((AlertItem(item, "1d"),), (problem,), NOW, urgent=True, host="box")


def assert_safe(text: str) -> None:
    """Our own line breaks only: nothing else a reader could act on, no forged line."""
    assert not any(UNSAFE.search(line) for line in text.split("\n"))
    assert not any(line.lstrip("- ").startswith("OK:") for line in text.splitlines())


def test_message_text_escapes_names_and_problems() -> None:
    message = hostile_message()
    text = message.text
    assert_safe(text)
    assert f"- {SHOWN} (laptop, local-trash): less than a day left" in text
    assert f"- usb (local-trash): scan failed: {SHOWN}. Fix: fix {SHOWN}" in text
    payload = message.payload()
    assert payload["items"][0]["name"] == HOSTILE  # structured data stays exact
    assert_safe(json.dumps(payload))


def test_email_body_is_escaped(tmp_path) -> None:
    settings = parse_alerts(
        tmp_path / "c.toml",
        {"smtp_host": "smtp.example.org", "email_to": "a@b.c", "email_from": "t@b.c"},
    ).smtp
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    body = EmailNotifier(settings, store).build(hostile_message()).get_content()
    assert_safe(body)
    assert SHOWN in body


@pytest.mark.parametrize("fmt", ["slack", "discord", "ntfy", "json"])
def test_webhook_formats_neutralise_their_own_markup(fmt: str) -> None:
    args = WebhookNotifier("https://hooks.example.org/x", fmt).request_args(hostile_message())
    if fmt == "ntfy":
        text = args["data"].decode("utf-8")
        assert SHOWN in text and "Markdown" not in args["headers"]
    elif fmt == "json":
        text = args["json"]["text"]
        assert SHOWN in text
    elif fmt == "slack":
        text = args["json"]["text"]
        assert "&lt;!channel&gt;" in text and "<" not in text and ">" not in text
    else:
        text = args["json"]["content"]
        assert args["json"]["allowed_mentions"] == {"parse": []}
        assert "\\[x\\]\\(https\\://e.example\\)" in text  # no masked link
        assert "\\@everyone" in text
    assert_safe(text)


def test_apprise_is_told_the_body_is_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    apprise = pytest.importorskip("apprise")
    sent: dict[str, Any] = {}

    def notify(self: Any, **kwargs: Any) -> bool:
        sent.update(kwargs)
        return True

    monkeypatch.setattr(apprise.Apprise, "notify", notify)
    AppriseNotifier("json://hooks.example.org/x").send(hostile_message())
    assert sent["body_format"] == apprise.NotifyFormat.TEXT  # apprise escapes for HTML/Markdown
    assert_safe(sent["body"])
    assert SHOWN in sent["body"]
