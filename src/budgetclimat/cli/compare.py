"""``budgetclimat compare FILE...``: the evolution over several budget years (weighted shares, tCO2e, cap)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetclimat import i18n
from budgetclimat.cli.classify import conventions_option
from budgetclimat.cli.options import input_files, reading_options

for _key, _fr, _en in [
    ("title", "Évolution sur {n} exercice(s) — pondération {weights}, carbone {carbon}",
     "Evolution over {n} year(s) — weights {weights}, carbon {carbon}"),
    ("header", "{year:>8} {base:>18} {combined:>10} {tco2e:>12} {range:>23}", "{year:>8} {base:>18} {combined:>10} {tco2e:>12} {range:>23}"),
    ("objectives", "  parts pondérées par objectif (jamais additionnées) :", "  weighted shares per objective (never added up):"),
    ("cap", "  plafond de la trajectoire {year} : {cap} tCO2e (émissions directes du budget : {share})",
     "  trajectory cap {year}: {cap} tCO2e (the budget's direct emissions: {share})"),
    ("note", "Les tCO2e sont des ordres de grandeur (ratios monétaires) ; la fourchette vient de l'incertitude des facteurs.",
     "tCO2e are orders of magnitude (spend-based ratios); the range comes from the factors' uncertainty."),
    ("col.year", "Exercice", "Year"),
    ("col.base", "Base (€)", "Base (€)"),
    ("col.combined", "Part verte", "Green share"),
    ("col.range", "Fourchette", "Range"),
    ("conventions-off", "Conventions retirées (--no-conventions) : leurs lignes sont passées à la règle suivante.",
     "Conventions removed (--no-conventions): their lines fell to the next rule."),
]:
    i18n.define(f"cli.compare.{_key}", fr=_fr, en=_en)


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

    for path in list(files) + [p for p in (weights_path, carbon_path, trajectory_path) if p is not None]:
        if not path.is_file():
            raise ConfigError("file-not-found", path=str(path))
    from budgetclimat.pipeline import compare_years

    table, meta = compare_years(files, rules=rules or None, answers=answers or None, weights=weights_path,
                                carbon=carbon_path, trajectory=trajectory_path, profile=profile, basis=basis, constants=constants,
                                conventions=not no_conventions)
    if output_format == "json":
        click.echo(json.dumps({"meta": meta, "years": _records(table)}, ensure_ascii=False, indent=2))
        return 0
    click.echo(_human(table, meta))
    return 0


def _records(table) -> list[dict]:
    import math

    out = []
    for record in table.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else (round(v, 6) if isinstance(v, float) else v)) for k, v in record.items()})
    return out


def _human(table, meta) -> str:
    from budgetclimat.money import format_euros

    lang = i18n.language()
    lines = [i18n.t("cli.compare.title", n=len(table), weights=meta["weights"], carbon=meta["carbon"]), ""]
    lines.append(i18n.t("cli.compare.header", year=i18n.t("cli.compare.col.year"), base=i18n.t("cli.compare.col.base"),
                        combined=i18n.t("cli.compare.col.combined"), tco2e="tCO2e", range=i18n.t("cli.compare.col.range")))
    for row in table.to_dict("records"):
        base = format_euros(int(row.get("base_cents", 0)), lang)
        share = _pct(100 * row.get('combined_share', 0.0), 1, lang)
        tco2e = _int(row.get('tco2e', float('nan')), lang)
        rng = f"{_int(row.get('tco2e_low', float('nan')), lang)} – {_int(row.get('tco2e_high', float('nan')), lang)}"
        lines.append(i18n.t("cli.compare.header", year=row["exercice"], base=base, combined=share, tco2e=tco2e, range=rng))
        lines.append(i18n.t("cli.compare.objectives"))
        parts = [f"{o} {_pct(100 * row.get(f'share_{o}', 0.0), 1, lang)}" for o in meta["objectives"]]
        lines.append("    " + " · ".join(parts))
        if "cap_tco2e" in row and row["cap_tco2e"] == row["cap_tco2e"]:
            lines.append(i18n.t("cli.compare.cap", year=row["exercice"], cap=_int(row['cap_tco2e'], lang),
                                share=_pct(100 * row['direct_share_of_cap'], 2, lang)))
    lines += ["", i18n.t("cli.compare.note")]
    if meta.get("conventions_applied") is False:
        lines.append(i18n.t("cli.compare.conventions-off"))
    return "\n".join(lines)


def _pct(value: float, digits: int, lang: str) -> str:
    """``12,3 %`` in French, ``12.3 %`` in English."""
    text = f"{value:.{digits}f}"
    return (text.replace(".", ",") if lang == "fr" else text) + " %"


def _int(value: float, lang: str) -> str:
    """``12 345`` (narrow no-break space) in French, ``12,345`` in English."""
    text = f"{value:,.0f}"
    return text.replace(",", "\u202f") if lang == "fr" else text
