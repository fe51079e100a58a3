"""The routes' handlers: each reads the index through the CLI's :class:`~trashscan.cli.app.App`
and renders a template (names and paths reach the page only through Jinja2's autoescape).

A request made by htmx (``HX-Request``) gets the fragment it swaps in; the same address typed
or followed without JavaScript gets the whole page, so viewing, paging and even restoring work
without scripts.

Every handler is a plain ``def``: Starlette runs it on its thread pool, where the index's
blocking queries belong. Errors a person can fix (a bad filter, an unknown ref) are the CLI's
one-line messages on the page, with status 400 or 404; nothing shows a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from trashscan.errors import TrashscanError
from trashscan.ui import gallery, restoring

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from trashscan.cli.app import App
    from trashscan.thumbnails import ThumbnailCache
    from trashscan.ui.guards import Secrets

THUMB_CACHE = "private, max-age=86400"  # the address carries the version: a new one, a new URL


class Views:
    def __init__(
        self,
        app: App,
        templates: Jinja2Templates,
        keys: Secrets,
        cache: ThumbnailCache,
    ) -> None:
        self.app = app
        self.templates = templates
        self.keys = keys
        self.cache = cache
        self.restores = restoring.Restores()

    # -- helpers

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("partial", _htmx(request))
        context.setdefault("error", None)
        context.update(csrf=self.keys.csrf, legend=LEGEND, restored_event=RESTORED_EVENT)
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def error(self, request: Request, message: str, status: int) -> Response:
        return self.render(request, "error.html", status, message=message)

    # -- the gallery

    def gallery(self, request: Request) -> Response:
        return self._gallery(request, "gallery.html")

    def tiles(self, request: Request) -> Response:
        return self._gallery(request, "tiles.html")

    def _gallery(self, request: Request, template: str) -> Response:
        params = request.query_params
        query = gallery.Query.read(params, params.getlist("account"))
        after = params.get("after") or None
        now = self.app.now()
        choices = self._choices()
        try:
            page = gallery.build(self.app, query, now, after)
        except TrashscanError as exc:
            return self.render(
                request, template, 400, error=exc.one_line(), query=query, page=None, **choices
            )
        return self.render(request, template, query=query, page=page, **choices)

    def _choices(self) -> dict[str, Any]:
        """What the filter form offers: the configured accounts and their providers."""
        accounts = list(self.app.config_if_any.accounts)
        return {
            "accounts": accounts,
            "providers": sorted({a.provider for a in accounts}),
            "kinds": ("photo", "video", "other", "any"),
            "urgencies": gallery.URGENCIES,
        }

    # -- pictures

    def thumb(self, request: Request) -> Response:
        """The cached picture of an item, else its placeholder; never a provider's address."""
        item = self.app.index.by_ref(request.path_params["ref"])
        if item is None:
            return Response("no such item", 404, media_type="text/plain")
        data = self.cache.read(item)
        if data is not None:
            return Response(data, media_type="image/jpeg", headers={"cache-control": THUMB_CACHE})
        from trashscan.thumbnails import placeholder

        # A placeholder is not kept: the picture may be fetched by the next scan.
        return Response(placeholder(item.kind), media_type="image/jpeg")

    # -- one item

    def item(self, request: Request) -> Response:
        item = self.app.index.by_ref(request.path_params["ref"])
        if item is None:
            return self.error(request, "no such item in the index", 404)
        now = self.app.now()
        copies = self.app.index.copies([item.content_hash] if item.content_hash else [])
        shown = gallery.tile(item, now, copies.get(item.content_hash or "", ()))
        history = self.app.index.restore_log(None, ref=item.ref)
        return self.render(
            request, "item.html", tile=shown, dates=dates_of(item), history=history, partial=False
        )

    # -- restoring

    async def plan(self, request: Request) -> Response:
        return await _threaded(self._plan, request, await _refs(request))

    def _plan(self, request: Request, refs: list[str]) -> Response:
        if not refs:
            return self.error(request, "nothing selected: tick the items to restore first", 400)
        try:
            the_plan = restoring.plan(self.app, refs)
        except TrashscanError as exc:
            return self.error(request, exc.one_line(), 400)
        tiles = [gallery.tile(item, self.app.now()) for item in the_plan.items]
        return self.render(request, "plan.html", plan=the_plan, tiles=tiles)

    async def run(self, request: Request) -> Response:
        return await _threaded(self._run, request, await _refs(request))

    def _run(self, request: Request, refs: list[str]) -> Response:
        if not refs:
            return self.error(request, "nothing to restore", 400)
        try:
            job = self.restores.start(self.app, refs)
        except TrashscanError as exc:
            return self.error(request, exc.one_line(), 400)
        if job is None:
            return self.error(request, "a restore is running: wait for it to finish", 409)
        if _htmx(request):
            return self._job(request, job)
        return RedirectResponse(f"/restore/jobs/{job.id}", status_code=303)

    def job(self, request: Request) -> Response:
        job = self.restores.get(request.path_params["job"])
        if job is None:
            return self.error(request, "no such restore", 404)
        return self._job(request, job)

    def _job(self, request: Request, job: restoring.Job) -> Response:
        from trashscan.output import outcome_words

        rows = [
            {
                "entry": entry,
                "words": outcome_words(entry.result, entry.item.name),
                "ok": entry.result.ok,
            }
            for entry in job.snapshot()
        ]
        try:  # what the page asking already shows: its tiles are gone already
            seen = max(0, int(request.query_params.get("seen", "0")))
        except ValueError:
            seen = 0
        finished = job.done.is_set()
        page = self.render(request, "job.html", job=job, rows=rows, finished=finished, seen=seen)
        if finished and _htmx(request):  # the gallery's totals ask for themselves again
            page.headers["hx-trigger"] = RESTORED_EVENT
        return page


