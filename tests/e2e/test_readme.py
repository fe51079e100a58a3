"""The README followed to the letter, where a test can: the commands a newcomer types, in order,
taken from the README itself and run offline against the sandbox; the commands' synopsis and
examples checked against the real command line; the exit-code table against the code and against
real runs.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest
from terminal import TRASHSCAN, Terminal

from trashscan import errors, interrupts
from trashscan.check import Status
from trashscan.cli import cli as root
from trashscan.cli.check import EXIT_UNKNOWN
from trashscan.config import add_account

REPO = Path(__file__).parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # where the set-up put `trashscan` (.venv/bin)
FOLLOWED = (  # the sections a newcomer follows, in order, to set up and use trashscan
    "Try it",
    "Commands",
    "See them",
    "Configuring accounts",
    "Warnings before the purge",
    "Running it unattended",
    "The sandbox",
)


def section(title: str, level: str = "##") -> str:
    """The README's section ``title``, up to the next heading of the same level or above."""
    start = README.index(f"\n{level} {title}")
    rest = README[start + 1 :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.M)][1:]
    return rest[: ends[0]] if ends else rest


def code_blocks(text: str, language: str | None = None) -> list[str]:
    """The fenced blocks of ``text`` (only those in ``language``, if given)."""
    blocks, inside, lang, lines = [], False, "", []
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if inside and (language is None or lang == language):
                blocks.append("\n".join(lines) + "\n")
            inside, lang, lines = not inside, line.strip()[3:].strip(), []
        elif inside:
            lines.append(line)
    return blocks


def spans(text: str) -> list[str]:
    """The inline code spans, each on one line as a shell reads it."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def shell_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A shell where `trashscan` is the installed one, with a home of its own: nothing the
    README's commands write can reach the real one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRASHSCAN_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        HOME=str(tmp_path / "home"),
        TRASHSCAN_HOME=str(tmp_path / "data"),
        TRASHSCAN_PAGER="",
        **extra,
    )
    return env


def bash(line: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------------- Try it, in order


def test_the_setup_ends_with_the_demo_and_the_demo_runs_as_written(tmp_path):
    [setup] = code_blocks(README.split("<!-- ci:setup -->", 1)[1], "sh")[:1]
    steps = [step.strip() for step in setup.strip().split("&&")]
    assert steps[0] == "python3 -m venv .venv" and ".venv/bin/pip install" in steps[1]
    demo = steps[-1]
    assert demo == ".venv/bin/trashscan demo"
    # the set-up itself is what CI runs on a clean clone; here, the demo from where it installed
    done = bash(demo.replace(".venv/bin/", f"{BIN}/"), shell_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no longer in the trash." in done.stdout
    assert "Next steps" in done.stdout


def test_a_new_shell_gets_trashscan_and_its_completion_as_the_readme_says(tmp_path):
    """ "`trashscan` in every new shell": activate the virtualenv, then `eval` the completion."""
    text = section("`trashscan` in every new shell", "###")
    activate = next(s for s in spans(text) if s.startswith("source "))
    completion = next(s for s in spans(text) if s.startswith("eval ") and "bash" in s)
    assert activate == "source .venv/bin/activate"
    venv = Path(sys.prefix)
    env = shell_env(tmp_path)
    env["PATH"] = os.environ["PATH"]  # a new shell: only what the activation adds
    line = f"{activate} && command -v trashscan && {completion} && complete -p trashscan"
    shell = bash(line, env, cwd=venv.parent)
    assert shell.returncode == 0, shell.stderr
    found, registered = shell.stdout.splitlines()[0], shell.stdout.splitlines()[-1]
    assert Path(found) == venv / "bin" / "trashscan"
    assert registered.endswith(" trashscan")


def test_the_sandbox_section_works_from_another_terminal(tmp_path):
    """ "The sandbox": `sandbox serve --write-config` in one terminal, the list in another."""
    text = section("The sandbox")
    serve = next(s for s in spans(text) if s.startswith("trashscan sandbox serve"))
    listing = next(s for s in spans(text) if "trashscan list" in s)
    config = tmp_path / "sandbox.toml"
    env = shell_env(tmp_path)
    server = subprocess.Popen(
        ["bash", "-c", "exec " + serve.replace("/tmp/sandbox.toml", str(config))],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until = time.monotonic() + 60
        while not config.exists() and server.poll() is None and time.monotonic() < until:
            time.sleep(0.1)
        assert config.exists(), server.stderr.read() if server.poll() is not None else "no config"
        time.sleep(0.5)  # the config is written once the servers listen; let it be complete
        listed = bash(listing.replace("/tmp/sandbox.toml", str(config)), env, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert re.search(r"^total: \d+ items", listed.stdout, re.M), listed.stdout
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --------------------------------------------------------------------------------- Commands


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command ``trashscan WORDS`` names, and the words after its name."""
    command: click.Command = root
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command, words = command.commands[words[0]], words[1:]
    return command, words


