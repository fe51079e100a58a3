"""Telling the user, outside the terminal, that trashed items are about to be purged.

What stays ours: the ``[alerts]`` settings, what a message says (:class:`Message`), and which
channels hear it; :mod:`trashscan.check` decides when (once per threshold and channel). Delivery
is Apprise's, the one path for every channel: the webhook (json, slack, discord, ntfy), e-mail
and the Apprise URLs from the keyring are each an Apprise URL (:mod:`trashscan.apprise_urls` has
the mapping), sent by :mod:`trashscan.apprise_delivery`. Each channel gets at most one message per
run, batching everything new, so a cron job never fires a request per item. A message may carry
the cached pictures of its most urgent items (:mod:`trashscan.alert_pictures`): a channel that
takes files gets them with :attr:`Message.text_with_pictures`, any other :attr:`Message.text`.

Secrets stay secret: the SMTP password and the Apprise URLs (which embed tokens) live in the
keyring under :data:`ALERTS_SERVICE`; the URLs holding them are built in memory at sending time.
Because webhook URLs can embed tokens too (Slack's do), no error, log line or label ever shows
more of a URL than its host. A channel that fails raises :class:`NotifyError` with one such safe
line; the caller reports it and carries on.

The healthcheck ping is a plain GET and stays a ``requests`` call. ``requests`` and ``apprise`` are
imported inside the functions that use them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from trashscan import apprise_urls
from trashscan.alert_pictures import UI_LINE, Picture
from trashscan.apprise_delivery import deliver
from trashscan.apprise_urls import WEBHOOK_FORMATS
from trashscan.errors import ConfigError, TrashscanError
from trashscan.models import SHORT_REF_LEN, IndexedItem
from trashscan.safe_text import printable
from trashscan.timeparse import parse_duration

if TYPE_CHECKING:
    from trashscan.retry import RetryPolicy
    from trashscan.secrets import SecretStore

ALERTS_SERVICE = "trashscan:alerts"
SMTP_PASSWORD_KEY = "smtp_password"
APPRISE_URLS_KEY = "apprise_urls"
DEFAULT_THRESHOLDS = ("7d", "3d", "1d")
UNKNOWN_AGE = "unknown-age"  # the alert of an item that may be purged any day (never a span)
UNRESTORABLE = "unrestorable"  # the one alert of an item its account cannot restore
NOT_RESTORABLE = "cannot be restored by this account"
HTTP_TIMEOUT = (5.0, 15.0)  # connect, read: a healthcheck ping must never stall a cron run
MAX_ITEMS_IN_MESSAGE = 50

_ALERT_KEYS = frozenset(
    {
        "thresholds",
        "webhook_url",
        "webhook_format",
        "smtp_host",
        "smtp_port",
        "smtp_user",
        "smtp_starttls",
        "smtp_ssl",
        "email_from",
        "email_to",
        "apprise",
        "healthcheck_url",
    }
)
# Keys someone might try; refused with a pointer to where the secret belongs, value never echoed.
_SECRET_ALERT_KEYS = {
    "smtp_password": "run `trashscan check --set-smtp-password`",
    "password": "run `trashscan check --set-smtp-password`",
    "apprise_urls": "run `trashscan check --set-apprise-urls` and set `apprise = true`",
}


class NotifyError(TrashscanError):
    """A channel could not deliver; the message is safe to show (no secret, no full URL)."""

    exit_code = 1


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class Threshold:
    """A point before the purge at which to warn; ``label`` is its bookkeeping key ("3d")."""

    label: str
    span: timedelta


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    starttls: bool
    ssl: bool
    sender: str
    recipients: tuple[str, ...]

    @property
    def mode(self) -> str:
        """Apprise's name for the transport security: ``ssl``, ``starttls`` or ``insecure``."""
        return "ssl" if self.ssl else "starttls" if self.starttls else "insecure"


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    thresholds: tuple[Threshold, ...] = ()  # largest span first
    webhook_url: str | None = None
    webhook_format: str = "json"
    smtp: SmtpSettings | None = None
    apprise: bool = False
    healthcheck_url: str | None = None

    @property
    def largest(self) -> timedelta:
        return self.thresholds[0].span if self.thresholds else timedelta(0)


