"""``budgetclimat classify FILE...`` and ``budgetclimat explain FILE --line ID``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.options import input_paths, reading_options


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
@input_paths
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
@click.option("--engine", "engine", type=click.Choice(["memory", "partitions", "dask"]), default="memory", show_default=True,
              help="How the lines are processed: memory (every line at once), partitions (a few hundred thousand lines at a time: "
              "memory bounded by --partition-lines) or dask (the partitions on a Dask cluster; extra budgetclimat[dask]). "
              "partitions and dask write no workbook (-o, --pack), no territory carbon budget (--inventory, --trajectory, --measures) "
              "and show no ranges.")
@click.option("--partition-lines", "partition_lines", type=click.IntRange(min=1000), metavar="N",
              help="Lines per partition with --engine partitions or dask (default: 50000).")
@click.option("--scheduler", "scheduler", metavar="ADDRESS",
              help="Address of a Dask scheduler (tcp://host:8786) for --engine dask. Default: a local cluster on this machine.")
@click.option("--summary-by-collectivite", "by_collectivite", type=click.Path(path_type=Path, dir_okay=False),
              help="Summary per collectivité (SIREN) and national, one row per collectivité and axis (.parquet): for a file of many "
              "collectivités such as a DGFiP balance.")
@conventions_option
@reading_options
def classify(files, rules, answers, output, pack, lines_out, summary_json, inventory, trajectory, measures, services_file, staff_costs, engine,
             partition_lines, scheduler, by_collectivite, no_conventions, profile, basis, constants) -> int:
    """Classify the lines of budget files by the rulebooks (I4CE 2022 by default).

    FILES are budget files, folders (every CSV, Parquet, XLSX, XML… file in them) or quoted glob
    patterns ('data/*.csv'); every engine reads them all as one run.

    Exit code 0 when the data are valid, 1 when they have errors (outputs are still written), 2 on a
    usage or configuration error (a rulebook or answers file with a mistake, a folder without a budget file,
    a pattern that matches nothing).
    """
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK, ConfigError
    from budgetclimat.outputs import check_distinct, check_extension, check_not_input, check_writable
    from budgetclimat.read.partitions import expand_paths

    files = expand_paths(files)

    territory_files = [p for p in (inventory, trajectory, measures) if p is not None]
    for path in territory_files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    if territory_files and (inventory is None or trajectory is None):
        raise ConfigError("territory-incomplete")
    inputs = list(files) + list(rules) + list(answers) + territory_files + ([services_file] if services_file is not None else [])
    if engine != "memory":  # what a partitioned run does not build: said before anything is read (exit 2)
        for option, given in (("-o", output), ("--pack", pack), ("--inventory", inventory), ("--trajectory", trajectory), ("--measures", measures)):
            if given is not None:
                raise ConfigError("engine-option-unavailable", value=option, column=engine)
    if scheduler is not None and engine != "dask":
        raise ConfigError("scheduler-without-dask", value=scheduler, column=engine)
    if partition_lines is not None and engine == "memory":
        raise ConfigError("partition-lines-without-engine", value=str(partition_lines), column=engine)
    for out in (output, pack, lines_out, summary_json, by_collectivite):
        if out is not None:
            check_not_input(out, inputs)
    check_distinct({"-o": output, "--pack": pack, "--lines-out": lines_out, "--summary-json": summary_json, "--summary-by-collectivite": by_collectivite})
    if by_collectivite is not None:
        check_extension(by_collectivite, (".parquet",), "--summary-by-collectivite")
        check_writable(by_collectivite)
    if engine != "memory":
        return _classify_partitioned(files, rules, answers, lines_out, summary_json, services_file, staff_costs, engine, partition_lines,
                                     scheduler, by_collectivite, no_conventions, profile, basis, constants, inputs)
    for out, allowed, option in ((output, (".xlsx",), "-o"), (pack, (".xlsx",), "--pack"), (lines_out, (".csv", ".parquet"), "--lines-out"), (summary_json, (".json",), "--summary-json")):
        if out is not None:
            check_extension(out, allowed, option)
            check_writable(out)

    from budgetclimat.engine.worklist import attach_worklist, load_services
    from budgetclimat.export.register import write_lines, write_summary_json
    from budgetclimat.pipeline import TerritoryInputs, run
    from budgetclimat.report import classify_report

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
        write_workbook(result, output, lang=i18n.language(), inputs=inputs, previous=previous, register=lines_out)
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
    if by_collectivite is not None:
        from budgetclimat.scale.collectivites import collectivite_sums, merge_sums, write_table

        write_table(merge_sums([collectivite_sums(result.lines, result.register)], list(result.ruleset.axes)), by_collectivite, inputs)
        click.echo(i18n.t("cli.classify.written", path=by_collectivite), err=True)
    click.echo(classify_report(result).text())
    if output is None and pack is None and lines_out is None and summary_json is None and by_collectivite is None:
        click.echo(i18n.t("cli.classify.nothing-written"), err=True)
    return EXIT_INVALID_DATA if result.has_errors else EXIT_OK


def _classify_partitioned(files, rules, answers, lines_out, summary_json, services_file, staff_costs, engine, partition_lines, scheduler,
                          by_collectivite, no_conventions, profile, basis, constants, inputs) -> int:
    """``classify --engine partitions|dask``: the partitioned engine (:mod:`budgetclimat.scale.engine`)."""
    from budgetclimat.engine.worklist import load_services
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK
    from budgetclimat.export.register import without_paths
    from budgetclimat.outputs import atomic_output
    from budgetclimat.report.classify import partitioned_report
    from budgetclimat.scale.engine import DEFAULT_PARTITION_LINES, run_partitioned

    services = load_services(services_file) if services_file is not None else None
    options = dict(rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis, constants=constants,
                   staff_costs=staff_costs, conventions=not no_conventions, services=services,
                   partition_lines=partition_lines or DEFAULT_PARTITION_LINES,
                   lines_out=lines_out, inputs=inputs, by_collectivite=by_collectivite is not None)
    if engine == "dask":
        from budgetclimat.scale.dask_engine import run_dask

        result = run_dask(files, scheduler=scheduler, **options)
    else:
        result = run_partitioned(files, **options)
    if lines_out is not None:
        click.echo(i18n.t("cli.classify.written", path=lines_out), err=True)
    if summary_json is not None:
        with atomic_output(summary_json, inputs) as tmp:
            tmp.write_text(json.dumps(without_paths(result.summary), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        click.echo(i18n.t("cli.classify.written", path=summary_json), err=True)
    if by_collectivite is not None:
        from budgetclimat.scale.collectivites import write_table

        write_table(result.collectivites, by_collectivite, inputs)
        click.echo(i18n.t("cli.classify.written", path=by_collectivite), err=True)
    click.echo(partitioned_report(result).text())
    if lines_out is None and summary_json is None and by_collectivite is None:
        click.echo(i18n.t("cli.classify.nothing-written"), err=True)
    return EXIT_INVALID_DATA if result.has_errors else EXIT_OK


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
    from budgetclimat.pipeline import run
    from budgetclimat.report.classify import conventions_off_line

    result = run(files, rulebooks=list(rules) or None, answers=list(answers) or None, profile=profile, basis=basis, constants=constants,
                 conventions=not no_conventions)
    explanation = explain_line(result.lines, result.ruleset, line_id, result.answers)
    ruleset = result.ruleset
    if output_format == "json":
        click.echo(json.dumps(explanation.to_dict() | {"conventions_applied": ruleset.conventions_applied}, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(explanation.render())
        note = conventions_off_line(ruleset)
        if note is not None:
            click.echo(note)
    return 0
