"""Where trashscan keeps its files, and the user's ``config.toml``.

The config holds only non-secret settings (secrets live in the keyring, see
:mod:`trashscan.secrets`). Reading uses stdlib :mod:`tomllib` and validates everything up front so
that a typo becomes one line naming the file (and line, or account and key) instead of a failure
halfway through a cron scan. Writing goes through :mod:`tomlkit` so that the comments and layout of
a hand-edited file survive ``trashscan accounts add``/``remove``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from trashscan.deadline import DEFAULT_DEADLINE, Deadline
from trashscan.errors import ConfigError, UsageError
from trashscan.files import atomic_write
from trashscan.models import Account
from trashscan.options import OptionError, from_config
from trashscan.plugins import declared_options
from trashscan.secrets import SecretsConfig

ENV_CONFIG = "TRASHSCAN_CONFIG"
ENV_HOME = "TRASHSCAN_HOME"
APP_NAME = "trashscan"
DATA_TREES = ("locks", "accounts", "secrets")  # trashscan's own directories in the data dir

CONFIG_HINT = "create it with `trashscan accounts add` or copy config.example.toml"

MAX_RETENTION_DAYS = 36500  # beyond it, a purge date would fall past the year 9999
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_TOP_LEVEL = ("accounts", "data", "index", "secrets", "scan", "alerts", "thumbnails")
_ACCOUNT_KEYS = frozenset(
    {"name", "provider", "endpoint", "ca_bundle", "retention_days", "timeout"}
)
# Keys that would put a credential in a plain file; refused whatever their value.
SECRET_KEYS = frozenset(
    {"password", "token", "refresh_token", "client_secret", "access_token", "secret"}
)
_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_EOF_RE = re.compile(r"\s*\(at end of document\)\s*$")
_ACCOUNTS_HEADER_RE = re.compile(r"\s*\[\[\s*accounts\s*\]\]")
_TABLE_HEADER_RE = re.compile(r"\s*\[")


# --------------------------------------------------------------------------------------- paths


def _env_path(name: str) -> Path | None:
    """The path an environment variable names, ``~`` expanded and made absolute against the cwd.

    Absolute once, here: a relative path would otherwise be re-read against whatever directory
    a later step runs in, and ``file:x`` or ``a?b`` would be taken apart by the index URL.
    """
    value = os.environ.get(name)
    if not value:
        return None
    try:
        expanded = Path(value).expanduser()
    except RuntimeError:  # ~user of no such user, or no home at all
        raise ConfigError(f"{name} {value}: cannot expand '~' (no such user)") from None
    return Path(os.path.abspath(expanded))


def config_path(explicit: str | Path | None = None) -> Path:
    """``--config`` beats ``$TRASHSCAN_CONFIG`` beats the platform's config dir.

    The env var exists so cron jobs and the sandbox can point at a config without a flag.
    """
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = _env_path(ENV_CONFIG)
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def data_dir(configured: Path | None = None) -> Path:
    """The config's ``[data] dir``, else ``$TRASHSCAN_HOME``, else the platform data dir
    (index.db, locks, secret blobs, session dirs, reminders, the thumbnail cache).

    A config that names its folder keeps it whatever the environment says: the sandbox's config
    does, so that trying it never touches the state of the person's real accounts (or of
    another sandbox), even with ``TRASHSCAN_HOME`` exported in their shell.
    Not created here: read-only commands such as ``--help`` must not leave directories behind.
    """
    if configured is not None:
        return configured
    env = _env_path(ENV_HOME)
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def tighten_data_dir(path: Path) -> None:
    """Take group and other access off the data dir and trashscan's trees in it.

    An older trashscan, or one run under umask 022, left them readable by every local user.
    Known subtrees only (locks, account session dirs, secret blobs): ``$TRASHSCAN_HOME`` may name
    a directory that holds other things too. The index's own files are tightened when opened.
    """
    from trashscan.files import tighten, tighten_tree

    tighten(path)
    for tree in DATA_TREES:
        tighten_tree(Path(path) / tree)


def default_index_url(data_dir: Path) -> str:
    """A URL for any path: characters such as ``?``, ``#`` or ``%`` in it are escaped (as
    SQLAlchemy writes it, without importing SQLAlchemy: a cached listing never does)."""
    from trashscan.index_read import sqlite_url

    return sqlite_url(Path(data_dir) / "index.db")


# --------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ThumbnailsConfig:
    """``[thumbnails]``: the local picture cache (see :mod:`trashscan.thumbnails`)."""

    enabled: bool = True  # fetch pictures after `scan` and `list`
    max_mb: int = 200  # the cache's size cap; least recently used pictures go first past it
    per_run: int = 200  # pictures fetched per account and run (and as many live captures)


@dataclass(frozen=True)
class Config:
    path: Path
    exists: bool
    accounts: tuple[Account, ...] = ()
    data_dir: Path | None = None  # [data] dir, absolute; None: TRASHSCAN_HOME or the platform's
    index_url: str | None = None
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    concurrency: int = 4
    alerts: Mapping[str, Any] = field(default_factory=dict)
    deadline: Deadline = field(default_factory=lambda: Deadline.parse(DEFAULT_DEADLINE))
    thumbnails: ThumbnailsConfig = field(default_factory=ThumbnailsConfig)

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        if self.accounts:
            hint = "known: " + ", ".join(a.name for a in self.accounts)
        else:
            hint = "add one with `trashscan accounts add PROVIDER NAME`"
        raise UsageError(f"unknown account {name!r}", hint=hint)


# ------------------------------------------------------------------------------------- reading


def load_config(path: Path, *, required: bool = False) -> Config:
    """Read and validate the config; a missing file is an empty config unless ``required``.

    ``required`` is for commands that cannot do anything without accounts (scan, restore), so the
    user gets a pointer to ``accounts add`` rather than "no accounts".
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: config file not found", hint=CONFIG_HINT) from None
        return Config(path=path, exists=False)
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return _parse(path, text)


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """One line ``file:LINE: invalid TOML: reason``; 3.11's error has no ``lineno`` attribute."""
    message = str(exc).splitlines()[0] if str(exc) else "syntax error"
    lineno = getattr(exc, "lineno", None)
    match = _TOML_POS_RE.search(message)
    if match:
        lineno = lineno or int(match.group(1))
        message = message[: match.start()]
    elif _TOML_EOF_RE.search(message):
        lineno = lineno or len(text.splitlines()) or 1
        message = _TOML_EOF_RE.sub(" at end of file", message)
    message = message[:1].lower() + message[1:]
    where = f"{path}:{lineno}" if lineno else f"{path}"
    return ConfigError(f"{where}: invalid TOML: {message}")


