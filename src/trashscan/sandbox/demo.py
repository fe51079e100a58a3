"""`trashscan demo`: the whole flow against the sandbox, on a fresh machine, touching nothing real.

It runs the real CLI commands (the same code paths a user runs) with a temporary config, index
and data directory, so what it shows is what trashscan does.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import click

from trashscan.safe_text import printable
from trashscan.sandbox.session import Sandbox

NEXT_STEPS = """\
Next steps with your own accounts:
  trashscan providers                              # what each provider can do
  trashscan accounts add PROVIDER NAME --option KEY=VALUE
  trashscan list --all-accounts                    # scan and list everything in one index
  trashscan restore REF --dry-run                  # then without --dry-run
  (see README.md: configuring accounts, and a cron/systemd schedule)"""


Runner = Callable[[Sequence[str]], int]


def _show(run: Runner, args: Sequence[str]) -> int:
    shown = [a for a in args if a != "--config" and not a.endswith(".toml")]
    click.secho(f"\n$ trashscan {' '.join(shown)}", bold=True)
    return run(args)


def _capture_json(run: Runner, args: Sequence[str]) -> list[dict]:
    buffer = StringIO()
    with redirect_stdout(buffer):
        run(args)
    return json.loads(buffer.getvalue() or "[]")


def run_demo(run: Runner) -> int:
    """``run`` is the CLI's own entry point (passed in to avoid an import cycle)."""
    with tempfile.TemporaryDirectory(prefix="trashscan-demo-") as tmp, Sandbox(Path(tmp)) as box:
        previous_home = os.environ.get("TRASHSCAN_HOME")
        previous_pager = os.environ.get("TRASHSCAN_PAGER")
        os.environ["TRASHSCAN_HOME"] = str(Path(tmp) / "home")
        os.environ["TRASHSCAN_PAGER"] = ""  # the demo's lists are part of its story: no pager
        try:
            config = ["--config", str(box.config_path)]
            click.echo("trashscan demo: local fake accounts seeded with deleted photos and videos.")
            click.echo(f"(temporary config {box.config_path}; nothing outside it is touched)")
            codes = [_show(run, [*config, "scan", "--all-accounts"])]
            click.echo(
                "\n(First scan done: accounts whose provider cannot list its recycle bin are now"
                " enrolled.\n Meanwhile, in the clouds, a few more photos get deleted...)"
            )
            box.between_scans()
            codes.append(_show(run, [*config, "list", "--all-accounts"]))
            items = _capture_json(run, [*config, "list", "--cached", "--format", "json"])
            candidates = [
                i
                for i in items
                if i["restorable"] and (i["days_left"] is None or i["days_left"] >= 0)
            ]
            if not candidates:
                click.echo("nothing restorable was listed; the demo cannot go on")
                return 1
            chosen = candidates[0]
            click.echo(
                f"\nRestoring the item closest to its purge date: "
                f"{printable(chosen['name'])} ({chosen['ref']})"
            )
            codes.append(_show(run, [*config, "restore", chosen["ref"], "--yes"]))
            codes.append(_show(run, [*config, "list", "--all-accounts"]))
            after = _capture_json(run, [*config, "list", "--cached", "--format", "json"])
            still_there = any(i["ref"] == chosen["ref"] for i in after)
            click.echo(
                f"\n{printable(chosen['name'])} is "
                + ("STILL in the trash (unexpected)" if still_there else "no longer in the trash.")
            )
            click.echo("\n" + NEXT_STEPS)
            return 1 if still_there or any(codes) else 0
        finally:
            for name, previous in (
                ("TRASHSCAN_HOME", previous_home),
                ("TRASHSCAN_PAGER", previous_pager),
            ):
                if previous is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = previous
