from __future__ import annotations

import stat
from pathlib import Path

import pytest

from trashscan import config as cfg
from trashscan.config import (
    Config,
    SecretsConfig,
    add_account,
    config_path,
    data_dir,
    default_index_url,
    load_config,
    remove_account,
    set_table,
)
from trashscan.errors import ConfigError, UsageError


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert "\n" not in info.value.one_line()
    assert str(path) in message
    return info.value


# ----------------------------------------------------------------------------------- paths


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRASHSCAN_CONFIG", raising=False)
    default = config_path(None)
    assert default.name == "config.toml"
    assert "trashscan" in str(default.parent)

    monkeypatch.setenv("TRASHSCAN_CONFIG", str(tmp_path / "env.toml"))
    assert config_path(None) == tmp_path / "env.toml"
    assert config_path(tmp_path / "explicit.toml") == tmp_path / "explicit.toml"
    assert config_path(str(tmp_path / "explicit.toml")) == tmp_path / "explicit.toml"

    monkeypatch.setenv("TRASHSCAN_CONFIG", "")
    assert config_path(None) == default


def test_data_dir_and_index_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRASHSCAN_HOME", raising=False)
    assert "trashscan" in str(data_dir())
    monkeypatch.setenv("TRASHSCAN_HOME", str(tmp_path))
    assert data_dir() == tmp_path
    assert not (tmp_path / "index.db").exists()
    assert default_index_url(tmp_path) == f"sqlite:///{tmp_path.as_posix()}/index.db"


def test_a_config_can_name_its_own_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``[data] dir`` (relative to the config file) beats TRASHSCAN_HOME and the platform dir:
    a sandbox config keeps its state apart from the real accounts', whatever the shell says."""
    monkeypatch.setenv("TRASHSCAN_HOME", str(tmp_path / "real-home"))
    config = load_config(write(tmp_path, '[data]\ndir = "box-data"\n'))
    assert config.data_dir == tmp_path / "box-data"
    assert data_dir(config.data_dir) == tmp_path / "box-data"
    assert data_dir(None) == tmp_path / "real-home"
    assert not (tmp_path / "box-data").exists()  # named, not created, by reading the config

    absolute = load_config(write(tmp_path, f'[data]\ndir = "{tmp_path / "elsewhere"}"\n'))
    assert absolute.data_dir == tmp_path / "elsewhere"
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    home = load_config(write(tmp_path, '[data]\ndir = "~/box"\n'))
    assert home.data_dir == tmp_path / "me" / "box"
    assert load_config(write(tmp_path, "")).data_dir is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[data]\ndir = ""\n', "[data] dir must be a non-empty string (a folder)"),
        ("[data]\ndir = 3\n", "[data] dir must be a non-empty string (a folder)"),
        ('[data]\nfolder = "x"\n', "[data]: unknown key 'folder' (expected: dir)"),
        ('data = "x"\n', "'data' must be a table ([data])"),
    ],
)
def test_a_bad_data_dir_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    error = config_error(write(tmp_path, text))
    assert str(error).endswith(expected), str(error)


# --------------------------------------------------------------------------------- reading


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    config = load_config(path)
    assert config == Config(path=path, exists=False)
    assert config.accounts == ()
    assert config.secrets == SecretsConfig()
    assert config.concurrency == 4
    with pytest.raises(ConfigError) as info:
        load_config(path, required=True)
    assert str(path) in str(info.value)
    assert "trashscan accounts add" in (info.value.hint or "")
    assert "config.example.toml" in (info.value.hint or "")