def _options(command: click.Command) -> set[str]:
    names = {"--help", "-h", "--debug"}
    for param in command.params:
        names.update(param.opts, param.secondary_opts)
    return names


def synopsis() -> list[str]:
    """The Commands section's first block, one entry per command (continuation lines joined)."""
    entries: list[str] = []
    for line in code_blocks(section("Commands"))[0].splitlines():
        line = line.split("  #", 1)[0].rstrip()
        if line.startswith("trashscan "):
            entries.append(line)
        elif line.strip():
            entries[-1] += " " + line.strip()
    return entries


def _groups(group: click.Group) -> list[click.Group]:
    found = [group]
    for sub in group.commands.values():
        if isinstance(sub, click.Group):
            found += _groups(sub)
    return found


def test_the_synopsis_names_every_command_and_only_options_they_take():
    named: set[click.Command] = set()
    for entry in synopsis():
        command, rest = _command(entry.split()[1:])
        assert command is not root, entry
        # `accounts list | test NAME | remove NAME [--yes]`: its sibling commands named too
        parent = next(g for g in _groups(root) if command in g.commands.values())
        siblings = [parent.commands[word] for word in rest if word in parent.commands]
        named.update((command, *siblings))
        allowed = set().union(*(_options(c) for c in (command, *siblings)), _options(root))
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", entry):
            assert option in allowed, f"{entry}: {option}"
    groups = _groups(root)
    leaves = {c for g in groups for c in g.commands.values() if not isinstance(c, click.Group)}
    assert {c.name for c in leaves - named} == set()


def _parse(words: list[str]) -> None:
    """Parse ``trashscan WORDS`` as the real command line does, without running it."""
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


def examples() -> list[str]:
    """Every whole command line the README shows in code (not a synopsis with ``[...]``,
    ``a|b`` or ``...``), from ``trashscan`` to the end of the command."""
    found = []
    followed = "".join(section(title) for title in FOLLOWED)
    lines = [line.strip() for block in code_blocks(followed) for line in block.splitlines()]
    for text in [*spans(followed), *lines]:
        at = text.find("trashscan ")
        if at < 0 or not re.match(r"^([A-Z_]+=\S+ )*(\S*/)?$", text[:at]):
            continue
        line = text[at:].split("  #", 1)[0].strip()
        if re.search(r"\[|\w\|\w|\.\.\.|…|[A-Z]{4,}", line) or line.startswith("trashscan-"):
            continue
        found.append(line)
    return sorted(set(found))


@pytest.mark.parametrize("line", examples())
def test_every_command_line_in_the_readme_parses(line):
    words = shlex.split(line, comments=True)
    for stop in ("|", ">", "<", "&&", ";"):  # what the shell does around it is not ours
        words = words[: words.index(stop)] if stop in words else words
    assert words[0] == "trashscan"
    _parse(words[1:])


def test_the_examples_found_include_what_a_newcomer_types():
    found = examples()
    for line in (
        "trashscan demo",
        "trashscan list -q --within 2d --kind photo | trashscan restore - --yes --format jsonl",
        "trashscan accounts add local-trash laptop",
        "trashscan sandbox serve --write-config /tmp/sandbox.toml",
        "trashscan list --all-accounts",
    ):
        assert line in found, line


# ------------------------------------------------------------------------------ Exit codes


def exit_table() -> dict[int, list[str]]:
    text = section("Exit codes", "###")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    table = {}
    for row in rows:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        table[int(cells[0])] = cells[1:]
    return table


