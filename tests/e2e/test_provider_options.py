"""Provider options through the real CLI: each plugin declares its options once, the core refuses
an unknown key (with a did-you-mean), a value of the wrong type, and at `accounts add` a folder
that does not exist, each in one line with exit code 2, on the command line and in the config.

Before, ``--option trash_dir=/x`` (the key is ``trash_dirs``) was written to the config and
ignored, so the account listed the home trash instead, under new refs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trashscan.config import load_config


def assert_one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# (provider, a mistyped option, the one it means): every plugin, refused before any sign-in.
TYPOS = [
    ("local-trash", "trash_dir=/x", "trash_dirs"),
    ("google-drive", "activty=true", "activity"),
    ("google-photos", "retention_day=60", "retention_days"),
    ("dropbox", "appkey=KEY", "app_key"),
    ("onedrive", "client-id=ID", "client_id"),
    ("icloud", "apple_idd=a@b.c", "apple_id"),
]
# (provider, a TOML line of the wrong type, its one-line complaint)
WRONG_TYPES = [
    ("local-trash", 'include_volumes = "no"', "option include_volumes must be true or false"),
    ("local-trash", "trash_dirs = 5", "option trash_dirs must be a path or a list of paths"),
    ("local-trash", "purge_after_days = -1", "option purge_after_days must be from 0 to 36500"),
    # a purge date past the year 9999 made every scan fail with OverflowError
    (
        "local-trash",
        "purge_after_days = 3000000",
        "option purge_after_days must be from 0 to 36500",
    ),
    ("google-drive", 'activity = "yes"', "option activity must be true or false"),
    ("dropbox", 'revision_workers = "8"', "option revision_workers must be a whole number"),
    ("onedrive", 'drive_type = "home"', "option drive_type must be personal or business"),
    ("icloud", "pcs_wait_seconds = 900", "option pcs_wait_seconds must be from 0 to 300"),
]


def _add(bare_cli, config: Path, provider: str, name: str, *options: str):
    args = [arg for option in options for arg in ("--option", option)]
    return bare_cli("--config", str(config), "accounts", "add", provider, name, *args)


def _trash(tmp_path: Path, name: str = "Trash") -> Path:
    trash = tmp_path / name
    (trash / "info").mkdir(parents=True)
    (trash / "files").mkdir()
    return trash


@pytest.mark.parametrize(("provider", "typo", "meant"), TYPOS)
def test_an_unknown_option_is_refused_with_a_did_you_mean(
    bare_cli, tmp_path, provider, typo, meant
):
    config = tmp_path / "config.toml"

    result = _add(bare_cli, config, provider, "mine", typo)

    key = typo.partition("=")[0]
    assert_one_line_error(
        result,
        2,
        f"trashscan: error: unknown option {key!r} for {provider} (did you mean {meant!r}?)",
    )
    assert not config.exists()  # nothing written, nobody signed in


def test_an_option_with_no_close_name_lists_the_options(bare_cli, tmp_path):
    result = _add(bare_cli, tmp_path / "c.toml", "local-trash", "desk", "colour=blue")
    assert_one_line_error(
        result,
        2,
        "unknown option 'colour' for local-trash (its options: trash_dirs, xdg_data_home, "
        "include_volumes, purge_after_days, endpoint, ca_bundle, retention_days, timeout)",
    )


def test_the_misspelt_trash_dir_no_longer_lists_the_home_trash(bare_cli, tmp_path, monkeypatch):
    """The issue's case: before, the account was added and scanned the home trash."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    _trash(tmp_path / "share")
    usb = _trash(tmp_path, "usb-trash")
    config = tmp_path / "config.toml"

    refused = _add(bare_cli, config, "local-trash", "usb", f"trash_dir={usb}")
    assert_one_line_error(refused, 2, "did you mean 'trash_dirs'?")

    added = _add(bare_cli, config, "local-trash", "usb", f"trash_dirs={usb}")
    assert added.exit_code == 0, added.stderr
    assert load_config(config).account("usb").options == {"trash_dirs": [str(usb)]}


def test_command_line_values_are_parsed_to_their_type(bare_cli, tmp_path):
    config = tmp_path / "config.toml"
    one, two = _trash(tmp_path, "one"), _trash(tmp_path, "two")

    added = _add(
        bare_cli, config, "local-trash", "desk",
        f"trash_dirs={one}", f"trash_dirs={two}", "include_volumes=no", "purge_after_days=30",
        "retention_days=45",
    )  # fmt: skip

    assert added.exit_code == 0, added.stderr
    account = load_config(config).account("desk")
    assert account.options == {
        "trash_dirs": [str(one), str(two)],
        "include_volumes": False,
        "purge_after_days": 30,
    }
    assert account.retention_days == 45
    assert "include_volumes = false\n" in config.read_text()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("include_volumes=maybe",
         "option include_volumes must be true or false (or yes/no, 1/0), not 'maybe'"),
        ("purge_after_days=thirty", "option purge_after_days must be a whole number, not 'thirty'"),
        ("purge_after_days=-3", "option purge_after_days must be from 0 to 36500, not -3"),
        ("include_volumes=yes", "option include_volumes is given twice"),
        ("retention_days=1.5", "option retention_days must be a whole number, not '1.5'"),
    ],
)  # fmt: skip
def test_a_command_line_value_of_the_wrong_type_is_refused(bare_cli, tmp_path, option, message):
    config = tmp_path / "config.toml"
    result = _add(bare_cli, config, "local-trash", "desk", "include_volumes=false", option)
    assert_one_line_error(result, 2, message)
    assert not config.exists()


