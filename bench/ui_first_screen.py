"""``trashscan ui`` on an index of 10,000 trashed items: the time to the first screen (< 1 s).

Usage: python bench/ui_first_screen.py [--n 10000] [--repeat 5] [--no-browser]
       (run from the project's venv)

The index is built through the real scan path: one sandbox with every provider's fake, and the
six accounts of six kinds (sandbox_kit.ACCOUNTS) each given about N/6 more trashed
photos/videos by their fake's bulk seed, then ``trashscan scan --all-accounts`` (pictures
fetched too, as a user's scan does: the most urgent ``[thumbnails] per_run`` per account, which
are the first screen's). Whatever the sandbox seeded besides is there as well; the total is
printed and must be at least N.

Then the real ``trashscan ui --no-browser --port 0`` is started (a separate process, as a user
runs it) and measured, twice over (the token is for one use, so each measure has a server of
its own, measured from its first request):

1. HTTP, as a browser's first visit: the printed address (the token exchange: a redirect
   setting the session cookie) followed to ``GET /``, until the whole HTML is read; then the
   same ``GET /`` again --repeat times with the cookie (a reload; the median is printed). The
   page's tiles are counted (its first page; the rest load as one scrolls).
2. In headless Chromium (tests/e2e/browser.py; skipped with --no-browser or where it is
   missing), from the navigation's start, by the page's own Performance API: the HTML received
   (``responseEnd``), ``DOMContentLoaded``, the first contentful paint, and the last picture of
   the tiles in the first screen (the viewport, 1280 x 900) received (resource timing
   ``responseEnd`` of each such ``img``), and the ``load`` event.

Each figure is printed next to the target: the first screen in under a second (issue 15). Times
are noisy on a shared machine; the process's start (Python, uvicorn, opening the index) is not
part of them, as a browser's address bar waits for the printed address.
"""

from __future__ import annotations

import argparse
import math
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sandbox_kit import ACCOUNTS, Bench, sandbox, seed_trash  # bench/, the script's folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import browser  # tests/e2e/browser.py: the headless Chromium of the browser test

TARGET = 1.0  # seconds: the first screen (issue 15)
PROVIDERS = sorted({provider for _, provider, _ in ACCOUNTS})

FIRST_SCREEN_JS = """
var done = arguments[arguments.length - 1];
function measure() {
  var nav = performance.getEntriesByType('navigation')[0];
  var fcp = performance.getEntriesByName('first-contentful-paint')[0];
  var visible = Array.from(document.querySelectorAll('#grid img.thumb')).filter(function (img) {
    var r = img.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  });
  if (!visible.every(function (img) { return img.complete; }) || nav.loadEventEnd === 0) {
    setTimeout(measure, 20);
    return;
  }
  var pictures = visible.map(function (img) {
    var entry = performance.getEntriesByName(img.currentSrc || img.src)[0];
    return entry ? entry.responseEnd : null;
  });
  done({redirect: nav.redirectEnd, request: nav.requestStart, html: nav.responseEnd,
        dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
        fcp: fcp ? fcp.startTime : null, redirects: nav.redirectCount,
        tiles: document.querySelectorAll('#grid .tile').length, visible: visible.length,
        broken: visible.filter(function (img) { return img.naturalWidth === 0; }).length,
        pictures: pictures.filter(function (t) { return t !== null; }).length,
        last_picture: Math.max.apply(null, pictures.filter(function (t) { return t !== null; }))});
}
measure();
"""


def build_index(bench: Bench, n: int) -> int:
    """About ``n`` more trashed items over the six accounts, scanned; the index's total (the
    gallery shows its photos and videos: OneDrive business's bulk has documents too)."""
    share = math.ceil(n / len(ACCOUNTS))
    for label, _, account in ACCOUNTS:
        started = time.perf_counter()
        seed_trash(bench, label, account, share)
        print(f"  seeded {share:,} in {label} ({account}) in {time.perf_counter() - started:.1f} s")
    scan = bench.cli("scan", "--all-accounts")
    print(f"  trashscan scan --all-accounts: {scan.wall:.1f} s, exit {scan.code}")
    everything = bench.cli("list", "--cached", "--all-accounts", "--kind", "any", "-q")
    shown = bench.cli("list", "--cached", "--all-accounts", "-q")  # photos and videos
    print(f"  the gallery's photos and videos: {len(shown.stdout.split()):,}")
    return len(everything.stdout.split())


