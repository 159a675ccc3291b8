"""Option bundles shared by the commands (as sqlite-utils' ``output_options``).

Only click here: this module is imported to build ``--help`` and must stay instant (no pandas).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable)

# Names of the amount bases, as in model.AMOUNT_COLUMNS (a test keeps the two in step; importing the
# model here would load pandas for every --help).
BASES = ("voted", "open_credits", "executed", "carried_forward", "previous_carried", "previous_budget", "proposed")
FORMATS = ("human", "json", "csv")
LEVELS = ("error", "warning")


def _stdin_as_file(ctx: click.Context, param: click.Parameter, values: tuple[Path, ...]) -> tuple[Path, ...]:
    """``-`` reads the budget from standard input: copied once to a temporary file named ``stdin`` (the
    readers read a file twice: to recognise it, then to parse it), removed when the command ends."""
    if not any(str(v) == "-" for v in values):
        return values
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="budgetclimat-"))
    ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    target = folder / "stdin"
    with target.open("wb") as handle:
        shutil.copyfileobj(click.get_binary_stream("stdin"), handle)
    return tuple(target if str(v) == "-" else v for v in values)


def input_files(f: F) -> F:
    """``FILE...``: budget files (``-``: standard input); existence is checked by the command, to answer in
    the user's language."""
    return click.argument(
        "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), callback=_stdin_as_file
    )(f)


def profile_option(f: F) -> F:
    return click.option(
        "--profile",
        metavar="PROFILE",
        help="Reading profile of a CSV/XLSX export (id of a shipped profile or path to a YAML profile); "
        "detected from the headers when omitted.",
    )(f)


def basis_option(f: F) -> F:
    return click.option(
        "--basis",
        type=click.Choice(BASES),
        help="Amount used: executed for a CA/CFU, voted for BP/BS/DM by default.",
    )(f)


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="human",
        show_default=True,
        help="Output on stdout: human-readable text, JSON, or CSV (findings only).",
    )(f)


def report_option(f: F) -> F:
    return click.option(
        "--report",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Also write the full report to this file: CSV (findings) if it ends in .csv, JSON if .json. "
        "Written atomically; never an input file.",
    )(f)


def level_option(f: F) -> F:
    return click.option(
        "--level",
        type=click.Choice(LEVELS),
        default="warning",
        show_default=True,
        help="Lowest level of findings listed (error: errors only). The exit code ignores it.",
    )(f)


def _parse_constants(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    constants: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(f"{item!r}: KEY=VALUE, e.g. nomenclature=M57", ctx=ctx, param=param)
        constants[key.strip()] = value.strip()
    return constants


def set_option(f: F) -> F:
    """``--set KEY=VALUE``: a value for a column a CSV/XLSX export does not carry."""
    return click.option(
        "--set",
        "constants",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_parse_constants,
        help="Value of a line-model column the CSV/XLSX export does not carry, e.g. "
        "--set nomenclature=M57 --set budget_kind=principal (repeatable; the file's own values win).",
    )(f)


def reading_options(f: F) -> F:
    """``--profile``, ``--set`` and ``--basis``: how a budget file is read."""
    return profile_option(set_option(basis_option(f)))


def output_options(f: F) -> F:
    """``--format`` and ``--report``: where results go."""
    return format_option(report_option(f))
