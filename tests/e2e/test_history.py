"""`trashscan history`: the restore audit log through the real CLI, as `llm logs` shows its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.cli import run
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEYS = {
    "attempted_at", "ref", "provider", "account", "item_id", "name", "outcome", "detail",
    "restored_path", "actor",
}  # fmt: skip


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> list[dict]:
        return json.loads(self.stdout)


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
    with Sandbox(tmp_path / "sandbox", now=FIXED, only=frozenset({"local-trash"})) as sandbox:
        yield sandbox


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox, clock: Clock):
    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run(["--config", str(box.config_path), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def test_history_shows_every_restore_newest_first_and_filters(cli, clock) -> None:
    empty = cli("history")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "no restores recorded" in empty.stderr

    items = {i["name"]: i for i in cli("list", "--format", "json").json()}
    video, cover, usb = items["VID_0003.mp4"], items["cover.jpg"], items["IMG_1234.JPG"]
    assert cli("restore", video["ref"], "--yes").exit_code == 0
    clock.now = FIXED + timedelta(hours=1)
    assert cli("restore", cover["ref"], "--yes").exit_code == 0  # under a new name
    clock.now = FIXED + timedelta(days=2)
    assert cli("restore", usb["ref"], video["ref"], "--yes").exit_code == 0

    log = cli("history", "--format", "json")
    assert log.exit_code == 0, log.stderr
    entries = log.json()
    assert all(set(entry) == KEYS for entry in entries)
    assert [(e["name"], e["outcome"]) for e in entries] == [
        ("IMG_1234.JPG", "restored"),
        ("VID_0003.mp4", "already_restored"),  # reported before the provider was asked
        ("cover.jpg", "conflict_resolved"),
        ("VID_0003.mp4", "restored"),
    ]
    assert entries[-1]["attempted_at"] == "2026-03-02T12:00:00Z"
    assert entries[-1]["ref"] == video["ref"] and entries[-1]["restored_path"] == video["path"]
    assert entries[2]["restored_path"] != cover["path"]

    table = cli("history")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert len(lines) == 5  # a header, then one line per attempt
    assert "2026-03-02 12:00" in lines[-1] and video["ref"] in lines[-1]
    assert "VID_0003.mp4" in lines[-1] and video["path"] in lines[-1]

    jsonl = cli("history", "--format", "jsonl")
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == entries

    usb_only = cli("history", "--account", "usb-stick", "--format", "json").json()
    assert [e["name"] for e in usb_only] == ["IMG_1234.JPG"]
    recent = cli("history", "--since", "1d", "--format", "json").json()  # now: FIXED + 2 days
    assert {e["name"] for e in recent} == {"IMG_1234.JPG", "VID_0003.mp4"} and len(recent) == 2
    first_day = cli("history", "--until", "2026-03-03", "--format", "json").json()
    assert [e["name"] for e in first_day] == ["cover.jpg", "VID_0003.mp4"]
    one = cli("history", "--limit", "1", "--format", "json").json()
    assert one == entries[:1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--since", "soon"), "bad date or duration 'soon'"),
        (("--limit", "-1"), "-1 is not in the range"),
        (("--account", "nobody"), "unknown account 'nobody'"),
        (("--format", "csv"), "'csv' is not one of"),
    ],
)
def test_history_refuses_bad_input_in_one_line(cli, args, needle: str) -> None:
    assert cli("history").exit_code == 0
    result = cli("history", *args)
    assert result.exit_code == 2, args
    assert result.stderr.count("\n") == 1 and needle in result.stderr


def test_history_keeps_a_removed_accounts_restores(cli) -> None:
    ref = cli("list", "--account", "usb-stick", "-q").stdout.split()[0]
    assert cli("restore", ref, "--yes").exit_code == 0
    assert cli("accounts", "remove", "usb-stick", "--yes").exit_code == 0
    entries = cli("history", "--format", "json").json()
    assert [e["ref"] for e in entries] == [ref]
    assert cli("history", "--account", "usb-stick", "-q").exit_code == 2  # no such option
    assert len(cli("history", "--account", "usb-stick", "--format", "json").json()) == 1
