"""The core's option parsing: command-line text is parsed, TOML values must have their type."""

from __future__ import annotations

from pathlib import Path

import pytest

from trashscan.config import load_config
from trashscan.errors import AccountError, ConfigError, UsageError
from trashscan.models import Account
from trashscan.options import (
    BOOL,
    INT,
    NUMBER,
    PATHS,
    TEXT,
    WORDS,
    OptionError,
    OptionSpec,
    at_least,
    did_you_mean,
    from_command_line,
    from_config,
    resolve,
)

SPECS = (
    OptionSpec("flag", BOOL, "a flag", default=True),
    OptionSpec("count", INT, "a count", default=2, check=at_least(1)),
    OptionSpec("wait", NUMBER, "seconds"),
    OptionSpec("name", TEXT, "a name"),
    OptionSpec("dirs", PATHS, "folders"),
    OptionSpec("exts", WORDS, "extensions"),
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("NO", False), ("0", False)],
)
def test_a_boolean_from_the_command_line(text, value):
    assert from_command_line([f"flag={text}"], SPECS, "p")[0] == {"flag": value}


@pytest.mark.parametrize("value", ["no", "false", 0, 1, None])
def test_a_boolean_in_toml_must_be_a_toml_boolean(value):
    with pytest.raises(OptionError, match="flag must be true or false"):
        from_config(SPECS, {"flag": value}, "p")


def test_command_line_values_take_their_declared_type(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values, given = from_command_line(
        ["count=7", "wait=1.5", "name=x y", "dirs=a", "dirs=~/b", "exts=.jpg, png", "exts=mov"],
        SPECS,
        "p",
    )
    assert values == {
        "count": 7,
        "wait": 1.5,
        "name": "x y",
        "dirs": [str(tmp_path / "a"), str(Path("~/b").expanduser())],  # absolute now
        "exts": [".jpg", "png", "mov"],
    }
    assert [spec.name for spec in given] == ["count", "wait", "name", "dirs", "exts"]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["count=0"], "option count must be at least 1, not 0"),
        (["count=2", "count=3"], "option count is given twice"),
        (["wait=inf"], "option wait must be a number, not 'inf'"),
        (["name="], "option name must be a non-empty text"),
        (["flags=true"], "unknown option 'flags' for p (did you mean 'flag'?)"),
        (["retention_dayz=3"], "did you mean 'retention_days'?"),
        (["token=abc"], "secrets are asked for and kept in the keyring"),
    ],
)
def test_bad_command_line_options_are_one_usage_error(pairs, message):
    with pytest.raises(UsageError) as raised:
        from_command_line(pairs, SPECS, "p")
    assert message in str(raised.value)


def test_an_undeclared_plugin_keeps_the_old_guesses():
    values, given = from_command_line(["x=true", "n=3", "s=a", "s=b"], None, "old-plugin")
    assert values == {"x": True, "n": 3, "s": ["a", "b"]}
    assert given == []


def test_toml_lists_and_strings():
    assert from_config(SPECS, {"dirs": "/one", "exts": "jpg png"}, "p") == {
        "dirs": ["/one"],
        "exts": ["jpg", "png"],
    }
    for bad in ({"dirs": 5}, {"dirs": []}, {"dirs": [1]}, {"exts": [3]}, {"name": "  "}):
        with pytest.raises(OptionError):
            from_config(SPECS, bad, "p")


def test_resolve_gives_every_declared_option_or_its_default():
    values = resolve(SPECS, Account("a", "p", {"count": 5}))
    assert values == {
        "flag": True,
        "count": 5,
        "wait": None,
        "name": None,
        "dirs": None,
        "exts": None,
    }
    with pytest.raises(AccountError, match="account 'a': option count must be a whole number"):
        resolve(SPECS, Account("a", "p", {"count": "5"}))


def test_did_you_mean():
    assert did_you_mean("trash_dir", ["trash_dirs", "xdg_data_home"]) == "trash_dirs"
    assert did_you_mean("Include_Volumes", ["include_volumes"]) == "include_volumes"
    assert did_you_mean("colour", ["trash_dirs", "xdg_data_home"]) is None


def test_the_line_named_is_the_key_of_the_right_account(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        "[[accounts]]\n"
        'name = "a"\n'
        'provider = "local-trash"\n'
        "include_volumes = false\n"
        "\n"
        "[index]\n"
        'url = "sqlite:///x.db"\n'
        "\n"
        "[[accounts]]\n"
        'name = "b"\n'
        'provider = "local-trash"\n'
        "trash_dirs = [\n"
        '  "/x",\n'
        "]\n"
        '"include_volumes" = "off"\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}:15: accounts[2] ('b'): option include_volumes must be true or false "
        "(a TOML boolean, unquoted), not 'off'"
    )