def test_full_config(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    path = write(
        tmp_path,
        """
# my accounts
[index]
url = "sqlite:////tmp/x.db"

[secrets]
backend = "file"
path = "secrets.json"
insecure_for_testing = true

[scan]
concurrency = 8

[alerts]
days_before_purge = 3
[alerts.email]
to = "me@example.org"

[[accounts]]
name = "home.photos_1"
provider = "not-installed"  # its options cannot be checked here: its scan reports it
folder = "~/Pictures"
tags = ["a", "b"]

[[accounts]]
name = "work"
provider = "onedrive"
endpoint = "https://graph.example.test"
ca_bundle = "certs/ca.pem"
retention_days = 0
timeout = 20
""",
    )
    config = load_config(path, required=True)
    assert config.exists
    assert config.index_url == "sqlite:////tmp/x.db"
    assert config.secrets == SecretsConfig(
        backend="file", path=tmp_path / "secrets.json", insecure_for_testing=True
    )
    assert config.concurrency == 8
    assert config.alerts == {"days_before_purge": 3, "email": {"to": "me@example.org"}}
    home, work = config.accounts
    assert home.name == "home.photos_1"
    assert home.options == {"folder": "~/Pictures", "tags": ["a", "b"]}
    assert home.endpoint is None and home.ca_bundle is None and home.retention_days is None
    assert work.endpoint == "https://graph.example.test"
    assert work.ca_bundle == str(tmp_path / "certs" / "ca.pem")
    assert work.retention_days == 0
    assert work.timeout == 20.0 and home.timeout is None
    assert work.options == {}
    assert config.account("work") is work


def test_ca_bundle_absolute_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    absolute = (tmp_path / "abs.pem").as_posix()
    path = write(
        tmp_path,
        '[[accounts]]\nname = "a"\nprovider = "p"\nca_bundle = "~/ca.pem"\n'
        f'[[accounts]]\nname = "b"\nprovider = "p"\nca_bundle = "{absolute}"\n',
    )
    a, b = load_config(path).accounts
    assert a.ca_bundle == str(tmp_path / "home" / "ca.pem")
    assert Path(b.ca_bundle or "") == tmp_path / "abs.pem"


def test_unknown_account(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[accounts]]\nname = "a"\nprovider = "p"\n'))
    with pytest.raises(UsageError) as info:
        config.account("b")
    assert str(info.value) == "unknown account 'b'"
    assert info.value.hint == "known: a"
    with pytest.raises(UsageError) as info:
        load_config(tmp_path / "none.toml").account("b")
    assert "trashscan accounts add PROVIDER NAME" in (info.value.hint or "")


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[index]\nurl = "x"\n\nbroken line\n')
    error = config_error(path)
    assert str(error).startswith(f"{path}:4: invalid TOML: ")
    assert "expected '='" in str(error)
    assert "(at line" not in str(error)


def test_toml_error_at_end_of_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[index]\nurl = "unterminated')
    error = config_error(path)
    assert str(error) == f"{path}:2: invalid TOML: unterminated string at end of file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[index]\nurl = "\xff"\n')
    assert "UTF-8" in str(config_error(path))


def test_thumbnails_defaults_and_values(tmp_path: Path) -> None:
    assert cfg.load_config(write(tmp_path, "")).thumbnails == cfg.ThumbnailsConfig(True, 200, 200)
    text = "[thumbnails]\nenabled = false\nmax_mb = 50\nper_run = 0\n"
    assert cfg.load_config(write(tmp_path, text)).thumbnails == cfg.ThumbnailsConfig(False, 50, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[acounts]\n", "unknown top-level table 'acounts'"),
        ("foo = 1\n", "unknown top-level key 'foo'"),
        ("index = 3\n", "'index' must be a table"),
        ('[accounts]\nname = "a"\n', "accounts must be an array of tables"),
        ("[index]\nuri = 'x'\n", "[index]: unknown key 'uri'"),
        ("[index]\nurl = 3\n", "[index] url must be a non-empty string"),
        ("[scan]\nconcurrency = 0\n", "[scan] concurrency must be an integer from 1 to 32"),
        ("[scan]\nconcurrency = 33\n", "concurrency must be an integer"),
        ("[scan]\nconcurrency = true\n", "concurrency must be an integer"),
        ("[secrets]\nbackend = 'vault'\n", "[secrets] backend must be"),
        ("[secrets]\ninsecure_for_testing = 'yes'\n", "insecure_for_testing must be true or false"),
        ("[secrets]\nbakend = 'file'\n", "[secrets]: unknown key 'bakend'"),
        ("[thumbnails]\nenabled = 'no'\n", "[thumbnails] enabled must be true or false"),
        ("[thumbnails]\nmax_mb = 0\n", "[thumbnails] max_mb must be a whole number"),
        ("[thumbnails]\nmax_mb = 1.5\n", "[thumbnails] max_mb must be a whole number"),
        ("[thumbnails]\nper_run = -1\n", "[thumbnails] per_run must be a whole number"),
        ("[thumbnails]\nsize = 256\n", "[thumbnails]: unknown key 'size'"),
        ('[[accounts]]\nprovider = "p"\n', "accounts[1]: name is required"),
        ('[[accounts]]\nname = "a b"\nprovider = "p"\n', "accounts[1]: name is required"),
        ('[[accounts]]\nname = "a"\n', "accounts[1] ('a'): provider is required"),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\n[[accounts]]\nname = "a"\nprovider = "p"\n',
            "accounts[2] ('a'): duplicate account name",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\n'
            '[[accounts]]\nname = "work"\nprovider = "p"\nretention_days = -1\n',
            "accounts[2] ('work'): retention_days must be a non-negative integer",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\nretention_days = "30"\n',
            "retention_days must be a non-negative integer",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\ntimeout = 0\n',
            "accounts[1] ('a'): timeout must be a positive number of seconds",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\ntimeout = true\n',
            "timeout must be a positive number of seconds",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\ntimeout = "soon"\n',
            "timeout must be a positive number of seconds",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\nendpoint = "ftp://x"\n',
            "accounts[1] ('a'): endpoint must be an http:// or https:// URL",
        ),
        (
            '[[accounts]]\nname = "a"\nprovider = "p"\nendpoint = "https://"\n',
            "endpoint must be an http:// or https:// URL",
        ),
    ],
)
def test_semantic_errors_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    error = config_error(path)
    assert str(error).startswith(f"{path}: ")
    assert expected in str(error)


