"""Notification bodies: names and provider messages are shown escaped, never acted on."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
import responses

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
        restore_handle={}, first_seen=NOW, last_seen=NOW,
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


def test_email_body_is_escaped(tmp_path) -> None:
    """Through Apprise to a real SMTP server: the mail as received."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = parse_alerts(
            tmp_path / "c.toml",
            {
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_starttls": False,
                "email_to": "a@example.org",
                "email_from": "t@example.org",
            },
        ).smtp
        store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
        EmailNotifier(settings, store).send(hostile_message())
    finally:
        controller.stop()
    (raw,) = received
    mail = message_from_bytes(raw)
    assert mail.get_content_type() == "text/plain"
    body = mail.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    assert_safe(body)
    assert SHOWN in body


WIRE = {
    "json": "https://hooks.example.org/x",
    "slack": "https://hooks.slack.com/services/T0/B0/C0",
    "discord": "https://discord.com/api/webhooks/1/x",
    "ntfy": "https://ntfy.example.org/topic",
}


def wire_text(fmt: str, body: dict[str, Any]) -> str:
    """The human text of each service's payload, as Apprise posted it."""
    if fmt == "slack":
        return body["attachments"][0]["text"]
    if fmt == "discord":  # the title, Apprise's own \r\n, then the body
        return body["content"].replace("\r\n", "\n", 1)
    return body["message"]


@pytest.mark.parametrize("fmt", ["slack", "discord", "ntfy", "json"])
def test_webhook_formats_neutralise_their_own_markup(fmt: str) -> None:
    with responses.RequestsMock() as mock:
        mock.post(re.compile(r"https://.*"), status=200, body="ok")
        WebhookNotifier(WIRE[fmt], fmt).send(hostile_message())
        (call,) = mock.calls
    text = wire_text(fmt, json.loads(call.request.body))
    if fmt in ("ntfy", "json"):
        assert SHOWN in text
        assert "X-Markdown" not in call.request.headers
    elif fmt == "slack":
        assert "&lt;!channel&gt;" in text and "<" not in text and ">" not in text
    else:
        assert "\\[x\\]\\(https\\://e.example\\)" in text  # no masked link
        assert "\\@everyone" in text
        assert re.search(r"(?<!\\)[@<]", text) is None  # no mention left to parse
    assert_safe(text)


def test_apprise_is_told_the_body_is_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import apprise

    sent: dict[str, Any] = {}

    def notify(self: Any, **kwargs: Any) -> bool:
        sent.update(kwargs)
        return True

    monkeypatch.setattr(apprise.Apprise, "notify", notify)
    AppriseNotifier("json://hooks.example.org/x").send(hostile_message())
    assert sent["body_format"] == apprise.NotifyFormat.TEXT  # apprise escapes for HTML/Markdown
    assert_safe(sent["body"])
    assert SHOWN in sent["body"]
