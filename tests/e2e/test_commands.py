"""providers, accounts, demo, sandbox serve and the speed of --help, through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from trashscan.config import load_config

TRASHSCAN = [sys.executable, "-m", "trashscan"]


def test_providers_lists_local_trash(cli):
    result = cli("providers")
    assert result.exit_code == 0
    assert "local-trash" in result.stdout
    assert "restore=yes" in result.stdout


def test_a_broken_plugin_is_reported_and_the_others_work(tmp_path, sandbox):
    """A real installed distribution whose entry point fails to import."""
    site = tmp_path / "site"
    dist = site / "trashscan_broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: trashscan-broken-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[trashscan.providers]\nbroken-cloud = trashscan_broken_plugin:Provider\n"
        "[trashscan.sandbox]\nbroken-cloud = trashscan_broken_plugin:Fake\n"
    )
    (site / "trashscan_broken_plugin.py").write_text("import no_such_sdk_module\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    shown = subprocess.run([*TRASHSCAN, "providers"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0
    assert "broken-cloud" in shown.stdout and "BROKEN" in shown.stdout
    assert "no_such_sdk_module" in shown.stdout
    assert "local-trash" in shown.stdout
    listed = subprocess.run(
        [*TRASHSCAN, "--config", str(sandbox.config_path), "list", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert len([i for i in json.loads(listed.stdout) if i["provider"] == "local-trash"]) == 13
    demo = subprocess.run([*TRASHSCAN, "demo"], env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr


def test_help_imports_no_heavy_module():
    code = textwrap.dedent(
        """
        import sys
        from trashscan.cli import run
        run(["--help"])
        heavy = [m for m in ("sqlalchemy", "rich", "keyring", "requests", "trustme",
                 "cryptography", "trashscan_local_trash", "googleapiclient", "msal", "dropbox",
                 "pyicloud", "apprise", "PIL", "pillow_heif", "starlette", "uvicorn", "jinja2")
                 if m in sys.modules]
        print(heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_accounts_add_list_test_remove(cli, bare_cli, tmp_path):
    config = tmp_path / "mine.toml"
    trash = tmp_path / "Trash"
    (trash / "info").mkdir(parents=True)
    (trash / "files").mkdir()
    added = bare_cli(
        "--config", str(config), "accounts", "add", "local-trash", "desk",
        "--option", f"trash_dirs={trash}", "--option", "include_volumes=false",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    account = load_config(config).account("desk")
    assert account.options["include_volumes"] is False
    listed = bare_cli("--config", str(config), "accounts", "list")
    assert "desk" in listed.stdout and "never scanned" in listed.stdout
    tested = bare_cli("--config", str(config), "accounts", "test", "desk")
    assert tested.exit_code == 0
    again = bare_cli("--config", str(config), "accounts", "add", "local-trash", "desk")
    assert again.exit_code == 0, again.stderr
    assert "signed in again" in again.stdout
    assert load_config(config).account("desk").options["trash_dirs"] == [str(trash)]
    removed = bare_cli("--config", str(config), "accounts", "remove", "desk", "--yes")
    assert removed.exit_code == 0
    assert "nothing in the cloud was touched" in removed.stdout
    assert load_config(config).accounts == ()
    assert trash.exists()


def test_demo_runs_the_whole_flow():
    result = subprocess.run([*TRASHSCAN, "demo"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no longer in the trash" in result.stdout
    assert "restored" in result.stdout
    assert "trashscan accounts add" in result.stdout


def test_sandbox_serve_is_usable_from_another_process(tmp_path):
    config = tmp_path / "sandbox.toml"
    server = subprocess.Popen(
        [
            *TRASHSCAN,
            "sandbox",
            "serve",
            "--write-config",
            str(config),
            "--workdir",
            str(tmp_path / "box"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not config.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert config.exists(), "sandbox did not write its config"
        env = {**os.environ, "TRASHSCAN_CONFIG": str(config)}
        listed = subprocess.run(
            [*TRASHSCAN, "list", "--all-accounts", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert listed.returncode == 0, listed.stderr
        assert len([i for i in json.loads(listed.stdout) if i["provider"] == "local-trash"]) == 13
        assert "insecure_for_testing = true" in Path(config).read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_accounts_without_secrets_work_when_the_keyring_is_unusable(cli, bare_cli, tmp_path):
    """local-trash needs no secret, so a missing keyring must not stop it (a cron box, say)."""
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    config = tmp_path / "real.toml"
    trash = tmp_path / "Trash"
    (trash / "info").mkdir(parents=True)
    (trash / "files").mkdir()
    config.write_text(
        f'[[accounts]]\nname = "desk"\nprovider = "local-trash"\ntrash_dirs = ["{trash}"]\n'
        "include_volumes = false\n"
    )
    result = bare_cli("--config", str(config), "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == []


def test_config_example_is_valid_and_documents_every_alert_key():
    """config.example.toml is what users copy: it must load, alerts section included."""
    from trashscan.notify import parse_alerts

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example, required=True)
    assert [a.provider for a in config.accounts] == ["local-trash"]
    parse_alerts(example, config.alerts)
    text = example.read_text()
    for key in ("webhook_url", "webhook_format", "smtp_host", "smtp_port", "smtp_user",
                "smtp_starttls", "smtp_ssl", "email_from", "email_to", "apprise",
                "healthcheck_url", "thresholds", "allow_insecure_keyring", "concurrency",
                "purge_after_days", "trash_dirs", "include_volumes"):  # fmt: skip
        assert key in text, key


def test_accounts_remove_forgets_local_credentials_but_not_the_cloud(tmp_path, bare_cli):
    """Secrets and the private account directory go; other accounts and the cloud stay."""
    from trashscan.sandbox.session import Sandbox
    from trashscan.secrets import FileSecretStore

    with Sandbox(tmp_path / "box", only=frozenset({"dropbox"})) as box:

        def cli(*args: str):
            return bare_cli("--config", str(box.config_path), *args)

        assert cli("list", "--format", "json").exit_code == 0
        store = FileSecretStore(box.workdir / "sandbox-secrets.json", insecure_for_testing=True)
        assert store.get("trashscan:dropbox:carol", "refresh_token")
        private = box.data_dir / "accounts" / "dropbox" / "carol"
        private.mkdir(parents=True, exist_ok=True)
        requests_before = len(box.servers["dropbox"].request_log)
        removed = cli("accounts", "remove", "carol", "--yes")
        assert removed.exit_code == 0, removed.stderr
        assert "credentials were deleted" in removed.stdout
        assert store.get("trashscan:dropbox:carol", "refresh_token") is None
        assert store.get("trashscan:dropbox:carol", "access_token") is None
        assert store.get("trashscan:dropbox:dave", "refresh_token")
        assert not private.exists()
        assert len(box.servers["dropbox"].request_log) == requests_before  # no cloud call at all
