"""``trashscan completion bash|zsh|fish``: the shell's completion script, printed as gh and rclone
print theirs.

The script is click's own: the shell calls ``trashscan`` back with ``_TRASHSCAN_COMPLETE`` set,
and the command line (:func:`trashscan.cli.run`) answers with the commands, options and choices
that fit, without reading the config or the index. Printing it rather than installing it leaves
where it goes (a file the shell loads, or an ``eval`` in the shell's start-up file) to the person.
"""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
PROG_NAME = "trashscan"
COMPLETE_VAR = "_TRASHSCAN_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash 4.4 or later, zsh, fish).

    \b
    Load it in every new shell:
      bash:  add  eval "$(trashscan completion bash)"  to ~/.bashrc
      zsh:   add  eval "$(trashscan completion zsh)"   to ~/.zshrc (after compinit)
      fish:  trashscan completion fish > ~/.config/fish/completions/trashscan.fish
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root().command
    complete = get_completion_class(shell)
    assert complete is not None  # every name in SHELLS is one of click's
    click.echo(complete(root, {}, PROG_NAME, COMPLETE_VAR).source())
