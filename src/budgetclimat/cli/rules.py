"""``budgetclimat rules lint [RULEBOOK...]`` and ``budgetclimat rules coverage FILE...``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.classify import answers_option, conventions_option, rules_option
from budgetclimat.cli.options import input_files, reading_options

for _key, _fr, _en in [
    ("rulebooks", "{n} livre(s) de règles, {rules} règle(s), {cases} cas", "{n} rulebook(s), {rules} rule(s), {cases} case(s)"),
    ("clean", "Aucun problème.", "No problem."),
    ("counts", "{errors} erreur(s), {warnings} avertissement(s)", "{errors} error(s), {warnings} warning(s)"),
    ("progress-plans", "Lecture des plans de comptes fournis…", "Reading the shipped plans de comptes…"),
    ("progress", "[{step}/{total}] {rulebook} : {rules} règles et leurs cas…", "[{step}/{total}] {rulebook}: {rules} rules and their cases…"),
    ("axis", "Axe {axis}", "Axis {axis}"),
    ("unmatched", "Lignes sans règle (DEFAULT) : {n}", "Lines no rule matched (DEFAULT): {n}"),
    ("more", "… et {n} autres (--format csv pour tout)", "… and {n} more (--format csv for all)"),
]:
    i18n.define(f"cli.rules.{_key}", fr=_fr, en=_en)

MAX_LISTED = 30


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
    from budgetclimat.errors import ERROR, EXIT_INVALID_DATA, EXIT_OK, WARNING, render_finding
    from budgetclimat.rulebook import default_rulebooks, load_rulebooks, ruleset_of, shipped_rulebook_paths
    from budgetclimat.rulebook.lint import lint as run_lint

    if rulebooks:
        ruleset = load_rulebooks(rulebooks)
    else:
        ruleset = default_rulebooks()
        extra = [load_rulebooks([p]).rulebooks[0] for p in shipped_rulebook_paths(("weights", "carbon"))]
        ruleset = ruleset_of(list(ruleset.rulebooks) + extra)
    findings = run_lint(ruleset, run_case, progress=_progress)
    errors = int((findings["level"] == ERROR).sum())
    warnings = int((findings["level"] == WARNING).sum())
    if output_format == "json":
        records = [{k: (None if v is None or (not isinstance(v, str) and v != v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()} for r in findings.to_dict("records")]
        for r in records:
            r["message"] = render_finding(r)
        click.echo(json.dumps({"errors": errors, "warnings": warnings, "findings": records}, ensure_ascii=False, indent=2, default=str))
    elif output_format == "csv":
        from budgetclimat.export.register import formula_safe

        out = findings.copy()
        out["message"] = [render_finding(r) for r in findings.to_dict("records")]
        for column in ("file", "value", "expected", "message"):
            out[column] = formula_safe(out[column])
        click.echo(out.to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        n_rules = sum(len(rb.rules) for rb in ruleset.rulebooks)
        n_cases = sum(len(r.cases) for rb in ruleset.rulebooks for r in rb.rules)
        click.echo(i18n.t("cli.rules.rulebooks", n=len(ruleset.rulebooks), rules=n_rules, cases=n_cases))
        for r in findings.to_dict("records"):
            click.echo(f"[{_level(r['level'])}] {r['code']} : {render_finding(r)}")
        click.echo(i18n.t("cli.rules.counts", errors=errors, warnings=warnings) if len(findings) else i18n.t("cli.rules.clean"))
    return EXIT_INVALID_DATA if errors else EXIT_OK


def _progress(step: int, total: int, rulebook) -> None:
    """One line per step on stderr: the lint of the shipped rulebooks runs every case (about a minute)."""
    if rulebook is None:
        click.echo(i18n.t("cli.rules.progress-plans"), err=True)
    else:
        click.echo(i18n.t("cli.rules.progress", step=step, total=total, rulebook=rulebook.title or rulebook.id,
                          rules=len(rulebook.rules)), err=True)


def _level(level: str) -> str:
    key = f"cli.classify.level.{level}"
    return i18n.t(key) if key in i18n.catalogue() else level


@rules.command("coverage")
@input_files
@rules_option
@answers_option
@reading_options
@click.option("--format", "output_format", type=click.Choice(["human", "json", "csv"]), default="human", show_default=True)
@conventions_option
def coverage(files, rules, answers, profile, basis, constants, output_format, no_conventions) -> int:
    """Euros and lines decided by each rule, per axis, and the lines no rule matched."""
    from budgetclimat.engine.coverage import coverage as rule_coverage
    from budgetclimat.engine.coverage import unmatched
    from budgetclimat.errors import ConfigError
    from budgetclimat.export.register import euros_text, formula_safe
    from budgetclimat.money import format_euros
    from budgetclimat.pipeline import run

    for path in files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    result = run(files, rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis, constants=constants,
                 conventions=not no_conventions)
    table = rule_coverage(result.register, result.ruleset)
    rest = unmatched(result.register, result.lines)
    if output_format == "csv":
        table = table.assign(amount=euros_text(table["amount_cents"]))
        click.echo(table.to_csv(index=False, lineterminator="\n"), nl=False)
        return 0
    if output_format == "json":
        out = {
            "rules": table.assign(amount=euros_text(table["amount_cents"])).to_dict("records"),
            "unmatched": rest.assign(amount=euros_text(rest["amount_cents"]), label=formula_safe(rest["label"])).astype(object).where(rest.notna(), None).to_dict("records"),
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return 0
    lang = i18n.language()
    for axis, rows in table.groupby("axis", sort=False):
        click.echo(i18n.t("cli.rules.axis", axis=axis))
        for r in rows.itertuples():
            click.echo(f"  {r.rule_id:<40} {r.lines:>7} {format_euros(int(r.amount_cents), lang):>24}")
    click.echo(i18n.t("cli.rules.unmatched", n=len(rest)))
    for r in rest.head(MAX_LISTED).itertuples():
        click.echo(f"  {r.axis} {r.line_id} {r.nature} {r.fonction if isinstance(r.fonction, str) else ''} {r.label} {format_euros(int(r.amount_cents), lang)}")
    if len(rest) > MAX_LISTED:
        click.echo(i18n.t("cli.rules.more", n=len(rest) - MAX_LISTED))
    return 0
