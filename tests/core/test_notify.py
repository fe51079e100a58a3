"""[alerts] parsing, the message, and each channel's request, without a network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses

from trashscan.errors import ConfigError
from trashscan.models import DeletedAtSource, IndexedItem, ItemState, Kind, item_ref
from trashscan.notify import (
    ALERTS_SERVICE,
    APPRISE_URLS_KEY,
    AlertItem,
    AlertProblem,
    AppriseNotifier,
    BrokenNotifier,
    EmailNotifier,
    Healthcheck,
    Message,
    NotifyError,
    WebhookNotifier,
    apprise_channel,
    build_notifiers,
    canonical_label,
    parse_alerts,
    parse_apprise_urls,
)
from trashscan.retry import RetryPolicy
from trashscan.secrets import FileSecretStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONFIG = Path("/home/me/.config/trashscan/config.toml")
HOOK = "https://hooks.example.org/services/T000/B000/SECRETTOKEN"
NO_WAIT = RetryPolicy(max_attempts=3, sleep=lambda _s: None)


def indexed(name: str, days_left: float, estimate: bool = True) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("local-trash", "laptop", name), provider="local-trash", account="laptop",
        item_id=name, name=name, path=f"/home/me/Pictures/{name}", kind=Kind.PHOTO,
        mime_type="image/jpeg", size=10, deleted_at=NOW - timedelta(days=30 - days_left),
        deleted_at_source=DeletedAtSource.API, purge_at=NOW + timedelta(days=days_left),
        purge_is_estimate=estimate, restorable=True, not_restorable_reason=None,
        restore_handle={}, thumbnail_url=None, first_seen=NOW, last_seen=NOW,
        state=ItemState.TRASHED,
    )  # fmt: skip


def message(urgent: bool = False) -> Message:
    items = (
        AlertItem(indexed("cover.jpg", -3), "1d"),
        AlertItem(indexed("Strand é.png", 5.5, estimate=False), "7d"),
    )
    problems = (AlertProblem("icloud", "me", "two-factor code needed", "trashscan accounts add"),)
    return Message(items, problems, NOW, urgent=urgent, host="box")


# --- [alerts] ------------------------------------------------------------------------------------


def test_defaults() -> None:
    alerts = parse_alerts(CONFIG, {})
    assert [t.label for t in alerts.thresholds] == ["7d", "3d", "1d"]
    assert alerts.webhook_url is None and alerts.smtp is None and not alerts.apprise
    assert alerts.largest == timedelta(days=7)


def test_thresholds_are_sorted_and_deduplicated_by_span() -> None:
    alerts = parse_alerts(CONFIG, {"thresholds": ["36h", "168h", "7d", "1d"]})
    assert [t.label for t in alerts.thresholds] == ["7d", "36h", "1d"]
    assert canonical_label(timedelta(minutes=90)) == "90m"


def test_smtp_defaults() -> None:
    alerts = parse_alerts(
        CONFIG,
        {"smtp_host": "smtp.example.org", "smtp_user": "me@example.org", "email_to": "x@y.z"},
    )
    assert alerts.smtp is not None
    assert (alerts.smtp.port, alerts.smtp.starttls, alerts.smtp.ssl) == (587, True, False)
    assert alerts.smtp.sender == "me@example.org" and alerts.smtp.recipients == ("x@y.z",)
    ssl = parse_alerts(
        CONFIG, {"smtp_host": "h", "smtp_ssl": True, "email_from": "a@b.c", "email_to": ["d@e.f"]}
    )
    assert ssl.smtp is not None and (ssl.smtp.port, ssl.smtp.starttls) == (465, False)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"days_before_purge": 3}, "unknown key 'days_before_purge'"),
        ({"smtp_password": "hunter2"}, "secrets belong in the keyring"),
        ({"apprise_urls": ["tgram://tok/chat"]}, "--set-apprise-urls"),
        ({"thresholds": "7d"}, "thresholds must be a list"),
        ({"thresholds": ["soon"]}, "bad duration 'soon'"),
        ({"thresholds": ["0d"]}, "longer than zero"),
        ({"webhook_url": "ftp://x/SECRETTOKEN"}, "webhook_url must be an http"),
        ({"webhook_url": HOOK, "webhook_format": "teams"}, "webhook_format must be one of"),
        ({"healthcheck_url": "hc-ping.com/uuid"}, "healthcheck_url must be"),
        ({"apprise": "yes"}, "apprise must be true or false"),
        ({"email_to": "a@b.c"}, "email_to is set but smtp_host is not"),
        ({"smtp_host": "h", "email_from": "a@b.c"}, "email_to must be"),
        ({"smtp_host": "h", "email_to": "a@b.c"}, "email_from must be"),
        ({"smtp_host": "h", "smtp_ssl": True, "smtp_starttls": True}, "exclude each other"),
        ({"smtp_host": "h", "smtp_port": 0, "email_to": "a@b.c", "email_from": "a@b.c"}, "port"),
    ],
)
def test_bad_alerts_are_one_line_naming_the_file(table, needle) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alerts(CONFIG, table)
    line = caught.value.one_line()
    assert line.startswith(f"{CONFIG}: [alerts] ") and needle in line
    assert "\n" not in line
    assert "SECRETTOKEN" not in line and "hunter2" not in line


# --- the message ---------------------------------------------------------------------------------


def test_message_text_and_payload() -> None:
    msg = message(urgent=True)
    assert msg.subject == (
        "trashscan: 2 trashed items will be purged soon; 1 account needs attention"
    )
    text = msg.text
    assert "cover.jpg (laptop, local-trash): overdue" in text
    assert "Strand é.png (laptop, local-trash): 5 days left" in text
    assert f"[ref {item_ref('local-trash', 'laptop', 'cover.jpg')[:8]}]" in text
    assert "me (icloud): two-factor code needed. Fix: trashscan accounts add" in text
    assert "~ marks an estimated date." in text
    payload = msg.payload()
    assert payload["status"] == "critical" and payload["title"] == msg.subject
    assert [i["threshold"] for i in payload["items"]] == ["1d", "7d"]
    assert payload["items"][1]["days_left"] == 5.5
    assert payload["accounts"][0]["account"] == "me"


# --- webhook -------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("fmt", ["json", "slack", "discord", "ntfy"])
def test_webhook_formats(fmt: str) -> None:
    responses.post(HOOK, status=200)
    WebhookNotifier(HOOK, fmt, NO_WAIT).send(message(urgent=True))
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    if fmt == "ntfy":
        assert request.headers["Title"].startswith("trashscan: 2 trashed items")
        assert request.headers["Priority"] == "high"
        assert "cover.jpg" in request.body.decode("utf-8")
        return
    body = json.loads(request.body)
    key = {"json": "text", "slack": "text", "discord": "content"}[fmt]
    assert "cover.jpg" in body[key]
    if fmt == "json":
        assert len(body["items"]) == 2
    else:
        assert set(body) - {"allowed_mentions"} == {key}


@responses.activate
def test_webhook_error_names_the_host_never_the_url() -> None:
    responses.post(HOOK, status=404)
    notifier = WebhookNotifier(HOOK, "slack", NO_WAIT)
    with pytest.raises(NotifyError) as caught:
        notifier.send(message())
    assert caught.value.one_line() == "webhook (hooks.example.org): HTTP 404 from hooks.example.org"
    assert notifier.label == "webhook (hooks.example.org)"


@responses.activate
def test_webhook_connection_error_hides_the_url() -> None:
    responses.post(HOOK, body=requests.ConnectionError(f"refused: {HOOK}"))
    with pytest.raises(NotifyError) as caught:
        WebhookNotifier(HOOK, "json", NO_WAIT).send(message())
    assert "SECRETTOKEN" not in caught.value.one_line()
    assert "hooks.example.org" in caught.value.one_line()


@responses.activate
def test_webhook_retries_a_throttled_post() -> None:
    responses.post(HOOK, status=429, headers={"Retry-After": "1"})
    responses.post(HOOK, status=200)
    WebhookNotifier(HOOK, "json", NO_WAIT).send(message())
    assert len(responses.calls) == 2


# --- email ---------------------------------------------------------------------------------------


def smtp_settings(**overrides) -> dict:
    table = {"smtp_host": "smtp.example.org", "smtp_user": "me@example.org", "email_to": "a@b.c"}
    return parse_alerts(CONFIG, {**table, **overrides}).smtp


def test_email_refuses_a_password_without_tls(tmp_path) -> None:
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    notifier = EmailNotifier(smtp_settings(smtp_starttls=False, smtp_port=25), store)
    with pytest.raises(NotifyError, match="without TLS"):
        notifier.send(message())


def test_email_without_a_stored_password_says_how_to_store_it(tmp_path) -> None:
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(smtp_settings(), store).send(message())
    assert "--set-smtp-password" in caught.value.one_line()


def test_email_message_headers(tmp_path) -> None:
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    mail = EmailNotifier(smtp_settings(email_to=["a@b.c", "d@e.f"]), store).build(message())
    assert mail["To"] == "a@b.c, d@e.f" and mail["From"] == "me@example.org"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "cover.jpg" in mail.get_content()


# --- apprise -------------------------------------------------------------------------------------


def test_apprise_urls_parsing_and_labels() -> None:
    urls = parse_apprise_urls("# mine\n\ntgram://123:SECRET/456\n  ntfys://ntfy.sh/topic \n")
    assert urls == ["tgram://123:SECRET/456", "ntfys://ntfy.sh/topic"]
    channel, label = apprise_channel(urls[0])
    assert label == "apprise (tgram://)" and "SECRET" not in channel
    assert channel == apprise_channel(urls[0])[0]  # stable across runs
    with pytest.raises(Exception, match="line 2 is not a URL"):
        parse_apprise_urls("json://a\nnot a url SECRET\n")


def test_apprise_invalid_url_is_reported_without_the_url() -> None:
    pytest.importorskip("apprise")
    notifier = AppriseNotifier("nosuchscheme://SECRET@host")
    with pytest.raises(NotifyError) as caught:
        notifier.send(message())
    assert "SECRET" not in caught.value.one_line()
    assert "nosuchscheme://" in caught.value.one_line()


def test_build_notifiers(tmp_path) -> None:
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    alerts = parse_alerts(CONFIG, {"webhook_url": HOOK, "apprise": True})
    missing = build_notifiers(alerts, store)
    assert [n.channel for n in missing] == ["webhook", "apprise"]
    assert isinstance(missing[1], BrokenNotifier)
    with pytest.raises(NotifyError) as caught:
        missing[1].send(message())
    assert "--set-apprise-urls" in caught.value.one_line()
    store.set(ALERTS_SERVICE, APPRISE_URLS_KEY, "json://a.example/x\nntfy://b.example/t")
    built = build_notifiers(alerts, store)
    assert [n.label for n in built] == [
        "webhook (hooks.example.org)",
        "apprise (json://)",
        "apprise (ntfy://)",
    ]


# --- healthcheck ---------------------------------------------------------------------------------


@responses.activate
def test_healthcheck_pings() -> None:
    base = "https://hc-ping.example.org/abc-123"
    for suffix in ("/start", "", "/fail"):
        responses.get(base + suffix, status=200)
    check = Healthcheck(base + "/", NO_WAIT)
    assert check.start() is None
    assert check.finish(2) is None
    assert check.finish(3) is None
    assert [c.request.url for c in responses.calls] == [base + "/start", base, base + "/fail"]


@responses.activate
def test_a_failing_healthcheck_is_a_line_not_an_exception() -> None:
    responses.get("https://hc-ping.example.org/abc/start", status=500)
    problem = Healthcheck("https://hc-ping.example.org/abc", NO_WAIT).start()
    assert problem is not None and "HTTP 500 from hc-ping.example.org" in problem
    assert "/abc" not in problem