def test_a_trash_folder_that_does_not_exist_is_refused_at_add(bare_cli, tmp_path):
    config = tmp_path / "config.toml"
    here = _trash(tmp_path)
    missing = tmp_path / "no-such-trash"

    result = _add(
        bare_cli, config, "local-trash", "desk", f"trash_dirs={here}", f"trash_dirs={missing}"
    )

    assert_one_line_error(result, 2, f"option trash_dirs: no such directory: {missing}")
    assert not config.exists()


def test_a_ca_bundle_that_does_not_exist_is_refused_at_add(bare_cli, tmp_path):
    missing = tmp_path / "ca.pem"
    result = _add(bare_cli, tmp_path / "c.toml", "icloud", "grace", "apple_id=a@b.c",
                  f"ca_bundle={missing}")  # fmt: skip
    assert_one_line_error(result, 2, f"option ca_bundle: no such file: {missing}")


def test_secrets_are_still_refused_before_the_unknown_key_check(bare_cli, tmp_path):
    result = _add(bare_cli, tmp_path / "c.toml", "dropbox", "d", "client_secret=hunter2")
    assert_one_line_error(result, 2, "keyring")
    assert "hunter2" not in result.stderr


# ----------------------------------------------------------------------------- in the config


def _config(tmp_path: Path, provider: str, line: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "# hand-edited\n"
        "[[accounts]]\n"
        'name = "fine"\n'
        'provider = "google-photos"\n'
        "\n"
        "[[accounts]]\n"
        'name = "mine"\n'
        f'provider = "{provider}"\n'
        f"{line}\n"
    )
    return path


@pytest.mark.parametrize(("provider", "line", "message"), WRONG_TYPES)
def test_a_config_value_of_the_wrong_type_names_file_and_line(
    bare_cli, tmp_path, provider, line, message
):
    config = _config(tmp_path, provider, line)
    for command in (["accounts", "list"], ["list", "--cached"], ["scan"]):
        result = bare_cli("--config", str(config), *command)
        assert_one_line_error(result, 2, f"trashscan: error: {config}:9: accounts[2] ('mine'): ")
        assert message in result.stderr


def test_an_unknown_config_key_names_file_line_and_the_key_meant(bare_cli, tmp_path):
    config = _config(tmp_path, "local-trash", 'trash_dir = "/mnt/usb/.Trash-1000"')
    result = bare_cli("--config", str(config), "list")
    assert_one_line_error(
        result,
        2,
        f"trashscan: error: {config}:9: accounts[2] ('mine'): unknown option 'trash_dir' for "
        "local-trash (did you mean 'trash_dirs'?)",
    )
    checked = bare_cli("--config", str(config), "check")
    assert checked.exit_code == 3  # monitoring's UNKNOWN: the check could not run


def test_typed_config_values_and_generic_keys_load(bare_cli, tmp_path):
    """TOML's own types pass; a path may be one string; every account's core keys still load."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked at load\n")
    config = _config(
        tmp_path,
        "local-trash",
        f'trash_dirs = "{tmp_path}"\ninclude_volumes = false\npurge_after_days = 30\n'
        f'retention_days = 30\nendpoint = "https://example.test/"\nca_bundle = "{ca}"',
    )
    account = load_config(config).account("mine")
    assert account.options == {
        "trash_dirs": [str(tmp_path)],
        "include_volumes": False,
        "purge_after_days": 30,
    }
    assert (account.retention_days, account.endpoint, account.ca_bundle) == (
        30, "https://example.test/", str(ca),
    )  # fmt: skip
    listed = bare_cli("--config", str(config), "accounts", "list")
    assert listed.exit_code == 0, listed.stderr


def test_a_missing_trash_folder_in_the_config_fails_only_that_scan(bare_cli, tmp_path):
    """Existence is checked at `accounts add`, not at load: an unplugged drive must not make the
    whole config unreadable. Its scan fails alone, in one line."""
    gone = tmp_path / "unplugged"
    config = _config(tmp_path, "local-trash", f'trash_dirs = ["{gone}"]')
    result = bare_cli("--config", str(config), "scan")
    assert result.exit_code == 1
    assert f"trash directory {gone} does not exist" in result.stderr
    assert "fine: cannot be listed" in result.stdout


def test_providers_lists_each_option_from_the_declaration(bare_cli):
    shown = bare_cli("providers").stdout.splitlines()
    assert (
        " " * 17 + "--option include_volumes=true|false  also read .Trash-$uid / .Trash/$uid of "
        "mounted volumes (default: true)"
    ) in shown
    assert any(line.strip().startswith("--option apple_id=TEXT") for line in shown)
    assert any(line.strip().startswith("--option retention_days=N") for line in shown)