def canonical_label(span: timedelta) -> str:
    """One label per span, so ``"168h"`` and ``"7d"`` share their bookkeeping."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_alerts(path: Path, table: Mapping[str, Any]) -> AlertsConfig:
    """Validate ``[alerts]``; every problem is one :class:`ConfigError` line naming the file.

    Never echoes a value: a URL may carry a token.
    """

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{path}: [alerts] {message}")

    for key in table:
        if key.lower() in _SECRET_ALERT_KEYS:
            raise fail(
                f"{key!r}: secrets belong in the keyring, not the config file "
                f"({_SECRET_ALERT_KEYS[key.lower()]})"
            )
        if key not in _ALERT_KEYS:
            raise fail(f"unknown key {key!r} (expected: {', '.join(sorted(_ALERT_KEYS))})")

    raw_thresholds = table.get("thresholds", list(DEFAULT_THRESHOLDS))
    if not isinstance(raw_thresholds, list) or not all(isinstance(t, str) for t in raw_thresholds):
        raise fail('thresholds must be a list of durations such as ["7d", "3d", "1d"]')
    spans: dict[str, timedelta] = {}
    for text in raw_thresholds:
        try:
            span = parse_duration(text)
        except TrashscanError:
            raise fail(f"thresholds: bad duration {text!r} (use e.g. 7d, 36h)") from None
        if span <= timedelta(0):
            raise fail(f"thresholds: {text!r} must be longer than zero")
        spans[canonical_label(span)] = span
    thresholds = tuple(
        Threshold(label, span) for label, span in sorted(spans.items(), key=lambda kv: -kv[1])
    )

    webhook_url = table.get("webhook_url")
    if webhook_url is not None and not _http_url(webhook_url):
        raise fail("webhook_url must be an http:// or https:// URL")
    webhook_format = table.get("webhook_format", "json")
    if webhook_format not in WEBHOOK_FORMATS:
        raise fail(f"webhook_format must be one of: {', '.join(WEBHOOK_FORMATS)}")
    if webhook_url is not None and (
        problem := apprise_urls.webhook_problem(webhook_url, webhook_format)
    ):
        raise fail(problem)

    healthcheck_url = table.get("healthcheck_url")
    if healthcheck_url is not None and not _http_url(healthcheck_url):
        raise fail("healthcheck_url must be an http:// or https:// URL")

    apprise = table.get("apprise", False)
    if not isinstance(apprise, bool):
        raise fail("apprise must be true or false")

    return AlertsConfig(
        thresholds=thresholds,
        webhook_url=webhook_url,
        webhook_format=webhook_format,
        smtp=_parse_smtp(table, fail),
        apprise=apprise,
        healthcheck_url=healthcheck_url.rstrip("/") if healthcheck_url else None,
    )


def _parse_smtp(table: Mapping[str, Any], fail: Any) -> SmtpSettings | None:
    smtp_keys = [k for k in table if k.startswith(("smtp_", "email_"))]
    host = table.get("smtp_host")
    if host is None:
        if smtp_keys:
            raise fail(f"{smtp_keys[0]} is set but smtp_host is not")
        return None
    if not isinstance(host, str) or not host.strip():
        raise fail("smtp_host must be a host name")
    for flag in ("smtp_starttls", "smtp_ssl"):
        if not isinstance(table.get(flag, False), bool):
            raise fail(f"{flag} must be true or false")
    use_ssl = table.get("smtp_ssl", False)
    starttls = table.get("smtp_starttls", not use_ssl)
    if use_ssl and starttls:
        raise fail("smtp_ssl and smtp_starttls exclude each other (ssl: port 465, starttls: 587)")
    port = table.get("smtp_port", 465 if use_ssl else 587 if starttls else 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise fail("smtp_port must be a port number")
    user = table.get("smtp_user")
    if user is not None and (not isinstance(user, str) or not user):
        raise fail("smtp_user must be a non-empty string")
    recipients = table.get("email_to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all(isinstance(r, str) and "@" in r for r in recipients)
    ):
        raise fail('email_to must be an address or a list of addresses (["me@example.org"])')
    sender = table.get("email_from", user)
    if not isinstance(sender, str) or "@" not in sender:
        raise fail("email_from must be an address (needed unless smtp_user is one)")
    return SmtpSettings(host.strip(), port, user, starttls, use_ssl, sender, tuple(recipients))


# ------------------------------------------------------------------------------------ message


@dataclass(frozen=True, slots=True)
class AlertItem:
    item: IndexedItem
    threshold: str  # the label of the threshold this alert is for


@dataclass(frozen=True, slots=True)
class AlertProblem:
    provider: str
    account: str
    detail: str
    hint: str | None = None


def days_left_text(item: IndexedItem, now: datetime) -> str:
    if item.purge_at is None:
        return "no purge date"
    days = (item.purge_at - now).total_seconds() / 86400
    if days < 0:
        return "overdue (its estimated purge date has passed)"
    if days < 1:
        return "less than a day left"
    whole = math.floor(days)
    return f"{whole} day left" if whole == 1 else f"{whole} days left"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True)
class Message:
    """One run's news for one channel; ``subject`` is ASCII (it may end up in an HTTP header)."""

    items: tuple[AlertItem, ...]
    problems: tuple[AlertProblem, ...]
    now: datetime
    urgent: bool  # an item is within the check's --critical window
    host: str = field(default_factory=socket.gethostname)
    pictures: tuple[Picture, ...] = ()  # of the most urgent items, for channels that take files
    unpictured: int = 0  # photos and videos listed without a picture (the "N more")

    @property
    def dated(self) -> tuple[AlertItem, ...]:
        return tuple(a for a in self.items if a.threshold not in (UNKNOWN_AGE, UNRESTORABLE))

    @property
    def unknown_age(self) -> tuple[AlertItem, ...]:
        """Items announced as "may be purged any day": nothing says when they were deleted."""
        return tuple(alert for alert in self.items if alert.threshold == UNKNOWN_AGE)

    @property
    def unrestorable(self) -> tuple[AlertItem, ...]:
        """Items their account cannot restore: said once, as news, not as a call to restore."""
        return tuple(alert for alert in self.items if alert.threshold == UNRESTORABLE)

    @property
    def subject(self) -> str:
        parts = []
        if self.dated:
            parts.append(f"{_plural(len(self.dated), 'trashed item')} will be purged soon")
        if self.unknown_age:
            parts.append(
                f"{_plural(len(self.unknown_age), 'trashed item')} of unknown age may be purged "
                "any day"
            )
        if self.unrestorable:
            parts.append(
                f"{_plural(len(self.unrestorable), 'trashed item')} cannot be restored by their "
                "account"
            )
        if self.problems:
            verb = "needs" if len(self.problems) == 1 else "need"
            parts.append(f"{_plural(len(self.problems), 'account')} {verb} attention")
        subject = "trashscan: " + "; ".join(parts)
        return subject.encode("ascii", "replace").decode("ascii")

    def item_line(self, alert: AlertItem, where: bool = True) -> str:
        """``where``: name the account (not needed under a heading that names it)."""
        item = alert.item
        mark = "~" if item.purge_is_estimate else ""
        purge = f"{mark}{item.purge_at:%Y-%m-%d %H:%M} UTC" if item.purge_at else "never"
        account = f" ({item.account}, {item.provider})" if where else ""
        return (
            f"- {item.name}{account}: "
            f"{days_left_text(item, self.now)}, purged {purge} [ref {item.ref[:SHORT_REF_LEN]}]"
        )

    def unknown_age_lines(self) -> list[str]:
        """One group per account: when each was deleted is unknown, so the purge may be any day
        (trashscan first saw them in the trash); each is gone by its date at the latest."""
        groups: dict[tuple[str, str], list[IndexedItem]] = {}
        for alert in self.unknown_age:
            groups.setdefault((alert.item.account, alert.item.provider), []).append(alert.item)
        lines: list[str] = []
        for (account, provider), items in groups.items():
            latest = max((i.purge_latest for i in items if i.purge_latest), default=None)
            by = f"; purged by {latest:%Y-%m-%d} at the latest" if latest else ""
            count = "1 item" if len(items) == 1 else f"{len(items)} items"
            lines += ["", f"{count} of unknown age in {account} ({provider}) may be purged any day"
                      f"{by}:"]  # fmt: skip
            for item in items[:MAX_ITEMS_IN_MESSAGE]:
                when = f"by {item.purge_latest:%Y-%m-%d}" if item.purge_latest else "any day"
                lines.append(f"- {item.name}: {when} [ref {item.ref[:SHORT_REF_LEN]}]")
            if len(items) > MAX_ITEMS_IN_MESSAGE:
                more = len(items) - MAX_ITEMS_IN_MESSAGE
                lines.append(f"- ... and {more} more (see `trashscan list`)")
        return lines

    def unrestorable_lines(self) -> list[str]:
        """One group per account and reason (the provider's words: Dropbox's ended recovery,
        Drive's missing permission), each item with its purge date."""
        groups: dict[tuple[str, str, str], list[AlertItem]] = {}
        for alert in self.unrestorable:
            item = alert.item
            reason = item.not_restorable_reason or ""
            groups.setdefault((item.account, item.provider, reason), []).append(alert)
        lines: list[str] = []
        for (account, provider, reason), alerts in groups.items():
            count = "1 item" if len(alerts) == 1 else f"{len(alerts)} items"
            why = f": {reason}" if reason else ""
            lines += ["", f"{count} in {account} ({provider}) {NOT_RESTORABLE}{why}"]
            for alert in alerts[:MAX_ITEMS_IN_MESSAGE]:
                lines.append(self.item_line(alert, where=False))
            if len(alerts) > MAX_ITEMS_IN_MESSAGE:
                more = len(alerts) - MAX_ITEMS_IN_MESSAGE
                lines.append(f"- ... and {more} more (see `trashscan list`)")
        return lines

    def _lines(self) -> list[str]:
        lines = [f"{self.subject} (on {self.host})."]
        if self.dated:
            lines += ["", "Restore them with `trashscan restore REF` before they are gone:"]
            shown = self.dated[:MAX_ITEMS_IN_MESSAGE]
            lines += [self.item_line(alert) for alert in shown]
            if len(self.dated) > len(shown):
                more = len(self.dated) - len(shown)
                lines.append(f"- ... and {more} more (see `trashscan list`)")
        lines += self.unknown_age_lines()
        lines += self.unrestorable_lines()
        if self.problems:
            lines += ["", "Accounts that need attention:"]
            for problem in self.problems:
                hint = f" Fix: {problem.hint}" if problem.hint else ""
                detail = problem.detail.rstrip(".")
                lines.append(f"- {problem.account} ({problem.provider}): {detail}.{hint}")
        if any(a.item.purge_is_estimate for a in self.dated + self.unrestorable):
            lines += ["", "~ marks an estimated date."]
        return lines

    def picture_lines(self) -> list[str]:
        """Which item each attached file shows (files are named by ref, never by the item)."""
        if not self.pictures:
            return []
        lines = ["", f"Pictures attached ({len(self.pictures)}, the most urgent first):"]
        lines += [
            f"- {p.filename}: {p.item.name} ({p.item.account}, {p.item.provider})"
            for p in self.pictures
        ]
        if self.unpictured:
            lines.append(f"- ... and {self.unpictured} more")
        return lines

    def _render(self, with_pictures: bool) -> str:
        lines = self._lines()
        if self.dated or self.unknown_age:  # items a person may still save: the gallery
            pictures = self.picture_lines() if with_pictures else []
            lines += [*pictures, UI_LINE] if pictures else ["", UI_LINE]
        # Names and provider messages are data: escaped, none can forge a line of the message.
        return "\n".join(printable(line) for line in lines) + "\n"

    @property
    def text(self) -> str:
        """For a channel that takes no attachments: no list of pictures, the way to see them."""
        return self._render(with_pictures=False)

    @property
    def text_with_pictures(self) -> str:
        """For a channel that is sent :attr:`pictures` as attachments."""
        return self._render(with_pictures=True)


