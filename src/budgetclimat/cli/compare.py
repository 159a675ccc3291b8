"""``budgetclimat compare FILE...``: the evolution over several budget years (weighted shares, tCO2e, cap)."""

from __future__ import annotations

from pathlib import Path

import click

from budgetclimat.cli.classify import conventions_option
from budgetclimat.cli.options import input_files, reading_options


@click.command("compare")
@input_files
@click.option("--rules", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Rulebook YAML (repeatable), as for classify; may include a weights and a carbon rulebook.")
@click.option("--answers", multiple=True, type=click.Path(path_type=Path, dir_okay=False), help="Answers and overrides (repeatable).")
@click.option("--weights", "weights_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Weights rulebook (default: the I4CE-classes convention).")
@click.option("--carbon", "carbon_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Carbon rulebook (default: M57/M14 accounts to ADEME 2023 ratios).")
@click.option("--trajectory", "trajectory_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Trajectory YAML: shows each year's cap beside the budget's direct emissions.")
@click.option("--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True)
@conventions_option
@reading_options
def compare(files, rules, answers, weights_path, carbon_path, trajectory_path, output_format, no_conventions, profile, basis, constants) -> int:
    """Compare budget files of several years: weighted shares per objective, combined share, tCO2e vs cap."""
    from budgetclimat.errors import ConfigError
    from budgetclimat.pipeline import compare_years
    from budgetclimat.read import require_files
    from budgetclimat.report import compare_report

    # Every year's file and the trajectory before the first year is classified (the rulebooks say themselves
    # when missing: « Livre de règles introuvable »); the trajectory's loader would only say « illisible ».
    require_files(files)
    if trajectory_path is not None and not trajectory_path.is_file():
        raise ConfigError("file-not-found", path=str(trajectory_path))
    table, meta = compare_years(files, rules=rules or None, answers=answers or None, weights=weights_path,
                                carbon=carbon_path, trajectory=trajectory_path, profile=profile, basis=basis, constants=constants,
                                conventions=not no_conventions)
    click.echo(compare_report(table, meta).render(output_format))
    return 0
