"""`trashscan ui` on the sandbox's local-trash accounts: the real application (index, thumbnail
cache, restore code path) through Starlette's TestClient, logged in as a browser would be; and
the real command in a process of its own, stopped by Ctrl-C."""

from __future__ import annotations

import html
import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from trashscan.cli.app import App
from trashscan.index import ItemFilter
from trashscan.models import ItemState
from trashscan.ui.app import create_app
from trashscan.ui.guards import Secrets

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
MEDIA = 13  # the sandbox's 10 laptop and 3 usb-stick photos and videos
TILE = re.compile(r'<div class="tile [^"]*" id="tile-([0-9a-f]{40})" data-ref="\1"')
FINISHED = 'data-finished="true"'


def tiles(page: str) -> list[str]:
    return TILE.findall(page)


def login(client: TestClient, keys: Secrets) -> None:
    assert client.get(f"/?token={keys.token}", follow_redirects=False).status_code == 303


@pytest.fixture
def scanned(cli, sandbox) -> App:
    assert cli("scan").exit_code == 0
    return App(str(sandbox.config_path), False)


@pytest.fixture
def keys() -> Secrets:
    return Secrets(PORT)


@pytest.fixture
def browser(scanned: App, keys: Secrets) -> TestClient:
    client = TestClient(create_app(scanned, keys), base_url=BASE)
    login(client, keys)
    return client


def wait_finished(client: TestClient, address: str) -> str:
    """The results page once the restore is done (asked again as a polling page would)."""
    for _ in range(400):
        page = client.get(address).text
        if FINISHED in page:
            return page
        time.sleep(0.05)
    raise AssertionError("the restore did not finish")


def test_the_gallery_shows_every_trashed_photo_and_video_soonest_purge_first(
    browser: TestClient, scanned: App
) -> None:
    page = browser.get("/").text
    refs = tiles(page)
    listed = scanned.index.items(ItemFilter(), scanned.now())
    assert refs == [item.ref for item in listed]  # `trashscan list`'s order
    assert len(refs) == MEDIA
    assert page.index('id="group-never"') > page.index(f'id="tile-{listed[0].ref}"')
    assert 'data-account="laptop"' in page and 'data-account="usb-stick"' in page
    assert page.count("prov-local-trash") >= MEDIA
    totals = page[page.index('id="totals"') : page.index("</section>")]
    assert "laptop" in totals and "usb-stick" in totals
    assert ">10<" in totals and ">3<" in totals  # items per account


def test_days_left_are_the_cli_cells(browser: TestClient, scanned: App) -> None:
    from trashscan.table import cells_of

    page = browser.get("/").text
    now = scanned.now()
    for item in scanned.index.items(ItemFilter(), now):
        left = cells_of(item, now)["left"]
        tile = page[page.index(f'id="tile-{item.ref}"') :]
        assert f">{html.escape(left)}</span>" in tile[: tile.index("</div>\n  </div>")]


def test_thumbnails_are_local_pictures_that_need_the_cookie(
    browser: TestClient, keys: Secrets
) -> None:
    page = browser.get("/").text
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == MEDIA
    assert all(src.startswith("/thumb/") for src in sources)  # never a provider's address
    assert all('loading="lazy"' in tag for tag in re.findall(r"<img [^>]*>", page))
    for src in sources:
        answer = browser.get(html.unescape(src))
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        Image.open(io.BytesIO(answer.content)).load()  # a whole picture
    stranger = TestClient(browser.app, base_url=BASE)
    assert stranger.get(html.unescape(sources[0])).status_code == 401
    assert stranger.get("/static/htmx.min.js").status_code == 401


def test_htmx_is_vendored_and_served_with_its_licence(browser: TestClient) -> None:
    from trashscan.ui.app import STATIC

    script = browser.get("/static/htmx.min.js")
    assert script.status_code == 200 and script.text.startswith("var htmx=")
    assert (
        "0BSD" in (STATIC / "htmx.LICENSE").read_text()
        or "Zero-Clause BSD" in (STATIC / "htmx.LICENSE").read_text()
    )
    assert "unpkg.com" not in browser.get("/").text and "cdn" not in browser.get("/").text


def test_filters_are_the_cli_filters(browser: TestClient, cli) -> None:
    videos = tiles(browser.get("/?kind=video").text)
    expected = cli("list", "--cached", "--kind", "video", "--format", "json").json()
    assert len(videos) == len(expected) == 3
    usb = tiles(browser.get("/?account=usb-stick").text)
    assert len(usb) == 3
    named = tiles(browser.get("/?name=img_*").text)
    cli_named = cli("list", "--cached", "--name", "img_*", "--format", "json").json()
    assert len(named) == len(cli_named)
    never = browser.get("/?urgency=never").text
    assert len(tiles(never)) == 3 and 'id="group-never"' in never
    bad = browser.get("/?within=soon")
    assert bad.status_code == 400 and 'id="error"' in bad.text and "soon" in bad.text
    unknown = browser.get("/?account=nobody")
    assert unknown.status_code == 400 and "nobody" in unknown.text


