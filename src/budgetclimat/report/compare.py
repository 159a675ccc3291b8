"""The report of ``budgetclimat compare``: one row per budget year (base, combined weighted share, tCO2e and
its range), the weighted shares per objective, the trajectory's cap (:class:`CompareReport`).

    >>> from budgetclimat.pipeline import compare_years
    >>> from budgetclimat.report import compare_report
    >>> print(compare_report(*compare_years(["ca-2023.xml", "ca-2024.xml"])).text())   # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from budgetclimat import i18n
from budgetclimat.money import format_euros
from budgetclimat.rulebook.model import axis_label


@dataclass
class CompareReport:
    """``table``: one row per year (:func:`budgetclimat.pipeline.compare_years`); ``meta``: the rulebooks,
    trajectory and objectives the table was computed with."""

    table: pd.DataFrame
    meta: dict

    def text(self) -> str:
        """The terminal table (``--format human``)."""
        return _human(self.table, self.meta)

    def to_dict(self) -> dict:
        """``{"meta", "years"}``, JSON-ready (``--format json``; shares rounded to 6 decimals)."""
        return {"meta": self.meta, "years": _records(self.table)}

    def json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def render(self, output_format: str) -> str:
        return self.json() if output_format == "json" else self.text()


def compare_report(table: pd.DataFrame, meta: dict) -> CompareReport:
    """The report of what :func:`budgetclimat.pipeline.compare_years` returns."""
    return CompareReport(table, meta)


def _records(table) -> list[dict]:
    out = []
    for record in table.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else (round(v, 6) if isinstance(v, float) else v)) for k, v in record.items()})
    return out


def _human(table, meta) -> str:
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
        parts = [f"{axis_label(o, lang, short=True)} {_pct(100 * row.get(f'share_{o}', 0.0), 1, lang)}" for o in meta["objectives"]]
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
