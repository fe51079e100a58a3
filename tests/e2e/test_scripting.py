"""Scripting with the real CLI: `--format jsonl`, `list -q`, `restore -`, restore results as JSON,
refs against filters, `--provider` checked, and durations for `--deleted-since/--until`.

In-process through :func:`trashscan.cli.run` with a pinned clock, and through real processes
and pipes where standard input or a terminal matters.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trashscan.cli import run
from trashscan.config import load_config
from trashscan.index import Index
from trashscan.index_read import SQLiteReader
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TRASHSCAN = [sys.executable, "-m", "trashscan"]
RESULT_KEYS = {"ref", "provider", "account", "name", "outcome", "detail", "restored_path"}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def jsonl(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines()]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", now=FIXED, only=frozenset({"local-trash"})) as sandbox:
        yield sandbox


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[], datetime]:
    monkeypatch.setattr("trashscan.cli.app.utcnow", lambda: FIXED)
    return lambda: FIXED


class Cli:
    """`trashscan --config BOX ARGS` in this process, optionally with a given standard input."""

    def __init__(self, capsys: pytest.CaptureFixture[str], box: Sandbox) -> None:
        self.capsys = capsys
        self.config = str(box.config_path)

    def __call__(self, *args: str, stdin: io.StringIO | None = None) -> Result:
        self.capsys.readouterr()
        with pytest.MonkeyPatch.context() as patch:
            if stdin is not None:
                patch.setattr("sys.stdin", stdin)
            code = run(["--config", self.config, *args])
        out = self.capsys.readouterr()
        return Result(code, out.out, out.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox, clock) -> Cli:
    return Cli(capsys, box)


def process(box: Sandbox, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`trashscan --config BOX ARGS` as a real process (the data dir comes from the env)."""
    return subprocess.run(
        [*TRASHSCAN, "--config", str(box.config_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def listed(cli: Cli) -> dict[str, dict]:
    return {item["name"]: item for item in cli("list", "--format", "json").json()}


def restore_log(box: Sandbox) -> list[dict]:
    with Index.open(load_config(box.config_path).index_url) as index:
        return index.restore_log()


# --- jsonl ----------------------------------------------------------------------------------


def test_list_jsonl_is_the_json_array_one_object_a_line(cli) -> None:
    as_json = cli("list", "--format", "json").json()
    result = cli("list", "--cached", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("\n") and "\n\n" not in result.stdout
    assert result.jsonl() == as_json
    assert len(as_json) == 13
    assert result.stderr == ""  # the table's count line is for people


class FlushRecorder(io.StringIO):
    """A stdout that remembers what had been flushed when."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = ""

    def flush(self) -> None:
        super().flush()
        self.flushed = self.getvalue()


@pytest.mark.parametrize(
    ("args", "before"),
    [
        (["--format", "jsonl"], 0),
        (["--format", "json"], 0),  # "[\n first," ... each record ends its line
        (["--format", "csv"], 1),  # the header
        (["-q"], 0),
    ],
)
def test_list_streams_each_chunk_as_the_index_yields_it(cli, monkeypatch, args, before) -> None:
    """Chunk n+1 is read from the index only after chunk n was written and flushed: the rows
    go from the cursor to the output, never a list of them all."""
    cli("scan")
    monkeypatch.setattr("trashscan.index_read.CHUNK", 2)
    out = FlushRecorder()
    flushed: list[int] = []
    original = SQLiteReader.listing  # what a cached listing of a SQLite index reads

    def watched(self: SQLiteReader, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in original(self, *args, **kwargs):
            assert len(chunk) <= 2
            flushed.append(out.flushed.count("\n"))
            yield chunk

    monkeypatch.setattr(SQLiteReader, "listing", watched)
    monkeypatch.setattr("sys.stdout", out)
    assert run(["--config", cli.config, "list", "--cached", *args]) == 0
    assert flushed == [before + 2 * n for n in range(7)]  # 13 items, 2 a chunk
    assert out.flushed == out.getvalue()


def test_the_table_is_written_before_the_index_is_read_to_its_end(cli, monkeypatch) -> None:
    """--all: the table's layout is fitted to the first rows; the rest stream under it."""
    cli("scan")
    monkeypatch.setattr("trashscan.index_read.CHUNK", 2)
    monkeypatch.setattr("trashscan.table.TABLE_ROWS", 4)
    out = io.StringIO()
    written: list[int] = []
    original = SQLiteReader.listing

    def watched(self: SQLiteReader, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in original(self, *args, **kwargs):
            written.append(out.getvalue().count("\n"))
            yield chunk

    monkeypatch.setattr(SQLiteReader, "listing", watched)
    monkeypatch.setattr("sys.stdout", out)
    assert run(["--config", cli.config, "list", "--cached", "--all"]) == 0
    # The first two chunks make the layout; from then on each chunk is out before the next.
    assert written == [0, 0, 5, 7, 9, 11, 13]
    lines = out.getvalue().splitlines()
    assert len(lines[1:14]) == 13 and lines[14] == "" and "total: 13 items" in lines[15]
    assert run(["--config", cli.config, "list", "--cached"]) == 0
    cut = out.getvalue().splitlines()[len(lines) :]
    assert cut[5] == "" and "total: 13 items" in cut[6]
    assert cut[-1].startswith("4 of 13 shown (the soonest purges): --all shows every one")


def test_check_jsonl_items_accounts_then_the_verdict(cli) -> None:
    whole = cli("check", "--format", "json", "--within", "7d", "--no-notify").json()
    result = cli("check", "--format", "jsonl", "--within", "7d", "--no-notify")
    assert result.exit_code == whole["exit_code"] == 2
    lines = result.jsonl()
    items = [line for line in lines if line["type"] == "item"]
    accounts = [line for line in lines if line["type"] == "account"]
    assert [{k: v for k, v in i.items() if k != "type"} for i in items] == whole["items"]
    assert [{k: v for k, v in a.items() if k != "type"} for a in accounts] == whole["accounts"]
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert {k: summary[k] for k in ("status", "exit_code", "checked_at", "within")} == {
        "status": "critical", "exit_code": 2, "checked_at": "2026-03-02T12:00:00Z", "within": "7d",
    }  # fmt: skip
    assert lines.index(summary) == len(lines) - 1 and len(lines) == len(items) + len(accounts) + 1


# --- list -q and restore - ------------------------------------------------------------------


def test_list_quiet_prints_refs_only_one_a_line(cli) -> None:
    videos = cli("list", "--kind", "video", "--format", "json").json()
    result = cli("list", "--cached", "--kind", "video", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [v["ref"] for v in videos]
    assert result.stderr == ""
    assert cli("list", "--cached", "--quiet").stdout.count("\n") == 13
    clash = cli("list", "--cached", "-q", "--format", "json")
    assert clash.exit_code == 2 and "-q" in clash.stderr and clash.stdout == ""


def test_list_q_piped_into_restore_dash_restores_those_items(box) -> None:
    """The pipeline a script writes, with real processes: refs out, refs in, results as jsonl."""
    refs = process(box, "list", "--kind", "video", "-q")
    assert refs.returncode == 0, refs.stderr
    assert len(refs.stdout.split()) == 3
    messy = "  " + refs.stdout.replace("\n", " \n\t", 1) + "\n\n"  # any whitespace separates
    done = process(box, "restore", "-", "--yes", "--format", "jsonl", input=messy)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["ref"] for r in results) == sorted(refs.stdout.split())  # two accounts
    assert all(set(r) == RESULT_KEYS and r["outcome"] == "restored" for r in results)
    assert all(Path(r["restored_path"]).is_file() for r in results)
    assert "restored" in done.stderr  # the people's lines went to stderr
    assert process(box, "list", "--cached", "--kind", "video", "-q").stdout == ""


def test_restore_dash_with_a_terminal_on_stdin_is_an_error(box) -> None:
    controller, terminal = os.openpty()
    try:
        done = process(box, "restore", "-", "--yes", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "standard input is a terminal" in done.stderr


def test_restore_dash_with_nothing_on_stdin_restores_nothing(box) -> None:
    done = process(box, "restore", "-", "--yes", input="")
    assert done.returncode == 0, done.stderr
    assert "nothing to restore" in done.stderr
    assert restore_log(box) == []


def test_restore_without_yes_on_a_non_interactive_stdin_refuses_before_anything(box) -> None:
    refs = process(box, "list", "-q").stdout.split()
    for stdin in (subprocess.DEVNULL, None):
        kwargs: dict[str, Any] = {"stdin": stdin} if stdin is not None else {"input": "y\n"}
        done = process(box, "restore", refs[0], **kwargs)
        assert done.returncode == 2, done
        assert done.stdout == ""  # not even the plan: nothing was asked of any provider
        assert done.stderr.count("\n") == 1 and "--yes" in done.stderr
    piped = process(box, "restore", "-", input=" ".join(refs))
    assert piped.returncode == 2 and "--yes" in piped.stderr
    assert restore_log(box) == []
    assert len(process(box, "list", "--cached", "-q").stdout.split()) == len(refs)
    dry = process(box, "restore", refs[0], "--dry-run", stdin=subprocess.DEVNULL)
    assert dry.returncode == 0 and "dry run" in dry.stdout  # asks nothing, so it needs no --yes


class Terminal(io.StringIO):
    """Typed answers on a standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_declining_the_prompt_exits_4_and_changes_nothing(cli) -> None:
    target = listed(cli)["IMG_1235.JPG"]
    result = cli("restore", target["ref"], stdin=Terminal("n\n"))
    assert result.exit_code == 4
    assert "Restore 1 item(s)?" in result.stderr
    assert result.stderr.rstrip().endswith("trashscan: declined: nothing was restored")
    assert not Path(target["path"]).exists()
    agreed = cli("restore", target["ref"], stdin=Terminal("y\n"))
    assert agreed.exit_code == 0, agreed.stderr
    assert Path(target["path"]).exists()


# --- restore results as JSON ----------------------------------------------------------------


def test_restore_json_prints_one_result_object_per_item(cli) -> None:
    items = listed(cli)
    cover, video = items["cover.jpg"], items["VID_0003.mp4"]  # cover.jpg's place is taken
    result = cli("restore", cover["ref"], video["ref"], "--yes", "--format", "json")
    assert result.exit_code == 0, result.stderr
    results = {r["ref"]: r for r in result.json()}
    assert set(results) == {cover["ref"], video["ref"]}
    assert all(set(r) == RESULT_KEYS for r in results.values())
    assert results[video["ref"]]["outcome"] == "restored"
    assert results[video["ref"]]["restored_path"] == video["path"]
    moved = results[cover["ref"]]
    assert moved["outcome"] == "conflict_resolved" and moved["restored_path"] != cover["path"]
    assert Path(moved["restored_path"]).is_file()
    assert "Will restore 2 item(s)" in result.stderr  # the plan is for people: stderr
    again = cli("restore", video["ref"], "--yes", "--format", "jsonl")
    assert [r["outcome"] for r in again.jsonl()] == ["already_restored"]


def test_restore_json_dry_run_says_what_would_happen_and_changes_nothing(cli, box) -> None:
    target = listed(cli)["IMG_1234.JPG"]
    result = cli("restore", target["ref"], "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == [
        {
            "ref": target["ref"], "provider": "local-trash", "account": "usb-stick",
            "name": "IMG_1234.JPG", "outcome": "skipped", "detail": "dry run",
            "restored_path": None,
        }
    ]  # fmt: skip
    assert not Path(target["path"]).exists() and restore_log(box) == []


def test_restore_jsonl_writes_each_result_as_it_happens(cli, monkeypatch) -> None:
    refs = [
        item["ref"] for item in cli("list", "--account", "usb-stick", "--format", "json").json()
    ]
    out = FlushRecorder()
    batches: list[tuple[int, int]] = []  # (lines flushed before the batch was recorded, its size)
    record = Index.record_restores

    def recorded(self: Index, entries: Any, *args: Any, **kwargs: Any) -> None:
        batches.append((out.flushed.count("\n"), len(entries)))
        record(self, entries, *args, **kwargs)

    monkeypatch.setattr(Index, "record_restores", recorded)
    monkeypatch.setattr("sys.stdout", out)
    code = run(["--config", cli.config, "restore", *refs, "--yes", "--format", "jsonl"])
    assert code == 0
    # every result recorded before was out (flushed) before the next batch was recorded
    assert [flushed for flushed, _ in batches] == [
        sum(size for _, size in batches[:n]) for n in range(len(batches))
    ]
    assert sum(size for _, size in batches) == 3
    assert out.flushed.count("\n") == 3


# --- refs and filters, --provider -----------------------------------------------------------


def test_refs_that_the_filters_exclude_are_an_error(cli, box) -> None:
    items = listed(cli)
    photo, video = items["IMG_0004.heic"], items["VID_0003.mp4"]
    result = cli("restore", photo["ref"], video["ref"], "--kind", "video", "--yes")
    assert result.exit_code == 2
    assert result.stdout == ""
    line = result.stderr.strip()
    assert line.count("\n") == 0
    assert photo["ref"] in line and video["ref"] not in line and "--kind video" in line
    other = cli("restore", photo["ref"], "--account", "usb-stick", "--dry-run")
    assert other.exit_code == 2 and "--account usb-stick" in other.stderr
    assert restore_log(box) == [] and not Path(video["path"]).exists()
    matching = cli("restore", photo["ref"], "--account", "laptop", "--kind", "photo", "--dry-run")
    assert matching.exit_code == 0, matching.stderr


def test_an_unknown_provider_is_an_error_listing_the_known_ones(cli) -> None:
    for command in (("list",), ("restore", "--dry-run")):
        result = cli(*command, "--provider", "dropbx")
        assert result.exit_code == 2, result
        assert result.stdout == ""
        line = result.stderr.strip()
        assert line.count("\n") == 0 and "unknown provider 'dropbx'" in line
        assert "local-trash" in line and "dropbox" in line
    absent = cli("list", "--provider", "dropbox")  # installed, but no account chosen uses it
    assert absent.exit_code == 2
    assert "no account of provider 'dropbox'" in absent.stderr and "local-trash" in absent.stderr
    assert cli("list", "--provider", "local-trash", "-q").stdout.count("\n") == 13


# --- durations for --deleted-since / --deleted-until ----------------------------------------


def test_deleted_since_and_until_accept_durations_counted_back_from_now(cli) -> None:
    items = cli("list", "--format", "json").json()
    cut = FIXED - timedelta(days=10)

    def deleted(item: dict) -> datetime:
        return datetime.fromisoformat(item["deleted_at"].replace("Z", "+00:00"))

    recent = {i["ref"] for i in items if deleted(i) >= cut}
    older = {i["ref"] for i in items if deleted(i) < cut}
    assert recent and older
    since = cli("list", "--cached", "--deleted-since", "10d", "-q")
    until = cli("list", "--cached", "--deleted-until", "1w3d", "-q")
    assert set(since.stdout.split()) == recent
    assert set(until.stdout.split()) == older
    as_date = cli("list", "--cached", "--deleted-since", cut.isoformat(), "-q")
    assert set(as_date.stdout.split()) == recent


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("2026", "bad date or duration '2026'"),  # a bare number: a year, or days? refused
        ("36501d", "longer than 100 years"),
        ("soon", "bad date or duration 'soon'"),
    ],
)
def test_bad_dates_and_durations_are_one_line(cli, value: str, needle: str) -> None:
    for option in ("--deleted-since", "--deleted-until"):
        result = cli("list", "--cached", option, value)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and needle in result.stderr


def test_the_readme_pipeline_runs_as_written(box) -> None:
    """The README's `list -q | restore -` line, verbatim, in a shell."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    [line] = [
        ln.strip() for ln in readme.splitlines() if ln.strip().startswith("trashscan list -q")
    ]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TRASHSCAN_CONFIG": str(box.config_path),
    }
    due = process(box, "list", "-q", "--within", "2d", "--kind", "photo").stdout.split()
    assert due
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", line], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(row) for row in done.stdout.splitlines()]
    assert sorted(r["ref"] for r in results) == sorted(due)
    assert {r["outcome"] for r in results} <= {"restored", "conflict_resolved"}
