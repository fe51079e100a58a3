"""The [alerts] keys as Apprise URLs: the mapping table of trashscan.apprise_urls, and that
Apprise itself reads each URL back as meant (Slack and Discord are posted to fixed hosts, so
their wire is seen through ``responses`` in test_notify.py, not a local server)."""

from __future__ import annotations

import pytest

from trashscan.apprise_urls import (
    email_apprise_url,
    redact,
    secret_words,
    webhook_apprise_url,
    webhook_problem,
)


@pytest.mark.parametrize(
    ("url", "fmt", "urgent", "expected"),
    [
        ("http://127.0.0.1:8080/hook/TOK", "json", True, "json://127.0.0.1:8080/hook/TOK"),
        ("https://h.example.org", "json", False, "jsons://h.example.org/"),
        (
            "https://u:p%40w@h.example.org/x?a=1&b=c%20d",
            "json",
            False,
            "jsons://u:p%40w@h.example.org/x?-a=1&-b=c%20d",
        ),
        ("https://hooks.slack.com/services/T1/B2/C3", "slack", True, "slack://T1/B2/C3"),
        (
            "https://hooks.slack-gov.com/services/T1/B2/C3/",
            "slack",
            True,
            "slack://T1/B2/C3?mode=gov-hook",
        ),
        (
            "https://discord.com/api/webhooks/42/ab-C_d",
            "discord",
            True,
            "discord://42/ab-C_d?overflow=truncate",
        ),
        (
            "https://ptb.discordapp.com/api/webhooks/42/tok",
            "discord",
            False,
            "discord://42/tok?overflow=truncate",
        ),
        (
            "https://ntfy.sh/my-topic",
            "ntfy",
            True,
            "ntfys://ntfy.sh/my-topic?priority=high&tags=wastebasket",
        ),
        (
            "http://u:p@127.0.0.1:81/t",
            "ntfy",
            False,
            "ntfy://u:p@127.0.0.1:81/t?priority=default&tags=wastebasket",
        ),
    ],
)
def test_webhook_mapping(url: str, fmt: str, urgent: bool, expected: str) -> None:
    assert webhook_problem(url, fmt) is None
    assert webhook_apprise_url(url, fmt, urgent) == expected


def test_apprise_reads_the_webhook_urls_back() -> None:
    import apprise

    for url, fmt, service in [
        ("https://hooks.example.org/x", "json", "JSON"),
        ("https://hooks.slack-gov.com/services/T1/B2/C3", "slack", "Slack"),
        ("https://discord.com/api/webhooks/42/tok", "discord", "Discord"),
        ("https://ntfy.sh/topic", "ntfy", "ntfy"),
    ]:
        service_list = apprise.Apprise()
        assert service_list.add(webhook_apprise_url(url, fmt, True)), url
        assert service_list[0].service_name == service


@pytest.mark.parametrize(
    ("ssl", "starttls", "scheme", "mode"),
    [
        (True, False, "mailtos", "ssl"),
        (False, True, "mailtos", "starttls"),
        (False, False, "mailto", "insecure"),
    ],
)
def test_email_mapping_of_the_tls_modes(ssl: bool, starttls: bool, scheme: str, mode: str) -> None:
    from apprise.plugins.email import NotifyEmail

    mode_name = "ssl" if ssl else "starttls" if starttls else "insecure"
    url = email_apprise_url(
        host="smtp.example.org",
        port=2525,
        mode=mode_name,
        user="me@example.org",
        password="pw",
        sender="Trash <t@example.org>",
        recipients=["a@example.com"],
    )
    assert url.startswith(f"{scheme}://me%40example.org:pw@smtp.example.org:2525/a%40example.com?")
    email = NotifyEmail(**NotifyEmail.parse_url(url))
    assert (email.secure_mode, email.smtp_host, email.port) == (mode, "smtp.example.org", 2525)
    assert email.from_addr == ("Trash", "t@example.org")


def test_email_without_a_login_and_on_ipv6() -> None:
    url = email_apprise_url(
        host="::1",
        port=25,
        mode="insecure",
        user=None,
        password=None,
        sender="t@example.org",
        recipients=["a@example.com", "b@example.com"],
    )
    assert url.startswith("mailto://[::1]:25/a%40example.com/b%40example.com?smtp=%3A%3A1&")


def test_secret_words_and_redact() -> None:
    words = secret_words("jsons://user:hunter22@hooks.example.org/services/TOKEN123?k=VALUE99")
    assert {"hunter22", "TOKEN123", "VALUE99", "services", "user"} <= words
    assert "hooks.example.org" not in words
    assert "BOTTOKEN" in secret_words("tgram://BOTTOKEN/1234567")
    assert {"123456", "ABC-DEF"} <= secret_words("tgram://123456:ABC-DEF/1234567")
    line = redact("POST to hooks.example.org/services/TOKEN123 failed (hunter22)", words)
    assert line == "POST to hooks.example.org/***/*** failed (***)"
