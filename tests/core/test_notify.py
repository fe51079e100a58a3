"""[alerts] parsing, the message, and each channel's request, without a network."""

from __future__ import annotations

import base64
import json
import logging
import re
import socketserver
import threading
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
    SMTP_PASSWORD_KEY,
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
        restore_handle={}, first_seen=NOW, last_seen=NOW,
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


def test_message_text() -> None:
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


# --- webhook: Apprise's requests, seen on the wire ----------------------------------------------

SLACK = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"
DISCORD = "https://discord.com/api/webhooks/123456/SECRETTOKEN"
NTFY = "https://ntfy.example.org/trash-SECRETTOKEN"


def posted(mock: responses.RequestsMock) -> tuple[str, dict]:
    (call,) = mock.calls
    return call.request.url, json.loads(call.request.body)


def test_json_webhook_is_apprises_json_payload_at_the_same_url() -> None:
    hook = "https://u:p%40ss@hooks.example.org:8443/services/SECRETTOKEN?key=a%20b&x="
    with responses.RequestsMock() as mock:
        mock.post(re.compile(r"https://hooks\.example\.org:8443/.*"), status=200)
        WebhookNotifier(hook, "json").send(message(urgent=True))
        url, body = posted(mock)
        auth = mock.calls[0].request.headers["Authorization"]
    assert url == "https://hooks.example.org:8443/services/SECRETTOKEN?key=a+b&x="
    assert auth == "Basic " + base64.b64encode(b"u:p@ss").decode()
    assert set(body) == {"version", "title", "message", "attachments", "type"}
    assert body["title"] == message().subject and body["type"] == "failure"
    assert body["message"].startswith(message().subject)
    assert "cover.jpg (laptop, local-trash): overdue" in body["message"]


def test_slack_webhook() -> None:
    with responses.RequestsMock() as mock:
        mock.post(SLACK, status=200, body="ok")
        WebhookNotifier(SLACK, "slack").send(message())
        url, body = posted(mock)
    assert url == SLACK
    (attachment,) = body["attachments"]
    assert attachment["title"] == message().subject and "cover.jpg" in attachment["text"]
    assert body["mrkdwn"] is False


def test_discord_webhook_is_cut_to_discords_limit() -> None:
    many = tuple(AlertItem(indexed(f"photo {n:03}.jpg", 2), "3d") for n in range(60))
    with responses.RequestsMock() as mock:
        mock.post(DISCORD, status=204)
        WebhookNotifier(DISCORD, "discord").send(Message(many, (), NOW, urgent=False, host="b"))
        url, body = posted(mock)
    assert url == DISCORD
    assert (
        body["content"].startswith("trashscan: 60 trashed items") and "photo 000" in body["content"]
    )
    assert len(body["content"]) <= 2000


@pytest.mark.parametrize(("urgent", "priority"), [(True, "high"), (False, None)])
def test_ntfy_webhook(urgent: bool, priority: str | None) -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://ntfy.example.org/", status=200)
        WebhookNotifier(NTFY, "ntfy").send(message(urgent=urgent))
        _, body = posted(mock)
        headers = mock.calls[0].request.headers
    assert body["topic"] == "trash-SECRETTOKEN" and body["title"] == message().subject
    assert "cover.jpg" in body["message"]
    assert headers.get("X-Priority") == priority and headers["X-Tags"] == "wastebasket"


def test_webhook_error_names_the_host_never_the_url() -> None:
    notifier = WebhookNotifier(HOOK, "json")
    with responses.RequestsMock() as mock:
        mock.post(HOOK, status=404)
        with pytest.raises(NotifyError) as caught:
            notifier.send(message())
    assert caught.value.one_line() == "webhook (hooks.example.org): HTTP 404 from hooks.example.org"
    assert notifier.label == "webhook (hooks.example.org)"


