"""What every command shares: the :class:`App` (config, index, secrets, built lazily) and output.

Heavy modules (SQLAlchemy, keyring, provider SDKs) are imported inside the properties that need
them, so a command pays only for what it uses and ``trashscan --help`` imports none of them.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trashscan.errors import EXIT_DECLINED, UsageError
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from trashscan.config import Config
    from trashscan.deadline import Deadline
    from trashscan.index import Index
    from trashscan.index_read import SQLiteReader
    from trashscan.models import Account
    from trashscan.provider import ProviderContext


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
        """The config's ``[data] dir``, else ``TRASHSCAN_HOME`` or the platform's; resolved once,
        tightened the first time a command uses it (it holds the index)."""
        from trashscan.config import data_dir, tighten_data_dir

        path = data_dir(self.config_if_any.data_dir)
        tighten_data_dir(path)
        return path

    @cached_property
    def index_url(self) -> str:
        from trashscan.config import default_index_url

        return self.config_if_any.index_url or default_index_url(self.data_dir)

    @cached_property
    def index(self) -> Index:
        from trashscan.index import Index

        return Index.open(self.index_url)

    @cached_property
    def reader(self) -> Index | SQLiteReader:
        """What a listing reads (``listing``, ``totals``): the index if this command opened it
        already (``list`` after its scan), else a SQLite file of the current schema read without
        SQLAlchemy (issue 16: importing it was most of a filtered listing's time), else the
        index (PostgreSQL; a file to create or migrate, or that fails to open: Index.open says
        why)."""
        if "index" in self.__dict__:
            return self.index
        from trashscan.index_read import SQLiteReader

        reader = SQLiteReader.open(self.index_url)
        return self.index if reader is None else reader

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

    def now(self) -> datetime:
        """The CLI's one clock: :func:`utcnow`, looked up at each call so that tests can pin it."""
        return utcnow()

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


def require_terminal(what: str) -> None:
    """Refuse, before anything is changed, to ask a question nobody can answer: standard input
    is not a terminal (a pipe, cron) and ``--yes`` was not given (exit 2)."""
    import sys

    if not sys.stdin.isatty():
        raise UsageError(
            f"{what} needs a confirmation, and standard input is not a terminal",
            hint="add --yes to confirm it on the command line",
        )


def confirm(question: str, declined: str) -> None:
    """Ask ``question`` on the terminal; anything but yes ends the command with
    :data:`~trashscan.errors.EXIT_DECLINED` and ``declined`` on stderr, having changed nothing.

    click turns Ctrl-C at a prompt into ``Abort`` too; when a signal came, that is an
    interruption (130, 143), never a decline.
    """
    import sys

    from trashscan import interrupts

    try:
        answer = click.confirm(question, err=True)
    except click.exceptions.Abort:  # end of input (Ctrl-D), or Ctrl-C
        if interrupts.received is not None:
            raise KeyboardInterrupt from None
        answer = False
        click.echo(err=True)  # the prompt's line was left open
    if not answer:
        err(f"trashscan: declined: {declined}")
        sys.exit(EXIT_DECLINED)


def silence_stdout() -> None:
    """After a broken pipe: send what is still written to stdout to /dev/null.

    The reader is gone (``trashscan list -q | head -1``); without this, the interpreter's own
    flush at exit would fail again and print a traceback-like complaint.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (tests, demo)
        pass


def say(line: str) -> None:
    """One line on stdout that quotes data: escaped, so no name can forge or restyle output."""
    click.echo(printable(line))
