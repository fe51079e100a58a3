"""The provider plugin interface.

Modelled on rclone's backends: a few required operations plus declared capabilities. The CLI reads
:class:`Capabilities` to print "restore: not supported (reason)" instead of failing, the way rclone
checks for optional interfaces such as ``CleanUpper``.

A plugin is a :class:`Provider` subclass exposed through the ``trashscan.providers`` entry-point
group. It receives a :class:`ProviderContext` holding everything it may touch outside its own
API: the secret store, the shared retry policy, the clock and a private data directory.
"""

from __future__ import annotations

import abc
import contextlib
import shutil
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from trashscan.errors import AuthError, NotSupportedError, TrashscanError
from trashscan.files import private_dir
from trashscan.models import (
    Account,
    AuthStatus,
    IndexedItem,
    Page,
    RestoreResult,
    ScanOutcome,
    Thumbnail,
)

if TYPE_CHECKING:
    from trashscan.options import OptionSpec
    from trashscan.retry import RetryPolicy
    from trashscan.secrets import SecretStore


CLOCK_MARGIN = timedelta(minutes=5)
"""How far this machine's clock may be from a cloud's. A deletion bound read off our own clock
(the start of the scan before) is widened by it, so that a skewed clock never makes a purge date
later than the real one."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    list: bool = True
    restore: bool = True
    exact_deletion_times: bool = False
    incremental: bool = False
    restore_experimental: bool = False
    # Why list/restore is unavailable, or what a user must know (e.g. "needs enrolment").
    notes: tuple[str, ...] = ()
    unsupported_reason: str | None = None
    # Whether ``Provider.thumbnails`` can show trashed items' pictures, and what the user must
    # know about them (which items, from where, and why some cannot be shown).
    thumbnails: bool = False
    thumbnails_note: str | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """How long the provider keeps deleted items.

    ``default_days`` None means "kept until the user empties the trash". ``per_plan`` maps a plan
    name (as the plugin detects it, stored in the account options as ``plan``) to days.
    """

    default_days: int | None
    per_plan: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def days_for(self, account: Account) -> int | None:
        if account.retention_days is not None:
            return account.retention_days
        plan = account.options.get("plan")
        if isinstance(plan, str) and plan in self.per_plan:
            return self.per_plan[plan]
        return self.default_days

    def purge_date(self, account: Account, deleted_at: datetime | None) -> datetime | None:
        days = self.days_for(account)
        if days is None or deleted_at is None:
            return None
        return deleted_at + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class ProviderContext:
    secrets: SecretStore
    retry: RetryPolicy
    clock: Callable[[], datetime]
    data_dir: Path  # private per-install directory; plugins make a subfolder per account

    def account_dir(self, account: Account) -> Path:
        """A private (0700) directory for one account's session files."""
        return private_dir(self.data_dir / "accounts" / account.provider / account.name)


