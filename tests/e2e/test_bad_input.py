"""Every bad input is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest


def assert_one_line_error(result, code: int = 2, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_config(bare_cli, tmp_path):
    missing = tmp_path / "nope.toml"
    result = bare_cli("--config", str(missing), "list")
    assert_one_line_error(result, 2, str(missing))


def test_malformed_toml_names_file_and_line(bare_cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nname = "a"\nprovider = = "local-trash"\n')
    result = bare_cli("--config", str(config), "list")
    assert_one_line_error(result, 2, f"{config}:3")


def test_unknown_provider(bare_cli, tmp_path):
    result = bare_cli("--config", str(tmp_path / "c.toml"), "accounts", "add", "no-such-cloud", "x")
    assert_one_line_error(result, 2, "unknown provider 'no-such-cloud'", "local-trash")


def test_unknown_account(cli):
    assert_one_line_error(cli("list", "--account", "nobody"), 2, "unknown account 'nobody'")


@pytest.mark.parametrize("duration", ["7x", "", "d7", "-3d"])
def test_bad_duration(cli, duration):
    assert_one_line_error(cli("list", "--expiring-within", duration), 2, "bad duration")


def test_bad_date(cli):
    assert_one_line_error(cli("list", "--deleted-since", "yesterday"), 2, "bad date")


def test_unknown_ref(cli):
    cli("scan")
    assert_one_line_error(cli("restore", "deadbeef", "--yes"), 2, "unknown ref")


def test_restore_needs_a_selection(cli):
    assert_one_line_error(cli("restore", "--yes"), 2, "say what to restore")


def test_bad_option_syntax(bare_cli, tmp_path):
    result = bare_cli(
        "--config",
        str(tmp_path / "c.toml"),
        "accounts",
        "add",
        "local-trash",
        "x",
        "--option",
        "novalue",
    )
    assert_one_line_error(result, 2, "bad --option")


def test_secret_in_option_is_refused(bare_cli, tmp_path):
    result = bare_cli(
        "--config",
        str(tmp_path / "c.toml"),
        "accounts",
        "add",
        "local-trash",
        "x",
        "--option",
        "password=hunter2",
    )
    assert_one_line_error(result, 2, "keyring")
    assert "hunter2" not in result.stderr


def test_corrupt_index(cli, sandbox):
    index_file = Path(sandbox.workdir / "index.db")
    index_file.write_bytes(b"this is not a database\n" * 200)
    result = cli("list")
    assert_one_line_error(result, 2, str(index_file))


def test_click_usage_error_is_one_line(cli):
    assert_one_line_error(cli("list", "--no-such-flag"), 2, "--no-such-flag")
