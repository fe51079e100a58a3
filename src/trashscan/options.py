"""Provider options: each plugin declares them once, the core parses and checks them.

An option given wrong used to be written to the config and silently ignored: ``--option
trash_dir=/x`` (the key is ``trash_dirs``) listed the home trash a second time under new refs;
``include_volumes = "no"`` counted as true; ``trash_dirs = 5`` ended in a ``TypeError`` halfway
through a scan. Now a plugin declares each option once, as an :class:`OptionSpec` (name, type,
help, default, and the checks only the plugin knows), and that one declaration serves:

* ``accounts add``: ``--option KEY=VALUE`` text is parsed to the option's type, unknown keys are
  refused with a did-you-mean, and what can be checked before signing in is (a trash folder that
  does not exist);
* loading the config: TOML values must already have their type (``"no"`` is a string, not false),
  unknown keys are refused the same way, with the file and line;
* the plugin's own reading (:func:`resolve`: every declared option, its value or its default);
* ``trashscan providers``, which prints each option with its help.

The two sources follow different rules on purpose: a shell has only text, so the command line
accepts ``true/false/yes/no/1/0`` and numbers as text, while a TOML file has types, and a quoted
``"false"`` there is a mistake worth reporting rather than guessing about.

Lists (``trash_dirs``, ``extensions``) may be given once or repeated on the command line and as a
string or an array in TOML; they are always handed on as lists of strings.

This module imports nothing heavy: the config is validated on every command.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trashscan.errors import AccountError, UsageError
from trashscan.models import Account

Check = Callable[[Any], "str | None"]
"""A check of a parsed value: None when fine, else what is wrong ("must be at least 1")."""

_WORD_SPLIT = re.compile(r"[\s,]+")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
# Keys the core handles for every account (see trashscan.config); never a plugin's option.
ACCOUNT_KEYS = ("endpoint", "ca_bundle", "retention_days", "timeout")
# Refused whatever their value: a credential must never land in the config file.
SECRET_OPTION_KEYS = frozenset(
    {"password", "token", "refresh_token", "client_secret", "access_token", "secret"}
)


class OptionError(ValueError):
    """One option is wrong; ``message`` names it (the caller adds where: a file line, a flag)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# ------------------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class OptionType:
    """How one kind of value is read from TOML and from command-line text.

    ``toml``/``text`` return the value in its one internal form, or raise ValueError.
    ``repeatable`` types are lists: each ``--option KEY=...`` adds one element.
    """

    name: str  # what a TOML value must be: "true or false (unquoted)"
    text_name: str  # what command-line text must be: "true or false (or yes/no, 1/0)"
    metavar: str  # shown by `trashscan providers`
    toml: Callable[[Any], Any]
    text: Callable[[str], Any]
    repeatable: bool = False


