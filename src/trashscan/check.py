"""``trashscan check``: scan, then judge what is about to be purged and who has to hear about it.

The verdict follows the monitoring-plugin convention (Nagios, Icinga, Sensu) so that cron, systemd
and any monitoring system understand it without glue: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

* CRITICAL: an item's purge falls within ``--critical`` (an item its account can restore);
* WARNING: such an item's purge falls within ``--within``, or an account failed or needs attention
  (an account nobody can scan is an account whose purges nobody sees);
* UNKNOWN: the check itself could not run: bad config, or no account could be scanned.

The purge date used is the index's, which for estimates is the earliest plausible one. An item
of unknown age (first seen in the trash, nothing says since when) may be purged any day, for up
to the whole retention: it is reported (a WARNING), but CRITICAL, like any alarm about it, goes
by its latest plausible purge, when it will surely be gone; otherwise every run would cry wolf.
Items of an account that failed this time still count, from its earlier scans: a stale warning
beats silence.

Notifications are independent of ``--within``: the ``[alerts] thresholds`` (7d, 3d, 1d) decide
when each item is announced, once per threshold and channel, recorded in the index's alerts table
only after that channel delivered. A channel that failed therefore tries again next run, without
repeating what the others already delivered. An item of unknown age is announced once when first
seen, grouped per account ("may be purged any day; by DATE at the latest"), then at the
thresholds before its latest purge. Account problems are announced at most once a day. A message
carries the cached pictures of the most urgent items it lists (:func:`alert_pictures`,
:mod:`trashscan.alert_pictures`).

An item its account cannot restore (Dropbox ``is_restorable: false``, Drive ``canUntrash:
false``, a local-trash entry whose place a restore may not write to: the index's ``restorable``
and ``not_restorable_reason``) is not due in the sense of the verdict: nothing this account can
do through trashscan saves it, so an alarm on every run would only teach the person to ignore
the check. It is reported once, as "cannot be restored by this account", grouped per account
with the reason: by the printed report the first time a check finds it within ``--within``
(even under ``--quiet``, so cron mails it once), and by each channel the first time it is within
the largest threshold; both are recorded in the alerts table, the report under
:data:`REPORT_CHANNEL`. It never makes the check WARNING or CRITICAL; the summary line still
counts it (so "nothing will be purged" is never said of it), and ``--format json`` lists it
under ``unrestorable`` on every run. Should the account later become able to restore it, it is
an ordinary item again, alerted by its thresholds.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from trashscan.alert_pictures import choose
from trashscan.config import Config
from trashscan.deadline import DaemonPool, Deadline
from trashscan.errors import TrashscanError
from trashscan.index import Index, ItemFilter
from trashscan.lock import FileLock, default_wait, is_busy_message
from trashscan.models import SHORT_REF_LEN, Account, AuthStatus, IndexedItem, Kind
from trashscan.notify import (
    NOT_RESTORABLE,
    UNKNOWN_AGE,
    UNRESTORABLE,
    AlertItem,
    AlertProblem,
    AlertsConfig,
    Message,
    Notifier,
    NotifyError,
)
from trashscan.output import as_record, purge_cell, write_jsonl
from trashscan.plugins import load_provider_class
from trashscan.provider import ProviderContext
from trashscan.safe_text import json_text, printable
from trashscan.scanner import AccountScanResult, Scanner, describe_error
from trashscan.timeparse import iso

AUTH_WAIT = 30.0  # seconds the credential checks get at least, even when the deadline is spent
MAX_ITEM_LINES = 25  # in the text summary; the rest is one "... and N more" line
NOTIFY_BUSY = "skipped: another trashscan run is sending them"
REPORT_CHANNEL = "check-report"  # the alerts-table channel of the check's own printed report

log = logging.getLogger(__name__)


class Status(enum.IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class CheckOptions:
    within: timedelta
    critical: timedelta
    kinds: frozenset[Kind]
    notify: bool = True
    thumbnails: bool = True  # fetch the pictures the alerts' thumbnail cache lacks
    within_text: str = "3d"  # as the user typed them, for the summary
    critical_text: str = "1d"


@dataclass(frozen=True)
class AccountCheck:
    scan: AccountScanResult
    auth: AuthStatus | None  # None: the provider could not even be loaded

    @property
    def account(self) -> Account:
        return self.scan.account

    @property
    def failed(self) -> bool:
        return not self.scan.ok

    @property
    def lock_busy(self) -> bool:
        """Failed only because another run is scanning it: reported, never notified."""
        return self.failed and is_busy_message(self.scan.error)

    @property
    def auth_attention(self) -> bool:
        """``ok`` with a hint is a warning ahead of time (a token that expires in two days)."""
        return self.auth is not None and (not self.auth.ok or self.auth.hint is not None)

    @property
    def needs_attention(self) -> bool:
        return self.failed or bool(self.scan.partial) or self.auth_attention

    def problem(self) -> AlertProblem | None:
        parts = []
        if self.failed:
            parts.append(f"scan failed: {self.scan.error}")
        elif self.scan.partial:  # the rest was listed; this part keeps its last listing
            parts.append(f"partly listed: {self.scan.partial}")
        if self.auth_attention and self.auth is not None:
            detail = self.auth.detail or ("they do not work" if not self.auth.ok else "act soon")
            if not parts or detail not in parts[0]:
                parts.append(f"credentials: {detail}")
        if not parts:
            return None
        detail = "; ".join(parts)
        hint = self.auth.hint if self.auth is not None else None
        if hint and hint in detail:  # our errors' one-line form already carries their hint
            hint = None
        return AlertProblem(self.account.provider, self.account.name, detail, hint)


@dataclass(frozen=True)
class Delivery:
    label: str
    items: int = 0
    accounts: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CheckReport:
    """``items`` may be given every trashed item within ``--within``: those their account
    cannot restore are moved to ``unrestorable``, so that no verdict can count them as due."""

    now: datetime
    options: CheckOptions
    accounts: list[AccountCheck]
    items: list[IndexedItem]  # trashed, restorable, purge within options.within, soonest first
    deliveries: list[Delivery] = field(default_factory=list)
    unrestorable: list[IndexedItem] = field(default_factory=list)  # same window, soonest first
    reported: frozenset[str] = frozenset()  # refs of those an earlier report already showed

    def __post_init__(self) -> None:
        given = self.items
        self.items = [item for item in given if item.restorable]
        self.unrestorable = self.unrestorable + [item for item in given if not item.restorable]

    @property
    def new_unrestorable(self) -> list[IndexedItem]:
        """What this report is the first to say cannot be restored."""
        return [item for item in self.unrestorable if item.ref not in self.reported]

    def is_critical(self, item: IndexedItem) -> bool:
        due = alarm_date(item)
        return due is not None and due <= self.now + self.options.critical

    @property
    def critical_items(self) -> list[IndexedItem]:
        return [item for item in self.items if self.is_critical(item)]

    @property
    def status(self) -> Status:
        listable = [a for a in self.accounts if a.scan.listed or a.failed]
        if listable and all(a.failed for a in listable):
            return Status.UNKNOWN
        if self.critical_items:
            return Status.CRITICAL
        if self.items or any(a.needs_attention for a in self.accounts):
            return Status.WARNING
        return Status.OK


def alarm_date(item: IndexedItem) -> datetime | None:
    """The purge date alarms go by: the earliest plausible one, except for an item of unknown
    age, which may be purged any day: there, the latest, when it surely will be."""
    return item.purge_latest if item.age_unknown else item.purge_at


# ------------------------------------------------------------------------------------ running


def check_auths(
    context: ProviderContext,
    accounts: Sequence[Account],
    concurrency: int,
    wait: float | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[AuthStatus | None]:
    """Every account's cheap, non-prompting credential check, a few at a time.

    ``wait`` bounds the whole (None: no bound): a check still running then is left behind on its
    daemon thread and reported as unanswered. Accounts in ``skip`` (their scan ran out of time,
    so their service is not answering) are not checked: None, like a provider that cannot load.
    """
    answers: dict[int, AuthStatus | None] = {}
    arrived = threading.Condition()

    def one(number: int, account: Account) -> None:
        status: AuthStatus | None
        try:
            provider = load_provider_class(account.provider)(context)
        except TrashscanError:
            status = None  # the scan already reported it
        else:
            try:
                status = provider.check_auth(account)
            except Exception as exc:  # a plugin bug must not stop the check of the others
                status = AuthStatus(ok=False, detail=describe_error(exc))
        with arrived:
            answers[number] = status
            arrived.notify_all()

    todo = [(n, a) for n, a in enumerate(accounts) if a.name not in skip]
    pool = DaemonPool(max(1, min(concurrency, len(todo) or 1)), "auth")
    for number, account in todo:
        pool.submit(one, number, account)
    ends = None if wait is None else time.monotonic() + wait
    with arrived:
        while len(answers) < len(todo):
            left = None if ends is None else ends - time.monotonic()
            if left is not None and left <= 0:
                break
            arrived.wait(left)
        pool.close()
        late = AuthStatus(ok=False, detail="the credential check did not answer in time")
        return [None if a.name in skip else answers.get(n, late) for n, a in enumerate(accounts)]


def run_check(
    index: Index,
    context: ProviderContext,
    config: Config,
    accounts: Sequence[Account],
    options: CheckOptions,
    alerts: AlertsConfig,
    notifiers: Sequence[Notifier] = (),
    lock_wait: float | None = None,
    deadline: Deadline | None = None,
) -> CheckReport:
    """Scan first (the verdict must be about today's trash), then ask each provider about its
    credentials, which catches what a successful scan cannot: a token about to expire.

    Both are bounded by ``deadline`` (the credential checks get at least :data:`AUTH_WAIT`), so
    that a cron check always reaches its verdict."""
    ends = deadline.ends() if deadline is not None else None
    scanner = Scanner(index, context, config.concurrency, lock_wait=lock_wait, deadline=deadline)
    results = scanner.scan(accounts)
    wait = None if ends is None else max(ends - time.monotonic(), AUTH_WAIT)
    abandoned = frozenset(r.account.name for r in results if r.abandoned)
    auths = check_auths(context, accounts, config.concurrency, wait, abandoned)
    now = context.clock()
    item_filter = ItemFilter(
        accounts=tuple((a.provider, a.name) for a in accounts),
        kinds=options.kinds,
        expiring_within=options.within,
    )
    report = CheckReport(
        now=now,
        options=options,
        accounts=[AccountCheck(r, a) for r, a in zip(results, auths, strict=True)],
        items=index.items(item_filter, now),
    )
    report.reported = record_reported(index, report)
    if options.notify and notifiers:
        read = alert_pictures(index, context, config, results, options, ends)
        wait = default_wait() if lock_wait is None else lock_wait
        report.deliveries = notify(
            index, context.data_dir, report, alerts, notifiers, wait, read=read
        )
    return report


def alert_pictures(
    index: Index,
    context: ProviderContext,
    config: Config,
    results: Sequence[AccountScanResult],
    options: CheckOptions,
    ends: float | None,
) -> Callable[[IndexedItem], bytes | None]:
    """How the alerts read pictures: from the thumbnail cache only, after filling it for the
    accounts just scanned through its own fetch (soonest purge first, ``[thumbnails] per_run``
    per account), within what is left of the deadline and at most the cache's own phase.

    Fetched here because a scheduled ``check`` may be the only run there is (``trashscan
    schedule`` installs nothing else): without it, alerts would show pictures only to those who
    also run ``scan``. ``--no-thumbnails`` or ``[thumbnails] enabled = false`` leave the cache
    as it is. Nothing here can fail the check: a picture that is not cached is not attached.
    """
    from trashscan.thumbnails import PHASE_SECONDS, ThumbnailCache, ThumbnailFetch

    try:
        cache = ThumbnailCache.open(config.thumbnails.max_mb, config.data_dir)
    except OSError as exc:
        log.info("no pictures for the alerts: %s", exc)
        return lambda item: None
    scanned = [r for r in results if r.ok and r.listed]
    left = PHASE_SECONDS if ends is None else min(PHASE_SECONDS, ends - time.monotonic())
    if options.thumbnails and config.thumbnails.enabled and scanned and left > 0:
        fetch = ThumbnailFetch(
            index,
            context,
            cache,
            per_run=config.thumbnails.per_run,
            concurrency=config.concurrency,
            seconds=left,
        )
        sources = {r.account.name: r.thumbnail_sources for r in scanned}
        try:
            for done in fetch.run(
                [r.account for r in scanned], sources, context.clock(), config.accounts
            ):
                if done.error or done.failed:
                    log.info("thumbnails of %s: %s", done.account.name, done.error or done.problems)
        except Exception as exc:  # pictures are a courtesy: never the reason an alert is lost
            log.info("no thumbnails fetched for the alerts: %s", describe_error(exc))

    def read(item: IndexedItem) -> bytes | None:
        try:
            return cache.read(item)
        except OSError:
            return None

    return read


def record_reported(index: Index, report: CheckReport) -> frozenset[str]:
    """Which unrestorable items an earlier check's report already showed; this report's news is
    recorded now (before it is printed: a report cut short loses its notice, never repeats it).
    """
    refs = [item.ref for item in report.unrestorable]
    sent = index.alerts_sent(refs) if refs else {}
    before = frozenset(
        ref for ref in refs if UNRESTORABLE in sent.get(ref, {}).get(REPORT_CHANNEL, set())
    )
    for ref in refs:
        if ref not in before:
            index.record_alert(ref, UNRESTORABLE, REPORT_CHANNEL, report.now)
    return before


# ------------------------------------------------------------------------------ notifications


def problem_ref(account: Account) -> str:
    """A key in the alerts table for an account, which can never equal an item's ref."""
    key = f"account-problem\0{account.provider}\0{account.name}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def smallest_crossed(item: IndexedItem, alerts: AlertsConfig, now: datetime) -> str | None:
    """The smallest threshold the item is within: first seen 2 days out, it gets "3d" only."""
    due = alarm_date(item)
    if due is None:
        return None
    crossed = [t.label for t in alerts.thresholds if due <= now + t.span]
    return crossed[-1] if crossed else None  # thresholds run largest first


def item_alert(
    item: IndexedItem, alerts: AlertsConfig, now: datetime, sent: set[str]
) -> str | None:
    """The label to announce ``item`` under now, given the labels a channel already has.

    An item of unknown age is announced once as such, then like any item by its latest date. An
    item its account cannot restore is announced once as such, and never by a threshold.
    """
    if not item.restorable:
        return None if UNRESTORABLE in sent else UNRESTORABLE
    if item.age_unknown and UNKNOWN_AGE not in sent:
        return UNKNOWN_AGE
    label = smallest_crossed(item, alerts, now)
    return None if label is None or label in sent else label


def notify(
    index: Index,
    data_dir: Path,
    report: CheckReport,
    alerts: AlertsConfig,
    notifiers: Sequence[Notifier],
    lock_wait: float,
    read: Callable[[IndexedItem], bytes | None] | None = None,
) -> list[Delivery]:
    """Send each channel what it has not had yet, one message per channel, then record it.

    Under a lock, so a cron run and a manual check running together never both send the same
    news: the second one sees the first one's records. ``read`` gives the cached picture of an
    item (see :func:`alert_pictures`); without it, messages carry no pictures.
    """
    lock = FileLock(Path(data_dir) / "locks" / "notify.lock")
    if not lock.acquire(lock_wait):
        return [Delivery("notifications", error=NOTIFY_BUSY)]
    try:
        return _notify_locked(index, report, alerts, notifiers, read)
    finally:
        lock.release()


def _notify_locked(
    index: Index,
    report: CheckReport,
    alerts: AlertsConfig,
    notifiers: Sequence[Notifier],
    read: Callable[[IndexedItem], bytes | None] | None,
) -> list[Delivery]:
    now = report.now
    candidates: list[IndexedItem] = []
    if alerts.thresholds:
        item_filter = ItemFilter(
            accounts=tuple((a.account.provider, a.account.name) for a in report.accounts),
            kinds=report.options.kinds,
            expiring_within=alerts.largest,
        )
        candidates = index.items(item_filter, now)
    problems = [
        (problem_ref(a.account), problem)
        for a in report.accounts
        if not a.lock_busy and (problem := a.problem()) is not None
    ]
    day = f"acct:{now:%Y-%m-%d}"  # account problems: at most once a day per channel
    sent = index.alerts_sent([i.ref for i in candidates] + [r for r, _ in problems])
    deliveries = []
    for notifier in notifiers:
        had = {item.ref: sent.get(item.ref, {}).get(notifier.channel, set()) for item in candidates}
        labels = [(item, item_alert(item, alerts, now, had[item.ref])) for item in candidates]
        new_items = [AlertItem(item, label) for item, label in labels if label is not None]
        new_problems = [
            (r, p) for r, p in problems if day not in sent.get(r, {}).get(notifier.channel, set())
        ]
        if not new_items and not new_problems:
            continue
        savable = [a.item for a in new_items if a.threshold != UNRESTORABLE]
        pictures, unpictured = choose(savable, read) if read is not None else ((), 0)
        message = Message(
            items=tuple(new_items),
            problems=tuple(p for _, p in new_problems),
            now=now,
            urgent=any(report.is_critical(a.item) for a in new_items if a.item.restorable),
            pictures=pictures,
            unpictured=unpictured,
        )
        try:
            notifier.send(message)
        except NotifyError as exc:
            deliveries.append(Delivery(notifier.label, error=exc.one_line()))
            continue
        except Exception as exc:  # never let one channel's bug hide the verdict
            error = f"{notifier.label}: unexpected {type(exc).__name__}"
            deliveries.append(Delivery(notifier.label, error=error))
            continue
        for alert in new_items:
            index.record_alert(alert.item.ref, alert.threshold, notifier.channel, now)
        for ref, _ in new_problems:
            index.record_alert(ref, day, notifier.channel, now)
        deliveries.append(Delivery(notifier.label, len(new_items), len(new_problems)))
    return deliveries


# ---------------------------------------------------------------------------------- rendering


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary_line(report: CheckReport) -> str:
    """The first line, the one a cron mail subject or a monitoring dashboard shows."""
    status = report.status
    options = report.options
    failed = sum(1 for a in report.accounts if a.failed)
    attention = sum(1 for a in report.accounts if a.auth_attention and not a.failed)
    scope = f"{_plural(len(report.accounts), 'account')} checked"
    if failed:
        scope += f", {failed} failed"
    if attention:
        scope += f", {attention} {'needs' if attention == 1 else 'need'} attention"
    count = len(report.items) + len(report.unrestorable)
    known = [item for item in report.items if not item.age_unknown]
    unknown = [item for item in report.items if item.age_unknown]
    parts = []
    if known:
        head = f"{_plural(len(known), 'trashed item')} will be purged within {options.within_text}"
        critical = sum(1 for item in known if report.is_critical(item))
        if critical:
            which = "all" if critical == len(known) else f"{critical} of them"
            head += f", {which} within {options.critical_text}"
        parts.append(head)
    if unknown:
        head = f"{_plural(len(unknown), 'trashed item')} of unknown age may be purged any day"
        critical = sum(1 for item in unknown if report.is_critical(item))
        if critical:
            which = "all" if critical == len(unknown) else f"{critical} of them"
            head += f", {which} within {options.critical_text} at the latest"
        parts.append(head)
    if report.unrestorable:  # not due (no verdict counts them), but never "nothing" either
        lost = _plural(len(report.unrestorable), "trashed item")
        parts.append(f"{lost} that cannot be restored will be purged within {options.within_text}")
    head = "; ".join(parts) or f"nothing will be purged within {options.within_text}"
    if status is Status.UNKNOWN:
        known = f"; from earlier scans, {head}" if count else ""
        return f"UNKNOWN: no account could be scanned ({scope}){known}"
    return f"{status.name}: {head}; {scope}"


def _item_cells(item: IndexedItem, now: datetime) -> str:
    purge, left = purge_cell(item, now)
    return f"{left:>8}  {purge:<11}  {item.ref[:SHORT_REF_LEN]}  {item.name}"


def _unrestorable_lines(news: Sequence[IndexedItem], now: datetime, within: str) -> list[str]:
    """Grouped per account and reason: a heading, then the items, indented."""
    groups: dict[tuple[str, str, str], list[IndexedItem]] = {}
    for item in news:
        key = (item.account, item.provider, item.not_restorable_reason or "")
        groups.setdefault(key, []).append(item)
    lines = []
    shown = 0
    for (account, provider, reason), items in groups.items():
        why = f": {reason}" if reason else ""
        count = _plural(len(items), "item")
        lines.append(f"  {'cannot':<9} {account} ({provider}): {count} {NOT_RESTORABLE}{why}")
        for item in items[: max(MAX_ITEM_LINES - shown, 0)]:
            lines.append(f"{'':6}  {_item_cells(item, now)}")
            shown += 1
    if len(news) > shown:
        more = len(news) - shown
        lines.append(f"  ... and {more} more: trashscan list --within {within}")
    return lines


def render_text(report: CheckReport, out: IO[str], quiet: bool = False) -> None:
    """Compact, so that cron's mail of it is useful by itself; ``quiet``: nothing when OK and
    nothing is news (items that cannot be restored, said once, are news even then)."""
    news = report.new_unrestorable
    if quiet and report.status is Status.OK and not news:
        return
    lines = [summary_line(report)]
    within = report.options.within_text
    for item in report.items[:MAX_ITEM_LINES]:
        level = "crit" if report.is_critical(item) else "warn"
        where = f"({item.account}, {item.provider})"
        if item.age_unknown and item.purge_latest is not None:
            where += f": age unknown, purged by {item.purge_latest:%Y-%m-%d} at the latest"
        lines.append(f"  {level}  {_item_cells(item, report.now)} {where}")
    if len(report.items) > MAX_ITEM_LINES:
        more = len(report.items) - MAX_ITEM_LINES
        lines.append(f"  ... and {more} more: trashscan list --within {within}")
    lines += _unrestorable_lines(news, report.now, within)
    for check in report.accounts:
        name = f"{check.account.name} ({check.account.provider})"
        problem = check.problem()
        if problem is not None:
            label = "failed" if check.failed else "attention"
            hint = f" -> {problem.hint}" if problem.hint else ""
            lines.append(f"  {label:<9} {name}: {problem.detail}{hint}")
        if check.scan.notice:
            lines.append(f"  {'note':<9} {name}: {check.scan.notice}")
    for delivery in report.deliveries:
        if delivery.ok:
            news = [_plural(delivery.items, "item")] if delivery.items else []
            news += [_plural(delivery.accounts, "account problem")] if delivery.accounts else []
            lines.append(f"  {'notified':<9} {delivery.label}: {', '.join(news)}")
    if report.items:
        lines.append(
            "~ marks an estimate, ≤ a date at the latest. Restore with `trashscan restore REF`."
        )
    elif news:
        lines.append("~ marks an estimate, ≤ a date at the latest.")
    # Names, paths and provider errors are data: escaped, none can forge a line of the report.
    out.write("\n".join(printable(line) for line in lines) + "\n")


def report_json(report: CheckReport) -> dict[str, Any]:
    def account(check: AccountCheck) -> dict[str, Any]:
        auth = check.auth
        return {
            "account": check.account.name,
            "provider": check.account.provider,
            "scanned": check.scan.ok and check.scan.listed,
            "items_scanned": check.scan.items,
            "error": check.scan.error,
            "notice": check.scan.notice,
            "partial": check.scan.partial,
            "auth_ok": None if auth is None else auth.ok,
            "auth_detail": None if auth is None else auth.detail,
            "hint": None if auth is None else auth.hint,
            "needs_attention": check.needs_attention,
        }

    return {
        "status": report.status.name.lower(),
        "exit_code": int(report.status),
        "checked_at": iso(report.now),
        "within": report.options.within_text,
        "critical": report.options.critical_text,
        "items": [
            {**as_record(item, report.now), "critical": report.is_critical(item)}
            for item in report.items
        ],
        "unrestorable": [
            {**as_record(item, report.now), "new": item.ref not in report.reported}
            for item in report.unrestorable
        ],
        "accounts": [account(check) for check in report.accounts],
        "notifications": [
            {"channel": d.label, "items": d.items, "accounts": d.accounts, "error": d.error}
            for d in report.deliveries
        ],
    }


def render_json(report: CheckReport, out: IO[str]) -> None:
    out.write(json_text(report_json(report), indent=1) + "\n")


def render_jsonl(report: CheckReport, out: IO[str]) -> None:
    """The JSON report a line at a time, each flushed: an object per entry of each of its lists
    (``"type"``: ``item``, ``unrestorable``, ``account``, ``notification``; the other keys are
    the entry's), then the verdict (``"type": "summary"``: the report's other keys). The
    verdict is known before the first line, so a reader may stop early and trust the exit
    code."""
    whole = report_json(report)
    lists = [key for key, value in whole.items() if isinstance(value, list)]
    lines = [{"type": key.removesuffix("s"), **entry} for key in lists for entry in whole[key]]
    summary = {k: v for k, v in whole.items() if k not in lists}
    write_jsonl([*lines, {"type": "summary", **summary}], out)