def test_webhook_connection_error_hides_the_url(capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # even an application logging everything sees no Apprise line
    with responses.RequestsMock() as mock:
        mock.post(HOOK, body=requests.ConnectionError(f"refused: {HOOK} [Errno 111] refused"))
        with pytest.raises(NotifyError) as caught:
            WebhookNotifier(HOOK, "json").send(message())
    line = caught.value.one_line()
    assert line == "webhook (hooks.example.org): cannot reach hooks.example.org: refused"
    assert not [r for r in caplog.records if r.name.startswith("apprise")]
    out, err = capfd.readouterr()
    assert "SECRETTOKEN" not in out + err + line


def test_a_throttled_webhook_is_retried_next_run_not_now() -> None:
    """Apprise sends once; a 429 fails the channel and check's bookkeeping retries next run."""
    with responses.RequestsMock() as mock:
        mock.post(HOOK, status=429, headers={"Retry-After": "1"})
        with pytest.raises(NotifyError, match=re.escape("HTTP 429 from hooks.example.org")):
            WebhookNotifier(HOOK, "json").send(message())
        assert len(mock.calls) == 1


@pytest.mark.parametrize(
    ("fmt", "url", "needle"),
    [
        ("slack", "https://chat.example.org/hooks/SECRETTOKEN", "Slack incoming-webhook URL"),
        ("slack", SLACK.replace("https", "http"), "Slack incoming-webhook URL"),
        ("discord", "https://example.org/api/webhooks/1/SECRETTOKEN", "Discord webhook URL"),
        ("ntfy", "https://example.org/ntfy/SECRETTOKEN", "one topic"),
        ("ntfy", "https://ntfy.sh/SECRETTOKEN?auth=x", "one topic"),
    ],
)
def test_webhook_urls_apprise_cannot_carry_are_refused_in_the_config(fmt, url, needle) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alerts(CONFIG, {"webhook_url": url, "webhook_format": fmt})
    line = caught.value.one_line()
    assert needle in line and "SECRETTOKEN" not in line


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


class RefusingSmtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to refuse a login the way a real server does (535)."""

    def handle(self) -> None:
        self.wfile.write(b"220 refusing.example.org ESMTP\r\n")
        for raw in self.rfile:
            verb = raw.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-refusing.example.org\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == b"AUTH":
                self.wfile.write(b"535 5.7.8 Authentication credentials invalid\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not here\r\n")


def test_a_refused_smtp_login_is_named_with_the_fix(tmp_path, capfd) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RefusingSmtp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    store.set(ALERTS_SERVICE, SMTP_PASSWORD_KEY, "pw-SECRETTOKEN")
    settings = parse_alerts(
        CONFIG,
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": server.server_address[1],
            "smtp_starttls": False,
            "smtp_user": "me@example.org",
            "email_to": "me@example.org",
        },
    ).smtp
    try:
        with pytest.raises(NotifyError) as caught:
            EmailNotifier(settings, store).send(message())
    finally:
        server.shutdown()
        server.server_close()
    port = server.server_address[1]
    assert caught.value.one_line() == (
        f"email (127.0.0.1): 127.0.0.1:{port} refused the login of 'me@example.org' (535) "
        "(check smtp_user, or store the password again with `trashscan check --set-smtp-password`)"
    )
    out, err = capfd.readouterr()
    assert "SECRETTOKEN" not in out + err


def test_email_apprise_url_carries_every_setting(tmp_path) -> None:
    from apprise.plugins.email import NotifyEmail

    store = FileSecretStore(tmp_path / "s.json", insecure_for_testing=True)
    settings = smtp_settings(email_to=["a@example.com", "d@example.net"], smtp_port=2525)
    url = EmailNotifier(settings, store).apprise_url("p@ss:/w?rd%#")
    parsed = NotifyEmail(**NotifyEmail.parse_url(url))
    assert (parsed.smtp_host, parsed.port, parsed.secure_mode) == (
        "smtp.example.org",
        2525,
        "starttls",
    )
    assert (parsed.user, parsed.password) == ("me@example.org", "p@ss:/w?rd%#")
    assert parsed.from_addr[1] == "me@example.org"
    assert [address for _, address in parsed.targets] == ["a@example.com", "d@example.net"]
    assert parsed.headers == {"Auto-Submitted": "auto-generated"}


# --- apprise -------------------------------------------------------------------------------------


def test_apprise_urls_parsing_and_labels() -> None:
    urls = parse_apprise_urls("# mine\n\ntgram://123:SECRET/456\n  ntfys://ntfy.sh/topic \n")
    assert urls == ["tgram://123:SECRET/456", "ntfys://ntfy.sh/topic"]
    channel, label = apprise_channel(urls[0])
    assert label == "apprise (tgram://)" and "SECRET" not in channel
    assert channel == apprise_channel(urls[0])[0]  # stable across runs
    with pytest.raises(Exception, match="line 2 is not a URL"):
        parse_apprise_urls("json://a\nnot a url SECRET\n")


def test_apprise_invalid_url_is_reported_without_the_url(capfd) -> None:
    notifier = AppriseNotifier("nosuchscheme://SECRET@host")
    with pytest.raises(NotifyError) as caught:
        notifier.send(message())
    assert "SECRET" not in caught.value.one_line()
    assert "nosuchscheme://" in caught.value.one_line()
    out, err = capfd.readouterr()  # Apprise's own warning names the URL: it stays in memory
    assert "SECRET" not in out + err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("jsons://hooks.example.org/x/SECRETTOKEN", "HTTP 500 from hooks.example.org"),
        ("slack://SECRETTOKEN/B000/C000", "HTTP 500 from slack://"),
    ],
)
def test_apprise_failure_is_one_line_without_secrets(url: str, shown: str) -> None:
    with responses.RequestsMock() as mock:
        mock.post(re.compile(r"https://.*"), status=500)
        with pytest.raises(NotifyError) as caught:
            AppriseNotifier(url).send(message())
    scheme = url.split(":")[0]
    assert caught.value.one_line() == f"apprise ({scheme}://): {shown}"


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
