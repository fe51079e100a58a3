"""One name per idea across commands, and the small promises around them, through the real CLI:
`--within` everywhere, `table`/`text` both, `--debug` anywhere without changing exit codes,
"no changes" for an empty incremental scan, `schedule --cron --systemd`, CSV booleans, a purge
that never comes is not an estimate, and the Google Photos reminder at most once a day."""

from __future__ import annotations

import csv
import io
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trashscan.cli import run
from trashscan.config import add_account
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PHOTOS_NOTE = "photos-alice (google-photos): the Google Photos API cannot list"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


class Clock:
    def __init__(self) -> None:
        self.now = FIXED

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr("trashscan.cli.app.utcnow", pinned)
    return pinned


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    only = frozenset({"local-trash", "google-photos"})
    with Sandbox(tmp_path / "sandbox", now=FIXED, only=only) as sandbox:
        assert sandbox.broken == {}
        yield sandbox


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], config: Path) -> None:
        self.capsys = capsys
        self.config = str(config)

    def __call__(self, *args: str, config: bool = True) -> Result:
        self.capsys.readouterr()
        code = run([*(["--config", self.config] if config else []), *args])
        out = self.capsys.readouterr()
        return Result(code, out.out, out.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox, clock: Clock) -> Cli:
    return Cli(capsys, box.config_path)


# --- one name per idea ----------------------------------------------------------------------


def test_within_on_list_as_on_check_and_expiring_within_still_works(cli) -> None:
    within = cli("list", "--within", "10d", "--format", "json")
    assert within.exit_code == 0, within.stderr
    alias = cli("list", "--cached", "--expiring-within", "10d", "--format", "json")
    assert within.stdout == alias.stdout
    items = json.loads(within.stdout)
    assert items and all(item["days_left"] <= 10 for item in items)
    assert "--within" in cli("list", "--help").stdout
    check = cli("check", "--within", "10d", "--no-notify", "--format", "json")
    assert {i["ref"] for i in json.loads(check.stdout)["items"]} == {i["ref"] for i in items}


def test_format_table_and_text_are_both_accepted_where_either_is(cli) -> None:
    cli("scan")
    table = cli("list", "--cached", "--format", "table")
    text = cli("list", "--cached", "--format", "text")
    assert (table.exit_code, text.exit_code) == (0, 0)
    assert table.stdout == text.stdout and "IMG_0004.heic" in text.stdout
    check_text = cli("check", "--format", "text", "--no-notify")
    check_table = cli("check", "--format", "table", "--no-notify")
    assert check_text.exit_code == check_table.exit_code == 2
    assert check_text.stdout == check_table.stdout
    ref = json.loads(cli("list", "--cached", "--format", "json").stdout)[0]["ref"]
    for fmt in ("text", "table"):
        dry = cli("restore", ref, "--dry-run", "--format", fmt)
        assert dry.exit_code == 0 and "dry run" in dry.stdout
        assert cli("history", "--format", fmt).exit_code == 0


# --- --debug --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_debug_anywhere_shows_the_traceback_and_keeps_the_exit_code(
    cli, monkeypatch, where: str
) -> None:
    def with_debug(*args: str) -> Result:
        if where == "env":
            monkeypatch.setenv("TRASHSCAN_DEBUG", "1")
            return cli(*args)
        if where == "before":
            return cli("--debug", *args)
        return cli(*args, "--debug")

    plain = cli("list", "--account", "nobody")
    debug = with_debug("list", "--account", "nobody")
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()

    assert cli("check", "--account", "nobody").exit_code == 3
    assert with_debug("check", "--account", "nobody").exit_code == 3
    assert with_debug("accounts", "list").exit_code == 0


def test_debug_keeps_checks_unknown_on_an_unexpected_error(cli, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("trashscan.check.run_check", broken)
    plain = cli("check", "--no-notify")
    debug = cli("check", "--no-notify", "--debug")
    assert plain.exit_code == debug.exit_code == 3
    assert "RuntimeError: a bug" in plain.stderr and "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr and "RuntimeError: a bug" in debug.stderr


# --- scan: "no changes" ---------------------------------------------------------------------


def test_an_incremental_scan_that_found_nothing_says_no_changes(tmp_path, capsys, clock) -> None:
    with Sandbox(tmp_path / "box", only=frozenset({"dropbox"})) as box:
        cli = Cli(capsys, box.config_path)
        first = cli("scan", "--account", "carol")
        assert first.exit_code == 0, first.stderr
        assert first.stdout.startswith("carol: ") and "items scanned" in first.stdout
        again = cli("scan", "--account", "carol")
        assert again.exit_code == 0, again.stderr
        assert again.stdout == "carol: no changes\n"


def test_a_full_listing_says_how_many_items_it_listed_each_time(cli) -> None:
    cli("scan")
    again = cli("scan", "--account", "laptop")  # local trash lists in full: its count is news
    assert again.stdout == "laptop: 10 items scanned\n"


# --- schedule, CSV, never purged ------------------------------------------------------------


def test_schedule_cron_and_systemd_together_is_an_error(cli) -> None:
    for args in (("--cron", "--systemd"), ("--systemd", "--cron", "--install")):
        result = cli("schedule", *args)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "--cron or --systemd" in result.stderr


def test_csv_booleans_are_true_and_false(cli) -> None:
    result = cli("list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    for column in ("purge_is_estimate", "restorable", "age_unknown"):
        assert {row[column] for row in rows} <= {"true", "false"}, column
    assert {row["restorable"] for row in rows} == {"true"}
    assert {row["purge_is_estimate"] for row in rows} == {"true", "false"}


def test_an_item_never_purged_is_not_an_estimate(cli) -> None:
    items = json.loads(cli("list", "--format", "json").stdout)
    usb = [item for item in items if item["account"] == "usb-stick"]
    assert usb and all(item["purge_at"] is None for item in usb)
    assert all(item["purge_is_estimate"] is False for item in usb)
    laptop = [item for item in items if item["account"] == "laptop"]
    assert all(item["purge_is_estimate"] is True for item in laptop)  # purge_after_days: ~


# --- the Google Photos reminder -------------------------------------------------------------


def test_the_google_photos_reminder_is_shown_once_a_day_per_account(cli, box, clock) -> None:
    first = cli("list")
    assert first.exit_code == 0
    assert first.stderr.count(PHOTOS_NOTE) == 1
    for args in (("list",), ("scan",), ("list", "--account", "photos-alice")):
        again = cli(*args)
        assert again.exit_code == 0
        assert "Google Photos" not in again.stderr, args
    scan = cli("scan")
    assert "photos-alice: cannot be listed" in scan.stdout

    check = cli("check", "--no-notify")  # unattended runs always carry it
    assert "photos-alice (google-photos): the Google Photos API cannot list" in check.stdout

    clock.now = FIXED + timedelta(hours=1)
    add_account(box.config_path, {"name": "photos-bob", "provider": "google-photos"})
    other = cli("list")
    assert "photos-bob (google-photos)" in other.stderr and PHOTOS_NOTE not in other.stderr

    clock.now = FIXED + timedelta(hours=23)
    assert "Google Photos" not in cli("list").stderr
    clock.now = FIXED + timedelta(hours=24, minutes=1)
    later = cli("list")
    assert later.stderr.count(PHOTOS_NOTE) == 1
    assert "photos-bob" not in later.stderr  # shown to bob an hour after alice's first

    state = box.data_dir / "reminders.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert set(json.loads(state.read_text())) == {
        "google-photos/photos-alice",
        "google-photos/photos-bob",
    }
