""" "Restore selected": ``trashscan restore``'s plan, confirmation and outcomes, from the browser.

One code path with the CLI: the items are split with :func:`~trashscan.restorer.split_left_out`,
the plan's notes (what a folder restore brings back, ...) come from
:func:`trashscan.restore_plan.plan_notes`, the restore is a :class:`~trashscan.restorer.Restorer`
with the config's concurrency and deadline (so every attempt lands in the audit log, as
``trashscan history`` shows), and the last words are :func:`~trashscan.restorer.summarize`.
What differs is only where it is shown: the plan is a page with a "Confirm" button (the CLI's
question), and the results come in as the restore runs, on a page that polls for them.

A restore runs on a thread of its own, so the page can show progress; one at a time (a second
one is refused while the first runs). If the server stops midway, what was recorded is true:
every result is committed as it comes, the rest were not attempted or are unknown, and
``trashscan list`` shows what left the trash.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trashscan.cli.app import App
    from trashscan.models import IndexedItem
    from trashscan.restorer import ItemRestore, Summary

_CHUNK = 500


@dataclass
class Plan:
    items: list[IndexedItem]  # sent to their providers, in the order selected
    left: list[tuple[IndexedItem, str]]  # left out, and why (never sent)
    notes: dict[str, str] = field(default_factory=dict)  # ref -> what else the restore does
    problems: list[str] = field(default_factory=list)  # accounts that could not look ahead
    unknown: int = 0  # refs the index does not hold (an account removed meanwhile)


def selected(app: App, refs: Sequence[str]) -> tuple[list[IndexedItem], int]:
    """The items of these full refs, in the order given (duplicates once), whatever their state
    or kind, as ``trashscan restore REF`` takes them; and how many refs are unknown."""
    from trashscan.index import ItemFilter
    from trashscan.models import ItemState, Kind

    wanted = list(dict.fromkeys(r.strip().lower() for r in refs if r.strip()))
    found: dict[str, IndexedItem] = {}
    now = app.now()
    for start in range(0, len(wanted), _CHUNK):  # a few queries for thousands of refs
        chunk = tuple(wanted[start : start + _CHUNK])
        anything = ItemFilter(kinds=frozenset(Kind), states=frozenset(ItemState), refs=chunk)
        found.update((item.ref, item) for item in app.index.iter_items(anything, now))
    return [found[r] for r in wanted if r in found], len(wanted) - len(found)


def plan(app: App, refs: Sequence[str], look_ahead: bool = True) -> Plan:
    """What "Restore selected" would do: the dry-run view (nothing is changed)."""
    from trashscan.restore_plan import plan_notes
    from trashscan.restorer import split_left_out

    items, unknown = selected(app, refs)
    sent, left = split_left_out(items)
    result = Plan(sent, left, unknown=unknown)
    if sent and look_ahead:
        notes = plan_notes(sent, app.config, app.context, app.config.concurrency)
        result.notes, result.problems = notes.notes, notes.problems
    return result


@dataclass
class Job:
    """One confirmed restore: its plan, and each result as the restorer reports it."""

    id: str
    plan: Plan
    results: list[ItemRestore] = field(default_factory=list)
    summary: Summary | None = None
    error: str | None = None  # the restore stopped early: why (one line)
    unrecorded: str | None = None  # results shown but not in the index: how many, and why
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[ItemRestore]:
        with self.lock:
            return list(self.results)

    @property
    def restored_refs(self) -> list[str]:
        return [entry.item.ref for entry in self.snapshot() if entry.result.ok]


class Restores:
    """The server's restores: at most one running."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def running(self) -> Job | None:
        with self.lock:
            return next((job for job in self.jobs.values() if not job.done.is_set()), None)

    def start(self, app: App, refs: Sequence[str]) -> Job | None:
        """Plan again (what the page showed may have changed: a scan, another restore) and
        run it; None while another restore runs."""
        the_plan = plan(app, refs, look_ahead=False)
        with self.lock:
            if any(not job.done.is_set() for job in self.jobs.values()):
                return None
            job = Job(secrets.token_urlsafe(12), the_plan)
            self.jobs[job.id] = job
        thread = threading.Thread(target=_run, args=(app, job), name="ui-restore", daemon=True)
        thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)


def _run(app: App, job: Job) -> None:
    from trashscan.restorer import Restorer, summarize
    from trashscan.scanner import describe_error

    def report(entry: ItemRestore) -> None:
        with job.lock:
            job.results.append(entry)

    items, left = job.plan.items, job.plan.left
    try:
        if items:
            config, limit = app.config, app.deadline(None)
            restorer = Restorer(app.index, config, app.context, config.concurrency, report, limit)
            restorer.restore(items)
            unrecorded = restorer.unrecorded_error()
            if unrecorded is not None:
                job.unrecorded = unrecorded.one_line()
    except Exception as exc:  # one line on the page, as the CLI's runner prints one
        job.error = describe_error(exc)
    finally:
        job.summary = summarize(items, left, job.snapshot())
        job.done.set()
