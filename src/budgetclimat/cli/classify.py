"""``budgetclimat classify FILE...`` and ``budgetclimat explain FILE --line ID``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.options import input_files, reading_options

for _key, _fr, _en in [
    ("lines", "{n} lignes lues, {axes} axe(s) : {names}", "{n} lines read, {axes} axis/axes: {names}"),
    ("axis", "Axe {axis}", "Axis {axis}"),
    ("in", "  dans le périmètre : {amount} ({lines} lignes)", "  in scope: {amount} ({lines} lines)"),
    ("out", "  hors périmètre : {amount} ({lines} lignes)", "  out of scope: {amount} ({lines} lines)"),
    ("out-parts", "    dont recettes {revenue}, opérations d'ordre {ordre}, dette {debt}, autres motifs {other}",
     "    of which revenue {revenue}, ordre operations {ordre}, debt {debt}, other reasons {other}"),
    ("exercice", "Exercice {exercice} ({n} lignes ; la Synthèse du classeur montre le dernier exercice)",
     "Financial year {exercice} ({n} lines; the workbook's Synthèse shows the latest year)"),
    ("exercice-axis", "  {axis} : dans le périmètre {in_amount} ; hors périmètre {out_amount}",
     "  {axis}: in scope {in_amount}; out of scope {out_amount}"),
    ("class", "    {code:<4} {label:<28} {amount:>22}", "    {code:<4} {label:<28} {amount:>22}"),
    ("questions", "  questions ouvertes : {n} ligne(s)", "  open questions: {n} line(s)"),
    (
        "ranges",
        "  tant que les questions sont ouvertes : favorable entre {fav_min} et {fav_max}, défavorable entre {unf_min} et {unf_max}, neutre entre {neu_min} et {neu_max} (du périmètre)",
        "  while questions are open: favourable between {fav_min} and {fav_max}, unfavourable between {unf_min} and {unf_max}, neutral between {neu_min} and {neu_max} (of the scope)",
    ),
    (
        "decided",
        "  décidé : {decided} ; borné : {bounded} (dont au moins neutre : {least}) ; ouvert : {open}",
        "  decided: {decided}; bounded: {bounded} (of which at least neutral: {least}); open: {open}",
    ),
    ("findings", "Constats : {errors} erreur(s), {warnings} avertissement(s)", "Findings: {errors} error(s), {warnings} warning(s)"),
    ("finding", "  [{level}] {code} : {message}", "  [{level}] {code}: {message}"),
    ("written", "Écrit : {path}", "Written: {path}"),
    ("more", "  … et {n} autres, voir budgetclimat validate --report", "  … and {n} more, see budgetclimat validate --report"),
    ("conventions", "  décidé par des conventions : {amount} ({lines} lignes, {n} règle(s) ; --no-conventions les retire)",
     "  decided by conventions: {amount} ({lines} lines, {n} rule(s); --no-conventions removes them)"),
    ("conventions-off", "Conventions retirées (--no-conventions) : {n} règle(s) non appliquée(s), leurs lignes passent à la règle suivante.",
     "Conventions removed (--no-conventions): {n} rule(s) not applied, their lines fall to the next rule."),
    ("worklist", "Liste à approfondir : {n} question(s) × clé ; les {n80} premières couvrent 80 % des euros, les {n95} premières 95 %",
     "Worklist: {n} question(s) × key; the first {n80} cover 80 % of the euros, the first {n95} 95 %"),
    ("carry-over", "Réponses reprises : {reused} clé(s) retrouvée(s) dans ce budget ; {new} question(s) restent sans réponse ; {stale} réponse(s) ne correspondent plus à aucune ligne",
     "Answers carried over: {reused} key(s) found in this budget; {new} question(s) remain without answer; {stale} answer(s) match no line any more"),
    ("reconciliation-ko", "Rapprochement avec les fichiers sources : KO (voir les constats)", "Reconciliation with the source files: KO (see findings)"),
]:
    i18n.define(f"cli.classify.{_key}", fr=_fr, en=_en)

i18n.define(
    "territory-incomplete",
    fr="Le budget carbone du territoire demande à la fois --inventory (inventaire) et --trajectory (trajectoire) ; --measures est facultatif.",
    en="The territory carbon budget needs both --inventory and --trajectory; --measures is optional.",
)

MAX_LISTED = 20
i18n.define(
    "cli.classify.nothing-written",
    fr="Aucun fichier écrit : seul ce résumé est affiché. -o annexe.xlsx écrit le classeur de travail, --pack conseil.xlsx "
    "le dossier pour le conseil, --lines-out lignes.csv (ou .parquet) le registre des lignes, --summary-json resume.json les chiffres en JSON.",
    en="No file written: only this summary is shown. -o annex.xlsx writes the working workbook, --pack council.xlsx "
    "the council pack, --lines-out lines.csv (or .parquet) the line register, --summary-json summary.json the figures as JSON.",
)
for _level, _fr, _en in (("error", "erreur", "error"), ("warning", "avertissement", "warning"), ("info", "information", "information")):
    i18n.define(f"cli.classify.level.{_level}", fr=_fr, en=_en)
SAID_IN_FULL = ("nomenclature-not-covered", "view-failed", "deflator-nearest-year")


def rules_option(f):
    return click.option(
        "--rules",
        "rules",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Rulebook YAML (repeatable). Default: the shipped scope and I4CE 2022 rulebooks. When given, "
        "only these rulebooks are used.",
    )(f)


def conventions_option(f):
    """``--no-conventions``: classify without the rules declared ``convention: true`` (docs/rulebooks.md)."""
    return click.option(
        "--no-conventions",
        "no_conventions",
        is_flag=True,
        help="Classify without the rules declared conventions (a class no I4CE cell supports): the lines "
        "they decided fall to the next rule (usually the question of their topic). The outputs still list them, as not applied.",
    )(f)


def answers_option(f):
    return click.option(
        "--answers",
        "answers",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Answers and overrides (CSV or XLSX; repeatable, applied in order).",
    )(f)


@click.command("classify")
@input_files
@rules_option
@answers_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Workbook to write (.xlsx).")
@click.option("--pack", "pack", type=click.Path(path_type=Path, dir_okay=False),
              help="Council pack to write (.xlsx): only the sheets a council receives (summary, coloured, weighted and carbon "
              "budgets, legal annex, method), to print in a few pages; -o keeps every sheet for work.")
@click.option("--lines-out", type=click.Path(path_type=Path, dir_okay=False), help="Line register, long format (.csv or .parquet).")
@click.option("--summary-json", type=click.Path(path_type=Path, dir_okay=False), help="Totals by axis and class (JSON).")
@click.option("--inventory", type=click.Path(path_type=Path, dir_okay=False),
              help="Territorial inventory (CSV/YAML: year, sector, emissions_tco2e, removals_tco2e); with --trajectory.")
@click.option("--trajectory", type=click.Path(path_type=Path, dir_okay=False),
              help="Trajectory of the territory's net emissions (YAML); with --inventory.")
@click.option("--measures", type=click.Path(path_type=Path, dir_okay=False),
              help="Measures of the climate plan, tied to budget lines (CSV/XLSX); with --inventory and --trajectory.")
@click.option("--services", "services_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Fonction → service mapping for the worklist (YAML, as rules/services/default.yaml). Default: the shipped one.")
@click.option("--staff-costs", type=click.Choice(["3a", "3b"]),
              help="I4CE option for staff costs: 3a pro rata of all other spending, 3b pro rata per fonction "
              "(remainder pro rata of the whole). Default: the rulebook's choice.")
@conventions_option
@reading_options
def classify(files, rules, answers, output, pack, lines_out, summary_json, inventory, trajectory, measures, services_file, staff_costs, no_conventions,
             profile, basis, constants) -> int:
    """Classify the lines of budget files by the rulebooks (I4CE 2022 by default).

    Exit code 0 when the data are valid, 1 when they have errors (outputs are still written), 2 on a
    usage or configuration error (a rulebook or answers file with a mistake).
    """
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK, ConfigError
    from budgetclimat.outputs import check_distinct, check_extension, check_not_input, check_writable

    for path in files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    territory_files = [p for p in (inventory, trajectory, measures) if p is not None]
    for path in territory_files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    if territory_files and (inventory is None or trajectory is None):
        raise ConfigError("territory-incomplete")
    inputs = list(files) + list(rules) + list(answers) + territory_files + ([services_file] if services_file is not None else [])
    for out in (output, pack, lines_out, summary_json):
        if out is not None:
            check_not_input(out, inputs)
    check_distinct({"-o": output, "--pack": pack, "--lines-out": lines_out, "--summary-json": summary_json})
    for out, allowed, option in ((output, (".xlsx",), "-o"), (pack, (".xlsx",), "--pack"), (lines_out, (".csv", ".parquet"), "--lines-out"), (summary_json, (".json",), "--summary-json")):
        if out is not None:
            check_extension(out, allowed, option)
            check_writable(out)

    from budgetclimat.export.register import summary, write_lines, write_summary_json
    from budgetclimat.pipeline import TerritoryInputs, run

    from budgetclimat.engine.worklist import attach_worklist, load_services

    services = load_services(services_file) if services_file is not None else None  # a bad file stops before reading (exit 2)
    territory = TerritoryInputs(inventory, trajectory, measures) if territory_files else None
    result = run(files, rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis,
                 constants=constants, territory=territory, staff_costs=staff_costs, conventions=not no_conventions)
    if services is not None:
        attach_worklist(result, services)
    if output is not None:
        from budgetclimat.export.workbook import is_budgetclimat_workbook, read_previous_classes, write_workbook

        # The council annex workbook; when an answers file is a previous workbook, Contrôles lists what changed.
        previous = next((read_previous_classes(p) for p in reversed(answers) if is_budgetclimat_workbook(p)), None)
        write_workbook(result, output, lang=i18n.language(), inputs=inputs, previous=previous)
        click.echo(i18n.t("cli.classify.written", path=output), err=True)
    if pack is not None:
        from budgetclimat.export.workbook import write_workbook

        write_workbook(result, pack, lang=i18n.language(), inputs=inputs, pack=True)
        click.echo(i18n.t("cli.classify.written", path=pack), err=True)
    if lines_out is not None:
        write_lines(result, lines_out, inputs)
        click.echo(i18n.t("cli.classify.written", path=lines_out), err=True)
    if summary_json is not None:
        write_summary_json(result, summary_json, inputs)
        click.echo(i18n.t("cli.classify.written", path=summary_json), err=True)
    click.echo(_human(result, summary(result)))
    if output is None and pack is None and lines_out is None and summary_json is None:
        click.echo(i18n.t("cli.classify.nothing-written"), err=True)
    return EXIT_INVALID_DATA if result.has_errors else EXIT_OK


def _human(result, data: dict) -> str:
    from budgetclimat.errors import group_findings, render_finding, render_group
    from budgetclimat.money import format_euros
    from budgetclimat.rulebook.model import CLASSES

    lang = i18n.language()
    out = [i18n.t("cli.classify.lines", n=data["lines"], axes=len(data["axes"]), names=", ".join(i18n.t(f"axis.{a}") for a in data["axes"]))]
    for axis, a in data["axes"].items():
        out.append(i18n.t("cli.classify.axis", axis=i18n.t(f"axis.{axis}")))
        out.append(i18n.t("cli.classify.in", amount=format_euros(a["in_scope"]["cents"], lang), lines=a["in_scope"]["lines"]))
        for c in CLASSES:
            out.append(i18n.t("cli.classify.class", code=c, label=i18n.t(f"class.{c}"), amount=format_euros(a["classes"][c]["cents"], lang)))
        out.append(i18n.t("cli.classify.out", amount=format_euros(a["out_of_scope"]["cents"], lang), lines=a["out_of_scope"]["lines"]))
        out.append(i18n.t("cli.classify.out-parts", **{k: format_euros(v["cents"], lang) for k, v in a["out_of_scope"]["parts"].items()}))
        out.append(i18n.t("cli.classify.questions", n=a["questions_open"]))
        if "bounds" in a:  # ranges while questions are open (engine.bounds)
            out.extend(_ranges(a, lang))
        used = [c for c in data.get("conventions", []) if c["axis"] == axis and c["lines"]]
        if used:
            out.append(i18n.t("cli.classify.conventions", amount=format_euros(sum(c["amount_cents"] for c in used), lang),
                              lines=sum(c["lines"] for c in used), n=len(used)))
    for year, figures in data.get("by_exercice", {}).items():  # a run over several years: each year apart
        out.append(i18n.t("cli.classify.exercice", exercice=year, n=figures["lines"]))
        for axis, a in figures["axes"].items():
            out.append(i18n.t("cli.classify.exercice-axis", axis=i18n.t(f"axis.{axis}"), in_amount=format_euros(a["in_scope"]["cents"], lang),
                              out_amount=format_euros(a["out_of_scope"]["cents"], lang)))
            out.append(i18n.t("cli.classify.out-parts", **{k: format_euros(v["cents"], lang) for k, v in a["out_of_scope"]["parts"].items()}))
    if data.get("conventions_applied") is False:
        out.append(i18n.t("cli.classify.conventions-off", n=len(data.get("conventions", []))))
    work = getattr(result, "worklist", None)
    if work is not None:
        from budgetclimat.engine.worklist import coverage

        out.append(i18n.t("cli.classify.worklist", n=len(work), n80=coverage(work, 0.8), n95=coverage(work, 0.95)))
    carry = data.get("carry_over")
    if carry is not None:
        out.append(i18n.t("cli.classify.carry-over", reused=carry["keys_reused"], new=carry["worklist_new"], stale=carry["answers_stale"]))
    if result.reconciliation_ok is False:
        out.append(i18n.t("cli.classify.reconciliation-ko"))
    f = data["findings"]
    out.append(i18n.t("cli.classify.findings", errors=f["errors"], warnings=f["warnings"]))
    findings = result.findings
    for code, count in findings.groupby(["level", "code"]).size().items():
        level = i18n.t(f"cli.classify.level.{code[0]}")
        out.append(f"  {code[1]} ({level}) : {count}" if lang == "fr" else f"  {code[1]} ({level}): {count}")
    # Warnings that change how the figures read are said in full first; then errors and warnings, one entry
    # per code × column × value (the detail: budgetclimat validate --report).
    said = findings["code"].isin(SAID_IN_FULL).fillna(False)
    for row in findings[said].head(MAX_LISTED).to_dict("records"):
        out.append(i18n.t("cli.classify.finding", level=i18n.t(f"cli.classify.level.{row['level']}"), code=row["code"], message=render_finding(row)))
    groups = group_findings(findings[findings["level"].isin(["error", "warning"]) & ~said])
    for row in groups.head(MAX_LISTED).to_dict("records"):
        out.append(i18n.t("cli.classify.finding", level=i18n.t(f"cli.classify.level.{row['level']}"), code=row["code"], message=render_group(row)))
    if len(groups) > MAX_LISTED:
        out.append(i18n.t("cli.classify.more", n=len(groups) - MAX_LISTED))
    return "\n".join(out)


def _ranges(a: dict, lang: str) -> list[str]:
    from budgetclimat.engine.bounds import percent_text
    from budgetclimat.money import format_euros
    from budgetclimat.rulebook.model import BOUNDED_ROLLUPS

    b, whole = a["bounds"], a["in_scope"]["cents"]
    pct = {f"{k[:3]}_{s}": percent_text(b[f"{k}_{s}_cents"], whole, lang) for k in BOUNDED_ROLLUPS for s in ("min", "max")}
    return [
        i18n.t("cli.classify.ranges", **pct),
        i18n.t("cli.classify.decided", decided=format_euros(a["decided_cents"], lang), bounded=format_euros(a["bounded_cents"], lang),
               least=format_euros(a["at_least_neutral_cents"], lang), open=format_euros(a["open_cents"], lang)),
    ]


@click.command("explain")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--line", "line_id", required=True, help="Line id (as in the register: 2018CA-00-00042).")
@rules_option
@answers_option
@click.option("--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True)
@conventions_option
@reading_options
def explain(files, line_id, rules, answers, output_format, no_conventions, profile, basis, constants) -> int:
    """Explain how one line was classified: every rule tried, in order, and why it matched or not."""
    from budgetclimat.engine import explain as explain_line
    from budgetclimat.errors import ConfigError

    for path in files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    from budgetclimat.pipeline import run

    result = run(files, rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis, constants=constants,
                 conventions=not no_conventions)
    explanation = explain_line(result.lines, result.ruleset, line_id, result.answers)
    ruleset = result.ruleset
    if output_format == "json":
        click.echo(json.dumps(explanation.to_dict() | {"conventions_applied": ruleset.conventions_applied}, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(explanation.render())
        if not ruleset.conventions_applied:
            click.echo(i18n.t("cli.classify.conventions-off", n=len(ruleset.all_conventions())))
    return 0