def test_pages_follow_one_another_without_gaps(browser: TestClient, scanned: App) -> None:
    from trashscan.ui import gallery

    everything = tiles(browser.get("/").text)
    seen: list[str] = []
    after = None
    query = gallery.Query()
    while True:
        page = gallery.build(scanned, query, scanned.now(), after, size=4)
        seen += [t.ref for g in page.groups for t in g.tiles]
        if page.next_after is None:
            break
        more = browser.get(f"/tiles?after={page.next_after}", headers={"hx-request": "true"})
        assert tiles(more.text)[:1] == [] or tiles(more.text)[0] not in seen
        after = page.next_after
    assert seen == everything


def test_restore_selected_shows_the_plan_then_restores_and_the_items_leave_the_grid(
    browser: TestClient, keys: Secrets, scanned: App
) -> None:
    page = browser.get("/").text
    laptop = [
        ref
        for ref in tiles(page)
        if scanned.index.by_ref(ref).account == "laptop"  # type: ignore[union-attr]
    ]
    chosen = laptop[:2]
    form = {"csrf": keys.csrf, "ref": chosen}
    plan = browser.post("/restore/plan", data=form)
    assert plan.status_code == 200
    assert f"Will restore {len(chosen)} item(s)" in plan.text
    assert all(f'data-ref="{ref}"' in plan.text for ref in chosen)
    assert 'id="confirm-restore"' in plan.text
    assert all(scanned.index.by_ref(ref).state is ItemState.TRASHED for ref in chosen)  # type: ignore[union-attr]

    started = browser.post("/restore/run", data=form, follow_redirects=False)
    assert started.status_code == 303
    done = wait_finished(browser, started.headers["location"])
    assert f"{len(chosen)} restored, 0 not restored" in done
    assert all(f'<li class="result ok" data-ref="{ref}"' in done for ref in chosen)
    for ref in chosen:
        item = scanned.index.by_ref(ref)
        assert item is not None and item.state is ItemState.RESTORED
        assert Path(item.path or "").exists()
    after = tiles(browser.get("/").text)
    assert not set(chosen) & set(after) and len(after) == MEDIA - len(chosen)
    history = browser.get(f"/item/{chosen[0]}").text
    assert 'data-outcome="restored"' in history or 'data-outcome="conflict_resolved"' in history


