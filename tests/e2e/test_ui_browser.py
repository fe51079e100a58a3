"""``trashscan ui`` in a real browser: headless Chromium (:mod:`browser`) against the sandbox.

The real command runs as a person runs it (a subprocess, ``--no-browser --port 0``); its one
stdout line is the address the browser opens. What only a browser can tell is checked here: the
thumbnails are decoded pictures (not broken images), each one the picture the cache holds for
its item (or the placeholder, only where the provider cannot give a picture), and "Restore
selected" works with real clicks, htmx and the page's script: two ticked tiles are restored
through the plan and its confirmation, leave the grid, and the index and ``list --cached``
agree. The guards and the pages' contents have HTTP tests of their own (Starlette's client).

A screenshot of the gallery is saved among the test's temporary files and its path printed
(``pytest -s``); the README's picture of the gallery is one of these.

Without Chromium and its driver the browser test skips, saying what to install, unless
``TRASHSCAN_REQUIRE_BROWSER=1`` (CI) makes that a failure. The timeouts only keep a broken run
from hanging; no assertion depends on how long anything took.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from browser import (
    CHROMEDRIVER_VAR,
    CHROMIUM_VAR,
    REQUIRE_VAR,
    BrowserUnavailable,
    check_available,
    headless_chromium,
    required,
)

from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState, Kind
from trashscan.sandbox.session import Sandbox
from trashscan.testing import assert_no_miscalls

pytestmark = pytest.mark.sandbox()  # every installed fake: the gallery shows them all
TRASHSCAN = [sys.executable, "-m", "trashscan"]
GIVE_UP = 90.0  # seconds; never reached by a working run
COLOUR_TOLERANCE = 4.0  # mean channel values: two JPEG decoders may differ by a unit or two

# Every tile's picture: its natural size and mean colour, read back from a canvas (so the
# picture was decoded, not only fetched); null for one not decoded (yet, or broken).
TILE_PICTURES_JS = """
return Array.from(document.querySelectorAll('#grid .tile')).map(function (tile) {
  var img = tile.querySelector('img.thumb');
  var out = {ref: tile.dataset.ref, account: tile.dataset.account, src: img.getAttribute('src'),
             complete: img.complete, width: img.naturalWidth, height: img.naturalHeight};
  if (img.complete && img.naturalWidth > 0) {
    var canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    var context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    var data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    var sum = [0, 0, 0];
    for (var i = 0; i < data.length; i += 4) {
      sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2];
    }
    var n = data.length / 4;
    out.mean = [sum[0] / n, sum[1] / n, sum[2] / n];
  }
  return out;
});
"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium (WebDriver), or a skip saying why there is none (a failure in CI).
    Requested before the sandbox, so that a skip costs nothing."""
    try:
        check_available()
    except BrowserUnavailable as why:
        if required():
            pytest.fail(f"a browser is required ({REQUIRE_VAR}=1) but unavailable: {why}")
        pytest.skip(f"no browser for the UI test: {why}")
    with headless_chromium(tmp_path / "chromium-profile", height=1200) as driver:
        driver.set_page_load_timeout(GIVE_UP)
        driver.set_script_timeout(GIVE_UP)
        yield driver


class UiProcess:
    """The real ``trashscan ui`` in a subprocess; :attr:`url` is the line it printed."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [*TRASHSCAN, "--config", str(config), "ui", "--no-browser", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.url = self._first_line()

    def _first_line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], GIVE_UP)
        line = self.process.stdout.readline() if ready else ""
        assert line.startswith("http://127.0.0.1:"), f"no address printed: {line!r}{self.errors}"
        return line.strip()

    @property
    def errors(self) -> str:
        self._stderr.flush()
        return f"\nits stderr:\n{self.log.read_text()}"

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it; the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(GIVE_UP)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@contextmanager
def running_ui(config: Path, folder: Path) -> Iterator[UiProcess]:
    ui = UiProcess(config, folder / "ui-stderr.log")
    try:
        yield ui
    except BaseException:
        ui.kill()
        raise
    code = ui.interrupt()
    assert code == 130, f"trashscan ui exited {code} on Ctrl-C{ui.errors}"
    assert "Traceback" not in ui.log.read_text(), ui.errors