@pytest.mark.parametrize(
    "key",
    ["password", "token", "refresh_token", "client_secret", "access_token", "secret", "Password"],
)
def test_secret_keys_refused_without_echo(tmp_path: Path, key: str) -> None:
    value = "hunter2-very-secret-value"
    path = write(tmp_path, f'[[accounts]]\nname = "a"\nprovider = "p"\n{key} = "{value}"\n')
    error = config_error(path)
    assert "secrets belong in the keyring, not the config file" in str(error)
    assert "accounts[1] ('a')" in str(error)
    assert value not in error.one_line()


def test_unreadable_path_is_config_error(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    config_error(tmp_path / "dir.toml")


# --------------------------------------------------------------------------------- writing


ORIGINAL = """\
# trashscan config -- hand edited
[index]
url = "sqlite:////tmp/x.db"  # keep this comment

[[accounts]]
# the family NAS
name = "nas"
provider = "local-trash"
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_add_and_remove_preserve_comments(tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL)
    add_account(path, {"name": "work", "provider": "onedrive", "retention_days": 30, "x": None})
    text = path.read_text()
    assert text.startswith(ORIGINAL)
    assert "# keep this comment" in text and "# the family NAS" in text
    assert mode(path) == 0o600
    config = load_config(path)
    assert [a.name for a in config.accounts] == ["nas", "work"]
    assert config.account("work").retention_days == 30
    assert "x" not in config.account("work").options

    remove_account(path, "work")
    assert path.read_text() == ORIGINAL
    remove_account(path, "nas")
    text = path.read_text()
    assert "# keep this comment" in text
    assert "accounts" not in text
    assert load_config(path).accounts == ()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_add_creates_file_and_private_dir(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "config.toml"
    add_account(path, {"name": "a", "provider": "local-trash", "xdg_data_home": tmp_path / "pics"})
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    account = load_config(path, required=True).account("a")
    assert account.options == {"xdg_data_home": str(tmp_path / "pics")}


def test_add_duplicate_is_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL)
    with pytest.raises(UsageError) as info:
        add_account(path, {"name": "nas", "provider": "x"})
    assert "'nas' already exists" in str(info.value)
    assert path.read_text() == ORIGINAL


def test_add_never_writes_an_invalid_config(tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL)
    with pytest.raises(ConfigError) as info:
        add_account(path, {"name": "b", "provider": "x", "token": "s3cr3t-token"})
    assert "s3cr3t-token" not in info.value.one_line()
    assert path.read_text() == ORIGINAL


def test_add_to_inline_array(tmp_path: Path) -> None:
    path = write(tmp_path, 'accounts = [{name = "a", provider = "p"}]  # inline\n')
    add_account(path, {"name": "b", "provider": "q"})
    assert [a.name for a in load_config(path).accounts] == ["a", "b"]
    assert "# inline" in path.read_text()


def test_remove_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL)
    with pytest.raises(UsageError) as info:
        remove_account(path, "zzz")
    assert info.value.hint == "known: nas"
    with pytest.raises(UsageError):
        remove_account(tmp_path / "missing.toml", "zzz")


def test_write_syntax_error_reported_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[index]\nurl = \n")
    with pytest.raises(ConfigError) as info:
        add_account(path, {"name": "a", "provider": "p"})
    assert str(info.value).startswith(f"{path}:2: invalid TOML")


def test_set_table(tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL)
    set_table(
        path,
        "secrets",
        {"backend": "file", "path": tmp_path / "s.json", "insecure_for_testing": True},
    )
    set_table(path, "index", {"url": "sqlite:////tmp/y.db"})
    config = load_config(path)
    assert config.secrets.backend == "file"
    assert config.secrets.path == tmp_path / "s.json"
    assert config.index_url == "sqlite:////tmp/y.db"
    assert "# keep this comment" in path.read_text()
    set_table(path, "secrets", {"path": None, "backend": "keyring", "insecure_for_testing": None})
    assert load_config(path).secrets == SecretsConfig()


def test_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, ORIGINAL, "real.toml")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    add_account(link, {"name": "b", "provider": "p"})
    assert link.is_symlink()
    assert [a.name for a in load_config(link).accounts] == ["nas", "b"]


def test_env_names_are_stable() -> None:
    assert cfg.ENV_CONFIG == "TRASHSCAN_CONFIG"
    assert cfg.ENV_HOME == "TRASHSCAN_HOME"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://me:hunter2@db.example/trashscan",
        "postgresql+psycopg://me@/trashscan?host=/run/postgresql&password=hunter2",
    ],
)
def test_index_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path, url: str) -> None:
    """Secrets live in the keyring or libpq's own files, never in trashscan's config."""
    path = tmp_path / "config.toml"
    path.write_text(f'[index]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value) + (info.value.hint or "")
    assert "password" in text
    assert "hunter2" not in text


def test_index_url_without_a_password_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[index]\nurl = "postgresql+psycopg://me@/trashscan?host=/run/postgresql"\n')
    assert load_config(path).index_url.endswith("host=/run/postgresql")
