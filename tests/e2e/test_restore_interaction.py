"""``trashscan restore`` as a person runs it: the prompt, the results as they come, the bar, the
last lines.

The prompt and the progress bar need a terminal: those tests run the real command in a
pseudo-terminal (:mod:`terminal`), typing the answer or Ctrl-C as a person would. The others
run the CLI in this process against the sandbox, so that a fake can hold one account's answer
back until another account's result has been recorded.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from terminal import TRASHSCAN, Terminal

from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState
from trashscan.sandbox.session import Sandbox

EXIT_DECLINED = 4


def _items(cli) -> list[dict]:
    listed = cli("list", "--all-accounts", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    return listed.json()


def _named(items: list[dict], name: str, account: str | None = None) -> dict:
    return next(i for i in items if i["name"] == name and account in (None, i["account"]))


def _state(config: Path, item: dict):
    index = Index.open(load_config(config).index_url)
    return index.get(item["provider"], item["account"], item["item_id"]).state


@pytest.mark.parametrize(
    ("keys", "code", "said"),
    [
        ("n\r", EXIT_DECLINED, "declined: nothing was restored"),
        ("\r", EXIT_DECLINED, "declined: nothing was restored"),  # the default is no
        ("\x04", EXIT_DECLINED, "declined: nothing was restored"),  # Ctrl-D: end of input
        ("\x03", 130, "trashscan: interrupted"),  # Ctrl-C
    ],
    ids=["no", "enter", "ctrl-d", "ctrl-c"],
)
def test_anything_but_yes_at_the_prompt_restores_nothing(cli, sandbox, keys, code, said):
    item = _named(_items(cli), "IMG_1235.JPG")
    terminal = Terminal([*TRASHSCAN, "--config", str(sandbox.config_path), "restore", item["ref"]])
    terminal.expect("Restore 1 item(s)? [y/N]")
    terminal.type(keys)
    assert terminal.finish() == code, terminal.screen
    assert said in terminal.screen
    assert "Traceback" not in terminal.screen
    assert not Path(item["path"]).exists()
    assert _state(sandbox.config_path, item) is ItemState.TRASHED


def test_yes_at_the_prompt_restores(cli, sandbox):
    item = _named(_items(cli), "IMG_1235.JPG")
    terminal = Terminal([*TRASHSCAN, "--config", str(sandbox.config_path), "restore", item["ref"]])
    terminal.expect("Restore 1 item(s)? [y/N]")
    terminal.type("y\r")
    assert terminal.finish() == 0, terminal.screen
    assert Path(item["path"]).exists()


def test_a_long_restore_shows_a_progress_bar_on_a_terminal_only(cli, sandbox):
    usb = [i for i in _items(cli) if i["account"] == "usb-stick"]
    assert len(usb) == 3
    command = ["--config", str(sandbox.config_path), "restore", "--account", "usb-stick", "--yes"]
    terminal = Terminal([*TRASHSCAN, *command])
    assert terminal.finish() == 0, terminal.screen
    assert "restoring" in terminal.screen and "3/3" in terminal.screen
    assert "━" in terminal.screen
    assert "3 restored, 0 not restored" in terminal.screen
    for item in usb:  # every result line reached the screen, above the bar
        assert f"{item['ref'][:8]} usb-stick: {item['name']}" in terminal.screen


def test_no_progress_bar_in_a_pipe(cli, sandbox):
    cli("list", "--format", "json")
    piped = cli("restore", "--account", "usb-stick", "--yes")
    assert piped.exit_code == 0, piped.stderr
    assert "3 restored" in piped.stdout
    assert "restoring" not in piped.stderr and "━" not in piped.stderr + piped.stdout
    assert "3/3" not in piped.stderr


def test_results_print_as_they_come_in_plan_order(tmp_path, bare_cli):
    """The plan is Dropbox's photo, then the local one. Dropbox's fake holds every restore
    request until the local photo is recorded as restored, so the local result comes first;
    it is still printed second, after Dropbox's."""
    with Sandbox(tmp_path / "box", only=frozenset({"local-trash", "dropbox"})) as box:

        def cli(*args: str):
            return bare_cli("--config", str(box.config_path), *args)

        items = _items(cli)
        photo = next(i for i in items if i["provider"] == "dropbox" and i["restorable"])
        local = _named(items, "IMG_1234.JPG", "usb-stick")
        server = box.servers["dropbox"]
        released = threading.Event()

        def hold(_seconds: float) -> None:
            give_up = time.monotonic() + 60
            while not released.is_set() and time.monotonic() < give_up:
                if _state(box.config_path, local) is ItemState.RESTORED:
                    released.set()
                else:
                    time.sleep(0.01)

        server.sleep, server.latency = hold, 0.001
        result = cli("restore", photo["ref"], local["ref"], "--yes")
        assert result.exit_code == 0, result.stdout + result.stderr
        assert released.is_set()
        lines = result.stdout.splitlines()
        first = _line_of(lines, photo)
        second = _line_of(lines, local)
        assert first < second, result.stdout


def _line_of(lines: list[str], item: dict) -> int:
    """Where the item's result line is (after the plan's table, which names it too)."""
    named = f"{item['ref'][:8]} {item['account']}: {item['name']}"
    return next(n for n, line in enumerate(lines) if named in line)


def test_the_last_lines_name_every_item_not_restored_and_why(tmp_path, bare_cli):
    with Sandbox(tmp_path / "box", only=frozenset({"local-trash", "dropbox"})) as box:

        def cli(*args: str):
            return bare_cli("--config", str(box.config_path), *args)

        items = _items(cli)
        photo = next(i for i in items if i["provider"] == "dropbox" and i["restorable"])
        left_out = next(i for i in items if i["provider"] == "dropbox" and not i["restorable"])
        fine = _named(items, "IMG_1234.JPG", "usb-stick")
        gone = _named(items, "IMG_1235.JPG", "usb-stick")
        trashed = next(Path(box.workdir).rglob("files/IMG_1235.JPG"))
        trashed.unlink()  # emptied by hand since the scan
        box.fakes["dropbox"].set_restorable(photo["account"], photo["path"], False)  # since
        refs = [photo["ref"], fine["ref"], gone["ref"], left_out["ref"]]
        result = cli("restore", *refs, "--yes", "--deadline", "2m")
        assert result.exit_code == 1, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        summary = next(n for n, line in enumerate(lines) if "restored," in line)
        assert lines[summary] == "1 restored, 2 not restored, 1 left out:"
        last = lines[summary + 1 :]
        assert len(last) == 3, result.stdout
        assert last[0].startswith(f"  {photo['ref'][:8]} {photo['account']}: {photo['name']}: ")
        assert "failed" in last[0]
        assert last[1].startswith(f"  {gone['ref'][:8]} usb-stick: IMG_1235.JPG: ")
        assert last[2].startswith(f"  {left_out['ref'][:8]} {left_out['account']}: ")
        assert "left out" in last[2]
