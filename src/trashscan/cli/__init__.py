"""The ``trashscan`` command line.

Heavy modules (SQLAlchemy, rich, keyring, provider SDKs) are imported inside the commands that
need them, so ``trashscan --help`` stays fast. Every failure a user can cause ends as one line on
stderr and an exit code (0 ok, 1 partial failure, 2 usage or config error); ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from trashscan import __version__, interrupts
from trashscan.errors import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, TrashscanError, UsageError
from trashscan.safe_text import escape_stderr_logging, printable

if TYPE_CHECKING:
    from trashscan.config import Config
    from trashscan.deadline import Deadline
    from trashscan.index import Index, ItemFilter
    from trashscan.models import Account, IndexedItem
    from trashscan.provider import ProviderContext
    from trashscan.scanner import AccountScanResult

KIND_CHOICES = ("photo", "video", "other", "any")
SORT_CHOICES = ("purge", "deleted", "name", "size")


def utcnow() -> datetime:
    return datetime.now(UTC)


class App:
    """What every command shares, built lazily so each command pays only for what it uses."""

    def __init__(self, config_file: str | None, debug: bool) -> None:
        self.config_file = config_file
        self.debug = debug

    @cached_property
    def config_path(self) -> Path:
        from trashscan.config import config_path

        return config_path(self.config_file)

    @cached_property
    def config(self) -> Config:
        from trashscan.config import load_config

        return load_config(self.config_path, required=True)

    @cached_property
    def config_if_any(self) -> Config:
        from trashscan.config import load_config

        return load_config(self.config_path, required=False)

    @cached_property
    def data_dir(self) -> Path:
        """Resolved once; tightened the first time a command uses it (it holds the index)."""
        from trashscan.config import data_dir, tighten_data_dir

        path = data_dir()
        tighten_data_dir(path)
        return path

    @cached_property
    def index(self) -> Index:
        from trashscan.config import default_index_url
        from trashscan.index import Index

        return Index.open(self.config_if_any.index_url or default_index_url(self.data_dir))

    @cached_property
    def context(self) -> ProviderContext:
        from trashscan.provider import ProviderContext
        from trashscan.retry import RetryPolicy
        from trashscan.secrets import DeferredSecretStore, open_secret_store

        config = self.config_if_any
        return ProviderContext(
            secrets=DeferredSecretStore(lambda: open_secret_store(config.secrets, self.data_dir)),
            retry=RetryPolicy(),
            clock=utcnow,
            data_dir=self.data_dir,
        )

    def deadline(self, text: str | None) -> Deadline:
        """``--deadline`` if given, else the config's ``[scan] deadline`` (default 30m)."""
        if text is None:
            return self.config_if_any.deadline
        from trashscan.deadline import Deadline

        return Deadline.parse(text)

    def select_accounts(self, all_accounts: bool, names: Sequence[str]) -> list[Account]:
        """``--account`` names, or every account (the default when neither flag is given)."""
        config = self.config
        if names:
            return [config.account(name) for name in dict.fromkeys(names)]
        if not config.accounts:
            raise UsageError(
                f"no accounts configured in {config.path}",
                hint="add one with `trashscan accounts add PROVIDER NAME`",
            )
        return list(config.accounts)


pass_app = click.make_pass_decorator(App)


def err(message: str) -> None:
    """One line on stderr; whatever data it quotes (names, paths, errors) is shown escaped."""
    click.echo(printable(message), err=True)


def say(line: str) -> None:
    """One line on stdout that quotes data: escaped, so no name can forge or restyle output."""
    click.echo(printable(line))


def account_options(func: Any) -> Any:
    func = click.option(
        "--account",
        "accounts",
        multiple=True,
        metavar="NAME",
        help="Only this account (repeatable).",
    )(func)
    return click.option(
        "--all-accounts", is_flag=True, help="Every configured account (the default)."
    )(func)


def deadline_option(func: Any) -> Any:
    return click.option(
        "--deadline",
        metavar="DURATION",
        help="Give up on accounts not done within it, e.g. 10m (default: [scan] deadline, 30m).",
    )(func)


def filter_options(func: Any) -> Any:
    options = [
        click.option("--provider", help="Only this provider."),
        click.option(
            "--kind",
            type=click.Choice(KIND_CHOICES),
            default=None,
            help="photo, video, other or any (default: photo and video).",
        ),
        click.option("--expiring-within", metavar="DURATION", help="Purged within, e.g. 7d, 36h."),
        click.option("--deleted-since", metavar="DATE", help="Deleted on or after DATE."),
        click.option("--deleted-until", metavar="DATE", help="Deleted before DATE."),
        click.option("--name", "name_glob", metavar="GLOB", help="Name matches GLOB (*, ?)."),
    ]
    for option in reversed(options):
        func = option(func)
    return account_options(func)


