"""Running the command group once: every error becomes one line on stderr and an exit code.

0 ok, 1 partial failure, 2 usage or config error, 130 interrupted; ``--debug`` (or
``TRASHSCAN_DEBUG=1``) shows the traceback instead. The group is passed in, so that ``demo``
can run the same group it belongs to without importing the package that assembles it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from trashscan import interrupts
from trashscan.cli.app import err
from trashscan.errors import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, TrashscanError
from trashscan.safe_text import escape_stderr_logging


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("TRASHSCAN_DEBUG") == "1"


def run_group(group: click.Group, args: Sequence[str]) -> int:
    """Run ``group`` once and return its exit code; every error becomes one line on stderr."""
    args = list(args)
    escape_stderr_logging()
    try:
        code = group.main(args=args, prog_name="trashscan", standalone_mode=False)
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
