"""``trashscan sandbox serve``: its options, its isolation from real accounts, its sign-in help.

The serve loop is replaced (``session.wait_until_interrupted``) by a function that does the
test's work while the fakes are up, then returns as Ctrl-C would; everything else is the real
command. Latency is checked by counting the sleeps the servers ask for, never by timing.
"""

from __future__ import annotations

import html
import json
import os
import re
import ssl
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from terminal import TRASHSCAN, Terminal

from trashscan.config import load_config
from trashscan.sandbox import session
from trashscan_dropbox.sandbox.authorize import CODE_ELEMENT


def _get(server: Any, ca_bundle: Path, path: str) -> int:
    context = ssl.create_default_context(cafile=str(ca_bundle))
    try:
        with urllib.request.urlopen(server.url(path), context=context, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_latency_delays_every_request_of_every_fake(bare_cli, tmp_path, monkeypatch):
    slept: list[float] = []
    seen: dict[str, Any] = {}

    def while_serving(box: session.Sandbox) -> None:
        seen["servers"] = dict(box.servers)
        for server in box.servers.values():
            server.sleep = slept.append
            _get(server, box.ca_bundle, "/no-such-route")
            _get(server, box.ca_bundle, "/no-such-route")

    monkeypatch.setattr(session, "wait_until_interrupted", while_serving)
    result = bare_cli("sandbox", "serve", "--latency", "250", "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 0, result.stderr
    assert len(seen["servers"]) >= 4  # every HTTPS fake, not just one
    assert slept == [0.25] * (2 * len(seen["servers"]))
    assert "latency: 250 ms per request" in result.stdout


def test_no_latency_by_default(bare_cli, tmp_path, monkeypatch):
    slept: list[float] = []

    def while_serving(box: session.Sandbox) -> None:
        for server in box.servers.values():
            server.sleep = slept.append
            _get(server, box.ca_bundle, "/no-such-route")

    monkeypatch.setattr(session, "wait_until_interrupted", while_serving)
    result = bare_cli("sandbox", "serve", "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 0, result.stderr
    assert slept == []
    assert "latency:" not in result.stdout


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "60001", ""])
def test_a_bad_latency_is_one_line_and_exit_2(bare_cli, tmp_path, value, monkeypatch):
    started: list[Any] = []
    monkeypatch.setattr(session, "wait_until_interrupted", started.append)
    result = bare_cli("sandbox", "serve", "--latency", value, "--workdir", str(tmp_path / "box"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--latency" in result.stderr
    assert "Traceback" not in result.stderr
    assert started == []
    assert not (tmp_path / "box").exists()  # refused before anything was seeded


# ------------------------------------------------------------------------ a data dir of its own


class Served:
    """``trashscan sandbox serve`` in a process of its own, as a person runs it."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.config = workdir.parent / f"{workdir.name}.toml"
        self.env = env
        self.process = subprocess.Popen(
            [*TRASHSCAN, "sandbox", "serve", "--write-config", str(self.config),
             "--workdir", str(workdir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(120):  # a test that fails must not hang
            raise AssertionError("sandbox serve never got ready:\n" + self.stop())
        assert self.config.exists(), "\n".join(self.lines)

    def _read(self) -> None:
        for line in self.process.stdout or []:  # the config is written before the first line
            self.lines.append(line.rstrip("\n"))
            if line.startswith("stop with Ctrl-C"):
                self.ready.set()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TRASHSCAN, "--config", str(self.config), *args],
            env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def stop(self) -> str:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=30)
        return stderr


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file and folder under ``folder``: mode, modification time, content."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() else b""
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime_ns, content)
    return found


def test_two_sandboxes_and_the_real_accounts_share_no_state(tmp_path):
    """Both sandboxes serve at once, each scanned with its own config, from a shell whose
    TRASHSCAN_HOME names the person's real data dir: each sandbox keeps its index, locks,
    sessions, reminders and pictures in its own folder; the real one is not touched; and no
    keyring is ever needed (a keyring that fails on any use is all there is)."""
    real_home = tmp_path / "real-home"
    real_config = tmp_path / "real.toml"
    trash = tmp_path / "Trash"
    (trash / "info").mkdir(parents=True)
    (trash / "files").mkdir()
    real_config.write_text(
        f'[[accounts]]\nname = "laptop"\nprovider = "local-trash"\ntrash_dirs = ["{trash}"]\n'
        "include_volumes = false\n"
    )
    env = {
        **os.environ,
        "TRASHSCAN_HOME": str(real_home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "TRASHSCAN_PAGER": "",
    }
    real_scan = subprocess.run(
        [*TRASHSCAN, "--config", str(real_config), "scan"], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert real_scan.returncode == 0, real_scan.stderr
    before = _snapshot(real_home)
    assert "index.db" in before

    one, two = Served(tmp_path / "one", env), Served(tmp_path / "two", env)
    try:
        listed = {}
        for box in (one, two):
            result = box.run("list", "--all-accounts", "--format", "json")
            assert result.returncode == 0, result.stderr
            # the daily Google Photos note is due in each: no other run's reminder hides it
            assert "note: photos-alice (google-photos)" in result.stderr, result.stderr
            listed[box] = json.loads(result.stdout)
        chosen = next(i for i in listed[one] if i["provider"] == "dropbox" and i["restorable"])
        restored = one.run("restore", chosen["ref"], "--yes")
        assert restored.returncode == 0, restored.stderr

        def names(box: Served) -> set[tuple[str, str, str]]:
            result = box.run("list", "--all-accounts", "--format", "json")
            assert result.returncode == 0, result.stderr
            return {(i["provider"], i["account"], i["name"]) for i in json.loads(result.stdout)}

        same = (chosen["provider"], chosen["account"], chosen["name"])
        assert same not in names(one)  # restored in the first sandbox's cloud and index
        assert same in names(two)  # the second's cloud and index never saw it
        for box in (one, two):
            data = box.workdir / "data"
            assert (box.workdir / "index.db").is_file()
            assert (data / "reminders.json").is_file()
            assert list((data / "accounts" / "icloud" / "grace").glob("*.session"))
            assert (data / "cache" / "thumbnails").is_dir()
            assert f'dir = "{data}"' in box.config.read_text()
    finally:
        one.stop()
        two.stop()
    assert _snapshot(real_home) == before
    assert not (tmp_path / "user-home" / ".cache" / "trashscan").exists()
    assert not (tmp_path / "user-home" / ".local" / "share" / "trashscan").exists()


# ------------------------------------------------------------------------------ signing in


def _fetch(url: str, ca_bundle: str, form: dict[str, str] | None = None) -> str:
    """A browser's GET (or form POST) of a fake's page, trusting the sandbox CA."""
    context = ssl.create_default_context(cafile=ca_bundle)
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    with urllib.request.urlopen(url, data=data, context=context, timeout=60) as response:
        assert form is not None or response.headers.get_content_type() == "text/html"
        return response.read().decode("utf-8")


def _help_for(lines: list[str], provider: str, account: str) -> str:
    """What serve printed under ``trashscan accounts add PROVIDER ACCOUNT`` (one or more
    lines, indented further)."""
    start = lines.index(f"  trashscan accounts add {provider} {account}") + 1
    steps = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        steps.append(line.strip())
    return "\n".join(steps)


def _option(page: str, text: str) -> str:
    """The value of the ``<option>`` showing ``text`` (the account a person picks)."""
    match = re.search(rf'<option value="([^"]+)">{re.escape(html.escape(text))}</option>', page)
    assert match, page
    return html.unescape(match.group(1))


def _hidden(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in found}


def test_every_sign_in_can_be_finished_offline_with_what_serve_prints(tmp_path):
    """`sandbox serve` says, within 80 columns, what to type to finish `accounts add` against
    each fake; following it, each sign-in completes, the browser steps done over HTTP."""
    env = {
        **os.environ,
        "TRASHSCAN_HOME": str(tmp_path / "real-home"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "TRASHSCAN_PAGER": "",
    }
    box = Served(tmp_path / "box", env)
    try:
        for line in box.lines:  # a path or a URL aside, a line fits 80 columns
            longest = max(line.split(), key=len, default="")
            assert len(line) <= 80 or len(line) - len(longest) <= 30, line
        config = load_config(box.config)
        ca_bundle = config.account("carol").ca_bundle
        assert ca_bundle is not None
        add = [*TRASHSCAN, "--config", str(box.config), "accounts", "add"]

        # Dropbox: open the authorize page it prints, Allow as the user named, paste the code
        said = _help_for(box.lines, "dropbox", "carol")
        email = re.search(r"choose (\S+),", said).group(1)  # type: ignore[union-attr]
        terminal = Terminal([*add, "dropbox", "carol"], env)
        terminal.expect("paste it here: ")
        url = re.search(r"Open (https://\S+)", terminal.screen).group(1)  # type: ignore[union-attr]
        assert urllib.parse.urlsplit(url).path == "/oauth2/authorize"
        page = _fetch(url, ca_bundle)
        assert ">Allow<" in page
        answer = {**_hidden(page), "account": _option(page, email), "decision": "allow"}
        shown = _fetch(url.split("?")[0], ca_bundle, answer)
        code = html.unescape(CODE_ELEMENT.search(shown).group(1))  # type: ignore[union-attr]
        terminal.type(code + "\r")
        assert terminal.finish() == 0, terminal.screen
        assert "signed in again to dropbox account 'carol'" in terminal.screen
        assert code not in terminal.screen.replace(code, "", 1)  # echoed once, as typed

        # iCloud: the printed command; then a new account, where Apple asks for everything
        said = _help_for(box.lines, "icloud", "grace")
        match = re.search(r"password (\S+), two-factor code (\d{6})", said)
        assert match, said
        password, two_factor = match.groups()
        listed = box.run("list", "--all-accounts", "--format", "json")  # grace signs in
        assert listed.returncode == 0, listed.stderr
        terminal = Terminal([*add, "icloud", "grace"], env)
        assert terminal.finish() == 0, terminal.screen
        grace = config.account("grace")
        terminal = Terminal(
            [*add, "icloud", "mine", "--option", f"apple_id={grace.options['apple_id']}",
             "--option", f"endpoint={grace.endpoint}", "--option", f"ca_bundle={ca_bundle}"],
            env,
        )  # fmt: skip
        terminal.expect("password for")
        terminal.type(password + "\r")
        terminal.expect("Two-factor code: ")
        terminal.type(two_factor + "\r")
        assert terminal.finish() == 0, terminal.screen
        assert "added icloud account 'mine'" in terminal.screen
        assert password not in terminal.screen

        # OneDrive: the device login page it names, its code, the user named
        said = _help_for(box.lines, "onedrive", "erin")
        email = said.rsplit(" ", 1)[-1]
        terminal = Terminal([*add, "onedrive", "erin"], env)
        terminal.expect("to authenticate.")
        found = re.search(r"open the page (https://\S+) and enter the code (\S+) ", terminal.screen)
        assert found, terminal.screen
        url, user_code = found.groups()
        page = _fetch(url, ca_bundle)
        _fetch(url, ca_bundle, {"code": user_code, "account": _option(page, email)})
        assert terminal.finish() == 0, terminal.screen
        assert "signed in again to onedrive account 'erin'" in terminal.screen

        # Google Drive: the loopback sign-in, the consent page's redirect back included
        said = _help_for(box.lines, "google-drive", "alice")
        assert "REQUESTS_CA_BUNDLE" not in said  # the code exchange trusts the account's CA
        email = re.search(r"choose (\S+),", said).group(1)  # type: ignore[union-attr]
        google_env = {**env, "BROWSER": "true"}
        google_env.pop("REQUESTS_CA_BUNDLE", None)
        terminal = Terminal([*add, "google-drive", "alice"], google_env)
        terminal.expect("code_challenge_method=S256")  # the URL's last parameter: all of it
        url = re.search(r"(https://\S+/o/oauth2/auth\?\S+)", terminal.screen).group(1)  # type: ignore[union-attr]
        page = _fetch(url, ca_bundle)
        answer = {**_hidden(page), "account": _option(page, email), "decision": "allow"}
        _fetch(url.split("?")[0], ca_bundle, answer)  # Allow, then the redirect to the app
        assert terminal.finish() == 0, terminal.screen
        assert "signed in again to google-drive account 'alice'" in terminal.screen

        tested = box.run("accounts", "test", "carol")
        assert tested.returncode == 0, tested.stderr
        for name in ("alice", "erin"):
            tested = box.run("accounts", "test", name)
            assert tested.returncode == 0, tested.stderr
        mine = box.run("list", "--account", "mine", "--format", "json")
        assert mine.returncode == 0, mine.stderr
        assert json.loads(mine.stdout)  # the new iCloud account lists grace's deleted photos
    finally:
        box.stop()
    assert not (tmp_path / "real-home").exists()  # nothing of it reached the real data dir