def build_filter(
    accounts: Sequence[Account],
    provider: str | None,
    kind: str | None,
    expiring_within: str | None,
    deleted_since: str | None,
    deleted_until: str | None,
    name_glob: str | None,
    sort: str = "purge",
) -> ItemFilter:
    from trashscan.index import ItemFilter
    from trashscan.models import Kind
    from trashscan.timeparse import parse_date, parse_duration

    if kind is None:
        kinds = frozenset({Kind.PHOTO, Kind.VIDEO})
    elif kind == "any":
        kinds = frozenset(Kind)
    else:
        kinds = frozenset({Kind(kind)})
    return ItemFilter(
        accounts=tuple((a.provider, a.name) for a in accounts),
        provider=provider,
        kinds=kinds,
        expiring_within=parse_duration(expiring_within) if expiring_within is not None else None,
        deleted_since=parse_date(deleted_since) if deleted_since is not None else None,
        deleted_until=parse_date(deleted_until) if deleted_until is not None else None,
        name_glob=name_glob,
        sort=sort,
    )


def run_scan(app: App, accounts: Sequence[Account], deadline: Deadline) -> list[AccountScanResult]:
    """Scan with a progress display on stderr (only on a terminal), then report failures."""
    from trashscan.scanner import Scanner

    concurrency = app.config.concurrency
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[items]} items"),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            tasks = {
                a.name: progress.add_task(printable(f"{a.provider}/{a.name}"), items=0)
                for a in accounts
            }

            def report(account: Account, items: int, finished: bool) -> None:
                progress.update(tasks[account.name], items=items, completed=100 if finished else 0)

            scanner = Scanner(app.index, app.context, concurrency, report, deadline=deadline)
            results = scanner.scan(accounts)
    else:
        results = Scanner(app.index, app.context, concurrency, deadline=deadline).scan(accounts)
    for result in results:
        if result.notice:
            account = result.account
            err(f"trashscan: note: {account.name} ({account.provider}): {result.notice}")
        if not result.ok:
            err(
                f"trashscan: account {result.account.name!r} ({result.account.provider}) failed: "
                f"{result.error}"
            )
        elif result.partial:
            err(
                f"trashscan: warning: account {result.account.name!r} ({result.account.provider}) "
                f"partly listed: {result.partial}; its items there are kept as last listed"
            )
    return results


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    metavar="PATH",
    help="Config file (default: $TRASHSCAN_CONFIG, else the user config dir).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="trashscan")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, debug: bool) -> None:
    """Find trashed photos and videos across your cloud accounts before they are purged."""
    ctx.obj = App(config_file, debug)


@cli.command()
@pass_app
def providers(app: App) -> None:
    """Installed provider plugins and what each can do."""
    from trashscan.plugins import all_providers

    loaded, broken = all_providers()
    for name, cls in loaded.items():
        caps = cls.capabilities
        flags = ", ".join(
            f"{label}={'yes' if value else 'no'}"
            for label, value in (
                ("list", caps.list),
                ("restore", caps.restore),
                ("exact-times", caps.exact_deletion_times),
                ("incremental", caps.incremental),
            )
        )
        if caps.restore_experimental:
            flags += " (restore experimental)"
        say(f"{name:<16} {cls.display_name}")
        say(f"{'':<16} {flags}")
        if cls.retention.description:
            say(f"{'':<16} retention: {cls.retention.description}")
        for note in ((caps.unsupported_reason,) if caps.unsupported_reason else ()) + caps.notes:
            say(f"{'':<16} note: {note}")
        for spec in cls.options or ():
            say(f"{'':<16} {spec.describe()}")
    for plugin in broken:
        say(f"{plugin.name:<16} BROKEN ({plugin.target}): {plugin.error}")
    from trashscan.options import ACCOUNT_OPTIONS

    say("any account")
    for spec in ACCOUNT_OPTIONS:
        say(f"{'':<16} {spec.describe()}")
    if broken:
        err(f"trashscan: {len(broken)} provider plugin(s) failed to load; the others work")