def test_results_the_index_cannot_record_are_shown_and_the_page_says_so(
    browser: TestClient, keys: Secrets, scanned: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trashscan.index import Index
    from trashscan.index_read import store_error

    def locked(*_args: object, **_kwargs: object) -> None:
        raise store_error("x", "database is locked")

    monkeypatch.setattr(Index, "record_restores", locked)
    chosen = tiles(browser.get("/?account=usb-stick").text)[:1]
    form = {"csrf": keys.csrf, "ref": chosen}
    started = browser.post("/restore/run", data=form, follow_redirects=False)
    done = wait_finished(browser, started.headers["location"])
    assert f'<li class="result ok" data-ref="{chosen[0]}"' in done  # it happened: shown
    assert "1 restored, 0 not restored" in done
    assert (
        '<p class="error" id="unrecorded">1 restore results above are not in the index: '
        "index x: database is locked (they did happen: the next `trashscan scan` sees those "
        "items gone from the trash; `trashscan history` will not list them)</p>"
    ) in done
    assert "the restore stopped" not in done
    item = scanned.index.by_ref(chosen[0])
    assert item is not None and item.state is ItemState.TRASHED  # as the page says


def test_restoring_through_htmx_removes_the_tiles_as_results_come(
    browser: TestClient, keys: Secrets, scanned: App
) -> None:
    usb = tiles(browser.get("/?account=usb-stick").text)
    form = {"csrf": keys.csrf, "ref": usb[:1]}
    answer = browser.post("/restore/run", data=form, headers={"hx-request": "true"})
    assert answer.status_code == 200 and "<html" not in answer.text
    job = re.search(r'hx-get="(/restore/jobs/[^"?]+)', answer.text)
    address = job.group(1) if job else None
    page = answer.text if address is None else wait_finished(browser, address)
    if address is not None:
        page = browser.get(address, headers={"hx-request": "true"}).text
    assert FINISHED in page
    assert f'<div id="tile-{usb[0]}" hx-swap-oob="delete"></div>' in page
    finished = browser.get(address or "", headers={"hx-request": "true"}) if address else answer
    assert finished.headers["hx-trigger"] == "trashscan-restored"  # the totals reload
    gallery = browser.get("/?account=usb-stick").text
    assert 'hx-trigger="trashscan-restored from:body"' in gallery
    assert 'hx-get="/?account=usb-stick" hx-select="#totals"' in gallery


def test_the_plan_names_what_is_left_out_and_nothing_selected_is_an_error(
    browser: TestClient, keys: Secrets
) -> None:
    empty = browser.post("/restore/plan", data={"csrf": keys.csrf})
    assert empty.status_code == 400 and "nothing selected" in empty.text
    unknown = browser.post("/restore/plan", data={"csrf": keys.csrf, "ref": "0" * 40})
    assert "no longer in the index" in unknown.text and "nothing to restore" in unknown.text


def test_a_second_restore_while_one_runs_is_refused(
    browser: TestClient, keys: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from trashscan.ui import restoring

    gate = threading.Event()
    real = restoring._run

    def held(app, job):  # type: ignore[no-untyped-def]
        gate.wait(10)
        real(app, job)

    monkeypatch.setattr(restoring, "_run", held)
    refs = tiles(browser.get("/").text)
    first = browser.post("/restore/run", data={"csrf": keys.csrf, "ref": refs[:1]})
    assert first.status_code == 200
    second = browser.post("/restore/run", data={"csrf": keys.csrf, "ref": refs[1:2]})
    assert second.status_code == 409
    gate.set()


def test_the_item_page_has_dates_with_sources_and_path(browser: TestClient, scanned: App) -> None:
    ref = tiles(browser.get("/").text)[0]
    item = scanned.index.by_ref(ref)
    assert item is not None
    page = browser.get(f"/item/{ref}").text
    assert html.escape(item.path or "") in page
    dates = page[page.index('id="dates"') :]
    assert str(item.deleted_at_source) in dates and "purged from" in dates
    assert browser.get(f"/item/{'0' * 40}").status_code == 404


# --- names are data ------------------------------------------------------------------------

CRAFTED = "<script>alert(1)<script>{{ 7*7 }}{% raw %}\"'.jpg"


@pytest.fixture
def crafted(tmp_path: Path, bare_cli) -> App:
    box = tmp_path / "Trash"
    (box / "files").mkdir(parents=True)
    (box / "info").mkdir()
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture, "JPEG")
    (box / "files" / CRAFTED).write_bytes(picture.getvalue())
    (box / "info" / f"{CRAFTED}.trashinfo").write_text(
        f"[Trash Info]\nPath={tmp_path}/Pictures/{CRAFTED}\nDeletionDate=2026-11-20T10:00:00\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[accounts]]\nname = "desk"\nprovider = "local-trash"\ntrash_dirs = "{box}"\n'
        "include_volumes = false\n"
    )
    assert bare_cli("--config", str(config), "scan").exit_code == 0
    return App(str(config), False)


def test_a_crafted_name_is_shown_escaped_everywhere(crafted: App, keys: Secrets) -> None:
    client = TestClient(create_app(crafted, keys), base_url=BASE)
    login(client, keys)
    gallery = client.get("/").text
    (ref,) = tiles(gallery)
    pages = [
        gallery,
        client.get(f"/item/{ref}").text,
        client.post("/restore/plan", data={"csrf": keys.csrf, "ref": ref}).text,
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(1)&lt;script&gt;{{ 7*7 }}" in page
        assert "&lt;script&gt;49" not in page  # {{ 7*7 }} was not evaluated
        assert "&#34;&#39;.jpg" in page or "&#34;&#39;" in page


# --- the real command -----------------------------------------------------------------------


def test_the_command_prints_one_address_serves_it_and_stops_on_ctrl_c(
    cli, sandbox, tmp_path: Path
) -> None:
    assert cli("scan").exit_code == 0
    env = {**os.environ, "TRASHSCAN_HOME": os.environ["TRASHSCAN_HOME"]}
    command = [sys.executable, "-m", "trashscan", "--config", str(sandbox.config_path)]
    process = subprocess.Popen(
        [*command, "ui", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})\n", line)
        assert match, line
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(line.strip(), timeout=30).read().decode()
        assert len(tiles(page)) == MEDIA
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=30)
        assert refused.value.code == 401
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == ""  # the address was the one line
    assert err.strip().splitlines()[-1] == "trashscan: interrupted"
    assert "Traceback" not in err


def test_a_taken_port_is_one_line_and_exit_2(cli, sandbox) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        result = cli("ui", "--no-browser", "--port", str(taken.getsockname()[1]))
    finally:
        taken.close()
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("trashscan: error: cannot listen on 127.0.0.1:")


def test_the_first_screen_templates_are_compiled_before_the_address_is_printed(
    scanned: App, keys: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first visit must not wait for Jinja2 to compile the gallery (a tenth of a second,
    more on a busy machine): create_app, which runs before the address is printed, does it."""
    import jinja2

    loaded: list[str] = []
    real = jinja2.FileSystemLoader.get_source

    def get_source(self, environment, template):  # type: ignore[no-untyped-def]
        loaded.append(template)
        return real(self, environment, template)

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", get_source)
    client = TestClient(create_app(scanned, keys), base_url=BASE)
    assert {"base.html", "gallery.html", "tiles.html"} <= set(loaded)
    before = len(loaded)
    login(client, keys)
    assert len(tiles(client.get("/").text)) == MEDIA
    assert loaded[before:] == []  # the first screen compiled nothing more