def wait_for(condition: Any, what: str, driver: Any) -> Any:
    """Poll ``condition()`` until it is truthy (its value); fail naming ``what`` otherwise."""
    until = time.monotonic() + GIVE_UP
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > until:
            driver.save_screenshot(str(Path(os.environ["TRASHSCAN_HOME"]).parent / "stuck.png"))
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def scan_everything(cli: Any, sandbox: Sandbox) -> None:
    """Two scans, as the demo runs them: OneDrive personal sees deletions only after its first
    (enrolment) scan, and its pictures were captured while the photos were alive."""
    for _ in range(2):
        scanned = cli("scan", "--all-accounts")
        assert scanned.exit_code == 0, scanned.stderr
        sandbox.between_scans()


def group_heads(driver: Any) -> dict[str, int]:
    """The group headings a person sees, with the count each one shows."""
    heads = {}
    for head in driver.find_elements("css selector", "#grid h2.group-head"):
        if not head.is_displayed():
            continue
        shown = head.find_element("css selector", ".count").text  # "(1,234)"
        count = int(shown.strip("()").replace(",", ""))
        assert head.get_attribute("data-count") == str(count), head.get_attribute("outerHTML")
        heads[head.get_attribute("data-group")] = count
    return heads


def load_every_tile(driver: Any) -> list[dict]:
    """Scroll through the gallery as a person does: each page loads when "More…" comes into
    view, each picture (lazy) when its tile does; then every tile's picture, once all decoded."""
    until = time.monotonic() + GIVE_UP
    while driver.find_elements("id", "more"):
        assert time.monotonic() < until, "the next page of tiles never came"
        driver.execute_script("document.getElementById('more').scrollIntoView();")
        time.sleep(0.2)
        wait_for(
            lambda: (
                not driver.execute_script(
                    "var m = document.getElementById('more'); return m && m.classList.contains("
                    "'htmx-request');"
                )
            ),
            "the next page of tiles",
            driver,
        )
    driver.execute_script(
        "document.querySelectorAll('#grid .tile').forEach(function (t) { t.scrollIntoView(); });"
    )
    # Scrolled past, each lazy picture was asked for; wait until every one is done either way.
    for tile in driver.find_elements("css selector", "#grid .tile"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tile)
    wait_for(
        lambda: driver.execute_script(
            "return Array.from(document.querySelectorAll('#grid img.thumb'))"
            ".every(function (i) { return i.complete; });"
        ),
        "every picture to load",
        driver,
    )
    driver.execute_script("window.scrollTo(0, 0);")
    return driver.execute_script(TILE_PICTURES_JS)