@cli.group()
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
    counts = app.index.counts_by_account()
    for account in app.config.accounts:
        last = app.index.last_scan(account.provider, account.name)
        scanned = "never scanned"
        if last is not None:
            scanned = f"last scan {last.started:%Y-%m-%d %H:%M} UTC: {last.status}"
            if last.error:
                scanned += f" ({last.error})"
        items = counts.get((account.provider, account.name), 0)
        say(f"{account.name:<16} {account.provider:<14} {items:>6} trashed  {scanned}")


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
@pass_app
def accounts_remove(app: App, name: str) -> None:
    """Forget an account locally: config entry, index rows, stored credentials.

    Nothing in the cloud is touched.
    """
    from trashscan.config import remove_account
    from trashscan.plugins import load_provider_class

    account = app.config.account(name)
    forgotten = "its stored credentials were deleted"
    try:
        load_provider_class(account.provider)(app.context).forget(account)
    except TrashscanError as exc:  # a broken plugin or locked keyring must not block removal
        forgotten = f"its stored credentials could not be deleted ({exc.one_line()})"
    remove_account(app.config_path, name)
    app.index.forget_account(account.provider, account.name)
    say(
        f"removed account {name!r} from {app.config_path} and the index; {forgotten}; "
        "nothing in the cloud was touched"
    )


@cli.command()
@account_options
@deadline_option
@pass_app
def scan(app: App, all_accounts: bool, accounts: tuple[str, ...], deadline: str | None) -> None:
    """Refresh the index from the providers (incrementally where they allow)."""
    limit = app.deadline(deadline)
    results = run_scan(app, app.select_accounts(all_accounts, accounts), limit)
    for result in results:
        if result.ok and not result.listed:
            say(f"{result.account.name}: cannot be listed (see the note above)")
        elif result.ok:
            gone = f", {result.swept} left the trash" if result.swept else ""
            say(f"{result.account.name}: {result.items} items scanned{gone}")
    if not all(r.ok and not r.partial for r in results):
        sys.exit(EXIT_PARTIAL)


@cli.command("list")
@filter_options
@click.option("--sort", type=click.Choice(SORT_CHOICES), default="purge", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "csv")),
    default="table",
    show_default=True,
)
@click.option("--cached", is_flag=True, help="Print from the index without scanning.")
@deadline_option
@pass_app
def list_items(
    app: App,
    all_accounts: bool,
    accounts: tuple[str, ...],
    provider: str | None,
    kind: str | None,
    expiring_within: str | None,
    deleted_since: str | None,
    deleted_until: str | None,
    name_glob: str | None,
    sort: str,
    fmt: str,
    cached: bool,
    deadline: str | None,
) -> None:
    """Trashed photos and videos, soonest purge first."""
    from trashscan import output

    limit = app.deadline(deadline)
    selected = app.select_accounts(all_accounts, accounts)
    if provider:
        selected = [a for a in selected if a.provider == provider]
    item_filter = build_filter(
        selected,
        provider,
        kind,
        expiring_within,
        deleted_since,
        deleted_until,
        name_glob,
        sort,
    )
    failed = False
    if not cached:
        failed = not all(r.ok and not r.partial for r in run_scan(app, selected, limit))
    now = utcnow()
    items = app.index.items(item_filter, now)
    writer = {"json": output.write_json, "csv": output.write_csv, "table": output.write_table}[fmt]
    writer(items, now, sys.stdout)
    if fmt == "table":
        err(f"{len(items)} item(s); ~ marks an estimate, ≤ the latest date when unsure")
    if failed:
        sys.exit(EXIT_PARTIAL)