class Provider(abc.ABC):
    """Base class of every provider plugin."""

    name: ClassVar[str]  # the entry-point name, e.g. "local-trash"
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    retention: ClassVar[Retention] = Retention(default_days=None)
    # The options an account of this provider takes, declared once (see trashscan.options): the
    # core parses `--option`, checks the config and prints `trashscan providers` from it. Also
    # register it in the ``trashscan.options`` entry-point group, so that loading the config
    # needs no provider SDK. None: not declared (an older plugin), its options are not checked.
    options: ClassVar[tuple[OptionSpec, ...] | None] = None
    # Keys this plugin stores under ``account.secret_service``, so that `accounts remove` can
    # forget them (secret strings, and blobs stored with ``set_blob``).
    secret_keys: ClassVar[tuple[str, ...]] = ()
    secret_blob_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    @abc.abstractmethod
    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        """Yield pages of trash items; return the state for the next (incremental) scan.

        ``state`` is what the previous completed scan returned, or None for a full scan. Pages are
        committed as they arrive, so a plugin must never collect the whole trash in memory.

        The commit acknowledgement: the core resumes the generator after a ``yield`` only once
        that page's transaction has committed, so code after a ``yield`` may treat the page as
        durable. If the commit fails (a locked index, ...) or the run is interrupted, the
        generator is closed at that ``yield`` (``GeneratorExit``) and the account's scan fails.
        Therefore:

        * advance private state (a mirror row, a cursor kept outside the index) only after the
          ``yield`` of the pages that depend on it, never before; state that must change with a
          page (e.g. a mirror transaction) is committed after its ``yield``, rolled back on
          ``GeneratorExit``;
        * the returned state is stored when the last page has committed, and only if the whole
          scan succeeds; a failed or killed scan leaves the previous state, so the next scan
          must be able to read the same changes again from it;
        * ``Page.checkpoint`` is stored in the page's own transaction.

        A process can still die between a commit and the resumption, so anything a plugin does
        after a ``yield`` must be safe to redo from the previous state (pages are idempotent).
        """

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        """Yield one result per item, in any order. Must never overwrite or delete anything.

        A restore that brought back other items of the account too (a folder's other photos,
        when restoring the folder is how an item comes back) yields a result for each of them
        as well, once verified: the core records those the index holds as trashed as restored.
        """
        raise NotSupportedError(
            f"{self.display_name} cannot restore items"
            + (
                f": {self.capabilities.unsupported_reason}"
                if self.capabilities.unsupported_reason
                else ""
            )
        )

    def plan_notes(self, account: Account, items: Sequence[IndexedItem]) -> Mapping[str, str]:
        """What the restore plan must say about some items before asking: item id -> one line.

        For what a restore will do beyond putting the item back where it was (restore its folder
        first, restore it elsewhere, bring other items back along), so that the person agrees to
        it knowingly. Called before the confirmation and in dry runs, so it only reads: nothing
        may change. The default has nothing to add."""
        return {}

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        """Yield one :class:`Thumbnail` per item (any order), for items already in the trash.

        Called after a scan, only when ``capabilities.thumbnails`` is set, for trashed photos and
        videos the cache lacks (bounded per run), on one worker thread per account: a session
        opened here serves every item, and is closed when the generator ends or is closed (the
        run's deadline, Ctrl-C). ``sources`` is what this run's scan put in
        ``Page.thumbnail_sources`` (a fresh link), for the items it listed.

        A failure of one item is that item's ``error``; one that dooms every item (a refused
        sign-in) may be raised, and the core marks the rest as failed this run. Requests go
        through the shared retry policy. Never return a provider's URL: only image bytes.

        The default asks :meth:`thumbnail` for each item.
        """
        for item in items:
            try:
                data = self.thumbnail(account, item, sources.get(item.item_id))
            except AuthError:
                raise
            except TrashscanError as exc:
                yield Thumbnail(item.item_id, error=exc.one_line())
                continue
            if data is None:
                yield Thumbnail(item.item_id, missing=f"{self.display_name} has no picture of it")
            else:
                yield Thumbnail(item.item_id, data=data)

    def thumbnail(self, account: Account, item: IndexedItem, source: Any) -> bytes | None:
        """One trashed item's picture (bytes in any format Pillow reads), or None when the
        provider has none for it. See :meth:`thumbnails`."""
        raise NotSupportedError(f"{self.display_name} cannot show pictures of trashed items")

    def live_thumbnails(
        self, account: Account, wanted: Callable[[str, str], bool], limit: int
    ) -> Iterator[Thumbnail]:
        """Pictures of items that are *not* in the trash yet, for providers that give none once
        an item is deleted (OneDrive personal): captured now, found when the item is trashed.

        Yield at most ``limit`` results, each with ``version_key`` set to what the item's
        ``TrashItem`` will carry (its content hash, else its version; see
        ``IndexedItem.thumbnail_key``); ask ``wanted(item_id, version_key)`` first, which is
        False for what the cache already holds. Same thread and error rules as
        :meth:`thumbnails`. The default captures nothing.
        """
        return iter(())

    def login(self, account: Account, interactive: bool) -> dict[str, object]:
        """Obtain and store credentials; return non-secret options to save in the config."""
        return {}

    def forget(self, account: Account) -> None:
        """Delete this account's local credentials: its secrets and its private directory.

        Local bookkeeping only (what `accounts add` created); nothing in the cloud is touched.
        """
        for key in self.secret_keys:
            self.context.secrets.delete(account.secret_service, key)
        for key in self.secret_blob_keys:
            self.context.secrets.delete_blob(account.secret_service, key)
        private = self.context.data_dir / "accounts" / account.provider / account.name
        if private.is_dir() and not private.is_symlink():
            shutil.rmtree(private)
        for parent in (private.parent, private.parent.parent):  # accounts/<provider>, accounts
            with contextlib.suppress(OSError):  # not empty: other accounts live there
                parent.rmdir()

    def check_auth(self, account: Account) -> AuthStatus:
        """A cheap check that stored credentials still work, without prompting (for cron)."""
        return AuthStatus(ok=True, detail="no credentials needed")
