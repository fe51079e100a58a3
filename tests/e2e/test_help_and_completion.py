"""Every ``--help`` ends with examples that are real command lines, ``--help`` stays fast, and
``trashscan completion bash|zsh|fish`` prints scripts the shells take and that complete.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest

from trashscan.cli import cli as root

TRASHSCAN = [sys.executable, "-m", "trashscan"]
HEAVY = (
    "sqlalchemy", "rich", "keyring", "requests", "trustme", "cryptography",
    "trashscan_local_trash", "googleapiclient", "msal", "dropbox", "pyicloud", "apprise", "PIL",
    "pillow_heif", "starlette", "uvicorn", "jinja2",
)  # fmt: skip


def _paths(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _paths(sub, (*path, name))
    return found


COMMANDS = _paths(root)


def _examples(help_text: str) -> list[str]:
    """The lines under the last ``Examples:`` heading, which must end the help."""
    lines = help_text.rstrip("\n").splitlines()
    heading = max(n for n, line in enumerate(lines) if line.strip() == "Examples:")
    return [line.strip() for line in lines[heading + 1 :]]


def _parse(words: list[str]) -> None:
    """Parse ``trashscan WORDS`` as the real command line would, down to the command it names,
    without running anything: an unknown option, a bad choice or a missing argument raises."""
    command: click.Command = root
    parent = None
    name = "trashscan"
    while True:
        ctx = command.make_context(name, list(words), parent=parent)
        if not isinstance(command, click.Group):
            return
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        assert rest, f"{name} needs a command"
        name, words = rest[0], rest[1:]
        found = command.get_command(ctx, name)
        assert found is not None, f"no command {name!r}"
        command, parent = found, ctx


def test_every_command_is_covered():
    assert ("completion",) in COMMANDS
    assert len(COMMANDS) == 18


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "trashscan")
def test_help_ends_with_two_or_three_examples_that_parse(path, bare_cli):
    shown = bare_cli(*path, "--help")
    assert shown.exit_code == 0, shown.stderr
    examples = _examples(shown.stdout)
    assert 2 <= len(examples) <= 3, shown.stdout
    for example in examples:
        words = shlex.split(example, comments=True)
        assert words[0] == "trashscan", example
        for stop in ("|", ">"):  # what the shell does with the output is not ours to parse
            words = words[: words.index(stop)] if stop in words else words
        _parse(words[1:])
        if path:  # an example of a command runs that command
            assert " ".join(path) in " ".join(words), example


def test_every_help_is_fast_importing_no_heavy_module():
    code = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from trashscan.cli import run
        for path in {[list(p) for p in COMMANDS]!r}:
            with contextlib.redirect_stdout(io.StringIO()):
                assert run([*path, "--help"]) == 0, path
        print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(shell):
    printed = subprocess.run(
        [*TRASHSCAN, "completion", shell], capture_output=True, text=True, check=True
    )
    script = printed.stdout
    assert "trashscan" in script and "_TRASHSCAN_COMPLETE" in script
    marker = {"bash": "complete -o nosort -F", "zsh": "#compdef trashscan", "fish": "complete "}
    assert marker[shell] in script
    assert printed.stderr == ""


def test_the_bash_script_is_valid_bash_and_completes_commands_and_options(tmp_path: Path):
    script = tmp_path / "trashscan.bash"
    printed = subprocess.run([*TRASHSCAN, "completion", "bash"], capture_output=True, text=True)
    script.write_text(printed.stdout)
    subprocess.run(["bash", "-n", str(script)], check=True)
    complete = textwrap.dedent(
        f"""
        source {shlex.quote(str(script))}
        ask() {{
          COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
          _trashscan_completion trashscan
          printf '%s\\n' "${{COMPREPLY[@]}}" | sort | tr '\\n' ' '; echo
        }}
        ask trashscan res
        ask trashscan restore --dr
        ask trashscan completion ''
        ask trashscan list --format ''
        """
    )
    bin_dir = str(Path(sys.executable).parent)  # where the venv's `trashscan` script is
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    answered = subprocess.run(
        ["bash", "--norc", "-c", complete], capture_output=True, text=True, env=env
    )
    assert answered.returncode == 0, answered.stderr
    lines = answered.stdout.splitlines()
    assert lines[0].split() == ["restore"]
    assert lines[1].split() == ["--dry-run"]
    assert lines[2].split() == ["bash", "fish", "zsh"]
    assert {"table", "json", "csv"} <= set(lines[3].split())