@cli.command()
@click.argument("refs", nargs=-1)
@filter_options
@click.option("--dry-run", "-n", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@deadline_option
@pass_app
def restore(
    app: App,
    refs: tuple[str, ...],
    all_accounts: bool,
    accounts: tuple[str, ...],
    provider: str | None,
    kind: str | None,
    expiring_within: str | None,
    deleted_since: str | None,
    deleted_until: str | None,
    name_glob: str | None,
    dry_run: bool,
    yes: bool,
    deadline: str | None,
) -> None:
    """Restore items by REF (from `trashscan list`) or by filter, through each provider's API."""
    from trashscan import output
    from trashscan.restorer import Restorer, left_out

    limit = app.deadline(deadline)
    filters_given = any(
        (
            all_accounts,
            accounts,
            provider,
            kind,
            expiring_within,
            deleted_since,
            deleted_until,
            name_glob,
        )
    )
    if not refs and not filters_given:
        raise UsageError(
            "say what to restore: one or more REFs, or filters such as --account/--name",
            hint="see `trashscan list` for refs",
        )
    now = utcnow()
    if refs:
        chosen = {item.ref: item for item in (app.index.resolve_ref(ref) for ref in refs)}
        items: list[IndexedItem] = list(chosen.values())
    else:
        selected = app.select_accounts(all_accounts, accounts)
        item_filter = build_filter(
            selected, provider, kind, expiring_within, deleted_since, deleted_until, name_glob
        )
        items = app.index.items(item_filter, now)
    if not items:
        err("nothing to restore")
        return
    left = [(item, reason) for item in items if (reason := left_out(item))]
    items = [item for item in items if not left_out(item)]
    if items:
        click.echo(f"{'Would restore' if dry_run else 'Will restore'} {len(items)} item(s):")
        output.write_table(items, now, sys.stdout)
        plan_notes(app, items)
    if left:
        click.echo(f"Left out {len(left)} item(s) this account cannot restore:")
        for item, reason in left:
            say(f"  {item.ref[:8]} {item.account}: {item.name} ({reason})")
    if not items:
        err("nothing to restore")
        return
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    if not yes:
        click.confirm(f"Restore {len(items)} item(s)?", abort=True, err=True)

    def show(entry: Any) -> None:
        result = entry.result
        where = f" -> {result.restored_path}" if result.restored_path else ""
        detail = f" ({result.detail})" if result.detail else ""
        say(
            f"{result.outcome.value:<18} {entry.item.ref[:8]} {entry.item.account}: "
            f"{entry.item.name}{where}{detail}"
        )

    config = app.config
    restorer = Restorer(app.index, config, app.context, config.concurrency, show, limit)
    done = restorer.restore(items)
    failed = [entry for entry in done if not entry.result.ok]
    click.echo(f"{len(done) - len(failed)} restored, {len(failed)} not restored")
    if failed:
        sys.exit(EXIT_PARTIAL)


def plan_notes(app: App, items: list[IndexedItem]) -> None:
    """Under the plan's table: what each provider's restore will do beyond the usual."""
    from trashscan.restore_plan import plan_notes as collect

    plan = collect(items, app.config, app.context, app.config.concurrency)
    for item in items:
        if item.ref in plan.notes:
            say(f"  {item.ref[:8]} {item.name}: {plan.notes[item.ref]}")
    for problem in plan.problems:
        err(f"trashscan: note: {problem}")


@cli.command()
def demo() -> None:
    """Show the whole flow against the local sandbox: list, restore, list again."""
    from trashscan.sandbox.demo import run_demo

    sys.exit(run_demo(run))


@cli.group()
def sandbox() -> None:
    """Local fake provider servers for trying trashscan without a cloud account."""


@sandbox.command("serve")
@click.option("--port", type=int, default=0, help="Port for the fake servers (default: any free).")
@click.option("--write-config", "write_config", metavar="PATH", help="Where to write the config.")
@click.option("--workdir", metavar="DIR", help="Where to keep seeded data (default: a temp dir).")
def sandbox_serve(port: int, write_config: str | None, workdir: str | None) -> None:
    """Run the sandbox until interrupted, with a config whose accounts point at it."""
    from trashscan.sandbox.session import serve_forever

    serve_forever(
        port=port, config_path=Path(write_config) if write_config else None, workdir=workdir
    )


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("TRASHSCAN_DEBUG") == "1"


def run(args: Sequence[str]) -> int:
    """Run the CLI once and return its exit code; every error becomes one line on stderr."""
    args = list(args)
    escape_stderr_logging()
    try:
        code = cli.main(args=args, prog_name="trashscan", standalone_mode=False)
    except SystemExit as exit_:
        code = exit_.code
    except TrashscanError as exc:
        if _debug_requested(args):
            raise
        err(f"trashscan: error: {exc.one_line()}")
        code = exc.exit_code
    except click.exceptions.Abort:  # click's prompts turn Ctrl-C into Abort
        if interrupts.received is None:
            err("trashscan: aborted")
            code = EXIT_PARTIAL
        else:
            message, code = interrupts.interrupted()
            err(f"trashscan: {message}")
    except click.ClickException as exc:
        err(f"trashscan: error: {exc.format_message()}")
        code = EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
    except KeyboardInterrupt:
        message, code = interrupts.interrupted()
        err(f"trashscan: {message}")
    except Exception as exc:
        if _debug_requested(args):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        err(
            f"trashscan: internal error: {type(exc).__name__}: {first} "
            "(run with --debug for details)"
        )
        code = EXIT_PARTIAL
    return code if isinstance(code, int) else EXIT_OK


def main() -> None:
    interrupts.install()
    try:
        interrupts.leave(run(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C after the command had finished
        interrupts.leave(interrupts.interrupted()[1])


from trashscan.cli_check import check, schedule  # noqa: E402

cli.add_command(check)
cli.add_command(schedule)
