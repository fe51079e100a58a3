"""The ``check`` and ``schedule`` commands: monitoring, and running it on a timer.

``check`` speaks the monitoring convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so every way it
can fail before reaching a verdict, including a mistyped option, must exit 3 rather than click's
or the core's 2, which a monitoring system would read as CRITICAL. :class:`MonitoringCommand`
does that conversion at the only two places errors can come from: parsing and invoking.

Only click and light trashscan modules are imported at module level: ``trashscan --help`` imports
this module too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from trashscan.cli.app import App, err, pass_app
from trashscan.cli.common import KIND_CHOICES, account_options, deadline_option, format_option
from trashscan.errors import TrashscanError, UsageError

if TYPE_CHECKING:
    from trashscan.check import CheckOptions

EXIT_UNKNOWN = 3


class CheckFailed(TrashscanError):
    """The check could not reach a verdict (config, index, an unexpected error): UNKNOWN."""

    exit_code = EXIT_UNKNOWN


class MonitoringCommand(click.Command):
    """A command whose usage and configuration errors exit 3 (UNKNOWN), not 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:  # bad or unknown option, bad choice
            exc.exit_code = EXIT_UNKNOWN
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = EXIT_UNKNOWN
            raise
        except TrashscanError as exc:
            exc.exit_code = EXIT_UNKNOWN  # the instance only; the class keeps its code elsewhere
            raise
        except (click.exceptions.Exit, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # with --debug, the runner prints its traceback (chained)
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise CheckFailed(
                f"internal error: {type(exc).__name__}: {first}".rstrip(": "),
                hint="run with --debug for details",
            ) from exc


def parse_check_options(
    within: str, critical: str, kinds: tuple[str, ...], notify: bool, thumbnails: bool = True
) -> CheckOptions:
    from trashscan.check import CheckOptions
    from trashscan.models import Kind
    from trashscan.timeparse import parse_duration

    within_span = parse_duration(within)
    critical_span = parse_duration(critical)
    if critical_span > within_span:
        raise UsageError(
            f"--critical {critical} is longer than --within {within}",
            hint="--critical is the shorter, more urgent window",
        )
    if not kinds:
        chosen = frozenset({Kind.PHOTO, Kind.VIDEO})
    elif "any" in kinds:
        chosen = frozenset(Kind)
    else:
        chosen = frozenset(Kind(kind) for kind in kinds)
    return CheckOptions(
        within=within_span,
        critical=critical_span,
        kinds=chosen,
        notify=notify,
        thumbnails=thumbnails,
        within_text=within.strip(),
        critical_text=critical.strip(),
    )


def _read_secret_input(prompt: str, multiline: bool) -> str:
    """From a terminal: a hidden prompt (or lines until Ctrl-D); otherwise from stdin."""
    if sys.stdin.isatty():
        if not multiline:
            return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True))
        err(f"{prompt}, one per line; end with Ctrl-D:")
        return sys.stdin.read()
    return sys.stdin.read() if multiline else sys.stdin.readline().rstrip("\r\n")


def store_alert_secret(app: App, smtp_password: bool) -> None:
    """``--set-smtp-password`` / ``--set-apprise-urls``: into the configured secret store."""
    from trashscan.notify import (
        ALERTS_SERVICE,
        APPRISE_URLS_KEY,
        SMTP_PASSWORD_KEY,
        parse_apprise_urls,
    )

    secrets = app.context.secrets
    if smtp_password:
        value = _read_secret_input("SMTP password", multiline=False)
        if not value:
            raise UsageError("empty password: nothing stored")
        secrets.set(ALERTS_SERVICE, SMTP_PASSWORD_KEY, value)
        click.echo(f"stored the SMTP password in {secrets.description}")
        return
    text = _read_secret_input("Apprise URLs", multiline=True)
    try:
        urls = parse_apprise_urls(text)
    except TrashscanError as exc:
        raise UsageError(f"Apprise URLs: {exc}", hint="nothing was stored") from None
    if not urls:
        raise UsageError("no Apprise URL given: nothing stored")
    secrets.set(ALERTS_SERVICE, APPRISE_URLS_KEY, "\n".join(urls))
    click.echo(f"stored {len(urls)} Apprise URL(s) in {secrets.description}")
    if not app.config_if_any.alerts.get("apprise"):
        click.echo("they are used once `apprise = true` is set under [alerts] in the config")


