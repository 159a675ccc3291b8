"""Write docs/cli-reference.md from the commands' own ``--help`` (so the reference cannot drift).

    python scripts/gen_cli_reference.py          # rewrite the file
    python scripts/gen_cli_reference.py --check  # exit 1 if the file is out of date (the test suite does this)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

TARGET = Path(__file__).resolve().parents[1] / "docs" / "cli-reference.md"


def _commands(group: click.Group, ctx: click.Context, prefix: list[str]):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield prefix + [name], command
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            yield from _commands(command, sub, prefix + [name])


def render() -> str:
    from budgetclimat.cli import cli

    root = click.Context(cli, info_name="budgetclimat", terminal_width=100, max_content_width=100, help_option_names=["-h", "--help"])
    parts = [
        "# Command-line reference",
        "",
        "Generated from each command's `--help` by `scripts/gen_cli_reference.py`; a test fails when it is",
        "out of date. `docs/cli.md` explains the options shared by the commands and the exit codes.",
        "",
        "## budgetclimat",
        "",
        "```",
        cli.get_help(root).rstrip(),
        "```",
    ]
    for path, command in _commands(cli, root, []):
        ctx = root
        for name in path:
            ctx = click.Context(ctx.command.get_command(ctx, name) if isinstance(ctx.command, click.Group) else command,
                                info_name=name, parent=ctx, terminal_width=100, max_content_width=100, help_option_names=["-h", "--help"])
        parts += ["", f"## budgetclimat {' '.join(path)}", "", "```", command.get_help(ctx).rstrip(), "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        return 0 if TARGET.read_text(encoding="utf-8") == text else 1
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
