"""``trashscan accounts add|list|test|remove``: sign-in, config entries and stored credentials."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from trashscan.cli.app import App, confirm, err, pass_app, require_terminal, say
from trashscan.errors import EXIT_PARTIAL, TrashscanError, UsageError
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from trashscan.models import Account


@click.group()
def accounts() -> None:
    """Add, list, test and remove accounts."""


@accounts.command("add")
@click.argument("provider")
@click.argument("name")
@click.option("--option", "-o", "option_pairs", multiple=True, metavar="KEY=VALUE")
@pass_app
def accounts_add(app: App, provider: str, name: str, option_pairs: tuple[str, ...]) -> None:
    """Sign in (secrets go to the keyring) and add the account to the config.

    Re-running it for an existing account signs in again, keeping the account's options.
    """
    from trashscan import options as options_module
    from trashscan.config import add_account, check_writable, parse_timeout
    from trashscan.models import Account
    from trashscan.plugins import load_provider_class

    cls = load_provider_class(provider)
    config = app.config_if_any
    check_writable(app.config_path)
    existing = next((a for a in config.accounts if a.name == name), None)
    if existing is not None and existing.provider != provider:
        raise UsageError(
            f"account {name!r} already exists in {config.path} for {existing.provider}",
            hint="pick another name, or `trashscan accounts remove` it first",
        )
    # Unknown keys, wrong types and missing folders are refused here, before any sign-in.
    given, specs = options_module.from_command_line(option_pairs, cls.options, provider)
    options_module.check_on_add(given, specs)
    # Re-adding an existing account signs in again (an expired grant) and keeps its options.
    options = {**(existing.options if existing else {}), **given}
    endpoint = options.pop("endpoint", existing.endpoint if existing else None)
    ca_bundle = options.pop("ca_bundle", existing.ca_bundle if existing else None)
    retention = options.pop("retention_days", existing.retention_days if existing else None)
    timeout = options.pop("timeout", existing.timeout if existing else None)
    if timeout is not None and parse_timeout(timeout) is None:
        raise UsageError(f"--option timeout={timeout} is not a positive number of seconds")
    timeout = parse_timeout(timeout) if timeout is not None else None
    account = Account(name, provider, options, endpoint, ca_bundle, retention, timeout)
    plugin = cls(app.context)
    try:
        saved = plugin.login(account, interactive=sys.stdin.isatty())
        table: dict[str, Any] = {"name": name, "provider": provider, **options, **saved}
        for key, value in (
            ("endpoint", endpoint),
            ("ca_bundle", ca_bundle),
            ("retention_days", retention),
            ("timeout", timeout),
        ):
            if value is not None:
                table[key] = value
        add_account(app.config_path, table, replace=existing is not None)
    except BaseException:
        # A new account that did not make it into the config leaves nothing behind: no secret,
        # no session file (a wrong password used to leave pyicloud's). A known account keeps
        # what it had: its entry still points at those credentials.
        if existing is None:
            _forget_quietly(plugin, account)
        raise
    verb = "signed in again to" if existing else "added"
    say(f"{verb} {provider} account {name!r} in {app.config_path}")


def _forget_quietly(plugin: Any, account: Account) -> None:
    """Undo a failed ``accounts add``; the failure that caused it is the error to report."""
    try:
        plugin.forget(account)
    except Exception as exc:
        reason = exc.one_line() if isinstance(exc, TrashscanError) else type(exc).__name__
        err(
            f"trashscan: warning: could not delete what the sign-in stored for {account.name!r}: "
            f"{reason}"
        )


@accounts.command("list")
@pass_app
def accounts_list(app: App) -> None:
    """Configured accounts, their items in the index and their last scan."""
    from trashscan.output import fold, terminal_width

    counts = app.index.counts_by_account()
    rows = []
    for account in app.config.accounts:
        last = app.index.last_scan(account.provider, account.name)
        scanned = "never scanned"
        if last is not None:
            scanned = f"last scan {last.started:%Y-%m-%d %H:%M} UTC: {last.status}"
            if last.error:
                scanned += f" ({last.error})"
        items = counts.get((account.provider, account.name), 0)
        rows.append((printable(account.name), account.provider, f"{items:,}", printable(scanned)))
    if not rows:
        return
    name, provider, items = (max(len(row[n]) for row in rows) for n in range(3))
    width = terminal_width()
    for row in rows:
        line = f"{row[0]:<{name}}  {row[1]:<{provider}}  {row[2]:>{items}} trashed  {row[3]}"
        for part in fold(line, width, " " * 4):
            say(part)


@accounts.command("test")
@click.argument("name")
@pass_app
def accounts_test(app: App, name: str) -> None:
    """Check that an account's stored credentials still work, without prompting."""
    from trashscan.plugins import load_provider_class

    account = app.config.account(name)
    status = load_provider_class(account.provider)(app.context).check_auth(account)
    if status.ok:
        say(f"{name}: ok" + (f" ({status.detail})" if status.detail else ""))
        return
    err(f"trashscan: {name}: {status.detail}" + (f" ({status.hint})" if status.hint else ""))
    sys.exit(EXIT_PARTIAL)


@accounts.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def accounts_remove(app: App, name: str, yes: bool) -> None:
    """Forget an account locally: config entry, index rows, stored credentials.

    Nothing in the cloud is touched. It asks first (--yes skips that): the next scan has to
    list the account's trash again, and what no scan can list again (OneDrive personal items
    deleted before its enrolment) is gone from trashscan for good.
    """
    from trashscan.config import remove_account
    from trashscan.plugins import load_provider_class

    account = app.config.account(name)
    if not yes:
        require_terminal(f"removing account {name!r}")
        trashed = app.index.counts_by_account().get((account.provider, account.name), 0)
        say(
            f"This forgets {account.provider} account {name!r}: its entry in {app.config_path}, "
            f"its {trashed} trashed item(s) in the index, its stored credentials and pictures. "
            "Nothing in the cloud is touched."
        )
        confirm(f"Remove account {name!r}?", declined=f"account {name!r} was kept")
    forgotten = "its stored credentials were deleted"
    try:
        load_provider_class(account.provider)(app.context).forget(account)
    except TrashscanError as exc:  # a broken plugin or locked keyring must not block removal
        forgotten = f"its stored credentials could not be deleted ({exc.one_line()})"
    remove_account(app.config_path, name)
    app.index.forget_account(account.provider, account.name)
    from trashscan.thumbnails import ThumbnailCache

    config = app.config_if_any
    ThumbnailCache.open(config.thumbnails.max_mb, config.data_dir).forget_account(
        account.provider, account.name
    )
    say(
        f"removed account {name!r} from {app.config_path} and the index; {forgotten}; "
        "nothing in the cloud was touched"
    )