def mean_colour(jpeg: bytes) -> tuple[tuple[int, int], list[float]]:
    """A picture's size and mean RGB, as Pillow decodes it."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    return image.size, ImageStat.Stat(image).mean


def no_picture_expected(item: Any, sandbox: Sandbox) -> bool:
    """Where the provider cannot give a picture (README, thumbnail table): OneDrive work or
    school (a bin entry names no drive item), iCloud Drive (no picture API), and a Dropbox file
    whose revision is gone (it is not restorable either: nothing of it can be read)."""
    account = next(a for a in sandbox.accounts if a["name"] == item.account)
    if item.provider == "onedrive":
        return account.get("drive_type") == "business"
    if item.provider == "icloud":
        return item.item_id.startswith("drive:")
    if item.provider == "dropbox":
        return not item.restorable
    return False


def check_pictures(tiles: list[dict], index: Index, sandbox: Sandbox) -> dict[str, int]:
    """Each tile shows, decoded, the picture the cache holds for its item, or the placeholder
    where (only where) the provider cannot give one. Counts of each, by provider, to report."""
    from trashscan.thumbnails import ThumbnailCache

    cache = ThumbnailCache.open(200, sandbox.data_dir)  # the sandbox config's own cache
    shown = {"picture": 0, "placeholder": 0}
    for tile in tiles:
        assert tile["complete"] and tile["width"] > 0, f"a broken picture: {tile}"
        item = index.by_ref(tile["ref"])
        assert item is not None, tile
        found = cache.lookup(item.provider, item.account, item.item_id, item.thumbnail_key)
        assert found != "missing", f"the scans fetched no picture for {item.name} ({tile})"
        if found == "none":
            assert no_picture_expected(item, sandbox), (
                f"{item.provider} {item.account}: {item.name} shows a placeholder, but its "
                "provider can give a picture"
            )
            shown["placeholder"] += 1
        else:
            shown["picture"] += 1
        size, mean = mean_colour(cache.picture(item))
        assert (tile["width"], tile["height"]) == size, (item.name, tile)
        assert max(abs(a - b) for a, b in zip(tile["mean"], mean, strict=True)) < (
            COLOUR_TOLERANCE
        ), f"{item.name}: the browser shows another picture than the cache's ({tile})"
    return shown


def full_ref(listed: dict, index: Index) -> dict:
    """A ``list --format json`` item with its full ref (the list shows the short one)."""
    row = index.get(listed["provider"], listed["account"], listed["item_id"])
    assert row is not None and row.ref.startswith(listed["ref"]), listed
    return {**listed, "ref": row.ref}


def pick_two(items: list[dict]) -> list[dict]:
    """Two restorable photos of different providers: a local file and a cloud one."""
    photos = [i for i in items if i["restorable"] and i["kind"] == Kind.PHOTO.value]
    local = next(i for i in photos if i["provider"] == "local-trash")
    cloud = next(i for i in photos if i["provider"] == "google-drive")
    return [local, cloud]


def test_the_gallery_shows_pictures_and_restores_a_selection(
    chromium, cli, sandbox: Sandbox, tmp_path: Path
):
    scan_everything(cli, sandbox)
    listed = cli("list", "--cached", "--all-accounts", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    index = Index.open(load_config(sandbox.config_path).index_url)
    trashed = [full_ref(i, index) for i in listed.json()]

    with running_ui(sandbox.config_path, tmp_path) as ui:
        chromium.get(ui.url)
        assert "token=" not in chromium.current_url  # the one-time token was exchanged
        tiles = load_every_tile(chromium)
        assert sorted(t["ref"] for t in tiles) == sorted(i["ref"] for i in trashed)
        shown = check_pictures(tiles, index, sandbox)
        assert shown["picture"] > shown["placeholder"] > 0, shown
        screenshot = tmp_path / "ui-gallery.png"
        chromium.save_screenshot(str(screenshot))
        with cli.capsys.disabled():  # shown even without -s: where to look
            print(f"\nscreenshot of the gallery: {screenshot} ({shown})")

        chosen = pick_two(trashed)
        heads_before = group_heads(chromium)
        groups_of = {t.get_attribute("data-ref"): t.get_attribute("data-group") for t in
                     chromium.find_elements("css selector", "#grid .tile")}  # fmt: skip
        for item in chosen:  # a person clicks the picture: its label ticks the box
            label = chromium.find_element("css selector", f"#tile-{item['ref']} .pick-label")
            chromium.execute_script("arguments[0].scrollIntoView({block: 'center'});", label)
            label.click()
        count = chromium.find_element("id", "selected-count").text
        assert count == "2 selected", count

        chromium.find_element("id", "restore-selected").click()
        rows = wait_for(
            lambda: chromium.find_elements("css selector", "#plan-items tbody tr[data-ref]"),
            "the restore plan",
            chromium,
        )
        planned = {r.get_attribute("data-ref") for r in rows}
        assert planned == {i["ref"] for i in chosen}
        chromium.find_element("id", "confirm-restore").click()
        wait_for(
            lambda: chromium.find_elements("css selector", "#results[data-finished='true']"),
            "the restore to finish",
            chromium,
        )
        results = {
            li.get_attribute("data-ref"): li.get_attribute("data-outcome")
            for li in chromium.find_elements("css selector", "#result-list li.result")
        }
        assert results == {i["ref"]: "restored" for i in chosen}, chromium.page_source
        wait_for(
            lambda: not any(chromium.find_elements("id", f"tile-{i['ref']}") for i in chosen),
            "the restored tiles to leave the grid",
            chromium,
        )
        tiles_left = chromium.find_elements("css selector", "#grid .tile")
        left = {t.get_attribute("data-ref") for t in tiles_left}
        assert left == {i["ref"] for i in trashed} - {i["ref"] for i in chosen}
        # Each group's heading counts what is left in it, from the index: the restored items
        # are gone from its count, and a group left without tiles shows no heading.
        expected = dict(heads_before)
        for item in chosen:
            expected[groups_of[item["ref"]]] -= 1
        expected = {group: count for group, count in expected.items() if count}
        wait_for(
            lambda: group_heads(chromium) == expected, "the group headings' new counts", chromium
        )
        for group in group_heads(chromium):
            tiles_in = chromium.find_elements("css selector", f"#grid .tile[data-group='{group}']")
            assert tiles_in, group
        chromium.save_screenshot(str(tmp_path / "ui-after-restore.png"))

        chromium.refresh()  # the server's gallery agrees, not only the page's script
        wait_for(lambda: chromium.find_elements("id", "grid"), "the gallery again", chromium)
        for item in chosen:
            assert not chromium.find_elements("id", f"tile-{item['ref']}"), item

    after = cli("list", "--cached", "--all-accounts", "--format", "json")
    assert {full_ref(i, index)["ref"] for i in after.json()} == {i["ref"] for i in trashed} - {
        i["ref"] for i in chosen
    }
    for item in chosen:
        row = index.get(item["provider"], item["account"], item["item_id"])
        assert row is not None and row.state is ItemState.RESTORED, row
    assert Path(chosen[0]["path"]).is_file()  # the local photo is back where it was
    for fake in sandbox.fakes.values():
        assert_no_miscalls(fake)


@pytest.mark.sandbox("local-trash")
def test_scrolling_loads_every_page_of_tiles_once(chromium, cli, sandbox: Sandbox, tmp_path: Path):
    """Thousands of items come in pages as one scrolls (htmx, "revealed"): every item once."""
    laptop = next(a for a in sandbox.accounts if a["name"] == "laptop")
    sandbox.fakes["local-trash"].bulk(Path(laptop["trash_dirs"][0]), 300)
    scanned = cli("scan", "--all-accounts", "--no-thumbnails")
    assert scanned.exit_code == 0, scanned.stderr
    listed = cli("list", "--cached", "--all-accounts", "--format", "json")
    index = Index.open(load_config(sandbox.config_path).index_url)
    every = {full_ref(i, index)["ref"] for i in listed.json()}

    with running_ui(sandbox.config_path, tmp_path) as ui:
        chromium.get(ui.url)
        first_page = len(chromium.find_elements("css selector", "#grid .tile"))
        assert 0 < first_page < len(every)  # more than one page, or nothing is tested here
        tiles = load_every_tile(chromium)

    refs = [t["ref"] for t in tiles]
    assert len(refs) == len(set(refs)), "a tile shown twice"
    assert set(refs) == every
    assert all(t["complete"] and t["width"] > 0 for t in tiles)  # placeholders, decoded


@pytest.mark.parametrize("required_here", [False, True], ids=["local", "ci"])
def test_no_browser_skips_unless_required(tmp_path: Path, required_here: bool):
    """Without Chromium the browser test skips, naming what to install; CI makes it fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRASHSCAN_")}
    env[CHROMIUM_VAR] = str(tmp_path / "no-chromium-here")
    env[CHROMEDRIVER_VAR] = str(tmp_path / "no-chromedriver-here")
    if required_here:
        env[REQUIRE_VAR] = "1"
    test = f"{Path(__file__).name}::test_the_gallery_shows_pictures_and_restores_a_selection"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test],
        cwd=Path(__file__).parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if required_here:
        assert run.returncode == 1, run.stdout
        assert "1 error" in run.stdout and "a browser is required" in run.stdout
    else:
        assert run.returncode == 0, run.stdout
        assert "1 skipped" in run.stdout and "apt-get install chromium" in run.stdout
