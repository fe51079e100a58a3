"""What a restore plan says beside its table: each provider's notes on the items it will restore.

The plan is printed before the person confirms, so whatever a restore will do beyond putting an
item back where it was (restore its folder first, put it in the root folder because its folder
is gone, bring other items back along) must be in it. Each provider says so through
:meth:`Provider.plan_notes`, which only reads. Accounts are asked concurrently, like restores.
A provider that cannot look ahead (offline, refused) does not block the restore: the plan says
that it could not, and the restore itself still reports each outcome truly.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from trashscan.config import Config
from trashscan.models import IndexedItem
from trashscan.plugins import load_provider_class
from trashscan.provider import ProviderContext
from trashscan.restorer import plan_skip
from trashscan.scanner import describe_error


@dataclass
class PlanNotes:
    notes: dict[str, str] = field(default_factory=dict)  # item ref -> note
    problems: list[str] = field(default_factory=list)  # one line per account that failed


def plan_notes(
    items: Sequence[IndexedItem], config: Config, context: ProviderContext, concurrency: int = 4
) -> PlanNotes:
    """The notes of every account's provider on the items that will be sent to it."""
    by_account: dict[str, list[IndexedItem]] = {}
    for item in items:
        if plan_skip(item) is None:
            by_account.setdefault(item.account, []).append(item)
    result = PlanNotes()
    if not by_account:
        return result
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="plan") as pool:
        futures = {
            name: pool.submit(_account_notes, config, context, name, batch)
            for name, batch in by_account.items()
        }
        for name, future in futures.items():
            batch = by_account[name]
            try:
                notes = future.result()
            except Exception as exc:  # looking ahead is advice: the restore still reports truly
                provider = batch[0].provider
                result.problems.append(
                    f"could not look ahead for account {name!r} ({provider}): {describe_error(exc)}"
                )
                continue
            by_id = {item.item_id: item for item in batch}
            for item_id, note in notes.items():
                if item_id in by_id and note:
                    result.notes[by_id[item_id].ref] = note
    return result


def _account_notes(
    config: Config, context: ProviderContext, name: str, batch: list[IndexedItem]
) -> dict[str, str]:
    account = config.account(name)
    provider = load_provider_class(account.provider)(context)
    if not provider.capabilities.restore:
        return {}
    return dict(provider.plan_notes(account, batch))