@click.command(cls=MonitoringCommand)
@account_options
@click.option(
    "--within", default="3d", show_default=True, metavar="DURATION", help="Report purges this soon."
)
@click.option(
    "--critical",
    default="1d",
    show_default=True,
    metavar="DURATION",
    help="Purges this soon are critical (exit 2).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KIND_CHOICES),
    help="photo, video, other or any; repeatable (default: photo and video).",
)
@format_option("text", "json", "jsonl")
@click.option(
    "--notify/--no-notify", default=True, show_default=True, help="Send the [alerts] channels."
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when all is well (for cron).")
@click.option(
    "--no-thumbnails",
    is_flag=True,
    help="Fetch no pictures for the alerts this run (cached ones are still attached).",
)
@click.option(
    "--set-smtp-password", is_flag=True, help="Store the SMTP password (prompted or stdin); exit."
)
@click.option(
    "--set-apprise-urls", is_flag=True, help="Store Apprise URLs (one per line, stdin); exit."
)
@deadline_option
@pass_app
def check(
    app: App,
    all_accounts: bool,
    accounts: tuple[str, ...],
    within: str,
    critical: str,
    kinds: tuple[str, ...],
    fmt: str,
    notify: bool,
    quiet: bool,
    no_thumbnails: bool,
    set_smtp_password: bool,
    set_apprise_urls: bool,
    deadline: str | None,
) -> None:
    """Scan, then report what will be purged soon and accounts that need attention.

    Exit 0 nothing due, 1 items within --within (or an account needs attention), 2 items within
    --critical, 3 the check could not run. Notifies the [alerts] channels once per threshold.
    --format json prints one report; jsonl one line per item, then per account and
    notification, then the verdict ("type": "summary").
    """
    if set_smtp_password and set_apprise_urls:
        raise UsageError("store one secret at a time: --set-smtp-password or --set-apprise-urls")
    if set_smtp_password or set_apprise_urls:
        store_alert_secret(app, smtp_password=set_smtp_password)
        return

    from trashscan.check import NOTIFY_BUSY, render_json, render_jsonl, render_text, run_check
    from trashscan.notify import Healthcheck, build_notifiers, parse_alerts

    options = parse_check_options(within, critical, kinds, notify, thumbnails=not no_thumbnails)
    limit = app.deadline(deadline)
    config = app.config
    alerts = parse_alerts(config.path, config.alerts)
    health = Healthcheck(alerts.healthcheck_url) if alerts.healthcheck_url else None
    if health is not None and (problem := health.start()):
        err(f"trashscan: {problem}")
    code = EXIT_UNKNOWN
    try:
        selected = app.select_accounts(all_accounts, accounts)
        notifiers = build_notifiers(alerts, app.context.secrets) if notify else []
        report = run_check(
            app.index, app.context, config, selected, options, alerts, notifiers, deadline=limit
        )
        if fmt == "json":
            render_json(report, sys.stdout)
        elif fmt == "jsonl":
            render_jsonl(report, sys.stdout)
        else:
            render_text(report, sys.stdout, quiet=quiet)
        code = int(report.status)
        for delivery in report.deliveries:
            if delivery.error == NOTIFY_BUSY:
                err(f"trashscan: note: notifications {delivery.error}")
            elif not delivery.ok:
                err(f"trashscan: notification failed: {delivery.error} (retried next run)")
    finally:
        if health is not None and (problem := health.finish(code)):
            err(f"trashscan: {problem}")
    sys.exit(code)


@click.command()
@click.option(
    "--every", default="6h", show_default=True, metavar="DURATION", help="How often, e.g. 6h, 1d."
)
@click.option("--cron", is_flag=True, help="A crontab line.")
@click.option("--systemd", is_flag=True, help="A systemd user service and timer.")
@click.option("--install", is_flag=True, help="Add the line to your crontab / write the units.")
@pass_app
def schedule(app: App, every: str, cron: bool, systemd: bool, install: bool) -> None:
    """Print (or with --install, set up) a cron line or systemd timer running `trashscan check`.

    Without --cron or --systemd both are printed; the two together are an error (one schedule
    is installed, never two). Nothing is changed without --install.
    """
    from trashscan import schedule as sched
    from trashscan.timeparse import parse_duration

    if cron and systemd:
        raise UsageError(
            "choose one of --cron or --systemd", hint="without either, both are printed"
        )
    mode = "cron" if cron else "systemd" if systemd else None
    if install and mode is None:
        raise UsageError("say what to install: --cron or --systemd")
    config = app.config  # a schedule for a missing or broken config would fail every run
    job = sched.make_job(
        config.path, app.data_dir, parse_duration(every), every.strip(), config.deadline
    )
    unit_dir = sched.user_unit_dir()
    if mode in (None, "cron"):
        try:
            click.echo(sched.cron_text(job))
        except UsageError:
            if mode == "cron":
                raise
            click.echo(f"# cron cannot run a job every {job.every_text} evenly: use systemd")
    if mode is None:
        click.echo()
    if mode in (None, "systemd"):
        click.echo(sched.systemd_text(job, unit_dir))
    if not install:
        if mode is None:
            err("nothing installed; add --cron --install or --systemd --install to set it up")
        return
    if mode == "cron":
        click.echo(sched.install_cron(sched.cron_line(job)))
        return
    for line in sched.install_systemd(job, unit_dir):
        click.echo(line)
    click.echo("now enable the timer (trashscan does not start services itself):")
    click.echo(sched.run_lines(sched.NEXT_STEPS))