# ---------------------------------------------------------------------------------- channels


class Notifier(Protocol):
    channel: str  # the bookkeeping key in the index's alerts table
    label: str  # what the user sees; never a secret

    def send(self, message: Message) -> None: ...


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


_DISCORD_MARKUP = re.compile(r"([\\*_~`|\[\]()<>@#:])")


def discord_text(text: str) -> str:
    """Discord renders markdown in webhook content (``[text](url)`` is a clickable link) and turns
    ``@everyone`` or ``<@id>`` into mentions; a backslash before such a character shows it
    literally. Apprise passes plain text to Discord as it is (and sets no ``allowed_mentions``),
    so the escaping is done here. https://discord.com/developers/docs/reference#message-formatting
    """
    return _DISCORD_MARKUP.sub(r"\\\1", text)


class WebhookNotifier:
    """``webhook_url`` in one of :data:`WEBHOOK_FORMATS`, sent as its Apprise URL.

    Slack's ``&``, ``<`` and ``>`` (mentions such as ``<!channel>``, links) are written as HTML
    entities by Apprise itself for a plain-text body; Discord's markup is escaped here.
    """

    channel = "webhook"

    def __init__(self, url: str, fmt: str = "json") -> None:
        self._url = url
        self._format = fmt
        self.label = f"webhook ({_host(url)})"

    def body(self, message: Message, with_pictures: bool = False) -> str:
        text = message.text_with_pictures if with_pictures else message.text
        return discord_text(text) if self._format == "discord" else text

    def send(self, message: Message) -> None:
        url = apprise_urls.webhook_apprise_url(self._url, self._format, message.urgent)
        failure = deliver(
            url,
            title=message.subject,
            body=self.body(message),
            urgent=message.urgent,
            host=_host(self._url),
            secrets=apprise_urls.secret_words(url) | apprise_urls.secret_words(self._url),
            pictures=message.pictures,
            body_with_pictures=self.body(message, with_pictures=True),
        )
        if failure is not None:
            raise NotifyError(f"{self.label}: {failure.reason}")


