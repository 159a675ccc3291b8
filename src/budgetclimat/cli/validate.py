"""``budgetclimat validate FILE...``: read budgets, check them, reconcile their totals, report."""

from __future__ import annotations

from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.options import input_paths, level_option, output_options, reading_options


@click.command("validate")
@input_paths
@reading_options
@output_options
@level_option
def validate(
    files: tuple[Path, ...], profile: str | None, basis: str | None, constants: dict[str, str], output_format: str, report: Path | None, level: str
) -> int:
    """Check budget files: codes, accounts against the plan de comptes, totals against the source.

    FILES are budget files, folders or quoted glob patterns ('data/*.csv'), as for classify.

    Exit code 0 when no finding is an error, 1 when the data have errors, 2 on a usage error.
    """
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK
    from budgetclimat.outputs import check_extension, check_not_input, check_writable
    from budgetclimat.read.partitions import expand_paths

    files = tuple(expand_paths(files))

    if report is not None:
        check_not_input(report, files)
        check_extension(report, (".json", ".csv"), "--report")
        check_writable(report)

    from budgetclimat.report import validate_files

    result = validate_files(files, profile=profile, basis=basis, constants=constants, level=level)
    click.echo(result.render(output_format), nl=output_format != "csv")
    if report is not None:
        # The report is complete whatever --level: it is where "… and N more" sends the reader.
        result.write(report, files)
        click.echo(i18n.t("cli.validate.report-written", path=report), err=True)
    return EXIT_INVALID_DATA if result.has_errors else EXIT_OK