def _parse(path: Path, text: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{path}: {message}")

    for key, value in data.items():
        if key not in _TOP_LEVEL:
            kind = "table" if isinstance(value, dict | list) else "key"
            raise fail(
                f"unknown top-level {kind} {key!r} (expected one of: {', '.join(_TOP_LEVEL)})"
            )
        if key != "accounts" and not isinstance(value, dict):
            raise fail(f"{key!r} must be a table ([{key}])")

    accounts = _parse_accounts(path, text, data.get("accounts", []), fail)

    data_table = data.get("data", {})
    _only_keys(data_table, "data", {"dir"}, fail)
    raw_dir = data_table.get("dir")
    if raw_dir is not None and (not isinstance(raw_dir, str) or not raw_dir):
        raise fail("[data] dir must be a non-empty string (a folder)")

    index = data.get("index", {})
    _only_keys(index, "index", {"url"}, fail)
    index_url = index.get("url")
    if index_url is not None and (not isinstance(index_url, str) or not index_url):
        raise fail("[index] url must be a non-empty string")
    if index_url is not None and _url_holds_password(index_url):
        raise fail(
            "[index] url holds a password; secrets never go in the config: use the local "
            "socket's peer authentication, or ~/.pgpass (PGPASSFILE), and drop it from the URL"
        )

    secrets = _parse_secrets(path, data.get("secrets", {}), fail)

    scan = data.get("scan", {})
    _only_keys(scan, "scan", {"concurrency", "deadline"}, fail)
    concurrency = scan.get("concurrency", 4)
    if not _is_int(concurrency) or not 1 <= concurrency <= 32:
        raise fail("[scan] concurrency must be an integer from 1 to 32")
    raw_deadline = scan.get("deadline", DEFAULT_DEADLINE)
    if not isinstance(raw_deadline, str):
        raise fail('[scan] deadline must be a duration in quotes, e.g. "30m" or "2h"')
    try:
        deadline = Deadline.parse(raw_deadline, "[scan] deadline")
    except UsageError as exc:
        raise fail(exc.one_line()) from None

    return Config(
        path=path,
        exists=True,
        accounts=accounts,
        data_dir=_absolute(_resolve_path(path, raw_dir)) if raw_dir else None,
        index_url=index_url,
        secrets=secrets,
        concurrency=concurrency,
        alerts=data.get("alerts", {}),
        deadline=deadline,
        thumbnails=_parse_thumbnails(data.get("thumbnails", {}), fail),
    )


def _parse_thumbnails(table: Mapping[str, Any], fail: Any) -> ThumbnailsConfig:
    _only_keys(table, "thumbnails", {"enabled", "max_mb", "per_run"}, fail)
    defaults = ThumbnailsConfig()
    enabled = table.get("enabled", defaults.enabled)
    if not isinstance(enabled, bool):
        raise fail("[thumbnails] enabled must be true or false")
    max_mb = table.get("max_mb", defaults.max_mb)
    if not _is_int(max_mb) or not 1 <= max_mb <= 1_000_000:
        raise fail("[thumbnails] max_mb must be a whole number of megabytes from 1 to 1000000")
    per_run = table.get("per_run", defaults.per_run)
    if not _is_int(per_run) or not 0 <= per_run <= 100_000:
        raise fail("[thumbnails] per_run must be a whole number from 0 to 100000")
    return ThumbnailsConfig(enabled=enabled, max_mb=max_mb, per_run=per_run)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _only_keys(table: Mapping[str, Any], name: str, allowed: set[str], fail: Any) -> None:
    for key in table:
        if key not in allowed:
            raise fail(f"[{name}]: unknown key {key!r} (expected: {', '.join(sorted(allowed))})")


def _resolve_path(path: Path, value: str) -> Path:
    """``~`` expanded; relative to the config file, not the cwd (cron's cwd is $HOME)."""
    candidate = Path(value).expanduser()
    if not candidate.is_absolute():
        candidate = path.parent / candidate
    return candidate


def _absolute(path: Path) -> Path:
    """Absolute once, here: a data dir named relative to a relative ``--config`` would otherwise
    move with the directory a later step (a cron job) runs in."""
    return Path(os.path.abspath(path))


def _parse_secrets(path: Path, table: Mapping[str, Any], fail: Any) -> SecretsConfig:
    _only_keys(
        table,
        "secrets",
        {"backend", "path", "insecure_for_testing", "allow_insecure_keyring"},
        fail,
    )
    backend = table.get("backend", "keyring")
    if backend not in ("keyring", "file"):
        raise fail('[secrets] backend must be "keyring" or "file"')
    raw_path = table.get("path")
    if raw_path is not None and (not isinstance(raw_path, str) or not raw_path):
        raise fail("[secrets] path must be a non-empty string")
    for flag in ("insecure_for_testing", "allow_insecure_keyring"):
        if not isinstance(table.get(flag, False), bool):
            raise fail(f"[secrets] {flag} must be true or false")
    return SecretsConfig(
        backend=backend,
        path=_resolve_path(path, raw_path) if raw_path else None,
        insecure_for_testing=table.get("insecure_for_testing", False),
        allow_insecure_keyring=table.get("allow_insecure_keyring", False),
    )


def _parse_accounts(path: Path, text: str, raw: Any, fail: Any) -> tuple[Account, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise fail("accounts must be an array of tables ([[accounts]])")
    accounts: list[Account] = []
    seen: set[str] = set()
    for number, table in enumerate(raw, start=1):
        name = table.get("name")
        label = f"accounts[{number}]"
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise fail(
                f"{label}: name is required and may only contain letters, digits, '.', '_', '-'"
            )
        label = f"{label} ({name!r})"

        def bad(message: str, label: str = label) -> ConfigError:
            return fail(f"{label}: {message}")

        # Checked before anything else, and the value is never echoed.
        for key in table:
            if key.lower() in SECRET_KEYS:
                raise bad(f"{key!r}: secrets belong in the keyring, not the config file")
        if name in seen:
            raise bad("duplicate account name")
        seen.add(name)
        provider = table.get("provider")
        if not isinstance(provider, str) or not provider:
            raise bad('provider is required (a provider name such as "local-trash")')
        endpoint = table.get("endpoint")
        if endpoint is not None and not _valid_url(endpoint):
            raise bad("endpoint must be an http:// or https:// URL")
        ca_bundle = table.get("ca_bundle")
        if ca_bundle is not None:
            if not isinstance(ca_bundle, str) or not ca_bundle:
                raise bad("ca_bundle must be a file path")
            ca_bundle = str(_resolve_path(path, ca_bundle))
        retention = table.get("retention_days")
        if retention is not None and (not _is_int(retention) or retention < 0):
            raise bad("retention_days must be a non-negative integer")
        if retention is not None and retention > MAX_RETENTION_DAYS:
            raise bad(f"retention_days must be at most {MAX_RETENTION_DAYS} (100 years)")
        timeout = table.get("timeout")
        if timeout is not None:
            timeout = parse_timeout(timeout)
            if timeout is None:
                raise bad("timeout must be a positive number of seconds")
        options = {k: v for k, v in table.items() if k not in _ACCOUNT_KEYS}
        specs = declared_options(provider)
        if specs is not None:  # an unknown or broken provider: its scan says so
            try:
                options = from_config(specs, options, provider)
            except OptionError as exc:
                line = _key_line(text, number, exc.key)
                where = f"{path}:{line}" if line else f"{path}"
                raise ConfigError(f"{where}: {label}: {exc.message}") from None
        accounts.append(
            Account(
                name=name,
                provider=provider,
                options=options,
                endpoint=endpoint,
                ca_bundle=ca_bundle,
                retention_days=retention,
                timeout=timeout,
            )
        )
    return tuple(accounts)


def parse_timeout(value: object) -> float | None:
    """An account's ``timeout`` (seconds, from the file or ``--option timeout=N``), or None if
    it is not a positive, finite number."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value < float("inf") else None


def _key_line(text: str, number: int, key: str) -> int | None:
    """The line of ``key`` in the ``number``-th ``[[accounts]]`` table, if written as one.

    tomllib keeps no positions; an error that names the line is found much faster. None for
    an inline table (``accounts = [{...}]``), where the file's own layout is the user's.
    """
    key_re = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    seen = 0
    inside = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _ACCOUNTS_HEADER_RE.match(line):
            seen += 1
            inside = seen == number
        elif _TABLE_HEADER_RE.match(line):
            inside = False
        elif inside and key_re.match(line):
            return lineno
    return None


def _url_holds_password(url: str) -> bool:
    """A password in the URL's user part or in its query (libpq's ``password=``)."""
    try:
        parts = urlsplit(url)
        has_user_password = parts.password is not None
    except ValueError:
        return False
    query_keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return has_user_password or "password" in query_keys


def _valid_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# ------------------------------------------------------------------------------------- writing


def _read_document(path: Path) -> Any:
    import tomlkit

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read config: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        return tomlkit.parse(text)
    except Exception:
        # Re-parse with tomllib so a syntax error reads the same as when loading.
        _parse(path, text)
        raise ConfigError(f"{path}: invalid TOML") from None


def _write_document(path: Path, document: Any) -> None:
    """Validate the result, then replace the file atomically with mode 0600.

    Validating first means a bad ``accounts add`` can never leave a config that breaks every
    later command. The temp file lives next to the target so ``os.replace`` stays atomic.
    """
    import tomlkit

    text = tomlkit.dumps(document)
    _parse(path, text)
    target = path.resolve() if path.is_symlink() else path
    try:
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise _unwritable(path, exc) from None


def _unwritable(path: Path, exc: OSError) -> ConfigError:
    where = f" ({exc.filename})" if exc.filename else ""
    return ConfigError(f"{path}: cannot write config: {exc.strerror or exc}{where}")


def check_writable(path: Path) -> None:
    """Fail now, in one line, if the config could not be written later.

    ``accounts add`` signs in before it writes the config; finding out afterwards would waste a
    sign-in (and a two-factor prompt). The nearest existing folder must let us create the file.
    """
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    if target.exists():
        folder = target.parent
    else:
        folder = next((p for p in target.parents if p.exists()), Path(target.anchor or "."))
    if target.exists() and not target.is_file():
        raise ConfigError(f"{path}: is not a config file")
    if not os.access(folder, os.W_OK | os.X_OK):
        error = PermissionError(13, os.strerror(13), str(folder))
        raise _unwritable(path, error)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """TOML has no null: ``None`` means "leave out"; paths become strings."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items() if v is not None}


def add_account(path: Path, account_table: dict[str, Any], *, replace: bool = False) -> None:
    """Append one ``[[accounts]]`` table, keeping the rest of the file byte-for-byte.

    ``replace`` drops the account's old table in the same write, so a failure cannot leave the
    config with neither the old entry nor the new one.
    """
    import tomlkit
    from tomlkit.items import AoT

    path = Path(path)
    values = _clean(account_table)
    name = values.get("name")
    document = _read_document(path)
    existing = document.get("accounts")
    if existing is not None and not isinstance(existing, AoT | list):
        raise ConfigError(f"{path}: accounts must be an array of tables ([[accounts]])")
    if replace and existing:
        names = [t.get("name") for t in existing]
        if name in names:
            del existing[names.index(name)]
    if existing and any(t.get("name") == name for t in existing):
        raise UsageError(
            f"account {name!r} already exists in {path}",
            hint=f"pick another name, or remove it first with `trashscan accounts remove {name}`",
        )
    table = tomlkit.table()
    for key, value in values.items():
        table[key] = value
    if isinstance(existing, AoT) and len(existing):
        if list(document.keys())[-1] != "accounts":
            table.add(tomlkit.nl())  # keep a blank line before the table that follows
        existing.append(table)
    elif existing:  # an inline array of inline tables: keep the user's style
        existing.append(values)
    else:
        if "accounts" in document:
            del document["accounts"]
        aot = tomlkit.aot()
        aot.append(table)
        document.append("accounts", aot)
    _write_document(path, document)


def remove_account(path: Path, name: str) -> None:
    """Drop the named ``[[accounts]]`` table (and the comments inside it), nothing else."""
    from tomlkit.items import AoT

    path = Path(path)
    document = _read_document(path)
    existing = document.get("accounts")
    names = [t.get("name") for t in existing] if isinstance(existing, AoT | list) else []
    if name not in names:
        known = ", ".join(str(n) for n in names)
        raise UsageError(f"unknown account {name!r}", hint=f"known: {known}" if known else None)
    del existing[names.index(name)]
    if len(existing) == 0:
        del document["accounts"]
    _write_document(path, document)


def set_table(path: Path, table: str, values: dict[str, Any]) -> None:
    """Merge ``values`` into top-level ``[table]`` (a ``None`` value deletes that key)."""
    import tomlkit

    path = Path(path)
    document = _read_document(path)
    current = document.get(table)
    if current is None:
        current = tomlkit.table()
        if document.body and not tomlkit.dumps(document).endswith("\n\n"):
            document.add(tomlkit.nl())
        document[table] = current
        current = document[table]
    elif not isinstance(current, Mapping):
        raise ConfigError(f"{path}: {table!r} must be a table ([{table}])")
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = str(value) if isinstance(value, Path) else value
    _write_document(path, document)
