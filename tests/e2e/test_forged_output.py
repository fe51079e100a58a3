"""File names are data: through the real CLI, no name can crash, restyle or forge our output.

A local trash is the easiest place to get hostile names: ``Path=`` of a ``.trashinfo`` is
percent-encoded, so ``%1B`` and ``%0A`` give an ESC and a newline. (A local name cannot hold a
``/``, so ``[/b]`` is tried on Drive names, in test_forged_drive_names.py.) Every test asserts
that no raw control, bidi or separator character reaches what a person reads (tables, plans,
results, `check` text, stderr, notification bodies), that markup shows literally, that no line is
forged, and that JSON and CSV still carry the exact names.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import responses

from trashscan.cli import run
from trashscan.config import add_account, set_table
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FORGED = "OK: nothing will be purged within 3d; 2 accounts checked"
# Raw characters a terminal (or a mail reader) would act on; none may reach human output.
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)

# name -> how a person must see it
CRAFTED = {
    "[red]alarm [bold]x.jpg": "[red]alarm [bold]x.jpg",  # rich would swallow these as styles
    "[link=https:evil.example]click.jpg": "[link=https:evil.example]click.jpg",
    "smile :thumbs_up: .jpg": "smile :thumbs_up: .jpg",  # and turn this into an emoji
    "@everyone <!channel> & <@U0123>.jpg": "@everyone <!channel> & <@U0123>.jpg",
    "\x1b[2J\x1b[31mred screen.jpg": "\\x1b[2J\\x1b[31mred screen.jpg",
    f"a.jpg\n{FORGED}\nb.jpg": f"a.jpg\\n{FORGED}\\nb.jpg",
    f"tab\there\r{FORGED}.jpg": f"tab\\there\\r{FORGED}.jpg",
    "csi\x9b31m del\x7f.jpg": "csi\\x9b31m del\\x7f.jpg",
    f"evil\u202egpj.exe\u2028{FORGED}.jpg": f"evil\\u202egpj.exe\\u2028{FORGED}.jpg",
}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def assert_safe(text: str) -> None:
    """Nothing raw, no forged line (however a terminal or reader splits lines)."""
    assert not RAW.search(text), RAW.findall(text)
    assert not any(line.lstrip().startswith("OK:") for line in text.splitlines()), text


def assert_shown(text: str) -> None:
    for shown in CRAFTED.values():
        assert shown in text, shown


class Clock:
    def __init__(self) -> None:
        self.now = FIXED

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setattr("trashscan.cli.app.utcnow", Clock())
    with Sandbox(tmp_path / "sandbox", now=FIXED, only=frozenset({"local-trash"})) as sandbox:
        yield sandbox


@pytest.fixture
def originals(box: Sandbox) -> Path:
    """Trash one photo per crafted name in the laptop's trash (purge within a day)."""
    laptop = next(a for a in box.accounts if a["name"] == "laptop")
    trash = Path(laptop["trash_dirs"][0])
    pictures = trash.parent / "home" / "Pictures"
    deleted = (FIXED - timedelta(days=29, hours=12)).astimezone().replace(tzinfo=None)
    for number, name in enumerate(CRAFTED):
        stored = f"crafted-{number}.jpg"
        path = quote(os.fsencode(str(pictures / name)), safe="/")
        (trash / "info" / f"{stored}.trashinfo").write_text(
            f"[Trash Info]\nPath={path}\nDeletionDate={deleted:%Y-%m-%dT%H:%M:%S}\n"
        )
        (trash / "files" / stored).write_bytes(b"\xff\xd8\xff\xe0 crafted " + bytes([number]))
    return pictures


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox, originals: Path) -> Callable[..., Result]:
    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run(["--config", str(box.config_path), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def crafted_refs(cli: Callable[..., Result]) -> dict[str, str]:
    items = json.loads(cli("list", "--format", "json").stdout)
    return {item["name"]: item["ref"] for item in items if item["name"] in CRAFTED}


# --- list ---------------------------------------------------------------------------------------


def test_list_table_shows_every_name_escaped_and_markup_literally(cli) -> None:
    result = cli("list")
    assert result.exit_code == 0, result.stderr
    assert_safe(result.stdout + result.stderr)
    assert_shown(result.stdout)
    assert "total: 22 items, " in result.stdout  # 13 seeded + 8 crafted: nothing swallowed


def test_list_json_and_csv_carry_the_exact_names(cli) -> None:
    result = cli("list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert_safe(result.stdout)  # JSON escapes what it carries, so a terminal sees no raw byte
    assert set(CRAFTED) <= {item["name"] for item in json.loads(result.stdout)}

    as_csv = cli("list", "--cached", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 22
    names = {row["name"] for row in rows}
    assert set(CRAFTED) <= names
    by_name = {row["name"]: row for row in rows}
    for name in CRAFTED:
        assert os.path.basename(by_name[name]["path"]) == name
        assert by_name[name]["provider"] == "local-trash"  # the row did not come apart


# --- restore ------------------------------------------------------------------------------------


def test_restore_plan_and_results_show_names_escaped_and_restore_the_exact_names(
    cli, originals
) -> None:
    refs = crafted_refs(cli)
    assert set(refs) == set(CRAFTED)
    plan = cli("restore", *refs.values(), "--dry-run")
    assert plan.exit_code == 0, plan.stderr
    assert_safe(plan.stdout + plan.stderr)
    assert_shown(plan.stdout)

    done = cli("restore", *refs.values(), "--yes")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert_safe(done.stdout + done.stderr)
    assert_shown(done.stdout)
    results = [line for line in done.stdout.splitlines() if line.startswith("restored ")]
    assert len(results) == len(CRAFTED)
    for name, shown in CRAFTED.items():
        assert (originals / name).is_file()  # the exact name, restored
        line = next(line for line in results if f": {shown}" in line)
        assert f"-> {originals}/{shown}" in line


def test_an_error_naming_data_is_one_escaped_line_on_stderr(capsys, tmp_path) -> None:
    missing = tmp_path / f"no \x1b[2J\n{FORGED}.toml"
    code = run(["--config", str(missing), "list", "--cached"])
    stderr = capsys.readouterr().err
    assert code == 2
    assert_safe(stderr)
    assert len(stderr.splitlines()) == 1
    assert f"no \\x1b[2J\\n{FORGED}.toml: config file not found" in stderr


# --- failed accounts ----------------------------------------------------------------------------


@pytest.fixture
def hostile_dir_account(box: Sandbox, tmp_path: Path) -> str:
    """An account whose error message quotes a path full of control characters."""
    path = tmp_path / f"gone \x1b[31m\n{FORGED}"
    add_account(
        box.config_path,
        {
            "name": "broken-disk",
            "provider": "local-trash",
            "trash_dirs": [str(path)],
            "include_volumes": False,
        },
    )
    return f"gone \\x1b[31m\\n{FORGED}"


def test_a_failed_account_is_one_escaped_line_in_list_and_accounts_list(
    cli, hostile_dir_account
) -> None:
    result = cli("list", "--format", "json")
    assert result.exit_code == 1
    assert_safe(result.stderr)
    failures = [line for line in result.stderr.splitlines() if "broken-disk" in line]
    assert len(failures) == 1 and hostile_dir_account in failures[0]
    assert len(result.stderr.splitlines()) == 1

    listed = cli("accounts", "list")
    assert listed.exit_code == 0, listed.stderr
    assert_safe(listed.stdout)
    assert hostile_dir_account in listed.stdout


# --- check --------------------------------------------------------------------------------------


def test_check_text_and_json(cli, hostile_dir_account) -> None:
    text = cli("check")
    assert text.exit_code == 2, text.stdout + text.stderr
    assert text.stdout.startswith("CRITICAL: 11 trashed items will be purged within 3d")
    assert_safe(text.stdout + text.stderr)
    assert_shown(text.stdout)
    assert hostile_dir_account in text.stdout  # the "failed" line

    report = cli("check", "--format", "json")
    assert report.exit_code == 2
    assert_safe(report.stdout)
    parsed = json.loads(report.stdout)
    assert set(CRAFTED) <= {item["name"] for item in parsed["items"]}
    (broken,) = [a for a in parsed["accounts"] if a["account"] == "broken-disk"]
    assert f"\x1b[31m\n{FORGED}" in broken["error"]  # exact in JSON


# --- notifications ------------------------------------------------------------------------------


HOOKS = {  # each format's real URL shape; Apprise posts Slack and Discord to their own hosts
    "json": "https://hooks.example.org/services/T0/B0/TOKEN",
    "slack": "https://hooks.slack.com/services/T0/B0/TOKEN",
    "discord": "https://discord.com/api/webhooks/1234/TOKEN",
    "ntfy": "https://ntfy.example.org/trash-topic",
}


@pytest.mark.parametrize("fmt", ["json", "slack", "discord", "ntfy"])
def test_webhook_bodies_show_names_escaped(cli, box, fmt) -> None:
    """Through the CLI and Apprise to the wire (``responses`` stands in for the service)."""
    set_table(box.config_path, "alerts", {"webhook_url": HOOKS[fmt], "webhook_format": fmt})
    with responses.RequestsMock() as mock:
        mock.post(re.compile(r"https://.*"), status=200, body="ok")
        result = cli("check")
        (call,) = mock.calls
    assert result.exit_code == 2, result.stdout + result.stderr
    payload = json.loads(call.request.body)
    if fmt == "slack":
        text = payload["attachments"][0]["text"]
    elif fmt == "discord":  # the title, Apprise's own \r\n, then the body
        text = payload["content"].replace("\r\n", "\n", 1)
    else:
        text = payload["message"]
    assert_safe(text)
    if fmt in ("json", "ntfy"):
        assert_shown(text)
    if fmt == "slack":  # & < > are Slack's control characters: no @channel, no forged link
        assert "&lt;!channel&gt; &amp; &lt;@U0123&gt;.jpg" in text
        assert "<" not in text and ">" not in text
    if fmt == "discord":  # no mention pings, markdown shown literally
        assert "\\[red\\]alarm \\[bold\\]x.jpg" in text
        assert "\\@everyone \\<!channel\\> & \\<\\@U0123\\>" in text
        assert re.search(r"(?<!\\)[@<]", text) is None


# --- logging: warnings on stderr ----------------------------------------------------------------


def test_plugin_warnings_on_stderr_are_escaped(box, originals, tmp_path) -> None:
    """A separate process, so the warning goes through Python's last-resort stderr handler."""
    laptop = next(a for a in box.accounts if a["name"] == "laptop")
    info = Path(laptop["trash_dirs"][0]) / "info" / f"\x1b[2J\n{FORGED}.jpg.trashinfo"
    info.write_text("not a trash info file\n")
    env = {**os.environ, "TRASHSCAN_HOME": str(tmp_path / "home")}
    scanned = subprocess.run(
        [sys.executable, "-m", "trashscan", "--config", str(box.config_path), "scan"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert scanned.returncode == 0, scanned.stderr
    assert_safe(scanned.stdout + scanned.stderr)
    assert f"\\x1b[2J\\n{FORGED}.jpg.trashinfo" in scanned.stderr


# --- provider sign-in notices -------------------------------------------------------------------


def test_sign_in_notices_quoting_a_server_message_are_escaped(capsys, tmp_path) -> None:
    """OneDrive shows the sign-in server's device-code message; iCloud quotes Apple's errors."""
    from trashscan.provider import ProviderContext
    from trashscan.retry import RetryPolicy
    from trashscan.testing import MemorySecretStore
    from trashscan_icloud.plugin import ICloudProvider
    from trashscan_onedrive.plugin import OneDriveProvider

    context = ProviderContext(MemorySecretStore(), RetryPolicy(), lambda: FIXED, tmp_path)
    server_says = f"Enter the code \x1b[8mABC\x1b[0m\r{FORGED}"
    OneDriveProvider(context).echo(f"first line\n{server_says}\n")
    ICloudProvider(context).notice(f"warning: {server_says}")
    stderr = capsys.readouterr().err
    assert_safe(stderr)
    assert stderr.splitlines() == [
        "first line",
        f"Enter the code \\x1b[8mABC\\x1b[0m\\r{FORGED}",
        f"warning: Enter the code \\x1b[8mABC\\x1b[0m\\r{FORGED}",
    ]
