"""A real, headless Chromium for the browser tests: Debian's ``chromium`` and ``chromium-driver``,
driven by selenium.

Both programs are given by path, so selenium never runs Selenium Manager (which would try to
download a browser or a driver); ``SE_OFFLINE`` tells it to stay offline all the same, should
a later selenium consult it anyway. The flags keep Chromium from reaching out on its own
(component updates, sync, field trials...): on a closed network those connections are refused
and only slow it down. Each browser gets a new empty profile folder, so no state leaks from one
run to the next.

Where the programs are missing the browser tests skip, saying which program and how to install
it, unless ``TRASHSCAN_REQUIRE_BROWSER=1`` (CI, :file:`.ci/run`) makes that a failure: there a
skip would hide that nothing was tested.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM_VAR = "TRASHSCAN_TEST_CHROMIUM"  # another browser program than Debian's
CHROMEDRIVER_VAR = "TRASHSCAN_TEST_CHROMEDRIVER"  # another driver program than Debian's
REQUIRE_VAR = "TRASHSCAN_REQUIRE_BROWSER"  # "1": no browser is a test failure, not a skip (CI)
INSTALL_HINT = "apt-get install chromium chromium-driver"
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root (CI containers) Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers' /dev/shm is often 64 MB
)


class BrowserUnavailable(Exception):
    """Why no browser can be driven here (the message becomes the skip reason)."""


def programs() -> tuple[Path, Path]:
    """The browser and its driver: as set, else Debian's."""
    browser = Path(os.environ.get(CHROMIUM_VAR) or "/usr/bin/chromium")
    driver = Path(os.environ.get(CHROMEDRIVER_VAR) or "/usr/bin/chromedriver")
    return browser, driver


def check_available() -> tuple[Path, Path]:
    """The two programs, or :class:`BrowserUnavailable` naming the ones missing."""
    browser, driver = programs()
    missing = [str(p) for p in (browser, driver) if not (p.is_file() and os.access(p, os.X_OK))]
    if missing:
        raise BrowserUnavailable(f"no {' nor '.join(missing)} ({INSTALL_HINT})")
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise BrowserUnavailable("selenium is not installed (pip install -e '.[test]')") from None
    return browser, driver


def required() -> bool:
    return os.environ.get(REQUIRE_VAR) == "1"


@contextlib.contextmanager
def headless_chromium(profile: Path, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A selenium ``WebDriver`` on a new headless Chromium with an empty profile in ``profile``;
    quits the browser (and its driver) on the way out."""
    browser, driver = check_available()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    service = Service(executable_path=str(driver), log_output=str(profile.parent / "driver.log"))
    session = webdriver.Chrome(options=options, service=service)
    try:
        yield session
    finally:
        session.quit()
