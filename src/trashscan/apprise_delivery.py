"""Sending one message to one Apprise URL, and saying in one safe line why it failed.

Apprise logs as it works, and some of its lines hold the whole URL, token and all (its debug lines
name the URL it posts to; a ``requests`` error quotes it). So while it works, its logger writes
to a list in memory only: never to stderr, never to a handler of the application, never to disk
(its result logs are told to stay in memory, its persistent store too). From that list a failure
becomes one line: an HTTP status, an SMTP reply code, the operating system's reason, or Apprise's
own warning, with every secret of the URL replaced by ``***`` and control characters escaped.

Pictures (:mod:`trashscan.alert_pictures`) go only to a service that takes files, and whose way
of taking them suits an alert: the Apprise plugin declares ``attachment_support``, is not an
incoming Slack webhook (Slack takes no files there; Apprise only warns), does not push one
notification per file (ntfy, Pushover: a dozen pictures would be a dozen pushes), and is not told
``overflow=truncate`` (Apprise then keeps only the first file: our Discord webhook URL, cut to
Discord's 2,000 characters). Such a service is sent ``body_with_pictures`` and the files; any
other the plain ``body``, which says how to see the pictures instead.

``apprise`` is imported inside :func:`deliver`: ``trashscan --help`` never loads it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from trashscan.alert_pictures import Picture, attachment_files
from trashscan.apprise_urls import redact
from trashscan.safe_text import printable

_HTTP_STATUS = re.compile(r"\berror=(?P<code>\d{3})\b")
_SMTP_REPLY = re.compile(r"^\((?P<code>\d{3}), b?(?P<q>['\"])(?P<text>.*)(?P=q)\)$")
_OS_REASON = re.compile(r"\[Errno -?\d+\] (?P<text>[^'\")\]]+)")
_SOCKET = "Socket Exception: "
_ONE_PUSH_PER_FILE = frozenset({"ntfy", "ntfys", "pover"})  # Apprise's schemes of such services


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a delivery failed: ``reason`` is safe to show; ``smtp_code`` when a server said so."""

    reason: str
    smtp_code: int | None = None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a malformed record: nothing to learn from it
            self.lines.append((record.levelno, record.getMessage()))


@contextlib.contextmanager
def _apprise_logs_in_memory() -> Iterator[_Collect]:
    logger = logging.getLogger("apprise")
    collect = _Collect()
    saved = (logger.level, logger.propagate)
    logger.addHandler(collect)  # a handler of its own: Python's last-resort stderr one stays out
    logger.setLevel(logging.DEBUG)  # the SMTP reply and OS reason are only logged at debug
    logger.propagate = False
    try:
        yield collect
    finally:
        logger.removeHandler(collect)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _asset() -> object:
    import apprise

    return apprise.AppriseAsset(
        app_id="trashscan",  # the User-Agent and the footer some services show
        app_desc="trashscan",
        secure_logging=True,
        storage_mode="memory",
        result_log_disk_size=0,
    )


def deliver(
    url: str,
    *,
    title: str,
    body: str,
    urgent: bool,
    host: str,
    secrets: Iterable[str],
    strict: bool = True,
    pictures: Sequence[Picture] = (),
    body_with_pictures: str | None = None,
) -> Failure | None:
    """Send ``title`` and ``body`` (plain text, already escaped where data is quoted) to ``url``.

    Returns None when Apprise reports the delivery done, else the :class:`Failure`. ``host`` is
    named in HTTP failures; ``strict`` (for the URLs trashscan builds) also fails when Apprise
    warned while reading the URL, e.g. when it dropped an ``email_to`` address it cannot use.
    ``pictures`` are attached, with ``body_with_pictures`` as the body, where the service takes
    them (see the module docstring); their files are gone when this returns.
    """
    secrets = tuple(secrets)
    with _apprise_logs_in_memory() as logs:
        import apprise  # inside: even its import-time log lines stay in memory

        service = apprise.Apprise(asset=_asset())
        if not service.add(url):
            return Failure("not a valid Apprise URL (or its plugin is off)")
        warned = [line for level, line in logs.lines if level >= logging.WARNING]
        if strict and warned:
            return Failure(_safe(warned[-1].rstrip("."), secrets))
        logs.lines.clear()
        kind = apprise.NotifyType.FAILURE if urgent else apprise.NotifyType.WARNING
        with contextlib.ExitStack() as stack:
            attach = None
            if pictures and takes_pictures(service[0]):
                from apprise.attachment.file import AttachFile

                paths = stack.enter_context(attachment_files(pictures))
                attach = apprise.AppriseAttachment(
                    [
                        AttachFile(str(path), name=p.filename, mimetype=p.mimetype)
                        for path, p in zip(paths, pictures, strict=True)
                    ],
                    asset=service.asset,
                )
                body = body_with_pictures or body
            delivered = service.notify(
                body=body,
                title=title,
                notify_type=kind,
                body_format=apprise.NotifyFormat.TEXT,  # HTML/Markdown services get it escaped
                attach=attach,
            )
    if delivered:
        return None
    return _failure(logs.lines, host, secrets)


def takes_pictures(plugin: Any) -> bool:
    """Whether an Apprise plugin instance is sent the pictures (see the module docstring)."""
    if not getattr(plugin, "attachment_support", False):
        return False
    schemes = set()
    for attribute in ("protocol", "secure_protocol"):
        value = getattr(plugin, attribute, None) or ()
        schemes.update([value] if isinstance(value, str) else value)
    if schemes & _ONE_PUSH_PER_FILE:
        return False
    overflow = getattr(plugin, "overflow_mode", None)
    if str(getattr(overflow, "value", overflow)).lower() == "truncate":
        return False
    mode = str(getattr(plugin, "mode", "") or "").lower()
    return not ("slack" in schemes and "hook" in mode)


def _failure(lines: list[tuple[int, str]], host: str, secrets: tuple[str, ...]) -> Failure:
    warnings = [line for level, line in lines if level >= logging.WARNING]
    details = [
        line.removeprefix(_SOCKET)
        for level, line in lines
        if level < logging.WARNING and line.startswith(_SOCKET)
    ]
    detail = details[-1] if details else ""
    if smtp := _SMTP_REPLY.match(detail):
        said = f"answered {smtp['code']} {smtp['text'].strip()}".rstrip()
        return Failure(_safe(said, secrets), int(smtp["code"]))
    for warning in reversed(warnings):
        if status := _HTTP_STATUS.search(warning):
            return Failure(f"HTTP {status['code']} from {_safe(host, secrets)}")
    if reason := _OS_REASON.search(detail):
        return Failure(_safe(f"cannot reach {host}: {reason['text'].strip()}", secrets))
    if "timed out" in detail.lower():
        return Failure(_safe(f"cannot reach {host}: timed out", secrets))
    if warnings:
        return Failure(_safe(warnings[-1].rstrip("."), secrets))
    return Failure("delivery failed")


def _safe(text: str, secrets: tuple[str, ...]) -> str:
    return printable(redact(text, secrets))