def _bool_toml(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError


def _bool_text(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise ValueError


def _int_toml(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError


def _int_text(text: str) -> int:
    if _INT_TEXT.fullmatch(text.strip()):
        return int(text)
    raise ValueError


def _number_toml(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError


def _number_text(text: str) -> float:
    return _number_toml(float(text))  # float() raises ValueError itself; "nan"/"inf" refused


def _text_toml(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ValueError


def _path_text(text: str) -> str:
    """A path typed in a shell: ``~`` expanded and made absolute now, against the cwd it was
    typed in (cron's cwd is not the user's)."""
    return os.path.abspath(os.path.expanduser(_text_toml(text)))


def _paths_toml(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError
    return [_text_toml(item) for item in items]


def _words(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError
    words = [word for item in items for word in _WORD_SPLIT.split(item) if word]
    if not words:
        raise ValueError
    return words


BOOL = OptionType(
    "true or false (a TOML boolean, unquoted)",
    "true or false (or yes/no, 1/0)",
    "true|false",
    _bool_toml,
    _bool_text,
)
INT = OptionType("a whole number", "a whole number", "N", _int_toml, _int_text)
NUMBER = OptionType("a number", "a number", "N", _number_toml, _number_text)
TEXT = OptionType("a non-empty string", "a non-empty text", "TEXT", _text_toml, _text_toml)
PATH = OptionType("a path (a non-empty string)", "a path", "PATH", _text_toml, _path_text)
PATHS = OptionType(
    "a path or a list of paths",
    "a path",
    "PATH",
    _paths_toml,
    lambda text: [_path_text(text)],
    repeatable=True,
)
WORDS = OptionType(
    "a list of words, or one string of them separated by spaces or commas",
    "words separated by spaces or commas",
    "WORD,...",
    _words,
    _words,
    repeatable=True,
)


# ------------------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option a provider takes.

    ``check`` is a rule about the value itself, applied wherever the value comes from (a range,
    a choice). ``check_on_add`` is about the machine as it is now (a folder exists) and runs only
    in ``accounts add``: a USB drive unplugged later must not make the whole config unreadable.
    """

    name: str
    type: OptionType
    help: str
    default: Any = None
    check: Check | None = None
    check_on_add: Check | None = None

    def describe(self) -> str:
        """``--option NAME=METAVAR  help (default: X)`` for `trashscan providers`."""
        notes = ["repeatable"] if self.type.repeatable else []
        if isinstance(self.default, bool):
            notes.append(f"default: {str(self.default).lower()}")
        elif isinstance(self.default, float):
            notes.append(f"default: {self.default:g}")
        elif self.default is not None:
            notes.append(f"default: {self.default}")
        more = f" ({'; '.join(notes)})" if notes else ""
        return f"--option {self.name}={self.type.metavar}  {self.help}{more}"


Specs = Sequence[OptionSpec]

# What every account takes, whatever its provider (trashscan.config checks their values).
ACCOUNT_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("endpoint", TEXT, "the provider's API root (the sandbox, a national cloud)"),
    OptionSpec(
        "ca_bundle",
        PATH,
        "a PEM file of the certificate authorities to trust for this account",
        check_on_add=lambda path: None if os.path.isfile(path) else f"no such file: {path}",
    ),
    OptionSpec("retention_days", INT, "days the provider keeps deleted items, if you know better"),
    OptionSpec(
        "timeout",
        NUMBER,
        "seconds a connection of this account may stay silent (default: the provider's)",
        check=lambda seconds: None if seconds > 0 else "must be more than 0",
    ),
)


def existing_dirs(paths: Iterable[str]) -> str | None:
    """A ``check_on_add`` for lists of folders: each must exist now."""
    for path in paths:
        if not os.path.isdir(os.path.expanduser(path)):
            return f"no such directory: {path}"
    return None


def extensions(words: Iterable[str]) -> str | None:
    """A ``check`` for lists of file extensions (``.jpg`` or ``jpg``): at least one."""
    return None if any(word.lstrip(".") for word in words) else "must name a file extension"


def at_least(low: float) -> Check:
    return lambda value: None if value >= low else f"must be at least {low:g}"


def between(low: float, high: float) -> Check:
    return lambda value: None if low <= value <= high else f"must be from {low:g} to {high:g}"


def one_of(*choices: str) -> Check:
    return lambda value: None if value in choices else "must be " + " or ".join(choices)


# ------------------------------------------------------------------------------------ checking


def did_you_mean(key: str, names: Iterable[str]) -> str | None:
    """The known name closest to a mistyped ``key``, if one is close enough."""
    found = difflib.get_close_matches(key.lower(), list(names), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_option(key: str, provider: str, specs: Specs) -> str:
    """``unknown option 'trash_dir' for local-trash (did you mean 'trash_dirs'?)``."""
    names = [spec.name for spec in specs] + list(ACCOUNT_KEYS)
    close = did_you_mean(key, names)
    if close is not None:
        return f"unknown option {key!r} for {provider} (did you mean {close!r}?)"
    return f"unknown option {key!r} for {provider} (its options: {', '.join(names)})"


def _checked(spec: OptionSpec, value: Any) -> Any:
    problem = spec.check(value) if spec.check is not None else None
    if problem:
        raise OptionError(spec.name, f"option {spec.name} {problem}, not {value!r}")
    return value


def from_config(specs: Specs, options: Mapping[str, Any], provider: str) -> dict[str, Any]:
    """TOML values of one account's options, each of its declared type and checked.

    Raises :class:`OptionError` for the first unknown key or wrong value.
    """
    by_name = {spec.name: spec for spec in specs}
    parsed: dict[str, Any] = {}
    for key, value in options.items():
        spec = by_name.get(key)
        if spec is None:
            raise OptionError(key, unknown_option(key, provider, specs))
        try:
            typed = spec.type.toml(value)
        except (ValueError, TypeError):
            message = f"option {key} must be {spec.type.name}, not {value!r}"
            raise OptionError(key, message) from None
        parsed[key] = _checked(spec, typed)
    return parsed


def from_command_line(
    pairs: Sequence[str], specs: Specs | None, provider: str
) -> tuple[dict[str, Any], list[OptionSpec]]:
    """``KEY=VALUE`` texts as typed values; also the specs given (for :func:`check_on_add`).

    ``specs`` None: a third-party plugin that declares nothing; its values are guessed as before
    (true/false, whole numbers, else text) and not checked. Raises :class:`UsageError`.
    """
    declared = {spec.name: spec for spec in [*(specs or ()), *ACCOUNT_OPTIONS]}
    options: dict[str, Any] = {}
    given: dict[str, OptionSpec] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"bad --option {pair!r}", hint="use --option KEY=VALUE")
        if key.lower() in SECRET_OPTION_KEYS:  # before anything else; the value is never echoed
            raise UsageError(
                f"--option {key} is not accepted: secrets are asked for and kept in the keyring"
            )
        spec = declared.get(key)
        if spec is None and specs is not None:
            raise UsageError(unknown_option(key, provider, specs))
        if spec is None:
            value = _guess(raw)
            if key in options:  # as before: a repeated key makes a list
                previous = options[key]
                value = [*previous, value] if isinstance(previous, list) else [previous, value]
            options[key] = value
            continue
        try:
            value = spec.type.text(raw)
        except ValueError:
            raise UsageError(f"option {key} must be {spec.type.text_name}, not {raw!r}") from None
        if key in options:
            if not spec.type.repeatable:
                raise UsageError(f"option {key} is given twice", hint="give it once")
            value = [*options[key], *value]
        options[key] = value
        given[key] = spec
    for key, spec in given.items():  # a list is checked whole, as it will be in the config
        try:
            _checked(spec, options[key])
        except OptionError as exc:
            raise UsageError(exc.message) from None
    return options, list(given.values())


def _guess(raw: str) -> Any:
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    if raw.isdigit():
        return int(raw)
    return raw


def check_on_add(options: Mapping[str, Any], given: Iterable[OptionSpec]) -> None:
    """What ``accounts add`` can check before signing in, for the options given this time."""
    for spec in given:
        if spec.check_on_add is None or spec.name not in options:
            continue
        problem = spec.check_on_add(options[spec.name])
        if problem:
            raise UsageError(f"option {spec.name}: {problem}")


def resolve(specs: Specs, account: Account) -> dict[str, Any]:
    """Every declared option of an account: its value (checked), or its default.

    What a plugin reads. Values from the config are checked already; this also holds for an
    account built by other code (a test, a library user), where a bad value is the account's
    error rather than a crash.
    """
    try:
        values = from_config(specs, account.options, account.provider)
    except OptionError as exc:
        raise AccountError(f"account {account.name!r}: {exc.message}") from None
    return {spec.name: values.get(spec.name, spec.default) for spec in specs}
