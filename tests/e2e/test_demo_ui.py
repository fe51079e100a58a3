"""``trashscan demo --ui``: the demo's story, then the gallery on the same sandbox until Ctrl-C.

The real command runs in a subprocess, as typed. Once it prints the gallery's address, that
address is opened as a browser would (the one-time token exchanged for the session cookie) and
must show the sandbox's tiles, the item the demo restored no longer among them; Ctrl-C then
stops the gallery and the demo (exit 130, as every command), and the sandbox's temporary folder
is gone. The timeouts only keep a broken run from hanging.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

TRASHSCAN = [sys.executable, "-m", "trashscan"]
GIVE_UP = 180.0  # seconds; never reached by a working run (the demo scans every fake first)
ADDRESS = re.compile(r"^http://127\.0\.0\.1:\d+/\?token=\S+$")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRASHSCAN_")}
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):  # no browser window from a test, ever
        env.pop(name, None)
    return {**env, **extra}


def _lines_until_address(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    until = time.monotonic() + GIVE_UP
    while not (lines and ADDRESS.match(lines[-1])):
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, until - time.monotonic()))
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            rest = process.communicate()
            raise AssertionError("no address printed:\n" + "".join(lines) + "\n".join(rest))
        lines.append(line.rstrip("\n"))
    return lines


@pytest.mark.parametrize("flags", [["--no-browser"], []], ids=["no-browser", "no-display"])
def test_demo_ui_serves_the_sandbox_gallery_until_ctrl_c(flags: list[str]):
    process = subprocess.Popen(
        [*TRASHSCAN, "demo", "--ui", *flags],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        lines = _lines_until_address(process)
        text = "\n".join(lines)
        assert "trashscan demo --ui" in text  # the next steps offer the gallery
        restored = re.search(r"^(.+) \(([0-9a-f]{8})\) is no longer in the trash\.$", text, re.M)
        assert restored, text
        assert lines[-2] == "$ trashscan ui" + (" --no-browser" if flags else "")
        folder = Path(re.search(r"(/\S*trashscan-demo-[a-z0-9_]+)", text).group(1))
        assert folder.is_dir()

        page = requests.get(lines[-1], timeout=30)  # token -> cookie, redirected to /
        assert page.status_code == 200, page.text
        assert page.url.endswith("/") and "token=" not in page.url
        refs = re.findall(r'class="tile [^"]*" id="tile-([0-9a-f]+)"', page.text)
        assert len(refs) > 10, page.text
        assert not any(ref.startswith(restored.group(2)) for ref in refs)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=GIVE_UP)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 130, err
    assert out == ""  # nothing after the address on stdout: the gallery was the last step
    assert "trashscan: interrupted" in err and "Traceback" not in err, err
    if not flags:
        assert "no display to open a browser on" in err, err
    assert not folder.exists()  # the sandbox is cleaned up once stopped


def test_no_browser_without_ui_is_refused_in_one_line():
    run = subprocess.run(
        [*TRASHSCAN, "demo", "--no-browser"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=GIVE_UP,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == "trashscan: error: --no-browser goes with --ui"
    assert run.stdout == ""
