"""`trashscan check` through the real CLI against the sandbox, with a pinned clock, a real local
HTTP server (webhook, Apprise, healthcheck pings) and a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from trashscan.cli import run
from trashscan.config import add_account, set_table
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PASSWORD = "s3cret-pw-XYZ"
TOKEN = "SECRETTOKEN123"
# The sandbox laptop (purge_after_days = 30): days left at FIXED for the photos and videos.
OVERDUE = {"old scan.png", "cover.jpg"}  # deleted 40 and 33 days ago
FIVE_DAYS = "IMG_0004.heic"  # deleted 25 days ago
TEN_DAYS = "holiday clip.mov"  # deleted 20 days ago


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


class Clock:
    """What `trashscan.cli.app.utcnow` returns: the CLI's one clock."""

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
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox, clock: Clock) -> Callable[..., Result]:
    def call(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("sys.stdin", io.StringIO(stdin))
                code = run(["--config", str(box.config_path), *args])
        else:
            code = run(["--config", str(box.config_path), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def alerts(box: Sandbox, **values: Any) -> None:
    set_table(box.config_path, "alerts", values)


def add_broken_account(box: Sandbox, tmp_path: Path) -> None:
    add_account(
        box.config_path,
        {
            "name": "broken-disk",
            "provider": "local-trash",
            "trash_dirs": [str(tmp_path / "no-such-trash")],
            "include_volumes": False,
        },
    )


# --- a local HTTP server recording every request ----------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    status: int = 200
    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def to(self, prefix: str, method: str = "POST") -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix) and r.method == method]


@pytest.fixture
def http() -> Iterator[Recorder]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.requests.append(Request(self.command, self.path, dict(self.headers), body))
            self.send_response(recorder.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = handle_any

        def log_message(self, *args: Any) -> None:
            pass

    recorder.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=recorder.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield recorder
    recorder.server.shutdown()
    recorder.server.server_close()


# --- a local SMTP server (aiosmtpd) -----------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.raw.append(envelope.content)
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        box.logins.append((auth_data.login.decode(), good))
        return AuthResult(success=good)

    controller = controller_module.Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield box
    controller.stop()


def smtp_alerts(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_starttls": False,  # a loopback test server; real hosts get TLS or no password
        "smtp_user": "me@example.org",
        "email_to": ["me@example.org"],
    }


def text_part(mail: Message) -> str:
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """The size of a JPEG that Pillow fully decodes (a broken one raises)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


def names(lines: list[str]) -> set[str]:
    found = set()
    for name in OVERDUE | {FIVE_DAYS, TEN_DAYS}:
        if any(name in line for line in lines):
            found.add(name)
    return found


# --- exit codes ---------------------------------------------------------------------------------


def test_exit_codes_0_1_2(cli) -> None:
    due = cli("check")
    assert due.exit_code == 2, due
    assert due.lines[0] == (
        "CRITICAL: 2 trashed items will be purged within 3d, all within 1d; 2 accounts checked"
    )
    assert names(due.lines) == OVERDUE
    assert all("overdue" in line for line in due.lines[1:3])
    assert due.stderr == ""

    usb = cli("check", "--account", "usb-stick")  # no purge rule: nothing is ever due
    assert (usb.exit_code, usb.stdout) == (
        0,
        "OK: nothing will be purged within 3d; 1 account checked\n",
    )
    quiet = cli("check", "--account", "usb-stick", "--quiet")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")

    listed = {
        item["name"]: item["ref"] for item in json.loads(cli("list", "--format", "json").stdout)
    }
    for name in sorted(OVERDUE):
        assert cli("restore", listed[name], "--yes").exit_code == 0
    warning = cli("check", "--within", "7d")
    assert warning.exit_code == 1, warning
    assert warning.lines[0].startswith("WARNING: 1 trashed item will be purged within 7d")
    assert FIVE_DAYS in warning.lines[1] and "~5d" in warning.lines[1]
    assert cli("check").exit_code == 0


def test_exit_3_when_every_account_failed_and_partial_failures_are_shown(
    cli, box, tmp_path
) -> None:
    add_broken_account(box, tmp_path)
    unknown = cli("check", "--account", "broken-disk")
    assert unknown.exit_code == 3, unknown
    assert unknown.lines[0] == "UNKNOWN: no account could be scanned (1 account checked, 1 failed)"
    assert unknown.lines[1].startswith("  failed    broken-disk (local-trash): scan failed: ")
    assert "Traceback" not in unknown.stdout + unknown.stderr

    partial = cli("check")  # items due elsewhere: their code, and the failure is printed
    assert partial.exit_code == 2
    assert partial.lines[0].endswith("3 accounts checked, 1 failed")
    assert any(line.startswith("  failed    broken-disk") for line in partial.lines)

    nothing_due = cli("check", "--account", "usb-stick", "--account", "broken-disk")
    assert nothing_due.exit_code == 1
    assert nothing_due.lines[0].startswith("WARNING: nothing will be purged within 3d")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--within", "soon"], "bad duration 'soon'"),
        (["--no-such-option"], "No such option"),
        (["--kind", "music"], "'music' is not one of"),
        (["--within", "1d", "--critical", "3d"], "--critical 3d is longer than --within 1d"),
        (["--account", "nobody"], "unknown account 'nobody'"),
    ],
)
def test_usage_errors_exit_3_not_2(cli, args, needle) -> None:
    result = cli("check", *args)
    assert result.exit_code == 3, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr


def test_config_errors_exit_3(cli, box, capsys) -> None:
    alerts(box, webhook_url=f"ftp://hooks.example.org/{TOKEN}")
    bad = cli("check")
    assert bad.exit_code == 3
    assert bad.stderr.strip() == (
        f"trashscan: error: {box.config_path}: [alerts] webhook_url must be an http:// or "
        "https:// URL"
    )
    assert TOKEN not in bad.stderr
    capsys.readouterr()
    missing = run(["--config", str(box.workdir / "missing.toml"), "check"])
    assert missing == 3
    assert "config file not found" in capsys.readouterr().err


def test_json_report(cli, box, tmp_path) -> None:
    add_broken_account(box, tmp_path)
    result = cli("check", "--format", "json", "--within", "7d")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert (report["status"], report["exit_code"], report["within"]) == ("critical", 2, "7d")
    assert report["checked_at"] == "2026-03-02T12:00:00Z"
    assert {i["name"]: i["critical"] for i in report["items"]} == {
        "old scan.png": True, "cover.jpg": True, FIVE_DAYS: False,
    }  # fmt: skip
    accounts = {a["account"]: a for a in report["accounts"]}
    assert accounts["laptop"]["scanned"] and not accounts["laptop"]["needs_attention"]
    assert accounts["broken-disk"]["error"] and accounts["broken-disk"]["needs_attention"]


# --- notifications ------------------------------------------------------------------------------


ITEM_LINE = re.compile(r"^- (?P<name>.+) \(laptop, local-trash\): (?P<left>[^,]+), purged ")


def announced(request: Request) -> set[tuple[str, str]]:
    """(name, days left) of each item line in one Apprise json:// message."""
    return {
        (m["name"], m["left"])
        for line in request.json()["message"].splitlines()
        if (m := ITEM_LINE.match(line))
    }


def test_webhook_once_per_threshold_across_runs(cli, box, clock, http) -> None:
    alerts(box, webhook_url=f"{http.url}/hook/{TOKEN}")

    def sent() -> list[set[tuple[str, str]]]:
        return [announced(r) for r in http.to("/hook")]

    overdue = "overdue (its estimated purge date has passed)"
    assert cli("check").exit_code == 2
    first = {("old scan.png", overdue), ("cover.jpg", overdue), (FIVE_DAYS, "5 days left")}
    assert sent() == [first]
    (request,) = http.to("/hook")
    assert request.path == f"/hook/{TOKEN}"  # the webhook's own URL, through Apprise's json://
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    assert set(payload) == {"version", "title", "message", "attachments", "type"}
    assert payload["title"] == "trashscan: 3 trashed items will be purged soon"
    assert payload["type"] == "failure"  # something is within --critical; else "warning"
    pictures = payload["attachments"]  # the three photos' thumbnails, fetched by this check
    assert [p["mimetype"] for p in pictures] == ["image/jpeg"] * 3
    assert all(jpeg_size(base64.b64decode(p["base64"])) for p in pictures)
    assert all(f"- {p['filename']}: " in payload["message"] for p in pictures)

    assert cli("check").exit_code == 2  # same clock: nothing new, no request at all
    assert len(sent()) == 1

    clock.now = FIXED + timedelta(days=2, hours=1)  # IMG_0004 now has < 3 days
    cli("check")
    cli("check")
    assert sent()[1:] == [{(FIVE_DAYS, "2 days left")}]

    clock.now = FIXED + timedelta(days=4, hours=12)  # IMG_0004 < 1 day; the clip crosses 7d
    cli("check")
    assert sent()[2:] == [{(FIVE_DAYS, "less than a day left"), (TEN_DAYS, "5 days left")}]

    clock.now = FIXED + timedelta(days=6)  # everything due has had its alert
    cli("check")
    assert len(sent()) == 3
    every = [pair for batch in sent() for pair in batch]
    assert len(every) == len(set(every))  # no item announced twice at the same stage


def test_webhook_formats_reach_the_server(cli, box, http) -> None:
    """ntfy through Apprise's ntfy:// at a local server: ntfy's JSON publishing, to the root."""
    alerts(box, webhook_url=f"{http.url}/trash-topic", webhook_format="ntfy")
    assert cli("check").exit_code == 2
    (request,) = http.requests
    assert (request.method, request.path) == ("POST", "/")
    body = request.json()
    assert body["topic"] == "trash-topic"
    assert body["title"] == "trashscan: 3 trashed items will be purged soon"
    assert "cover.jpg (laptop, local-trash): overdue" in body["message"]
    assert body["message"].endswith("See them: trashscan ui")  # no pictures: one push, not four
    assert "attach" not in body and "Pictures attached" not in body["message"]
    assert request.headers["X-Priority"] == "high"
    assert request.headers["X-Tags"] == "wastebasket"


def test_smtp_delivery_content_and_no_secret(cli, box, smtp) -> None:
    stored = cli("check", "--set-smtp-password", stdin=PASSWORD + "\n")
    assert stored.exit_code == 0 and "stored the SMTP password" in stored.stdout
    assert PASSWORD not in stored.stdout + stored.stderr
    assert PASSWORD not in box.config_path.read_text()
    alerts(box, **smtp_alerts(smtp))

    result = cli("check")
    assert result.exit_code == 2, result
    assert smtp.logins == [("me@example.org", True)]
    (mail,) = smtp.messages
    assert mail["Subject"] == "trashscan: 3 trashed items will be purged soon"
    assert mail["To"] == "me@example.org" and mail["From"] == "me@example.org"
    body = text_part(mail)
    assert "old scan.png (laptop, local-trash): overdue" in body
    assert f"{FIVE_DAYS} (laptop, local-trash): 5 days left" in body
    assert "trashscan restore REF" in body
    assert PASSWORD.encode() not in smtp.raw[0]
    assert PASSWORD not in result.stdout + result.stderr
    assert "notified  email (127.0.0.1): 3 items" in result.stdout

    cli("check")  # dedupe across runs
    assert len(smtp.messages) == 1


def test_a_failing_notifier_is_reported_and_never_hides_the_exit_code(cli, box, http, smtp) -> None:
    cli("check", "--set-smtp-password", stdin=PASSWORD)
    alerts(box, webhook_url=f"{http.url}/services/{TOKEN}", **smtp_alerts(smtp))
    http.status = 500
    broken = cli("check")
    assert broken.exit_code == 2
    assert broken.stderr.splitlines() == [
        "trashscan: notification failed: webhook (127.0.0.1): HTTP 500 from 127.0.0.1 "
        "(retried next run)"
    ]
    assert TOKEN not in broken.stdout + broken.stderr
    assert len(smtp.messages) == 1  # the other channel delivered anyway

    http.status = 200
    fixed = cli("check")
    assert fixed.exit_code == 2 and fixed.stderr == ""
    delivered = [r for r in http.to("/services") if r.json()]
    assert len(delivered) == 2  # the failed POST, then the retry with the same three items
    assert len(announced(delivered[1])) == 3
    assert len(smtp.messages) == 1  # email already had them: not sent again


def test_apprise_urls_from_the_secret_store(cli, box, http) -> None:
    url = f"json://127.0.0.1:{http.url.rsplit(':', 1)[1]}/apprise/{TOKEN}"
    stored = cli("check", "--set-apprise-urls", stdin=f"# mine\n{url}\n")
    assert stored.exit_code == 0 and "stored 1 Apprise URL(s)" in stored.stdout
    assert TOKEN not in box.config_path.read_text()
    alerts(box, apprise=True)
    result = cli("check")
    assert result.exit_code == 2
    (request,) = http.to("/apprise")
    body = request.json()
    assert body["title"] == "trashscan: 3 trashed items will be purged soon"
    assert "cover.jpg" in body["message"]
    assert [a["filename"][-4:] for a in body["attachments"]] == [".jpg"] * 3  # takes pictures
    assert "notified  apprise (json://): 3 items" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    cli("check")
    assert len(http.to("/apprise")) == 1


def test_healthcheck_pings_start_and_end(cli, box, http, tmp_path) -> None:
    alerts(box, healthcheck_url=f"{http.url}/ping/abc")
    assert cli("check").exit_code == 2
    assert [r.path for r in http.requests] == ["/ping/abc/start", "/ping/abc"]
    add_broken_account(box, tmp_path)
    assert cli("check", "--account", "broken-disk").exit_code == 3
    assert [r.path for r in http.requests[2:]] == ["/ping/abc/start", "/ping/abc/fail"]
    assert all(r.method == "GET" and r.body == b"" for r in http.requests)  # no data leaves


def test_no_notify_sends_nothing(cli, box, http) -> None:
    alerts(box, webhook_url=f"{http.url}/hook")
    assert cli("check", "--no-notify").exit_code == 2
    assert http.requests == []
    cli("check")
    assert len(http.to("/hook")) == 1  # nothing was recorded as sent by the --no-notify run


# --- two runs at once ----------------------------------------------------------------------------


def test_an_account_being_scanned_elsewhere_is_reported_and_the_others_go_on(
    cli, box, monkeypatch
) -> None:
    from trashscan.lock import lock_path
    from trashscan.models import Account

    monkeypatch.setenv("TRASHSCAN_LOCK_WAIT", "0.3")
    path = lock_path(box.data_dir, Account("laptop", "local-trash"))
    holder_code = textwrap.dedent(
        f"""
        import time
        from trashscan.lock import FileLock
        lock = FileLock({str(path)!r})
        assert lock.try_acquire()
        print("scanning", flush=True)
        time.sleep(60)
        """
    )
    other_run = subprocess.Popen(
        [sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other_run.stdout is not None and other_run.stdout.readline() == "scanning\n"
        busy = f"another trashscan run (pid {other_run.pid}) is scanning this account"
        checked = cli("check")
        assert checked.exit_code == 1, checked  # laptop unknown this time, usb-stick fine
        assert checked.lines[0] == (
            "WARNING: nothing will be purged within 3d; 2 accounts checked, 1 failed"
        )
        assert f"  failed    laptop (local-trash): scan failed: {busy}" in checked.lines
        listed = cli("list", "--format", "json")
        assert listed.exit_code == 1
        assert len(json.loads(listed.stdout)) == 3  # the usb stick's items
        assert busy in listed.stderr
    finally:
        other_run.kill()
        other_run.wait()
    assert cli("check").exit_code == 2  # lock gone with its process: laptop scanned again


# --- credentials that need attention, from any provider plugin ----------------------------------

DEMO_PLUGIN = """
from trashscan.errors import AuthError
from trashscan.models import AuthStatus, ScanOutcome
from trashscan.provider import Provider


class DemoProvider(Provider):
    name = "auth-demo"
    display_name = "Auth demo"

    def fix(self, account):
        return f"trashscan accounts add auth-demo {account.name}"

    def scan(self, account, state):
        if account.options.get("expired"):
            raise AuthError("the grant has expired or was revoked", hint=self.fix(account))
        return ScanOutcome(state=None, complete_listing=True)
        yield

    def check_auth(self, account):
        if account.options.get("expired"):
            return AuthStatus(False, "the grant has expired or was revoked", self.fix(account))
        # works today, but a testing-mode OAuth app's token dies in two days: warn ahead
        return AuthStatus(True, "token expires in 2 days (testing-mode app)", self.fix(account))
"""


def test_accounts_whose_credentials_need_attention(box, http, tmp_path) -> None:
    site = tmp_path / "site"
    dist = site / "trashscan_auth_demo-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: trashscan-auth-demo\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[trashscan.providers]\nauth-demo = trashscan_auth_demo:DemoProvider\n"
    )
    (site / "trashscan_auth_demo.py").write_text(DEMO_PLUGIN)
    add_account(box.config_path, {"name": "expiring", "provider": "auth-demo"})
    add_account(box.config_path, {"name": "revoked", "provider": "auth-demo", "expired": True})
    alerts(box, webhook_url=f"{http.url}/hook")
    command = [
        sys.executable, "-m", "trashscan", "--config", str(box.config_path), "check",
        "--account", "usb-stick", "--account", "expiring", "--account", "revoked",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.returncode == 1, first.stdout + first.stderr  # WARNING: someone must act
    lines = first.stdout.splitlines()
    assert lines[0] == (
        "WARNING: nothing will be purged within 3d; 3 accounts checked, 1 failed, 1 needs attention"
    )
    assert (
        "  attention expiring (auth-demo): credentials: token expires in 2 days "
        "(testing-mode app) -> trashscan accounts add auth-demo expiring"
    ) in lines
    assert (
        "  failed    revoked (auth-demo): scan failed: the grant has expired or was revoked "
        "(trashscan accounts add auth-demo revoked)"
    ) in lines
    (posted,) = http.to("/hook")
    problems = [line for line in posted.json()["message"].splitlines() if "(auth-demo)" in line]
    assert problems == [
        "- expiring (auth-demo): credentials: token expires in 2 days (testing-mode app). "
        "Fix: trashscan accounts add auth-demo expiring",
        "- revoked (auth-demo): scan failed: the grant has expired or was revoked "
        "(trashscan accounts add auth-demo revoked).",
    ]
    assert posted.json()["title"] == "trashscan: 2 accounts need attention"
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 1
    assert len(http.to("/hook")) == 1  # account problems: at most once a day per channel


# --- pictures in the alerts -----------------------------------------------------------------------

UI_LINE = "See them: trashscan ui"
CRAFTED = "x\x1b[2J\nOK: nothing.jpg"  # a name its trasher chose (the path is %-encoded)


def image_parts(mail: Message) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every image attachment of a mail."""
    return [
        (part.get_filename(), part.get_payload(decode=True))
        for part in mail.walk()
        if part.get_content_maintype() == "image"
    ]


def trash_photos(box: Sandbox, tmp_path: Path, photos: dict[str, float]) -> None:
    """An account "pics": a local trash of real photos, named and purged so many days from now."""
    from PIL import Image

    trash = tmp_path / "pics-trash"
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    home = tmp_path / "Pictures"  # where they came from, and may go back to
    home.mkdir()
    for number, (name, days_left) in enumerate(photos.items()):
        deleted = (FIXED - timedelta(days=30 - days_left)).astimezone().replace(tzinfo=None)
        entry = f"photo{number:02}.jpg"
        out = io.BytesIO()
        Image.new("RGB", (800, 600), (20 * number % 256, 90, 160)).save(out, "JPEG")
        (trash / "files" / entry).write_bytes(out.getvalue())
        (trash / "info" / f"{entry}.trashinfo").write_text(
            f"[Trash Info]\nPath={quote(str(home))}/{quote(name, safe='')}\n"
            f"DeletionDate={deleted:%Y-%m-%dT%H:%M:%S}\n"
        )
    add_account(
        box.config_path,
        {
            "name": "pics",
            "provider": "local-trash",
            "trash_dirs": [str(trash)],
            "include_volumes": False,
            "purge_after_days": 30,
        },
    )


def test_the_email_carries_the_pictures_of_the_items_due(cli, box, smtp) -> None:
    """check fills the thumbnail cache for the accounts it scanned, then attaches the cached
    pictures of what the alert lists: real JPEGs named by ref, each listed with its item."""
    cli("check", "--set-smtp-password", stdin=PASSWORD)
    alerts(box, **smtp_alerts(smtp))
    result = cli("check")
    assert result.exit_code == 2 and result.stderr == "", result
    (mail,) = smtp.messages
    assert mail.get_content_type() == "multipart/mixed"
    pictures = image_parts(mail)
    assert len(pictures) == 3
    body = text_part(mail)
    listed = {}
    for filename, data in pictures:
        assert re.fullmatch(r"[0-9a-f]{8}\.jpg", filename)
        width, height = jpeg_size(data)
        assert max(width, height) <= 256
        (line,) = [line for line in body.splitlines() if line.startswith(f"- {filename}: ")]
        listed[line.split(": ", 1)[1].removesuffix(" (laptop, local-trash)")] = filename
    assert set(listed) == OVERDUE | {FIVE_DAYS}
    assert f"[ref {listed['cover.jpg'].removesuffix('.jpg')}]" in body  # the ref it is named by
    assert " more" not in body
    assert body.rstrip("\n").endswith(UI_LINE)


def test_a_dozen_pictures_then_how_many_more_and_safe_names(cli, box, smtp, tmp_path) -> None:
    cli("check", "--set-smtp-password", stdin=PASSWORD)
    alerts(box, **smtp_alerts(smtp))
    photos = {CRAFTED: 4.2} | {f"IMG_{n:04}.jpg": 4.5 for n in range(1, 15)}
    trash_photos(box, tmp_path, photos)
    result = cli("check", "--account", "pics")
    assert result.exit_code == 0, result  # none within --within 3d; all within the 7d alert
    (mail,) = smtp.messages
    assert mail["Subject"] == "trashscan: 15 trashed items will be purged soon"
    pictures = image_parts(mail)
    assert len(pictures) == 12
    assert all(re.fullmatch(r"[0-9a-f]{8}\.jpg", name) for name, _ in pictures)
    assert all(jpeg_size(data) for _, data in pictures)
    body = text_part(mail)
    assert "- ... and 3 more" in body and body.rstrip("\n").endswith(UI_LINE)
    first = pictures[0][0]  # the most urgent: the crafted one, shown escaped, never a path
    assert f"- {first}: x\\x1b[2J\\nOK: nothing.jpg (pics, local-trash)" in body
    raw = smtp.raw[0]
    named = re.findall(rb'filename="([^"]*)"', raw)
    assert len(named) == 12 and all(re.fullmatch(rb"[0-9a-f]{8}\.jpg", n) for n in named)
    assert b"\x1b" not in raw


def test_a_picture_not_in_the_cache_is_simply_not_attached(cli, box, smtp, tmp_path) -> None:
    from trashscan.config import load_config
    from trashscan.index import Index, ItemFilter
    from trashscan.thumbnails import ThumbnailCache

    cli("check", "--set-smtp-password", stdin=PASSWORD)
    alerts(box, **smtp_alerts(smtp))
    assert cli("scan", "--account", "laptop").exit_code == 0  # fills the cache
    with Index.open(load_config(box.config_path).index_url) as index:
        items = {i.name: i for i in index.items(ItemFilter(), FIXED)}
    cache = ThumbnailCache.open(200, box.data_dir)  # the sandbox config's own cache
    assert all(cache.read(items[name]) for name in OVERDUE | {FIVE_DAYS})
    for name in OVERDUE:  # their pictures are gone (evicted, say): only IMG_0004's is left
        cache.store("local-trash", "laptop", items[name].item_id, items[name].thumbnail_key, None)
    result = cli("check", "--no-thumbnails")  # and nothing is fetched now
    assert result.exit_code == 2 and result.stderr == "", result
    (mail,) = smtp.messages
    ((filename, data),) = image_parts(mail)
    assert filename == f"{items[FIVE_DAYS].ref[:8]}.jpg" and jpeg_size(data)
    body = text_part(mail)
    assert f"- {filename}: {FIVE_DAYS} (laptop, local-trash)" in body
    assert "- ... and 2 more" in body and body.rstrip("\n").endswith(UI_LINE)
    assert not any(cache.read(items[name]) for name in OVERDUE)  # still not fetched


def test_with_an_empty_cache_the_mail_is_text_only(cli, box, smtp) -> None:
    cli("check", "--set-smtp-password", stdin=PASSWORD)
    alerts(box, **smtp_alerts(smtp))
    set_table(box.config_path, "thumbnails", {"enabled": False})
    result = cli("check")
    assert result.exit_code == 2 and result.stderr == "", result
    (mail,) = smtp.messages
    assert mail.get_content_type() == "text/plain" and image_parts(mail) == []
    body = text_part(mail)
    assert "Pictures attached" not in body and body.rstrip("\n").endswith(UI_LINE)
    assert not (box.data_dir / "cache" / "thumbnails").exists()


def test_check_fetches_no_pictures_when_it_notifies_nobody(cli, box) -> None:
    assert cli("check").exit_code == 2  # no channel configured
    assert cli("check", "--no-notify").exit_code == 2
    assert not (box.data_dir / "cache" / "thumbnails").exists()
