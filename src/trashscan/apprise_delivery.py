"""Sending one message to one Apprise URL, and saying in one safe line why it failed.

Apprise logs as it works, and some of its lines hold the whole URL, token and all (its debug lines
name the URL it posts to; a ``requests`` error quotes it). So while it works, its logger writes
to a list in memory only: never to stderr, never to a handler of the application, never to disk
(its result logs are told to stay in memory, its persistent store too). From that list a failure
becomes one line: an HTTP status, an SMTP reply code, the operating system's reason, or Apprise's
own warning, with every secret of the URL replaced by ``***`` and control characters escaped.

``apprise`` is imported inside :func:`deliver`: ``trashscan --help`` never loads it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from trashscan.apprise_urls import redact
from trashscan.safe_text import printable

_HTTP_STATUS = re.compile(r"\berror=(?P<code>\d{3})\b")
_SMTP_REPLY = re.compile(r"^\((?P<code>\d{3}), b?(?P<q>['\"])(?P<text>.*)(?P=q)\)$")
_OS_REASON = re.compile(r"\[Errno -?\d+\] (?P<text>[^'\")\]]+)")
_SOCKET = "Socket Exception: "


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
) -> Failure | None:
    """Send ``title`` and ``body`` (plain text, already escaped where data is quoted) to ``url``.

    Returns None when Apprise reports the delivery done, else the :class:`Failure`. ``host`` is
    named in HTTP failures; ``strict`` (for the URLs trashscan builds) also fails when Apprise
    warned while reading the URL, e.g. when it dropped an ``email_to`` address it cannot use.
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
        delivered = service.notify(
            body=body,
            title=title,
            notify_type=kind,
            body_format=apprise.NotifyFormat.TEXT,  # HTML/Markdown services get it escaped
        )
    if delivered:
        return None
    return _failure(logs.lines, host, secrets)


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