class Ui:
    """``trashscan ui --no-browser --port 0`` in a child process; its printed address."""

    def __init__(self, bench: Bench) -> None:
        import os

        env = {**os.environ, "TRASHSCAN_HOME": str(bench.home)}
        command = [sys.executable, "-m", "trashscan", "--config", str(bench.config), "ui"]
        self.process = subprocess.Popen(
            [*command, "--no-browser", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its "interrupted" when stopped
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 120)
        self.url = self.process.stdout.readline().strip() if ready else ""
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise SystemExit(f"trashscan ui printed no address: {self.url!r}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def over(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms  (target < {TARGET * 1000:.0f} ms: " + (
        "ok)" if seconds < TARGET else "OVER)"
    )


def measure_http(bench: Bench, repeat: int) -> dict[str, Any]:
    import requests

    ui = Ui(bench)
    try:
        session = requests.Session()
        started = time.perf_counter()
        first = session.get(ui.url, timeout=60)  # the redirect is followed: cookie, then /
        html = first.text
        cold = time.perf_counter() - started
        assert first.status_code == 200 and first.history, (first.status_code, first.history)
        exchange = first.history[0].elapsed.total_seconds()
        warm = []
        for _ in range(repeat):
            started = time.perf_counter()
            again = session.get(first.url, timeout=60)
            _ = again.text
            warm.append(time.perf_counter() - started)
            assert again.status_code == 200
    finally:
        ui.stop()
    tiles = len(re.findall(r'class="tile ', html))
    return {
        "cold": cold,
        "exchange": exchange,
        "warm": statistics.median(warm),
        "bytes": len(html.encode()),
        "tiles": tiles,
        "more": 'id="more"' in html,
    }


def measure_browser(bench: Bench, workdir: Path) -> dict[str, dict[str, Any]] | str:
    try:
        browser.check_available()
    except browser.BrowserUnavailable as why:
        return str(why)
    ui = Ui(bench)
    try:
        with browser.headless_chromium(workdir / "chromium-profile") as driver:
            driver.set_script_timeout(120)
            driver.get(ui.url)
            first = driver.execute_async_script(FIRST_SCREEN_JS)
            driver.get(ui.url.split("?", 1)[0])  # a second visit (the cookie; pictures cached)
            return {"first": first, "again": driver.execute_async_script(FIRST_SCREEN_JS)}
    finally:
        ui.stop()


def print_browser(label: str, shown: dict[str, Any]) -> None:
    redirects = f"{shown['redirects']} redirect" + ("" if shown["redirects"] == 1 else "s")
    print(
        f"\nheadless Chromium, {label}, from the navigation's start ({redirects}; "
        f"{shown['tiles']} tiles, {shown['visible']} in the first screen, "
        f"{shown['broken']} broken):"
    )
    if shown["redirects"]:
        print(f"  token exchange (the redirect) done:  {over(shown['redirect'] / 1000)}")
    print(f"  HTML received (responseEnd):         {over(shown['html'] / 1000)}")
    print(f"  DOMContentLoaded:                    {over(shown['dom'] / 1000)}")
    if shown["fcp"] is not None:
        print(f"  first contentful paint:              {over(shown['fcp'] / 1000)}")
    if shown["pictures"]:
        print(
            f"  first screen's {shown['pictures']} pictures received:  "
            f"{over(shown['last_picture'] / 1000)}"
        )
    print(f"  load event:                          {over(shown['load'] / 1000)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="trashed items to add (total)")
    parser.add_argument("--repeat", type=int, default=5, help="reloads of / to time")
    parser.add_argument("--no-browser", action="store_true", help="HTTP only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trashscan-bench-ui-") as tmp:
        workdir = Path(tmp)
        with sandbox(workdir, PROVIDERS, latency=0.0) as bench:
            print(f"building the index: {args.n:,} trashed items over {len(ACCOUNTS)} accounts")
            total = build_index(bench, args.n)
            print(f"index: {total:,} trashed items (photos, videos and others)")
            if total < args.n:
                raise SystemExit(f"the index holds {total:,} items, fewer than {args.n:,}")

            http = measure_http(bench, args.repeat)
            print(
                f"\nHTTP (first page: {http['tiles']} tiles, {http['bytes'] / 1024:.0f} KB of "
                f"HTML{', more as one scrolls' if http['more'] else ''}):"
            )
            print(f"  token exchange + GET /, whole HTML:  {over(http['cold'])}")
            print(f"    of which the token exchange:       {over(http['exchange'])}")
            print(f"  GET / again (reload, median of {args.repeat}): {over(http['warm'])}")

            if args.no_browser:
                return
            visits = measure_browser(bench, workdir)
            if isinstance(visits, str):
                print(f"\nbrowser: not measured ({visits})")
                return
            print_browser("first visit", visits["first"])
            print_browser("second visit", visits["again"])


if __name__ == "__main__":
    main()
