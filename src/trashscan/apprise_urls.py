"""The ``[alerts]`` keys turned into Apprise URLs: one delivery path for every channel.

trashscan decides what to say, to whom, and when (once per threshold, in :mod:`trashscan.check`);
Apprise delivers. The keys users already have keep working and map as follows:

=====================================================  ============================================
``[alerts]``                                           Apprise URL
=====================================================  ============================================
``webhook_url = "http(s)://[u:p@]host[:port]/path?q=v"``  ``json(s)://[u:p@]host[:port]/path?-q=v``
``webhook_format = "json"`` (default)                  (query parameters become ``-q=v``, which
                                                       Apprise sends back as the same query)
``webhook_url = "https://hooks.slack.com/services/A/B/C"``  ``slack://A/B/C``
``webhook_format = "slack"``                           (hooks.slack-gov.com: ``?mode=gov-hook``)
``webhook_url = "https://discord.com/api/webhooks/I/T"``  ``discord://I/T?overflow=truncate``
``webhook_format = "discord"``
``webhook_url = "http(s)://[u:p@]host[:port]/topic"``  ``ntfy(s)://[u:p@]host[:port]/topic``
``webhook_format = "ntfy"``                            ``?priority=high|default&tags=wastebasket``
``smtp_host, smtp_port, smtp_user, email_from,``       ``mailto(s)://user:PASSWORD@host:port/TO/TO``
``email_to`` and the SMTP password from the keyring    ``?smtp=host&from=FROM&mode=M&format=text``
                                                       ``&+Auto-Submitted=auto-generated``
``smtp_ssl = true`` / ``smtp_starttls = true`` / both  ``M`` = ``ssl`` / ``starttls`` / ``insecure``
false                                                  (``mailtos://`` for the first two)
``apprise = true``                                     the URLs stored in the keyring, as they are
=====================================================  ============================================

Apprise posts Slack and Discord messages to their own fixed hosts, so a ``slack`` or ``discord``
webhook must be such a URL: anything else is refused when the config is read, with a pointer to
``apprise = true`` and the service's own Apprise URL. An ntfy URL is a server and one topic.

The URLs carry secrets (the SMTP password, webhook tokens): they are built in memory when a message
is sent, handed to Apprise and dropped. Nothing here logs, and :func:`secret_words` lists what must
never appear in a line shown to the user. This module imports nothing heavy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

WEBHOOK_FORMATS = ("json", "slack", "discord", "ntfy")
SMTP_MODES = ("ssl", "starttls", "insecure")

# The incoming-webhook URLs Apprise itself recognises (its slack and discord parse_native_url).
_SLACK = re.compile(
    r"^https://hooks\.slack(?P<gov>-gov)?\.com/services/"
    r"(?P<a>[A-Za-z0-9]+)/(?P<b>[A-Za-z0-9]+)/(?P<c>[A-Za-z0-9]+)/?$"
)
_DISCORD = re.compile(
    r"^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/"
    r"(?P<id>[0-9]+)/(?P<token>[A-Za-z0-9_-]+)/?$"
)
_NTFY_TOPIC = re.compile(r"^/(?P<topic>[A-Za-z0-9_-]{1,64})/?$")  # ntfy's own topic rule
_REAL_HOST = re.compile(
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\]|localhost)(?::\d+)?"
)


def _http_parts(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def webhook_problem(url: str, fmt: str) -> str | None:
    """Why ``url`` cannot carry ``fmt`` messages, or None; never quotes the URL (tokens)."""
    parts = _http_parts(url)
    if parts is None:
        return "webhook_url must be an http:// or https:// URL"
    other = "for another service set `apprise = true` and store its Apprise URL"
    if fmt == "slack" and not _SLACK.match(url):
        return (
            "webhook_format = slack needs a Slack incoming-webhook URL "
            f"(https://hooks.slack.com/services/...); {other}"
        )
    if fmt == "discord" and not _DISCORD.match(url):
        return (
            "webhook_format = discord needs a Discord webhook URL "
            f"(https://discord.com/api/webhooks/...); {other}"
        )
    if fmt == "ntfy" and (parts.query or not _NTFY_TOPIC.match(parts.path)):
        return "webhook_format = ntfy needs a server and one topic (https://ntfy.sh/TOPIC)"
    return None


def webhook_apprise_url(url: str, fmt: str, urgent: bool) -> str:
    """The Apprise URL for a ``webhook_url`` already accepted by :func:`webhook_problem`."""
    if fmt == "slack":
        slack = _SLACK.match(url)
        assert slack is not None
        gov = "?mode=gov-hook" if slack["gov"] else ""
        return f"slack://{slack['a']}/{slack['b']}/{slack['c']}{gov}"
    if fmt == "discord":
        discord = _DISCORD.match(url)
        assert discord is not None
        # Discord refuses content over 2000 characters: cut, as the old sender did.
        return f"discord://{discord['id']}/{discord['token']}?overflow=truncate"
    parts = _http_parts(url)
    assert parts is not None
    secure = "s" if parts.scheme == "https" else ""
    if fmt == "ntfy":
        priority = "high" if urgent else "default"
        return f"ntfy{secure}://{parts.netloc}{parts.path}?priority={priority}&tags=wastebasket"
    # json: Apprise's own parameters (format, method, ...) are plain names; a "-" in front marks
    # the webhook's own query parameters, which Apprise sends on unchanged.
    query = "&".join(
        f"-{quote(key, safe='')}={quote(value, safe='')}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"json{secure}://{parts.netloc}{parts.path or '/'}" + (f"?{query}" if query else "")


def email_apprise_url(
    *,
    host: str,
    port: int,
    mode: str,
    user: str | None,
    password: str | None,
    sender: str,
    recipients: Iterable[str],
) -> str:
    """``mailto(s)://``: Apprise's e-mail plugin, told every setting (its provider templates,
    which guess a server from the sender's domain, never apply once ``smtp=`` is given)."""
    if mode not in SMTP_MODES:
        raise ValueError(f"unknown SMTP mode {mode!r}")
    scheme = "mailto" if mode == "insecure" else "mailtos"
    auth = ""
    if user:
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        auth += "@"
    server = f"[{host}]" if ":" in host else host
    to = "/".join(quote(address, safe="") for address in recipients)
    query = (
        f"smtp={quote(host, safe='')}&from={quote(sender, safe='')}&mode={mode}&format=text"
        "&+Auto-Submitted=auto-generated"
    )
    return f"{scheme}://{auth}{server}:{port}/{to}?{query}"


def secret_words(url: str) -> set[str]:
    """The pieces of an Apprise URL that may be secrets, for :func:`redact`: the URL itself, its
    user and password, each path segment and query value (4 characters or more), and the host
    part unless it is a real host name (``tgram://BOT:TOKEN/CHAT`` puts a token there)."""
    words = {url}
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return words
    host = parts.netloc.rpartition("@")[2]
    if not _REAL_HOST.fullmatch(host):
        words.add(host)
        words.update(host.split(":"))
    words.update(w for w in (username, password) if w)
    words.update(parts.path.split("/"))
    words.update(value for _, value in parse_qsl(parts.query, keep_blank_values=True))
    words.update([unquote(w) for w in words])
    return {w for w in words if len(w) >= 4}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (longest first) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text
