"""``budgetclimat rules lint [RULEBOOK...]`` and ``budgetclimat rules coverage FILE...``."""

from __future__ import annotations

from pathlib import Path

import click

from budgetclimat.cli.classify import answers_option, conventions_option, rules_option
from budgetclimat.cli.options import input_files, reading_options


@click.group("rules")
def rules() -> None:
    """Check rulebooks and see which rules decide what."""


@rules.command("lint")
@click.argument("rulebooks", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(["human", "json", "csv"]), default="human", show_default=True)
def lint(rulebooks: tuple[Path, ...], output_format: str) -> int:
    """Lint rulebooks (default: the shipped ones): unknown accounts, shadowed rules, missing or failing cases…

    Exit code 1 when a problem of level error is found, 2 when a rulebook does not load.
    """
    from budgetclimat.engine.cases import run_case
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK
    from budgetclimat.report.rules import lint_report
    from budgetclimat.rulebook import default_rulebooks, load_rulebooks, ruleset_of, shipped_rulebook_paths
    from budgetclimat.rulebook.lint import lint as run_lint

    if rulebooks:
        ruleset = load_rulebooks(rulebooks)
    else:
        ruleset = default_rulebooks()
        extra = [load_rulebooks([p]).rulebooks[0] for p in shipped_rulebook_paths(("weights", "carbon"))]
        ruleset = ruleset_of(list(ruleset.rulebooks) + extra)
    findings = run_lint(ruleset, run_case, progress=_progress)
    report = lint_report(ruleset, findings)
    click.echo(report.render(output_format), nl=output_format != "csv")
    return EXIT_INVALID_DATA if report.errors else EXIT_OK


def _progress(step: int, total: int, rulebook) -> None:
    """One line per step on stderr: the lint of the shipped rulebooks runs every case (about a minute)."""
    from budgetclimat.report.rules import lint_progress_text

    click.echo(lint_progress_text(step, total, rulebook), err=True)


@rules.command("coverage")
@input_files
@rules_option
@answers_option
@reading_options
@click.option("--format", "output_format", type=click.Choice(["human", "json", "csv"]), default="human", show_default=True)
@conventions_option
def coverage(files, rules, answers, profile, basis, constants, output_format, no_conventions) -> int:
    """Euros and lines decided by each rule, per axis, and the lines no rule matched."""
    from budgetclimat.pipeline import run
    from budgetclimat.report import coverage_report

    result = run(files, rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis, constants=constants,
                 conventions=not no_conventions)
    click.echo(coverage_report(result).render(output_format), nl=output_format != "csv")
    return 0