def test_the_exit_code_table_has_every_code_the_code_can_return():
    documented = set(exit_table())
    used = {errors.EXIT_OK, errors.EXIT_PARTIAL, errors.EXIT_USAGE, errors.EXIT_DECLINED}
    used |= {int(status) for status in Status} | {EXIT_UNKNOWN}
    used |= set(interrupts.EXIT_CODES.values())
    assert documented == used
    table = exit_table()
    assert [table[int(s)][1].split(":")[0] for s in Status] == [s.name for s in Status]
    assert table[errors.EXIT_DECLINED][1] == "–"
    assert table[EXIT_UNKNOWN][0] == "–"


def test_every_other_mention_of_exit_codes_points_to_the_table():
    assert "one table, [Exit codes](#exit-codes)" in section("Commands")
    assert "[exit-code table](#exit-codes)" in section("Warnings before the purge")
    assert README.count("| Code |") == 1


def _broken_account(sandbox, tmp_path: Path) -> None:
    add_account(
        sandbox.config_path,
        {
            "name": "gone-disk",
            "provider": "local-trash",
            "trash_dirs": [str(tmp_path / "unplugged")],
            "include_volumes": False,
        },
    )


def test_each_code_of_every_command_comes_from_a_real_run(cli, sandbox, tmp_path):
    table = exit_table()
    seen: dict[int, str] = {}

    def expect(code: int, *args: str) -> None:
        result = cli(*args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        seen[code] = " ".join(args)

    expect(0, "list", "--all-accounts")
    expect(2, "list", "--within", "soon")  # usage error
    expect(2, "restore", "--account", "laptop")  # no terminal, no --yes: refused
    _broken_account(sandbox, tmp_path)
    expect(1, "list", "--all-accounts")  # one account failed, the others listed
    assert set(seen) == {c for c in table if table[c][0] not in ("–",)} - {4, 130, 143}


def test_each_check_verdict_comes_from_a_real_run(cli, sandbox, tmp_path):
    verdicts = {int(s): s.name for s in Status}
    assert cli("check", "--account", "usb-stick").exit_code == 0  # never purged: OK
    assert cli("check", "--account", "laptop").exit_code == 2  # overdue items: CRITICAL
    assert cli("check", "--bogus").exit_code == 3  # not 2, which would read CRITICAL
    _broken_account(sandbox, tmp_path)
    warned = cli("check", "--account", "usb-stick", "--account", "gone-disk")
    assert warned.exit_code == 1, warned.stdout  # an account failed: WARNING
    assert warned.stdout.startswith(verdicts[1] + ":")


READ = {"x86_64": 0, "aarch64": 63}[platform.machine()]  # the read system call's number


def _reading_the_terminal(pid: int) -> bool:
    """The process is blocked in read(0, ...): a signal now interrupts that read. One sent
    a moment earlier, after Python's last check for signals but before the read began, is only
    acted on once the read returns (a key pressed): that race is not what this test is about."""
    return Path(f"/proc/{pid}/syscall").read_text().startswith(f"{READ} 0x0 ")


@pytest.mark.parametrize(
    ("keys", "code"),
    [("n\r", errors.EXIT_DECLINED), ("\x03", 130), (signal.SIGTERM, 143)],
    ids=["declined", "ctrl-c", "sigterm"],
)
def test_the_prompt_codes_come_from_a_real_terminal(cli, sandbox, keys, code):
    assert code in exit_table()
    ref = cli("list", "--account", "usb-stick", "-q").stdout.split()[0]
    terminal = Terminal([*TRASHSCAN, "--config", str(sandbox.config_path), "restore", ref])
    # a run that never ends fails this test instead of hanging the suite
    guard = threading.Timer(120, os.kill, (terminal.pid, signal.SIGKILL))
    guard.start()
    try:
        terminal.expect("Restore 1 item(s)? [y/N]")
        until = time.monotonic() + 60
        while not _reading_the_terminal(terminal.pid) and time.monotonic() < until:
            time.sleep(0.05)
        if isinstance(keys, str):
            terminal.type(keys)
        else:
            os.kill(terminal.pid, keys)
        assert terminal.finish() == code, terminal.screen
    finally:
        guard.cancel()
    assert "Traceback" not in terminal.screen