class EmailNotifier:
    """E-mail through Apprise's SMTP plugin; the password comes from the keyring at sending time.

    Apprise sends one copy per ``email_to`` address, each with only that address in ``To``.
    """

    channel = "email"

    def __init__(self, settings: SmtpSettings, secrets: SecretStore) -> None:
        self._settings = settings
        self._secrets = secrets
        self.label = f"email ({settings.host})"

    def _password(self) -> str:
        try:
            password = self._secrets.get(ALERTS_SERVICE, SMTP_PASSWORD_KEY)
        except TrashscanError as exc:
            raise NotifyError(f"{self.label}: cannot read the SMTP password: {exc}") from None
        if not password:
            raise NotifyError(
                f"{self.label}: smtp_user is set but no SMTP password is stored",
                hint="run `trashscan check --set-smtp-password`",
            )
        return password

    def apprise_url(self, password: str | None) -> str:
        s = self._settings
        return apprise_urls.email_apprise_url(
            host=s.host,
            port=s.port,
            mode=s.mode,
            user=s.user,
            password=password,
            sender=s.sender,
            recipients=s.recipients,
        )

    def send(self, message: Message) -> None:
        s = self._settings
        if s.user and not (s.ssl or s.starttls) and not _is_loopback(s.host):
            raise NotifyError(
                f"{self.label}: refusing to send the SMTP password without TLS",
                hint="set smtp_starttls = true or smtp_ssl = true under [alerts]",
            )
        password = self._password() if s.user else None
        failure = deliver(
            self.apprise_url(password),
            title=message.subject,
            body=message.text,
            urgent=message.urgent,
            host=s.host,
            secrets=[password] if password else [],
            pictures=message.pictures,
            body_with_pictures=message.text_with_pictures,
        )
        if failure is None:
            return
        where = f"{s.host}:{s.port}"
        if failure.smtp_code in (534, 535):
            raise NotifyError(
                f"{self.label}: {where} refused the login of {s.user!r} ({failure.smtp_code})",
                hint="check smtp_user, or store the password again with "
                "`trashscan check --set-smtp-password`",
            )
        raise NotifyError(f"{self.label}: {where} {failure.reason}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def apprise_channel(url: str) -> tuple[str, str]:
    """A stable bookkeeping key and a safe label for one Apprise URL (scheme plus a digest)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "?"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"apprise:{scheme}:{digest}", f"apprise ({scheme}://)"


def _apprise_host(url: str) -> str:
    """The host to name in an error: a real host name, else only the scheme (some services put
    a token where a URL has its host, ``tgram://BOTTOKEN/CHAT``)."""
    scheme = url.split("://", 1)[0].lower()
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host if "." in host else f"{scheme}://"


class AppriseNotifier:
    """One Apprise URL; each is its own channel, so one broken service never re-sends the rest."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.channel, self.label = apprise_channel(url)

    def send(self, message: Message) -> None:
        failure = deliver(
            self._url,
            title=message.subject,
            body=message.text,
            urgent=message.urgent,
            host=_apprise_host(self._url),
            secrets=apprise_urls.secret_words(self._url),
            strict=False,
            pictures=message.pictures,
            body_with_pictures=message.text_with_pictures,
        )
        if failure is not None:
            raise NotifyError(f"{self.label}: {failure.reason}")


class BrokenNotifier:
    """A channel that could not even be set up (e.g. the keyring is locked): fails when used."""

    def __init__(self, channel: str, label: str, error: str, hint: str | None = None) -> None:
        self.channel = channel
        self.label = label
        self._error = error
        self._hint = hint

    def send(self, message: Message) -> None:
        raise NotifyError(f"{self.label}: {self._error}", hint=self._hint)


def read_apprise_urls(secrets: SecretStore) -> list[str]:
    raw = secrets.get(ALERTS_SERVICE, APPRISE_URLS_KEY) or ""
    return parse_apprise_urls(raw)


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def parse_apprise_urls(text: str) -> list[str]:
    """One URL per line, blank lines and ``#`` comments skipped; errors name line numbers only."""
    urls = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _SCHEME_RE.match(line):
            raise TrashscanError(f"line {number} is not a URL (expected scheme://...)")
        urls.append(line)
    return urls


def build_notifiers(alerts: AlertsConfig, secrets: SecretStore) -> list[Notifier]:
    """The configured channels, in a fixed order; nothing is contacted here."""
    notifiers: list[Notifier] = []
    if alerts.webhook_url:
        notifiers.append(WebhookNotifier(alerts.webhook_url, alerts.webhook_format))
    if alerts.smtp is not None:
        notifiers.append(EmailNotifier(alerts.smtp, secrets))
    if alerts.apprise:
        try:
            urls = read_apprise_urls(secrets)
        except TrashscanError as exc:
            notifiers.append(
                BrokenNotifier("apprise", "apprise", f"cannot read the Apprise URLs: {exc}")
            )
        else:
            if not urls:
                notifiers.append(
                    BrokenNotifier(
                        "apprise",
                        "apprise",
                        "apprise = true but no Apprise URLs are stored",
                        hint="run `trashscan check --set-apprise-urls`",
                    )
                )
            notifiers.extend(AppriseNotifier(url) for url in urls)
    return notifiers


# -------------------------------------------------------------------------------- healthcheck


def notifier_retry() -> RetryPolicy:
    """Short: a ping gets a couple of quick retries, the next run retries the rest."""
    from trashscan.retry import RetryPolicy

    return RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0, max_total_wait=10.0)


def http_call(retry: RetryPolicy, method: str, url: str, what: str, **kwargs: Any) -> None:
    """One request through the shared retry policy; any failure is a host-only NotifyError."""
    import requests

    from trashscan import __version__

    host = _host(url)
    try:
        with requests.Session() as session:
            session.headers["User-Agent"] = f"trashscan/{__version__}"
            response = retry.request(session, method, url, timeout=HTTP_TIMEOUT, **kwargs)
            status = response.status_code
            response.close()
    except TrashscanError as exc:  # the retry policy's messages name the host only
        raise NotifyError(f"{what}: {exc}") from None
    except requests.RequestException as exc:  # str(exc) would contain the whole URL
        raise NotifyError(f"{what}: {type(exc).__name__} talking to {host}") from None
    if status >= 400:
        raise NotifyError(f"{what}: HTTP {status} from {host}")


class Healthcheck:
    """healthchecks.io-style pings: ``/start``, then the URL itself on success, ``/fail`` on 3.

    The pings carry no data (no file names leave the machine through a monitoring service).
    """

    def __init__(self, url: str, retry: RetryPolicy | None = None) -> None:
        self._url = url.rstrip("/")
        self._retry = retry or notifier_retry()
        self.label = f"healthcheck ping ({_host(url)})"

    def ping(self, suffix: str = "") -> str | None:
        """Ping ``url + suffix``; return a safe error line instead of raising."""
        try:
            http_call(self._retry, "GET", self._url + suffix, self.label)
        except NotifyError as exc:
            return exc.one_line()
        return None

    def start(self) -> str | None:
        return self.ping("/start")

    def finish(self, exit_code: int) -> str | None:
        return self.ping("/fail" if exit_code >= 3 else "")