RESTORED_EVENT = "trashscan-restored"
LEGEND = "~ estimate; ≤ at the latest; 3–12d: between 3 and 12 days"


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _refs(request: Request) -> list[str]:
    """The ``ref`` fields of a form post (urlencoded, as browsers and htmx send it): parsed
    here rather than by Starlette's form parser, which needs python-multipart and stops at a
    thousand fields, where a selection may hold thousands of refs."""
    from urllib.parse import parse_qs

    body = (await request.body()).decode("utf-8", "replace")
    return parse_qs(body).get("ref", [])


async def _threaded(func: Any, *args: Any) -> Response:
    """A blocking handler body (the index, providers' look-ahead) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)


def dates_of(item: Any) -> list[dict[str, str]]:
    """Every date the index holds for an item, with where it came from and whether it is exact
    (as ``list --format json`` carries them)."""
    from trashscan.models import EXACT_SOURCES
    from trashscan.timeparse import iso

    exact_deletion = item.deleted_at_source in EXACT_SOURCES
    source = str(item.deleted_at_source)
    rows = [
        (
            "deleted",
            item.deleted_at,
            source,
            "exact" if exact_deletion else "estimate: the latest it can have happened",
        ),
        (
            "deleted after",
            item.deleted_after,
            source,
            "exact" if exact_deletion else "the earliest it can have happened",
        ),
        (
            "purged from",
            item.purge_at,
            "provider" if not item.purge_is_estimate else "retention rule",
            "estimate: the earliest plausible purge" if item.purge_is_estimate else "exact",
        ),
        (
            "purged at the latest",
            item.purge_latest,
            "provider" if not item.purge_is_estimate else "retention rule",
            "estimate" if item.purge_is_estimate else "exact",
        ),
        ("first seen in the trash", item.first_seen, "trashscan", "exact"),
        ("last seen in the trash", item.last_seen, "trashscan", "exact"),
    ]
    return [
        {
            "what": what,
            "when": iso(when) or ("never" if what == "purged from" else "unknown"),
            "source": src,
            "exact": exact,
        }
        for what, when, src, exact in rows
        if when is not None or what in ("deleted", "purged from")
    ]
