"""``budgetclimat validate FILE...``: read budgets, check them, reconcile their totals, report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.options import input_files, level_option, output_options, reading_options

MAX_LISTED = 50

_T = {
    "file": ("Fichier", "File"),
    "collectivite": ("Collectivité", "Local government"),
    "siret": ("SIRET", "SIRET"),
    "exercice": ("Exercice", "Year"),
    "doc_type": ("Document", "Document"),
    "budget": ("Budget", "Budget"),
    "nomenclature": ("Nomenclature", "Nomenclature"),
    "plans": ("Plan de comptes utilisé", "Plan de comptes used"),
    "no-plan": ("aucun", "none"),
    "basis": ("Base des montants", "Amount basis"),
    "lines": ("Lignes", "Lines"),
    "lines-detail": ("{lines_in} dans le fichier source, {lines_out} lues", "{lines_in} in the source file, {lines_out} read"),
    "totals": ("Totaux (lignes lues)", "Totals (lines read)"),
    "reel": ("Réel", "Real"),
    "ordre": ("Ordre", "Ordre"),
    "F": ("Fonctionnement", "Operating"),
    "I": ("Investissement", "Investment"),
    "D": ("dépenses", "expenses"),
    "R": ("recettes", "revenue"),
    "reconciliation": ("Rapprochement avec le fichier source", "Reconciliation with the source file"),
    "ok": ("OK (totaux et nombres de lignes identiques au centime près)", "OK (totals and line counts equal to the cent)"),
    "ko": ("KO (voir les constats reconciliation-mismatch)", "KO (see the reconciliation-mismatch findings)"),
    "unavailable": ("non fait (pas de totaux bruts)", "not done (no raw totals)"),
    "ordre-balance": ("Équilibre des opérations d'ordre", "Ordre operations balance"),
    "balanced": ("équilibrées", "balanced"),
    "unbalanced": ("déséquilibrées (voir les constats ordre-unbalanced)", "unbalanced (see the ordre-unbalanced findings)"),
    "not-checkable": ("non vérifiable (aucune ligne lue comme opération d'ordre)", "not checkable (no line read as an ordre operation)"),
    "findings": ("Constats", "Findings"),
    "none": ("aucun", "none"),
    "counts": ("{errors} erreur(s), {warnings} avertissement(s)", "{errors} error(s), {warnings} warning(s)"),
    "error": ("erreur", "error"),
    "warning": ("avertissement", "warning"),
    "info": ("information", "information"),
    "more": ("… et {n} autres, voir --report", "… and {n} more, see --report"),
    "grouped": (
        "{findings} constat(s) regroupé(s) en {groups} (même code, colonne et valeur) ; le détail ligne à ligne est dans --report",
        "{findings} finding(s) grouped into {groups} (same code, column and value); the line-by-line detail is in --report",
    ),
    "total": ("Au total", "Overall"),
    "report-written": ("Rapport écrit dans {path}", "Report written to {path}"),
}
for _key, (_fr, _en) in _T.items():
    i18n.define(f"cli.validate.{_key}", fr=_fr, en=_en)


def _basis_text(basis: object, lang: str) -> str:
    from budgetclimat.model import BASIS_LABELS

    labels = BASIS_LABELS.get(str(basis))
    return str(basis) if labels is None else labels[0 if lang == "fr" else 1]


def _t(key: str, **params: object) -> str:
    return i18n.t(f"cli.validate.{key}", **params)


@click.command("validate")
@input_files
@reading_options
@output_options
@level_option
def validate(
    files: tuple[Path, ...], profile: str | None, basis: str | None, constants: dict[str, str], output_format: str, report: Path | None, level: str
) -> int:
    """Check budget files: codes, accounts against the plan de comptes, totals against the source.

    Exit code 0 when no finding is an error, 1 when the data have errors, 2 on a usage error.
    """
    from budgetclimat.errors import EXIT_INVALID_DATA, EXIT_OK, ConfigError
    from budgetclimat.outputs import check_extension, check_not_input, check_writable

    for path in files:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    if report is not None:
        check_not_input(report, files)
        check_extension(report, (".json", ".csv"), "--report")
        check_writable(report)

    from budgetclimat.read import read_budget
    from budgetclimat.validate import validate_document

    reports = [
        validate_document(read_budget(path, profile=profile, basis=basis, file_index=index, constants=constants))
        for index, path in enumerate(files)
    ]
    listed = _listed_findings(reports, level)
    if output_format == "json":
        click.echo(json.dumps(to_json(reports, listed), ensure_ascii=False, indent=2))
    elif output_format == "csv":
        click.echo(to_csv(listed), nl=False)
    else:
        click.echo(to_human(reports, listed))
    if report is not None:
        # The report is complete whatever --level: it is where "… and N more" sends the reader.
        _write_report(report, files, reports, listed if level == "warning" else _listed_findings(reports, "warning"))
        click.echo(_t("report-written", path=report), err=True)
    return EXIT_INVALID_DATA if any(r.errors for r in reports) else EXIT_OK


def _listed_findings(reports: list, level: str):
    import pandas as pd

    from budgetclimat.errors import ERROR, concat_findings, render_finding

    findings = concat_findings([r.findings for r in reports])
    if level == "error":
        findings = findings[findings["level"] == ERROR]
    findings = findings.reset_index(drop=True)
    # Messages are rendered once per shown finding (text, not data processing).
    findings["message"] = pd.Series([render_finding(row) for row in findings.to_dict("records")], index=findings.index, dtype="string")
    return findings


def _plain(value: object) -> object:
    """JSON-ready scalar: pandas NA to None, numpy numbers to Python numbers."""
    import pandas as pd

    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def to_json(reports: list, findings) -> dict:
    from budgetclimat.errors import group_findings, render_group
    from budgetclimat.validate import counts_by_code

    files = []
    for r in reports:
        mine = findings[findings["file"] == r.reconciliation.file]
        files.append(
            {
                **{k: _plain(v) if not isinstance(v, list) else v for k, v in r.summary().items()},
                "totals": _records(r.reconciliation.totals),
                "ordre": _records(r.reconciliation.ordre),
                "counts": {row["code"]: int(row["count"]) for row in counts_by_code(r.findings).to_dict("records")},
                "findings": _records(mine),
                # What a person reads: one entry per code × column × value, with the count and first rows.
                "groups": [{**g, "message": render_group(g)} for g in _records(group_findings(mine))],
            }
        )
    return {
        "language": i18n.language(),
        "errors": sum(r.errors for r in reports),
        "warnings": sum(r.warnings for r in reports),
        "files": files,
    }


def _formula_safe(findings):
    # Values come from input files: a cell starting like a formula must stay text in a spreadsheet.
    from budgetclimat.outputs import formula_safe

    out = findings.copy()
    for column in ("file", "column", "value", "expected", "message"):
        out[column] = formula_safe(out[column])
    return out


def to_csv(findings) -> str:
    return _formula_safe(findings).to_csv(index=False, lineterminator="\n")


def to_human(reports: list, findings) -> str:
    from budgetclimat.errors import group_findings, render_group
    from budgetclimat.money import format_euros
    from budgetclimat.validate import counts_by_code

    lang = i18n.language()
    lines: list[str] = []
    for r in reports:
        s = r.summary()
        rec = r.reconciliation
        lines.append(f"== {_t('file')} : {s['file']}" if lang == "fr" else f"== {_t('file')}: {s['file']}")
        colon = " : " if lang == "fr" else ": "
        for key in ("collectivite", "siret", "exercice", "doc_type", "budget", "nomenclature"):
            if s[key] is not None:
                lines.append(f"{_t(key)}{colon}{s[key]}")
        lines.append(f"{_t('plans')}{colon}{', '.join(s['plans']) or _t('no-plan')}")
        lines.append(f"{_t('basis')}{colon}{_basis_text(s['basis'], lang)}")
        count = _count_text(s["lines_out"], lang)
        detail = _t("lines-detail", lines_in=_count_text(s["lines_in"], lang), lines_out=count) if s["lines_in"] is not None else count
        lines.append(f"{_t('lines')}{colon}{detail}")
        lines.append(f"{_t('totals')}{colon.rstrip()}")
        totals = rec.totals.set_index(["section", "sens", "operation"])["lines_cents"]
        width = 20
        lines.append(f"  {'':<30}{_t('reel'):>{width}}{_t('ordre'):>{width}}")
        for section in ("F", "I"):
            for sens in ("D", "R"):
                cells = [format_euros(int(totals.get((section, sens, op), 0)), lang) for op in ("reel", "ordre")]
                label = f"{_t(section)}, {_t(sens)}"
                lines.append(f"  {label:<30}{cells[0]:>{width}}{cells[1]:>{width}}")
        status = _t("unavailable") if s["reconciliation_ok"] is None else _t("ok") if s["reconciliation_ok"] else _t("ko")
        lines.append(f"{_t('reconciliation')}{colon}{status}")
        balance = "not-checkable" if s["ordre_balanced"] is None else "balanced" if s["ordre_balanced"] else "unbalanced"
        lines.append(f"{_t('ordre-balance')}{colon}{_t(balance)}")
        lines.append(f"{_t('findings')}{colon}{_t('counts', errors=s['errors'], warnings=s['warnings'])}")
        for row in counts_by_code(r.findings).to_dict("records"):
            lines.append(f"  {row['code']} ({_t(row['level'])}){colon}{row['count']}")
        lines.append("")
    if len(reports) > 1:
        errors, warnings = sum(r.errors for r in reports), sum(r.warnings for r in reports)
        lines.append(f"{_t('total')}{colon}{_t('counts', errors=errors, warnings=warnings)}")
        lines.append("")
    if len(findings):
        groups = group_findings(findings)
        lines.append(f"{_t('findings')}{colon.rstrip()}")
        if len(groups) < len(findings):
            lines.append("  " + _t("grouped", findings=len(findings), groups=len(groups)))
        for row in groups.head(MAX_LISTED).to_dict("records"):
            lines.append(f"  [{_t(row['level'])}] {row['code']}{colon}{render_group(row)}")
        if len(groups) > MAX_LISTED:
            lines.append("  " + _t("more", n=len(groups) - MAX_LISTED))
    return "\n".join(lines).rstrip("\n")


def _count_text(n: int, lang: str) -> str:
    return f"{int(n):,}".replace(",", "\u202f" if lang == "fr" else ",")


def _write_report(report: Path, files: tuple[Path, ...], reports: list, findings) -> None:
    from budgetclimat.outputs import atomic_output

    with atomic_output(report, files) as tmp:
        if report.suffix.lower() == ".csv":
            # The file a person opens in a spreadsheet: the CSV dialect of the language, like the line register
            # (French: « ; », decimal comma, UTF-8 with BOM, so that French Excel splits the columns).
            from budgetclimat.export.register import to_csv as register_csv

            register_csv(_formula_safe(findings), tmp)
        else:
            tmp.write_text(json.dumps(to_json(reports, findings), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
