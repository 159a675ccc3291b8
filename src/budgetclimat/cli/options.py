"""Option bundles shared by the commands (as sqlite-utils' ``output_options``).

Only click here: this module is imported to build ``--help`` and must stay instant (no pandas).
"""

from __future__ import annotations

import functools
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
    """``FILE...``: budget files (``-``: standard input); existence is checked by the reader
    (:func:`budgetclimat.read.require_files`), to answer in the user's language."""
    return click.argument(
        "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), callback=_stdin_as_file
    )(f)


def input_paths(f: F) -> F:
    """``PATH...``: budget files, folders (their budget files) or quoted glob patterns (``'data/*.csv'``),
    expanded by :func:`budgetclimat.read.partitions.expand_paths`; ``-`` reads standard input."""
    return click.argument(
        "files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True), callback=_stdin_as_file
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


def _pairs(values: tuple[str, ...], usage: str, ctx: click.Context, param: click.Parameter) -> dict[str, str]:
    """``NAME=VALUE`` items of a repeatable option, stripped; a malformed one is a usage error showing ``usage``."""
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(f"{item!r}: {usage}", ctx=ctx, param=param)
        pairs[key.strip()] = value.strip()
    return pairs


def _parse_constants(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    return _pairs(values, "KEY=VALUE, e.g. nomenclature=M57", ctx, param)


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


# --map entries travel in the --set dict under this prefix (budgetclimat.read.profiles.MAP_PREFIX).
MAP_PREFIX = "map:"


def _parse_map(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    return _pairs(values, "ROLE=COLUMN, e.g. sens=Type de mouvement", ctx, param)


def map_option(f: F) -> F:
    """``--map ROLE=COLUMN``: which column of a CSV/XLSX export holds a role (passed down with ``--set``)."""

    @functools.wraps(f)
    def wrapper(*args, column_map: dict[str, str], constants: dict[str, str], **kwargs):
        merged = {**constants, **{MAP_PREFIX + role: column for role, column in column_map.items()}}
        return f(*args, constants=merged, **kwargs)

    return click.option(
        "--map",
        "column_map",
        multiple=True,
        metavar="ROLE=COLUMN",
        callback=_parse_map,
        help="Column of a CSV/XLSX export that holds ROLE, when its header is not recognised, e.g. "
        "--map sens=Mouvement --map amount=\"Montant TTC\" (repeatable; roles: the line-model columns, "
        "amount, executed, voted…).",
    )(wrapper)


def _set_sheet(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from budgetclimat.read import workbook

    workbook.set_sheet(value)
    ctx.call_on_close(lambda: workbook.set_sheet(None))


def sheet_option(f: F) -> F:
    """``--sheet NAME``: the workbook sheet to read (the only way a hidden sheet is read)."""
    return click.option(
        "--sheet",
        metavar="NAME",
        expose_value=False,
        callback=_set_sheet,
        help="Sheet of an XLSX/ODS/XLS workbook to read (default: the visible sheet whose header matches "
        "best). A hidden sheet is read only when named here.",
    )(f)


def _set_limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> None:
    from budgetclimat import limits

    pairs = _pairs(values, "NAME=VALUE, e.g. unzipped-mb=500", ctx, param)
    limits.set_overrides(limits.parse(list(pairs.items())))
    ctx.call_on_close(lambda: limits.set_overrides({}))


def limit_option(f: F) -> F:
    """``--limit NAME=VALUE``: raise a size limit on input files (see docs/reliability.md)."""
    return click.option(
        "--limit",
        "limit_values",
        multiple=True,
        metavar="NAME=VALUE",
        expose_value=False,
        callback=_set_limits,
        help="Raise a limit on input files (repeatable): file-mb, unzipped-mb, zip-ratio, rows, columns, "
        "cells, cell-chars; also BUDGETCLIMAT_LIMIT_<NAME>. Defaults: 200 MB on disk, 200 MB unzipped, "
        "ratio 100, 1,000,000 rows, 1,000 columns, 10,000,000 cells, 32,767 characters per cell.",
    )(f)


def reading_options(f: F) -> F:
    """``--profile``, ``--set``, ``--map``, ``--basis``, ``--sheet`` and ``--limit``: how a budget file is read."""
    return profile_option(map_option(set_option(basis_option(sheet_option(limit_option(f))))))


def output_options(f: F) -> F:
    """``--format`` and ``--report``: where results go."""
    return format_option(report_option(f))
