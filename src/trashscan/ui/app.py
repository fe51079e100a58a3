"""The Starlette application of ``trashscan ui``: its routes, templates and guard.

Built by :func:`create_app` around the CLI's :class:`~trashscan.cli.app.App` (config, index,
provider context) and the :class:`~trashscan.ui.guards.Secrets` of this run; the server
(:mod:`trashscan.ui.server`) serves it, the tests drive it with Starlette's ``TestClient``.

Templates are Jinja2 with autoescape on for every template: names and paths are whatever the
person (or whoever shared a folder with them) called their files, ``<script>`` included.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from trashscan.cli.app import App
    from trashscan.thumbnails import ThumbnailCache
    from trashscan.ui.guards import Secrets

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# What the first screen renders. Compiling them takes a tenth of a second (more on a busy
# machine), which the browser's first visit would otherwise wait for.
FIRST_SCREEN = ("base.html", "gallery.html", "tiles.html")


def templates_env() -> object:
    """The Jinja2 environment: files from the package, autoescape always on, undefined names
    an error (a typo in a template fails the tests instead of showing nothing)."""
    import jinja2

    from trashscan.output import human_size
    from trashscan.ui.gallery import PROVIDER_CLASSES, URGENCY_KEYS, query_string

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        human_size=human_size,
        provider_classes=PROVIDER_CLASSES,
        query_string=query_string,
        group_heads=",".join(f"#group-{key}" for key in URGENCY_KEYS),
    )
    return env


def create_app(app: App, keys: Secrets, cache: ThumbnailCache | None = None) -> Starlette:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.templating import Jinja2Templates

    from trashscan.ui.guards import Guard
    from trashscan.ui.views import Views

    if cache is None:
        from trashscan.thumbnails import ThumbnailCache

        config = app.config_if_any  # the pictures are in its data dir if it names one
        cache = ThumbnailCache.open(config.thumbnails.max_mb, config.data_dir)
    templates = Jinja2Templates(env=templates_env())  # type: ignore[arg-type]
    for name in FIRST_SCREEN:  # compiled now, before the address is printed (see FIRST_SCREEN)
        templates.get_template(name)
    views = Views(app, templates, keys, cache)
    routes = [
        Route("/", views.gallery, name="gallery"),
        Route("/tiles", views.tiles, name="tiles"),
        Route("/thumb/{ref:str}", views.thumb, name="thumb"),
        Route("/item/{ref:str}", views.item, name="item"),
        Route("/restore/plan", views.plan, methods=["POST"], name="plan"),
        Route("/restore/run", views.run, methods=["POST"], name="run"),
        Route("/restore/jobs/{job:str}", views.job, name="job"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, keys=keys)])
