"""The check's verdict and its notification bookkeeping, against a real index and fake channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.check import (
    NOTIFY_BUSY,
    AccountCheck,
    CheckOptions,
    CheckReport,
    Status,
    notify,
    problem_ref,
    smallest_crossed,
    summary_line,
)
from trashscan.index import Index, ItemFilter
from trashscan.lock import BUSY_MESSAGE, FileLock
from trashscan.models import (
    Account,
    AuthStatus,
    DeletedAtSource,
    Kind,
    Page,
    ScanOutcome,
    TrashItem,
)
from trashscan.notify import Message, NotifyError, parse_alerts
from trashscan.scanner import AccountScanResult

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LAPTOP = Account("laptop", "fake")
PHONE = Account("phone", "fake")
OPTIONS = CheckOptions(within=timedelta(days=3), critical=timedelta(days=1), kinds=frozenset(Kind))
ALERTS = parse_alerts(Path("c.toml"), {})


class FakeChannel:
    def __init__(self, channel: str, fail: bool = False) -> None:
        self.channel = channel
        self.label = f"fake ({channel})"
        self.fail = fail
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        if self.fail:
            raise NotifyError(f"{self.label}: HTTP 500 from example.org")
        self.sent.append(message)


@pytest.fixture
def index(tmp_path: Path):
    ix = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    yield ix
    ix.close()


def seed(index: Index, account: Account, days_left: dict[str, float | None]) -> None:
    scan_id = index.begin_scan(account.provider, account.name, NOW)
    items = [
        TrashItem(
            item_id=name, name=name, deleted_at=NOW - timedelta(days=1),
            deleted_at_source=DeletedAtSource.API,
            purge_at=None if left is None else NOW + timedelta(days=left),
            purge_is_estimate=False, kind=Kind.PHOTO,
        )
        for name, left in days_left.items()
    ]  # fmt: skip
    index.write_page(scan_id, account.provider, account.name, Page(items=items), NOW)
    index.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)


def ok(account: Account, auth: AuthStatus | None = None) -> AccountCheck:
    return AccountCheck(AccountScanResult(account), auth or AuthStatus(ok=True))


def failed(account: Account, error: str = "HTTP 503 from example.org") -> AccountCheck:
    return AccountCheck(AccountScanResult(account, ok=False, error=error), AuthStatus(ok=True))


def report(index: Index, *checks: AccountCheck, now: datetime = NOW) -> CheckReport:
    accounts = tuple((c.account.provider, c.account.name) for c in checks)
    f = ItemFilter(accounts=accounts, kinds=frozenset(Kind), expiring_within=OPTIONS.within)
    return CheckReport(now, OPTIONS, list(checks), index.items(f, now))


# --- the verdict ---------------------------------------------------------------------------------


def test_status_levels(index: Index) -> None:
    seed(index, LAPTOP, {"far.jpg": 20, "never.jpg": None})
    assert report(index, ok(LAPTOP)).status is Status.OK
    seed(index, PHONE, {"soon.jpg": 2.5})
    assert report(index, ok(LAPTOP), ok(PHONE)).status is Status.WARNING
    seed(index, PHONE, {"soon.jpg": 2.5, "overdue.jpg": -1})
    both = report(index, ok(LAPTOP), ok(PHONE))
    assert both.status is Status.CRITICAL
    assert [i.name for i in both.critical_items] == ["overdue.jpg"]
    assert summary_line(both) == (
        "CRITICAL: 2 trashed items will be purged within 3d, 1 of them within 1d; "
        "2 accounts checked"
    )


def test_an_account_problem_alone_is_a_warning(index: Index) -> None:
    seed(index, LAPTOP, {"far.jpg": 20})
    assert report(index, ok(LAPTOP), failed(PHONE)).status is Status.WARNING
    soon = AuthStatus(ok=True, detail="token expires in 2 days", hint="trashscan accounts add")
    expiring = report(index, ok(LAPTOP, soon))
    assert expiring.status is Status.WARNING
    assert "1 needs attention" in summary_line(expiring)


def test_every_account_failed_is_unknown_even_with_items_due(index: Index) -> None:
    seed(index, LAPTOP, {"overdue.jpg": -1})
    verdict = report(index, failed(LAPTOP), failed(PHONE))
    assert verdict.status is Status.UNKNOWN
    assert summary_line(verdict).startswith("UNKNOWN: no account could be scanned")
    assert "from earlier scans, 1 trashed item" in summary_line(verdict)


def test_providers_that_cannot_list_are_notes_not_failures(index: Index) -> None:
    photos = Account("photos", "google-photos")
    note = AccountCheck(
        AccountScanResult(photos, notice="cannot list", listed=False), AuthStatus(ok=True)
    )
    assert report(index, note).status is Status.OK
    assert report(index, note, failed(LAPTOP)).status is Status.UNKNOWN
    # a notice from an account that was listed (an enrolment, an API to enable) is no excuse
    said = AccountCheck(AccountScanResult(PHONE, notice="enable an API"), AuthStatus(ok=True))
    assert report(index, said, failed(LAPTOP)).status is Status.WARNING


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(8, None), (7, "7d"), (6.9, "7d"), (3, "3d"), (2, "3d"), (0.5, "1d"), (-4, "1d")],
)
def test_smallest_crossed_threshold(index: Index, days_left: float, expected: str | None) -> None:
    seed(index, LAPTOP, {"x.jpg": days_left})
    item = index.items(ItemFilter(kinds=frozenset(Kind)), NOW)[0]
    assert smallest_crossed(item, ALERTS, NOW) == expected


# --- notifying -----------------------------------------------------------------------------------


def test_each_threshold_once_per_channel_and_a_failed_channel_retries(index, tmp_path) -> None:
    seed(index, LAPTOP, {"a.jpg": 5, "b.jpg": 2, "far.jpg": 20})
    web, mail = FakeChannel("webhook", fail=True), FakeChannel("email")
    first = notify(index, tmp_path, report(index, ok(LAPTOP)), ALERTS, [web, mail], 1)
    assert [d.ok for d in first] == [False, True]
    assert first[0].error == "fake (webhook): HTTP 500 from example.org"
    assert len(mail.sent) == 1
    assert {(a.item.name, a.threshold) for a in mail.sent[0].items} == {
        ("a.jpg", "7d"),
        ("b.jpg", "3d"),
    }
    web.fail = False
    again = notify(index, tmp_path, report(index, ok(LAPTOP)), ALERTS, [web, mail], 1)
    assert [(d.label, d.items) for d in again] == [("fake (webhook)", 2)]
    assert len(web.sent) == 1 and len(mail.sent) == 1
    assert notify(index, tmp_path, report(index, ok(LAPTOP)), ALERTS, [web, mail], 1) == []
    # two days later a.jpg crosses 3d and b.jpg 1d: one more message each, nothing repeated
    later = NOW + timedelta(days=2, hours=1)
    notify(index, tmp_path, report(index, ok(LAPTOP), now=later), ALERTS, [web, mail], 1)
    for channel in (web, mail):
        assert len(channel.sent) == 2
        assert {(a.item.name, a.threshold) for a in channel.sent[1].items} == {
            ("a.jpg", "3d"),
            ("b.jpg", "1d"),
        }


def test_account_problems_at_most_once_a_day(index, tmp_path) -> None:
    mail = FakeChannel("email")
    expired = AuthStatus(ok=False, detail="grant expired", hint="trashscan accounts add x phone")
    checks = (ok(LAPTOP), AccountCheck(AccountScanResult(PHONE), expired))
    notify(index, tmp_path, report(index, *checks), ALERTS, [mail], 1)
    notify(index, tmp_path, report(index, *checks, now=NOW + timedelta(hours=6)), ALERTS, [mail], 1)
    assert len(mail.sent) == 1
    problem = mail.sent[0].problems[0]
    assert (problem.account, problem.detail) == ("phone", "credentials: grant expired")
    assert problem.hint == "trashscan accounts add x phone"
    notify(index, tmp_path, report(index, *checks, now=NOW + timedelta(days=1)), ALERTS, [mail], 1)
    assert len(mail.sent) == 2
    assert problem_ref(PHONE) != problem_ref(LAPTOP)


def test_a_busy_lock_is_reported_but_not_notified(index, tmp_path) -> None:
    mail = FakeChannel("email")
    busy = failed(PHONE, BUSY_MESSAGE)
    assert busy.lock_busy
    assert notify(index, tmp_path, report(index, ok(LAPTOP), busy), ALERTS, [mail], 1) == []


def test_notifications_are_serialised_between_runs(index, tmp_path) -> None:
    seed(index, LAPTOP, {"a.jpg": 0.5})
    holder = FileLock(tmp_path / "locks" / "notify.lock")
    assert holder.try_acquire()
    mail = FakeChannel("email")
    skipped = notify(index, tmp_path, report(index, ok(LAPTOP)), ALERTS, [mail], 0)
    holder.release()
    assert [d.error for d in skipped] == [NOTIFY_BUSY] and mail.sent == []


def test_a_channel_bug_never_escapes(index, tmp_path) -> None:
    seed(index, LAPTOP, {"a.jpg": 0.5})

    class Buggy(FakeChannel):
        def send(self, message: Message) -> None:
            raise KeyError("https://secret.example.org/TOKEN")

    deliveries = notify(index, tmp_path, report(index, ok(LAPTOP)), ALERTS, [Buggy("x")], 1)
    assert deliveries[0].error == "fake (x): unexpected KeyError"


# --- items of unknown age ---------------------------------------------------------------------


def seed_unknown_age(index: Index, account: Account, first_seen: dict[str, float]) -> None:
    """Items first seen in the trash ``first_seen[name]`` days ago, with nothing else known:
    deleted at some time in the 30 days before, so purged any day, by 30 days after at the latest.
    """
    scan_id = index.begin_scan(account.provider, account.name, NOW)
    items = []
    for name, days_ago in first_seen.items():
        seen = NOW - timedelta(days=days_ago)
        items.append(
            TrashItem(
                item_id=name, name=name, deleted_at=seen, purge_at=seen,
                purge_latest=seen + timedelta(days=30), kind=Kind.PHOTO,
            )
        )  # fmt: skip
    index.write_page(scan_id, account.provider, account.name, Page(items=items), NOW)
    index.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=False), NOW)


def test_items_of_unknown_age_warn_but_are_critical_only_when_surely_due(index: Index) -> None:
    seed_unknown_age(index, PHONE, {"a.jpg": 0, "b.jpg": 3})
    unknown = report(index, ok(PHONE))
    assert [i.age_unknown for i in unknown.items] == [True, True]  # any day now: reported
    assert unknown.status is Status.WARNING and unknown.critical_items == []
    assert summary_line(unknown) == (
        "WARNING: 2 trashed items of unknown age may be purged any day; 1 account checked"
    )
    # 29.5 days after b was first seen, it will surely be purged within the day
    later = report(index, ok(PHONE), now=NOW + timedelta(days=26, hours=12))
    assert later.status is Status.CRITICAL
    assert [i.name for i in later.critical_items] == ["b.jpg"]
    assert summary_line(later).startswith(
        "CRITICAL: 2 trashed items of unknown age may be purged any day, 1 of them within 1d at "
        "the latest;"
    )
    # with known items too: both are said, and known ones stay critical by their earliest date
    seed(index, LAPTOP, {"overdue.jpg": -1, "soon.jpg": 2})
    both = report(index, ok(LAPTOP), ok(PHONE))
    assert both.status is Status.CRITICAL
    assert [i.name for i in both.critical_items] == ["overdue.jpg"]
    assert summary_line(both) == (
        "CRITICAL: 2 trashed items will be purged within 3d, 1 of them within 1d; "
        "2 trashed items of unknown age may be purged any day; 2 accounts checked"
    )


def test_an_item_of_unknown_age_alerts_once_grouped_then_by_its_latest_date(
    index: Index, tmp_path: Path
) -> None:
    seed_unknown_age(index, PHONE, {"a.jpg": 0, "b.jpg": 0.5})
    seed(index, LAPTOP, {"soon.jpg": 2})
    mail = FakeChannel("email")
    checks = (ok(LAPTOP), ok(PHONE))
    notify(index, tmp_path, report(index, *checks), ALERTS, [mail], 1)
    [message] = mail.sent
    assert {(a.item.name, a.threshold) for a in message.items} == {
        ("a.jpg", "unknown-age"), ("b.jpg", "unknown-age"), ("soon.jpg", "3d"),
    }  # fmt: skip
    assert not message.urgent  # nothing is surely due within a day
    assert message.subject == (
        "trashscan: 1 trashed item will be purged soon; 2 trashed items of unknown age may be "
        "purged any day"
    )
    latest = (NOW + timedelta(days=30)).strftime("%Y-%m-%d")
    assert (
        f"2 items of unknown age in phone (fake) may be purged any day; purged by {latest} at "
        "the latest:"
    ) in message.text
    # every later run: nothing new about them...
    for hours in (6, 12, 24 * 10):
        notify(index, tmp_path, report(index, *checks, now=NOW + timedelta(hours=hours)),
               ALERTS, [mail], 1)  # fmt: skip
    assert len(mail.sent) == 2  # (soon.jpg crossed 1d in between)
    assert {a.item.name for a in mail.sent[1].items} == {"soon.jpg"}
    # ...until their latest purge comes within a threshold
    week_left = NOW + timedelta(days=23, hours=1)
    notify(index, tmp_path, report(index, *checks, now=week_left), ALERTS, [mail], 1)
    assert len(mail.sent) == 3
    assert {(a.item.name, a.threshold) for a in mail.sent[2].items} == {
        ("a.jpg", "7d"), ("b.jpg", "7d"),
    }  # fmt: skip


# --- items their account cannot restore -------------------------------------------------------


def seed_restorable(index: Index, account: Account, days_left: float, restorable: bool) -> None:
    """One photo, lost.jpg, purged in ``days_left`` days; ``restorable`` as the provider said."""
    scan_id = index.begin_scan(account.provider, account.name, NOW)
    item = TrashItem(
        item_id="lost.jpg", name="lost.jpg", deleted_at=NOW - timedelta(days=1),
        deleted_at_source=DeletedAtSource.API, purge_at=NOW + timedelta(days=days_left),
        purge_is_estimate=False, kind=Kind.PHOTO, restorable=restorable,
        not_restorable_reason=None if restorable else "the owner has it",
    )  # fmt: skip
    index.write_page(scan_id, account.provider, account.name, Page(items=[item]), NOW)
    index.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)


def test_an_unrestorable_item_is_never_due_and_said_once_until_it_can_be_restored(
    index: Index, tmp_path: Path
) -> None:
    seed_restorable(index, PHONE, 0.5, restorable=False)
    mail = FakeChannel("email")
    verdict = report(index, ok(PHONE))
    assert (verdict.items, [i.name for i in verdict.unrestorable]) == ([], ["lost.jpg"])
    assert verdict.status is Status.OK and verdict.critical_items == []
    notify(index, tmp_path, verdict, ALERTS, [mail], 1)
    [message] = mail.sent
    assert [(a.item.name, a.threshold) for a in message.items] == [("lost.jpg", "unrestorable")]
    assert not message.urgent
    assert "1 item in phone (fake) cannot be restored by this account: the owner has it" in (
        message.text
    )
    later = NOW + timedelta(hours=6)
    notify(index, tmp_path, report(index, ok(PHONE), now=later), ALERTS, [mail], 1)
    assert len(mail.sent) == 1
    # the owner shared it back: an ordinary item again, alerted by its threshold, and urgent
    seed_restorable(index, PHONE, 0.5, restorable=True)
    again = report(index, ok(PHONE), now=later)
    assert again.status is Status.CRITICAL
    notify(index, tmp_path, again, ALERTS, [mail], 1)
    assert [(a.item.name, a.threshold) for a in mail.sent[1].items] == [("lost.jpg", "1d")]
    assert mail.sent[1].urgent
