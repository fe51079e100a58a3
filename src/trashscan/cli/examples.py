"""The two or three examples every ``--help`` ends with, as gh's and llm's do.

Kept together, apart from the commands, so that they read as one set (the same account names
throughout) and so that adding them touched no command's code. A test parses every example with
the real command line, so an option renamed or removed cannot leave an example behind.
"""

from __future__ import annotations

import click

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "trashscan demo",
        "trashscan list --within 7d",
        "trashscan restore 1a2b3c4d --dry-run",
    ),
    "providers": (
        "trashscan providers",
        "trashscan providers --no-pager",
    ),
    "accounts": (
        "trashscan accounts add local-trash laptop",
        "trashscan accounts list",
        "trashscan accounts test laptop",
    ),
    "accounts add": (
        "trashscan accounts add local-trash laptop",
        "trashscan accounts add dropbox mydropbox --option app_key=KEY",
        "trashscan accounts add icloud me --option apple_id=me@example.com",
    ),
    "accounts list": (
        "trashscan accounts list",
        "trashscan --config /tmp/sandbox.toml accounts list",
    ),
    "accounts test": (
        "trashscan accounts test mydropbox",
        "trashscan accounts test laptop",
    ),
    "accounts remove": (
        "trashscan accounts remove usb-stick",
        "trashscan accounts remove usb-stick --yes",
    ),
    "scan": (
        "trashscan scan",
        "trashscan scan --account mydrive --deadline 3h",
        "trashscan scan --no-thumbnails",
    ),
    "list": (
        "trashscan list --within 7d",
        "trashscan list --cached --account laptop --name 'IMG_*' --format jsonl",
        "trashscan list -q --within 2d --kind photo | trashscan restore - --yes",
    ),
    "restore": (
        "trashscan restore 1a2b3c4d --dry-run",
        "trashscan restore 1a2b 9f8e --yes --format jsonl",
        "trashscan restore --account laptop --name '*.jpg' --within 3d",
    ),
    "history": (
        "trashscan history",
        "trashscan history --account laptop --since 7d",
        "trashscan history --format json --limit 0 > restores.json",
    ),
    "ui": (
        "trashscan ui",
        "trashscan ui --no-browser --port 8765",
    ),
    "check": (
        "trashscan check",
        "trashscan check --within 7d --critical 2d --quiet",
        "trashscan check --format json --no-notify",
    ),
    "schedule": (
        "trashscan schedule --cron",
        "trashscan schedule --systemd --every 1d --install",
    ),
    "demo": (
        "trashscan demo",
        "trashscan demo | less",
        "trashscan demo --ui",
    ),
    "sandbox": (
        "trashscan sandbox serve --write-config /tmp/sandbox.toml",
        "trashscan --config /tmp/sandbox.toml list",
    ),
    "sandbox serve": (
        "trashscan sandbox serve --write-config /tmp/sandbox.toml",
        "trashscan sandbox serve --port 8443 --workdir /tmp/box",
        "trashscan sandbox serve --latency 150",
    ),
    "completion": (
        "trashscan completion bash > ~/.local/share/bash-completion/completions/trashscan",
        "trashscan completion zsh > ~/.zfunc/_trashscan",
        "trashscan completion fish > ~/.config/fish/completions/trashscan.fish",
    ),
}


def epilog(examples: tuple[str, ...]) -> str:
    """Click's epilog: ``\\b`` keeps the lines as written instead of re-wrapping them."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)


def add_examples(command: click.Command, path: str = "") -> None:
    """Give ``command`` and every command under it its examples (see :data:`EXAMPLES`)."""
    if path in EXAMPLES:
        command.epilog = epilog(EXAMPLES[path])
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            add_examples(sub, f"{path} {name}".strip())
